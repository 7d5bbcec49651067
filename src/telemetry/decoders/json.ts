/**
 * The `json` format: an object, or an array of objects, per message. Fields are read by key or
 * by a dotted path (`sensors.inlet`). Pure: parsing and lookups only, the router does the mapping.
 */

export type JsonRecord = Record<string, unknown>;
export type TimestampPrecision = 'ns' | 'us' | 'ms' | 's';

export interface JsonDecodeResult {
  records: JsonRecord[];
  /** Why the payload, or an element of an array payload, is not a record. */
  errors: string[];
}

function isRecord(value: unknown): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function decodeJson(text: string): JsonDecodeResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { records: [], errors: [`invalid JSON: ${(err as Error).message}`] };
  }
  if (isRecord(parsed)) return { records: [parsed], errors: [] };
  if (!Array.isArray(parsed)) {
    return {
      records: [],
      errors: [`expected a JSON object or an array of objects, got ${describe(parsed)}`],
    };
  }
  const records: JsonRecord[] = [];
  const errors: string[] = [];
  parsed.forEach((item, i) => {
    if (isRecord(item)) records.push(item);
    else errors.push(`element ${i}: expected an object, got ${describe(item)}`);
  });
  return { records, errors };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

/** A field location compiled once: the key as written, and its dotted segments. */
export interface JsonPath {
  readonly key: string;
  readonly segments: readonly string[];
}

export function compileJsonPath(key: string): JsonPath {
  return { key, segments: key.split('.') };
}

const hasOwn = Object.hasOwn;

/**
 * The value at `path`, or undefined when absent. A key that literally contains dots wins over the
 * nested reading, so `{"a.b": 1}` and `{"a": {"b": 1}}` both answer `a.b`. Own properties only.
 */
export function readJsonPath(record: JsonRecord, path: JsonPath): unknown {
  if (hasOwn(record, path.key)) return record[path.key];
  const { segments } = path;
  if (segments.length === 1) return undefined;
  let node: unknown = record;
  for (const segment of segments) {
    if (!isRecord(node) || !hasOwn(node, segment)) return undefined;
    node = node[segment];
  }
  return node;
}

const DIGITS = /^-?\d+$/;

/**
 * A JSON timestamp in ms since epoch: a number in `precision` units (default ms), a string of
 * digits read the same way, or an ISO 8601 string. NaN when it is none of these.
 */
export function jsonTimestampToMs(value: unknown, precision: TimestampPrecision = 'ms'): number {
  if (typeof value === 'number') return Number.isFinite(value) ? numberToMs(value, precision) : Number.NaN;
  if (typeof value !== 'string' || value.length === 0) return Number.NaN;
  if (DIGITS.test(value)) return digitsToMs(value, precision);
  // Only full dates: Date.parse would also take "3" or "May" as a time.
  if (!/^\d{4}-\d{2}-\d{2}/.test(value)) return Number.NaN;
  return Date.parse(value);
}

function numberToMs(value: number, precision: TimestampPrecision): number {
  switch (precision) {
    case 's':
      return Math.round(value * 1000);
    case 'ms':
      return Math.round(value);
    case 'us':
      return Math.floor(value / 1e3);
    case 'ns':
      return Math.floor(value / 1e6);
  }
}

/**
 * Integer text in `precision` units → ms. Nanosecond stamps exceed 2^53, so the sub-millisecond
 * digits are cut off as text rather than divided as a float (which could round down by 1 ms).
 */
export function digitsToMs(digits: string, precision: TimestampPrecision): number {
  const cut = precision === 'ns' ? 6 : precision === 'us' ? 3 : 0;
  if (cut > 0) {
    const negative = digits.startsWith('-');
    const body = negative ? digits.slice(1) : digits;
    const ms = body.length > cut ? Number(body.slice(0, body.length - cut)) : 0;
    return negative ? -ms : ms;
  }
  const n = Number(digits);
  return precision === 's' ? n * 1000 : n;
}
