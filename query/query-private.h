/*
 * query-private.h: what the query server's files share: the where-clause
 * tree and the PaN models' field schemas (filter.c), the request/response
 * of one HTTP exchange and the route table (server.c, routes.c), the
 * per-thread query context (store connection and index reader), rendering
 * store entities as PaN JSON (render.c), the full-text search (search.c),
 * planning/executing PaN queries over the index (plan.c), the match review
 * and collections endpoints (matches.c, collections.c) and the built-in
 * OpenAPI document (openapi.c). Not part of the public API (query.h is).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef PS_QUERY_PRIVATE_H
#define PS_QUERY_PRIVATE_H

#include "index.h"
#include "query.h"
#include "store.h"

#include <microhttpd.h>
#include <regex.h>
#include <stdatomic.h>

/* ---- the PaN models ----------------------------------------------------- */

typedef enum {
    PSI_FT_STRING,
    PSI_FT_NUMBER,
    PSI_FT_BOOL,
    PSI_FT_DATE,
    PSI_FT_ANY,         /* Parameter.value: number or string */
    PSI_FT_STRING_ARRAY /* Document.keywords */
} psi_ftype;

typedef struct psi_field {
    const char *name;
    psi_ftype type;
} psi_field;

typedef struct psi_relation {
    const char *name;
    ps_pan_model model;
    int many; /* to-many (array) or to-one (object) */
} psi_relation;

const char *psi_model_name(ps_pan_model m); /* "Dataset", ... */
const psi_field *psi_model_field(ps_pan_model m, const char *name);
const psi_relation *psi_model_relation(ps_pan_model m, const char *name);
/* Comma-separated field names, for error messages. */
void psi_model_field_list(ps_pan_model m, char *out, size_t size);
/* Fields the `text` operator searches (NULL-terminated). */
const char *const *psi_model_text_fields(ps_pan_model m);

/* ---- where clauses ------------------------------------------------------ */

typedef enum {
    PSI_W_TRUE, /* the empty where */
    PSI_W_AND,
    PSI_W_OR,
    PSI_W_COND
} psi_wtype;

typedef enum {
    PSI_OP_EQ,
    PSI_OP_NEQ,
    PSI_OP_GT,
    PSI_OP_GTE,
    PSI_OP_LT,
    PSI_OP_LTE,
    PSI_OP_BETWEEN,
    PSI_OP_INQ,
    PSI_OP_NIN,
    PSI_OP_LIKE,
    PSI_OP_NLIKE,
    PSI_OP_ILIKE,
    PSI_OP_NILIKE,
    PSI_OP_REGEXP,
    PSI_OP_TEXT /* the `text` pseudo-field: ilike on the model's text fields */
} psi_op;

struct ps_where {
    psi_wtype type;
    ps_where **kids;
    size_t nkids;
    char *field;          /* COND: the field (NULL for TEXT) */
    const psi_field *def; /* COND: its schema entry */
    psi_op op;
    json_t *value; /* COND: the operand (array for between/inq/nin) */
    regex_t *re;   /* like/ilike/regexp/text */
    struct psi_techset *tech; /* technique scopes: the expanded set */
    struct psi_unitq *uq;     /* parameter scopes: the query's unit, in SI */
};

/* Evaluate w's and/or tree, each condition by leaf(cond, arg); a NULL or
 * empty where holds. */
typedef int (*psi_leaf_fn)(const ps_where *cond, void *arg);
int psi_where_eval(const ps_where *w, psi_leaf_fn leaf, void *arg);
/* A boolean operand: 1 true (true, "true" in any case, "1"), 0 false, -1
 * neither. */
int psi_bool_value(const json_t *v);

/* ---- technique scopes (techniques.c) ------------------------------------ */

typedef struct psi_techset psi_techset;
void psi_techset_free(psi_techset *t);
typedef struct psi_unitq psi_unitq;
void psi_unitq_free(psi_unitq *u);

/* ---- HTTP exchanges ----------------------------------------------------- */

typedef struct psi_ctx psi_ctx;

typedef struct psi_req {
    ps_server *srv;
    struct MHD_Connection *conn;
    const char *method;
    char *uri;  /* the raw request target, as received */
    char *path; /* its path part, still percent-encoded */
    char **seg; /* decoded path segments */
    size_t nseg;
    ps_buf body;
    int started; /* the first access-handler call has happened */
    int too_big; /* the body passed its ceiling */
    int status;  /* for the access log */
    size_t bytes;
    int64_t t0;
    /* Arguments that take the place of the request's own (key, value, ...,
     * NULL): the federation asks the local index this way. */
    const char *const *args_override;
} psi_req;

typedef struct psi_resp {
    int status;
    json_t *json; /* owned; or: */
    char *body;   /* owned (ps_malloc) */
    size_t len;
    const void *static_body; /* borrowed, static */
    int fd;                  /* a file to send (owned), or -1 */
    uint64_t fd_size;
    const char *content_type;
    const char *cache_control;
    char location[256];         /* redirect target, if any */
    int truncated;              /* the answer hit max_results */
    char headers[1024];         /* more header lines, "Name: value\n" each */
    char cache_control_buf[48]; /* cache_control may point here */
} psi_resp;

/* What a route pattern captured. */
typedef struct psi_match {
    ps_pan_model model;
    char *pid;  /* decoded, owned */
    char *file; /* static file path under the dashboard, owned */
} psi_match;

typedef int (*psi_handler)(psi_req *req, psi_ctx *ctx, const psi_match *m,
                           psi_resp *resp);

typedef struct psi_route {
    const char *method;  /* "GET", "POST", "DELETE" */
    const char *pattern; /* "$api/:model/count", "/health", ... */
    psi_handler handler;
    const char *summary;
} psi_route;

/* Find the route for method and segments; 0 found, 404 no path, 405 path
 * known but not for this method. */
int psi_route_find(const ps_server *srv, const char *method, char **seg,
                   size_t nseg, const psi_route **route, psi_match *m);
void psi_match_free(psi_match *m);
/* The methods of the routes whose path matches ("GET, POST") into buf. */
void psi_route_allowed(const ps_server *srv, char **seg, size_t nseg, char *buf,
                       size_t size);

/* Fill resp with the LoopBack-style error body
 * {"error":{"statusCode","name","message"[,"code"]}} and return status. */
int psi_error(psi_resp *resp, int status, const char *code, const char *fmt,
              ...) __attribute__((format(printf, 4, 5)));
/* Map a ps_status to an HTTP status and error body. */
int psi_error_status(psi_resp *resp, const ps_err *err);

/* Handlers (pan-api.c, search.c, server.c, static.c, routes.c,
 * openapi.c). */
int psi_h_health(psi_req *req, psi_ctx *ctx, const psi_match *m,
                 psi_resp *resp);
int psi_h_pan_find(psi_req *req, psi_ctx *ctx, const psi_match *m,
                   psi_resp *resp);
int psi_h_pan_count(psi_req *req, psi_ctx *ctx, const psi_match *m,
                    psi_resp *resp);
int psi_h_pan_by_pid(psi_req *req, psi_ctx *ctx, const psi_match *m,
                     psi_resp *resp);
int psi_h_pan_files(psi_req *req, psi_ctx *ctx, const psi_match *m,
                    psi_resp *resp);
int psi_h_pan_files_count(psi_req *req, psi_ctx *ctx, const psi_match *m,
                          psi_resp *resp);
int psi_h_static(psi_req *req, psi_ctx *ctx, const psi_match *m,
                 psi_resp *resp);
int psi_h_routes(psi_req *req, psi_ctx *ctx, const psi_match *m,
                 psi_resp *resp);
int psi_h_openapi(psi_req *req, psi_ctx *ctx, const psi_match *m,
                  psi_resp *resp);
int psi_h_search(psi_req *req, psi_ctx *ctx, const psi_match *m,
                 psi_resp *resp);
/* The match review (matches.c) and collections (collections.c). */
int psi_h_matches(psi_req *req, psi_ctx *ctx, const psi_match *m,
                  psi_resp *resp);
int psi_h_match_judge(psi_req *req, psi_ctx *ctx, const psi_match *m,
                      psi_resp *resp);
int psi_h_collections(psi_req *req, psi_ctx *ctx, const psi_match *m,
                      psi_resp *resp);
int psi_h_collection_create(psi_req *req, psi_ctx *ctx, const psi_match *m,
                            psi_resp *resp);
int psi_h_collection(psi_req *req, psi_ctx *ctx, const psi_match *m,
                     psi_resp *resp);
int psi_h_collection_delete(psi_req *req, psi_ctx *ctx, const psi_match *m,
                            psi_resp *resp);
int psi_h_collection_add(psi_req *req, psi_ctx *ctx, const psi_match *m,
                         psi_resp *resp);
int psi_h_collection_remove(psi_req *req, psi_ctx *ctx, const psi_match *m,
                            psi_resp *resp);

/* The value of query argument name (decoded), or NULL. */
const char *psi_arg(psi_req *req, const char *name);
/* The request body parsed as a JSON object into *out (a new reference):
 * 0, or the status of the 400 error put in resp (no body, not JSON, not an
 * object). */
int psi_body_json(psi_req *req, psi_resp *resp, json_t **out);
/* Did the request show the configured admin token (Authorization: Bearer)?
 * 0 when no token is configured. Compared in constant time. */
int psi_req_admin(psi_req *req);
/* A query argument that is a whole number in [lo, hi]: 0 with *out set (dflt
 * when absent), or the status of the 400 error put in resp. */
int psi_arg_int(psi_req *req, psi_resp *resp, const char *name, int64_t lo,
                int64_t hi, int64_t dflt, int64_t *out);

/* ---- the server and its per-thread contexts ----------------------------- */

struct ps_server {
    ps_server_opts opts;
    char *data_dir, *store_path, *api_prefix, *dashboard_dir, *cors_origin;
    char **api_seg; /* api_prefix split into segments */
    size_t napi_seg;
    char *admin_token; /* NULL: writes need no token */
    char *openapi;     /* the OpenAPI document served, servers[0].url set */
    size_t openapi_len;
    struct MHD_Daemon *daemon;
    int port;
    int64_t started_ms;
    atomic_uint index_gen; /* bumped by the in-server indexer after commits */
    atomic_int active;     /* requests in progress */
    ps_units *units;       /* unit conversion of parameter queries */
    pthread_mutex_t ctx_lock;
    psi_ctx *ctxs; /* every thread's context, freed at stop */
    /* the in-server indexer */
    pthread_t indexer;
    int indexer_running;
    volatile int stopping;
    atomic_llong index_seq;    /* what the indexer last applied */
    char indexer_note[320];    /* state, last error */
    struct psi_fed *fed;       /* federation.c; NULL: not federating */
    struct psi_fcache *fcache; /* facets.c: the latest index generation */
};

struct psi_ctx {
    psi_ctx *next;
    ps_store *st;  /* read-only */
    ps_store *wst; /* the writer (match review, collections), on first use */
    ps_index *idx;
    unsigned gen; /* index_gen when idx was last refreshed */
    int64_t refreshed_ms;
    int64_t deadline_ns; /* the current request stops here (0: never) */
    long timeout_ms;     /* what the deadline was set from, for messages */
};

/* The calling thread's context, opened on first use. NULL with err filled
 * if the store or index cannot be opened. */
psi_ctx *psi_ctx_get(ps_server *srv, ps_err *err);
/* The context's writable store connection, opened on first use (the
 * readers are read-only). NULL with err filled if it cannot be opened. */
ps_store *psi_ctx_writer(ps_server *srv, psi_ctx *ctx, ps_err *err);

/* ---- federation (federation.c) -------------------------------------------
 * With providers configured, the PaN handlers hand their requests here: the
 * request goes to every provider in parallel (the local index through the
 * handler itself, with args_override), the answers are merged. */
typedef struct psi_fed psi_fed;
ps_status psi_fed_new(psi_fed **out, const ps_fed_opts *opts, ps_err *err);
void psi_fed_free(psi_fed *fed);
/* The federated answer to a PaN request of handler h (the local one). */
int psi_fed_answer(psi_req *req, psi_ctx *ctx, const psi_match *m,
                   psi_resp *resp, psi_handler h);
int psi_h_fed_status(psi_req *req, psi_ctx *ctx, const psi_match *m,
                     psi_resp *resp);

/* ---- facets and in-memory browsing (facets.c, docs/facets.md) -----------
 * One generation of the index read into compact arrays: per facet a
 * docid -> value-ids table and the values' display names, bitmaps of each
 * kind and of what the public may see, and per document its year, sort
 * date, size and citations. Sets of documents are bitmaps of nwords
 * 64-bit words (psi_bits_*). */
enum {
    PSI_F_YEAR,
    PSI_F_TYPE,
    PSI_F_STATUS,
    PSI_F_DOCTYPE,
    PSI_F_FACILITY,
    PSI_F_INSTRUMENT,
    PSI_F_TECHNIQUE,
    PSI_F_INSTITUTION,
    PSI_F_COUNTRY,
    PSI_F_AUTHOR,
    PSI_F_KEYWORD,
    PSI_F_JOURNAL,
    PSI_NFACETS
};
typedef struct psi_facet_def {
    const char *name;   /* in the API */
    const char *prefix; /* its boolean terms */
    const char *names;  /* ps_store_names list of its labels, or NULL */
} psi_facet_def;
extern const psi_facet_def psi_facets[PSI_NFACETS];
/* The facet called name (len bytes), or -1. */
int psi_facet_find(const char *name, size_t len);

#define PSI_FGEN_NKINDS 4
/* Tables read beside the facets, for filters: technique pids, names. */
#define PSI_FGEN_NEXTRA 2
extern ps_kind psi_fgen_kinds[PSI_FGEN_NKINDS];
int psi_fgen_kind_slot(ps_kind kind); /* -1: none */

typedef struct psi_fgen {
    char ident[160]; /* ps_xdb_identity of the index it was read from */
    atomic_int refs;
    size_t ndocs; /* docids are below */
    size_t nwords;
    ps_xfacet_table *tab[PSI_NFACETS];
    char **labels[PSI_NFACETS]; /* display names; NULL: the value itself */
    char **inst_country;        /* per institution value: its country */
    uint64_t *kinds[PSI_FGEN_NKINDS];
    uint64_t *visible;
    int embargoed;      /* some records are under embargo */
    int64_t visible_ms; /* when visible was computed */
    int16_t *year;      /* 0: none */
    double *date;       /* sort date, ms; NAN: none */
    double *size;       /* a dataset's bytes; NAN: none */
    double *cites;      /* a publication's citations; NAN: none */
    ps_xfacet_table *extra[PSI_FGEN_NEXTRA]; /* XTP:, XTN: */
    /* table f's (facets, then extra) value -> docids lists */
    uint32_t *inv_off[PSI_NFACETS + PSI_FGEN_NEXTRA];
    uint32_t *inv_docs[PSI_NFACETS + PSI_FGEN_NEXTRA];
    /* each facet's counts over the visible records of each kind */
    double *base_counts[PSI_FGEN_NKINDS][PSI_NFACETS];
    int has_values[PSI_FGEN_NKINDS][PSI_NFACETS]; /* some count above 0 */
    double build_ms;
} psi_fgen;

typedef struct psi_fcache psi_fcache;
ps_status psi_fcache_new(psi_fcache **out, ps_err *err);
void psi_fcache_free(psi_fcache *c);
/* A reference to the generation of ctx's index reader, built if needed
 * (release with psi_fgen_release). */
ps_status psi_fgen_get(ps_server *srv, psi_ctx *ctx, psi_fgen **out,
                       ps_err *err);
void psi_fgen_release(psi_fgen *g);
/* Table f: a facet's (f < PSI_NFACETS), else an extra one. */
const ps_xfacet_table *psi_fgen_table(const psi_fgen *g, int f);
/* If term (an index term, shaped) is a value of one of g's tables, OR its
 * documents into bits and return 1; else 0 (ask Xapian). */
int psi_fgen_term_bits(const psi_fgen *g, const char *term, uint64_t *bits);
/* The id of value name of facet f, or -1. */
int64_t psi_fgen_value(const psi_fgen *g, int f, const char *name);
const char *psi_fgen_label(const psi_fgen *g, int f, size_t v);
/* entry["country"] = an institution's own country, when f is the
 * institution facet and the store knows it. */
void psi_fgen_add_country(const psi_fgen *g, int f, size_t v, json_t *entry);
/* The year a value of the year facet names ("2019"); 0 if none. */
int16_t psi_year_of_name(const char *name);

uint64_t *psi_bits_new(const psi_fgen *g); /* all clear; ps_free */
uint64_t psi_bits_count(const psi_fgen *g, const uint64_t *bits);
void psi_bits_and(const psi_fgen *g, uint64_t *a, const uint64_t *b);
void psi_bits_or(const psi_fgen *g, uint64_t *a, const uint64_t *b);
void psi_bits_from_docids(const psi_fgen *g, uint64_t *bits,
                          const uint32_t *ids, size_t n);
/* Clear the documents of bits whose year is not in [lo, hi]. */
ps_status psi_bits_year_range(const psi_fgen *g, uint64_t *bits, int64_t lo,
                              int64_t hi, ps_err *err);
/* counts[v] (nvalues of facet f) = the documents of bits with value v, or
 * the sum of their weight[d] (documents with NAN left out). */
ps_status psi_fgen_count(const psi_fgen *g, int f, const uint64_t *bits,
                         const double *weight, double *counts);
/* The ids of the limit values with the largest counts (ties by label). */
ps_status psi_fgen_top(const psi_fgen *g, int f, const double *counts,
                       size_t limit, size_t **out, size_t *n_out, ps_err *err);
/* {"facet": [{"value","label","count"}], ...} for the facets f with
 * which[f], the limit commonest values each, over the documents of bits
 * that the public may see among the kinds with bit k of kinds set
 * (psi_fgen_kinds[k]; 0: every kind). */
ps_status psi_fgen_facets(const psi_fgen *g, const uint64_t *bits,
                          unsigned kinds, const int *which, size_t limit,
                          json_t **out, ps_err *err);
/* The first k documents of bits by key[d] (desc: largest first; missing
 * last; ties by docid), in order. */
ps_status psi_fgen_top_docs(const psi_fgen *g, const uint64_t *bits,
                            const double *key, int desc, size_t k,
                            uint32_t **out, size_t *n_out, ps_err *err);

/* ---- the search's match set, for the analytics (search.c) ----------------
 * The search parameters of /api/search (q, type, the filters, sort)
 * without its page (limit, skip) and facets, parsed into *out
 * (psi_search_free); a non-zero return is the 400 already in resp. Then
 * the match set over the current generation (a non-zero return is the
 * error already in resp; else release *g and ps_free *bits). */
typedef struct psi_search psi_search;
int psi_search_parse(psi_req *req, psi_resp *resp, psi_search **out);
void psi_search_free(psi_search *s);
int psi_search_match(psi_req *req, psi_ctx *ctx, psi_search *s, psi_resp *resp,
                     psi_fgen **g, uint64_t **bits);

/* ---- analytics (analytics.c, docs/api/analytics.md) ---------------------- */
int psi_h_analytics_breakdown(psi_req *req, psi_ctx *ctx, const psi_match *m,
                              psi_resp *resp);
int psi_h_analytics_countries(psi_req *req, psi_ctx *ctx, const psi_match *m,
                              psi_resp *resp);
int psi_h_analytics_instrument(psi_req *req, psi_ctx *ctx, const psi_match *m,
                               psi_resp *resp);
int psi_h_analytics_facility(psi_req *req, psi_ctx *ctx, const psi_match *m,
                             psi_resp *resp);

/* ---- rendering and planning --------------------------------------------- */

/* The PaN JSON of store record (kind, id) as model, with includes applied
 * (children filtered by their scope, inner-join rule). *out is NULL (and
 * PS_OK returned) when the record is invisible, deleted, or removed by an
 * include's scope. with_score adds "score": score. */
ps_status psi_render(psi_ctx *ctx, ps_pan_model model, ps_kind kind, int64_t id,
                     const ps_pan_include *inc, size_t ninc, int with_score,
                     double score, json_t **out, ps_err *err);
/* May the public see store entity ent (as ps_store_load gives it) at now
 * (ms)? Not when it is deleted; the visibility rule is ps_visible's. */
int psi_visible(const json_t *ent, int64_t now);
/* Keep only the projected fields of a rendered object. */
void psi_project(json_t *obj, const ps_pan_filter *f);

/* The PaN find: the array of matching records, after where, includes (inner
 * join before paging), order, skip and limit. */
ps_status psi_pan_find(psi_ctx *ctx, const ps_pan_filter *f, size_t max_results,
                       json_t **out, int *truncated, ps_err *err);
/* The number of records matching w. */
ps_status psi_pan_count(psi_ctx *ctx, ps_pan_model model, const ps_where *w,
                        int64_t *out, ps_err *err);
/* The AND or OR (as w is) of plan(kid, arg) for each kid of w: the planners
 * of where clauses and of technique and parameter scopes share it. */
typedef ps_xquery *(*psi_plan_fn)(const ps_where *w, void *arg);
ps_xquery *psi_plan_kids(const ps_where *w, psi_plan_fn plan, void *arg);
/* Compile w into a Xapian query for group; *exact says whether it matches
 * exactly the records satisfying w (else it is a superset to check). */
ps_xquery *psi_plan_where(const ps_where *w, ps_idx_group group, int *exact);

/* Expand the technique conditions of every `techniques` include (at any
 * depth) with the ontology: each names a term and every narrower one. */
ps_status psi_techniques_bind(psi_ctx *ctx, ps_pan_include *inc, size_t ninc,
                              ps_err *err);
/* Judge a dataset's rendered techniques (rows) against scope w, dataset
 * level (spec §5.2); when it holds, append the techniques to show to out
 * and return 1. */
int psi_techniques_select(const ps_where *w, const json_t *rows, json_t *out);
/* The index query of the datasets that may satisfy scope w (a superset). */
ps_xquery *psi_techniques_plan(const ps_where *w);

/* Bind the unit of each parameter group (an `and` with a unit and numeric
 * values) of every `parameters` include: PS_ERR_INVALID (a 400) for an
 * unknown unit or one that cannot describe the named parameter. */
ps_status psi_parameters_bind(psi_ctx *ctx, ps_units *units,
                              ps_pan_include *inc, size_t ninc, ps_err *err);
/* Does a parameter (row rendered, ent as stored, with value_si/unit_si)
 * satisfy scope w? */
int psi_parameter_match(const ps_where *w, const json_t *row,
                        const json_t *ent);
/* Convert row's value into the unit of the group of w it matched, if any. */
void psi_parameter_convert(const ps_where *w, json_t *row, const json_t *ent);
/* The index query of the records that may satisfy parameter scope w. */
ps_xquery *psi_parameters_plan(const ps_where *w);

/* ---- the OpenAPI document ---------------------------------------------- */

/* query/openapi.json's bytes, compiled in (the build directory's
 * openapi-json.c, made by cmake/PsEmbedJson.cmake); not NUL-terminated. */
extern const unsigned char psi_openapi_json[];
extern const size_t psi_openapi_json_len;

/* The built-in OpenAPI document as compact JSON text with servers[0].url set
 * to api_prefix: *out (free with ps_free) and its length *len. Returns
 * PS_OK, PS_ERR_NOMEM, or PS_ERR_INTERNAL if the document does not parse or
 * has no servers[0] (a build that lets that through is a bug). */
ps_status psi_openapi_render(char **out, size_t *len, const char *api_prefix,
                             ps_err *err);

#endif /* PS_QUERY_PRIVATE_H */
