// The dashboard page: loads the floor plan, follows the snapshot stream, and ties the map, the rack
// panel, the alerts and the recommendations together.
import { api, openStream } from './api.js';
import { FloorMap } from './floor.js';
import { clock, setTimeZone, zoneName } from './format.js';
import { AlertsPanel, RecommendationsPanel } from './panels.js';
import { RackPanel } from './rackPanel.js';

const RECOMMEND_REFRESH_MS = 60000;
/** No snapshot for this long: say the view is not live. */
const SILENT_MS = 10000;

const $ = (id) => document.getElementById(id);

const state = { layout: null, snap: null, forecast: false, lastSnapAt: 0, link: 'connecting' };

const map = new FloorMap($('rooms'), $('legend'), (id) => selectRack(id));
const rackPanel = new RackPanel($('rack-panel'), () => map.select(null));
const alerts = new AlertsPanel($('alerts'), { onRack: (id) => selectRack(id), onStatus: notify });
const recs = new RecommendationsPanel($('recommendations'), { onRack: (id) => selectRack(id) });

function notify(text, isError = false) {
  const el = $('notice');
  el.textContent = text;
  el.classList.toggle('error', isError);
}

function selectRack(id) {
  const rack = state.layout?.rooms
    .flatMap((r) => r.rows.flatMap((row) => row.racks))
    .find((r) => r.id === id);
  if (!rack) return;
  map.select(id);
  rackPanel.open(rack, state.layout);
  if (state.snap) rackPanel.update(state.snap);
  $('rack-panel').scrollIntoView({ block: 'nearest' });
}

async function loadLayout() {
  const layout = await api('/v1/layout');
  state.layout = layout;
  setTimeZone(layout.site.timezone);
  document.title = `Hotaisle · ${layout.site.name}`;
  $('site-name').textContent = layout.site.name;
  $('horizon').textContent = String(layout.forecastHorizonMin);
  map.setLayout(layout);
}

function renderStatus() {
  const el = $('status');
  const s = state.snap;
  const silent = Date.now() - state.lastSnapAt > SILENT_MS;
  const live = state.link === 'live' && !silent;
  el.dataset.live = String(live);
  const parts = [live ? '● live' : state.link === 'live' ? '○ waiting for data' : `○ ${state.link}`];
  if (s) parts.push(`updated ${clock(Date.parse(s.at))}`);
  if (state.counts) {
    const c = state.counts;
    parts.push(`${c.critical} critical, ${c.warn} warn, ${c.stale} stale`);
  }
  if (s) parts.push(`alerts: ${s.alerts.firing} firing, ${s.alerts.pending} pending`);
  if (s && s.forecast.modelVersion === null && s.forecast.issuedAt)
    parts.push('forecasts: persistence (no model)');
  el.textContent = parts.join(' · ');
  $('clock').textContent = `${clock(Date.now())} ${zoneName()}`;
}

async function onSnapshot(data) {
  const snap = JSON.parse(data);
  if (state.layout && snap.layoutVersion !== state.layout.version) await loadLayout();
  state.snap = snap;
  state.lastSnapAt = Date.now();
  state.counts = map.update(snap, state.forecast);
  rackPanel.update(snap);
  alerts.refresh(snap.alerts.revision);
  renderStatus();
}

async function main() {
  try {
    await loadLayout();
  } catch (err) {
    notify(`cannot load the floor plan: ${err.message}`, true);
    return;
  }
  $('forecast-toggle').addEventListener('change', (e) => {
    state.forecast = e.target.checked;
    document.body.classList.toggle('showing-forecast', state.forecast);
    $('legend-title').textContent = state.forecast
      ? `Inlet °C, forecast +${state.layout.forecastHorizonMin} min`
      : 'Inlet °C';
    if (state.snap) state.counts = map.update(state.snap, state.forecast);
    renderStatus();
  });
  openStream(
    '/v1/dashboard/stream',
    (event, data) => {
      if (event === 'snapshot')
        onSnapshot(data).catch((err) => notify(`update failed: ${err.message}`, true));
    },
    (link, err) => {
      state.link = link;
      if (err) notify(`live updates interrupted: ${err.message}; reconnecting`, true);
      else notify('');
      renderStatus();
    },
  );
  setInterval(renderStatus, 1000);
  recs.refresh();
  setInterval(() => recs.refresh(), RECOMMEND_REFRESH_MS);
}

main();
