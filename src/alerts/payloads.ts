/**
 * Wire formats of alert notifications. Pure.
 *
 * ## Webhook and MQTT payload (schema version "1")
 * One JSON document per group (site / room / row) and evaluation, POSTed to a webhook
 * (Content-Type: application/json) or published to `hotaisle/<site>/alerts` (QoS 1, not retained):
 *
 * ```
 * {
 *   "version": "1",
 *   "source": "hotaisle",
 *   "site": "lab",
 *   "groupKey": "site=lab/room=hall1/row=row1",      // stable; room/row absent for site-wide alerts
 *   "groupLabels": { "site": "lab", "room": "hall1", "row": "row1" },
 *   "status": "firing" | "resolved",                  // firing when any alert in the group fires
 *   "alerts": [{
 *     "fingerprint": "3f2c…",                          // stable: rule + identity labels
 *     "status": "firing" | "resolved",
 *     "reason": "firing" | "escalated" | "repeat" | "resolved" | "sync",
 *     "alertname": "InletBreach",                      // the rule
 *     "severity": "info" | "warning" | "critical",
 *     "labels": { "site": "lab", "room": "hall1", "row": "row1", "rack": "r1" },
 *     "annotations": { "summary": "…", "description": "…", … },   // rule-specific extras, e.g.
 *                                                        // expected_crossing_at, lead_minutes, racks
 *     "value": 28.4,
 *     "startsAt": "2026-01-05T08:01:00.000Z",          // when it started firing
 *     "endsAt": "2026-01-05T08:20:00.000Z" | null,     // set once resolved
 *     "acknowledged": false,
 *     "generatorURL": "http://127.0.0.1:8080/v1/alerts?fingerprint=3f2c…"
 *   }]
 * }
 * ```
 * Consumers should key on `fingerprint` and treat unknown fields as additions (the version changes
 * only when a field's meaning changes).
 */
import type { AlertRecord, NotificationReason } from './lifecycle.ts';

export type PayloadReason = NotificationReason | 'sync';

export interface AlertPayload {
  fingerprint: string;
  status: 'firing' | 'resolved';
  reason: PayloadReason;
  alertname: string;
  severity: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  value: number;
  startsAt: string;
  endsAt: string | null;
  acknowledged: boolean;
  generatorURL: string;
}

export interface GroupPayload {
  version: '1';
  source: 'hotaisle';
  site: string;
  groupKey: string;
  groupLabels: Record<string, string>;
  status: 'firing' | 'resolved';
  alerts: AlertPayload[];
}

/** Alertmanager API v2 postableAlert (POST /api/v2/alerts takes an array of these). */
export interface AlertmanagerAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt?: string;
  generatorURL: string;
}

const GROUP_BY = ['site', 'room', 'row'] as const;

export function groupLabelsOf(a: Pick<AlertRecord, 'labels'>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of GROUP_BY) {
    const v = a.labels[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

export function groupKeyOf(groupLabels: Record<string, string>): string {
  return GROUP_BY.filter((k) => groupLabels[k] !== undefined)
    .map((k) => `${k}=${groupLabels[k]}`)
    .join('/');
}

export function alertPayload(a: AlertRecord, reason: PayloadReason, generatorURL: string): AlertPayload {
  return {
    fingerprint: a.fingerprint,
    status: a.state === 'resolved' ? 'resolved' : 'firing',
    reason,
    alertname: a.rule,
    severity: a.severity,
    labels: { ...a.labels },
    annotations: { summary: a.summary, description: a.description, ...a.annotations },
    value: a.value,
    startsAt: new Date(a.firingAt ?? a.activeAt).toISOString(),
    endsAt:
      a.state === 'resolved' && a.resolvedAt !== undefined ? new Date(a.resolvedAt).toISOString() : null,
    acknowledged: a.acknowledgedAt !== undefined,
    generatorURL,
  };
}

/** Groups alert payloads by site/room/row, in a stable order. */
export function groupPayloads(site: string, alerts: readonly AlertPayload[]): GroupPayload[] {
  const groups = new Map<string, GroupPayload>();
  for (const a of alerts) {
    const groupLabels = groupLabelsOf(a);
    const key = groupKeyOf(groupLabels);
    let g = groups.get(key);
    if (!g) {
      g = {
        version: '1',
        source: 'hotaisle',
        site,
        groupKey: key,
        groupLabels,
        status: 'resolved',
        alerts: [],
      };
      groups.set(key, g);
    }
    g.alerts.push(a);
    if (a.status === 'firing') g.status = 'firing';
  }
  return [...groups.values()].sort((x, y) => x.groupKey.localeCompare(y.groupKey));
}

/**
 * Alertmanager form: labels carry alertname and severity (Alertmanager routes on labels), and a
 * firing alert carries an endsAt a few resend intervals ahead, as Prometheus does, so it expires on
 * its own if the agent goes away instead of firing forever.
 */
export function alertmanagerAlert(a: AlertPayload, now: number, resendMs: number): AlertmanagerAlert {
  return {
    labels: { ...a.labels, alertname: a.alertname, severity: a.severity },
    annotations: a.annotations,
    startsAt: a.startsAt,
    endsAt: a.endsAt ?? new Date(now + 4 * resendMs).toISOString(),
    generatorURL: a.generatorURL,
  };
}
