/*
 * matches.js: the match review page (matches.html). Lists the links
 * between publications and proposals that `pansift match` proposed (GET
 * /api/matches, filtered by state, tier and instrument, 20 to a page), each
 * with the publication, the proposal, the score, the tier and its evidence
 * written out as sentences ("proposal code 8-01-418 in the
 * acknowledgements"), and buttons that confirm or reject it (POST
 * /api/matches/{id}, with the admin token when one is set). The URL holds
 * the filters and the page.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
import {
  $, api, arr, describeError, doiUrl, fmtInt, h, interceptNavLinks, isAbort, isNum, isObj, loadHealth,
  messageArea, muted, orcidUrl, plural, str, tokenField, vh,
} from "./util.js";

const PAGE_SIZE = 20;
const STATES = ["candidate", "confirmed", "rejected", "all"];
const TIERS = ["hard", "soft"];

const els = {
  form: $("filter-form"), state: $("state"), tier: $("tier"), instrument: $("instrument"),
  token: $("token"), message: $("message"), heading: $("matches-heading"), spinner: $("spinner"),
  status: $("status"), list: $("match-list"), pager: $("pager"), health: $("health"),
};
const messages = messageArea(els.message);
els.token.append(tokenField({ form: true }));

const enc = encodeURIComponent;

function readState() {
  const p = new URLSearchParams(location.search);
  const one = (k) => (p.get(k) || "").trim();
  return {
    state: STATES.includes(one("state")) ? one("state") : "candidate",
    tier: TIERS.includes(one("tier")) ? one("tier") : "",
    instrument: one("instrument"),
    page: Math.min(Math.max(parseInt(one("page"), 10) || 1, 1), 100000),
  };
}

function href(s) {
  const p = new URLSearchParams();
  if (s.state !== "candidate") p.set("state", s.state);
  if (s.tier) p.set("tier", s.tier);
  if (s.instrument) p.set("instrument", s.instrument);
  if (s.page > 1) p.set("page", String(s.page));
  const qs = p.toString();
  return qs ? `?${qs}` : location.pathname;
}

/* ---- evidence, in words ------------------------------------------------------------------------ */

const SECTIONS = {
  acknowledgements: "the acknowledgements", references: "the references", text: "the text",
  abstract: "the abstract", title: "the title", funding: "the funding statement",
  body: "the text", methods: "the methods",
};
const inSection = (sec) => (str(sec) ? ` in ${SECTIONS[str(sec)] || `the ${str(sec)}`}` : "");
const code = (v) => h("code", null, str(v));

/* One piece of evidence (docs/matching.md, "Evidence JSON") as a sentence. */
export function evidenceText(e) {
  const kind = str(e.kind);
  const context = str(e.context) ? [": ", h("q", null, str(e.context))] : "";
  switch (kind) {
  case "proposal-code":
    return ["proposal code ", code(e.value), str(e.facility) ? ` (${str(e.facility)})` : "",
      inSection(e.section),
      isNum(e.confidence) ? ` · confidence ${e.confidence.toFixed(2)}` : "", context];
  case "data-doi": {
    const via = str(e.via);
    const where = via === "reference" ? " in the paper's references"
      : via === "citation" ? ", which the paper cites (a harvested citation link)"
      : via === "mention" ? ` mentioned${inSection(e.section) || " in the paper"}`
      : inSection(e.section);
    /* Only a DOI (10.x/...) gets a link; a dataset's pid may be another id. */
    const url = /^10\.\d{4,9}\//.test(str(e.value)) ? doiUrl(e.value) : null;
    const ds = str(e.dataset);
    return ["data DOI ", url ? h("a", { href: url }, str(e.value)) : code(e.value),
      ds && ds !== str(e.value) ? [" of the proposal's dataset ", code(ds)] : " of the proposal's data",
      where, context];
  }
  case "member": {
    const by = str(e.by);
    const orcid = orcidUrl(e.orcid);
    return ["author ", h("strong", null, str(e.value) || "?"), " is a member of the proposal",
      by === "orcid" ? [" (same ORCID", orcid ? [" ", h("a", { href: orcid }, str(e.orcid))] : "", ")"]
      : by === "name" ? " (same family name and first initial)"
      : by === "person" ? " (the same person record)"
      : by ? ` (by ${by})` : ""];
  }
  case "instrument":
    return ["the proposal's instrument ", h("strong", null, str(e.value)), " is named",
      inSection(e.section) || " in the paper", context];
  case "similarity":
    return ["the titles and abstracts are alike",
      isNum(e.cosine) ? ` (cosine similarity ${e.cosine.toFixed(2)})` : ""];
  case "cites-data-of-proposal":
    return ["the paper cites data of the proposal", str(e.value) ? [" (", code(e.value), ")"] : ""];
  default: {
    const rest = { ...e };
    delete rest.kind;
    delete rest.tier;
    return [kind || "evidence", Object.keys(rest).length ? [": ", code(JSON.stringify(rest))] : ""];
  }
  }
}

/* ---- one match --------------------------------------------------------------------------------- */

const PROVENANCE = { 1: "proposed by the matcher", 3: "judged by staff", inferred: "proposed by the matcher",
  validated: "judged by staff", harvested: "harvested", user: "entered by a user" };

const docHref = (pid) => `./?show=documents&pid=${enc(pid)}`;

function matchItem(m) {
  const id = str(m.id);
  const pub = isObj(m.publication) ? m.publication : {};
  const prop = isObj(m.proposal) ? m.proposal : {};
  const state = str(m.state) || "candidate";
  const tier = str(m.tier);
  const evidence = arr(m.evidence).filter(isObj);
  const status = h("p", { class: "match-status", role: "status" });
  const pubTitle = str(pub.title) || str(pub.pid) || "(untitled publication)";
  const propTitle = str(prop.title) || str(prop.pid) || "(untitled proposal)";
  const doi = doiUrl(pub.doi);

  const judge = async (to, button) => {
    for (const b of item.querySelectorAll("button")) b.disabled = true;
    status.textContent = to === "confirmed" ? "Confirming…" : to === "rejected" ? "Rejecting…" : "Reopening…";
    try {
      const got = await api(`matches/${enc(id)}`, null, { method: "POST", body: { state: to }, auth: true });
      const next = matchItem(isObj(got) && str(got.id) ? got : { ...m, state: to });
      item.replaceWith(next);
      const note = next.querySelector(".match-status");
      note.textContent = to === "confirmed" ? "Confirmed: this link now counts in the dashboards."
        : to === "rejected" ? "Rejected: the matcher will not propose it again."
        : "Back among the candidates.";
      next.querySelector(`button[data-action]`)?.focus();
      messages.clear(`match-${id}`);
    } catch (e) {
      status.textContent = `Not changed: ${describeError(e)}.`;
      for (const b of item.querySelectorAll("button")) b.disabled = false;
      button.focus();
    }
  };
  const button = (to, label, cls) => {
    const b = h("button", { type: "button", class: `button button-small ${cls}`, "data-action": to },
      label, vh(` the link of “${pubTitle}” to ${str(prop.code) || propTitle}`));
    b.addEventListener("click", () => judge(to, b));
    return b;
  };

  const item = h("li", { class: "match", "data-id": id, "data-state": state, "data-tier": tier },
    h("div", { class: "match-head" },
      tier && h("span", { class: `badge badge-${tier === "hard" ? "hard" : "soft"}` }, `${tier} evidence`),
      h("span", { class: `badge badge-${["candidate", "confirmed", "rejected"].includes(state) ? state : "other"} match-state` }, state),
      isNum(m.score) && h("span", { class: "score" }, `score ${m.score.toFixed(3)}`),
      m.provenance !== undefined && m.provenance !== null &&
        muted(PROVENANCE[str(m.provenance)] || `provenance ${str(m.provenance)}`),
      muted(`#${id}`)),
    h("div", { class: "match-pair" },
      h("div", { class: "match-side" },
        h("h3", null, "Publication"),
        h("p", { class: "match-title" }, str(pub.pid) ? h("a", { href: docHref(str(pub.pid)) }, pubTitle) : pubTitle),
        h("p", { class: "muted" },
          [str(pub.year), doi && h("a", { href: doi }, `doi:${str(pub.doi)}`)].filter(Boolean)
            .flatMap((x, i) => (i ? [" · ", x] : [x])))),
      h("div", { class: "match-side" },
        h("h3", null, "Proposal"),
        h("p", { class: "match-title" }, str(prop.code) ? [code(prop.code), " "] : "",
          str(prop.pid) ? h("a", { href: docHref(str(prop.pid)) }, propTitle) : propTitle),
        arr(prop.instruments).length > 0 && h("p", { class: "muted" }, "On ",
          arr(prop.instruments).map((i, n) => {
            const pid = isObj(i) ? str(i.pid) : str(i);
            const name = isObj(i) ? str(i.name) || pid : pid;
            return [n ? ", " : "", pid ? h("a", { href: `instrument.html?pid=${enc(pid)}` }, name) : name];
          })))),
    h("h4", { class: "vh" }, "Evidence"),
    evidence.length
      ? h("ul", { class: "evidence" }, evidence.map((e) => h("li", { "data-kind": str(e.kind) },
          str(e.tier) ? [h("span", { class: "muted" }, `${str(e.tier)}: `)] : "", evidenceText(e))))
      : h("p", { class: "muted" }, "No evidence recorded."),
    h("p", { class: "actions" },
      state !== "confirmed" && button("confirmed", "Confirm", "button-good"),
      state !== "rejected" && button("rejected", "Reject", "button-danger"),
      state !== "candidate" && button("candidate", "Back to the candidates", "")),
    status);
  return item;
}

/* ---- the list --------------------------------------------------------------------------------- */

let ctl = null;

async function load(s, focus) {
  ctl?.abort();
  const mine = (ctl = new AbortController());
  els.spinner.hidden = false;
  els.status.textContent = "Loading…";
  try {
    const b = await api("matches", {
      state: s.state, tier: s.tier, instrument: s.instrument, limit: PAGE_SIZE, skip: (s.page - 1) * PAGE_SIZE,
    }, { signal: mine.signal });
    if (mine.signal.aborted) return;
    messages.clear("list");
    const rows = arr(b?.results).filter((m) => isObj(m) && str(m.id));
    const count = isNum(b?.count) ? b.count : rows.length;
    const [one, many] = {
      candidate: ["candidate", "candidates"], confirmed: ["confirmed match", "confirmed matches"],
      rejected: ["rejected match", "rejected matches"], all: ["match", "matches"],
    }[s.state];
    const skip = (s.page - 1) * PAGE_SIZE;
    els.status.textContent = count === 0
      ? `No ${many}${s.state === "candidate" ? " to review" : ""}.`
      : rows.length === 0 ? `Page ${s.page} is past the end of ${plural(count, one, many)}.`
      : `${fmtInt(skip + 1)}–${fmtInt(skip + rows.length)} of ${plural(count, one, many)}`;
    els.status.dataset.count = String(count);
    els.list.replaceChildren(...rows.map(matchItem));
    const last = Math.max(1, Math.ceil(count / PAGE_SIZE));
    els.pager.replaceChildren();
    els.pager.hidden = last <= 1 && s.page === 1;
    if (!els.pager.hidden) {
      const link = (p, label, rel, on) => on
        ? h("a", { class: "button", href: href({ ...s, page: p }), rel, "data-nav": true, "data-focus": "list" }, label)
        : h("span", { class: "button", "aria-disabled": "true" }, label);
      els.pager.append(link(s.page - 1, "← Previous", "prev", s.page > 1),
        h("span", { class: "pager-info" }, `Page ${fmtInt(s.page)} of ${fmtInt(last)}`),
        link(s.page + 1, "Next →", "next", s.page < last));
    }
    if (focus) els.heading.focus();
  } catch (e) {
    if (isAbort(e) || mine.signal.aborted) return;
    messages.error("list", "The matches could not be loaded", e);
    els.status.textContent = "";
    els.list.replaceChildren();
  } finally {
    if (!mine.signal.aborted) els.spinner.hidden = true;
  }
}

/* The instrument filter's options: the PaN API's instruments, by facility. */
async function loadInstruments() {
  const all = [];
  try {
    for (let skip = 0; skip < 20000; skip += 1000) {
      const page = await api("Instruments", {
        filter: { fields: { pid: true, name: true, facility: true }, order: ["pid ASC"], limit: 1000, skip },
      });
      if (!Array.isArray(page)) break;
      all.push(...page.filter((i) => isObj(i) && str(i.pid)));
      if (page.length < 1000) break;
    }
  } catch (e) {
    messages.error("instruments", "The list of instruments could not be loaded", e);
    return;
  }
  const cmp = (a, b) => a.localeCompare(b, "en", { numeric: true, sensitivity: "base" });
  const groups = new Map();
  for (const i of all) {
    const f = str(i.facility);
    if (!groups.has(f)) groups.set(f, []);
    groups.get(f).push(i);
  }
  const sel = els.instrument;
  sel.replaceChildren(h("option", { value: "" }, "Any instrument"));
  for (const f of [...groups.keys()].sort(cmp)) {
    sel.append(h("optgroup", { label: f || "Facility not given" },
      groups.get(f).sort((a, b) => cmp(str(a.name) || str(a.pid), str(b.name) || str(b.pid)))
        .map((i) => h("option", { value: str(i.pid) }, str(i.name) || str(i.pid)))));
  }
  setInstrument(readState());
}

function setInstrument(s) {
  const sel = els.instrument;
  sel.querySelector("option[data-extra]")?.remove();
  if (s.instrument && ![...sel.options].some((o) => o.value === s.instrument))
    sel.append(h("option", { value: s.instrument, "data-extra": true }, s.instrument));
  sel.value = s.instrument;
}

/* ---- navigation ------------------------------------------------------------------------------- */

function render(opts = {}) {
  const s = readState();
  els.state.value = s.state;
  els.tier.value = s.tier;
  setInstrument(s);
  document.title = `Match review${s.page > 1 ? `, page ${s.page}` : ""} · pansift`;
  load(s, opts.focus === "list");
}

function go(url, opts = {}) {
  const target = new URL(url, location.href);
  if (target.search !== location.search || target.pathname !== location.pathname)
    history.pushState(null, "", target.pathname + target.search);
  render(opts);
}

els.form.addEventListener("submit", (e) => {
  e.preventDefault();
  go(href({ state: els.state.value, tier: els.tier.value, instrument: els.instrument.value, page: 1 }),
     { focus: "list" });
});
for (const sel of [els.state, els.tier, els.instrument])
  sel.addEventListener("change", () => els.form.requestSubmit());

interceptNavLinks(go);
window.addEventListener("popstate", () => render());
render();
loadInstruments();
loadHealth(els.health);
