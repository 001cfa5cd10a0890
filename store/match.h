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

/* Staff judge a candidate: state PS_LINK_CONFIRMED or PS_LINK_REJECTED
 * makes the link provenance PS_LINK_VALIDATED; PS_LINK_CANDIDATE undoes a
 * judgement (provenance back to PS_LINK_HARVESTED when a source asserts
 * the link, else PS_LINK_INFERRED, so that the matcher manages it again).
 * When the state or provenance changes, the publication and proposal get a
 * new change sequence number (the index follows); judging a link as it
 * already is changes nothing. Errors: PS_ERR_INVALID (bad state),
 * PS_ERR_NOTFOUND (no publication-from-proposal link with that id),
 * PS_ERR_BUSY, PS_ERR_DB. */
ps_status ps_match_judge(ps_store *st, int64_t link_id, ps_link_state state,
                         ps_err *err);

/* The candidate links as a JSON array (owned by the caller, json_decref):
 * [{"id","publication","proposal","code","score","tier","state",
 * "provenance","evidence":[...]}], best score first; state -1: every state.
 * Errors: PS_ERR_DB, PS_ERR_NOMEM. */
ps_status ps_match_list(ps_store *st, int state, json_t **out, ps_err *err);

/* "candidate", "confirmed", "rejected" (PS_LINK_*); NULL for others. */
const char *ps_match_state_name(int state);
/* Inverse of ps_match_state_name: the PS_LINK_* value, -1 if unknown. */
int ps_match_state_parse(const char *name);

/* What ps_match_find lists. */
typedef struct ps_match_query {
    int version;
    int state;              /* PS_LINK_*; -1: every state */
    int tier;               /* 1: hard evidence only, 0: soft only, -1: both */
    const char *instrument; /* an instrument pid: matches whose proposal has
                               data of it; NULL: any */
    int64_t now_ms; /* leave out matches whose publication or proposal the
                       public may not see at now_ms (deleted, restricted,
                       under embargo); 0: show every one */
    int64_t limit;  /* most results; 0: no limit */
    int64_t skip;   /* results to skip first */
    int64_t id;     /* only the link with this id; 0: any */
} ps_match_query;

#define PS_MATCH_QUERY_VERSION 1
#define PS_MATCH_QUERY_INIT                                                    \
    {                                                                          \
        PS_MATCH_QUERY_VERSION, -1, -1, NULL, 0, 0, 0, 0                       \
    }

/* The matches q selects, best score first (then by id), as the review API
 * gives them: *out is {"count":N (all that q selects, before paging),
 * "results":[{"id","publication":{"pid","title","doi","year"},
 * "proposal":{"pid","code","title","status","year","instruments":[{"pid",
 * "name"}]} (years: a publication's year, else that of its publication or
 * start date; a proposal's start, else submission),
 * "score","tier":"hard"|"soft","state":"candidate"|..., "provenance":
 * "harvested"|"inferred"|"user"|"validated","evidence":[...],"created_at",
 * "updated_at"}]} (caller owns it; NULL on failure). A publication or
 * proposal not in the store has its pid only. Errors: PS_ERR_INVALID (bad
 * query), PS_ERR_DB, PS_ERR_NOMEM. */
ps_status ps_match_find(ps_store *st, json_t **out, const ps_match_query *q,
                        ps_err *err);
/* One match as in ps_match_find's results (*out, caller owns it), visible
 * at now_ms as there (0: any). Errors: PS_ERR_NOTFOUND (no such match, or
 * not visible), PS_ERR_DB, PS_ERR_NOMEM. */
ps_status ps_match_get(ps_store *st, json_t **out, int64_t link_id,
                       int64_t now_ms, ps_err *err);

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
