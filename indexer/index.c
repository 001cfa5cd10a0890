/*
 * index.c: keeping the Xapian index in step with the store. Three jobs:
 *  - generations on disk: `index` is a symbolic link to `index.N`; a rebuild
 *    makes index.N+1 and swaps the link with one rename, so readers never
 *    see a half-built index; the previous generation is kept until the next
 *    swap so that readers still on it can finish;
 *  - the writer lock (`index.lock`, flock): one process writes the index;
 *  - applying the change feed (ps_index_update) in sequence order, with the
 *    last applied sequence number committed in the same Xapian commit as the
 *    documents, and the parallel rebuild (ps_index_rebuild): one shard writer
 *    per core reading its share of the records, then a compaction merge.
 * Document contents are decided in index-schema.c.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include "index-private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct ps_index {
    char *dir;       /* data directory */
    char *link;      /* dir/index */
    char target[64]; /* "index.N" the handle is on */
    int writable;
    int lock_fd; /* writers: index.lock, held */
    ps_xdb *db;
};

/* ---- paths and generations ---------------------------------------------- */

static char *join(const char *dir, const char *name)
{
    return ps_asprintf("%s/%s", dir, name);
}

/* Generation number of "index.N", or -1. */
static long generation_of(const char *name)
{
    if (!ps_str_startswith(name, "index."))
        return -1;
    int64_t n;
    if (ps_parse_i64(name + 6, &n) != 0 || n < 1)
        return -1;
    return (long)n;
}

/* Read the link dir/index into target ("index.N"). */
static ps_status read_target(const char *link, char *target, size_t size,
                             ps_err *err)
{
    ssize_t n = readlink(link, target, size - 1);
    if (n < 0) {
        if (errno == ENOENT)
            return ps_err_set(err, PS_ERR_NOTFOUND,
                              "no index at %s; run `pansift init`, or "
                              "`pansift index --rebuild` to recreate it",
                              link);
        if (errno == EINVAL)
            return ps_err_set(err, PS_ERR_CORRUPT,
                              "%s is not the link pansift makes; move it away "
                              "and run `pansift index --rebuild`",
                              link);
        return ps_err_set(err, PS_ERR_IO, "cannot read %s: %s", link,
                          strerror(errno));
    }
    target[n] = '\0';
    if (generation_of(target) < 0 || strchr(target, '/'))
        return ps_err_set(err, PS_ERR_CORRUPT,
                          "%s points to %s, not to an index generation; move "
                          "it away and run `pansift index --rebuild`",
                          link, target);
    return PS_OK;
}

static int rm_entry(const char *path, const struct stat *sb, int flag,
                    struct FTW *ftw)
{
    return remove(path);
}

static int rmtree(const char *path)
{
    return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Remove generations and build directories other than keep[0..1] (writers
 * only, lock held). */
static void prune(const char *dir, const char *current)
{
    long cur = generation_of(current), prev = -1;
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    /* First pass: the newest generation older than the current one. */
    for (;;) {
        e = readdir(d);
        if (!e)
            break;
        long g = generation_of(e->d_name);
        if (g > 0 && g < cur && g > prev)
            prev = g;
    }
    rewinddir(d);
    for (;;) {
        e = readdir(d);
        if (!e)
            break;
        if (!ps_str_startswith(e->d_name, "index.") ||
            strcmp(e->d_name, "index.lock") == 0)
            continue;
        long g = generation_of(e->d_name);
        if (g == cur || (g == prev && g > 0))
            continue;
        char *p = join(dir, e->d_name);
        if (p)
            rmtree(p);
        ps_free(p);
    }
    closedir(d);
}

/* Highest generation number present in dir (directories index.N and
 * index.N.build). */
static long newest_generation(const char *dir)
{
    long best = 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    for (;;) {
        struct dirent *e = readdir(d);
        if (!e)
            break;
        if (!ps_str_startswith(e->d_name, "index."))
            continue;
        char num[32];
        size_t i = 0;
        for (const char *p = e->d_name + 6; *p >= '0' && *p <= '9' && i < 20;
             p++)
            num[i++] = *p;
        num[i] = '\0';
        int64_t n;
        if (i && ps_parse_i64(num, &n) == 0 && n > best)
            best = (long)n;
    }
    closedir(d);
    return best;
}

/* Point dir/index at target atomically (symlink + rename). */
static ps_status swap_link(const char *dir, const char *target, ps_err *err)
{
    char *tmp = join(dir, "index.link-tmp");
    char *link = join(dir, "index");
    ps_status rc = PS_OK;
    if (!tmp || !link) {
        rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        goto out;
    }
    unlink(tmp);
    if (symlink(target, tmp) != 0 || rename(tmp, link) != 0) {
        rc = ps_err_set(err, PS_ERR_IO, "cannot switch %s to %s: %s", link,
                        target, strerror(errno));
        unlink(tmp);
        goto out;
    }
    /* Make the rename durable. */
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
out:
    ps_free(tmp);
    ps_free(link);
    return rc;
}

/* ---- the writer lock ---------------------------------------------------- */

static ps_status take_lock(const char *dir, int *fd_out, ps_err *err)
{
    char *path = join(dir, "index.lock");
    if (!path)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        ps_status rc = ps_err_set(err, PS_ERR_IO,
                                  "cannot open %s: %s; check that the data "
                                  "directory is writable",
                                  path, strerror(errno));
        ps_free(path);
        return rc;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        char holder[32] = "";
        ssize_t n = pread(fd, holder, sizeof holder - 1, 0);
        holder[n > 0 ? n : 0] = '\0';
        holder[strcspn(holder, "\n")] = '\0';
        ps_status rc = ps_err_set(
            err, PS_ERR_BUSY,
            "the index in %s is being written by another process (pid %s); "
            "a running `pansift serve` keeps the index up to date by itself: "
            "stop it, or wait for the other command to finish",
            dir, holder[0] ? holder : "unknown");
        close(fd);
        ps_free(path);
        return rc;
    }
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)len, 0) < 0) {
        /* The pid is only informative. */
    }
    ps_free(path);
    *fd_out = fd;
    return PS_OK;
}

/* ---- opening ------------------------------------------------------------ */

/* Stamp a generation with the index schema, the store it was built from
 * and the last change it contains. */
static ps_status init_generation(const char *path, const char *store_id,
                                 int64_t last_seq, ps_err *err)
{
    ps_xdb *db = NULL;
    ps_status rc = ps_xdb_open(&db, path, PS_XDB_WRITE, 0, err);
    if (rc != PS_OK)
        return rc;
    char seq[32];
    snprintf(seq, sizeof seq, "%lld", (long long)last_seq);
    rc = ps_xdb_set_metadata(db, PSI_META_SCHEMA, PSI_INDEX_SCHEMA, err);
    if (rc == PS_OK)
        rc = ps_xdb_set_metadata(db, PSI_META_STORE_ID, store_id, err);
    if (rc == PS_OK)
        rc = ps_xdb_set_metadata(db, PSI_META_LAST_SEQ, seq, err);
    if (rc == PS_OK)
        rc = ps_xdb_commit(db, err);
    ps_xdb_close(db);
    return rc;
}

ps_status ps_index_create(const char *data_dir, const char *store_id,
                          ps_err *err)
{
    char *link = join(data_dir, "index");
    char *gen = NULL;
    ps_status rc = PS_OK;
    struct stat sb;
    int fd = -1;
    if (!link) {
        rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (lstat(link, &sb) == 0)
        goto out;
    rc = take_lock(data_dir, &fd, err);
    if (rc != PS_OK)
        goto out;
    /* A new generation number: never reuse what a crash or an older
     * version may have left behind. */
    char name[64];
    snprintf(name, sizeof name, "index.%ld", newest_generation(data_dir) + 1);
    gen = join(data_dir, name);
    if (!gen) {
        rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        goto out;
    }
    rc = init_generation(gen, store_id, 0, err);
    if (rc == PS_OK)
        rc = swap_link(data_dir, name, err);
out:
    if (fd >= 0)
        close(fd);
    ps_free(link);
    ps_free(gen);
    return rc;
}

static ps_status open_db(ps_index *idx, ps_err *err)
{
    ps_status rc = read_target(idx->link, idx->target, sizeof idx->target, err);
    if (rc != PS_OK)
        return rc;
    char *path = join(idx->dir, idx->target);
    if (!path)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    rc = ps_xdb_open(&idx->db, path, idx->writable ? PS_XDB_WRITE : PS_XDB_READ,
                     0, err);
    if (rc == PS_ERR_NOTFOUND)
        ps_err_set(err, PS_ERR_NOTFOUND,
                   "the index generation %s is missing; run `pansift index "
                   "--rebuild`",
                   path);
    ps_free(path);
    if (rc != PS_OK)
        return rc;
    char *schema = NULL;
    rc = ps_xdb_get_metadata(idx->db, PSI_META_SCHEMA, &schema, err);
    if (rc == PS_OK && strcmp(schema, PSI_INDEX_SCHEMA) != 0)
        rc = ps_err_set(err, PS_ERR_INVALID,
                        "the index in %s has schema \"%s\", this pansift "
                        "writes \"%s\"; run `pansift index --rebuild`",
                        idx->dir, schema, PSI_INDEX_SCHEMA);
    ps_free(schema);
    if (rc != PS_OK) {
        ps_xdb_close(idx->db);
        idx->db = NULL;
    }
    return rc;
}

ps_status ps_index_open(ps_index **out, const char *data_dir, int writable,
                        ps_err *err)
{
    *out = NULL;
    ps_index *idx = ps_calloc(1, sizeof *idx);
    if (!idx)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    idx->lock_fd = -1;
    idx->writable = writable;
    idx->dir = ps_strdup(data_dir);
    idx->link = join(data_dir, "index");
    ps_status rc = PS_OK;
    if (!idx->dir || !idx->link) {
        rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (writable) {
        rc = take_lock(data_dir, &idx->lock_fd, err);
        if (rc != PS_OK)
            goto fail;
    }
    rc = open_db(idx, err);
    if (rc != PS_OK)
        goto fail;
    if (writable)
        prune(idx->dir, idx->target);
    *out = idx;
    return PS_OK;
fail:
    ps_index_close(idx);
    return rc;
}

void ps_index_close(ps_index *idx)
{
    if (!idx)
        return;
    ps_xdb_close(idx->db);
    if (idx->lock_fd >= 0)
        close(idx->lock_fd);
    ps_free(idx->dir);
    ps_free(idx->link);
    ps_free(idx);
}

ps_xdb *ps_index_xdb(ps_index *idx) { return idx ? idx->db : NULL; }

ps_status ps_index_refresh(ps_index *idx, int *changed_out, ps_err *err)
{
    char target[64];
    if (changed_out)
        *changed_out = 0;
    ps_status rc = read_target(idx->link, target, sizeof target, err);
    if (rc != PS_OK)
        return rc;
    if (strcmp(target, idx->target) != 0 || !idx->db) {
        ps_xdb *old = idx->db;
        char old_target[64];
        memcpy(old_target, idx->target, sizeof old_target);
        idx->db = NULL;
        rc = open_db(idx, err);
        if (rc != PS_OK) {
            idx->db = old;
            memcpy(idx->target, old_target, sizeof old_target);
            return rc;
        }
        ps_xdb_close(old);
        if (changed_out)
            *changed_out = 1;
        return PS_OK;
    }
    if (idx->writable)
        return PS_OK;
    return ps_xdb_reopen(idx->db, changed_out, err);
}

ps_status ps_index_last_seq(ps_index *idx, int64_t *out, ps_err *err)
{
    char *v = NULL;
    *out = 0;
    ps_status rc = ps_xdb_get_metadata(idx->db, PSI_META_LAST_SEQ, &v, err);
    if (rc != PS_OK)
        return rc;
    if (v[0] && ps_parse_i64(v, out) != 0)
        rc = ps_err_set(err, PS_ERR_CORRUPT,
                        "the index's last sequence number \"%s\" is not a "
                        "number; run `pansift index --rebuild`",
                        v);
    ps_free(v);
    return rc;
}

ps_status ps_index_count_visible(ps_index *idx, const char *group,
                                 int64_t now_ms, int64_t *out, ps_err *err)
{
    char term[64];
    uint64_t pub = 0;
    *out = 0;
    snprintf(term, sizeof term, "%s%s:public", PS_IDX_TERM_GROUPVIS, group);
    ps_status rc = ps_xdb_termfreq(idx->db, term, &pub, err);
    if (rc != PS_OK)
        return rc;
    /* Embargoes that have ended: few documents, counted exactly. */
    char hi[32];
    size_t n = ps_xvalue_num((double)now_ms, hi);
    snprintf(term, sizeof term, "%s%s:embargoed", PS_IDX_TERM_GROUPVIS, group);
    ps_xquery *kids[2] = {ps_xq_term(term),
                          ps_xq_range(PS_IDX_SLOT_EMBARGO, NULL, 0, hi, n)};
    ps_xquery *q = ps_xq_and(kids, 2);
    if (!q)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    ps_xsearch_opts o = PS_XSEARCH_OPTS_INIT;
    o.count = 0;
    o.check_at_least = UINT64_MAX;
    ps_xresult res;
    rc = ps_xdb_search(idx->db, q, &o, &res, err);
    ps_xq_free(q);
    if (rc != PS_OK)
        return rc;
    *out = (int64_t)(pub + res.matches_lower);
    ps_xresult_free(&res);
    return PS_OK;
}

ps_status ps_index_check_store(ps_index *idx, ps_store *st, ps_err *err)
{
    char *id = NULL;
    int64_t last = 0, max = 0;
    ps_status rc = ps_xdb_get_metadata(idx->db, PSI_META_STORE_ID, &id, err);
    if (rc == PS_OK && strcmp(id, ps_store_id(st)) != 0)
        rc = ps_err_set(err, PS_ERR_CORRUPT,
                        "the index in %s was built from another store (%s, "
                        "this one is %s); run `pansift index --rebuild`",
                        idx->dir, id[0] ? id : "unknown", ps_store_id(st));
    ps_free(id);
    if (rc == PS_OK)
        rc = ps_index_last_seq(idx, &last, err);
    if (rc == PS_OK)
        rc = ps_store_max_seq(st, &max, err);
    if (rc == PS_OK && last > max)
        rc = ps_err_set(err, PS_ERR_CORRUPT,
                        "the index in %s is at change %lld but the store has "
                        "only %lld changes: the store was restored from an "
                        "older copy; run `pansift index --rebuild`",
                        idx->dir, (long long)last, (long long)max);
    return rc;
}

uint64_t ps_index_doccount(ps_index *idx)
{
    return idx && idx->db ? ps_xdb_doccount(idx->db) : 0;
}

/* Defaults for NULL options and stats; 0 if idx cannot write. */
static int writer_start(ps_index *idx, const ps_index_opts **opts,
                        const ps_index_opts *def, ps_index_stats **stats,
                        ps_index_stats *local, ps_err *err)
{
    if (!*opts)
        *opts = def;
    if (!*stats)
        *stats = local;
    memset(*stats, 0, sizeof **stats);
    if (!idx->writable) {
        ps_err_set(err, PS_ERR_INVALID, "the index is open read-only");
        return 0;
    }
    return 1;
}

/* ---- applying changes --------------------------------------------------- */

/* Xapian keeps the changes it has not committed in memory (some ten
 * times the text they index) and flushes by itself only every 10,000
 * documents, while a publication's PDF text can be 4 MiB. Writers commit
 * after this much text, whatever their batch says: a rebuild of 4,300
 * JOSE papers (51 MB of text, 2 workers) peaks at 285 MB instead of 630
 * MB, and spends less time (20 s instead of 27 s of CPU). */
#define TEXT_FLUSH_BYTES ((size_t)8 << 20)

/* Write (or delete) the document of one record; *text_bytes grows by the
 * size of its publication text. */
static ps_status apply_one(ps_xdb *db, ps_store *st, ps_kind kind, int64_t id,
                           int add_only, int *deleted_out, size_t *text_bytes,
                           ps_err *err)
{
    char idterm[40];
    ps_index_idterm(kind, id, idterm, sizeof idterm);
    json_t *ent = NULL;
    *deleted_out = 0;
    ps_status rc =
        ps_store_load(st, kind, id, psi_index_load_flags(kind), &ent, err);
    if (rc == PS_ERR_NOTFOUND ||
        (rc == PS_OK && json_is_true(json_object_get(ent, "deleted")))) {
        json_decref(ent);
        *deleted_out = 1;
        return add_only ? PS_OK : ps_xdb_delete(db, idterm, err);
    }
    if (rc != PS_OK)
        return rc;
    ps_xdoc *doc = NULL;
    *text_bytes += json_string_length(json_object_get(ent, "full_text"));
    /* Documents added by a rebuild come in pid order (see worker_main). */
    rc = psi_index_build_doc(kind, ent, add_only, &doc, err);
    json_decref(ent);
    if (rc != PS_OK)
        return rc;
    rc = add_only ? ps_xdb_add(db, doc, err)
                  : ps_xdb_replace(db, idterm, doc, err);
    ps_xdoc_free(doc);
    return rc;
}

static ps_status commit_seq(ps_xdb *db, int64_t seq, ps_err *err)
{
    char v[32];
    snprintf(v, sizeof v, "%lld", (long long)seq);
    ps_status rc = ps_xdb_set_metadata(db, PSI_META_LAST_SEQ, v, err);
    return rc == PS_OK ? ps_xdb_commit(db, err) : rc;
}

ps_status ps_index_update(ps_index *idx, ps_store *st,
                          const ps_index_opts *opts, ps_index_stats *stats,
                          ps_err *err)
{
    ps_index_opts def = PS_INDEX_OPTS_INIT;
    ps_index_stats local = {0};
    if (!writer_start(idx, &opts, &def, &stats, &local, err))
        return err ? err->code : PS_ERR_INVALID;
    size_t batch = opts->batch ? opts->batch : 1000;
    int64_t t0 = ps_mono_ns();
    int64_t last = 0, total = 0;
    ps_status rc = ps_index_check_store(idx, st, err);
    if (rc == PS_OK)
        rc = ps_index_last_seq(idx, &last, err);
    if (rc == PS_OK)
        rc = ps_store_pending(st, last, &total, err);
    if (rc != PS_OK)
        return rc;
    ps_change *ch = ps_malloc(batch * sizeof *ch);
    if (!ch)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    int64_t done = 0;
    if (opts->progress)
        opts->progress("index", 0, total, opts->payload);
    for (;;) {
        size_t n = 0;
        rc = ps_store_changes(st, last, ch, batch, &n, err);
        if (rc != PS_OK || n == 0)
            break;
        size_t text = 0;
        for (size_t i = 0; i < n && rc == PS_OK; i++) {
            if (!psi_index_kind(ch[i].kind))
                continue;
            int deleted = 0;
            rc = apply_one(idx->db, st, ch[i].kind, ch[i].id, 0, &deleted,
                           &text, err);
            stats->applied++;
            stats->deleted += deleted;
            /* Much text: commit up to this change (the changes are applied
             * in sequence order, so the index is at ch[i].seq). */
            if (rc == PS_OK && text >= TEXT_FLUSH_BYTES && i + 1 < n) {
                rc = commit_seq(idx->db, ch[i].seq, err);
                text = 0;
            }
        }
        if (rc != PS_OK)
            break;
        rc = commit_seq(idx->db, ch[n - 1].seq, err);
        if (rc != PS_OK)
            break;
        last = ch[n - 1].seq;
        done += (int64_t)n;
        if (opts->progress)
            opts->progress("index", done, total > done ? total : done,
                           opts->payload);
        if (opts->cancel && *opts->cancel) {
            rc = ps_err_set(err, PS_ERR_CANCELLED,
                            "indexing stopped at sequence number %lld; run "
                            "`pansift index` to continue",
                            (long long)last);
            break;
        }
    }
    ps_free(ch);
    stats->last_seq = last;
    stats->seconds = (double)(ps_mono_ns() - t0) / 1e9;
    return rc;
}

/* ---- rebuilding --------------------------------------------------------- */

typedef struct worker {
    pthread_t thread;
    const char *store_path;
    char *shard;
    const char *lo; /* first pid of this worker's range ("" for the first) */
    const char *hi; /* first pid of the next range (NULL for the last) */
    int k, nworkers;
    atomic_llong *done;
    volatile int *cancel;
    atomic_int finished;
    ps_status rc;
    ps_err err;
} worker;

/* A rebuild worker writes the records whose pids lie in [lo, hi) to its
 * shard, in (pid, kind) order. The shards are compacted in worker order and
 * compaction numbers documents consecutively, source after source, so in
 * the merged index docid order is pid order: a query in the default order
 * can then read matches in docid order and stop after the page it needs
 * (query/plan.c) instead of sorting every match. */
static void *worker_main(void *arg)
{
    worker *w = arg;
    ps_store *st = NULL;
    ps_xdb *db = NULL;
    ps_store_opts so = PS_STORE_OPTS_INIT;
    so.readonly = 1;
    ps_store_row rows[512];
    size_t text = 0;
    char *after = NULL;
    ps_kind after_kind = PS_KIND_NONE;
    w->rc = ps_store_open(&st, w->store_path, &so, &w->err);
    if (w->rc == PS_OK)
        w->rc =
            ps_xdb_open(&db, w->shard, PS_XDB_OVERWRITE, PS_XDB_BULK, &w->err);
    while (w->rc == PS_OK) {
        size_t n = 0;
        w->rc =
            ps_store_page_all(st, after ? after : w->lo, after_kind, w->hi,
                              rows, sizeof rows / sizeof rows[0], &n, &w->err);
        if (w->rc != PS_OK || n == 0)
            break;
        for (size_t i = 0; i < n && w->rc == PS_OK; i++) {
            int deleted;
            w->rc = apply_one(db, st, rows[i].kind, rows[i].id, 1, &deleted,
                              &text, &w->err);
            if (w->rc == PS_OK && text >= TEXT_FLUSH_BYTES) {
                w->rc = ps_xdb_commit(db, &w->err);
                text = 0;
            }
        }
        atomic_fetch_add(w->done, (long long)n);
        ps_free(after);
        after = ps_strdup(rows[n - 1].pid);
        after_kind = rows[n - 1].kind;
        ps_store_rows_free(rows, n);
        if (!after && w->rc == PS_OK)
            w->rc = ps_err_set(&w->err, PS_ERR_NOMEM, "out of memory");
        if (w->rc == PS_OK && w->cancel && *w->cancel)
            w->rc = ps_err_set(&w->err, PS_ERR_CANCELLED, "rebuild cancelled");
    }
    ps_free(after);
    if (w->rc == PS_OK)
        w->rc = ps_xdb_commit(db, &w->err);
    ps_xdb_close(db);
    ps_store_close(st);
    atomic_store(&w->finished, 1);
    return NULL;
}

/* The rebuild proper, for a handle that holds the writer lock and may have
 * no database open (the index is missing or unusable). */
static ps_status rebuild_locked(ps_index *idx, const char *store_path,
                                const ps_index_opts *opts,
                                ps_index_stats *stats, ps_err *err)
{
    int64_t t0 = ps_mono_ns();
    int nw = opts->workers > 0 ? opts->workers : ps_cpu_count();
    if (nw > 64)
        nw = 64;
    ps_status rc = PS_OK;
    ps_store *st = NULL;
    worker *ws = NULL;
    char *build = NULL, *gen_path = NULL;
    const char **shards = NULL;
    char **bounds = NULL; /* bounds[k]: first pid of worker k's range */
    int started = 0;
    int64_t snapshot = 0, total = 0;
    atomic_llong done = 0;
    char store_id[64] = "";
    char gen_name[64] = "";

    /* What the new generation will contain: everything up to snapshot.
     * The count and the range bounds come from one read snapshot, so the
     * bounds are those of one state of the store. */
    ps_store_opts so = PS_STORE_OPTS_INIT;
    so.readonly = 1;
    rc = ps_store_open(&st, store_path, &so, err);
    if (rc == PS_OK) {
        snprintf(store_id, sizeof store_id, "%s", ps_store_id(st));
        rc = ps_store_read_begin(st, err);
    }
    if (rc == PS_OK)
        rc = ps_store_max_seq(st, &snapshot, err);
    static const ps_kind kinds[] = {PS_KIND_INSTRUMENT, PS_KIND_PROPOSAL,
                                    PS_KIND_PUBLICATION, PS_KIND_DATASET};
    for (size_t i = 0; rc == PS_OK && i < 4; i++) {
        int64_t n = 0;
        rc = ps_store_count(st, kinds[i], 0, &n, err);
        total += n;
    }
    /* Split the pid order into nw ranges of about the same size. */
    bounds = rc == PS_OK ? ps_calloc((size_t)nw + 1, sizeof *bounds) : NULL;
    if (rc == PS_OK && !bounds)
        rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    for (int k = 1; rc == PS_OK && k < nw; k++)
        rc = ps_store_nth_pid(st, total * k / nw, &bounds[k], err);
    /* Ranges must not overlap (a record in two shards would be indexed
     * twice): make the bounds non-decreasing whatever happened. */
    for (int k = 2; rc == PS_OK && k < nw; k++)
        if (bounds[k - 1] && bounds[k] &&
            strcmp(bounds[k], bounds[k - 1]) < 0) {
            ps_free(bounds[k]);
            bounds[k] = ps_strdup(bounds[k - 1]);
            if (!bounds[k])
                rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        }
    ps_store_read_end(st);
    ps_store_close(st);
    st = NULL;
    if (rc != PS_OK)
        goto out;

    long gen = newest_generation(idx->dir) + 1;
    snprintf(gen_name, sizeof gen_name, "index.%ld", gen);
    build = ps_asprintf("%s/index.%ld.build", idx->dir, gen);
    gen_path = join(idx->dir, gen_name);
    ws = ps_calloc((size_t)nw, sizeof *ws);
    shards = ps_calloc((size_t)nw, sizeof *shards);
    if (!build || !gen_path || !ws || !shards) {
        rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        goto out;
    }
    rmtree(build);
    rmtree(gen_path);
    if (mkdir(build, 0755) != 0) {
        rc = ps_err_set(err, PS_ERR_IO, "cannot create %s: %s", build,
                        strerror(errno));
        goto out;
    }
    if (opts->progress)
        opts->progress("rebuild", 0, total, opts->payload);
    for (int k = 0; k < nw; k++) {
        ws[k].store_path = store_path;
        ws[k].shard = ps_asprintf("%s/shard-%d", build, k);
        ws[k].k = k;
        ws[k].nworkers = nw;
        ws[k].lo = k == 0 ? "" : bounds[k];
        ws[k].hi = k + 1 < nw ? bounds[k + 1] : NULL;
        if (k > 0 && !bounds[k]) /* fewer records than workers */
            ws[k].lo = ws[k].hi = "";
        ws[k].done = &done;
        ws[k].cancel = opts->cancel;
        shards[k] = ws[k].shard;
        if (!ws[k].shard) {
            rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
            break;
        }
        if (pthread_create(&ws[k].thread, NULL, worker_main, &ws[k]) != 0) {
            rc = ps_err_set(err, PS_ERR_INTERNAL, "cannot start a thread");
            break;
        }
        started++;
    }
    /* Report progress until every worker is done. */
    for (;;) {
        int all = 1;
        for (int k = 0; k < started; k++)
            all &= atomic_load(&ws[k].finished);
        if (opts->progress)
            opts->progress("rebuild", atomic_load(&done), total, opts->payload);
        if (all)
            break;
        struct timespec ts = {0, 200000000};
        nanosleep(&ts, NULL);
    }
    for (int k = 0; k < started; k++) {
        pthread_join(ws[k].thread, NULL);
        if (rc == PS_OK && ws[k].rc != PS_OK) {
            rc = ws[k].rc;
            if (err)
                *err = ws[k].err;
        }
    }
    if (rc != PS_OK)
        goto out;

    if (opts->progress)
        opts->progress("merge", 0, 1, opts->payload);
    rc = ps_xdb_compact(shards, (size_t)nw, gen_path, err);
    if (rc == PS_OK)
        rc = init_generation(gen_path, store_id, snapshot, err);
    if (rc != PS_OK)
        goto out;
    if (opts->progress)
        opts->progress("merge", 1, 1, opts->payload);

    /* Swap: close the old generation, point the link at the new one. */
    ps_xdb_close(idx->db);
    idx->db = NULL;
    rc = swap_link(idx->dir, gen_name, err);
    if (rc == PS_OK)
        rc = open_db(idx, err);
    else
        open_db(idx, NULL); /* back on the old generation, if it works */
    if (rc != PS_OK)
        goto out;
    prune(idx->dir, idx->target);
    stats->applied = (int64_t)atomic_load(&done);

    /* Changes made while the shards were built. */
    st = NULL;
    so.readonly = 0;
    rc = ps_store_open(&st, store_path, &so, err);
    if (rc == PS_OK) {
        ps_index_stats more;
        ps_index_opts o2 = *opts;
        o2.progress = NULL;
        rc = ps_index_update(idx, st, &o2, &more, err);
        stats->applied += more.applied;
        stats->deleted += more.deleted;
        stats->last_seq = more.last_seq;
    }
    ps_store_close(st);
out:
    if (build)
        rmtree(build);
    if (rc != PS_OK && gen_path && gen_name[0] &&
        strcmp(idx->target, gen_name) != 0)
        rmtree(gen_path);
    for (int k = 0; ws && k < nw; k++)
        ps_free(ws[k].shard);
    ps_free(ws);
    ps_free(shards);
    for (int k = 0; bounds && k <= nw; k++)
        ps_free(bounds[k]);
    ps_free(bounds);
    ps_free(build);
    ps_free(gen_path);
    stats->seconds = (double)(ps_mono_ns() - t0) / 1e9;
    return rc;
}

ps_status ps_index_rebuild(ps_index *idx, const char *store_path,
                           const ps_index_opts *opts, ps_index_stats *stats,
                           ps_err *err)
{
    ps_index_opts def = PS_INDEX_OPTS_INIT;
    ps_index_stats local = {0};
    if (!writer_start(idx, &opts, &def, &stats, &local, err))
        return err ? err->code : PS_ERR_INVALID;
    return rebuild_locked(idx, store_path, opts, stats, err);
}

ps_status ps_index_open_rebuilt(ps_index **out, const char *data_dir,
                                const char *store_path,
                                const ps_index_opts *opts,
                                ps_index_stats *stats, ps_err *err)
{
    ps_index_opts def = PS_INDEX_OPTS_INIT;
    ps_index_stats local = {0};
    *out = NULL;
    ps_index *idx = ps_calloc(1, sizeof *idx);
    if (!idx)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    idx->lock_fd = -1;
    idx->writable = 1;
    idx->dir = ps_strdup(data_dir);
    idx->link = join(data_dir, "index");
    ps_status rc = PS_OK;
    if (!idx->dir || !idx->link)
        rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    if (rc == PS_OK)
        rc = take_lock(data_dir, &idx->lock_fd, err);
    if (rc == PS_OK && writer_start(idx, &opts, &def, &stats, &local, err))
        rc = rebuild_locked(idx, store_path, opts, stats, err);
    if (rc != PS_OK) {
        ps_index_close(idx);
        return rc;
    }
    *out = idx;
    return PS_OK;
}
