/*
 * instrument.test.mjs: the browser test of the analytics pages. It drives
 * Debian's chromium through playwright-core against a running pansift
 * server and checks, for an instrument of the test catalogue, that the
 * instrument dashboard gets ready, draws every chart (each canvas has
 * painted pixels), shows the timeline of names, and shows totals equal to
 * what GET /api/analytics/instrument says (also over a year range); that
 * the facility overview lists the facility's instruments with the API's
 * numbers and sorts by a column; that the country report shows the API's
 * count of multi-country documents and its heat map; and that the lists
 * (no pid, no name) link to the pages. Screenshots of each page go to
 * ARTIFACT_DIR. Exits non-zero when a check fails.
 *   PANSIFT_URL=http://127.0.0.1:8080/ CHROMIUM=/usr/bin/chromium \
 *     ARTIFACT_DIR=/tmp/shots node tests/browser/instrument.test.mjs
 * PANSIFT_INSTRUMENT=pid picks the instrument (default: the one with the
 * most proposals). It does not start the server; the harness does.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";

const BASE = new URL(process.env.PANSIFT_URL || "", "http://invalid/").href.replace(/\/?$/, "/");
const CHROMIUM = process.env.CHROMIUM || "";
const ARTIFACTS = process.env.ARTIFACT_DIR || fs.mkdtempSync(path.join(os.tmpdir(), "pansift-shots-"));
const READY_TIMEOUT = 30000;
const CHARTS_ON_INSTRUMENT = 9;

if (!process.env.PANSIFT_URL || !CHROMIUM) {
  console.error("instrument.test.mjs: set PANSIFT_URL (the server's base URL) and CHROMIUM (the browser)");
  process.exit(2);
}
fs.mkdirSync(ARTIFACTS, { recursive: true });

/* playwright-core: from the usual module path, else from dashboard/'s
 * node_modules (where dashboard/package.json installs it). */
async function loadPlaywright() {
  try {
    return await import("playwright-core");
  } catch {
    const req = createRequire(new URL("../../dashboard/package.json", import.meta.url));
    return req("playwright-core");
  }
}

/* ---- reporting ---------------------------------------------------------------------- */

let checks = 0;
let failures = 0;
function check(ok, what, detail) {
  checks++;
  if (ok) console.log(`ok ${checks} - ${what}`);
  else {
    failures++;
    console.log(`not ok ${checks} - ${what}${detail === undefined ? "" : `: ${detail}`}`);
  }
  return ok;
}
const eq = (got, want, what) => check(got === want, what, `got ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);

/* ---- the API, from node ----------------------------------------------------------------- */

const q = (pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
async function api(p, pairs = [], init = {}) {
  const url = `${BASE}api/${p}${pairs.length ? `?${q(pairs)}` : ""}`;
  const r = await fetch(url, { ...init, headers: { Accept: "application/json", ...(init.headers || {}) } });
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status} ${await r.text()}`);
  return r.status === 204 ? null : r.json();
}
const post = (p, body, method = "POST") => api(p, [], {
  method, body: JSON.stringify(body), headers: { "Content-Type": "application/json" },
});

/* The instrument with the most proposals (search facets), else the first. */
async function pickInstrument() {
  if (process.env.PANSIFT_INSTRUMENT) return process.env.PANSIFT_INSTRUMENT;
  try {
    const s = await api("search", [["type", "proposal"], ["facets", "instrument"], ["facet_limit", "1"], ["limit", "0"]]);
    const top = s?.facets?.instrument?.[0]?.value;
    if (top) return top;
  } catch {
    /* an older server: the PaN API below */
  }
  const list = await api("Instruments", [["filter", JSON.stringify({ limit: 1, order: ["pid ASC"] })]]);
  return list[0].pid;
}

/* ---- the page ------------------------------------------------------------------------- */

/* Opens a page and waits until it says it is ready; collects what the
 * browser complained about on the way. */
async function open(page, rel) {
  const problems = [];
  const onConsole = (m) => { if (m.type() === "error") problems.push(`console: ${m.text()}`); };
  const onError = (e) => problems.push(`page error: ${e.message}`);
  const onResponse = (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.url()}`); };
  page.on("console", onConsole);
  page.on("pageerror", onError);
  page.on("response", onResponse);
  await page.goto(new URL(rel, BASE).href);
  let ready = true;
  try {
    await page.waitForSelector("body[data-ready='1']", { timeout: READY_TIMEOUT, state: "attached" });
  } catch {
    ready = false;
  }
  page.off("console", onConsole);
  page.off("pageerror", onError);
  page.off("response", onResponse);
  check(ready, `${rel}: ready`);
  check(problems.length === 0, `${rel}: no errors in the browser`, problems.join("; "));
  const leaks = await page.evaluate(() => document.body.innerText.match(/(?<![A-Za-z])(?:undefined|null|NaN)(?![a-z])|\[object Object\]/g));
  check(!leaks, `${rel}: no undefined, null or NaN shown`, JSON.stringify(leaks));
  const errors = await page.evaluate(() => document.body.dataset.errors);
  eq(errors, "0", `${rel}: every part loaded`);
  return Number(await page.evaluate(() => document.body.dataset.readyMs));
}

/* Every chart canvas on the page: its size and how many pixels are painted. */
const canvases = (page) => page.evaluate(() => [...document.querySelectorAll("[data-chart] canvas")].map((c) => {
  const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  let painted = 0;
  for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) painted++;
  return { id: c.closest("[data-chart]").id, w: c.width, h: c.height, painted };
}));

async function checkCharts(page, rel, expected) {
  const cards = await page.evaluate(() => [...document.querySelectorAll("[data-chart]")].map((c) => ({
    id: c.id, empty: c.dataset.empty === "1", error: c.dataset.error === "1", canvas: !!c.querySelector("canvas"),
  })));
  if (expected !== undefined) eq(cards.length, expected, `${rel}: ${expected} charts`);
  for (const c of cards) check(!c.error && (c.canvas || c.empty), `${rel}: chart ${c.id} drawn or said to be empty`);
  const drawn = await canvases(page);
  check(drawn.length > 0, `${rel}: at least one chart has data`);
  for (const c of drawn) check(c.w > 0 && c.h > 0 && c.painted > 0, `${rel}: canvas ${c.id} has painted pixels`, JSON.stringify(c));
  const empty = cards.filter((c) => c.empty).map((c) => c.id);
  if (empty.length) console.log(`# ${rel}: no data for ${empty.join(", ")}`);
  return drawn.length;
}

const digits = (s) => Number(String(s).replace(/[^\d]/g, ""));

async function checkTotals(page, rel, totals) {
  const shown = await page.evaluate(() => Object.fromEntries([...document.querySelectorAll("[data-total]")]
    .map((e) => [e.dataset.total, { value: e.dataset.value, text: e.querySelector(".dash-big")?.textContent || "" }])));
  for (const k of ["proposals", "accepted", "refused", "datasets", "volume", "publications", "citations"]) {
    const want = totals?.[k];
    check(typeof want === "number", `${rel}: the API gives totals.${k}`, JSON.stringify(want));
    eq(shown[k]?.value, String(want), `${rel}: total ${k} is the API's`);
    if (k !== "volume") eq(digits(shown[k]?.text), want, `${rel}: total ${k} as shown`);
  }
}

async function main() {
  const { chromium } = await loadPlaywright();
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "pansift-chromium-"));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1280, height: 900 },
  });
  try {
    const page = ctx.pages()[0] || await ctx.newPage();
    const shot = (name) => page.screenshot({ path: path.join(ARTIFACTS, name), fullPage: true });

    /* ---- the instrument dashboard ---- */
    const pid = await pickInstrument();
    const head = await api("analytics/instrument", [["pid", pid]]);
    const rel = `instrument.html?pid=${encodeURIComponent(pid)}`;
    const ms = await open(page, rel);
    console.log(`# ${rel}: ready in ${ms} ms`);
    eq(await page.textContent("#inst-name"), head.name || pid, `${rel}: the instrument's name`);
    if (head.facility)
      eq(await page.getAttribute("#inst-facility a", "href"), `facility.html?name=${encodeURIComponent(head.facility)}`,
         `${rel}: links to its facility`);
    await checkTotals(page, rel, head.totals);
    const items = await page.$$eval("#timeline li", (li) => li.map((e) => ({
      name: e.querySelector(".dash-tl-name")?.textContent, visible: e.offsetHeight > 0,
      bar: e.querySelector(".dash-tl-bar")?.getBoundingClientRect().width || 0,
    })));
    eq(items.length, Math.max(1, (head.names || []).length), `${rel}: the timeline has every name`);
    check(items.every((i) => i.visible && i.bar > 0), `${rel}: the timeline shows`, JSON.stringify(items));
    for (const n of head.names || [])
      check(items.some((i) => i.name === n.name), `${rel}: the timeline names ${n.name}`);
    await checkCharts(page, rel, CHARTS_ON_INSTRUMENT);
    /* The "data" toggle shows the numbers; the search link keeps the instrument. */
    const toggle = page.locator(".dash-data-toggle:visible").first();
    if (await toggle.count()) {
      await toggle.click();
      eq(await toggle.getAttribute("aria-expanded"), "true", `${rel}: the data toggle opens`);
      const rows = await page.locator(".dash-data:not([hidden]) tbody tr").count();
      check(rows > 0, `${rel}: the data table has rows`, rows);
      await toggle.click();
    }
    const links = await page.$$eval(".dash-search-link", (a) => a.map((e) => e.getAttribute("href")));
    check(links.length > 0 && links.every((h) => new URLSearchParams(h.split("?")[1]).get("instrument") === pid),
      `${rel}: every chart links to the search for the instrument`, links[0]);
    await shot("instrument.png");
    await page.emulateMedia({ colorScheme: "dark" });
    await page.waitForTimeout(100);
    await checkCharts(page, `${rel} (dark)`);
    await shot("instrument-dark.png");
    await page.emulateMedia({ colorScheme: "light" });

    /* The year range reaches the header too. */
    const years = await api("analytics/breakdown", [["by", "year"], ["instrument", pid], ["type", "proposal"]]);
    const busy = (years.rows || []).filter((r) => r.count > 0).map((r) => r.value);
    if (busy.length) {
      const y = busy[Math.floor(busy.length / 2)];
      const inRange = await api("analytics/instrument", [["pid", pid], ["year_from", y], ["year_to", y]]);
      const relY = `${rel}&year_from=${y}&year_to=${y}`;
      await open(page, relY);
      await checkTotals(page, relY, inRange.totals);
      eq(await page.inputValue("#year_from"), y, `${relY}: the form shows the range`);
      await checkCharts(page, relY, CHARTS_ON_INSTRUMENT);
    }

    /* ---- the facility overview ---- */
    if (head.facility) {
      const f = head.facility;
      const fac = await api("analytics/facility", [["name", f]]);
      const relF = `facility.html?name=${encodeURIComponent(f)}`;
      await open(page, relF);
      const rows = await page.$$eval("#table-box tbody tr", (tr) => tr.map((r) => ({
        name: r.querySelector("th")?.textContent, href: r.querySelector("th a")?.getAttribute("href"),
        cells: [...r.querySelectorAll("td")].map((td) => td.textContent),
      })));
      eq(rows.length, fac.instruments.length, `${relF}: a row per instrument`);
      for (const i of fac.instruments) {
        const r = rows.find((x) => x.href === `instrument.html?pid=${encodeURIComponent(i.pid)}`);
        if (!check(!!r, `${relF}: ${i.pid} links to its dashboard`)) continue;
        eq(digits(r.cells[0]), i.proposals, `${relF}: ${i.pid} proposals`);
        eq(digits(r.cells[4]), i.datasets, `${relF}: ${i.pid} datasets`);
        eq(digits(r.cells[7]), i.citations, `${relF}: ${i.pid} citations`);
      }
      await page.click("#table-box thead th:nth-child(2) button");
      eq(await page.getAttribute("#table-box thead th:nth-child(2)", "aria-sort"), "descending", `${relF}: sorted by proposals`);
      const first = digits(await page.textContent("#table-box tbody tr:first-child td"));
      eq(first, Math.max(...fac.instruments.map((i) => i.proposals)), `${relF}: most proposals first`);
      await checkCharts(page, relF, 3);
      await shot("facility.png");
    }

    /* ---- the country collaboration report ---- */
    const pairs = await api("analytics/country-pairs", [["type", "proposal"], ["type", "publication"], ["limit", "1000"]]);
    await open(page, "report.html");
    eq(await page.getAttribute("[data-total='documents']", "data-value"), String(pairs.documents),
       "report.html: the multi-country documents are the API's");
    const countries = (pairs.countries || []).length;
    const matrix = await page.locator("#matrix-table tbody tr").count();
    eq(matrix, countries >= 2 ? Math.min(15, countries) : 0, "report.html: the heat map has the top countries");
    await checkCharts(page, "report.html");
    await shot("report.png");

    /* A collection's report: its name, and its numbers. The collection is
     * made here (publications and proposals of the instrument) and deleted
     * at the end. */
    const docs = await api("search", [["instrument", pid], ["type", "proposal"], ["type", "publication"],
      ["limit", "50"], ["facets", "none"]]);
    const probe = await fetch(`${BASE}api/collections`, { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
    if (probe.status === 401 || probe.status === 405)
      console.log(`# skipped the collection's report: this server does not let the test make a collection (HTTP ${probe.status})`);
    else if (docs.results?.length) {
      const c = await post("collections", { name: `Browser test: the report of ${head.name || pid}` });
      try {
        await post(`collections/${encodeURIComponent(c.pid)}/items`,
          { items: docs.results.map((r) => ({ type: r.type || r.kind, pid: r.pid })) });
        const inSet = [["collection", c.pid], ["type", "proposal"], ["type", "publication"]];
        let n = 0;
        for (let i = 0; i < 100 && n !== docs.results.length; i++) {
          n = (await api("search", [...inSet, ["limit", "0"], ["facets", "none"]])).count;
          if (n !== docs.results.length) await new Promise((r) => setTimeout(r, 100));
        }
        eq(n, docs.results.length, "the collection's documents are searchable");
        const cp = await api("analytics/country-pairs", [...inSet, ["limit", "1000"]]);
        const relC = `report.html?collection=${encodeURIComponent(c.pid)}`;
        await open(page, relC);
        eq(await page.textContent("#report-title"), c.name, `${relC}: the collection's name`);
        eq(await page.getAttribute("[data-total='documents']", "data-value"), String(cp.documents),
           `${relC}: the multi-country documents are the API's`);
        await checkCharts(page, relC);
        await shot("report-collection.png");
      } finally {
        await api(`collections/${encodeURIComponent(c.pid)}`, [], { method: "DELETE" });
      }
    }

    /* ---- the lists ---- */
    await open(page, "instrument.html");
    check(await page.locator(`#instrument-list a[href="instrument.html?pid=${encodeURIComponent(pid)}"]`).count() === 1,
      "instrument.html: lists the instrument");
    await shot("instruments.png");
    await open(page, "facility.html");
    if (head.facility)
      check(await page.locator(`#facility-list a[href="facility.html?name=${encodeURIComponent(head.facility)}"]`).count() === 1,
        "facility.html: lists the facility");
    await shot("facilities.png");
  } finally {
    await ctx.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  console.log(`# screenshots in ${ARTIFACTS}`);
  console.log(`1..${checks}`);
  if (failures) {
    console.log(`# ${failures} of ${checks} checks failed`);
    process.exit(1);
  }
}

main().catch((e) => {
  console.log(`not ok - ${e.stack || e}`);
  process.exit(1);
});
