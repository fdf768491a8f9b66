// The composer: one text with optional per-network variants, live counters measured by the
// server (POST /v1/posts/measure, the same counters validation refuses by, so the two
// cannot disagree), accounts as checkboxes labelled by handle, media uploaded with progress,
// a preview per network, and schedule, queue, publish now or save as a draft.

import { accounts, workspace, post as apiPost, get, upload } from './api.js';
import { h, field, errorBox, announce, debounce, uid } from './dom.js';
import { NETWORK_NAMES, netBadge, statusBadge } from './posts.js';
import { toLocalInput, fromLocalInput, iso, longDate } from './time.js';

const dims = (r) => (r.width && r.height ? ` (${r.width}×${r.height})` : '');

export async function render(root) {
  const [ws, accts] = await Promise.all([workspace(true), accounts(true)]);
  const tz = ws.timezone || 'UTC';
  const media = []; // {id, name, status, renditions}

  const text = h('textarea', { id: 'post-text', rows: 6, required: true });
  const checks = accts.map((a) => {
    const id = uid('acct');
    const box = h('input', { type: 'checkbox', id, value: a.id, dataset: { platform: a.platform } });
    return { a, box, row: h('div', { class: 'check' }, box, h('label', { for: id }, a.handle), ' ', netBadge(a.platform)) };
  });
  const variantBox = h('div', { class: 'variants' });
  const variants = new Map(); // platform -> textarea
  const counters = h('ul', { class: 'counters', 'aria-live': 'polite', 'aria-label': 'Length on each network' });
  const previews = h('div', { class: 'previews' });
  const result = h('div', { class: 'result' });
  const when = h('input', { type: 'datetime-local', value: toLocalInput(Date.now() + 3600e3 - (Date.now() % 3600e3), tz) });
  const tags = h('input', { type: 'text', placeholder: 'launch, spring' });
  const kind = h('select', {}, h('option', { value: 'social' }, 'Social'), h('option', { value: 'promotional' }, 'Promotional'));
  const file = h('input', { type: 'file', accept: 'image/*,video/*', multiple: true });
  const mediaList = h('ul', { class: 'media-list' });

  const selected = () => checks.filter((c) => c.box.checked);
  const platforms = () => [...new Set(selected().map((c) => c.a.platform))];

  function body() {
    const b = { text: text.value, accounts: selected().map((c) => c.a.id), kind: kind.value };
    const v = {};
    for (const p of platforms()) {
      const t = variants.get(p);
      if (t && t.value.trim()) v[p] = { text: t.value };
    }
    if (Object.keys(v).length) b.variants = v;
    const tagList = tags.value.split(',').map((t) => t.trim().replace(/^#/, '')).filter(Boolean);
    if (tagList.length) b.tags = tagList;
    if (media.length) b.media = media.map((m) => m.id);
    return b;
  }

  function syncVariants() {
    const ps = platforms();
    for (const [p, t] of variants) {
      if (!ps.includes(p)) { t.closest('.field').remove(); variants.delete(p); }
    }
    for (const p of ps) {
      if (variants.has(p)) continue;
      const t = h('textarea', { rows: 3, dataset: { platform: p } });
      t.addEventListener('input', changed);
      variants.set(p, t);
      variantBox.append(field(`Text for ${NETWORK_NAMES[p] || p} (optional)`, t, 'Replaces the post text on this network only.'));
    }
  }

  const measure = debounce(async () => {
    const ps = platforms();
    if (!ps.length) { counters.replaceChildren(h('li', { class: 'hint' }, 'Pick an account to see its network\'s count.')); return; }
    const v = {};
    for (const p of ps) {
      const t = variants.get(p);
      if (t && t.value) v[p] = { text: t.value };
    }
    try {
      const res = await apiPost('/v1/posts/measure', { text: text.value, platforms: ps, variants: v });
      counters.replaceChildren(...res.items.map((m) => h('li', { class: m.remaining < 0 ? 'over' : '', dataset: { platform: m.platform } },
        netBadge(m.platform), ' ', h('span', { class: 'count' }, `${m.length} / ${m.max}`),
        m.remaining < 0 ? h('span', { class: 'error-text' }, ` — ${-m.remaining} over`) : h('span', { class: 'hint' }, ` — ${m.remaining} left`))));
    } catch (e) {
      counters.replaceChildren(h('li', {}, errorBox(e)));
    }
  }, 200);

  function preview() {
    const sel = selected();
    previews.replaceChildren(...sel.map(({ a }) => {
      const t = (variants.get(a.platform) && variants.get(a.platform).value) || text.value;
      const img = media.map((m) => (m.renditions || []).find((r) => r.platform === a.platform && r.content_type.startsWith('image/'))
        || (m.renditions || []).find((r) => r.content_type.startsWith('image/'))).filter(Boolean)[0];
      return h('article', { class: `preview net-border-${a.platform}`, 'aria-label': `Preview on ${NETWORK_NAMES[a.platform]}` },
        h('header', {}, h('span', { class: `avatar net-bg-${a.platform}`, 'aria-hidden': 'true' }), h('strong', {}, a.handle), ' ', netBadge(a.platform)),
        h('p', { class: 'post-text' }, t || '…'),
        img ? h('img', { src: img.url, alt: `Attached image${dims(img)}`, width: img.width, height: img.height }) : null);
    }));
  }

  function changed() {
    syncVariants(); measure(); preview();
    // A refusal speaks of the text as it was: gone once the text changes.
    if (result.querySelector('[role=alert]')) result.replaceChildren();
  }
  text.addEventListener('input', changed);
  for (const c of checks) c.box.addEventListener('change', changed);

  file.addEventListener('change', async () => {
    for (const f of [...file.files]) addMedia(f);
    file.value = '';
  });

  async function addMedia(f) {
    const progress = h('progress', { max: 100, value: 0, 'aria-label': `Uploading ${f.name}` });
    const state = h('span', { class: 'hint' }, 'uploading…');
    const thumbs = h('div', { class: 'renditions' });
    const li = h('li', {}, h('strong', {}, f.name), ' ', progress, ' ', state, thumbs);
    mediaList.append(li);
    try {
      const up = await apiPost('/v1/media/uploads', { filename: f.name, content_type: f.type || 'application/octet-stream', size: f.size });
      await upload(up.upload_url, f, (x) => { progress.value = Math.round(x * 100); });
      state.textContent = 'processing…';
      const item = { id: up.id, name: f.name, renditions: [] };
      let m = null;
      for (let i = 0; i < 120; i++) {
        m = await get(`/v1/media/${up.id}`);
        if (m.status !== 'processing') break;
        await new Promise((r) => setTimeout(r, 500));
      }
      if (!m || m.status !== 'ready') throw new Error(m && m.error ? m.error : 'the media did not become ready');
      item.renditions = m.renditions || [];
      media.push(item);
      state.textContent = 'ready';
      thumbs.replaceChildren(...item.renditions.filter((r) => r.content_type.startsWith('image/')).slice(0, 6).map((r) => h('figure', {},
        h('img', { src: r.url, alt: `${r.profile} rendition`, loading: 'lazy', width: r.width, height: r.height }),
        h('figcaption', {}, `${r.platform ? NETWORK_NAMES[r.platform] || r.platform : r.profile}${dims(r)}`))));
      li.append(h('button', { type: 'button', class: 'quiet', onclick: () => { media.splice(media.indexOf(item), 1); li.remove(); preview(); } }, `Remove ${f.name}`));
      preview();
    } catch (e) {
      state.textContent = 'failed';
      li.append(errorBox(e));
    }
  }

  async function submit(kindOf) {
    result.replaceChildren();
    const b = body();
    try {
      let p;
      if (kindOf === 'schedule') {
        const at = fromLocalInput(when.value, tz);
        if (at === null) throw new Error('Pick a date and a time to schedule it.');
        p = await apiPost('/v1/posts', { ...b, scheduled_at: iso(at) });
      } else if (kindOf === 'queue') {
        p = await apiPost('/v1/posts', { ...b, queue: true });
      } else if (kindOf === 'draft') {
        p = await apiPost('/v1/posts', b);
      } else {
        const draft = await apiPost('/v1/posts', b);
        p = await apiPost(`/v1/posts/${draft.id}/publish`);
      }
      const what = p.status === 'in_review'
        ? 'Sent for approval: a manager approves it before it is due.'
        : kindOf === 'draft' ? 'Saved as a draft.'
          : kindOf === 'now' ? 'Publishing now.'
            : `Scheduled for ${longDate(Date.parse(p.scheduled_at), tz)}.`;
      result.replaceChildren(h('div', { class: 'ok', role: 'status' }, statusBadge(p.status), ' ', what, ' ',
        p.scheduled_at ? h('a', { href: `#/calendar/month/${toLocalInput(Date.parse(p.scheduled_at), tz).slice(0, 10)}` }, 'See it in the calendar') : null));
      announce(what);
      text.value = '';
      for (const t of variants.values()) t.value = '';
      changed();
    } catch (e) {
      const box = errorBox(e);
      box.tabIndex = -1;
      result.replaceChildren(box);
      box.focus();
    }
  }

  const btn = (label, k, cls = '') => h('button', { type: 'button', class: cls, onclick: () => submit(k) }, label);

  root.replaceChildren(
    h('div', { class: 'view-head' }, h('h1', { id: 'view-title' }, 'Compose'),
      ws.approvals ? h('p', { class: 'hint' }, 'Approvals are on: what an editor schedules is sent for approval and waits, in review, for a manager.') : null),
    h('div', { class: 'compose' },
      h('form', { class: 'card', onsubmit: (e) => { e.preventDefault(); submit('schedule'); } },
        field('Post text', text),
        h('fieldset', {}, h('legend', {}, 'Accounts'),
          checks.length ? checks.map((c) => c.row) : h('p', {}, 'No accounts yet: ', h('a', { href: '#/settings' }, 'connect one in Settings'), '.')),
        counters,
        variantBox,
        field('Media', file, 'Images or videos; each network gets a rendition it takes.'),
        mediaList,
        h('div', { class: 'row' },
          field('Tags', tags, 'Comma separated'),
          field('Kind', kind)),
        field(`Date and time (${tz})`, when),
        h('div', { class: 'actions' },
          h('button', { type: 'submit', class: 'primary' }, 'Schedule'),
          btn('Add to queue', 'queue'),
          btn('Publish now', 'now'),
          btn('Save draft', 'draft', 'quiet')),
        result),
      h('section', { class: 'preview-col', 'aria-labelledby': 'pv-title' },
        h('h2', { id: 'pv-title' }, 'Preview'), previews)),
  );
  changed();
}
