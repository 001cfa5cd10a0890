/*
 * dash-facility.js: the facility overview (facility.html). With ?name=F it
 * asks GET /api/analytics/facility (with the year range in the URL) for F's
 * instruments and their numbers, shows them in a sortable table with a
 * total row, and draws grouped bar charts comparing them; each instrument
 * links to its dashboard (instrument.html). Without a name it lists the
 * facilities of the PaN API's instruments. Everything from the API reaches
 * the page as text.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
import {
  $, api, arr, barConfig, barsHeight, chartCard, cmpText, drawCard, failCard, fmtInt,
  followColourScheme, formatBytes, formatPercent, h, isObj, loadInstruments, markReady, num,
  pageSearchParams, setError, setupYearForm, sortableTable, str,
} from "./dash-common.js";

const name = (new URLSearchParams(location.search).get("name") || "").trim().slice(0, 1024);
const MANY = 10; /* more instruments than this: horizontal bars */

async function showFacility(f) {
  $("facility-view").hidden = false;
  $("fac-name").textContent = f;
  document.title = `${f} · Facility overview · pansift`;
  const years = pageSearchParams().filter(([k]) => k === "year_from" || k === "year_to");
  setupYearForm($("years"), [["name", f], ...years]);
  const base = [["facility", f], ...years];
  const cards = CHARTS.map((c) => chartCard({ id: c.id, title: c.title, note: c.note, search: [...base, ...c.search] }));
  $("charts").append(...cards);
  let errors = 0;
  try {
    const d = await api("analytics/facility", [["name", f], ...years]);
    const list = arr(d.instruments).filter(isObj).map((i) => ({
      pid: str(i.pid), name: str(i.name) || str(i.pid),
      proposals: num(i.proposals), accepted: num(i.accepted), refused: num(i.refused),
      datasets: num(i.datasets), volume: num(i.volume), publications: num(i.publications),
      citations: num(i.citations),
    })).filter((i) => i.pid);
    list.sort((a, b) => cmpText(a.name, b.name));
    renderSummary(list, years);
    renderTable(list);
    await Promise.all(CHARTS.map((c, i) => drawCard(cards[i], c.draw(list))));
  } catch (e) {
    errors = 1;
    setError("facility", "The facility could not be loaded", e);
    $("table-box").removeAttribute("aria-busy");
    $("table-box").replaceChildren(h("p", { class: "dash-error" }, "No numbers: see the message above."));
    for (const c of cards) failCard(c, e);
  }
  markReady(errors);
}

function renderSummary(list, years) {
  const y = new Map(years);
  const range = y.get("year_from") && y.get("year_to") ? `, ${y.get("year_from")} to ${y.get("year_to")}`
    : y.get("year_from") ? `, from ${y.get("year_from")}` : y.get("year_to") ? `, until ${y.get("year_to")}` : "";
  const sum = (k) => list.reduce((s, i) => s + i[k], 0);
  $("fac-summary").textContent = `${list.length} ${list.length === 1 ? "instrument" : "instruments"}: ` +
    `${fmtInt(sum("proposals"))} proposals, ${fmtInt(sum("datasets"))} datasets ` +
    `(${formatBytes(sum("volume"))}), ${fmtInt(sum("publications"))} publications${range}.`;
}

const rate = (i) => (i.accepted + i.refused > 0 ? i.accepted / (i.accepted + i.refused) : -1);

function renderTable(list) {
  const box = $("table-box");
  box.removeAttribute("aria-busy");
  if (!list.length) {
    box.replaceChildren(h("p", { class: "muted" }, "This facility has no instruments in the catalogue."));
    return;
  }
  const n = (k) => ({ label: k[0].toUpperCase() + k.slice(1), numeric: true, value: (i) => i[k], cell: (i) => i[k] });
  const columns = [
    { label: "Instrument", value: (i) => i.name,
      cell: (i) => h("a", { href: `instrument.html?pid=${encodeURIComponent(i.pid)}${yearsQuery()}` }, i.name) },
    n("proposals"), n("accepted"), n("refused"),
    { label: "Acceptance rate", numeric: true, value: rate, cell: (i) => formatPercent(i.accepted, i.accepted + i.refused) },
    n("datasets"),
    { label: "Data volume", numeric: true, value: (i) => i.volume,
      cell: (i) => h("span", { title: `${fmtInt(i.volume)} bytes` }, formatBytes(i.volume)) },
    n("publications"), n("citations"),
  ];
  const sum = (k) => list.reduce((s, i) => s + i[k], 0);
  const total = { accepted: sum("accepted"), refused: sum("refused") };
  const foot = ["All instruments", sum("proposals"), total.accepted, total.refused,
    formatPercent(total.accepted, total.accepted + total.refused), sum("datasets"),
    formatBytes(sum("volume")), sum("publications"), sum("citations")];
  box.replaceChildren(sortableTable({ columns, rows: list, foot, caption: `The instruments of ${name}` }));
}

/* The year range of this page, for links to the instruments' dashboards. */
function yearsQuery() {
  const p = pageSearchParams().filter(([k]) => k === "year_from" || k === "year_to");
  return p.map(([k, v]) => `&${k}=${encodeURIComponent(v)}`).join("");
}

/* A grouped bar chart of some of the instruments' numbers. series:
 * [{key, label, color(pal), axis, bytes}] */
function grouped(title, series) {
  return (list) => {
    const horizontal = list.length > MANY;
    const two = series.some((s) => s.axis === "y1");
    const fmtOf = (s) => (s.bytes ? formatBytes : fmtInt);
    return {
      empty: list.length === 0,
      label: `${title} per instrument: ${list.slice(0, 6).map((i) =>
        `${i.name} ${series.map((s) => fmtOf(s)(i[s.key])).join(" / ")}`).join(", ")}${list.length > 6 ? ", …" : ""}`,
      height: horizontal ? barsHeight(list.length * Math.max(1, series.length * 0.7)) : 18,
      config: (pal) => {
        const cfg = barConfig(list.map((i) => i.name), series.map((s) => ({
          label: s.label, data: list.map((i) => i[s.key]), color: s.color(pal),
          axis: horizontal ? undefined : s.axis,
        })), { horizontal, legend: true });
        if (two && !horizontal) {
          const s1 = series.find((s) => s.axis === "y1");
          cfg.options.scales.y1 = {
            position: "right", beginAtZero: true, grid: { drawOnChartArea: false },
            ticks: { callback: (v) => fmtOf(s1)(v) },
          };
          cfg.options.scales.y.title = { display: true, text: series.find((s) => s.axis !== "y1").label };
          cfg.options.scales.y1.title = { display: true, text: s1.label };
        }
        if (two && horizontal) {
          /* One axis: each series on its own scale would mislead, so the
           * tooltip and the table give the numbers. */
          cfg.data.datasets.forEach((d, k) => { d.xAxisID = series[k].axis === "y1" ? "x1" : "x"; });
          const s1 = series.find((s) => s.axis === "y1");
          cfg.options.scales.x1 = {
            position: "top", beginAtZero: true, grid: { drawOnChartArea: false },
            ticks: { callback: (v) => fmtOf(s1)(v) },
          };
        }
        cfg.options.plugins.tooltip = { callbacks: {
          label: (ctx) => `${ctx.dataset.label}: ${fmtOf(series[ctx.datasetIndex])(ctx.raw)}`,
        } };
        return cfg;
      },
      table: {
        head: ["Instrument", ...series.map((s) => s.label)],
        rows: list.map((i) => [h("a", { href: `instrument.html?pid=${encodeURIComponent(i.pid)}${yearsQuery()}` }, i.name),
          ...series.map((s) => (s.bytes ? formatBytes(i[s.key]) : i[s.key]))]),
      },
    };
  };
}

const CHARTS = [
  {
    id: "proposals", title: "Proposals accepted and refused", search: [["type", "proposal"]],
    draw: grouped("Proposals", [
      { key: "proposals", label: "proposals", color: (p) => p.series[0] },
      { key: "accepted", label: "accepted", color: (p) => p.accepted },
      { key: "refused", label: "refused", color: (p) => p.refused },
    ]),
  },
  {
    id: "data", title: "Datasets and data volume", search: [["type", "dataset"]],
    draw: grouped("Datasets and volume", [
      { key: "datasets", label: "datasets", color: (p) => p.series[0], axis: "y" },
      { key: "volume", label: "data volume", color: (p) => p.series[2], axis: "y1", bytes: true },
    ]),
  },
  {
    id: "publications", title: "Publications and citations", search: [["type", "publication"]],
    draw: grouped("Publications and citations", [
      { key: "publications", label: "publications", color: (p) => p.series[1], axis: "y" },
      { key: "citations", label: "citations", color: (p) => p.series[3], axis: "y1" },
    ]),
  },
];

/* ---- no name: the list ------------------------------------------------------------------ */

async function showList() {
  $("list-view").hidden = false;
  const box = $("facility-list");
  let errors = 0;
  try {
    const all = await loadInstruments();
    const counts = new Map();
    for (const i of all) if (i.facility) counts.set(i.facility, (counts.get(i.facility) || 0) + 1);
    const names = [...counts.keys()].sort(cmpText);
    box.replaceChildren(names.length
      ? h("ul", { class: "dash-facility-list" }, names.map((f) => h("li", null,
        h("a", { href: `facility.html?name=${encodeURIComponent(f)}` }, f),
        h("span", { class: "muted" }, `${counts.get(f)} ${counts.get(f) === 1 ? "instrument" : "instruments"}`))))
      : h("p", { class: "muted" }, "The catalogue has no facilities yet."));
  } catch (e) {
    errors = 1;
    setError("list", "The facilities could not be listed", e);
    box.replaceChildren();
  }
  box.removeAttribute("aria-busy");
  markReady(errors);
}

followColourScheme();
if (name) showFacility(name);
else showList();
