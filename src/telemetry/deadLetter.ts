/**
 * The dead-letter wire format: what the subscriber publishes to broker.deadLetterTopic for each
 * refused message, so an operator can see the offending payload without a packet capture.
 * Pure: builds the body, never publishes.
 */
import { isUtf8 } from 'node:buffer';
import type { RejectReason } from './reading.ts';
import type { RejectEntry } from './rejects.ts';

/** Bytes of the original payload kept in a dead letter. */
export const DEAD_LETTER_PAYLOAD_BYTES = 1024;

export interface DeadLetter {
  topic: string;
  reason: RejectReason;
  detail: string;
  receivedAt: number;
  /** The original payload's size in bytes. */
  bytes: number;
  /** The first DEAD_LETTER_PAYLOAD_BYTES bytes, as text, or base64 when they are not printable UTF-8. */
  payload: string;
  encoding: 'utf8' | 'base64';
  truncated: boolean;
}

export function deadLetterBody(entry: RejectEntry, receivedAt: number): DeadLetter {
  const head = entry.payload.subarray(0, DEAD_LETTER_PAYLOAD_BYTES);
  const text = isUtf8(head) && !hasControlBytes(head);
  return {
    topic: entry.topic,
    reason: entry.reason,
    detail: entry.detail,
    receivedAt,
    bytes: entry.payload.length,
    payload: text ? head.toString('utf8') : head.toString('base64'),
    encoding: text ? 'utf8' : 'base64',
    truncated: entry.payload.length > head.length,
  };
}

/** Control bytes other than tab, newline and carriage return: binary, not text. */
function hasControlBytes(buf: Buffer): boolean {
  for (const b of buf) if ((b < 0x20 && b !== 9 && b !== 10 && b !== 13) || b === 0x7f) return true;
  return false;
}
