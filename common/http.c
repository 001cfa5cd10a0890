/*
 * http.c: the fetcher harvesters (and later federation) use for http(s) and
 * file:// URLs. One ps_http wraps one reused libcurl easy handle, so
 * connections are kept alive between the pages of a harvest. Every transfer
 * has a connect timeout, a total timeout and a ceiling on the body (checked
 * on the decoded bytes, so a compressed bomb stops too). Transient failures
 * are retried with exponential backoff; a Retry-After header (seconds or an
 * HTTP date) sets the wait instead, capped by max_backoff_ms. Not for
 * serving: the server is query/.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "common.h"

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct ps_http {
    CURL *curl;
    ps_http_opts opts;
    char *user_agent;
    struct curl_slist *headers;
    atomic_int cancelled;
    /* per transfer */
    ps_buf body;
    long retry_after_ms;
    char content_type[128];
    int toobig;
    ps_buf hdrs;  /* the last response's header lines */
    uint64_t rng; /* jitter of the backoff */
};

ps_status ps_http_global_init(ps_err *err)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return ps_err_set(err, PS_ERR_INTERNAL, "libcurl failed to initialise");
    return PS_OK;
}

void ps_http_global_cleanup(void) { curl_global_cleanup(); }

ps_status ps_http_new(ps_http **out, const ps_http_opts *opts, ps_err *err)
{
    *out = NULL;
    ps_http_opts def = PS_HTTP_OPTS_INIT;
    if (!opts)
        opts = &def;
    if (opts->version != PS_HTTP_OPTS_VERSION)
        return ps_err_set(err, PS_ERR_INVALID, "ps_http_opts version %d",
                          opts->version);
    ps_http *h = ps_calloc(1, sizeof *h);
    if (!h)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    h->opts = *opts;
    if (h->opts.connect_timeout_ms <= 0)
        h->opts.connect_timeout_ms = def.connect_timeout_ms;
    if (h->opts.timeout_ms <= 0)
        h->opts.timeout_ms = def.timeout_ms;
    if (h->opts.max_body == 0)
        h->opts.max_body = def.max_body;
    if (h->opts.retries < 0)
        h->opts.retries = 0;
    if (h->opts.max_backoff_ms <= 0)
        h->opts.max_backoff_ms = def.max_backoff_ms;
    h->user_agent = ps_strdup(opts->user_agent ? opts->user_agent
                                               : "pansift/"
                                                 "0.1");
    h->curl = curl_easy_init();
    if (!h->curl || !h->user_agent) {
        ps_http_free(h);
        return ps_err_set(err, PS_ERR_NOMEM, "cannot create an HTTP client");
    }
    h->opts.user_agent = h->user_agent;
    h->opts.headers = NULL;
    for (const char *const *p = opts->headers; p && *p; p++) {
        struct curl_slist *l = curl_slist_append(h->headers, *p);
        if (!l) {
            ps_http_free(h);
            return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        }
        h->headers = l;
    }
    *out = h;
    return PS_OK;
}

void ps_http_free(ps_http *h)
{
    if (!h)
        return;
    if (h->curl)
        curl_easy_cleanup(h->curl);
    curl_slist_free_all(h->headers);
    ps_buf_free(&h->body);
    ps_buf_free(&h->hdrs);
    ps_free(h->user_agent);
    ps_free(h);
}

void ps_http_cancel(ps_http *h)
{
    if (h)
        atomic_store(&h->cancelled, 1);
}

void ps_http_response_free(ps_http_response *resp)
{
    if (resp) {
        ps_free(resp->body);
        ps_free(resp->headers);
        resp->body = NULL;
        resp->headers = NULL;
        resp->body_len = 0;
    }
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    ps_http *h = ud;
    size_t n = size * nmemb;
    if (ps_buf_append(&h->body, ptr, n) != PS_OK) {
        h->toobig = 1;
        return 0; /* makes libcurl fail with CURLE_WRITE_ERROR */
    }
    return n;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    ps_http *h = ud;
    size_t n = size * nmemb;
    /* A status line starts a new response (after a redirect or a 100):
     * keep only the headers of the last one. Header lines past the
     * ceiling are dropped, not an error. */
    if (n >= 5 && memcmp(ptr, "HTTP/", 5) == 0)
        ps_buf_reset(&h->hdrs);
    else if (n > 2 && h->hdrs.len + n + 1 <= PS_HTTP_MAX_HEADERS)
        (void)ps_buf_append(&h->hdrs, ptr, n);
    char line[256];
    size_t len = n < sizeof line - 1 ? n : sizeof line - 1;
    memcpy(line, ptr, len);
    line[len] = '\0';
    while (len && (line[len - 1] == '\r' || line[len - 1] == '\n'))
        line[--len] = '\0';
    if (strncasecmp(line, "Retry-After:", 12) == 0) {
        const char *v = line + 12;
        while (*v == ' ' || *v == '\t')
            v++;
        int64_t secs;
        if (ps_parse_i64(v, &secs) == 0 && secs >= 0) {
            h->retry_after_ms = secs > 86400 ? 86400000 : (long)secs * 1000;
        } else {
            time_t when = curl_getdate(v, NULL);
            if (when != (time_t)-1) {
                int64_t d = (int64_t)when * 1000 - ps_now_ms();
                h->retry_after_ms = d < 0          ? 0
                                    : d > 86400000 ? 86400000
                                                   : (long)d;
            }
        }
    }
    return n;
}

static int is_cancelled(ps_http *h)
{
    return atomic_load(&h->cancelled) || (h->opts.cancel && *h->opts.cancel);
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut,
                       curl_off_t un)
{
    ps_http *h = ud;
    return is_cancelled(h);
}

/* Sleep ms milliseconds in slices, so ps_http_cancel is noticed. Returns
 * nonzero if cancelled. */
static int pause_ms(ps_http *h, long ms)
{
    int64_t end = ps_mono_ns() + (int64_t)ms * 1000000;
    while (!is_cancelled(h)) {
        int64_t left = end - ps_mono_ns();
        if (left <= 0)
            return 0;
        struct timespec ts = {0, left > 100000000 ? 100000000 : (long)left};
        nanosleep(&ts, NULL);
    }
    return 1;
}

static int transient_status(long st)
{
    return st == 408 || st == 425 || st == 429 || st == 500 || st == 502 ||
           st == 503 || st == 504;
}

static int transient_curl(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM: return 1;
    default: return 0;
    }
}

/* A wait of about ms, spread over [ms/2, ms] so that clients retrying
 * together do not hit the source together again. */
static long jitter(ps_http *h, long ms)
{
    if (ms < 2)
        return ms;
    if (!h->rng)
        h->rng = (uint64_t)ps_mono_ns() ^ (uint64_t)(uintptr_t)h;
    h->rng ^= h->rng << 13;
    h->rng ^= h->rng >> 7;
    h->rng ^= h->rng << 17;
    return ms / 2 + (long)(h->rng % (uint64_t)(ms / 2 + 1));
}

static ps_status http_request(ps_http *h, const char *url,
                              const ps_http_body *post, ps_http_response *resp,
                              ps_err *err)
{
    memset(resp, 0, sizeof *resp);
    /* Messages name the URL, cut so that the reason after it survives the
     * message's ceiling (long query strings: cursors, filters). */
    char shown[104];
    if (url && strlen(url) > 96)
        snprintf(shown, sizeof shown, "%.92s...", url);
    else
        snprintf(shown, sizeof shown, "%s", url ? url : "");
    if (!h || !url)
        return ps_err_set(err, PS_ERR_INVALID, "no URL to fetch");
    int is_file = ps_str_startswith(url, "file:");
    long backoff = h->opts.backoff_ms > 0 ? h->opts.backoff_ms : 500;
    ps_status st = PS_ERR_INTERNAL;

    for (int attempt = 0;; attempt++) {
        CURL *c = h->curl;
        curl_easy_reset(c);
        ps_buf_free(&h->body);
        ps_buf_init(&h->body, h->opts.max_body);
        ps_buf_free(&h->hdrs);
        ps_buf_init(&h->hdrs, PS_HTTP_MAX_HEADERS);
        h->retry_after_ms = -1;
        h->toobig = 0;
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,file");
        curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
        curl_easy_setopt(c, CURLOPT_USERAGENT, h->user_agent);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->headers);
        curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                         h->opts.connect_timeout_ms);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->opts.timeout_ms);
        curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
                         (curl_off_t)h->opts.max_body);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, h);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        struct curl_slist *hl = NULL;
        if (post) {
            curl_easy_setopt(c, CURLOPT_POST, 1L);
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, post->data);
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                             (curl_off_t)post->len);
            char *ct = ps_asprintf("Content-Type: %s", post->content_type
                                                           ? post->content_type
                                                           : "application/"
                                                             "x-www-form-"
                                                             "urlencoded");
            for (struct curl_slist *p = h->headers; p && ct; p = p->next)
                hl = curl_slist_append(hl, p->data);
            if (ct)
                hl = curl_slist_append(hl, ct);
            ps_free(ct);
            if (!hl)
                return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
            curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
        }

        CURLcode rc = curl_easy_perform(c);
        curl_slist_free_all(hl);
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (is_file && rc == CURLE_OK)
            status = 200;
        resp->status = status;
        resp->attempts = attempt + 1;
        char *ct = NULL;
        curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
        snprintf(resp->content_type, sizeof resp->content_type, "%s",
                 ct ? ct : "");

        int retry = 0;
        if (is_cancelled(h) || rc == CURLE_ABORTED_BY_CALLBACK) {
            st = ps_err_set(err, PS_ERR_CANCELLED, "fetching %s was cancelled",
                            url);
        } else if (h->toobig || rc == CURLE_FILESIZE_EXCEEDED) {
            st = ps_err_set(err, PS_ERR_TOOBIG,
                            "%s: the response is larger than the ceiling of "
                            "%zu bytes (raise max_response_bytes)",
                            shown, h->opts.max_body);
        } else if (rc == CURLE_FILE_COULDNT_READ_FILE) {
            st = ps_err_set(err, PS_ERR_NOTFOUND, "%s: no such file", shown);
        } else if (rc == CURLE_OPERATION_TIMEDOUT) {
            st = ps_err_set(err, PS_ERR_TIMEOUT, "%s: timed out after %ld ms",
                            shown, h->opts.timeout_ms);
            retry = 1;
        } else if (rc != CURLE_OK) {
            st = ps_err_set(err, PS_ERR_IO, "%s: %s", shown,
                            curl_easy_strerror(rc));
            retry = transient_curl(rc);
        } else if (status == 404 || status == 410) {
            st =
                ps_err_set(err, PS_ERR_NOTFOUND, "%s: HTTP %ld", shown, status);
        } else if (status < 200 || status > 299) {
            st =
                ps_err_set(err, PS_ERR_UPSTREAM, "%s: HTTP %ld", shown, status);
            retry = transient_status(status);
        } else {
            st = PS_OK;
        }

        if (st == PS_OK || !retry || attempt >= h->opts.retries) {
            if (h->hdrs.len)
                resp->headers = ps_buf_detach(&h->hdrs);
            if (h->body.data || st == PS_OK) {
                resp->body_len = h->body.len;
                resp->body = ps_buf_detach(&h->body);
                if (!resp->body && st == PS_OK)
                    st = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
            }
            if (st != PS_OK && retry && attempt > 0)
                ps_err_prefix(err, "after %d attempts", attempt + 1);
            return st;
        }
        long wait =
            h->retry_after_ms >= 0 ? h->retry_after_ms : jitter(h, backoff);
        if (wait > h->opts.max_backoff_ms)
            wait = h->opts.max_backoff_ms;
        if (pause_ms(h, wait))
            return ps_err_set(err, PS_ERR_CANCELLED,
                              "fetching %s was cancelled", shown);
        backoff = backoff * 2 > h->opts.max_backoff_ms ? h->opts.max_backoff_ms
                                                       : backoff * 2;
    }
}

ps_status ps_http_get(ps_http *h, const char *url, ps_http_response *resp,
                      ps_err *err)
{
    return http_request(h, url, NULL, resp, err);
}

ps_status ps_http_post(ps_http *h, const char *url, const ps_http_body *body,
                       ps_http_response *resp, ps_err *err)
{
    if (!body || ps_str_startswith(url ? url : "", "file:")) {
        memset(resp, 0, sizeof *resp);
        return ps_err_set(err, PS_ERR_INVALID, "%s: nothing to POST to",
                          url ? url : "(no URL)");
    }
    return http_request(h, url, body, resp, err);
}

int ps_http_header(const ps_http_response *resp, const char *name, char *out,
                   size_t size)
{
    size_t nlen = strlen(name);
    for (const char *p = resp ? resp->headers : NULL; p && *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > nlen && p[nlen] == ':' && strncasecmp(p, name, nlen) == 0) {
            const char *v = p + nlen + 1;
            const char *end = p + len;
            while (v < end && (*v == ' ' || *v == '\t'))
                v++;
            while (end > v && (end[-1] == '\r' || end[-1] == ' '))
                end--;
            if (size) {
                size_t n =
                    (size_t)(end - v) < size - 1 ? (size_t)(end - v) : size - 1;
                memcpy(out, v, n);
                out[n] = '\0';
            }
            return 1;
        }
        p = eol ? eol + 1 : p + len;
    }
    if (size)
        out[0] = '\0';
    return 0;
}
