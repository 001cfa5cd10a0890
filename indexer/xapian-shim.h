/*
 * xapian-shim.h: the C face of Xapian. Pure C with opaque handles; the C++
 * objects live only in xapian-shim.cc and xapian-private.hh. Every function
 * catches every exception and turns it into a ps_status with Xapian's message
 * in ps_err (no exception ever crosses into C). The API is task-shaped, in
 * the manner of Cyrus's xapian_wrap.h, not a mirror of Xapian's classes:
 * open a database, build a document, replace or delete it by its unique id
 * term, build a query tree (or parse what a user typed), run a search,
 * make snippets of its hits, compact shards into one database.
 *
 * Threads: a handle may be used by one thread at a time. Use one read handle
 * per thread (Xapian has no locking inside). A writable handle holds
 * Xapian's write lock until it is closed.
 *
 * Ownership: ps_xdb_open/ps_xdb_close, ps_xdoc_new/ps_xdoc_free,
 * ps_xq_* / ps_xq_free and ps_xresult_free pair up; NULL is a no-op for every
 * free/close. Snippets (ps_xresult_snippet) are new strings the caller frees
 * with ps_free. Composite query constructors take ownership of (steal) their
 * children, even when they fail, like jansson's *_new setters.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef PS_XAPIAN_SHIM_H
#define PS_XAPIAN_SHIM_H

#include "common.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ps_xdb ps_xdb;
typedef struct ps_xdoc ps_xdoc;
typedef struct ps_xquery ps_xquery;

/* ---- databases ------------------------------------------------------------
 */
typedef enum {
    PS_XDB_READ = 0,     /* read-only; the database must exist */
    PS_XDB_WRITE = 1,    /* writable; created if missing */
    PS_XDB_OVERWRITE = 2 /* writable; any existing database is replaced */
} ps_xdb_mode;

/* Flags for writable databases. */
#define PS_XDB_BULK                                                            \
    0x1u                        /* DB_DANGEROUS | DB_NO_SYNC: a throw-away     \
                                   build (rebuild shards); no readers */
#define PS_XDB_NO_TERMLIST 0x2u /* DB_NO_TERMLIST: build-once shards only */

/* Open the database at path (a directory, or a stub file). Errors:
 * PS_ERR_NOTFOUND (read mode and nothing there), PS_ERR_BUSY (another writer
 * holds the lock), PS_ERR_CORRUPT, PS_ERR_INDEX, PS_ERR_NOMEM. */
ps_status ps_xdb_open(ps_xdb **out, const char *path, ps_xdb_mode mode,
                      unsigned flags, ps_err *err);
/* Close; a writable database commits pending changes first (Xapian's
 * behaviour). */
void ps_xdb_close(ps_xdb *db);
/* Read handles: move to the latest committed revision. *changed_out (may be
 * NULL) is set to 1 if the revision changed. */
ps_status ps_xdb_reopen(ps_xdb *db, int *changed_out, ps_err *err);
/* Revision number of the open database (glass revision). */
uint64_t ps_xdb_revision(ps_xdb *db);
/* Writable handles: make everything since the last commit durable and
 * visible, atomically. */
ps_status ps_xdb_commit(ps_xdb *db, ps_err *err);

/* User metadata (small strings such as the last applied store sequence). The
 * value set is committed with the next commit. get: *value_out is a new
 * string (free with ps_free), "" if the key is absent. */
ps_status ps_xdb_set_metadata(ps_xdb *db, const char *key, const char *value,
                              ps_err *err);
ps_status ps_xdb_get_metadata(ps_xdb *db, const char *key, char **value_out,
                              ps_err *err);

/* Add or replace the document indexed by the unique term idterm (which the
 * document must also contain; the shim adds it if missing). */
ps_status ps_xdb_replace(ps_xdb *db, const char *idterm, ps_xdoc *doc,
                         ps_err *err);
/* Add a new document without looking for an existing one (bulk builds). */
ps_status ps_xdb_add(ps_xdb *db, ps_xdoc *doc, ps_err *err);
/* Delete the document(s) indexed by idterm; deleting nothing is PS_OK. */
ps_status ps_xdb_delete(ps_xdb *db, const char *idterm, ps_err *err);

/* Number of documents; 0 on error. */
uint64_t ps_xdb_doccount(ps_xdb *db);
/* Number of documents containing term (exact). */
ps_status ps_xdb_termfreq(ps_xdb *db, const char *term, uint64_t *out,
                          ps_err *err);

/* Merge the databases at srcs[0..n) into a new compacted database at dst
 * (which must not exist), keeping the user metadata of srcs[0]. */
ps_status ps_xdb_compact(const char *const *srcs, size_t n, const char *dst,
                         ps_err *err);

/* ---- documents -------------------------------------------------------------
 * Text is indexed with Xapian's TermGenerator, English stemmer, every term
 * stemmed (STEM_ALL), with positions so that phrases match. Each call to
 * ps_xdoc_index_text starts 100 positions after the previous one, so a
 * phrase never spans two fields. */
ps_xdoc *ps_xdoc_new(void); /* NULL if out of memory */
void ps_xdoc_free(ps_xdoc *doc);
/* Index text with the given within-document frequency increment (weight)
 * and term prefix ("" for none; prefixes are upper-case letters, as in
 * Xapian's conventions, e.g. "S" for titles). */
ps_status ps_xdoc_index_text(ps_xdoc *doc, const char *text, unsigned weight,
                             const char *prefix, ps_err *err);
/* Index text for the search endpoint (/api/search) and its snippets, with
 * Xapian's STEM_SOME strategy (Omega's): each word as written, in lower
 * case (wildcards), plus its English stem with "Z" before the prefix
 * ("Zcrystal", "ZScrystal"). This is the shape MSet::snippet understands,
 * so that a query for "crystals" marks "crystal" in the text; ps_xq_words
 * parses queries for it. With PS_XWORDS_POSITIONS the words as written
 * get their positions (phrases match; positions go on from the previous
 * call plus a gap of 100, as for ps_xdoc_index_text); without, the field
 * answers word queries only, at about half the size. Only the first
 * max_bytes of text[0..len) are indexed (cut at a character boundary; 0:
 * no ceiling). PS_ERR_INVALID (no doc, NULL text with len > 0, unknown
 * flags), PS_ERR_NOMEM, PS_ERR_INDEX. */
#define PS_XWORDS_POSITIONS 0x1u
ps_status ps_xdoc_index_words(ps_xdoc *doc, const char *text, size_t len,
                              size_t max_bytes, unsigned weight,
                              const char *prefix, unsigned flags, ps_err *err);
/* Add a boolean term (wdf 0). Terms longer than Xapian's limit (245 bytes)
 * are cut at 200 bytes and followed by a hash of the whole term, so equal
 * long terms stay equal; use ps_xterm_make to build query terms the same
 * way. */
ps_status ps_xdoc_add_term(ps_xdoc *doc, const char *term, ps_err *err);
/* Add term (shaped as ps_xdoc_add_term does) with its within-document
 * frequency raised by wdf (>= 1), without positions. */
ps_status ps_xdoc_add_wdf(ps_xdoc *doc, const char *term, unsigned wdf,
                          ps_err *err);
/* Set value slot to raw bytes / to a number (Xapian::sortable_serialise, so
 * byte order is numeric order). */
ps_status ps_xdoc_set_value(ps_xdoc *doc, unsigned slot, const char *bytes,
                            size_t len, ps_err *err);
ps_status ps_xdoc_set_value_num(ps_xdoc *doc, unsigned slot, double v,
                                ps_err *err);
/* Opaque data returned with search hits. */
ps_status ps_xdoc_set_data(ps_xdoc *doc, const char *data, size_t len,
                           ps_err *err);

/* Write into out (size bytes, at least 246) the term as ps_xdoc_add_term
 * stores it (identity for short terms). Returns out. */
char *ps_xterm_make(const char *term, char *out, size_t size);
/* sortable_serialise(v) into out (at least 18 bytes); returns its length. */
size_t ps_xvalue_num(double v, char *out);

/* Xapian's lower case of the Unicode code point ch (simple case
 * mapping). */
uint32_t ps_xunicode_lower(uint32_t ch);

/* ---- queries ---------------------------------------------------------------
 * Constructors return NULL only when out of memory (or, for ps_xq_text, on a
 * parse error reported in err). Composite constructors steal their
 * arguments; a NULL child makes the result NULL (and the other children are
 * freed). */
ps_xquery *ps_xq_all(void);              /* every document */
ps_xquery *ps_xq_none(void);             /* no document */
ps_xquery *ps_xq_term(const char *term); /* boolean: weight 0 */
/* Value range on slot, bounds inclusive; a NULL bound is open. lo/hi are
 * raw value bytes (strings, or ps_xvalue_num output for numbers). */
ps_xquery *ps_xq_range(unsigned slot, const char *lo, size_t lo_len,
                       const char *hi, size_t hi_len);
ps_xquery *ps_xq_and(ps_xquery **children, size_t n);
ps_xquery *ps_xq_or(ps_xquery **children, size_t n);
ps_xquery *ps_xq_and_not(ps_xquery *a, ps_xquery *b);
/* Match a, restricted to documents matching b (b does not weigh). */
ps_xquery *ps_xq_filter(ps_xquery *a, ps_xquery *b);
/* Parse user text with Xapian's QueryParser (English stemmer, STEM_ALL,
 * default operator AND, phrases, boolean operators, wildcards); prefix is
 * the default term prefix ("" for the unprefixed text). PS_ERR_PARSE on a
 * syntax error. */
ps_xquery *ps_xq_text(ps_xdb *db, const char *text, const char *prefix,
                      ps_err *err);

/* Parse what a user typed into the search box, for text indexed with
 * ps_xdoc_index_words: Xapian's QueryParser with the English stemmer and
 * STEM_SOME, words joined by AND unless OR/AND/NOT/XOR say otherwise,
 * "phrases", +required and -excluded words, ( ) grouping, word* prefix
 * wildcards (each expanded to the opts->max_expansion most frequent
 * terms of the database, which db must then be). A query of only NOT
 * (pure negation) is a syntax error. With boost_prefix, the same text
 * parsed in that field (e.g. titles) adds its weight times boost to the
 * documents that match there too (AND_MAYBE): it ranks, it does not
 * filter. NULL with err filled: PS_ERR_PARSE (Xapian's syntax message),
 * PS_ERR_INVALID (no text, bad opts, or nothing to search for: blank,
 * punctuation only, a lone "*"), PS_ERR_NOMEM. */
typedef struct ps_xwords_opts {
    int version;
    const char *prefix;       /* the field searched: "" for all the text */
    const char *boost_prefix; /* NULL, or the field whose matches add weight */
    double boost;             /* > 0: the factor of boost_prefix's weight */
    unsigned max_expansion;   /* terms per wildcard (0: 100) */
} ps_xwords_opts;

#define PS_XWORDS_OPTS_VERSION 1
#define PS_XWORDS_OPTS_INIT                                                    \
    {                                                                          \
        PS_XWORDS_OPTS_VERSION, "", NULL, 1.0, 0                               \
    }

ps_xquery *ps_xq_words(ps_xdb *db, const char *text, const ps_xwords_opts *opts,
                       ps_err *err);

/* One term of a query the caller parsed itself (/api/search's syntax,
 * query/query-syntax.h), for text indexed with ps_xdoc_index_words under
 * prefix ("" for all the text): a word (its English stem unless it is
 * capitalised, as ps_xq_words; a word with inner punctuation such as
 * "single-crystal" is the phrase of its parts), a phrase (text: the words
 * between the quotes; the field must have positions), or a prefix (text:
 * the letters before the '*', expanded to the max_expansion most frequent
 * terms of db, 0: 100). *out is NULL with PS_OK when text holds no word
 * (punctuation only). Errors: PS_ERR_INVALID (bad argument), PS_ERR_NOMEM,
 * PS_ERR_INDEX. */
typedef enum {
    PS_XLEAF_WORD = 0,
    PS_XLEAF_PHRASE = 1,
    PS_XLEAF_PREFIX = 2
} ps_xleaf_kind;
ps_status ps_xq_leaf(ps_xdb *db, const char *text, const char *prefix,
                     ps_xleaf_kind kind, unsigned max_expansion,
                     ps_xquery **out, ps_err *err);
/* The documents having a boolean term prefix + N for a whole number N in
 * [lo, hi] (written in decimal without leading zeros, as years are): the
 * OR of those of db's terms, found by walking the terms with prefix
 * (never more than PS_XQ_SPAN_MAX of them are read). PS_ERR_INVALID (no db
 * or prefix), PS_ERR_TOOBIG (more terms than that), PS_ERR_INDEX. */
#define PS_XQ_SPAN_MAX 100000
ps_status ps_xq_term_span(ps_xdb *db, const char *prefix, int64_t lo,
                          int64_t hi, ps_xquery **out, ps_err *err);
/* Match a; documents also matching b get b's weight times scale (> 0)
 * added (AND_MAYBE). Steals both. */
ps_xquery *ps_xq_and_maybe(ps_xquery *a, ps_xquery *b, double scale);

/* Relevance scores the way the PaNOSC search-scoring service computes them
 * (TF-IDuF weights, cosine similarity; docs/relevance.md), from the index
 * statistics of the database searched: N is the frequency of corpus_term,
 * n_t the frequency of each term, the weight of term t in a document is
 * w = (wdf / distinct) * log10(1 + N / n_t), where distinct is the
 * document's within-document frequency of distinct_term. The query matches the
 * documents holding at least one of terms and weighs each with its score:
 *  - terms given more than once (a term repeated counts repeatedly in the
 *    query vector): the cosine between the document's weights over the
 *    query terms and the query vector, sum_t q_t w_t / (|w| |q|);
 *  - one term: 0.9 * w / max w, the maximum over every document with the
 *    term.
 * Scores are in (0, 1): a cosine of 1 is given as the largest double below
 * 1. They are computed when the query first runs, from the database it
 * runs on, and kept per database revision and term set in a cache that
 * the process's threads share (128 MiB, least recently used out first), so
 * a query repeated on an unchanged index reads no posting list again.
 * tie_docid: the search ranks equal weights by ascending docid (no sort
 * keys), so a candidate that only equals the weakest hit kept cannot enter
 * the results and is skipped. terms are index terms (prefix included);
 * nterms == 0 matches nothing. NULL with err filled: PS_ERR_INVALID (bad
 * opts), PS_ERR_NOMEM. */
typedef struct ps_xscore_opts {
    int version;
    const char *const *terms;
    size_t nterms;
    const char *corpus_term;
    const char *distinct_term;
    int tie_docid;
} ps_xscore_opts;

#define PS_XSCORE_OPTS_VERSION 1
#define PS_XSCORE_OPTS_INIT                                                    \
    {                                                                          \
        PS_XSCORE_OPTS_VERSION, NULL, 0, NULL, NULL, 0                         \
    }

ps_xquery *ps_xq_score(const ps_xscore_opts *opts, ps_err *err);

void ps_xq_free(ps_xquery *q);
/* Xapian's description of the query, for logs and tests (free with
 * ps_free). */
char *ps_xq_describe(const ps_xquery *q);

/* ---- search ----------------------------------------------------------------
 */
typedef struct ps_xsort {
    unsigned slot;
    int descending;
} ps_xsort;

typedef struct ps_xsearch_opts {
    int version;
    const ps_xsort *sort; /* NULL/0: by relevance, then docid */
    size_t nsort;
    uint64_t offset;         /* first hit to return */
    uint64_t count;          /* how many hits to return (0: only count) */
    uint64_t check_at_least; /* make the counts exact up to this many; use
                                UINT64_MAX for an exact total */
    int docid_order;         /* 1: no ranking, hits in ascending docid order;
                                the matcher stops once it has enough (sort
                                must be empty) */
    int key_slot;            /* >= 0: copy this value slot into each hit's
                                key (-1: none) */
    int relevance_first;     /* 1: by relevance, ties by the sort keys */
    int snippets;            /* 1: keep the match set in the result for
                                ps_xresult_snippet (version 3) */
} ps_xsearch_opts;

/* Version 2 options (without snippets) are still accepted. */
#define PS_XSEARCH_OPTS_VERSION 3
#define PS_XSEARCH_OPTS_INIT                                                   \
    {                                                                          \
        PS_XSEARCH_OPTS_VERSION, NULL, 0, 0, 10, 0, 0, -1, 0, 0                \
    }

typedef struct ps_xhit {
    uint32_t docid;
    double weight;
    char *data; /* the document's data, NUL-terminated */
    size_t data_len;
    char *key; /* opts->key_slot's value, NUL-terminated, or NULL */
    size_t key_len;
} ps_xhit;

typedef struct ps_xmset ps_xmset;

typedef struct ps_xresult {
    ps_xhit *hits;
    size_t n;
    uint64_t matches_lower;
    uint64_t matches_estimated;
    uint64_t matches_upper; /* equal to lower when the count is exact */
    double max_weight;      /* best weight of the whole match set */
    ps_xmset *mset;         /* opts->snippets: the match set, else NULL */
} ps_xresult;

/* Run q and fill out (free with ps_xresult_free). Errors: PS_ERR_RETRY (the
 * database was modified under a reader: reopen and repeat), PS_ERR_INDEX,
 * PS_ERR_NOMEM, PS_ERR_INVALID (bad opts). */
ps_status ps_xdb_search(ps_xdb *db, const ps_xquery *q,
                        const ps_xsearch_opts *opts, ps_xresult *out,
                        ps_err *err);
void ps_xresult_free(ps_xresult *res);

/* ---- facets (xapian-facets.cc) ----------------------------------------------
 * Exact facet counts over a whole match set: the caller collects the match
 * set's docids once (ps_xdb_match_docids) and counts them against compact
 * tables of each facet's boolean terms, built once per index generation
 * (ps_xdb_facet_table). */

/* The docids of every document q matches, ascending, into *out (ps_free),
 * *n_out of them (*out is non-NULL even when 0). Errors: PS_ERR_INVALID,
 * PS_ERR_RETRY (the database changed under the reader), PS_ERR_INDEX,
 * PS_ERR_NOMEM. */
ps_status ps_xdb_match_docids(ps_xdb *db, const ps_xquery *q, uint32_t **out,
                              size_t *n_out, ps_err *err);

/* One facet of an index generation: the values of the boolean terms with a
 * prefix (names[v], without the prefix, in term order) and, for each docid
 * d < ndocs, its value ids values[offsets[d] .. offsets[d + 1]). */
typedef struct ps_xfacet_table {
    size_t ndocs;
    size_t nvalues;
    char **names;
    uint32_t *offsets; /* ndocs + 1 */
    uint32_t *values;
} ps_xfacet_table;

/* Read the terms with prefix (at most max_values of them, in term order)
 * and their postings into a new table *out (free with
 * ps_xfacet_table_free). Costs one pass over those postings. Errors:
 * PS_ERR_INVALID, PS_ERR_RETRY, PS_ERR_INDEX, PS_ERR_NOMEM. */
ps_status ps_xdb_facet_table(ps_xdb *db, const char *prefix, size_t max_values,
                             ps_xfacet_table **out, ps_err *err);
/* NULL is a no-op. */
void ps_xfacet_table_free(ps_xfacet_table *t);

/* Set bit d of bits (nbits of them, 64 to a word) for every document d
 * indexed by term; *n_out (may be NULL) gets how many. Errors as above. */
ps_status ps_xdb_postings_or(ps_xdb *db, const char *term, uint64_t *bits,
                             size_t nbits, size_t *n_out, ps_err *err);
/* out[d] = the number in value slot of document d (ps_xdoc_set_value_num),
 * NAN where it has none, for d < n. Errors as above. */
ps_status ps_xdb_value_array(ps_xdb *db, unsigned slot, double *out, size_t n,
                             ps_err *err);
/* A string naming this revision of this database (its UUID, revision and
 * last docid) into out: equal strings, equal docids. Errors: PS_ERR_INVALID,
 * PS_ERR_INDEX. */
ps_status ps_xdb_identity(ps_xdb *db, char *out, size_t size, ps_err *err);
/* The data of document docid (NUL-terminated, ps_free) into *out. Errors:
 * PS_ERR_NOTFOUND, PS_ERR_RETRY, PS_ERR_INDEX, PS_ERR_NOMEM. */
ps_status ps_xdb_doc_data(ps_xdb *db, uint32_t docid, char **out, ps_err *err);

/* A snippet of text (len bytes, UTF-8) for a result searched with
 * opts->snippets: Xapian's MSet::snippet, with the English stemmer, picks
 * about opts->length bytes of text around the words of the query (exact
 * words, stems, phrases, wildcard prefixes), wraps each match in
 * hi_start/hi_end and escapes the rest for HTML (<, >, &), and puts omit
 * where the text was cut mid-sentence. *out is a new string (ps_free);
 * "" when no word of the query is in text. Errors: PS_ERR_INVALID (no match
 * set kept, bad opts), PS_ERR_RETRY (the database changed under the
 * reader), PS_ERR_INDEX, PS_ERR_NOMEM. */
typedef struct ps_xsnippet_opts {
    int version;
    size_t length;        /* bytes of text to aim for */
    const char *hi_start; /* before each match (not empty) */
    const char *hi_end;   /* after each match (not empty) */
    const char *omit;     /* where the text was cut */
    int exhaustive;       /* 1: the best window of the whole text, weighing
                             the matches and, a little, the rarity of the
                             other words (Xapian's background model): about
                             100 ms per MiB of text. 0: the first window
                             with a match (the text is read up to it) */
} ps_xsnippet_opts;

#define PS_XSNIPPET_OPTS_VERSION 1
#define PS_XSNIPPET_OPTS_INIT                                                  \
    {                                                                          \
        PS_XSNIPPET_OPTS_VERSION, 200, "<mark>", "</mark>", "\xe2\x80\xa6", 0  \
    }

ps_status ps_xresult_snippet(const ps_xresult *res, const char *text,
                             size_t len, const ps_xsnippet_opts *opts,
                             char **out, ps_err *err);

#ifdef __cplusplus
}
#endif
#endif /* PS_XAPIAN_SHIM_H */
