// Settings: the workspace (time zone, business hours, approvals), accounts (a sandbox one,
// or a network through OAuth), members and their roles, webhook endpoints with their
// delivery log, calendar feed links and auto-replies. Each section loads on its own, so one
// the key's role may not read says so and the others still work.

import { api, all, get, post as apiPost, workspace, accounts, members, cache } from './api.js';
import { h, field, errorBox, announce, uid, tableWrap } from './dom.js';
import { netBadge, NETWORK_NAMES } from './posts.js';
import { longDate } from './time.js';

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const OAUTH = ['x', 'linkedin', 'facebook', 'instagram', 'threads', 'pinterest', 'tiktok'];
const EVENTS = ['post.scheduled', 'post.published', 'post.partially_published', 'post.failed', 'post.cancelled',
  'media.ready', 'media.failed', 'inbox.received', 'account.needs_reconnect', 'endpoint.disabled'];

export async function render(root) {
  const ws = await workspace(true);
  const tz = ws.timezone || 'UTC';
  const sections = [
    ['Workspace', workspaceSection],
    ['Accounts', accountsSection],
    ['Members and roles', membersSection],
    ['Webhooks', webhooksSection],
    ['Calendar feeds', feedsSection],
    ['Auto-replies', rulesSection],
  ];
  root.replaceChildren(h('div', { class: 'view-head' }, h('h1', { id: 'view-title' }, 'Settings')));
  const wrap = h('div', { class: 'settings' });
  root.append(wrap);
  await Promise.all(sections.map(async ([name, fn]) => {
    const id = uid('set');
    const sec = h('section', { 'aria-labelledby': id }, h('h2', { id }, name));
    wrap.append(sec);
    const body = h('div');
    // What is shown once (a new key, a secret, a feed link) stays through the redraw.
    const note = h('div', { class: 'note' });
    sec.append(body, note);
    const redraw = async () => {
      try { body.replaceChildren(...(await fn(ws, tz, redraw, note)).filter(Boolean)); } catch (e) { body.replaceChildren(errorBox(e)); }
    };
    await redraw();
  }));
}

/// A form whose submit runs `fn`, its errors shown inside it.
function form(children, fn, label = 'Save') {
  const errors = h('div');
  const f = h('form', {
    class: 'card',
    onsubmit: async (e) => {
      e.preventDefault();
      errors.replaceChildren();
      const b = f.querySelector('button[type=submit]');
      b.disabled = true;
      try { await fn(errors); } catch (err) { errors.replaceChildren(errorBox(err)); } finally { b.disabled = false; }
    },
  }, children, h('button', { type: 'submit' }, label), errors);
  return f;
}

function hoursText(list) {
  return (list || []).map(([a, b]) => `${a}-${b}`).join(', ');
}

function parseHours(text) {
  return text.split(',').map((s) => s.trim()).filter(Boolean).map((s) => s.split('-').map((x) => x.trim()));
}

async function workspaceSection(first, tz0, redraw) {
  // What was last saved (the PATCH answer), not what the page first read.
  const ws = cache.workspace || first;
  const tz = ws.timezone || tz0;
  const name = h('input', { type: 'text', value: ws.name, required: true });
  const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  const listId = uid('tz');
  const zone = h('input', { type: 'text', value: tz, list: listId, required: true, spellcheck: 'false' });
  const approvals = h('input', { type: 'checkbox', id: uid('appr'), checked: ws.approvals });
  const hours = DAYS.map((d) => [d, h('input', { type: 'text', value: hoursText((ws.business_hours || {})[d]), placeholder: 'closed', 'aria-label': `Business hours on ${d}` })]);
  return [form([
    field('Name', name),
    field('Time zone', zone, 'An IANA name, for example Europe/Berlin; the calendar shows this zone.'),
    h('datalist', { id: listId }, zones.map((z) => h('option', { value: z }))),
    h('div', { class: 'check' }, approvals, h('label', { for: approvals.id }, 'Approvals: what an editor schedules waits for a manager')),
    h('fieldset', {}, h('legend', {}, 'Business hours (HH:MM-HH:MM, several joined by commas)'),
      h('div', { class: 'hours' }, hours.map(([d, input]) => [h('span', { 'aria-hidden': 'true' }, d[0].toUpperCase() + d.slice(1)), input]))),
  ], async () => {
    const business_hours = {};
    for (const [d, input] of hours) business_hours[d] = parseHours(input.value);
    cache.workspace = await api('PATCH', '/v1/workspace', {
      name: name.value, timezone: zone.value.trim(), approvals: approvals.checked, business_hours,
    });
    announce('Workspace saved');
    await redraw();
  })];
}

async function accountsSection(ws, tz, redraw) {
  const list = await accounts(true);
  const handle = h('input', { type: 'text', required: true, placeholder: 'brand' });
  const oHandle = h('input', { type: 'text', required: true, placeholder: '@brand' });
  const platform = h('select', {}, OAUTH.map((p) => h('option', { value: p }, NETWORK_NAMES[p])));
  return [
    list.length
      ? tableWrap('Accounts', h('table', {}, h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Handle'), h('th', { scope: 'col' }, 'Network'), h('th', { scope: 'col' }, 'Status'), h('th', { scope: 'col' }, 'Posting queue'))),
        h('tbody', {}, await Promise.all(list.map(async (a) => h('tr', {}, h('td', {}, a.handle), h('td', {}, netBadge(a.platform)),
          h('td', {}, a.status || 'connected'), h('td', {}, await queueForm(a, tz))))))))
      : h('p', {}, 'No accounts yet.'),
    h('div', { class: 'row stretch' },
      form([h('h3', {}, 'Connect a network (OAuth)'), field('Network', platform), field('Handle on that network', oHandle)], async () => {
        const r = await api('GET', `/v1/oauth/${platform.value}/start?handle=${encodeURIComponent(oHandle.value)}`, undefined, { headers: { Accept: 'application/json' } });
        if (r && r.authorize_url) location.assign(r.authorize_url);
      }, 'Connect'),
      form([h('h3', {}, 'Add a sandbox account'), h('p', { class: 'hint' }, 'Herald\'s test network: records what it is sent.'), field('Sandbox handle', handle)], async () => {
        await apiPost('/v1/accounts', { platform: 'sandbox', handle: handle.value });
        announce('Account added');
        await redraw();
      }, 'Add account')),
  ];
}

/// An account's posting queue as text (`mon 09:00, wed 12:30`), in the workspace's zone:
/// "Add to queue" in the composer takes its next free slot.
async function queueForm(a, tz) {
  let q = null;
  try { q = await get(`/v1/accounts/${a.id}/queue`); } catch (e) { if (e.status !== 404) return errorBox(e); }
  const input = h('input', { type: 'text', value: q ? q.slots.map((x) => `${x.weekday} ${x.time}`).join(', ') : '', placeholder: 'mon 09:00, wed 12:30' });
  const msg = h('span', { class: 'hint', role: 'status' }, q ? `in ${q.timezone}` : 'no queue yet');
  const errors = h('div');
  return h('form', {
    class: 'queue-form',
    onsubmit: async (e) => {
      e.preventDefault();
      errors.replaceChildren();
      const slots = input.value.split(',').map((x) => x.trim()).filter(Boolean).map((x) => {
        const [weekday, time] = x.split(/\s+/);
        return { weekday: (weekday || '').toLowerCase().slice(0, 3), time: time || '' };
      });
      try {
        const saved = await api('PUT', `/v1/accounts/${a.id}/queue`, { timezone: tz, slots });
        msg.textContent = `saved: ${saved.slots.length} slot${saved.slots.length === 1 ? '' : 's'} a week, in ${saved.timezone}`;
      } catch (err) { errors.replaceChildren(errorBox(err)); }
    },
  }, field(`Queue for ${a.handle}`, input, 'Weekday and time, joined by commas'), h('button', { type: 'submit', 'aria-label': `Save queue for ${a.handle}` }, 'Save queue'), msg, errors);
}

async function membersSection(ws, tz, redraw, shown) {
  const list = await members(true);
  const name = h('input', { type: 'text', required: true });
  const role = h('select', {}, ['viewer', 'editor', 'manager', 'owner'].map((r) => h('option', { value: r, selected: r === 'editor' }, r)));
  return [
    list.length ? tableWrap('Members', h('table', {}, h('thead', {}, h('tr', {}, ['Name', 'Role', ''].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, list.map((m) => h('tr', {}, h('td', {}, m.name), h('td', {}, m.role), h('td', {},
        h('button', { type: 'button', class: 'danger', onclick: async (e) => {
          try { await api('DELETE', `/v1/members/${m.id}`); announce(`${m.name} removed`); await redraw(); } catch (err) { e.target.after(errorBox(err)); }
        } }, `Remove ${m.name}`))))))) : h('p', {}, 'No members yet: the workspace key is the owner.'),
    form([h('h3', {}, 'Add a member'), h('div', { class: 'row' }, field('Member name', name), field('Role', role))], async () => {
      const m = await apiPost('/v1/members', { name: name.value, role: role.value });
      await redraw();
      announce('Member added');
      shown.replaceChildren(h('p', {}, `${m.name}'s key (shown only now): `), h('p', { class: 'secret' }, m.api_key));
    }, 'Add member'),
  ];
}

async function webhooksSection(ws, tz, redraw, shown) {
  const list = await all('/v1/webhooks/endpoints');
  const url = h('input', { type: 'url', required: true, placeholder: 'https://example.com/hooks/herald' });
  const boxes = EVENTS.map((e) => { const id = uid('ev'); return [e, h('input', { type: 'checkbox', id, value: e, checked: e.startsWith('post.') })]; });
  const log = h('div');
  return [
    list.length ? tableWrap('Webhook endpoints', h('table', {}, h('thead', {}, h('tr', {}, ['URL', 'Events', 'Status', ''].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, list.map((ep) => h('tr', {}, h('td', {}, ep.url), h('td', {}, ep.events.join(', ')), h('td', {}, ep.status || 'enabled'),
        h('td', {}, h('div', { class: 'actions' },
          h('button', { type: 'button', onclick: () => deliveries(ep, log, tz) }, 'Delivery log'),
          h('button', { type: 'button', class: 'danger', onclick: async (e) => {
            try { await api('DELETE', `/v1/webhooks/endpoints/${ep.id}`); await redraw(); } catch (err) { e.target.after(errorBox(err)); }
          } }, 'Delete')))))))) : h('p', {}, 'No webhook endpoints.'),
    log,
    form([h('h3', {}, 'Add an endpoint'), field('Endpoint URL', url),
      h('fieldset', {}, h('legend', {}, 'Events'), boxes.map(([e, b]) => h('div', { class: 'check' }, b, h('label', { for: b.id }, e))))], async () => {
      const ep = await apiPost('/v1/webhooks/endpoints', { url: url.value, events: boxes.filter(([, b]) => b.checked).map(([e]) => e) });
      await redraw();
      shown.replaceChildren(h('p', {}, 'Signing secret (shown only now):'), h('p', { class: 'secret' }, ep.secret));
    }, 'Add endpoint'),
  ];
}

async function deliveries(ep, log, tz) {
  try {
    const items = await all(`/v1/webhooks/endpoints/${ep.id}/deliveries`);
    log.replaceChildren(h('h3', {}, `Deliveries to ${ep.url}`), items.length ? tableWrap('Deliveries', h('table', {},
      h('thead', {}, h('tr', {}, ['When', 'Event', 'Attempt', 'Status', 'Response', ''].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, items.map((d) => h('tr', {}, h('td', {}, longDate(Date.parse(d.at), tz)), h('td', {}, d.event), h('td', {}, String(d.attempt)),
        h('td', {}, d.status), h('td', {}, d.response_code != null ? String(d.response_code) : '—'),
        h('td', {}, h('button', { type: 'button', onclick: async (e) => {
          try { await apiPost(`/v1/webhooks/deliveries/${d.id}/redeliver`); announce('Redelivery queued'); e.target.textContent = 'Queued'; } catch (err) { e.target.after(errorBox(err)); }
        } }, 'Redeliver'))))))) : h('p', {}, 'No deliveries yet.'));
  } catch (e) { log.replaceChildren(errorBox(e)); }
}

async function feedsSection(ws, tz, redraw, shown) {
  const list = await all('/v1/calendar/feeds');
  return [
    h('p', { class: 'hint' }, 'A secret address calendar apps subscribe to (ICS). Anyone with the link sees the posts; revoke it to stop that.'),
    list.length ? h('ul', {}, list.map((f) => h('li', {}, `Feed created ${f.created_at ? longDate(Date.parse(f.created_at), tz) : ''} `,
      h('button', { type: 'button', class: 'danger', onclick: async (e) => {
        try { await api('DELETE', `/v1/calendar/feeds/${f.id}`); await redraw(); } catch (err) { e.target.after(errorBox(err)); }
      } }, 'Revoke')))) : null,
    form([], async () => {
      const f = await apiPost('/v1/calendar/feeds');
      await redraw();
      const input = h('input', { type: 'text', readonly: true, value: f.url, class: 'secret' });
      shown.replaceChildren(field('Feed link (shown only now)', input));
      input.select();
    }, 'Create feed link'),
  ];
}

async function rulesSection(ws, tz, redraw) {
  const current = await get('/v1/inbox/auto-replies');
  const rows = h('div');
  const addRow = (r = { when: 'outside_business_hours', text: '' }) => {
    const when = h('select', {}, h('option', { value: 'outside_business_hours', selected: r.when === 'outside_business_hours' }, 'Outside business hours'),
      h('option', { value: 'keyword', selected: r.when === 'keyword' }, 'A keyword'));
    const match = h('input', { type: 'text', value: r.match || '' });
    const text = h('input', { type: 'text', value: r.text || '', required: true });
    const row = h('fieldset', { class: 'rule' }, h('legend', {}, 'Rule'), h('div', { class: 'row' }, field('When', when), field('Keyword', match), field('Reply text', text),
      h('button', { type: 'button', class: 'quiet', onclick: () => row.remove() }, 'Remove rule')));
    row.read = () => ({ when: when.value, ...(when.value === 'keyword' ? { match: match.value } : {}), text: text.value });
    rows.append(row);
  };
  for (const r of current.rules || []) addRow(r);
  return [form([
    h('p', { class: 'hint' }, 'Answers an author at most once per window (outside hours: once per closed period).'),
    rows,
    h('button', { type: 'button', class: 'quiet', onclick: () => addRow() }, 'Add a rule'),
  ], async () => {
    await api('PUT', '/v1/inbox/auto-replies', { rules: [...rows.children].map((r) => r.read()) });
    announce('Auto-replies saved');
    await redraw();
  }, 'Save auto-replies')];
}
