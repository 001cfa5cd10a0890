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
    /* The pansift executable: the pdf source runs `EXE pdf-extract` for
     * each PDF, several at once. NULL: PDFs are extracted one at a time in
     * a forked child of this process (a fork beside other threads can
     * inherit a lock one of them holds). */
    const char *exe;
} ps_harvest_opts;

#define PS_HARVEST_OPTS_VERSION 1
#define PS_HARVEST_OPTS_INIT                                                   \
    {                                                                          \
        PS_HARVEST_OPTS_VERSION, 1000, NULL, NULL, NULL, NULL                  \
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

/* ---- PDF extraction (pdf-extract.c) ---------------------------------------
 * Read a publication PDF with poppler and pull out what a publication record
 * needs: title, authors in order, DOI, abstract, keywords, year, the
 * acknowledgements and funding sections, the references (with their DOIs)
 * and the full text. Layout and fonts drive the heuristics (docs/pdf.md):
 * the title is the largest type on page 1, authors are the lines below it,
 * sections start at headings. */
typedef struct ps_pdf_opts {
    int version;
    size_t max_text_bytes; /* full text kept per document; 4 MiB */
    int max_pages;         /* pages read; 500 */
} ps_pdf_opts;

#define PS_PDF_OPTS_VERSION 1
#define PS_PDF_OPTS_INIT                                                       \
    {                                                                          \
        PS_PDF_OPTS_VERSION, (size_t)4 << 20, 500                              \
    }

/* Warning flags of an extraction that still succeeded. */
enum {
    PS_PDF_WARN_NO_TEXT = 1,   /* no text at all (scanned or image-only) */
    PS_PDF_WARN_TEXT_CUT = 2,  /* the text reached max_text_bytes: cut */
    PS_PDF_WARN_PAGES_CUT = 4, /* more pages than max_pages: rest ignored */
    PS_PDF_WARN_NO_TITLE = 8   /* text, but no title found */
};

typedef struct ps_pdf_ref {
    char *text; /* the entry, lines joined */
    char *doi;  /* NULL when the entry has none */
} ps_pdf_ref;

/* An extraction. Every string is UTF-8, owned by the document, NULL when
 * the field was not found. Free with ps_pdf_doc_free. */
typedef struct ps_pdf_doc {
    char *title;
    char **authors; /* full names as printed, in order */
    size_t nauthors;
    char *doi; /* lower-case, without a resolver prefix */
    char *abstract;
    char **keywords;
    size_t nkeywords;
    int year; /* 0 when unknown */
    char *acknowledgements;
    char *funding;
    ps_pdf_ref *refs;
    size_t nrefs;
    char *text; /* the full text, pages separated by form feeds */
    size_t text_len;
    int pages;         /* pages in the file */
    unsigned warnings; /* PS_PDF_WARN_* */
} ps_pdf_doc;

/* Extract from a PDF held in memory (len bytes; opts NULL: defaults). On
 * success *out is a new document (ps_pdf_doc_free); on failure NULL.
 * Errors: PS_ERR_INVALID (NULL arguments, bad opts, an encrypted PDF that
 * needs a password), PS_ERR_PARSE (not a PDF, damaged, truncated, no
 * pages), PS_ERR_NOMEM. No text is not an error: PS_PDF_WARN_NO_TEXT. */
ps_status ps_pdf_extract(const void *data, size_t len, const ps_pdf_opts *opts,
                         ps_pdf_doc **out, ps_err *err);

/* The same for a file, run in a forked child that is killed when timeout_ms
 * pass (poppler can loop on hostile files); the child sends its result back
 * as JSON through a pipe, read up to a ceiling. Errors: those of
 * ps_pdf_extract, PS_ERR_NOTFOUND / PS_ERR_IO (the file), PS_ERR_TIMEOUT
 * ("timed out after N ms"), PS_ERR_INTERNAL (the child crashed), and
 * PS_ERR_TOOBIG (the file or result exceeds its ceiling). */
ps_status ps_pdf_extract_file_guarded(const char *path, const ps_pdf_opts *opts,
                                      long timeout_ms, ps_pdf_doc **out,
                                      ps_err *err);

/* The document as a JSON object (new reference in *out), and back. */
ps_status ps_pdf_doc_to_json(const ps_pdf_doc *doc, json_t **out, ps_err *err);
ps_status ps_pdf_doc_from_json(const json_t *obj, ps_pdf_doc **out,
                               ps_err *err);
/* Free doc and everything in it; NULL is a no-op. */
void ps_pdf_doc_free(ps_pdf_doc *doc);

/* ---- extraction accuracy (pdf-accuracy.c) ---------------------------------
 * The reference metadata of a PDF from its Crossref deposit XML, and the
 * scores of an extraction against it, summed over a corpus. */
typedef struct ps_pdf_truth {
    char *title;
    char *doi;       /* lower-case */
    char **families; /* authors' family names, in order */
    size_t nfamilies;
} ps_pdf_truth;

/* Read a Crossref deposit (or a single-work Crossref XML) file. Errors:
 * PS_ERR_NOTFOUND / PS_ERR_IO, PS_ERR_TOOBIG (over 16 MiB), PS_ERR_PARSE
 * (not XML, or no work with a title in it), PS_ERR_NOMEM. Free *out with
 * ps_pdf_truth_free (NULL is a no-op). */
ps_status ps_pdf_truth_load(const char *path, ps_pdf_truth **out, ps_err *err);
void ps_pdf_truth_free(ps_pdf_truth *t);

/* Similarity of two strings after Unicode case folding and collapsing
 * white space: 1 - Levenshtein distance / longer length, over characters.
 * 1.0 for two empty strings, 0.0 when one is NULL. */
double ps_pdf_similarity(const char *a, const char *b);

/* Counts summed over documents (micro-averaged figures). */
typedef struct ps_pdf_score {
    size_t docs;
    size_t title_exact, title_fuzzy; /* fuzzy: similarity >= 0.9 */
    size_t doi_exact;
    size_t authors_true, authors_found, authors_matched;
} ps_pdf_score;

/* Add one document's comparison to sc; doc NULL counts a failed
 * extraction (nothing found). */
void ps_pdf_score_add(ps_pdf_score *sc, const ps_pdf_doc *doc,
                      const ps_pdf_truth *truth);
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
/* The same with the proposal-code grammars from the file proposal_codes
 * (NULL: dir/proposal-codes.tsv), e.g. a facility's own, from the config. */
ps_status ps_mentions_matcher_load_with(ps_mentions_matcher **out,
                                        const char *dir,
                                        const char *proposal_codes,
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
