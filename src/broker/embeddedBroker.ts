/**
 * The in-process MQTT broker for the default run (no Mosquitto installed). Real clients — the
 * simulator, mosquitto_pub, Telegraf — publish to it on a TCP port like to any broker.
 * In-memory persistence: QoS 1 sessions survive client reconnects, not an agent restart.
 */
import net from 'node:net';
import { Aedes } from 'aedes';
import type { Logger } from '../log.ts';

export interface EmbeddedBrokerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  log: Logger;
}

export class EmbeddedBroker {
  private aedes: Aedes | undefined;
  private server: net.Server | undefined;
  private boundPort = 0;

  constructor(private readonly opts: EmbeddedBrokerOptions) {}

  async start(): Promise<void> {
    const log = this.opts.log;
    // A subscriber that falls behind must queue, not drop (Mosquitto's 1000-message default bites here).
    const aedes = await Aedes.createBroker({ queueLimit: 1_000_000 });
    aedes.on('clientError', (client, err) =>
      log.debug({ client: client.id, err: err.message }, 'mqtt client error'),
    );
    aedes.on('connectionError', (_client, err) => log.debug({ err: err.message }, 'mqtt connection error'));
    const server = net.createServer(aedes.handle);
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        reject(
          err.code === 'EADDRINUSE'
            ? new Error(
                `embedded MQTT broker: port ${this.opts.port} on ${this.opts.host} is in use; set broker.port in the site file (0 picks a free port) or stop the other broker`,
              )
            : err,
        );
      });
      server.listen(this.opts.port, this.opts.host, () => resolve());
    });
    const address = server.address();
    this.boundPort = typeof address === 'object' && address ? address.port : this.opts.port;
    this.aedes = aedes;
    this.server = server;
    log.info({ url: this.url }, 'embedded MQTT broker listening');
  }

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    const host = this.opts.host.includes(':') ? `[${this.opts.host}]` : this.opts.host;
    return `mqtt://${host}:${this.boundPort}`;
  }

  connectedClients(): number {
    return this.aedes?.connectedClients ?? 0;
  }

  async stop(): Promise<void> {
    const { aedes, server } = this;
    this.aedes = undefined;
    this.server = undefined;
    // Close the broker first: it disconnects clients, so the server's close() need not wait for them.
    if (aedes) await new Promise<void>((resolve) => aedes.close(() => resolve()));
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
