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
    'messagesReceived' | 'readingsAccepted' | 'rejectsByReason' | 'connected' | 'reconnects' | 'pauses'
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
    'hotaisle_ingest_pauses_total',
    'Times ingest stopped taking messages off the broker because the store fell behind (QoS 1 messages wait on the broker)',
    () => sources.ingest().pauses,
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

/** What the alerts module reports at scrape time (plain values it already keeps). */
export interface AlertMetricsSnapshot {
  /** Pending and firing alerts, each with whether an active silence covers it. */
  active: ReadonlyArray<{ state: 'pending' | 'firing'; severity: string; rule: string; silenced: boolean }>;
  /** Per receiver: groups delivered, deliveries that failed after retries, HTTP retries. */
  receivers: Readonly<Record<string, { sent: number; failed: number; retries: number }>>;
  /** Groups the fallback receiver took after the primary failed, and groups no receiver took. */
  fellBack: number;
  lost: number;
  evaluations: number;
  evaluationSecondsTotal: number;
  lastEvaluationSeconds: number;
}

/** Alert metrics on an agent's registry; `read` is called once per scrape. */
export function registerAlertMetrics(registry: Registry, read: () => AlertMetricsSnapshot): void {
  // One snapshot per scrape, shared by the collectors below (each would otherwise take its own). The
  // registry calls every collect() in the same tick, so the snapshot is dropped at the next one: a
  // time-based cache would serve a scrape that follows quickly the previous scrape's numbers.
  let cached: AlertMetricsSnapshot | undefined;
  const snapshot = () => {
    if (!cached) {
      cached = read();
      setImmediate(() => {
        cached = undefined;
      });
    }
    return cached;
  };
  new Gauge({
    name: 'hotaisle_alerts',
    help: 'Pending and firing alerts, by state, severity and rule (silenced ones included)',
    labelNames: ['state', 'severity', 'rule'],
    registers: [registry],
    collect() {
      this.reset();
      for (const a of snapshot().active) this.inc({ state: a.state, severity: a.severity, rule: a.rule });
    },
  });
  mirroredGauge(
    registry,
    'hotaisle_alerts_silenced',
    'Pending or firing alerts an active silence covers (nothing is sent for them)',
    () => snapshot().active.filter((a) => a.silenced).length,
  );
  const perReceiver = (
    name: string,
    help: string,
    pick: (r: { sent: number; failed: number; retries: number }) => number,
  ) =>
    new Counter({
      name,
      help,
      labelNames: ['receiver'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [receiver, r] of Object.entries(snapshot().receivers)) this.inc({ receiver }, pick(r));
      },
    });
  perReceiver(
    'hotaisle_alert_notifications_sent_total',
    'Alert notifications (one group each) a receiver accepted',
    (r) => r.sent,
  );
  perReceiver(
    'hotaisle_alert_notifications_failed_total',
    'Alert notifications a receiver did not accept after its retries',
    (r) => r.failed,
  );
  perReceiver(
    'hotaisle_alert_notification_retries_total',
    'HTTP retries of alert notifications',
    (r) => r.retries,
  );
  mirroredCounter(
    registry,
    'hotaisle_alert_fallback_deliveries_total',
    "Alert notifications delivered by a route's fallback receiver after the primary failed",
    () => snapshot().fellBack,
  );
  mirroredCounter(
    registry,
    'hotaisle_alert_notifications_lost_total',
    'Alert notifications neither the primary nor the fallback receiver took (retried next evaluation)',
    () => snapshot().lost,
  );
  mirroredCounter(
    registry,
    'hotaisle_alert_evaluations_total',
    'Alert rule evaluations',
    () => snapshot().evaluations,
  );
  mirroredCounter(
    registry,
    'hotaisle_alert_evaluation_seconds_total',
    'Time spent in alert evaluations (rules, routing, delivery); divide by evaluations for the mean',
    () => snapshot().evaluationSecondsTotal,
  );
  mirroredGauge(
    registry,
    'hotaisle_alert_last_evaluation_seconds',
    'Duration of the latest alert evaluation',
    () => snapshot().lastEvaluationSeconds,
  );
}
