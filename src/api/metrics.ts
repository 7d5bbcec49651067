/**
 * Prometheus metrics. Modules keep plain counters on their hot paths; this registry reads them
 * at scrape time, so a message costs nothing extra for being measured.
 */
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { WriteBufferStats } from '../store/writeBuffer.ts';
import type { TelemetrySubscriberStats } from '../telemetry/subscriber.ts';

/** Snapshot readers the agent wires in; each is called once per scrape. */
export interface MetricSources {
  ingest(): Pick<
    TelemetrySubscriberStats,
    'messagesReceived' | 'readingsAccepted' | 'rejectsByReason' | 'connected' | 'reconnects'
  >;
  writes(): Pick<
    WriteBufferStats,
    | 'readingsWritten'
    | 'pointsWritten'
    | 'batchesWritten'
    | 'writeErrors'
    | 'spooledBatches'
    | 'spoolDepth'
    | 'spoolBytes'
    | 'droppedReadings'
    | 'pending'
  >;
  storeConnected(): boolean;
}

/** A counter whose value is owned elsewhere and copied in at scrape time. */
function mirroredCounter(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

function mirroredGauge(registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

export function createMetricsRegistry(site: string, sources: MetricSources): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ site });
  collectDefaultMetrics({ register: registry, prefix: 'hotaisle_process_' });

  mirroredCounter(
    registry,
    'hotaisle_mqtt_messages_received_total',
    'MQTT messages taken off the broker',
    () => sources.ingest().messagesReceived,
  );
  mirroredCounter(
    registry,
    'hotaisle_readings_accepted_total',
    'Readings that passed validation',
    () => sources.ingest().readingsAccepted,
  );
  new Counter({
    name: 'hotaisle_readings_rejected_total',
    help: 'Messages or readings refused, by reason',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(sources.ingest().rejectsByReason)) this.inc({ reason }, n);
    },
  });
  mirroredGauge(registry, 'hotaisle_mqtt_connected', '1 while the telemetry subscription is connected', () =>
    sources.ingest().connected ? 1 : 0,
  );
  mirroredCounter(
    registry,
    'hotaisle_mqtt_reconnects_total',
    'Reconnects to the broker',
    () => sources.ingest().reconnects,
  );

  mirroredCounter(
    registry,
    'hotaisle_store_readings_written_total',
    'Readings the store accepted',
    () => sources.writes().readingsWritten,
  );
  mirroredCounter(
    registry,
    'hotaisle_store_points_written_total',
    'Points the store accepted',
    () => sources.writes().pointsWritten,
  );
  mirroredCounter(
    registry,
    'hotaisle_store_batches_written_total',
    'Write batches the store accepted',
    () => sources.writes().batchesWritten,
  );
  mirroredCounter(
    registry,
    'hotaisle_store_write_errors_total',
    'Write attempts that failed',
    () => sources.writes().writeErrors,
  );
  mirroredCounter(
    registry,
    'hotaisle_spool_batches_total',
    'Batches written to the on-disk spool',
    () => sources.writes().spooledBatches,
  );
  mirroredGauge(
    registry,
    'hotaisle_spool_depth_batches',
    'Batches waiting in the on-disk spool',
    () => sources.writes().spoolDepth,
  );
  mirroredGauge(
    registry,
    'hotaisle_spool_bytes',
    'Bytes held by the on-disk spool',
    () => sources.writes().spoolBytes,
  );
  mirroredCounter(
    registry,
    'hotaisle_spool_dropped_readings_total',
    'Readings dropped because the spool hit its size bound',
    () => sources.writes().droppedReadings,
  );
  mirroredGauge(
    registry,
    'hotaisle_write_pending_readings',
    'Readings buffered in memory awaiting a write',
    () => sources.writes().pending,
  );
  mirroredGauge(registry, 'hotaisle_store_connected', '1 while the store answers', () =>
    sources.storeConnected() ? 1 : 0,
  );

  return registry;
}
