// A small hand-drawn SVG time chart: lines, an interval band, horizontal threshold lines and a
// "now" marker. Times on the axis are in the site's timezone.
import { hhmm, svg } from './format.js';

const M = { left: 40, right: 64, top: 10, bottom: 22 };

function niceStep(span, target) {
  const raw = span / target;
  const pow = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? 10 * pow;
}

/**
 * spec: { width, height, unit, label, now, series: [{label, cls, points: [[ts, v]]}],
 *         band?: {cls, points: [[ts, lo, hi]]}, hlines?: [{value, label, cls}], floor?: number,
 *         from?: ms, to?: ms }
 */
export function timeChart(spec) {
  const { width, height } = spec;
  const series = spec.series.filter((s) => s.points.length > 0);
  const band = spec.band?.points ?? [];
  const hlines = spec.hlines ?? [];
  const el = svg('svg', {
    class: 'chart',
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: 'img',
    'aria-label': spec.label,
  });
  const ts = [...series.flatMap((s) => s.points.map((p) => p[0])), ...band.map((p) => p[0]), spec.now];
  const vs = [
    ...series.flatMap((s) => s.points.map((p) => p[1])),
    ...band.flatMap((p) => [p[1], p[2]]),
    ...hlines.map((l) => l.value),
  ].filter((v) => Number.isFinite(v));
  if (series.length === 0 || vs.length === 0) {
    el.append(
      svg(
        'text',
        { x: width / 2, y: height / 2, 'text-anchor': 'middle', class: 'chart-empty' },
        'no data yet',
      ),
    );
    return el;
  }
  // A fixed window (from/to) keeps the scale steady while history fills in.
  const t0 = spec.from ?? Math.min(...ts);
  const t1 = Math.max(spec.to ?? Number.NEGATIVE_INFINITY, ...ts);
  let v0 = Math.min(...vs);
  let v1 = Math.max(...vs);
  if (spec.floor !== undefined) v0 = Math.min(v0, spec.floor);
  const padV = Math.max((v1 - v0) * 0.08, 0.5);
  v0 -= padV;
  v1 += padV;
  const W = width - M.left - M.right;
  const H = height - M.top - M.bottom;
  const x = (t) => M.left + ((t - t0) / Math.max(1, t1 - t0)) * W;
  const y = (v) => M.top + (1 - (v - v0) / (v1 - v0)) * H;

  // Grid and axes.
  const vStep = niceStep(v1 - v0, 4);
  for (let v = Math.ceil(v0 / vStep) * vStep; v <= v1; v += vStep) {
    el.append(
      svg('line', { class: 'grid', x1: M.left, x2: M.left + W, y1: y(v), y2: y(v) }),
      svg('text', { class: 'axis', x: M.left - 4, y: y(v) + 3, 'text-anchor': 'end' }, `${+v.toFixed(1)}`),
    );
  }
  const tStep = niceStep(t1 - t0, 5);
  for (let t = Math.ceil(t0 / tStep) * tStep; t <= t1; t += tStep) {
    el.append(svg('text', { class: 'axis', x: x(t), y: height - 6, 'text-anchor': 'middle' }, hhmm(t)));
  }
  el.append(svg('text', { class: 'axis unit', x: 4, y: M.top + 8 }, spec.unit));

  if (band.length > 0) {
    const upper = band.map((p) => `${x(p[0]).toFixed(1)},${y(p[2]).toFixed(1)}`);
    const lower = band.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).reverse();
    el.append(svg('polygon', { class: spec.band.cls, points: [...upper, ...lower].join(' ') }));
  }
  for (const l of hlines) {
    el.append(
      svg('line', { class: `hline ${l.cls}`, x1: M.left, x2: M.left + W, y1: y(l.value), y2: y(l.value) }),
      svg('text', { class: `hline-label ${l.cls}`, x: M.left + W + 4, y: y(l.value) + 3 }, l.label),
    );
  }
  el.append(svg('line', { class: 'now', x1: x(spec.now), x2: x(spec.now), y1: M.top, y2: M.top + H }));
  el.append(
    svg(
      'text',
      { class: 'axis now-label', x: x(spec.now) - 3, y: M.top + H - 4, 'text-anchor': 'end' },
      'now',
    ),
  );
  for (const s of series) {
    const d = s.points
      .filter((p) => Number.isFinite(p[1]))
      .map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`)
      .join('');
    el.append(
      svg('path', { class: `line ${s.cls}`, d, 'data-series': s.label, 'data-points': s.points.length }),
    );
  }
  return el;
}
