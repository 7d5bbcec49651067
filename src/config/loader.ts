/**
 * Site file loading: text → YAML (or JSON) → SiteSchema → cross checks → frozen config.
 * Every problem names the file, the field path and what is expected (STYLE.md §6), so a person
 * can fix a whole file in one pass instead of one error per start-up.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import type { Document } from 'yaml';
import { isMap, isNode, isScalar, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { crossCheckSite, formatConfigPath, parseConfigPath } from './crossChecks.ts';
import type { SiteConfig } from './schema.ts';
import { SiteSchema } from './schema.ts';

export interface ConfigProblem {
  file: string;
  /** Field path such as `rooms[0].rows[2].racks[5].powerCapKw`; "" for the file as a whole. */
  path: string;
  message: string;
  /** 1-based line in the file, when it could be located. */
  line?: number;
}

export type LoadResult =
  | { ok: true; file: string; config: Readonly<SiteConfig> }
  | { ok: false; file: string; problems: ConfigProblem[] };

/** Thrown by callers that prefer exceptions; carries every problem, not just the first. */
export class ConfigError extends Error {
  readonly code = 'HOTAISLE_CONFIG_INVALID';
  readonly problems: readonly ConfigProblem[];
  constructor(problems: ConfigProblem[]) {
    super(`invalid site configuration:\n${formatProblems(problems)}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** One line per problem: `file: path: message` (path left out when the whole file is meant). */
export function formatProblems(problems: readonly ConfigProblem[]): string {
  return problems
    .map((p) => {
      const where = p.path === '' ? '' : `${p.path}: `;
      const line = p.line === undefined ? '' : ` (line ${p.line})`;
      return `${p.file}: ${where}${p.message}${line}`;
    })
    .join('\n');
}

export function loadSiteFile(file: string): LoadResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const message =
      code === 'ENOENT'
        ? 'file not found; pass the path of a site file (sites/*.yaml)'
        : code === 'EISDIR'
          ? 'is a directory; pass the path of a site file inside it'
          : `cannot read the file (${code ?? (err as Error).message})`;
    return { ok: false, file, problems: [{ file, path: '', message }] };
  }
  return parseSiteText(text, file);
}

export function parseSiteText(text: string, file: string): LoadResult {
  const fail = (problems: ConfigProblem[]): LoadResult => ({ ok: false, file, problems });
  const lines = new LineCounter();
  // merge: `<<: *gpu-node` lets a long file share templates (node specs) without copying them.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, merge: true });
  let data: unknown;
  if (extname(file).toLowerCase() === '.json') {
    // JSON is YAML, but a .json file should not quietly accept YAML-only syntax.
    try {
      data = JSON.parse(text);
    } catch (err) {
      return fail([{ file, path: '', message: jsonSyntaxMessage(text, (err as Error).message) }]);
    }
  } else {
    const first = doc.errors[0];
    if (first) {
      // Later syntax errors are mostly echoes of the first; report that one so the fix is clear.
      const at = first.linePos?.[0] ?? lines.linePos(first.pos[0]);
      const what = first.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      const more =
        doc.errors.length > 1
          ? ` (${doc.errors.length - 1} more syntax errors may follow from this one)`
          : '';
      return fail([
        { file, path: '', message: `YAML syntax error at line ${at.line}, column ${at.col}: ${what}${more}` },
      ]);
    }
    try {
      data = doc.toJS({ maxAliasCount: 1000 });
    } catch (err) {
      // e.g. an alias to an undefined anchor or a "billion laughs" alias bomb
      return fail([{ file, path: '', message: `YAML cannot be read: ${(err as Error).message}` }]);
    }
  }
  if (data === null || data === undefined) {
    return fail([
      { file, path: '', message: 'the file is empty; expected a site definition with `site:` and `rooms:`' },
    ]);
  }
  const locate = (segments: readonly PropertyKey[]) =>
    doc.errors.length === 0 ? lineOf(doc, lines, segments) : undefined;

  const parsed = SiteSchema.safeParse(data, { reportInput: true, error: () => DEFAULT_MESSAGE });
  if (!parsed.success) {
    const problems: ConfigProblem[] = [];
    for (const issue of parsed.error.issues) {
      for (const d of describeIssue(issue, [])) {
        problems.push(withLine({ file, path: formatConfigPath(d.path), message: d.message }, locate(d.path)));
      }
    }
    return fail(problems);
  }
  const cross = crossCheckSite(parsed.data);
  if (cross.length > 0) {
    return fail(cross.map((p) => withLine({ file, ...p }, locate(parseConfigPath(p.path)))));
  }
  // zod shares nested default objects between parses; freeze a copy so no other parse is affected.
  return { ok: true, file, config: deepFreeze(structuredClone(parsed.data)) };
}

function withLine(p: ConfigProblem, line: number | undefined): ConfigProblem {
  return line === undefined ? p : { ...p, line };
}

/** V8's JSON errors differ between versions: some give a position, some only echo the text. */
function jsonSyntaxMessage(text: string, raw: string): string {
  const what = raw.replace(/ (in JSON )?at position \d+.*$/s, '').replace(/, (\.\.\.)?".*$/s, '');
  const pos = /position (\d+)/.exec(raw);
  const offset = pos ? Number(pos[1]) : jsonErrorOffset(text);
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const col = before.length - before.lastIndexOf('\n');
  return `JSON syntax error at line ${line}, column ${col}: ${what}`;
}

/**
 * Offset of the first character that makes `text` invalid JSON: a prefix either still reads as
 * the start of a document ("unexpected end") or already holds the error, so bisect on that.
 */
function jsonErrorOffset(text: string): number {
  const fineSoFar = (n: number) => {
    try {
      JSON.parse(text.slice(0, n));
      return true;
    } catch (err) {
      return /end of JSON input|Unterminated string/i.test((err as Error).message);
    }
  };
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fineSoFar(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Line of the deepest existing node on the path (a missing field points at its parent). */
function lineOf(doc: Document, lines: LineCounter, path: readonly PropertyKey[]): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const head = path.slice(0, n);
    const parent = n > 0 ? doc.getIn(head.slice(0, -1), true) : undefined;
    // Point at the key itself when there is one, so an unknown key is found where it is written.
    if (isMap(parent)) {
      const pair = parent.items.find(
        (it) => isScalar(it.key) && String(it.key.value) === String(head[n - 1]),
      );
      if (pair && isNode(pair.key) && pair.key.range) return lines.linePos(pair.key.range[0]).line;
    }
    const node = n === 0 ? doc.contents : doc.getIn(head, true);
    if (isNode(node) && node.range) return lines.linePos(node.range[0]).line;
  }
  return undefined;
}

function deepFreeze<T>(value: T): Readonly<T> {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// zod issues → messages that say what is wrong and what is expected.

/** Marks issues whose schema gave no message of its own, so we write one; schema messages are kept. */
const DEFAULT_MESSAGE = '\u0000default';

type Issue = z.core.$ZodIssue;
interface Described {
  path: PropertyKey[];
  message: string;
}

function describeIssue(issue: Issue, prefix: readonly PropertyKey[]): Described[] {
  const path = [...prefix, ...issue.path];
  const own = issue.message === DEFAULT_MESSAGE ? undefined : issue.message;
  const input = issue.input;
  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = objectKeysAt(path) ?? [];
      return issue.keys.map((key) => {
        const near = closest(key, allowed);
        const hint = near ? `; did you mean '${near}'?` : '';
        const intro = near ? ' Allowed keys here: ' : '; allowed keys here: ';
        const list = allowed.length > 0 ? `${intro}${allowed.join(', ')}` : '';
        return { path: [...path, key], message: `unknown key '${key}'${hint}${list}` };
      });
    }
    case 'invalid_union':
      return describeUnion(issue, path);
    case 'invalid_type': {
      if (input === undefined) {
        return [
          {
            path,
            message: `${missing(path)}: ${own ?? `expected ${describeExpected(issue.expected, path)}`}`,
          },
        ];
      }
      const quoted =
        typeof input === 'string' &&
        input.trim() !== '' &&
        Number.isFinite(Number(input)) &&
        issue.expected === 'number'
          ? ' (remove the quotes to make it a number)'
          : '';
      const base = own ?? `expected ${describeExpected(issue.expected, path)}`;
      return [{ path, message: `${base}, received ${typeName(input)} ${preview(input)}${quoted}` }];
    }
    case 'invalid_value': {
      const values = issue.values.map((v) => String(v));
      const near = typeof input === 'string' ? closest(input, values) : undefined;
      const expected =
        values.length === 1 ? `expected exactly ${values[0]}` : `expected one of: ${values.join(', ')}`;
      const hint = near ? ` (did you mean '${near}'?)` : '';
      if (input === undefined) return [{ path, message: `${missing(path)}: ${own ?? expected}` }];
      return [{ path, message: `${own ?? `${preview(input)} is not allowed; ${expected}`}${hint}` }];
    }
    case 'too_small':
    case 'too_big': {
      if (own) return [{ path, message: `${own}, received ${preview(input)}` }];
      return [{ path, message: boundMessage(issue) }];
    }
    case 'invalid_format': {
      const base = own ?? `does not have the expected format${issue.pattern ? ` ${issue.pattern}` : ''}`;
      return [{ path, message: `${base}, received ${preview(input)}` }];
    }
    default:
      return [{ path, message: own ?? `invalid value ${preview(input)}` }];
  }
}

/**
 * A union fails when every option fails. When all options failed at the value itself (wrong type
 * or value), list what each would accept; otherwise the option that got furthest is the one the
 * author meant, so report its issues.
 */
function describeUnion(issue: Extract<Issue, { code: 'invalid_union' }>, path: PropertyKey[]): Described[] {
  const branches = issue.errors.filter((b) => b.length > 0);
  const depth = (b: Issue[]) => Math.max(...b.map((i) => i.path.length));
  const atRoot = branches.filter((b) => depth(b) === 0);
  if (branches.length === 0)
    return [{ path, message: issue.message === DEFAULT_MESSAGE ? 'invalid value' : issue.message }];
  if (atRoot.length === branches.length) {
    const values: string[] = [];
    const types: string[] = [];
    for (const b of branches) {
      for (const i of b) {
        if (i.code === 'invalid_value') values.push(...i.values.map(String));
        else if (i.code === 'invalid_type') types.push(describeExpected(i.expected, path));
      }
    }
    const alternatives = [values.length > 0 ? `one of: ${values.join(', ')}` : '', ...types].filter(
      (s) => s !== '',
    );
    const near = typeof issue.input === 'string' ? closest(issue.input, values) : undefined;
    const hint = near ? ` (did you mean '${near}'?)` : '';
    return [
      {
        path,
        message: `${preview(issue.input)} is not allowed; expected ${alternatives.join(', or ')}${hint}`,
      },
    ];
  }
  const best = branches.reduce((a, b) => (depth(b) > depth(a) ? b : a));
  return best.flatMap((i) => describeIssue(i, path));
}

function boundMessage(issue: Extract<Issue, { code: 'too_small' | 'too_big' }>): string {
  const small = issue.code === 'too_small';
  const limit = Number(small ? issue.minimum : issue.maximum);
  const input = issue.input;
  switch (issue.origin) {
    case 'array':
    case 'set': {
      const has = Array.isArray(input) ? `, has ${input.length}` : '';
      if (issue.exact) return `needs exactly ${limit} entries${has}`;
      return `needs ${small ? 'at least' : 'at most'} ${limit} entr${limit === 1 ? 'y' : 'ies'}${has}`;
    }
    case 'string':
      if (issue.exact) return `must be exactly ${limit} characters long, received ${preview(input)}`;
      return `must be ${small ? 'at least' : 'at most'} ${limit} characters long, received ${preview(input)}`;
    default: {
      const rel = small ? (issue.inclusive ? 'at least' : 'above') : issue.inclusive ? 'at most' : 'below';
      return `must be ${rel} ${limit}, received ${preview(input)}`;
    }
  }
}

function missing(path: readonly PropertyKey[]): string {
  const key = path.at(-1);
  return `missing required field${typeof key === 'string' ? ` '${key}'` : ''}`;
}

/** 'a mapping with keys metric, unit' reads better than 'an object' when the keys are known. */
function describeExpected(expected: string, path: readonly PropertyKey[]): string {
  const keys = expected === 'object' ? objectKeysAt(path) : undefined;
  return keys ? `a mapping with keys ${keys.join(', ')}` : article(expected);
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  return `${typeof v}`;
}

function preview(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'string') return `'${v.length > 40 ? `${v.slice(0, 37)}...` : v}'`;
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function article(expected: string): string {
  const names: Record<string, string> = {
    object: 'a mapping (key: value lines)',
    array: 'a list',
    record: 'a mapping (key: value lines)',
    string: 'text',
    number: 'a number',
    int: 'a whole number',
    boolean: 'true or false',
  };
  return names[expected] ?? expected;
}

/** Closest candidate by edit distance (case-insensitive) or by prefix, if it is close enough to be a typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = editDistance(w, c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  const tolerance = word.length <= 3 ? 1 : Math.max(2, Math.floor(word.length / 3));
  if (best !== undefined && bestDistance <= tolerance && bestDistance < word.length) return best;
  // A shortened name ('influx' for 'influx-line') is a typo too.
  if (w.length >= 3)
    return candidates.find((c) => c.toLowerCase().startsWith(w) || w.startsWith(c.toLowerCase()));
  return undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost));
    }
    prev = row;
  }
  return prev[b.length]!;
}

// Walking the schema to list the keys an object accepts. zod keeps its structure in `_zod.def`;
// only the few shapes our schema uses are followed.
interface SchemaNode {
  _zod: {
    def: {
      type: string;
      shape?: Record<string, SchemaNode>;
      element?: SchemaNode;
      innerType?: SchemaNode;
      valueType?: SchemaNode;
      options?: readonly SchemaNode[];
      in?: SchemaNode;
    };
  };
}

function unwrap(node: SchemaNode): SchemaNode {
  let n = node;
  for (let i = 0; i < 10; i++) {
    const def = n._zod.def;
    const inner = def.innerType ?? (def.type === 'pipe' ? def.in : undefined);
    if (!inner) break;
    n = inner;
  }
  return n;
}

function objectKeysAt(path: readonly PropertyKey[]): string[] | undefined {
  let candidates: SchemaNode[] = [SiteSchema as unknown as SchemaNode];
  for (const seg of path) {
    const next: SchemaNode[] = [];
    for (const c of candidates.flatMap(expandUnion)) {
      const def = c._zod.def;
      if (def.type === 'object' && typeof seg === 'string' && def.shape?.[seg]) next.push(def.shape[seg]);
      else if (def.type === 'array' && typeof seg === 'number' && def.element) next.push(def.element);
      else if (def.type === 'record' && def.valueType) next.push(def.valueType);
    }
    candidates = next;
  }
  const object = candidates.flatMap(expandUnion).find((c) => c._zod.def.type === 'object');
  return object?._zod.def.shape ? Object.keys(object._zod.def.shape) : undefined;
}

function expandUnion(node: SchemaNode): SchemaNode[] {
  const n = unwrap(node);
  return n._zod.def.type === 'union' ? (n._zod.def.options ?? []).map(unwrap) : [n];
}
