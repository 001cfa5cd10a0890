/*
 * matches.test.mjs: the match review page in chromium: the matcher's
 * candidates listed with their evidence written out, one confirmed and one
 * rejected with the buttons (the card changes state, the API agrees), the
 * state filter listing the confirmed one, and a confirmed soft candidate
 * counted where the dashboards read it (the instrument analytics and the
 * search by instrument). Screenshots: matches, matches-confirmed, and
 * instrument-after-confirm when instrument.html is there.
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

  const card = cards.first();
  const id = await card.getAttribute("data-id");

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

  /* ---- a confirmed link counts in the dashboards ---- */
  /* A soft candidate whose publication its proposal's instrument does not
   * count yet (no harvested link to that instrument's data). */
  const enc = encodeURIComponent;
  const soft = await t.json("api/matches?state=candidate&tier=soft&limit=100");
  let pick = null;
  for (const m of soft.results) {
    const inst = m.proposal?.instruments?.[0];
    const ip = typeof inst === "object" ? inst?.pid : inst;
    if (!ip) continue;
    const pubs = await t.json(`api/search?type=publication&instrument=${enc(ip)}&limit=100&facets=none`);
    if (!pubs.results.some((r) => r.pid === m.publication.pid)) {
      pick = { id: String(m.id), ip, pub: m.publication.pid };
      break;
    }
  }
  t.check(pick !== null, "a soft candidate whose publication its instrument does not count yet");
  if (pick) {
    const pubsOf = async () => (await t.json(`api/analytics/instrument?pid=${enc(pick.ip)}`)).totals.publications;
    const before = await pubsOf();
    await page.goto(url(`matches.html?tier=soft&instrument=${enc(pick.ip)}`));
    const soft1 = page.locator(`#match-list > li.match[data-id="${pick.id}"]`);
    await soft1.waitFor();
    await soft1.locator("button[data-action=confirmed]").click();
    await page.locator(`#match-list > li.match[data-id="${pick.id}"][data-state=confirmed]`).waitFor();
    /* The server indexes the change by itself ([server] index_refresh_ms). */
    let now = before;
    for (let i = 0; i < 100 && now === before; i++) {
      await page.waitForTimeout(100);
      now = await pubsOf();
    }
    t.checkEq(now, before + 1, `the instrument ${pick.ip} counts one publication more`);
    const pubs = await t.json(`api/search?type=publication&instrument=${enc(pick.ip)}&limit=100&facets=none`);
    t.check(pubs.results.some((r) => r.pid === pick.pub), "a search of the instrument's publications finds it");
    /* The instrument's dashboard, when the server has it. */
    const dash = await t.context.request.get(url(`instrument.html?pid=${enc(pick.ip)}`));
    if (dash.ok()) {
      await page.goto(url(`instrument.html?pid=${enc(pick.ip)}`));
      await page.waitForTimeout(1500);
      await t.screenshot("instrument-after-confirm");
    }
  }
});
