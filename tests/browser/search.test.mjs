/*
 * search.test.mjs: the search page in chromium: browsing everything, every
 * chart drawn (painted canvases), a text search with the words marked, a
 * click on a facet value and on a type checkbox changing the count (to the
 * facet's own count), the chip that removes it, a keyword put into the
 * query and taken out, a click on a bar of the
 * year chart, sorting, a malformed query's error with its position, the
 * export links (200, the format's content type, a download), and the detail
 * panel. Screenshots: search, search-dark, search-detail.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
import { afterSearch, openSearch, barPoint, canvasInk, run, shownCount, url, waitForCharts } from "./lib.mjs";

const num = (s) => Number(String(s).replace(/[^\d]/g, ""));
const CHARTS = ["year", "instrument", "institution", "author", "keyword"];

run("search", async (t) => {
  const { page } = t;

  /* ---- browsing: everything, with charts ---- */
  await openSearch(page, "./");
  const all = await shownCount(page);
  t.check(all > 100, `browsing shows every record (${all})`);
  t.checkEq(await page.locator("#result-list > li.result").count(), 20, "a page of 20 results");
  t.check(/took [\d.]+ ms/.test(await page.textContent("#status")), "the status says how long it took");
  await page.waitForSelector("#summary .summary-list li a");
  t.checkEq(await page.locator("#summary .summary-list li").count(), 4, "the catalogue's four counts");
  await waitForCharts(page, "#charts");
  for (const name of CHARTS) {
    const canvas = page.locator(`#chart-${name} canvas`);
    t.checkEq(await canvas.count(), 1, `the ${name} chart is drawn`);
    if (await canvas.count()) t.check(await canvasInk(canvas) > 200, `the ${name} chart has painted pixels`);
    t.check(/\d/.test((await canvas.getAttribute("aria-label")) || ""), `the ${name} chart is described in text`);
  }
  t.check(await page.locator(".facet-list").count() >= 4, "facet lists (facility, instrument, ...)");
  await t.screenshot("search");

  /* ---- a click on the year chart keeps that year ---- */
  const yearCanvas = page.locator("#chart-year canvas");
  const best = await yearCanvas.evaluate((c) => {
    const d = window.Chart.getChart(c).data;
    const v = d.datasets[0].data;
    const i = v.indexOf(Math.max(...v));
    return { i, year: d.labels[i], count: v[i] };
  });
  const at = await barPoint(yearCanvas, best.i);
  t.check(at !== null, "the year chart's tallest bar has a place");
  if (at) {
    await afterSearch(page, () => page.mouse.click(at.x, at.y));
    const u = new URL(page.url());
    t.checkEq(u.searchParams.get("year_from"), best.year, "the bar's year is the first year");
    t.checkEq(u.searchParams.get("year_to"), best.year, "and the last one");
    t.checkEq(await shownCount(page), best.count, `the count is the bar's (${best.year})`);
    t.checkEq(await page.inputValue("#year-from"), best.year, "the year inputs show it");
    t.check((await page.textContent("#chips")).includes(best.year), "a chip shows the years");
  }

  /* ---- a text search ---- */
  await openSearch(page, "./");
  await afterSearch(page, async () => {
    await page.fill("#q", "crystal");
    await page.press("#q", "Enter");
  });
  const n = await shownCount(page);
  t.check(n > 0 && n < all, `"crystal" finds some records (${n} of ${all})`);
  const marks = page.locator("#result-list mark");
  t.check(await marks.count() > 0, "the words found are marked");
  t.check(/^crystal/i.test((await marks.first().textContent()) || ""), "a mark holds the word");
  t.checkEq(new URL(page.url()).searchParams.get("q"), "crystal", "the query is in the URL");

  /* ---- a facet value: the count becomes the facet's ---- */
  const values = page.locator('#facet-lists [data-facet="instrument"] a.facet-value');
  t.check(await values.count() > 0, "the instrument facet has values");
  let pick = null;
  for (let i = 0; i < await values.count(); i++) {
    const c = num(await values.nth(i).locator(".count").textContent());
    if (c > 0 && c < n) {
      pick = { i, c, label: (await values.nth(i).locator(".facet-label").textContent()).trim() };
      break;
    }
  }
  t.check(pick !== null, "an instrument with fewer records than the search");
  if (pick) {
    await afterSearch(page, () => values.nth(pick.i).click());
    t.checkEq(await shownCount(page), pick.c, `clicking ${pick.label} gives its count`);
    t.check(new URL(page.url()).searchParams.has("instrument"), "the filter is in the URL");
    const chip = page.locator("#chips a.chip");
    t.checkEq(await chip.count(), 1, "one chip");
    t.check((await chip.first().textContent()).includes(pick.label), "the chip names the instrument");
    t.checkEq(await page.locator('#facet-lists a.facet-value[aria-current="true"]').count(), 1,
      "the value is marked as selected");
    await afterSearch(page, () => chip.first().click());
    t.checkEq(await shownCount(page), n, "removing the chip gives the search's count again");
  }

  /* ---- a keyword: into the query as a phrase, and out again ---- */
  const kw = page.locator('#facet-lists [data-facet="keyword"] a.facet-value').first();
  const kwValue = await kw.getAttribute("data-value");
  await afterSearch(page, () => kw.click());
  t.check((new URL(page.url()).searchParams.get("q") || "").includes(`"${kwValue}"`),
    `the keyword goes into the query as a phrase (${kwValue})`);
  const nk = await shownCount(page);
  t.check(nk > 0 && nk <= n, `the phrase narrows the search (${nk} of ${n})`);
  await afterSearch(page, () =>
    page.locator('#facet-lists [data-facet="keyword"] a.facet-value[aria-current="true"]').first().click());
  t.checkEq(new URL(page.url()).searchParams.get("q"), "crystal", "clicking it again takes it out");

  /* ---- a type checkbox ---- */
  const dsLabel = await page.locator('#facet-type input[value="dataset"] + label .count').textContent();
  await afterSearch(page, () => page.check('#facet-type input[value="dataset"]'));
  t.checkEq(await shownCount(page), num(dsLabel), "the dataset checkbox gives the datasets' count");
  t.check((await page.locator("#result-list .badge-dataset").count()) > 0, "datasets listed");
  t.checkEq(await page.locator("#result-list > li.result:not([data-type=dataset])").count(), 0,
    "only datasets");

  /* ---- sorting ---- */
  await afterSearch(page, () => page.selectOption("#sort", "-date"));
  t.checkEq(new URL(page.url()).searchParams.get("sort"), "-date", "the sort is in the URL");
  const years = await page.$$eval("#result-list > li.result", (lis) =>
    lis.map((li) => Number((li.querySelector(".meta")?.textContent || "").match(/\b(19|20)\d\d\b/)?.[0]))
      .filter((y) => y > 0));
  t.check(years.length > 1 && years.every((y, i) => i === 0 || years[i - 1] <= y),
    `oldest first: ${years.join(",")}`);

  /* ---- exports ---- */
  const TYPES = {
    csv: /^text\/csv\b/, bibtex: /^application\/x-bibtex\b/,
    ris: /^application\/x-research-info-systems\b/, json: /^application\/json\b/,
  };
  const links = page.locator("#exports a.export-link");
  t.checkEq(await links.count(), 4, "four export links");
  for (let i = 0; i < await links.count(); i++) {
    const a = links.nth(i);
    const fmt = await a.getAttribute("data-format");
    const href = new URL(await a.getAttribute("href"), page.url()).href;
    t.check(href.includes(`format=${fmt}`) && href.includes("q=crystal") && href.includes("type=dataset"),
      `the ${fmt} link has the search's parameters: ${href}`);
    t.check(await a.getAttribute("download") !== null, `the ${fmt} link downloads`);
    const r = await t.context.request.get(href);
    t.checkEq(r.status(), 200, `${fmt} export answers 200`);
    const ct = r.headers()["content-type"] || "";
    t.check(TYPES[fmt].test(ct), `${fmt} export's content type: ${ct}`);
    t.check(/attachment/.test(r.headers()["content-disposition"] || ""), `${fmt} export is an attachment`);
    const body = await r.text();
    if (fmt === "json") t.check((() => { try { JSON.parse(body); return true; } catch { return false; } })(), "JSON export parses");
    if (fmt === "ris") t.check(/^TY {2}- /m.test(body), "RIS export has records");
    if (fmt === "bibtex") t.check(/^@\w+\{/m.test(body), "BibTeX export has entries");
    if (fmt === "csv") t.check(body.split("\n").length > 1, "CSV export has rows");
  }

  /* ---- a malformed query: the error and where ---- */
  await afterSearch(page, async () => {
    await page.fill("#q", "neutron (crystal");
    await page.press("#q", "Enter");
  });
  t.check(await page.isVisible("#q-error"), "a malformed query shows its error");
  t.check((await page.textContent("#q-error")).includes("never closed"), "the error says what is wrong");
  const excerpt = (await page.textContent("#q-error .q-excerpt")) || "";
  t.checkEq(excerpt.split("\n")[1]?.indexOf("^"), 8, "the caret is under the 9th character");
  t.checkEq(await page.getAttribute("#q", "aria-invalid"), "true", "the box is marked invalid");
  t.checkEq(await page.evaluate(() => document.getElementById("q").selectionStart), 8,
    "the box's cursor is at the fault");

  /* ---- the detail panel ---- */
  await openSearch(page, "./?q=crystal");
  const first = page.locator("#result-list a.record-link").first();
  const title = (await first.textContent()).trim();
  await first.click();
  await page.waitForSelector("#detail:not([hidden]) .detail-section");
  t.checkEq((await page.textContent("#detail-title")).trim(), title, "the panel shows the record");
  await t.screenshot("search-detail");
  await page.keyboard.press("Escape");
  await page.waitForSelector("#detail", { state: "hidden" });
  t.check(!new URL(page.url()).searchParams.has("show"), "Escape closes it");

  /* ---- dark ---- */
  await page.emulateMedia({ colorScheme: "dark" });
  await openSearch(page, "./");
  await waitForCharts(page, "#charts");
  await t.screenshot("search-dark");
});
