/**
 * Readings + forecasts → rules → lifecycle, with time passed in. No I/O: the module around it owns
 * timers, the state file and the receivers; tests drive it with a fake clock.
 */
import type { AlertSettings } from '../config/schema.ts';
import type { SiteIndex } from '../config/siteIndex.ts';
import type { Hotspot } from '../forecast/hotspots.ts';
import type { Reading } from '../telemetry/reading.ts';
import type { ImplausibleReading } from '../telemetry/router.ts';
import { ImplausibleState } from './implausibleState.ts';
import { AlertLifecycle, type LifecycleState, type LifecycleTiming, type Notification } from './lifecycle.ts';
import { ReadingState } from './readingState.ts';
import { evaluateRules } from './rules.ts';
import type { Condition } from './types.ts';

export function lifecycleTiming(s: AlertSettings): LifecycleTiming {
  return {
    forMs: s.forSeconds * 1000,
    resolveMs: s.resolveSeconds * 1000,
    repeatMs: s.repeatMinutes * 60_000,
    resolvedRetentionMs: s.resolvedRetentionMinutes * 60_000,
  };
}

export interface EvaluationResult {
  conditions: Condition[];
  notifications: Notification[];
}

export class AlertEngine {
  readonly readings: ReadingState;
  readonly implausible: ImplausibleState;
  readonly lifecycle: AlertLifecycle;
  private readonly settings: AlertSettings;

  /** `readings`, `implausible`: carried over from the engine a site reload replaces, so rates and staleness go on. */
  constructor(
    private readonly index: SiteIndex,
    state?: LifecycleState,
    readings?: ReadingState,
    implausible?: ImplausibleState,
  ) {
    this.settings = index.site.alerts;
    const s = this.settings;
    // Keep enough trail for the rate window and a margin.
    this.readings =
      readings ?? new ReadingState(Math.max(s.rateWindowMinutes * 60_000 * 2, 10 * 60_000), s.jumpC);
    this.implausible = implausible ?? new ImplausibleState();
    this.lifecycle = new AlertLifecycle(lifecycleTiming(s), state);
  }

  observe(readings: readonly Reading[]): void {
    this.readings.add(readings);
  }

  /** Readings refused at ingest as out of range. */
  observeImplausible(readings: readonly ImplausibleReading[]): void {
    this.implausible.add(readings);
  }

  evaluate(
    now: number,
    hotspots: readonly Hotspot[] = [],
    opts: { resolveAllowed?: boolean; extra?: readonly Condition[] } = {},
  ): EvaluationResult {
    const lifecycle = this.lifecycle;
    const ruled = evaluateRules({
      now,
      index: this.index,
      settings: this.settings,
      readings: this.readings,
      implausible: this.implausible,
      hotspots,
      activeSeverity: (rule, labels) => lifecycle.activeSeverity(rule, labels),
    });
    // Conditions the agent itself reports (a refused config reload) share the lifecycle and routing.
    const conditions = opts.extra && opts.extra.length > 0 ? [...ruled, ...opts.extra] : ruled;
    const notifications = lifecycle.step(now, conditions, opts);
    return { conditions, notifications };
  }
}
