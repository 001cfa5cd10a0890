/*
 * collections.js: the collections page (collections.html). Without ?pid= it
 * lists the collections (GET /api/collections), creates one and deletes
 * them; with ?pid= it opens one (GET /api/collections/{pid}): its records,
 * 50 to a page, with checkboxes to remove some, and links to a search inside
 * it (./?collection=PID) and to its report (report.html?collection=PID).
 * The URL holds the view; changes send the admin token when one is set.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
import {
  $, ApiError, arr, dateEl, fill, fmtInt, h, interceptNavLinks, isAbort, isObj, loadHealth, messageArea,
  muted, plural, str, tokenField, vh,
} from "./util.js";
import { createCollection, deleteCollection, getCollection, listCollections, removeItems } from "./collect.js";
import { modelOf } from "./detail.js";

const ITEMS_PAGE = 50;
const TYPE_LABELS = { publication: "Publication", proposal: "Proposal", dataset: "Dataset", instrument: "Instrument" };

const els = {
  title: $("page-title"), message: $("message"), token: $("token"), listView: $("list-view"),
  createForm: $("create-form"), newName: $("new-name"), newDesc: $("new-desc"),
  listStatus: $("list-status"), list: $("list"), oneView: $("one-view"), oneName: $("one-name"),
  oneDesc: $("one-desc"), oneMeta: $("one-meta"), oneSearch: $("one-search"), oneReport: $("one-report"),
  oneDelete: $("one-delete"), removeSelected: $("remove-selected"), itemsStatus: $("items-status"),
  items: $("items"), itemsPager: $("items-pager"), health: $("health"),
};
const messages = messageArea(els.message);
els.token.append(tokenField({ form: true }));

const enc = encodeURIComponent;
const pageHref = (pid, page) =>
  `collections.html${pid ? `?pid=${enc(pid)}${page > 1 ? `&page=${page}` : ""}` : ""}`;

function readState() {
  const p = new URLSearchParams(location.search);
  return {
    pid: (p.get("pid") || "").trim(),
    /* The API skips at most 100,000 items. */
    page: Math.min(Math.max(parseInt(p.get("page"), 10) || 1, 1), 100000 / ITEMS_PAGE + 1),
  };
}

/* ---- the list --------------------------------------------------------------------------------- */

let ctl = null;

async function showList() {
  els.listView.hidden = false;
  els.oneView.hidden = true;
  els.title.textContent = "Collections";
  document.title = "Collections · pansift";
  els.listStatus.textContent = "Loading…";
  ctl?.abort();
  const mine = (ctl = new AbortController());
  let list;
  try {
    const got = await listCollections(mine.signal);
    list = arr(isObj(got) ? got.results : got).filter((c) => isObj(c) && str(c.pid));
  } catch (e) {
    if (isAbort(e)) return;
    messages.error("list", "The collections could not be listed", e);
    els.listStatus.textContent = "";
    return;
  }
  messages.clear("list");
  els.listStatus.textContent = list.length ? plural(list.length, "collection", "collections")
                                           : "No collections yet: create one above, or from the search page.";
  els.list.replaceChildren();
  if (!list.length) return;
  els.list.append(h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "Collections" },
    h("table", { class: "data", id: "collections-table" },
      h("caption", { class: "vh" }, "Collections"),
      h("thead", null, h("tr", null, ["Name", "Description", "Records", "Updated", ""].map((t) =>
        h("th", { scope: "col" }, t || vh("Actions"))))),
      h("tbody", null, list.map((c) => {
        const pid = str(c.pid);
        const name = str(c.name) || pid;
        return h("tr", { "data-pid": pid },
          h("td", null, h("a", { href: pageHref(pid, 1), "data-nav": true, class: "collection-link" }, name)),
          h("td", null, str(c.description)),
          h("td", { class: "count" }, fmtInt(Number(c.count) || 0)),
          h("td", null, dateEl(c.updated_at) || muted("—")),
          h("td", null, h("button", {
            type: "button", class: "button button-small button-danger",
            onclick: () => removeCollection(pid, name),
          }, "Delete", vh(` ${name}`))));
      })))));
}

async function removeCollection(pid, name) {
  if (!window.confirm(`Delete the collection “${name}”? Its records stay in the catalogue.`)) return;
  try {
    await deleteCollection(pid);
    messages.clear("delete");
    if (readState().pid) go(pageHref("", 1));
    else showList();
  } catch (e) {
    messages.error("delete", `“${name}” could not be deleted`, e);
  }
}

els.createForm.addEventListener("submit", async (e) => {
  e.preventDefault();
  const name = els.newName.value.trim();
  if (!name) {
    els.newName.focus();
    return;
  }
  try {
    const made = await createCollection(name, els.newDesc.value.trim() || undefined);
    messages.clear("create");
    els.newName.value = "";
    els.newDesc.value = "";
    if (str(made?.pid)) go(pageHref(str(made.pid), 1));
    else showList();
  } catch (err) {
    messages.error("create", `The collection “${name}” could not be created`, err);
  }
});

/* ---- one collection --------------------------------------------------------------------------- */

let current = null;  /* the open collection: {pid, page, rec} */

async function showOne(s) {
  els.listView.hidden = true;
  els.oneView.hidden = false;
  ctl?.abort();
  const mine = (ctl = new AbortController());
  if (!current || current.pid !== s.pid) {
    els.oneName.textContent = s.pid;
    els.oneDesc.textContent = "";
    els.oneMeta.textContent = "Loading…";
    els.items.replaceChildren();
  }
  /* One page of its items at a time (the API pages them). */
  try {
    const c = await getCollection(s.pid, mine.signal,
      { limit: ITEMS_PAGE, skip: (s.page - 1) * ITEMS_PAGE });
    if (mine.signal.aborted) return;
    current = { pid: s.pid, page: s.page, rec: isObj(c) ? c : {} };
  } catch (e) {
    if (isAbort(e)) return;
    current = null;
    messages.error("one", e instanceof ApiError && e.status === 404
      ? `There is no collection “${s.pid}”` : `The collection “${s.pid}” could not be loaded`, e);
    els.oneMeta.textContent = "";
    return;
  }
  messages.clear("one");
  drawOne();
}

function drawOne() {
  const c = current.rec;
  const name = str(c.name) || current.pid;
  const items = arr(c.items).filter((i) => isObj(i) && str(i.pid));
  const count = Number(c.count) || 0;
  els.title.textContent = "Collection";
  document.title = `${name} · Collections · pansift`;
  els.oneName.textContent = name;
  els.oneDesc.textContent = str(c.description);
  els.oneDesc.hidden = !str(c.description);
  fill(els.oneMeta, plural(count, "record", "records"),
    str(c.created_at) ? [" · created ", dateEl(c.created_at)] : "",
    str(c.updated_at) ? [" · updated ", dateEl(c.updated_at)] : "",
    " · ", h("code", { class: "pid" }, current.pid));
  els.oneSearch.href = `./?collection=${enc(current.pid)}`;
  els.oneReport.href = `report.html?collection=${enc(current.pid)}`;
  els.oneDelete.onclick = () => removeCollection(current.pid, name);

  const last = Math.max(1, Math.ceil(count / ITEMS_PAGE));
  const page = current.page;
  els.items.replaceChildren();
  els.removeSelected.disabled = true;
  if (!count) {
    els.items.append(h("p", { class: "muted" }, "No records yet. Add some from the ",
      h("a", { href: "./" }, "search page"), "."));
  } else if (!items.length) {
    els.items.append(h("p", { class: "muted" }, `Page ${page} is past the end. `,
      h("a", { href: pageHref(current.pid, last), "data-nav": true }, "Go to the last page"), "."));
  } else {
    const all = h("input", { type: "checkbox", id: "select-all", "aria-label": "Select every record on this page" });
    const boxes = [];
    const sync = () => {
      const n = boxes.filter((b) => b.checked).length;
      els.removeSelected.disabled = n === 0;
      els.itemsStatus.textContent = n ? `${plural(n, "record", "records")} selected` : "";
      all.checked = n === boxes.length;
    };
    all.addEventListener("change", () => {
      for (const b of boxes) b.checked = all.checked;
      sync();
    });
    els.items.append(h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "Records" },
      h("table", { class: "data", id: "items-table" },
        h("caption", { class: "vh" }, `Records of ${name}`),
        h("thead", null, h("tr", null, h("th", { scope: "col" }, all),
          ["Kind", "Title", "pid", "Added", "Note"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", null, items.map((it, n) => {
          const type = str(it.type);
          const pid = str(it.pid);
          const box = h("input", { type: "checkbox", "aria-label": `Select ${str(it.title) || pid}`,
                                   "data-type": type, "data-pid": pid });
          box.addEventListener("change", sync);
          boxes.push(box);
          const open = `./?collection=${enc(current.pid)}&show=${modelOf(type)}&pid=${enc(pid)}`;
          return h("tr", { "data-pid": pid, id: `item-${n}` },
            h("td", null, box),
            h("td", null, h("span", { class: `badge badge-${TYPE_LABELS[type] ? type : "other"}` },
              TYPE_LABELS[type] || type || "Record")),
            h("td", null, h("a", { href: open }, str(it.title) || pid)),
            h("td", null, h("code", { class: "pid" }, pid)),
            h("td", null, dateEl(it.added_at) || muted("—")),
            h("td", null, str(it.note)));
        })))));
    els.removeSelected.onclick = async () => {
      const chosen = boxes.filter((b) => b.checked).map((b) => ({ type: b.dataset.type, pid: b.dataset.pid }));
      if (!chosen.length) return;
      els.removeSelected.disabled = true;
      try {
        await removeItems(current.pid, chosen);
        messages.clear("remove");
        els.itemsStatus.textContent = `${plural(chosen.length, "record", "records")} removed.`;
        showOne(readState());
      } catch (e) {
        messages.error("remove", "The records could not be removed", e);
        sync();
      }
    };
  }
  els.itemsPager.replaceChildren();
  els.itemsPager.hidden = last <= 1;
  if (last > 1) {
    const link = (p, label, rel, on) => on
      ? h("a", { class: "button", href: pageHref(current.pid, p), rel, "data-nav": true }, label)
      : h("span", { class: "button", "aria-disabled": "true" }, label);
    els.itemsPager.append(link(page - 1, "← Previous", "prev", page > 1),
      h("span", { class: "pager-info" }, `Page ${fmtInt(page)} of ${fmtInt(last)}`),
      link(page + 1, "Next →", "next", page < last));
  }
}

/* ---- navigation ------------------------------------------------------------------------------- */

function render() {
  const s = readState();
  if (s.pid) showOne(s);
  else {
    current = null;
    showList();
  }
}

function go(url) {
  const target = new URL(url, location.href);
  if (target.search !== location.search || target.pathname !== location.pathname)
    history.pushState(null, "", target.pathname + target.search);
  render();
}

interceptNavLinks(go);
window.addEventListener("popstate", render);
render();
loadHealth(els.health);
