// Charts in plain SVG: a line over days and horizontal bars. Each is an image with a text
// alternative summing it up; the numbers are also in the page as text.

import { svg, h, tableWrap } from './dom.js';

const W = 480;
const H = 180;
const PAD = { l: 40, r: 10, t: 10, b: 24 };

function nice(max) {
  if (max <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

/// `points`: [{label, value}] in order.
export function lineChart(points, name, colour = '#1b4f9c') {
  const max = nice(Math.max(0, ...points.map((p) => p.value)));
  const total = points.reduce((s, p) => s + p.value, 0);
  const x = (i) => PAD.l + (points.length > 1 ? (i * (W - PAD.l - PAD.r)) / (points.length - 1) : (W - PAD.l - PAD.r) / 2);
  const y = (v) => PAD.t + (H - PAD.t - PAD.b) * (1 - v / max);
  const d = points.map((p, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y(p.value).toFixed(1)}`).join('');
  const peak = points.reduce((b, p) => (p.value > (b?.value ?? -1) ? p : b), null);
  const alt = points.length
    ? `${name}: ${total} over ${points.length} days${peak ? `, most on ${peak.label} (${peak.value})` : ''}`
    : `${name}: no data in this period`;
  const ticks = [0, max / 2, max];
  const every = Math.max(1, Math.ceil(points.length / 6));
  return svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': alt },
    ticks.map((t) => [
      svg('line', { x1: PAD.l, x2: W - PAD.r, y1: y(t), y2: y(t), stroke: '#d5d9e0' }),
      svg('text', { x: PAD.l - 6, y: y(t) + 4, 'text-anchor': 'end', 'font-size': 11, fill: '#4a5260' }, fmt(t)),
    ]),
    points.map((p, i) => (i % every === 0 || i === points.length - 1
      ? svg('text', { x: x(i), y: H - 6, 'text-anchor': i === points.length - 1 && points.length > 1 ? 'end' : 'middle', 'font-size': 10, fill: '#4a5260' }, p.label.slice(5))
      : null)),
    points.length ? svg('path', { d, fill: 'none', stroke: colour, 'stroke-width': 2 }) : null,
    points.map((p, i) => svg('circle', { cx: x(i), cy: y(p.value), r: 2.5, fill: colour },
      svg('title', {}, `${p.label}: ${p.value}`))),
    points.length ? null : svg('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', fill: '#4a5260' }, 'No data yet'));
}

/// `items`: [{label, value, colour?}].
export function barChart(items, name) {
  const max = nice(Math.max(0, ...items.map((i) => i.value)));
  const row = 26;
  const height = Math.max(1, items.length) * row + 10;
  const lw = 90;
  const alt = items.length ? `${name}: ${items.map((i) => `${i.label} ${i.value}`).join(', ')}` : `${name}: no data`;
  return svg('svg', { viewBox: `0 0 ${W} ${height}`, role: 'img', 'aria-label': alt },
    items.map((it, n) => {
      const w = ((W - lw - 50) * it.value) / max;
      return [
        svg('text', { x: lw - 6, y: n * row + 18, 'text-anchor': 'end', 'font-size': 12, fill: '#1b1e23' }, it.label),
        svg('rect', { x: lw, y: n * row + 6, width: Math.max(1, w), height: 16, rx: 2, fill: it.colour || '#1b4f9c' }),
        svg('text', { x: lw + w + 6, y: n * row + 18, 'font-size': 12, fill: '#1b1e23' }, fmt(it.value)),
      ];
    }),
    items.length ? null : svg('text', { x: W / 2, y: 20, 'text-anchor': 'middle', fill: '#4a5260' }, 'No data yet'));
}

function fmt(v) {
  if (v >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (v >= 1e4) return `${Math.round(v / 1e3)}k`;
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

/// A weekday × hour table, each cell shaded by its score and naming it.
export function heatMap(slots, tz) {
  const days = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
  const names = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
  const score = new Map(slots.map((s) => [`${String(s.weekday).toLowerCase().slice(0, 3)}-${s.hour}`, s]));
  // Default times (no history yet) all score 0: shown at one middling shade.
  const max = Math.max(0, ...slots.map((s) => s.score));
  return tableWrap('Best times heat map', h('table', { class: 'heat' },
    h('caption', { class: 'hint' }, `Engagement per post by weekday and hour (${tz}); darker is better.`),
    h('thead', {}, h('tr', {}, h('td', {}), Array.from({ length: 24 }, (_, hr) => h('th', { scope: 'col' }, hr % 3 === 0 ? String(hr) : h('span', { class: 'visually-hidden' }, String(hr)))))),
    h('tbody', {}, days.map((d, i) => h('tr', {}, h('th', { scope: 'row' }, names[i]),
      Array.from({ length: 24 }, (_, hr) => {
        const s = score.get(`${d}-${hr}`);
        const td = h('td', { title: s ? `${names[i]} ${hr}:00 — score ${s.score}` : `${names[i]} ${hr}:00 — no data` },
          h('span', { class: 'visually-hidden' }, s ? `score ${s.score}` : 'none'));
        const a = s ? (max > 0 ? 0.15 + 0.85 * (s.score / max) : 0.6) : 0;
        td.style.background = s ? `rgba(27, 79, 156, ${a.toFixed(2)})` : '#eef0f4';
        return td;
      }))))));
}
