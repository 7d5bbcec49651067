/**
 * Routing: which receivers an alert goes to (by severity and labels, first match unless a route says
 * continue), and delivery with a fallback receiver when the primary fails. Matching is pure; the
 * dispatcher only calls receivers and never throws.
 */
import type { AlertRouteConfig } from '../config/schema.ts';
import type { Logger } from '../log.ts';
import type { AlertPayload, GroupPayload } from './payloads.ts';
import { groupPayloads } from './payloads.ts';
import type { AlertReceiver } from './receivers.ts';
import type { Severity } from './types.ts';

export function routeMatches(
  route: AlertRouteConfig,
  a: Pick<AlertPayload, 'severity' | 'labels' | 'alertname'>,
): boolean {
  if (route.severities && !route.severities.includes(a.severity as Severity)) return false;
  const labels: Record<string, string> = { ...a.labels, alertname: a.alertname, severity: a.severity };
  return Object.entries(route.match).every(([k, v]) => labels[k] === v);
}

/** The routes an alert takes, in order. */
export function routesFor(
  routes: readonly AlertRouteConfig[],
  a: Pick<AlertPayload, 'severity' | 'labels' | 'alertname'>,
): AlertRouteConfig[] {
  const out: AlertRouteConfig[] = [];
  for (const r of routes) {
    if (!routeMatches(r, a)) continue;
    out.push(r);
    if (!r.continue) break;
  }
  return out;
}

/** Names a route refers to that are not receivers; empty when the config is consistent. */
export function unknownReceivers(
  routes: readonly AlertRouteConfig[],
  receivers: readonly { name: string }[],
): string[] {
  const names = new Set(receivers.map((r) => r.name));
  return [
    ...new Set(
      routes.flatMap((r) => [r.receiver, ...(r.fallback ? [r.fallback] : [])]).filter((n) => !names.has(n)),
    ),
  ];
}

export interface DispatchStats {
  delivered: number;
  /** Delivered by the fallback after the primary failed. */
  fellBack: number;
  /** Neither the primary nor the fallback took it. */
  lost: number;
}

export class AlertDispatcher {
  private readonly counters: DispatchStats = { delivered: 0, fellBack: 0, lost: 0 };

  constructor(
    private readonly site: string,
    private readonly routes: readonly AlertRouteConfig[],
    private readonly receivers: ReadonlyMap<string, AlertReceiver>,
    private readonly log: Logger,
  ) {}

  stats(): DispatchStats {
    return { ...this.counters };
  }

  /**
   * Group alerts per route, then per site/room/row, and deliver each group. Resolves with the
   * fingerprints of alerts that had a route but reached no receiver at all.
   */
  async dispatch(alerts: readonly AlertPayload[]): Promise<Set<string>> {
    const perRoute = new Map<AlertRouteConfig, AlertPayload[]>();
    const routed = new Set<string>();
    for (const a of alerts) {
      for (const r of routesFor(this.routes, a)) {
        const list = perRoute.get(r) ?? [];
        list.push(a);
        perRoute.set(r, list);
        routed.add(a.fingerprint);
      }
    }
    const delivered = new Set<string>();
    const jobs: Promise<void>[] = [];
    for (const [route, list] of perRoute) {
      for (const group of groupPayloads(this.site, list)) {
        jobs.push(
          this.deliver(route, group).then((ok) => {
            if (ok) for (const a of group.alerts) delivered.add(a.fingerprint);
          }),
        );
      }
    }
    await Promise.all(jobs);
    return new Set([...routed].filter((fp) => !delivered.has(fp)));
  }

  private async deliver(route: AlertRouteConfig, group: GroupPayload): Promise<boolean> {
    const primary = this.receivers.get(route.receiver);
    try {
      if (!primary) throw new Error(`no receiver ${route.receiver}`);
      await primary.send(group);
      this.counters.delivered++;
      return true;
    } catch (err) {
      this.log.warn(
        { receiver: route.receiver, group: group.groupKey, err: (err as Error).message },
        'alert delivery failed',
      );
    }
    const fallback = route.fallback ? this.receivers.get(route.fallback) : undefined;
    if (fallback) {
      try {
        await fallback.send(group);
        this.counters.fellBack++;
        return true;
      } catch (err) {
        this.log.error(
          { receiver: fallback.name, group: group.groupKey, err: (err as Error).message },
          'alert fallback delivery failed',
        );
      }
    }
    this.counters.lost++;
    return false;
  }
}
