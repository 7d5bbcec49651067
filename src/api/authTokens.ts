/**
 * Where API tokens come from: a YAML/JSON tokens file and/or an environment variable, chosen by the
 * site file's `api.auth` and overridden by the environment. Tokens are kept only as SHA-256 digests;
 * no error message or log line ever holds a token.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { ApiAuthConfig } from '../config/schema.ts';
import type { Logger } from '../log.ts';
import { type ApiAuth, type ApiToken, ROLES, type Role, tokenDigest } from './auth.ts';

export const DEFAULT_TOKENS_ENV = 'HOTAISLE_API_TOKENS';
export const TOKENS_FILE_ENV = 'HOTAISLE_API_TOKENS_FILE';
export const OPEN_READ_ENV = 'HOTAISLE_API_OPEN_READ';
/** Deprecated: the recommendation API's one token from before roles; read as a scheduler token. */
export const LEGACY_RECOMMEND_TOKEN_ENV = 'HOTAISLE_RECOMMEND_TOKEN';

/** Shorter clear tokens are guessable; `openssl rand -hex 32` makes a good one. */
const MIN_CLEAR_TOKEN_LENGTH = 16;

export class AuthConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`API tokens have problems; fix them and start again:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'AuthConfigError';
  }
}

/** One configured token, already reduced to its digest. */
export interface TokenEntry extends ApiToken {
  digest: string;
  /** Where it is written, for error messages: `tokens.yaml: tokens[2] (name "ci")`. */
  where: string;
}

export interface Parsed {
  entries: TokenEntry[];
  problems: string[];
}

const roleError = { error: `expected a role: ${ROLES.join(', ')}` };

const TokenFileEntrySchema = z.strictObject({
  name: z.string({ error: 'expected a name saying who holds the token' }).min(1),
  role: z.enum(ROLES, roleError),
  token: z.string({ error: 'expected the token, clear or as sha256:<64 hex digits>' }),
});

const TokenFileSchema = z.union([
  z.array(z.unknown()),
  z.object({ tokens: z.array(z.unknown()) }).transform((d) => d.tokens),
]);

/** The digest of a configured token value (clear, or `sha256:<hex>`), or what is wrong with it. */
export function digestOf(
  value: string,
  minLength = MIN_CLEAR_TOKEN_LENGTH,
): { digest: string } | { problem: string } {
  const hashed = /^sha256:([0-9a-fA-F]{64})$/.exec(value);
  if (hashed?.[1]) return { digest: hashed[1].toLowerCase() };
  if (value.startsWith('sha256:'))
    return { problem: 'a sha256: token needs 64 hex digits (printf %s TOKEN | sha256sum)' };
  if (/[\s,]/.test(value)) return { problem: 'a token may not contain spaces or commas' };
  if (value.length < minLength)
    return {
      problem: `a clear token needs at least ${minLength} characters; make one with: openssl rand -hex 32`,
    };
  return { digest: tokenDigest(value) };
}

/** Parse a tokens file's text: a list of { name, role, token }, or { tokens: [...] }. Pure. */
export function parseTokensFile(text: string, file: string): Parsed {
  let doc: unknown;
  try {
    // YAML is a superset of JSON, so one parser reads both.
    doc = parseYaml(text);
  } catch (err) {
    return {
      entries: [],
      problems: [`${file}: not valid YAML or JSON: ${(err as Error).message.split('\n')[0]}`],
    };
  }
  const list = TokenFileSchema.safeParse(doc);
  if (!list.success)
    return {
      entries: [],
      problems: [`${file}: expected a list of { name, role, token } entries, or tokens: [ ... ]`],
    };
  const entries: TokenEntry[] = [];
  const problems: string[] = [];
  list.data.forEach((raw, i) => {
    const rawName = (raw as { name?: unknown } | null)?.name;
    const where = `${file}: tokens[${i}]${typeof rawName === 'string' ? ` (name "${rawName}")` : ''}`;
    const entry = TokenFileEntrySchema.safeParse(raw);
    if (!entry.success) {
      for (const issue of entry.error.issues)
        problems.push(`${where}${issue.path.length ? `.${issue.path.join('.')}` : ''}: ${issue.message}`);
      return;
    }
    const d = digestOf(entry.data.token);
    if ('problem' in d) problems.push(`${where}.token: ${d.problem}`);
    else
      entries.push({
        name: entry.data.name,
        role: entry.data.role,
        source: `file ${file}`,
        digest: d.digest,
        where,
      });
  });
  return { entries, problems };
}

/** Parse `role:token,role:token` (commas or whitespace between entries). Pure. */
export function parseTokensEnv(value: string, variable: string): Parsed {
  const entries: TokenEntry[] = [];
  const problems: string[] = [];
  value
    .split(/[\s,]+/)
    .filter(Boolean)
    .forEach((item, i) => {
      const where = `${variable}: entry ${i + 1}`;
      const colon = item.indexOf(':');
      const role = item.slice(0, colon);
      if (colon < 0 || !(ROLES as readonly string[]).includes(role)) {
        problems.push(`${where}: expected role:token with role ${ROLES.join(', ')}`);
        return;
      }
      const d = digestOf(item.slice(colon + 1));
      if ('problem' in d) problems.push(`${where}: ${d.problem}`);
      else
        entries.push({
          name: `${variable}[${i}]`,
          role: role as Role,
          source: `env ${variable}`,
          digest: d.digest,
          where,
        });
    });
  return { entries, problems };
}

function parseFlag(value: string, variable: string): boolean | string {
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  return `${variable}: expected true or false, not "${value}"`;
}

export interface LoadAuthOptions {
  env?: NodeJS.ProcessEnv;
  log?: Logger;
  readFile?: (file: string) => string;
}

/**
 * The API's tokens from `api.auth` and the environment. Throws AuthConfigError listing every
 * problem (file and entry named); logs one warning when no token is configured (the API is open).
 */
export function loadApiAuth(cfg: ApiAuthConfig | undefined, opts: LoadAuthOptions = {}): ApiAuth {
  const env = opts.env ?? process.env;
  const readFile = opts.readFile ?? ((f: string) => readFileSync(f, 'utf8'));
  const parsed: Parsed[] = [];
  const problems: string[] = [];

  const file = env[TOKENS_FILE_ENV] || cfg?.tokensFile;
  if (file) {
    let text: string | undefined;
    try {
      text = readFile(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      problems.push(
        `${file}: cannot read the tokens file (${code}); check api.auth.tokensFile or ${TOKENS_FILE_ENV}`,
      );
    }
    if (text !== undefined) parsed.push(parseTokensFile(text, file));
  }
  const variable = cfg?.tokensEnv ?? DEFAULT_TOKENS_ENV;
  const fromEnv = env[variable];
  if (fromEnv) parsed.push(parseTokensEnv(fromEnv, variable));
  const legacy = env[LEGACY_RECOMMEND_TOKEN_ENV];
  if (legacy) {
    // Kept as it was accepted before (no minimum length), so existing deployments keep working.
    const d = digestOf(legacy, 1);
    if ('problem' in d) problems.push(`${LEGACY_RECOMMEND_TOKEN_ENV}: ${d.problem}`);
    else {
      const name = LEGACY_RECOMMEND_TOKEN_ENV;
      parsed.push({
        entries: [{ name, role: 'scheduler', source: `env ${name}`, digest: d.digest, where: name }],
        problems: [],
      });
      opts.log?.warn(
        `${LEGACY_RECOMMEND_TOKEN_ENV} is deprecated: it is read as one scheduler token; use ${DEFAULT_TOKENS_ENV}="scheduler:<token>" instead`,
      );
    }
  }

  const tokens = new Map<string, TokenEntry>();
  const names = new Map<string, TokenEntry>();
  for (const p of parsed) {
    problems.push(...p.problems);
    for (const e of p.entries) {
      const same = tokens.get(e.digest);
      if (same) problems.push(`${e.where}: the same token as ${same.where}; give each holder its own token`);
      else if (names.has(e.name))
        problems.push(`${e.where}: name "${e.name}" is used twice; names must differ`);
      else {
        tokens.set(e.digest, e);
        names.set(e.name, e);
      }
    }
  }

  let openRead = cfg?.openRead ?? false;
  const openReadText = env[OPEN_READ_ENV];
  if (openReadText) {
    const flag = parseFlag(openReadText, OPEN_READ_ENV);
    if (typeof flag === 'string') problems.push(flag);
    else openRead = flag;
  }
  if (problems.length > 0) throw new AuthConfigError(problems);

  const holders = new Map<string, ApiToken>();
  for (const [digest, e] of tokens) holders.set(digest, { name: e.name, role: e.role, source: e.source });
  if (holders.size === 0) {
    opts.log?.warn(
      `no API tokens configured (api.auth in the site file, ${DEFAULT_TOKENS_ENV} or ${TOKENS_FILE_ENV}): the HTTP API is open to anyone who can reach it`,
    );
  } else {
    const byRole = Object.fromEntries(
      ROLES.map((r) => [r, [...tokens.values()].filter((e) => e.role === r).length]),
    );
    opts.log?.info({ tokens: byRole, openRead }, 'API authentication on');
  }
  return { tokens: holders, openRead };
}
