/**
 * `hotaisle models list|promote <version>|rollback --site FILE [--models-dir DIR]`: the model files of
 * a site (models/README.md). Promote overrides the gate; rollback puts back the model promoted before.
 * A running agent picks up the change on reload (systemctl reload hotaisle, or kill -HUP).
 */
import { parseArgs } from 'node:util';
import type { ModelEntry, RefusedFile } from '../forecast/modelStore.ts';
import { ModelRepository } from '../forecast/modelStore.ts';
import { fmt, formatTable, loadSiteWithFlags, modelsRoot, SITE_OPTIONS } from './forecastCommon.ts';

const USAGE = 'usage: hotaisle models list|promote <version>|rollback [--site FILE] [--models-dir DIR]';
const RELOAD_HINT = 'A running agent switches on reload (systemctl reload hotaisle, or kill -HUP <pid>).';

export async function runModelsCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: SITE_OPTIONS });
  const [action, arg, ...extra] = positionals;
  const site = loadSiteWithFlags(values);
  const repo = new ModelRepository(modelsRoot(values, site), site.site.id);
  const out = (line: string) => process.stdout.write(`${line}\n`);
  if (extra.length > 0) throw new Error(`unexpected arguments "${extra.join(' ')}"; ${USAGE}`);

  switch (action) {
    case 'list': {
      if (arg !== undefined) throw new Error(`"models list" takes no argument; ${USAGE}`);
      const { models, refused } = await repo.list();
      out(modelsTable(repo.dir, models, refused));
      return 0;
    }
    case 'promote': {
      const version = Number(arg);
      if (!Number.isInteger(version) || version < 1)
        throw new Error(`"models promote" needs a version number (see "models list"); ${USAGE}`);
      const m = await repo.promote(version);
      out(
        `v${m.version} promoted (gate was: ${m.gate.promoted ? 'passed' : `not passed — ${m.gate.reason}`}). ${RELOAD_HINT}`,
      );
      return 0;
    }
    case 'rollback': {
      if (arg !== undefined) throw new Error(`"models rollback" takes no argument; ${USAGE}`);
      const { from, to } = await repo.rollback();
      out(`rolled back: v${from.version} retired, v${to.version} in service again. ${RELOAD_HINT}`);
      return 0;
    }
    default:
      throw new Error(action === undefined ? USAGE : `unknown action "${action}"; ${USAGE}`);
  }
}

/** The model list as a table with the refused files after it (pure, for tests). */
export function modelsTable(
  dir: string,
  models: readonly ModelEntry[],
  refused: readonly RefusedFile[],
): string {
  if (models.length === 0 && refused.length === 0)
    return `no model files in ${dir}; \`hotaisle train\` makes the first`;
  const horizons = [...new Set(models.flatMap((m) => m.horizons.map((h) => h.horizonMin)))].sort(
    (a, b) => a - b,
  );
  const header = [
    'version',
    'status',
    'created',
    'promoted',
    ...horizons.map((h) => `MAE ${h}m (pers.)`),
    'racks',
    'gate',
  ];
  const rows = [...models]
    .sort((a, b) => b.version - a.version)
    .map((m) => [
      `v${m.version}`,
      m.status + (m.rolledBackAt ? ' (rolled back)' : ''),
      m.created.slice(0, 16).replace('T', ' '),
      m.promotedAt ? m.promotedAt.slice(0, 16).replace('T', ' ') : '–',
      ...horizons.map((hm) => {
        const h = m.horizons.find((x) => x.horizonMin === hm);
        return h ? `${fmt(h.mae)} (${fmt(h.persistenceMae)})` : '–';
      }),
      String(m.counts.racks),
      m.gate.reason,
    ]);
  const lines = [`models in ${dir}:`, formatTable(header, rows)];
  if (refused.length > 0) {
    lines.push('', 'refused (not usable; retrain to replace):');
    for (const r of refused) lines.push(`  ${r.file}: ${r.error}`);
  }
  return lines.join('\n');
}
