/**
 * Deployment overrides: the same site file runs on a laptop (embedded defaults) and in production
 * (real broker and InfluxDB) by setting environment variables or CLI flags, not by editing it.
 * Pure: takes the env as an argument.
 */
import type { SiteConfig } from './schema.ts';

export interface RuntimeOverrides {
  brokerUrl?: string;
  storage?: 'embedded' | 'influx';
  influxUrl?: string;
  apiHost?: string;
  apiPort?: number;
  dataDir?: string;
  /** MQTT client id: several agents sharing one site file (shared subscriptions) each need their own. */
  mqttClientId?: string;
}

export function overridesFromEnv(env: NodeJS.ProcessEnv): RuntimeOverrides {
  const out: RuntimeOverrides = {};
  if (env.HOTAISLE_BROKER_URL) out.brokerUrl = env.HOTAISLE_BROKER_URL;
  if (env.HOTAISLE_STORAGE === 'embedded' || env.HOTAISLE_STORAGE === 'influx')
    out.storage = env.HOTAISLE_STORAGE;
  else if (env.HOTAISLE_STORAGE)
    throw new Error(`HOTAISLE_STORAGE must be "embedded" or "influx", not "${env.HOTAISLE_STORAGE}"`);
  if (env.HOTAISLE_INFLUX_URL) out.influxUrl = env.HOTAISLE_INFLUX_URL;
  if (env.HOTAISLE_API_HOST) out.apiHost = env.HOTAISLE_API_HOST;
  if (env.HOTAISLE_API_PORT) out.apiPort = parsePort(env.HOTAISLE_API_PORT, 'HOTAISLE_API_PORT');
  if (env.HOTAISLE_DATA_DIR) out.dataDir = env.HOTAISLE_DATA_DIR;
  if (env.HOTAISLE_MQTT_CLIENT_ID !== undefined) {
    // The persistent session is keyed by it: a typo'd empty value would silently share one.
    if (!/^[\x21-\x7e]{1,128}$/.test(env.HOTAISLE_MQTT_CLIENT_ID))
      throw new Error(
        `HOTAISLE_MQTT_CLIENT_ID must be 1–128 printable characters without spaces, not "${env.HOTAISLE_MQTT_CLIENT_ID}"`,
      );
    out.mqttClientId = env.HOTAISLE_MQTT_CLIENT_ID;
  }
  return out;
}

export function parsePort(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new Error(`${what} must be a port number 0–65535, not "${text}"`);
  return n;
}

/** A new config with the overrides applied; a broker URL implies an external broker, an InfluxDB URL implies influx storage. */
export function applyOverrides(site: SiteConfig, o: RuntimeOverrides): SiteConfig {
  const broker = {
    ...site.broker,
    ...(o.brokerUrl ? { kind: 'external' as const, url: o.brokerUrl } : {}),
    ...(o.mqttClientId ? { clientId: o.mqttClientId } : {}),
  };
  let storage = { ...site.storage, ...(o.dataDir ? { dataDir: o.dataDir } : {}) };
  if (o.influxUrl) {
    const url = new URL(o.influxUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error(`InfluxDB URL must start with http:// or https://, not "${o.influxUrl}"`);
    }
    const database = url.pathname.replace(/^\//, '') || storage.influx.database;
    storage = {
      ...storage,
      kind: 'influx',
      influx: {
        ...storage.influx,
        protocol: url.protocol === 'https:' ? 'https' : 'http',
        host: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port ? Number(url.port) : 8086,
        database,
      },
    };
  }
  if (o.storage) storage = { ...storage, kind: o.storage };
  const api = {
    ...site.api,
    ...(o.apiHost ? { host: o.apiHost } : {}),
    ...(o.apiPort !== undefined ? { port: o.apiPort } : {}),
  };
  return { ...site, broker, storage, api };
}

/** Credentials named by the site file (or the conventional HOTAISLE_* names), read from the environment. */
export function credentials(
  env: NodeJS.ProcessEnv,
  names: { usernameEnv?: string | undefined; passwordEnv?: string | undefined },
  fallback: { usernameEnv: string; passwordEnv: string },
): { username?: string; password?: string } {
  const username = env[names.usernameEnv ?? fallback.usernameEnv];
  const password = env[names.passwordEnv ?? fallback.passwordEnv];
  return { ...(username ? { username } : {}), ...(password ? { password } : {}) };
}
