/**
 * Notifications as `alert` events in the store, for history (GET /v1/alerts/history). Writes are not
 * awaited: a store that is down costs a counter and a warning, never an evaluation or a page.
 */
import type { Logger } from '../log.ts';
import type { AlertEventRecord, TelemetryStore } from '../store/store.ts';
import type { Notification } from './lifecycle.ts';

/** One store event per notification; the target is the most specific place the alert names. */
export function alertEvents(
  site: string,
  notifications: readonly Notification[],
  now: number,
): AlertEventRecord[] {
  return notifications.map((n) => ({
    site,
    rule: n.alert.rule,
    severity: n.alert.severity,
    target: n.alert.labels.rack ?? n.alert.labels.unit ?? n.alert.labels.feed ?? n.alert.labels.zone ?? site,
    state: n.reason,
    value: n.alert.value,
    message: n.alert.summary,
    fingerprint: n.alert.fingerprint,
    ts: now,
  }));
}

export class AlertHistoryRecorder {
  private written = 0;
  private errors = 0;

  constructor(private readonly log: () => Logger | undefined) {}

  record(store: TelemetryStore, site: string, notifications: readonly Notification[], now: number): void {
    const write = store.writeAlertEvents?.bind(store);
    if (!write || notifications.length === 0) return;
    const events = alertEvents(site, notifications, now);
    write(events).then(
      () => {
        this.written += events.length;
      },
      (err: unknown) => {
        this.errors++;
        this.log()?.warn({ err: (err as Error).message }, 'alert history not written to the store');
      },
    );
  }

  /** Events written, and writes that failed. */
  stats(): { written: number; errors: number } {
    return { written: this.written, errors: this.errors };
  }
}
