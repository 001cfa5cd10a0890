/*
 * lib.mjs: what the dashboard's browser tests share. Each test file
 * (tests/browser/*.test.mjs, run by run.sh) drives Debian's chromium through
 * playwright-core (from dashboard/node_modules; no browser is downloaded)
 * against a running `pansift serve`. Environment, set by run.sh:
 *   PANSIFT_URL   the server's root, e.g. http://127.0.0.1:41234/
 *   CHROMIUM      the browser, /usr/bin/chromium
 *   ARTIFACT_DIR  where screenshots (PNG) and browser logs go
 * A test calls run(name, async (t) => { ... }) once; t has the page, check
 * helpers and screenshot(). Failed checks are counted, not thrown; an
 * exception or an uncaught error in the page fails the test too. The process
 * exits 0 when everything held, 1 otherwise.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";

const need = (name) => {
  const v = process.env[name];
  if (!v) {
    console.error(`${name} is not set: run the browser tests through tests/browser/run.sh (ctest -R browser)`);
    process.exit(2);
  }
  return v;
};

export const BASE = new URL(need("PANSIFT_URL"));
export const CHROMIUM = need("CHROMIUM");
export const ARTIFACT_DIR = need("ARTIFACT_DIR");

/* playwright-core from the dashboard's npm packages (the lockfile's). */
const require = createRequire(new URL("../../dashboard/package.json", import.meta.url));
const { chromium } = require("playwright-core");

/* The flags of a quiet, self-contained headless chromium. */
export const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

/* A URL of the dashboard, relative to the server's root. */
export const url = (path) => new URL(path, BASE).href;

/* Launches chromium with a new, empty profile; resolves to {context, page, close}. */
export async function launch() {
  const profile = mkdtempSync(join(tmpdir(), "pansift-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1360, height: 900 },
    colorScheme: "light",
    timeout: 30000,
  });
  context.setDefaultTimeout(15000);
  const page = context.pages()[0] || await context.newPage();
  const close = async () => {
    await context.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  };
  return { context, page, close };
}

/* The number of painted (not fully transparent) pixels of a canvas. */
export async function canvasInk(locator) {
  return locator.evaluate((c) => {
    const ctx = c.getContext("2d");
    if (!ctx || !c.width || !c.height) return 0;
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n++;
    return n;
  });
}

/* Waits until every canvas under selector has painted pixels; resolves to
 * the list of [id, ink] for each chart box. */
export async function waitForCharts(page, selector, minInk = 200) {
  await page.waitForFunction(([sel, min]) => {
    const canvases = [...document.querySelectorAll(`${sel} canvas`)];
    if (!canvases.length) return false;
    return canvases.every((c) => {
      const ctx = c.getContext("2d");
      if (!ctx || !c.width || !c.height) return false;
      const d = ctx.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length && n < min; i += 4) if (d[i] !== 0) n++;
      return n >= min;
    });
  }, [selector, minInk], { timeout: 15000 });
}

/* The page's center point of one bar of a chart.js chart in a canvas. */
export async function barPoint(canvas, index) {
  const box = await canvas.boundingBox();
  const p = await canvas.evaluate((c, i) => {
    const chart = window.Chart?.getChart(c);
    const bar = chart?.getDatasetMeta(0).data[i];
    if (!bar) return null;
    const { x, y, base, horizontal } = bar.getProps(["x", "y", "base", "horizontal"], true);
    /* The middle of the bar, between its end and its base. */
    return horizontal ? { x: (x + base) / 2, y } : { x, y: (y + base) / 2 };
  }, index);
  return p && box ? { x: box.x + p.x, y: box.y + p.y } : null;
}

/* Runs one test file's body. */
export async function run(name, body) {
  mkdirSync(ARTIFACT_DIR, { recursive: true });
  const started = Date.now();
  const log = [];
  let fails = 0;
  let checks = 0;
  let shots = 0;
  const fail = (msg) => {
    fails++;
    console.error(`FAIL [${name}]: ${msg}`);
  };
  const { context, page, close } = await launch();
  page.on("console", (m) => log.push(`console.${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => {
    log.push(`pageerror: ${e.stack || e.message}`);
    fail(`uncaught error in the page: ${e.message}`);
  });
  page.on("response", (r) => {
    if (r.status() >= 400) log.push(`HTTP ${r.status()} ${r.request().method()} ${r.url()}`);
  });
  page.on("requestfailed", (r) => log.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ""}`));
  const t = {
    page, context,
    check(cond, msg) {
      checks++;
      if (!cond) fail(msg);
      return !!cond;
    },
    checkEq(actual, expected, msg) {
      checks++;
      if (actual !== expected) fail(`${msg}: got ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
      return actual === expected;
    },
    async screenshot(shot) {
      const file = join(ARTIFACT_DIR, `${shot}.png`);
      await page.screenshot({ path: file, fullPage: true });
      shots++;
      return file;
    },
    /* The server's JSON (through the browser's context: same cookies, none). */
    async json(path) {
      const r = await context.request.get(url(path));
      if (!r.ok()) throw new Error(`GET ${path}: HTTP ${r.status()} ${await r.text()}`);
      return r.json();
    },
    log: (line) => log.push(`test: ${line}`),
  };
  try {
    await body(t);
  } catch (e) {
    fail(`${e.stack || e}`);
    await page.screenshot({ path: join(ARTIFACT_DIR, `${name}-failure.png`), fullPage: true }).catch(() => {});
  }
  writeFileSync(join(ARTIFACT_DIR, `${name}.log`), `${log.join("\n")}\n`);
  await close();
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (fails) {
    console.error(`${name}: ${fails} of ${checks} checks failed (${secs} s; log and screenshots in ${ARTIFACT_DIR})`);
    process.exit(1);
  }
  console.log(`${name}: ${checks} checks passed, ${shots} screenshots (${secs} s)`);
  process.exit(0);
}

/* ---- the search page ------------------------------------------------------------------------ */

/* How many searches the search page has shown (app.js counts them). */
export const searchesShown = (page) =>
  page.evaluate(() => Number(document.body.dataset.searches || 0));

/* Opens the search page at path and waits for its first search. */
export async function openSearch(page, path) {
  await page.goto(url(path));
  await page.waitForFunction(() => Number(document.body.dataset.searches || 0) >= 1);
}

/* Does action (async), then waits until the search page shows a new search
 * (on the same page: for a new page, openSearch). */
export async function afterSearch(page, action) {
  const before = await searchesShown(page);
  await action();
  await page.waitForFunction((n) => Number(document.body.dataset.searches || 0) > n, before);
}

/* The result count the search page shows. */
export const shownCount = (page) =>
  page.evaluate(() => Number(document.getElementById("status").dataset.count ?? -1));
