/** What alerts tests start an AlertsModule or AlertEngine with, outside an Agent, on the lab site (sites.ts alertsLabSite). */
import type { AgentContext } from '../../src/agent.ts';
import type { SiteConfig } from '../../src/config/schema.ts';
import { buildSiteIndex } from '../../src/config/siteIndex.ts';
import { silentLogger } from '../../src/log.ts';
import type { TelemetryStore } from '../../src/store/store.ts';
import type { Reading } from '../../src/telemetry/reading.ts';

/** A store that keeps nothing and is always healthy: alerts read readings from observe(), not the store. */
export const nullStore: TelemetryStore = {
  name: 'null',
  start: async () => {},
  write: async () => undefined,
  query: async () => [],
  ping: async () => true,
  health: () => ({ connected: true }),
  stop: async () => {},
};

/**
 * `site` with a silent logger and the null store; `brokerUrl` defaults to a port nothing listens on,
 * for tests whose receivers do not include MQTT.
 */
export function alertsContext(site: SiteConfig, brokerUrl = 'mqtt://127.0.0.1:1'): AgentContext {
  return {
    site,
    index: buildSiteIndex(site),
    log: silentLogger(),
    store: nullStore,
    brokerUrl,
    brokerCredentials: {},
  };
}

/** Rack `rack`'s inlet temperature on site `lab`. */
export function labInlet(rack: string, value: number, ts: number): Reading {
  return { kind: 'rack', site: 'lab', target: rack, metric: 'inlet_c', value, ts };
}
