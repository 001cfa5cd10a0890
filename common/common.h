/*
 * common.h: the public header of pansift's shared layer, used by every other
 * component. It defines the one status enum of the project and the caller-owned
 * error struct that carries a message with it, logging, a replaceable
 * allocator (so tests can fail the Nth allocation), a growable buffer with a
 * ceiling for everything fed from outside, string, time and hashing helpers,
 * the HTTP/file fetcher used by harvesters and federation, and the unit
 * converter (udunits2). It holds no knowledge of entities, the store or the
 * index; those live in their own components.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef PS_COMMON_H
#define PS_COMMON_H

#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status and errors ---------------------------------------------------
 * Zero is success. Values are appended, never renumbered or removed. A code is
 * for branching; the message in ps_err is for humans. */
typedef enum {
    PS_OK = 0,
    PS_ERR_NOMEM,    /* an allocation failed */
    PS_ERR_INVALID,  /* bad argument or bad input (a 400 at the HTTP layer) */
    PS_ERR_NOTFOUND, /* no such record, file or key (a 404) */
    PS_ERR_IO,       /* file system or socket error */
    PS_ERR_BUSY,     /* locked by another process or thread; retry later */
    PS_ERR_TIMEOUT,  /* a deadline passed */
    PS_ERR_PARSE,    /* malformed JSON, XML, INI, date, ... */
    PS_ERR_UPSTREAM, /* a remote service answered with an error or garbage */
    PS_ERR_TOOBIG,   /* a buffer fed from outside reached its ceiling */
    PS_ERR_INDEX,    /* the Xapian index failed */
    PS_ERR_DB,       /* the SQLite store failed */
    PS_ERR_INTERNAL, /* a bug: an invariant does not hold */
    PS_ERR_CONFIG,   /* configuration file or option is wrong */
    PS_ERR_CORRUPT,  /* a store or index file is damaged or not ours */
    PS_ERR_RETRY,    /* transient: the same call may succeed if repeated */
    PS_ERR_CANCELLED /* stopped on request (signal, deadline of the caller) */
} ps_status;

/* Static English text for a status ("out of memory", ...). Never NULL. */
const char *ps_status_str(ps_status status);

/* Error detail, owned by the caller (usually on its stack). Fallible
 * functions take it as their last parameter; it may be NULL. Filled only on
 * failure; no allocation, so it is safe in any thread. */
typedef struct ps_err {
    ps_status code;
    char msg[256];
} ps_err;

#define PS_ERR_INIT                                                            \
    {                                                                          \
        PS_OK, { 0 }                                                           \
    }

/* Fill err (if not NULL) with code and a printf-style message; returns code
 * so that `return ps_err_set(err, PS_ERR_INVALID, "...")` reads naturally. */
ps_status ps_err_set(ps_err *err, ps_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prefix an existing message: "context: old message". Keeps the code. */
ps_status ps_err_prefix(ps_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Reset err to PS_OK with an empty message (a function that swallows an inner
 * error clears it). NULL is a no-op. */
void ps_err_clear(ps_err *err);

/* ---- logging -------------------------------------------------------------
 * Libraries (harvesters/, indexer/, store/) do not print: they report through
 * ps_err. The server and the CLI log through ps_log; the level is checked
 * before the arguments are evaluated. */
typedef enum {
    PS_LOG_ERROR = 0,
    PS_LOG_WARN = 1,
    PS_LOG_INFO = 2,
    PS_LOG_DEBUG = 3
} ps_log_level;

extern int ps_log_threshold;
void ps_log_set_level(ps_log_level level);
/* Parse "error", "warn", "info", "debug"; returns -1 if unknown. */
int ps_log_level_parse(const char *name);
void ps_log_write(ps_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define ps_log(level, ...)                                                     \
    do {                                                                       \
        if ((int)(level) <= ps_log_threshold)                                  \
            ps_log_write((level), __VA_ARGS__);                                \
    } while (0)

/* ---- allocation ----------------------------------------------------------
 * Every component allocates through these so that tests can make the Nth
 * allocation fail and check for a clean PS_ERR_NOMEM and no leak. Memory from
 * ps_malloc is freed with ps_free. (jansson, SQLite and Xapian keep their own
 * allocators.) */
void *ps_malloc(size_t size);
void *ps_calloc(size_t n, size_t size);
void *ps_realloc(void *ptr, size_t size);
void ps_free(void *ptr);
char *ps_strdup(const char *s); /* NULL in, NULL out */
char *ps_strndup(const char *s, size_t n);
char *ps_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Test hook: fail every allocation after `n` more have succeeded; -1 turns
 * fault injection off. Returns the number of allocations made since the
 * last call. */
long ps_alloc_fail_after(long n);

/* ---- growable buffer with a ceiling -------------------------------------
 * Anything accumulated from outside (HTTP bodies, files, PDF text) goes
 * through a ps_buf whose max is set at init; going past it is PS_ERR_TOOBIG.
 * The data is always NUL-terminated (the NUL is not counted in len). */
typedef struct ps_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max; /* 0 means no ceiling: only for internally generated data */
} ps_buf;

void ps_buf_init(ps_buf *b, size_t max);
ps_status ps_buf_append(ps_buf *b, const void *data, size_t len);
ps_status ps_buf_puts(ps_buf *b, const char *s);
ps_status ps_buf_printf(ps_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void ps_buf_reset(ps_buf *b); /* len = 0, keeps the memory */
void ps_buf_free(ps_buf *b);
/* Hand the data over to the caller (free with ps_free); the buffer is empty
 * afterwards. Never NULL for an initialised buffer unless out of memory. */
char *ps_buf_detach(ps_buf *b);
/* Append the bytes of the file at path (b's ceiling applies). Errors name
 * the file: PS_ERR_NOTFOUND / PS_ERR_IO ("PATH: reason"), PS_ERR_TOOBIG
 * ("PATH: larger than MAX bytes"); b keeps what it had before. */
ps_status ps_buf_read_file(ps_buf *b, const char *path, ps_err *err);

/* ---- strings --------------------------------------------------------------
 */
int ps_str_startswith(const char *s, const char *prefix);
int ps_str_endswith(const char *s, const char *suffix);
/* Lower-case the ASCII letters of s[0..len) in place (other bytes, UTF-8
 * included, are left as they are); len (size_t)-1: up to the NUL. */
void ps_str_lower(char *s, size_t len);
/* Decode %XX escapes (and not '+') into a new string; NULL on a bad escape or
 * a decoded NUL byte. Free with ps_free. */
char *ps_pct_decode(const char *s, size_t len);
/* Encode everything but unreserved characters (RFC 3986). Free with ps_free. */
char *ps_pct_encode(const char *s);
/* Parse a whole string as a signed 64-bit integer / a double; 0 on success,
 * -1 when the text is empty, has trailing garbage or overflows. */
int ps_parse_i64(const char *s, int64_t *out);
int ps_parse_double(const char *s, double *out);
/* Number of online CPU cores (at least 1). */
int ps_cpu_count(void);

/* ---- time --------------------------------------------------------------- */
/* Milliseconds since the epoch, wall clock. */
int64_t ps_now_ms(void);
/* Monotonic clock in nanoseconds, for durations. */
int64_t ps_mono_ns(void);
/* Parse ISO-8601 / RFC 3339 as used by PaN APIs and harvest sources:
 * "2020", "2020-05", "2020-05-05", "2020-05-05T15:01:02", with optional
 * fraction and "Z" or "+hh:mm" offset; a space may replace the 'T'. Dates
 * without a zone are UTC. Writes milliseconds since the epoch. Returns
 * PS_ERR_PARSE for anything else. */
ps_status ps_time_parse(const char *s, int64_t *ms_out);
/* Format as JavaScript's Date.toJSON(): "2020-05-05T15:01:02.341Z".
 * buf must hold at least PS_TIME_BUFSZ bytes. Returns buf. */
#define PS_TIME_BUFSZ 32
char *ps_time_format(int64_t ms, char *buf);

/* ---- hashing --------------------------------------------------------------
 */
/* SHA-256 of data as 64 lower-case hex digits plus NUL in out. */
void ps_sha256_hex(const void *data, size_t len, char out[65]);

/* ---- JSON helpers (jansson) --------------------------------------------- */
/* SHA-256 of the canonical form of v (compact, keys sorted), so that two
 * equal records hash equally whatever their key order. */
ps_status ps_json_hash(const json_t *v, char out[65], ps_err *err);
/* Parse text (len bytes) as JSON. PS_ERR_PARSE with jansson's message,
 * line and column on failure. *out is a new reference. */
ps_status ps_json_parse(const char *text, size_t len, json_t **out,
                        ps_err *err);
/* Borrowed getters: the member's value if it has the type, else NULL/dflt. */
const char *ps_json_str(const json_t *obj, const char *key);
int ps_json_bool(const json_t *obj, const char *key, int dflt);
/* A number member (integer or real) into *out; 0 if present, -1 if not. */
int ps_json_num(const json_t *obj, const char *key, double *out);

/* ---- fetching: HTTP(S) and file:// ----------------------------------------
 * One client per thread (it reuses one libcurl easy handle and its
 * connections). Every transfer has a connect timeout, a total timeout and a
 * ceiling on the body. Transient failures (connection errors, timeouts, 429,
 * 5xx) are retried with exponential backoff, honouring Retry-After; the
 * last failure is returned. file:// URLs are read from disk with the same
 * ceiling. */
typedef struct ps_http ps_http;

typedef struct ps_http_opts {
    int version;
    const char *user_agent;     /* default "pansift/<version>" */
    long connect_timeout_ms;    /* default 10000 */
    long timeout_ms;            /* whole transfer; default 60000 */
    size_t max_body;            /* ceiling for one body; default 64 MiB */
    int retries;                /* extra attempts on transient errors; 4 */
    long backoff_ms;            /* first backoff, doubled each time; 500 */
    long max_backoff_ms;        /* cap, also for Retry-After; 60000 */
    const char *const *headers; /* extra "Name: value" lines, NULL-ended */
    volatile int *cancel;       /* non-zero stops transfers and waits */
} ps_http_opts;

#define PS_HTTP_OPTS_VERSION 1
#define PS_HTTP_OPTS_INIT                                                      \
    {                                                                          \
        PS_HTTP_OPTS_VERSION, NULL, 10000, 60000, 64u << 20, 4, 500, 60000,    \
            NULL, NULL                                                         \
    }

typedef struct ps_http_response {
    long status; /* HTTP status; 200 for a file read */
    char *body;  /* NUL-terminated, owned: free with ps_http_response_free */
    size_t body_len;
    char content_type[128];
    int attempts;  /* how many attempts were made */
    char *headers; /* the response's header lines ("Name: value\r\n"...),
                      at most PS_HTTP_MAX_HEADERS bytes; NULL if none */
} ps_http_response;

/* Ceiling on the header lines kept from one response. */
#define PS_HTTP_MAX_HEADERS ((size_t)32 * 1024)

/* A request body for ps_http_post. content_type NULL: a form
 * (application/x-www-form-urlencoded). */
typedef struct ps_http_body {
    const char *data;
    size_t len;
    const char *content_type;
} ps_http_body;

/* Create a client. Returns PS_OK, PS_ERR_NOMEM, PS_ERR_INVALID (opts). */
ps_status ps_http_new(ps_http **out, const ps_http_opts *opts, ps_err *err);
void ps_http_free(ps_http *http); /* NULL is a no-op */
/* GET url. On PS_OK the response has status 2xx. Other outcomes:
 * PS_ERR_UPSTREAM (non-2xx after retries; resp->status says which),
 * PS_ERR_TIMEOUT, PS_ERR_IO (connection or file error), PS_ERR_TOOBIG,
 * PS_ERR_NOTFOUND (404 or missing file), PS_ERR_NOMEM, PS_ERR_CANCELLED
 * (ps_http_cancel was called). resp is filled in every case where a
 * response arrived; free it with ps_http_response_free. */
ps_status ps_http_get(ps_http *http, const char *url, ps_http_response *resp,
                      ps_err *err);
/* POST body to url, with the same timeouts, ceilings and retries as a
 * GET (a POST is retried only on the transient failures a GET is). */
ps_status ps_http_post(ps_http *http, const char *url, const ps_http_body *body,
                       ps_http_response *resp, ps_err *err);
/* The value of the response header name (any letter case) into out (size
 * bytes, cut if longer): 1 if the response has it, else 0 and out "". */
int ps_http_header(const ps_http_response *resp, const char *name, char *out,
                   size_t size);
void ps_http_response_free(ps_http_response *resp);
/* Ask a running ps_http_get (from another thread or a signal handler) to stop
 * at the next opportunity. */
void ps_http_cancel(ps_http *http);
/* Global libcurl set-up; call once from main before threads start. */
ps_status ps_http_global_init(ps_err *err);
void ps_http_global_cleanup(void);

/* ---- units (udunits2) -----------------------------------------------------
 * Converts physical quantities to SI and between units, with the unit names
 * PaN clients use (eV, keV, J, nm, pm, angstrom, K, celsius, fahrenheit, Pa,
 * bar, mbar, atm, s, min, h, Hz, T, ...). Thread-safe (one lock inside). */
typedef struct ps_units ps_units;

/* Load the unit database (once per process: every open returns the same
 * shared handle, the last close frees it, because udunits2 has global
 * state that two threads must not touch at once). PS_ERR_IO if udunits2's
 * XML files are missing. */
ps_status ps_units_open(ps_units **out, ps_err *err);
void ps_units_close(ps_units *units); /* NULL is a no-op */
/* Convert value in `unit` to SI. Writes the SI value and the SI unit in
 * udunits2's ASCII notation ("m2.kg.s-2", "K", "m") into si_unit (size
 * bytes). An empty unit or "" is dimensionless: the value is unchanged and
 * si_unit is "". PS_ERR_INVALID if the unit is unknown. */
ps_status ps_units_to_si(ps_units *units, double value, const char *unit,
                         double *si_out, char *si_unit, size_t size,
                         ps_err *err);
/* Convert value from one unit to another. PS_ERR_INVALID if either unit is
 * unknown or they are not convertible (a temperature in metres). */
ps_status ps_units_convert(ps_units *units, double value, const char *from,
                           const char *to, double *out, ps_err *err);

#ifdef __cplusplus
}
#endif
#endif /* PS_COMMON_H */
