/** A validated telemetry reading inside the agent. Units are fixed by the metric suffix (°C, kW, %). */
import type { TargetKind } from '../config/schema.ts';

export interface Reading {
  /** rack | cooling | site: which measurement the reading belongs to. */
  kind: TargetKind;
  site: string;
  /** Rack id, cooling unit id, or the site id for site-level readings. */
  target: string;
  /** Canonical metric, e.g. inlet_c, power_kw. */
  metric: string;
  value: number;
  /** Milliseconds since epoch, UTC. */
  ts: number;
}

/** Why a message or a reading was refused; each reason has its own counter. */
export type RejectReason =
  | 'payload_too_large'
  | 'malformed_payload'
  | 'no_mapping'
  | 'unknown_target'
  | 'unknown_field'
  | 'not_a_number'
  | 'implausible_value'
  | 'timestamp_in_future'
  | 'timestamp_too_old';
