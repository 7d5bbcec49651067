/** Why a store refused a batch, so the write buffer knows whether to retry or to give up on it. */

export class StoreWriteError extends Error {
  override readonly name = 'StoreWriteError';
  constructor(
    message: string,
    /** false when the backend rejected the data itself (bad line, type conflict): a retry cannot help. */
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Anything that is not a StoreWriteError marked permanent is worth retrying (network, 5xx, timeouts, auth). */
export function isRetryable(err: unknown): boolean {
  return !(err instanceof StoreWriteError) || err.retryable;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
