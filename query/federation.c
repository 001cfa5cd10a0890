/*
 * federation.c: one PaN search API over many providers (docs/federation.md).
 * A request to the PaN endpoints goes, in parallel, to every configured
 * provider (libcurl's multi interface, one deadline for the whole request)
 * and to the local index (the local handler itself, called with the
 * arguments the providers get); the answers are merged:
 *  - find: every provider is asked for the first skip + limit records, the
 *    answers are merged (by normalised score with `query`, by the filter's
 *    order, else by title or name), de-duplicated by pid or DOI, and cut to
 *    the page asked for, so page k is page k of the merged order;
 *  - count: the sum; by pid and a dataset's files: the first provider, in
 *    configuration order, that has the record.
 * A provider that fails is left out of the answer and named in the
 * X-Federation-Providers header; one that keeps failing is skipped for a
 * while (a circuit breaker) and probed again. Identical requests within a
 * time to live are answered from a bounded cache. GET .../federation/status
 * reports each provider's health and latency.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "query-private.h"

#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FED_LATENCIES 1000   /* answers kept per provider for percentiles */
#define FED_MAX_PROVIDERS 64 /* remote providers */
#define FED_ERR_BYTES 200    /* a provider's last error */
#define FED_KEY_BYTES 16384  /* longest cache key (the request's arguments) */

typedef enum { CALL_OK, CALL_TIMEOUT, CALL_ERROR, CALL_SKIPPED } call_state;
static const char *const call_names[] = {"ok", "timeout", "error", "skipped"};

/* One provider's health, under fed->mu. */
typedef struct prov {
    char *name, *url;
    long timeout_ms;
    double weight;
    struct curl_slist *headers;
    int64_t requests, failures, consecutive;
    double latencies[FED_LATENCIES];
    size_t nlat, lat_next;
    char last_error[FED_ERR_BYTES];
    int64_t last_error_at, last_ok_at; /* ms since the epoch, 0: never */
    int64_t open_until;                /* ms (monotonic); 0: closed */
    int probing;                       /* half-open: a probe is out */
} prov;

/* A cached answer. */
typedef struct cache_entry {
    char *key;
    int status;
    char *body; /* the JSON text */
    size_t len;
    char providers[512];             /* the X-Federation-Providers value */
    int64_t expires;                 /* ms (monotonic) */
    struct cache_entry *prev, *next; /* most recently used first */
} cache_entry;

struct psi_fed {
    ps_fed_opts opts; /* providers copied below */
    /* DNS answers and TLS sessions shared by every request, so that a
     * provider's name is not looked up and its TLS handshake not done in
     * full each time. (Connections are not shared: libcurl does not support
     * sharing them between threads running at once.) */
    CURLSH *share;
    pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST];
    prov *provs;
    size_t nprovs;
    pthread_mutex_t mu;
    cache_entry *head, *tail;
    size_t centries, cbytes;
    int64_t hits, misses;
};

static int64_t mono_ms(void) { return ps_mono_ns() / 1000000; }

/* ---- set-up -------------------------------------------------------------- */

static ps_status parse_headers(prov *p, const char *spec, ps_err *err)
{
    const char *s = spec;
    while (s && *s) {
        const char *bar = strchr(s, '|');
        size_t n = bar ? (size_t)(bar - s) : strlen(s);
        while (n && (*s == ' ' || *s == '\t')) {
            s++;
            n--;
        }
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        if (n) {
            char *h = ps_strndup(s, n);
            struct curl_slist *l = h ? curl_slist_append(p->headers, h) : NULL;
            ps_free(h);
            if (!l)
                return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
            p->headers = l;
        }
        s = bar ? bar + 1 : NULL;
    }
    return PS_OK;
}

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access a,
                       void *arg)
{
    (void)h;
    (void)a;
    psi_fed *fed = arg;
    pthread_mutex_lock(&fed->share_mu[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *arg)
{
    (void)h;
    psi_fed *fed = arg;
    pthread_mutex_unlock(&fed->share_mu[data]);
}

ps_status psi_fed_new(psi_fed **out, const ps_fed_opts *opts, ps_err *err)
{
    *out = NULL;
    if (opts->nproviders > FED_MAX_PROVIDERS)
        return ps_err_set(err, PS_ERR_INVALID,
                          "at most %d providers can be federated",
                          FED_MAX_PROVIDERS);
    psi_fed *fed = ps_calloc(1, sizeof *fed);
    if (!fed)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    fed->opts = *opts;
    fed->opts.providers = NULL;
    if (fed->opts.max_response_bytes == 0)
        fed->opts.max_response_bytes = (size_t)16 << 20;
    pthread_mutex_init(&fed->mu, NULL);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&fed->share_mu[i], NULL);
    fed->share = curl_share_init();
    if (fed->share) {
        curl_share_setopt(fed->share, CURLSHOPT_LOCKFUNC, share_lock);
        curl_share_setopt(fed->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
        curl_share_setopt(fed->share, CURLSHOPT_USERDATA, fed);
        curl_share_setopt(fed->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
        curl_share_setopt(fed->share, CURLSHOPT_SHARE,
                          CURL_LOCK_DATA_SSL_SESSION);
    }
    fed->provs =
        ps_calloc(opts->nproviders ? opts->nproviders : 1, sizeof *fed->provs);
    ps_status rc =
        fed->provs ? PS_OK : ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; rc == PS_OK && i < opts->nproviders; i++) {
        const ps_fed_provider *src = &opts->providers[i];
        prov *p = &fed->provs[i];
        fed->nprovs++;
        size_t n = strlen(src->url);
        while (n && src->url[n - 1] == '/')
            n--;
        p->name = ps_strdup(src->name);
        p->url = ps_strndup(src->url, n);
        p->timeout_ms = src->timeout_ms > 0 ? src->timeout_ms : 5000;
        p->weight = src->weight > 0 ? src->weight : 1.0;
        if (!p->name || !p->url)
            rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        else
            rc = parse_headers(p, src->headers, err);
    }
    if (rc != PS_OK) {
        psi_fed_free(fed);
        return rc;
    }
    *out = fed;
    return PS_OK;
}

static void cache_drop(psi_fed *fed, cache_entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        fed->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        fed->tail = e->prev;
    fed->centries--;
    fed->cbytes -= e->len + strlen(e->key);
    ps_free(e->key);
    ps_free(e->body);
    ps_free(e);
}

void psi_fed_free(psi_fed *fed)
{
    if (!fed)
        return;
    for (size_t i = 0; i < fed->nprovs; i++) {
        ps_free(fed->provs[i].name);
        ps_free(fed->provs[i].url);
        curl_slist_free_all(fed->provs[i].headers);
    }
    ps_free(fed->provs);
    while (fed->head)
        cache_drop(fed, fed->head);
    if (fed->share)
        curl_share_cleanup(fed->share);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&fed->share_mu[i]);
    pthread_mutex_destroy(&fed->mu);
    ps_free(fed);
}

/* ---- the cache ------------------------------------------------------------
 */

/* A copy of a live entry for key (status, body, providers), or 0. */
static int cache_get(psi_fed *fed, const char *key, int *status, char **body,
                     size_t *len, char *providers, size_t psize,
                     long *age_left_s)
{
    int found = 0;
    pthread_mutex_lock(&fed->mu);
    cache_entry *e = fed->head;
    while (e && strcmp(e->key, key) != 0)
        e = e->next;
    int64_t now = mono_ms();
    if (e && e->expires <= now) {
        cache_drop(fed, e);
        e = NULL;
    }
    if (e) {
        *body = ps_malloc(e->len + 1);
        if (*body) {
            memcpy(*body, e->body, e->len + 1);
            *len = e->len;
            *status = e->status;
            snprintf(providers, psize, "%s", e->providers);
            *age_left_s = (long)((e->expires - now) / 1000);
            found = 1;
            /* most recently used first */
            if (e->prev) {
                e->prev->next = e->next;
                if (e->next)
                    e->next->prev = e->prev;
                else
                    fed->tail = e->prev;
                e->prev = NULL;
                e->next = fed->head;
                fed->head->prev = e;
                fed->head = e;
            }
        }
    }
    if (found)
        fed->hits++;
    else
        fed->misses++;
    pthread_mutex_unlock(&fed->mu);
    return found;
}

static void cache_put(psi_fed *fed, const char *key, int status,
                      const char *body, size_t len, const char *providers,
                      long ttl_ms)
{
    size_t cost = len + strlen(key);
    if (ttl_ms <= 0 || cost > fed->opts.cache_bytes)
        return;
    cache_entry *e = ps_calloc(1, sizeof *e);
    if (!e)
        return;
    e->key = ps_strdup(key);
    e->body = ps_malloc(len + 1);
    if (!e->key || !e->body) {
        ps_free(e->key);
        ps_free(e->body);
        ps_free(e);
        return;
    }
    memcpy(e->body, body, len);
    e->body[len] = '\0';
    e->len = len;
    e->status = status;
    snprintf(e->providers, sizeof e->providers, "%s", providers);
    e->expires = mono_ms() + ttl_ms;
    pthread_mutex_lock(&fed->mu);
    for (cache_entry *o = fed->head; o; o = o->next) {
        if (strcmp(o->key, key) == 0) {
            cache_drop(fed, o);
            break;
        }
    }
    while (fed->tail && (fed->centries + 1 > (size_t)fed->opts.cache_entries ||
                         fed->cbytes + cost > fed->opts.cache_bytes))
        cache_drop(fed, fed->tail);
    e->next = fed->head;
    if (fed->head)
        fed->head->prev = e;
    fed->head = e;
    if (!fed->tail)
        fed->tail = e;
    fed->centries++;
    fed->cbytes += cost;
    pthread_mutex_unlock(&fed->mu);
}

/* ---- the circuit breaker and health -----------------------------------------
 */

/* May provider i be asked now? An open circuit whose cooldown has passed
 * lets one probe through (half-open). */
static int breaker_allows(psi_fed *fed, size_t i)
{
    prov *p = &fed->provs[i];
    int ok = 1;
    pthread_mutex_lock(&fed->mu);
    if (p->open_until) {
        if (mono_ms() < p->open_until || p->probing)
            ok = 0;
        else
            p->probing = 1;
    }
    pthread_mutex_unlock(&fed->mu);
    return ok;
}

static void record_result(psi_fed *fed, size_t i, call_state st, double ms,
                          const char *why)
{
    prov *p = &fed->provs[i];
    pthread_mutex_lock(&fed->mu);
    p->requests++;
    p->probing = 0;
    if (st == CALL_OK) {
        p->consecutive = 0;
        p->open_until = 0;
        p->last_ok_at = ps_now_ms();
        p->latencies[p->lat_next] = ms;
        p->lat_next = (p->lat_next + 1) % FED_LATENCIES;
        if (p->nlat < FED_LATENCIES)
            p->nlat++;
    } else {
        p->failures++;
        p->consecutive++;
        p->last_error_at = ps_now_ms();
        snprintf(p->last_error, sizeof p->last_error, "%s", why);
        if (p->consecutive >= fed->opts.breaker_failures)
            p->open_until = mono_ms() + fed->opts.breaker_cooldown_ms;
    }
    pthread_mutex_unlock(&fed->mu);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static json_t *percentiles(const prov *p)
{
    double v[FED_LATENCIES];
    size_t n = p->nlat;
    if (!n)
        return json_pack("{s:n,s:n,s:n}", "p50", "p95", "p99");
    memcpy(v, p->latencies, n * sizeof *v);
    qsort(v, n, sizeof *v, cmp_double);
    double q[3] = {0.50, 0.95, 0.99};
    double r[3];
    for (int k = 0; k < 3; k++) {
        size_t idx = (size_t)ceil(q[k] * (double)n);
        r[k] = v[idx ? idx - 1 : 0];
    }
    return json_pack("{s:f,s:f,s:f}", "p50", r[0], "p95", r[1], "p99", r[2]);
}

static json_t *iso_or_null(int64_t ms)
{
    char buf[PS_TIME_BUFSZ];
    return ms ? json_string(ps_time_format(ms, buf)) : json_null();
}

int psi_h_fed_status(psi_req *req, psi_ctx *ctx, const psi_match *m,
                     psi_resp *resp)
{
    (void)ctx;
    (void)m;
    psi_fed *fed = req->srv->fed;
    if (!fed)
        return psi_error(resp, 404, "NOT_FEDERATING",
                         "this pansift federates no providers: add [provider "
                         "NAME] sections to its configuration "
                         "(docs/federation.md)");
    json_t *arr = json_array();
    pthread_mutex_lock(&fed->mu);
    int64_t now = mono_ms(), wall = ps_now_ms();
    for (size_t i = 0; arr && i < fed->nprovs; i++) {
        const prov *p = &fed->provs[i];
        const char *state = !p->open_until        ? "closed"
                            : now < p->open_until ? "open"
                                                  : "half-open";
        json_t *o = json_pack(
            "{s:s,s:s,s:s,s:I,s:I,s:I,s:o,s:o,s:o,s:o,s:o}", "name", p->name,
            "url", p->url, "state", state, "requests", (json_int_t)p->requests,
            "failures", (json_int_t)p->failures, "consecutive_failures",
            (json_int_t)p->consecutive, "latency_ms", percentiles(p),
            "last_error",
            p->last_error[0] ? json_string(p->last_error) : json_null(),
            "last_error_at", iso_or_null(p->last_error_at), "last_ok_at",
            iso_or_null(p->last_ok_at), "open_until",
            p->open_until && now < p->open_until
                ? iso_or_null(wall + (p->open_until - now))
                : json_null());
        json_array_append_new(arr, o);
    }
    json_t *out = json_pack(
        "{s:o,s:b,s:{s:I,s:I,s:I,s:I,s:I},s:I}", "providers", arr, "local",
        fed->opts.local, "cache", "entries", (json_int_t)fed->centries, "bytes",
        (json_int_t)fed->cbytes, "hits", (json_int_t)fed->hits, "misses",
        (json_int_t)fed->misses, "ttl_ms", (json_int_t)fed->opts.cache_ttl_ms,
        "deadline_ms", (json_int_t)fed->opts.deadline_ms);
    pthread_mutex_unlock(&fed->mu);
    if (!out)
        return psi_error(resp, 500, NULL, "out of memory");
    resp->json = out;
    return 200;
}

/* ---- fan-out ----------------------------------------------------------------
 */

/* find (merged), count (summed), one record by pid, a dataset's files
 * (an array) and their count (an object), from the first provider that has
 * the dataset. */
typedef enum {
    REQ_FIND,
    REQ_COUNT,
    REQ_ONE,
    REQ_FILES,
    REQ_FILES_COUNT
} req_kind;

/* One provider's part of a request. */
typedef struct call {
    int provider; /* index in fed->provs, or -1: the local index */
    call_state state;
    char why[FED_ERR_BYTES];
    long status;
    ps_buf body;
    json_t *json; /* the parsed answer */
    double ms;
    int no_store;   /* the provider said Cache-Control: no-store */
    long max_age_s; /* its max-age, -1 none */
    CURL *easy;
    char *url;
    int64_t t0;
    int done; /* the transfer ended (answer or failure) */
} call;

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    call *c = arg;
    if (ps_buf_append(&c->body, data, size * n) != PS_OK)
        return 0; /* past the ceiling: the transfer stops */
    return size * n;
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    call *c = arg;
    size_t len = size * n;
    if (len > 14 && strncasecmp(data, "Cache-Control:", 14) == 0) {
        char v[256];
        snprintf(v, sizeof v, "%.*s", (int)(len - 14), data + 14);
        if (strstr(v, "no-store"))
            c->no_store = 1;
        const char *ma = strstr(v, "max-age=");
        if (ma)
            c->max_age_s = strtol(ma + 8, NULL, 10);
    }
    return len;
}

/* The provider URL of this request: base + path + "?" + query. */
static char *provider_url(const prov *p, const char *path, const char *query)
{
    return ps_asprintf("%s%s%s%s", p->url, path, query && *query ? "?" : "",
                       query ? query : "");
}

/* Start provider i's transfer (or mark it skipped). */
static void call_start(psi_fed *fed, CURLM *multi, call *c, const char *path,
                       const char *query, int64_t deadline)
{
    prov *p = &fed->provs[c->provider];
    c->max_age_s = -1;
    ps_buf_init(&c->body, fed->opts.max_response_bytes);
    if (!breaker_allows(fed, (size_t)c->provider)) {
        c->state = CALL_SKIPPED;
        snprintf(c->why, sizeof c->why, "skipped: failing (circuit open)");
        return;
    }
    c->url = provider_url(p, path, query);
    c->easy = c->url ? curl_easy_init() : NULL;
    if (!c->easy) {
        c->state = CALL_ERROR;
        snprintf(c->why, sizeof c->why, "out of memory");
        record_result(fed, (size_t)c->provider, CALL_ERROR, 0, c->why);
        return;
    }
    long left = (long)(deadline - mono_ms());
    long t = p->timeout_ms < left ? p->timeout_ms : left;
    curl_easy_setopt(c->easy, CURLOPT_URL, c->url);
    curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, t > 1 ? t : 1);
    curl_easy_setopt(c->easy, CURLOPT_CONNECTTIMEOUT_MS, t > 1 ? t : 1);
    curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(c->easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c->easy, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(c->easy, CURLOPT_USERAGENT, "pansift-federation/0.1");
    curl_easy_setopt(c->easy, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    if (p->headers)
        curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, p->headers);
    if (fed->share)
        curl_easy_setopt(c->easy, CURLOPT_SHARE, fed->share);
    curl_easy_setopt(c->easy, CURLOPT_PRIVATE, c);
    c->t0 = ps_mono_ns();
    curl_multi_add_handle(multi, c->easy);
}

/* What a finished transfer gave: the JSON, or why it failed. A 404 is an
 * answer (the provider lacks the record), not a failure. */
static void call_finish(psi_fed *fed, call *c, CURLcode code, req_kind kind)
{
    c->done = 1;
    c->ms = (double)(ps_mono_ns() - c->t0) / 1e6;
    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &c->status);
    if (code == CURLE_OPERATION_TIMEDOUT) {
        c->state = CALL_TIMEOUT;
        snprintf(c->why, sizeof c->why, "timed out after %.0f ms", c->ms);
    } else if (code == CURLE_WRITE_ERROR && c->body.len) {
        c->state = CALL_ERROR;
        snprintf(c->why, sizeof c->why, "answer larger than %zu bytes",
                 fed->opts.max_response_bytes);
    } else if (code != CURLE_OK) {
        c->state = CALL_ERROR;
        snprintf(c->why, sizeof c->why, "%s", curl_easy_strerror(code));
    } else if (c->status == 404 && kind >= REQ_ONE) {
        c->state = CALL_OK;
    } else if (c->status != 200) {
        c->state = CALL_ERROR;
        snprintf(c->why, sizeof c->why, "HTTP %ld", c->status);
    } else {
        json_error_t je;
        c->json =
            json_loadb(c->body.data ? c->body.data : "", c->body.len, 0, &je);
        int shape = c->json && (kind == REQ_FIND || kind == REQ_FILES
                                    ? json_is_array(c->json)
                                    : json_is_object(c->json));
        if (shape && (kind == REQ_COUNT || kind == REQ_FILES_COUNT))
            shape = json_is_integer(json_object_get(c->json, "count"));
        c->state = shape ? CALL_OK : CALL_ERROR;
        if (!shape) {
            snprintf(c->why, sizeof c->why, "answer is not %s",
                     kind == REQ_FIND || kind == REQ_FILES ? "a JSON array"
                     : kind == REQ_COUNT || kind == REQ_FILES_COUNT
                         ? "a JSON {\"count\": N}"
                         : "a JSON object");
            json_decref(c->json);
            c->json = NULL;
        }
    }
    record_result(fed, (size_t)c->provider, c->state, c->ms, c->why);
}

/* The local index's answer, through the local handler with args. */
static void call_local(psi_req *req, psi_ctx *ctx, const psi_match *m,
                       psi_handler h, const char *const *args, call *c,
                       req_kind kind)
{
    psi_resp lr;
    memset(&lr, 0, sizeof lr);
    lr.fd = -1;
    const char *const *saved = req->args_override;
    req->args_override = args;
    int64_t t0 = ps_mono_ns();
    int st = h(req, ctx, m, &lr);
    req->args_override = saved;
    c->ms = (double)(ps_mono_ns() - t0) / 1e6;
    c->status = st;
    c->max_age_s = -1;
    if (st == 200 && lr.json) {
        c->json = lr.json;
        lr.json = NULL;
        c->state = CALL_OK;
    } else if (st == 404 && kind >= REQ_ONE) {
        c->state = CALL_OK;
    } else {
        c->state = CALL_ERROR;
        const char *msg = json_string_value(
            json_object_get(json_object_get(lr.json, "error"), "message"));
        snprintf(c->why, sizeof c->why, "HTTP %d%s%s", st, msg ? ": " : "",
                 msg ? msg : "");
    }
    json_decref(lr.json);
    ps_free(lr.body);
    if (lr.fd >= 0)
        close(lr.fd);
}

/* Run every call to its end or the deadline. */
static void fan_out(psi_fed *fed, psi_req *req, psi_ctx *ctx,
                    const psi_match *m, psi_handler h,
                    const char *const *local_args, call *calls, size_t ncalls,
                    const char *path, const char *query, req_kind kind)
{
    int64_t deadline = mono_ms() + fed->opts.deadline_ms;
    CURLM *multi = curl_multi_init();
    for (size_t i = 0; i < ncalls; i++) {
        if (calls[i].provider < 0)
            continue;
        if (multi) {
            call_start(fed, multi, &calls[i], path, query, deadline);
        } else {
            calls[i].state = CALL_ERROR;
            snprintf(calls[i].why, sizeof calls[i].why, "out of memory");
        }
    }
    int running = 0;
    if (multi)
        curl_multi_perform(multi, &running); /* the requests go out */
    for (size_t i = 0; i < ncalls; i++)
        if (calls[i].provider < 0)
            call_local(req, ctx, m, h, local_args, &calls[i], kind);
    while (multi && running) {
        long left = (long)(deadline - mono_ms());
        if (left <= 0)
            break;
        curl_multi_poll(multi, NULL, 0, left < 100 ? (int)left : 100, NULL);
        curl_multi_perform(multi, &running);
        int queued;
        for (;;) {
            CURLMsg *msg = curl_multi_info_read(multi, &queued);
            if (!msg)
                break;
            if (msg->msg != CURLMSG_DONE)
                continue;
            call *c = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&c);
            if (c)
                call_finish(fed, c, msg->data.result, kind);
        }
    }
    /* Whatever is still running has reached the deadline. */
    for (size_t i = 0; i < ncalls; i++) {
        call *c = &calls[i];
        if (c->easy && !c->done) {
            c->ms = (double)(ps_mono_ns() - c->t0) / 1e6;
            c->state = CALL_TIMEOUT;
            snprintf(c->why, sizeof c->why,
                     "no answer within the federation's deadline (%ld ms)",
                     fed->opts.deadline_ms);
            record_result(fed, (size_t)c->provider, c->state, c->ms, c->why);
        }
        if (c->easy) {
            curl_multi_remove_handle(multi, c->easy);
            curl_easy_cleanup(c->easy);
            c->easy = NULL;
        }
    }
    if (multi)
        curl_multi_cleanup(multi);
}

static void calls_free(call *calls, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ps_buf_free(&calls[i].body);
        json_decref(calls[i].json);
        ps_free(calls[i].url);
    }
    ps_free(calls);
}

/* ---- merging ----------------------------------------------------------------
 */

typedef struct hit {
    json_t *item; /* borrowed from its call's answer */
    size_t call;  /* index of the call: provider order */
    size_t rank;  /* position in the provider's answer */
    double norm;  /* normalised score (with query) */
} hit;

typedef struct order_key {
    char field[64];
    int desc;
} order_key;

typedef struct merge_ctx {
    int by_score;
    const order_key *keys;
    size_t nkeys;
    const char *name_field; /* "title" or "name" */
} merge_ctx;

static _Thread_local const merge_ctx *sort_ctx;

/* Compare two values of one field: numbers as numbers, the rest as text in
 * any letter case; a missing value below any present one (first in
 * ascending order, last in descending), as pansift and LoopBack sort, so
 * that each provider's window holds its first records in this order. */
static int cmp_values(const json_t *a, const json_t *b)
{
    int ma = !a || json_is_null(a), mb = !b || json_is_null(b);
    if (ma || mb)
        return mb - ma; /* missing is the lowest value, as providers sort */
    if (json_is_number(a) && json_is_number(b)) {
        double x = json_number_value(a), y = json_number_value(b);
        return x < y ? -1 : x > y;
    }
    const char *x = json_string_value(a), *y = json_string_value(b);
    if (x && y)
        return strcasecmp(x, y);
    return json_is_string(a) ? -1 : json_is_string(b) ? 1 : 0;
}

static int cmp_hits(const void *pa, const void *pb)
{
    const hit *a = pa, *b = pb;
    const merge_ctx *mc = sort_ctx;
    int c = 0;
    if (mc->by_score) {
        c = a->norm > b->norm ? -1 : a->norm < b->norm;
    } else if (mc->nkeys) {
        for (size_t k = 0; !c && k < mc->nkeys; k++) {
            c = cmp_values(json_object_get(a->item, mc->keys[k].field),
                           json_object_get(b->item, mc->keys[k].field));
            if (mc->keys[k].desc)
                c = -c;
        }
    } else {
        c = cmp_values(json_object_get(a->item, mc->name_field),
                       json_object_get(b->item, mc->name_field));
    }
    if (!c)
        c = a->call < b->call ? -1 : a->call > b->call;
    if (!c)
        c = a->rank < b->rank ? -1 : a->rank > b->rank;
    return c;
}

/* The filter's order: "field DIR" or an array of them. */
static size_t parse_order(const json_t *order, order_key *keys, size_t max)
{
    size_t n = 0;
    json_t *one = json_is_string(order) ? (json_t *)order : NULL;
    size_t count = one ? 1 : json_array_size(order);
    for (size_t i = 0; i < count && n < max; i++) {
        const char *s = json_string_value(one ? one : json_array_get(order, i));
        if (!s)
            continue;
        while (*s == ' ')
            s++;
        size_t len = strcspn(s, " ");
        if (!len || len >= sizeof keys[n].field)
            continue;
        memcpy(keys[n].field, s, len);
        keys[n].field[len] = '\0';
        const char *dir = s + len;
        while (*dir == ' ')
            dir++;
        keys[n].desc = strncasecmp(dir, "desc", 4) == 0;
        n++;
    }
    return n;
}

/* A set of strings (pids, lower-case DOIs) mapped to hit indexes. */
typedef struct key_set {
    char **keys;
    size_t *vals;
    size_t cap;
} key_set;

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* The hit index of key, or (size_t)-1 after adding key -> val. */
static size_t set_find_add(key_set *ks, const char *key, size_t val)
{
    size_t i = (size_t)(hash_str(key) % ks->cap);
    while (ks->keys[i]) {
        if (strcmp(ks->keys[i], key) == 0)
            return ks->vals[i];
        i = (i + 1) % ks->cap;
    }
    ks->keys[i] = (char *)key;
    ks->vals[i] = val;
    return (size_t)-1;
}

static const char *call_name(const psi_fed *fed, const call *c)
{
    return c->provider < 0 ? "local" : fed->provs[c->provider].name;
}

/* Merge the find answers into one page: items skip .. skip + limit - 1 of
 * the merged, de-duplicated order, each with "provider" (and "providers",
 * "score_normalised"). */
static json_t *merge_find(const psi_fed *fed, call *calls, size_t ncalls,
                          const json_t *filter, ps_pan_model model,
                          int64_t skip, int64_t limit)
{
    size_t total = 0;
    for (size_t i = 0; i < ncalls; i++)
        if (calls[i].state == CALL_OK && calls[i].json)
            total += json_array_size(calls[i].json);
    hit *hits = ps_calloc(total ? total : 1, sizeof *hits);
    key_set ks = {ps_calloc(total * 4 + 8, sizeof(char *)),
                  ps_calloc(total * 4 + 8, sizeof(size_t)), total * 4 + 8};
    char **dois = ps_calloc(total ? total : 1, sizeof *dois);
    char **pids = ps_calloc(total ? total : 1, sizeof *pids);
    json_t *out = json_array();
    if (!hits || !ks.keys || !ks.vals || !dois || !pids || !out) {
        json_decref(out);
        out = NULL;
        goto done;
    }
    int by_score = json_is_string(json_object_get(filter, "query")) &&
                   *json_string_value(json_object_get(filter, "query"));
    size_t n = 0;
    for (size_t i = 0; i < ncalls; i++) {
        call *c = &calls[i];
        if (c->state != CALL_OK || !c->json)
            continue;
        double max = 0,
               weight = c->provider < 0 ? 1.0 : fed->provs[c->provider].weight;
        size_t k;
        json_t *item;
        json_array_foreach (c->json, k, item) {
            double sc = json_number_value(json_object_get(item, "score"));
            if (sc > max)
                max = sc;
        }
        json_array_foreach (c->json, k, item) {
            if (!json_is_object(item))
                continue;
            double sc = json_number_value(json_object_get(item, "score"));
            hits[n].item = item;
            hits[n].call = i;
            hits[n].rank = k;
            hits[n].norm = max > 0 && sc > 0 ? sc / max * weight : 0;
            n++;
        }
    }
    order_key keys[8];
    merge_ctx mc = {
        by_score, keys,
        by_score ? 0 : parse_order(json_object_get(filter, "order"), keys, 8),
        model == PS_PAN_INSTRUMENT ? "name" : "title"};
    sort_ctx = &mc;
    qsort(hits, n, sizeof *hits, cmp_hits);
    sort_ctx = NULL;
    /* One record per pid and per DOI, the first in the merged order; the
     * others add their provider to it. */
    int64_t kept = 0;
    json_t **page_items = ps_calloc(n ? n : 1, sizeof *page_items);
    if (!page_items) {
        json_decref(out);
        out = NULL;
        goto done;
    }
    size_t *owner = ps_calloc(n ? n : 1, sizeof *owner); /* hit -> kept hit */
    if (!owner) {
        ps_free(page_items);
        json_decref(out);
        out = NULL;
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const char *pid =
            json_string_value(json_object_get(hits[i].item, "pid"));
        const char *doi =
            json_string_value(json_object_get(hits[i].item, "doi"));
        /* Keys in two name spaces ("p" pid, "d" lower-case DOI): a record
         * whose pid is its DOI must not find itself. */
        size_t first = (size_t)-1;
        if (pid) {
            pids[i] = ps_asprintf("p%s", pid);
            if (pids[i])
                first = set_find_add(&ks, pids[i], i);
        }
        if (doi && *doi) {
            dois[i] = ps_asprintf("d%s", doi);
            if (dois[i]) {
                ps_str_lower(dois[i], (size_t)-1);
                size_t f2 = set_find_add(
                    &ks, dois[i], first == (size_t)-1 ? i : owner[first]);
                if (first == (size_t)-1)
                    first = f2;
            }
        }
        if (first != (size_t)-1) {
            size_t o = owner[first];
            owner[i] = o;
            json_t *kept_item = hits[o].item;
            json_t *provs = json_object_get(kept_item, "providers");
            if (!provs) {
                provs = json_array();
                json_array_append_new(
                    provs, json_string(call_name(fed, &calls[hits[o].call])));
                json_object_set_new(kept_item, "providers", provs);
            }
            json_array_append_new(
                provs, json_string(call_name(fed, &calls[hits[i].call])));
            continue;
        }
        owner[i] = i;
        json_object_set_new(hits[i].item, "provider",
                            json_string(call_name(fed, &calls[hits[i].call])));
        if (by_score)
            json_object_set_new(hits[i].item, "score_normalised",
                                json_real(hits[i].norm));
        if (kept >= skip && kept < skip + limit)
            json_array_append(out, hits[i].item);
        kept++;
    }
    ps_free(owner);
    ps_free(page_items);
done:
    for (size_t i = 0; i < total; i++) {
        if (dois)
            ps_free(dois[i]);
        if (pids)
            ps_free(pids[i]);
    }
    ps_free(dois);
    ps_free(pids);
    ps_free(ks.keys);
    ps_free(ks.vals);
    ps_free(hits);
    return out;
}

/* ---- requests
 * ---------------------------------------------------------------- */

static const char *model_segment(ps_pan_model m)
{
    return m == PS_PAN_DATASET    ? "Datasets"
           : m == PS_PAN_DOCUMENT ? "Documents"
                                  : "Instruments";
}

/* "local=ok; esrf=timeout; ..." */
static void providers_header(const psi_fed *fed, const call *calls,
                             size_t ncalls, char *out, size_t size)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < ncalls && len < size; i++) {
        int w = snprintf(out + len, size - len, "%s%s=%s", i ? "; " : "",
                         call_name(fed, &calls[i]), call_names[calls[i].state]);
        if (w < 0)
            break;
        len += (size_t)w;
    }
}

static void add_header(psi_resp *resp, const char *name, const char *value)
{
    size_t len = strlen(resp->headers);
    snprintf(resp->headers + len, sizeof resp->headers - len, "%s: %s\n", name,
             value);
}

/* 503 when no provider answered: the error names each one's failure. */
static int all_failed(const psi_fed *fed, psi_resp *resp, const call *calls,
                      size_t ncalls)
{
    char why[600];
    size_t len = 0;
    why[0] = '\0';
    for (size_t i = 0; i < ncalls && len < sizeof why; i++) {
        int w = snprintf(why + len, sizeof why - len, "%s%s: %s", i ? "; " : "",
                         call_name(fed, &calls[i]),
                         calls[i].why[0] ? calls[i].why : "no answer");
        if (w < 0)
            break;
        len += (size_t)w;
    }
    return psi_error(resp, 503, "NO_PROVIDER",
                     "no provider of the federation answered (%s)", why);
}

int psi_fed_answer(psi_req *req, psi_ctx *ctx, const psi_match *m,
                   psi_resp *resp, psi_handler h)
{
    psi_fed *fed = req->srv->fed;
    ps_err err = PS_ERR_INIT;
    req_kind kind = h == psi_h_pan_find          ? REQ_FIND
                    : h == psi_h_pan_files       ? REQ_FILES
                    : h == psi_h_pan_files_count ? REQ_FILES_COUNT
                    : h == psi_h_pan_count       ? REQ_COUNT
                                                 : REQ_ONE;
    int files = kind == REQ_FILES || kind == REQ_FILES_COUNT;
    int counting = kind == REQ_COUNT || kind == REQ_FILES_COUNT;
    const char *argname = counting ? "where" : "filter";
    const char *text = psi_arg(req, argname);

    /* A malformed request is refused before any provider is asked. */
    json_t *filter = NULL;
    if (counting) {
        ps_where *w = NULL;
        if (ps_pan_where_parse(files ? PS_PAN_FILE : m->model, text, &w,
                               &err) != PS_OK)
            return psi_error(resp, err.code == PS_ERR_NOMEM ? 500 : 400, NULL,
                             "%s", err.msg);
        ps_where_free(w);
    } else {
        ps_pan_filter *f = NULL;
        if (ps_pan_filter_parse(files ? PS_PAN_FILE : m->model, text, &f,
                                &err) != PS_OK)
            return psi_error(resp, err.code == PS_ERR_NOMEM ? 500 : 400, NULL,
                             "%s", err.msg);
        ps_pan_filter_free(f);
    }

    /* What the providers are asked. */
    char *fwd_text = NULL;
    int64_t skip = 0, limit = 0;
    if (kind == REQ_FIND) {
        filter = text && *text ? json_loads(text, 0, NULL) : json_object();
        if (!json_is_object(filter)) {
            json_decref(filter);
            return psi_error(resp, 400, NULL,
                             "the filter is not a JSON object");
        }
        const char *q = psi_arg(req, "query");
        if (q && *q && !json_object_get(filter, "query"))
            json_object_set_new(filter, "query", json_string(q));
        json_t *jl = json_object_get(filter, "limit");
        json_t *js = json_object_get(filter, "skip");
        limit = json_is_integer(jl) && json_integer_value(jl) > 0
                    ? json_integer_value(jl)
                    : fed->opts.default_limit;
        skip = json_is_integer(js) && json_integer_value(js) > 0
                   ? json_integer_value(js)
                   : 0;
        if (skip + limit > fed->opts.max_window) {
            json_decref(filter);
            return psi_error(resp, 400, NULL,
                             "skip + limit = %lld is beyond the federation's "
                             "window of %ld records (each provider would be "
                             "asked for that many); narrow the filter or page "
                             "less deep",
                             (long long)(skip + limit), fed->opts.max_window);
        }
        json_t *fwd = json_deep_copy(filter);
        json_object_set_new(fwd, "limit", json_integer(skip + limit));
        json_object_del(fwd, "skip");
        /* Every provider's first skip + limit records must be its first in
         * the merge's order: without query or order, by title (name). */
        const char *q2 = json_string_value(json_object_get(fwd, "query"));
        if ((!q2 || !*q2) && !json_object_get(fwd, "order"))
            json_object_set_new(fwd, "order",
                                json_string(m->model == PS_PAN_INSTRUMENT
                                                ? "name ASC"
                                                : "title ASC"));
        fwd_text = json_dumps(fwd, JSON_COMPACT);
        json_decref(fwd);
    } else if (text) {
        fwd_text = ps_strdup(text);
    }

    /* The cache. */
    const char *cc = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
                                                 "Cache-Control");
    int no_store = cc && strstr(cc, "no-store");
    int no_cache = no_store || (cc && strstr(cc, "no-cache"));
    /* The key: the path and the arguments, a find's filter in a canonical
     * form (keys sorted, no spaces), so the same filter spelled otherwise is
     * the same entry. */
    char *canon =
        filter ? json_dumps(filter, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    const char *arg_text = canon ? canon : text ? text : "";
    char *key = strlen(arg_text) > 8000
                    ? NULL
                    : ps_asprintf("%.4000s\x1f%s", req->path, arg_text);
    free(canon);
    int use_cache = fed->opts.cache_ttl_ms > 0 && key;
    if (use_cache && !no_cache) {
        int status = 0;
        char *body = NULL, provs[512];
        size_t len = 0;
        long left = 0;
        if (cache_get(fed, key, &status, &body, &len, provs, sizeof provs,
                      &left)) {
            resp->body = body;
            resp->len = len;
            resp->content_type = "application/json; charset=utf-8";
            add_header(resp, "X-Federation-Providers", provs);
            add_header(resp, "X-Federation-Cache", "hit");
            snprintf(resp->cache_control_buf, sizeof resp->cache_control_buf,
                     "max-age=%ld", left);
            resp->cache_control = resp->cache_control_buf;
            json_decref(filter);
            ps_free(fwd_text);
            ps_free(key);
            return status;
        }
    }

    /* Ask everyone. */
    size_t ncalls = fed->nprovs + (fed->opts.local ? 1 : 0);
    call *calls = ps_calloc(ncalls, sizeof *calls);
    char *escaped = fwd_text ? curl_easy_escape(NULL, fwd_text, 0) : NULL;
    char *query = escaped ? ps_asprintf("%s=%s", argname, escaped) : NULL;
    char *pid_esc = m->pid ? curl_easy_escape(NULL, m->pid, 0) : NULL;
    char *path = ps_asprintf("/%s%s%s%s%s", model_segment(m->model),
                             pid_esc ? "/" : "", pid_esc ? pid_esc : "",
                             files ? "/files" : "", counting ? "/count" : "");
    const char *local_args[] = {argname, fwd_text, NULL, NULL};
    if (!fwd_text)
        local_args[0] = NULL;
    int status = 200;
    if (!calls || !path || (fwd_text && !query)) {
        status = psi_error(resp, 500, NULL, "out of memory");
        goto out;
    }
    size_t c0 = 0;
    if (fed->opts.local)
        calls[c0++].provider = -1;
    for (size_t i = 0; i < fed->nprovs; i++)
        calls[c0++].provider = (int)i;
    fan_out(fed, req, ctx, m, h, local_args, calls, ncalls, path, query, kind);

    char provs[512];
    providers_header(fed, calls, ncalls, provs, sizeof provs);
    add_header(resp, "X-Federation-Providers", provs);
    int complete = 1, answered = 0, no_store_src = 0;
    long ttl = fed->opts.cache_ttl_ms;
    for (size_t i = 0; i < ncalls; i++) {
        if (calls[i].state == CALL_OK)
            answered++;
        else
            complete = 0;
        no_store_src |= calls[i].no_store;
        if (calls[i].max_age_s >= 0 && calls[i].max_age_s * 1000 < ttl)
            ttl = calls[i].max_age_s * 1000;
    }
    if (!answered) {
        status = all_failed(fed, resp, calls, ncalls);
        goto out;
    }
    if (kind == REQ_FIND) {
        resp->json =
            merge_find(fed, calls, ncalls, filter, m->model, skip, limit);
    } else if (kind == REQ_COUNT) {
        json_int_t sum = 0;
        for (size_t i = 0; i < ncalls; i++)
            if (calls[i].state == CALL_OK && calls[i].json)
                sum +=
                    json_integer_value(json_object_get(calls[i].json, "count"));
        resp->json = json_pack("{s:I}", "count", sum);
    } else {
        /* The first provider, in configuration order, that has it. */
        for (size_t i = 0; i < ncalls && !resp->json; i++) {
            if (calls[i].state != CALL_OK || !calls[i].json)
                continue;
            resp->json = json_incref(calls[i].json);
            if (kind == REQ_ONE && json_is_object(resp->json))
                json_object_set_new(resp->json, "provider",
                                    json_string(call_name(fed, &calls[i])));
        }
        if (!resp->json) {
            status = psi_error(resp, 404, "MODEL_NOT_FOUND",
                               "Unknown \"%s\" id \"%s\".",
                               psi_model_name(m->model), m->pid ? m->pid : "");
            goto out;
        }
    }
    if (!resp->json) {
        status = psi_error(resp, 500, NULL, "out of memory");
        goto out;
    }
    /* Only a complete answer is kept: a recovered provider shows at once. */
    if (use_cache && !no_store && complete && !no_store_src && ttl > 0) {
        char *body = json_dumps(resp->json, JSON_COMPACT);
        if (body)
            cache_put(fed, key, 200, body, strlen(body), provs, ttl);
        free(body);
        snprintf(resp->cache_control_buf, sizeof resp->cache_control_buf,
                 "max-age=%ld", ttl / 1000);
        resp->cache_control = resp->cache_control_buf;
    }
    add_header(resp, "X-Federation-Cache",
               !use_cache || no_cache ? "bypass" : "miss");
out:
    if (calls)
        calls_free(calls, ncalls);
    curl_free(escaped);
    curl_free(pid_esc);
    ps_free(query);
    ps_free(path);
    ps_free(key);
    ps_free(fwd_text);
    json_decref(filter);
    return status;
}
