// The app's shell: sign in and out, and one view per section chosen by the URL's hash
// (#/calendar, #/compose, ...), each loaded when first opened.

import { api, session, cache, ApiError } from './api.js';
import { clear, errorBox, h } from './dom.js';

const VIEWS = {
  calendar: ['./calendar.js', 'Calendar'],
  compose: ['./composer.js', 'Compose'],
  inbox: ['./inbox.js', 'Inbox'],
  analytics: ['./analytics.js', 'Analytics'],
  settings: ['./settings.js', 'Settings'],
};

const $ = (id) => document.getElementById(id);

function signedIn(on) {
  $('sign-in').hidden = on;
  $('view').hidden = !on;
  $('nav').hidden = !on;
  $('sign-out').hidden = !on;
}

async function signIn(event) {
  event.preventDefault();
  const key = $('api-key').value.trim();
  const err = $('sign-in-error');
  err.textContent = '';
  try {
    cache.workspace = await api('GET', '/v1/workspace', undefined, { key });
  } catch (e) {
    err.textContent = e instanceof ApiError && e.status === 401
      ? 'That key was not accepted. Check it and try again.'
      : e instanceof ApiError && e.status === 403
        ? 'That key acts in no workspace (the admin key?): sign in with a workspace or member key.'
        : e.message;
    $('api-key').focus();
    return;
  }
  session.key = key;
  $('api-key').value = '';
  signedIn(true);
  if (!location.hash || location.hash === '#/') location.hash = '#/calendar';
  else route();
}

function signOut() {
  session.key = null;
  cache.workspace = cache.accounts = cache.members = null;
  clear($('view'));
  signedIn(false);
  history.replaceState(null, '', location.pathname);
  $('api-key').focus();
}

let current = 0;

async function route() {
  if (!session.key) { signedIn(false); return; }
  signedIn(true);
  const [name, ...rest] = location.hash.replace(/^#\/?/, '').split('/');
  const entry = VIEWS[name] || VIEWS.calendar;
  const key = VIEWS[name] ? name : 'calendar';
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.getAttribute('href') === `#/${key}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = `${entry[1]} · Herald`;
  const view = clear($('view'));
  // Tests (and anything else) can tell a view that is drawn from one still loading.
  view.dataset.ready = '0';
  const root = h('section', { class: 'view', 'aria-labelledby': 'view-title' });
  view.append(root);
  const token = ++current;
  try {
    const mod = await import(entry[0]);
    if (token !== current) return;
    await mod.render(root, rest);
  } catch (e) {
    if (token !== current) return;
    root.append(h('h1', { id: 'view-title' }, entry[1]), errorBox(e));
  }
  view.dataset.ready = '1';
}

$('sign-in-form').addEventListener('submit', signIn);
$('sign-out').addEventListener('click', signOut);
window.addEventListener('hashchange', () => { route(); $('main').focus({ preventScroll: true }); });
window.addEventListener('herald:unauthorized', () => {
  signOut();
  $('sign-in-error').textContent = 'Your key stopped working (revoked or replaced). Sign in again.';
});

if (session.key) route();
else { signedIn(false); }
