// Prints the web app's first paint: first-contentful-paint from the Performance API, in a fresh
// headless Chromium each time (nothing cached), against a local `herald serve`. A figure to
// read, not a timed test.
//   infra/web-e2e.sh --first-paint

import { chromium } from 'playwright-core';
import { startHerald, CHROMIUM } from './herald.mjs';

const RUNS = 7;
const herald = await startHerald();
const figures = [];
try {
  for (let i = 0; i < RUNS; i++) {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(herald.base + '/', { waitUntil: 'load' });
    const fcp = await page.evaluate(() => new Promise((resolve) => {
      const seen = performance.getEntriesByName('first-contentful-paint')[0];
      if (seen) return resolve(seen.startTime);
      new PerformanceObserver((list) => {
        const e = list.getEntriesByName('first-contentful-paint')[0];
        if (e) resolve(e.startTime);
      }).observe({ type: 'paint', buffered: true });
    }));
    figures.push(fcp);
    await browser.close();
  }
} finally {
  herald.stop();
}
figures.sort((a, b) => a - b);
const median = figures[Math.floor(figures.length / 2)];
console.log(`first-contentful-paint of / (sign-in page), ${RUNS} cold loads from herald serve on 127.0.0.1:`);
console.log(`  median ${median.toFixed(0)} ms, best ${figures[0].toFixed(0)} ms, worst ${figures[figures.length - 1].toFixed(0)} ms`);
