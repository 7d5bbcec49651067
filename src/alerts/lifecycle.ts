/**
 * The alert lifecycle: pending → firing → resolved, with a hold before firing, a hold before
 * resolving (a condition that drops out briefly keeps the same alert), repeat notifications for
 * still-firing alerts, acknowledgements that stop repeats, silences and grouping that suppress
 * sending. Pure state: time comes in as `now`, notifications go out as values, and the whole state
 * is a plain object the caller persists, so a restart neither re-pages nor forgets.
 *
 * What was last sent is part of the state (notifiedState/notifiedSeverity/lastNotifiedAt): the next
 * notification is decided by comparing it with the alert's state, never by remembering events.
 */
import { type Silence, silencedBy } from './silences.ts';
import {
  type Condition,
  fingerprintOf,
  type Labels,
  type RuleName,
  SEVERITY_RANK,
  type Severity,
} from './types.ts';

export type AlertState = 'pending' | 'firing' | 'resolved';

export interface AlertRecord {
  fingerprint: string;
  rule: RuleName;
  labels: Labels;
  severity: Severity;
  state: AlertState;
  value: number;
  summary: string;
  description: string;
  annotations: Record<string, string>;
  /** First time the condition held in this episode. */
  activeAt: number;
  firingAt?: number;
  resolvedAt?: number;
  /** Last evaluation the condition held. */
  lastSeenAt: number;
  groupedUnder?: string;
  /** The condition's own resolve hold (Condition.resolveMs), when it has one. */
  resolveMs?: number;
  acknowledgedAt?: number;
  acknowledgedBy?: string;
  ackComment?: string;
  lastNotifiedAt?: number;
  notifiedState?: 'firing' | 'resolved';
  notifiedSeverity?: Severity;
}

export interface LifecycleState {
  version: 1;
  alerts: AlertRecord[];
  silences: Silence[];
}

export interface LifecycleTiming {
  forMs: number;
  resolveMs: number;
  repeatMs: number;
  resolvedRetentionMs: number;
}

export type NotificationReason = 'firing' | 'escalated' | 'repeat' | 'resolved';

export interface Notification {
  reason: NotificationReason;
  /** A snapshot of the alert when the notification was decided. */
  alert: AlertRecord;
  /** What was recorded as sent before this notification, to restore when it could not be delivered. */
  previous: Pick<AlertRecord, 'lastNotifiedAt' | 'notifiedState' | 'notifiedSeverity'>;
}

export interface StepOptions {
  /**
   * false right after a restart: the reading state is still empty, so absent conditions say nothing
   * yet and must not resolve alerts that were firing before the restart.
   */
  resolveAllowed?: boolean;
}

export function emptyLifecycleState(): LifecycleState {
  return { version: 1, alerts: [], silences: [] };
}

/** Labels silences and routes match on: identity labels plus alertname and severity. */
export function matchLabels(a: Pick<AlertRecord, 'rule' | 'labels' | 'severity'>): Labels {
  return { ...a.labels, alertname: a.rule, severity: a.severity };
}

export class AlertLifecycle {
  private readonly byFingerprint = new Map<string, AlertRecord>();
  private silenceList: Silence[];
  /** Bumped on every change, so the caller persists only when something changed. */
  revision = 0;

  constructor(
    private readonly timing: LifecycleTiming,
    state: LifecycleState = emptyLifecycleState(),
  ) {
    for (const a of state.alerts) this.byFingerprint.set(a.fingerprint, { ...a });
    this.silenceList = state.silences.map((s) => ({ ...s }));
  }

  snapshot(): LifecycleState {
    return {
      version: 1,
      alerts: [...this.byFingerprint.values()].map((a) => ({ ...a })),
      silences: this.silenceList.map((s) => ({ ...s })),
    };
  }

  alerts(): readonly AlertRecord[] {
    return [...this.byFingerprint.values()];
  }

  get(fingerprint: string): AlertRecord | undefined {
    return this.byFingerprint.get(fingerprint);
  }

  /** Severity of an active (pending or firing) alert, for the rules' hysteresis. */
  activeSeverity(rule: RuleName, labels: Labels): Severity | undefined {
    const a = this.byFingerprint.get(fingerprintOf(rule, labels));
    return a && a.state !== 'resolved' ? a.severity : undefined;
  }

  silences(): readonly Silence[] {
    return this.silenceList;
  }

  silencedBy(a: AlertRecord, now: number): string[] {
    return silencedBy(this.silenceList, matchLabels(a), now);
  }

  /** The active parent an alert is grouped under, if any. */
  groupParent(a: AlertRecord): AlertRecord | undefined {
    if (!a.groupedUnder) return undefined;
    const p = this.byFingerprint.get(a.groupedUnder);
    return p && p.state !== 'resolved' ? p : undefined;
  }

  addSilence(s: Silence): void {
    this.silenceList.push({ ...s });
    this.revision++;
  }

  /** Expire a silence now (kept until pruned, like Alertmanager); false when unknown. */
  expireSilence(id: string, now: number): boolean {
    const s = this.silenceList.find((x) => x.id === id);
    if (!s) return false;
    s.endsAt = Math.min(s.endsAt, now);
    if (s.startsAt > now) s.startsAt = now;
    this.revision++;
    return true;
  }

  /** Acknowledge an active alert: no repeats until it resolves or escalates. */
  acknowledge(fingerprint: string, by: string, comment: string, now: number): AlertRecord | undefined {
    const a = this.byFingerprint.get(fingerprint);
    if (!a || a.state === 'resolved') return undefined;
    a.acknowledgedAt = now;
    a.acknowledgedBy = by;
    a.ackComment = comment;
    this.revision++;
    return a;
  }

  /**
   * A notification no receiver took: forget that it was sent, so the next evaluation decides it
   * again (a lost page is retried, not dropped). No-op when the alert was notified again since.
   */
  undelivered(n: Notification): void {
    const a = this.byFingerprint.get(n.alert.fingerprint);
    if (!a || a.lastNotifiedAt !== n.alert.lastNotifiedAt) return;
    for (const key of ['lastNotifiedAt', 'notifiedState', 'notifiedSeverity'] as const) {
      if (n.previous[key] === undefined) delete a[key];
    }
    if (n.previous.lastNotifiedAt !== undefined) a.lastNotifiedAt = n.previous.lastNotifiedAt;
    if (n.previous.notifiedState !== undefined) a.notifiedState = n.previous.notifiedState;
    if (n.previous.notifiedSeverity !== undefined) a.notifiedSeverity = n.previous.notifiedSeverity;
    this.revision++;
  }

  /** Apply one evaluation's conditions and return what should be sent now. */
  step(now: number, conditions: readonly Condition[], opts: StepOptions = {}): Notification[] {
    const resolveAllowed = opts.resolveAllowed ?? true;
    const seen = new Set<string>();
    for (const c of conditions) {
      const fp = fingerprintOf(c.rule, c.labels);
      if (seen.has(fp)) continue;
      seen.add(fp);
      this.applyCondition(fp, c, now);
    }
    for (const a of this.byFingerprint.values()) {
      if (seen.has(a.fingerprint) || a.state === 'resolved') continue;
      if (a.state === 'pending') {
        // Never fired, never sent: it simply did not hold long enough.
        this.byFingerprint.delete(a.fingerprint);
        this.revision++;
      } else if (resolveAllowed && now - a.lastSeenAt >= (a.resolveMs ?? this.timing.resolveMs)) {
        a.state = 'resolved';
        a.resolvedAt = now;
        this.revision++;
      }
    }
    const out = this.decideNotifications(now);
    this.prune(now);
    return out;
  }

  private applyCondition(fp: string, c: Condition, now: number): void {
    let a = this.byFingerprint.get(fp);
    if (!a || a.state === 'resolved') {
      // A new episode; a recently resolved record is replaced (its resolution was already sent).
      a = {
        fingerprint: fp,
        rule: c.rule,
        labels: { ...c.labels },
        severity: c.severity,
        state: 'pending',
        value: c.value,
        summary: c.summary,
        description: c.description,
        annotations: { ...(c.annotations ?? {}) },
        activeAt: now,
        lastSeenAt: now,
      };
      this.byFingerprint.set(fp, a);
    }
    a.severity = c.severity;
    a.value = c.value;
    a.summary = c.summary;
    a.description = c.description;
    a.annotations = { ...(c.annotations ?? {}) };
    a.lastSeenAt = now;
    if (c.groupedUnder) a.groupedUnder = c.groupedUnder;
    else delete a.groupedUnder;
    if (c.resolveMs !== undefined) a.resolveMs = c.resolveMs;
    else delete a.resolveMs;
    const holdMs = c.forMs ?? this.timing.forMs;
    if (a.state === 'pending' && now - a.activeAt >= holdMs) {
      a.state = 'firing';
      a.firingAt = now;
    }
    this.revision++;
  }

  private decideNotifications(now: number): Notification[] {
    const out: Notification[] = [];
    for (const a of this.byFingerprint.values()) {
      const reason = this.dueReason(a, now);
      if (!reason) continue;
      // Silenced or grouped under an active parent: nothing is sent and nothing is marked sent,
      // so the alert goes out if it is still firing when the silence ends or the parent resolves.
      if (this.silencedBy(a, now).length > 0 || this.groupParent(a)) continue;
      if (reason === 'escalated') {
        // A worse state pages again, acknowledged or not.
        delete a.acknowledgedAt;
        delete a.acknowledgedBy;
        delete a.ackComment;
      }
      const previous = {
        lastNotifiedAt: a.lastNotifiedAt,
        notifiedState: a.notifiedState,
        notifiedSeverity: a.notifiedSeverity,
      };
      a.lastNotifiedAt = now;
      a.notifiedState = a.state === 'resolved' ? 'resolved' : 'firing';
      a.notifiedSeverity = a.severity;
      this.revision++;
      out.push({ reason, alert: { ...a }, previous });
    }
    return out;
  }

  private dueReason(a: AlertRecord, now: number): NotificationReason | undefined {
    if (a.state === 'firing') {
      // Not sent yet and already clearing (in its resolve hold): too late to page for it.
      if (a.notifiedState !== 'firing') return a.lastSeenAt === now ? 'firing' : undefined;
      if (a.notifiedSeverity && SEVERITY_RANK[a.severity] > SEVERITY_RANK[a.notifiedSeverity])
        return 'escalated';
      if (a.acknowledgedAt === undefined && now - (a.lastNotifiedAt ?? 0) >= this.timing.repeatMs)
        return 'repeat';
      return undefined;
    }
    if (a.state === 'resolved' && a.notifiedState === 'firing') return 'resolved';
    return undefined;
  }

  private prune(now: number): void {
    for (const a of this.byFingerprint.values()) {
      if (a.state === 'resolved' && now - (a.resolvedAt ?? now) > this.timing.resolvedRetentionMs) {
        this.byFingerprint.delete(a.fingerprint);
        this.revision++;
      }
    }
    const before = this.silenceList.length;
    // Expired silences stay visible for the retention time, then go.
    this.silenceList = this.silenceList.filter((s) => now - s.endsAt <= this.timing.resolvedRetentionMs);
    if (this.silenceList.length !== before) this.revision++;
  }
}
