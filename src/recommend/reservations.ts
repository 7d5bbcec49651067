/**
 * The plan of accepted batch windows, so later jobs see the load earlier ones will add and do not
 * all pile into the same cheap hour. Persisted as one JSON file (written to a temp file, then
 * renamed, so a crash never leaves half a plan); a missing or unreadable file starts an empty plan.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { Interval } from './windows.ts';

const ReservationSchema = z.object({
  id: z.string(),
  powerKw: z.number(),
  segments: z.array(z.object({ startTs: z.number(), endTs: z.number() })),
  acceptedAt: z.number(),
});
export type Reservation = z.infer<typeof ReservationSchema>;
const PlanFileSchema = z.object({ version: z.literal(1), reservations: z.array(ReservationSchema) });

export class ReservationPlan {
  private reservations: Reservation[] = [];

  /** Without a file the plan lives in memory only (tests, benchmarks). */
  constructor(private readonly file?: string) {}

  /** Reads the file; returns a problem in words when it could not (the plan then starts empty). */
  load(): string | undefined {
    if (!this.file) return undefined;
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      return `cannot read ${this.file}: ${(err as Error).message}`;
    }
    try {
      this.reservations = PlanFileSchema.parse(JSON.parse(text)).reservations;
      return undefined;
    } catch (err) {
      return `ignoring unreadable plan ${this.file}: ${(err as Error).message}`;
    }
  }

  private save(): void {
    if (!this.file) return;
    mkdirSync(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify({ version: 1, reservations: this.reservations }, null, 2));
    renameSync(tmp, this.file);
  }

  add(r: Reservation): void {
    this.reservations = this.reservations.filter((x) => x.id !== r.id);
    this.reservations.push(r);
    this.save();
  }

  has(id: string): boolean {
    return this.reservations.some((r) => r.id === id);
  }

  /** Drops reservations that have ended. */
  prune(now: number): void {
    const before = this.reservations.length;
    this.reservations = this.reservations.filter((r) => r.segments.some((s) => s.endTs > now));
    if (this.reservations.length !== before) this.save();
  }

  /** IT kW reserved at ts. */
  reservedKw(ts: number): number {
    let kw = 0;
    for (const r of this.reservations)
      if (r.segments.some((s: Interval) => ts >= s.startTs && ts < s.endTs)) kw += r.powerKw;
    return kw;
  }

  list(): readonly Reservation[] {
    return this.reservations;
  }
}
