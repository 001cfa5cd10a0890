/*
 * app.js: the pansift dashboard's logic. The view (search text, model,
 * filters, page, open record) lives in the URL's query string; render()
 * reads it, asks the PaN search API for one page of results and their count,
 * and shows them, with a detail panel for one record. Plain JavaScript, no
 * dependencies. Everything that comes from the API reaches the page through
 * text nodes and createElement, never as HTML.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

const PAGE_SIZE = 20;
const FILES_SHOWN = 100;   /* files listed in a dataset's detail */
const LINKED_SHOWN = 200;  /* datasets listed in a document's detail */
const INSTRUMENT_PAGE = 1000;

const metaContent = (name, fallback) =>
  document.querySelector(`meta[name="${name}"]`)?.getAttribute("content") || fallback;
const API_BASE = new URL(metaContent("pansift-api", "api/"), document.baseURI);
const HEALTH_URL = new URL(metaContent("pansift-health", "health"), document.baseURI);

const MODEL_KEYS = ["datasets", "documents", "instruments"];
const MODELS = {
  datasets: {
    path: "Datasets", one: "dataset", many: "datasets", kind: "Dataset",
    listInclude: [{ relation: "instrument" }, { relation: "techniques" }],
    browseOrder: ["creationDate DESC"],  /* without search text: newest first */
    detailInclude: [
      { relation: "instrument" }, { relation: "techniques" }, { relation: "samples" },
      { relation: "parameters" }, { relation: "documents" },
    ],
    relations: ["instrument", "techniques", "samples", "parameters", "files", "documents"],
  },
  documents: {
    path: "Documents", one: "document", many: "documents", kind: "Document",
    listInclude: null,
    browseOrder: ["startDate DESC"],
    detailInclude: [
      { relation: "members", scope: { include: [{ relation: "person" }, { relation: "affiliation" }] } },
      { relation: "parameters" }, { relation: "datasets" },
    ],
    relations: ["members", "parameters", "datasets"],
  },
  instruments: {
    path: "Instruments", one: "instrument", many: "instruments", kind: "Instrument",
    listInclude: null,
    order: ["name ASC"],  /* always, with or without text */
    detailInclude: null,
    relations: ["datasets"],
  },
};
const DOC_TYPES = { proposal: "Proposal", publication: "Publication" };
const isDocType = (t) => t === "proposal" || t === "publication";

const $ = (id) => document.getElementById(id);
const els = {
  form: $("search-form"), q: $("q"), model: $("model"), instrument: $("instrument"),
  from: $("from"), to: $("to"), type: $("type"),
  filtersDatasets: $("filters-datasets"), filtersDocuments: $("filters-documents"),
  reset: $("reset"), message: $("message"), layout: $("layout"), results: $("results"),
  heading: $("results-heading"), spinner: $("spinner"), status: $("status"),
  list: $("result-list"), pager: $("pager"), detail: $("detail"),
  detailClose: $("detail-close"), detailKind: $("detail-kind"), detailTitle: $("detail-title"),
  detailPid: $("detail-pid"), detailJson: $("detail-json"), detailBody: $("detail-body"),
  summary: $("summary"), health: $("health"),
};

const numberFormat = new Intl.NumberFormat("en");
const fmtInt = (n) => numberFormat.format(n);

/* ---- small helpers ------------------------------------------------------------------ */

/* Builds an element. Children that are not nodes become text nodes, so
 * strings from the API are never parsed as HTML. Props: "class", "text",
 * "on<event>" (listener), anything else an attribute (skipped when null,
 * undefined or false; true gives an empty attribute). */
function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of [children].flat(Infinity)) {
    if (c === null || c === undefined || c === false || c === "") continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

/* A string from the API, or "" when it is not a string or a number. */
function str(v) {
  if (typeof v === "string") return v;
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  return "";
}

const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const arr = (v) => (Array.isArray(v) ? v : []);
const isNum = (v) => typeof v === "number" && Number.isFinite(v);

/* An http(s) URL from the API, or null: no javascript: or data: links. */
function safeHttpUrl(v) {
  if (typeof v !== "string") return null;
  try {
    const u = new URL(v);
    return u.protocol === "https:" || u.protocol === "http:" ? u.href : null;
  } catch {
    return null;
  }
}

function doiUrl(doi) {
  const d = str(doi).trim().replace(/^(?:https?:\/\/(?:dx\.)?doi\.org\/|doi:)/i, "");
  return d ? "https://doi.org/" + d.split("/").map(encodeURIComponent).join("/") : null;
}

function orcidUrl(orcid) {
  const m = /(\d{4}-\d{4}-\d{4}-\d{3}[\dX])$/i.exec(str(orcid));
  return m ? `https://orcid.org/${m[1].toUpperCase()}` : null;
}

/* 1000-based, three significant figures at most: 154 MB, 12.3 GB, 1.5 TB. */
function formatBytes(n) {
  if (!isNum(n) || n < 0) return "";
  if (n < 1000) return `${n} B`;
  const units = ["kB", "MB", "GB", "TB", "PB", "EB"];
  let v = n;
  let i = -1;
  do {
    v /= 1000;
    i++;
  } while (v >= 999.5 && i < units.length - 1);
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

/* The date part of an ISO date string, as a <time> element. */
function dateEl(v, full = false) {
  const s = str(v);
  if (!s) return null;
  const day = /^\d{4}-\d{2}-\d{2}/.test(s) ? s.slice(0, 10) : s;
  return h("time", { datetime: s, title: full ? null : s }, full ? s : day);
}

const vh = (text) => h("span", { class: "vh" }, text);
const muted = (text) => h("span", { class: "muted" }, text);
const plural = (n, one, many) => `${fmtInt(n)} ${n === 1 ? one : many}`;
const isAbort = (e) => e && e.name === "AbortError";

/* ---- the API ------------------------------------------------------------------------ */

class ApiError extends Error {
  constructor(message, status, url) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.url = url;
  }
}

/* path is relative to the API (e.g. "Datasets/count"); params' values are
 * strings or JSON values, sent percent-encoded (%20 for spaces). */
function apiUrl(path, params) {
  const url = new URL(path, API_BASE);
  const parts = [];
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null) continue;
    const text = typeof v === "string" ? v : JSON.stringify(v);
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(text)}`);
  }
  url.search = parts.join("&");
  return url;
}

async function api(path, params, signal) {
  const url = apiUrl(path, params);
  let resp;
  try {
    resp = await fetch(url, { signal, headers: { Accept: "application/json" } });
  } catch (e) {
    if (isAbort(e)) throw e;
    throw new ApiError(`the pansift server did not answer (${e.message || e}); ` +
                       "is `pansift serve` still running?", 0, url);
  }
  let body = null;
  try {
    body = await resp.json();
  } catch (e) {
    if (isAbort(e)) throw e;
  }
  if (!resp.ok) {
    const m = isObj(body) && isObj(body.error) && typeof body.error.message === "string"
      ? body.error.message
      : `${resp.status} ${resp.statusText}`.trim();
    throw new ApiError(m, resp.status, url);
  }
  if (body === null) throw new ApiError("the server's answer is not JSON", resp.status, url);
  return body;
}

function recordApiUrl(model, pid) {
  return apiUrl(`${MODELS[model].path}/${encodeURIComponent(pid)}`).href;
}

/* ---- messages (errors) -------------------------------------------------------------- */

const messages = new Map();  /* source -> {text, url} */

function setMessage(source, text, url) {
  if (text) messages.set(source, { text, url });
  else messages.delete(source);
  renderMessages();
}

function setError(source, prefix, e) {
  const detail = e instanceof ApiError
    ? (e.status ? `${e.message} (HTTP ${e.status})` : e.message)
    : String((e && e.message) || e);
  setMessage(source, `${prefix}: ${detail}`, e instanceof ApiError ? e.url : null);
}

function renderMessages() {
  els.message.replaceChildren();
  if (!messages.size) return;
  const list = h("ul");
  for (const { text, url } of messages.values())
    list.append(h("li", null, text, url && [" ", h("a", { href: url }, "The request")]));
  els.message.append(list, h("button", {
    type: "button", class: "button button-small",
    onclick: () => { messages.clear(); renderMessages(); },
  }, "Dismiss"));
}

/* ---- the view's state, in the URL --------------------------------------------------- */

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

function readState() {
  const p = new URLSearchParams(location.search);
  const get = (k) => p.get(k) || "";
  const model = MODEL_KEYS.includes(get("model")) ? get("model") : "datasets";
  const ds = model === "datasets";
  const date = (k) => (ds && DATE_RE.test(get(k)) ? get(k) : "");
  const instrument = ds ? get("instrument") : "";
  const show = MODEL_KEYS.includes(get("show")) && get("pid") ? get("show") : "";
  return {
    q: get("q").trim(),
    model,
    instrument,
    facility: ds && !instrument ? get("facility") : "",
    from: date("from"),
    to: date("to"),
    type: model === "documents" && isDocType(get("type")) ? get("type") : "",
    page: Math.min(Math.max(parseInt(get("page"), 10) || 1, 1), 1000000),
    show,
    pid: show ? get("pid") : "",
  };
}

/* The page's URL (relative) for a state; defaults are left out. */
function href(s) {
  const p = new URLSearchParams();
  if (s.q) p.set("q", s.q);
  if (s.model !== "datasets") p.set("model", s.model);
  if (s.model === "datasets") {
    if (s.instrument) p.set("instrument", s.instrument);
    else if (s.facility) p.set("facility", s.facility);
    if (s.from) p.set("from", s.from);
    if (s.to) p.set("to", s.to);
  }
  if (s.model === "documents" && s.type) p.set("type", s.type);
  if (s.page > 1) p.set("page", String(s.page));
  if (s.show && s.pid) {
    p.set("show", s.show);
    p.set("pid", s.pid);
  }
  const qs = p.toString();
  return qs ? `?${qs}` : location.pathname;
}

const searchOnly = (s) => ({ ...s, show: "", pid: "" });
const withDetail = (s, model, pid) => ({ ...s, show: model, pid });
const searchKey = (s) =>
  JSON.stringify([s.q, s.model, s.instrument, s.facility, s.from, s.to, s.type, s.page]);

function readForm() {
  const model = MODEL_KEYS.includes(els.model.value) ? els.model.value : "datasets";
  const ds = model === "datasets";
  const inst = els.instrument.value;
  return {
    q: els.q.value.trim(),
    model,
    instrument: ds && inst.startsWith("i:") ? inst.slice(2) : "",
    facility: ds && inst.startsWith("f:") ? inst.slice(2) : "",
    from: ds ? els.from.value : "",
    to: ds ? els.to.value : "",
    type: model === "documents" && isDocType(els.type.value) ? els.type.value : "",
    page: 1, show: "", pid: "",
  };
}

function fillForm(s) {
  els.q.value = s.q;
  els.model.value = s.model;
  setInstrumentValue(s);
  els.from.value = s.from;
  els.to.value = s.to;
  els.type.value = s.type;
  syncDateLimits();
  showFilters(s.model);
}

function showFilters(model) {
  els.filtersDatasets.hidden = model !== "datasets";
  els.filtersDocuments.hidden = model !== "documents";
}

/* The end date cannot be before the start date; the browser's own form
 * validation says so. */
function syncDateLimits() {
  els.to.min = els.from.value;
  els.from.max = els.to.value;
}

/* The where clause of a state: the conditions, combined with "and". */
function buildWhere(s) {
  const c = [];
  if (s.q) c.push({ text: s.q });
  if (s.model === "datasets") {
    if (s.instrument) c.push({ instrumentId: s.instrument });
    else if (s.facility) c.push({ instrumentId: { inq: facilityPids.get(s.facility) || [] } });
    if (s.from) c.push({ creationDate: { gte: s.from } });
    if (s.to) c.push({ creationDate: { lte: `${s.to}T23:59:59.999Z` } });
  }
  if (s.model === "documents" && s.type) c.push({ type: s.type });
  if (c.length === 0) return null;
  return c.length === 1 ? c[0] : { and: c };
}

function noun(s, n) {
  if (s.model === "documents" && s.type) return n === 1 ? s.type : `${s.type}s`;
  const m = MODELS[s.model];
  return n === 1 ? m.one : m.many;
}

function describeSearch(s) {
  const bits = [];
  if (s.q) bits.push(`matching “${s.q}”`);
  if (s.instrument) bits.push(`from ${instrumentLabel(s.instrument)}`);
  else if (s.facility) bits.push(`from ${s.facility}`);
  if (s.from && s.to) bits.push(`created ${s.from} to ${s.to}`);
  else if (s.from) bits.push(`created since ${s.from}`);
  else if (s.to) bits.push(`created until ${s.to}`);
  return bits.join(", ");
}

/* ---- instruments (the filter's options) --------------------------------------------- */

const instrumentsByPid = new Map();  /* pid -> {name, facility} */
const facilityPids = new Map();      /* facility -> [pid] */

function instrumentLabel(pid) {
  const i = instrumentsByPid.get(pid);
  if (!i) return pid;
  return i.facility ? `${i.name || pid} (${i.facility})` : i.name || pid;
}

/* Resolves to true when the list is in, false when it could not be had. */
const instrumentsReady = loadInstruments();

async function loadInstruments() {
  const all = [];
  try {
    for (let skip = 0; skip < 100 * INSTRUMENT_PAGE; skip += INSTRUMENT_PAGE) {
      const page = await api("Instruments", {
        filter: {
          fields: { pid: true, name: true, facility: true },
          order: ["pid ASC"],  /* stable pages; grouped and sorted below */
          limit: INSTRUMENT_PAGE, skip,
        },
      });
      if (!Array.isArray(page)) break;
      all.push(...page);
      if (page.length < INSTRUMENT_PAGE) break;
    }
  } catch (e) {
    setError("instruments", "The list of instruments could not be loaded", e);
    return false;
  }
  const groups = new Map();
  for (const i of all) {
    if (!isObj(i) || !str(i.pid)) continue;
    const facility = str(i.facility);
    const rec = { pid: str(i.pid), name: str(i.name), facility };
    instrumentsByPid.set(rec.pid, rec);
    if (!groups.has(facility)) groups.set(facility, []);
    groups.get(facility).push(rec);
  }
  const cmp = (a, b) => a.localeCompare(b, "en", { numeric: true, sensitivity: "base" });
  const sel = els.instrument;
  sel.replaceChildren(h("option", { value: "" }, "Any instrument"));
  for (const facility of [...groups.keys()].sort(cmp)) {
    const list = groups.get(facility).sort((a, b) => cmp(a.name || a.pid, b.name || b.pid));
    const group = h("optgroup", { label: facility || "Facility not given" });
    if (facility) {
      facilityPids.set(facility, list.map((i) => i.pid));
      group.append(h("option", { value: `f:${facility}` },
                     `All ${facility} instruments (${list.length})`));
    }
    for (const i of list) group.append(h("option", { value: `i:${i.pid}` }, i.name || i.pid));
    sel.append(group);
  }
  setInstrumentValue(readState());
  return true;
}

/* Selects the state's instrument or facility; one that is not in the list
 * (an old bookmark, or the list is not in yet) gets an option of its own. */
function setInstrumentValue(s) {
  const sel = els.instrument;
  const want = s.instrument ? `i:${s.instrument}` : s.facility ? `f:${s.facility}` : "";
  sel.querySelector("optgroup[data-extra]")?.remove();
  if (want && ![...sel.options].some((o) => o.value === want)) {
    sel.append(h("optgroup", { label: "Not in the instrument list", "data-extra": true },
                 h("option", { value: want }, s.instrument || `All ${s.facility} instruments`)));
  }
  sel.value = want;
}

/* ---- header: counts and health ------------------------------------------------------ */

async function loadSummary() {
  const items = [
    { path: "Datasets/count", one: "dataset", many: "datasets", to: { model: "datasets" } },
    { path: "Documents/count", where: { type: "proposal" }, one: "proposal", many: "proposals",
      to: { model: "documents", type: "proposal" } },
    { path: "Documents/count", where: { type: "publication" }, one: "publication",
      many: "publications", to: { model: "documents", type: "publication" } },
    { path: "Instruments/count", one: "instrument", many: "instruments",
      to: { model: "instruments" } },
  ];
  const got = await Promise.allSettled(
    items.map((i) => api(i.path, i.where ? { where: i.where } : null)));
  const list = h("ul", { class: "summary-list", "aria-label": "The catalogue" });
  let failed = null;
  got.forEach((r, n) => {
    const it = items[n];
    if (r.status === "fulfilled" && isObj(r.value) && isNum(r.value.count)) {
      const to = { ...readState(), q: "", instrument: "", facility: "", from: "", to: "", type: "",
                   page: 1, show: "", pid: "", ...it.to };
      list.append(h("li", null, h("a", { href: href(to), "data-nav": true, "data-focus": "results" },
                                   h("strong", null, fmtInt(r.value.count)), ` ${r.value.count === 1 ? it.one : it.many}`)));
    } else {
      list.append(h("li", null, muted(`? ${it.many}`)));
      failed ??= r.reason;
    }
  });
  els.summary.replaceChildren(list);
  if (failed) setError("summary", "The catalogue could not be counted", failed);
}

async function loadHealth() {
  try {
    const resp = await fetch(HEALTH_URL, { headers: { Accept: "application/json" } });
    const b = await resp.json();
    const idx = isObj(b.index) ? b.index : {};
    const bits = [`Server ${str(b.status) || (resp.ok ? "ok" : "not ok")}`];
    if (str(b.version)) bits[0] += `, pansift ${b.version}`;
    if (isNum(idx.documents)) bits.push(`${plural(idx.documents, "record", "records")} indexed`);
    if (isNum(idx.lag))
      bits.push(idx.lag === 0 ? "index up to date"
                              : `${plural(idx.lag, "change", "changes")} waiting to be indexed`);
    els.health.textContent = `${bits.join(" · ")}.`;
  } catch {
    els.health.textContent = "The server's health is unknown (no answer from /health).";
  }
}

/* ---- results ------------------------------------------------------------------------ */

/* What is on the page: the search's key, the open detail's key and state. */
const shown = { search: null, detail: null, detailState: null };
let searchCtl = null;

async function runSearch(s, opts) {
  searchCtl?.abort();
  const ctl = (searchCtl = new AbortController());
  const m = MODELS[s.model];
  els.heading.textContent = s.model === "documents" && s.type
    ? `${DOC_TYPES[s.type]}s` : m.path;
  setLoading(true);
  try {
    if (s.facility && !facilityPids.has(s.facility)) {
      /* A facility stands for its instruments: their list must be in. */
      const loaded = await instrumentsReady;
      if (ctl.signal.aborted) return;
      if (!facilityPids.has(s.facility))
        throw new Error(loaded ? `there is no facility “${s.facility}” in the instrument list`
                               : "the facility filter needs the list of instruments, which could not be loaded");
    }
    const where = buildWhere(s);
    const filter = { limit: PAGE_SIZE, skip: (s.page - 1) * PAGE_SIZE };
    if (where) filter.where = where;
    if (m.listInclude) filter.include = m.listInclude;
    const order = m.order || (s.q ? null : m.browseOrder);
    if (order) filter.order = order;
    const [rows, counted] = await Promise.all([
      api(m.path, { filter }, ctl.signal),
      api(`${m.path}/count`, where ? { where } : null, ctl.signal),
    ]);
    if (ctl.signal.aborted) return;
    setMessage("search", null);
    renderResults(s, arr(rows), isObj(counted) && isNum(counted.count) ? counted.count : 0);
  } catch (e) {
    if (isAbort(e) || ctl.signal.aborted) return;
    setError("search", "The search failed", e);
    shown.search = null;  /* the same search again is a retry */
    els.list.replaceChildren();
    els.pager.hidden = true;
    els.status.textContent = "The search failed; see the message above.";
  } finally {
    if (!ctl.signal.aborted) setLoading(false);
  }
  if (!ctl.signal.aborted && opts.focus === "results") focusResults();
}

function setLoading(on) {
  els.spinner.hidden = !on;
  els.results.classList.toggle("is-loading", on);
  if (on) {
    els.results.setAttribute("aria-busy", "true");
    els.status.textContent = "Searching…";
  } else {
    els.results.removeAttribute("aria-busy");
  }
}

function focusResults() {
  els.heading.focus({ preventScroll: true });
  els.results.scrollIntoView({ block: "start" });
}

function renderResults(s, rows, count) {
  const skip = (s.page - 1) * PAGE_SIZE;
  const what = describeSearch(s);
  const last = Math.max(1, Math.ceil(count / PAGE_SIZE));
  const row = { datasets: datasetRow, documents: documentRow, instruments: instrumentRow }[s.model];
  els.list.replaceChildren(...rows.filter(isObj).map((r) => row(s, r)));
  els.list.start = skip + 1;

  if (count === 0) {
    els.status.textContent = `No ${noun(s, 0)}${what ? ` ${what}` : ""}.`;
    const loose = { ...searchOnly(s), instrument: "", facility: "", from: "", to: "", type: "", page: 1 };
    const hasFilters = s.instrument || s.facility || s.from || s.to || s.type;
    els.list.append(h("li", { class: "empty" },
      "Nothing found. Try fewer or other words",
      hasFilters ? [", or ", h("a", { href: href(loose), "data-nav": true }, "drop the filters")] : "",
      "."));
  } else if (rows.length === 0) {
    els.status.textContent = `Page ${s.page} is past the end: there ${count === 1 ? "is" : "are"} ` +
      `${plural(count, noun(s, 1), noun(s, 2))}${what ? ` ${what}` : ""} on ${plural(last, "page", "pages")}.`;
    els.list.append(h("li", { class: "empty" },
      h("a", { href: href({ ...searchOnly(s), page: last }), "data-nav": true, "data-focus": "results" },
        "Go to the last page"), "."));
  } else {
    els.status.textContent = `Showing ${fmtInt(skip + 1)}–${fmtInt(skip + rows.length)} of ` +
      `${plural(count, noun(s, 1), noun(s, 2))}${what ? ` ${what}` : ""}`;
  }
  renderPager(s, count, last);
  markCurrent(s);
}

function renderPager(s, count, last) {
  els.pager.replaceChildren();
  els.pager.hidden = count <= PAGE_SIZE && s.page === 1;
  if (els.pager.hidden) return;
  const link = (page, label, rel, enabled) => enabled
    ? h("a", { class: "button", href: href({ ...searchOnly(s), page }), rel,
               "data-nav": true, "data-focus": "results" }, label)
    : h("span", { class: "button", "aria-disabled": "true" }, label);
  els.pager.append(
    link(Math.min(s.page - 1, last), "← Previous", "prev", s.page > 1),
    h("span", { class: "pager-info" }, `Page ${fmtInt(s.page)} of ${fmtInt(last)}`),
    link(s.page + 1, "Next →", "next", s.page < last));
}

/* The title link that opens a record's detail, kept in the search's state. */
function recordLink(s, model, pid, text, focus = "detail") {
  return h("a", {
    href: href(withDetail(s, model, pid)), "data-nav": true, "data-focus": focus,
    "data-model": model, "data-pid": pid, class: "record-link",
  }, text);
}

function jsonLink(model, pid, title) {
  return h("a", { href: recordApiUrl(model, pid), class: "json-link" },
           "JSON", vh(` record of ${title}`));
}

function metaLine(parts) {
  const items = parts.filter(Boolean);
  return items.length ? h("p", { class: "meta" }, items.map((p) => h("span", null, p))) : null;
}

function rowFoot(model, pid, title) {
  return h("p", { class: "row-foot" }, h("code", { class: "pid" }, pid), " ", jsonLink(model, pid, title));
}

function techniqueLink(t) {
  const name = str(t.name) || str(t.pid) || "technique";
  const iri = safeHttpUrl(t.panetId) || safeHttpUrl(t.pid);
  return iri ? h("a", { href: iri, title: `PaNET: ${iri}` }, name) : h("span", null, name);
}

function instrumentText(inst, id) {
  if (isObj(inst)) {
    const name = str(inst.name) || str(inst.pid);
    return str(inst.facility) ? `${name} · ${inst.facility}` : name;
  }
  return str(id) ? instrumentLabel(str(id)) : "";
}

function datasetRow(s, d) {
  const pid = str(d.pid);
  const title = str(d.title) || pid || "(untitled dataset)";
  const inst = instrumentText(d.instrument, d.instrumentId);
  const techs = arr(d.techniques).filter(isObj);
  return h("li", { class: "result" },
    h("h3", { class: "result-title" }, pid ? recordLink(s, "datasets", pid, title) : title),
    metaLine([
      inst && [vh("Instrument: "), inst],
      d.creationDate && [vh("Created: "), dateEl(d.creationDate)],
      isNum(d.size) && h("span", { title: `${fmtInt(d.size)} bytes` }, vh("Size: "), formatBytes(d.size)),
    ]),
    techs.length > 0 && h("ul", { class: "tags", "aria-label": "Techniques" },
                          techs.map((t) => h("li", null, techniqueLink(t)))),
    pid && rowFoot("datasets", pid, title));
}

function typeBadge(type) {
  const t = str(type);
  return h("span", { class: `badge badge-${isDocType(t) ? t : "other"}` },
           isDocType(t) ? DOC_TYPES[t] : t || "Document");
}

function documentDates(doc) {
  const start = str(doc.startDate).slice(0, 10);
  const end = str(doc.endDate).slice(0, 10);
  const release = str(doc.releaseDate).slice(0, 10);
  const bits = [];
  if (start) bits.push(end && end !== start ? `${start} – ${end}` : start);
  else if (end) bits.push(`until ${end}`);
  if (release && release !== start) bits.push(`released ${release}`);
  return bits.join(", ");
}

function documentRow(s, doc) {
  const pid = str(doc.pid);
  const title = str(doc.title) || pid || "(untitled document)";
  const doi = doiUrl(doc.doi);
  const dates = documentDates(doc);
  const keywords = arr(doc.keywords).map(str).filter(Boolean);
  const summary = str(doc.summary);
  return h("li", { class: "result" },
    h("h3", { class: "result-title" }, typeBadge(doc.type), " ",
      pid ? recordLink(s, "documents", pid, title) : title),
    metaLine([
      doi && h("a", { href: doi }, vh("DOI: "), `doi:${str(doc.doi)}`),
      dates && [vh("Dates: "), dates],
    ]),
    summary && h("p", { class: "snippet" }, summary),
    keywords.length > 0 && h("ul", { class: "tags tags-plain", "aria-label": "Keywords" },
                             keywords.map((k) => h("li", null, k))),
    pid && rowFoot("documents", pid, title));
}

function instrumentRow(s, inst) {
  const pid = str(inst.pid);
  const name = str(inst.name) || pid || "(unnamed instrument)";
  return h("li", { class: "result" },
    h("h3", { class: "result-title" }, pid ? recordLink(s, "instruments", pid, name) : name),
    metaLine([str(inst.facility) && [vh("Facility: "), inst.facility]]),
    pid && rowFoot("instruments", pid, name));
}

/* Marks the result whose detail is open. */
function markCurrent(s) {
  for (const a of els.list.querySelectorAll("a.record-link")) {
    if (a.dataset.model === s.show && a.dataset.pid === s.pid) a.setAttribute("aria-current", "true");
    else a.removeAttribute("aria-current");
  }
}

/* ---- the detail panel --------------------------------------------------------------- */

let detailCtl = null;

async function fetchDetail(model, pid, signal) {
  const m = MODELS[model];
  const base = `${m.path}/${encodeURIComponent(pid)}`;
  const filter = m.detailInclude ? { filter: { include: m.detailInclude } } : null;
  if (model === "datasets") {
    /* Files come from their own endpoint: a dataset may have very many. */
    const [rec, files, nfiles] = await Promise.all([
      api(base, filter, signal),
      api(`${base}/files`, { filter: { limit: FILES_SHOWN } }, signal),
      api(`${base}/files/count`, null, signal),
    ]);
    return { rec, files: arr(files), nfiles: isNum(nfiles?.count) ? nfiles.count : null };
  }
  if (model === "instruments") {
    const [rec, n] = await Promise.all([
      api(base, filter, signal),
      api("Datasets/count", { where: { instrumentId: pid } }, signal),
    ]);
    return { rec, ndatasets: isNum(n?.count) ? n.count : null };
  }
  return { rec: await api(base, filter, signal) };
}

async function openDetail(s, opts) {
  detailCtl?.abort();
  const ctl = (detailCtl = new AbortController());
  const m = MODELS[s.show];
  els.layout.classList.add("has-detail");
  els.detail.hidden = false;
  els.detail.setAttribute("aria-busy", "true");
  els.detailKind.textContent = m.kind;
  els.detailTitle.textContent = s.pid;
  els.detailPid.textContent = s.pid;
  els.detailJson.href = recordApiUrl(s.show, s.pid);
  els.detailClose.href = href(searchOnly(s));
  els.detailBody.replaceChildren(h("p", { class: "loading" }, h("span", { class: "spinner" }), "Loading…"));
  if (opts.focus === "detail") focusDetail();
  try {
    const got = await fetchDetail(s.show, s.pid, ctl.signal);
    if (ctl.signal.aborted) return;
    setMessage("detail", null);
    renderDetail(s, got);
  } catch (e) {
    if (isAbort(e) || ctl.signal.aborted) return;
    setError("detail", `The ${m.one} ${s.pid} could not be loaded`, e);
    shown.detail = null;  /* opening it again is a retry */
    els.detailBody.replaceChildren(h("p", { class: "detail-error" },
      e instanceof ApiError && e.status === 404
        ? `There is no ${m.one} with the pid ${s.pid}.`
        : "The record could not be loaded; see the message above."));
  } finally {
    if (!ctl.signal.aborted) els.detail.removeAttribute("aria-busy");
  }
}

function focusDetail() {
  els.detailTitle.focus();
}

function closeDetail(prev) {
  detailCtl?.abort();
  detailCtl = null;
  const hadFocus = els.detail.contains(document.activeElement) ||
                   document.activeElement === document.body;
  els.detail.hidden = true;
  els.layout.classList.remove("has-detail");
  els.detailBody.replaceChildren();
  setMessage("detail", null);
  if (hadFocus && prev) {
    const back = [...els.list.querySelectorAll("a.record-link")]
      .find((a) => a.dataset.model === prev.show && a.dataset.pid === prev.pid);
    if (back) back.focus();
    else els.heading.focus();
  }
}

function section(title, ...content) {
  return h("section", { class: "detail-section" }, h("h3", null, title), content);
}

/* A table in a scrollable, keyboard-reachable box; columns: [header, cell(row)]. */
function table(caption, columns, rows) {
  return h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": caption },
    h("table", { class: "data" },
      h("caption", { class: "vh" }, caption),
      h("thead", null, h("tr", null, columns.map(([head]) => h("th", { scope: "col" }, head)))),
      h("tbody", null, rows.map((r) => h("tr", null, columns.map(([, cell]) => h("td", null, cell(r))))))));
}

function none(text = "None recorded.") {
  return h("p", { class: "muted" }, text);
}

/* One field's value, for the "all fields" table. */
function fieldValue(s, key, v) {
  if (v === null || v === undefined || v === "") return muted("—");
  if (key === "doi" && typeof v === "string") {
    const url = doiUrl(v);
    return url ? h("a", { href: url }, v) : v;
  }
  if (key === "instrumentId" && typeof v === "string")
    return recordLink(s, "instruments", v, instrumentLabel(v));
  if (typeof v === "boolean") return v ? "yes" : "no";
  if (key === "size" && isNum(v)) return `${formatBytes(v)} (${fmtInt(v)} bytes)`;
  if (typeof v === "number") return String(v);
  if (typeof v === "string") {
    if (/Date$/.test(key)) return dateEl(v, true);
    const url = /^https?:\/\//i.test(v) ? safeHttpUrl(v) : null;
    return url ? h("a", { href: url }, v) : v;
  }
  if (Array.isArray(v) && v.every((x) => typeof x !== "object" || x === null))
    return v.length ? v.map((x) => String(x)).join(", ") : muted("none");
  return h("pre", { class: "json" }, JSON.stringify(v, null, 2));
}

function fieldsTable(s, m, rec) {
  const keys = Object.keys(rec).filter((k) => !m.relations.includes(k));
  return h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "All fields" },
    h("table", { class: "fields" },
      h("caption", { class: "vh" }, "All fields"),
      h("tbody", null, keys.map((k) =>
        h("tr", null, h("th", { scope: "row" }, k), h("td", null, fieldValue(s, k, rec[k])))))));
}

function renderDetail(s, got) {
  const m = MODELS[s.show];
  const rec = isObj(got.rec) ? got.rec : {};
  const pid = str(rec.pid) || s.pid;
  els.detailKind.textContent = s.show === "documents" && isDocType(rec.type) ? DOC_TYPES[rec.type] : m.kind;
  els.detailTitle.textContent = str(rec.title) || str(rec.name) || pid;
  els.detailPid.textContent = pid;
  const body = [section("All fields", fieldsTable(s, m, rec))];
  if (s.show === "datasets") body.push(...datasetSections(s, rec, got));
  else if (s.show === "documents") body.push(...documentSections(s, rec));
  else body.push(...instrumentSections(s, rec, got));
  els.detailBody.replaceChildren(...body);
}

function parameterTable(params) {
  const list = arr(params).filter(isObj);
  if (!list.length) return none();
  return table("Parameters", [
    ["Name", (p) => str(p.name)],
    ["Value", (p) => (isObj(p.value) || Array.isArray(p.value) ? JSON.stringify(p.value)
                      : typeof p.value === "boolean" ? String(p.value) : str(p.value))],
    ["Unit", (p) => str(p.unit)],
  ], list);
}

function datasetSections(s, rec, got) {
  const out = [];
  const inst = isObj(rec.instrument) ? rec.instrument : null;
  out.push(section("Instrument", inst && str(inst.pid)
    ? h("p", null, recordLink(s, "instruments", str(inst.pid), str(inst.name) || str(inst.pid)),
        str(inst.facility) ? ` at ${inst.facility}` : "")
    : none()));

  const techs = arr(rec.techniques).filter(isObj);
  out.push(section("Techniques", techs.length
    ? h("ul", { class: "plain-list" }, techs.map((t) =>
        h("li", null, techniqueLink(t), str(t.panetId) ? [" ", muted(str(t.panetId).split("/").pop())] : "")))
    : none()));

  const samples = arr(rec.samples).filter(isObj);
  out.push(section("Samples", samples.length
    ? table("Samples", [
        ["Name", (x) => str(x.name)],
        ["Description", (x) => str(x.description)],
        ["pid", (x) => h("code", { class: "pid" }, str(x.pid))],
      ], samples)
    : none()));

  out.push(section("Parameters", parameterTable(rec.parameters)));

  const files = got.files.filter(isObj);
  const nfiles = got.nfiles ?? files.length;
  const filesUrl = apiUrl(`Datasets/${encodeURIComponent(s.pid)}/files`).href;
  const total = files.reduce((t, f) => t + (isNum(f.size) ? f.size : 0), 0);
  out.push(section(`Files (${fmtInt(nfiles)})`,
    files.length
      ? [
          h("p", { class: "muted" },
            nfiles > files.length ? `The first ${fmtInt(files.length)} of ${fmtInt(nfiles)} files; ` : "",
            nfiles > files.length ? "" : `${formatBytes(total)} in all; `,
            h("a", { href: filesUrl }, "all files as JSON"), "."),
          table("Files", [
            ["Name", (f) => str(f.name)],
            ["Path", (f) => h("code", { class: "path" }, str(f.path))],
            ["Size", (f) => (isNum(f.size) ? h("span", { title: `${fmtInt(f.size)} bytes` }, formatBytes(f.size)) : "")],
          ], files),
        ]
      : none()));

  const docs = arr(rec.documents).filter(isObj);
  out.push(section("Proposals and publications", docs.length
    ? h("ul", { class: "plain-list" }, docs.map((d) => h("li", null, typeBadge(d.type), " ",
        str(d.pid) ? recordLink(s, "documents", str(d.pid), str(d.title) || str(d.pid)) : str(d.title))))
    : none()));
  return out;
}

function personCell(p) {
  if (!isObj(p)) return muted("—");
  const name = str(p.fullName) || [str(p.firstName), str(p.lastName)].filter(Boolean).join(" ") || str(p.id);
  const orcid = orcidUrl(p.orcid) || orcidUrl(p.id);
  return orcid ? [name, " ", h("a", { href: orcid, class: "orcid", title: orcid }, "ORCID", vh(` of ${name}`))] : name;
}

function documentSections(s, rec) {
  const out = [];
  const members = arr(rec.members).filter(isObj);
  out.push(section(`Members (${fmtInt(members.length)})`, members.length
    ? table("Members", [
        ["Role", (x) => str(x.role)],
        ["Name", (x) => personCell(x.person)],
        ["Affiliation", (x) => (isObj(x.affiliation)
          ? [str(x.affiliation.name), str(x.affiliation.city) ? [", ", str(x.affiliation.city)] : ""]
          : "")],
        ["Country", (x) => (isObj(x.affiliation) ? str(x.affiliation.country) : "")],
      ], members)
    : none()));

  out.push(section("Parameters", parameterTable(rec.parameters)));

  const datasets = arr(rec.datasets).filter(isObj);
  const listed = datasets.slice(0, LINKED_SHOWN);
  out.push(section(`Datasets (${fmtInt(datasets.length)})`, datasets.length
    ? [
        datasets.length > listed.length
          ? h("p", { class: "muted" }, `The first ${fmtInt(listed.length)} of ${fmtInt(datasets.length)}.`)
          : null,
        h("ul", { class: "plain-list" }, listed.map((d) => h("li", null,
          str(d.pid) ? recordLink(s, "datasets", str(d.pid), str(d.title) || str(d.pid)) : str(d.title),
          d.creationDate || isNum(d.size)
            ? [" ", muted([str(d.creationDate).slice(0, 10), isNum(d.size) ? formatBytes(d.size) : ""]
                .filter(Boolean).join(", "))]
            : ""))),
      ]
    : none()));
  return out;
}

function instrumentSections(s, rec, got) {
  const pid = str(rec.pid) || s.pid;
  const browse = { ...s, q: "", model: "datasets", instrument: pid, facility: "", from: "", to: "",
                   type: "", page: 1, show: "", pid: "" };
  const n = got.ndatasets;
  return [section("Datasets", n === 0 ? none("No datasets from this instrument.") :
    h("p", null, n === null ? "" : `${plural(n, "dataset", "datasets")} from this instrument. `,
      h("a", { href: href(browse), "data-nav": true, "data-focus": "results" },
        "Browse them"), "."))];
}

/* ---- navigation --------------------------------------------------------------------- */

function render(opts = {}) {
  const s = readState();
  fillForm(s);
  const m = MODELS[s.model];
  document.title = `${s.q ? `“${s.q}” in ` : ""}${m.many}${s.page > 1 ? `, page ${s.page}` : ""} · pansift`;
  const sk = searchKey(s);
  if (opts.refresh) shown.search = null;
  if (sk !== shown.search) {
    shown.search = sk;
    runSearch(s, opts);
  } else {
    markCurrent(s);
    if (opts.focus === "results") focusResults();
  }
  /* The detail's links carry the search's state: a new search redoes it. */
  const dk = s.show ? `${sk}\n${s.show}\n${s.pid}` : "";
  if (dk !== shown.detail) {
    const prev = shown.detailState;
    shown.detail = dk;
    shown.detailState = s.show ? s : null;
    if (s.show) openDetail(s, opts);
    else closeDetail(prev);
  } else if (s.show && opts.focus === "detail") {
    focusDetail();
  }
}

function go(url, opts = {}) {
  const target = new URL(url, location.href);
  if (target.search === location.search && target.pathname === location.pathname) {
    render(opts);
    return;
  }
  history.pushState(null, "", target.pathname + target.search);
  render(opts);
}

/* Links marked data-nav change the view without reloading the page;
 * modified clicks (new tab, new window) keep their usual meaning. */
document.addEventListener("click", (e) => {
  const a = e.target instanceof Element ? e.target.closest("a[data-nav]") : null;
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey)
    return;
  e.preventDefault();
  go(a.getAttribute("href"), { focus: a.dataset.focus || null });
});

els.form.addEventListener("submit", (e) => {
  e.preventDefault();
  if (!els.form.reportValidity()) return;
  go(href(readForm()), { refresh: true });  /* the same search again fetches anew */
});

els.model.addEventListener("change", () => showFilters(els.model.value));
els.from.addEventListener("change", syncDateLimits);
els.to.addEventListener("change", syncDateLimits);

document.addEventListener("keydown", (e) => {
  if (e.key !== "Escape" || els.detail.hidden || e.defaultPrevented) return;
  if (e.target instanceof Element && e.target.closest("input, select, textarea")) return;
  e.preventDefault();
  go(els.detailClose.getAttribute("href"), {});
});

window.addEventListener("popstate", () => render({}));

render({});
loadSummary();
loadHealth();
