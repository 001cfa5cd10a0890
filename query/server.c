/*
 * server.c: the HTTP server on libmicrohttpd, laid out the way the MHD
 * examples and Redis are: one daemon with a pool of worker threads on
 * epoll, per-request state created in the first callback (the URI-log
 * callback) and freed in the completed callback, and responses queued on
 * the second access-handler call so that keep-alive works. Every answer
 * carries CORS headers; OPTIONS preflights are answered here; URL, header
 * and body sizes have ceilings (414, 431, 413); with an admin token
 * configured, requests that write (POST, DELETE) must show it (401
 * otherwise); each request logs one line.
 *
 * Each worker thread opens its own store connection and index reader on
 * first use (psi_ctx_get) and refreshes the reader when the in-server
 * indexer has committed. The indexer is a thread that applies the store's
 * change feed to the index every index_refresh_ms, so a harvested record is
 * searchable within about a second; if another process holds the index's
 * writer lock, the server serves without it and says so on /health.
 * ps_server_stop stops accepting, waits for requests in progress (up to 10
 * s), stops the indexer after its current commit, and frees everything.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "query-private.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- per-thread contexts ------------------------------------------------ */

static _Thread_local psi_ctx *tls_ctx;

psi_ctx *psi_ctx_get(ps_server *srv, ps_err *err)
{
    psi_ctx *c = tls_ctx;
    int64_t now = ps_now_ms();
    if (!c) {
        c = ps_calloc(1, sizeof *c);
        if (!c) {
            ps_err_set(err, PS_ERR_NOMEM, "out of memory");
            return NULL;
        }
        ps_store_opts so = PS_STORE_OPTS_INIT;
        so.readonly = 1;
        so.cache_kib = 16384;
        if (ps_store_open(&c->st, srv->store_path, &so, err) != PS_OK ||
            ps_index_open(&c->idx, srv->data_dir, 0, err) != PS_OK) {
            ps_store_close(c->st);
            ps_free(c);
            return NULL;
        }
        c->gen = atomic_load(&srv->index_gen);
        c->refreshed_ms = now;
        pthread_mutex_lock(&srv->ctx_lock);
        c->next = srv->ctxs;
        srv->ctxs = c;
        pthread_mutex_unlock(&srv->ctx_lock);
        tls_ctx = c;
        return c;
    }
    /* See the indexer's commits at once, other writers within a second. */
    unsigned gen = atomic_load(&srv->index_gen);
    if (gen != c->gen || now - c->refreshed_ms >= 1000) {
        ps_err e = PS_ERR_INIT;
        if (ps_index_refresh(c->idx, NULL, &e) != PS_OK)
            ps_log(PS_LOG_WARN, "index refresh: %s", e.msg);
        c->gen = gen;
        c->refreshed_ms = now;
    }
    return c;
}

ps_store *psi_ctx_writer(ps_server *srv, psi_ctx *ctx, ps_err *err)
{
    if (!ctx->wst) {
        ps_store_opts so = PS_STORE_OPTS_INIT;
        so.cache_kib = 4096;
        if (ps_store_open(&ctx->wst, srv->store_path, &so, err) != PS_OK)
            ctx->wst = NULL;
    }
    return ctx->wst;
}

static void ctx_free_all(ps_server *srv)
{
    psi_ctx *c = srv->ctxs;
    while (c) {
        psi_ctx *next = c->next;
        ps_index_close(c->idx);
        ps_store_close(c->st);
        ps_store_close(c->wst);
        ps_free(c);
        c = next;
    }
    srv->ctxs = NULL;
}

/* ---- the in-server indexer ---------------------------------------------- */

static void *indexer_main(void *arg)
{
    ps_server *srv = arg;
    ps_index *idx = NULL;
    ps_store *st = NULL;
    ps_err err = PS_ERR_INIT;
    ps_store_opts so = PS_STORE_OPTS_INIT;
    if (ps_index_open(&idx, srv->data_dir, 1, &err) != PS_OK ||
        ps_store_open(&st, srv->store_path, &so, &err) != PS_OK) {
        snprintf(srv->indexer_note, sizeof srv->indexer_note, "off: %s",
                 err.msg);
        ps_log(PS_LOG_WARN, "in-server indexer not running: %s", err.msg);
        ps_index_close(idx);
        return NULL;
    }
    snprintf(srv->indexer_note, sizeof srv->indexer_note, "running");
    int64_t last = -1;
    while (!srv->stopping) {
        ps_index_opts o = PS_INDEX_OPTS_INIT;
        ps_index_stats stats;
        o.batch = srv->opts.index_batch ? srv->opts.index_batch : 1000;
        o.cancel = &srv->stopping;
        ps_status rc = ps_index_update(idx, st, &o, &stats, &err);
        if (rc != PS_OK && rc != PS_ERR_CANCELLED) {
            /* Log an error once, not at every refresh. */
            if (!strstr(srv->indexer_note, err.msg))
                ps_log(PS_LOG_WARN, "in-server indexer: %s", err.msg);
            snprintf(srv->indexer_note, sizeof srv->indexer_note,
                     "running; last error: %s", err.msg);
        }
        if (stats.last_seq != last) {
            last = stats.last_seq;
            atomic_store(&srv->index_seq, last);
            atomic_fetch_add(&srv->index_gen, 1);
            if (stats.applied)
                ps_log(PS_LOG_INFO, "indexed %lld change(s), now at %lld",
                       (long long)stats.applied, (long long)last);
        }
        /* Sleep in short slices so that stop is prompt. */
        for (long slept = 0;
             slept < srv->opts.index_refresh_ms && !srv->stopping;
             slept += 50) {
            struct timespec ts = {0, 50000000};
            nanosleep(&ts, NULL);
        }
    }
    ps_store_close(st);
    ps_index_close(idx);
    return NULL;
}

/* ---- requests
 * -----------------------------------------------------------------------------
 */

const char *psi_arg(psi_req *req, const char *name)
{
    if (req->args_override) {
        for (const char *const *a = req->args_override; a[0]; a += 2)
            if (strcmp(a[0], name) == 0)
                return a[1];
        return NULL;
    }
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

int psi_arg_int(psi_req *req, psi_resp *resp, const char *name, int64_t lo,
                int64_t hi, int64_t dflt, int64_t *out)
{
    const char *v = psi_arg(req, name);
    int64_t n;
    *out = dflt;
    if (!v)
        return 0;
    if (ps_parse_i64(v, &n) != 0 || n < lo || n > hi)
        return psi_error(resp, 400, "INVALID_PARAMETER",
                         "%s must be a whole number from %lld to %lld, not "
                         "\"%.64s\"",
                         name, (long long)lo, (long long)hi, v);
    *out = n;
    return 0;
}

int psi_body_json(psi_req *req, psi_resp *resp, json_t **out)
{
    json_error_t je;
    *out = NULL;
    if (!req->body.len)
        return psi_error(resp, 400, "INVALID_BODY",
                         "this request needs a JSON object as its body");
    json_t *j = json_loadb(req->body.data, req->body.len,
                           JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (!j)
        return psi_error(resp, 400, "INVALID_BODY",
                         "the body is not JSON: %s (line %d, column %d)",
                         je.text, je.line, je.column);
    if (!json_is_object(j)) {
        json_decref(j);
        return psi_error(resp, 400, "INVALID_BODY",
                         "the body must be a JSON object");
    }
    *out = j;
    return 0;
}

/* Compare two strings in time that depends on neither content nor length
 * (both are hashed first). */
static int secret_equal(const char *a, const char *b)
{
    char ha[65], hb[65];
    ps_sha256_hex(a, strlen(a), ha);
    ps_sha256_hex(b, strlen(b), hb);
    volatile unsigned char diff = 0;
    for (size_t i = 0; i < 64; i++)
        diff |= (unsigned char)(ha[i] ^ hb[i]);
    return diff == 0;
}

/* The token of an "Authorization: Bearer TOKEN" header, or NULL. */
static const char *bearer_token(psi_req *req)
{
    const char *h = req->conn ? MHD_lookup_connection_value(
                                    req->conn, MHD_HEADER_KIND, "Authorization")
                              : NULL;
    if (!h)
        return NULL;
    while (*h == ' ')
        h++;
    if (strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\t'))
        return NULL;
    h += 7;
    while (*h == ' ' || *h == '\t')
        h++;
    return h;
}

int psi_req_admin(psi_req *req)
{
    const char *want = req->srv->admin_token;
    if (!want)
        return 0;
    const char *tok = bearer_token(req);
    if (!tok)
        return 0;
    /* Trailing blanks are not part of the token. */
    size_t n = strlen(tok);
    while (n && (tok[n - 1] == ' ' || tok[n - 1] == '\t'))
        n--;
    char buf[512];
    if (n >= sizeof buf)
        return 0;
    memcpy(buf, tok, n);
    buf[n] = '\0';
    return secret_equal(buf, want);
}

/* Append the segments of path to (*seg, *n), percent-decoded if decode.
 * -1 on a bad escape or out of memory (what was appended stays owned). */
static int split_segments(const char *path, int decode, char ***seg, size_t *n)
{
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        size_t len = strcspn(p, "/");
        char *one = decode ? ps_pct_decode(p, len) : ps_strndup(p, len);
        char **grown = one ? ps_realloc(*seg, (*n + 1) * sizeof *grown) : NULL;
        if (!grown) {
            ps_free(one);
            return -1;
        }
        *seg = grown;
        (*seg)[(*n)++] = one;
        p += len;
    }
    return 0;
}

static void req_free(psi_req *req)
{
    for (size_t i = 0; i < req->nseg; i++)
        ps_free(req->seg[i]);
    ps_free(req->seg);
    ps_free(req->uri);
    ps_free(req->path);
    ps_buf_free(&req->body);
    ps_free(req);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    ps_server *srv = cls;
    psi_req *req = ps_calloc(1, sizeof *req);
    if (!req)
        return NULL;
    req->srv = srv;
    req->conn = conn;
    req->t0 = ps_mono_ns();
    req->uri = ps_strdup(uri ? uri : "");
    req->path = req->uri ? ps_strndup(req->uri, strcspn(req->uri, "?")) : NULL;
    ps_buf_init(&req->body, srv->opts.max_body_bytes);
    atomic_fetch_add(&srv->active, 1);
    return req;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    ps_server *srv = cls;
    psi_req *req = *con_cls;
    if (!req)
        return;
    if (srv->opts.access_log && req->method) {
        double ms = (double)(ps_mono_ns() - req->t0) / 1e6;
        char addr[64] = "-";
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
            inet_ntop(AF_INET,
                      &((const struct sockaddr_in *)ci->client_addr)->sin_addr,
                      addr, sizeof addr);
        ps_log(PS_LOG_INFO, "%s %s %s %d %zu %.1fms%s", addr, req->method,
               req->uri ? req->uri : "", req->status, req->bytes, ms,
               toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (aborted)");
    }
    atomic_fetch_sub(&srv->active, 1);
    req_free(req);
    *con_cls = NULL;
}

/* CORS: "*" is sent as the literal "*", which browsers honour only for
 * requests without credentials; reflecting any Origin with credentials
 * would let every web page read answers with its visitor's cookies or
 * tokens. One configured origin is sent as is (with Vary: Origin). */
static void add_cors(ps_server *srv, struct MHD_Connection *conn,
                     struct MHD_Response *r)
{
    (void)conn;
    const char *origin = srv->cors_origin;
    MHD_add_response_header(r, "Access-Control-Allow-Origin", origin);
    if (strcmp(origin, "*") != 0)
        MHD_add_response_header(r, "Vary", "Origin");
}

static enum MHD_Result send_resp(psi_req *req, psi_resp *resp)
{
    ps_server *srv = req->srv;
    struct MHD_Response *r = NULL;
    char *text = NULL;
    size_t len = 0;
    if (resp->fd >= 0) {
        r = MHD_create_response_from_fd64(resp->fd_size, resp->fd);
        if (!r)
            close(resp->fd);
        resp->fd = -1;
        len = (size_t)resp->fd_size;
    } else if (resp->json) {
        /* 16 significant digits: numbers print as they were written
         * (36.45, not 36.450000000000003, as LoopBack prints them); a
         * value that needs all 17 to round-trip loses its last bit. */
        text = json_dumps(resp->json, JSON_COMPACT | JSON_ENCODE_ANY |
                                          JSON_REAL_PRECISION(16));
        if (text) {
            len = strlen(text);
            r = MHD_create_response_from_buffer(len, text,
                                                MHD_RESPMEM_MUST_FREE);
            if (!r)
                free(text);
        }
        if (!resp->content_type)
            resp->content_type = "application/json; charset=utf-8";
    } else if (resp->body) {
        len = resp->len;
        r = MHD_create_response_from_buffer(len, resp->body,
                                            MHD_RESPMEM_MUST_COPY);
    } else {
        r = MHD_create_response_from_buffer(0, (void *)"",
                                            MHD_RESPMEM_PERSISTENT);
    }
    if (!r)
        return MHD_NO;
    if (resp->content_type)
        MHD_add_response_header(r, "Content-Type", resp->content_type);
    if (resp->cache_control)
        MHD_add_response_header(r, "Cache-Control", resp->cache_control);
    else if (resp->json)
        /* Storable, but to be checked again before use: the catalogue
         * changes with every harvest. (A federation keeps answers for its
         * own configured time.) */
        MHD_add_response_header(r, "Cache-Control", "no-cache");
    if (resp->location[0])
        MHD_add_response_header(r, "Location", resp->location);
    /* More headers, "Name: value\n" each (the federation's). */
    for (char *line = resp->headers; *line;) {
        char *nl = strchr(line, '\n');
        char *colon = strchr(line, ':');
        if (!nl || !colon || colon > nl)
            break;
        *colon = '\0';
        *nl = '\0';
        MHD_add_response_header(r, line, colon + 2);
        line = nl + 1;
    }
    if (resp->truncated) {
        char v[64];
        snprintf(v, sizeof v, "%zu", srv->opts.max_results);
        MHD_add_response_header(r, "X-Result-Limit", v);
        MHD_add_response_header(r, "X-Result-Truncated", "true");
    }
    add_cors(srv, req->conn, r);
    req->status = resp->status;
    req->bytes = len;
    enum MHD_Result ret =
        MHD_queue_response(req->conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Answer one request whose headers (and body) have arrived. */
static void dispatch(psi_req *req, psi_resp *resp)
{
    ps_server *srv = req->srv;
    if (strlen(req->uri) > srv->opts.max_url_bytes) {
        psi_error(resp, 414, NULL,
                  "the request URL is longer than %zu bytes; send a shorter "
                  "filter",
                  srv->opts.max_url_bytes);
        return;
    }
    if (req->too_big) {
        psi_error(resp, 413, NULL, "the request body is larger than %zu bytes",
                  srv->opts.max_body_bytes);
        return;
    }
    if (split_segments(req->path, 1, &req->seg, &req->nseg) != 0) {
        psi_error(resp, 400, NULL, "the request path has a bad %%-escape");
        return;
    }
    const psi_route *route = NULL;
    psi_match m = {0};
    int st = psi_route_find(srv, req->method, req->seg, req->nseg, &route, &m);
    if (st == 404) {
        psi_error(resp, 404, NULL, "no such endpoint: %s %s (see GET %s)",
                  req->method, req->path, srv->api_prefix);
        return;
    }
    if (st == 405) {
        char allow[64];
        psi_route_allowed(srv, req->seg, req->nseg, allow, sizeof allow);
        psi_error(resp, 405, NULL, "%s is not allowed on %s (allowed: %s)",
                  req->method, req->path, allow);
        snprintf(resp->headers, sizeof resp->headers, "Allow: %s\n", allow);
        return;
    }
    /* Writes need the admin token when one is configured. */
    if (srv->admin_token && strcmp(req->method, "GET") != 0 &&
        strcmp(req->method, "HEAD") != 0 && !psi_req_admin(req)) {
        int sent = bearer_token(req) != NULL;
        psi_error(resp, 401, "UNAUTHORIZED",
                  sent ? "the admin token sent is not the right one"
                       : "%s needs the admin token: send the header "
                         "\"Authorization: Bearer TOKEN\"",
                  req->method);
        snprintf(resp->headers, sizeof resp->headers,
                 "WWW-Authenticate: Bearer realm=\"pansift\"%s\n",
                 sent ? ", error=\"invalid_token\"" : "");
        psi_match_free(&m);
        return;
    }
    ps_err err = PS_ERR_INIT;
    psi_ctx *ctx = NULL;
    /* Files, the endpoint list and the OpenAPI document need no catalogue. */
    if (route->handler != psi_h_static && route->handler != psi_h_routes &&
        route->handler != psi_h_openapi) {
        ctx = psi_ctx_get(srv, &err);
        if (!ctx) {
            ps_log(PS_LOG_ERROR, "cannot open the data directory: %s", err.msg);
            psi_error(resp, 503, NULL, "the catalogue is not available: %s",
                      err.msg);
            psi_match_free(&m);
            return;
        }
    }
    if (ctx) {
        ctx->timeout_ms = srv->opts.query_timeout_ms;
        ctx->deadline_ns =
            ctx->timeout_ms > 0 ? req->t0 + ctx->timeout_ms * 1000000LL : 0;
    }
    resp->status = route->handler(req, ctx, &m, resp);
    psi_match_free(&m);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    psi_req *req = *con_cls;
    if (!req)
        return MHD_NO; /* out of memory in on_uri */
    if (!req->started) {
        req->started = 1;
        req->method = method;
        return MHD_YES; /* answer on the next call: keeps keep-alive */
    }
    if (*upload_size) {
        /* max_body_bytes 0 accepts no body at all (a ps_buf ceiling of 0
         * would mean none). */
        if (!req->too_big &&
            (req->srv->opts.max_body_bytes == 0 ||
             ps_buf_append(&req->body, upload, *upload_size) != PS_OK))
            req->too_big = 1;
        *upload_size = 0;
        return MHD_YES;
    }
    psi_resp resp;
    memset(&resp, 0, sizeof resp);
    resp.fd = -1;
    resp.status = 200;
    if (strcmp(method, "OPTIONS") == 0) {
        /* CORS preflight. */
        struct MHD_Response *r = MHD_create_response_from_buffer(
            0, (void *)"", MHD_RESPMEM_PERSISTENT);
        if (!r)
            return MHD_NO;
        add_cors(req->srv, conn, r);
        MHD_add_response_header(r, "Access-Control-Allow-Methods",
                                "GET, HEAD, POST, DELETE, OPTIONS");
        const char *h = MHD_lookup_connection_value(
            conn, MHD_HEADER_KIND, "Access-Control-Request-Headers");
        MHD_add_response_header(r, "Access-Control-Allow-Headers",
                                h ? h : "Content-Type");
        MHD_add_response_header(r, "Access-Control-Max-Age", "86400");
        req->status = 204;
        enum MHD_Result ret = MHD_queue_response(conn, 204, r);
        MHD_destroy_response(r);
        return ret;
    }
    dispatch(req, &resp);
    if (!resp.json && !resp.body && resp.fd < 0 && resp.status >= 400)
        psi_error(&resp, 500, NULL, "Internal Server Error");
    enum MHD_Result ret = send_resp(req, &resp);
    json_decref(resp.json);
    ps_free(resp.body);
    if (resp.fd >= 0)
        close(resp.fd);
    return ret;
}

static void on_mhd_error(void *cls, const char *fmt, va_list ap)
{
    char msg[256];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    ps_log(PS_LOG_DEBUG, "http: %s", msg);
}

/* ---- health
 * --------------------------------------------------------------------------------
 */

int psi_h_health(psi_req *req, psi_ctx *ctx, const psi_match *m, psi_resp *resp)
{
    ps_server *srv = req->srv;
    ps_err err = PS_ERR_INIT;
    int64_t store_seq = 0, index_seq = 0;
    ps_status rc = ps_store_max_seq(ctx->st, &store_seq, &err);
    if (rc == PS_OK)
        rc = ps_index_last_seq(ctx->idx, &index_seq, &err);
    if (rc != PS_OK)
        return psi_error(resp, 503, NULL, "unhealthy: %s", err.msg);
    resp->json = json_pack(
        "{s:s, s:s, s:I, s:{s:I, s:I, s:I, s:I, s:s}}", "status", "ok",
        "version", "0.1.0", "uptime_s",
        (json_int_t)((ps_now_ms() - srv->started_ms) / 1000), "index",
        "documents", (json_int_t)ps_index_doccount(ctx->idx), "last_seq",
        (json_int_t)index_seq, "store_seq", (json_int_t)store_seq, "lag",
        (json_int_t)(store_seq > index_seq ? store_seq - index_seq : 0),
        "indexer", srv->indexer_note[0] ? srv->indexer_note : "off");
    resp->cache_control = "no-store";
    return resp->json ? 200 : psi_error(resp, 500, NULL, "out of memory");
}

/* ---- starting and stopping ---------------------------------------------- */

static ps_status parse_listen(const char *listen, struct sockaddr_in *sa,
                              ps_err *err)
{
    char host[64];
    const char *colon = listen ? strrchr(listen, ':') : NULL;
    int64_t port;
    if (!colon || (size_t)(colon - listen) >= sizeof host ||
        ps_parse_i64(colon + 1, &port) != 0 || port < 0 || port > 65535)
        return ps_err_set(err, PS_ERR_INVALID,
                          "listen address \"%s\" is not ADDR:PORT (e.g. "
                          "127.0.0.1:8080)",
                          listen ? listen : "");
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
        return ps_err_set(err, PS_ERR_INVALID,
                          "listen address \"%s\": \"%s\" is not an IPv4 "
                          "address",
                          listen, host);
    return PS_OK;
}

static void server_free(ps_server *srv)
{
    ctx_free_all(srv);
    psi_fed_free(srv->fed);
    psi_fcache_free(srv->fcache);
    for (size_t i = 0; i < srv->napi_seg; i++)
        ps_free(srv->api_seg[i]);
    ps_free(srv->api_seg);
    ps_free(srv->data_dir);
    ps_free(srv->store_path);
    ps_free(srv->api_prefix);
    ps_free(srv->dashboard_dir);
    ps_free(srv->cors_origin);
    ps_free(srv->admin_token);
    ps_units_close(srv->units);
    ps_free(srv->openapi);
    pthread_mutex_destroy(&srv->ctx_lock);
    ps_free(srv);
}

ps_status ps_server_start(ps_server **out, const ps_server_opts *opts,
                          ps_err *err)
{
    *out = NULL;
    if (!opts || opts->version != PS_SERVER_OPTS_VERSION)
        return ps_err_set(err, PS_ERR_INVALID, "bad ps_server_opts");
    struct sockaddr_in sa;
    ps_status rc = parse_listen(opts->listen, &sa, err);
    if (rc != PS_OK)
        return rc;
    ps_server *srv = ps_calloc(1, sizeof *srv);
    if (!srv)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&srv->ctx_lock, NULL);
    srv->opts = *opts;
    srv->data_dir = ps_strdup(opts->data_dir);
    srv->store_path = ps_asprintf("%s/store.db", opts->data_dir);
    srv->api_prefix = ps_strdup(opts->api_prefix ? opts->api_prefix : "/api");
    srv->cors_origin = ps_strdup(opts->cors_origin ? opts->cors_origin : "*");
    srv->started_ms = ps_now_ms();
    if (opts->admin_token && *opts->admin_token) {
        srv->admin_token = ps_strdup(opts->admin_token);
        if (!srv->admin_token) {
            server_free(srv);
            return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        }
    }
    if (opts->dashboard_dir && *opts->dashboard_dir) {
        char real[4096];
        if (realpath(opts->dashboard_dir, real))
            srv->dashboard_dir = ps_strdup(real);
        else
            ps_log(PS_LOG_WARN,
                   "dashboard directory %s: %s; serving the API "
                   "only",
                   opts->dashboard_dir, strerror(errno));
    }
    if (!srv->data_dir || !srv->store_path || !srv->api_prefix ||
        !srv->cors_origin) {
        server_free(srv);
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    if (split_segments(srv->api_prefix, 0, &srv->api_seg, &srv->napi_seg)) {
        server_free(srv);
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    rc = psi_fcache_new(&srv->fcache, err);
    if (rc != PS_OK) {
        server_free(srv);
        return rc;
    }
    if (opts->federation && opts->federation->nproviders) {
        rc = psi_fed_new(&srv->fed, opts->federation, err);
        if (rc != PS_OK) {
            server_free(srv);
            return rc;
        }
    }
    rc = psi_openapi_render(&srv->openapi, &srv->openapi_len, srv->api_prefix,
                            err);
    if (rc != PS_OK) {
        server_free(srv);
        return rc;
    }
    /* Check the data directory now, so that a bad one is a clear error at
     * start rather than a 503 on every request (and migrate the store). */
    ps_store *st = NULL;
    ps_index *idx = NULL;
    rc = ps_store_open(&st, srv->store_path, NULL, err);
    if (rc == PS_OK)
        rc = ps_index_open(&idx, srv->data_dir, 0, err);
    if (rc == PS_OK)
        rc = ps_index_check_store(idx, st, err);
    ps_index_close(idx);
    ps_store_close(st);
    if (rc == PS_OK) {
        /* Parameter queries in units; without the database they are a
         * clear error, the rest of the API still works. */
        ps_err uerr = PS_ERR_INIT;
        if (ps_units_open(&srv->units, &uerr) != PS_OK)
            ps_log(PS_LOG_WARN, "%s; parameter queries with units will fail",
                   uerr.msg);
    }
    if (rc != PS_OK) {
        server_free(srv);
        return rc;
    }

    int threads = opts->threads > 0 ? opts->threads : ps_cpu_count();
    unsigned flags =
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    errno = 0;
    srv->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR, &sa,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads,
        MHD_OPTION_CONNECTION_LIMIT, opts->connection_limit,
        MHD_OPTION_CONNECTION_TIMEOUT, opts->connection_timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, opts->max_header_bytes,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, srv, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_error, srv,
        MHD_OPTION_END);
    if (!srv->daemon) {
        int e = errno;
        rc = ps_err_set(
            err, PS_ERR_IO, "cannot listen on %s: %s; %s", opts->listen,
            e ? strerror(e) : "libmicrohttpd refused to start",
            e == EADDRINUSE ? "another program uses that port: stop "
                              "it or pass --listen ADDR:PORT"
            : e == EACCES   ? "use a port above 1023"
                            : "check the address");
        server_free(srv);
        return rc;
    }
    const union MHD_DaemonInfo *di =
        MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = di ? di->port : ntohs(sa.sin_port);

    if (opts->index_refresh_ms > 0) {
        if (pthread_create(&srv->indexer, NULL, indexer_main, srv) == 0)
            srv->indexer_running = 1;
        else
            snprintf(srv->indexer_note, sizeof srv->indexer_note,
                     "off: cannot start a thread");
    } else {
        snprintf(srv->indexer_note, sizeof srv->indexer_note,
                 "off (index_refresh_ms = 0): run `pansift index` after "
                 "harvests");
    }
    *out = srv;
    return PS_OK;
}

int ps_server_port(const ps_server *srv) { return srv ? srv->port : 0; }

void ps_server_stop(ps_server *srv)
{
    if (!srv)
        return;
    srv->stopping = 1;
    /* Stop accepting, then let requests in progress finish. */
    MHD_socket fd = MHD_quiesce_daemon(srv->daemon);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    int64_t deadline = ps_mono_ns() + 10LL * 1000000000;
    while (atomic_load(&srv->active) > 0 && ps_mono_ns() < deadline) {
        /* Idle keep-alive connections hold no request: nothing to wait
         * for once every started request has completed. */
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
        const union MHD_DaemonInfo *di = MHD_get_daemon_info(
            srv->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
        if (di && di->num_connections == 0)
            break;
    }
    MHD_stop_daemon(srv->daemon);
    if (srv->indexer_running)
        pthread_join(srv->indexer, NULL);
    server_free(srv);
}
