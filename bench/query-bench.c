/*
 * query-bench.c: latency of the PaN search API as one client sees it. One
 * libcurl easy handle is reused for every request (one keep-alive
 * connection, requests one after the other), so the figures are the
 * server's latency plus one loopback round trip, without queueing. Real
 * pids, instrument pids, title words and dates are sampled from the first
 * lines of the catalogue's Datasets.json (the one that was harvested), so
 * the requests have answers. For each query type: 20 warm-up requests, then
 * --n timed ones (CLOCK_MONOTONIC around curl_easy_perform); a request
 * counts as failed unless it gets HTTP 200. Prints n, failures, mean, p50,
 * p90, p99 and max in ms per type (and the mean size and number of records
 * of the answers, to see that the requests have hits), then one JSON line
 * with every figure.
 *
 * Query types: browse, count, by_pid, by_pid_include, instrument,
 * instrument_count, date_range, query (relevance-ranked full text),
 * documents (proposals with members, persons and affiliations), portal
 * (keywords + a technique by name + a temperature range in K, limit 25:
 * the typical portal query), technique (a technique scope alone),
 * and
 * text_where (a where "text" condition, evaluated by scanning candidates:
 * slow on big catalogues, so only run when named in --types).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "common.h"

#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define WARMUP 20
#define MAX_WORDS 4096

typedef struct sample {
    char **pids; /* public datasets */
    size_t npids;
    char **instruments; /* distinct instrument pids */
    size_t ninstruments;
    char **words; /* distinct title words */
    size_t nwords;
    char **pairs; /* two words of the same title */
    size_t npairs;
    int64_t min_ms, max_ms; /* creation dates */
} sample;

typedef struct opts {
    const char *url;
    const char *prefix;
    const char *catalogue;
    int64_t n;
    uint64_t seed;
    const char *types;
    int64_t lines;
    int64_t timeout_ms;
    int64_t budget_s;
} opts;

/* ---- random numbers ----------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t x = (rng_state += 0x9e3779b97f4a7c15ull);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static size_t rnd_below(size_t n) { return n ? (size_t)(rnd() % n) : 0; }

/* ---- sampling the catalogue --------------------------------------------- */

static int push(char ***arr, size_t *n, const char *s)
{
    char **a = ps_realloc(*arr, (*n + 1) * sizeof *a);
    if (!a)
        return -1;
    *arr = a;
    a[*n] = ps_strdup(s);
    if (!a[*n])
        return -1;
    (*n)++;
    return 0;
}

static int contains(char **arr, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(arr[i], s) == 0)
            return 1;
    return 0;
}

/* Words of a title worth searching for: letters only, at least 4 of them;
 * and a pair of them, for a two-word query that has hits. */
static int add_words(sample *s, const char *title)
{
    const char *p = title;
    char mine[16][40];
    size_t nmine = 0;
    while (*p) {
        size_t n = 0, letters = 0;
        while (p[n] && p[n] != ' ' && p[n] != ',' && p[n] != ';' &&
               p[n] != '(' && p[n] != ')') {
            if ((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= 'A' && p[n] <= 'Z'))
                letters++;
            n++;
        }
        if (n >= 4 && n < 40 && letters == n && s->nwords < MAX_WORDS) {
            char w[40];
            memcpy(w, p, n);
            w[n] = '\0';
            if (!contains(s->words, s->nwords, w) &&
                push(&s->words, &s->nwords, w))
                return -1;
        }
        if (n >= 4 && n < 40 && letters == n && nmine < 16) {
            memcpy(mine[nmine], p, n);
            mine[nmine++][n] = '\0';
        }
        p += n;
        while (*p == ' ' || *p == ',' || *p == ';' || *p == '(' || *p == ')')
            p++;
    }
    if (nmine >= 2 && s->npairs < MAX_WORDS) {
        size_t a = rnd_below(nmine), b = rnd_below(nmine - 1);
        b += b >= a;
        char *pair = ps_asprintf("%s %s", mine[a], mine[b]);
        int rc = pair ? push(&s->pairs, &s->npairs, pair) : -1;
        ps_free(pair);
        return rc;
    }
    return 0;
}

static int load_sample(const opts *o, sample *s)
{
    char *path = ps_asprintf("%s/Datasets.json", o->catalogue);
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f) {
        fprintf(stderr,
                "query-bench: cannot read %s/Datasets.json (give the "
                "harvested catalogue with --catalogue)\n",
                o->catalogue);
        ps_free(path);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    s->min_ms = INT64_MAX;
    s->max_ms = INT64_MIN;
    int status = 0;
    for (int64_t i = 0; i < o->lines;) {
        ssize_t len = getline(&line, &cap, f);
        if (len < 0)
            break;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' ||
                           line[len - 1] == ','))
            len--;
        if (len < 2 || line[0] != '{')
            continue;
        i++;
        json_t *rec = json_loadb(line, (size_t)len, 0, NULL);
        if (!rec)
            continue;
        const char *pid = ps_json_str(rec, "pid");
        const char *instr = ps_json_str(rec, "instrumentId");
        const char *title = ps_json_str(rec, "title");
        const char *date = ps_json_str(rec, "creationDate");
        int pub = ps_json_bool(rec, "isPublic", 0);
        int64_t ms;
        if (pub && pid && push(&s->pids, &s->npids, pid))
            status = -1;
        if (pub && instr && !contains(s->instruments, s->ninstruments, instr) &&
            push(&s->instruments, &s->ninstruments, instr))
            status = -1;
        if (pub && title && add_words(s, title))
            status = -1;
        if (pub && date && ps_time_parse(date, &ms) == PS_OK) {
            if (ms < s->min_ms)
                s->min_ms = ms;
            if (ms > s->max_ms)
                s->max_ms = ms;
        }
        json_decref(rec);
        if (status)
            break;
    }
    free(line);
    fclose(f);
    if (status == 0 && (!s->npids || !s->ninstruments || !s->nwords ||
                        s->min_ms > s->max_ms)) {
        fprintf(stderr,
                "query-bench: no public datasets with instrument, title "
                "and date in the first lines of %s\n",
                path);
        status = -1;
    }
    ps_free(path);
    return status;
}

static void free_list(char **a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ps_free(a[i]);
    ps_free(a);
}

/* ---- building requests -------------------------------------------------- */

typedef struct client {
    CURL *h;
    const opts *o;
    size_t body_bytes;
    ps_buf body; /* the last answer */
} client;

/* prefix + path + optional "?name=<url-encoded JSON>"; ps_free the result. */
static char *make_url(client *c, const char *path, const char *param,
                      json_t *value)
{
    char *enc = NULL, *url;
    if (param && value) {
        char *text = json_dumps(value, JSON_COMPACT);
        json_decref(value);
        if (!text)
            return NULL;
        enc = curl_easy_escape(c->h, text, 0);
        free(text);
        if (!enc)
            return NULL;
        url = ps_asprintf("%s%s%s?%s=%s", c->o->url, c->o->prefix, path, param,
                          enc);
    } else {
        json_decref(value);
        url = ps_asprintf("%s%s%s", c->o->url, c->o->prefix, path);
    }
    curl_free(enc);
    return url;
}

static char *pid_path(client *c, const char *pid)
{
    char *enc = curl_easy_escape(c->h, pid, 0);
    char *path = enc ? ps_asprintf("/Datasets/%s", enc) : NULL;
    curl_free(enc);
    return path;
}

static json_t *two_words(const sample *s)
{
    if (s->npairs)
        return json_string(s->pairs[rnd_below(s->npairs)]);
    return json_string(s->words[rnd_below(s->nwords)]);
}

typedef char *(*make_fn)(client *c, const sample *s);

static char *q_browse(client *c, const sample *s)
{
    (void)s;
    return make_url(c, "/Datasets", "filter",
                    json_pack("{s:i,s:I}", "limit", 20, "skip",
                              (json_int_t)rnd_below(1000)));
}

static char *q_count(client *c, const sample *s)
{
    (void)s;
    return make_url(c, "/Datasets/count", NULL, NULL);
}

static char *q_by_pid(client *c, const sample *s)
{
    char *path = pid_path(c, s->pids[rnd_below(s->npids)]);
    char *url = path ? make_url(c, path, NULL, NULL) : NULL;
    ps_free(path);
    return url;
}

static char *q_by_pid_include(client *c, const sample *s)
{
    char *path = pid_path(c, s->pids[rnd_below(s->npids)]);
    json_t *f = json_pack("{s:[{s:s},{s:s},{s:s},{s:s}]}", "include",
                          "relation", "parameters", "relation", "files",
                          "relation", "techniques", "relation", "instrument");
    if (!path) {
        json_decref(f);
        return NULL;
    }
    char *url = make_url(c, path, "filter", f);
    ps_free(path);
    return url;
}

static char *q_instrument(client *c, const sample *s)
{
    return make_url(c, "/Datasets", "filter",
                    json_pack("{s:{s:s},s:i}", "where", "instrumentId",
                              s->instruments[rnd_below(s->ninstruments)],
                              "limit", 20));
}

static char *q_instrument_count(client *c, const sample *s)
{
    return make_url(c, "/Datasets/count", "where",
                    json_pack("{s:s}", "instrumentId",
                              s->instruments[rnd_below(s->ninstruments)]));
}

static char *q_date_range(client *c, const sample *s)
{
    const int64_t year = 31556952000LL;
    int64_t span = s->max_ms - s->min_ms - year;
    int64_t from =
        s->min_ms + (span > 0 ? (int64_t)(rnd() % (uint64_t)span) : 0);
    char d1[PS_TIME_BUFSZ], d2[PS_TIME_BUFSZ];
    ps_time_format(from, d1);
    ps_time_format(from + year, d2);
    return make_url(c, "/Datasets", "filter",
                    json_pack("{s:{s:{s:[s,s]}},s:i}", "where", "creationDate",
                              "between", d1, d2, "limit", 20));
}

static char *q_query(client *c, const sample *s)
{
    return make_url(c, "/Datasets", "filter",
                    json_pack("{s:o,s:i}", "query", two_words(s), "limit", 20));
}

static char *q_documents(client *c, const sample *s)
{
    (void)s;
    return make_url(
        c, "/Documents", "filter",
        json_pack("{s:{s:s},s:[{s:s,s:{s:[{s:s},{s:s}]}}],s:i,s:I}", "where",
                  "type", "proposal", "include", "relation", "members", "scope",
                  "include", "relation", "person", "relation", "affiliation",
                  "limit", 10, "skip", (json_int_t)rnd_below(1000)));
}

static char *q_text_where(client *c, const sample *s)
{
    return make_url(c, "/Datasets", "filter",
                    json_pack("{s:{s:s},s:i}", "where", "text",
                              s->words[rnd_below(s->nwords)], "limit", 20));
}

/* The "typical portal query": keywords, a technique (deep, by
 * name), one parameter range in a unit, 25 results. */
static const char *const portal_techniques[] = {
    "small angle scattering", "x-ray absorption spectroscopy", "diffraction",
    "inelastic neutron scattering", "imaging"};
static char *q_portal(client *c, const sample *s)
{
    const char *t = portal_techniques[rnd_below(sizeof portal_techniques /
                                                sizeof portal_techniques[0])];
    double lo = 4 + (double)rnd_below(200);
    return make_url(
        c, "/Datasets", "filter",
        json_pack("{s:s,s:[{s:s,s:{s:{s:s}}},{s:s,s:{s:{s:[{s:s},{s:{s:[f,f]}},"
                  "{s:s}]}}}],s:i}",
                  "query", s->words[rnd_below(s->nwords)], "include",
                  "relation", "techniques", "scope", "where", "name", t,
                  "relation", "parameters", "scope", "where", "and", "name",
                  "sample_temperature", "value", "between", lo, lo + 150.0,
                  "unit", "K", "limit", 25));
}

/* A technique scope alone, in pid order. */
static char *q_technique(client *c, const sample *s)
{
    (void)s;
    const char *t = portal_techniques[rnd_below(sizeof portal_techniques /
                                                sizeof portal_techniques[0])];
    return make_url(c, "/Datasets", "filter",
                    json_pack("{s:[{s:s,s:{s:{s:s}}}],s:i}", "include",
                              "relation", "techniques", "scope", "where",
                              "name", t, "limit", 25));
}

static const struct qtype {
    const char *name;
    make_fn make;
    int by_default;
} qtypes[] = {
    {"browse", q_browse, 1},
    {"count", q_count, 1},
    {"by_pid", q_by_pid, 1},
    {"by_pid_include", q_by_pid_include, 1},
    {"instrument", q_instrument, 1},
    {"instrument_count", q_instrument_count, 1},
    {"date_range", q_date_range, 1},
    {"query", q_query, 1},
    {"documents", q_documents, 1},
    {"portal", q_portal, 1},
    {"technique", q_technique, 1},
    {"text_where", q_text_where, 0},
};
#define NQTYPES (sizeof qtypes / sizeof qtypes[0])

/* ---- running
 * ---------------------------------------------------------------------------------
 */

static size_t on_body(char *data, size_t size, size_t nmemb, void *payload)
{
    client *c = payload;
    c->body_bytes += size * nmemb;
    if (ps_buf_append(&c->body, data, size * nmemb) != PS_OK)
        return 0;
    return size * nmemb;
}

/* One request: its time in ms; *ok = HTTP 200. */
static double request(client *c, const char *url, int *ok, long *conns)
{
    long code = 0, nc = 0;
    ps_buf_reset(&c->body);
    curl_easy_setopt(c->h, CURLOPT_URL, url);
    int64_t t0 = ps_mono_ns();
    CURLcode rc = curl_easy_perform(c->h);
    double ms = (double)(ps_mono_ns() - t0) / 1e6;
    curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(c->h, CURLINFO_NUM_CONNECTS, &nc);
    *ok = rc == CURLE_OK && code == 200;
    *conns += nc;
    return ms;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* How many records an answer holds: the length of an array, the value of
 * {"count": N}, 1 for another object (parsed after the clock stopped). */
static double hits_of(const ps_buf *b)
{
    json_t *v = b->len ? json_loadb(b->data, b->len, 0, NULL) : NULL;
    double n = 0;
    if (json_is_array(v))
        n = (double)json_array_size(v);
    else if (json_is_integer(json_object_get(v, "count")))
        n = (double)json_integer_value(json_object_get(v, "count"));
    else if (json_is_object(v))
        n = 1;
    json_decref(v);
    return n;
}

/* Nearest-rank percentile of sorted v[0..n). */
static double pct(const double *v, size_t n, double p)
{
    if (!n)
        return 0.0;
    size_t k = (size_t)ceil(p / 100.0 * (double)n);
    return v[k ? k - 1 : 0];
}

typedef struct result {
    size_t n, failures;
    double mean, p50, p90, p99, max, seconds;
    long conns;
    double bytes;
    double hits;
    int cut; /* stopped by the time budget */
} result;

static int run_type(client *c, const struct qtype *t, const sample *s,
                    result *r)
{
    memset(r, 0, sizeof *r);
    double *lat = ps_calloc((size_t)c->o->n, sizeof *lat);
    if (!lat)
        return -1;
    int ok;
    long conns = 0;
    size_t warm_fail = 0;
    int64_t start = ps_mono_ns();
    int64_t budget = c->o->budget_s * 1000000000LL;
    for (int i = 0; i < WARMUP; i++) {
        char *url = t->make(c, s);
        if (!url)
            goto nomem;
        request(c, url, &ok, &conns);
        warm_fail += !ok;
        ps_free(url);
        if (ps_mono_ns() - start > budget / 4)
            break;
    }
    if (warm_fail == WARMUP)
        fprintf(stderr, "query-bench: %s: every warm-up request failed\n",
                t->name);
    conns = 0;
    c->body_bytes = 0;
    double sum = 0, hits = 0;
    int64_t t0 = ps_mono_ns();
    for (int64_t i = 0; i < c->o->n; i++) {
        char *url = t->make(c, s);
        if (!url)
            goto nomem;
        double ms = request(c, url, &ok, &conns);
        ps_free(url);
        lat[r->n++] = ms;
        sum += ms;
        hits += ok ? hits_of(&c->body) : 0;
        r->failures += !ok;
        if (ps_mono_ns() - start > budget && r->n < (size_t)c->o->n) {
            r->cut = 1;
            break;
        }
    }
    r->seconds = (double)(ps_mono_ns() - t0) / 1e9;
    qsort(lat, r->n, sizeof *lat, cmp_double);
    r->mean = r->n ? sum / (double)r->n : 0.0;
    r->p50 = pct(lat, r->n, 50);
    r->p90 = pct(lat, r->n, 90);
    r->p99 = pct(lat, r->n, 99);
    r->max = r->n ? lat[r->n - 1] : 0.0;
    r->conns = conns;
    r->bytes = r->n ? (double)c->body_bytes / (double)r->n : 0.0;
    r->hits = r->n ? hits / (double)r->n : 0.0;
    ps_free(lat);
    return 0;
nomem:
    ps_free(lat);
    fprintf(stderr, "query-bench: out of memory\n");
    return -1;
}

/* ---- main
 * ---------------------------------------------------------------------------------------
 */

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: query-bench --url http://127.0.0.1:PORT --catalogue DIR [--n "
        "N]\n"
        "                   [--seed S] [--types LIST] [--lines L] "
        "[--timeout-ms T]\n"
        "                   [--budget-s B] [--api-prefix /api]\n\n"
        "Latency of a running `pansift serve` over one keep-alive connection.\n"
        "DIR is the catalogue that was harvested (pansift-gencat's output): "
        "pids,\n"
        "instruments, title words and dates are sampled from its first L "
        "lines\n"
        "(default 5000) of Datasets.json. N timed requests per type (default "
        "200)\n"
        "after %d warm-up ones; T is the time limit of one request (default\n"
        "10000 ms; a timed-out request is a failure); a type stops after B\n"
        "seconds (default 120) even if fewer than N requests were made.\n\n"
        "LIST is comma-separated; default all types but text_where; \"all\" "
        "for\n"
        "every type. Types:",
        WARMUP);
    for (size_t i = 0; i < NQTYPES; i++)
        fprintf(f, " %s", qtypes[i].name);
    fprintf(f, "\n");
}

static int parse_num(const char *s, int64_t min, int64_t *out)
{
    int64_t v;
    if (!s || ps_parse_i64(s, &v) != 0 || v < min)
        return -1;
    *out = v;
    return 0;
}

static int type_wanted(const opts *o, const struct qtype *t)
{
    if (!o->types)
        return t->by_default;
    if (strcmp(o->types, "all") == 0)
        return 1;
    size_t n = strlen(t->name);
    const char *p = o->types;
    for (;;) {
        size_t len = strcspn(p, ",");
        if (len == n && strncmp(p, t->name, n) == 0)
            return 1;
        if (!p[len])
            return 0;
        p += len + 1;
    }
}

static int check_types(const char *list)
{
    if (!list || strcmp(list, "all") == 0)
        return 0;
    const char *p = list;
    for (;;) {
        size_t len = strcspn(p, ",");
        int found = 0;
        for (size_t i = 0; i < NQTYPES; i++)
            found |= strlen(qtypes[i].name) == len &&
                     strncmp(p, qtypes[i].name, len) == 0;
        if (!found) {
            fprintf(stderr,
                    "query-bench: unknown query type \"%.*s\" (see --help)\n",
                    (int)len, p);
            return -1;
        }
        if (!p[len])
            return 0;
        p += len + 1;
    }
}

static int parse_args(int argc, char **argv, opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int64_t n;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else if (!v) {
            fprintf(stderr,
                    "query-bench: %s: missing value or unknown option\n", a);
            return -1;
        } else if (strcmp(a, "--url") == 0) {
            o->url = v;
        } else if (strcmp(a, "--api-prefix") == 0) {
            o->prefix = v;
        } else if (strcmp(a, "--catalogue") == 0) {
            o->catalogue = v;
        } else if (strcmp(a, "--types") == 0) {
            o->types = v;
        } else if (strcmp(a, "--n") == 0 && parse_num(v, 1, &n) == 0) {
            o->n = n;
        } else if (strcmp(a, "--seed") == 0 && parse_num(v, 0, &n) == 0) {
            o->seed = (uint64_t)n;
        } else if (strcmp(a, "--lines") == 0 && parse_num(v, 1, &n) == 0) {
            o->lines = n;
        } else if (strcmp(a, "--timeout-ms") == 0 && parse_num(v, 1, &n) == 0) {
            o->timeout_ms = n;
        } else if (strcmp(a, "--budget-s") == 0 && parse_num(v, 1, &n) == 0) {
            o->budget_s = n;
        } else {
            fprintf(stderr,
                    "query-bench: bad option or value: %s %s (see --help)\n", a,
                    v);
            return -1;
        }
        i++;
    }
    if (!o->url || !o->catalogue) {
        fprintf(
            stderr,
            "query-bench: --url and --catalogue are required (see --help)\n");
        return -1;
    }
    return check_types(o->types);
}

int main(int argc, char **argv)
{
    opts o = {NULL, "/api", NULL, 200, 42, NULL, 5000, 10000, 120};
    if (parse_args(argc, argv, &o) != 0)
        return 2;
    rng_state = o.seed;
    size_t ulen = strlen(o.url);
    char *url =
        ps_strndup(o.url, ulen && o.url[ulen - 1] == '/' ? ulen - 1 : ulen);
    if (!url)
        return 1;
    o.url = url;

    sample s;
    memset(&s, 0, sizeof s);
    if (load_sample(&o, &s) != 0)
        return 1;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
        fprintf(stderr, "query-bench: curl_global_init failed\n");
        return 1;
    }
    client c = {curl_easy_init(), &o, 0, {0}};
    ps_buf_init(&c.body, (size_t)256 << 20);
    if (!c.h) {
        fprintf(stderr, "query-bench: curl_easy_init failed\n");
        return 1;
    }
    curl_easy_setopt(c.h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c.h, CURLOPT_WRITEDATA, &c);
    curl_easy_setopt(c.h, CURLOPT_TIMEOUT_MS, (long)o.timeout_ms);
    curl_easy_setopt(c.h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c.h, CURLOPT_TCP_NODELAY, 1L);

    printf("query-bench: %s%s, %lld requests per type (after %d warm-up), "
           "sampled %zu public pids, %zu instruments, %zu title words, %zu "
           "title word pairs\n",
           o.url, o.prefix, (long long)o.n, WARMUP, s.npids, s.ninstruments,
           s.nwords, s.npairs);
    printf("%-17s %6s %5s %9s %9s %9s %9s %9s %8s %7s %8s\n", "type", "n",
           "fail", "mean_ms", "p50_ms", "p90_ms", "p99_ms", "max_ms", "req/s",
           "bytes", "hits");
    json_t *all = json_object();
    int status = 0;
    size_t total_fail = 0;
    for (size_t i = 0; i < NQTYPES; i++) {
        if (!type_wanted(&o, &qtypes[i]))
            continue;
        result r;
        if (run_type(&c, &qtypes[i], &s, &r) != 0) {
            status = 1;
            break;
        }
        total_fail += r.failures;
        printf("%-17s %6zu %5zu %9.2f %9.2f %9.2f %9.2f %9.2f %8.0f %7.0f "
               "%8.1f%s%s\n",
               qtypes[i].name, r.n, r.failures, r.mean, r.p50, r.p90, r.p99,
               r.max, r.seconds > 0 ? (double)r.n / r.seconds : 0.0, r.bytes,
               r.hits, r.conns > 1 ? "  (connection not kept alive)" : "",
               r.cut ? "  (time budget reached)" : "");
        fflush(stdout);
        json_object_set_new(
            all, qtypes[i].name,
            json_pack("{s:I,s:I,s:f,s:f,s:f,s:f,s:f,s:f,s:I,s:f,s:f,s:b}", "n",
                      (json_int_t)r.n, "failures", (json_int_t)r.failures,
                      "mean_ms", r.mean, "p50_ms", r.p50, "p90_ms", r.p90,
                      "p99_ms", r.p99, "max_ms", r.max, "req_per_s",
                      r.seconds > 0 ? (double)r.n / r.seconds : 0.0,
                      "connections", (json_int_t)r.conns, "mean_bytes", r.bytes,
                      "mean_hits", r.hits, "budget_reached", r.cut));
    }
    json_t *res =
        json_pack("{s:s,s:s,s:I,s:I,s:o}", "bench", "query", "url", o.url, "n",
                  (json_int_t)o.n, "seed", (json_int_t)o.seed, "types", all);
    char *line =
        res ? json_dumps(res, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
    if (line)
        printf("%s\n", line);
    free(line);
    json_decref(res);
    curl_easy_cleanup(c.h);
    ps_buf_free(&c.body);
    curl_global_cleanup();
    free_list(s.pids, s.npids);
    free_list(s.instruments, s.ninstruments);
    free_list(s.words, s.nwords);
    free_list(s.pairs, s.npairs);
    ps_free(url);
    if (status == 0 && total_fail)
        fprintf(stderr, "query-bench: %zu request(s) failed\n", total_fail);
    return status ? status : total_fail ? 3 : 0;
}
