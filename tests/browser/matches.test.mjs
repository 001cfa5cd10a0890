/*
 * matches.test.mjs: the match review page in chromium: the matcher's
 * candidates listed with their evidence written out, one confirmed and one
 * rejected with the buttons (the card changes state, the API agrees), the
 * state filter listing the confirmed one, and the confirmed link counted
 * where the dashboards read it (the instrument analytics, when the server
 * has them). Screenshots: matches, matches-confirmed.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
import { run, url } from "./lib.mjs";

run("matches", async (t) => {
  const { page } = t;
  await page.goto(url("matches.html"));
  await page.waitForSelector("#match-list > li.match");
  const cards = page.locator("#match-list > li.match");
  const count = await cards.count();
  t.check(count >= 2, `candidates listed (${count})`);
  t.check(/of \d+ candidate/.test(await page.textContent("#status")), "the status counts the candidates");
  const evidence = page.locator("#match-list .evidence li");
  t.check(await evidence.count() >= count, "every candidate shows its evidence");
  const words = (await evidence.allTextContents()).join("\n");
  t.check(!/[{}]/.test(words), "the evidence is written out, not JSON");
  t.check(/proposal code|data DOI|author|instrument|alike/.test(words), `the evidence says what was found: ${words.slice(0, 200)}`);
  await t.screenshot("matches");

  /* The dashboards' figure before the confirmation, when the server has it. */
  const card = cards.first();
  const id = await card.getAttribute("data-id");
  const got = await t.json(`api/matches?state=candidate&limit=100`);
  const match = got.results.find((m) => String(m.id) === id);
  t.check(!!match, "the first card is a candidate of the API");
  const inst = match?.proposal?.instruments?.[0];
  const instPid = typeof inst === "object" ? inst?.pid : inst;
  const pubsOf = async () => {
    const r = await t.context.request.get(url(`api/analytics/instrument?pid=${encodeURIComponent(instPid)}`));
    return r.ok() ? (await r.json()).totals?.publications ?? null : null;
  };
  const before = instPid ? await pubsOf() : null;

  /* ---- confirm one ---- */
  await card.locator("button[data-action=confirmed]").click();
  const confirmed = page.locator(`#match-list > li.match[data-id="${id}"][data-state=confirmed]`);
  await confirmed.waitFor();
  t.check((await confirmed.textContent()).includes("Confirmed"), "the card says it is confirmed");
  const after = await t.json("api/matches?state=confirmed&limit=100");
  t.check(after.results.some((m) => String(m.id) === id), "the API lists it as confirmed");

  /* ---- reject another ---- */
  const other = cards.nth(1);
  const oid = await other.getAttribute("data-id");
  await other.locator("button[data-action=rejected]").click();
  await page.locator(`#match-list > li.match[data-id="${oid}"][data-state=rejected]`).waitFor();
  const rejected = await t.json("api/matches?state=rejected&limit=100");
  t.check(rejected.results.some((m) => String(m.id) === oid), "the API lists the other as rejected");

  /* ---- the state filter ---- */
  await page.selectOption("#state", "confirmed");
  await page.waitForFunction(() => new URL(location.href).searchParams.get("state") === "confirmed");
  await page.locator(`#match-list > li.match[data-id="${id}"]`).waitFor();
  t.checkEq(await page.locator("#match-list > li.match:not([data-state=confirmed])").count(), 0,
    "only confirmed matches");
  await t.screenshot("matches-confirmed");

  /* ---- in the dashboard ---- */
  if (before !== null) {
    const now = await pubsOf();
    t.check(now >= before && now >= 1, `the instrument's publications count the confirmed link (${before} -> ${now})`);
  } else {
    t.log("no instrument analytics on this server (or no instrument): the dashboard check is skipped");
  }
});
