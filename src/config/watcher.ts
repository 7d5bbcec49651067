/**
 * Watches a site file and loads it again when its content changes.
 *
 * The directory is watched, not the file: editors save through a temporary file renamed over the
 * original (vim, VS Code, `sed -i`), and Kubernetes swaps a ConfigMap's `..data` symlink, both of
 * which leave a watch on the file itself pointing at a deleted inode. Events are debounced (an
 * editor's save is several events) and a content hash decides whether anything changed, so a touch
 * or an unrelated file in the same directory costs one read and nothing else.
 */
import { createHash } from 'node:crypto';
import { type FSWatcher, readFileSync, watch } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../log.ts';
import { type ConfigProblem, loadSiteFile } from './loader.ts';
import { applyOverrides, type RuntimeOverrides } from './overrides.ts';
import type { SiteConfig } from './schema.ts';

export type SiteLoad =
  | { ok: true; file: string; config: SiteConfig; hash: string | undefined }
  | { ok: false; file: string; problems: ConfigProblem[]; hash: string | undefined };

/**
 * Loads the file with the same loader as `hotaisle validate` and `hotaisle run`, then re-applies the
 * runtime overrides used at start in order (environment, then flags), so they keep winning.
 */
export function loadSiteWithOverrides(file: string, overrides: readonly RuntimeOverrides[]): SiteLoad {
  const hash = contentHash(file);
  const loaded = loadSiteFile(file);
  if (!loaded.ok) return { ok: false, file, problems: loaded.problems, hash };
  try {
    const config = overrides.reduce((site, o) => applyOverrides(site, o), loaded.config as SiteConfig);
    return { ok: true, file, config, hash };
  } catch (err) {
    return { ok: false, file, problems: [{ file, path: '', message: (err as Error).message }], hash };
  }
}

/** sha256 of the file's bytes (first 16 hex digits), or undefined when it cannot be read. */
export function contentHash(file: string): string | undefined {
  try {
    return createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 16);
  } catch {
    return undefined;
  }
}

const MISSING = 'missing';

export interface SiteFileWatcherOptions {
  file: string;
  overrides: readonly RuntimeOverrides[];
  /** Called with every load of a changed file, good or bad. Must not throw. */
  onLoad: (load: SiteLoad) => void;
  log: Logger;
  /** Quiet time after the last event before the file is read; default 300 ms. */
  debounceMs?: number;
  /** Hash of the content in service, so the first event after start does not reload it again. */
  initialHash?: string;
}

export class SiteFileWatcher {
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastHash: string | undefined;
  /** Debounced looks at the file, changed or not (tests wait on it). */
  checks = 0;
  private readonly log: Logger;

  constructor(private readonly opts: SiteFileWatcherOptions) {
    this.lastHash = opts.initialHash;
    this.log = opts.log;
  }

  start(): void {
    if (this.watcher) return;
    const dir = dirname(this.opts.file);
    this.watcher = watch(dir, { persistent: false }, () => this.schedule());
    // A deleted or unmounted directory ends the watch; say so rather than go quiet.
    this.watcher.on('error', (err) => {
      this.log.error({ err: err.message, dir }, 'site file watch failed; reload with SIGHUP or the API');
      this.stop();
    });
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.watcher?.close();
    this.watcher = undefined;
  }

  get watching(): boolean {
    return this.watcher !== undefined;
  }

  /** Remember the content now in service (after a reload through another path, e.g. SIGHUP). */
  markLoaded(hash: string | undefined): void {
    this.lastHash = hash;
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.check(), this.opts.debounceMs ?? 300);
    this.timer.unref();
  }

  private check(): void {
    this.timer = undefined;
    this.checks++;
    // A file still missing after the quiet time was deleted, not caught mid-rename: report it once.
    const hash = contentHash(this.opts.file) ?? MISSING;
    if (hash === this.lastHash) return;
    this.lastHash = hash;
    const load = loadSiteWithOverrides(this.opts.file, this.opts.overrides);
    try {
      this.opts.onLoad(load);
    } catch (err) {
      this.log.error({ err }, 'site reload handler failed');
    }
  }
}
