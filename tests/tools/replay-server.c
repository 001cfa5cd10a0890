/*
 * replay-server.c: ps-replay, the loopback HTTP server the tests put in place
 * of real PaN services. It loads responses recorded from real services (one
 * JSON file per request: the request line, the decoded filter, the status,
 * the content type and the body), listens on 127.0.0.1 with a port chosen by
 * the kernel, reports that port through a file written atomically, and
 * answers each request with the recording whose method, model path and filter
 * match, serving a slice of a recorded collection when a harvester pages
 * with limit and skip. Faults can be injected into chosen requests (503,
 * 500, 429, garbage, a truncated body, a stall, a closed connection) to test
 * retries and bad upstreams, and every request can be logged to a file so
 * that tests can check what a client asked for. It runs until SIGTERM or
 * SIGINT and then stops cleanly.
 * For services that are not PaN (OAI-PMH, DataCite, Crossref, Invenio,
 * SciCat, ICAT) a file may instead hold recorded HTTP exchanges, in its own
 * format or in nock's: those match on method, path and the whole query
 * string (order-insensitive), serve their status, headers and body byte for
 * byte, and several exchanges of the same request are served in sequence
 * (a 503 first, then the 200). It is not a general mock server: it only
 * replays what was recorded.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "common.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define REPLAY_MAX_URL ((size_t)64 * 1024)      /* longer: 414 */
#define REPLAY_MAX_FILE ((size_t)256 << 20)     /* one recording file */
#define REPLAY_CONN_MEMORY ((size_t)512 * 1024) /* MHD pool per connection */
#define REPLAY_MAX_STALL_MS 86400000L           /* one day */
#define REPLAY_LOG_URL_MAX 4096                 /* longer URLs are cut */
#define REPLAY_MSG_FILTER_MAX 2048              /* in 404 messages */
#define REPLAY_MAX_POST ((size_t)1 << 20)       /* POST body; more: 413 */
#define REPLAY_MAX_RETRY_AFTER 86400L           /* --retry-after-max */
#define REPLAY_DEFAULT_CT "application/json; charset=utf-8"
#define REPLAY_JSON_CT "application/json"
#define REPLAY_TEXT_CT "text/plain; charset=utf-8"
#define REPLAY_EXIT_USAGE 2
#define REPLAY_EXIT_FAIL 1

/* ---- filters -------------------------------------------------------------
 * A filter is the decoded `filter` (or `where` for /count) query parameter.
 * It is JSON when it parses, else the raw text (LoopBack answers such a
 * request with a 400, and that answer is recorded too). Absent, empty and
 * null are all the empty object. */
typedef enum { FILTER_JSON, FILTER_RAW } filter_kind;

typedef struct filter {
    filter_kind kind;
    json_t *full;     /* JSON: the filter as given */
    json_t *stripped; /* JSON: full without the top-level limit and skip */
    char *raw;        /* RAW: the text that is not JSON */
    int has_paging;   /* full has a top-level limit or skip */
    int paging_ok;    /* both are absent or non-negative integers */
    int64_t skip;     /* 0 when absent */
    int64_t limit;    /* 0 when absent: to the end */
} filter;

/* One recorded exchange, loaded from one file. */
typedef struct recording {
    char *file;    /* base name, for messages and X-PS-Replay-Recording */
    char *request; /* the recorded request line */
    char *path;    /* the percent-decoded path of the request line */
    filter flt;
    unsigned int status;
    char *content_type;
    char *body; /* compact serialisation (jansson's allocator) */
    size_t body_len;
    int is_array;
    size_t n_items; /* array body: compact serialisation of each item */
    char **items;
    size_t *item_len;
} recording;

/* ---- query strings as multisets -----------------------------------------
 * Exchanges match on the whole query: its decoded (name, value) pairs,
 * sorted, so that their order does not matter. A form-encoded request body
 * is compared the same way. */
typedef struct qpair {
    char *name;
    char *value;
} qpair;

typedef struct qset {
    qpair *pairs; /* sorted by name, then value */
    size_t n;
} qset;

typedef struct header {
    char *name;
    char *value;
} header;

/* One recorded HTTP exchange of a service that is not PaN: a file holds one,
 * or an array of them (its own format or nock's). */
typedef struct exchange {
    char *label;   /* file name, with "[i]" for an array's i-th entry */
    char *request; /* "METHOD target" as recorded, for --dump */
    int post;      /* POST; else GET (HEAD is recorded as GET) */
    char *path;    /* percent-decoded */
    qset query;
    int has_form; /* a request_body was recorded: POST bodies must match */
    qset form;
    unsigned int status;
    char *content_type; /* NULL: no Content-Type is sent */
    header *headers;    /* the other recorded headers to send */
    size_t n_headers;
    char *body; /* served byte for byte */
    size_t body_len;
    size_t served; /* requests whose first match this was (seq_lock) */
} exchange;

typedef enum {
    FAULT_503,
    FAULT_500,
    FAULT_429,
    FAULT_GARBAGE,
    FAULT_TRUNCATE,
    FAULT_STALL,
    FAULT_CLOSE,
    FAULT_422,
    FAULT_BADXML,
    FAULT_PARTIAL,
    FAULT_RESET,
    FAULT_NONE
} fault_kind;

static const char *const fault_names[] = {
    "503",   "500", "429",    "garbage", "truncate", "stall",
    "close", "422", "badxml", "partial", "reset",    "none"};

typedef struct fault {
    uint64_t first, last; /* 1-based request numbers, inclusive */
    fault_kind kind;
} fault;

typedef struct server {
    recording *recs;
    size_t n_recs;
    size_t recs_cap;
    exchange *exs;
    size_t n_exs;
    size_t exs_cap;
    pthread_mutex_t seq_lock; /* exchange.served */
    long retry_after_max;     /* cap on Retry-After values; -1 for none */
    const char *prefix;       /* without trailing '/'; "" for none */
    size_t prefix_len;
    fault *faults;
    size_t n_faults;
    long stall_ms;
    int64_t max_page; /* cap on items per sliced page (a provider's own
                         page-size limit); 0 for none */
    FILE *log;
    pthread_mutex_t log_lock;
    atomic_ulong seq; /* requests received so far */
    atomic_int stopping;
    pthread_mutex_t stop_lock;
    pthread_cond_t stop_cond; /* broadcast when stopping is set */
} server;

/* Per request, created by the URI log callback (which sees the request
 * target before MHD unescapes it) and freed by the completion callback. */
typedef struct request_ctx {
    char *uri;         /* raw request target */
    int started;       /* the access handler has been called once */
    unsigned long seq; /* 1-based number of this request */
    ps_buf body;       /* a POST's body, at most REPLAY_MAX_POST */
    int body_too_big;  /* it went past that: 413 */
} request_ctx;

/* What to send back, before faults are applied. */
typedef struct answer {
    unsigned int status;
    const char *content_type; /* NULL: none */
    const char *body;         /* borrowed from a recording, or == owned */
    size_t len;
    char *owned; /* ps_malloc'd body, or NULL */
    const char *allow;
    const char *recording; /* file name of the recording served */
    const exchange *ex;    /* the exchange served, for its headers */
} answer;

/* ---- small helpers ------------------------------------------------------ */

static void die_usage(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static void die_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("ps-replay: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(REPLAY_EXIT_USAGE);
}

/* A non-negative integer for skip/limit: integer, integral real or a string
 * of digits (LoopBack accepts all three). Absent is 0. */
static int parse_index(const json_t *v, int64_t *out)
{
    *out = 0;
    if (!v)
        return 0;
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < 0)
            return -1;
        *out = (int64_t)i;
        return 0;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!(d >= 0.0) || d > 9.0e15 || (double)(int64_t)d != d)
            return -1;
        *out = (int64_t)d;
        return 0;
    }
    if (json_is_string(v)) {
        int64_t i;
        if (ps_parse_i64(json_string_value(v), &i) != 0 || i < 0)
            return -1;
        *out = i;
        return 0;
    }
    return -1;
}

static void filter_free(filter *f)
{
    json_decref(f->full);
    json_decref(f->stripped);
    ps_free(f->raw);
    memset(f, 0, sizeof *f);
}

/* Take v (a new reference, NULL for out of memory) as the filter. */
static ps_status filter_set_json(filter *f, json_t *v)
{
    memset(f, 0, sizeof *f);
    f->kind = FILTER_JSON;
    if (!v)
        return PS_ERR_NOMEM;
    if (json_is_null(v)) {
        json_decref(v);
        v = json_object();
        if (!v)
            return PS_ERR_NOMEM;
    }
    f->full = v;
    f->paging_ok = 1;
    if (!json_is_object(v)) {
        f->stripped = json_incref(v);
        return PS_OK;
    }
    json_t *limit = json_object_get(v, "limit");
    json_t *skip = json_object_get(v, "skip");
    f->has_paging = limit || skip;
    f->paging_ok =
        parse_index(skip, &f->skip) == 0 && parse_index(limit, &f->limit) == 0;
    if (!f->has_paging) {
        f->stripped = json_incref(v);
        return PS_OK;
    }
    f->stripped = json_copy(v);
    if (!f->stripped)
        return PS_ERR_NOMEM;
    json_object_del(f->stripped, "limit");
    json_object_del(f->stripped, "skip");
    return PS_OK;
}

/* Classify decoded query text: JSON if it parses, else raw text. NULL or
 * empty text is the empty filter. */
static ps_status filter_from_text(filter *f, const char *text, size_t len)
{
    if (!text || len == 0)
        return filter_set_json(f, json_object());
    json_error_t je;
    json_t *v = json_loadb(text, len, JSON_DECODE_ANY, &je);
    if (v)
        return filter_set_json(f, v);
    memset(f, 0, sizeof *f);
    f->kind = FILTER_RAW;
    f->raw = ps_strndup(text, len);
    return f->raw ? PS_OK : PS_ERR_NOMEM;
}

static int filter_equal_full(const filter *a, const filter *b)
{
    if (a->kind != b->kind)
        return 0;
    if (a->kind == FILTER_RAW)
        return strcmp(a->raw, b->raw) == 0;
    return json_equal(a->full, b->full);
}

static int filter_equal_stripped(const filter *a, const filter *b)
{
    return a->kind == FILTER_JSON && b->kind == FILTER_JSON &&
           json_equal(a->stripped, b->stripped);
}

/* ---- paths -------------------------------------------------------------- */

/* Length of the model segment of a path "/Model/rest" (without the '/'). */
static size_t model_len(const char *path)
{
    const char *slash = strchr(path + 1, '/');
    return slash ? (size_t)(slash - path - 1) : strlen(path + 1);
}

/* Both paths are decoded and start with '/'. The model segment compares
 * case-insensitively (LoopBack's routing does), the rest exactly. */
static int path_match(const char *req, const char *rec)
{
    size_t a = model_len(req), b = model_len(rec);
    if (a != b || strncasecmp(req + 1, rec + 1, a) != 0)
        return 0;
    return strcmp(req + 1 + a, rec + 1 + b) == 0;
}

/* "/Model/count": its filter comes in `where`. */
static int is_count_path(const char *path)
{
    size_t m = model_len(path);
    return m > 0 && strcmp(path + 1 + m, "/count") == 0;
}

/* Split a request target into its path (percent-decoded, new string) and
 * its query (borrowed, NULL if none). An absolute-form target
 * ("http://host/x") is reduced to its path. NULL on a bad escape or NOMEM. */
static char *target_path(const char *target, const char **query)
{
    const char *p = target;
    if (ps_str_startswith(p, "http://") || ps_str_startswith(p, "https://")) {
        p = strstr(p, "://") + 3;
        p += strcspn(p, "/?#");
    }
    size_t n = strcspn(p, "?#");
    *query = p[n] == '?' ? p + n + 1 : NULL;
    if (n == 0)
        return ps_strdup("/");
    return ps_pct_decode(p, n);
}

/* Decode one form-encoded name or value: '+' is a space, then %XX. NULL on
 * a bad escape, a NUL byte or NOMEM. */
static char *form_decode(const char *s, size_t len)
{
    if (memchr(s, '\0', len))
        return NULL;
    char *plus = ps_strndup(s, len);
    if (!plus)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        if (plus[i] == '+')
            plus[i] = ' ';
    }
    char *out = ps_pct_decode(plus, len);
    ps_free(plus);
    return out;
}

/* Find the first parameter `name` of a raw query string and decode its
 * value ('+' is a space, then %XX). 1: found (*out is new), 0: absent,
 * -1: bad escape or NOMEM. */
static int query_param(const char *query, const char *name, char **out)
{
    size_t name_len = strlen(name);
    *out = NULL;
    if (!query)
        return 0;
    const char *p = query;
    while (*p) {
        size_t n = strcspn(p, "&#");
        const char *eq = memchr(p, '=', n);
        size_t key_len = eq ? (size_t)(eq - p) : n;
        if (key_len == name_len && memcmp(p, name, name_len) == 0) {
            const char *v = eq ? eq + 1 : p + n;
            *out = form_decode(v, (size_t)(p + n - v));
            return *out ? 1 : -1;
        }
        if (p[n] != '&')
            break;
        p += n + 1;
    }
    return 0;
}

static void qset_free(qset *q)
{
    for (size_t i = 0; i < q->n; i++) {
        ps_free(q->pairs[i].name);
        ps_free(q->pairs[i].value);
    }
    ps_free(q->pairs);
    q->pairs = NULL;
    q->n = 0;
}

static int cmp_qpair(const void *a, const void *b)
{
    const qpair *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

/* Parse s[0..len), form-encoded ("a=1&b=2", up to a '#'), into a sorted
 * multiset of decoded pairs. Empty parts are skipped and a part without
 * '=' has the empty value. PS_ERR_PARSE on a bad escape. */
static ps_status qset_parse(qset *q, const char *s, size_t len)
{
    memset(q, 0, sizeof *q);
    if (!s)
        return PS_OK;
    const char *hash = memchr(s, '#', len);
    if (hash)
        len = (size_t)(hash - s);
    size_t cap = 1;
    for (size_t i = 0; i < len; i++)
        cap += s[i] == '&';
    q->pairs = ps_calloc(cap, sizeof *q->pairs);
    if (!q->pairs)
        return PS_ERR_NOMEM;
    const char *p = s, *end = s + len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        size_t n = amp ? (size_t)(amp - p) : (size_t)(end - p);
        if (n > 0) {
            const char *eq = memchr(p, '=', n);
            size_t key_len = eq ? (size_t)(eq - p) : n;
            const char *v = eq ? eq + 1 : p + n;
            qpair *qp = &q->pairs[q->n];
            qp->name = form_decode(p, key_len);
            qp->value = form_decode(v, (size_t)(p + n - v));
            if (!qp->name || !qp->value) {
                q->n++; /* freed by qset_free */
                qset_free(q);
                return PS_ERR_PARSE;
            }
            q->n++;
        }
        if (!amp)
            break;
        p = amp + 1;
    }
    if (q->n > 1)
        qsort(q->pairs, q->n, sizeof *q->pairs, cmp_qpair);
    return PS_OK;
}

static int qset_equal(const qset *a, const qset *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++) {
        if (cmp_qpair(&a->pairs[i], &b->pairs[i]) != 0)
            return 0;
    }
    return 1;
}

/* ---- loading recordings ------------------------------------------------- */

static void recording_free(recording *r)
{
    ps_free(r->file);
    ps_free(r->request);
    ps_free(r->path);
    filter_free(&r->flt);
    ps_free(r->content_type);
    free(r->body); /* jansson's json_dumps */
    for (size_t i = 0; i < r->n_items; i++)
        free(r->items[i]);
    ps_free(r->items);
    ps_free(r->item_len);
    memset(r, 0, sizeof *r);
}

static ps_status read_file(const char *path, ps_buf *buf, ps_err *err)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return ps_err_set(err, PS_ERR_IO, "cannot open: %s", strerror(errno));
    char chunk[16384];
    ps_status st = PS_OK;
    for (;;) {
        size_t n = fread(chunk, 1, sizeof chunk, fp);
        if (n > 0) {
            st = ps_buf_append(buf, chunk, n);
            if (st != PS_OK) {
                ps_err_set(err, st, "cannot read: %s", ps_status_str(st));
                break;
            }
        }
        if (n < sizeof chunk) {
            if (ferror(fp))
                st = ps_err_set(err, PS_ERR_IO, "read error");
            break;
        }
    }
    fclose(fp);
    return st;
}

/* Fill r from the parsed file `root`. */
static ps_status recording_from_json(recording *r, json_t *root, ps_err *err)
{
    if (!json_is_object(root))
        return ps_err_set(err, PS_ERR_PARSE, "not a JSON object");

    /* request line: "GET /Model[/...][?query]" */
    const char *line = ps_json_str(root, "request");
    if (!line)
        return ps_err_set(err, PS_ERR_PARSE, "no \"request\" string");
    r->request = ps_strdup(line);
    if (!r->request)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    const char *sp = strchr(line, ' ');
    if (!sp || sp == line)
        return ps_err_set(err, PS_ERR_PARSE,
                          "request \"%.80s\" is not \"METHOD /path\"", line);
    if ((size_t)(sp - line) != 3 || memcmp(line, "GET", 3) != 0)
        return ps_err_set(err, PS_ERR_PARSE,
                          "request \"%.80s\": only GET is supported", line);
    const char *target = sp + 1;
    if (target[0] != '/' || strchr(target, ' '))
        return ps_err_set(err, PS_ERR_PARSE,
                          "request \"%.80s\": bad request target", line);
    const char *query = NULL;
    r->path = target_path(target, &query);
    if (!r->path)
        return ps_err_set(err, PS_ERR_PARSE,
                          "request \"%.80s\": bad percent escape in the path",
                          line);
    if (model_len(r->path) == 0)
        return ps_err_set(err, PS_ERR_PARSE,
                          "request \"%.80s\": no model in the path", line);

    /* status and content type */
    json_t *status = json_object_get(root, "status");
    if (!json_is_integer(status) || json_integer_value(status) < 100 ||
        json_integer_value(status) > 599)
        return ps_err_set(err, PS_ERR_PARSE,
                          "\"status\" is not an HTTP status code");
    r->status = (unsigned int)json_integer_value(status);
    json_t *ct = json_object_get(root, "content_type");
    if (ct && !json_is_null(ct) && !json_is_string(ct))
        return ps_err_set(err, PS_ERR_PARSE,
                          "\"content_type\" is not a string");
    r->content_type = ps_strdup(json_is_string(ct) && json_string_length(ct) > 0
                                    ? json_string_value(ct)
                                    : REPLAY_DEFAULT_CT);
    if (!r->content_type || strpbrk(r->content_type, "\r\n"))
        return ps_err_set(err, PS_ERR_PARSE, "bad \"content_type\"");

    /* filter: the decoded filter, null/absent for none, a string for text
     * that is not JSON */
    json_t *fv = json_object_get(root, "filter");
    ps_status st;
    if (json_is_string(fv))
        st = filter_from_text(&r->flt, json_string_value(fv),
                              json_string_length(fv));
    else
        st = filter_set_json(&r->flt, fv ? json_incref(fv) : json_null());
    if (st != PS_OK)
        return ps_err_set(err, st, "out of memory");

    /* the filter must be the one in the request line */
    char *qv = NULL;
    int found =
        query_param(query, is_count_path(r->path) ? "where" : "filter", &qv);
    if (found == 0 && is_count_path(r->path))
        found = query_param(query, "filter", &qv);
    if (found < 0)
        return ps_err_set(err, PS_ERR_PARSE,
                          "request \"%.80s\": bad percent escape in the query",
                          line);
    filter from_line;
    st = filter_from_text(&from_line, qv, qv ? strlen(qv) : 0);
    ps_free(qv);
    int same = st == PS_OK && filter_equal_full(&from_line, &r->flt);
    filter_free(&from_line);
    if (st != PS_OK)
        return ps_err_set(err, st, "out of memory");
    if (!same)
        return ps_err_set(err, PS_ERR_PARSE,
                          "\"filter\" differs from the filter in the request "
                          "line");

    /* body */
    json_t *body = json_object_get(root, "body");
    if (!body)
        return ps_err_set(err, PS_ERR_PARSE, "no \"body\"");
    const size_t flags = JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER;
    r->body = json_dumps(body, flags);
    if (!r->body)
        return ps_err_set(err, PS_ERR_NOMEM, "cannot serialise the body");
    r->body_len = strlen(r->body);
    if (json_is_array(body)) {
        r->is_array = 1;
        size_t n = json_array_size(body);
        r->items = ps_calloc(n, sizeof *r->items);
        r->item_len = ps_calloc(n, sizeof *r->item_len);
        if (!r->items || !r->item_len)
            return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
            r->items[i] = json_dumps(json_array_get(body, i), flags);
            if (!r->items[i])
                return ps_err_set(err, PS_ERR_NOMEM,
                                  "cannot serialise the body");
            r->item_len[i] = strlen(r->items[i]);
            r->n_items = i + 1;
        }
    }
    return PS_OK;
}

/* ---- loading exchanges --------------------------------------------------
 * Own format: {"method", "path", "status", "headers", "body" (or
 * "body_file": a file served byte for byte), "request_body"}, headers an object
 * or an array of [name, value] pairs. nock's: {"scope", "method", "path",
 * "body" (the request's), "status", "response", "rawHeaders": [name, value,
 * ...]} (or "headers", an object). */

/* x's body: the bytes of the file at path (at most 64 MiB). */
static ps_status read_body_file(exchange *x, const char *path, ps_err *err)
{
    ps_buf b;
    ps_buf_init(&b, (size_t)64 << 20);
    ps_status st = ps_buf_read_file(&b, path, err);
    if (st != PS_OK) {
        ps_buf_free(&b);
        return st;
    }
    x->body_len = b.len;
    x->body = ps_buf_detach(&b);
    return x->body ? PS_OK : ps_err_set(err, PS_ERR_NOMEM, "out of memory");
}

static void exchange_free(exchange *x)
{
    ps_free(x->label);
    ps_free(x->request);
    ps_free(x->path);
    qset_free(&x->query);
    qset_free(&x->form);
    ps_free(x->content_type);
    for (size_t i = 0; i < x->n_headers; i++) {
        ps_free(x->headers[i].name);
        ps_free(x->headers[i].value);
    }
    ps_free(x->headers);
    ps_free(x->body);
    memset(x, 0, sizeof *x);
}

/* Headers that describe the recorded connection or transfer, not the
 * answer: MHD sets its own, and the body is stored decoded. */
static int is_transfer_header(const char *name)
{
    static const char *const skip[] = {"Content-Length",   "Transfer-Encoding",
                                       "Connection",       "Keep-Alive",
                                       "Content-Encoding", "Date",
                                       "Upgrade",          "Trailer"};
    for (size_t i = 0; i < sizeof skip / sizeof *skip; i++) {
        if (strcasecmp(name, skip[i]) == 0)
            return 1;
    }
    return 0;
}

static ps_status exchange_add_header(exchange *x, const json_t *name,
                                     const json_t *value, ps_err *err)
{
    if (!json_is_string(name) || !json_is_string(value))
        return ps_err_set(err, PS_ERR_PARSE,
                          "a header name or value is not a string");
    const char *n = json_string_value(name), *v = json_string_value(value);
    if (n[0] == '\0' || strpbrk(n, ": \t\r\n") ||
        strlen(n) != json_string_length(name) || strpbrk(v, "\r\n") ||
        strlen(v) != json_string_length(value))
        return ps_err_set(err, PS_ERR_PARSE, "bad header \"%.80s\"", n);
    if (is_transfer_header(n))
        return PS_OK;
    if (strcasecmp(n, MHD_HTTP_HEADER_CONTENT_TYPE) == 0) {
        if (x->content_type)
            return PS_OK; /* the first one counts */
        x->content_type = ps_strdup(v);
        return x->content_type ? PS_OK
                               : ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    header *grown =
        ps_realloc(x->headers, (x->n_headers + 1) * sizeof *x->headers);
    if (!grown)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    x->headers = grown;
    header *h = &x->headers[x->n_headers];
    h->name = ps_strdup(n);
    h->value = ps_strdup(v);
    if (!h->name || !h->value) {
        ps_free(h->name);
        ps_free(h->value);
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    x->n_headers++;
    return PS_OK;
}

/* headers: an object, an array of [name, value] pairs, or (flat) nock's
 * rawHeaders [name, value, name, value, ...]. */
static ps_status exchange_headers(exchange *x, const json_t *h, int flat,
                                  ps_err *err)
{
    ps_status st = PS_OK;
    if (!h || json_is_null(h))
        return PS_OK;
    if (json_is_object(h)) {
        const char *k;
        json_t *v;
        json_object_foreach ((json_t *)h, k, v) {
            json_t *name = json_string(k);
            st = name ? exchange_add_header(x, name, v, err)
                      : ps_err_set(err, PS_ERR_NOMEM, "out of memory");
            json_decref(name);
            if (st != PS_OK)
                return st;
        }
        return PS_OK;
    }
    if (!json_is_array(h))
        return ps_err_set(err, PS_ERR_PARSE,
                          "headers are not an object or "
                          "an array");
    size_t n = json_array_size(h);
    if (flat) {
        if (n % 2)
            return ps_err_set(err, PS_ERR_PARSE,
                              "\"rawHeaders\" has an odd length");
        for (size_t i = 0; st == PS_OK && i < n; i += 2)
            st = exchange_add_header(x, json_array_get(h, i),
                                     json_array_get(h, i + 1), err);
        return st;
    }
    for (size_t i = 0; st == PS_OK && i < n; i++) {
        const json_t *pair = json_array_get(h, i);
        if (!json_is_array(pair) || json_array_size(pair) != 2)
            return ps_err_set(err, PS_ERR_PARSE,
                              "header %zu is not a [name, value] pair", i);
        st = exchange_add_header(x, json_array_get(pair, 0),
                                 json_array_get(pair, 1), err);
    }
    return st;
}

/* Fill x from one exchange object v, own format or nock's. */
static ps_status exchange_from_json(exchange *x, const json_t *v, ps_err *err)
{
    if (!json_is_object(v))
        return ps_err_set(err, PS_ERR_PARSE, "an exchange is not an object");
    int nock = json_object_get(v, "response") ||
               json_object_get(v, "rawHeaders") || json_object_get(v, "scope");
    const char *method = ps_json_str(v, "method");
    const char *target = ps_json_str(v, "path");
    if (!method || !target)
        return ps_err_set(err, PS_ERR_PARSE,
                          "no \"method\" and \"path\" strings");
    if (strcasecmp(method, "POST") == 0)
        x->post = 1;
    else if (strcasecmp(method, "GET") != 0 && strcasecmp(method, "HEAD") != 0)
        return ps_err_set(err, PS_ERR_PARSE,
                          "method \"%.20s\": only GET, HEAD and POST", method);
    if (target[0] != '/' || strpbrk(target, " \t\r\n"))
        return ps_err_set(err, PS_ERR_PARSE, "bad path \"%.80s\"", target);
    x->request = ps_asprintf("%s %s", x->post ? "POST" : "GET", target);
    if (!x->request)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    const char *query = NULL;
    x->path = target_path(target, &query);
    if (!x->path)
        return ps_err_set(err, PS_ERR_PARSE,
                          "path \"%.80s\": bad percent escape", target);
    ps_status st = qset_parse(&x->query, query, query ? strlen(query) : 0);
    if (st != PS_OK)
        return ps_err_set(err, st, "path \"%.80s\": bad query", target);

    json_t *status = json_object_get(v, "status");
    x->status = 200;
    if (status) {
        if (!json_is_integer(status) || json_integer_value(status) < 100 ||
            json_integer_value(status) > 599)
            return ps_err_set(err, PS_ERR_PARSE,
                              "\"status\" is not an HTTP status code");
        x->status = (unsigned int)json_integer_value(status);
    }
    if (nock) {
        st = exchange_headers(x, json_object_get(v, "rawHeaders"), 1, err);
        if (st == PS_OK)
            st = exchange_headers(x, json_object_get(v, "headers"), 0, err);
    } else {
        st = exchange_headers(x, json_object_get(v, "headers"), 0, err);
    }
    if (st != PS_OK)
        return st;

    /* nock's "body" is the request's, and only a POST's counts */
    json_t *rb = json_object_get(v, nock ? "body" : "request_body");
    if (rb && !nock && !json_is_string(rb))
        return ps_err_set(err, PS_ERR_PARSE,
                          "\"request_body\" is not a string");
    if (json_is_string(rb) && (x->post || !nock)) {
        x->has_form = 1;
        st =
            qset_parse(&x->form, json_string_value(rb), json_string_length(rb));
        if (st != PS_OK)
            return ps_err_set(err, st, "request body: bad form encoding");
    }

    json_t *body = json_object_get(v, nock ? "response" : "body");
    json_t *body_file = nock ? NULL : json_object_get(v, "body_file");
    if (body_file) {
        /* A binary body (a PDF) from a file, byte for byte. */
        if (!json_is_string(body_file))
            return ps_err_set(err, PS_ERR_PARSE,
                              "\"body_file\" is not a string");
        return read_body_file(x, json_string_value(body_file), err);
    }
    if (json_is_string(body)) {
        x->body_len = json_string_length(body);
        x->body = ps_malloc(x->body_len + 1);
        if (!x->body)
            return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        memcpy(x->body, json_string_value(body), x->body_len + 1);
    } else if (body) {
        char *text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY |
                                          JSON_PRESERVE_ORDER);
        x->body = text ? ps_strdup(text) : NULL;
        free(text);
        if (!x->body)
            return ps_err_set(err, PS_ERR_NOMEM, "cannot serialise the body");
        x->body_len = strlen(x->body);
        if (!x->content_type) {
            x->content_type = ps_strdup(REPLAY_JSON_CT);
            if (!x->content_type)
                return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        }
    } else {
        x->body = ps_strdup("");
        if (!x->body)
            return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    return PS_OK;
}

/* ---- loading files ------------------------------------------------------ */

/* Room for one more in a growable array of `size`-byte elements. */
static ps_status grow_array(void **items, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return PS_OK;
    size_t ncap = *cap ? *cap * 2 : 32;
    void *grown = ps_realloc(*items, ncap * size);
    if (!grown)
        return PS_ERR_NOMEM;
    memset((char *)grown + *cap * size, 0, (ncap - *cap) * size);
    *items = grown;
    *cap = ncap;
    return PS_OK;
}

static ps_status add_exchange(server *srv, const char *name, size_t index,
                              int in_array, const json_t *v, ps_err *err)
{
    if (grow_array((void **)&srv->exs, srv->n_exs, &srv->exs_cap,
                   sizeof *srv->exs) != PS_OK)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    exchange *x = &srv->exs[srv->n_exs++];
    x->label = in_array ? ps_asprintf("%s[%zu]", name, index) : ps_strdup(name);
    if (!x->label)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    ps_status st = exchange_from_json(x, v, err);
    if (st != PS_OK && in_array) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        ps_err_set(err, st, "exchange %zu: %s", index, msg);
    }
    return st;
}

/* Load one file: a PaN recording (an object with "request"), one exchange
 * (an object with "method"), or an array of exchanges. */
static ps_status load_file(server *srv, const char *dir, const char *name,
                           ps_err *err)
{
    char *path = ps_asprintf("%s/%s", dir, name);
    if (!path)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    ps_buf buf;
    ps_buf_init(&buf, REPLAY_MAX_FILE);
    ps_status st = read_file(path, &buf, err);
    ps_free(path);
    if (st != PS_OK) {
        ps_buf_free(&buf);
        return st;
    }
    json_error_t je;
    json_t *root = json_loadb(buf.data ? buf.data : "", buf.len,
                              JSON_REJECT_DUPLICATES, &je);
    ps_buf_free(&buf);
    if (!root)
        return ps_err_set(err, PS_ERR_PARSE, "%s (line %d, column %d)", je.text,
                          je.line, je.column);
    if (json_is_array(root)) {
        for (size_t i = 0; st == PS_OK && i < json_array_size(root); i++)
            st = add_exchange(srv, name, i, 1, json_array_get(root, i), err);
    } else if (json_is_object(root) && !json_object_get(root, "request") &&
               json_object_get(root, "method")) {
        st = add_exchange(srv, name, 0, 0, root, err);
    } else if (grow_array((void **)&srv->recs, srv->n_recs, &srv->recs_cap,
                          sizeof *srv->recs) != PS_OK) {
        st = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    } else {
        recording *r = &srv->recs[srv->n_recs++];
        r->file = ps_strdup(name);
        st = r->file ? recording_from_json(r, root, err)
                     : ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    json_decref(root);
    return st;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ps_free(names[i]);
    ps_free(names);
}

/* The regular, non-hidden *.json files of dir, sorted by name. */
static ps_status list_recordings(const char *dir, char ***out, size_t *n_out,
                                 ps_err *err)
{
    *out = NULL;
    *n_out = 0;
    DIR *d = opendir(dir);
    if (!d)
        return ps_err_set(err, PS_ERR_IO, "%s: %s", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    ps_status st = PS_OK;
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            if (errno)
                st = ps_err_set(err, PS_ERR_IO, "%s: %s", dir, strerror(errno));
            break;
        }
        if (de->d_name[0] == '.' || !ps_str_endswith(de->d_name, ".json"))
            continue;
        char *full = ps_asprintf("%s/%s", dir, de->d_name);
        struct stat sb;
        int regular = full && stat(full, &sb) == 0 && S_ISREG(sb.st_mode);
        ps_free(full);
        if (!regular)
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 32;
            char **grown = ps_realloc(names, ncap * sizeof *names);
            if (!grown) {
                st = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
                break;
            }
            names = grown;
            cap = ncap;
        }
        names[n] = ps_strdup(de->d_name);
        if (!names[n]) {
            st = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
            break;
        }
        n++;
    }
    closedir(d);
    if (st != PS_OK) {
        free_names(names, n);
        return st;
    }
    if (n > 1)
        qsort(names, n, sizeof *names, cmp_names);
    *out = names;
    *n_out = n;
    return PS_OK;
}

static void free_loaded(server *srv)
{
    for (size_t i = 0; i < srv->n_recs; i++)
        recording_free(&srv->recs[i]);
    ps_free(srv->recs);
    for (size_t i = 0; i < srv->n_exs; i++)
        exchange_free(&srv->exs[i]);
    ps_free(srv->exs);
    srv->recs = NULL;
    srv->exs = NULL;
    srv->n_recs = srv->n_exs = 0;
}

/* Load every file of dir; exits with status 2 and one line on error. */
static void load_dir(server *srv, const char *dir)
{
    ps_err err = PS_ERR_INIT;
    char **names;
    size_t n;
    if (list_recordings(dir, &names, &n, &err) != PS_OK) {
        fprintf(stderr, "ps-replay: %s\n", err.msg);
        free_loaded(srv);
        exit(REPLAY_EXIT_USAGE);
    }
    if (n == 0) {
        fprintf(stderr, "ps-replay: %s: no *.json recordings\n", dir);
        free_loaded(srv);
        exit(REPLAY_EXIT_USAGE);
    }
    for (size_t i = 0; i < n; i++) {
        if (load_file(srv, dir, names[i], &err) != PS_OK) {
            fprintf(stderr, "ps-replay: %s/%s: %s\n", dir, names[i], err.msg);
            free_loaded(srv);
            free_names(names, n);
            exit(REPLAY_EXIT_USAGE);
        }
    }
    free_names(names, n);
}

/* A PaN recording that another one shadows can never be served (exchanges
 * of the same request are a sequence, on purpose). */
static void warn_shadowed(const server *srv)
{
    const recording *recs = srv->recs;
    for (size_t i = 0; i < srv->n_recs; i++) {
        for (size_t j = 0; j < i; j++) {
            if (path_match(recs[i].path, recs[j].path) &&
                filter_equal_full(&recs[i].flt, &recs[j].flt)) {
                fprintf(stderr,
                        "ps-replay: warning: %s records the same request as "
                        "%s and is never served\n",
                        recs[i].file, recs[j].file);
                break;
            }
        }
    }
}

/* ---- matching ------------------------------------------------------------
 * 1. a recording with an equal filter (limit and skip included) is served
 *    as recorded;
 * 2. else a recording of the whole collection (no limit or skip in its
 *    filter) whose filter equals the request's once limit and skip are
 *    removed: its array body is sliced to [skip, skip+limit);
 * 3. else a recorded page of a collection (2xx, array body, limit/skip in
 *    its filter) that covers the requested range: sliced likewise. A page
 *    shorter than its limit (or without a limit) also covers everything
 *    after its end, which is empty.
 * Ties go to the first file in name order. */
typedef struct match {
    const recording *rec;
    int slice;
    size_t from, to;  /* item range when slice */
    size_t same_path; /* recordings for the path, for the 404 message */
} match;

static int find_match(const server *srv, const char *path, const filter *f,
                      match *m)
{
    memset(m, 0, sizeof *m);
    for (size_t i = 0; i < srv->n_recs; i++) {
        const recording *r = &srv->recs[i];
        if (!path_match(path, r->path))
            continue;
        m->same_path++;
        if (!m->rec && filter_equal_full(f, &r->flt))
            m->rec = r;
    }
    if (m->rec)
        return 1;
    if (f->kind != FILTER_JSON)
        return 0;
    /* the requested range [a, b), b = INT64_MAX for "to the end" */
    int64_t a = f->skip, b = INT64_MAX;
    if (f->limit > 0)
        b = f->limit > INT64_MAX - a ? INT64_MAX : a + f->limit;
    for (int tier = 2; tier <= 3; tier++) {
        for (size_t i = 0; i < srv->n_recs; i++) {
            const recording *r = &srv->recs[i];
            if (!path_match(path, r->path) ||
                !filter_equal_stripped(f, &r->flt))
                continue;
            if (tier == 2) {
                if (r->flt.has_paging)
                    continue;
                m->rec = r;
                if (!r->is_array || !f->has_paging)
                    return 1;
                if (!f->paging_ok) {
                    m->rec = NULL;
                    continue;
                }
                m->slice = 1;
                m->from = (uint64_t)a < r->n_items ? (size_t)a : r->n_items;
                m->to = (uint64_t)b < r->n_items ? (size_t)b : r->n_items;
                if (srv->max_page > 0 &&
                    m->to - m->from > (size_t)srv->max_page)
                    m->to = m->from + (size_t)srv->max_page;
                return 1;
            }
            if (!r->flt.has_paging || !r->flt.paging_ok || !r->is_array ||
                r->status < 200 || r->status > 299 || !f->paging_ok)
                continue;
            int64_t s0 = r->flt.skip, l0 = r->flt.limit;
            int64_t n = (int64_t)r->n_items;
            int64_t end = s0 > INT64_MAX - n ? INT64_MAX : s0 + n;
            int end_known = l0 == 0 || n < l0;
            if (a < s0 || (!end_known && b > end))
                continue;
            m->rec = r;
            m->slice = 1;
            m->from = (size_t)((a < end ? a : end) - s0);
            m->to = (size_t)((b < end ? b : end) - s0);
            if (m->to < m->from)
                m->to = m->from;
            return 1;
        }
    }
    return 0;
}

/* Exchanges: the method (HEAD is GET), the decoded path and the query as a
 * multiset must be equal, and for a POST with a recorded request_body the
 * form-encoded body too (form NULL: the body is not form-encoded). The
 * matches, in load order, are a sequence: the k-th request whose first
 * match is x gets the k-th match, and the last one once all were served.
 * A request that is answered by a fault that replaces the answer does not
 * advance the sequence (consume 0). */
typedef struct ex_match {
    exchange *ex;
    size_t same_path;      /* exchanges of this path, any method */
    size_t same_path_post; /* of those, POSTs */
} ex_match;

static int exchange_matches(const exchange *x, int post, const char *path,
                            const qset *q, const qset *form)
{
    if (x->post != post || strcmp(x->path, path) != 0 ||
        !qset_equal(&x->query, q))
        return 0;
    return !post || !x->has_form || (form && qset_equal(&x->form, form));
}

static int find_exchange(server *srv, int post, const char *path, const qset *q,
                         const qset *form, int consume, ex_match *m)
{
    memset(m, 0, sizeof *m);
    exchange *first = NULL;
    size_t n = 0;
    for (size_t i = 0; i < srv->n_exs; i++) {
        exchange *x = &srv->exs[i];
        if (strcmp(x->path, path) == 0) {
            m->same_path++;
            m->same_path_post += x->post;
        }
        if (!exchange_matches(x, post, path, q, form))
            continue;
        if (!first)
            first = x;
        n++;
    }
    if (!first)
        return 0;
    pthread_mutex_lock(&srv->seq_lock);
    size_t k = first->served;
    if (consume && first->served < n)
        first->served++;
    pthread_mutex_unlock(&srv->seq_lock);
    if (k >= n)
        k = n - 1;
    for (size_t i = (size_t)(first - srv->exs); i < srv->n_exs; i++) {
        exchange *x = &srv->exs[i];
        if (!exchange_matches(x, post, path, q, form))
            continue;
        if (k == 0) {
            m->ex = x;
            break;
        }
        k--;
    }
    return 1;
}

/* ---- answers ------------------------------------------------------------ */

static void answer_free(answer *a)
{
    ps_free(a->owned);
    a->owned = NULL;
}

static void answer_owned(answer *a, char *body, size_t len)
{
    answer_free(a);
    a->owned = body;
    a->body = body;
    a->len = len;
}

/* A LoopBack-style JSON error. */
static void answer_error(answer *a, unsigned int status, const char *msg)
{
    static const char fallback[] =
        "{\"error\":{\"statusCode\":500,\"name\":\"Error\","
        "\"message\":\"out of memory\"}}";
    a->status = status;
    a->content_type = REPLAY_DEFAULT_CT;
    a->recording = NULL;
    json_t *j = json_pack("{s:{s:i,s:s,s:s}}", "error", "statusCode",
                          (int)status, "name", "Error", "message", msg);
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    char *copy = text ? ps_strdup(text) : NULL;
    free(text);
    if (!copy) {
        answer_free(a);
        a->status = 500;
        a->body = fallback;
        a->len = sizeof fallback - 1;
        return;
    }
    answer_owned(a, copy, strlen(copy));
}

static ps_status slice_body(const recording *r, size_t from, size_t to,
                            answer *a)
{
    ps_buf b;
    ps_buf_init(&b, 0);
    ps_status st = ps_buf_append(&b, "[", 1);
    for (size_t i = from; st == PS_OK && i < to; i++) {
        if (i > from)
            st = ps_buf_append(&b, ",", 1);
        if (st == PS_OK)
            st = ps_buf_append(&b, r->items[i], r->item_len[i]);
    }
    if (st == PS_OK)
        st = ps_buf_append(&b, "]", 1);
    if (st != PS_OK) {
        ps_buf_free(&b);
        return st;
    }
    size_t len = b.len;
    char *data = ps_buf_detach(&b);
    if (!data)
        return PS_ERR_NOMEM;
    answer_owned(a, data, len);
    return PS_OK;
}

static void no_recording(answer *a, const char *method, const char *path,
                         const filter *f, size_t same_path, const char *why)
{
    char *ftext = NULL;
    if (f && f->kind == FILTER_RAW)
        ftext = ps_strdup(f->raw);
    else if (f) {
        char *j = json_dumps(f->full, JSON_COMPACT | JSON_ENCODE_ANY |
                                          JSON_PRESERVE_ORDER);
        ftext = j ? ps_strdup(j) : NULL;
        free(j);
    }
    /* the message goes to stderr too: cut long filters */
    const char *ft = ftext ? ftext : "?";
    size_t ft_len = strlen(ft);
    int cut = ft_len > REPLAY_MSG_FILTER_MAX;
    char *msg = ps_asprintf("no recording for %s %.*s filter=%.*s%s", method,
                            REPLAY_MSG_FILTER_MAX, path,
                            (int)(cut ? REPLAY_MSG_FILTER_MAX : ft_len), ft,
                            cut ? "..." : "");
    ps_free(ftext);
    fprintf(stderr, "ps-replay: %s (%s%zu recording%s for this path)\n",
            msg ? msg : "no recording", why ? why : "", same_path,
            same_path == 1 ? "" : "s");
    answer_error(a, 404, msg ? msg : "no recording");
    ps_free(msg);
}

/* A plain-text error, for requests that no exchange matches. */
static void answer_plain(answer *a, unsigned int status, const char *msg)
{
    static const char fallback[] = "out of memory\n";
    a->status = status;
    a->content_type = REPLAY_TEXT_CT;
    a->recording = NULL;
    a->ex = NULL;
    char *text = ps_asprintf("%s\n", msg);
    if (!text) {
        answer_free(a);
        a->status = 500;
        a->body = fallback;
        a->len = sizeof fallback - 1;
        return;
    }
    answer_owned(a, text, strlen(text));
}

/* The 404 for a request that no exchange matches: method, path, raw query
 * and, for a POST, the start of its body. */
static void no_exchange(answer *a, const char *method, const char *path,
                        const char *query, const ps_buf *body, size_t same_path)
{
    const char *q = query ? query : "";
    size_t q_len = strcspn(q, "#");
    int cut = q_len > REPLAY_MSG_FILTER_MAX;
    const char *b = body && body->data ? body->data : "";
    size_t b_len = body ? strnlen(b, body->len) : 0;
    int b_cut = b_len > REPLAY_MSG_FILTER_MAX;
    char *msg = ps_asprintf(
        "no recording for %s %.*s query=%.*s%s%s%.*s%s", method,
        REPLAY_MSG_FILTER_MAX, path, (int)(cut ? REPLAY_MSG_FILTER_MAX : q_len),
        q, cut ? "..." : "", body ? " body=" : "",
        (int)(b_cut ? REPLAY_MSG_FILTER_MAX : b_len), b, b_cut ? "..." : "");
    fprintf(stderr, "ps-replay: %s (%zu exchange%s for this path)\n",
            msg ? msg : "no recording", same_path, same_path == 1 ? "" : "s");
    answer_plain(a, 404, msg ? msg : "no recording");
    ps_free(msg);
}

/* Answer from the exchanges: 1 when answered, 0 when none matched (then
 * *m says how many exchanges the path has). */
static int answer_exchange(server *srv, const request_ctx *ctx, int post,
                           const char *path, const char *query, int consume,
                           answer *a, ex_match *m)
{
    memset(m, 0, sizeof *m);
    qset q, form;
    memset(&form, 0, sizeof form);
    ps_status st = qset_parse(&q, query, query ? strlen(query) : 0);
    if (st == PS_ERR_PARSE)
        return 0; /* no exchange has a bad escape */
    if (st != PS_OK) {
        answer_error(a, 500, "out of memory");
        return 1;
    }
    int form_ok = 0;
    if (post) {
        st = qset_parse(&form, ctx->body.data ? ctx->body.data : "",
                        ctx->body.len);
        if (st == PS_ERR_NOMEM) {
            qset_free(&q);
            answer_error(a, 500, "out of memory");
            return 1;
        }
        form_ok = st == PS_OK;
    }
    int found =
        find_exchange(srv, post, path, &q, form_ok ? &form : NULL, consume, m);
    qset_free(&q);
    qset_free(&form);
    if (!found)
        return 0;
    const exchange *x = m->ex;
    a->status = x->status;
    a->content_type = x->content_type;
    a->body = x->body;
    a->len = x->body_len;
    a->recording = x->label;
    a->ex = x;
    return 1;
}

/* The normal answer to a request, before faults. consume: a matching
 * exchange sequence moves on. */
static void build_answer(server *srv, struct MHD_Connection *conn,
                         const char *method, const request_ctx *ctx,
                         int consume, answer *a)
{
    memset(a, 0, sizeof *a);
    const char *uri = ctx->uri;
    int post = strcmp(method, "POST") == 0;
    if (!post && strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        answer_error(a, 405, "only GET, HEAD and POST are replayed");
        a->allow = "GET, HEAD, POST";
        return;
    }
    if (strlen(uri) > REPLAY_MAX_URL) {
        answer_error(a, 414, "URL longer than 64 KiB");
        return;
    }
    if (ctx->body_too_big) {
        answer_error(a, 413, "request body larger than 1 MiB");
        return;
    }
    const char *query = NULL;
    char *path = target_path(uri, &query);
    if (!path) {
        answer_error(a, 400, "bad percent escape in the path");
        return;
    }
    /* the path after the prefix */
    const char *model = path;
    if (srv->prefix_len) {
        if (!ps_str_startswith(path, srv->prefix) ||
            (path[srv->prefix_len] != '/' && path[srv->prefix_len] != '\0')) {
            if (srv->n_recs)
                no_recording(a, method, path, NULL, 0, "outside the prefix; ");
            else
                no_exchange(a, method, path, query, NULL, 0);
            ps_free(path);
            return;
        }
        model = path[srv->prefix_len] ? path + srv->prefix_len : "/";
    }
    ex_match xm;
    memset(&xm, 0, sizeof xm);
    if (srv->n_exs &&
        answer_exchange(srv, ctx, post, model, query, consume, a, &xm)) {
        ps_free(path);
        return;
    }
    /* PaN recordings answer GET only, and only exchanges of another path
     * leave the miss to them */
    if (post || !srv->n_recs || xm.same_path) {
        if (post && !xm.same_path_post) {
            answer_error(a, 405, "only GET and HEAD are replayed");
            a->allow = "GET, HEAD";
        } else {
            no_exchange(a, method, path, query, post ? &ctx->body : NULL,
                        xm.same_path);
        }
        ps_free(path);
        return;
    }
    if (model_len(model) == 0) {
        no_recording(a, method, path, NULL, 0, "no model in the path; ");
        ps_free(path);
        return;
    }
    const char *name = is_count_path(model) ? "where" : "filter";
    const char *value = NULL;
    size_t value_len = 0;
    if (MHD_lookup_connection_value_n(conn, MHD_GET_ARGUMENT_KIND, name,
                                      strlen(name), &value,
                                      &value_len) != MHD_YES &&
        is_count_path(model)) {
        value = NULL;
        value_len = 0;
        if (MHD_lookup_connection_value_n(conn, MHD_GET_ARGUMENT_KIND, "filter",
                                          6, &value, &value_len) != MHD_YES)
            value = NULL;
    }
    if (value && memchr(value, '\0', value_len)) {
        answer_error(a, 400, "NUL byte in the filter");
        ps_free(path);
        return;
    }
    filter f;
    if (filter_from_text(&f, value, value ? value_len : 0) != PS_OK) {
        filter_free(&f);
        answer_error(a, 500, "out of memory");
        ps_free(path);
        return;
    }
    match m;
    if (!find_match(srv, model, &f, &m)) {
        no_recording(a, method, path, &f, m.same_path, NULL);
        filter_free(&f);
        ps_free(path);
        return;
    }
    filter_free(&f);
    ps_free(path);
    a->status = m.rec->status;
    a->content_type = m.rec->content_type;
    a->recording = m.rec->file;
    if (!m.slice) {
        a->body = m.rec->body;
        a->len = m.rec->body_len;
        return;
    }
    if (slice_body(m.rec, m.from, m.to, a) != PS_OK)
        answer_error(a, 500, "out of memory");
}

/* ---- faults ------------------------------------------------------------- */

static fault_kind fault_for(const server *srv, uint64_t seq)
{
    for (size_t i = 0; i < srv->n_faults; i++) {
        if (seq >= srv->faults[i].first && seq <= srv->faults[i].last)
            return srv->faults[i].kind;
    }
    return FAULT_NONE;
}

static int fault_parse(const char *spec, fault *out)
{
    const char *colon = strchr(spec, ':');
    if (!colon)
        return -1;
    const char *kind = colon + 1;
    out->kind = FAULT_NONE;
    for (int k = 0; k < FAULT_NONE; k++) {
        if (strcmp(kind, fault_names[k]) == 0)
            out->kind = (fault_kind)k;
    }
    if (out->kind == FAULT_NONE)
        return -1;
    char *range = ps_strndup(spec, (size_t)(colon - spec));
    if (!range)
        return -1;
    int rc = -1;
    if (strcmp(range, "all") == 0) {
        out->first = 1;
        out->last = UINT64_MAX;
        rc = 0;
    } else {
        char *dash = strchr(range, '-');
        int64_t first, last;
        if (dash)
            *dash = '\0';
        if (ps_parse_i64(range, &first) == 0 && first >= 1) {
            last = first;
            if (!dash ||
                (ps_parse_i64(dash + 1, &last) == 0 && last >= first)) {
                out->first = (uint64_t)first;
                out->last = (uint64_t)last;
                rc = 0;
            }
        }
    }
    ps_free(range);
    return rc;
}

/* Sleep up to ms, or until the server stops; 1 if it is stopping. */
static int stall(server *srv, long ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += ms / 1000;
    deadline.tv_nsec += (ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&srv->stop_lock);
    while (!atomic_load(&srv->stopping)) {
        int rc =
            pthread_cond_timedwait(&srv->stop_cond, &srv->stop_lock, &deadline);
        if (rc == ETIMEDOUT)
            break;
    }
    int stopping = atomic_load(&srv->stopping);
    pthread_mutex_unlock(&srv->stop_lock);
    return stopping;
}

/* Faults that send their own answer instead of the recorded one. */
static int fault_replaces(fault_kind fk)
{
    return fk == FAULT_503 || fk == FAULT_500 || fk == FAULT_429 ||
           fk == FAULT_422 || fk == FAULT_GARBAGE || fk == FAULT_BADXML;
}

/* Drop a connection at once: with a zero linger, disconnecting a TCP socket
 * (connect to AF_UNSPEC, Linux) sends a reset instead of a FIN. MHD's own
 * close then finds the socket already unconnected. */
static void reset_socket(int fd)
{
    if (fd < 0)
        return;
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    struct sockaddr unspec;
    memset(&unspec, 0, sizeof unspec);
    unspec.sa_family = AF_UNSPEC;
    if (connect(fd, &unspec, sizeof unspec) != 0)
        shutdown(fd, SHUT_RDWR);
}

/* A body that stops in the middle: Content-Length says len, the reader
 * gives half of it and then, by kind, makes MHD close the connection
 * (truncate), waits --stall-ms or until the server stops first (partial),
 * or resets the connection (reset). */
typedef struct truncated {
    char *data;
    size_t cut;
    fault_kind kind;
    server *srv;
    int fd; /* the connection's socket, for reset */
} truncated;

static ssize_t truncated_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    truncated *t = cls;
    if (pos >= t->cut) {
        if (t->kind == FAULT_PARTIAL)
            stall(t->srv, t->srv->stall_ms);
        else if (t->kind == FAULT_RESET)
            reset_socket(t->fd);
        return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    size_t n = t->cut - (size_t)pos;
    if (n > max)
        n = max;
    memcpy(buf, t->data + pos, n);
    return (ssize_t)n;
}

static void truncated_free(void *cls)
{
    truncated *t = cls;
    ps_free(t->data);
    ps_free(t);
}

/* ---- HTTP --------------------------------------------------------------- */

static void log_request(server *srv, const char *method, const char *uri,
                        unsigned int status, fault_kind fk)
{
    if (!srv->log)
        return;
    size_t n = strlen(uri);
    int cut = n > REPLAY_LOG_URL_MAX;
    pthread_mutex_lock(&srv->log_lock);
    fprintf(srv->log, "%s %.*s%s -> %03u%s%s%s\n", method,
            (int)(cut ? REPLAY_LOG_URL_MAX : n), uri, cut ? "..." : "", status,
            fk == FAULT_NONE ? "" : " (fault ",
            fk == FAULT_NONE ? "" : fault_names[fk],
            fk == FAULT_NONE ? "" : ")");
    fflush(srv->log);
    pthread_mutex_unlock(&srv->log_lock);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    (void)conn;
    request_ctx *ctx = ps_calloc(1, sizeof *ctx);
    if (!ctx)
        return NULL;
    ps_buf_init(&ctx->body, REPLAY_MAX_POST);
    ctx->uri = ps_strdup(uri ? uri : "/");
    if (!ctx->uri) {
        ps_free(ctx);
        return NULL;
    }
    return ctx;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    request_ctx *ctx = *con_cls;
    if (ctx) {
        ps_buf_free(&ctx->body);
        ps_free(ctx->uri);
        ps_free(ctx);
        *con_cls = NULL;
    }
}

static void mhd_logger(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n > 0 && line[n - 1] == '\n')
        line[--n] = '\0';
    fprintf(stderr, "ps-replay: mhd: %s\n", line);
}

/* Retry-After: value, capped by --retry-after-max; a value that is not a
 * number of seconds (an HTTP date) becomes the cap. */
static void add_retry_after(struct MHD_Response *resp, const server *srv,
                            const char *value)
{
    char capped[24];
    int64_t secs;
    if (srv->retry_after_max >= 0 &&
        (ps_parse_i64(value, &secs) != 0 || secs > srv->retry_after_max)) {
        snprintf(capped, sizeof capped, "%ld", srv->retry_after_max);
        value = capped;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, value);
}

static struct MHD_Response *make_response(server *srv,
                                          struct MHD_Connection *conn,
                                          const answer *a, fault_kind fk)
{
    static const char html_503[] =
        "<html><head><title>503 Service Unavailable</title></head><body>"
        "<h1>Service Unavailable</h1><p>injected fault</p></body></html>\n";
    static const char json_500[] =
        "{\"error\":{\"statusCode\":500,\"name\":\"Error\","
        "\"message\":\"Internal Server Error (injected fault)\"}}";
    static const char json_429[] =
        "{\"error\":{\"statusCode\":429,\"name\":\"Error\","
        "\"message\":\"Too Many Requests (injected fault)\"}}";
    static const char json_422[] =
        "{\"status\":422,"
        "\"message\":\"The resumption token is invalid or expired\"}";
    static const char garbage[] = "<html>this is not JSON";
    static const char badxml[] =
        "<?xml version=\"1.0\"?><OAI-PMH><ListRecords><record>";
    struct MHD_Response *resp = NULL;
    const char *ct = a->content_type;
    switch (fk) {
    case FAULT_503:
        resp = MHD_create_response_from_buffer(
            sizeof html_503 - 1, (void *)html_503, MHD_RESPMEM_PERSISTENT);
        ct = "text/html; charset=utf-8";
        break;
    case FAULT_500:
        resp = MHD_create_response_from_buffer(
            sizeof json_500 - 1, (void *)json_500, MHD_RESPMEM_PERSISTENT);
        ct = REPLAY_DEFAULT_CT;
        break;
    case FAULT_429:
        resp = MHD_create_response_from_buffer(
            sizeof json_429 - 1, (void *)json_429, MHD_RESPMEM_PERSISTENT);
        ct = REPLAY_DEFAULT_CT;
        break;
    case FAULT_422:
        resp = MHD_create_response_from_buffer(
            sizeof json_422 - 1, (void *)json_422, MHD_RESPMEM_PERSISTENT);
        ct = REPLAY_JSON_CT;
        break;
    case FAULT_GARBAGE:
        resp = MHD_create_response_from_buffer(
            sizeof garbage - 1, (void *)garbage, MHD_RESPMEM_PERSISTENT);
        ct = REPLAY_JSON_CT;
        break;
    case FAULT_BADXML:
        resp = MHD_create_response_from_buffer(
            sizeof badxml - 1, (void *)badxml, MHD_RESPMEM_PERSISTENT);
        ct = "text/xml";
        break;
    case FAULT_TRUNCATE:
    case FAULT_PARTIAL:
    case FAULT_RESET: {
        truncated *t = ps_calloc(1, sizeof *t);
        char *copy = ps_malloc(a->len + 1);
        if (!t || !copy) {
            ps_free(t);
            ps_free(copy);
            return NULL;
        }
        if (a->len)
            memcpy(copy, a->body, a->len);
        t->data = copy;
        t->cut = a->len / 2;
        t->kind = fk;
        t->srv = srv;
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        t->fd = ci ? ci->connect_fd : -1;
        resp = MHD_create_response_from_callback(a->len, 4096, truncated_read,
                                                 t, truncated_free);
        if (!resp)
            truncated_free(t);
        break;
    }
    default:
        resp = MHD_create_response_from_buffer(
            a->len, (void *)a->body,
            a->owned ? MHD_RESPMEM_MUST_COPY : MHD_RESPMEM_PERSISTENT);
        break;
    }
    if (!resp)
        return NULL;
    if (ct)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ct);
    if (fk == FAULT_503 || fk == FAULT_429)
        add_retry_after(resp, srv, "1");
    if (a->allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, a->allow);
    if (fault_replaces(fk))
        return resp;
    if (a->recording)
        MHD_add_response_header(resp, "X-PS-Replay-Recording", a->recording);
    for (size_t i = 0; a->ex && i < a->ex->n_headers; i++) {
        const header *h = &a->ex->headers[i];
        if (strcasecmp(h->name, MHD_HTTP_HEADER_RETRY_AFTER) == 0)
            add_retry_after(resp, srv, h->value);
        else
            MHD_add_response_header(resp, h->name, h->value);
    }
    return resp;
}

static unsigned int fault_status(fault_kind fk, unsigned int normal)
{
    switch (fk) {
    case FAULT_503: return 503;
    case FAULT_500: return 500;
    case FAULT_429: return 429;
    case FAULT_422: return 422;
    case FAULT_GARBAGE:
    case FAULT_BADXML:
    case FAULT_TRUNCATE:
    case FAULT_PARTIAL:
    case FAULT_RESET: return 200;
    default: return normal;
    }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    server *srv = cls;
    (void)url;
    (void)version;
    request_ctx *ctx = *con_cls;
    if (!ctx)
        return MHD_NO; /* the URI callback ran out of memory */
    if (!ctx->started) {
        ctx->started = 1;
        ctx->seq = atomic_fetch_add(&srv->seq, 1) + 1;
        return MHD_YES;
    }
    if (*upload_data_size) {
        /* a POST's body is kept for matching, any other is ignored */
        if (strcmp(method, "POST") == 0 && !ctx->body_too_big &&
            ps_buf_append(&ctx->body, upload_data, *upload_data_size) != PS_OK)
            ctx->body_too_big = 1;
        *upload_data_size = 0;
        return MHD_YES;
    }
    fault_kind fk = fault_for(srv, ctx->seq);
    if (fk == FAULT_CLOSE) {
        log_request(srv, method, ctx->uri, 0, fk);
        return MHD_NO;
    }
    if (fk == FAULT_STALL && stall(srv, srv->stall_ms)) {
        log_request(srv, method, ctx->uri, 0, fk);
        return MHD_NO;
    }
    answer a;
    build_answer(srv, conn, method, ctx, !fault_replaces(fk), &a);
    struct MHD_Response *resp = make_response(srv, conn, &a, fk);
    if (!resp) {
        answer_free(&a);
        log_request(srv, method, ctx->uri, 0, fk);
        return MHD_NO;
    }
    char seq[24];
    snprintf(seq, sizeof seq, "%lu", ctx->seq);
    MHD_add_response_header(resp, "X-PS-Replay-Seq", seq);
    unsigned int status = fault_status(fk, a.status);
    /* log first: once the client has the answer, the line is in the file */
    log_request(srv, method, ctx->uri, status, fk);
    enum MHD_Result rc = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    answer_free(&a);
    return rc;
}

/* ---- start-up ----------------------------------------------------------- */

static void usage(FILE *out)
{
    fputs(
        "usage: ps-replay --dir DIR [--dir DIR...] [options]\n"
        "Replays recorded responses of PaN services, and recorded HTTP\n"
        "exchanges of other services, on a loopback port.\n"
        "  --dir DIR          load every *.json file in DIR (repeatable)\n"
        "  --port-file FILE   write the bound port to FILE (atomically)\n"
        "  --listen ADDR:PORT loopback address and port (127.0.0.1:0)\n"
        "  --prefix /PATH     serve the recordings under this path prefix\n"
        "  --fault SPEC       N:KIND, N-M:KIND or all:KIND; KIND is 503, 500,\n"
        "                     429, 422, garbage, badxml, truncate, partial,\n"
        "                     reset, stall or close\n"
        "  --stall-ms MS      how long a stall or partial lasts (30000)\n"
        "  --retry-after-max S  serve recorded Retry-After values as at\n"
        "                     most S seconds (default: as recorded)\n"
        "  --max-page N       serve at most N items per page, like a "
        "provider\n"
        "                     that caps its page size (0: no cap)\n"
        "  --log FILE         append \"METHOD URL -> STATUS\" per request\n"
        "  --dump             print the loaded recordings and exit\n"
        "  --help             this text\n",
        out);
}

static void parse_listen(const char *spec, struct sockaddr_in *sa)
{
    const char *colon = strrchr(spec, ':');
    if (!colon)
        die_usage("--listen %s: expected ADDRESS:PORT", spec);
    char host[64];
    size_t n = (size_t)(colon - spec);
    if (n == 0 || n >= sizeof host)
        die_usage("--listen %s: bad address", spec);
    memcpy(host, spec, n);
    host[n] = '\0';
    int64_t port;
    if (ps_parse_i64(colon + 1, &port) != 0 || port < 0 || port > 65535)
        die_usage("--listen %s: bad port", spec);
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (strcmp(host, "localhost") == 0)
        sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    else if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
        die_usage("--listen %s: not an IPv4 address", spec);
    if ((ntohl(sa->sin_addr.s_addr) >> 24) != 127)
        die_usage("--listen %s: only loopback addresses (127.x.x.x)", spec);
}

static int write_port_file(const char *path, unsigned int port)
{
    char *tmp = ps_asprintf("%s.tmp", path);
    if (!tmp)
        return -1;
    char text[16];
    int len = snprintf(text, sizeof text, "%u\n", port);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int ok = fd >= 0;
    if (ok)
        ok = write(fd, text, (size_t)len) == (ssize_t)len;
    if (fd >= 0 && close(fd) != 0)
        ok = 0;
    if (ok)
        ok = rename(tmp, path) == 0;
    if (!ok) {
        fprintf(stderr, "ps-replay: cannot write %s: %s\n", path,
                strerror(errno));
        unlink(tmp);
    }
    ps_free(tmp);
    return ok ? 0 : -1;
}

enum {
    OPT_DIR = 256,
    OPT_PORT_FILE,
    OPT_LISTEN,
    OPT_PREFIX,
    OPT_FAULT,
    OPT_STALL_MS,
    OPT_MAX_PAGE,
    OPT_RETRY_AFTER_MAX,
    OPT_LOG,
    OPT_DUMP,
    OPT_HELP
};

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"dir", required_argument, NULL, OPT_DIR},
        {"port-file", required_argument, NULL, OPT_PORT_FILE},
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"prefix", required_argument, NULL, OPT_PREFIX},
        {"fault", required_argument, NULL, OPT_FAULT},
        {"stall-ms", required_argument, NULL, OPT_STALL_MS},
        {"max-page", required_argument, NULL, OPT_MAX_PAGE},
        {"retry-after-max", required_argument, NULL, OPT_RETRY_AFTER_MAX},
        {"log", required_argument, NULL, OPT_LOG},
        {"dump", no_argument, NULL, OPT_DUMP},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0}};
    const char *port_file = NULL, *log_path = NULL;
    static const char **dirs; /* static: reachable at exit() */
    dirs = ps_calloc((size_t)argc, sizeof *dirs);
    size_t n_dirs = 0;
    const char *listen_spec = "127.0.0.1:0";
    char prefix[1024] = "";
    int dump = 0;
    static server srv; /* zeroed */
    srv.stall_ms = 30000;
    srv.retry_after_max = -1;
    if (!dirs)
        die_usage("out of memory");
    size_t faults_cap = 0;

    for (;;) {
        int c = getopt_long(argc, argv, "h", longopts, NULL);
        if (c == -1)
            break;
        switch (c) {
        case OPT_DIR: dirs[n_dirs++] = optarg; break;
        case OPT_PORT_FILE: port_file = optarg; break;
        case OPT_LISTEN: listen_spec = optarg; break;
        case OPT_PREFIX: {
            size_t n = strlen(optarg);
            if (n >= sizeof prefix || (n > 0 && optarg[0] != '/'))
                die_usage("--prefix %s: must start with '/'", optarg);
            memcpy(prefix, optarg, n + 1);
            while (n > 0 && prefix[n - 1] == '/')
                prefix[--n] = '\0';
            break;
        }
        case OPT_FAULT: {
            fault f;
            if (fault_parse(optarg, &f) != 0)
                die_usage("--fault %s: expected N:KIND, N-M:KIND or all:KIND "
                          "with KIND 503, 500, 429, 422, garbage, badxml, "
                          "truncate, partial, reset, stall or close",
                          optarg);
            if (srv.n_faults == faults_cap) {
                size_t ncap = faults_cap ? faults_cap * 2 : 8;
                fault *grown = ps_realloc(srv.faults, ncap * sizeof *grown);
                if (!grown)
                    die_usage("out of memory");
                srv.faults = grown;
                faults_cap = ncap;
            }
            srv.faults[srv.n_faults++] = f;
            break;
        }
        case OPT_STALL_MS: {
            int64_t ms;
            if (ps_parse_i64(optarg, &ms) != 0 || ms < 0 ||
                ms > REPLAY_MAX_STALL_MS)
                die_usage("--stall-ms %s: expected 0..%ld", optarg,
                          REPLAY_MAX_STALL_MS);
            srv.stall_ms = (long)ms;
            break;
        }
        case OPT_MAX_PAGE: {
            int64_t n;
            if (ps_parse_i64(optarg, &n) != 0 || n < 0)
                die_usage("--max-page %s: expected a number from 0", optarg);
            srv.max_page = n;
            break;
        }
        case OPT_RETRY_AFTER_MAX: {
            int64_t secs;
            if (ps_parse_i64(optarg, &secs) != 0 || secs < 0 ||
                secs > REPLAY_MAX_RETRY_AFTER)
                die_usage("--retry-after-max %s: expected 0..%ld", optarg,
                          REPLAY_MAX_RETRY_AFTER);
            srv.retry_after_max = (long)secs;
            break;
        }
        case OPT_LOG: log_path = optarg; break;
        case OPT_DUMP: dump = 1; break;
        case 'h':
        case OPT_HELP:
            usage(stdout);
            ps_free(srv.faults);
            ps_free(dirs);
            return 0;
        default: usage(stderr); exit(REPLAY_EXIT_USAGE);
        }
    }
    if (optind < argc)
        die_usage("unexpected argument \"%s\"", argv[optind]);
    if (n_dirs == 0)
        die_usage("--dir is required (try --help)");
    struct sockaddr_in sa;
    parse_listen(listen_spec, &sa);
    srv.prefix = prefix;
    srv.prefix_len = strlen(prefix);

    for (size_t i = 0; i < n_dirs; i++)
        load_dir(&srv, dirs[i]);
    if (srv.n_recs + srv.n_exs == 0) {
        fprintf(stderr, "ps-replay: no recordings and no exchanges\n");
        exit(REPLAY_EXIT_USAGE);
    }
    warn_shadowed(&srv);
    if (dump) {
        for (size_t i = 0; i < srv.n_recs; i++)
            printf("%s\t%u\t%s\t%s\n", srv.recs[i].file, srv.recs[i].status,
                   srv.recs[i].request, srv.recs[i].body);
        for (size_t i = 0; i < srv.n_exs; i++)
            printf("%s\t%u\t%s\t(%zu bytes)\n", srv.exs[i].label,
                   srv.exs[i].status, srv.exs[i].request, srv.exs[i].body_len);
        free_loaded(&srv);
        ps_free(srv.faults);
        ps_free(dirs);
        return 0;
    }
    if (log_path) {
        srv.log = fopen(log_path, "a");
        if (!srv.log) {
            fprintf(stderr, "ps-replay: cannot open %s: %s\n", log_path,
                    strerror(errno));
            free_loaded(&srv);
            ps_free(srv.faults);
            ps_free(dirs);
            exit(REPLAY_EXIT_USAGE);
        }
    }

    /* The signals are taken by sigwait below; every thread, MHD's
     * included, inherits the blocked mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    pthread_mutex_init(&srv.log_lock, NULL);
    pthread_mutex_init(&srv.stop_lock, NULL);
    pthread_mutex_init(&srv.seq_lock, NULL);
    pthread_condattr_t cattr;
    pthread_condattr_init(&cattr);
    pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
    pthread_cond_init(&srv.stop_cond, &cattr);
    pthread_condattr_destroy(&cattr);

    /* One thread per connection, so that a stalled request does not hold up
     * the others. */
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
            MHD_USE_POLL | MHD_USE_ERROR_LOG,
        0, NULL, NULL, on_request, &srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_logger,
        &srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, &srv, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, &srv, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        REPLAY_CONN_MEMORY, MHD_OPTION_END);
    int rc = 0;
    if (!d) {
        fprintf(stderr, "ps-replay: cannot listen on %s\n", listen_spec);
        rc = REPLAY_EXIT_FAIL;
    }
    unsigned int port = 0;
    if (d) {
        const union MHD_DaemonInfo *info =
            MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
        port = info ? info->port : 0;
        if (port == 0) {
            fprintf(stderr, "ps-replay: cannot find the bound port\n");
            rc = REPLAY_EXIT_FAIL;
        }
    }
    if (rc == 0 && port_file && write_port_file(port_file, port) != 0)
        rc = REPLAY_EXIT_FAIL;
    if (rc == 0) {
        char host[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &sa.sin_addr, host, sizeof host);
        fprintf(stderr,
                "ps-replay: %zu recordings and %zu exchanges from %s%s\n",
                srv.n_recs, srv.n_exs, dirs[0], n_dirs > 1 ? " and more" : "");
        printf("listening on http://%s:%u\n", host, port);
        fflush(stdout);
        int sig = 0;
        while (sigwait(&sigs, &sig) != 0) {
            /* only EINVAL, which cannot happen with this set */
        }
    }

    /* wake stalled requests, then stop; MHD joins its threads */
    pthread_mutex_lock(&srv.stop_lock);
    atomic_store(&srv.stopping, 1);
    pthread_cond_broadcast(&srv.stop_cond);
    pthread_mutex_unlock(&srv.stop_lock);
    if (d)
        MHD_stop_daemon(d);

    pthread_cond_destroy(&srv.stop_cond);
    pthread_mutex_destroy(&srv.stop_lock);
    pthread_mutex_destroy(&srv.seq_lock);
    pthread_mutex_destroy(&srv.log_lock);
    if (srv.log)
        fclose(srv.log);
    free_loaded(&srv);
    ps_free(srv.faults);
    ps_free(dirs);
    return rc;
}
