// Prints the web app's first paint: first-contentful-paint from the Performance API, in a fresh
// headless Chromium each time (nothing cached), against a local `herald serve`; and, signed
// in, how long until the calendar (with a few posts) is drawn. Figures to read, not a timed test.
//   infra/web-e2e.sh --first-paint

import { chromium } from 'playwright-core';
import { startHerald, workspace, CHROMIUM } from './herald.mjs';

const RUNS = 7;
const herald = await startHerald();
const ws = await workspace(herald);
for (let i = 0; i < 20; i++) {
  await herald.call('POST', '/v1/posts', ws.key, {
    text: `Post ${i}`, accounts: [ws.account], scheduled_at: new Date(Date.now() + (i + 1) * 3600e3).toISOString(),
  });
}

async function load(key) {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    if (key) await page.addInitScript((k) => sessionStorage.setItem('herald.key', k), key);
    await page.goto(herald.base + (key ? '/#/calendar' : '/'), { waitUntil: 'load' });
    if (key) await page.locator('#view[data-ready="1"] .month').waitFor();
    return await page.evaluate(() => new Promise((resolve) => {
      const drawn = performance.now();
      const fcp = () => performance.getEntriesByName('first-contentful-paint')[0];
      if (fcp()) return resolve({ fcp: fcp().startTime, drawn });
      new PerformanceObserver(() => { if (fcp()) resolve({ fcp: fcp().startTime, drawn }); }).observe({ type: 'paint', buffered: true });
    }));
  } finally {
    await browser.close();
  }
}

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return `median ${s[Math.floor(s.length / 2)].toFixed(0)} ms, best ${s[0].toFixed(0)} ms, worst ${s[s.length - 1].toFixed(0)} ms`;
};

try {
  const out = [];
  for (let i = 0; i < RUNS; i++) out.push(await load(null));
  const signed = [];
  for (let i = 0; i < RUNS; i++) signed.push(await load(ws.key));
  console.log(`${RUNS} cold loads each (fresh browser, nothing cached) from herald serve on 127.0.0.1 (debug or release as built):`);
  console.log(`  sign-in page, first-contentful-paint: ${stats(out.map((x) => x.fcp))}`);
  console.log(`  signed in, first-contentful-paint:    ${stats(signed.map((x) => x.fcp))}`);
  console.log(`  signed in, calendar month drawn:      ${stats(signed.map((x) => x.drawn))}`);
} finally {
  herald.stop();
}
