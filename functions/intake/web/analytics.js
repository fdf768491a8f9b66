// Analytics: impressions, engagements and posts per day, the best weekday × hour to post,
// the tags that engage, and the networks side by side (GET /v1/metrics/networks), for a
// chosen period.

import { get, workspace } from './api.js';
import { h, field, errorBox, tableWrap } from './dom.js';
import { lineChart, barChart, heatMap } from './charts.js';
import { NETWORK_NAMES } from './posts.js';
import { iso } from './time.js';

let days = 30;

const COLOURS = { sandbox: '#5b5f66', x: '#111111', linkedin: '#0a66c2', facebook: '#1877f2', instagram: '#c13584',
  pinterest: '#bd081c', tiktok: '#00707a', threads: '#333333', mastodon: '#563acc', bluesky: '#0b6fc9' };

export async function render(root) {
  const ws = await workspace(true);
  const tz = ws.timezone || 'UTC';
  const to = Date.now();
  const from = to - days * 864e5;
  const q = `from=${iso(from)}&to=${iso(to)}`;
  const [summary, best, tags, networks] = await Promise.all([
    get(`/v1/metrics/summary?${q}`),
    get('/v1/metrics/best-times'),
    get(`/v1/metrics/top-tags?${q}`),
    get(`/v1/metrics/networks?${q}`),
  ]);
  const period = h('select', {
    onchange: () => { days = +period.value; render(root).catch((e) => root.append(errorBox(e))); },
  }, [7, 30, 90].map((d) => h('option', { value: d, selected: d === days }, `Last ${d} days`)));
  // Every day of the period, the quiet ones as zeros (the summary lists days with data).
  const byDate = new Map((summary.days || []).map((d) => [String(d.date), d]));
  const dates = [];
  for (let t = Date.parse(summary.from || iso(from)); t < Date.parse(summary.to || iso(to)) + 1; t += 864e5) {
    dates.push(new Date(t).toISOString().slice(0, 10));
  }
  for (const d of byDate.keys()) if (!dates.includes(d)) dates.push(d);
  dates.sort();
  const series = (k) => dates.map((d) => ({ label: d, value: (byDate.get(d) || {})[k] || 0 }));
  const total = (k) => summary[k] ?? 0;

  const nets = networks.items || [];
  const rate = (n) => (n.engagement_rate == null ? '—'
    : n.impressions > 0 ? `${(n.engagement_rate * 100).toFixed(1)}%` : `${n.engagement_rate.toFixed(2)} per post`);

  root.replaceChildren(
    h('div', { class: 'view-head' }, h('h1', { id: 'view-title' }, 'Analytics'), field('Period', period)),
    h('div', { class: 'cards' },
      ['impressions', 'reach', 'engagements', 'shares', 'posts'].map((k) => h('div', {}, k[0].toUpperCase() + k.slice(1), h('strong', {}, String(total(k)))))),
    h('div', { class: 'charts' },
      h('section', { class: 'chart', 'aria-labelledby': 'c-imp' }, h('h2', { id: 'c-imp' }, 'Impressions per day'), lineChart(series('impressions'), 'Impressions', '#1b4f9c')),
      h('section', { class: 'chart', 'aria-labelledby': 'c-eng' }, h('h2', { id: 'c-eng' }, 'Engagements per day'), lineChart(series('engagements'), 'Engagements', '#2e7d4f')),
      h('section', { class: 'chart', 'aria-labelledby': 'c-posts' }, h('h2', { id: 'c-posts' }, 'Posts per day'), lineChart(series('posts'), 'Posts', '#8a2c62')),
      h('section', { class: 'chart', 'aria-labelledby': 'c-net' }, h('h2', { id: 'c-net' }, 'Networks compared'),
        barChart(nets.map((n) => ({ label: NETWORK_NAMES[n.platform] || n.platform, value: n.engagements || 0, colour: COLOURS[n.platform] })), 'Engagements per network'),
        nets.length ? tableWrap('Networks compared', h('table', {},
          h('thead', {}, h('tr', {}, ['Network', 'Accounts', 'Posts', 'Impressions', 'Engagements', 'Rate'].map((c) => h('th', { scope: 'col' }, c)))),
          h('tbody', {}, nets.map((n) => h('tr', {}, h('td', {}, NETWORK_NAMES[n.platform] || n.platform), h('td', {}, String(n.accounts)),
            h('td', {}, String(n.posts || 0)), h('td', {}, String(n.impressions || 0)), h('td', {}, String(n.engagements || 0)), h('td', {}, rate(n))))))) : null),
      h('section', { class: 'chart', 'aria-labelledby': 'c-best' }, h('h2', { id: 'c-best' }, 'Best times to post'),
        h('p', { class: 'hint' }, best.source === 'default' ? 'Not enough history yet: these are times that work for most audiences.' : `From your ${best.source}'s history.`),
        heatMap(best.items || [], best.timezone || tz)),
      h('section', { class: 'chart', 'aria-labelledby': 'c-tags' }, h('h2', { id: 'c-tags' }, 'Top tags'),
        (tags.items || []).length ? tableWrap('Top tags', h('table', {},
          h('thead', {}, h('tr', {}, ['Tag', 'Posts', 'Engagements', 'Rate'].map((c) => h('th', { scope: 'col' }, c)))),
          h('tbody', {}, tags.items.slice(0, 10).map((t) => h('tr', {}, h('td', {}, `#${t.tag}`), h('td', {}, String(t.posts)), h('td', {}, String(t.engagements)), h('td', {}, `${(t.engagement_rate * 100).toFixed(1)}%`))))))
          : h('p', {}, 'No tagged posts published in this period.'))),
  );
}
