/** Picks the backend the site asks for (storage.kind) and builds the write path in front of it. */
import { join, resolve } from 'node:path';
import type { SiteConfig } from '../config/schema.ts';
import type { SiteIndex } from '../config/siteIndex.ts';
import type { Logger } from '../log.ts';
import { EmbeddedStore } from './embeddedStore.ts';
import { InfluxStore } from './influxStore.ts';
import { DiskSpool } from './spool.ts';
import type { TelemetryStore } from './store.ts';
import { WriteBuffer } from './writeBuffer.ts';

export function createStore(
  config: SiteConfig,
  index: SiteIndex,
  log: Logger,
  env: NodeJS.ProcessEnv = process.env,
): TelemetryStore {
  // Stores read storage settings from index.site; runtime overrides may have produced a new config
  // after the index was built, so the config passed in wins. The index supplies room/row/unit tags.
  const ctx = { index: index.site === config ? index : { ...index, site: config }, log };
  return config.storage.kind === 'influx' ? new InfluxStore({ ...ctx, env }) : new EmbeddedStore(ctx);
}

/** The spool and write buffer for a store, configured from storage.* (spool under `<dataDir>/spool/`). */
export function createWriteBuffer(config: SiteConfig, store: TelemetryStore, log: Logger): WriteBuffer {
  const s = config.storage;
  const spool = new DiskSpool({
    dir: join(resolve(s.dataDir), 'spool'),
    maxBytes: s.spoolMaxMb * 1024 * 1024,
    log,
  });
  return new WriteBuffer({ store, spool, log, batchSize: s.batchSize, flushIntervalMs: s.flushIntervalMs });
}
