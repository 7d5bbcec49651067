/** Bounded polling for tests: wait for a condition instead of sleeping a fixed time (STYLE.md §13). */

export interface WaitForOptions {
  /** Give up after this long; default 5 s. */
  timeoutMs?: number;
  /** Time between checks; default 20 ms. */
  intervalMs?: number;
  /** Shown in the timeout error, e.g. "all 500 readings arrive". */
  what?: string;
}

/**
 * Resolves with the first truthy value `cond` returns (sync or async); rejects after `timeoutMs`
 * with the last error `cond` threw, if any. A throwing `cond` counts as "not yet".
 */
export async function waitFor<T>(
  cond: () => T | Promise<T>,
  { timeoutMs = 5000, intervalMs = 20, what }: WaitForOptions = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await cond();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const because = lastError instanceof Error ? `; last error: ${lastError.message}` : '';
      throw new Error(
        `waitFor timed out after ${timeoutMs} ms${what ? ` waiting for: ${what}` : ''}${because}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
