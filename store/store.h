/*
 * store.h: the public header of the store, pansift's only truth. A SQLite
 * file (WAL, foreign keys on) holds every entity of product.md and the typed
 * links between them. Every record keeps its provenance (which source said
 * it, under which remote id, when, and the hash of the raw record), a change
 * sequence number, a tombstone when deleted and its visibility. Harvesters
 * write through the ps_store_put_* upserts, which are idempotent: putting
 * the same raw record twice changes nothing. The indexer reads the change
 * feed (ps_store_changes) and the query server reads entities as JSON
 * (ps_store_load). The schema is versioned and migrated on open.
 *
 * Threads: one ps_store handle per thread. Several processes may use the same
 * file (SQLite's WAL: one writer at a time, readers never block).
 * Ownership: ps_store_open/ps_store_close pair up; JSON returned through
 * json_t **out is a new reference owned by the caller (json_decref).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef PS_STORE_H
#define PS_STORE_H

#include "common.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- entity kinds -----------------------------------------------------------
 * Numbers are stored in the file: append, never renumber. */
typedef enum {
    PS_KIND_NONE = 0,
    PS_KIND_FACILITY = 1,
    PS_KIND_INSTRUMENT = 2,
    PS_KIND_PROPOSAL = 3,
    PS_KIND_DATASET = 4,
    PS_KIND_FILE = 5,
    PS_KIND_SAMPLE = 6,
    PS_KIND_TECHNIQUE = 7,
    PS_KIND_PARAMETER = 8,
    PS_KIND_PUBLICATION = 9,
    PS_KIND_PERSON = 10,
    PS_KIND_INSTITUTION = 11,
    PS_KIND_COLLECTION = 12,
    PS_KIND_LINK = 13,
    PS_KIND_SOURCE = 14
} ps_kind;
#define PS_KIND_MAX 14

/* "dataset", "proposal", ...; "none" for unknown values. */
const char *ps_kind_name(ps_kind kind);
/* Inverse of ps_kind_name; PS_KIND_NONE if unknown. */
ps_kind ps_kind_parse(const char *name);

/* Visibility of a record. Embargoed records become public at embargo_until;
 * restricted ones are visible only to the proposal's members (not served to
 * anonymous clients). */
typedef enum {
    PS_VIS_PUBLIC = 0,
    PS_VIS_EMBARGOED = 1,
    PS_VIS_RESTRICTED = 2
} ps_visibility;

/* The one visibility rule of the read paths: is a record with this
 * visibility and embargo end (ms since epoch, 0 = none) visible to the
 * public at time now_ms? */
int ps_visible(ps_visibility vis, int64_t embargo_until_ms, int64_t now_ms);

/* A time that is not known. */
#define PS_TIME_NONE INT64_MIN

/* ---- opening ----------------------------------------------------------------
 */
typedef struct ps_store ps_store;

typedef struct ps_store_opts {
    int version;
    int readonly; /* open read-only (no migration; the server's readers) */
    int create;   /* create the file if missing (only `pansift init`) */
    long busy_timeout_ms; /* wait this long for another writer; 10000 */
    long cache_kib;       /* page cache per connection; 65536 */
} ps_store_opts;

#define PS_STORE_OPTS_VERSION 1
#define PS_STORE_OPTS_INIT                                                     \
    {                                                                          \
        PS_STORE_OPTS_VERSION, 0, 0, 10000, 65536                              \
    }

/* Open the store file at path, migrating the schema to the current version
 * (unless readonly). Errors: PS_ERR_NOTFOUND (no file and !create: "run
 * pansift init"), PS_ERR_CORRUPT (not a SQLite file, damaged, or not a
 * pansift store), PS_ERR_INVALID (created by a newer pansift), PS_ERR_IO
 * (cannot open or create: permissions), PS_ERR_BUSY, PS_ERR_DB, PS_ERR_NOMEM.
 * The message says what to do. */
ps_status ps_store_open(ps_store **out, const char *path,
                        const ps_store_opts *opts, ps_err *err);
void ps_store_close(ps_store *st); /* NULL is a no-op */
/* Schema version of the open file, and the version this build writes. */
int ps_store_schema_version(ps_store *st);
int ps_store_schema_latest(void);
/* Run SQLite's integrity check (slow on big files): PS_OK or PS_ERR_CORRUPT
 * with the first problem in err. */
ps_status ps_store_check(ps_store *st, ps_err *err);

/* ---- transactions
 * ------------------------------------------------------------ Writes outside a
 * transaction are committed one by one (slow). Harvesters wrap a batch of
 * records in begin/commit. begin takes the write lock at once (BEGIN
 * IMMEDIATE), so change sequence numbers follow commit order. */
ps_status ps_store_begin(ps_store *st, ps_err *err);
ps_status ps_store_commit(ps_store *st, ps_err *err);
void ps_store_rollback(ps_store *st); /* no-op outside a transaction */
/* A read snapshot: every read between read_begin and read_end sees the
 * store as it was at the first of them, whatever other connections write
 * meanwhile (e.g. a rebuild's count and range bounds agree). Not inside a
 * write transaction. */
ps_status ps_store_read_begin(ps_store *st, ps_err *err);
void ps_store_read_end(ps_store *st);

/* ---- sources and harvest runs ------------------------------------------- */
/* Find or create the source called name; updates type and url if they
 * changed. */
ps_status ps_store_source_ensure(ps_store *st, const char *name,
                                 const char *type, const char *url,
                                 int64_t *id_out, ps_err *err);
/* Rank a source: when several sources hold the same record (the same pid
 * or DOI), the one with the highest precedence writes the record's fields;
 * the others keep their copy as provenance only. Equal ranks: the latest
 * write wins. New sources start at 50. */
ps_status ps_store_source_set_precedence(ps_store *st, int64_t source_id,
                                         int precedence, ps_err *err);
/* A source's checkpoint values (resumption tokens, last harvest date, ...).
 * get: *value_out is a new string (ps_free) or NULL if unset. */
ps_status ps_store_state_get(ps_store *st, int64_t source_id, const char *key,
                             char **value_out, ps_err *err);
ps_status ps_store_state_set(ps_store *st, int64_t source_id, const char *key,
                             const char *value, ps_err *err);

typedef enum {
    PS_RUN_RUNNING = 0,
    PS_RUN_OK = 1,         /* finished, everything harvested */
    PS_RUN_PARTIAL = 2,    /* finished with some records rejected */
    PS_RUN_FAILED = 3,     /* stopped by an error */
    PS_RUN_INTERRUPTED = 4 /* stopped by a signal or a crash */
} ps_run_state;

typedef struct ps_run_counts {
    int64_t seen;      /* records received */
    int64_t inserted;  /* new records */
    int64_t updated;   /* records whose content changed */
    int64_t unchanged; /* records identical to what the store had */
    int64_t deleted;   /* tombstones written */
    int64_t rejected;  /* records that could not be mapped (bad input) */
} ps_run_counts;

/* Start a run of source_id (marks older runs still "running" as
 * interrupted: their process died). */
ps_status ps_store_run_begin(ps_store *st, int64_t source_id,
                             int64_t *run_id_out, ps_err *err);
ps_status ps_store_run_finish(ps_store *st, int64_t run_id, ps_run_state state,
                              const ps_run_counts *counts, const char *message,
                              ps_err *err);

/* ---- provenance and upserts -------------------------------------------------
 */
typedef struct ps_prov {
    int64_t source_id;
    const char *remote_id;   /* the record's id at the source */
    const json_t *raw;       /* the record as received, parsed: hashed and
                                kept (serialised) when raw_text is NULL */
    int64_t harvested_at_ms; /* 0: now */
    int64_t run_id;          /* the run that saw it (for the sweep); 0: none */
    const char *raw_text;    /* the record's bytes exactly as received, if
                                the caller has them: hashed and kept as is,
                                which saves serialising raw */
    size_t raw_len;
} ps_prov;

typedef enum {
    PS_PUT_UNCHANGED = 0,
    PS_PUT_INSERTED = 1,
    PS_PUT_UPDATED = 2
} ps_put_result;

typedef struct ps_param_in {
    const char *name;
    const char *text; /* the value as text (string values; unused when
                         is_num) */
    double num;       /* the value as a number when is_num */
    int is_num;
    const char *unit; /* "" or NULL when unitless */
} ps_param_in;

typedef struct ps_file_in {
    const char *name;
    const char *path;
    int64_t size;         /* -1: unknown */
    const char *checksum; /* "md5:...", "sha256:..." or NULL */
    const char *url;
} ps_file_in;

typedef struct ps_sample_in {
    const char *pid;
    const char *name;
    const char *description;
} ps_sample_in;

typedef struct ps_technique_in {
    const char *pid; /* the source's technique id (may be the IRI) */
    const char *name;
    const char *panet_iri; /* PaNET IRI, or NULL */
} ps_technique_in;

typedef struct ps_institution_in {
    const char *pid; /* ROR id if known; else the store makes one */
    const char *name;
    const char *address;
    const char *city;
    const char *country;
} ps_institution_in;

typedef struct ps_person_in {
    const char *pid; /* ORCID IRI if known, else "<source>:<local id>" */
    const char *full_name;
    const char *given_name;
    const char *family_name;
    const char *orcid;
} ps_person_in;

typedef struct ps_member_in {
    const char *role;
    ps_person_in person;           /* pid NULL: a member without a person */
    ps_institution_in institution; /* name NULL: no affiliation */
} ps_member_in;

typedef struct ps_instrument_in {
    const char *pid;
    const char *name;
    const char *facility; /* facility name (short, e.g. "ESRF"); may be NULL */
    ps_visibility vis;
    int64_t embargo_until_ms;
} ps_instrument_in;

typedef struct ps_dataset_in {
    const char *pid;
    const char *title;
    const char *description;
    const char *doi;
    int64_t created_ms; /* PS_TIME_NONE if unknown */
    int64_t size;       /* bytes; -1 if unknown */
    const char *instrument_pid;
    ps_visibility vis;
    int64_t embargo_until_ms; /* for PS_VIS_EMBARGOED */
    const char *const *keywords;
    size_t nkeywords;
    const ps_param_in *params;
    size_t nparams;
    const ps_file_in *files;
    size_t nfiles;
    const ps_sample_in *samples;
    size_t nsamples;
    const ps_technique_in *techniques;
    size_t ntechniques;
} ps_dataset_in;

/* A PaN "Document": a proposal or a publication. */
typedef struct ps_document_in {
    ps_kind kind; /* PS_KIND_PROPOSAL or PS_KIND_PUBLICATION */
    const char *pid;
    const char *type; /* publication kind ("publication", "article",
                         ...) or proposal type */
    const char *code; /* proposal code ("8-01-418"); NULL */
    const char *title;
    const char *summary; /* abstract */
    const char *doi;
    const char *license;
    const char *status; /* proposal: accepted/refused/...; NULL */
    int64_t start_ms, end_ms, release_ms; /* PS_TIME_NONE if unknown */
    const char *journal;                  /* publication only */
    int year;                             /* publication year; 0 if unknown */
    ps_visibility vis;
    int64_t embargo_until_ms;
    const char *const *keywords;
    size_t nkeywords;
    const ps_member_in *members;
    size_t nmembers;
    const ps_param_in *params;
    size_t nparams;
    const char *const *dataset_pids; /* datasets of the proposal / cited */
    size_t ndatasets;
    /* publication only (NULL: unknown) */
    const char *volume, *issue, *pages, *publisher;
    const char *url;        /* landing page */
    int64_t citation_count; /* times cited, when citation_known */
    int citation_known;
} ps_document_in;

/* Upserts: find the record by its pid (one entity whatever the source),
 * store the provenance of this source, and write only if the raw record of
 * this source changed (by hash) or the record was a tombstone. A written
 * record gets a new change sequence number; so do records whose index
 * document depends on it (a dataset's proposal, an instrument's datasets are
 * not rewritten). *result_out and *id_out may be NULL. Errors:
 * PS_ERR_INVALID (missing pid or required field: the message names it),
 * PS_ERR_DB, PS_ERR_BUSY, PS_ERR_NOMEM. */
ps_status ps_store_put_instrument(ps_store *st, const ps_prov *prov,
                                  const ps_instrument_in *in,
                                  ps_put_result *result_out, int64_t *id_out,
                                  ps_err *err);
ps_status ps_store_put_dataset(ps_store *st, const ps_prov *prov,
                               const ps_dataset_in *in,
                               ps_put_result *result_out, int64_t *id_out,
                               ps_err *err);
ps_status ps_store_put_document(ps_store *st, const ps_prov *prov,
                                const ps_document_in *in,
                                ps_put_result *result_out, int64_t *id_out,
                                ps_err *err);

/* The source says the record (kind, remote_id) is gone: drop this source's
 * provenance; when no source is left the record becomes a tombstone.
 * *deleted_out (may be NULL) is 1 if a tombstone was written. Unknown
 * records are PS_OK with *deleted_out = 0. */
ps_status ps_store_delete(ps_store *st, int64_t source_id, ps_kind kind,
                          const char *remote_id, int *deleted_out, ps_err *err);
/* The source listed (kind, remote_id) in run_id but the record could not be
 * used (rejected): keep the stored version alive through the sweep. */
ps_status ps_store_mark_seen(ps_store *st, int64_t source_id, ps_kind kind,
                             const char *remote_id, int64_t run_id,
                             ps_err *err);
/* After a complete run of a source that lists everything it has (PaN):
 * every record of that source not seen by run_id is deleted as above.
 * *deleted_out counts the tombstones written. */
ps_status ps_store_sweep(ps_store *st, int64_t source_id, int64_t run_id,
                         int64_t *deleted_out, ps_err *err);

/* Resolve references that named records not yet in the store (a document's
 * datasets, a dataset's instrument) now that they may have arrived. *n_out
 * (may be NULL) counts the links resolved. */
ps_status ps_store_resolve(ps_store *st, int64_t *n_out, ps_err *err);

/* ---- links
 * ------------------------------------------------------------------- Typed
 * links between entities: "dataset-of-proposal" (dataset -> proposal),
 * "publication-cites-data" (publication -> dataset),
 * "publication-from-proposal" (publication -> proposal), ... */
typedef enum {
    PS_LINK_HARVESTED = 0,
    PS_LINK_INFERRED = 1,
    PS_LINK_USER = 2,
    PS_LINK_VALIDATED = 3
} ps_link_provenance;

typedef enum {
    PS_LINK_CANDIDATE = 0,
    PS_LINK_CONFIRMED = 1,
    PS_LINK_REJECTED = 2
} ps_link_state;

typedef struct ps_link_in {
    const char *type;
    ps_kind src_kind;
    int64_t src_id;
    ps_kind dst_kind;
    const char *dst_pid; /* the target's pid; resolved when it exists */
    ps_link_provenance provenance;
    int64_t source_id;      /* 0: not from a source */
    double score;           /* 1.0 for harvested links */
    const json_t *evidence; /* NULL or a JSON array of evidence items */
    ps_link_state state;
} ps_link_in;

/* Insert or update the link (type, src, dst); bumps the change sequence of
 * both ends when anything changed. */
ps_status ps_store_put_link(ps_store *st, const ps_link_in *in,
                            ps_put_result *result_out, ps_err *err);

/* ---- reading
 * ------------------------------------------------------------------- Entities
 * come out as JSON in the store's own shape (field names of the schema, times
 * as integers in ms since the epoch, absent fields omitted): dataset:
 * {"id","pid","title","description","doi","created","size",
 *             "instrument_pid","instrument":{id,pid,name,facility},
 *             "proposal":{id,pid,code,title}, "keywords":[...],
 *             "visibility":"public|embargoed|restricted","embargo_until",
 *             "deleted":bool,"seq", and with flags: "files","parameters",
 *             "samples","techniques","documents" (pids of the proposal and
 *             publications linking it)}
 *   proposal / publication: {"id","kind","pid","type","code","title",
 *             "summary","doi","license","status","start","end","release",
 *             "journal","year","keywords", publication: "volume","issue",
 *             "pages","publisher","url","citation_count",
 * ...,"members","parameters", "datasets"} instrument:
 * {"id","pid","name","facility", "datasets" (with flag)} Parameters:
 * {"id","name","value" (number or string as harvested),"unit",
 * "value_si","unit_si"}; members: {"id","role","person":{...},
 * "institution":{...}}. */
#define PS_LOAD_FILES 0x01u
#define PS_LOAD_PARAMETERS 0x02u
#define PS_LOAD_SAMPLES 0x04u
#define PS_LOAD_TECHNIQUES 0x08u
#define PS_LOAD_MEMBERS 0x10u
#define PS_LOAD_DATASETS 0x20u  /* a document's / instrument's datasets */
#define PS_LOAD_DOCUMENTS 0x40u /* a dataset's proposal and publications */
/* a publication's PDF text: "full_text", "acknowledgements", "funding" */
#define PS_LOAD_TEXT 0x80u
/* ... and its "mentions" and "references" */
#define PS_LOAD_MENTIONS 0x100u
/* a document's "instruments" [{"pid","name","facility"}]: a proposal's, those
 * of its datasets; a publication's, those of the datasets it cites and of the
 * proposals it is linked to (harvested links and confirmed matches, never a
 * matcher's unconfirmed candidate or a rejected one) and their datasets */
#define PS_LOAD_INSTRUMENTS 0x200u
#define PS_LOAD_ALL 0x3ffu

/* Call fn(arg, pid, name) for every record of what ("instrument",
 * "institution", "person": pid and display name; "technique": PaNET IRI and
 * label; "institution-country": pid and country), for the labels of facet
 * values. Errors: PS_ERR_INVALID, PS_ERR_DB. */
typedef void (*ps_store_name_fn)(void *arg, const char *pid, const char *name);
ps_status ps_store_names(ps_store *st, const char *what, ps_store_name_fn fn,
                         void *arg, ps_err *err);

/* An instrument's dashboard header: {"pid","name","facility","names":
 * [{"name","from","to"}]} (the names it has had; periods ISO or null).
 * Errors: PS_ERR_NOTFOUND, PS_ERR_DB, PS_ERR_NOMEM. */
ps_status ps_store_instrument_history(ps_store *st, const char *pid,
                                      json_t **out, ps_err *err);
/* A facility's instruments, by its name (any letter case) or pid, as
 * [{"pid","name","facility"}] by name (empty: no such facility).
 * Errors: PS_ERR_DB, PS_ERR_NOMEM. */
ps_status ps_store_facility_instruments(ps_store *st, const char *facility,
                                        json_t **out, ps_err *err);

/* Load one entity by its row id. PS_ERR_NOTFOUND if there is no such row
 * (tombstones are returned, with "deleted": true). */
ps_status ps_store_load(ps_store *st, ps_kind kind, int64_t id, unsigned flags,
                        json_t **out, ps_err *err);
/* Row id of the live (not deleted) entity with this pid. PS_ERR_NOTFOUND if
 * none. For documents pass PS_KIND_PROPOSAL or PS_KIND_PUBLICATION. */
ps_status ps_store_find_pid(ps_store *st, ps_kind kind, const char *pid,
                            int64_t *id_out, ps_err *err);

/* What SI units parameters called name are stored in, to tell a query in
 * an incompatible unit: *compatible is 1 when some have unit_si, 0 when
 * some have SI units but none is unit_si, -1 when none has an SI unit
 * (nothing to compare; values without a unit have none). seen (size bytes)
 * lists a few of their SI units. */
ps_status ps_store_parameter_units(ps_store *st, const char *name,
                                   const char *unit_si, int *compatible,
                                   char *seen, size_t size, ps_err *err);

/* A page of live records of kind in (pid, kind) order: after (after_pid,
 * after_kind) (NULL: from the start; after_kind PS_KIND_NONE takes records
 * with pid == after_pid too), skipping offset records, visible at now_ms (0:
 * whatever their visibility). Up to max rows go into out[] (*n_out of them);
 * free their pids with ps_store_rows_free. Kinds: instrument, proposal,
 * dataset, publication, and PS_KIND_NONE for proposals and publications
 * together (the PaN API's Documents). */
typedef struct ps_store_row {
    ps_kind kind;
    int64_t id;
    char *pid;
} ps_store_row;
ps_status ps_store_page(ps_store *st, ps_kind kind, const char *after_pid,
                        ps_kind after_kind, int64_t offset, int64_t now_ms,
                        ps_store_row *out, size_t max, size_t *n_out,
                        ps_err *err);
void ps_store_rows_free(ps_store_row *rows, size_t n);
/* Live records of every indexed kind (instruments, proposals, datasets,
 * publications) together, in (pid, kind) order: those after (after_pid,
 * after_kind) (after_kind 0 takes the records with pid == after_pid too)
 * and with pid < below_pid (NULL: no bound), up to max into out[]. The
 * rebuild writes the index in this order. */
ps_status ps_store_page_all(ps_store *st, const char *after_pid,
                            ps_kind after_kind, const char *below_pid,
                            ps_store_row *out, size_t max, size_t *n_out,
                            ps_err *err);
/* The pid of the record at position n (from 0) of that order; *pid_out is
 * NULL when there are fewer records (free with ps_free). */
ps_status ps_store_nth_pid(ps_store *st, int64_t n, char **pid_out,
                           ps_err *err);
/* Ids of the live records of kind with id > after_id and id % stride ==
 * offset (stride 1: all), ascending, up to max into out[] (*n_out of them).
 * Rebuild workers use this to split the records between them. */
ps_status ps_store_ids(ps_store *st, ps_kind kind, int64_t after_id, int stride,
                       int offset, int64_t *out, size_t max, size_t *n_out,
                       ps_err *err);
/* Number of live records of kind visible at now_ms (0: all); PS_KIND_NONE
 * counts proposals and publications together. */
ps_status ps_store_count(ps_store *st, ps_kind kind, int64_t now_ms,
                         int64_t *out, ps_err *err);

/* ---- the change feed
 * ---------------------------------------------------------- Every write gives
 * the record a new sequence number; the feed holds one row per record at its
 * latest number. Indexable kinds: instrument, proposal, dataset, publication.
 */
typedef struct ps_change {
    int64_t seq;
    ps_kind kind;
    int64_t id;
} ps_change;

/* Up to max changes with seq > after, in sequence order, into out[]; *n_out
 * gets how many. */
ps_status ps_store_changes(ps_store *st, int64_t after, ps_change *out,
                           size_t max, size_t *n_out, ps_err *err);
/* The highest sequence number given so far (0 for an empty store). */
ps_status ps_store_max_seq(ps_store *st, int64_t *out, ps_err *err);
/* ---- the technique ontology ---------------------------------------------
 * PaNET's terms and the transitive closure of its hierarchy. */
typedef struct ps_technique_term {
    const char *iri;   /* http://purl.org/pan-science/PaNET/PaNET01189 */
    const char *label; /* small angle neutron scattering */
    const char *const *synonyms;
    size_t nsynonyms;
    const char *definition; /* may be NULL */
    int specifier; /* a probe, process... that techniques are defined by */
} ps_technique_term;
/* Replace the ontology by terms[0..nterms) and its closure: every pair
 * (ancestor, descendant) as indexes into terms, each term its own ancestor
 * too. source says where it came from (a file name). One transaction. */
ps_status ps_store_ontology_replace(ps_store *st, const char *source,
                                    const ps_technique_term *terms,
                                    size_t nterms, const size_t (*closure)[2],
                                    size_t nclosure, ps_err *err);
/* A technique and every narrower one: the IRIs and all the names (labels
 * and synonyms) of the terms below the term(s) that value names, by IRI or
 * by name in any letter case ("x-ray probe" also finds "x-ray probe
 * technique"). Empty when the ontology does not know value. Free with
 * ps_technique_set_free. */
typedef struct ps_technique_set {
    char **iris;
    size_t niris;
    char **names;
    size_t nnames;
} ps_technique_set;
ps_status ps_store_technique_expand(ps_store *st, const char *value,
                                    ps_technique_set *out, ps_err *err);
void ps_technique_set_free(ps_technique_set *set);
/* How many terms the ontology has, where it was imported from (ps_free;
 * NULL if never) and when (ms, 0 if never). */
ps_status ps_store_ontology_info(ps_store *st, int64_t *nterms_out,
                                 char **source_out, int64_t *imported_at_out,
                                 ps_err *err);

/* The store's identity: a random 32-hex-digit id made when the store was
 * created (or upgraded to schema 2). An index records the id of the store
 * it was built from, so it is never applied to another store. */
const char *ps_store_id(const ps_store *st);
/* Number of changes with seq > after. */
ps_status ps_store_pending(ps_store *st, int64_t after, int64_t *out,
                           ps_err *err);

/* ---- status
 * ---------------------------------------------------------------------
 * {"schema":N,"max_seq":N,"entities":{"dataset":N,...} (live records),
 *  "tombstones":{...},"sources":[{"name","type","url","records":{kind:N},
 *  "checkpoint":{key:value} (where the next run starts),
 *  "pdfs":{"extracted","no_text","failed"} (pdf sources: their ledger),
 *  "last_run":{"id","state","started","finished","seen","inserted",
 *  "updated","unchanged","deleted","rejected","message"}}]} */
ps_status ps_store_stats(ps_store *st, json_t **out, ps_err *err);

/* ---- publication text, mentions and the PDF ledger (issue 5)
 * ---------------------------------------------------------------------
 * What a publication's PDF gives beside its metadata. The text is the
 * PDF's alone: a source that writes the publication's metadata (Crossref,
 * DataCite, ...) never touches it, and the PDF's own copy of the metadata
 * only counts where no better source has the record (precedence). */
typedef struct ps_mention_in {
    const char *kind;     /* "facility", "instrument", "proposal", "data-doi" */
    const char *value;    /* normalised: "8-01-418", "ID23-1", "ILL", a DOI */
    const char *facility; /* short name, or NULL */
    const char *matched;  /* the text as it was found */
    const char *section;  /* "acknowledgements", "funding", "references",
                             "text" (the rest) */
    int64_t offset, length; /* bytes into the section's text */
    const char *context;    /* the text around it */
    int64_t context_at;     /* where the mention starts inside context */
    double confidence;
} ps_mention_in;

typedef struct ps_reference_in {
    const char *doi; /* NULL when the entry has none */
    const char *raw; /* the entry as printed */
} ps_reference_in;

typedef struct ps_pub_text_in {
    const char *sha256; /* of the PDF the text comes from */
    const char *full_text, *acknowledgements, *funding;
    const ps_mention_in *mentions;
    size_t nmentions;
    const ps_reference_in *refs;
    size_t nrefs;
} ps_pub_text_in;

/* Replace publication pub_id's text, mentions and references (those from
 * its PDF) and give it a new sequence number, so the index follows. A
 * text from the same PDF (sha256) as the one stored is PS_OK with
 * *changed_out 0 (may be NULL) and no write. */
ps_status ps_store_put_publication_text(ps_store *st, int64_t pub_id,
                                        const ps_pub_text_in *in,
                                        int *changed_out, ps_err *err);

/* The pdf source's ledger: one row per (source, location). */
typedef enum {
    PS_PDF_EXTRACTED = 0, /* text and metadata stored */
    PS_PDF_NO_TEXT = 1,   /* read, but no text (scanned): a warning */
    PS_PDF_FAILED = 2     /* could not be read; message says why */
} ps_pdf_state;

typedef struct ps_pdf_file {
    const char *location; /* path or URL */
    const char *sha256;   /* NULL: not fetched */
    int64_t size, mtime;  /* files: to skip an unchanged one unread */
    int pages;
    ps_pdf_state state;
    const char *message;
    int64_t publication_id; /* 0: none */
} ps_pdf_file;

/* The stored row of (source_id, location): *found_out 0 when none; the
 * strings in *out are copies to free with ps_pdf_file_clear. */
ps_status ps_store_pdf_file_get(ps_store *st, int64_t source_id,
                                const char *location, ps_pdf_file *out,
                                int *found_out, ps_err *err);
void ps_pdf_file_clear(ps_pdf_file *f);
/* The ledger row of a PDF with these bytes, of any source (one whose
 * publication is live first): *found_out 0 when none. *source_out gets
 * its source; the strings in *out are copies (ps_pdf_file_clear). */
ps_status ps_store_pdf_by_hash(ps_store *st, const char *sha256,
                               ps_pdf_file *out, int64_t *source_out,
                               int *found_out, ps_err *err);
/* The same bytes at another location: the publication that the location
 * (from_source, from_location) gave gets a provenance for (to_source,
 * to_location) too, seen by run_id, so it lives as long as either does.
 * *copied_out is 0 when from_location has no live publication. */
ps_status ps_store_pdf_share(ps_store *st, int64_t from_source,
                             const char *from_location, int64_t to_source,
                             const char *to_location, int64_t run_id,
                             int *copied_out, ps_err *err);
/* Write the row of (source_id, f->location) as seen by run_id. */
ps_status ps_store_pdf_file_put(ps_store *st, int64_t source_id, int64_t run_id,
                                const ps_pdf_file *f, ps_err *err);
/* After a complete run: forget the locations run_id did not see. *n_out
 * (may be NULL) counts them. */
ps_status ps_store_pdf_file_sweep(ps_store *st, int64_t source_id,
                                  int64_t run_id, int64_t *n_out, ps_err *err);
/* Count the source's ledger rows by state (counts[3], by ps_pdf_state). */
ps_status ps_store_pdf_file_counts(ps_store *st, int64_t source_id,
                                   int64_t counts[3], ps_err *err);

/* A PDF URL a harvested record gives for publication pub_id. */
ps_status ps_store_put_pdf_link(ps_store *st, int64_t source_id, int64_t pub_id,
                                const char *url, ps_err *err);
/* Every PDF link of a live publication, in publication order: fn(ctx,
 * pub_pid, pub_doi, url) for each (a non-zero return stops: PS_OK). */
ps_status ps_store_pdf_links(ps_store *st,
                             int (*fn)(void *ctx, const char *pid,
                                       const char *doi, const char *url),
                             void *ctx, ps_err *err);

/* Every live instrument with its names: fn(ctx, facility, name, aliases)
 * with the other names |-separated (NULL when none), for the mention
 * matcher. */
ps_status ps_store_instrument_names(ps_store *st,
                                    int (*fn)(void *ctx, const char *facility,
                                              const char *name,
                                              const char *aliases),
                                    void *ctx, ps_err *err);

/* ---- collections (issue 6) ------------------------------------------------
 * A collection is a named set of records (proposals, publications, datasets,
 * instruments) that users gather in the dashboard; its charts are the
 * analytics endpoints filtered to its members. A collection has a generated
 * url-safe pid ("c-" and 12 hex digits); each item is a (kind, record)
 * pair with the time it was added and an optional note. Items are kept
 * when their record is deleted or hidden later, but the reads below leave
 * out what is not live (and, with now_ms, not public). Ceilings: */
#define PS_COLLECTION_NAME_MAX 200     /* bytes of a name (at least 1) */
#define PS_COLLECTION_DESC_MAX 4000    /* bytes of a description */
#define PS_COLLECTION_NOTE_MAX 1000    /* bytes of an item's note */
#define PS_COLLECTIONS_MAX 1000        /* collections in a store */
#define PS_COLLECTION_ITEMS_MAX 100000 /* items in one collection */
#define PS_COLLECTION_BATCH_MAX 10000  /* items in one add or remove call */

/* Create a collection. name: valid UTF-8, 1..PS_COLLECTION_NAME_MAX bytes,
 * not blank, no control characters; description: NULL or valid UTF-8 of
 * at most PS_COLLECTION_DESC_MAX bytes (tabs and line breaks allowed).
 * *out is the new collection as ps_store_collection_get gives it without
 * items (caller owns it; NULL on failure). Errors: PS_ERR_INVALID (bad
 * name or description, read-only store), PS_ERR_TOOBIG (there are
 * PS_COLLECTIONS_MAX already), PS_ERR_BUSY, PS_ERR_DB, PS_ERR_NOMEM. */
ps_status ps_store_collection_create(ps_store *st, json_t **out,
                                     const char *name, const char *description,
                                     ps_err *err);
/* Every collection, most recently updated first, as a JSON array (caller
 * owns it) of {"pid","name","description" (null if none),"count",
 * "created_at","updated_at"} (times ISO 8601, UTC). count: the items whose
 * record is live and, with now_ms != 0, visible to the public at now_ms.
 * Errors: PS_ERR_DB, PS_ERR_NOMEM. */
ps_status ps_store_collection_list(ps_store *st, json_t **out, int64_t now_ms,
                                   ps_err *err);
/* One collection as in the list, and with limit > 0 an "items" array of
 * up to limit items after skip, in the order they were added (items added
 * in the same millisecond: instruments, proposals, datasets, publications,
 * then by pid):
 * {"type" (proposal|publication|dataset|instrument),"pid","title" (an
 * instrument's name),"added_at","note" (omitted if none)}; the same items
 * count counts. Errors: PS_ERR_NOTFOUND (no collection with that pid),
 * PS_ERR_INVALID (negative limit or skip), PS_ERR_DB, PS_ERR_NOMEM. */
ps_status ps_store_collection_get(ps_store *st, json_t **out, const char *pid,
                                  int64_t now_ms, int64_t limit, int64_t skip,
                                  ps_err *err);
/* Delete a collection and its items. Errors: PS_ERR_NOTFOUND,
 * PS_ERR_INVALID (read-only store), PS_ERR_BUSY, PS_ERR_DB. */
ps_status ps_store_collection_delete(ps_store *st, const char *pid,
                                     ps_err *err);

/* One item to add or remove. */
typedef struct ps_collection_item {
    ps_kind kind;     /* proposal, publication, dataset or instrument */
    const char *pid;  /* the record's pid */
    const char *note; /* add: NULL keeps the item's note; remove: unused */
} ps_collection_item;

/* What an add or a remove did with the n items it was given: done + already
 * + unknown == n (an item given twice is "already" the second time). */
typedef struct ps_collection_counts {
    int64_t done;    /* added, or removed */
    int64_t already; /* add: already a member; remove: not a member */
    int64_t unknown; /* no live record of that kind and pid (add: visible
                        at now_ms when now_ms != 0) */
} ps_collection_counts;

/* Add items[0..n) to collection pid, in one transaction; an item already
 * there keeps its added_at and takes the new note if one is given. Records
 * must be live (and, with now_ms != 0, visible to the public at now_ms);
 * others are counted unknown and, if unknown_out is not NULL, flagged
 * there (unknown_out[i] = 1; n bytes). The collection's updated_at moves
 * when something was added. Errors: PS_ERR_INVALID (n >
 * PS_COLLECTION_BATCH_MAX, a kind that cannot be collected, a NULL pid, a
 * note that is not UTF-8 or longer than PS_COLLECTION_NOTE_MAX, read-only
 * store), PS_ERR_NOTFOUND (no such collection), PS_ERR_TOOBIG (the
 * collection would hold more than PS_COLLECTION_ITEMS_MAX items; nothing is
 * added), PS_ERR_BUSY, PS_ERR_DB, PS_ERR_NOMEM. */
ps_status ps_store_collection_add(ps_store *st,
                                  ps_collection_counts *counts_out,
                                  const char *pid,
                                  const ps_collection_item *items, size_t n,
                                  int64_t now_ms, unsigned char *unknown_out,
                                  ps_err *err);
/* Remove items[0..n) from collection pid (notes ignored). unknown: no
 * record of that kind and pid, or one not visible at now_ms (when now_ms
 * != 0) that is not a member either. Same errors as add, without
 * PS_ERR_TOOBIG. */
ps_status ps_store_collection_remove(ps_store *st,
                                     ps_collection_counts *counts_out,
                                     const char *pid,
                                     const ps_collection_item *items, size_t n,
                                     int64_t now_ms, unsigned char *unknown_out,
                                     ps_err *err);
/* The members of collection pid whose record is live (whatever its
 * visibility: the caller's own read path applies that), ordered by kind
 * then pid: fn(payload, kind, id, member_pid) for each; a non-zero return
 * stops the walk (PS_OK). The search filters `collection=PID` with it.
 * Errors: PS_ERR_NOTFOUND (no collection with that pid), PS_ERR_INVALID
 * (NULL pid or fn), PS_ERR_DB. */
ps_status ps_store_collection_members(ps_store *st, const char *pid,
                                      int (*fn)(void *payload, ps_kind kind,
                                                int64_t id,
                                                const char *member_pid),
                                      void *payload, ps_err *err);

#ifdef __cplusplus
}
#endif
#endif /* PS_STORE_H */
