/**
 * How the telemetry subscriber's MQTT client is set up: the broker URL, the connect options
 * (persistent session, last will, credentials from the environment) and the patch that batches
 * the socket's writes. Everything here runs once per connection, never per message.
 */
import type { IClientOptions } from 'mqtt';
import { credentials } from '../config/overrides.ts';
import type { BrokerConfig } from '../config/schema.ts';

/** Listen addresses that mean "every interface": a client on this host reaches them over loopback. */
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '']);

/** The URL to connect to: broker.url, or mqtt://host:port of the embedded broker on this host. */
export function brokerUrl(broker: BrokerConfig): string {
  if (broker.kind !== 'embedded') return broker.url;
  const host = WILDCARD_HOSTS.has(broker.host) ? '127.0.0.1' : broker.host;
  return `mqtt://${host.includes(':') ? `[${host}]` : host}:${broker.port}`;
}

/** MQTT credentials: the variables the site file names, else HOTAISLE_MQTT_USERNAME/PASSWORD. */
export function mqttCredentials(
  env: NodeJS.ProcessEnv,
  broker: BrokerConfig,
): { username?: string; password?: string } {
  return credentials(env, broker, {
    usernameEnv: 'HOTAISLE_MQTT_USERNAME',
    passwordEnv: 'HOTAISLE_MQTT_PASSWORD',
  });
}

export interface TelemetryClientSettings {
  /** Must be stable for the persistent session. */
  clientId: string;
  /** The last will: "offline" is published here, retained, when the connection is lost. */
  statusTopic: string;
  statusQos: NonNullable<IClientOptions['will']>['qos'];
  /** How long queued readings stay useful; bounds the MQTT 5 session expiry. */
  maxAgeMs: number;
  /** Where credentials are read from (broker.usernameEnv/passwordEnv, else HOTAISLE_MQTT_USERNAME/PASSWORD). */
  env: NodeJS.ProcessEnv;
}

export function telemetryClientOptions(
  broker: BrokerConfig,
  settings: TelemetryClientSettings,
): IClientOptions {
  const shared = broker.sharedGroup !== undefined;
  const creds = mqttCredentials(settings.env, broker);
  return {
    clientId: settings.clientId,
    clean: false,
    // Shared subscriptions ($share/…) need MQTT 5.
    protocolVersion: shared ? 5 : 4,
    // MQTT 5 ends a session at disconnect unless it has an expiry; keep it as long as readings stay useful.
    ...(shared
      ? {
          properties: {
            sessionExpiryInterval: Math.min(Math.ceil(settings.maxAgeMs / 1000), 0xfffffffe),
          },
        }
      : {}),
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
    keepalive: 30,
    // The subscriber subscribes itself on every connect, whatever the broker kept.
    resubscribe: false,
    will: {
      topic: settings.statusTopic,
      payload: Buffer.from('offline'),
      qos: settings.statusQos,
      retain: true,
    },
    // MQTT.js logs every packet through `debug`; skip even the disabled-debug call on the hot path.
    log: () => {},
    ...creds,
  };
}

const batched = new WeakSet<object>();

interface CorkableStream {
  cork(): void;
  uncork(): void;
  end(...args: unknown[]): unknown;
}

/**
 * MQTT.js writes each PUBACK on its own (mqtt-packet corks the socket and uncorks on the next
 * tick, and MQTT.js handles one packet per tick), so a QoS 1 flood costs one writev syscall per
 * message: a third of the CPU in profiles, and half the throughput. Deferring the uncork to
 * setImmediate sends the acks of a whole TCP read in one write. end() flushes first, because
 * Node's end() expects uncork() to take effect at once.
 */
export function batchSocketWrites(stream: unknown): void {
  const socket = stream as Partial<CorkableStream> | undefined;
  if (!socket || typeof socket.uncork !== 'function' || typeof socket.cork !== 'function') return;
  if (typeof socket.end !== 'function' || batched.has(socket)) return;
  batched.add(socket);
  const uncork = socket.uncork.bind(socket);
  const end = socket.end.bind(socket);
  let owed = 0;
  const flush = () => {
    const n = owed;
    owed = 0;
    for (let i = 0; i < n; i++) uncork();
  };
  socket.uncork = () => {
    if (owed++ === 0) setImmediate(flush);
  };
  socket.end = (...args: unknown[]) => {
    flush();
    return end(...args);
  };
}
