// What the calendar and the composer say about a post: its networks' colours, its status in
// words, and the details dialog with every action on one post (the keyboard's way to move
// it, too).

import { api, post as apiPost } from './api.js';
import { h, append, errorBox, announce, field } from './dom.js';
import { longDate, toLocalInput, fromLocalInput, iso } from './time.js';

export const NETWORKS = ['sandbox', 'x', 'linkedin', 'facebook', 'instagram', 'pinterest', 'tiktok',
  'threads', 'mastodon', 'bluesky'];

export const NETWORK_NAMES = {
  sandbox: 'Sandbox', x: 'X', linkedin: 'LinkedIn', facebook: 'Facebook', instagram: 'Instagram',
  pinterest: 'Pinterest', tiktok: 'TikTok', threads: 'Threads', mastodon: 'Mastodon', bluesky: 'Bluesky',
};

export const STATUS_NAMES = {
  draft: 'Draft', in_review: 'In review', scheduled: 'Scheduled', publishing: 'Publishing',
  published: 'Published', partially_published: 'Partly published', failed: 'Failed',
  cancelled: 'Cancelled',
};

export const platformsOf = (p) => [...new Set((p.targets || []).map((t) => t.platform))];

export function netBadge(platform) {
  return h('span', { class: `net net-${platform}` }, NETWORK_NAMES[platform] || platform);
}

export function statusBadge(status) {
  return h('span', { class: `badge st-${status}` }, STATUS_NAMES[status] || status);
}

/// The dialog of one post: details, move (a date-time field), publish now, approve or send
/// back, cancel. `onChange` is called after any change succeeded.
export function openPost(post, tz, onChange) {
  const dlg = h('dialog', { class: 'post-dialog', 'aria-labelledby': 'dlg-title' });
  const errors = h('div', { class: 'dlg-errors' });
  const fail = (e) => { errors.replaceChildren(errorBox(e)); };
  const done = async (what, p) => {
    announce(what);
    dlg.close();
    await onChange(p);
  };
  const act = (label, fn, cls = '') => h('button', {
    type: 'button', class: cls,
    onclick: async (ev) => {
      ev.target.disabled = true;
      errors.replaceChildren();
      try { await fn(); } catch (e) { fail(e); } finally { ev.target.disabled = false; }
    },
  }, label);

  const when = h('input', { type: 'datetime-local', required: true,
    value: post.scheduled_at ? toLocalInput(Date.parse(post.scheduled_at), tz) : '' });
  const move = h('form', {
    class: 'row',
    onsubmit: async (ev) => {
      ev.preventDefault();
      errors.replaceChildren();
      const at = fromLocalInput(when.value, tz);
      if (at === null) { fail(new Error('Pick a date and a time.')); return; }
      try {
        const p = await apiPost(`/v1/posts/${post.id}/schedule`, { scheduled_at: iso(at) });
        await done(`Moved to ${longDate(at, tz)}`, p);
      } catch (e) { fail(e); }
    },
  }, field(`New date and time (${tz})`, when), h('button', { type: 'submit' }, 'Move'));

  const comment = h('textarea', { rows: 2 });
  const newText = h('textarea', { rows: 3 });
  newText.value = post.text;
  const edit = h('form', {
    onsubmit: async (ev) => {
      ev.preventDefault();
      errors.replaceChildren();
      try {
        const p = await api('PATCH', `/v1/posts/${post.id}`, { text: newText.value });
        await done('Text saved', p);
      } catch (e) { fail(e); }
    },
  }, field('Edit text', newText), h('button', { type: 'submit' }, 'Save text'));
  const actions = h('div', { class: 'actions' });
  const open = !['published', 'cancelled', 'publishing', 'partially_published', 'failed'].includes(post.status);
  if (open) {
    actions.append(act('Publish now', async () => {
      const p = await apiPost(`/v1/posts/${post.id}/publish`);
      await done('Publishing now', p);
    }));
  }
  if (post.status === 'in_review') {
    actions.append(act('Approve', async () => {
      const p = await apiPost(`/v1/posts/${post.id}/approve`);
      await done('Approved', p);
    }));
  }
  if (open) {
    actions.append(act('Cancel post', async () => {
      await api('DELETE', `/v1/posts/${post.id}`);
      await done('Post cancelled', null);
    }, 'danger'));
  }
  actions.append(h('button', { type: 'button', class: 'quiet', onclick: () => dlg.close() }, 'Close'));

  append(dlg, [
    h('h2', { id: 'dlg-title' }, 'Post'),
    h('p', { class: 'meta' }, statusBadge(post.status), ' ', platformsOf(post).map(netBadge),
      post.kind === 'promotional' ? h('span', { class: 'badge promo' }, 'Promotional') : null),
    h('p', { class: 'post-text' }, post.text),
    post.scheduled_at ? h('p', {}, 'Scheduled for ', h('time', { datetime: post.scheduled_at }, longDate(Date.parse(post.scheduled_at), tz))) : null,
    post.tags && post.tags.length ? h('p', { class: 'tags' }, post.tags.map((t) => h('span', { class: 'tag' }, `#${t}`))) : null,
    h('ul', { class: 'targets' }, (post.targets || []).map((t) => h('li', {},
      netBadge(t.platform), ' ', STATUS_NAMES[t.status] || t.status,
      t.url ? [' · ', h('a', { href: t.url, rel: 'noopener noreferrer', target: '_blank' }, 'view')] : null,
      t.error ? h('span', { class: 'error-text' }, ` · ${t.error}`) : null))),
    (post.comments || []).length ? h('div', { class: 'comments' }, h('h3', {}, 'Comments'),
      post.comments.map((c) => h('p', {}, h('strong', {}, actorName(c.by)), ': ', c.text))) : null,
    open ? move : null,
    open ? h('details', { class: 'edit' }, h('summary', {}, 'Edit the text'), edit) : null,
    post.status === 'in_review' ? h('form', {
      class: 'row',
      onsubmit: async (ev) => {
        ev.preventDefault();
        try {
          const p = await apiPost(`/v1/posts/${post.id}/request-changes`, { comment: comment.value });
          await done('Sent back with your comment', p);
        } catch (e) { fail(e); }
      },
    }, field('Comment for the author', comment), h('button', { type: 'submit' }, 'Request changes')) : null,
    errors,
    actions,
  ]);
  dlg.addEventListener('close', () => dlg.remove());
  document.body.append(dlg);
  dlg.showModal();
  return dlg;
}

export function actorName(by) {
  if (!by) return 'Someone';
  if (typeof by === 'string') return by;
  return by.name || by.member || by.kind || by.type || 'Someone';
}
