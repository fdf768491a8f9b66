// The calendar: a month or a week of the workspace's posts in its time zone, coloured by
// network and marked by status; a post dragged to another day (or hour, in the week) is
// rescheduled through the API, and a refusal is shown in the cell it was dropped on. The
// keyboard way is the post's dialog (Enter on a post), whose date-time field moves it.

import { all, get, post as apiPost, workspace } from './api.js';
import { h, errorBox, announce } from './dom.js';
import { parts, wallToUtc, addDays, weekdayOf, dateKey, timeText, iso, pad, MONTHS, DAYS, longDate } from './time.js';
import { platformsOf, openPost, STATUS_NAMES, NETWORK_NAMES, NETWORKS } from './posts.js';

const state = { mode: 'month', anchor: null };

export async function render(root, params) {
  const ws = await workspace(true);
  const tz = ws.timezone || 'UTC';
  const [mode, date] = params;
  if (mode === 'week' || mode === 'month') state.mode = mode;
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date || '');
  if (m) state.anchor = { y: +m[1], m: +m[2], d: +m[3] };
  if (!state.anchor) state.anchor = parts(Date.now(), tz);
  await draw(root, tz);
}

function windowOf(tz) {
  const a = state.anchor;
  let first;
  let days;
  if (state.mode === 'month') {
    const one = { y: a.y, m: a.m, d: 1 };
    first = addDays(one, -weekdayOf(one));
    const next = a.m === 12 ? { y: a.y + 1, m: 1, d: 1 } : { y: a.y, m: a.m + 1, d: 1 };
    const last = addDays(next, -1);
    const end = addDays(last, 6 - weekdayOf(last));
    days = Math.round((Date.UTC(end.y, end.m - 1, end.d) - Date.UTC(first.y, first.m - 1, first.d)) / 864e5) + 1;
  } else {
    first = addDays(a, -weekdayOf(a));
    days = 7;
  }
  const list = Array.from({ length: days }, (_, i) => addDays(first, i));
  const end = addDays(first, days);
  return { list, from: wallToUtc(first.y, first.m, first.d, 0, 0, tz), to: wallToUtc(end.y, end.m, end.d, 0, 0, tz) };
}

function title(list) {
  const a = state.anchor;
  if (state.mode === 'month') return `${MONTHS[a.m - 1]} ${a.y}`;
  const f = list[0];
  const l = list[list.length - 1];
  return `Week of ${f.d} ${MONTHS[f.m - 1].slice(0, 3)} – ${l.d} ${MONTHS[l.m - 1].slice(0, 3)} ${l.y}`;
}

function shift(dir) {
  const a = state.anchor;
  if (state.mode === 'month') {
    const m0 = a.m - 1 + dir;
    state.anchor = { y: a.y + Math.floor(m0 / 12), m: ((m0 % 12) + 12) % 12 + 1, d: 1 };
  } else {
    state.anchor = addDays(a, 7 * dir);
  }
}

async function draw(root, tz) {
  const { list, from, to } = windowOf(tz);
  const [posts, mix] = await Promise.all([
    all(`/v1/posts?from=${iso(from)}&to=${iso(to)}`),
    get(`/v1/metrics/content-mix?from=${iso(from)}&to=${iso(to)}`).catch(() => null),
  ]);
  const redraw = () => draw(root, tz).catch((e) => root.append(errorBox(e)));
  const nav = (fn) => () => { fn(); syncHash(); };
  const toggle = (mode, label) => h('button', {
    type: 'button', 'aria-pressed': String(state.mode === mode),
    onclick: nav(() => { state.mode = mode; }),
  }, label);

  const byDay = new Map();
  for (const p of posts) {
    if (!p.scheduled_at) continue;
    const t = Date.parse(p.scheduled_at);
    const key = dateKey(parts(t, tz));
    if (!byDay.has(key)) byDay.set(key, []);
    byDay.get(key).push(p);
  }
  for (const l of byDay.values()) l.sort((a, b) => Date.parse(a.scheduled_at) - Date.parse(b.scheduled_at));

  const today = dateKey(parts(Date.now(), tz));
  const grid = state.mode === 'month'
    ? month(list, byDay, tz, today, redraw)
    : week(list, byDay, tz, today, redraw);
  const inReview = posts.filter((p) => p.status === 'in_review').length;

  root.replaceChildren(
    h('div', { class: 'view-head' },
      h('h1', { id: 'view-title' }, 'Calendar'),
      h('p', { class: 'hint' }, `Times in ${tz}. Drag a post to move it; on a post, Alt+arrows move it (left and right a day, up and down an hour) and Enter opens it.`)),
    h('div', { class: 'toolbar', role: 'toolbar', 'aria-label': 'Calendar' },
      h('div', { class: 'seg' }, toggle('month', 'Month'), toggle('week', 'Week')),
      h('div', { class: 'seg' },
        h('button', { type: 'button', onclick: nav(() => shift(-1)), 'aria-label': `Previous ${state.mode}` }, '‹'),
        h('button', { type: 'button', onclick: nav(() => { state.anchor = parts(Date.now(), tz); }) }, 'Today'),
        h('button', { type: 'button', onclick: nav(() => shift(1)), 'aria-label': `Next ${state.mode}` }, '›')),
      h('h2', { class: 'cal-title', 'aria-live': 'polite' }, title(list))),
    mixBar(mix, inReview),
    legend(posts),
    grid,
  );
}

function syncHash() {
  const a = state.anchor;
  location.hash = `#/calendar/${state.mode}/${a.y}-${pad(a.m)}-${pad(a.d)}`;
}

function mixBar(mix, inReview) {
  const box = h('div', { class: 'mix', role: 'group', 'aria-label': 'Content mix of the posts in view' });
  if (mix && mix.social + mix.promotional > 0) {
    const share = Math.round((mix.promotional_share || 0) * 100);
    const bar = h('div', { class: 'mix-bar', role: 'img', 'aria-label': `${100 - share}% social, ${share}% promotional` },
      h('span', { class: 'mix-social' }), h('span', { class: 'mix-promo' }));
    bar.lastChild.style.width = `${share}%`;
    bar.firstChild.style.width = `${100 - share}%`;
    box.append(h('span', { class: 'mix-label' }, `Mix in view: ${mix.social} social · ${mix.promotional} promotional (${share}% promotional; the 80/20 rule keeps it at most 20%)`), bar);
    if (mix.warning) box.append(h('span', { class: 'warn' }, mix.warning));
  } else if (mix) {
    box.append(h('span', { class: 'mix-label hint' }, 'Mix in view: no scheduled posts yet (the 80/20 rule: at most 20% promotional).'));
  }
  if (inReview) box.append(h('span', { class: 'badge st-in_review' }, `${inReview} in review`));
  return box;
}

function legend(posts) {
  const used = new Set(posts.flatMap(platformsOf));
  const nets = NETWORKS.filter((n) => used.has(n));
  if (!nets.length) return h('p', { class: 'hint' }, 'No posts in view yet: compose one.');
  return h('ul', { class: 'legend', 'aria-label': 'Networks' },
    nets.map((n) => h('li', {}, h('span', { class: `swatch net-bg-${n}`, 'aria-hidden': 'true' }), NETWORK_NAMES[n])));
}

function chip(p, tz, redraw) {
  const t = Date.parse(p.scheduled_at);
  const nets = platformsOf(p);
  const label = `${timeText(t, tz)} ${p.text.slice(0, 60)} (${STATUS_NAMES[p.status] || p.status}; ${nets.map((n) => NETWORK_NAMES[n]).join(', ')})`;
  const el = h('button', {
    type: 'button',
    class: `chip st-${p.status} net-${nets[0] || 'sandbox'}`,
    draggable: String(!['published', 'cancelled', 'publishing'].includes(p.status)),
    title: label,
    dataset: { post: p.id },
    onclick: () => openPost(p, tz, redraw),
    ondragstart: (e) => {
      e.dataTransfer.setData('text/plain', p.id);
      e.dataTransfer.effectAllowed = 'move';
      el.classList.add('dragging');
    },
    ondragend: () => el.classList.remove('dragging'),
    onkeydown: (e) => keyMove(e, p, tz, redraw),
  },
  h('span', { class: 'dots', 'aria-hidden': 'true' }, nets.map((n) => h('span', { class: `dot net-bg-${n}` }))),
  h('span', { class: 'chip-time' }, timeText(t, tz)),
  p.status === 'in_review' ? h('span', { class: 'review-mark', title: 'In review' }, 'Review') : null,
  h('span', { class: 'chip-text' }, p.text),
  h('span', { class: 'visually-hidden' }, ` (${STATUS_NAMES[p.status] || p.status}; ${nets.map((n) => NETWORK_NAMES[n]).join(', ')})`));
  chips.set(p.id, p);
  return el;
}

const chips = new Map();

/// Moves a post through the API; a refusal is shown in `where` (the cell it was dropped on,
/// or its own cell for a keyboard move), and the moved post keeps the focus.
async function move(p, when, where, tz, redraw, focus = false) {
  if (when === Date.parse(p.scheduled_at)) return;
  for (const old of document.querySelectorAll('.drop-error')) old.remove();
  where.classList.add('busy');
  try {
    await apiPost(`/v1/posts/${p.id}/schedule`, { scheduled_at: iso(when) });
    announce(`Moved to ${longDate(when, tz)}`);
    await redraw();
    if (focus) document.querySelector(`.chip[data-post="${p.id}"]`)?.focus();
  } catch (err) {
    where.classList.remove('busy');
    const box = errorBox(err);
    box.classList.add('drop-error');
    where.append(box);
  }
}

/// Alt+arrows on a post: a day earlier or later, or (Alt+Up/Down) an hour.
function keyMove(e, p, tz, redraw) {
  const step = { ArrowLeft: -864e5, ArrowRight: 864e5, ArrowUp: -36e5, ArrowDown: 36e5 }[e.key];
  if (!e.altKey || !step) return;
  e.preventDefault();
  const t = Date.parse(p.scheduled_at);
  const o = parts(t, tz);
  let when;
  if (Math.abs(step) === 864e5) {
    const d = addDays(o, step > 0 ? 1 : -1);
    when = wallToUtc(d.y, d.m, d.d, o.h, o.mi, tz);
  } else {
    when = t + step;
  }
  move(p, when, e.target.closest('.day, .slot') || e.target.parentElement, tz, redraw, true);
}

/// A drop target: `at(post)` is the new instant for a post dropped here.
function dropZone(el, at, tz, redraw) {
  el.addEventListener('dragover', (e) => { e.preventDefault(); e.dataTransfer.dropEffect = 'move'; el.classList.add('over'); });
  el.addEventListener('dragleave', () => el.classList.remove('over'));
  el.addEventListener('drop', async (e) => {
    e.preventDefault();
    el.classList.remove('over');
    const id = e.dataTransfer.getData('text/plain');
    const p = chips.get(id);
    if (!p) return;
    await move(p, at(p), el, tz, redraw);
  });
}

function month(list, byDay, tz, today, redraw) {
  const a = state.anchor;
  return h('div', { class: 'month' },
    DAYS.map((d) => h('div', { class: 'dow', 'aria-hidden': 'true' }, d)),
    list.map((day) => {
      const key = dateKey(day);
      const posts = byDay.get(key) || [];
      const cell = h('div', {
        class: `day${day.m !== a.m ? ' other' : ''}${key === today ? ' today' : ''}`,
        role: 'group',
        'aria-label': `${DAYS[weekdayOf(day)]} ${day.d} ${MONTHS[day.m - 1]}, ${posts.length} post${posts.length === 1 ? '' : 's'}`,
        dataset: { date: key },
      },
      h('span', { class: 'day-num', 'aria-current': key === today ? 'date' : null }, day.d),
      posts.map((p) => chip(p, tz, redraw)));
      dropZone(cell, (p) => {
        const o = parts(Date.parse(p.scheduled_at), tz);
        return wallToUtc(day.y, day.m, day.d, o.h, o.mi, tz);
      }, tz, redraw);
      return cell;
    }));
}

function week(list, byDay, tz, today, redraw) {
  const grid = h('div', { class: 'week' },
    h('div', { class: 'hour-label', 'aria-hidden': 'true' }),
    list.map((day) => h('div', { class: `dow${dateKey(day) === today ? ' today' : ''}`, 'aria-hidden': 'true' },
      `${DAYS[weekdayOf(day)]} ${day.d}`)));
  for (let hour = 0; hour < 24; hour++) {
    grid.append(h('div', { class: 'hour-label', 'aria-hidden': 'true' }, `${pad(hour)}:00`));
    for (const day of list) {
      const key = dateKey(day);
      const posts = (byDay.get(key) || []).filter((p) => parts(Date.parse(p.scheduled_at), tz).h === hour);
      const cell = h('div', {
        class: `slot${key === today ? ' today' : ''}`,
        role: 'group',
        'aria-label': `${DAYS[weekdayOf(day)]} ${day.d} ${MONTHS[day.m - 1]} ${pad(hour)}:00`,
        dataset: { date: key, hour: String(hour) },
      }, posts.map((p) => chip(p, tz, redraw)));
      dropZone(cell, (p) => {
        const o = parts(Date.parse(p.scheduled_at), tz);
        return wallToUtc(day.y, day.m, day.d, hour, o.mi, tz);
      }, tz, redraw);
      grid.append(cell);
    }
  }
  return grid;
}
