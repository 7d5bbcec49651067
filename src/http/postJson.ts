/**
 * POST JSON to an HTTP receiver with retries and exponential backoff, shared by everything that
 * pushes to webhooks (alert receivers, recommendation push). No state: callers count outcomes.
 */

export interface HttpTarget {
  url: string;
  token: string | undefined;
  maxAttempts: number;
  timeoutMs: number;
}

/** Where a receiver's URL and token come from in a site file (the URL may be a secret too). */
export interface HttpTargetConfig {
  url?: string | undefined;
  urlEnv?: string | undefined;
  tokenEnv?: string | undefined;
  maxAttempts: number;
  timeoutMs: number;
}

/** Longest pause between two attempts, ms. */
const MAX_BACKOFF_MS = 10_000;

/**
 * POST `body` as JSON; 2xx is success, anything else an error. Retries timeouts, network errors,
 * 5xx, 408 and 429 with delays retryBaseMs, 2×, 4×… (capped); other 4xx are final.
 * Rejects with the last error after the last attempt.
 */
export async function postJson(
  target: HttpTarget,
  body: unknown,
  retryBaseMs: number,
  onRetry: () => void,
): Promise<void> {
  let lastError: Error = new Error('not attempted');
  for (let attempt = 0; attempt < target.maxAttempts; attempt++) {
    if (attempt > 0) {
      onRetry();
      await new Promise((r) => setTimeout(r, Math.min(retryBaseMs * 2 ** (attempt - 1), MAX_BACKOFF_MS)));
    }
    try {
      const res = await fetch(target.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(target.token ? { authorization: `Bearer ${target.token}` } : {}),
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(target.timeoutMs),
      });
      if (res.ok) {
        await res.body?.cancel();
        return;
      }
      const text = (await res.text()).slice(0, 200);
      lastError = new Error(`${target.url} answered ${res.status}: ${text}`);
      // A request the receiver refuses will not succeed on retry.
      if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) break;
    } catch (err) {
      lastError = new Error(`${target.url}: ${(err as Error).message}`);
    }
  }
  throw lastError;
}

/**
 * Resolves URL (or the environment variable holding it) and token; `label` names the receiver in
 * errors, e.g. "alert receiver ops-hook". `path` is appended to the base URL.
 */
export function httpTarget(
  label: string,
  cfg: HttpTargetConfig,
  env: NodeJS.ProcessEnv,
  path = '',
): HttpTarget {
  const base = cfg.urlEnv ? env[cfg.urlEnv] : cfg.url;
  if (!base) {
    throw new Error(
      cfg.urlEnv
        ? `${label}: environment variable ${cfg.urlEnv} (its URL) is not set`
        : `${label}: set url or urlEnv`,
    );
  }
  const token = cfg.tokenEnv ? env[cfg.tokenEnv] : undefined;
  if (cfg.tokenEnv && !token)
    throw new Error(`${label}: environment variable ${cfg.tokenEnv} (its token) is not set`);
  return {
    url: `${base.replace(/\/+$/, '')}${path}`,
    token,
    maxAttempts: cfg.maxAttempts,
    timeoutMs: cfg.timeoutMs,
  };
}
