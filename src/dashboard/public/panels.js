// The alerts list (with acknowledge and silence) and the recommendations (placement ranking for a
// sample 8-GPU job, the cheapest window for a sample batch job, and the accepted batch plan).
import { api } from './api.js';
import { fmt, h, when } from './format.js';

const USER_KEY = 'hotaisle.user';
const SILENCE_MINUTES = 60;
const RESOLVED_SHOWN = 10;

const target = (labels) =>
  labels.rack ?? labels.unit ?? labels.zone ?? labels.feed ?? labels.room ?? labels.site ?? '';

export class AlertsPanel {
  constructor(el, { onRack, onStatus }) {
    this.el = el;
    this.onRack = onRack;
    this.onStatus = onStatus;
    this.revision = null;
    this.user = h('input', {
      id: 'acting-as',
      value: localStorage.getItem(USER_KEY) ?? 'dashboard',
      size: 12,
      onchange: (e) => localStorage.setItem(USER_KEY, e.target.value.trim() || 'dashboard'),
    });
    this.list = h('div', { class: 'alert-groups' });
    this.el.replaceChildren(
      h(
        'div',
        { class: 'panel-head' },
        h('h2', {}, 'Alerts'),
        h('label', { class: 'acting' }, 'acting as ', this.user),
      ),
      this.list,
    );
  }

  /** Reload when the snapshot says alerts changed (or when asked to, revision undefined). */
  async refresh(revision) {
    if (revision !== undefined && revision === this.revision) return;
    this.revision = revision ?? this.revision;
    try {
      this.render(await api('/v1/alerts'));
    } catch (err) {
      this.list.replaceChildren(h('p', { class: 'error' }, `alerts: ${err.message}`));
    }
  }

  render(list) {
    const group = (title, items, cls) =>
      h(
        'section',
        { class: `alert-group ${cls}`, 'data-group': cls },
        h('h3', {}, `${title} (${items.length})`),
        items.length === 0
          ? h('p', { class: 'muted' }, 'none')
          : h(
              'ul',
              {},
              items.map((a) => this.item(a, cls)),
            ),
      );
    this.list.replaceChildren(
      group('Firing', list.firing, 'firing'),
      group('Pending', list.pending, 'pending'),
      group('Silenced', list.silenced, 'silenced'),
      group('Recently resolved', list.resolved.slice(0, RESOLVED_SHOWN), 'resolved'),
    );
  }

  item(a, group) {
    const who = target(a.labels);
    const since = a.resolvedAt ?? a.firingAt ?? a.activeAt;
    const actions = [];
    if (group !== 'resolved' && !a.acknowledged)
      actions.push(h('button', { type: 'button', onclick: () => this.ack(a) }, 'Acknowledge'));
    if (group === 'firing' || group === 'pending')
      actions.push(
        h('button', { type: 'button', onclick: () => this.silence(a) }, `Silence ${SILENCE_MINUTES} min`),
      );
    if (group === 'silenced')
      actions.push(h('button', { type: 'button', onclick: () => this.unsilence(a) }, 'End silence'));
    return h(
      'li',
      { class: `alert sev-${a.severity}`, 'data-fingerprint': a.fingerprint },
      h(
        'div',
        { class: 'alert-line' },
        h('span', { class: `sev sev-${a.severity}` }, a.severity),
        h('strong', {}, a.alertname),
        ' ',
        a.labels.rack
          ? h('button', { type: 'button', class: 'link', onclick: () => this.onRack(a.labels.rack) }, who)
          : h('span', {}, who),
        h('time', { datetime: since }, when(Date.parse(since))),
      ),
      h('div', { class: 'alert-summary' }, a.annotations.summary ?? ''),
      a.acknowledged
        ? h(
            'div',
            { class: 'muted' },
            `acknowledged by ${a.acknowledged.by} at ${when(Date.parse(a.acknowledged.at))}`,
          )
        : null,
      actions.length > 0 ? h('div', { class: 'actions' }, actions) : null,
    );
  }

  async act(what, fn) {
    try {
      await fn();
      this.onStatus(`${what} done`);
    } catch (err) {
      this.onStatus(`${what} failed: ${err.message}`, true);
    }
    await this.refresh();
  }

  ack(a) {
    return this.act(`acknowledge ${a.alertname}`, () =>
      api(`/v1/alerts/${a.fingerprint}/ack`, {
        method: 'POST',
        body: { by: this.user.value.trim() || 'dashboard', comment: 'from the dashboard' },
      }),
    );
  }

  silence(a) {
    // Every label of the alert: the silence covers exactly this alert (it keeps its fingerprint).
    const matchers = Object.entries(a.labels).map(([name, value]) => ({
      name,
      value,
      isRegex: false,
      isEqual: true,
    }));
    matchers.push({ name: 'alertname', value: a.alertname, isRegex: false, isEqual: true });
    return this.act(`silence ${a.alertname}`, () =>
      api('/v1/silences', {
        method: 'POST',
        body: {
          matchers,
          durationMinutes: SILENCE_MINUTES,
          createdBy: this.user.value.trim() || 'dashboard',
          comment: `silenced from the dashboard for ${SILENCE_MINUTES} min`,
        },
      }),
    );
  }

  unsilence(a) {
    return this.act(`end silence of ${a.alertname}`, () =>
      Promise.all(
        a.silencedBy.map((id) => api(`/v1/silences/${encodeURIComponent(id)}`, { method: 'DELETE' })),
      ),
    );
  }
}

export class RecommendationsPanel {
  constructor(el, { onRack }) {
    this.el = el;
    this.onRack = onRack;
    this.placement = h('div', { class: 'placement' });
    this.batch = h('div', { class: 'batch' });
    this.el.replaceChildren(
      h(
        'div',
        { class: 'panel-head' },
        h('h2', {}, 'Recommendations'),
        h('button', { type: 'button', onclick: () => this.refresh() }, 'Refresh'),
      ),
      h('h3', {}, 'Best racks for an 8-GPU training job (2 h)'),
      this.placement,
      h('h3', {}, 'Batch plan'),
      this.batch,
    );
  }

  async refresh() {
    await Promise.all([this.loadPlacement(), this.loadBatch()]);
  }

  async loadPlacement() {
    try {
      const res = await api('/v1/placements', {
        method: 'POST',
        body: { job: { gpus: 8, durationMin: 120, profile: 'training', limit: 5 } },
      });
      const rows = res.candidates.map((c, i) =>
        h(
          'tr',
          {},
          h('td', {}, String(i + 1)),
          h(
            'td',
            {},
            h(
              'button',
              { type: 'button', class: 'link', onclick: () => this.onRack(c.rack) },
              c.racks.join(', '),
            ),
          ),
          h('td', { class: 'num' }, fmt(c.score, 2)),
          h('td', { class: 'num' }, `${fmt(c.predictedPeakInletC)} °C`),
          h('td', { class: 'num' }, `${fmt(c.powerHeadroomKw)} kW`),
          h('td', { class: 'reason' }, c.reasons[0] ?? ''),
        ),
      );
      this.placement.replaceChildren(
        rows.length === 0
          ? h('p', { class: 'muted' }, `no rack can take it (${res.rejected.length} rejected)`)
          : h(
              'table',
              {},
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  ['#', 'rack', 'score', 'peak inlet', 'power headroom', 'why'].map((t) => h('th', {}, t)),
                ),
              ),
              h('tbody', {}, rows),
            ),
        h('p', { class: 'muted' }, `thermal model: ${res.thermalSource}`),
      );
    } catch (err) {
      this.placement.replaceChildren(h('p', { class: 'error' }, `placements: ${err.message}`));
    }
  }

  async loadBatch() {
    const parts = [];
    try {
      const deadline = new Date(Date.now() + 24 * 3600_000).toISOString();
      const w = await api('/v1/batch-windows', {
        method: 'POST',
        body: { powerKw: 100, durationMin: 240, deadline },
      });
      parts.push(
        h('p', {}, 'Cheapest 4 h window for a 100 kW batch job due within 24 h:'),
        w.feasible
          ? h(
              'p',
              { class: 'batch-window' },
              h('strong', {}, `${when(Date.parse(w.start))} – ${when(Date.parse(w.end))}`),
              w.saving !== null
                ? ` · ${fmt(w.expectedCost, 2)} ${w.currency} instead of ${fmt(w.costNow, 2)} now, saving ${fmt(w.saving, 2)} ${w.currency}`
                : '',
              w.carbonKg !== null ? ` · ${fmt(w.carbonKg, 0)} kg CO₂` : '',
            )
          : h('p', { class: 'muted' }, w.reason),
      );
    } catch (err) {
      parts.push(h('p', { class: 'error' }, `batch windows: ${err.message}`));
    }
    try {
      const plan = await api('/v1/dashboard/plan');
      parts.push(
        plan.reservations.length === 0
          ? h('p', { class: 'muted' }, 'No batch windows accepted yet.')
          : h(
              'ul',
              { class: 'plan' },
              plan.reservations.map((r) =>
                h(
                  'li',
                  {},
                  `${r.id}: ${fmt(r.powerKw)} kW, `,
                  r.segments
                    .map((s) => `${when(Date.parse(s.start))} – ${when(Date.parse(s.end))}`)
                    .join(', '),
                ),
              ),
            ),
      );
    } catch (err) {
      parts.push(h('p', { class: 'error' }, `plan: ${err.message}`));
    }
    this.batch.replaceChildren(...parts);
  }
}
