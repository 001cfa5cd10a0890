/*
 * config.h: pansift's configuration, read once in main. Every setting is
 * declared once in the table of config.c (section, key, type, default,
 * bounds, help); the INI file is read with libinih and validated against
 * that table at start-up, so an unknown key or a bad value is an error that
 * names the file, the line and the key. Precedence: built-in defaults, then
 * the file, then the environment (PANSIFT_*), then the command line. The
 * components never read files or the environment themselves: main hands
 * them options structs filled from this.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef PS_CONFIG_H
#define PS_CONFIG_H

#include "common.h"

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One [source NAME] section. */
typedef struct ps_config_source {
    char *name;      /* NAME of [source NAME] */
    char *type;      /* "pan", ... (validated against the known types) */
    char *url;       /* http(s):// or file:// base URL; required */
    int enabled;     /* harvested by `pansift harvest` without names */
    long page_size;  /* records per request */
    long timeout_ms; /* per request, whole transfer */
    long connect_timeout_ms;
    long retries;             /* extra attempts on transient failures */
    long delay_ms;            /* pause between requests (politeness) */
    long max_response_bytes;  /* ceiling on one response body */
    char *user_agent;         /* overrides [harvest] user_agent */
    long requests_per_minute; /* rate limit; 0 = none */
    char *contact;            /* operator's e-mail; overrides [harvest] */
    char **options;           /* the type's own keys: key, value, ..., NULL */
    size_t noptions;          /* pairs in options */
    int *option_lines;        /* where each option was set */
    int line;                 /* line of the section header, for messages */
} ps_config_source;

/* One [provider NAME] section: a PaN search API the federation asks. */
typedef struct ps_config_provider {
    char *name;      /* NAME of [provider NAME] */
    char *url;       /* the provider's API base, http(s)://; required */
    long timeout_ms; /* its answer's time limit */
    char *weight;    /* a positive number, multiplies normalised scores */
    char *headers;   /* "Name: value | Name: value", sent with each request */
    int enabled;
    int line; /* line of the section header, for messages */
} ps_config_provider;

typedef struct ps_config {
    char *path; /* the file read, or NULL when only defaults apply */

    /* [pansift] */
    char *data_dir;
    char *log_level; /* error | warn | info | debug */

    /* [server] */
    char *listen;          /* ADDR:PORT; port 0 picks a free port */
    long threads;          /* worker threads; 0 = one per core */
    char *api_prefix;      /* "/api" */
    long max_url_bytes;    /* longer request URLs get 414 */
    long max_header_bytes; /* per-connection memory for headers (431) */
    long max_body_bytes;   /* larger request bodies get 413 */
    long connection_limit;
    long connection_timeout_s; /* idle keep-alive connections are closed */
    int access_log;            /* one line per request on stderr */
    char *dashboard_dir;       /* static files served at / */
    char *cors_origin;         /* "*" or one origin */
    long index_refresh_ms;     /* the server's indexer polls the store this
                                  often; 0 turns the in-server indexer off */
    long max_results;          /* most records in one answer */
    long query_timeout_ms;     /* queries running longer get 503 */
    char *admin_token;         /* writes (POST, DELETE) need it; "": none */

    /* [index] */
    long index_batch;     /* changes applied per Xapian commit */
    long rebuild_workers; /* parallel shard writers; 0 = one per core */

    /* [harvest] */
    char *user_agent;
    long harvest_timeout_ms;
    long harvest_connect_timeout_ms;
    long harvest_retries;
    long harvest_max_response_bytes;
    long harvest_batch;    /* records per store transaction */
    char *contact;         /* operator's e-mail, sent to polite pools */
    long harvest_parallel; /* sources harvested at the same time */

    /* [federation] */
    int federation_local; /* the local index is a provider too */
    long federation_deadline_ms;
    long federation_default_limit;
    long federation_max_window;
    long federation_cache_ttl_ms;
    long federation_cache_entries;
    long federation_cache_bytes;
    long federation_breaker_failures;
    long federation_breaker_cooldown_ms;

    ps_config_source *sources;
    size_t nsources;
    ps_config_provider *providers;
    size_t nproviders;
} ps_config;

/* Fill cfg with the built-in defaults (no file). Returns PS_ERR_NOMEM only. */
ps_status ps_config_defaults(ps_config *cfg, ps_err *err);

/* Defaults, then the INI file at path. Errors (cfg is freed and zeroed):
 * PS_ERR_IO (missing or unreadable file: the message names it and says what
 * to do), PS_ERR_CONFIG (syntax error, unknown section or key, bad value,
 * duplicate source, missing required key: "FILE:LINE: [section] key: what is
 * wrong"), PS_ERR_NOMEM. */
ps_status ps_config_load(ps_config *cfg, const char *path, ps_err *err);

/* Set one setting as if it came from the file (used for environment and
 * command-line overrides): section is "pansift", "server", "index",
 * "harvest", "federation" or "source NAME". PS_ERR_CONFIG with a message naming
 * `origin` (e.g. "--listen" or "PANSIFT_DATA_DIR") on a bad value or unknown
 * key. */
ps_status ps_config_set(ps_config *cfg, const char *section, const char *key,
                        const char *value, const char *origin, ps_err *err);

/* Apply PANSIFT_DATA_DIR, PANSIFT_LISTEN and PANSIFT_LOG_LEVEL from the
 * environment, if set. */
ps_status ps_config_apply_env(ps_config *cfg, ps_err *err);

/* Free everything cfg owns and zero it. NULL is a no-op. */
void ps_config_free(ps_config *cfg);

/* The source named name, or NULL. Borrowed; valid until ps_config_free. */
const ps_config_source *ps_config_source_find(const ps_config *cfg,
                                              const char *name);

/* Write every setting with its default and help text as a commented INI file
 * (what `pansift init` puts in the data directory). */
ps_status ps_config_write_template(FILE *out, ps_err *err);

/* Write the effective configuration (after file, environment, command line)
 * as INI. */
void ps_config_dump(const ps_config *cfg, FILE *out);

/* The value of a source's type option (e.g. "set" of an oai-pmh source),
 * or NULL. */
const char *ps_config_source_option(const ps_config_source *src,
                                    const char *key);

#ifdef __cplusplus
}
#endif
#endif /* PS_CONFIG_H */
