/**
 * Cross checks of the `alerts` section: receivers that exist and can be reached, routes whose
 * receivers and fallbacks exist, route matchers that can match an alert of this site, and threshold
 * overrides that name real rooms, rows and racks. Pure: a validated config in, problems out; every
 * message says what to do.
 */
import type { RuleName } from '../alerts/types.ts';
import type { CrossCheckProblem } from './crossChecks.ts';
import { formatConfigPath } from './crossChecks.ts';
import type { SiteConfig } from './schema.ts';

/** Every rule an alert can come from; a Record so the compiler flags a rule added to RuleName but not here. */
const RULES: Record<RuleName, true> = {
  PredictedHotspot: true,
  InletBreach: true,
  InletRiseRate: true,
  SensorStale: true,
  TelemetrySilent: true,
  SensorStuck: true,
  SensorImplausible: true,
  RackPowerHigh: true,
  FeedPowerHigh: true,
  SitePowerHigh: true,
  RedundancyLost: true,
  CoolingSupplyDrift: true,
  CoolingZoneWarming: true,
  ConfigReloadRejected: true,
};
const RULE_NAMES = Object.keys(RULES);
const SEVERITIES = ['info', 'warning', 'critical'];
/** Labels the rules put on alerts (src/alerts/*Rules.ts), plus the two routes and silences add. */
const LABELS = [
  'site',
  'room',
  'row',
  'rack',
  'zone',
  'unit',
  'feed',
  'kind',
  'metric',
  'check',
  'alertname',
  'severity',
];
const SENSOR_KINDS = ['rack', 'cooling', 'site'];
const CHECKS = ['outlet_below_inlet', 'jump'];

const list = (values: Iterable<string>) => {
  const all = [...values];
  return all.length > 0 ? all.join(', ') : '(none)';
};

export function checkAlerts(config: SiteConfig): CrossCheckProblem[] {
  return [...checkReceivers(config), ...checkRoutes(config), ...checkOverrides(config)];
}

function checkReceivers(config: SiteConfig): CrossCheckProblem[] {
  const out: CrossCheckProblem[] = [];
  const seen = new Map<string, number>();
  for (const [i, r] of config.alerts.receivers.entries()) {
    const at = `alerts.receivers[${i}]`;
    const first = seen.get(r.name);
    if (first !== undefined) {
      out.push({
        path: `${at}.name`,
        message: `receiver '${r.name}' is defined twice (also at alerts.receivers[${first}]); routes name receivers, so rename one of them`,
      });
    } else seen.set(r.name, i);
    if (r.kind !== 'mqtt' && r.url === undefined && r.urlEnv === undefined) {
      out.push({
        path: `${at}.url`,
        message: `${r.kind} receiver '${r.name}' has no address; set url${r.kind === 'alertmanager' ? ' (the Alertmanager base URL, e.g. http://127.0.0.1:9093)' : ''} or urlEnv (the environment variable holding it)`,
      });
    }
    if (r.kind !== 'mqtt' && r.url !== undefined && r.urlEnv !== undefined) {
      out.push({
        path: `${at}.urlEnv`,
        message: `receiver '${r.name}' sets both url and urlEnv, and urlEnv would silently win; keep one of them`,
      });
    }
  }
  return out;
}

function checkRoutes(config: SiteConfig): CrossCheckProblem[] {
  const out: CrossCheckProblem[] = [];
  const names = config.alerts.receivers.map((r) => r.name);
  const known = new Set(names);
  const defined = `defined receivers: ${list(names)}`;
  for (const [i, route] of config.alerts.routes.entries()) {
    const at = `alerts.routes[${i}]`;
    if (!known.has(route.receiver)) {
      out.push({
        path: `${at}.receiver`,
        message: `unknown receiver '${route.receiver}'; ${defined}. Add it under alerts.receivers or fix the name`,
      });
    }
    if (route.fallback !== undefined) {
      if (!known.has(route.fallback)) {
        out.push({
          path: `${at}.fallback`,
          message: `unknown fallback receiver '${route.fallback}'; ${defined}. Add it under alerts.receivers or fix the name`,
        });
      } else if (route.fallback === route.receiver) {
        // The fallback is tried because the primary just failed: falling back to itself is a loop.
        out.push({
          path: `${at}.fallback`,
          message: `fallback '${route.fallback}' is the route's own receiver, so a failed delivery falls back to the receiver that just failed; name a different receiver or remove fallback`,
        });
      }
    }
    for (const [label, value] of Object.entries(route.match)) {
      const problem = matcherProblem(config, label, value, route.severities);
      if (problem) out.push({ path: `${at}.${formatConfigPath(['match', label])}`, message: problem });
    }
  }
  return out;
}

/** Why `label: value` can never match an alert of this site, or undefined when it can. */
function matcherProblem(
  config: SiteConfig,
  label: string,
  value: string,
  severities: readonly string[] | undefined,
): string | undefined {
  const never = `so this route never matches`;
  const oneOf = (what: string, allowed: Iterable<string>) => {
    const all = [...allowed];
    return all.includes(value)
      ? undefined
      : `no ${what} '${value}' in this site, ${never}; known ${what}s: ${list(all)}`;
  };
  const rows = config.rooms.flatMap((r) => r.rows);
  const racks = rows.flatMap((w) => w.racks);
  switch (label) {
    case 'site':
      return value === config.site.id
        ? undefined
        : `alerts of this agent carry site '${config.site.id}', not '${value}', ${never}; use '${config.site.id}' or remove the matcher`;
    case 'room':
      return oneOf(
        'room',
        config.rooms.map((r) => r.id),
      );
    case 'row':
      return oneOf('row', new Set(rows.map((w) => w.id)));
    case 'rack':
      return oneOf(
        'rack',
        racks.map((k) => k.id),
      );
    case 'zone':
      return oneOf(
        'zone',
        new Set([
          ...config.coolingUnits.map((u) => u.zone),
          ...rows.map((w) => w.zone),
          ...racks.flatMap((k) => k.zone ?? []),
        ]),
      );
    case 'unit':
      return oneOf(
        'cooling unit',
        config.coolingUnits.map((u) => u.id),
      );
    case 'feed':
      return oneOf(
        'power feed',
        config.powerFeeds.map((f) => f.id),
      );
    case 'alertname':
      return RULE_NAMES.includes(value)
        ? undefined
        : `'${value}' is not an alert name, ${never}; alert names are the rules: ${RULE_NAMES.join(', ')}`;
    case 'severity':
      if (!SEVERITIES.includes(value))
        return `severity '${value}' does not exist, ${never}; use one of ${SEVERITIES.join(', ')} (or the route's severities list)`;
      return severities && !severities.includes(value)
        ? `severity '${value}' is not in this route's severities (${severities.join(', ')}), ${never}; drop one of the two`
        : undefined;
    case 'kind':
      return SENSOR_KINDS.includes(value)
        ? undefined
        : `sensor alerts carry kind ${SENSOR_KINDS.join(', ')}, not '${value}', ${never}`;
    case 'check':
      return CHECKS.includes(value)
        ? undefined
        : `implausible-sensor alerts carry check ${CHECKS.join(', ')}, not '${value}', ${never}`;
    case 'metric':
      return undefined;
    default:
      return `alerts carry no label '${label}', ${never}; match on ${LABELS.join(', ')}`;
  }
}

function checkOverrides(config: SiteConfig): CrossCheckProblem[] {
  const out: CrossCheckProblem[] = [];
  const roomIds = config.rooms.map((r) => r.id);
  /** rack → its room and row */
  const rackPlace = new Map<string, { room: string; row: string }>();
  /** row → rooms that have a row with that id */
  const rowRooms = new Map<string, string[]>();
  for (const room of config.rooms) {
    for (const row of room.rows) {
      rowRooms.set(row.id, [...(rowRooms.get(row.id) ?? []), room.id]);
      for (const rack of row.racks) rackPlace.set(rack.id, { room: room.id, row: row.id });
    }
  }
  for (const [i, o] of config.alerts.overrides.entries()) {
    const at = `alerts.overrides[${i}]`;
    const before = out.length;
    if (o.room === undefined && o.row === undefined && o.rack === undefined) {
      out.push({
        path: at,
        message:
          'this override names no room, row or rack, so it applies to the whole site; set the values under thresholds instead, or add room, row or rack',
      });
    }
    if (o.room !== undefined && !roomIds.includes(o.room)) {
      out.push({
        path: `${at}.room`,
        message: `unknown room '${o.room}'; known rooms: ${list(roomIds)}`,
      });
    }
    if (o.row !== undefined) {
      const rooms = rowRooms.get(o.row);
      if (!rooms) {
        out.push({
          path: `${at}.row`,
          message: `unknown row '${o.row}'; known rows: ${list(rowRooms.keys())}`,
        });
      } else if (o.room !== undefined && roomIds.includes(o.room) && !rooms.includes(o.room)) {
        out.push({
          path: `${at}.row`,
          message: `row '${o.row}' is not in room '${o.room}' (it is in ${list(rooms)}), so this override matches no rack; fix the room or the row`,
        });
      }
    }
    if (o.rack !== undefined) {
      const place = rackPlace.get(o.rack);
      if (!place) {
        out.push({
          path: `${at}.rack`,
          message: `unknown rack '${o.rack}'; racks are listed under rooms[].rows[].racks, e.g. ${list([...rackPlace.keys()].slice(0, 5))}`,
        });
      } else if (out.length === before) {
        const wrong =
          o.room !== undefined && o.room !== place.room
            ? `room '${o.room}'`
            : o.row !== undefined && o.row !== place.row
              ? `row '${o.row}'`
              : undefined;
        if (wrong) {
          out.push({
            path: `${at}.rack`,
            message: `rack '${o.rack}' stands in room '${place.room}', row '${place.row}', not in ${wrong}, so this override never applies; drop room/row (rack alone is enough) or fix them`,
          });
        }
      }
    }
    const warn = o.inletWarnC ?? config.thresholds.inletWarnC;
    const critical = o.inletCriticalC ?? config.thresholds.inletCriticalC;
    if ((o.inletWarnC !== undefined || o.inletCriticalC !== undefined) && warn >= critical) {
      out.push({
        path: `${at}.${o.inletWarnC !== undefined ? 'inletWarnC' : 'inletCriticalC'}`,
        message: `with this override the inlet warning (${warn} °C) is not below the critical limit (${critical} °C); the warning has to come first, so lower inletWarnC or raise inletCriticalC`,
      });
    }
  }
  return out;
}
