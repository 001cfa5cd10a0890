/*
 * collect.js: collections from the dashboard's side: the calls to the
 * collections API (/api/collections: list, create, open, delete, add and
 * remove items), and the "add to a collection" dialog of the search page,
 * which picks an existing collection or creates one, then adds one record
 * or a whole result set (gathered by the caller, at most 10,000 records, the
 * API's ceiling per request). Changes send the admin token when one is set.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
import { api, arr, describeError, fill, fmtInt, h, isObj, plural, str, tokenField } from "./util.js";

export const MAX_ITEMS = 10000;
const CHUNK = 1000;  /* items per request */

const enc = encodeURIComponent;

export const listCollections = (signal) => api("collections", null, { signal });
/* One collection with a page of its items (the API's default: the first 1000). */
export const getCollection = (pid, signal, page) =>
  api(`collections/${enc(pid)}`, page || null, { signal });
export const createCollection = (name, description) =>
  api("collections", null, { method: "POST", body: { name, description }, auth: true });
export const deleteCollection = (pid) =>
  api(`collections/${enc(pid)}`, null, { method: "DELETE", auth: true });
export const addItems = (pid, items) =>
  api(`collections/${enc(pid)}/items`, null, { method: "POST", body: { items }, auth: true });
export const removeItems = (pid, items) =>
  api(`collections/${enc(pid)}/items`, null, { method: "DELETE", body: { items }, auth: true });

export const collectionHref = (pid) => `collections.html?pid=${enc(pid)}`;

const LAST_KEY = "pansift-last-collection";
const lastCollection = () => {
  try {
    return sessionStorage.getItem(LAST_KEY) || "";
  } catch {
    return "";
  }
};
const rememberCollection = (pid) => {
  try {
    sessionStorage.setItem(LAST_KEY, pid);
  } catch {
    /* not kept: the dialog then preselects nothing */
  }
};

let dialog = null;

function buildDialog() {
  const els = {};
  els.what = h("p", { class: "dialog-what" });
  els.choices = h("div", { class: "choices" });
  els.name = h("input", { id: "collect-name", type: "text", maxlength: "200", autocomplete: "off" });
  els.desc = h("input", { id: "collect-desc", type: "text", maxlength: "4000", autocomplete: "off" });
  els.newRadio = h("input", { type: "radio", name: "collect-target", value: "", id: "collect-new" });
  els.status = h("p", { class: "dialog-status", role: "status" });
  els.submit = h("button", { type: "submit", class: "button button-primary" }, "Add");
  els.cancel = h("button", { type: "button", class: "button", value: "cancel" }, "Close");
  els.form = h("form", { class: "dialog-form" },
    h("h2", { id: "collect-title" }, "Add to a collection"),
    els.what,
    h("fieldset", { class: "collect-targets" },
      h("legend", null, "Collection"),
      els.choices,
      h("div", { class: "choice choice-new" },
        els.newRadio, h("label", { for: "collect-new" }, "A new collection"),
        h("div", { class: "new-fields" },
          h("div", { class: "field" }, h("label", { for: "collect-name" }, "Name"), els.name),
          h("div", { class: "field" }, h("label", { for: "collect-desc" }, "Description (optional)"), els.desc)))),
    tokenField(),
    els.status,
    h("p", { class: "dialog-actions" }, els.submit, " ", els.cancel));
  els.dialog = h("dialog", { class: "dialog", "aria-labelledby": "collect-title", id: "collect-dialog" }, els.form);
  els.name.addEventListener("input", () => { els.newRadio.checked = true; });
  els.cancel.addEventListener("click", () => els.dialog.close());
  document.body.append(els.dialog);
  return els;
}

async function fillChoices(els) {
  els.choices.replaceChildren(h("p", { class: "muted" }, "Loading the collections…"));
  let list = [];
  try {
    const got = await listCollections();
    list = arr(isObj(got) ? got.results : got).filter((c) => isObj(c) && str(c.pid));
  } catch (e) {
    els.choices.replaceChildren(h("p", { class: "detail-error" },
      `The collections could not be listed: ${describeError(e)}`));
    els.newRadio.checked = true;
    return;
  }
  const last = lastCollection();
  els.choices.replaceChildren(...list.map((c, i) => {
    const id = `collect-c${i}`;
    return h("div", { class: "choice" },
      h("input", { type: "radio", name: "collect-target", value: str(c.pid), id,
                   checked: str(c.pid) === last }),
      h("label", { for: id }, str(c.name) || str(c.pid), " ",
        h("span", { class: "muted" }, `(${plural(Number(c.count) || 0, "record", "records")})`)));
  }));
  if (!list.some((c) => str(c.pid) === last)) {
    const first = els.choices.querySelector("input");
    if (first) first.checked = true;
    else els.newRadio.checked = true;
  }
}

/* Opens the dialog. what: a sentence saying what is added. gather(progress):
 * resolves to the items [{type, pid}], progress(text) reports while it
 * runs. Resolves when the dialog is closed. */
export function openCollectDialog(what, gather) {
  dialog ??= buildDialog();
  const els = dialog;
  els.what.textContent = what;
  els.status.replaceChildren();
  els.submit.disabled = false;
  els.name.value = "";
  els.desc.value = "";
  fillChoices(els);
  const onSubmit = async (e) => {
    e.preventDefault();
    const target = els.form.querySelector("input[name=collect-target]:checked");
    let pid = target ? target.value : "";
    let name = target && pid ? target.nextElementSibling.firstChild.textContent : "";
    if (!pid && !els.name.value.trim()) {
      els.status.textContent = "Give the new collection a name.";
      els.name.focus();
      return;
    }
    els.submit.disabled = true;
    try {
      if (!pid) {
        name = els.name.value.trim();
        els.status.textContent = `Creating “${name}”…`;
        const made = await createCollection(name, els.desc.value.trim() || undefined);
        pid = str(made?.pid);
        if (!pid) throw new Error("the server did not say the new collection's pid");
      }
      const items = await gather((text) => { els.status.textContent = text; });
      /* In requests of 1000, well under the server's body ceiling. */
      let added = 0;
      let already = 0;
      let unknown = 0;
      for (let i = 0; i < items.length; i += CHUNK) {
        els.status.textContent = items.length > CHUNK
          ? `Adding the records: ${fmtInt(i)} of ${fmtInt(items.length)}…`
          : `Adding ${plural(items.length, "record", "records")}…`;
        const got = await addItems(pid, items.slice(i, i + CHUNK));
        added += Number(got?.added) || 0;
        already += Number(got?.already) || 0;
        unknown += arr(got?.unknown).length;
      }
      rememberCollection(pid);
      fill(els.status,
        `Added ${plural(added, "record", "records")} to “${name}”`,
        already ? `; ${fmtInt(already)} ${already === 1 ? "was" : "were"} already there` : "",
        unknown ? `; ${fmtInt(unknown)} unknown` : "", ". ",
        h("a", { href: collectionHref(pid) }, "Open the collection"), ".");
      fillChoices(els);
    } catch (err) {
      els.status.textContent = `Nothing added: ${describeError(err)}.`;
    } finally {
      els.submit.disabled = false;
    }
  };
  els.form.addEventListener("submit", onSubmit);
  return new Promise((resolve) => {
    els.dialog.addEventListener("close", () => {
      els.form.removeEventListener("submit", onSubmit);
      resolve();
    }, { once: true });
    els.dialog.showModal();
  });
}
