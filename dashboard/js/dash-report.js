/*
 * dash-report.js: the country collaboration report (report.html). The set
 * is what the URL's search parameters select (a collection, a search, or
 * everything; proposals and publications unless the URL names a type). It
 * asks, all at once, GET /api/analytics/country-pairs (multi-country
 * documents, countries, pairs) and one breakdown per chart of the set
 * (documents by year, countries, instruments, institutions, authors,
 * keywords), plus the collection's name when there is one, and shows the
 * numbers, a chart and a table of the top pairs, and a heat-map table of the
 * top 15 countries pair by pair. Everything from the API reaches the page as
 * text.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
import {
  $, api, apiUrl, append, arr, barConfig, barsHeight, chartCard, describeParams, drawCard, failCard,
  filterFor, fmtInt, followColourScheme, formatPercent, h, isNum, isObj, markReady, num,
  pageSearchParams, searchHref, setError, settleAll, setupYearForm, sortableTable, str,
} from "./dash-common.js";

const TOP_PAIRS = 20;     /* pairs in the chart */
const TABLE_PAIRS = 100;  /* pairs in the table */
const MATRIX = 15;        /* countries in the heat map */
const PAIRS_ASKED = 1000; /* pairs asked for, so the heat map's are all there */
const TOP = 15;           /* bars in the set's "top" charts */

const params = pageSearchParams();
/* Countries are known for people, so the set is documents: proposals and
 * publications, unless the URL says which types. */
const set = params.some(([k]) => k === "type") ? params
  : [...params, ["type", "proposal"], ["type", "publication"]];

function start() {
  followColourScheme();
  setupYearForm($("years"), params);
  describeSet();
  const pairsCard = chartCard({ id: "pairs-chart", title: `The top ${TOP_PAIRS} country pairs`, search: set });
  const pairsTable = h("section", { class: "dash-card", "aria-labelledby": "pairs-table-title" },
    h("div", { class: "dash-card-head" }, h("h3", { id: "pairs-table-title" }, "Country pairs, by documents")),
    h("div", { id: "pairs-table", class: "table-wrap dash-data", "aria-busy": "true" }, h("p", { class: "dash-loading" }, "Loading…")));
  $("pairs").append(pairsCard, pairsTable);
  const jobs = [pairs(pairsCard), ...SET_CHARTS.map(setChart)];
  if (params.some(([k]) => k === "collection")) jobs.push(collection());
  settleAll(jobs).then(markReady);
}

function describeSet() {
  const shown = params.filter(([k]) => k !== "collection");
  const what = describeParams(shown);
  $("set-description").textContent = `${params.some(([k]) => k === "type") ? "Documents" : "Proposals and publications"}` +
    `${params.some(([k]) => k === "collection") ? " of the collection" : ""}${what ? `, ${what}` : ""}` +
    `${!params.length ? ": the whole catalogue" : ""}.`;
  $("set-links").replaceChildren(h("a", { href: searchHref(set) }, "Search these documents"));
}

async function collection() {
  const pid = params.find(([k]) => k === "collection")[1];
  try {
    const c = await api(`collections/${encodeURIComponent(pid)}`, [["limit", "1"]]);
    const name = str(c.name) || pid;
    $("set-kind").textContent = "Collection";
    $("report-title").textContent = name;
    document.title = `${name} · Country collaboration report · pansift`;
    const links = $("set-links");
    links.replaceChildren();
    append(links, [
      str(c.description) ? h("span", null, str(c.description), " · ") : null,
      isNum(c.count) ? h("span", null, `${fmtInt(c.count)} ${c.count === 1 ? "document" : "documents"} · `) : null,
      h("a", { href: `collections.html?pid=${encodeURIComponent(pid)}` }, "Open the collection"), " · ",
      h("a", { href: apiUrl(`collections/${encodeURIComponent(pid)}`).href }, "JSON"), " · ",
      h("a", { href: searchHref(set) }, "Search these documents")]);
  } catch (e) {
    setError("collection", `The collection ${pid} could not be loaded`, e);
    throw e;
  }
}

/* ---- pairs -------------------------------------------------------------------------- */

async function pairs(card) {
  let d;
  try {
    d = await api("analytics/country-pairs", [...set, ["limit", String(PAIRS_ASKED)]]);
  } catch (e) {
    setError("pairs", "The country pairs could not be loaded", e);
    failCard(card, e);
    for (const id of ["facts", "pairs-table", "matrix"]) {
      $(id).removeAttribute("aria-busy");
      $(id).replaceChildren(h("p", { class: "dash-error" }, "No numbers: see the message above."));
    }
    throw e;
  }
  const countries = arr(d.countries).filter(isObj).map((c) => ({ name: str(c.value), count: num(c.count) }))
    .filter((c) => c.name).sort((a, b) => b.count - a.count || a.name.localeCompare(b.name));
  const list = arr(d.pairs).filter(isObj).map((p) => ({ a: str(p.a), b: str(p.b), count: num(p.count) }))
    .filter((p) => p.a && p.b).sort((x, y) => y.count - x.count);
  const documents = num(d.documents);
  renderFacts(documents, countries, list);
  const top = list.slice(0, TOP_PAIRS);
  const countryLink = (c) => h("a", { href: searchHref([...set, ["country", c]]) }, c);
  await drawCard(card, {
    empty: top.length === 0,
    emptyText: "No document in this set has members from two countries or more.",
    label: `Top country pairs by documents: ${top.slice(0, 5).map((p) => `${p.a} and ${p.b} ${fmtInt(p.count)}`).join(", ")}`,
    height: barsHeight(top.length),
    config: (pal) => barConfig(top.map((p) => `${p.a} – ${p.b}`),
      [{ label: "Documents", data: top.map((p) => p.count), color: pal.series[0] }], { horizontal: true }),
    table: {
      head: ["Pair", "Documents"],
      rows: top.map((p) => [`${p.a} – ${p.b}`, p.count]),
    },
  });
  renderPairsTable(list.slice(0, TABLE_PAIRS), documents, countryLink);
  renderMatrix(countries.slice(0, MATRIX), list, countryLink);
}

function renderFacts(documents, countries, list) {
  const facts = [
    { key: "documents", label: "documents with members from several countries", value: documents },
    { key: "countries", label: "countries among them", value: countries.length },
    { key: "pairs", label: list.length >= PAIRS_ASKED ? "country pairs (at least)" : "country pairs", value: list.length },
  ];
  const dl = $("facts");
  dl.replaceChildren(...facts.map((f) => h("div", { class: "dash-total", "data-total": f.key, "data-value": String(f.value) },
    h("dt", null, f.label), h("dd", null, h("span", { class: "dash-big" }, fmtInt(f.value))))));
  dl.removeAttribute("aria-busy");
}

function renderPairsTable(list, documents, countryLink) {
  const box = $("pairs-table");
  box.removeAttribute("aria-busy");
  if (!list.length) {
    box.replaceChildren(h("p", { class: "muted" }, "No pairs."));
    return;
  }
  box.replaceChildren(sortableTable({
    caption: "Country pairs",
    columns: [
      { label: "Country", value: (p) => p.a, cell: (p) => countryLink(p.a) },
      { label: "With", value: (p) => p.b, cell: (p) => countryLink(p.b) },
      { label: "Documents", numeric: true, value: (p) => p.count, cell: (p) => p.count },
      { label: "Share", numeric: true, value: (p) => p.count, cell: (p) => formatPercent(p.count, documents) },
    ],
    rows: list,
    sort: { index: 2, dir: "descending" },
  }));
}

/* The heat map: a table of the top countries, each cell the documents the
 * two countries share, its background as strong as the count. */
function renderMatrix(top, list, countryLink) {
  const box = $("matrix");
  box.removeAttribute("aria-busy");
  if (top.length < 2) {
    box.replaceChildren(h("p", { class: "muted" }, "Fewer than two countries: nothing to cross."));
    return;
  }
  const key = (a, b) => (a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`);
  const counts = new Map(list.map((p) => [key(p.a, p.b), p.count]));
  let max = 0;
  for (const a of top) for (const b of top) if (a !== b) max = Math.max(max, counts.get(key(a.name, b.name)) || 0);
  const table = h("table", { class: "dash-matrix", id: "matrix-table" },
    h("caption", { class: "vh" }, "Documents shared by each pair of the top countries; the last column is each country's documents with members from several countries"),
    h("thead", null, h("tr", null, h("td"),
      top.map((c) => h("th", { scope: "col", title: c.name }, h("span", null, c.name))),
      h("th", { scope: "col" }, h("span", null, "All multi-country")))),
    h("tbody", null, top.map((a) => h("tr", null,
      h("th", { scope: "row" }, countryLink(a.name)),
      top.map((b) => {
        if (a === b) return h("td", { class: "dash-diag" }, h("span", { "aria-hidden": "true" }, "·"), h("span", { class: "vh" }, "same country"));
        const n = counts.get(key(a.name, b.name)) || 0;
        const level = max > 0 ? Math.round((100 * n) / max) : 0;
        const td = h("td", { class: `dash-heat${level > 55 ? " dash-heat-strong" : ""}`, title: `${a.name} – ${b.name}: ${fmtInt(n)}` }, n ? fmtInt(n) : "");
        td.style.setProperty("--level", `${level}%`);
        return td;
      }),
      h("td", { class: "dash-total-col" }, fmtInt(a.count))))));
  box.replaceChildren(table, h("p", { class: "dash-legend" },
    h("span", null, "0"), h("span", { class: "dash-legend-ramp", "aria-hidden": "true" }), h("span", null, `${fmtInt(max)} documents`)));
}

/* ---- the set's charts ----------------------------------------------------------------- */

const rowsOf = (a) => arr(a?.rows).filter(isObj).map((r) => ({
  value: str(r.value), label: str(r.label) || str(r.value), count: num(r.count),
  split: arr(r.split).filter(isObj).map((s) => ({ value: str(s.value), label: str(s.label) || str(s.value), count: num(s.count) })),
}));

const SET_CHARTS = [
  { id: "set-year", by: "year", split: "type", title: "Documents by year", wide: true },
  { id: "set-country", by: "country", title: "Countries", one: "Country" },
  { id: "set-instrument", by: "instrument", title: "Instruments", one: "Instrument" },
  { id: "set-institution", by: "institution", title: "Institutions", one: "Institution" },
  { id: "set-author", by: "author", title: "Authors", one: "Author" },
  { id: "set-keyword", by: "keyword", title: "Keywords", one: "Keyword" },
];

async function setChart(c) {
  const card = chartCard({ id: c.id, title: c.title, wide: c.wide, search: set });
  $("charts-set").append(card);
  const q = [...set, ["by", c.by], ...(c.split ? [["split", c.split]] : []), ...(c.by === "year" ? [] : [["limit", String(TOP)]])];
  let a;
  try {
    a = await api("analytics/breakdown", q);
  } catch (e) {
    failCard(card, e);
    throw e;
  }
  const rows = rowsOf(a);
  const link = (r) => {
    const f = filterFor(c.by, r.value);
    return f ? h("a", { href: searchHref([...set, ...f]) }, r.label) : r.label;
  };
  if (c.split) {
    const kinds = [...new Set(rows.flatMap((r) => r.split.map((s) => s.value)))].sort();
    const label = new Map(rows.flatMap((r) => r.split.map((s) => [s.value, s.label])));
    const part = (r, k) => r.split.find((s) => s.value === k)?.count || 0;
    await drawCard(card, {
      empty: rows.length === 0,
      label: `${c.title}: ${rows.length} years, ${fmtInt(rows.reduce((s, r) => s + r.count, 0))} documents`,
      config: (pal) => barConfig(rows.map((r) => r.label), kinds.map((k, i) => ({
        label: label.get(k), data: rows.map((r) => part(r, k)), color: pal.series[i % pal.series.length], stack: "s",
      })), { stacked: true, legend: true }),
      table: {
        head: ["Year", ...kinds.map((k) => label.get(k)), "All"],
        rows: rows.map((r) => [link(r), ...kinds.map((k) => part(r, k)), r.count]),
      },
    });
    return;
  }
  await drawCard(card, {
    empty: rows.length === 0,
    label: `${c.title}: ${rows.slice(0, 5).map((r) => `${r.label} ${fmtInt(r.count)}`).join(", ")}`,
    height: barsHeight(rows.length),
    config: (pal) => barConfig(rows.map((r) => r.label),
      [{ label: "Documents", data: rows.map((r) => r.count), color: pal.series[(SET_CHARTS.indexOf(c) + 3) % 8] }],
      { horizontal: true }),
    table: { head: [c.one, "Documents"], rows: rows.map((r) => [link(r), r.count]) },
  });
}

start();
