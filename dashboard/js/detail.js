/*
 * detail.js: the search page's detail panel: one record (a dataset, a
 * proposal or publication, an instrument) with every field and its
 * relations, read from the PaN API (/api/Datasets, /api/Documents,
 * /api/Instruments). The page decides when it opens and closes (the URL's
 * show and pid); this module loads and draws it. Links inside it open other
 * records in the same panel through the page's recordHref.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
import {
  ApiError, api, apiUrl, arr, dateEl, doiUrl, fmtInt, formatBytes, h, isAbort, isNum, isObj,
  muted, orcidUrl, plural, safeHttpUrl, str, vh,
} from "./util.js";

const FILES_SHOWN = 100;   /* files listed in a dataset's detail */
const LINKED_SHOWN = 200;  /* datasets listed in a document's detail */

export const MODELS = {
  datasets: {
    path: "Datasets", one: "dataset", kind: "Dataset",
    include: [
      { relation: "instrument" }, { relation: "techniques" }, { relation: "samples" },
      { relation: "parameters" }, { relation: "documents" },
    ],
    relations: ["instrument", "techniques", "samples", "parameters", "files", "documents"],
  },
  documents: {
    path: "Documents", one: "document", kind: "Document",
    include: [
      { relation: "members", scope: { include: [{ relation: "person" }, { relation: "affiliation" }] } },
      { relation: "parameters" }, { relation: "datasets" },
    ],
    relations: ["members", "parameters", "datasets"],
  },
  instruments: {
    path: "Instruments", one: "instrument", kind: "Instrument",
    include: null,
    relations: ["datasets"],
  },
};
export const MODEL_KEYS = Object.keys(MODELS);

/* The panel's model for a search result's type. */
export const modelOf = (type) =>
  type === "dataset" ? "datasets" : type === "instrument" ? "instruments" : "documents";

const DOC_TYPES = { proposal: "Proposal", publication: "Publication" };

/* els: the panel's elements (detail, detailKind, detailTitle, detailPid,
 * detailJson, detailClose, detailBody, layout). recordHref(model, pid):
 * the page's URL that opens a record in the panel. searchHref(params): the
 * search page's URL for filters. messages: the page's message area. */
export function detailPanel({ els, recordHref, searchHref, messages }) {
  let ctl = null;

  const recordLink = (model, pid, text) => h("a", {
    href: recordHref(model, pid), "data-nav": true, "data-focus": "detail",
    "data-model": model, "data-pid": pid, class: "record-link",
  }, text);

  async function fetchDetail(model, pid, signal) {
    const m = MODELS[model];
    const base = `${m.path}/${encodeURIComponent(pid)}`;
    const filter = m.include ? { filter: { include: m.include } } : null;
    if (model === "datasets") {
      /* Files come from their own endpoint: a dataset may have very many. */
      const [rec, files, nfiles] = await Promise.all([
        api(base, filter, { signal }),
        api(`${base}/files`, { filter: { limit: FILES_SHOWN } }, { signal }),
        api(`${base}/files/count`, null, { signal }),
      ]);
      return { rec, files: arr(files), nfiles: isNum(nfiles?.count) ? nfiles.count : null };
    }
    if (model === "instruments") {
      const [rec, n] = await Promise.all([
        api(base, filter, { signal }),
        api("Datasets/count", { where: { instrumentId: pid } }, { signal }),
      ]);
      return { rec, ndatasets: isNum(n?.count) ? n.count : null };
    }
    return { rec: await api(base, filter, { signal }) };
  }

  async function open(model, pid, closeHref, focus) {
    ctl?.abort();
    const mine = (ctl = new AbortController());
    const m = MODELS[model];
    els.layout.classList.add("has-detail");
    els.detail.hidden = false;
    els.detail.setAttribute("aria-busy", "true");
    els.detailKind.textContent = m.kind;
    els.detailTitle.textContent = pid;
    els.detailPid.textContent = pid;
    els.detailJson.href = apiUrl(`${m.path}/${encodeURIComponent(pid)}`).href;
    els.detailClose.href = closeHref;
    els.detailBody.replaceChildren(h("p", { class: "loading" }, h("span", { class: "spinner" }), "Loading…"));
    if (focus) els.detailTitle.focus();
    try {
      const got = await fetchDetail(model, pid, mine.signal);
      if (mine.signal.aborted) return false;
      messages.clear("detail");
      render(model, pid, got);
    } catch (e) {
      if (isAbort(e) || mine.signal.aborted) return false;
      messages.error("detail", `The ${m.one} ${pid} could not be loaded`, e);
      els.detailBody.replaceChildren(h("p", { class: "detail-error" },
        e instanceof ApiError && e.status === 404
          ? `There is no ${m.one} with the pid ${pid}.`
          : "The record could not be loaded; see the message above."));
      return false;
    } finally {
      if (!mine.signal.aborted) els.detail.removeAttribute("aria-busy");
    }
    return true;
  }

  /* Closes the panel; the focus goes back to the result it was opened from
   * (back: a function that finds it) when it was in the panel. */
  function close(back) {
    ctl?.abort();
    ctl = null;
    const hadFocus = els.detail.contains(document.activeElement) ||
                     document.activeElement === document.body;
    els.detail.hidden = true;
    els.layout.classList.remove("has-detail");
    els.detailBody.replaceChildren();
    messages.clear("detail");
    if (hadFocus && back) back()?.focus();
  }

  const section = (title, ...content) =>
    h("section", { class: "detail-section" }, h("h3", null, title), content);

  /* A table in a scrollable, keyboard-reachable box; columns: [header, cell(row)]. */
  const table = (caption, columns, rows) =>
    h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": caption },
      h("table", { class: "data" },
        h("caption", { class: "vh" }, caption),
        h("thead", null, h("tr", null, columns.map(([head]) => h("th", { scope: "col" }, head)))),
        h("tbody", null, rows.map((r) => h("tr", null, columns.map(([, cell]) => h("td", null, cell(r))))))));

  const none = (text = "None recorded.") => h("p", { class: "muted" }, text);

  function techniqueLink(t) {
    const name = str(t.name) || str(t.pid) || "technique";
    const iri = safeHttpUrl(t.panetId) || safeHttpUrl(t.pid);
    return iri ? h("a", { href: iri, title: `PaNET: ${iri}` }, name) : h("span", null, name);
  }

  const typeBadge = (type) => {
    const t = str(type);
    return h("span", { class: `badge badge-${DOC_TYPES[t] ? t : "other"}` }, DOC_TYPES[t] || t || "Document");
  };

  /* One field's value, for the "all fields" table. */
  function fieldValue(key, v) {
    if (v === null || v === undefined || v === "") return muted("—");
    if (key === "doi" && typeof v === "string") {
      const url = doiUrl(v);
      return url ? h("a", { href: url }, v) : v;
    }
    if (key === "instrumentId" && typeof v === "string") return recordLink("instruments", v, v);
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

  function fieldsTable(m, rec) {
    const keys = Object.keys(rec).filter((k) => !m.relations.includes(k));
    return h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "All fields" },
      h("table", { class: "fields" },
        h("caption", { class: "vh" }, "All fields"),
        h("tbody", null, keys.map((k) =>
          h("tr", null, h("th", { scope: "row" }, k), h("td", null, fieldValue(k, rec[k])))))));
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

  function datasetSections(pid, rec, got) {
    const out = [];
    const inst = isObj(rec.instrument) ? rec.instrument : null;
    out.push(section("Instrument", inst && str(inst.pid)
      ? h("p", null, recordLink("instruments", str(inst.pid), str(inst.name) || str(inst.pid)),
          str(inst.facility) ? ` at ${inst.facility}` : "", " · ",
          h("a", { href: `instrument.html?pid=${encodeURIComponent(str(inst.pid))}` }, "its dashboard"))
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
    const filesUrl = apiUrl(`Datasets/${encodeURIComponent(pid)}/files`).href;
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
          str(d.pid) ? recordLink("documents", str(d.pid), str(d.title) || str(d.pid)) : str(d.title))))
      : none()));
    return out;
  }

  function personCell(p) {
    if (!isObj(p)) return muted("—");
    const name = str(p.fullName) || [str(p.firstName), str(p.lastName)].filter(Boolean).join(" ") || str(p.id);
    const orcid = orcidUrl(p.orcid) || orcidUrl(p.id);
    return orcid ? [name, " ", h("a", { href: orcid, class: "orcid", title: orcid }, "ORCID", vh(` of ${name}`))] : name;
  }

  function documentSections(rec) {
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
            str(d.pid) ? recordLink("datasets", str(d.pid), str(d.title) || str(d.pid)) : str(d.title),
            d.creationDate || isNum(d.size)
              ? [" ", muted([str(d.creationDate).slice(0, 10), isNum(d.size) ? formatBytes(d.size) : ""]
                  .filter(Boolean).join(", "))]
              : ""))),
        ]
      : none()));
    return out;
  }

  function instrumentSections(pid, got) {
    const n = got.ndatasets;
    return [section("Records", h("p", null,
      n === null ? "" : `${plural(n, "dataset", "datasets")} from this instrument. `,
      h("a", { href: searchHref({ instrument: [pid] }), "data-nav": true, "data-focus": "results" },
        "Search its records"), " · ",
      h("a", { href: `instrument.html?pid=${encodeURIComponent(pid)}` }, "Open its dashboard"), "."))];
  }

  function render(model, pidAsked, got) {
    const m = MODELS[model];
    const rec = isObj(got.rec) ? got.rec : {};
    const pid = str(rec.pid) || pidAsked;
    els.detailKind.textContent = model === "documents" && DOC_TYPES[rec.type] ? DOC_TYPES[rec.type] : m.kind;
    els.detailTitle.textContent = str(rec.title) || str(rec.name) || pid;
    els.detailPid.textContent = pid;
    const body = [section("All fields", fieldsTable(m, rec))];
    if (model === "datasets") body.push(...datasetSections(pid, rec, got));
    else if (model === "documents") body.push(...documentSections(rec));
    else body.push(...instrumentSections(pid, got));
    els.detailBody.replaceChildren(...body);
  }

  return { open, close, focus: () => els.detailTitle.focus() };
}
