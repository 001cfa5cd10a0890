/*
 * index.h: the public header of the indexer, the component that keeps a
 * Xapian index derived from the store. The index applies the store's change
 * feed in sequence order and remembers (in the index itself, committed with
 * the documents) the last sequence number it applied, so updates are
 * incremental and a crash at any moment leaves a state from which the next
 * update completes: every document is replaced by its unique id term, so
 * nothing is duplicated, and nothing after the last commit is lost because
 * it is applied again. A rebuild writes a new generation of the index in
 * parallel shards, merges them, and swaps it in atomically.
 *
 * On disk, in the data directory: `index` (a symbolic link to the current
 * generation), `index.N` (generations), `index.lock` (held by the one
 * writer). Readers open `index` and follow swaps with ps_index_refresh.
 *
 * The query side of the index is the Xapian shim (xapian-shim.h, included
 * here: its query constructors and ps_xdb_search are part of this
 * component's API) plus the field table below, which says which term prefix
 * and value slot hold each field the APIs filter, sort and facet on.
 *
 * Threads: one ps_index per thread. Ownership: open/close pair up.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef PS_INDEX_H
#define PS_INDEX_H

#include "common.h"
#include "store.h"
#include "xapian-shim.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the index schema
 * -------------------------------------------------------- Document groups as
 * the PaN API sees them. */
typedef enum {
    PS_IDX_DATASET = 1,
    PS_IDX_DOCUMENT = 2, /* proposals and publications */
    PS_IDX_INSTRUMENT = 4
} ps_idx_group;

/* How a field is stored. */
typedef enum {
    PS_IDXF_TERM, /* exact string as a boolean term (prefix + value) */
    PS_IDXF_DATE, /* ms since the epoch in a numeric value slot */
    PS_IDXF_NUM,  /* a number in a numeric value slot */
    PS_IDXF_BOOL  /* boolean term prefix + "true" / "false" */
} ps_idxf_type;

typedef struct ps_index_field {
    const char *name; /* the API's field name ("pid", "creationDate", ...) */
    unsigned groups;  /* PS_IDX_* where the field exists */
    ps_idxf_type type;
    const char *prefix; /* term prefix for TERM/BOOL, else NULL */
    int slot;           /* value slot, -1 if none */
} ps_index_field;

/* The field called name in group, or NULL. Borrowed, static. */
const ps_index_field *ps_index_field_find(ps_idx_group group, const char *name);

/* Fixed term prefixes and value slots:
 * XG:   group ("dataset", "document", "instrument")
 * XK:   kind (ps_kind_name)
 * XV:   visibility ("public", "embargoed", "restricted")
 * XGV:  group ":" visibility, so that counts are one term frequency
 * XORD: written by a rebuild, in pid order: among these documents docid
 *       order is pid order (queries in the default order stop early)
 * XNEW: written since the last rebuild (every document has XORD or XNEW;
 *       XNEW documents are few, so queries over them are cheap)
 * slot 0 the pid (the default order), slot 1 the lower-cased title or name,
 * slot 4 the embargo's end (ms), embargoed records only. */
#define PS_IDX_TERM_GROUP "XG:"
#define PS_IDX_TERM_KIND "XK:"
#define PS_IDX_TERM_VIS "XV:"
#define PS_IDX_TERM_GROUPVIS "XGV:"
#define PS_IDX_TERM_ORDERED "XORD"
#define PS_IDX_TERM_UNORDERED "XNEW"
#define PS_IDX_SLOT_PID 0
#define PS_IDX_SLOT_TITLE 1
#define PS_IDX_SLOT_EMBARGO 4
/* slot 3 a dataset's size in bytes, slot 7 a publication's citation count,
 * slot 2 a dataset's creation time, a document's start (ms);
 * facet and analytics terms (schema 10): XY: year, XST: a proposal's status,
 * XJ: a publication's journal, XI:/XF: a document's instruments and their
 * facilities (PS_LOAD_INSTRUMENTS), XA:/XO:/XCO: members' person,
 * institution and country, XKW: keywords, XTE: PaNET IRIs. */
#define PS_IDX_SLOT_SIZE 3
#define PS_IDX_SLOT_DATE 2
#define PS_IDX_SLOT_CITATIONS 7
/* slot 8 the date a record sorts by (ms): a dataset's creation, a
 * document's start, else its publication or its year's first day */
#define PS_IDX_SLOT_SORTDATE 8

/* Relevance scoring (docs/relevance.md). Every document carries its
 * scoring terms (score-text.c) as terms with a group's prefix below and
 * a within-document frequency equal to the term's count in the item's
 * text, so that the frequency of a term is counted within its group; the
 * number of distinct scoring terms of the document is the within-document
 * frequency of the term PS_IDX_TERM_SCORE_DISTINCT (a posting list reads
 * faster than a value slot, in step with a term's postings). */
#define PS_IDX_SCORE_DATASET "XSD:"
#define PS_IDX_SCORE_DOCUMENT "XSP:"
#define PS_IDX_SCORE_INSTRUMENT "XSI:"
#define PS_IDX_TERM_SCORE_DISTINCT "XSN"

/* Free text for the search endpoint (/api/search), indexed with
 * ps_xdoc_index_words (words as written, stems with "Z" before the
 * prefix) and parsed with ps_xq_words. The unprefixed field holds all the
 * searchable text of a record, with positions (phrases); the fields below
 * hold their part of it again, without positions (a phrase limited to one
 * of them is the phrase in the unprefixed field and its words in the
 * field), so that a search can be limited to one and titles can rank
 * first:
 *   S  the title (an instrument's name), with positions (title:"a b")
 *   B  the abstract: a document's summary, a dataset's description
 *   K  the keywords
 * and, only in their own fields, with positions (schema 9): A the names of
 * a document's members (author:), I the instrument's name (instrument:).
 * A publication's full text (its PDF's: acknowledgements and funding are
 * part of it) is only in the unprefixed field. Within-document frequency
 * increments in the unprefixed field: title 3, abstract and keywords 2,
 * full text 1 (a word of a title counts three times). At most
 * PS_IDX_TEXT_MAX bytes of a field are indexed (the PDF extractor's own
 * ceiling). */
#define PS_IDX_TEXT_TITLE "S"
#define PS_IDX_TEXT_ABSTRACT "B"
#define PS_IDX_TEXT_KEYWORDS "K"
#define PS_IDX_TEXT_AUTHOR "A" /* members' names, positions, only here */
#define PS_IDX_TEXT_INSTRUMENT                                                 \
    "I" /* instrument names, positions, only here                              \
         */
#define PS_IDX_WEIGHT_TITLE 3
#define PS_IDX_WEIGHT_ABSTRACT 2
#define PS_IDX_WEIGHT_KEYWORDS 2
#define PS_IDX_WEIGHT_TEXT 1
#define PS_IDX_TEXT_MAX (4u << 20)

/* The scoring term prefix of group. Borrowed, static. */
const char *ps_index_score_prefix(ps_idx_group group);

/* The text an item is scored on, as the JSON array of strings (and
 * numbers) the scoring service would be given as the item's fields:
 * Dataset: title, description, keywords, technique names, sample names,
 * parameter names, values and units; Document: title, summary, keywords,
 * doi, member names; Instrument: name, facility. ent is a store entity of
 * kind as ps_store_load returns it with psi_index_load_flags(kind). *out
 * is a new reference; PS_ERR_NOMEM. */
ps_status ps_index_score_fields(ps_kind kind, const json_t *ent, json_t **out,
                                ps_err *err);

/* Terms extracted the way the PaNOSC search-scoring service extracts them
 * (lower case, punctuation, English stop words, numbers in words, Porter
 * stemming; see score-text.c). v holds the terms in text order, repeats
 * included. */
typedef struct ps_score_terms {
    char **v;
    size_t n;
    size_t cap;
} ps_score_terms;

/* The terms of a query (text as typed, UTF-8). out is overwritten (free
 * with ps_score_terms_free, also after a failure); a text with no term
 * gives n == 0. Errors: PS_ERR_INVALID (query NULL), PS_ERR_NOMEM. */
ps_status ps_score_query_terms(ps_score_terms *out, const char *query,
                               ps_err *err);
/* The terms of an item whose scoring fields are fields (any JSON; the
 * service reads json.dumps(fields), so object keys are text too). out is
 * overwritten; fields NULL gives no term. Errors: PS_ERR_NOMEM. */
ps_status ps_score_item_terms(ps_score_terms *out, const json_t *fields,
                              ps_err *err);
/* Free the terms; out is left empty. NULL is a no-op. */
void ps_score_terms_free(ps_score_terms *t);

/* Unique id term of a record ("Q" + kind letter + id) into out (>= 32). */
char *ps_index_idterm(ps_kind kind, int64_t id, char *out, size_t size);
/* Parse a hit's data back into kind and store id; -1 if malformed. */
int ps_index_hit_ref(const char *data, ps_kind *kind, int64_t *id);
/* The Xapian query matching what the public may see at now_ms. */
ps_xquery *ps_index_visible_query(int64_t now_ms);
/* The records having a parameter called name whose SI value (in unit_si)
 * lies in [lo, hi] (infinite bounds are open), from the parameter value
 * terms: a slight superset (the finest buckets at the ends are 2^-16 of a
 * binary order of magnitude wide), to be checked on the record. */
ps_xquery *ps_index_parameter_range(const char *name, const char *unit_si,
                                    double lo, double hi);

/* ---- opening ------------------------------------------------------------ */
typedef struct ps_index ps_index;

/* Create the index of a new data directory (a new, empty generation built
 * from the store whose ps_store_id is store_id). PS_OK if it already
 * exists. */
ps_status ps_index_create(const char *data_dir, const char *store_id,
                          ps_err *err);

/* Open the index of data_dir. Writable handles take index.lock first:
 * PS_ERR_BUSY if another process writes the index (the message says which
 * command is likely to hold it). Errors: PS_ERR_NOTFOUND (no index: run
 * `pansift init`), PS_ERR_CORRUPT, PS_ERR_INDEX, PS_ERR_IO, PS_ERR_NOMEM. */
ps_status ps_index_open(ps_index **out, const char *data_dir, int writable,
                        ps_err *err);
void ps_index_close(ps_index *idx); /* NULL is a no-op */

/* The Xapian handle of an open index (borrowed; valid until the next
 * ps_index_refresh or ps_index_close). */
ps_xdb *ps_index_xdb(ps_index *idx);

/* Readers: see the latest committed revision, following a generation swap.
 * *changed_out (may be NULL) is 1 if anything changed. */
ps_status ps_index_refresh(ps_index *idx, int *changed_out, ps_err *err);

/* The last store sequence number applied to the index (0: none). */
ps_status ps_index_last_seq(ps_index *idx, int64_t *out, ps_err *err);
/* How many documents of group ("dataset", "document", "instrument") the
 * public may see at now_ms: the term frequency of the group's public term
 * plus the embargoed documents whose embargo has ended. */
ps_status ps_index_count_visible(ps_index *idx, const char *group,
                                 int64_t now_ms, int64_t *out, ps_err *err);
/* Is this index the one of store st? PS_ERR_CORRUPT, with advice to
 * rebuild, if it was built from another store (the store_ids differ) or
 * is ahead of it (the store was restored from an older copy). Updates
 * check this by themselves. */
ps_status ps_index_check_store(ps_index *idx, ps_store *st, ps_err *err);
/* Number of documents in the index. */
uint64_t ps_index_doccount(ps_index *idx);

/* ---- updating ----------------------------------------------------------- */
typedef void (*ps_index_progress_fn)(const char *phase, int64_t done,
                                     int64_t total, void *payload);

typedef struct ps_index_opts {
    int version;
    size_t batch;                  /* changes per commit; 1000 */
    int workers;                   /* rebuild shard writers; 0: one per core */
    ps_index_progress_fn progress; /* may be NULL */
    void *payload;
    volatile int *cancel; /* non-zero stops at the next commit */
} ps_index_opts;

#define PS_INDEX_OPTS_VERSION 1
#define PS_INDEX_OPTS_INIT                                                     \
    {                                                                          \
        PS_INDEX_OPTS_VERSION, 1000, 0, NULL, NULL, NULL                       \
    }

typedef struct ps_index_stats {
    int64_t applied;  /* changes applied (documents written or deleted) */
    int64_t deleted;  /* documents deleted */
    int64_t last_seq; /* sequence number the index is at afterwards */
    double seconds;
} ps_index_stats;

/* Apply every change of the store after the index's last sequence number,
 * committing every opts->batch changes. A cancel request stops after a
 * commit: PS_ERR_CANCELLED, and the index is consistent. */
ps_status ps_index_update(ps_index *idx, ps_store *st,
                          const ps_index_opts *opts, ps_index_stats *stats,
                          ps_err *err);

/* Recreate the index from the store at store_path: opts->workers threads
 * each build a shard of a new generation, the shards are compacted into
 * one database, which is swapped in atomically; then the changes made
 * during the rebuild are applied. idx must be writable; it is reopened on
 * the new generation. On failure or cancel the old generation stays. */
ps_status ps_index_rebuild(ps_index *idx, const char *store_path,
                           const ps_index_opts *opts, ps_index_stats *stats,
                           ps_err *err);
/* Take the writer lock of data_dir and rebuild its index as above, whatever
 * state the current one is in (missing, damaged, of another schema or
 * another store): the new generation gets a number never used before.
 * *out is the writable handle on it. */
ps_status ps_index_open_rebuilt(ps_index **out, const char *data_dir,
                                const char *store_path,
                                const ps_index_opts *opts,
                                ps_index_stats *stats, ps_err *err);

#ifdef __cplusplus
}
#endif
#endif /* PS_INDEX_H */
