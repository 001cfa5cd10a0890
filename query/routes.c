/*
 * routes.c: the server's one route table and its matcher, and the JSON
 * error bodies. Every endpoint is a row below (method, pattern, handler,
 * summary); GET $api lists them, so the table is also the endpoint index.
 * Patterns are matched segment by segment on the decoded path:
 *   $api       the configured API prefix ("/api"), one or more segments
 *   :model     Datasets | Documents | Instruments (any letter case)
 *   :pid+      one or more segments joined with "/" (PaN pids contain "/";
 *              clients should send them as %2F, both forms work)
 *   :pid, :id  exactly one segment (a collection's pid, a match's id)
 *   *          the rest of the path (static files)
 *   other      a literal, compared without regard to letter case
 * Rows are tried in order, so /Datasets/count wins over /Datasets/{pid}.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "query-private.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const psi_route routes[] = {
    {"GET", "/health", psi_h_health,
     "Liveness, index freshness (last applied change, lag) and uptime"},
    {"GET", "$api", psi_h_routes, "This list of endpoints"},
    {"GET", "$api/openapi.json", psi_h_openapi,
     "This API described in OpenAPI 3.0 (servers[0].url: the API prefix)"},
    {"GET", "$api/search", psi_h_search,
     "Full-text search (or, without q, browsing) over every kind of record, "
     "with snippets, filters and exact facet counts: "
     "?q=&type=&sort=&facets=&limit=&skip=&format="},
    {"GET", "$api/analytics/breakdown", psi_h_analytics_breakdown,
     "Counts or sums of a facet over a search's match set, split by another"},
    {"GET", "$api/analytics/country-pairs", psi_h_analytics_countries,
     "Documents with members from several countries, per country pair"},
    {"GET", "$api/analytics/instrument", psi_h_analytics_instrument,
     "An instrument's names and totals (proposals, data, publications)"},
    {"GET", "$api/analytics/facility", psi_h_analytics_facility,
     "A facility's instruments compared"},
    {"GET", "$api/federation/status", psi_h_fed_status,
     "The federation's providers: health, latency, last error; the cache"},
    {"GET", "$api/matches", psi_h_matches,
     "Publication-proposal matches with their evidence, for review: "
     "?state=&tier=&instrument=&limit=&skip="},
    {"POST", "$api/matches/:id", psi_h_match_judge,
     "Confirm or reject a match: {\"state\": \"confirmed\"|\"rejected\"|"
     "\"candidate\"}"},
    {"GET", "$api/collections", psi_h_collections, "Every collection"},
    {"POST", "$api/collections", psi_h_collection_create,
     "Create a collection: {\"name\", \"description\"}"},
    {"POST", "$api/collections/:pid/items", psi_h_collection_add,
     "Add records to a collection: {\"items\": [{\"type\", \"pid\", "
     "\"note\"}]}"},
    {"DELETE", "$api/collections/:pid/items", psi_h_collection_remove,
     "Remove records from a collection: {\"items\": [{\"type\", "
     "\"pid\"}]}"},
    {"GET", "$api/collections/:pid", psi_h_collection,
     "A collection and its items: ?limit=&skip="},
    {"DELETE", "$api/collections/:pid", psi_h_collection_delete,
     "Delete a collection"},
    {"GET", "$api/:model/count", psi_h_pan_count,
     "PaN count: ?where={...} -> {\"count\": N}"},
    {"GET", "$api/Datasets/:pid+/files/count", psi_h_pan_files_count,
     "PaN: number of files of a dataset (?where=)"},
    {"GET", "$api/Datasets/:pid+/files", psi_h_pan_files,
     "PaN: files of a dataset (?filter= with where, limit, skip)"},
    {"GET", "$api/:model/:pid+", psi_h_pan_by_pid,
     "PaN find by pid (percent-encoded), ?filter= with include"},
    {"GET", "$api/:model", psi_h_pan_find,
     "PaN find: ?filter={where, include, limit, skip, order, fields, query}"},
    {"GET", "/*", psi_h_static, "The dashboard's files"},
};

static int model_of(const char *seg, ps_pan_model *m)
{
    if (strcasecmp(seg, "Datasets") == 0)
        *m = PS_PAN_DATASET;
    else if (strcasecmp(seg, "Documents") == 0)
        *m = PS_PAN_DOCUMENT;
    else if (strcasecmp(seg, "Instruments") == 0)
        *m = PS_PAN_INSTRUMENT;
    else
        return -1;
    return 0;
}

/* Match pattern against seg[0..nseg); fills m on success. */
static int match(const ps_server *srv, const char *pattern, char **seg,
                 size_t nseg, psi_match *m)
{
    char tok[16][32];
    size_t ntok = 0;
    const char *p = pattern;
    while (*p == '/')
        p++;
    while (*p && ntok < 16) {
        size_t n = strcspn(p, "/");
        if (n >= sizeof tok[0])
            return 0;
        memcpy(tok[ntok], p, n);
        tok[ntok][n] = '\0';
        ntok++;
        p += n;
        while (*p == '/')
            p++;
    }
    size_t j = 0;
    for (size_t i = 0; i < ntok; i++) {
        const char *t = tok[i];
        if (strcmp(t, "$api") == 0) {
            if (nseg - j < srv->napi_seg)
                return 0;
            for (size_t k = 0; k < srv->napi_seg; k++)
                if (strcmp(seg[j + k], srv->api_seg[k]) != 0)
                    return 0;
            j += srv->napi_seg;
        } else if (strcmp(t, ":model") == 0) {
            if (j >= nseg || model_of(seg[j], &m->model) != 0)
                return 0;
            j++;
        } else if (strcmp(t, ":pid+") == 0) {
            size_t rest = ntok - i - 1;
            if (nseg < j + 1 + rest)
                return 0;
            size_t end = nseg - rest;
            ps_buf b;
            ps_buf_init(&b, 0);
            for (size_t k = j; k < end; k++)
                if (ps_buf_printf(&b, "%s%s", k > j ? "/" : "", seg[k]) !=
                    PS_OK) {
                    ps_buf_free(&b);
                    return 0;
                }
            ps_free(m->pid);
            m->pid = ps_buf_detach(&b);
            j = end;
        } else if (strcmp(t, ":id") == 0 || strcmp(t, ":pid") == 0) {
            /* One segment, whatever it holds. */
            if (j >= nseg)
                return 0;
            ps_free(m->pid);
            m->pid = ps_strdup(seg[j]);
            if (!m->pid)
                return 0;
            j++;
        } else if (strcmp(t, "*") == 0) {
            ps_buf b;
            ps_buf_init(&b, 0);
            for (size_t k = j; k < nseg; k++)
                if (ps_buf_printf(&b, "%s%s", k > j ? "/" : "", seg[k]) !=
                    PS_OK) {
                    ps_buf_free(&b);
                    return 0;
                }
            ps_free(m->file);
            m->file = ps_buf_detach(&b);
            return 1;
        } else {
            if (j >= nseg || strcasecmp(seg[j], t) != 0)
                return 0;
            if (strcasecmp(t, "Datasets") == 0)
                m->model = PS_PAN_DATASET;
            j++;
        }
    }
    return j == nseg;
}

void psi_match_free(psi_match *m)
{
    ps_free(m->pid);
    ps_free(m->file);
    m->pid = m->file = NULL;
}

int psi_route_find(const ps_server *srv, const char *method, char **seg,
                   size_t nseg, const psi_route **route, psi_match *m)
{
    int path_known = 0;
    const char *want = strcmp(method, "HEAD") == 0 ? "GET" : method;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        psi_match_free(m);
        memset(m, 0, sizeof *m);
        if (!match(srv, routes[i].pattern, seg, nseg, m))
            continue;
        if (strcmp(routes[i].method, want) == 0) {
            *route = &routes[i];
            return 0;
        }
        path_known = 1;
    }
    psi_match_free(m);
    return path_known ? 405 : 404;
}

void psi_route_allowed(const ps_server *srv, char **seg, size_t nseg, char *buf,
                       size_t size)
{
    const char *seen[8];
    size_t nseen = 0, len = 0;
    buf[0] = '\0';
    /* The dashboard's files answer GET anywhere: they count only for paths
     * no other route knows. */
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (routes[i].handler == psi_h_static && len)
            continue;
        psi_match m = {0};
        int hit = match(srv, routes[i].pattern, seg, nseg, &m);
        psi_match_free(&m);
        const char *meth = routes[i].method;
        for (size_t k = 0; hit && k < nseen; k++)
            hit = strcmp(seen[k], meth) != 0;
        if (!hit || nseen == sizeof seen / sizeof seen[0])
            continue;
        seen[nseen++] = meth;
        /* HEAD goes with GET. */
        int w = snprintf(buf + len, size - len, "%s%s%s", len ? ", " : "", meth,
                         strcmp(meth, "GET") == 0 ? ", HEAD" : "");
        if (w < 0 || (size_t)w >= size - len)
            break;
        len += (size_t)w;
    }
}

int psi_h_routes(psi_req *req, psi_ctx *ctx, const psi_match *m, psi_resp *resp)
{
    json_t *arr = json_array();
    const ps_server *srv = req->srv;
    for (size_t i = 0; arr && i < sizeof routes / sizeof routes[0]; i++) {
        /* Show patterns the way the documentation writes paths. */
        char path[256];
        ps_buf b;
        ps_buf_init(&b, 0);
        const char *pat = routes[i].pattern;
        if (ps_str_startswith(pat, "$api")) {
            ps_buf_puts(&b, srv->api_prefix);
            pat += 4;
        }
        while (*pat) {
            if (ps_str_startswith(pat, ":model")) {
                ps_buf_puts(&b, "{Datasets|Documents|Instruments}");
                pat += 6;
            } else if (ps_str_startswith(pat, ":pid+")) {
                ps_buf_puts(&b, "{pid}");
                pat += 5;
            } else if (ps_str_startswith(pat, ":pid")) {
                ps_buf_puts(&b, "{pid}");
                pat += 4;
            } else if (ps_str_startswith(pat, ":id")) {
                ps_buf_puts(&b, "{id}");
                pat += 3;
            } else {
                ps_buf_append(&b, pat++, 1);
            }
        }
        snprintf(path, sizeof path, "%s", b.data ? b.data : "");
        ps_buf_free(&b);
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "method",
                                             routes[i].method, "path", path,
                                             "summary", routes[i].summary));
    }
    resp->json = arr;
    return arr ? 200 : psi_error(resp, 500, NULL, "out of memory");
}

/* ---- errors ------------------------------------------------------------- */

/* Replace in msg each byte that does not belong to a valid UTF-8 character
 * with '?': messages quote what clients sent (a pid of "%FF"), or are cut
 * by their buffer mid-character, and a JSON string must be UTF-8. */
static void utf8_scrub(char *msg)
{
    unsigned char *p = (unsigned char *)msg;
    while (*p) {
        size_t n = *p < 0x80                   ? 1
                   : (*p >= 0xC2 && *p < 0xE0) ? 2
                   : (*p >= 0xE0 && *p < 0xF0) ? 3
                   : (*p >= 0xF0 && *p < 0xF5) ? 4
                                               : 0;
        size_t i = 1;
        while (n && i < n && (p[i] & 0xC0) == 0x80)
            i++;
        if (n && i == n) {
            p += n;
            continue;
        }
        *p++ = '?';
    }
}

int psi_error(psi_resp *resp, int status, const char *code, const char *fmt,
              ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *probe = json_string(msg);
    if (!probe) {
        utf8_scrub(msg);
        probe = json_string(msg);
        /* What the scrub lets through and jansson does not (overlong
         * forms, surrogates): ASCII only. */
        for (char *c = msg; !probe && *c; c++)
            if ((unsigned char)*c >= 0x80)
                *c = '?';
    }
    json_decref(probe);
    json_decref(resp->json);
    /* LoopBack names every error "Error"; clients match on statusCode. */
    json_t *e = json_pack("{s:i, s:s, s:s}", "statusCode", status, "name",
                          "Error", "message", msg);
    if (e && code)
        json_object_set_new(e, "code", json_string(code));
    resp->json = e ? json_pack("{s:o}", "error", e) : NULL;
    resp->status = status;
    return status;
}

int psi_error_status(psi_resp *resp, const ps_err *err)
{
    const char *msg = err && err->msg[0]
                          ? err->msg
                          : ps_status_str(err ? err->code : PS_ERR_INTERNAL);
    switch (err ? err->code : PS_ERR_INTERNAL) {
    case PS_ERR_INVALID:
    case PS_ERR_PARSE: return psi_error(resp, 400, NULL, "%s", msg);
    case PS_ERR_NOTFOUND: return psi_error(resp, 404, NULL, "%s", msg);
    case PS_ERR_TOOBIG: return psi_error(resp, 413, NULL, "%s", msg);
    case PS_ERR_BUSY:
    case PS_ERR_TIMEOUT:
    case PS_ERR_RETRY:
        return psi_error(resp, 503, NULL, "temporarily unavailable: %s", msg);
    default:
        ps_log(PS_LOG_ERROR, "internal error: %s", msg);
        return psi_error(resp, 500, NULL, "Internal Server Error");
    }
}
