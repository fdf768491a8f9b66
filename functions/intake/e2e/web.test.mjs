// The web app end to end, in Debian's headless Chromium (playwright-core) against a real
// `herald serve`: sign in, schedule from the composer and find it on the calendar, drag it
// (and read the new time back from the API), a drop the API refuses shown where it was
// dropped, the keyboard way to move it, publish now, answer an injected comment, analytics,
// settings, and 390 px wide with nothing overflowing. axe-core runs on every page: no
// serious or critical violation. Screenshots go to target/web-e2e/.
//   cd functions/intake/e2e && npm ci && node --test web.test.mjs

import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startHerald, workspace, ARTEFACTS, CHROMIUM, ADMIN } from './herald.mjs';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

// A zone where it is early afternoon now, so that "today 06:00" is past and "today 18:00" to
// come whenever the test runs, and the calendar's zone is not the machine's.
const ZONES = ['Pacific/Pago_Pago', 'Pacific/Honolulu', 'America/Anchorage', 'America/Los_Angeles',
  'America/Denver', 'America/Chicago', 'America/New_York', 'America/Halifax', 'America/Sao_Paulo',
  'Atlantic/South_Georgia', 'Atlantic/Azores', 'Europe/London', 'Europe/Berlin', 'Europe/Athens',
  'Europe/Moscow', 'Asia/Dubai', 'Asia/Karachi', 'Asia/Dhaka', 'Asia/Bangkok', 'Asia/Shanghai',
  'Asia/Tokyo', 'Australia/Brisbane', 'Pacific/Noumea', 'Pacific/Auckland'];

function wall(ms, tz) {
  const p = Object.fromEntries(new Intl.DateTimeFormat('en-CA', {
    timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
  }).formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  return { date: `${p.year}-${p.month}-${p.day}`, time: `${p.hour}:${p.minute}`, hour: +p.hour };
}

const TZ = ZONES.map((z) => [z, Math.abs(wall(Date.now(), z).hour - 13)]).sort((a, b) => a[1] - b[1])[0][0];

let herald;
let ws;
let browser;
let page;
const problems = [];

async function axe(name) {
  await page.evaluate(AXE);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`), [],
    `axe-core on ${name}`);
}

async function shot(name) {
  // A value the page failed to read must not show as a word.
  const text = await page.evaluate(() => document.body.innerText);
  assert.doesNotMatch(text, /\b(null|undefined|NaN)\b|\[object /, `${name} shows a missing value`);
  await page.screenshot({ path: join(ARTEFACTS, `${name}.png`), fullPage: true });
}

async function go(hash) {
  await page.evaluate((h) => {
    document.getElementById('view').dataset.ready = '0';
    if (location.hash === h) window.dispatchEvent(new HashChangeEvent('hashchange'));
    else location.hash = h;
  }, hash);
  await page.locator('#view[data-ready="1"]').waitFor();
}

const postsOf = async () => (await herald.call('GET', `/v1/posts?from=${new Date(Date.now() - 40 * 864e5).toISOString()}&to=${new Date(Date.now() + 40 * 864e5).toISOString()}`, ws.key)).items;
const byText = async (text) => (await postsOf()).find((p) => p.text === text);

async function eventually(what, fn, ms = 10000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  rmSync(ARTEFACTS, { recursive: true, force: true });
  herald = await startHerald({ HERALD_LINKEDIN_CLIENT_ID: 'e2e-client', HERALD_LINKEDIN_CLIENT_SECRET: 'e2e-secret' });
  ws = await workspace(herald);
  await herald.call('PATCH', '/v1/workspace', ws.key, { timezone: TZ });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    // A refused request is logged by Chromium itself; the app shows those (tested below).
    if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of (4\d\d)/.test(m.text())) {
      problems.push(`console: ${m.text()}`);
    }
  });
  await page.goto(herald.base + '/');
});

// Each test leaves the page as it ended (a failing one: as it failed), for the artefacts.
afterEach(async (t) => {
  if (page) await page.screenshot({ path: join(ARTEFACTS, `after-${t.name.slice(0, 40).replace(/[^a-z0-9]+/gi, '-')}.png`), fullPage: true }).catch(() => {});
});

after(async () => {
  await browser?.close();
  herald?.stop();
});

const today = () => wall(Date.now(), TZ).date;

test('sign in refuses a wrong key, keeps the right one in this tab only, and signs out', async () => {
  await axe('sign-in');
  await shot('sign-in');
  await page.getByLabel('API key').fill('not-a-key-at-all');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'not accepted' }).waitFor();
  await page.getByLabel('API key').fill(ADMIN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'acts in no workspace' }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('herald.key')), null, 'a refused key is not kept');
  await page.getByLabel('API key').fill(ws.key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Calendar', level: 1 }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('herald.key')), ws.key);
  assert.equal(await page.evaluate(() => localStorage.length), 0, 'the key is in sessionStorage only');
  assert.match(await page.locator('.hint').first().innerText(), new RegExp(TZ.replace('/', '\\/')));
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('API key').waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('herald.key')), null);
  assert.equal(await page.getByRole('link', { name: 'Compose' }).isVisible(), false);
  await page.getByLabel('API key').fill(ws.key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Calendar', level: 1 }).waitFor();
  await axe('calendar (empty)');
});

const TEXT = 'Spring launch: our new planner is out 👨‍👩‍👧‍👦 https://example.com/launch';

test('the composer counts as the server counts, shows its refusal, and schedules a post the calendar shows', async () => {
  await page.getByRole('link', { name: 'Compose' }).click();
  await page.getByLabel('Post text').waitFor();
  await page.getByLabel('acme').check();
  // Over the sandbox's 5,000: the counter says so, and Schedule shows the API's refusal.
  await page.getByLabel('Post text').fill('x'.repeat(5001));
  await page.locator('.counters li.over').filter({ hasText: '5001 / 5000' }).waitFor();
  await page.getByLabel(`Date and time (${TZ})`).fill(`${today()}T18:00`);
  await page.getByRole('button', { name: 'Schedule' }).click();
  await page.locator('.result [role=alert]').filter({ hasText: 'the limit is 5000' }).waitFor();
  assert.equal((await postsOf()).length, 0, 'a refused post is not written');

  await page.getByLabel('Post text').fill(TEXT);
  // The sandbox counts Unicode scalar values: the family emoji is 7 of them.
  const expected = [...TEXT].length;
  await page.locator('.counters li').filter({ hasText: `${expected} / 5000` }).waitFor();
  // A variant's text is what its network counts and previews; emptied, the main text again.
  await page.getByLabel('Text for Sandbox (optional)').fill('Short one');
  await page.locator('.counters li').filter({ hasText: '9 / 5000' }).waitFor();
  await page.locator('.preview').filter({ hasText: 'Short one' }).waitFor();
  await page.getByLabel('Text for Sandbox (optional)').fill('');
  await page.locator('.counters li').filter({ hasText: `${expected} / 5000` }).waitFor();
  await page.getByLabel('Tags').fill('launch, spring');
  await page.locator('.preview').filter({ hasText: 'Spring launch' }).waitFor();
  await axe('composer');
  await shot('composer');
  await page.getByRole('button', { name: 'Schedule' }).click();
  await page.locator('.result .ok').filter({ hasText: 'Scheduled for' }).waitFor();
  const p = await byText(TEXT);
  assert.ok(p, 'the post exists');
  assert.equal(p.status, 'scheduled');
  assert.deepEqual(p.tags, ['launch', 'spring']);
  assert.deepEqual(wall(Date.parse(p.scheduled_at), TZ), { date: today(), time: '18:00', hour: 18 }, `18:00 in ${TZ}`);

  await page.getByRole('link', { name: 'See it in the calendar' }).click();
  const chip = page.locator(`.day[data-date="${today()}"] .chip`).filter({ hasText: 'Spring launch' });
  await chip.waitFor();
  assert.match(await chip.innerText(), /18:00/);
});

test('dragging a post reschedules it through the API; a drop in the past is refused in that cell', async () => {
  const before = await byText(TEXT);
  // Tall enough for the whole week: a drag does not scroll the page on its way.
  await page.setViewportSize({ width: 1280, height: 1400 });
  await go(`#/calendar/week/${today()}`);
  const chip = () => page.locator('.chip').filter({ hasText: 'Spring launch' });
  await chip().waitFor();
  await chip().dragTo(page.locator(`.slot[data-date="${today()}"][data-hour="20"]`));
  await page.locator(`.slot[data-date="${today()}"][data-hour="20"] .chip`).waitFor();
  let p = await byText(TEXT);
  assert.deepEqual(wall(Date.parse(p.scheduled_at), TZ), { date: today(), time: '20:00', hour: 20 });

  // 06:00 today has passed: the API refuses, and its detail is shown in the slot.
  const past = page.locator(`.slot[data-date="${today()}"][data-hour="6"]`);
  await chip().dragTo(past);
  const err = past.locator('[role=alert]');
  await err.waitFor();
  assert.ok((await err.innerText()).length > 10, 'the problem detail is shown');
  await shot('calendar-week-refused-drop');
  p = await byText(TEXT);
  assert.deepEqual(wall(Date.parse(p.scheduled_at), TZ).time, '20:00', 'nothing moved');
  assert.notEqual(before.scheduled_at, p.scheduled_at);

  // The month view: to another day, keeping the time of day (any later day in view).
  await go(`#/calendar/month/${today()}`);
  const later = await page.locator('.day[data-date]').evaluateAll((cells, t) => cells.map((c) => c.dataset.date).filter((d) => d > t), today());
  if (later.length) {
    await chip().dragTo(page.locator(`.day[data-date="${later[0]}"]`));
    await page.locator(`.day[data-date="${later[0]}"] .chip`).filter({ hasText: 'Spring launch' }).waitFor();
    p = await byText(TEXT);
    assert.deepEqual(wall(Date.parse(p.scheduled_at), TZ), { date: later[0], time: '20:00', hour: 20 });
  } else {
    console.log('# today is the last day in the month grid: no later day to drop on');
  }

  // The keyboard: Alt+Down moves the post an hour later, and it keeps the focus.
  await go(`#/calendar/month/${today()}`);
  const at0 = Date.parse((await byText(TEXT)).scheduled_at);
  await chip().focus();
  await page.keyboard.press('Alt+ArrowDown');
  await eventually('the keyboard move', async () => Date.parse((await byText(TEXT)).scheduled_at) === at0 + 3600e3);
  await eventually('the focus kept', async () => page.evaluate(() => document.activeElement?.classList.contains('chip')));
  // Enter on the post opens its dialog, whose date-time field moves it.
  await chip().focus();
  await page.keyboard.press('Enter');
  const dlg = page.getByRole('dialog');
  await dlg.waitFor();
  await axe('post dialog');
  await shot('post-dialog');
  const target = new Date(Date.now() + 2 * 864e5);
  const d2 = wall(target.getTime(), TZ).date;
  await dlg.getByLabel(`New date and time (${TZ})`).fill(`${d2}T19:30`);
  await dlg.getByLabel(`New date and time (${TZ})`).press('Enter');
  await dlg.waitFor({ state: 'detached' });
  p = await eventually('the move', async () => { const x = await byText(TEXT); return wall(Date.parse(x.scheduled_at), TZ).time === '19:30' && x; });
  assert.equal(wall(Date.parse(p.scheduled_at), TZ).date, d2);
  await go(`#/calendar/month/${d2}`);
  await page.locator(`.day[data-date="${d2}"] .chip`).filter({ hasText: 'Spring launch' }).waitFor();
  // Editing the text from the dialog; a text over the limit is refused there.
  await chip().click();
  await dlg.getByText('Edit the text').click();
  await dlg.getByLabel('Edit text').fill('y'.repeat(5001));
  await dlg.getByRole('button', { name: 'Save text' }).click();
  await dlg.getByRole('alert').filter({ hasText: 'limit is 5000' }).waitFor();
  await dlg.getByLabel('Edit text').fill(`${TEXT} (updated)`);
  await dlg.getByRole('button', { name: 'Save text' }).click();
  await dlg.waitFor({ state: 'detached' });
  assert.equal((await postsOf()).filter((x) => x.text === `${TEXT} (updated)`).length, 1);
  await herald.call('PATCH', `/v1/posts/${p.id}`, ws.key, { text: TEXT });
  await go(`#/calendar/month/${d2}`);
  await axe('calendar (month)');
  await shot('calendar-month');
  await go(`#/calendar/week/${d2}`);
  await shot('calendar-week');
  await page.setViewportSize({ width: 1280, height: 900 });
});

const NOW = 'Flash sale ends tonight';

test('publish now sends the post to the sandbox network at once', async () => {
  await go('#/compose');
  await page.getByLabel('Post text').fill(NOW);
  await page.getByLabel('acme').check();
  await page.getByLabel('Kind').selectOption('promotional');
  await page.getByLabel('Tags').fill('sale');
  await page.getByRole('button', { name: 'Publish now' }).click();
  await page.locator('.result .ok').filter({ hasText: 'Publishing now' }).waitFor();
  const out = await eventually('the sandbox outbox', async () => {
    const o = await herald.call('GET', `/v1/sandbox/${ws.account}/outbox`, ws.key);
    return o.items.find((i) => i.text === NOW);
  });
  assert.ok(out.remote_id);
  const p = await eventually('published', async () => { const x = await byText(NOW); return x.status === 'published' && x; });
  assert.equal(p.kind, 'promotional');
  await go(`#/calendar/month/${today()}`);
  await page.locator(`.day[data-date="${today()}"] .chip.st-published`).filter({ hasText: 'Flash sale' }).waitFor();
  // The mix of the month in view now has a promotional post.
  await page.locator('.mix').filter({ hasText: '1 promotional' }).waitFor();
});

test('a comment injected through the sandbox events knob is answered inline; negative ones come first', async () => {
  const p = await byText(NOW);
  const remote = p.targets[0].remote_id;
  await herald.call('POST', `/v1/sandbox/${ws.account}/events`, ws.key, { type: 'comment', remote_id: remote, text: 'Love it, great work!', author: '@fan' });
  await herald.call('POST', `/v1/sandbox/${ws.account}/events`, ws.key, { type: 'comment', remote_id: remote, text: 'This is terrible and broken, I hate it', author: '@angry' });
  await eventually('two inbox items', async () => (await herald.call('GET', '/v1/inbox', ws.key)).items.length === 2);
  await go('#/inbox');
  const items = page.locator('.inbox-item');
  await items.nth(1).waitFor();
  assert.match(await items.nth(0).innerText(), /@angry/, 'the negative comment is first');
  await axe('inbox');
  await shot('inbox');
  await page.getByLabel('Reply to @angry').fill('Sorry to hear that — we are on it, DM us?');
  await items.nth(0).getByRole('button', { name: 'Send reply' }).click();
  await page.locator('.inbox-item.done').filter({ hasText: '@angry' }).waitFor();
  const inbox = (await herald.call('GET', '/v1/inbox', ws.key)).items;
  const angry = inbox.find((i) => i.author === '@angry');
  assert.equal(angry.status, 'answered');
  assert.ok(angry.answered_at);
  const fan = page.locator('.inbox-item').filter({ hasText: '@fan' });
  const owner = (await herald.call('GET', '/v1/members', ws.key)).items.find((m) => m.role === 'owner');
  await fan.getByLabel('Assign to').selectOption(owner.id);
  await eventually('the assignment', async () => (await herald.call('GET', '/v1/inbox', ws.key)).items.find((i) => i.author === '@fan').assignee === owner.id);
  await fan.getByRole('button', { name: 'Dismiss' }).click();
  await page.locator('.inbox-item.done').filter({ hasText: '@fan' }).waitFor();
  assert.equal((await herald.call('GET', '/v1/inbox', ws.key)).items.find((i) => i.author === '@fan').status, 'dismissed');
  await page.locator('.figures').filter({ hasText: 'Answered' }).waitFor();
  await shot('inbox-answered');
});

test('analytics shows the series, the best-times heat map and the networks compared', async () => {
  await page.getByRole('link', { name: 'Analytics' }).click();
  await page.getByRole('heading', { name: 'Impressions per day' }).waitFor();
  await page.getByRole('heading', { name: 'Best times to post' }).waitFor();
  assert.equal(await page.locator('table.heat tbody tr').count(), 7, 'a row per weekday');
  assert.equal(await page.locator('table.heat tbody tr').first().locator('td').count(), 24, 'a cell per hour');
  const nets = page.locator('section.chart').filter({ hasText: 'Networks compared' });
  await nets.locator('tr').filter({ hasText: 'Sandbox' }).waitFor();
  // One account, one post published in the period, its two comments (the aggregator's).
  await eventually('the networks compared', async () => {
    await go('#/analytics');
    return /Sandbox\s+1\s+1\s+0\s+2\s+2\.00 per post/.test(await nets.locator('tr').filter({ hasText: 'Sandbox' }).innerText());
  });
  assert.ok(await page.locator('.chart svg[role=img]').count() >= 4);
  // The published post's tag, with the two comments it drew, once the aggregator has them.
  await eventually('the top tag', async () => {
    await go('#/analytics');
    return (await page.locator('section.chart').filter({ hasText: 'Top tags' }).locator('tr').filter({ hasText: '#sale' }).count()) === 1;
  });
  assert.match(await page.locator('.cards').innerText(), /Engagements\s+2/);
  await axe('analytics');
  await shot('analytics');
});

test('settings: members, a calendar feed link, a webhook endpoint and its log, business hours, OAuth connect', async () => {
  await go('#/settings');
  await page.getByRole('heading', { name: 'Members and roles' }).waitFor();
  await page.getByLabel('Member name').fill('Sam');
  await page.getByLabel('Role', { exact: true }).selectOption('editor');
  await page.getByRole('button', { name: 'Add member' }).click();
  await page.locator('.secret').first().waitFor();
  const members = (await herald.call('GET', '/v1/members', ws.key)).items;
  assert.ok(members.some((m) => m.name === 'Sam' && m.role === 'editor'));

  await page.getByRole('button', { name: 'Create feed link' }).click();
  const feed = await page.getByLabel('Feed link (shown only now)').inputValue();
  const ics = await fetch(feed);
  assert.equal(ics.status, 200);
  assert.match(ics.headers.get('content-type'), /text\/calendar/);
  assert.match(await ics.text(), /Spring launch/);

  await page.getByLabel('Endpoint URL').fill('https://hooks.example.com/herald');
  await page.getByRole('button', { name: 'Add endpoint' }).click();
  await page.locator('.secret').filter({ hasText: 'whsec_' }).waitFor();
  await page.getByRole('button', { name: 'Delivery log' }).click();
  await page.getByRole('heading', { name: /Deliveries to/ }).waitFor();

  await page.getByLabel('Business hours on mon').fill('09:00-17:00');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await eventually('business hours', async () => {
    const w = await herald.call('GET', '/v1/workspace', ws.key);
    return JSON.stringify(w.business_hours.mon) === JSON.stringify([['09:00', '17:00']]);
  });
  // The form, drawn again, shows what was saved.
  await eventually('the saved hours shown', async () => (await page.getByLabel('Business hours on mon').inputValue()) === '09:00-17:00');
  // An auto-reply rule, through the form.
  await page.getByRole('button', { name: 'Add a rule' }).click();
  const rule = page.locator('fieldset.rule').last();
  await rule.getByLabel('When').selectOption('keyword');
  await rule.getByLabel('Keyword').fill('price');
  await rule.getByLabel('Reply text').fill('Our price list: example.com/prices');
  await page.getByRole('button', { name: 'Save auto-replies' }).click();
  await eventually('the rule', async () => {
    const r = await herald.call('GET', '/v1/inbox/auto-replies', ws.key);
    return r.rules.length === 1 && r.rules[0].when === 'keyword' && r.rules[0].match === 'price';
  });
  await axe('settings');
  await shot('settings');

  // OAuth: the consent page the API names (intercepted: no network is reached).
  let consent = null;
  await page.route('https://www.linkedin.com/**', (r) => { consent = r.request().url(); return r.fulfill({ status: 200, contentType: 'text/html', body: '<title>consent</title>' }); });
  await page.getByLabel('Network', { exact: true }).selectOption('linkedin');
  await page.getByLabel('Handle on that network').fill('acme-corp');
  await page.getByRole('button', { name: 'Connect' }).click();
  await page.waitForURL(/linkedin\.com/);
  assert.ok(consent, 'the consent page was asked for');
  assert.match(consent, /client_id=e2e-client/);
  assert.match(consent, /state=/);
  await page.goto(herald.base + '/');
  await page.getByRole('heading', { name: 'Calendar', level: 1 }).waitFor();
});

test('a posting queue set in settings is where "Add to queue" puts a post', async () => {
  await go('#/settings');
  const days = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
  await page.getByLabel('Queue for acme', { exact: true }).fill(days.flatMap((d) => [`${d} 09:00`, `${d} 15:00`]).join(', '));
  await page.getByRole('button', { name: 'Save queue for acme' }).click();
  await page.getByText('saved: 14 slots a week').waitFor();
  // A bad slot is refused by the API, shown beside the form, and changes nothing.
  await page.getByLabel('Queue for acme', { exact: true }).fill('someday 25:00');
  await page.getByRole('button', { name: 'Save queue for acme' }).click();
  await page.locator('.queue-form [role=alert]').waitFor();
  assert.equal((await herald.call('GET', `/v1/accounts/${ws.account}/queue`, ws.key)).slots.length, 14);

  await go('#/compose');
  await page.getByLabel('Post text').fill('Queued tip of the day');
  await page.getByLabel('acme').check();
  await page.getByRole('button', { name: 'Add to queue' }).click();
  await page.locator('.result .ok').filter({ hasText: 'Scheduled for' }).waitFor();
  const p = await byText('Queued tip of the day');
  assert.equal(p.status, 'scheduled');
  assert.ok(p.queue_slot, 'it took a queue slot');
  assert.ok(['09:00', '15:00'].includes(wall(Date.parse(p.scheduled_at), TZ).time), p.scheduled_at);
  assert.ok(Date.parse(p.scheduled_at) > Date.now() && Date.parse(p.scheduled_at) < Date.now() + 864e5, 'the next free slot');
});

test('with approvals on, an editor\'s post is sent for approval, marked in review, and approved by the owner', async () => {
  await herald.call('PATCH', '/v1/workspace', ws.key, { approvals: true });
  const editor = await herald.call('POST', '/v1/members', ws.key, { name: 'Eddie', role: 'editor' });
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('API key').fill(editor.api_key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Calendar', level: 1 }).waitFor();
  await go('#/compose');
  await page.getByText('Approvals are on').waitFor();
  await page.getByLabel('Post text').fill('Needs a second pair of eyes');
  await page.getByLabel('acme').check();
  await page.getByLabel(`Date and time (${TZ})`).fill(`${today()}T21:00`);
  await page.getByRole('button', { name: 'Schedule' }).click();
  await page.locator('.result .ok').filter({ hasText: 'Sent for approval' }).waitFor();
  assert.equal((await byText('Needs a second pair of eyes')).status, 'in_review');
  await go(`#/calendar/month/${today()}`);
  const chip = page.locator('.chip.st-in_review').filter({ hasText: 'Needs a second' });
  await chip.waitFor();
  await page.locator('.mix .badge').filter({ hasText: '1 in review' }).waitFor();
  await shot('calendar-in-review');
  // An editor may not approve: the API's 403 is shown in the dialog.
  await chip.click();
  await page.getByRole('dialog').getByRole('button', { name: 'Approve' }).click();
  await page.getByRole('dialog').getByRole('alert').waitFor();
  await page.keyboard.press('Escape');
  assert.equal((await byText('Needs a second pair of eyes')).status, 'in_review');

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('API key').fill(ws.key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Calendar', level: 1 }).waitFor();
  await go(`#/calendar/month/${today()}`);
  await page.locator('.chip.st-in_review').filter({ hasText: 'Needs a second' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Approve' }).click();
  await page.locator('.chip.st-scheduled').filter({ hasText: 'Needs a second' }).waitFor();
  assert.equal((await byText('Needs a second pair of eyes')).status, 'scheduled');
  await herald.call('PATCH', '/v1/workspace', ws.key, { approvals: false });
});

test('at 390 px wide nothing overflows sideways, on every page', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  for (const [hash, name] of [['#/calendar/month/' + today(), 'calendar-month'], ['#/calendar/week/' + today(), 'calendar-week'],
    ['#/compose', 'composer'], ['#/inbox', 'inbox'], ['#/analytics', 'analytics'], ['#/settings', 'settings']]) {
    await go(hash);
    await page.waitForLoadState('networkidle');
    const { scroll, width, wide } = await page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth,
      width: window.innerWidth,
      wide: [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1
        && !e.parentElement.closest('.table-wrap') && getComputedStyle(e).position !== 'fixed').slice(0, 5).map((e) => `${e.tagName}.${e.className}[${e.getAttribute('aria-label') || ''}] right ${Math.round(e.getBoundingClientRect().right)}`),
    }));
    assert.ok(scroll <= width, `${name} at 390 px: scrollWidth ${scroll} > ${width}: ${wide.join(', ')}`);
    assert.deepEqual(wide, [], `${name}: elements past the right edge`);
    await axe(`${name} at 390 px`);
    await shot(`${name}-390`);
  }
  await page.setViewportSize({ width: 1280, height: 900 });
});

test('media: an image uploads with progress, its renditions are previewed, and the post carries it', async () => {
  await go('#/compose');
  // A real PNG, drawn by the browser itself.
  const dataUrl = await page.evaluate(() => {
    const c = document.createElement('canvas');
    c.width = 640; c.height = 480;
    const g = c.getContext('2d');
    g.fillStyle = '#1b4f9c'; g.fillRect(0, 0, 640, 480);
    g.fillStyle = '#f0b400'; g.fillRect(160, 120, 320, 240);
    return c.toDataURL('image/png');
  });
  const buffer = Buffer.from(dataUrl.split(',')[1], 'base64');
  await page.getByLabel('Post text').fill('Look at this square');
  await page.getByLabel('acme').check();
  await page.getByLabel('Media').setInputFiles({ name: 'square.png', mimeType: 'image/png', buffer });
  const item = page.locator('.media-list li').filter({ hasText: 'square.png' });
  await item.getByText('ready').waitFor({ timeout: 60000 });
  assert.equal(await item.locator('progress').getAttribute('value'), '100');
  assert.ok(await item.locator('.renditions img').count() >= 1, 'a rendition preview');
  await page.locator('.preview img').first().waitFor();
  assert.ok(await page.locator('.preview img').first().evaluate((i) => i.complete && i.naturalWidth > 0), 'the preview image loads');
  await axe('composer with media');
  await shot('composer-media');
  await page.getByLabel(`Date and time (${TZ})`).fill(`${today()}T22:00`);
  await page.getByRole('button', { name: 'Schedule' }).click();
  await page.locator('.result .ok').filter({ hasText: 'Scheduled for' }).waitFor();
  const p = await byText('Look at this square');
  assert.equal(p.media.length, 1, 'the post carries the upload');
});


test('no page error and no refused script or style (CSP) along the way', () => {
  assert.deepEqual(problems, []);
});
