/*
 * match.h: the publication↔proposal matcher (issue 6, point 4), part of the
 * store component. It reads the store's publications (authors, PDF
 * mentions, references, cited datasets) and proposals (code, members,
 * datasets and their instruments) and writes candidate links of type
 * `publication-from-proposal` with a score and an evidence list, then lets
 * staff confirm or reject them. Tiers, score formula, filters and the
 * evidence JSON are documented in docs/matching.md. It does not print: the
 * CLI (`pansift match`) reports.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef PS_MATCH_H
#define PS_MATCH_H

#include "store.h"

#include <stdint.h>

/* Options of a run. */
typedef struct ps_match_opts {
    int version;
    int full;              /* 1: every record, not only those changed since
                              the last run's checkpoint */
    int batch;             /* publications per transaction (0: 200) */
    double min_similarity; /* cosine counted as soft evidence (0: 0.25) */
    volatile int *cancel;  /* set non-zero to stop between batches */
} ps_match_opts;

#define PS_MATCH_OPTS_INIT                                                     \
    {                                                                          \
        1, 0, 0, 0.0, NULL                                                     \
    }

/* What a run did. */
typedef struct ps_match_stats {
    int64_t publications;  /* publications examined */
    int64_t proposals;     /* changed proposals that led to publications */
    int64_t inserted;      /* new candidate links */
    int64_t updated;       /* candidates whose score or evidence changed */
    int64_t unchanged;     /* candidates found again as they were */
    int64_t removed;       /* candidates whose evidence is gone */
    int64_t kept_judged;   /* pairs found again but confirmed/rejected */
    int64_t filtered_year; /* pairs dropped: paper older than proposal */
    int64_t filtered_soft; /* pairs dropped: fewer than two soft kinds */
    int64_t checkpoint;    /* the change sequence the next run starts after */
} ps_match_stats;

/* Run the matcher over the publications and proposals changed since the
 * last run (all of them with opts->full), one transaction per batch of
 * publications, then advance the checkpoint (meta key `match_seq`). A run
 * killed half-way redoes its work next time (the writes are idempotent).
 * Each link written or removed gives its publication and proposal a new
 * change sequence number. Rejected links are never revived, confirmed ones
 * never changed. opts may be NULL (defaults); stats_out may be NULL.
 * Errors: PS_ERR_INVALID (read-only store, bad options), PS_ERR_BUSY,
 * PS_ERR_DB, PS_ERR_NOMEM, PS_ERR_CANCELLED (opts->cancel was set: the
 * batches committed so far stay, the checkpoint does not move). */
ps_status ps_match_run(ps_store *st, const ps_match_opts *opts,
                       ps_match_stats *stats_out, ps_err *err);

/* Staff judge a candidate: state PS_LINK_CONFIRMED or PS_LINK_REJECTED.
 * The link becomes provenance PS_LINK_VALIDATED; its publication and
 * proposal get a new change sequence number. Errors: PS_ERR_INVALID (bad
 * state), PS_ERR_NOTFOUND (no publication-from-proposal link with that id),
 * PS_ERR_BUSY, PS_ERR_DB. */
ps_status ps_match_judge(ps_store *st, int64_t link_id, ps_link_state state,
                         ps_err *err);

/* The candidate links as a JSON array (owned by the caller, json_decref):
 * [{"id","publication","proposal","code","score","tier","state",
 * "provenance","evidence":[...]}], best score first; state -1: every state.
 * Errors: PS_ERR_DB, PS_ERR_NOMEM. */
ps_status ps_match_list(ps_store *st, int state, json_t **out, ps_err *err);

/* Cosine similarity of two texts over their stemmed content words (ASCII
 * letters folded to lower case, stop words dropped, at most 64 KiB of each
 * text read). 0 when either has no words. Exposed for the tests. */
double ps_match_similarity(const char *a, const char *b);

/* The key a person's name is compared by: the family name folded to lower
 * case ASCII letters, '|', the given name's initial ("curie|m"). family may
 * be NULL (then taken from full: the part before a comma, else the last
 * word). Returns 0 and an empty key when there is no family name or no
 * initial. */
int ps_match_name_key(char *out, size_t size, const char *full,
                      const char *given, const char *family);

#endif /* PS_MATCH_H */
