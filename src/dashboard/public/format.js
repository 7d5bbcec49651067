// Numbers, times (in the site's timezone) and the inlet colour scale, shared by every panel.

let timeZone = 'UTC';
let clockFmt;
let timeFmt;
let dateTimeFmt;

export function setTimeZone(tz) {
  timeZone = tz;
  clockFmt = new Intl.DateTimeFormat('en-GB', {
    timeZone: tz,
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
  timeFmt = new Intl.DateTimeFormat('en-GB', { timeZone: tz, hour: '2-digit', minute: '2-digit' });
  dateTimeFmt = new Intl.DateTimeFormat('en-GB', {
    timeZone: tz,
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
  });
}
setTimeZone('UTC');

export const zoneName = () => timeZone;
/** HH:MM:SS in the site's timezone. */
export const clock = (ms) => clockFmt.format(ms);
/** HH:MM in the site's timezone. */
export const hhmm = (ms) => timeFmt.format(ms);
/** "27 Nov, 14:05" in the site's timezone. */
export const when = (ms) => dateTimeFmt.format(ms);

export const fmt = (v, digits = 1) =>
  v === null || v === undefined || Number.isNaN(v) ? '–' : v.toFixed(digits);

export function ago(seconds) {
  if (seconds === null || seconds === undefined) return 'never';
  if (seconds < 90) return `${Math.round(seconds)} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  return `${Math.round(seconds / 3600)} h ago`;
}

/** Colour stops relative to the warn threshold; at or above critical the colour is red, always. */
const COLD = '#2c7bb6';
const COOL = '#1a9641';
const WARN = '#e6c619';
const HOT = '#f07b22';
export const CRITICAL_RED = '#d7191c';
export const NO_DATA = '#b8b8b8';

function mix(a, b, t) {
  const pa = [1, 3, 5].map((i) => Number.parseInt(a.slice(i, i + 2), 16));
  const pb = [1, 3, 5].map((i) => Number.parseInt(b.slice(i, i + 2), 16));
  return `#${pa
    .map((x, i) =>
      Math.round(x + (pb[i] - x) * t)
        .toString(16)
        .padStart(2, '0'),
    )
    .join('')}`;
}

/** Inlet °C → level ('ok' | 'warn' | 'critical' | 'none') against the rack's thresholds. */
export function inletLevel(t, warn, crit) {
  if (t === null || t === undefined) return 'none';
  if (t >= crit) return 'critical';
  if (t >= warn) return 'warn';
  return 'ok';
}

/** Inlet °C → fill colour: blue well below warn, green below it, yellow→orange between warn and critical, red at critical. */
export function inletColour(t, warn, crit) {
  if (t === null || t === undefined) return NO_DATA;
  if (t >= crit) return CRITICAL_RED;
  const stops = [
    [warn - 9, COLD],
    [warn - 4, COOL],
    [warn, WARN],
    [crit, HOT],
  ];
  if (t <= stops[0][0]) return COLD;
  for (let i = 1; i < stops.length; i++) {
    const [v, c] = stops[i];
    const [pv, pc] = stops[i - 1];
    if (t <= v) return mix(pc, c, (t - pv) / (v - pv));
  }
  return HOT;
}

/** The stops of the scale for the legend: [°C, colour] from cold to critical. */
export function scaleStops(warn, crit) {
  return [
    [warn - 9, COLD],
    [warn - 4, COOL],
    [warn, WARN],
    [crit - 0.01, HOT],
    [crit, CRITICAL_RED],
  ];
}

/** Create an SVG element with attributes. */
export function svg(tag, attrs = {}, text) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** Create an HTML element with attributes and children (strings become text). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c);
  return el;
}
