/*
 * dash-common.js: what the analytics pages (instrument.html, facility.html,
 * report.html) share: building elements from API data as text only, calls
 * to the pansift API, the message area, the search parameters a page passes
 * through, the year range form, number and byte formats, chart cards
 * (a chart.js canvas, its numbers as a table behind a "data" toggle, a link
 * to the same search) with colours taken from dash.css so light and dark
 * both work, and the "ready" mark with the time it took. It is not a page:
 * each page's own module imports it. Never innerHTML: strings from the API
 * reach the page through text nodes and createElement.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/* ---- elements and values ------------------------------------------------------------ */

/* The element builders and value checks are the search page's (util.js):
 * h and append make text nodes of API strings, never HTML. */
import {
  $, ApiError, api as utilApi, apiUrl as utilApiUrl, append, arr, formatBytes as utilFormatBytes, h,
  isNum, isObj, str,
} from "./util.js";

export { $, ApiError, append, arr, h, isNum, isObj, str };
export const num = (v) => (isNum(v) ? v : 0);

const intFormat = new Intl.NumberFormat("en");
export const fmtInt = (n) => (isNum(n) ? intFormat.format(n) : "–");
export const plural = (n, one, many) => `${fmtInt(n)} ${n === 1 ? one : many}`;
export const cmpText = (a, b) => a.localeCompare(b, "en", { numeric: true, sensitivity: "base" });

/* Bytes in powers of 1000 as util.js writes them (154 MB, 12.3 GB); "–"
 * when there is no number. */
export const formatBytes = (n) => (isNum(n) && n >= 0 ? utilFormatBytes(Math.round(n)) : "–");

/* A percentage with one decimal, or "–" when there is nothing to divide. */
export const formatPercent = (part, whole) =>
  whole > 0 ? `${(100 * part / whole).toFixed(1)} %` : "–";

/* ---- the API ------------------------------------------------------------------------ */

/* params: [[key, value], ...] (keys may repeat) or an object; null and
 * undefined values are left out. Values are percent-encoded (%20 for spaces). */
export function query(params) {
  const pairs = Array.isArray(params) ? params : Object.entries(params || {});
  return pairs
    .filter(([, v]) => v !== undefined && v !== null && v !== "")
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join("&");
}

/* util.js's calls take an object whose arrays repeat a key; these pages
 * build [[key, value], ...] lists, turned into that here. */
function paramObject(params) {
  if (!Array.isArray(params)) return params;
  const o = {};
  for (const [k, v] of params) {
    if (v === undefined || v === null || v === "") continue;
    (o[k] ??= []).push(String(v));
  }
  return o;
}

export const apiUrl = (path, params) => utilApiUrl(path, paramObject(params));

/* Resolves to the JSON answer; rejects with an ApiError saying what failed. */
export const api = (path, params) => utilApi(path, paramObject(params));

/* Every instrument (pid, name, facility) from the PaN API, 1000 at a time. */
export async function loadInstruments() {
  const all = [];
  const page = 1000;
  for (let skip = 0; skip < 100 * page; skip += page) {
    const got = await api("Instruments", [["filter", JSON.stringify({
      fields: { pid: true, name: true, facility: true }, order: ["pid ASC"], limit: page, skip,
    })]]);
    if (!Array.isArray(got)) break;
    for (const i of got)
      if (isObj(i) && str(i.pid)) all.push({ pid: str(i.pid), name: str(i.name), facility: str(i.facility) });
    if (got.length < page) break;
  }
  return all;
}

/* ---- messages ----------------------------------------------------------------------- */

const messages = new Map(); /* source -> {text, url} */

export function setError(source, prefix, e) {
  const detail = e instanceof ApiError
    ? (e.status ? `${e.message} (HTTP ${e.status})` : e.message)
    : String((e && e.message) || e);
  messages.set(source, { text: `${prefix}: ${detail}`, url: e instanceof ApiError ? e.url : null });
  renderMessages();
}

function renderMessages() {
  const box = $("message");
  if (!box) return;
  box.replaceChildren();
  if (!messages.size) return;
  const list = h("ul");
  for (const { text, url } of messages.values())
    list.append(h("li", null, text, url && [" ", h("a", { href: url }, "The request")]));
  box.append(list, h("button", {
    type: "button", class: "button button-small",
    onclick: () => { messages.clear(); renderMessages(); },
  }, "Dismiss"));
}

/* ---- search parameters -------------------------------------------------------------- */

/* The parameters of GET /api/search that every analytics endpoint takes
 * (the issue 6 contract); a page passes these through and nothing else. */
export const SEARCH_PARAMS = ["q", "type", "year_from", "year_to", "doctype", "facility",
  "instrument", "technique", "person", "institution", "country", "status", "collection"];
const PARAM_CEILING = 64;        /* values per page URL that are passed on */
const PARAM_VALUE_CEILING = 1024; /* characters of one value */

/* The search parameters in the page's URL, as [[key, value], ...]. */
export function pageSearchParams() {
  const p = new URLSearchParams(location.search);
  const out = [];
  for (const k of SEARCH_PARAMS)
    for (const v of p.getAll(k)) {
      const t = v.trim();
      if (t && t.length <= PARAM_VALUE_CEILING && out.length < PARAM_CEILING) out.push([k, t]);
    }
  return out;
}

/* A year from the page's URL (year_from, year_to), or "" when it is not one. */
export function pageYear(key) {
  const v = new URLSearchParams(location.search).get(key) || "";
  return /^\d{4}$/.test(v.trim()) ? v.trim() : "";
}

/* Which search filter a breakdown's value goes back to, as parameters:
 * null when there is no such filter (journal, keyword). */
export function filterFor(by, value) {
  const v = str(value);
  if (!v) return null;
  if (by === "year") return /^\d{4}$/.test(v) ? [["year_from", v], ["year_to", v]] : null;
  if (by === "author") return [["person", v]];
  if (["type", "status", "doctype", "facility", "instrument", "technique",
       "institution", "country"].includes(by)) return [[by, v]];
  return null;
}

/* The search page (index.html) with these parameters. Later ones of the
 * same name replace earlier single-valued ones (q, year_from, year_to);
 * the others are filters, which repeat (ORed). */
export function searchHref(params) {
  const single = new Set(["year_from", "year_to", "q", "sort"]);
  const out = [];
  for (const [k, v] of params) {
    if (single.has(k)) {
      const i = out.findIndex(([ok]) => ok === k);
      if (i >= 0) out.splice(i, 1);
    }
    out.push([k, v]);
  }
  const qs = query(out);
  return qs ? `index.html?${qs}` : "index.html";
}

/* Describes a set of search parameters for people: “perovskite”, instrument X, ... */
export function describeParams(params) {
  const bits = [];
  for (const [k, v] of params) {
    if (k === "q") bits.push(`matching “${v}”`);
    else if (k === "year_from") bits.push(`from ${v}`);
    else if (k === "year_to") bits.push(`until ${v}`);
    else bits.push(`${k} ${v}`);
  }
  return bits.join(", ");
}

/* Fills the year range form: the two year inputs (and any other visible
 * input, e.g. q) from the URL, every other parameter to keep as a hidden
 * input, so submitting the form (GET) reloads the page with the new values. */
export function setupYearForm(form, keep) {
  const from = form.elements.year_from;
  const to = form.elements.year_to;
  from.value = pageYear("year_from");
  to.value = pageYear("year_to");
  const sync = () => {
    to.min = from.value || "1900";
    from.max = to.value || "2100";
  };
  from.addEventListener("input", sync);
  to.addEventListener("input", sync);
  sync();
  const visible = [...form.querySelectorAll("input:not([type=hidden])")];
  const shown = new Set(visible.map((i) => i.name));
  for (const [k, v] of keep) {
    if (k === "year_from" || k === "year_to") continue;
    const input = form.elements[k];
    if (shown.has(k) && input && !input.value) input.value = v;
    else form.prepend(h("input", { type: "hidden", name: k, value: v }));
  }
  /* Empty inputs are left out of the URL. */
  form.addEventListener("submit", () => {
    for (const i of visible) i.disabled = !i.value.trim();
  });
  /* Back to this page from the next one: the inputs must work again. */
  addEventListener("pageshow", () => {
    for (const i of visible) i.disabled = false;
  });
  const clear = form.querySelector("[data-clear-years]");
  if (clear) {
    const p = keep.filter(([k]) => k !== "year_from" && k !== "year_to");
    clear.href = `${location.pathname}${p.length ? `?${query(p)}` : ""}`;
    clear.hidden = !(from.value || to.value);
  }
}

/* ---- chart colours: read from dash.css, so they follow light and dark --------------- */

const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

export function palette() {
  return {
    text: css("--text") || "#1b232b",
    muted: css("--muted") || "#58636e",
    line: css("--line") || "#dbe0e5",
    series: [1, 2, 3, 4, 5, 6, 7, 8].map((i) => css(`--chart-${i}`) || "#1c5d8a"),
    accepted: css("--chart-accepted") || "#2e7d4f",
    refused: css("--chart-refused") || "#b3372f",
    other: css("--chart-other") || "#8a949e",
    font: css("--font") || "system-ui, sans-serif",
  };
}

/* ---- chart cards ---------------------------------------------------------------------- */

const charts = new Map(); /* card id -> {card, build, chart} */

/* A card for one chart: heading, a note, the canvas (an image for screen
 * readers, described by its label), a "data" toggle that shows the numbers
 * as a table, and a link to the search page filtered the same way.
 * Returns the card element; draw it with drawCard() once the data is in. */
export function chartCard({ id, title, note, search, wide }) {
  const head = h("div", { class: "dash-card-head" },
    h("h3", { id: `${id}-title` }, title),
    search && h("a", { class: "dash-search-link", href: searchHref(search) }, "Search these"));
  const card = h("section", {
    class: `dash-card${wide ? " dash-card-wide" : ""}`, id, "aria-labelledby": `${id}-title`,
    "data-chart": id, "aria-busy": "true",
  }, head, note && h("p", { class: "dash-note" }, note),
  h("div", { class: "dash-chart-body" }, h("p", { class: "dash-loading" }, "Loading…")));
  return card;
}

/* chart.js is a classic deferred script placed after the page's module in
 * the HTML, so that the module's requests start first: it has run by the
 * time DOMContentLoaded fires (module scripts run before, while the
 * document's readyState is already "interactive"). */
const chartLibrary = new Promise((resolve) => {
  if (window.Chart || document.readyState === "complete") {
    resolve();
    return;
  }
  document.addEventListener("DOMContentLoaded", resolve, { once: true });
  addEventListener("load", resolve, { once: true });
});

/* Draws a card once chart.js is there (resolves when drawn). spec: {config(pal) -> chart.js config, label: text for
 * screen readers, table: {head: [..], rows: [[cell, ..]]}, height (rem),
 * empty: true when there is nothing to draw}. Cells are text, numbers or
 * nodes (e.g. links). */
export async function drawCard(card, spec) {
  await chartLibrary;
  const body = card.querySelector(".dash-chart-body");
  card.removeAttribute("aria-busy");
  if (spec.empty) {
    card.dataset.empty = "1";
    body.replaceChildren(h("p", { class: "dash-empty muted" }, spec.emptyText || "Nothing to show for this selection."));
    return;
  }
  const canvas = h("canvas", { role: "img", "aria-label": spec.label }, spec.label);
  const frame = h("div", { class: "dash-canvas", style: `height:${spec.height || 18}rem` }, canvas);
  const tableId = `${card.id}-data`;
  const table = dataTable(spec.table, spec.caption || spec.label);
  const wrap = h("div", { class: "table-wrap dash-data", id: tableId, hidden: true }, table);
  const toggle = h("button", {
    type: "button", class: "button button-small dash-data-toggle",
    "aria-expanded": "false", "aria-controls": tableId,
    onclick: () => {
      const open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      toggle.textContent = open ? "Hide the data" : "Show the data";
      wrap.hidden = !open;
    },
  }, "Show the data");
  body.replaceChildren(frame, h("p", { class: "dash-card-foot" }, toggle), wrap);
  const entry = { card, canvas, spec, chart: null };
  charts.set(card.id, entry);
  build(entry);
}

function build(entry) {
  entry.chart?.destroy();
  entry.chart = null;
  const Chart = window.Chart;
  if (!Chart) {
    /* No chart library: the numbers are still there. */
    entry.card.querySelector(".dash-canvas").hidden = true;
    entry.card.querySelector(".dash-data").hidden = false;
    entry.card.querySelector(".dash-data-toggle").hidden = true;
    setError("chartjs", "The charts cannot be drawn", new Error(
      "the chart library (vendor/chart.umd.js) did not load; the numbers are shown as tables"));
    return;
  }
  const pal = palette();
  Chart.defaults.color = pal.muted;
  Chart.defaults.borderColor = pal.line;
  Chart.defaults.font.family = pal.font;
  entry.chart = new Chart(entry.canvas, entry.spec.config(pal));
}

/* Redraws every chart in the current colours (light/dark switch). */
export function redrawCharts() {
  for (const entry of charts.values()) build(entry);
}

/* A card whose data could not be had: the error in the card. */
export function failCard(card, e) {
  card.removeAttribute("aria-busy");
  card.dataset.error = "1";
  const msg = e instanceof ApiError && e.status ? `${e.message} (HTTP ${e.status})` : String(e?.message || e);
  card.querySelector(".dash-chart-body").replaceChildren(
    h("p", { class: "dash-error" }, `Could not load this chart: ${msg}`));
}

export function dataTable(t, caption) {
  return h("table", { class: "dash-table" },
    caption && h("caption", { class: "vh" }, caption),
    h("thead", null, h("tr", null, t.head.map((c, i) => h("th", {
      scope: "col", class: i > 0 && t.numeric?.[i] !== false ? "num" : null,
    }, c)))),
    h("tbody", null, t.rows.map((r) => h("tr", null, r.map((c, i) => (i === 0
      ? h("th", { scope: "row" }, cell(c))
      : h("td", { class: t.numeric?.[i] === false ? null : "num" }, cell(c))))))));
}

/* A table sorted by a column when its heading is chosen (again: reversed).
 * columns: [{label, numeric, value(row) -> number or string to sort by,
 * cell(row) -> text, number or node}]; foot: cells of a total row or null;
 * sort: {index, dir: "ascending"|"descending"} to start with. */
export function sortableTable({ columns, rows, caption, foot, sort }) {
  const state = { ...(sort || { index: 0, dir: "ascending" }) };
  const tbody = h("tbody");
  const status = h("p", { class: "vh", role: "status" });
  const ths = columns.map((c, i) => h("th", { scope: "col", class: c.numeric ? "num" : null },
    h("button", {
      type: "button", class: "dash-sort", "data-col": i,
      onclick: () => {
        const again = state.index === i;
        state.index = i;
        state.dir = again ? (state.dir === "ascending" ? "descending" : "ascending")
          : (c.numeric ? "descending" : "ascending");
        fill();
        status.textContent = `Sorted by ${c.label}, ${state.dir}.`;
      },
    }, c.label)));
  const fill = () => {
    const c = columns[state.index];
    const sign = state.dir === "ascending" ? 1 : -1;
    const sorted = rows.slice().sort((a, b) => {
      const x = c.value(a);
      const y = c.value(b);
      const d = typeof x === "number" && typeof y === "number" ? x - y : cmpText(String(x), String(y));
      return sign * d || cmpText(String(columns[0].value(a)), String(columns[0].value(b)));
    });
    tbody.replaceChildren(...sorted.map((r) => h("tr", null, columns.map((col, i) => {
      const v = col.cell(r);
      const content = v instanceof Node ? v : isNum(v) ? fmtInt(v) : str(v);
      return i === 0 ? h("th", { scope: "row" }, content) : h("td", { class: col.numeric ? "num" : null }, content);
    }))));
    ths.forEach((th, i) => {
      if (i === state.index) th.setAttribute("aria-sort", state.dir);
      else th.removeAttribute("aria-sort");
    });
  };
  fill();
  const table = h("table", { class: "dash-sortable" },
    caption && h("caption", { class: "vh" }, caption),
    h("thead", null, h("tr", null, ths)), tbody,
    foot && h("tfoot", null, h("tr", null, foot.map((v, i) => (i === 0
      ? h("th", { scope: "row" }, v)
      : h("td", { class: columns[i].numeric ? "num" : null }, v instanceof Node ? v : isNum(v) ? fmtInt(v) : str(v)))))));
  return h("div", null, table, status);
}

const cell = (c) => (c instanceof Node ? c : isNum(c) ? fmtInt(c) : str(c));

/* ---- chart.js configurations ---------------------------------------------------------- */

const tooltipNumber = (fmt) => ({
  callbacks: {
    label: (ctx) => `${ctx.dataset.label ? `${ctx.dataset.label}: ` : ""}${fmt(ctx.raw)}`,
  },
});

/* Bars: labels, series [{label, data, color, stack}], options
 * {horizontal, stacked, format (numbers), legend}. */
export function barConfig(labels, series, o = {}) {
  const fmt = o.format || fmtInt;
  const valueAxis = {
    beginAtZero: true, stacked: !!o.stacked,
    ticks: { callback: (v) => fmt(v), precision: 0 },
  };
  const labelAxis = { stacked: !!o.stacked, grid: { display: false },
    ticks: { autoSkip: !o.horizontal, callback(v) { return clip(this.getLabelForValue(v), 28); } } };
  return {
    type: "bar",
    data: {
      labels,
      datasets: series.map((s) => ({
        label: s.label, data: s.data, backgroundColor: s.color, borderColor: s.color,
        stack: s.stack, maxBarThickness: 36, yAxisID: s.axis,
      })),
    },
    options: {
      indexAxis: o.horizontal ? "y" : "x",
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      plugins: {
        legend: { display: o.legend ?? series.length > 1, labels: { boxWidth: 12 } },
        tooltip: tooltipNumber(fmt),
      },
      scales: o.horizontal ? { x: valueAxis, y: labelAxis } : { x: labelAxis, y: valueAxis },
    },
  };
}

const clip = (s, n) => (typeof s === "string" && s.length > n ? `${s.slice(0, n - 1)}…` : s);

/* The height (rem) of a horizontal bar chart of n rows. */
export const barsHeight = (n) => Math.max(8, Math.min(40, 3 + 1.6 * n));

/* ---- ready -------------------------------------------------------------------------- */

/* Marks the page ready once every chart is drawn (after the next frame is
 * painted) and shows the time since the navigation started. */
export function markReady(errors) {
  requestAnimationFrame(() => requestAnimationFrame(() => {
    const ms = Math.round(performance.now());
    document.body.dataset.readyMs = String(ms);
    document.body.dataset.errors = String(errors || 0);
    document.body.dataset.ready = "1";
    const out = $("ready-time");
    if (out)
      out.textContent = `Ready in ${fmtInt(ms)} ms, from the start of the navigation until everything was drawn` +
        `${errors ? ` (${plural(errors, "part", "parts")} could not be loaded)` : ""}.`;
  }));
}

/* Runs loaders in parallel; each is a promise whose failure is shown in
 * its own card (or as a message) without stopping the others. Resolves to
 * the number of failures. */
export async function settleAll(promises) {
  const got = await Promise.allSettled(promises);
  return got.filter((r) => r.status === "rejected").length;
}

/* Follows the system's light/dark setting while the page is open. */
export function followColourScheme() {
  const mq = matchMedia("(prefers-color-scheme: dark)");
  mq.addEventListener?.("change", () => redrawCharts());
}
