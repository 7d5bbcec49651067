/**
 * Alert state on disk: `<dataDir>/alerts/state.json`, written atomically (temp file + rename) so a
 * crash mid-write leaves the previous state, never half a file.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { emptyLifecycleState, type LifecycleState } from './lifecycle.ts';

const SeveritySchema = z.enum(['info', 'warning', 'critical']);
const StateFileSchema = z.object({
  version: z.literal(1),
  alerts: z.array(
    z.object({
      fingerprint: z.string(),
      rule: z.string(),
      labels: z.record(z.string(), z.string()),
      severity: SeveritySchema,
      state: z.enum(['pending', 'firing', 'resolved']),
      value: z.number(),
      summary: z.string(),
      description: z.string(),
      annotations: z.record(z.string(), z.string()),
      activeAt: z.number(),
      firingAt: z.number().optional(),
      resolvedAt: z.number().optional(),
      lastSeenAt: z.number(),
      groupedUnder: z.string().optional(),
      resolveMs: z.number().optional(),
      acknowledgedAt: z.number().optional(),
      acknowledgedBy: z.string().optional(),
      ackComment: z.string().optional(),
      lastNotifiedAt: z.number().optional(),
      notifiedState: z.enum(['firing', 'resolved']).optional(),
      notifiedSeverity: SeveritySchema.optional(),
    }),
  ),
  silences: z.array(
    z.object({
      id: z.string(),
      matchers: z.array(
        z.object({ name: z.string(), value: z.string(), isRegex: z.boolean(), isEqual: z.boolean() }),
      ),
      startsAt: z.number(),
      endsAt: z.number(),
      createdBy: z.string(),
      comment: z.string(),
    }),
  ),
});

export function alertStatePath(dataDir: string): string {
  return join(dataDir, 'alerts', 'state.json');
}

export type LoadResult = { state: LifecycleState; problem?: string };

/** Missing file: empty state. Unreadable or invalid file: empty state and the problem, to log. */
export async function loadAlertState(path: string): Promise<LoadResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: emptyLifecycleState() };
    return { state: emptyLifecycleState(), problem: `cannot read ${path}: ${(err as Error).message}` };
  }
  try {
    const parsed = StateFileSchema.safeParse(JSON.parse(text));
    if (!parsed.success)
      return {
        state: emptyLifecycleState(),
        problem: `${path}: not an alert state file (${parsed.error.issues[0]?.message ?? 'invalid'})`,
      };
    // Rule names are checked loosely: a record from a rule that no longer exists resolves normally.
    return { state: parsed.data as LifecycleState };
  } catch (err) {
    return { state: emptyLifecycleState(), problem: `${path}: invalid JSON (${(err as Error).message})` };
  }
}

let tmpCounter = 0;

export async function saveAlertState(path: string, state: LifecycleState): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${++tmpCounter}.tmp`;
  await writeFile(tmp, `${JSON.stringify(state)}\n`);
  await rename(tmp, path);
}
