/** One root logger; modules take a child (STYLE.md §10). */
import { createRequire } from 'node:module';
import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';

export type { Logger };

/**
 * Secrets never reach a log line (API bearer tokens, webhook tokens, cookies), whoever logs a
 * request, its headers or a receiver's settings. Paths as pino's `redact` takes them.
 */
export const REDACT_PATHS = [
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'req.headers.cookie',
  'request.headers.cookie',
  'token',
  '*.token',
  'password',
  '*.password',
];
const redact: LoggerOptions['redact'] = { paths: REDACT_PATHS, censor: '[redacted]' };

/** pino-pretty is a dev dependency: a production install (npm ci --omit=dev) logs JSON even on a TTY. */
function prettyAvailable(): boolean {
  try {
    createRequire(import.meta.url).resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}

export function createLogger(
  opts: {
    level?: string;
    pretty?: boolean;
    /** Tests capture lines here; stdout otherwise. */
    destination?: DestinationStream;
  } = {},
): Logger {
  const level = opts.level ?? process.env.HOTAISLE_LOG_LEVEL ?? 'info';
  if (opts.pretty && prettyAvailable() && !opts.destination) {
    return pino({
      level,
      redact,
      transport: { target: 'pino-pretty', options: { colorize: true, ignore: 'pid,hostname' } },
    });
  }
  return opts.destination ? pino({ level, redact }, opts.destination) : pino({ level, redact });
}

/** A logger that writes nothing, for tests and benchmarks that do not read logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
