// The inbox: comments and mentions, unanswered first and the most negative of those first;
// each answered inline, assigned to a member or dismissed; response times over 30 days.

import { all, get, post as apiPost, members, workspace, accounts } from './api.js';
import { h, append, field, errorBox, announce, uid } from './dom.js';
import { netBadge } from './posts.js';
import { longDate, duration, iso } from './time.js';

const order = { unanswered: 0, answered: 1, dismissed: 2 };

export async function render(root) {
  const now = Date.now();
  const [ws, items, team, accts, summary] = await Promise.all([
    workspace(true), all('/v1/inbox'), members(), accounts(),
    get(`/v1/metrics/summary?from=${iso(now - 30 * 864e5)}&to=${iso(now)}`).catch(() => null),
  ]);
  const tz = ws.timezone || 'UTC';
  const handle = new Map(accts.map((a) => [a.id, a.handle]));
  items.sort((a, b) => (order[a.status] ?? 3) - (order[b.status] ?? 3)
    || (a.sentiment ?? 0) - (b.sentiment ?? 0)
    || Date.parse(a.received_at) - Date.parse(b.received_at));
  const open = items.filter((i) => i.status === 'unanswered').length;
  const refresh = () => render(root);

  root.replaceChildren(
    h('div', { class: 'view-head' }, h('h1', { id: 'view-title' }, 'Inbox'),
      h('p', { class: 'hint' }, `${open} unanswered of ${items.length}. Unanswered and negative first.`)),
    h('ul', { class: 'figures', 'aria-label': 'Response times, last 30 days' },
      h('li', {}, 'Median first response', h('strong', {}, duration(summary?.response_time_p50_s))),
      h('li', {}, '90th percentile', h('strong', {}, duration(summary?.response_time_p90_s))),
      h('li', {}, 'Answered', h('strong', {}, summary?.answered_share == null ? '—' : `${Math.round(summary.answered_share * 100)}%`)),
      h('li', {}, 'Received', h('strong', {}, summary ? String(summary.inbox_items) : '—'))),
    items.length
      ? h('ul', { class: 'inbox-list' }, items.map((it) => item(it, tz, team, handle, refresh)))
      : h('p', {}, 'Nothing in the inbox yet. Comments and mentions on your posts land here.'),
  );
}

function sentimentOf(s) {
  if (s <= -0.05) return h('span', { class: 'sentiment-neg' }, 'Negative');
  if (s >= 0.05) return h('span', { class: 'sentiment-pos' }, 'Positive');
  return h('span', { class: 'hint' }, 'Neutral');
}

function item(it, tz, team, handle, refresh) {
  const errors = h('div');
  const fail = (e) => errors.replaceChildren(errorBox(e));
  const title = uid('inb');
  const li = h('li', {
    class: `inbox-item${it.sentiment <= -0.05 ? ' negative' : ''}${it.status !== 'unanswered' ? ' done' : ''}`,
    'aria-labelledby': title,
  });
  const reply = h('textarea', { rows: 2, required: true });
  const form = h('form', {
    onsubmit: async (e) => {
      e.preventDefault();
      errors.replaceChildren();
      try {
        await apiPost(`/v1/inbox/${it.id}/reply`, { text: reply.value });
        announce(`Replied to ${it.author}`);
        await refresh();
      } catch (err) { fail(err); }
    },
  }, field(`Reply to ${it.author}`, reply), h('button', { type: 'submit' }, 'Send reply'));
  const assign = h('select', {
    onchange: async () => {
      errors.replaceChildren();
      try {
        await apiPost(`/v1/inbox/${it.id}/assign`, { assignee: assign.value || null });
        announce(assign.value ? 'Assigned' : 'Unassigned');
      } catch (err) { fail(err); }
    },
  }, h('option', { value: '' }, 'Nobody'), team.map((m) => h('option', { value: m.id, selected: m.id === it.assignee }, `${m.name} (${m.role})`)));
  append(li, [
    h('h2', { id: title }, it.author, ' ', h('span', { class: 'hint' }, `on ${handle.get(it.account) || it.account}`)),
    h('p', { class: 'meta' }, netBadge(it.platform), ' ', it.kind || 'comment', ' · ', sentimentOf(it.sentiment ?? 0), ' · ',
      h('time', { datetime: it.received_at }, longDate(Date.parse(it.received_at), tz)),
      it.status === 'answered' ? ` · answered${it.response_seconds != null ? ` in ${duration(it.response_seconds)}` : ''}` : '',
      it.status === 'dismissed' ? ' · dismissed' : ''),
    h('p', { class: 'post-text' }, it.text),
    it.status === 'unanswered' ? form : null,
    h('div', { class: 'row' },
      team.length ? field('Assign to', assign) : null,
      it.status === 'unanswered' ? h('button', {
        type: 'button', class: 'quiet',
        onclick: async () => {
          try { await apiPost(`/v1/inbox/${it.id}/dismiss`); announce('Dismissed'); await refresh(); } catch (err) { fail(err); }
        },
      }, 'Dismiss') : null),
    errors,
  ]);
  return li;
}
