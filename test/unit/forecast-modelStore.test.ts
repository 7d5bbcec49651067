import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ModelRefusedError, RackForecaster } from '../../src/forecast/forecaster.ts';
import { buildForecastLayout } from '../../src/forecast/layout.ts';
import type { ModelFile } from '../../src/forecast/modelFile.ts';
import { ModelFileError, ModelRepository } from '../../src/forecast/modelStore.ts';
import { syntheticFrame } from '../../src/forecast/synthetic.ts';
import { trainForecastModel } from '../../src/forecast/training.ts';
import { oneRowSite } from '../helpers/sites.ts';

const index = oneRowSite('Store test', 4);
const layout = buildForecastLayout(index);
const trained = trainForecastModel(layout, syntheticFrame(layout, { slots: 600, seed: 2 }), {
  holdoutMs: 2 * 3_600_000,
  minRackRows: 100,
}).model;
/** A promoted copy, as training would hand it over. */
const model = (): ModelFile => structuredClone({ ...trained, status: 'promoted' as const });
const at = (minutes: number) => Date.UTC(2025, 0, 1) + minutes * 60_000;

let root: string;
let repo: ModelRepository;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'hotaisle-models-'));
  repo = new ModelRepository(root, 'dc');
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('ModelRepository', () => {
  it('saves versions, keeps one promoted, lists them, and leaves no temporary files', async () => {
    const v1 = await repo.save(model(), at(0));
    const v2 = await repo.save(model(), at(10));
    const cand = await repo.save({ ...model(), status: 'candidate' }, at(20));
    expect([v1.model.version, v2.model.version, cand.model.version]).toEqual([1, 2, 3]);
    expect(v1.file).toBe(join(root, 'dc', 'model-000001.json'));
    const { models, refused } = await repo.list();
    expect(refused).toEqual([]);
    expect(models.map((m) => [m.version, m.status])).toEqual([
      [1, 'retired'],
      [2, 'promoted'],
      [3, 'candidate'],
    ]);
    expect(models[1]!.horizons.map((h) => h.horizonMin)).toEqual(trained.horizonsMin);
    expect((await readdir(join(root, 'dc'))).filter((n) => n.startsWith('.tmp'))).toEqual([]);
    const loaded = await repo.loadPromoted();
    expect(loaded.model?.version).toBe(2);
  });

  it('promotes a candidate and rolls back to the model in service before it', async () => {
    await repo.save(model(), at(0));
    await repo.save({ ...model(), status: 'candidate' }, at(10));
    const promoted = await repo.promote(2, at(20));
    expect(promoted.status).toBe('promoted');
    expect((await repo.loadPromoted()).model?.version).toBe(2);
    expect((await repo.read(1)).status).toBe('retired');

    const { from, to } = await repo.rollback(at(30));
    expect([from.version, to.version]).toEqual([2, 1]);
    expect((await repo.loadPromoted()).model?.version).toBe(1);
    expect((await repo.read(2)).rolledBackAt).toBeDefined();
    // Nothing earlier than v1 was ever in service.
    await expect(repo.rollback(at(40))).rejects.toThrow(/no earlier promoted model/);
  });

  it('refuses a corrupt promoted file with a message naming it, and keeps the previous model in service', async () => {
    await repo.save(model(), at(0));
    const v2 = await repo.save(model(), at(10));
    const text = await readFile(v2.file, 'utf8');
    await writeFile(v2.file, text.slice(0, text.length / 2)); // truncated by a crash or a full disk
    const loaded = await repo.loadPromoted();
    expect(loaded.model?.version).toBe(1);
    expect(loaded.refused).toHaveLength(1);
    expect(loaded.refused[0]!.file).toBe(v2.file);
    expect(loaded.refused[0]!.error).toMatch(/not valid JSON/);
    await expect(repo.read(2)).rejects.toThrow(ModelFileError);
    await expect(repo.read(2)).rejects.toThrow(v2.file);
    // A new save never reuses the refused file's number.
    expect((await repo.save(model(), at(20))).model.version).toBe(3);
  });

  it.each([
    [
      'a wrong format version',
      (m: Record<string, unknown>) => ({ ...m, formatVersion: 99 }),
      /format version 99 is not supported/,
    ],
    [
      'a feature list from another build',
      (m: Record<string, unknown>) => ({ ...m, features: ['inlet_c'] }),
      /feature list does not match/,
    ],
    [
      'another site',
      (m: Record<string, unknown>) => ({ ...m, site: 'elsewhere' }),
      /model is for site "elsewhere", not "dc"/,
    ],
    [
      'coefficients of the wrong shape',
      (m: Record<string, unknown>) => {
        const racks = structuredClone(m.racks) as ModelFile['racks'];
        racks.a0!.tiers.full!.coef[0]!.pop();
        return { ...m, racks };
      },
      /racks\.a0\.full: expected \d+ coefficients/,
    ],
    ['not a model at all', () => ({ hello: 'world' }), /not a Hotaisle forecast model/],
  ])('refuses %s', async (_what, mutate, message) => {
    await repo.save(model(), at(0));
    const v2 = await repo.save(model(), at(10));
    const raw = JSON.parse(await readFile(v2.file, 'utf8')) as Record<string, unknown>;
    await writeFile(v2.file, JSON.stringify(mutate(raw)));
    const loaded = await repo.loadPromoted();
    expect(loaded.model?.version).toBe(1);
    expect(loaded.refused[0]!.file).toBe(v2.file);
    expect(loaded.refused[0]!.error).toMatch(message);
    await expect(repo.promote(2)).rejects.toThrow(message);
  });

  it('returns no model for a site that has none yet', async () => {
    expect(await repo.loadPromoted()).toEqual({ model: undefined, refused: [] });
    expect(await repo.list()).toEqual({ models: [], refused: [] });
  });
});

describe('hot swap in the forecaster', () => {
  it('keeps the model in service when a new one is refused', () => {
    const forecaster = new RackForecaster(index, {}, model());
    expect(forecaster.modelVersion).toBe(1);
    expect(() => forecaster.setModel({ ...model(), version: 7, site: 'elsewhere' })).toThrow(
      ModelRefusedError,
    );
    expect(() => forecaster.setModel({ ...model(), version: 8, stepMs: 30_000 })).toThrow(/30000 ms slots/);
    expect(forecaster.modelVersion).toBe(1);
    forecaster.setModel({ ...model(), version: 9 });
    expect(forecaster.modelVersion).toBe(9);
  });
});
