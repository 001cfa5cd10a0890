/*
 * app.js: the search page (index.html). The view (query, filters, sort,
 * page, the record open in the detail panel) lives in the URL's query
 * string; render() reads it, asks GET /api/search for one page of results
 * with the facets of the whole result set, and draws the results, the
 * filters (facet values to click, chips to remove), the charts (chart.js),
 * the export links and the paging. Records and whole result sets go into
 * collections through js/collect.js; the detail panel is js/detail.js.
 * Everything that comes from the API reaches the page as text nodes and
 * elements built here, never as HTML (snippets included: js/util.js).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
import {
  $, ApiError, api, apiUrl, arr, doiUrl, fill, fmtInt, formatBytes, h, interceptNavLinks, isAbort,
  isNum, isObj, loadHealth, messageArea, muted, orcidUrl, plural, safeHttpUrl, snippetNodes, str,
  vh, recordApiUrl,
} from "./js/util.js";
import { barChart, chartLibrary } from "./js/charts.js";
import { MODEL_KEYS, detailPanel, modelOf } from "./js/detail.js";
import { MAX_ITEMS, collectionHref, getCollection, openCollectDialog } from "./js/collect.js";

const PAGE_SIZE = 20;
const FACET_LIMIT = 25;   /* values per facet asked for: the charts' top 25 */
const FACET_SHOWN = 8;    /* values per facet listed before "more" */
const EXPORT_LIMIT = 10000;
const MAX_VALUES = 16;    /* values per filter the API takes */

const TYPES = {
  publication: { one: "publication", many: "publications", label: "Publication", plural: "Publications" },
  proposal: { one: "proposal", many: "proposals", label: "Proposal", plural: "Proposals" },
  dataset: { one: "dataset", many: "datasets", label: "Dataset", plural: "Datasets" },
  instrument: { one: "instrument", many: "instruments", label: "Instrument", plural: "Instruments" },
};
const STATUSES = ["accepted", "refused", "submitted", "withdrawn", "scheduled", "completed"];
const SORTS = ["relevance", "date", "-date", "citations", "title"];

/* The filters: the facet that offers their values, the parameter (in the
 * URL and the API), a title for chips and lists. A keyword has no filter of
 * its own: it goes into the query as a phrase (docs/api/search.md); a
 * journal has none at all (its facet is only shown). */
const FILTERS = [
  { facet: "type", param: "type", title: "Kind" },
  { facet: "status", param: "status", title: "Status" },
  { facet: "doctype", param: "doctype", title: "Document type" },
  { facet: "facility", param: "facility", title: "Facility", list: true },
  { facet: "instrument", param: "instrument", title: "Instrument", list: true },
  { facet: "technique", param: "technique", title: "Technique", list: true },
  { facet: "institution", param: "institution", title: "Institution", list: true },
  { facet: "country", param: "country", title: "Country", list: true },
  { facet: "author", param: "person", title: "Author", list: true },
  { facet: "keyword", param: null, title: "Keyword", list: true, phrase: true },
  { facet: "journal", param: null, title: "Journal", list: true },
];
const PARAMS = FILTERS.map((f) => f.param).filter(Boolean);
const filterOf = (param) => FILTERS.find((f) => f.param === param);

const els = {
  form: $("search-form"), q: $("q"), sort: $("sort"), qError: $("q-error"),
  message: $("message"), chips: $("chips"), layout: $("layout"), facets: $("facets"),
  facetType: $("facet-type"), facetStatus: $("facet-status"), facetDoctype: $("facet-doctype"),
  facetLists: $("facet-lists"), yearFrom: $("year-from"), yearTo: $("year-to"),
  yearApply: $("year-apply"), results: $("results"), heading: $("results-heading"),
  spinner: $("spinner"), status: $("status"), toolbar: $("toolbar"), exports: $("exports"),
  collectAll: $("collect-all"), charts: $("charts"), chartLog: $("chart-log"),
  list: $("result-list"), pager: $("pager"), detail: $("detail"), detailClose: $("detail-close"),
  detailKind: $("detail-kind"), detailTitle: $("detail-title"), detailPid: $("detail-pid"),
  detailJson: $("detail-json"), detailBody: $("detail-body"), summary: $("summary"),
  health: $("health"),
};
const messages = messageArea(els.message);

/* ---- the view's state, in the URL -------------------------------------------------------- */

const YEAR_RE = /^\d{1,4}$/;

function emptyFilters() {
  return Object.fromEntries(PARAMS.map((k) => [k, []]));
}

function readState() {
  const p = new URLSearchParams(location.search);
  const one = (k) => (p.get(k) || "").trim();
  const filters = emptyFilters();
  for (const k of PARAMS)
    filters[k] = [...new Set(p.getAll(k).map((v) => v.trim()).filter(Boolean))].slice(0, MAX_VALUES);
  const show = MODEL_KEYS.includes(one("show")) && one("pid") ? one("show") : "";
  return {
    q: one("q"),
    filters,
    year_from: YEAR_RE.test(one("year_from")) ? one("year_from") : "",
    year_to: YEAR_RE.test(one("year_to")) ? one("year_to") : "",
    collection: one("collection"),
    sort: SORTS.includes(one("sort")) ? one("sort") : "",
    page: Math.min(Math.max(parseInt(one("page"), 10) || 1, 1), 1000000),
    log: one("log") === "1",
    show,
    pid: show ? one("pid") : "",
  };
}

/* The page's URL (relative) for a state; defaults are left out. */
function href(s) {
  const p = new URLSearchParams();
  if (s.q) p.set("q", s.q);
  for (const k of PARAMS) for (const v of s.filters[k] || []) p.append(k, v);
  if (s.year_from) p.set("year_from", s.year_from);
  if (s.year_to) p.set("year_to", s.year_to);
  if (s.collection) p.set("collection", s.collection);
  if (s.sort) p.set("sort", s.sort);
  if (s.page > 1) p.set("page", String(s.page));
  if (s.log) p.set("log", "1");
  if (s.show && s.pid) {
    p.set("show", s.show);
    p.set("pid", s.pid);
  }
  const qs = p.toString();
  return qs ? `?${qs}` : location.pathname;
}

/* A new search from s: page 1, no record open. */
const fresh = (s, change) => ({ ...s, page: 1, show: "", pid: "", ...change });
const withFilters = (s, param, values) => fresh(s, { filters: { ...s.filters, [param]: values } });
const toggled = (s, param, value) => {
  const cur = s.filters[param] || [];
  return withFilters(s, param, cur.includes(value) ? cur.filter((v) => v !== value)
                                                   : [...cur, value].slice(-MAX_VALUES));
};
/* A keyword as a phrase of the query: added, or removed when it is there. */
const phraseOf = (v) => `"${v.replace(/"/g, " ").replace(/\s+/g, " ").trim()}"`;
const hasPhrase = (s, v) => s.q.includes(phraseOf(v));
const phraseToggled = (s, v) => {
  const p = phraseOf(v);
  const q = s.q.includes(p) ? s.q.split(p).join(" ").replace(/\s+/g, " ").trim()
                            : (s.q ? `${s.q} ${p}` : p);
  return fresh(s, { q, sort: !q && s.sort === "relevance" ? "" : s.sort });
};
const searchHref = (params) => href(fresh(readState(), {
  q: "", filters: { ...emptyFilters(), ...params }, year_from: "", year_to: "", collection: "", sort: "",
}));
const recordHref = (s, model, pid) => href({ ...s, show: model, pid });
const searchOnly = (s) => ({ ...s, show: "", pid: "" });

/* The parameters of GET /api/search for a state (no paging). */
function apiParams(s) {
  return {
    q: s.q || undefined, ...s.filters, year_from: s.year_from, year_to: s.year_to,
    collection: s.collection, sort: s.sort,
  };
}
const searchKey = (s) => JSON.stringify([apiParams(s), s.page]);
const hasFilters = (s) => PARAMS.some((k) => s.filters[k].length) || s.year_from || s.year_to || s.collection;
const defaultSort = (s) => (s.q ? "relevance" : "date");

function fillForm(s) {
  els.q.value = s.q;
  els.sort.value = s.sort || defaultSort(s);
  els.sort.querySelector("option[value=relevance]").disabled = !s.q;
  els.yearFrom.value = s.year_from;
  els.yearTo.value = s.year_to;
  els.chartLog.checked = s.log;
}

/* ---- labels of filter values ------------------------------------------------------------- */

/* Facets give each value a label (an instrument's name for its pid...);
 * chips need them later, after a reload too: kept for the tab. */
const LABELS_KEY = "pansift-labels";
const labels = new Map();
try {
  for (const [k, v] of JSON.parse(sessionStorage.getItem(LABELS_KEY) || "[]")) labels.set(k, v);
} catch {
  /* none kept */
}
let labelsDirty = false;

function learnLabel(param, value, label) {
  if (!value || !label || label === value) return;
  const k = `${param}\t${value}`;
  if (labels.get(k) === label) return;
  labels.delete(k);
  labels.set(k, label);
  while (labels.size > 500) labels.delete(labels.keys().next().value);
  labelsDirty = true;
}

function saveLabels() {
  if (!labelsDirty) return;
  labelsDirty = false;
  try {
    sessionStorage.setItem(LABELS_KEY, JSON.stringify([...labels]));
  } catch {
    /* not kept */
  }
}

function labelOf(param, value) {
  if (param === "type") return TYPES[value]?.plural ?? value;
  return labels.get(`${param}\t${value}`) || value;
}

/* ---- the header's counts ----------------------------------------------------------------- */

async function loadSummary() {
  const list = h("ul", { class: "summary-list", "aria-label": "The catalogue" });
  const item = (type, n) => h("li", null, h("a", {
    href: searchHref({ type: [type] }), "data-nav": true, "data-focus": "results",
  }, h("strong", null, fmtInt(n)), ` ${n === 1 ? TYPES[type].one : TYPES[type].many}`));
  try {
    /* One search for everything, its type facet has the four counts. */
    const b = await api("search", { limit: 0, facets: "type", facet_limit: 10 });
    const got = new Map(arr(b?.facets?.type).filter(isObj).map((v) => [str(v.value), Number(v.count) || 0]));
    if (!got.size) throw new Error("no type facet");
    for (const t of Object.keys(TYPES)) list.append(item(t, got.get(t) || 0));
  } catch {
    /* An older server: the PaN API's counts. */
    const items = [
      ["dataset", "Datasets/count", null], ["proposal", "Documents/count", { type: "proposal" }],
      ["publication", "Documents/count", { type: "publication" }], ["instrument", "Instruments/count", null],
    ];
    const got = await Promise.allSettled(items.map(([, path, where]) => api(path, where ? { where } : null)));
    got.forEach((r, i) => {
      const t = items[i][0];
      list.append(r.status === "fulfilled" && isNum(r.value?.count)
        ? item(t, r.value.count) : h("li", null, muted(`? ${TYPES[t].many}`)));
    });
  }
  els.summary.replaceChildren(list);
}

/* ---- searching ------------------------------------------------------------------------------ */

const shown = { search: null, detail: null, detailState: null, answer: null, state: null };
let searchCtl = null;
let searchesShown = 0;

async function runSearch(s, opts) {
  searchCtl?.abort();
  const ctl = (searchCtl = new AbortController());
  setLoading(true);
  try {
    const b = await api("search", {
      ...apiParams(s), limit: PAGE_SIZE, skip: (s.page - 1) * PAGE_SIZE, facet_limit: FACET_LIMIT,
    }, { signal: ctl.signal });
    if (ctl.signal.aborted) return;
    messages.clear("search");
    showQueryError(null);
    shown.answer = isObj(b) ? b : {};
    shown.state = s;
    renderAnswer(s, shown.answer);
  } catch (e) {
    if (isAbort(e) || ctl.signal.aborted) return;
    shown.search = null;  /* the same search again is a retry */
    shown.answer = null;
    if (e instanceof ApiError && e.status === 400 && isObj(e.detail) && e.detail.code === "INVALID_QUERY") {
      messages.clear("search");
      showQueryError(e.detail);
    } else {
      showQueryError(null);
      messages.error("search", "The search failed", e);
    }
    els.list.replaceChildren();
    els.pager.hidden = true;
    els.toolbar.hidden = true;
    els.status.textContent = "The search failed; see the message above.";
    renderCharts(s, null);
  } finally {
    if (!ctl.signal.aborted) setLoading(false);
  }
  if (ctl.signal.aborted) return;
  /* How many searches have been shown (the browser tests wait for it). */
  document.body.dataset.searches = String(++searchesShown);
  if (opts.focus === "results") focusResults();
}

/* A malformed query: the message, and the query with a caret under the
 * fault (the server's excerpt); the box gets the fault selected. */
function showQueryError(err) {
  if (!err) {
    els.qError.hidden = true;
    els.qError.replaceChildren();
    els.q.removeAttribute("aria-invalid");
    return;
  }
  const pos = Number.isInteger(err.position) ? err.position : null;
  fill(els.qError,
    h("p", null, h("strong", null, "The query cannot be read: "), str(err.message) || "malformed query"),
    str(err.excerpt) ? h("pre", { class: "q-excerpt", "aria-label": "Where" }, str(err.excerpt)) : null);
  els.qError.hidden = false;
  els.q.setAttribute("aria-invalid", "true");
  if (pos !== null) {
    /* position counts code points; the input counts UTF-16 units. */
    const at = Array.from(els.q.value).slice(0, pos).join("").length;
    els.q.focus();
    els.q.setSelectionRange(at, Math.min(at + 1, els.q.value.length));
  }
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

function renderAnswer(s, b) {
  const rows = arr(b.results).filter(isObj);
  const count = isNum(b.count) ? b.count : rows.length;
  const facets = isObj(b.facets) ? b.facets : null;
  if (facets) {
    for (const f of FILTERS.filter((x) => x.param))
      for (const v of arr(facets[f.facet]).filter(isObj)) learnLabel(f.param, str(v.value), str(v.label));
  }
  for (const r of rows) {
    for (const i of arr(r.instruments).filter(isObj)) learnLabel("instrument", str(i.pid), str(i.name));
    for (const a of arr(r.authors).filter(isObj)) learnLabel("person", str(a.pid), str(a.name));
    for (const i of arr(r.institutions).filter(isObj)) learnLabel("institution", str(i.pid), str(i.name));
  }
  saveLabels();
  renderStatus(s, b, rows, count);
  els.list.replaceChildren(...rows.map((r) => resultRow(s, r)));
  els.list.start = (s.page - 1) * PAGE_SIZE + 1;
  if (count === 0) {
    els.list.append(h("li", { class: "empty" }, "Nothing found. Try fewer or other words",
      hasFilters(s) ? [", or ", h("a", {
        href: href(fresh(s, { filters: emptyFilters(), year_from: "", year_to: "", collection: "" })),
        "data-nav": true,
      }, "drop the filters")] : "", "."));
  } else if (rows.length === 0) {
    const last = Math.max(1, Math.ceil(Math.min(count, 10000 + PAGE_SIZE) / PAGE_SIZE));
    els.list.append(h("li", { class: "empty" },
      h("a", { href: href({ ...searchOnly(s), page: last }), "data-nav": true, "data-focus": "results" },
        "Go to the last page"), "."));
  }
  renderPager(s, count);
  renderToolbar(s, count);
  renderFacets(s, facets);
  renderChips(s);
  renderCharts(s, facets);
  markCurrent(s);
}

function renderStatus(s, b, rows, count) {
  const skip = (s.page - 1) * PAGE_SIZE;
  const about = b.count_exact === false ? "about " : "";
  const took = isNum(b.took_ms) ? ` · took ${b.took_ms < 10 ? b.took_ms.toFixed(1) : Math.round(b.took_ms)} ms` : "";
  const what = s.q ? ` matching “${s.q}”` : "";
  if (count === 0) els.status.textContent = `No records${what}${took}.`;
  else if (rows.length === 0)
    els.status.textContent = `Page ${s.page} is past the end of ${about}${plural(count, "record", "records")}${what}${took}.`;
  else
    els.status.textContent = `Showing ${fmtInt(skip + 1)}–${fmtInt(skip + rows.length)} of ${about}` +
      `${plural(count, "record", "records")}${what}${took}`;
  els.status.dataset.count = String(count);
}

function renderPager(s, count) {
  /* The API pages up to skip 10,000. */
  const last = Math.max(1, Math.ceil(Math.min(count, 10000 + PAGE_SIZE) / PAGE_SIZE));
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

/* ---- one result ------------------------------------------------------------------------------- */

const typeOf = (r) => str(r.type) || str(r.kind);

function badge(type) {
  const t = TYPES[type];
  return h("span", { class: `badge badge-${t ? type : "other"}` }, t ? t.label : type || "Record");
}

function statusBadge(status) {
  const v = str(status);
  return v ? h("span", { class: `badge badge-status badge-status-${/^[a-z]+$/.test(v) ? v : "other"}` }, v) : null;
}

function metaLine(parts) {
  const items = parts.filter(Boolean);
  return items.length ? h("p", { class: "meta" }, items.map((p) => h("span", null, p))) : null;
}

const instrumentHref = (pid) => `instrument.html?pid=${encodeURIComponent(pid)}`;

/* A list shown in one line, the first n, then "and N more". */
function firstOf(list, n, each, label) {
  if (!list.length) return null;
  const shownItems = list.slice(0, n);
  const parts = [];
  shownItems.forEach((x, i) => {
    if (i) parts.push("; ");
    parts.push(each(x));
  });
  if (list.length > n) parts.push(` and ${fmtInt(list.length - n)} more`);
  return h("p", { class: "people" }, h("span", { class: "people-label" }, `${label}: `), parts);
}

/* Links to a record's files: its files (strings or {url, name}) and its
 * own URL (a PDF or a landing page). */
function filesOf(r) {
  const own = safeHttpUrl(str(r.url), location.href);
  const ownLink = own ? [{ url: own, name: /\.pdf(?:$|[?#])/i.test(own) ? "PDF" : "Web page" }] : [];
  return ownLink.concat(arr(r.files).map((f) => {
    if (typeof f === "string") return { url: safeHttpUrl(f, location.href), name: "" };
    if (isObj(f)) return { url: safeHttpUrl(str(f.url) || str(f.href), location.href), name: str(f.name) || str(f.type) };
    return { url: null };
  }).filter((f) => f.url));
}

function resultRow(s, r) {
  const type = typeOf(r);
  const pid = str(r.pid);
  const title = str(r.title) || pid || "(untitled)";
  const model = modelOf(type);
  const sn = isObj(r.snippets) ? r.snippets : {};
  const titleText = str(sn.title) ? snippetNodes(sn.title) : title;
  const titleLink = pid
    ? h("a", { href: recordHref(s, model, pid), "data-nav": true, "data-focus": "detail",
               "data-model": model, "data-pid": pid, class: "record-link" }, titleText)
    : titleText;
  const toggle = (param, value, text) => h("a", {
    href: href(toggled(s, param, value)), "data-nav": true, "data-focus": "results", class: "filter-link",
    title: `Filter: ${filterOf(param).title} ${text}`,
  }, text);
  const code = str(r.code);
  const doi = doiUrl(r.doi);
  const instruments = arr(r.instruments).filter((i) => isObj(i) && str(i.pid));
  const authors = arr(r.authors).filter(isObj);
  const insts = arr(r.institutions).filter(isObj);
  const keywords = arr(r.keywords).map(str).filter(Boolean);
  const files = filesOf(r);
  const json = safeHttpUrl(str(r.json), location.href) || (pid ? recordApiUrl(type, pid) : null);
  const year = str(r.year);
  const start = (str(r.start) || str(r.startDate) || str(r.created)).slice(0, 10);
  const end = (str(r.end) || str(r.endDate)).slice(0, 10);
  const dates = start && end && end !== start ? [start, end] : [start || end].filter(Boolean);

  return h("li", { class: "result", "data-type": type, "data-pid": pid },
    h("h3", { class: "result-title" }, badge(type), " ", statusBadge(r.status), r.status ? " " : "", titleLink),
    metaLine([
      code && [vh("Code: "), h("code", null, code)],
      dates.length ? [vh("Dates: "), dates.join(" – ")] : year && [vh("Year: "), year],
      str(r.doctype) && str(r.doctype).toLowerCase() !== type && [vh("Type: "), str(r.doctype)],
      str(r.facility) && [vh("Facility: "), toggle("facility", str(r.facility), str(r.facility))],
      isNum(r.size) && h("span", { title: `${fmtInt(r.size)} bytes` }, vh("Size: "), formatBytes(r.size)),
      str(r.journal) && [vh("Journal: "), h("i", null, str(r.journal))],
      isNum(r.citations) && plural(r.citations, "citation", "citations"),
      doi && h("a", { href: doi }, vh("DOI: "), `doi:${str(r.doi)}`),
      type === "instrument" && pid && h("a", { href: instrumentHref(pid) }, "Instrument dashboard"),
    ]),
    instruments.length > 0 && h("p", { class: "people" }, h("span", { class: "people-label" },
      instruments.length === 1 ? "Instrument: " : "Instruments: "),
      instruments.map((i, n) => [n ? ", " : "", h("a", { href: instrumentHref(str(i.pid)), class: "instrument-link" },
        str(i.name) || str(i.pid))])),
    firstOf(authors, 8, (a) => {
      const name = str(a.name) || str(a.pid) || "?";
      const orcid = orcidUrl(a.orcid);
      return [str(a.pid) ? toggle("person", str(a.pid), name) : name,
        orcid ? [" ", h("a", { href: orcid, class: "orcid", title: orcid }, "iD", vh(` ORCID of ${name}`))] : ""];
    }, authors.length === 1 ? "Author" : "Authors"),
    firstOf(insts, 5, (i) => {
      const name = str(i.name) || str(i.pid) || "?";
      return [str(i.pid) ? toggle("institution", str(i.pid), name) : name,
        str(i.country) ? [" (", toggle("country", str(i.country), str(i.country)), ")"] : ""];
    }, insts.length === 1 ? "Institution" : "Institutions"),
    ["abstract", "text"].filter((k) => str(sn[k])).map((k) =>
      h("p", { class: "snippet", "data-field": k }, vh(k === "text" ? "From the full text: " : "From the abstract: "),
        snippetNodes(sn[k]))),
    keywords.length > 0 && h("ul", { class: "tags tags-plain", "aria-label": "Keywords" },
      keywords.slice(0, 12).map((k) => h("li", null, h("a", {
        href: href(phraseToggled(s, k)), "data-nav": true, "data-focus": "results", class: "filter-link",
        title: hasPhrase(s, k) ? `Remove “${k}” from the query` : `Search for the keyword “${k}”`,
      }, k)))),
    h("p", { class: "row-foot" },
      pid && h("code", { class: "pid" }, pid),
      json && [" ", h("a", { href: json, class: "json-link" }, "JSON", vh(` record of ${title}`))],
      files.map((f, n) => [" ", h("a", { href: f.url, class: "file-link" },
        f.name || (files.length > 1 ? `File ${n + 1}` : "File"), vh(` of ${title}`))]),
      pid && [" ", h("button", {
        type: "button", class: "button button-small collect-one",
        onclick: () => openCollectDialog(`${TYPES[type]?.label ?? "Record"} “${title}”`,
          async () => [{ type, pid }]),
      }, "Add to collection", vh(`: ${title}`))]));
}

/* Marks the result whose detail is open. */
function markCurrent(s) {
  for (const a of els.list.querySelectorAll("a.record-link")) {
    if (a.dataset.model === s.show && a.dataset.pid === s.pid) a.setAttribute("aria-current", "true");
    else a.removeAttribute("aria-current");
  }
}

/* ---- exports and collections ----------------------------------------------------------------- */

const FORMATS = [["csv", "CSV"], ["bibtex", "BibTeX"], ["ris", "RIS"], ["json", "JSON"]];

function renderToolbar(s, count) {
  els.toolbar.hidden = count === 0;
  els.exports.replaceChildren(h("span", { class: "toolbar-label" }, "Export:"));
  for (const [fmt, label] of FORMATS) {
    els.exports.append(" ", h("a", {
      class: "button button-small export-link", "data-format": fmt, download: true,
      href: apiUrl("search", { ...apiParams(s), format: fmt, limit: EXPORT_LIMIT }).href,
    }, label, vh(` of the ${count > EXPORT_LIMIT ? `first ${fmtInt(EXPORT_LIMIT)}` : fmtInt(count)} records`)));
  }
  if (count > EXPORT_LIMIT) els.exports.append(" ", muted(`(the first ${fmtInt(EXPORT_LIMIT)})`));
}

/* A whole result set, gathered page by page (100 a page, the API's most). */
async function gatherAll(s, count, progress) {
  const total = Math.min(count, MAX_ITEMS);
  const items = [];
  for (let skip = 0; skip < total; skip += 100) {
    progress(`Gathering the records: ${fmtInt(skip)} of ${fmtInt(total)}…`);
    const b = await api("search", { ...apiParams(s), limit: Math.min(100, total - skip), skip, facets: "none" });
    const rows = arr(b?.results).filter(isObj);
    for (const r of rows) if (str(r.pid) && typeOf(r)) items.push({ type: typeOf(r), pid: str(r.pid) });
    if (rows.length === 0) break;
  }
  return items;
}

els.collectAll.addEventListener("click", () => {
  const s = shown.state;
  const count = Number(els.status.dataset.count) || 0;
  if (!s || !count) return;
  const n = Math.min(count, MAX_ITEMS);
  openCollectDialog(count > MAX_ITEMS
    ? `The first ${fmtInt(n)} of the ${fmtInt(count)} records of this search (at most ${fmtInt(MAX_ITEMS)} at once).`
    : `All ${plural(n, "record", "records")} of this search.`,
  (progress) => gatherAll(s, count, progress));
});

/* ---- filters ------------------------------------------------------------------------------------ */

function facetValues(facets, name) {
  return arr(facets?.[name]).filter((v) => isObj(v) && str(v.value));
}

/* Checkboxes: every known value, with its count from the facet. */
function renderChecks(s, box, param, known, facets, labelFor) {
  const counts = new Map(facetValues(facets, filterOf(param).facet).map((v) => [str(v.value), v]));
  const values = [...new Set([...known, ...counts.keys(), ...s.filters[param]])];
  box.replaceChildren(...values.map((v, i) => {
    const id = `check-${param}-${i}`;
    const c = counts.get(v);
    const checked = s.filters[param].includes(v);
    const input = h("input", { type: "checkbox", id, value: v, checked, "data-param": param });
    input.addEventListener("change", () => go(href(toggled(readState(), param, v)), { focus: null }));
    return h("div", { class: "check" }, input, h("label", { for: id },
      labelFor(v, c), " ", h("span", { class: "count" }, c ? fmtInt(Number(c.count) || 0) : facets ? "0" : "")));
  }));
  box.closest("fieldset").hidden = values.length === 0;
}

function renderFacetList(s, f, facets) {
  const values = facetValues(facets, f.facet);
  const selected = f.param ? s.filters[f.param]
    : f.phrase ? values.map((v) => str(v.value)).filter((v) => hasPhrase(s, v)) : [];
  const listed = new Set(values.map((v) => str(v.value)));
  const extra = f.param
    ? selected.filter((v) => !listed.has(v)).map((v) => ({ value: v, label: labelOf(f.param, v), count: null }))
    : [];
  const all = [...extra, ...values];
  if (all.length === 0) return null;
  const item = (v) => {
    const value = str(v.value);
    const on = selected.includes(value);
    const text = str(v.label) || value;
    const count = h("span", { class: "count" }, v.count === null ? "" : fmtInt(Number(v.count) || 0));
    /* A journal: shown, not a filter. */
    if (!f.param && !f.phrase)
      return h("li", null, h("span", { class: "facet-value facet-static" }, h("span", { class: "facet-label" }, text), count));
    return h("li", null, h("a", {
      href: href(f.param ? toggled(s, f.param, value) : phraseToggled(s, value)),
      "data-nav": true, "data-focus": "results",
      class: "facet-value", "aria-current": on ? "true" : null, "data-value": value,
      title: value !== text ? value : null,
    }, h("span", { class: "facet-label" }, text, on ? vh(" (selected; click to remove)") : ""), count));
  };
  const head = all.slice(0, FACET_SHOWN);
  const rest = all.slice(FACET_SHOWN);
  const id = `facet-${f.facet}-heading`;
  return h("section", { class: "facet facet-list", "data-facet": f.facet, "aria-labelledby": id },
    h("h3", { id }, f.title),
    h("ul", { class: "facet-values" }, head.map(item)),
    rest.length > 0 && h("details", { class: "facet-more" },
      h("summary", null, `${fmtInt(rest.length)} more`),
      h("ul", { class: "facet-values" }, rest.map(item))));
}

function renderFacets(s, facets) {
  /* A checkbox that had the focus gets it back once redrawn. */
  const a = document.activeElement;
  const refocus = a instanceof HTMLInputElement && a.dataset.param && els.facets.contains(a)
    ? `input[data-param="${CSS.escape(a.dataset.param)}"][value="${CSS.escape(a.value)}"]` : null;
  renderChecks(s, els.facetType, "type", Object.keys(TYPES), facets, (v) => TYPES[v]?.plural ?? v);
  renderChecks(s, els.facetStatus, "status", facets ? [] : STATUSES, facets, (v) => v);
  renderChecks(s, els.facetDoctype, "doctype", [], facets,
    (v, c) => str(c?.label) || labelOf("doctype", v));
  els.facetLists.replaceChildren(...FILTERS.filter((f) => f.list).map((f) => renderFacetList(s, f, facets))
    .filter(Boolean));
  if (!facets && !els.facetLists.childElementCount)
    els.facetLists.append(h("p", { class: "muted" }, "This server sends no facets."));
  if (refocus) els.facets.querySelector(refocus)?.focus();
}

/* Chips: one per active filter, each a link that removes it. */
const collectionNames = new Map();

function renderChips(s) {
  const chips = [];
  const chip = (title, text, to) => h("li", null, h("a", {
    class: "chip", href: href(to), "data-nav": true, "data-focus": "results",
  }, h("span", { class: "chip-title" }, `${title}: `), text, h("span", { class: "chip-x", "aria-hidden": "true" }, " ×"),
  vh(" (remove this filter)")));
  for (const k of PARAMS)
    for (const v of s.filters[k])
      chips.push(chip(filterOf(k).title, labelOf(k, v), withFilters(s, k, s.filters[k].filter((x) => x !== v))));
  if (s.year_from || s.year_to) {
    const text = s.year_from === s.year_to ? s.year_from
      : s.year_from && s.year_to ? `${s.year_from}–${s.year_to}`
      : s.year_from ? `from ${s.year_from}` : `until ${s.year_to}`;
    chips.push(chip("Years", text, fresh(s, { year_from: "", year_to: "" })));
  }
  if (s.collection) {
    const name = collectionNames.get(s.collection);
    chips.push(chip("Collection", name || s.collection, fresh(s, { collection: "" })));
    if (name === undefined) {
      collectionNames.set(s.collection, null);
      getCollection(s.collection).then((c) => {
        collectionNames.set(s.collection, str(c?.name) || s.collection);
        if (readState().collection === s.collection) renderChips(readState());
      }, () => collectionNames.set(s.collection, s.collection));
    }
  }
  els.chips.hidden = chips.length === 0;
  els.chips.replaceChildren();
  if (!chips.length) return;
  fill(els.chips, h("ul", { class: "chip-list" }, chips,
    h("li", null, h("a", {
      class: "chip-clear", href: href(fresh(s, { filters: emptyFilters(), year_from: "", year_to: "", collection: "" })),
      "data-nav": true, "data-focus": "results",
    }, "Clear all filters"))),
    s.collection ? h("p", { class: "muted chip-note" }, "Searching inside a collection: ",
      h("a", { href: collectionHref(s.collection) }, "open it"), ".") : null);
}

function applyYears() {
  const from = els.yearFrom.value.trim();
  const to = els.yearTo.value.trim();
  if ((from && !YEAR_RE.test(from)) || (to && !YEAR_RE.test(to))) {
    messages.set("years", "A year is a whole number from 0 to 9999.");
    return;
  }
  if (from && to && Number(from) > Number(to)) {
    messages.set("years", `The first year (${from}) is after the last one (${to}).`);
    return;
  }
  messages.clear("years");
  go(href(fresh(readState(), { year_from: from, year_to: to })), { focus: "results" });
}
els.yearApply.addEventListener("click", applyYears);
for (const input of [els.yearFrom, els.yearTo]) {
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      applyYears();
    }
  });
}

/* ---- charts ---------------------------------------------------------------------------------------- */

const chartBoxes = () => [...els.charts.querySelectorAll(".chart-box")];

function renderCharts(s, facets) {
  els.charts.hidden = !facets;
  if (!facets) return;
  if (!chartLibrary()) {
    messages.set("charts", "The charts cannot be drawn: the chart library (vendor/chart.umd.js) is missing; run scripts/setup.");
  }
  for (const box of chartBoxes()) {
    const name = box.dataset.chart;
    if (name === "year") {
      const byYear = new Map();
      for (const v of facetValues(facets, "year")) {
        const y = parseInt(str(v.value), 10);
        if (Number.isInteger(y)) byYear.set(y, (byYear.get(y) || 0) + (Number(v.count) || 0));
      }
      const years = [...byYear.keys()].sort((a, b) => a - b);
      /* Every year between the first and the last, empty ones too. */
      const span = years.length ? years[years.length - 1] - years[0] : 0;
      const all = span > 0 && span <= 300 ? Array.from({ length: span + 1 }, (_, i) => years[0] + i) : years;
      const lo = s.year_from ? Number(s.year_from) : -Infinity;
      const hi = s.year_to ? Number(s.year_to) : Infinity;
      barChart(box, {
        title: "Records by year", series: "Records",
        labels: all.map(String), values: all.map((y) => byYear.get(y) || 0),
        active: (i) => (s.year_from || s.year_to) && all[i] >= lo && all[i] <= hi,
        onClick: (i) => go(href(fresh(readState(), { year_from: String(all[i]), year_to: String(all[i]) })),
                           { focus: null }),
      });
      continue;
    }
    const f = FILTERS.find((x) => x.facet === name);
    const values = facetValues(facets, name).slice(0, FACET_LIMIT);
    const value = (i) => str(values[i].value);
    barChart(box, {
      title: f.title, series: "Records", horizontal: true, log: name === "instrument" && s.log,
      labels: values.map((v) => str(v.label) || str(v.value)),
      values: values.map((v) => Number(v.count) || 0),
      active: (i) => (f.param ? s.filters[f.param].includes(value(i)) : hasPhrase(s, value(i))),
      onClick: (i) => go(href(f.param ? toggled(readState(), f.param, value(i))
                                      : phraseToggled(readState(), value(i))), { focus: null }),
    });
  }
}

els.chartLog.addEventListener("change", () => {
  const s = { ...readState(), log: els.chartLog.checked };
  history.replaceState(null, "", href(s));
  if (shown.answer && isObj(shown.answer.facets)) renderCharts(s, shown.answer.facets);
});

/* ---- the detail panel ----------------------------------------------------------------------------- */

const detail = detailPanel({
  els: {
    layout: els.layout, detail: els.detail, detailKind: els.detailKind, detailTitle: els.detailTitle,
    detailPid: els.detailPid, detailJson: els.detailJson, detailClose: els.detailClose,
    detailBody: els.detailBody,
  },
  recordHref: (model, pid) => recordHref(readState(), model, pid),
  searchHref: (params) => searchHref(params),
  messages,
});

/* ---- navigation ---------------------------------------------------------------------------------- */

function render(opts = {}) {
  const s = readState();
  fillForm(s);
  document.title = `${s.q ? `“${s.q}” · ` : ""}Search${s.page > 1 ? `, page ${s.page}` : ""} · pansift`;
  const sk = searchKey(s);
  if (opts.refresh) shown.search = null;
  if (sk !== shown.search) {
    shown.search = sk;
    runSearch(s, opts);
  } else {
    if (shown.answer) {
      renderChips(s);
      if (isObj(shown.answer.facets)) renderCharts(s, shown.answer.facets);
    }
    markCurrent(s);
    if (opts.focus === "results") focusResults();
  }
  /* The detail's links carry the search's state: a new search redoes it. */
  const dk = s.show ? `${sk}\n${s.show}\n${s.pid}` : "";
  if (dk !== shown.detail) {
    const prev = shown.detailState;
    shown.detail = dk;
    shown.detailState = s.show ? s : null;
    if (s.show) {
      detail.open(s.show, s.pid, href(searchOnly(s)), opts.focus === "detail");
    } else {
      detail.close(() => (prev ? [...els.list.querySelectorAll("a.record-link")]
        .find((a) => a.dataset.model === prev.show && a.dataset.pid === prev.pid) || els.heading : null));
    }
  } else if (s.show && opts.focus === "detail") {
    detail.focus();
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

interceptNavLinks(go);

/* The filters fold away on narrow screens (they would push the results far
 * down) and are always open on wide ones, beside the results. */
const wide = window.matchMedia("(min-width: 62rem)");
const fold = $("facets-fold");
const syncFold = () => { fold.open = wide.matches; };
syncFold();
wide.addEventListener("change", syncFold);
fold.querySelector("summary").addEventListener("click", (e) => {
  if (wide.matches) e.preventDefault();
});

els.form.addEventListener("submit", (e) => {
  e.preventDefault();
  const s = readState();
  const q = els.q.value.trim();
  /* A new query keeps the filters; the sort goes back to its default when
   * it was relevance and the box is now empty. */
  const sort = !q && s.sort === "relevance" ? "" : s.sort;
  go(href(fresh(s, { q, sort })), { refresh: true, focus: "results" });
});

els.sort.addEventListener("change", () => {
  const s = readState();
  const v = els.sort.value;
  go(href(fresh(s, { sort: v === defaultSort(s) ? "" : v })), { focus: null });
});

els.q.addEventListener("input", () => {
  if (!els.qError.hidden) showQueryError(null);
});

document.addEventListener("keydown", (e) => {
  if (e.key !== "Escape" || els.detail.hidden || e.defaultPrevented) return;
  if (e.target instanceof Element && e.target.closest("input, select, textarea, dialog")) return;
  e.preventDefault();
  go(els.detailClose.getAttribute("href"), {});
});

window.addEventListener("popstate", () => render({}));

render({});
loadSummary().catch((e) => messages.error("summary", "The catalogue could not be counted", e));
loadHealth(els.health);
