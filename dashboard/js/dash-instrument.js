/*
 * dash-instrument.js: the instrument dashboard (instrument.html). With
 * ?pid=P it asks the analytics API, all at once, for the instrument's header
 * (names over time, totals) and one breakdown per chart, each restricted to
 * instrument=P and to the year range in the URL, and draws them as they
 * come; when the last one is drawn it marks the page ready and shows the
 * time taken. Without a pid it lists every instrument of the PaN API,
 * grouped by facility. Everything from the API reaches the page as text.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
import {
  $, api, apiUrl, arr, barConfig, barsHeight, chartCard, cmpText, drawCard, failCard,
  filterFor, fmtInt, followColourScheme, formatBytes, h, isNum, isObj, loadInstruments,
  markReady, num, pageSearchParams, searchHref, setError, settleAll, setupYearForm, str,
} from "./dash-common.js";

const TOP = 15;          /* bars in a "top" chart */
const TABLE_ROWS = 100;  /* rows asked for the institutions table */

const pid = (new URLSearchParams(location.search).get("pid") || "").trim().slice(0, 1024);

/* ---- one instrument ------------------------------------------------------------------- */

function showInstrument(p) {
  $("instrument-view").hidden = false;
  /* The year range (and any other search parameter in the URL) narrows
   * every number on the page. */
  const years = pageSearchParams().filter(([k]) => k === "year_from" || k === "year_to");
  const base = [["instrument", p], ...years];
  setupYearForm($("years"), [["pid", p], ...years]);
  $("inst-pid").textContent = p;
  $("inst-json").href = apiUrl(`Instruments/${encodeURIComponent(p)}`).href;

  const jobs = [header(p, years, base)];
  for (const c of CHARTS) {
    const card = chartCard({
      id: c.id, title: c.title, note: c.note, wide: c.wide,
      search: [...base, ...(c.search || [])],
    });
    $(`charts-${c.section}`).append(card);
    jobs.push(Promise.all(c.requests.map((r) => api("analytics/breakdown", [...base, ...r])))
      .then((answers) => drawCard(card, c.draw(answers, base)))
      .catch((e) => {
        failCard(card, e);
        throw e;
      }));
  }
  settleAll(jobs).then(markReady);
}

/* The title, the facility, the totals and the timeline. */
async function header(p, years, base) {
  let d;
  try {
    d = await api("analytics/instrument", [["pid", p], ...years]);
  } catch (e) {
    setError("header", "The instrument could not be loaded", e);
    $("inst-name").textContent = p;
    $("totals").removeAttribute("aria-busy");
    $("timeline").removeAttribute("aria-busy");
    $("timeline").replaceChildren(h("p", { class: "dash-error" }, "The instrument's history could not be loaded."));
    throw e;
  }
  const name = str(d.name) || p;
  $("inst-name").textContent = name;
  document.title = `${name} · Instrument dashboard · pansift`;
  const fac = str(d.facility);
  $("inst-facility").replaceChildren(fac
    ? h("span", null, "At ", h("a", { href: `facility.html?name=${encodeURIComponent(fac)}` }, fac),
        " · ", h("a", { href: `facility.html?name=${encodeURIComponent(fac)}#table` }, "compare its instruments"))
    : h("span", { class: "muted" }, "Facility not given"));
  const totals = isObj(d.totals) ? d.totals : {};
  renderTotals(totals, base);
  /* The years of its records: the year form's hints, the timeline's span
   * when the names have no dates. */
  const span = [totals.first_year, totals.last_year].map((y) => (isNum(y) ? y : null));
  if (span[0] !== null) $("year_from").placeholder = String(span[0]);
  if (span[1] !== null) $("year_to").placeholder = String(span[1]);
  renderTimeline(name, arr(d.names), span);
}

const TOTALS = [
  { key: "proposals", label: "proposals", search: [["type", "proposal"]] },
  { key: "accepted", label: "accepted", search: [["type", "proposal"], ["status", "accepted"]] },
  { key: "refused", label: "refused", search: [["type", "proposal"], ["status", "refused"]] },
  { key: "datasets", label: "datasets", search: [["type", "dataset"]] },
  { key: "volume", label: "of data", bytes: true, search: [["type", "dataset"]] },
  { key: "publications", label: "publications", search: [["type", "publication"]] },
  { key: "citations", label: "citations", search: [["type", "publication"], ["sort", "citations"]] },
];

function renderTotals(t, base) {
  const dl = $("totals");
  dl.replaceChildren(...TOTALS.map((x) => {
    const v = t[x.key];
    const shown = x.bytes ? formatBytes(v) : fmtInt(v);
    return h("div", { class: "dash-total", "data-total": x.key, "data-value": isNum(v) ? String(v) : "" },
      h("dt", null, x.label),
      h("dd", null, h("a", { href: searchHref([...base, ...x.search]) },
        h("span", { class: "dash-big" }, shown),
        x.bytes && isNum(v) ? h("span", { class: "vh" }, ` (${fmtInt(v)} bytes)`) : null)));
  }));
  dl.removeAttribute("aria-busy");
}

/* ---- the timeline of names -------------------------------------------------------------- */

const DAY = 86400000;
const parseDate = (s) => {
  const t = Date.parse(str(s));
  return Number.isFinite(t) ? t : null;
};
const day = (s) => (str(s) ? str(s).slice(0, 10) : "");

function renderTimeline(current, names, [firstYear, lastYear]) {
  const box = $("timeline");
  box.removeAttribute("aria-busy");
  let list = names.filter(isObj).map((n) => ({
    name: str(n.name), from: parseDate(n.from), to: parseDate(n.to), fromText: day(n.from), toText: day(n.to),
  })).filter((n) => n.name);
  if (!list.length) list = [{ name: current, from: null, to: null, fromText: "", toText: "" }];
  list.sort((a, b) => (a.from ?? -Infinity) - (b.from ?? -Infinity));
  const now = Date.now();
  /* The span drawn: the names' dates and the years of the records. */
  const known = list.flatMap((n) => [n.from, n.to]).filter((t) => t !== null);
  if (firstYear !== null) known.push(Date.UTC(firstYear, 0, 1));
  if (lastYear !== null) known.push(Date.UTC(lastYear, 11, 31));
  const start = known.length ? Math.min(...known) : now - 365 * DAY;
  const end = Math.max(now, ...known);
  const span = Math.max(end - start, DAY);
  const pct = (t) => (100 * (t - start)) / span;
  const records = firstYear !== null && lastYear !== null
    ? (firstYear === lastYear ? `records of ${firstYear}` : `records from ${firstYear} to ${lastYear}`) : "";

  const ol = h("ol", { class: "dash-timeline-list" });
  list.forEach((n, i) => {
    const last = i === list.length - 1;
    /* An open end is "now" for the last name, else the next name's start. */
    const endT = n.to ?? (last ? now : list[i + 1].from ?? now);
    const startT = n.from ?? start;
    const period = n.fromText && n.toText ? `${n.fromText} to ${n.toText}`
      : n.fromText ? `since ${n.fromText}`
      : n.toText ? `until ${n.toText}`
      : list.length === 1 && records ? `dates not recorded; ${records}` : "dates not recorded";
    const bar = h("span", { class: `dash-tl-bar${n.to === null && last ? " dash-tl-open" : ""}` });
    bar.style.left = `${pct(startT).toFixed(2)}%`;
    bar.style.width = `${Math.max(pct(endT) - pct(startT), 0.8).toFixed(2)}%`;
    ol.append(h("li", { class: "dash-tl-item" },
      h("span", { class: "dash-tl-name" }, n.name),
      h("span", { class: "dash-tl-period" }, period),
      h("span", { class: "dash-tl-track", "aria-hidden": "true" }, bar)));
  });
  const axis = h("div", { class: "dash-tl-item dash-tl-axis-row", "aria-hidden": "true" },
    h("span"), h("span"), h("span", { class: "dash-tl-axis" },
      h("span", null, new Date(start).getUTCFullYear()), h("span", null, new Date(end).getUTCFullYear())));
  box.replaceChildren(ol, axis);
}

/* ---- the charts ------------------------------------------------------------------------- */

/* Rows of a breakdown answer, checked. */
const rowsOf = (a) => arr(a?.rows).filter(isObj).map((r) => ({
  value: str(r.value), label: str(r.label) || str(r.value), count: num(r.count), country: str(r.country),
  split: arr(r.split).filter(isObj).map((s) => ({ value: str(s.value), label: str(s.label) || str(s.value), count: num(s.count) })),
}));

/* An institution's own country. The breakdown's split by country counts
 * the countries of the institution's documents, and the institution's own
 * country is among those of every one of them: a split value whose count
 * is the row's. When several are (every document shares two countries),
 * the one the institution's pid names ("name:<name>|<country>", the
 * store's pid for an institution without one of its own), else the first.
 * A row's own "country", when the API gives one, wins. */
function institutionCountry(r) {
  if (r.country) return r.country;
  const full = r.split.filter((s) => s.count === r.count && s.label);
  if (full.length <= 1) return full[0]?.label || "";
  const named = /\|([^|]+)$/.exec(r.value)?.[1]?.toLowerCase();
  return (full.find((s) => s.label.toLowerCase() === named) || full[0]).label;
}

/* The label of a table row: a link to the search when the value is a filter. */
function rowLabel(by, r, base, extra) {
  const f = filterFor(by, r.value);
  return f ? h("a", { href: searchHref([...base, ...(extra || []), ...f]) }, r.label) : r.label;
}

/* A chart of one breakdown as bars (horizontal for names, vertical for years). */
function simpleBars(by, seriesLabel, extra, o = {}) {
  return ([a], base) => {
    const rows = rowsOf(a).slice(0, o.top || 1000);
    const horizontal = by !== "year";
    const fmt = o.bytes ? formatBytes : fmtInt;
    return {
      empty: rows.length === 0 || rows.every((r) => r.count === 0),
      label: `${seriesLabel} by ${by}: ${rows.slice(0, 5).map((r) => `${r.label} ${fmt(r.count)}`).join(", ")}${rows.length > 5 ? ", …" : ""}`,
      height: horizontal ? barsHeight(rows.length) : 18,
      config: (pal) => barConfig(rows.map((r) => r.label),
        [{ label: seriesLabel, data: rows.map((r) => r.count), color: o.color ? o.color(pal) : pal.series[0] }],
        { horizontal, format: fmt }),
      table: {
        head: [by === "author" ? "Author" : by[0].toUpperCase() + by.slice(1), seriesLabel],
        rows: rows.map((r) => [rowLabel(by, r, base, extra), o.bytes ? formatBytes(r.count) : r.count]),
      },
    };
  };
}

const CHARTS = [
  {
    id: "proposals-year", section: "proposals", title: "Proposals accepted and refused, by year",
    search: [["type", "proposal"]],
    requests: [[["by", "year"], ["split", "status"], ["type", "proposal"]]],
    draw: ([a], base) => {
      const rows = rowsOf(a);
      const part = (r, s) => r.split.find((x) => x.value === s)?.count || 0;
      const other = rows.map((r) => r.count - part(r, "accepted") - part(r, "refused"));
      const anyOther = other.some((v) => v > 0);
      return {
        empty: rows.length === 0,
        label: `Proposals by year, accepted and refused, ${rows.length} years`,
        config: (pal) => barConfig(rows.map((r) => r.label), [
          { label: "accepted", data: rows.map((r) => part(r, "accepted")), color: pal.accepted, stack: "s" },
          { label: "refused", data: rows.map((r) => part(r, "refused")), color: pal.refused, stack: "s" },
          ...(anyOther ? [{ label: "other or no status", data: other, color: pal.other, stack: "s" }] : []),
        ], { stacked: true, legend: true }),
        table: {
          head: ["Year", "Accepted", "Refused", ...(anyOther ? ["Other or no status"] : []), "All"],
          rows: rows.map((r, i) => [rowLabel("year", r, base, [["type", "proposal"]]),
            part(r, "accepted"), part(r, "refused"), ...(anyOther ? [other[i]] : []), r.count]),
        },
      };
    },
  },
  {
    id: "proposals-type", section: "proposals", title: "Proposals by type",
    search: [["type", "proposal"]],
    requests: [[["by", "doctype"], ["type", "proposal"], ["limit", String(TOP)]]],
    draw: simpleBars("doctype", "Proposals", [["type", "proposal"]]),
  },
  {
    id: "datasets-year", section: "data", title: "Datasets and data volume, by year", wide: true,
    search: [["type", "dataset"]],
    requests: [[["by", "year"], ["type", "dataset"]],
      [["by", "year"], ["metric", "volume"], ["type", "dataset"]]],
    draw: ([counts, volumes], base) => {
      const c = rowsOf(counts);
      const v = rowsOf(volumes);
      const years = [...new Set([...c, ...v].map((r) => r.value))].sort(cmpText);
      const at = (rows, y) => rows.find((r) => r.value === y)?.count || 0;
      const n = years.map((y) => at(c, y));
      const vol = years.map((y) => at(v, y));
      return {
        empty: years.length === 0,
        label: `Datasets and data volume by year, ${years.length} years`,
        config: (pal) => {
          const cfg = barConfig(years, [
            { label: "datasets", data: n, color: pal.series[0], axis: "y" },
          ], { legend: true });
          cfg.data.datasets.push({
            type: "line", label: "data volume", data: vol, yAxisID: "y1",
            borderColor: pal.series[2], backgroundColor: pal.series[2], pointRadius: 3, tension: 0.2,
          });
          cfg.options.scales.y1 = {
            position: "right", beginAtZero: true, grid: { drawOnChartArea: false },
            ticks: { callback: (x) => formatBytes(x) },
          };
          cfg.options.plugins.tooltip = { callbacks: {
            label: (ctx) => `${ctx.dataset.label}: ${ctx.dataset.yAxisID === "y1" ? formatBytes(ctx.raw) : fmtInt(ctx.raw)}`,
          } };
          return cfg;
        },
        table: {
          head: ["Year", "Datasets", "Data volume", "Bytes"],
          rows: years.map((y, i) => [rowLabel("year", { value: y, label: y }, base, [["type", "dataset"]]),
            n[i], formatBytes(vol[i]), vol[i]]),
        },
      };
    },
  },
  {
    id: "publications-type", section: "publications", title: "Publications by type",
    search: [["type", "publication"]],
    requests: [[["by", "doctype"], ["type", "publication"], ["limit", String(TOP)]]],
    draw: simpleBars("doctype", "Publications", [["type", "publication"]], { color: (p) => p.series[1] }),
  },
  {
    id: "publications-journal", section: "publications", title: "Publications by journal",
    search: [["type", "publication"]],
    requests: [[["by", "journal"], ["type", "publication"], ["limit", String(TOP)]]],
    draw: simpleBars("journal", "Publications", [["type", "publication"]], { color: (p) => p.series[1] }),
  },
  {
    id: "citations-year", section: "publications", title: "Citations per year of publication", wide: true,
    note: "The citations of the instrument's publications, by the year each was published.",
    search: [["type", "publication"], ["sort", "citations"]],
    requests: [[["by", "year"], ["metric", "citations"], ["type", "publication"]]],
    draw: simpleBars("year", "Citations", [["type", "publication"]], { color: (p) => p.series[3] }),
  },
  {
    id: "institutions", section: "users", title: "Users' institutions", wide: true,
    note: "Institutions of the proposals' members, grouped by country in the data table. " +
      "The API gives no coordinates, so there is no map.",
    search: [["type", "proposal"]],
    requests: [[["by", "institution"], ["split", "country"], ["type", "proposal"], ["limit", String(TABLE_ROWS)]]],
    draw: ([a], base) => {
      const rows = rowsOf(a);
      const top = rows.slice(0, TOP);
      const countryOf = (r) => institutionCountry(r) || "Country not given";
      const groups = new Map();
      for (const r of rows) {
        const c = countryOf(r);
        if (!groups.has(c)) groups.set(c, { total: 0, rows: [] });
        groups.get(c).total += r.count;
        groups.get(c).rows.push(r);
      }
      const ordered = [...groups.entries()].sort((x, y) => y[1].total - x[1].total || cmpText(x[0], y[0]));
      const extra = [["type", "proposal"]];
      return {
        empty: rows.length === 0,
        label: `Top institutions by proposals: ${top.slice(0, 5).map((r) => `${r.label} ${fmtInt(r.count)}`).join(", ")}`,
        height: barsHeight(top.length),
        config: (pal) => barConfig(top.map((r) => `${r.label} (${countryOf(r)})`),
          [{ label: "Proposals", data: top.map((r) => r.count), color: pal.series[4] }],
          { horizontal: true }),
        caption: "Institutions by country",
        table: {
          head: ["Country", "Institution", "Proposals"],
          numeric: [false, false, true],
          rows: ordered.flatMap(([country, g]) => [
            [h("strong", null, rowLabel("country", { value: country, label: country }, base, extra)),
              h("span", { class: "muted" }, `${g.rows.length} ${g.rows.length === 1 ? "institution" : "institutions"}`),
              h("strong", null, fmtInt(g.total))],
            ...g.rows.map((r) => ["", rowLabel("institution", r, base, extra), r.count]),
          ]),
        },
      };
    },
  },
  {
    id: "countries", section: "users", title: "Users' countries",
    search: [["type", "proposal"]],
    requests: [[["by", "country"], ["type", "proposal"], ["limit", String(TOP)]]],
    draw: simpleBars("country", "Proposals", [["type", "proposal"]], { color: (p) => p.series[5] }),
  },
  {
    id: "authors", section: "users", title: "Top authors",
    note: "Authors of the instrument's publications.",
    search: [["type", "publication"]],
    requests: [[["by", "author"], ["type", "publication"], ["limit", String(TOP)]]],
    draw: simpleBars("author", "Publications", [["type", "publication"]], { color: (p) => p.series[6] }),
  },
];

/* ---- no pid: the list ------------------------------------------------------------------- */

async function showList() {
  $("list-view").hidden = false;
  const box = $("instrument-list");
  let errors = 0;
  try {
    const all = await loadInstruments();
    const groups = new Map();
    for (const i of all) {
      if (!groups.has(i.facility)) groups.set(i.facility, []);
      groups.get(i.facility).push(i);
    }
    const sections = [...groups.keys()].sort(cmpText).map((f) => {
      const list = groups.get(f).sort((a, b) => cmpText(a.name || a.pid, b.name || b.pid));
      return h("section", { class: "dash-dir-group" },
        h("h2", null, f ? h("a", { href: `facility.html?name=${encodeURIComponent(f)}` }, f) : "Facility not given",
          h("span", { class: "muted dash-count" }, ` ${list.length}`)),
        h("ul", null, list.map((i) => h("li", null,
          h("a", { href: `instrument.html?pid=${encodeURIComponent(i.pid)}` }, i.name || i.pid)))));
    });
    box.replaceChildren(...(sections.length ? sections : [h("p", { class: "muted" }, "The catalogue has no instruments yet.")]));
  } catch (e) {
    errors = 1;
    setError("list", "The instruments could not be listed", e);
    box.replaceChildren();
  }
  box.removeAttribute("aria-busy");
  markReady(errors);
}

/* ---- start ------------------------------------------------------------------------------ */

followColourScheme();
if (pid) showInstrument(pid);
else showList();
