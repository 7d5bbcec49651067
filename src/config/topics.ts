/**
 * Topic patterns with named wildcards, as written in site files: `dc/{site}/{room}/{rack}/{metric}`.
 * `{name}` stands for one level, `{name...}` or `#` for the rest of the topic (last level only).
 * Matching and filling are delegated to mqtt-pattern, which uses the `+name` / `#name` spelling.
 */
import mqttPattern from 'mqtt-pattern';

export interface CompiledTopic {
  /** The pattern as written in the site file. */
  readonly source: string;
  /** The MQTT subscription filter, e.g. `dc/+/+/+/+`. */
  readonly filter: string;
  /** Names of the wildcards, in order. */
  readonly params: readonly string[];
  /** The wildcard values when the topic matches, otherwise null. */
  match(topic: string): Record<string, string> | null;
  /** The concrete topic for these wildcard values (publishers, the simulator). */
  fill(values: Record<string, string>): string;
}

const LEVEL = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/;
const REST = /^\{([A-Za-z_][A-Za-z0-9_]*)\.\.\.\}$/;

/** Problems that make a pattern unusable; empty when it is fine. */
export function topicPatternProblems(pattern: string): string[] {
  const problems: string[] = [];
  if (pattern.length === 0) return ['the topic pattern is empty'];
  if (pattern.startsWith('$')) problems.push("topics starting with '$' are reserved for the broker");
  const levels = pattern.split('/');
  const seen = new Set<string>();
  levels.forEach((level, i) => {
    const last = i === levels.length - 1;
    const named = LEVEL.exec(level) ?? REST.exec(level);
    if (named) {
      const name = named[1]!;
      if (seen.has(name)) problems.push(`wildcard {${name}} appears twice`);
      seen.add(name);
      if (REST.test(level) && !last) problems.push(`{${name}...} must be the last level`);
      return;
    }
    if (level === '+') return;
    if (level === '#') {
      if (!last) problems.push("'#' must be the last level");
      return;
    }
    if (/[{}]/.test(level)) {
      problems.push(
        `level "${level}" mixes text and a wildcard; a wildcard must fill a whole level, e.g. dc/{rack}/temp (MQTT cannot match part of a level)`,
      );
    } else if (/[+#]/.test(level)) {
      problems.push(
        `level "${level}" contains '+' or '#' inside text; MQTT wildcards must fill a whole level`,
      );
    }
  });
  return problems;
}

export function compileTopicPattern(source: string): CompiledTopic {
  const problems = topicPatternProblems(source);
  if (problems.length > 0) throw new Error(`topic pattern "${source}": ${problems.join('; ')}`);
  const params: string[] = [];
  let anonymous = 0;
  const internal = source
    .split('/')
    .map((level) => {
      const one = LEVEL.exec(level);
      if (one) {
        params.push(one[1]!);
        return `+${one[1]}`;
      }
      const rest = REST.exec(level);
      if (rest) {
        params.push(rest[1]!);
        return `#${rest[1]}`;
      }
      // Unnamed wildcards get private names so mqtt-pattern keeps levels aligned.
      if (level === '+') return `+_${anonymous++}`;
      if (level === '#') return `#_${anonymous++}`;
      return level;
    })
    .join('/');
  const filter = mqttPattern.clean(internal);
  return {
    source,
    filter,
    params,
    match(topic) {
      const values = mqttPattern.exec(internal, topic) as Record<string, string | string[]> | null;
      if (!values) return null;
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(values)) {
        if (/^_\d+$/.test(k)) continue;
        out[k] = Array.isArray(v) ? v.join('/') : v;
      }
      return out;
    },
    fill(values) {
      return mqttPattern.fill(internal, values);
    },
  };
}
