// dashboard-draw.mjs: how long a dashboard page takes to be fully drawn in
// Debian's chromium (headless, playwright-core, a new empty profile): it opens URL N times in one
// browser and prints, for each load, the page's own time to ready (the
// `data-ready-ms` the analytics pages set on <body> when their last chart is
// painted, counted from the start of the navigation), then the median.
// Used by bench/dashboard-bench.sh --browser; not a test.
//   node bench/dashboard-draw.mjs URL [N]
// SPDX-License-Identifier: GPL-2.0-or-later
import { join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(join(process.cwd(), 'dashboard', 'package.json'));
const { chromium } = require('playwright-core');

const url = process.argv[2];
const n = Number(process.argv[3] || 10);
if (!url || !(n > 0)) {
  console.error('usage: node bench/dashboard-draw.mjs URL [N]');
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const times = [];
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  for (let i = 0; i < n; i++) {
    await page.goto(url, { waitUntil: 'commit' });
    await page.waitForSelector('body[data-ready="1"]', { timeout: 30000 });
    const ms = Number(await page.getAttribute('body', 'data-ready-ms'));
    const errors = await page.getAttribute('body', 'data-errors');
    times.push(ms);
    console.log(`load ${i + 1}: ready in ${ms.toFixed(0)} ms${errors && errors !== '0' ? ` (${errors} errors)` : ''}`);
  }
} finally {
  await browser.close();
}
const first = times[0];
times.sort((a, b) => a - b);
console.log(`median ${times[Math.floor(times.length / 2)].toFixed(0)} ms, first load ${first.toFixed(0)} ms, max ${times[times.length - 1].toFixed(0)} ms over ${times.length} loads`);
