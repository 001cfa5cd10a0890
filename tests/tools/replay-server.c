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
#define REPLAY_DEFAULT_CT "application/json; charset=utf-8"
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

typedef enum {
    FAULT_503,
    FAULT_500,
    FAULT_429,
    FAULT_GARBAGE,
    FAULT_TRUNCATE,
    FAULT_STALL,
    FAULT_CLOSE,
    FAULT_NONE
} fault_kind;

static const char *const fault_names[] = {
    "503", "500", "429", "garbage", "truncate", "stall", "close", "none"};

typedef struct fault {
    uint64_t first, last; /* 1-based request numbers, inclusive */
    fault_kind kind;
} fault;

typedef struct server {
    recording *recs;
    size_t n_recs;
    const char *prefix; /* without trailing '/'; "" for none */
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
} request_ctx;

/* What to send back, before faults are applied. */
typedef struct answer {
    unsigned int status;
    const char *content_type;
    const char *body; /* borrowed from a recording, or == owned */
    size_t len;
    char *owned; /* ps_malloc'd body, or NULL */
    const char *allow;
    const char *recording; /* file name of the recording served */
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
            size_t v_len = (size_t)(p + n - v);
            char *plus = ps_strndup(v, v_len);
            if (!plus)
                return -1;
            for (size_t i = 0; i < v_len; i++) {
                if (plus[i] == '+')
                    plus[i] = ' ';
            }
            *out = ps_pct_decode(plus, v_len);
            ps_free(plus);
            return *out ? 1 : -1;
        }
        if (p[n] != '&')
            break;
        p += n + 1;
    }
    return 0;
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

static ps_status load_recording(const char *dir, const char *name, recording *r,
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
    r->file = ps_strdup(name);
    st = r->file ? recording_from_json(r, root, err)
                 : ps_err_set(err, PS_ERR_NOMEM, "out of memory");
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

static void free_recordings(recording *recs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        recording_free(&recs[i]);
    ps_free(recs);
}

/* Load every recording of dir; exits with status 2 and one line on error. */
static void load_all(const char *dir, recording **out, size_t *n_out)
{
    ps_err err = PS_ERR_INIT;
    char **names;
    size_t n;
    if (list_recordings(dir, &names, &n, &err) != PS_OK) {
        fprintf(stderr, "ps-replay: %s\n", err.msg);
        exit(REPLAY_EXIT_USAGE);
    }
    if (n == 0) {
        fprintf(stderr, "ps-replay: %s: no *.json recordings\n", dir);
        exit(REPLAY_EXIT_USAGE);
    }
    recording *recs = ps_calloc(n, sizeof *recs);
    if (!recs) {
        free_names(names, n);
        fprintf(stderr, "ps-replay: out of memory\n");
        exit(REPLAY_EXIT_USAGE);
    }
    for (size_t i = 0; i < n; i++) {
        if (load_recording(dir, names[i], &recs[i], &err) != PS_OK) {
            fprintf(stderr, "ps-replay: %s/%s: %s\n", dir, names[i], err.msg);
            free_recordings(recs, n);
            free_names(names, n);
            exit(REPLAY_EXIT_USAGE);
        }
    }
    free_names(names, n);
    /* a recording that another one shadows can never be served */
    for (size_t i = 0; i < n; i++) {
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
    *out = recs;
    *n_out = n;
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

/* The normal answer to a request, before faults. */
static void build_answer(const server *srv, struct MHD_Connection *conn,
                         const char *method, const char *uri, answer *a)
{
    memset(a, 0, sizeof *a);
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        answer_error(a, 405, "only GET and HEAD are replayed");
        a->allow = "GET, HEAD";
        return;
    }
    if (strlen(uri) > REPLAY_MAX_URL) {
        answer_error(a, 414, "URL longer than 64 KiB");
        return;
    }
    const char *query = NULL;
    char *path = target_path(uri, &query);
    if (!path) {
        answer_error(a, 400, "bad percent escape in the path");
        return;
    }
    const char *model = path;
    if (srv->prefix_len) {
        if (!ps_str_startswith(path, srv->prefix) ||
            path[srv->prefix_len] != '/') {
            no_recording(a, method, path, NULL, 0, "outside the prefix; ");
            ps_free(path);
            return;
        }
        model = path + srv->prefix_len;
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

/* A body that stops in the middle: Content-Length says len, the reader
 * gives half of it and then makes MHD close the connection. */
typedef struct truncated {
    char *data;
    size_t cut;
} truncated;

static ssize_t truncated_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    truncated *t = cls;
    if (pos >= t->cut)
        return MHD_CONTENT_READER_END_WITH_ERROR;
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

static struct MHD_Response *make_response(const answer *a, fault_kind fk)
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
    static const char garbage[] = "<html>this is not JSON";
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
    case FAULT_GARBAGE:
        resp = MHD_create_response_from_buffer(
            sizeof garbage - 1, (void *)garbage, MHD_RESPMEM_PERSISTENT);
        ct = "application/json";
        break;
    case FAULT_TRUNCATE: {
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
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ct);
    if (fk == FAULT_503 || fk == FAULT_429)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    if (a->allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, a->allow);
    if (a->recording && fk != FAULT_503 && fk != FAULT_500 && fk != FAULT_429 &&
        fk != FAULT_GARBAGE)
        MHD_add_response_header(resp, "X-PS-Replay-Recording", a->recording);
    return resp;
}

static unsigned int fault_status(fault_kind fk, unsigned int normal)
{
    switch (fk) {
    case FAULT_503: return 503;
    case FAULT_500: return 500;
    case FAULT_429: return 429;
    case FAULT_GARBAGE:
    case FAULT_TRUNCATE: return 200;
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
    (void)upload_data;
    request_ctx *ctx = *con_cls;
    if (!ctx)
        return MHD_NO; /* the URI callback ran out of memory */
    if (!ctx->started) {
        ctx->started = 1;
        ctx->seq = atomic_fetch_add(&srv->seq, 1) + 1;
        return MHD_YES;
    }
    if (*upload_data_size) {
        *upload_data_size = 0; /* a body is ignored */
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
    build_answer(srv, conn, method, ctx->uri, &a);
    struct MHD_Response *resp = make_response(&a, fk);
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
        "usage: ps-replay --dir DIR [options]\n"
        "Replays recorded responses of PaN services on a loopback port.\n"
        "  --dir DIR          load every *.json recording in DIR\n"
        "  --port-file FILE   write the bound port to FILE (atomically)\n"
        "  --listen ADDR:PORT loopback address and port (127.0.0.1:0)\n"
        "  --prefix /PATH     serve the recordings under this path prefix\n"
        "  --fault SPEC       N:KIND, N-M:KIND or all:KIND; KIND is 503, 500,\n"
        "                     429, garbage, truncate, stall or close\n"
        "  --stall-ms MS      how long a stall lasts (30000)\n"
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
        {"log", required_argument, NULL, OPT_LOG},
        {"dump", no_argument, NULL, OPT_DUMP},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0}};
    const char *dir = NULL, *port_file = NULL, *log_path = NULL;
    const char *listen_spec = "127.0.0.1:0";
    char prefix[1024] = "";
    int dump = 0;
    static server srv; /* zeroed */
    srv.stall_ms = 30000;
    size_t faults_cap = 0;

    for (;;) {
        int c = getopt_long(argc, argv, "h", longopts, NULL);
        if (c == -1)
            break;
        switch (c) {
        case OPT_DIR: dir = optarg; break;
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
                          "with KIND 503, 500, 429, garbage, truncate, stall "
                          "or close",
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
        case OPT_LOG: log_path = optarg; break;
        case OPT_DUMP: dump = 1; break;
        case 'h':
        case OPT_HELP:
            usage(stdout);
            ps_free(srv.faults);
            return 0;
        default: usage(stderr); exit(REPLAY_EXIT_USAGE);
        }
    }
    if (optind < argc)
        die_usage("unexpected argument \"%s\"", argv[optind]);
    if (!dir)
        die_usage("--dir is required (try --help)");
    struct sockaddr_in sa;
    parse_listen(listen_spec, &sa);
    srv.prefix = prefix;
    srv.prefix_len = strlen(prefix);

    load_all(dir, &srv.recs, &srv.n_recs);
    if (dump) {
        for (size_t i = 0; i < srv.n_recs; i++)
            printf("%s\t%u\t%s\t%s\n", srv.recs[i].file, srv.recs[i].status,
                   srv.recs[i].request, srv.recs[i].body);
        free_recordings(srv.recs, srv.n_recs);
        ps_free(srv.faults);
        return 0;
    }
    if (log_path) {
        srv.log = fopen(log_path, "a");
        if (!srv.log) {
            fprintf(stderr, "ps-replay: cannot open %s: %s\n", log_path,
                    strerror(errno));
            free_recordings(srv.recs, srv.n_recs);
            ps_free(srv.faults);
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
        fprintf(stderr, "ps-replay: %zu recordings from %s\n", srv.n_recs, dir);
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
    pthread_mutex_destroy(&srv.log_lock);
    if (srv.log)
        fclose(srv.log);
    free_recordings(srv.recs, srv.n_recs);
    ps_free(srv.faults);
    return rc;
}
