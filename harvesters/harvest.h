/*
 * harvest.h: the public header of the harvesters, the component that pulls
 * records from the places facilities keep them into the store. A harvest
 * run of one source fetches page after page (politely: timeouts, retries
 * with backoff, Retry-After, a pause between requests), maps each record
 * into the store's entities and writes it through the store's idempotent
 * upserts, a batch per transaction. A run that fails or is interrupted keeps
 * what it committed and deletes nothing; only a complete run of a source
 * that lists everything it has removes (tombstones) the records it no longer
 * lists. Every run is recorded in the store with its counts.
 *
 * Source types: "pan" (a PaN search API provider, over http(s) or a file://
 * directory holding Instruments.json, Datasets.json and Documents.json).
 * Harvesters do not print: progress comes through a callback, problems
 * through ps_err and the result.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef PS_HARVEST_H
#define PS_HARVEST_H

#include "common.h"
#include "store.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One configured source (from a [source NAME] section). Borrowed strings. */
typedef struct ps_harvest_source {
    const char *name;
    const char *type;
    const char *url;
    long page_size;  /* records per request */
    long timeout_ms; /* per request */
    long connect_timeout_ms;
    long retries;  /* extra attempts on transient failures */
    long delay_ms; /* pause between requests */
    size_t max_response_bytes;
    const char *user_agent;
    long requests_per_minute;   /* 0: no limit beyond delay_ms */
    const char *contact;        /* operator's e-mail, for polite pools */
    const char *const *options; /* type options: key, value, ..., NULL */
} ps_harvest_source;

/* An option of one source type ([source NAME] keys beyond the common
 * ones), documented in docs/harvesting.md. */
typedef struct ps_harvest_option {
    const char *key;
    const char *help;
} ps_harvest_option;

/* The source types this build knows, NULL-terminated (also the choices of
 * the `type` key of the configuration). */
extern const char *const ps_harvest_type_names[];
/* The options of type (terminated by a {NULL, NULL} entry), or NULL if the
 * type is unknown. */
const ps_harvest_option *ps_harvest_type_options(const char *type);

/* Progress of a run, reported after every page. */
typedef struct ps_harvest_progress {
    const char *source;
    const char *phase;    /* what is being fetched ("Datasets", ...) */
    int64_t done;         /* records of this phase so far */
    int64_t total;        /* records of this phase, -1 if unknown */
    ps_run_counts counts; /* the whole run so far */
} ps_harvest_progress;

typedef void (*ps_harvest_progress_fn)(const ps_harvest_progress *p,
                                       void *payload);

typedef struct ps_harvest_opts {
    int version;
    size_t batch;                    /* records per store transaction; 1000 */
    ps_harvest_progress_fn progress; /* may be NULL */
    void *payload;
    volatile int *cancel; /* non-zero: stop after the current batch */
} ps_harvest_opts;

#define PS_HARVEST_OPTS_VERSION 1
#define PS_HARVEST_OPTS_INIT                                                   \
    {                                                                          \
        PS_HARVEST_OPTS_VERSION, 1000, NULL, NULL, NULL                        \
    }

typedef struct ps_harvest_result {
    int64_t run_id;
    ps_run_state state;
    ps_run_counts counts;
    double seconds;
    char message[512]; /* a summary; the first rejected records' reasons */
} ps_harvest_result;

/* Once in main, before threads start (the XML parser's set-up). */
void ps_harvest_global_init(void);

/* Run one harvest of src into st. Returns PS_OK when the run finished (its
 * state may be PS_RUN_PARTIAL if some records were rejected: see
 * res->message). Errors: PS_ERR_INVALID (unknown type, bad URL),
 * PS_ERR_UPSTREAM / PS_ERR_TIMEOUT / PS_ERR_IO / PS_ERR_NOTFOUND /
 * PS_ERR_PARSE / PS_ERR_TOOBIG (the source failed: what was committed stays,
 * nothing is deleted), PS_ERR_CANCELLED, PS_ERR_BUSY / PS_ERR_DB (the store).
 * res is filled in every case. */
ps_status ps_harvest_run(ps_store *st, const ps_harvest_source *src,
                         const ps_harvest_opts *opts, ps_harvest_result *res,
                         ps_err *err);

/* ---- the technique ontology ---------------------------------------------
 * Import PaNET from its source table (PaNET.csv, the ROBOT template the
 * released OWL is built from): terms, synonyms and the inferred hierarchy,
 * whose transitive closure replaces the store's ontology (one transaction).
 * Errors: PS_ERR_NOTFOUND / PS_ERR_IO (the file), PS_ERR_PARSE (not CSV, or
 * not PaNET's table), PS_ERR_TOOBIG, store errors. */
typedef struct ps_ontology_stats {
    size_t terms;      /* terms imported */
    size_t pairs;      /* (ancestor, descendant) pairs of the closure */
    size_t unresolved; /* references to no known term (ignored) */
} ps_ontology_stats;
ps_status ps_ontology_import(ps_store *st, const char *path,
                             ps_ontology_stats *stats, ps_err *err);

/* ---- mentions: facilities, instruments, proposals, data DOIs in text -----
 * A matcher built once from three tables (the .tsv files of share/mentions/,
 * documented there and in docs/mentions.md): facilities with aliases and
 * data-DOI prefixes, per-facility proposal-code grammars (POSIX extended
 * regular expressions) and instruments with aliases. ps_mentions_find then
 * reports every mention in a text with where it was found and the text around
 * it. A built matcher is read-only: several threads may share it. */
typedef enum ps_mention_kind {
    PS_MENTION_FACILITY = 0,
    PS_MENTION_INSTRUMENT,
    PS_MENTION_PROPOSAL,
    PS_MENTION_DATA_DOI
} ps_mention_kind;

typedef struct ps_mention {
    ps_mention_kind kind;
    char *value;    /* normalised: "8-01-418", "ID23-1", "ILL", the DOI */
    char *facility; /* short name, "ILL" */
    char *section;  /* as given to ps_mentions_find, or NULL */
    size_t offset;  /* bytes into the text */
    size_t length;  /* bytes of text covered (a repaired DOI: the break too) */
    char *context;  /* up to PS_MENTIONS_CONTEXT bytes either side, whole
                       UTF-8 characters, control characters as spaces */
    size_t context_at; /* where the mention starts inside context */
    double confidence; /* 0.9 named with a cue, 0.8 near a facility or a cue
                          after it, 0.5 bare pattern; 1.0 data DOIs */
} ps_mention;

typedef struct ps_mentions {
    ps_mention *items;
    size_t n, cap;
} ps_mentions;

#define PS_MENTIONS_CONTEXT 80
#define PS_MENTIONS_MAX_TEXT ((size_t)32 << 20) /* bytes per call */
#define PS_MENTIONS_MAX_ITEMS 100000            /* mentions per ps_mentions */
#define PS_MENTIONS_MAX_TABLE ((size_t)1 << 20) /* bytes per .tsv table */

typedef struct ps_mentions_matcher ps_mentions_matcher;

/* Build a matcher from the three tables' text (NUL-terminated; NULL: none).
 * Errors: PS_ERR_PARSE (a bad line or regular expression: the message names
 * the table and line), PS_ERR_TOOBIG, PS_ERR_NOMEM. */
ps_status ps_mentions_matcher_new(ps_mentions_matcher **out,
                                  const char *facilities_tsv,
                                  const char *proposal_codes_tsv,
                                  const char *instruments_tsv, ps_err *err);
/* Build from dir/facilities.tsv, dir/proposal-codes.tsv and
 * dir/instruments.tsv. Errors as above, and PS_ERR_NOTFOUND / PS_ERR_IO. */
ps_status ps_mentions_matcher_load(ps_mentions_matcher **out, const char *dir,
                                   ps_err *err);
/* Add an instrument (e.g. from the store) before the matcher is used:
 * aliases |-separated or NULL; needs_cue as in instruments.tsv. */
ps_status ps_mentions_matcher_add_instrument(ps_mentions_matcher *m,
                                             const char *facility,
                                             const char *name,
                                             const char *aliases, int needs_cue,
                                             ps_err *err);
void ps_mentions_matcher_free(ps_mentions_matcher *m); /* NULL: no-op */

/* Append the mentions in text[0..len) to out, in order of offset. A DOI
 * broken across a line end ("10.5291/ILL-DATA.8-01-\n418") is repaired here.
 * Errors: PS_ERR_TOOBIG (len > PS_MENTIONS_MAX_TEXT, or too many mentions),
 * PS_ERR_NOMEM; out keeps what it had on failure. */
ps_status ps_mentions_find(const ps_mentions_matcher *m, const char *text,
                           size_t len, const char *section, ps_mentions *out,
                           ps_err *err);
void ps_mentions_clear(ps_mentions *a); /* frees the items; a is reusable */
const char *ps_mention_kind_str(ps_mention_kind kind); /* "facility"... */

#ifdef __cplusplus
}
#endif
#endif /* PS_HARVEST_H */
