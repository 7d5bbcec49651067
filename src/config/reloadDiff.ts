/**
 * What a site file change means for a running agent. Pure: two validated configs in, a description
 * of the change out, and the config that can actually be put in service.
 *
 * Policy for fields that cannot change under a running process (the broker and store connections,
 * the API listener, the site id, the forecast timers): the reload is NOT refused. Everything else in
 * the file is applied, those fields keep their running values, and the result lists each of them as
 * "restart required" so the log, GET /v1/config and the operator know a restart is still owed. A
 * refusal would hold back an urgent threshold or rack change because of an unrelated edit.
 */
import type { RoomConfig, SiteConfig } from './schema.ts';

export interface RestartRequired {
  /** Field path in the site file, e.g. `broker.url`. */
  path: string;
  message: string;
}

export interface SiteDiff {
  racksAdded: string[];
  racksRemoved: string[];
  /** Racks kept whose settings or place (row, position, zone, nodes, cap) changed. */
  racksChanged: string[];
  coolingUnitsAdded: string[];
  coolingUnitsRemoved: string[];
  coolingUnitsChanged: string[];
  /** Top-level sections (or `alerts.<key>`) applied live with a new value. */
  sections: string[];
  /** Changed fields that keep their running value until the agent restarts. */
  restartRequired: RestartRequired[];
}

/** Fields of the site file read once at start-up; a change waits for a restart. */
const RESTART_ONLY: ReadonlyArray<{ path: string; pick: (s: SiteConfig) => unknown; why: string }> = [
  { path: 'site.id', pick: (s) => s.site.id, why: 'topics, models and stored series are keyed by it' },
  { path: 'site.timezone', pick: (s) => s.site.timezone, why: 'the training schedule runs in it' },
  { path: 'broker', pick: (s) => s.broker, why: 'the MQTT connection is opened at start' },
  { path: 'storage', pick: (s) => s.storage, why: 'the store and its spool are opened at start' },
  { path: 'api', pick: (s) => s.api, why: 'the HTTP listener is bound at start' },
  {
    path: 'forecast.horizonsMin',
    pick: (s) => s.forecast.horizonsMin,
    why: 'the model in service was trained for the running horizons',
  },
  {
    path: 'forecast.cycleSeconds',
    pick: (s) => s.forecast.cycleSeconds,
    why: 'the cycle timer is set at start',
  },
  { path: 'forecast.trainCron', pick: (s) => s.forecast.trainCron, why: 'training is scheduled at start' },
  {
    path: 'forecast.modelsDir',
    pick: (s) => s.forecast.modelsDir,
    why: 'the model directory is opened at start',
  },
  {
    path: 'alerts.evaluateSeconds',
    pick: (s) => s.alerts.evaluateSeconds,
    why: 'the evaluation timer is set at start',
  },
];

/** Sections applied live, compared as a whole. */
const LIVE_SECTIONS: ReadonlyArray<{ name: string; pick: (s: SiteConfig) => unknown }> = [
  { name: 'site.name', pick: (s) => s.site.name },
  { name: 'powerCapKw', pick: (s) => s.powerCapKw },
  { name: 'powerFeeds', pick: (s) => s.powerFeeds },
  { name: 'thresholds', pick: (s) => s.thresholds },
  { name: 'tariff', pick: (s) => s.tariff },
  { name: 'telemetry', pick: (s) => s.telemetry },
  { name: 'ingest', pick: (s) => s.ingest },
  { name: 'forecast.historyDays', pick: (s) => s.forecast.historyDays },
  { name: 'recommend', pick: (s) => s.recommend },
];

/** Top-level keys diffSites looks into field by field (or lists above); any other is compared whole. */
const EXAMINED_KEYS = new Set([
  'site',
  'rooms',
  'coolingUnits',
  'alerts',
  'forecast',
  ...RESTART_ONLY.map((f) => f.path.split('.')[0]!),
  ...LIVE_SECTIONS.map((s) => s.name.split('.')[0]!),
]);

export function diffSites(running: SiteConfig, next: SiteConfig): SiteDiff {
  const before = rackMap(running.rooms);
  const after = rackMap(next.rooms);
  const racksAdded = [...after.keys()].filter((id) => !before.has(id));
  const racksRemoved = [...before.keys()].filter((id) => !after.has(id));
  const racksChanged = [...after.keys()].filter((id) => {
    const old = before.get(id);
    return old !== undefined && !deepEqual(old, after.get(id));
  });
  const unitsBefore = new Map(running.coolingUnits.map((u) => [u.id, u]));
  const unitsAfter = new Map(next.coolingUnits.map((u) => [u.id, u]));

  const sections = LIVE_SECTIONS.filter((s) => !deepEqual(s.pick(running), s.pick(next))).map((s) => s.name);
  // Alerts: each setting on its own, so "alerts.routes" shows up as such; evaluateSeconds is restart-only.
  for (const key of Object.keys(next.alerts) as Array<keyof SiteConfig['alerts']>) {
    if (key === 'evaluateSeconds') continue;
    if (!deepEqual(running.alerts[key], next.alerts[key])) sections.push(`alerts.${key}`);
  }
  // Rooms and rows beyond their racks (names, containment, zones, aisles).
  if (!deepEqual(roomShape(running.rooms), roomShape(next.rooms))) sections.push('rooms');
  // A section added to the schema later is still reported (and applied by the modules' reconfigure)
  // rather than silently ignored.
  const r = running as unknown as Record<string, unknown>;
  const n = next as unknown as Record<string, unknown>;
  for (const key of new Set([...Object.keys(r), ...Object.keys(n)])) {
    if (!EXAMINED_KEYS.has(key) && !deepEqual(r[key], n[key])) sections.push(key);
  }

  return {
    racksAdded,
    racksRemoved,
    racksChanged,
    coolingUnitsAdded: [...unitsAfter.keys()].filter((id) => !unitsBefore.has(id)),
    coolingUnitsRemoved: [...unitsBefore.keys()].filter((id) => !unitsAfter.has(id)),
    coolingUnitsChanged: [...unitsAfter.keys()].filter((id) => {
      const old = unitsBefore.get(id);
      return old !== undefined && !deepEqual(old, unitsAfter.get(id));
    }),
    sections,
    restartRequired: RESTART_ONLY.filter((f) => !deepEqual(f.pick(running), f.pick(next))).map((f) => ({
      path: f.path,
      message: `${f.path} changed; restart the agent to apply it (${f.why})`,
    })),
  };
}

export function isEmptyDiff(d: SiteDiff): boolean {
  return (
    d.racksAdded.length === 0 &&
    d.racksRemoved.length === 0 &&
    d.racksChanged.length === 0 &&
    d.coolingUnitsAdded.length === 0 &&
    d.coolingUnitsRemoved.length === 0 &&
    d.coolingUnitsChanged.length === 0 &&
    d.sections.length === 0 &&
    d.restartRequired.length === 0
  );
}

/**
 * The config to put in service: `next`, with every restart-only field kept at its running value,
 * so what the agent reports as its config is what it actually runs with.
 */
export function applicableConfig(running: SiteConfig, next: SiteConfig): SiteConfig {
  return {
    ...next,
    site: { ...next.site, id: running.site.id, timezone: running.site.timezone },
    broker: running.broker,
    storage: running.storage,
    api: running.api,
    forecast: {
      ...next.forecast,
      horizonsMin: running.forecast.horizonsMin,
      cycleSeconds: running.forecast.cycleSeconds,
      trainCron: running.forecast.trainCron,
      modelsDir: running.forecast.modelsDir,
    },
    alerts: { ...next.alerts, evaluateSeconds: running.alerts.evaluateSeconds },
  };
}

/** One line per kind of change, for the log and the API; empty when nothing changed. */
export function describeDiff(d: SiteDiff): string[] {
  const out: string[] = [];
  const ids = (label: string, list: readonly string[]) => {
    if (list.length > 0) out.push(`${label}: ${list.join(', ')}`);
  };
  ids('racks added', d.racksAdded);
  ids('racks removed', d.racksRemoved);
  ids('racks changed', d.racksChanged);
  ids('cooling units added', d.coolingUnitsAdded);
  ids('cooling units removed', d.coolingUnitsRemoved);
  ids('cooling units changed', d.coolingUnitsChanged);
  if (d.sections.length > 0) out.push(`changed: ${d.sections.join(', ')}`);
  return out;
}

/**
 * Whether rack or cooling layout differs (racks, their places, zones, aisles, cooling units): what a
 * forecaster or placement model built from the index depends on. Thresholds and tariffs do not count.
 */
export function layoutChanged(a: SiteConfig, b: SiteConfig): boolean {
  return !deepEqual(a.rooms, b.rooms) || !deepEqual(a.coolingUnits, b.coolingUnits);
}

/** Structural equality of plain data (what zod produces): objects, arrays, primitives. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  // An absent key and an undefined one mean the same to the agent.
  const keys = new Set([...Object.keys(ra), ...Object.keys(rb)]);
  for (const k of keys) if (!deepEqual(ra[k], rb[k])) return false;
  return true;
}

/** Rack id → its config plus where it stands, so a move between rows counts as a change. */
function rackMap(rooms: readonly RoomConfig[]): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const room of rooms)
    for (const row of room.rows)
      for (const rack of row.racks)
        out.set(rack.id, { ...rack, room: room.id, row: row.id, rowZone: row.zone, aisle: row.coldAisle });
  return out;
}

function roomShape(rooms: readonly RoomConfig[]): unknown {
  return rooms.map(({ rows, ...room }) => ({ ...room, rows: rows.map(({ racks: _, ...row }) => row) }));
}

/** What Agent.reload reports. */
export type ReloadResult =
  | {
      ok: true;
      /** describeDiff lines; empty when the file held nothing new. */
      changes: string[];
      restartRequired: RestartRequired[];
      /** Modules whose reconfigure() failed; the rest of the reload stands. */
      moduleErrors: Array<{ module: string; message: string }>;
    }
  | { ok: false; problems: string[] };
