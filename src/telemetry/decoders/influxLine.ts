/**
 * InfluxDB line protocol, as Telegraf's MQTT output writes it (one point per message, or a batch
 * of lines per message):
 *
 *   measurement[,tag=value...] field=value[,field=value...] [timestamp]
 *
 * Measurement: `\,` and `\ ` escape a comma/space. Tag keys, tag values, field keys: `\,` `\=` `\ `.
 * Field values: float (1, -1.5, 1e3), integer `12i`, unsigned `12u`, boolean (t T true True TRUE,
 * f F false False FALSE), string "…" with `\"` and `\\`. Timestamp: integer, ns unless a precision
 * is agreed. Lines starting with `#` are comments. A bad line is reported and skipped; the other
 * lines of the batch still count. Pure.
 */
import { digitsToMs, type TimestampPrecision } from './json.ts';

export type LineFieldValue = number | boolean | string;

export interface LinePoint {
  measurement: string;
  tags: Map<string, string>;
  fields: Map<string, LineFieldValue>;
  /** Timestamp digits as written; undefined when the line has none (the receiver stamps it). */
  timestamp: string | undefined;
}

export interface LineError {
  /** 1-based line number within the message. */
  line: number;
  message: string;
}

export interface LineDecodeResult {
  points: LinePoint[];
  errors: LineError[];
}

const BACKSLASH = 92;
const COMMA = 44;
const SPACE = 32;
const EQUALS = 61;
const QUOTE = 34;
const NEWLINE = 10;
const CR = 13;
const TAB = 9;
const HASH = 35;

class LineSyntaxError extends Error {}

const FLOAT = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;
const INTEGER = /^[-+]?\d+$/;
const UNSIGNED = /^\d+$/;
const TIMESTAMP = /^-?\d+$/;
const TRUE_WORDS = new Set(['t', 'T', 'true', 'True', 'TRUE']);
const FALSE_WORDS = new Set(['f', 'F', 'false', 'False', 'FALSE']);

/** Parses every line of `text`; never throws. */
export function decodeLineProtocol(text: string): LineDecodeResult {
  const points: LinePoint[] = [];
  const errors: LineError[] = [];
  const parser = new Scanner(text);
  let lineNo = 0;
  while (parser.pos < text.length) {
    lineNo++;
    const start = parser.pos;
    parser.skip(SPACE, TAB);
    const c = parser.peek();
    if (c === NEWLINE || c === CR || c === HASH || parser.pos >= text.length) {
      parser.toLineEnd();
      continue;
    }
    try {
      points.push(parser.point());
    } catch (err) {
      if (!(err instanceof LineSyntaxError)) throw err;
      errors.push({ line: lineNo, message: `${err.message}: ${excerpt(text, start)}` });
      parser.toLineEnd();
    }
  }
  return { points, errors };
}

/** A line timestamp (digits) in ms since epoch, by the writer's precision (Telegraf: ns). */
export function lineTimestampToMs(digits: string, precision: TimestampPrecision = 'ns'): number {
  return digitsToMs(digits, precision);
}

function excerpt(text: string, start: number): string {
  let end = text.indexOf('\n', start);
  if (end < 0) end = text.length;
  const line = text.slice(start, Math.min(end, start + 80));
  return JSON.stringify(end - start > 80 ? `${line}…` : line);
}

class Scanner {
  pos = 0;
  constructor(private readonly text: string) {}

  peek(): number {
    return this.text.charCodeAt(this.pos);
  }

  skip(a: number, b: number): void {
    while (this.pos < this.text.length) {
      const c = this.text.charCodeAt(this.pos);
      if (c !== a && c !== b) break;
      this.pos++;
    }
  }

  /** Moves past the next newline (or to the end). */
  toLineEnd(): void {
    const nl = this.text.indexOf('\n', this.pos);
    this.pos = nl < 0 ? this.text.length : nl + 1;
  }

  atLineEnd(): boolean {
    if (this.pos >= this.text.length) return true;
    const c = this.peek();
    return c === NEWLINE || c === CR;
  }

  point(): LinePoint {
    const measurement = this.token(false);
    if (measurement.length === 0) throw new LineSyntaxError('missing measurement');
    const tags = new Map<string, string>();
    while (this.peek() === COMMA) {
      this.pos++;
      const key = this.token(true);
      if (this.peek() !== EQUALS || key.length === 0) throw new LineSyntaxError('tag without key=value');
      this.pos++;
      const value = this.token(true);
      if (value.length === 0) throw new LineSyntaxError(`tag ${key} has no value`);
      tags.set(key, value);
    }
    if (this.peek() !== SPACE) throw new LineSyntaxError('expected a space before the fields');
    this.skip(SPACE, SPACE);
    const fields = new Map<string, LineFieldValue>();
    for (;;) {
      const key = this.token(true);
      if (key.length === 0 || this.peek() !== EQUALS) throw new LineSyntaxError('field without key=value');
      this.pos++;
      fields.set(key, this.fieldValue(key));
      if (this.peek() !== COMMA) break;
      this.pos++;
    }
    let timestamp: string | undefined;
    if (!this.atLineEnd()) {
      if (this.peek() !== SPACE) throw new LineSyntaxError('expected a space before the timestamp');
      this.skip(SPACE, SPACE);
      if (!this.atLineEnd()) {
        const start = this.pos;
        while (!this.atLineEnd() && this.peek() !== SPACE) this.pos++;
        timestamp = this.text.slice(start, this.pos);
        if (!TIMESTAMP.test(timestamp)) throw new LineSyntaxError(`timestamp ${timestamp} is not an integer`);
        this.skip(SPACE, TAB);
        if (!this.atLineEnd()) throw new LineSyntaxError('unexpected text after the timestamp');
      }
    }
    this.toLineEnd();
    return { measurement, tags, fields, timestamp };
  }

  /**
   * Measurement, tag key/value or field key up to an unescaped delimiter. `\` before a delimiter
   * (or another `\`) escapes it; any other backslash is kept as written.
   */
  token(stopAtEquals: boolean): string {
    const text = this.text;
    const start = this.pos;
    let out: string | undefined;
    let chunk = start;
    while (this.pos < text.length) {
      const c = text.charCodeAt(this.pos);
      if (c === BACKSLASH && this.pos + 1 < text.length) {
        const next = text.charCodeAt(this.pos + 1);
        if (next === COMMA || next === SPACE || next === EQUALS || next === BACKSLASH) {
          out = (out ?? '') + text.slice(chunk, this.pos);
          this.pos++;
          chunk = this.pos;
          this.pos++;
          continue;
        }
      }
      if (c === COMMA || c === SPACE || c === NEWLINE || c === CR || (stopAtEquals && c === EQUALS)) break;
      this.pos++;
    }
    const tail = text.slice(chunk, this.pos);
    return out === undefined ? tail : out + tail;
  }

  fieldValue(key: string): LineFieldValue {
    const text = this.text;
    if (this.peek() === QUOTE) {
      this.pos++;
      let out = '';
      let chunk = this.pos;
      while (this.pos < text.length) {
        const c = text.charCodeAt(this.pos);
        if (c === BACKSLASH) {
          const next = text.charCodeAt(this.pos + 1);
          if (next === QUOTE || next === BACKSLASH) {
            out += text.slice(chunk, this.pos);
            chunk = this.pos + 1;
            this.pos += 2;
            continue;
          }
        } else if (c === QUOTE) {
          out += text.slice(chunk, this.pos);
          this.pos++;
          return out;
        } else if (c === NEWLINE) {
          // Line protocol has no newlines inside values; stop here so the next line of a batch survives.
          break;
        }
        this.pos++;
      }
      throw new LineSyntaxError(`string field ${key} has no closing quote`);
    }
    const start = this.pos;
    while (this.pos < text.length) {
      const c = text.charCodeAt(this.pos);
      if (c === COMMA || c === SPACE || c === NEWLINE || c === CR) break;
      this.pos++;
    }
    const raw = text.slice(start, this.pos);
    if (raw.length === 0) throw new LineSyntaxError(`field ${key} has no value`);
    const last = raw.charCodeAt(raw.length - 1);
    if (last === 105 /* i */ && INTEGER.test(raw.slice(0, -1))) return Number(raw.slice(0, -1));
    if (last === 117 /* u */ && UNSIGNED.test(raw.slice(0, -1))) return Number(raw.slice(0, -1));
    if (FLOAT.test(raw)) return Number(raw);
    if (TRUE_WORDS.has(raw)) return true;
    if (FALSE_WORDS.has(raw)) return false;
    throw new LineSyntaxError(`field ${key} has an invalid value ${raw}`);
  }
}
