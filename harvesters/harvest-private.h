/*
 * harvest-private.h: what the harvest driver (harvest.c) and the source
 * implementations (pan.c, ...) share: the run context with its batching of
 * store writes, counting and rejection bookkeeping, and the entry point of
 * each source type. Not part of the public API (harvest.h is).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef PS_HARVEST_PRIVATE_H
#define PS_HARVEST_PRIVATE_H

#include "harvest.h"

typedef struct psi_run {
    ps_store *st;
    const ps_harvest_source *src;
    const ps_harvest_opts *opts;
    int64_t source_id;
    int64_t run_id;
    ps_run_counts counts;  /* committed so far */
    ps_run_counts pending; /* in the open transaction */
    size_t in_batch;       /* records written in the open transaction */
    int complete;          /* the source listed everything it has */
    int incomplete;        /* it listed fewer records than it counts */
    char rejects[384];     /* the first reasons for rejected records */
    char notes[256];       /* other things the run's message must say */
    ps_http *http;
    const char *phase;
    int64_t phase_done, phase_total;
} psi_run;

/* Called by sources after each record: counts the put result and commits
 * the transaction every opts->batch records. */
ps_status psi_run_record(psi_run *run, ps_put_result result, ps_err *err);
/* A record that could not be used: counted, the reason kept (the first
 * few), and the stored version of (kind, remote_id) kept alive. */
ps_status psi_run_reject(psi_run *run, ps_kind kind, const char *remote_id,
                         const char *reason, ps_err *err);
/* Commit the open transaction (end of a page) and report progress. */
ps_status psi_run_flush(psi_run *run, ps_err *err);
/* Add a note to the run's message (e.g. why nothing was deleted). */
void psi_run_note(psi_run *run, const char *note);
/* Has the caller asked to stop? */
int psi_run_cancelled(const psi_run *run);
/* Pause delay_ms between requests (returns non-zero if cancelled). */
int psi_run_pause(psi_run *run);

/* Source types. Each fetches everything, writing through psi_run_*; it sets
 * run->complete when the source listed all of its records. */
ps_status psi_harvest_pan(psi_run *run, ps_err *err);

#endif /* PS_HARVEST_PRIVATE_H */
