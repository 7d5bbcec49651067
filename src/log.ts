/** One root logger; modules take a child (STYLE.md §10). */
import { createRequire } from 'node:module';
import { type Logger, pino } from 'pino';

export type { Logger };

/** pino-pretty is a dev dependency: a production install (npm ci --omit=dev) logs JSON even on a TTY. */
function prettyAvailable(): boolean {
  try {
    createRequire(import.meta.url).resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}

export function createLogger(opts: { level?: string; pretty?: boolean } = {}): Logger {
  const level = opts.level ?? process.env.HOTAISLE_LOG_LEVEL ?? 'info';
  if (opts.pretty && prettyAvailable()) {
    return pino({
      level,
      transport: { target: 'pino-pretty', options: { colorize: true, ignore: 'pid,hostname' } },
    });
  }
  return pino({ level });
}

/** A logger that writes nothing, for tests and benchmarks that do not read logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
