/*
 * harvest.c: the harvest driver. It records the run in the store, creates
 * the HTTP client with the source's politeness settings, dispatches to the
 * source type, batches the store writes into transactions, and finishes the
 * run: references that named records harvested later are resolved, and, if
 * the source listed everything it has, records it no longer lists become
 * tombstones. A failed or cancelled run keeps what it committed and deletes
 * nothing; its state says so.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "harvest-private.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *const types[] = {"pan", NULL};

const char *const *ps_harvest_types(void) { return types; }

int psi_run_cancelled(const psi_run *run)
{
    return run->opts->cancel && *run->opts->cancel;
}

int psi_run_pause(psi_run *run)
{
    long ms = run->src->delay_ms;
    int64_t end = ps_mono_ns() + (int64_t)ms * 1000000;
    while (ms > 0 && !psi_run_cancelled(run)) {
        int64_t left = end - ps_mono_ns();
        if (left <= 0)
            break;
        struct timespec ts = {0, left > 100000000 ? 100000000 : (long)left};
        nanosleep(&ts, NULL);
    }
    return psi_run_cancelled(run);
}

static void add_counts(ps_run_counts *a, const ps_run_counts *b)
{
    a->seen += b->seen;
    a->inserted += b->inserted;
    a->updated += b->updated;
    a->unchanged += b->unchanged;
    a->deleted += b->deleted;
    a->rejected += b->rejected;
}

static void report(psi_run *run)
{
    if (!run->opts->progress)
        return;
    ps_harvest_progress p;
    p.source = run->src->name;
    p.phase = run->phase ? run->phase : "";
    p.done = run->phase_done;
    p.total = run->phase_total;
    p.counts = run->counts;
    add_counts(&p.counts, &run->pending);
    run->opts->progress(&p, run->opts->payload);
}

/* Commit the open transaction, count what it held, open the next one. */
static ps_status commit_batch(psi_run *run, ps_err *err)
{
    ps_status rc = ps_store_commit(run->st, err);
    if (rc != PS_OK)
        return rc;
    add_counts(&run->counts, &run->pending);
    memset(&run->pending, 0, sizeof run->pending);
    run->in_batch = 0;
    return ps_store_begin(run->st, err);
}

ps_status psi_run_flush(psi_run *run, ps_err *err)
{
    ps_status rc = PS_OK;
    if (run->in_batch || run->pending.seen)
        rc = commit_batch(run, err);
    report(run);
    return rc;
}

ps_status psi_run_record(psi_run *run, ps_put_result result, ps_err *err)
{
    run->pending.seen++;
    run->phase_done++;
    switch (result) {
    case PS_PUT_INSERTED: run->pending.inserted++; break;
    case PS_PUT_UPDATED: run->pending.updated++; break;
    default: run->pending.unchanged++; break;
    }
    size_t batch = run->opts->batch ? run->opts->batch : 1000;
    if (++run->in_batch >= batch) {
        ps_status rc = commit_batch(run, err);
        report(run);
        return rc;
    }
    return PS_OK;
}

void psi_run_note(psi_run *run, const char *note)
{
    size_t used = strlen(run->notes);
    if (used + 8 < sizeof run->notes)
        snprintf(run->notes + used, sizeof run->notes - used, "%s%s",
                 used ? "; " : "", note);
}

ps_status psi_run_reject(psi_run *run, ps_kind kind, const char *remote_id,
                         const char *reason, ps_err *err)
{
    run->pending.seen++;
    run->pending.rejected++;
    run->phase_done++;
    size_t used = strlen(run->rejects);
    if (used + 8 < sizeof run->rejects)
        snprintf(run->rejects + used, sizeof run->rejects - used, "%s%s",
                 used ? "; " : "", reason);
    if (!remote_id)
        return PS_OK;
    ps_status rc = ps_store_mark_seen(run->st, run->source_id, kind, remote_id,
                                      run->run_id, err);
    if (rc == PS_OK && kind == PS_KIND_PROPOSAL)
        rc = ps_store_mark_seen(run->st, run->source_id, PS_KIND_PUBLICATION,
                                remote_id, run->run_id, err);
    return rc;
}

ps_status ps_harvest_run(ps_store *st, const ps_harvest_source *src,
                         const ps_harvest_opts *opts, ps_harvest_result *res,
                         ps_err *err)
{
    ps_harvest_opts def = PS_HARVEST_OPTS_INIT;
    ps_harvest_result local;
    if (!opts)
        opts = &def;
    if (!res)
        res = &local;
    memset(res, 0, sizeof *res);
    res->state = PS_RUN_FAILED;
    int64_t t0 = ps_mono_ns();
    if (!src || !src->name || !src->type || !src->url)
        return ps_err_set(err, PS_ERR_INVALID,
                          "a source needs a name, a type and a url");
    ps_status (*impl)(psi_run *, ps_err *) = NULL;
    if (strcmp(src->type, "pan") == 0)
        impl = psi_harvest_pan;
    if (!impl)
        return ps_err_set(err, PS_ERR_INVALID,
                          "source %s: unknown type \"%s\" (known: pan)",
                          src->name, src->type);

    psi_run run;
    memset(&run, 0, sizeof run);
    run.st = st;
    run.src = src;
    run.opts = opts;
    ps_status rc = ps_store_source_ensure(st, src->name, src->type, src->url,
                                          &run.source_id, err);
    if (rc == PS_OK)
        rc = ps_store_run_begin(st, run.source_id, &run.run_id, err);
    if (rc != PS_OK)
        return rc;
    res->run_id = run.run_id;

    ps_http_opts ho = PS_HTTP_OPTS_INIT;
    ho.user_agent = src->user_agent;
    if (src->timeout_ms > 0)
        ho.timeout_ms = src->timeout_ms;
    if (src->connect_timeout_ms > 0)
        ho.connect_timeout_ms = src->connect_timeout_ms;
    if (src->retries >= 0)
        ho.retries = (int)src->retries;
    if (src->max_response_bytes > 0)
        ho.max_body = src->max_response_bytes;
    ho.cancel = opts->cancel;
    rc = ps_http_new(&run.http, &ho, err);
    if (rc == PS_OK)
        rc = ps_store_begin(st, err);
    if (rc == PS_OK) {
        rc = impl(&run, err);
        if (rc == PS_OK) {
            rc = psi_run_flush(&run, err);
        } else {
            /* Keep what the last full batch committed; drop the partial
             * one, which was never acknowledged. */
            ps_store_rollback(st);
            memset(&run.pending, 0, sizeof run.pending);
        }
    }
    ps_store_rollback(st); /* the transaction psi_run_flush reopened */

    int64_t resolved = 0, swept = 0;
    ps_err err2 = PS_ERR_INIT;
    if (rc == PS_OK)
        rc = ps_store_resolve(st, &resolved, err);
    if (rc == PS_OK && run.complete)
        rc = ps_store_sweep(st, run.source_id, run.run_id, &swept, err);
    run.counts.deleted += swept;

    if (rc == PS_OK)
        res->state = run.counts.rejected ? PS_RUN_PARTIAL : PS_RUN_OK;
    else
        res->state =
            rc == PS_ERR_CANCELLED ? PS_RUN_INTERRUPTED : PS_RUN_FAILED;
    res->counts = run.counts;
    if (rc != PS_OK)
        snprintf(res->message, sizeof res->message, "%s",
                 err ? err->msg : ps_status_str(rc));
    else if (run.counts.rejected)
        snprintf(res->message, sizeof res->message,
                 "%lld record(s) rejected: %s%s%s",
                 (long long)run.counts.rejected, run.rejects,
                 run.notes[0] ? "; " : "", run.notes);
    else if (run.notes[0])
        snprintf(res->message, sizeof res->message, "%s", run.notes);
    ps_store_run_finish(st, run.run_id, res->state, &run.counts,
                        res->message[0] ? res->message : NULL, &err2);
    ps_http_free(run.http);
    res->seconds = (double)(ps_mono_ns() - t0) / 1e9;
    return rc;
}
