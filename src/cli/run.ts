/** `hotaisle run`: load and check the site, start the agent, stop cleanly on SIGINT/SIGTERM. */
import { parseArgs } from 'node:util';
import { Agent, type AgentModule } from '../agent.ts';
import { AlertsModule } from '../alerts/alertsModule.ts';
import { formatProblems, loadSiteFile } from '../config/loader.ts';
import { applyOverrides, overridesFromEnv, parsePort, type RuntimeOverrides } from '../config/overrides.ts';
import { ConfigReloadModule, type ConfigReloadModuleOptions } from '../config/reloadModule.ts';
import type { SiteConfig } from '../config/schema.ts';
import { contentHash } from '../config/watcher.ts';
import { DashboardModule } from '../dashboard/module.ts';
import { ForecastModule } from '../forecast/forecastModule.ts';
import { createLogger, type Logger } from '../log.ts';
import { RecommendModule } from '../recommend/module.ts';
import { DataClock } from '../sim/dataClock.ts';
import { DemoModelModule } from '../sim/demoModel.ts';
import { loadScenarioFile, type Scenario } from '../sim/scenario.ts';
import { DEFAULT_SCENARIO_FILE, SimulatorModule } from '../sim/simulatorModule.ts';

export const DEFAULT_SITE = 'sites/example-gpu-hall.yaml';

/** A stop that hangs (a stuck socket) must not keep the process alive forever. */
const FORCED_EXIT_MS = 20_000;

export function loadSiteOrExplain(file: string): SiteConfig {
  const loaded = loadSiteFile(file);
  if (!loaded.ok) {
    throw new Error(`site file has problems; fix them and start again:\n${formatProblems(loaded.problems)}`);
  }
  return loaded.config;
}

/**
 * What SIGHUP (`systemctl reload`) does: re-read the site file and apply it (refused with its problems
 * when it has any; the last good config stays), then pick up a model promoted or rolled back with
 * `hotaisle models`. Never throws: a failure is logged, the agent keeps running.
 */
export function sighupHandler(parts: {
  config: Pick<ConfigReloadModule, 'reload'> | undefined;
  forecast: Pick<ForecastModule, 'reloadModel'>;
  log: Logger;
}): () => Promise<void> {
  return async () => {
    parts.log.info('SIGHUP: reloading the site file and the forecast model');
    try {
      await parts.config?.reload('signal');
    } catch (err) {
      parts.log.error({ err }, 'site reload failed');
    }
    try {
      await parts.forecast.reloadModel();
    } catch (err) {
      parts.log.error({ err }, 'model reload failed');
    }
  };
}

export interface RunModulesOptions {
  /** The site in service at start (forecast and alert periods are restart-only settings). */
  site: SiteConfig;
  modelsDir: string;
  /** Live configuration; absent: no site file is watched (tests). */
  config?: Omit<ConfigReloadModuleOptions, 'operatorAlerts'>;
  /** Run the simulator: speed (1 = real time) and scenario. */
  sim?: { speed: number; scenario?: Scenario };
}

export interface RunModules {
  modules: AgentModule[];
  forecast: ForecastModule;
  alerts: AlertsModule;
  config: ConfigReloadModule | undefined;
  /** The data clock forecasts, alerts and the dashboard run on when the simulator is not at speed 1. */
  clock: DataClock | undefined;
  /** The simulated demo's first model (real-time simulator only): train it once the agent runs. */
  demoModel: DemoModelModule | undefined;
}

/** Periods scaled to simulated time never go below this much wall time. */
const MIN_SCALED_PERIOD_MS = 100;

/**
 * The modules `hotaisle run` starts, in order. A simulator faster or slower than real time stamps
 * readings in simulated time: forecasts, alerts and the dashboard then run on a data clock (the
 * newest reading accepted, never past the simulation's own time) so hold times and staleness are
 * judged in simulated time and nothing looks stale while the simulation catches up; forecast cycles
 * and alert evaluations come at their configured simulated periods.
 */
export function buildRunModules(opts: RunModulesOptions): RunModules {
  const { site, sim } = opts;
  const simulator = sim
    ? new SimulatorModule({ speed: sim.speed, ...(sim.scenario ? { scenario: sim.scenario } : {}) })
    : undefined;
  const clock =
    simulator && sim && sim.speed !== 1
      ? new DataClock({
          notAfter: () => simulator.simulatedTs(),
          before: () => simulator.simulatedTs() ?? Date.now(),
        })
      : undefined;
  const scaled = (seconds: number) =>
    sim ? Math.max(MIN_SCALED_PERIOD_MS, Math.round((seconds * 1000) / sim.speed)) : seconds * 1000;
  const now = clock ? { now: clock.now } : {};
  // Forecasts always run: persistence until a model is trained (readiness says so).
  const forecast = new ForecastModule({
    modelsDir: opts.modelsDir,
    ...now,
    ...(clock ? { cycleMs: scaled(site.forecast.cycleSeconds) } : {}),
  });
  const alerts = new AlertsModule({
    hotspots: forecast,
    ...now,
    ...(clock ? { evaluateMs: scaled(site.alerts.evaluateSeconds) } : {}),
  });
  // Placement uses live forecasts once the first cycle has run, the layout model before that.
  const recommend = new RecommendModule({ forecast: () => (forecast.latest() ? forecast : undefined) });
  const dashboard = new DashboardModule({
    forecast,
    alerts,
    plan: () => recommend.recommendations?.plan.list() ?? [],
    ...now,
  });
  // Live configuration: the site file is watched (--no-watch: only SIGHUP and the API reload it).
  const config = opts.config ? new ConfigReloadModule({ ...opts.config, operatorAlerts: alerts }) : undefined;
  const consumers: AgentModule[] = [forecast, alerts, recommend, dashboard, ...(config ? [config] : [])];
  // In real time the simulator starts last, so every consumer is listening when telemetry begins. On
  // a data clock it starts first: its simulated start time is "now" for the consumers' first cycle
  // (a forecast stamped in wall time would linger); readings they miss meanwhile are in the store.
  // The real-time demo writes simulated history for a first model before the forecast primes its window.
  const demoModel =
    simulator && !clock
      ? new DemoModelModule({
          modelsDir: opts.modelsDir,
          ...(sim?.scenario ? { scenario: sim.scenario } : {}),
        })
      : undefined;
  const modules: AgentModule[] = !simulator
    ? consumers
    : clock
      ? [clock, simulator, ...consumers]
      : [...(demoModel ? [demoModel] : []), ...consumers, simulator];
  return { modules, forecast, alerts, config, clock, demoModel };
}

export async function runAgentCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      site: { type: 'string', default: DEFAULT_SITE },
      sim: { type: 'boolean', default: false },
      'no-sim': { type: 'boolean', default: false },
      'no-watch': { type: 'boolean', default: false },
      speed: { type: 'string', default: '1' },
      scenario: { type: 'string', default: DEFAULT_SCENARIO_FILE },
      broker: { type: 'string' },
      influx: { type: 'string' },
      'api-port': { type: 'string' },
      'api-host': { type: 'string' },
      'data-dir': { type: 'string' },
      'models-dir': { type: 'string' },
      'log-level': { type: 'string' },
      pretty: { type: 'boolean', default: false },
    },
  });
  const flags: RuntimeOverrides = {
    ...(values.broker ? { brokerUrl: values.broker } : {}),
    ...(values.influx ? { influxUrl: values.influx } : {}),
    ...(values['api-port'] ? { apiPort: parsePort(values['api-port'], '--api-port') } : {}),
    ...(values['api-host'] ? { apiHost: values['api-host'] } : {}),
    ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}),
  };
  // Flags win over the environment, which wins over the site file; a reload re-applies both.
  const envOverrides = overridesFromEnv(process.env);
  // Taken before loading: an edit while the agent starts is then seen and applied (ConfigReloadModule).
  const loadedHash = contentHash(values.site);
  const site = applyOverrides(applyOverrides(loadSiteOrExplain(values.site), envOverrides), flags);
  const log = createLogger({
    ...(values['log-level'] ? { level: values['log-level'] } : {}),
    pretty: values.pretty || (process.stdout.isTTY ?? false),
  });

  const wantSim = values.sim && !values['no-sim'];
  let sim: RunModulesOptions['sim'];
  if (wantSim) {
    const speed = Number(values.speed);
    if (!(speed > 0)) throw new Error(`--speed must be a positive number, not "${values.speed}"`);
    if (site.storage.kind === 'influx')
      log.warn(
        'the simulator publishes synthetic telemetry into a real InfluxDB; use --no-sim for a real site',
      );
    // ScenarioError lists every problem with the file; cli.ts prints it.
    sim = { speed, scenario: loadScenarioFile(values.scenario) };
  }
  const { modules, forecast, config, demoModel } = buildRunModules({
    site,
    modelsDir: values['models-dir'] ?? site.forecast.modelsDir ?? 'models',
    config: {
      file: values.site,
      overrides: [envOverrides, flags],
      watch: !values['no-watch'],
      ...(loadedHash !== undefined ? { loadedHash } : {}),
    },
    ...(sim ? { sim } : {}),
  });
  const simulator = sim !== undefined;

  const agent = new Agent({ site, log, modules });
  await agent.start();
  log.info(
    { api: agent.apiUrl, dashboard: `${agent.apiUrl}/`, broker: agent.brokerUrl, simulator },
    `Hotaisle is running for site ${site.site.id}; dashboard at ${agent.apiUrl}/`,
  );
  demoModel?.trainInBackground(() => forecast.train());
  // `systemctl reload` (SIGHUP): the site file, then the model (see sighupHandler).
  const onSighup = sighupHandler({ config, forecast, log });
  process.on('SIGHUP', () => void onSighup());

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  log.info({ signal }, 'stopping');
  setTimeout(() => {
    log.error('stop took too long; exiting');
    process.exit(1);
  }, FORCED_EXIT_MS).unref();
  await agent.stop();
  log.flush();
  return 0;
}
