/**
 * Live configuration as an agent capability: watches the site file (config/watcher.ts), reloads it on
 * change, on SIGHUP (the run command calls reload()) and on POST /v1/config/reload, and puts a good
 * file in service through Agent.reload. A file with problems is refused with the same
 * `file: path: message` lines as `hotaisle validate`; the last good config stays in force, the
 * problems are logged and an operator alert (ConfigReloadRejected) fires until a good file is loaded.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { AgentContext, AgentModule } from '../agent.ts';
import type { RouteRegistrar } from '../api/server.ts';
import type { Logger } from '../log.ts';
import { type ConfigProblem, formatProblems } from './loader.ts';
import type { RuntimeOverrides } from './overrides.ts';
import type { ReloadResult, RestartRequired } from './reloadDiff.ts';
import { configRoutes } from './reloadRoutes.ts';
import type { SiteConfig } from './schema.ts';
import { contentHash, loadSiteWithOverrides, SiteFileWatcher, type SiteLoad } from './watcher.ts';

/** What raises the operator alert; the AlertsModule fits as is. */
export interface OperatorAlertSink {
  raiseOperatorAlert(alert: {
    rule: 'ConfigReloadRejected';
    severity: 'warning';
    summary: string;
    description: string;
    annotations?: Record<string, string>;
  }): Promise<void> | void;
  resolveOperatorAlert(rule: 'ConfigReloadRejected'): Promise<void> | void;
}

export type ReloadTrigger = 'watch' | 'signal' | 'api';

export interface ReloadOutcome {
  at: number;
  trigger: ReloadTrigger;
  ok: boolean;
  /** What changed (config/reloadDiff.ts describeDiff); empty when the file held nothing new. */
  changes: string[];
  restartRequired: RestartRequired[];
  moduleErrors: Array<{ module: string; message: string }>;
  /** Refused: one `file: path: message` line per problem, as `hotaisle validate` prints them. */
  problems: string[];
  /** Refused: the problems as fields, for the API's error shape. */
  fields: Array<{ path: string; message: string }>;
}

export interface ConfigStatus {
  site: string;
  file: string;
  /** When the config in service was loaded (start or the last reload that applied). */
  loadedAt: number;
  /** Content hash of the file in service. */
  version: string | undefined;
  watching: boolean;
  lastReload: ReloadOutcome | undefined;
}

export interface ConfigReloadModuleOptions {
  file: string;
  /** Overrides used at start, in the order applied (environment, then flags); re-applied on reload. */
  overrides: readonly RuntimeOverrides[];
  /**
   * contentHash() of the file taken just before the config in service was loaded from it; when the
   * file differs at start (edited while the agent was starting), it is reloaded at once.
   */
  loadedHash?: string;
  /** Watch the file; default true (`hotaisle run --no-watch` turns it off). */
  watch?: boolean;
  debounceMs?: number;
  operatorAlerts?: OperatorAlertSink;
  now?: () => number;
}

export class ConfigReloadModule implements AgentModule {
  readonly name = 'config';
  private log: Logger | undefined;
  private reloadSite: ((site: SiteConfig) => Promise<ReloadResult>) | undefined;
  private watcher: SiteFileWatcher | undefined;
  private site: SiteConfig | undefined;
  private loadedAt = 0;
  private version: string | undefined;
  private last: ReloadOutcome | undefined;
  private alertRaised = false;
  private applied = 0;
  private refused = 0;
  /** Changed fields waiting for a restart, as of the last reload that applied. */
  private pendingRestart = 0;
  /** Reloads run one after another. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly now: () => number;

  constructor(private readonly opts: ConfigReloadModuleOptions) {
    this.now = opts.now ?? Date.now;
  }

  async start(ctx: AgentContext): Promise<void> {
    if (!ctx.reloadSite) throw new Error('ConfigReloadModule needs an agent that can reload its site');
    this.reloadSite = ctx.reloadSite;
    this.log = ctx.log.child({ module: 'config' });
    this.site = ctx.site;
    this.loadedAt = this.now();
    const current = contentHash(this.opts.file);
    this.version = this.opts.loadedHash ?? current;
    if (this.opts.watch ?? true) {
      this.watcher = new SiteFileWatcher({
        file: this.opts.file,
        overrides: this.opts.overrides,
        log: this.log,
        ...(this.opts.debounceMs !== undefined ? { debounceMs: this.opts.debounceMs } : {}),
        ...(this.version !== undefined ? { initialHash: this.version } : {}),
        onLoad: (load) => void this.apply(load, 'watch'),
      });
      this.watcher.start();
      this.log.info({ file: this.opts.file }, 'watching the site file; changes apply without a restart');
    }
    if (this.opts.loadedHash !== undefined && current !== this.opts.loadedHash) void this.reload('watch');
  }

  async stop(): Promise<void> {
    this.watcher?.stop();
    this.watcher = undefined;
    await this.queue;
  }

  reconfigure(ctx: AgentContext): void {
    this.site = ctx.site;
  }

  /** Read the file now and apply it (SIGHUP, the API); resolves when it was applied or refused. */
  reload(trigger: ReloadTrigger): Promise<ReloadOutcome> {
    return this.apply(loadSiteWithOverrides(this.opts.file, this.opts.overrides), trigger);
  }

  status(): ConfigStatus {
    return {
      site: this.site?.site.id ?? '',
      file: this.opts.file,
      loadedAt: this.loadedAt,
      version: this.version,
      watching: this.watcher?.watching ?? false,
      lastReload: this.last,
    };
  }

  routes(): RouteRegistrar[] {
    return [configRoutes(this)];
  }

  /** Reload metrics, like Prometheus' own prometheus_config_last_reload_successful. */
  metrics(registry: Registry): void {
    const self = this;
    new Counter({
      name: 'hotaisle_config_reloads_total',
      help: 'Site file reloads (file watch, SIGHUP, API) by result: applied or refused',
      labelNames: ['result'],
      registers: [registry],
      collect() {
        this.reset();
        this.inc({ result: 'applied' }, self.applied);
        this.inc({ result: 'refused' }, self.refused);
      },
    });
    new Gauge({
      name: 'hotaisle_config_last_reload_successful',
      help: '0 when the last site file reload was refused (the agent runs an older config than the file), else 1',
      registers: [registry],
      collect() {
        this.set(self.last?.ok === false ? 0 : 1);
      },
    });
    new Gauge({
      name: 'hotaisle_config_restart_required',
      help: 'Changed site file fields that keep their running value until the agent restarts',
      registers: [registry],
      collect() {
        this.set(self.pendingRestart);
      },
    });
  }

  private apply(load: SiteLoad, trigger: ReloadTrigger): Promise<ReloadOutcome> {
    const run = this.queue.then(() => this.applyNow(load, trigger));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async applyNow(load: SiteLoad, trigger: ReloadTrigger): Promise<ReloadOutcome> {
    const at = this.now();
    const base = {
      at,
      trigger,
      changes: [],
      restartRequired: [],
      moduleErrors: [],
      problems: [],
      fields: [],
    };
    this.watcher?.markLoaded(load.hash);
    if (!load.ok) return this.refuse({ ...base, ok: false }, load.problems);
    const reload = this.reloadSite;
    if (!reload) throw new Error('ConfigReloadModule.reload() called before start()');
    const result = await reload(load.config);
    if (!result.ok) {
      const problems = result.problems.map((message) => ({ file: load.file, path: 'telemetry', message }));
      return this.refuse({ ...base, ok: false }, problems);
    }
    const outcome: ReloadOutcome = {
      ...base,
      ok: true,
      changes: result.changes,
      restartRequired: result.restartRequired,
      moduleErrors: result.moduleErrors,
    };
    this.last = outcome;
    this.applied++;
    this.pendingRestart = result.restartRequired.length;
    this.loadedAt = at;
    this.version = load.hash;
    if (result.changes.length > 0 || result.restartRequired.length > 0)
      this.log?.info({ trigger, file: load.file, changes: result.changes }, 'site file applied');
    if (this.alertRaised) {
      this.alertRaised = false;
      await this.opts.operatorAlerts?.resolveOperatorAlert('ConfigReloadRejected');
    }
    return outcome;
  }

  private async refuse(outcome: ReloadOutcome, problems: ConfigProblem[]): Promise<ReloadOutcome> {
    const text = formatProblems(problems);
    outcome.problems = text.split('\n');
    outcome.fields = problems.map((p) => ({ path: p.path === '' ? '(file)' : p.path, message: p.message }));
    this.last = outcome;
    this.refused++;
    this.log?.error(
      { trigger: outcome.trigger, file: this.opts.file, problems: outcome.problems },
      `site file change refused; the last good config stays in force:\n${text}`,
    );
    const count = problems.length;
    this.alertRaised = true;
    await this.opts.operatorAlerts?.raiseOperatorAlert({
      rule: 'ConfigReloadRejected',
      severity: 'warning',
      summary: `Site file ${this.opts.file} was changed but refused (${count} problem${count === 1 ? '' : 's'}); the last good config stays in force`,
      description: text,
      annotations: { file: this.opts.file, trigger: outcome.trigger },
    });
    return outcome;
  }
}
