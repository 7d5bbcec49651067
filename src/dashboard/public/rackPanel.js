// The rack panel: current values, power and thermal headroom, sensitivity, and charts of the last
// hour with the forecast and its interval drawn ahead of "now".
import { api } from './api.js';
import { timeChart } from './chart.js';
import { ago, clock, fmt, h } from './format.js';

const HISTORY_MINUTES = 60;
/** " (lo–hi)" when the forecast has an interval (persistence forecasts have none). */
const interval = (hz) => (hz.loC !== null && hz.hiC !== null ? ` (${fmt(hz.loC)}–${fmt(hz.hiC)})` : '');
const REFRESH_MS = 15000;

export class RackPanel {
  constructor(el, onClose) {
    this.el = el;
    this.onClose = onClose;
    this.rack = null;
    this.history = null;
    this.forecast = null;
    this.forecastError = null;
    this.timer = null;
  }

  open(rack, layout) {
    this.rack = rack;
    this.layout = layout;
    this.history = null;
    this.forecast = null;
    this.el.hidden = false;
    clearInterval(this.timer);
    this.timer = setInterval(() => this.load(), REFRESH_MS);
    this.render();
    this.load();
  }

  close() {
    clearInterval(this.timer);
    this.rack = null;
    this.el.hidden = true;
    this.onClose();
  }

  async load() {
    const id = this.rack?.id;
    if (!id) return;
    const [history, forecast] = await Promise.allSettled([
      api(`/v1/racks/${encodeURIComponent(id)}/history?minutes=${HISTORY_MINUTES}`),
      api(`/v1/forecasts/${encodeURIComponent(id)}`),
    ]);
    if (this.rack?.id !== id) return; // another rack was chosen meanwhile
    this.history = history.status === 'fulfilled' ? history.value : null;
    this.historyError = history.status === 'rejected' ? history.reason.message : null;
    this.forecast = forecast.status === 'fulfilled' ? forecast.value : null;
    this.forecastError = forecast.status === 'rejected' ? forecast.reason.message : null;
    this.render();
  }

  /** New snapshot: refresh the current values (charts keep their data until the next load). */
  update(snap) {
    this.snap = snap;
    if (this.rack) this.renderFacts();
  }

  render() {
    if (!this.rack) return;
    const r = this.rack;
    this.facts = h('dl', { class: 'facts' });
    this.el.replaceChildren(
      h(
        'div',
        { class: 'panel-head' },
        h('h2', {}, `Rack ${r.id}`),
        h(
          'button',
          { type: 'button', class: 'close', 'aria-label': 'close rack panel', onclick: () => this.close() },
          '×',
        ),
      ),
      this.facts,
      h('div', { class: 'charts' }, this.temperatureChart(), this.powerChart()),
      h('p', { class: 'error' }, this.historyError ? `history: ${this.historyError}` : ''),
    );
    this.renderFacts();
  }

  renderFacts() {
    const r = this.rack;
    const i = this.layout.rackIds.indexOf(r.id);
    const s = this.snap;
    const cur = (col) => (s && i >= 0 ? s.racks[col][i] : null);
    const power = cur('powerKw');
    const f = this.forecast;
    const row = (term, ...desc) => [h('dt', {}, term), h('dd', {}, ...desc)];
    const sens = f?.sensitivity;
    const neighbours = sens?.neighbours
      .slice()
      .sort((a, b) => b.cPerKw - a.cPerKw)
      .slice(0, 3)
      .map((n) => `${n.rack} ${fmt(n.cPerKw, 3)}`)
      .join(', ');
    const age = cur('ageSeconds');
    this.facts.replaceChildren(
      ...row(
        'Inlet',
        `${fmt(cur('inletC'))} °C`,
        h('span', { class: 'muted' }, ` (warn ${r.warnC}, critical ${r.criticalC} °C)`),
      ),
      ...row('Outlet', `${fmt(cur('outletC'))} °C`),
      ...row('Power', `${fmt(power)} of ${r.powerCapKw} kW cap`),
      ...row('Power headroom', power === null ? '–' : `${fmt(r.powerCapKw - power)} kW below the cap`),
      ...row(
        'Thermal headroom',
        f?.headroomKw === null || f?.headroomKw === undefined
          ? '–'
          : `${fmt(f.headroomKw)} kW more before it or a neighbour is forecast to reach warn`,
      ),
      ...row(
        'Sensitivity',
        sens
          ? `${fmt(sens.ownCPerKw, 3)} °C per kW of its own load (${sens.source})${neighbours ? `; neighbours ${neighbours}` : ''}`
          : '–',
      ),
      ...row(
        'Forecast',
        f
          ? f.horizons.map((hz) => `+${hz.horizonMin} min ${fmt(hz.inletC)} °C${interval(hz)}`).join(' · ')
          : (this.forecastError ?? 'loading…'),
        f
          ? h(
              'span',
              { class: 'muted' },
              ` ${f.model.mode === 'model' ? `model v${f.model.version}` : 'persistence'}`,
            )
          : null,
      ),
      ...row(
        'Last reading',
        s && age !== null ? `${ago(age)} (${clock(Date.parse(s.at) - age * 1000)})` : 'none yet',
      ),
      ...row('Place', `zone ${r.zone}, position ${r.position}, ${r.gpus} GPUs`),
    );
  }

  width() {
    return Math.max(320, Math.min(560, (this.el.clientWidth || 480) - 8));
  }

  temperatureChart() {
    const r = this.rack;
    const hist = this.history?.series ?? {};
    const f = this.forecast;
    const now = this.history ? Date.parse(this.history.to) : Date.now();
    const ahead = [];
    const band = [];
    if (f && f.currentC !== null) {
      const issued = Date.parse(f.issuedAt);
      ahead.push([issued, f.currentC]);
      band.push([issued, f.currentC, f.currentC]);
      for (const hz of f.horizons) {
        if (hz.inletC === null) continue;
        const at = Date.parse(hz.at);
        ahead.push([at, hz.inletC]);
        band.push([at, hz.loC ?? hz.inletC, hz.hiC ?? hz.inletC]);
      }
    }
    return h(
      'figure',
      { class: 'chart-box', 'data-chart': 'temperature' },
      h(
        'figcaption',
        {},
        'Temperature, last hour and forecast ',
        h('span', { class: 'key inlet' }, 'inlet'),
        h('span', { class: 'key outlet' }, 'outlet'),
        h('span', { class: 'key forecast' }, 'forecast (10–90 %)'),
      ),
      timeChart({
        width: this.width(),
        height: 170,
        unit: '°C',
        label: `rack ${r.id} inlet and outlet temperature with forecast`,
        now,
        from: now - HISTORY_MINUTES * 60000,
        to: now + Math.max(0, ...(f?.horizonsMin ?? [0])) * 60000,
        series: [
          { label: 'inlet', cls: 'inlet', points: hist.inlet_c ?? [] },
          { label: 'outlet', cls: 'outlet', points: hist.outlet_c ?? [] },
          { label: 'forecast', cls: 'forecast', points: ahead.length > 1 ? ahead : [] },
        ],
        band: { cls: 'interval', points: band.length > 1 ? band : [] },
        hlines: [
          { value: r.warnC, label: `warn ${r.warnC}`, cls: 'warn' },
          { value: r.criticalC, label: `crit ${r.criticalC}`, cls: 'critical' },
        ],
      }),
    );
  }

  powerChart() {
    const r = this.rack;
    const hist = this.history?.series ?? {};
    const now = this.history ? Date.parse(this.history.to) : Date.now();
    const warnPct = this.layout.thresholds.powerWarnPct;
    return h(
      'figure',
      { class: 'chart-box', 'data-chart': 'power' },
      h('figcaption', {}, 'Power, last hour ', h('span', { class: 'key power' }, 'kW')),
      timeChart({
        width: this.width(),
        height: 120,
        unit: 'kW',
        label: `rack ${r.id} power`,
        now,
        from: now - HISTORY_MINUTES * 60000,
        to: now,
        floor: 0,
        series: [{ label: 'power', cls: 'power', points: hist.power_kw ?? [] }],
        hlines: [
          { value: r.powerCapKw, label: `cap ${r.powerCapKw}`, cls: 'critical' },
          { value: (r.powerCapKw * warnPct) / 100, label: `${warnPct} %`, cls: 'warn' },
        ],
      }),
    );
  }
}
