/*
 * datacite.c: the "datacite" source: DataCite's REST API (JSON:API), GET
 * {url}/dois in cursor mode. The first request sends page[cursor]=1 (a
 * value that decodes to nothing starts from the beginning) with
 * page[size], the filters of the source's options (query, prefix,
 * client-id, provider-id, resource-type-id), disable-facets=true,
 * affiliation=true (affiliations as objects with their ROR ids) and
 * mailto= the operator's contact; every later page is the links.next the
 * previous one gave, followed on the configured host. The listing ends when
 * links.next is absent or a page holds fewer records than asked for.
 *
 * After each page the next URL is checkpointed ("resume", its path and
 * query relative to the url) together with the page's records, so a rerun
 * continues where a failed or killed run stopped; a resume URL the API refuses
 * (4xx) is dropped and the listing restarts from "since". A complete listing
 * sets "since" to the run's start and the next run asks only for what changed:
 * updated:[SINCE TO *] ANDed into the query. Records map through the DataCite
 * crosswalk (datacite-map.c); a record whose state is not "findable" is
 * deleted. Pages that are not JSON:API fail the run with a message that says
 * so. SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "harvest-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PAGE 1000 /* DataCite's largest page[size] */

const ps_harvest_option psi_datacite_options[] = {
    {"query", "Elasticsearch query_string the records must match, e.g. "
              "\"publisher:ILL\" (default: everything)"},
    {"prefix", "DOI prefixes, comma-separated, e.g. \"10.5291,10.15151\""},
    {"client_id", "DataCite repository (client) id, e.g. \"ill.ill\""},
    {"provider_id", "DataCite member (provider) id, e.g. \"ill\""},
    {"resource_type_id", "resource type, e.g. \"dataset\" or \"instrument\""},
    {NULL, NULL}};

/* The length of "scheme://host[:port]" at the start of url, 0 when url has
 * none (a relative link). */
static size_t origin_len(const char *url)
{
    const char *p = strstr(url, "://");
    if (!p)
        return 0;
    p += 3;
    while (*p && *p != '/' && *p != '?' && *p != '#')
        p++;
    return (size_t)(p - url);
}

/* links.next under the configured url: a mirror or a proxy in front of the
 * API (or a replay of it) answers with the upstream's absolute links, so a
 * link that is not under the url keeps its path and query and gets the
 * url in front ("https://api.datacite.org/dois?..." with url
 * "http://proxy/datacite" becomes "http://proxy/datacite/dois?..."). The
 * harvest never wanders off to another host. */
static char *rebase(const char *base, const char *next)
{
    size_t b = strlen(base);
    while (b && base[b - 1] == '/')
        b--;
    if (strncmp(base, next, b) == 0 &&
        (next[b] == '/' || next[b] == '?' || !next[b]))
        return ps_strdup(next);
    const char *rest = next + origin_len(next);
    return ps_asprintf("%.*s%s%s", (int)b, base, *rest == '/' ? "" : "/", rest);
}

/* url (under base, as rebase makes it) without base: "/dois?...". */
static const char *relative(const char *base, const char *url)
{
    size_t b = strlen(base);
    while (b && base[b - 1] == '/')
        b--;
    return strncmp(base, url, b) == 0 ? url + b : url;
}

/* Append "&name=<encoded value>" (or "?name=..." first) to b. */
static ps_status add_param(ps_buf *b, const char *name, const char *value,
                           int *first)
{
    if (!value || !*value)
        return PS_OK;
    char *enc = ps_pct_encode(value);
    if (!enc)
        return PS_ERR_NOMEM;
    ps_status rc = ps_buf_printf(b, "%s%s=%s", *first ? "?" : "&", name, enc);
    *first = 0;
    ps_free(enc);
    return rc;
}

/* The first page's URL: filters, incremental bound, page size. */
static char *first_url(psi_run *run, long size, const char *since, ps_err *err)
{
    static const char *const filters[][2] = {
        {"prefix", "prefix"},
        {"client_id", "client-id"},
        {"provider_id", "provider-id"},
        {"resource_type_id", "resource-type-id"}};
    const char *url = run->src->url;
    size_t n = strlen(url);
    while (n && url[n - 1] == '/')
        n--;
    const char *query = psi_opt(run, "query");
    char *q = NULL;
    if (since)
        q = query && *query
                ? ps_asprintf("(%s) AND updated:[%s TO *]", query, since)
                : ps_asprintf("updated:[%s TO *]", since);
    else if (query && *query)
        q = ps_strdup(query);
    char sz[32];
    snprintf(sz, sizeof sz, "%ld", size);
    ps_buf b;
    ps_buf_init(&b, 64 * 1024);
    int first = 1;
    ps_status rc = ps_buf_printf(&b, "%.*s/dois", (int)n, url);
    if (rc == PS_OK)
        rc = add_param(&b, "page%5Bsize%5D", sz, &first);
    if (rc == PS_OK)
        rc = add_param(&b, "page%5Bcursor%5D", "1", &first);
    if (rc == PS_OK && q)
        rc = add_param(&b, "query", q, &first);
    for (size_t i = 0; rc == PS_OK && i < sizeof filters / sizeof filters[0];
         i++)
        rc = add_param(&b, filters[i][1], psi_opt(run, filters[i][0]), &first);
    if (rc == PS_OK)
        rc = add_param(&b, "disable-facets", "true", &first);
    if (rc == PS_OK)
        rc = add_param(&b, "affiliation", "true", &first);
    if (rc == PS_OK && run->src->contact && *run->src->contact)
        rc = add_param(&b, "mailto", run->src->contact, &first);
    ps_free(q);
    if (rc != PS_OK) {
        ps_buf_free(&b);
        ps_err_set(err, rc == PS_ERR_NOMEM ? PS_ERR_NOMEM : PS_ERR_INVALID,
                   "source %s: the request URL is too long", run->src->name);
        return NULL;
    }
    return ps_buf_detach(&b);
}

/* The message of a JSON:API error document ({"errors":[{"status",
 * "title"}]}), or NULL. */
static const char *jsonapi_error(const json_t *doc)
{
    json_t *e = json_array_get(json_object_get(doc, "errors"), 0);
    const char *t = ps_json_str(e, "title");
    return t ? t : ps_json_str(e, "detail");
}

/* One record of a page: put, delete (state not findable) or reject. */
static ps_status one_record(psi_run *run, json_t *rec, ps_err *err)
{
    char why[300];
    const char *id = ps_json_str(rec, "id");
    json_t *attrs = json_object_get(rec, "attributes");
    if (!json_is_object(rec) || !json_is_object(attrs)) {
        snprintf(why, sizeof why, "%.100s: %s", id ? id : "a record",
                 json_is_object(rec) ? "no attributes" : "not an object");
        return psi_run_reject(run, PS_KIND_NONE, id, why, err);
    }
    const char *state = ps_json_str(attrs, "state");
    if (state && strcmp(state, "findable") != 0) {
        const char *rid = id ? id : ps_json_str(attrs, "doi");
        if (!rid) {
            snprintf(why, sizeof why, "a %.40s record without id", state);
            return psi_run_reject(run, PS_KIND_DATASET, NULL, why, err);
        }
        return psi_run_delete(run, psi_datacite_kind(attrs), rid, err);
    }
    char *raw = json_dumps(rec, JSON_COMPACT);
    if (!raw)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    ps_status rc = psi_datacite_put(run, id, attrs, raw, strlen(raw), err);
    free(raw);
    return rc;
}

/* Fetch url and store its records. *next_out gets the next page's URL
 * (rebased; NULL at the end), *count the records of the page. */
static ps_status one_page(psi_run *run, const char *url, long size,
                          char **next_out, size_t *count, long *status_out,
                          ps_err *err)
{
    ps_http_response resp;
    *next_out = NULL;
    *count = 0;
    *status_out = 0;
    ps_status rc = psi_run_fetch(run, url, NULL, &resp, err);
    *status_out = resp.status;
    json_t *doc = NULL;
    if (rc == PS_OK ||
        ((rc == PS_ERR_UPSTREAM || rc == PS_ERR_NOTFOUND) && resp.body_len)) {
        json_error_t je;
        doc = json_loadb(resp.body ? resp.body : "", resp.body_len, 0, &je);
        if (rc == PS_OK && !doc)
            rc = ps_err_set(err, PS_ERR_UPSTREAM,
                            "source %s: %s answered something that is not "
                            "JSON (%s at byte %d); is the url the DataCite "
                            "REST API (https://api.datacite.org)?",
                            run->src->name, url, je.text, je.position);
        else if (rc != PS_OK && jsonapi_error(doc))
            ps_err_set(err, rc, "source %s: %s answered HTTP %ld: %s",
                       run->src->name, url, resp.status, jsonapi_error(doc));
    }
    ps_http_response_free(&resp);
    if (rc != PS_OK) {
        json_decref(doc);
        return rc;
    }
    json_t *data = json_object_get(doc, "data");
    if (!json_is_array(data)) {
        const char *e = jsonapi_error(doc);
        rc = ps_err_set(err, PS_ERR_UPSTREAM,
                        "source %s: %s is not a JSON:API list of DOIs (%s%s)",
                        run->src->name, url,
                        e ? "error: " : "no \"data\" array", e ? e : "");
        json_decref(doc);
        return rc;
    }
    json_t *meta = json_object_get(doc, "meta");
    double total;
    if (run->phase_total < 0 && ps_json_num(meta, "total", &total) == 0 &&
        total >= 0 && total < 9e15)
        run->phase_total = (int64_t)total;
    size_t i;
    json_t *rec;
    json_array_foreach (data, i, rec) {
        rc = one_record(run, rec, err);
        if (rc != PS_OK)
            break;
        if (psi_run_cancelled(run)) {
            rc = ps_err_set(err, PS_ERR_CANCELLED, "harvest of %s cancelled",
                            run->src->name);
            break;
        }
    }
    *count = json_array_size(data);
    const char *next = ps_json_str(json_object_get(doc, "links"), "next");
    if (rc == PS_OK && next && *count >= (size_t)size) {
        *next_out = rebase(run->src->url, next);
        if (!*next_out)
            rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    json_decref(doc);
    return rc;
}

ps_status psi_harvest_datacite(psi_run *run, ps_err *err)
{
    const char *base = run->src->url;
    if (!ps_str_startswith(base, "http://") &&
        !ps_str_startswith(base, "https://"))
        return ps_err_set(err, PS_ERR_INVALID,
                          "source %s: url \"%s\" is not http(s):// (the "
                          "DataCite REST API is https://api.datacite.org)",
                          run->src->name, base);
    long size = run->src->page_size > 0 ? run->src->page_size : MAX_PAGE;
    if (size > MAX_PAGE)
        size = MAX_PAGE;
    char *since = NULL, *url = NULL, *began = NULL;
    ps_status rc = psi_state_get(run, "since", &since, err);
    if (rc == PS_OK)
        rc = psi_state_get(run, "resume", &url, err);
    if (rc == PS_OK)
        rc = psi_state_get(run, "listing_started", &began, err);
    if (rc != PS_OK) {
        ps_free(since);
        ps_free(url);
        ps_free(began);
        return rc;
    }
    int resumed = url != NULL;
    if (url) {
        char *r = rebase(base, url);
        ps_free(url);
        url = r;
    } else {
        url = first_url(run, size, since, err);
    }
    /* The next incremental run starts from when this listing began (a
     * resumed listing began in an earlier run), so that a record updated
     * while a killed run waited is not skipped. */
    char start[32];
    int64_t began_ms;
    if (resumed && began && ps_time_parse(began, &began_ms) == PS_OK)
        psi_iso_time(began_ms, 0, start, sizeof start);
    else
        psi_iso_time(run->started_ms, 0, start, sizeof start);
    ps_free(began);
    run->phase = "records";
    run->phase_done = 0;
    run->phase_total = -1;
    int first_page = 1;
    while (url && rc == PS_OK) {
        char *next = NULL;
        size_t n = 0;
        long status = 0;
        rc = one_page(run, url, size, &next, &n, &status, err);
        if ((rc == PS_ERR_UPSTREAM || rc == PS_ERR_NOTFOUND) && resumed &&
            first_page && status >= 400 && status < 500 && status != 429) {
            /* The API no longer takes the checkpointed cursor: start the
             * listing again (from "since"); upserts make the repeat
             * harmless. */
            char note[200];
            snprintf(note, sizeof note,
                     "the checkpointed cursor was refused (HTTP %ld): the "
                     "listing restarted",
                     status);
            psi_run_note(run, note);
            ps_err_clear(err);
            resumed = 0;
            ps_free(url);
            url = NULL;
            rc = psi_run_checkpoint(run, "resume", NULL, err);
            if (rc == PS_OK) {
                url = first_url(run, size, since, err);
                if (!url)
                    rc = PS_ERR_NOMEM;
            }
            continue;
        }
        first_page = 0;
        if (rc == PS_OK) {
            if (next) {
                /* Relative to the url, so that a rerun with another url
                 * (a moved mirror) goes on from the same cursor. */
                const char *keys[] = {"resume", "listing_started"};
                const char *values[] = {relative(base, next), start};
                rc = psi_run_checkpoint_n(run, keys, values, 2, err);
            } else {
                const char *keys[] = {"since", "resume", "listing_started"};
                const char *values[] = {start, NULL, NULL};
                rc = psi_run_checkpoint_n(run, keys, values, 3, err);
            }
        }
        ps_free(url);
        url = next;
    }
    ps_free(url);
    /* Only a whole listing of everything, made in this run, may let the
     * sweep delete what it did not list. */
    if (rc == PS_OK && !since && !resumed) {
        if (run->phase_total >= 0 && run->phase_done < run->phase_total) {
            char note[200];
            snprintf(note, sizeof note,
                     "%lld of the %lld records DataCite counts were listed, "
                     "so nothing was deleted",
                     (long long)run->phase_done, (long long)run->phase_total);
            psi_run_note(run, note);
        } else {
            run->complete = 1;
        }
    }
    ps_free(since);
    return rc;
}
