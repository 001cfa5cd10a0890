/*
 * util.js: what every page of the pansift dashboard shares: building DOM
 * nodes from API data without ever parsing it as HTML (h, snippetNodes),
 * checking values and links that come from the API, formatting numbers and
 * dates, calling the API (JSON in and out, errors with the API's own message),
 * the message area, and the admin token kept in sessionStorage for the
 * requests that change things. It draws no page of its own.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

const metaContent = (name, fallback) =>
  document.querySelector(`meta[name="${name}"]`)?.getAttribute("content") || fallback;
export const API_BASE = new URL(metaContent("pansift-api", "api/"), document.baseURI);
export const HEALTH_URL = new URL(metaContent("pansift-health", "health"), document.baseURI);

export const $ = (id) => document.getElementById(id);

const numberFormat = new Intl.NumberFormat("en");
export const fmtInt = (n) => numberFormat.format(n);

/* ---- nodes ----------------------------------------------------------------------------- */

/* Builds an element. Children that are not nodes become text nodes, so
 * strings from the API are never parsed as HTML. Props: "class", "text",
 * "on<event>" (listener), anything else an attribute (skipped when null,
 * undefined or false; true gives an empty attribute). */
export function h(tag, props, ...children) {
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

export function append(el, children) {
  for (const c of [children].flat(Infinity)) {
    if (c === null || c === undefined || c === false || c === "") continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

/* Replaces el's children with children (flattened like h's: nested arrays,
 * strings as text, null, undefined, false and "" left out). */
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

export const vh = (text) => h("span", { class: "vh" }, text);
export const muted = (text) => h("span", { class: "muted" }, text);
export const plural = (n, one, many) => `${fmtInt(n)} ${n === 1 ? one : many}`;
export const isAbort = (e) => e && e.name === "AbortError";

/* ---- values from the API ---------------------------------------------------------------- */

/* A string from the API, or "" when it is not a string or a number. */
export function str(v) {
  if (typeof v === "string") return v;
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  return "";
}

export const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
export const arr = (v) => (Array.isArray(v) ? v : []);
export const isNum = (v) => typeof v === "number" && Number.isFinite(v);

/* An http(s) URL from the API, or null: no javascript: or data: links.
 * Relative URLs are read against the page (the API's own links). */
export function safeHttpUrl(v, base) {
  if (typeof v !== "string" || !v) return null;
  try {
    const u = base ? new URL(v, base) : new URL(v);
    return u.protocol === "https:" || u.protocol === "http:" ? u.href : null;
  } catch {
    return null;
  }
}

export function doiUrl(doi) {
  const d = str(doi).trim().replace(/^(?:https?:\/\/(?:dx\.)?doi\.org\/|doi:)/i, "");
  return d ? "https://doi.org/" + d.split("/").map(encodeURIComponent).join("/") : null;
}

export function orcidUrl(orcid) {
  const m = /(\d{4}-\d{4}-\d{4}-\d{3}[\dX])$/i.exec(str(orcid));
  return m ? `https://orcid.org/${m[1].toUpperCase()}` : null;
}

/* 1000-based, three significant figures at most: 154 MB, 12.3 GB, 1.5 TB. */
export function formatBytes(n) {
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
export function dateEl(v, full = false) {
  const s = str(v);
  if (!s) return null;
  const day = /^\d{4}-\d{2}-\d{2}/.test(s) ? s.slice(0, 10) : s;
  return h("time", { datetime: s, title: full ? null : s }, full ? s : day);
}

/* ---- snippets: HTML-escaped text with <mark> only --------------------------------------- */

const ENTITIES = { amp: "&", lt: "<", gt: ">", quot: "\"", apos: "'" };

/* The text of escaped HTML: &lt; &gt; &amp; &quot; &apos; and numeric
 * references; anything else stays as written. */
export function unescapeHtml(s) {
  return s.replace(/&(#[xX][0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-zA-Z]{2,6});/g, (m, e) => {
    if (e[0] === "#") {
      const cp = e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return cp > 0 && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff) ? String.fromCodePoint(cp) : m;
    }
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

/* A snippet from the server (escaped text in which <mark>...</mark> wraps
 * the words found) as nodes: text nodes and <mark> elements built here.
 * Nothing of it is parsed as HTML, so any other tag would show as text. */
export function snippetNodes(snippet) {
  const out = [];
  let inMark = false;
  for (const part of str(snippet).split(/(<mark>|<\/mark>)/)) {
    if (part === "<mark>") inMark = true;
    else if (part === "</mark>") inMark = false;
    else if (part) {
      const text = unescapeHtml(part);
      out.push(inMark ? h("mark", null, text) : document.createTextNode(text));
    }
  }
  return out;
}

/* ---- the API ----------------------------------------------------------------------------- */

export class ApiError extends Error {
  constructor(message, status, url, detail) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.url = url;
    this.detail = detail || null;  /* the answer's "error" object, when there is one */
  }
}

/* path is relative to the API (e.g. "search"). A parameter's value may be a
 * string or number (sent as is), an array (the parameter repeated, once per
 * element) or an object (sent as JSON); all percent-encoded (%20 for spaces).
 * null, undefined and "" are left out. */
export function apiUrl(path, params) {
  const url = new URL(path, API_BASE);
  const parts = [];
  const add = (k, v) => parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === "") continue;
    if (Array.isArray(v)) {
      for (const x of v) if (x !== undefined && x !== null && x !== "") add(k, String(x));
    } else {
      add(k, typeof v === "object" ? JSON.stringify(v) : String(v));
    }
  }
  url.search = parts.join("&");
  return url;
}

/* Calls the API. opts: signal, method (GET), body (sent as JSON), auth (send
 * the admin token when there is one). Resolves to the answer's JSON (null
 * for 204), rejects with an ApiError that carries the API's message. */
export async function api(path, params, opts = {}) {
  const url = apiUrl(path, params);
  const headers = { Accept: "application/json" };
  const init = { method: opts.method || "GET", signal: opts.signal, headers };
  if (opts.body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(opts.body);
  }
  if (opts.auth && adminToken()) headers.Authorization = `Bearer ${adminToken()}`;
  let resp;
  try {
    resp = await fetch(url, init);
  } catch (e) {
    if (isAbort(e)) throw e;
    throw new ApiError(`the pansift server did not answer (${e.message || e}); ` +
                       "is `pansift serve` still running?", 0, url);
  }
  if (resp.status === 204) return null;
  let body = null;
  try {
    body = await resp.json();
  } catch (e) {
    if (isAbort(e)) throw e;
  }
  if (!resp.ok) {
    const err = isObj(body) && isObj(body.error) ? body.error : null;
    const m = err && typeof err.message === "string"
      ? err.message
      : `${resp.status} ${resp.statusText}`.trim();
    throw new ApiError(m, resp.status, url, err);
  }
  if (body === null) throw new ApiError("the server's answer is not JSON", resp.status, url);
  return body;
}

/* The PaN API record of a search result, by its kind. */
const PAN_PATHS = {
  publication: "Documents", proposal: "Documents", document: "Documents",
  dataset: "Datasets", instrument: "Instruments",
};
export function recordApiUrl(type, pid) {
  const path = PAN_PATHS[type] || "Documents";
  return apiUrl(`${path}/${encodeURIComponent(pid)}`).href;
}

/* ---- the admin token ------------------------------------------------------------------------ */

/* When the server has [server] admin_token, the requests that change things
 * (confirming a match, editing collections) need it as a Bearer token. It is
 * kept for this browser tab only (sessionStorage), never in the URL. */
const TOKEN_KEY = "pansift-admin-token";

export function adminToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || "";
  } catch {
    return "";
  }
}

function setAdminToken(v) {
  try {
    if (v) sessionStorage.setItem(TOKEN_KEY, v);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage refused (private mode): the token lasts until the page is left */
  }
}

/* A small form for the admin token: a password field, saved on change.
 * opts.form: wrap it in a <form> of its own (not inside another form). */
export function tokenField(opts = {}) {
  const id = `admin-token-${Math.random().toString(36).slice(2, 8)}`;
  const input = h("input", {
    id, type: "password", autocomplete: "off", spellcheck: "false", value: adminToken(),
    "aria-describedby": `${id}-hint`,
  });
  const state = h("span", { class: "muted", "aria-live": "polite" }, adminToken() ? "set" : "");
  input.addEventListener("change", () => {
    setAdminToken(input.value.trim());
    state.textContent = input.value.trim() ? "saved for this tab" : "cleared";
  });
  const field = h("div", { class: "field" },
    h("label", { for: id }, "Bearer token for changes"),
    input,
    h("p", { id: `${id}-hint`, class: "hint" },
      "Only needed when the server sets [server] admin_token. Kept in this tab only. ", state));
  const body = opts.form
    ? h("form", { onsubmit: (e) => { e.preventDefault(); input.dispatchEvent(new Event("change")); } }, field)
    : field;
  return h("details", { class: "token-field" }, h("summary", null, "Admin token"), body);
}

/* What to say about a refused change. */
export function describeError(e) {
  if (e instanceof ApiError) {
    if (e.status === 401 || e.status === 403)
      return `${e.message} (HTTP ${e.status}): this server needs the admin token; enter it under “Admin token”`;
    return e.status ? `${e.message} (HTTP ${e.status})` : e.message;
  }
  return String((e && e.message) || e);
}

/* ---- messages (errors) ---------------------------------------------------------------------- */

/* The message area of a page (role="alert"): one message per source, each
 * with an optional link to the failing request. */
export function messageArea(el) {
  const messages = new Map();  /* source -> {text, url, extra} */
  const render = () => {
    el.replaceChildren();
    if (!messages.size) return;
    const list = h("ul");
    for (const { text, url, extra } of messages.values())
      list.append(h("li", null, text, url && [" ", h("a", { href: url }, "The request")], extra || null));
    el.append(list, h("button", {
      type: "button", class: "button button-small",
      onclick: () => { messages.clear(); render(); },
    }, "Dismiss"));
  };
  return {
    set(source, text, url, extra) {
      if (text) messages.set(source, { text, url, extra });
      else messages.delete(source);
      render();
    },
    error(source, prefix, e, extra) {
      this.set(source, `${prefix}: ${describeError(e)}`, e instanceof ApiError ? e.url : null, extra);
    },
    clear(source) {
      this.set(source, null);
    },
  };
}

/* The footer's health line. */
export async function loadHealth(el) {
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
    el.textContent = `${bits.join(" · ")}.`;
  } catch {
    el.textContent = "The server's health is unknown (no answer from /health).";
  }
}

/* Links marked data-nav change the view without reloading the page (go is
 * the page's navigation); modified clicks keep their usual meaning. */
export function interceptNavLinks(go) {
  document.addEventListener("click", (e) => {
    const a = e.target instanceof Element ? e.target.closest("a[data-nav]") : null;
    if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey)
      return;
    e.preventDefault();
    go(a.getAttribute("href"), { focus: a.dataset.focus || null });
  });
}
