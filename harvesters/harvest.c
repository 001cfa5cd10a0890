/*
 * harvest.c: the harvest driver. It records the run in the store, creates
 * the HTTP client with the source's politeness settings, dispatches to the
 * source type, batches the store writes into transactions, and finishes the
 * run: references that named records harvested later are resolved, and, if
 * the source listed everything it has, records it no longer lists become
 * tombstones. A failed or cancelled run keeps what it committed and deletes
 * nothing; its state says so.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "harvest-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- the source types ------------------------------------------------------
 * One row per type: its name (the `type` of a [source NAME] section), the
 * function that harvests it and its own options. */
typedef struct harvest_type {
    const char *name;
    ps_status (*run)(psi_run *run, ps_err *err);
    const ps_harvest_option *options;
} harvest_type;

static const ps_harvest_option no_options[] = {{NULL, NULL}};

static const harvest_type harvest_types[] = {
    {"pan", psi_harvest_pan, no_options},
    {"datacite", psi_harvest_datacite, psi_datacite_options},
    {"scicat", psi_harvest_scicat, psi_scicat_options},
    {"icat", psi_harvest_icat, psi_icat_options},
    {"crossref", psi_harvest_crossref, psi_crossref_options},
    {"oai-pmh", psi_harvest_oai, psi_oai_options},
    {"invenio", psi_harvest_invenio, psi_invenio_options},
    {"materialscloud", psi_harvest_materialscloud, psi_materialscloud_options},
    {"pdf", psi_harvest_pdf, psi_pdf_options},
};
#define NTYPES (sizeof harvest_types / sizeof harvest_types[0])

/* Which source writes a record several sources hold (docs/harvesting.md):
 * a facility's own catalogue knows its proposals and data best, the DOI
 * registration agencies know the DOI's metadata, repositories and OAI
 * feeds come next. */
static int type_precedence(const char *type)
{
    static const struct {
        const char *type;
        int precedence;
    } ranks[] = {{"pan", 80},      {"scicat", 80},         {"icat", 80},
                 {"crossref", 70}, {"datacite", 70},       {"invenio", 60},
                 {"oai-pmh", 50},  {"materialscloud", 60}, {"pdf", 30}};
    for (size_t i = 0; i < sizeof ranks / sizeof ranks[0]; i++)
        if (strcmp(ranks[i].type, type) == 0)
            return ranks[i].precedence;
    return 50;
}

const char *const ps_harvest_type_names[] = {
    "pan",     "datacite", "scicat",         "icat", "crossref",
    "oai-pmh", "invenio",  "materialscloud", "pdf",  NULL};

static const harvest_type *find_type(const char *name)
{
    for (size_t i = 0; name && i < NTYPES; i++)
        if (strcmp(harvest_types[i].name, name) == 0)
            return &harvest_types[i];
    return NULL;
}

const ps_harvest_option *ps_harvest_type_options(const char *type)
{
    const harvest_type *t = find_type(type);
    return t ? t->options : NULL;
}

void ps_harvest_global_init(void) { xmlInitParser(); }

/* ---- options ------------------------------------------------------------ */

const char *psi_opt(const psi_run *run, const char *key)
{
    const char *const *o = run->src->options;
    for (; o && o[0] && o[1]; o += 2)
        if (strcmp(o[0], key) == 0)
            return o[1];
    return NULL;
}

ps_status psi_opt_long(const psi_run *run, const char *key, long dflt, long lo,
                       long hi, long *out, ps_err *err)
{
    const char *v = psi_opt(run, key);
    *out = dflt;
    if (!v)
        return PS_OK;
    int64_t n;
    if (ps_parse_i64(v, &n) != 0 || n < lo || n > hi)
        return ps_err_set(err, PS_ERR_INVALID,
                          "source %s: %s = \"%s\" is not a whole number "
                          "from %ld to %ld",
                          run->src->name, key, v, lo, hi);
    *out = (long)n;
    return PS_OK;
}

static ps_status txn_open(psi_run *run, ps_err *err);
static ps_status commit_batch(psi_run *run, int reopen, ps_err *err);

/* ---- mapping helpers ---------------------------------------------------- */

const char *psi_strs_keep(psi_strs *b, char *s)
{
    if (!s) {
        b->nomem = 1;
        return NULL;
    }
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        char **p = ps_realloc(b->s, cap * sizeof *p);
        if (!p) {
            ps_free(s);
            b->nomem = 1;
            return NULL;
        }
        b->s = p;
        b->cap = cap;
    }
    b->s[b->n++] = s;
    return s;
}

void psi_strs_free(psi_strs *b)
{
    for (size_t i = 0; i < b->n; i++)
        ps_free(b->s[i]);
    ps_free(b->s);
    memset(b, 0, sizeof *b);
}

const char *psi_json_nonempty(const json_t *o, const char *key)
{
    json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    const char *s = json_string_value(v);
    return s && *s ? s : NULL;
}

const char *psi_json_str_or_num(const json_t *o, const char *key, psi_strs *b)
{
    json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    if (json_is_string(v))
        return json_string_value(v)[0] ? json_string_value(v) : NULL;
    if (json_is_integer(v))
        return psi_strs_keep(
            b, ps_asprintf("%lld", (long long)json_integer_value(v)));
    return NULL;
}

ps_status psi_proposal_datasets(psi_run *run, const char *pid, json_t **out,
                                ps_err *err)
{
    int64_t id;
    ps_err e = PS_ERR_INIT;
    *out = NULL;
    ps_status rc = ps_store_find_pid(run->st, PS_KIND_PROPOSAL, pid, &id, &e);
    if (rc == PS_ERR_NOTFOUND)
        return PS_OK;
    if (rc != PS_OK) {
        if (err)
            *err = e;
        return rc;
    }
    json_t *doc = NULL;
    rc = ps_store_load(run->st, PS_KIND_PROPOSAL, id, PS_LOAD_DATASETS, &doc,
                       err);
    if (rc == PS_OK) {
        *out = json_incref(json_object_get(doc, "datasets"));
        json_decref(doc);
    }
    return rc;
}

int64_t psi_json_date(psi_run *run, const json_t *o, const char *key,
                      const char *id)
{
    const char *s = psi_json_nonempty(o, key);
    int64_t ms;
    if (!s)
        return PS_TIME_NONE;
    if (ps_time_parse(s, &ms) == PS_OK)
        return ms;
    char note[200];
    snprintf(note, sizeof note, "%s of %.60s is not a date: \"%.40s\"", key,
             id ? id : "a record", s);
    psi_run_note(run, note);
    return PS_TIME_NONE;
}

const char *psi_doi_bare(const char *s)
{
    static const char *const prefixes[] = {"https://doi.org/",
                                           "http://doi.org/",
                                           "https://dx.doi.org/",
                                           "http://dx.doi.org/",
                                           "doi.org/",
                                           "info:doi/",
                                           "urn:doi:",
                                           "doi:"};
    if (!s)
        return NULL;
    while (*s == ' ')
        s++;
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        size_t n = strlen(prefixes[i]);
        if (strncasecmp(s, prefixes[i], n) == 0) {
            s += n;
            break;
        }
    }
    while (*s == ' ')
        s++;
    if (strncmp(s, "10.", 3) != 0 || !strchr(s, '/') || strchr(s, ' '))
        return NULL;
    return s;
}

/* ---- fetching ------------------------------------------------------------ */

/* Read X-Rate-Limit-Limit: N and X-Rate-Limit-Interval: Ns (Crossref) or
 * X-RateLimit-Limit with a per-minute window (InvenioRDM): the interval
 * between requests they allow, in ms, or 0. */
static long announced_interval_ms(const ps_http_response *resp)
{
    char v[64];
    long limit = 0, window_ms = 0;
    if (ps_http_header(resp, "X-Rate-Limit-Limit", v, sizeof v)) {
        limit = strtol(v, NULL, 10);
        window_ms = 1000;
        if (ps_http_header(resp, "X-Rate-Limit-Interval", v, sizeof v)) {
            char *end;
            double n = strtod(v, &end);
            double unit = *end == 'm' ? 60000 : *end == 'h' ? 3600000 : 1000;
            if (n > 0 && n < 86400)
                window_ms = (long)(n * unit);
        }
    } else if (ps_http_header(resp, "X-RateLimit-Remaining", v, sizeof v)) {
        /* Only slow down when the window is nearly used up. */
        long remaining = strtol(v, NULL, 10);
        char reset[64];
        if (remaining <= 1 &&
            ps_http_header(resp, "X-RateLimit-Reset", reset, sizeof reset)) {
            long long at = strtoll(reset, NULL, 10);
            long long wait = at * 1000 - ps_now_ms();
            if (at > 1000000000LL && wait > 0 && wait < 3600000)
                return (long)wait;
        }
        return 0;
    }
    if (limit <= 0 || window_ms <= 0)
        return 0;
    return (window_ms + limit - 1) / limit;
}

static int sleep_until(psi_run *run, int64_t when_ns)
{
    while (!psi_run_cancelled(run)) {
        int64_t left = when_ns - ps_mono_ns();
        if (left <= 0)
            return 0;
        struct timespec ts = {0, left > 100000000 ? 100000000 : (long)left};
        nanosleep(&ts, NULL);
    }
    return 1;
}

ps_status psi_run_fetch(psi_run *run, const char *url, const ps_http_body *post,
                        ps_http_response *resp, ps_err *err)
{
    memset(resp, 0, sizeof *resp);
    /* What the source wrote so far is committed before it waits. */
    ps_status rc = commit_batch(run, 0, err);
    if (rc != PS_OK)
        return rc;
    long gap = run->min_interval_ms;
    if (run->src->delay_ms > gap)
        gap = run->src->delay_ms;
    if ((run->last_fetch_ns && gap > 0 &&
         sleep_until(run, run->last_fetch_ns + (int64_t)gap * 1000000)) ||
        psi_run_cancelled(run)) {
        txn_open(run, err);
        return ps_err_set(err, PS_ERR_CANCELLED, "harvest of %s cancelled",
                          run->src->name);
    }
    run->last_fetch_ns = ps_mono_ns();
    rc = post ? ps_http_post(run->http, url, post, resp, err)
              : ps_http_get(run->http, url, resp, err);
    ps_err e2 = PS_ERR_INIT;
    if (txn_open(run, &e2) != PS_OK) {
        ps_err_set(err, e2.code, "%s", e2.msg);
        return e2.code;
    }
    run->requests += resp->attempts ? resp->attempts : 1;
    run->bytes += (int64_t)resp->body_len;
    long own = run->src->requests_per_minute > 0
                   ? (60000 + run->src->requests_per_minute - 1) /
                         run->src->requests_per_minute
                   : 0;
    long announced = announced_interval_ms(resp);
    run->min_interval_ms = announced > own ? announced : own;
    if (rc != PS_OK && rc != PS_ERR_CANCELLED)
        ps_err_prefix(err, "source %s", run->src->name);
    return rc;
}

/* ---- checkpoints, deletions, links ------------------------------------- */

ps_status psi_state_get(psi_run *run, const char *key, char **value_out,
                        ps_err *err)
{
    return ps_store_state_get(run->st, run->source_id, key, value_out, err);
}

ps_status psi_run_checkpoint_n(psi_run *run, const char *const *keys,
                               const char *const *values, size_t n, ps_err *err)
{
    ps_status rc = txn_open(run, err);
    for (size_t i = 0; i < n && rc == PS_OK; i++)
        rc = ps_store_state_set(run->st, run->source_id, keys[i], values[i],
                                err);
    if (rc == PS_OK) {
        run->in_batch++; /* make psi_run_flush commit */
        rc = psi_run_flush(run, err);
    }
    return rc;
}

ps_status psi_run_checkpoint(psi_run *run, const char *key, const char *value,
                             ps_err *err)
{
    return psi_run_checkpoint_n(run, &key, &value, 1, err);
}

ps_status psi_run_delete_any(psi_run *run, const ps_kind *kinds, size_t n,
                             const char *remote_id, ps_err *err)
{
    int any = 0;
    for (size_t i = 0; i < n; i++) {
        int deleted = 0;
        ps_status rc = ps_store_delete(run->st, run->source_id, kinds[i],
                                       remote_id, &deleted, err);
        if (rc != PS_OK)
            return rc;
        any |= deleted;
    }
    run->pending.seen++;
    run->phase_done++;
    if (any)
        run->pending.deleted++;
    else
        run->pending.unchanged++;
    size_t batch = run->opts->batch ? run->opts->batch : 1000;
    if (++run->in_batch >= batch)
        return psi_run_flush(run, err);
    return PS_OK;
}

ps_status psi_run_delete(psi_run *run, ps_kind kind, const char *remote_id,
                         ps_err *err)
{
    return psi_run_delete_any(run, &kind, 1, remote_id, err);
}

ps_status psi_run_link(psi_run *run, const char *type, ps_kind src_kind,
                       int64_t src_id, ps_kind dst_kind, const char *dst_pid,
                       ps_err *err)
{
    ps_link_in in;
    memset(&in, 0, sizeof in);
    in.type = type;
    in.src_kind = src_kind;
    in.src_id = src_id;
    in.dst_kind = dst_kind;
    in.dst_pid = dst_pid;
    in.provenance = PS_LINK_HARVESTED;
    in.source_id = run->source_id;
    in.score = 1.0;
    in.state = PS_LINK_CONFIRMED;
    return ps_store_put_link(run->st, &in, NULL, err);
}

void psi_iso_time(int64_t ms, int day_only, char *buf, size_t size)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(buf, size, day_only ? "%Y-%m-%d" : "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int psi_run_cancelled(const psi_run *run)
{
    return run->opts->cancel && *run->opts->cancel;
}

int psi_run_pause(psi_run *run)
{
    long ms = run->src->delay_ms;
    ps_err e = PS_ERR_INIT;
    if (ms > 0 && commit_batch(run, 0, &e) != PS_OK)
        ps_log(PS_LOG_WARN, "source %s: %s", run->src->name, e.msg);
    int64_t end = ps_mono_ns() + (int64_t)ms * 1000000;
    while (ms > 0 && !psi_run_cancelled(run)) {
        int64_t left = end - ps_mono_ns();
        if (left <= 0)
            break;
        struct timespec ts = {0, left > 100000000 ? 100000000 : (long)left};
        nanosleep(&ts, NULL);
    }
    if (txn_open(run, &e) != PS_OK)
        ps_log(PS_LOG_WARN, "source %s: %s", run->src->name, e.msg);
    return psi_run_cancelled(run);
}

static void add_counts(ps_run_counts *a, const ps_run_counts *b)
{
    a->seen += b->seen;
    a->inserted += b->inserted;
    a->updated += b->updated;
    a->unchanged += b->unchanged;
    a->deleted += b->deleted;
    a->rejected += b->rejected;
}

static void report(psi_run *run)
{
    if (!run->opts->progress)
        return;
    ps_harvest_progress p;
    p.source = run->src->name;
    p.phase = run->phase ? run->phase : "";
    p.done = run->phase_done;
    p.total = run->phase_total;
    p.counts = run->counts;
    add_counts(&p.counts, &run->pending);
    run->opts->progress(&p, run->opts->payload);
}

/* The write transaction. It is open while a source writes and closed
 * (committed) while it waits on the network or sleeps, so that sources
 * harvested in parallel take turns at SQLite's one write lock page by page
 * instead of holding it through a slow fetch. */
static ps_status txn_open(psi_run *run, ps_err *err)
{
    if (run->txn)
        return PS_OK;
    ps_status rc = ps_store_begin(run->st, err);
    run->txn = rc == PS_OK;
    return rc;
}

/* Commit the open transaction and count what it held; reopen it when the
 * source goes on writing. */
static ps_status commit_batch(psi_run *run, int reopen, ps_err *err)
{
    if (run->txn) {
        ps_status rc = ps_store_commit(run->st, err);
        run->txn = 0;
        if (rc != PS_OK)
            return rc;
    }
    add_counts(&run->counts, &run->pending);
    memset(&run->pending, 0, sizeof run->pending);
    run->in_batch = 0;
    return reopen ? txn_open(run, err) : PS_OK;
}

ps_status psi_run_flush(psi_run *run, ps_err *err)
{
    ps_status rc = PS_OK;
    if (run->in_batch || run->pending.seen)
        rc = commit_batch(run, 1, err);
    report(run);
    return rc;
}

/* A URL whose path (before ? or #) ends in .pdf, in any case. */
static int pdf_path(const char *url)
{
    size_t n = strcspn(url, "?#");
    return n > 4 && strncasecmp(url + n - 4, ".pdf", 4) == 0;
}

ps_status psi_run_pdf_links(psi_run *run, int64_t pub_id,
                            const char *const *urls, const char *const *types,
                            size_t n, ps_err *err)
{
    ps_status rc = PS_OK;
    for (size_t i = 0; i < n && rc == PS_OK; i++) {
        const char *u = urls[i], *t = types ? types[i] : NULL;
        if (!u || (strncasecmp(u, "http://", 7) != 0 &&
                   strncasecmp(u, "https://", 8) != 0))
            continue;
        /* Crossref's "unspecified" (and other generic types) say nothing:
         * then the path decides. */
        int typed = t && *t && strcasecmp(t, "unspecified") != 0 &&
                    strcasecmp(t, "application/octet-stream") != 0;
        int pdf =
            typed ? strncasecmp(t, "application/pdf", 15) == 0 : pdf_path(u);
        if (pdf)
            rc = ps_store_put_pdf_link(run->st, run->source_id, pub_id, u, err);
    }
    return rc;
}

ps_status psi_run_idle(psi_run *run, ps_err *err)
{
    ps_status rc = commit_batch(run, 0, err);
    report(run);
    return rc;
}

ps_status psi_run_resume(psi_run *run, ps_err *err)
{
    return txn_open(run, err);
}

ps_status psi_run_record(psi_run *run, ps_put_result result, ps_err *err)
{
    run->pending.seen++;
    run->phase_done++;
    switch (result) {
    case PS_PUT_INSERTED: run->pending.inserted++; break;
    case PS_PUT_UPDATED: run->pending.updated++; break;
    default: run->pending.unchanged++; break;
    }
    size_t batch = run->opts->batch ? run->opts->batch : 1000;
    if (++run->in_batch >= batch) {
        ps_status rc = commit_batch(run, 1, err);
        report(run);
        return rc;
    }
    return PS_OK;
}

void psi_run_note(psi_run *run, const char *note)
{
    size_t used = strlen(run->notes);
    if (used + 8 < sizeof run->notes)
        snprintf(run->notes + used, sizeof run->notes - used, "%s%s",
                 used ? "; " : "", note);
}

ps_status psi_run_reject(psi_run *run, ps_kind kind, const char *remote_id,
                         const char *reason, ps_err *err)
{
    run->pending.seen++;
    run->pending.rejected++;
    run->phase_done++;
    size_t used = strlen(run->rejects);
    if (used + 8 < sizeof run->rejects)
        snprintf(run->rejects + used, sizeof run->rejects - used, "%s%s",
                 used ? "; " : "", reason);
    if (!remote_id)
        return PS_OK;
    /* The stored version stays alive through the sweep: under every kind
     * it may have been stored as when the kind is not known (PS_KIND_NONE),
     * and as a publication too when a proposal (PaN Documents). */
    static const ps_kind any[] = {PS_KIND_INSTRUMENT, PS_KIND_PROPOSAL,
                                  PS_KIND_DATASET, PS_KIND_PUBLICATION};
    ps_kind doc[] = {kind, PS_KIND_PUBLICATION};
    const ps_kind *kinds = kind == PS_KIND_NONE ? any : doc;
    size_t n = kind == PS_KIND_NONE ? 4 : kind == PS_KIND_PROPOSAL ? 2 : 1;
    ps_status rc = PS_OK;
    for (size_t i = 0; i < n && rc == PS_OK; i++)
        rc = ps_store_mark_seen(run->st, run->source_id, kinds[i], remote_id,
                                run->run_id, err);
    return rc;
}

ps_status ps_harvest_run(ps_store *st, const ps_harvest_source *src,
                         const ps_harvest_opts *opts, ps_harvest_result *res,
                         ps_err *err)
{
    ps_harvest_opts def = PS_HARVEST_OPTS_INIT;
    ps_harvest_result local;
    if (!opts)
        opts = &def;
    if (!res)
        res = &local;
    memset(res, 0, sizeof *res);
    res->state = PS_RUN_FAILED;
    int64_t t0 = ps_mono_ns();
    if (!src || !src->name || !src->type || !src->url)
        return ps_err_set(err, PS_ERR_INVALID,
                          "a source needs a name, a type and a url");
    const harvest_type *type = find_type(src->type);
    if (!type) {
        char known[256] = "";
        for (size_t i = 0; i < NTYPES; i++)
            snprintf(known + strlen(known), sizeof known - strlen(known),
                     "%s%s", i ? ", " : "", harvest_types[i].name);
        return ps_err_set(err, PS_ERR_INVALID,
                          "source %s: unknown type \"%s\" (known: %s)",
                          src->name, src->type, known);
    }
    for (const char *const *o = src->options; o && o[0]; o += 2) {
        const ps_harvest_option *opt = type->options;
        while (opt->key && strcmp(opt->key, o[0]) != 0)
            opt++;
        if (!opt->key)
            return ps_err_set(err, PS_ERR_INVALID,
                              "source %s: type %s has no option \"%s\" (see "
                              "docs/harvesting.md)",
                              src->name, src->type, o[0]);
    }

    psi_run run;
    memset(&run, 0, sizeof run);
    run.st = st;
    run.src = src;
    run.opts = opts;
    run.started_ms = ps_now_ms();
    ps_status rc = ps_store_source_ensure(st, src->name, src->type, src->url,
                                          &run.source_id, err);
    if (rc == PS_OK)
        rc = ps_store_source_set_precedence(st, run.source_id,
                                            type_precedence(src->type), err);
    if (rc == PS_OK)
        rc = ps_store_run_begin(st, run.source_id, &run.run_id, err);
    if (rc != PS_OK)
        return rc;
    res->run_id = run.run_id;

    ps_http_opts ho = PS_HTTP_OPTS_INIT;
    /* Polite pools (Crossref, DataCite) want the operator's contact in the
     * User-Agent. */
    char *ua = NULL;
    if (src->contact && src->contact[0] &&
        !strstr(src->user_agent ? src->user_agent : "", "mailto:"))
        ua = ps_asprintf("%s (mailto:%s)",
                         src->user_agent ? src->user_agent : "pansift/0.1",
                         src->contact);
    ho.user_agent = ua ? ua : src->user_agent;
    if (src->timeout_ms > 0)
        ho.timeout_ms = src->timeout_ms;
    if (src->connect_timeout_ms > 0)
        ho.connect_timeout_ms = src->connect_timeout_ms;
    if (src->retries >= 0)
        ho.retries = (int)src->retries;
    if (src->max_response_bytes > 0)
        ho.max_body = src->max_response_bytes;
    ho.cancel = opts->cancel;
    rc = ps_http_new(&run.http, &ho, err);
    if (rc == PS_OK)
        rc = txn_open(&run, err);
    if (rc == PS_OK) {
        rc = type->run(&run, err);
        if (rc == PS_OK) {
            rc = psi_run_flush(&run, err);
        } else {
            /* Keep what the last full batch committed; drop the partial
             * one, which was never acknowledged. */
            ps_store_rollback(st);
            memset(&run.pending, 0, sizeof run.pending);
        }
    }
    ps_store_rollback(st); /* the transaction psi_run_flush reopened */
    run.txn = 0;

    int64_t resolved = 0, swept = 0;
    ps_err err2 = PS_ERR_INIT;
    if (rc == PS_OK)
        rc = ps_store_resolve(st, &resolved, err);
    if (rc == PS_OK && run.complete)
        rc = ps_store_sweep(st, run.source_id, run.run_id, &swept, err);
    run.counts.deleted += swept;

    if (rc == PS_OK)
        res->state = run.counts.rejected ? PS_RUN_PARTIAL : PS_RUN_OK;
    else
        res->state =
            rc == PS_ERR_CANCELLED ? PS_RUN_INTERRUPTED : PS_RUN_FAILED;
    res->counts = run.counts;
    if (rc != PS_OK)
        snprintf(res->message, sizeof res->message, "%s",
                 err ? err->msg : ps_status_str(rc));
    else if (run.counts.rejected)
        snprintf(res->message, sizeof res->message,
                 "%lld record(s) rejected: %s%s%s",
                 (long long)run.counts.rejected, run.rejects,
                 run.notes[0] ? "; " : "", run.notes);
    else if (run.notes[0])
        snprintf(res->message, sizeof res->message, "%s", run.notes);
    ps_store_run_finish(st, run.run_id, res->state, &run.counts,
                        res->message[0] ? res->message : NULL, &err2);
    ps_http_free(run.http);
    ps_free(ua);
    res->seconds = (double)(ps_mono_ns() - t0) / 1e9;
    return rc;
}
