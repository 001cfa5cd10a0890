/*
 * collections.test.mjs: collections in chromium: one record added to a new
 * collection from the search page, then the rest of the result set ("Add
 * all"), the collection on collections.html with that many records, a
 * search restricted to it giving the same count, a record removed, and a
 * collection created and deleted on the page. Screenshots: collect-dialog,
 * collections, collection.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
import { afterSearch, openSearch, run, shownCount, url } from "./lib.mjs";

run("collections", async (t) => {
  const { page } = t;
  page.on("dialog", (d) => d.accept());  /* "Delete ...?" */
  const name = `Browser test ${Date.now()}`;

  /* ---- one record, into a new collection ---- */
  await openSearch(page, "./?q=crystal&type=dataset");
  const n = await shownCount(page);
  t.check(n > 1 && n <= 100, `a search with a few records (${n})`);
  const first = page.locator("#result-list > li.result").first();
  const pid = await first.getAttribute("data-pid");
  await first.locator("button.collect-one").click();
  await page.waitForSelector("#collect-dialog[open]");
  await page.fill("#collect-name", name);
  t.check(await page.isChecked("#collect-new"), "typing a name picks a new collection");
  await t.screenshot("collect-dialog");
  await page.click("#collect-dialog button[type=submit]");
  await page.waitForFunction(() => /Added|Nothing added/.test(document.querySelector("#collect-dialog .dialog-status")?.textContent || ""));
  const said = await page.textContent("#collect-dialog .dialog-status");
  t.check(/Added 1 record to/.test(said), `the dialog says it was added: ${said}`);
  await page.click("#collect-dialog button[value=cancel]");
  await page.waitForSelector("#collect-dialog", { state: "hidden" });

  /* ---- the whole result set, into the same collection ---- */
  await page.click("#collect-all");
  await page.waitForSelector("#collect-dialog[open]");
  await page.waitForSelector("#collect-dialog .choices input[type=radio]");
  const chosen = await page.locator("#collect-dialog .choices input:checked + label").textContent();
  t.check(chosen.includes(name), `the last collection is preselected (${chosen})`);
  await page.click("#collect-dialog button[type=submit]");
  await page.waitForFunction(() => /Added|Nothing added/.test(document.querySelector("#collect-dialog .dialog-status")?.textContent || ""));
  const said2 = await page.textContent("#collect-dialog .dialog-status");
  t.check(said2.includes(`Added ${n - 1} record`) && said2.includes("1 was already there"),
    `the rest of the result set was added: ${said2}`);
  await page.keyboard.press("Escape");

  /* ---- the collections page ---- */
  await page.goto(url("collections.html"));
  const row = page.locator("#collections-table tbody tr", { hasText: name });
  await row.waitFor();
  t.checkEq(Number((await row.locator("td.count").textContent()).replace(/\D/g, "")), n,
    "the collection has every record of the search");
  await t.screenshot("collections");
  await row.locator("a.collection-link").click();
  await page.waitForSelector("#items-table");
  t.checkEq((await page.textContent("#one-name")).trim(), name, "the collection opens");
  t.check(await page.locator(`#items-table tr[data-pid="${pid}"]`).count() === 1, "the first record is in it");
  const cpid = new URL(page.url()).searchParams.get("pid");
  t.checkEq(await page.getAttribute("#one-report", "href"), `report.html?collection=${encodeURIComponent(cpid)}`,
    "the report link");
  await t.screenshot("collection");

  /* ---- a search inside it ---- */
  await page.click("#one-search");
  await page.waitForURL(/[?&]collection=/);
  await page.waitForFunction(() => Number(document.body.dataset.searches || 0) >= 1);
  t.checkEq(await shownCount(page), n, "searching inside the collection finds its records");
  t.check(await page.waitForFunction((nm) => document.getElementById("chips").textContent.includes(nm), name)
    .then(() => true, () => false), "a chip names the collection");

  /* ---- removing a record ---- */
  await page.goto(url(`collections.html?pid=${encodeURIComponent(cpid)}`));
  await page.waitForSelector("#items-table");
  await page.locator(`#items-table tr[data-pid="${pid}"] input[type=checkbox]`).check();
  await page.click("#remove-selected");
  await page.waitForFunction((p) => document.querySelector("#items-table") &&
    !document.querySelector(`#items-table tr[data-pid="${p}"]`), pid);
  t.check((await page.textContent("#one-meta")).includes(`${n - 1} record`), "one record fewer");

  /* ---- create and delete on the page ---- */
  await page.goto(url("collections.html"));
  await page.fill("#new-name", `${name} (to delete)`);
  await page.click("#create-form button[type=submit]");
  await page.waitForFunction(() => new URL(location.href).searchParams.has("pid"));
  await page.waitForSelector("#one-view:not([hidden])");
  t.check((await page.textContent("#one-name")).includes("(to delete)"), "a new collection opens");
  await page.click("#one-delete");
  await page.waitForSelector("#collections-table");
  t.checkEq(await page.locator("#collections-table tbody tr", { hasText: "(to delete)" }).count(), 0,
    "deleted");
});
