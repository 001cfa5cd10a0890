/*
 * token.admin.mjs: the dashboard against a server with [server]
 * admin_token (run.sh starts it for *.admin.mjs, with the token in
 * PANSIFT_ADMIN_TOKEN). Without the token a confirmation and a new
 * collection are refused and the page says the token is needed; once it is
 * typed into the "Admin token" field (kept for the tab) both work, on the
 * next page too. Screenshot: matches-token.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
import { run, url } from "./lib.mjs";

const TOKEN = process.env.PANSIFT_ADMIN_TOKEN;
if (!TOKEN) {
  console.error("PANSIFT_ADMIN_TOKEN is not set: run through tests/browser/run.sh");
  process.exit(2);
}

run("token", async (t) => {
  const { page } = t;

  /* ---- a confirmation: refused, then accepted ---- */
  await page.goto(url("matches.html"));
  await page.waitForSelector("#match-list > li.match");
  const card = page.locator("#match-list > li.match").first();
  const id = await card.getAttribute("data-id");
  await card.locator("button[data-action=confirmed]").click();
  await page.waitForFunction(() => /Not changed/.test(document.querySelector("li.match .match-status")?.textContent || ""));
  t.check((await card.locator(".match-status").textContent()).includes("admin token"),
    "without the token the page says it is needed");
  t.checkEq(await card.getAttribute("data-state"), "candidate", "the card is still a candidate");
  await t.screenshot("matches-token");
  await page.click("#token .token-field summary");
  await page.fill("#token .token-field input", TOKEN);
  await page.press("#token .token-field input", "Enter");
  await card.locator("button[data-action=confirmed]").click();
  await page.locator(`#match-list > li.match[data-id="${id}"][data-state=confirmed]`).waitFor();
  const confirmed = await t.json("api/matches?state=confirmed&limit=100");
  t.check(confirmed.results.some((m) => String(m.id) === id), "with the token it is confirmed");

  /* ---- the token is kept for the tab: a collection can be made ---- */
  await page.goto(url("collections.html"));
  t.checkEq(await page.inputValue("#token .token-field input"), TOKEN, "the token is kept for the tab");
  await page.fill("#new-name", "With a token");
  await page.click("#create-form button[type=submit]");
  await page.waitForSelector("#one-view:not([hidden])");
  t.checkEq((await page.textContent("#one-name")).trim(), "With a token", "created with the token");

  /* ---- and without it, refused ---- */
  await page.evaluate(() => sessionStorage.removeItem("pansift-admin-token"));
  await page.goto(url("collections.html"));
  await page.fill("#new-name", "Without a token");
  await page.click("#create-form button[type=submit]");
  await page.waitForFunction(() => document.getElementById("message").textContent.includes("admin token"));
  t.check(new URL(page.url()).searchParams.get("pid") === null, "no collection without the token");
});
