/** One error shape for every API reply (STYLE.md §5, §11): a code to branch on, words to act on. */
import { z } from 'zod';

export const ApiErrorSchema = z.object({
  error: z.object({
    code: z.string().describe('stable machine-readable code, e.g. HOTAISLE_BAD_REQUEST'),
    message: z.string().describe('what went wrong and what to do about it'),
    /** Field-level problems for validation errors: path like `job.gpus` and what is expected. */
    fields: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  }),
});
export type ApiError = z.infer<typeof ApiErrorSchema>;

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly fields?: Array<{ path: string; message: string }>,
  ) {
    super(message);
  }

  toBody(): ApiError {
    return {
      error: { code: this.code, message: this.message, ...(this.fields ? { fields: this.fields } : {}) },
    };
  }
}

export const notFound = (what: string) => new HttpError(404, 'HOTAISLE_NOT_FOUND', `${what} not found`);
