/*
 * commands.c: the `pansift` commands. Each parses its own options (and
 * answers --help), turns the configuration into the options structs of the
 * components, runs them with a progress display, and maps the outcome to
 * an exit code and a one-line message that says what to do:
 *   init     create the data directory, the store, the index, a config file
 *   harvest  run the configured sources (all enabled ones by default)
 *   index    bring the index up to date with the store (--rebuild: anew)
 *   serve    answer the APIs and serve the dashboard
 *   status   counts per entity and source, last harvests, index lag
 *   config   print the effective configuration or a commented template
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "cli.h"
#include "harvest.h"
#include "index.h"
#include "query.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef PS_DEFAULT_DASHBOARD_DIR
#define PS_DEFAULT_DASHBOARD_DIR ""
#endif

volatile int ps_cli_interrupted = 0;

static void on_signal(int sig)
{
    (void)sig;
    ps_cli_interrupted = 1;
}

void ps_cli_catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int ps_cli_exit_code(ps_status st)
{
    switch (st) {
    case PS_OK: return PS_EXIT_OK;
    case PS_ERR_CONFIG:
    case PS_ERR_INVALID: return PS_EXIT_USAGE;
    case PS_ERR_CORRUPT:
    case PS_ERR_DB:
    case PS_ERR_INDEX: return PS_EXIT_DATA;
    case PS_ERR_NOTFOUND: return PS_EXIT_DATA;
    case PS_ERR_BUSY: return PS_EXIT_BUSY;
    case PS_ERR_CANCELLED: return PS_EXIT_INTERRUPTED;
    default: return PS_EXIT_FAIL;
    }
}

void ps_cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("pansift: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int ps_cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    return 0;
}

int ps_cli_unknown_option(const char *cmd, const char *opt)
{
    ps_cli_error("%s: unknown option '%s' (see `pansift %s --help`)", cmd, opt,
                 cmd);
    return PS_EXIT_USAGE;
}

ps_status ps_cli_open_store(ps_cli *cli, int create, ps_store **out,
                            ps_err *err)
{
    ps_store_opts o = PS_STORE_OPTS_INIT;
    o.create = create;
    return ps_store_open(out, cli->store_path, &o, err);
}

/* ---- init
 * -----------------------------------------------------------------------------
 */

static int mkdirs(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

int ps_cmd_init(ps_cli *cli, int argc, char **argv)
{
    if (ps_cli_wants_help(argc, argv)) {
        printf("usage: pansift [--data-dir DIR] init\n\n"
               "Create the data directory (default ./data) with an empty "
               "store (store.db),\nan empty index (index/) and, unless a "
               "config file was given, a commented\npansift.ini listing every "
               "setting. Running it again is harmless: it only\nmigrates the "
               "store to the current schema.\n");
        return PS_EXIT_OK;
    }
    for (int i = 1; i < argc; i++)
        return ps_cli_unknown_option("init", argv[i]);
    const char *dir = cli->cfg.data_dir;
    ps_err err = PS_ERR_INIT;
    if (mkdirs(dir) != 0) {
        ps_cli_error("cannot create the data directory %s: %s; choose another "
                     "one with --data-dir",
                     dir, strerror(errno));
        return PS_EXIT_DATA;
    }
    if (access(dir, W_OK) != 0) {
        ps_cli_error("the data directory %s is not writable: %s; fix its "
                     "permissions or choose another one with --data-dir",
                     dir, strerror(errno));
        return PS_EXIT_DATA;
    }
    struct stat sb;
    int existed = stat(cli->store_path, &sb) == 0;
    ps_store *st = NULL;
    ps_status rc = ps_cli_open_store(cli, 1, &st, &err);
    if (rc == PS_OK)
        rc = ps_index_create(dir, ps_store_id(st), &err);
    /* A new store understands techniques at once: import the PaNET copy
     * that comes with pansift (an existing ontology is left alone). */
    int64_t nterms = 0, when = 0;
    char *source = NULL;
    if (rc == PS_OK)
        rc = ps_store_ontology_info(st, &nterms, &source, &when, &err);
    ps_free(source);
    if (rc == PS_OK && nterms == 0 &&
        access(ps_cli_default_ontology(), R_OK) == 0 &&
        ps_cli_ontology_import(st, ps_cli_default_ontology(), 1) != PS_EXIT_OK)
        fprintf(stderr, "pansift: the technique ontology was not imported; "
                        "run `pansift ontology import`\n");
    int schema = st ? ps_store_schema_version(st) : 0;
    ps_store_close(st);
    if (rc != PS_OK) {
        ps_cli_error("%s", err.msg);
        return ps_cli_exit_code(rc);
    }
    char *ini = ps_asprintf("%s/pansift.ini", dir);
    if (ini && !cli->config_path && stat(ini, &sb) != 0) {
        FILE *f = fopen(ini, "w");
        if (f) {
            ps_config_write_template(f, NULL);
            fclose(f);
        }
    }
    printf("%s %s: store schema %d, index ready%s\n",
           existed ? "data directory already initialised:" : "initialised", dir,
           schema,
           ini && access(ini, R_OK) == 0 && !cli->config_path
               ? "; settings in pansift.ini"
               : "");
    ps_free(ini);
    return PS_EXIT_OK;
}

/* ---- harvest
 * ------------------------------------------------------------------------------
 */

/* One source of a (parallel) harvest: its thread's own store handle, its
 * progress line and its outcome. */
/* The jobs of one harvest: a job says when it has finished, so that the
 * next source starts as soon as any slot is free. */
typedef struct harvest_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
} harvest_pool;

typedef struct harvest_job {
    ps_cli *cli;
    const ps_config_source *cs;
    ps_progress_board *board;
    harvest_pool *pool;
    size_t slot;
    int finished; /* under pool->mu */
    ps_harvest_result res;
    ps_status rc;
    ps_err err;
} harvest_job;

static void on_harvest_progress(const ps_harvest_progress *p, void *payload)
{
    harvest_job *job = payload;
    char label[96], extra[96];
    snprintf(label, sizeof label, "%s: %s", p->source, p->phase);
    snprintf(extra, sizeof extra, "+%lld ~%lld =%lld -%lld%s",
             (long long)p->counts.inserted, (long long)p->counts.updated,
             (long long)p->counts.unchanged, (long long)p->counts.deleted,
             p->counts.rejected ? " (some rejected)" : "");
    ps_progress_board_update(job->board, job->slot, label, p->done, p->total,
                             extra);
}

static void harvest_job_done(harvest_job *job)
{
    pthread_mutex_lock(&job->pool->mu);
    job->finished = 1;
    pthread_cond_signal(&job->pool->cv);
    pthread_mutex_unlock(&job->pool->mu);
}

static void *harvest_job_run(void *arg)
{
    harvest_job *job = arg;
    const ps_config_source *cs = job->cs;
    ps_store *st = NULL;
    memset(&job->res, 0, sizeof job->res);
    job->res.state = PS_RUN_FAILED;
    job->rc = ps_cli_open_store(job->cli, 0, &st, &job->err);
    if (job->rc != PS_OK) {
        harvest_job_done(job);
        return NULL;
    }
    ps_harvest_source src = {cs->name,
                             cs->type,
                             cs->url,
                             cs->page_size,
                             cs->timeout_ms,
                             cs->connect_timeout_ms,
                             cs->retries,
                             cs->delay_ms,
                             (size_t)cs->max_response_bytes,
                             cs->user_agent,
                             cs->requests_per_minute,
                             cs->contact,
                             (const char *const *)cs->options};
    ps_harvest_opts ho = PS_HARVEST_OPTS_INIT;
    ho.batch = (size_t)job->cli->cfg.harvest_batch;
    ho.progress = on_harvest_progress;
    ho.payload = job;
    ho.cancel = &ps_cli_interrupted;
    /* This very program extracts PDFs in processes of their own. */
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        ho.exe = exe;
    }
    job->rc = ps_harvest_run(st, &src, &ho, &job->res, &job->err);
    ps_store_close(st);
    harvest_job_done(job);
    return NULL;
}

static ps_status take_harvest_lock(const char *dir, int *fd_out, ps_err *err)
{
    char *path = ps_asprintf("%s/harvest.lock", dir);
    if (!path)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    ps_free(path);
    if (fd < 0 && errno == ENOENT)
        return ps_err_set(err, PS_ERR_NOTFOUND,
                          "no data directory %s; run `pansift init` first",
                          dir);
    if (fd < 0)
        return ps_err_set(err, PS_ERR_IO, "cannot create %s/harvest.lock: %s",
                          dir, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        return ps_err_set(err, PS_ERR_BUSY,
                          "another `pansift harvest` is running on %s; wait "
                          "for it to finish",
                          dir);
    }
    *fd_out = fd;
    return PS_OK;
}

static const char *const state_names[] = {"running", "ok", "partial", "failed",
                                          "interrupted"};

int ps_cmd_harvest(ps_cli *cli, int argc, char **argv)
{
    if (ps_cli_wants_help(argc, argv)) {
        printf(
            "usage: pansift [--config FILE] harvest [--index] [SOURCE...]\n\n"
            "Harvest the configured sources ([source NAME] sections) into "
            "the store:\nall enabled ones, or those named, up to [harvest] "
            "parallel at a time, each\nwith its own progress line. Each run "
            "is incremental where the source allows\nit, idempotent (an "
            "unchanged record is not rewritten) and safe to interrupt\n"
            "(Ctrl-C, or even kill -9): what was committed stays, nothing is "
            "deleted, and\nthe next run resumes from the last page it "
            "committed. Source types and their\noptions: "
            "docs/harvesting.md.\n\n"
            "  --index   bring the index up to date afterwards (a running "
            "`pansift serve`\n            does this by itself)\n\n"
            "Exit status: 0 all sources harvested (some records may have "
            "been rejected:\nsee the summary), 4 a source failed, 5 "
            "another harvest is running, 130\ninterrupted.\n");
        return PS_EXIT_OK;
    }
    int do_index = 0;
    int nnames = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--index") == 0)
            do_index = 1;
        else if (argv[i][0] == '-')
            return ps_cli_unknown_option("harvest", argv[i]);
        else if (!ps_config_source_find(&cli->cfg, argv[i])) {
            ps_cli_error(
                "no source called \"%s\" in %s (sources: %s%s)", argv[i],
                cli->config_path ? cli->config_path : "the configuration",
                cli->cfg.nsources ? cli->cfg.sources[0].name : "none",
                cli->cfg.nsources > 1 ? ", ..." : "");
            return PS_EXIT_USAGE;
        } else {
            nnames++;
        }
    }
    if (cli->cfg.nsources == 0) {
        ps_cli_error("no sources configured: add a [source NAME] section with "
                     "type and url to %s (see docs/configuration.md)",
                     cli->config_path ? cli->config_path
                                      : "a config file given with --config");
        return PS_EXIT_USAGE;
    }
    ps_err err = PS_ERR_INIT;
    ps_store *st = NULL;
    int lock = -1;
    ps_status rc = take_harvest_lock(cli->cfg.data_dir, &lock, &err);
    if (rc == PS_OK)
        rc = ps_cli_open_store(cli, 0, &st, &err);
    if (rc != PS_OK) {
        ps_cli_error("%s", err.msg);
        if (lock >= 0)
            close(lock);
        return ps_cli_exit_code(rc);
    }
    ps_cli_catch_signals();

    /* The sources to run, in the order of the configuration; up to
     * [harvest] parallel of them at a time, each in its own thread with
     * its own store handle (SQLite serialises their transactions). */
    size_t njobs = 0;
    harvest_job *jobs = ps_calloc(cli->cfg.nsources, sizeof *jobs);
    if (!jobs) {
        ps_store_close(st);
        close(lock);
        ps_cli_error("out of memory");
        return PS_EXIT_FAIL;
    }
    for (size_t i = 0; i < cli->cfg.nsources; i++) {
        const ps_config_source *cs = &cli->cfg.sources[i];
        int named = 0;
        for (int a = 1; a < argc; a++)
            named |= strcmp(argv[a], cs->name) == 0;
        if (nnames ? !named : !cs->enabled)
            continue;
        jobs[njobs].cli = cli;
        jobs[njobs].cs = cs;
        jobs[njobs].slot = njobs;
        ps_err_clear(&jobs[njobs].err);
        njobs++;
    }
    ps_progress_board *board = ps_progress_board_new(njobs, cli->quiet);
    size_t width =
        cli->cfg.harvest_parallel > 0 ? (size_t)cli->cfg.harvest_parallel : 1;
    pthread_t *tids = ps_calloc(njobs ? njobs : 1, sizeof *tids);
    int *started = ps_calloc(njobs ? njobs : 1, sizeof *started);
    harvest_pool pool;
    pthread_mutex_init(&pool.mu, NULL);
    pthread_cond_init(&pool.cv, NULL);
    size_t next = 0, joined = 0, running = 0;
    while (joined < njobs && tids && started) {
        /* Start sources while a slot is free... */
        while (next < njobs && running < width && !ps_cli_interrupted) {
            jobs[next].board = board;
            jobs[next].pool = &pool;
            started[next] = pthread_create(&tids[next], NULL, harvest_job_run,
                                           &jobs[next]) == 0;
            if (!started[next])
                harvest_job_run(&jobs[next]); /* no thread: run it here */
            next++;
            running++;
        }
        if (running == 0) { /* interrupted before the rest started */
            for (size_t j = next; j < njobs; j++) {
                jobs[j].rc = PS_ERR_CANCELLED;
                jobs[j].res.state = PS_RUN_INTERRUPTED;
            }
            break;
        }
        /* ...then wait for whichever running one finishes first. */
        size_t j = 0;
        pthread_mutex_lock(&pool.mu);
        for (;;) {
            for (j = 0; j < next && !(jobs[j].finished == 1); j++)
                ;
            if (j < next)
                break;
            pthread_cond_wait(&pool.cv, &pool.mu);
        }
        jobs[j].finished = 2; /* joined */
        pthread_mutex_unlock(&pool.mu);
        if (started[j])
            pthread_join(tids[j], NULL);
        joined++;
        running--;
    }
    pthread_cond_destroy(&pool.cv);
    pthread_mutex_destroy(&pool.mu);
    ps_progress_board_free(board);
    ps_free(tids);
    ps_free(started);

    int failed = 0, interrupted = 0;
    for (size_t j = 0; j < njobs; j++) {
        harvest_job *job = &jobs[j];
        const ps_config_source *cs = job->cs;
        printf("%s: %s in %.1f s: %lld seen, %lld new, %lld updated, %lld "
               "unchanged, %lld deleted, %lld rejected\n",
               cs->name, state_names[job->res.state], job->res.seconds,
               (long long)job->res.counts.seen,
               (long long)job->res.counts.inserted,
               (long long)job->res.counts.updated,
               (long long)job->res.counts.unchanged,
               (long long)job->res.counts.deleted,
               (long long)job->res.counts.rejected);
        if (job->rc == PS_ERR_CANCELLED) {
            interrupted = 1;
            ps_cli_error("%s: interrupted; what was harvested is kept, run "
                         "`pansift harvest %s` again to finish",
                         cs->name, cs->name);
        } else if (job->rc != PS_OK) {
            failed++;
            ps_cli_error("%s: %s", cs->name, job->err.msg);
        } else if (job->res.message[0]) {
            ps_cli_error("%s: %s", cs->name, job->res.message);
        }
    }
    ps_free(jobs);
    if (ps_cli_interrupted)
        interrupted = 1;
    if (do_index && !interrupted) {
        ps_index *idx = NULL;
        ps_index_stats stats;
        ps_index_opts io = PS_INDEX_OPTS_INIT;
        io.batch = (size_t)cli->cfg.index_batch;
        io.cancel = &ps_cli_interrupted;
        rc = ps_index_open(&idx, cli->cfg.data_dir, 1, &err);
        if (rc == PS_OK)
            rc = ps_index_update(idx, st, &io, &stats, &err);
        ps_index_close(idx);
        if (rc == PS_OK)
            printf("index: %lld change(s) applied\n", (long long)stats.applied);
        else
            ps_cli_error("index: %s", err.msg);
    } else if (!interrupted && !cli->quiet) {
        fprintf(stderr, "pansift: run `pansift index` to make the changes "
                        "searchable (a running `pansift serve` does it by "
                        "itself)\n");
    }
    ps_store_close(st);
    close(lock);
    if (interrupted)
        return PS_EXIT_INTERRUPTED;
    return failed ? PS_EXIT_SOURCE : PS_EXIT_OK;
}

/* ---- index
 * ------------------------------------------------------------------------------------
 */

static void on_index_progress(const char *phase, int64_t done, int64_t total,
                              void *payload)
{
    ps_progress_update(payload, phase, done, total, NULL);
}

int ps_cmd_index(ps_cli *cli, int argc, char **argv)
{
    if (ps_cli_wants_help(argc, argv)) {
        printf("usage: pansift index [--rebuild]\n\n"
               "Apply the store's changes since the last run to the index "
               "(incremental;\nsafe to interrupt: the next run continues "
               "where this one stopped).\n\n"
               "  --rebuild  recreate the index from the store: parallel "
               "shard writers\n             ([index] rebuild_workers), a "
               "merge, and an atomic swap;\n             searches keep using "
               "the old index until the swap\n");
        return PS_EXIT_OK;
    }
    int rebuild = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rebuild") == 0)
            rebuild = 1;
        else
            return ps_cli_unknown_option("index", argv[i]);
    }
    ps_err err = PS_ERR_INIT;
    ps_store *st = NULL;
    ps_index *idx = NULL;
    ps_status rc = ps_cli_open_store(cli, 0, &st, &err);
    if (rc == PS_OK && !rebuild) {
        rc = ps_index_open(&idx, cli->cfg.data_dir, 1, &err);
        if (rc == PS_OK)
            rc = ps_index_check_store(idx, st, &err);
        /* An index that is missing, damaged, of another version of pansift
         * or of another store cannot be updated, only rebuilt: do it now
         * (the index is derived from the store; nothing is lost). */
        if (rc == PS_ERR_NOTFOUND || rc == PS_ERR_INVALID ||
            rc == PS_ERR_CORRUPT || rc == PS_ERR_INDEX) {
            fprintf(stderr, "pansift: %s\npansift: rebuilding the index\n",
                    err.msg);
            ps_err_clear(&err);
            ps_index_close(idx);
            idx = NULL;
            rc = PS_OK;
            rebuild = 1;
        }
    }
    if (rc != PS_OK) {
        ps_cli_error("%s", err.msg);
        ps_index_close(idx);
        ps_store_close(st);
        return ps_cli_exit_code(rc);
    }
    ps_cli_catch_signals();
    ps_progress bar;
    ps_progress_init(&bar, cli->quiet);
    ps_index_opts o = PS_INDEX_OPTS_INIT;
    o.batch = (size_t)cli->cfg.index_batch;
    o.workers = (int)cli->cfg.rebuild_workers;
    o.progress = on_index_progress;
    o.payload = &bar;
    o.cancel = &ps_cli_interrupted;
    ps_index_stats stats;
    if (rebuild) {
        ps_store_close(st);
        st = NULL;
        rc = ps_index_open_rebuilt(&idx, cli->cfg.data_dir, cli->store_path, &o,
                                   &stats, &err);
    } else {
        rc = ps_index_update(idx, st, &o, &stats, &err);
    }
    ps_progress_end(&bar);
    uint64_t docs = ps_index_doccount(idx);
    ps_index_close(idx);
    ps_store_close(st);
    if (rc != PS_OK) {
        ps_cli_error("%s", err.msg);
        return ps_cli_exit_code(rc);
    }
    printf("index %s: %lld change(s) applied (%lld deletions) in %.1f s, "
           "%.0f/s; %llu documents, at change %lld\n",
           rebuild ? "rebuilt" : "updated", (long long)stats.applied,
           (long long)stats.deleted, stats.seconds,
           stats.seconds > 0 ? (double)stats.applied / stats.seconds : 0.0,
           (unsigned long long)docs, (long long)stats.last_seq);
    return PS_EXIT_OK;
}

/* ---- serve
 * ----------------------------------------------------------------------------------
 */

static int write_port_file(const char *path, int port)
{
    char *tmp = ps_asprintf("%s.tmp", path);
    if (!tmp)
        return -1;
    FILE *f = fopen(tmp, "w");
    int ok = f && fprintf(f, "%d\n", port) > 0;
    if (f && fclose(f) != 0)
        ok = 0;
    ok = ok && rename(tmp, path) == 0;
    if (!ok)
        unlink(tmp);
    ps_free(tmp);
    return ok ? 0 : -1;
}

int ps_cmd_serve(ps_cli *cli, int argc, char **argv)
{
    if (ps_cli_wants_help(argc, argv)) {
        printf("usage: pansift serve [--listen ADDR:PORT] [--port-file FILE] "
               "[--no-indexer]\n\n"
               "Serve the PaN search API under [server] api_prefix (/api) and "
               "the dashboard\nat /, on [server] listen (127.0.0.1:8080). Port "
               "0 picks a free port; the\nchosen one is printed and, with "
               "--port-file, written to FILE. The server\nindexes new "
               "harvests by itself within about a second, unless "
               "--no-indexer\nor [server] index_refresh_ms = 0. Stops "
               "gracefully on SIGINT or SIGTERM.\n");
        return PS_EXIT_OK;
    }
    const char *port_file = NULL;
    int no_indexer = 0;
    ps_err err = PS_ERR_INIT;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
            if (ps_config_set(&cli->cfg, "server", "listen", argv[++i],
                              "--listen", &err) != PS_OK) {
                ps_cli_error("%s", err.msg);
                return PS_EXIT_USAGE;
            }
        } else if (strcmp(argv[i], "--port-file") == 0 && i + 1 < argc) {
            port_file = argv[++i];
        } else if (strcmp(argv[i], "--no-indexer") == 0) {
            no_indexer = 1;
        } else {
            return ps_cli_unknown_option("serve", argv[i]);
        }
    }
    /* Block the stop signals in every thread; main waits for them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    const ps_config *c = &cli->cfg;
    ps_server_opts o = PS_SERVER_OPTS_INIT;
    o.data_dir = c->data_dir;
    o.listen = c->listen;
    o.threads = (int)c->threads;
    o.api_prefix = c->api_prefix;
    o.max_url_bytes = (size_t)c->max_url_bytes;
    o.max_header_bytes = (size_t)c->max_header_bytes;
    o.max_body_bytes = (size_t)c->max_body_bytes;
    o.connection_limit = (unsigned)c->connection_limit;
    o.connection_timeout_s = (unsigned)c->connection_timeout_s;
    o.access_log = c->access_log;
    o.dashboard_dir = c->dashboard_dir && *c->dashboard_dir
                          ? c->dashboard_dir
                          : PS_DEFAULT_DASHBOARD_DIR;
    o.cors_origin = c->cors_origin;
    o.index_refresh_ms = no_indexer ? 0 : c->index_refresh_ms;
    o.index_batch = (size_t)c->index_batch;
    o.max_results = (size_t)c->max_results;
    o.query_timeout_ms = c->query_timeout_ms;
    o.admin_token = c->admin_token;
    /* The federation: the enabled [provider NAME] sections. */
    ps_fed_provider provs[64];
    ps_fed_opts fo = {0};
    for (size_t i = 0; i < c->nproviders && fo.nproviders < 64; i++) {
        const ps_config_provider *p = &c->providers[i];
        if (!p->enabled)
            continue;
        ps_fed_provider *f = &provs[fo.nproviders++];
        f->name = p->name;
        f->url = p->url;
        f->timeout_ms = p->timeout_ms;
        f->weight = strtod(p->weight ? p->weight : "1", NULL);
        f->headers = p->headers;
    }
    if (fo.nproviders) {
        fo.local = c->federation_local;
        fo.deadline_ms = c->federation_deadline_ms;
        fo.default_limit = c->federation_default_limit;
        fo.max_window = c->federation_max_window;
        fo.cache_ttl_ms = c->federation_cache_ttl_ms;
        fo.cache_entries = c->federation_cache_entries;
        fo.cache_bytes = (size_t)c->federation_cache_bytes;
        fo.breaker_failures = c->federation_breaker_failures;
        fo.breaker_cooldown_ms = c->federation_breaker_cooldown_ms;
        fo.providers = provs;
        o.federation = &fo;
    }
    ps_server *srv = NULL;
    ps_status rc = ps_server_start(&srv, &o, &err);
    if (rc != PS_OK) {
        ps_cli_error("%s", err.msg);
        return rc == PS_ERR_IO ? PS_EXIT_FAIL : ps_cli_exit_code(rc);
    }
    int port = ps_server_port(srv);
    char host[64];
    snprintf(host, sizeof host, "%.*s", (int)strcspn(c->listen, ":"),
             c->listen);
    printf("pansift serving %s on http://%s:%d/ (dashboard), API at "
           "http://%s:%d%s/Datasets\n",
           c->data_dir, host, port, host, port, c->api_prefix);
    fflush(stdout);
    if (port_file && write_port_file(port_file, port) != 0) {
        ps_cli_error("cannot write the port file %s: %s", port_file,
                     strerror(errno));
        ps_server_stop(srv);
        return PS_EXIT_FAIL;
    }
    int sig = 0;
    sigwait(&set, &sig);
    ps_log(PS_LOG_INFO, "%s received: stopping",
           sig == SIGINT ? "SIGINT" : "SIGTERM");
    ps_server_stop(srv);
    if (port_file)
        unlink(port_file);
    return PS_EXIT_OK;
}

/* ---- status
 * ------------------------------------------------------------------------------------
 */

static void fmt_time(json_t *v, char *out, size_t size)
{
    if (json_is_integer(v)) {
        char buf[PS_TIME_BUFSZ];
        ps_time_format(json_integer_value(v), buf);
        snprintf(out, size, "%.10s %.8s", buf, buf + 11);
    } else {
        snprintf(out, size, "-");
    }
}

int ps_cmd_status(ps_cli *cli, int argc, char **argv)
{
    if (ps_cli_wants_help(argc, argv)) {
        printf("usage: pansift status [--json]\n\n"
               "Show the number of records per entity and per source, the "
               "last harvest of\neach source, and how far the index is "
               "behind the store (index lag).\n");
        return PS_EXIT_OK;
    }
    int as_json = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            as_json = 1;
        else
            return ps_cli_unknown_option("status", argv[i]);
    }
    ps_err err = PS_ERR_INIT;
    ps_store *st = NULL;
    ps_index *idx = NULL;
    json_t *stats = NULL;
    ps_status rc = ps_cli_open_store(cli, 0, &st, &err);
    if (rc == PS_OK)
        rc = ps_store_stats(st, &stats, &err);
    if (rc != PS_OK) {
        ps_cli_error("%s", err.msg);
        ps_store_close(st);
        return ps_cli_exit_code(rc);
    }
    int64_t index_seq = -1, pending = 0;
    ps_err ierr = PS_ERR_INIT;
    json_t *ij = json_object();
    if (ps_index_open(&idx, cli->cfg.data_dir, 0, &ierr) == PS_OK &&
        ps_index_last_seq(idx, &index_seq, &ierr) == PS_OK &&
        ps_store_pending(st, index_seq, &pending, &ierr) == PS_OK) {
        json_object_set_new(ij, "documents",
                            json_integer((json_int_t)ps_index_doccount(idx)));
        json_object_set_new(ij, "last_seq", json_integer(index_seq));
        json_object_set_new(ij, "lag", json_integer(pending));
    } else {
        json_object_set_new(ij, "error", json_string(ierr.msg));
    }
    json_object_set_new(stats, "index", ij);
    json_object_set_new(stats, "data_dir", json_string(cli->cfg.data_dir));
    ps_index_close(idx);
    ps_store_close(st);
    if (as_json) {
        json_dumpf(stats, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
        json_decref(stats);
        return PS_EXIT_OK;
    }
    printf("data directory: %s (store schema %lld)\n", cli->cfg.data_dir,
           (long long)json_integer_value(json_object_get(stats, "schema")));
    printf("\nrecords:\n");
    const char *k;
    json_t *v;
    json_t *tombs = json_object_get(stats, "tombstones");
    json_object_foreach (json_object_get(stats, "entities"), k, v) {
        json_t *t = json_object_get(tombs, k);
        printf("  %-12s %10lld", k, (long long)json_integer_value(v));
        if (t)
            printf("  (%lld deleted)", (long long)json_integer_value(t));
        putchar('\n');
    }
    printf("\nsources:\n");
    size_t i;
    json_t *src;
    json_t *sources = json_object_get(stats, "sources");
    if (!json_array_size(sources))
        printf("  none harvested yet\n");
    json_array_foreach (sources, i, src) {
        json_t *run = json_object_get(src, "last_run");
        char started[32], finished[32];
        fmt_time(json_object_get(run, "started"), started, sizeof started);
        fmt_time(json_object_get(run, "finished"), finished, sizeof finished);
        printf("  %s (%s, %s)\n", ps_json_str(src, "name"),
               ps_json_str(src, "type"), ps_json_str(src, "url"));
        printf("    records:");
        json_object_foreach (json_object_get(src, "records"), k, v)
            printf(" %s %lld", k, (long long)json_integer_value(v));
        printf("\n");
        if (run)
            printf(
                "    last harvest: %s, started %s, finished %s: %lld seen, "
                "%lld new, %lld updated, %lld deleted, %lld rejected%s%s\n",
                ps_json_str(run, "state"), started, finished,
                (long long)json_integer_value(json_object_get(run, "seen")),
                (long long)json_integer_value(json_object_get(run, "inserted")),
                (long long)json_integer_value(json_object_get(run, "updated")),
                (long long)json_integer_value(json_object_get(run, "deleted")),
                (long long)json_integer_value(json_object_get(run, "rejected")),
                ps_json_str(run, "message") ? "\n    message: " : "",
                ps_json_str(run, "message") ? ps_json_str(run, "message") : "");
        json_t *pdfs = json_object_get(src, "pdfs");
        if (pdfs)
            printf(
                "    pdfs: %lld extracted, %lld without text, %lld could "
                "not be read (the last run's message says why)\n",
                (long long)json_integer_value(
                    json_object_get(pdfs, "extracted")),
                (long long)json_integer_value(json_object_get(pdfs, "no_text")),
                (long long)json_integer_value(json_object_get(pdfs, "failed")));
        const char *ck;
        json_t *cv;
        json_object_foreach (json_object_get(src, "checkpoint"), ck, cv) {
            const char *cval = json_string_value(cv);
            printf("    checkpoint %s: %.100s%s\n", ck, cval ? cval : "",
                   cval && strlen(cval) > 100 ? "..." : "");
        }
    }
    if (json_object_get(ij, "error"))
        printf("\nindex: %s\n", ps_json_str(ij, "error"));
    else
        printf("\nindex: %lld documents, at change %lld of %lld (lag %lld)\n",
               (long long)json_integer_value(json_object_get(ij, "documents")),
               (long long)index_seq,
               (long long)json_integer_value(json_object_get(stats, "max_seq")),
               (long long)pending);
    json_decref(stats);
    return PS_EXIT_OK;
}

/* ---- config
 * -----------------------------------------------------------------------------------
 */

int ps_cmd_config(ps_cli *cli, int argc, char **argv)
{
    if (ps_cli_wants_help(argc, argv)) {
        printf("usage: pansift config [--template]\n\n"
               "Print the effective configuration (defaults, file, "
               "environment, command\nline) as INI, or with --template a "
               "commented file listing every setting.\n");
        return PS_EXIT_OK;
    }
    if (argc > 1 && strcmp(argv[1], "--template") == 0)
        return ps_config_write_template(stdout, NULL) == PS_OK ? PS_EXIT_OK
                                                               : PS_EXIT_FAIL;
    if (argc > 1)
        return ps_cli_unknown_option("config", argv[1]);
    ps_config_dump(&cli->cfg, stdout);
    return PS_EXIT_OK;
}
