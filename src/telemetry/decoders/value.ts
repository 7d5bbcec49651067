/** The `value` format: one bare number per message, the metric named by the topic. Pure. */

// Strict decimal number; rejects "", "nan", "Infinity", "on", hex and anything Number() would bend.
const NUMBER = /^\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*$/;

/** The number in `payload`, tolerating surrounding whitespace; NaN when it is not exactly one finite number. */
export function decodeValue(payload: Buffer | string): number {
  const text = typeof payload === 'string' ? payload : payload.toString('utf8');
  if (text.length > 64 || !NUMBER.test(text)) return Number.NaN;
  const value = Number(text);
  return Number.isFinite(value) ? value : Number.NaN;
}
