// The floor map: one SVG per room, racks in their rows and positions, cold aisles between paired
// rows, cooling units beside the rows of their zone. Racks are coloured by inlet (or forecast)
// temperature against their own thresholds; alerts outline and badge them; stale racks are hatched.
import { ago, fmt, h, inletColour, inletLevel, NO_DATA, scaleStops, svg } from './format.js';

const CELL_W = 44;
const CELL_H = 30;
const GAP = 4;
const LABEL_W = 78;
const COLD_AISLE = 22;
const HOT_AISLE = 12;
const UNIT_W = 132;
const UNIT_H = 36;
const PAD = 8;

const BADGE = { critical: '!', warning: '!', pending: '…', predicted: '↗' };
const MARK_TEXT = {
  critical: 'critical alert firing',
  warning: 'warning alert firing',
  pending: 'alert pending',
  predicted: 'forecast hotspot',
};

export class FloorMap {
  constructor(container, legend, onSelect) {
    this.container = container;
    this.legend = legend;
    this.onSelect = onSelect;
    this.racks = new Map();
    this.units = new Map();
    this.selected = null;
  }

  setLayout(layout) {
    this.layout = layout;
    this.racks.clear();
    this.units.clear();
    this.container.replaceChildren(...layout.rooms.map((room) => this.drawRoom(room)));
    this.drawLegend(layout.thresholds);
    if (this.selected) this.select(this.selected);
  }

  drawRoom(room) {
    const maxPos = Math.max(...room.rows.flatMap((r) => r.racks.map((k) => k.position)));
    const racksRight = LABEL_W + maxPos * (CELL_W + GAP);
    const el = svg('svg', { class: 'room-map', role: 'group', 'aria-label': `${room.name} floor map` });
    const rowY = [];
    let y = PAD;
    room.rows.forEach((row, i) => {
      const prev = room.rows[i - 1];
      if (prev) {
        const shared = row.coldAisle !== null && row.coldAisle === prev.coldAisle;
        if (shared) {
          el.append(
            svg('rect', {
              class: 'aisle-cold',
              x: LABEL_W,
              y,
              width: racksRight - LABEL_W - GAP,
              height: COLD_AISLE,
            }),
            svg(
              'text',
              { class: 'aisle-label', x: LABEL_W + 6, y: y + COLD_AISLE / 2 + 4 },
              `cold aisle ${row.coldAisle}`,
            ),
          );
        }
        y += shared ? COLD_AISLE : HOT_AISLE;
      }
      rowY.push(y);
      el.append(
        svg('text', { class: 'row-label', x: 4, y: y + CELL_H / 2 - 2 }, row.id),
        svg('text', { class: 'zone-label', x: 4, y: y + CELL_H / 2 + 10 }, `zone ${row.zone}`),
      );
      for (const rack of row.racks)
        el.append(this.drawRack(rack, LABEL_W + (rack.position - 1) * (CELL_W + GAP), y));
      y += CELL_H;
    });
    let bottom = y;

    // Units beside the first row of their zone; units of zones without rows here go below.
    const zoneTop = new Map();
    room.rows.forEach((row, i) => {
      if (!zoneTop.has(row.zone)) zoneTop.set(row.zone, rowY[i]);
    });
    const unitX = racksRight + 14;
    const nextY = new Map();
    let spare = bottom + HOT_AISLE;
    for (const unit of room.coolingUnits) {
      let uy = nextY.get(unit.zone) ?? zoneTop.get(unit.zone);
      if (uy === undefined) {
        uy = spare;
        spare += UNIT_H + 4;
      }
      nextY.set(unit.zone, uy + UNIT_H + 4);
      el.append(this.drawUnit(unit, unitX, uy));
      bottom = Math.max(bottom, uy + UNIT_H);
    }
    const width = unitX + (room.coolingUnits.length > 0 ? UNIT_W : 0) + PAD;
    const height = bottom + PAD;
    el.setAttribute('viewBox', `0 0 ${width} ${height}`);
    el.setAttribute('width', String(width));
    el.setAttribute('height', String(height));
    const containment = room.containment === 'none' ? 'no containment' : `${room.containment} containment`;
    const title = room.name.includes('containment') ? room.name : `${room.name} · ${containment}`;
    return h('figure', { class: 'room', 'data-room': room.id }, h('figcaption', {}, title), el);
  }

  drawRack(rack, x, y) {
    const g = svg('g', {
      class: 'rack',
      'data-rack': rack.id,
      'data-level': 'none',
      tabindex: 0,
      role: 'button',
      'aria-label': `rack ${rack.id}`,
    });
    const rect = svg('rect', {
      class: 'rack-body',
      x,
      y,
      width: CELL_W,
      height: CELL_H,
      rx: 3,
      fill: NO_DATA,
    });
    const label = svg(
      'text',
      { class: 'rack-label', x: x + CELL_W / 2, y: y + 13, 'text-anchor': 'middle' },
      rack.id,
    );
    const value = svg(
      'text',
      { class: 'rack-value', x: x + CELL_W / 2, y: y + 25, 'text-anchor': 'middle' },
      '–',
    );
    const badge = svg('g', { class: 'badge', visibility: 'hidden' });
    badge.append(
      svg('circle', { cx: x + CELL_W - 3, cy: y + 3, r: 7 }),
      svg('text', { x: x + CELL_W - 3, y: y + 7, 'text-anchor': 'middle' }, '!'),
    );
    const title = svg('title', {}, rack.id);
    g.append(title, rect, label, value, badge);
    const choose = () => this.onSelect(rack.id);
    g.addEventListener('click', choose);
    g.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        choose();
      }
    });
    this.racks.set(rack.id, { g, rect, value, badge, title, rack });
    return g;
  }

  drawUnit(unit, x, y) {
    const g = svg('g', { class: 'unit', 'data-unit': unit.id });
    const title = svg('title', {}, unit.id);
    const rect = svg('rect', { class: 'unit-body', x, y, width: UNIT_W, height: UNIT_H, rx: 5 });
    const name = svg('text', { class: 'unit-label', x: x + 6, y: y + 14 }, `❄ ${unit.id} · ${unit.zone}`);
    const value = svg('text', { class: 'unit-value', x: x + 6, y: y + 29 }, 'no data');
    g.append(title, rect, name, value);
    this.units.set(unit.id, { g, value, title, unit });
    return g;
  }

  drawLegend(t) {
    const stops = scaleStops(t.warnC, t.criticalC);
    const lo = stops[0][0] - 2;
    const hi = t.criticalC + 3;
    const W = 260;
    const x = (v) => 10 + ((v - lo) / (hi - lo)) * W;
    const bar = svg('svg', { width: W + 60, height: 44, role: 'img', 'aria-label': 'inlet colour scale' });
    const grad = svg('linearGradient', { id: 'inlet-scale', x1: 0, x2: 1, y1: 0, y2: 0 });
    for (const [v, c] of stops)
      grad.append(svg('stop', { offset: `${(((x(v) - 10) / W) * 100).toFixed(1)}%`, 'stop-color': c }));
    grad.append(svg('stop', { offset: '100%', 'stop-color': stops.at(-1)[1] }));
    const defs = svg('defs');
    defs.append(grad);
    bar.append(defs, svg('rect', { x: 10, y: 4, width: W, height: 14, fill: 'url(#inlet-scale)' }));
    for (const [v, label] of [
      [t.warnC - 9, `${t.warnC - 9}`],
      [t.warnC, `warn ${t.warnC}`],
      [t.criticalC, `critical ${t.criticalC} °C`],
    ]) {
      bar.append(
        svg('line', { x1: x(v), x2: x(v), y1: 2, y2: 22, class: 'legend-tick' }),
        svg('text', { x: x(v), y: 36, 'text-anchor': 'middle', class: 'legend-text' }, label),
      );
    }
    const swatch = (cls, text) => h('span', { class: `swatch ${cls}` }, text);
    this.legend.replaceChildren(
      h('span', { class: 'legend-title', id: 'legend-title' }, 'Inlet °C'),
      bar,
      swatch('no-data', 'no data'),
      swatch('stale', 'stale'),
      swatch('marked', 'alert / forecast hotspot'),
    );
  }

  /** Apply a snapshot; `forecast` shows the forecast at the map horizon instead of the current inlet. */
  update(snap, forecast) {
    const layout = this.layout;
    if (!layout || snap.layoutVersion !== layout.version) return;
    const staleAfter = layout.staleAfterSeconds;
    const counts = { warn: 0, critical: 0, stale: 0 };
    layout.rackIds.forEach((id, i) => {
      const r = this.racks.get(id);
      if (!r) return;
      const inlet = snap.racks.inletC[i];
      const shown = forecast ? snap.racks.forecastC[i] : inlet;
      const age = snap.racks.ageSeconds[i];
      const stale = age === null || age > staleAfter;
      const level = inletLevel(shown, r.rack.warnC, r.rack.criticalC);
      const mark = snap.racks.mark[i];
      r.rect.setAttribute('fill', inletColour(shown, r.rack.warnC, r.rack.criticalC));
      r.g.setAttribute('data-level', level);
      r.g.setAttribute('data-mark', mark ?? 'none');
      r.g.classList.toggle('stale', stale);
      r.value.textContent = shown === null ? '–' : `${fmt(shown)}°`;
      r.badge.setAttribute('visibility', mark ? 'visible' : 'hidden');
      r.badge.lastChild.textContent = mark ? BADGE[mark] : '';
      const lines = [
        `${id}: inlet ${fmt(inlet)} °C, outlet ${fmt(snap.racks.outletC[i])} °C, ${fmt(snap.racks.powerKw[i])} kW of ${r.rack.powerCapKw} kW`,
        `+${snap.forecast.horizonMin} min forecast ${fmt(snap.racks.forecastC[i])} °C (up to ${fmt(snap.racks.forecastHiC[i])} °C)`,
        `last reading ${ago(age)}${stale ? ' (stale)' : ''}`,
      ];
      if (mark) lines.push(MARK_TEXT[mark]);
      r.title.textContent = lines.join('\n');
      r.g.setAttribute(
        'aria-label',
        `rack ${id}, ${forecast ? 'forecast' : 'inlet'} ${fmt(shown)} °C, ${level}`,
      );
      if (level === 'warn') counts.warn++;
      if (level === 'critical') counts.critical++;
      if (stale) counts.stale++;
    });
    layout.coolingUnitIds.forEach((id, i) => {
      const u = this.units.get(id);
      if (!u) return;
      const c = snap.cooling;
      const age = c.ageSeconds[i];
      u.g.classList.toggle('stale', age === null || age > staleAfter);
      u.value.textContent =
        c.supplyC[i] === null ? 'no data' : `supply ${fmt(c.supplyC[i])} °C · fan ${fmt(c.fanPct[i], 0)}%`;
      u.title.textContent = `${id} (zone ${u.unit.zone}, ${u.unit.capacityKw} kW, setpoint ${u.unit.supplySetpointC} °C): supply ${fmt(c.supplyC[i])} °C, return ${fmt(c.returnC[i])} °C, fan ${fmt(c.fanPct[i], 0)} %, ${fmt(c.powerKw[i])} kW, last reading ${ago(age)}`;
    });
    return counts;
  }

  select(id) {
    if (this.selected) this.racks.get(this.selected)?.g.classList.remove('selected');
    this.selected = id;
    this.racks.get(id)?.g.classList.add('selected');
  }
}
