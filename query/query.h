/*
 * query.h: the public header of the query server: the HTTP server
 * (libmicrohttpd, a pool of worker threads on epoll), its one route table,
 * the PaN search API answered over the index and the store, the full-text
 * search with highlighted snippets (/api/search), the match review and
 * collections endpoints (the only ones that write, behind an optional admin
 * token), the dashboard's static files, and the in-server indexer thread that
 * keeps the index within a second of the store. Also public, for tests and for
 * later endpoints: the PaN filter language (parse a LoopBack-style filter,
 * check a record against a where clause).
 *
 * Threads: ps_server_start starts the workers and returns; every worker has
 * its own store connection and index reader. ps_server_stop stops accepting,
 * lets requests in progress finish (up to a deadline), and frees everything.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef PS_QUERY_H
#define PS_QUERY_H

#include "common.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the server --------------------------------------------------------- */
typedef struct ps_server ps_server;

/* ---- federation (docs/federation.md) --------------------------------- */
typedef struct ps_fed_provider {
    const char *name;    /* as in answers and the status report */
    const char *url;     /* PaN API base, http(s):// */
    long timeout_ms;     /* its answer's time limit */
    double weight;       /* multiplies its normalised scores */
    const char *headers; /* "Name: value | Name: value", or NULL */
} ps_fed_provider;

typedef struct ps_fed_opts {
    int local;          /* the local index is a provider ("local") */
    long deadline_ms;   /* a whole federated request */
    long default_limit; /* a find without limit */
    long max_window;    /* largest skip + limit */
    long cache_ttl_ms;  /* 0: no cache */
    long cache_entries; /* cache ceilings */
    size_t cache_bytes;
    long breaker_failures;     /* failures in a row that open a circuit */
    long breaker_cooldown_ms;  /* how long an open circuit skips */
    size_t max_response_bytes; /* one provider's answer */
    const ps_fed_provider *providers; /* none: no federation */
    size_t nproviders;
} ps_fed_opts;

typedef struct ps_server_opts {
    int version;
    const char *data_dir;    /* holds store.db and the index */
    const char *listen;      /* "ADDR:PORT"; port 0 picks a free one */
    int threads;             /* worker threads; 0 = one per core */
    const char *api_prefix;  /* "/api" */
    size_t max_url_bytes;    /* longer URLs: 414 */
    size_t max_header_bytes; /* per-connection header memory: 431 */
    size_t max_body_bytes;   /* larger bodies: 413 */
    unsigned connection_limit;
    unsigned connection_timeout_s;
    int access_log;            /* one log line per request */
    const char *dashboard_dir; /* static files served at /; NULL: none */
    const char *cors_origin;   /* "*" or an origin */
    long index_refresh_ms;     /* in-server indexer period; 0: off */
    size_t index_batch;        /* changes per index commit */
    size_t max_results;        /* most records in one answer (caps limit) */
    long query_timeout_ms;     /* a query running longer gets 503; 0: none */
    const ps_fed_opts *federation; /* providers to federate; NULL: none */
    const char *admin_token; /* when set, requests other than GET, HEAD and
                                OPTIONS need "Authorization: Bearer TOKEN";
                                NULL or "": no check */
} ps_server_opts;

#define PS_SERVER_OPTS_VERSION 1
#define PS_SERVER_OPTS_INIT                                                    \
    {                                                                          \
        PS_SERVER_OPTS_VERSION, "data", "127.0.0.1:8080", 0, "/api", 16384,    \
            32768, 1048576, 1024, 30, 1, NULL, "*", 500, 1000, 100000, 10000,  \
            NULL, NULL                                                         \
    }

/* Open the data directory's store and index and start serving. Errors:
 * PS_ERR_INVALID (bad listen address or option), PS_ERR_IO (cannot listen:
 * the message says whether the port is in use or not permitted),
 * PS_ERR_NOTFOUND / PS_ERR_CORRUPT (store or index), PS_ERR_NOMEM. */
ps_status ps_server_start(ps_server **out, const ps_server_opts *opts,
                          ps_err *err);
/* The TCP port the server listens on (useful with port 0). */
int ps_server_port(const ps_server *srv);
/* Stop gracefully and free. NULL is a no-op. */
void ps_server_stop(ps_server *srv);

/* ---- the PaN filter language
 * ------------------------------------------------------- A where clause parsed
 * from LoopBack JSON: {"field": value},
 * {"field": {"op": value}}, {"and": [...]}, {"or": [...]}; several keys in
 * one object are ANDed. */
typedef struct ps_where ps_where;

/* Models of the PaN API and their relations. */
typedef enum {
    PS_PAN_DATASET = 0,
    PS_PAN_DOCUMENT,
    PS_PAN_INSTRUMENT,
    PS_PAN_FILE,
    PS_PAN_PARAMETER,
    PS_PAN_SAMPLE,
    PS_PAN_TECHNIQUE,
    PS_PAN_MEMBER,
    PS_PAN_PERSON,
    PS_PAN_AFFILIATION
} ps_pan_model;

typedef struct ps_pan_include {
    char *relation;
    ps_pan_model model;              /* the related model */
    ps_where *where;                 /* scope.where, or NULL */
    struct ps_pan_include *includes; /* scope.include */
    size_t nincludes;
    int filters_parent; /* the scope restricts the parent (inner join) */
} ps_pan_include;

typedef struct ps_pan_order {
    char *field;
    int descending;
} ps_pan_order;

typedef struct ps_pan_filter {
    ps_pan_model model;
    ps_where *where;
    ps_pan_include *includes;
    size_t nincludes;
    int64_t limit; /* 0: no limit */
    int64_t skip;
    ps_pan_order *order;
    size_t norder;
    char **fields; /* projection; NULL: all */
    size_t nfields;
    char *query; /* free-text relevance query, or NULL */
} ps_pan_filter;

/* Parse a filter (the text of ?filter=) for model. NULL or "" is the empty
 * filter. PS_ERR_INVALID with a message a client can act on ("where.title:
 * unknown operator \"lik\"") for anything malformed. *out: free with
 * ps_pan_filter_free. */
ps_status ps_pan_filter_parse(ps_pan_model model, const char *text,
                              ps_pan_filter **out, ps_err *err);
void ps_pan_filter_free(ps_pan_filter *f);
/* Parse a bare where clause (the ?where= of /count). */
ps_status ps_pan_where_parse(ps_pan_model model, const char *text,
                             ps_where **out, ps_err *err);
void ps_where_free(ps_where *w);
/* Does the PaN JSON object obj satisfy w? (LoopBack semantics: loose
 * equality, array fields match on any element, dates compared as times,
 * unanchored like patterns.) NULL w matches everything. */
int ps_where_match(const ps_where *w, ps_pan_model model, const json_t *obj);

#ifdef __cplusplus
}
#endif
#endif /* PS_QUERY_H */
