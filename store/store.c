/*
 * store.c: opening the SQLite store, migrating its schema, transactions, the
 * prepared-statement cache and the change-sequence allocator. The other
 * store files hold the writes (store-write.c), the reads (store-read.c) and
 * the schema (store-schema.c). The file runs in WAL mode with
 * synchronous=NORMAL (durable across process crashes; an OS crash may lose
 * the last transactions but never corrupts), foreign keys on.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "store-private.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const kind_names[PS_KIND_MAX + 1] = {
    "none",   "facility",    "instrument", "proposal",  "dataset",
    "file",   "sample",      "technique",  "parameter", "publication",
    "person", "institution", "collection", "link",      "source"};

const char *ps_kind_name(ps_kind kind)
{
    return (int)kind >= 0 && kind <= PS_KIND_MAX ? kind_names[kind] : "none";
}

ps_kind ps_kind_parse(const char *name)
{
    for (int i = 1; name && i <= PS_KIND_MAX; i++)
        if (strcmp(name, kind_names[i]) == 0)
            return (ps_kind)i;
    return PS_KIND_NONE;
}

const char *psi_table(ps_kind kind)
{
    switch (kind) {
    case PS_KIND_FACILITY: return "facility";
    case PS_KIND_INSTRUMENT: return "instrument";
    case PS_KIND_PROPOSAL: return "proposal";
    case PS_KIND_DATASET: return "dataset";
    case PS_KIND_SAMPLE: return "sample";
    case PS_KIND_TECHNIQUE: return "technique";
    case PS_KIND_PUBLICATION: return "publication";
    case PS_KIND_PERSON: return "person";
    case PS_KIND_INSTITUTION: return "institution";
    case PS_KIND_COLLECTION: return "collection";
    default: return NULL;
    }
}

int ps_visible(ps_visibility vis, int64_t embargo_until_ms, int64_t now_ms)
{
    if (vis == PS_VIS_PUBLIC)
        return 1;
    if (vis == PS_VIS_EMBARGOED)
        return embargo_until_ms != 0 && embargo_until_ms != PS_TIME_NONE &&
               embargo_until_ms <= now_ms;
    return 0;
}

ps_status psi_db_error(ps_store *st, ps_err *err, const char *what)
{
    int rc = st && st->db ? sqlite3_extended_errcode(st->db) : SQLITE_ERROR;
    const char *msg = st && st->db ? sqlite3_errmsg(st->db) : "no database";
    ps_status code;
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: code = PS_ERR_BUSY; break;
    case SQLITE_NOMEM: code = PS_ERR_NOMEM; break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: code = PS_ERR_CORRUPT; break;
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_READONLY:
    case SQLITE_FULL:
    case SQLITE_PERM: code = PS_ERR_IO; break;
    case SQLITE_CONSTRAINT: code = PS_ERR_INVALID; break;
    default: code = PS_ERR_DB; break;
    }
    if (code == PS_ERR_BUSY)
        return ps_err_set(err, code,
                          "%s: the store is locked by another process (%s); "
                          "try again when it has finished",
                          what, msg);
    if (code == PS_ERR_CORRUPT)
        return ps_err_set(err, code,
                          "%s: the store file %s is damaged or is not a "
                          "pansift store (%s); restore it from a backup, or "
                          "move it away and run `pansift init` and "
                          "`pansift harvest`",
                          what, st && st->path ? st->path : "", msg);
    return ps_err_set(err, code, "%s: %s", what, msg);
}

sqlite3_stmt *psi_stmt(ps_store *st, const char *sql, ps_err *err)
{
    uintptr_t h = ((uintptr_t)sql >> 3) * 2654435761u;
    for (int i = 0; i < PSI_STMT_CACHE; i++) {
        struct psi_stmt_slot *slot = &st->stmts[(h + i) % PSI_STMT_CACHE];
        if (slot->sql == sql) {
            sqlite3_reset(slot->stmt);
            sqlite3_clear_bindings(slot->stmt);
            return slot->stmt;
        }
        if (!slot->sql) {
            sqlite3_stmt *s = NULL;
            if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
                                   &s, NULL) != SQLITE_OK) {
                psi_db_error(st, err, "preparing a statement");
                return NULL;
            }
            slot->sql = sql;
            slot->stmt = s;
            return s;
        }
    }
    ps_err_set(err, PS_ERR_INTERNAL, "statement cache full");
    return NULL;
}

ps_status psi_step_done(ps_store *st, sqlite3_stmt *s, ps_err *err,
                        const char *what)
{
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        ps_status code = psi_db_error(st, err, what);
        sqlite3_reset(s);
        return code;
    }
    sqlite3_reset(s);
    return PS_OK;
}

ps_status psi_step_id(ps_store *st, sqlite3_stmt *s, int64_t *id_out,
                      ps_err *err, const char *what)
{
    int rc = sqlite3_step(s);
    *id_out = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    ps_status code = PS_OK;
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        code = psi_db_error(st, err, what);
    sqlite3_reset(s);
    return code;
}

ps_status psi_exec(ps_store *st, const char *sql, ps_err *err)
{
    char *msg = NULL;
    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        sqlite3_free(msg);
        return psi_db_error(st, err, "executing SQL");
    }
    return PS_OK;
}

void psi_bind_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, i);
}

void psi_bind_time(sqlite3_stmt *s, int i, int64_t ms)
{
    if (ms == PS_TIME_NONE)
        sqlite3_bind_null(s, i);
    else
        sqlite3_bind_int64(s, i, ms);
}

void psi_bind_i64_or_null(sqlite3_stmt *s, int i, int64_t v, int64_t null_v)
{
    if (v == null_v)
        sqlite3_bind_null(s, i);
    else
        sqlite3_bind_int64(s, i, v);
}

/* ---- the shared-children cache ------------------------------------------ */

uint64_t psi_hash_fields(const char *const *fields, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *p = (const unsigned char *)fields[i];
        if (!p) {
            h = (h ^ 0xff) * 1099511628211ULL;
            continue;
        }
        for (; *p; p++)
            h = (h ^ *p) * 1099511628211ULL;
        h = (h ^ 0xfe) * 1099511628211ULL;
    }
    return h;
}

static size_t child_slot(const char *pid)
{
    const char *one[1] = {pid};
    return (size_t)(psi_hash_fields(one, 1) % PSI_CHILD_SLOTS);
}

int psi_child_get(ps_store *st, int which, const char *pid, uint64_t content,
                  int64_t *id_out)
{
    struct psi_child_slot *t = st->children[which];
    if (!t || !pid)
        return 0;
    struct psi_child_slot *s = &t[child_slot(pid)];
    if (!s->pid || s->content != content || strcmp(s->pid, pid) != 0)
        return 0;
    *id_out = s->id;
    return 1;
}

void psi_child_put(ps_store *st, int which, const char *pid, uint64_t content,
                   int64_t id)
{
    if (!pid)
        return;
    if (!st->children[which]) {
        st->children[which] =
            ps_calloc(PSI_CHILD_SLOTS, sizeof(struct psi_child_slot));
        if (!st->children[which])
            return; /* the cache is an optimisation only */
    }
    struct psi_child_slot *s = &st->children[which][child_slot(pid)];
    if (!s->pid || strcmp(s->pid, pid) != 0) {
        char *copy = ps_strdup(pid);
        if (!copy)
            return;
        ps_free(s->pid);
        s->pid = copy;
    }
    s->content = content;
    s->id = id;
}

void psi_child_clear(ps_store *st)
{
    for (int k = 0; k < PSI_CHILD_KINDS; k++) {
        struct psi_child_slot *t = st->children[k];
        for (size_t i = 0; t && i < PSI_CHILD_SLOTS; i++)
            ps_free(t[i].pid);
        ps_free(t);
        st->children[k] = NULL;
    }
}

/* ---- opening and migrating -------------------------------------------------
 */

static ps_status query_int(ps_store *st, const char *sql, int64_t *out,
                           ps_err *err)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return psi_db_error(st, err, "reading the store");
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(s, 0);
    } else if (rc == SQLITE_DONE) {
        *out = 0;
    } else {
        ps_status code = psi_db_error(st, err, "reading the store");
        sqlite3_finalize(s);
        return code;
    }
    sqlite3_finalize(s);
    return PS_OK;
}

static ps_status migrate(ps_store *st, ps_err *err)
{
    int64_t version = 0, tables = 0, ours = 0;
    ps_status rc = query_int(st, "PRAGMA user_version", &version, err);
    if (rc == PS_OK)
        rc = query_int(st,
                       "SELECT count(*) FROM sqlite_master WHERE type='table'",
                       &tables, err);
    if (rc != PS_OK)
        return rc;
    if (version == 0 && tables > 0)
        return ps_err_set(err, PS_ERR_CORRUPT,
                          "%s is a SQLite file but not a pansift store; use "
                          "another data directory or move the file away",
                          st->path);
    if (version > 0) {
        rc = query_int(st,
                       "SELECT count(*) FROM sqlite_master WHERE type='table' "
                       "AND name='meta'",
                       &ours, err);
        if (rc != PS_OK)
            return rc;
        if (!ours)
            return ps_err_set(err, PS_ERR_CORRUPT,
                              "%s is a SQLite file but not a pansift store",
                              st->path);
    }
    if (version > psi_nmigrations)
        return ps_err_set(err, PS_ERR_INVALID,
                          "%s has schema version %lld, newer than this "
                          "pansift understands (%d); upgrade pansift",
                          st->path, (long long)version, psi_nmigrations);
    if (version == psi_nmigrations)
        return PS_OK;
    if (st->readonly)
        return ps_err_set(err, PS_ERR_INVALID,
                          "%s has schema version %lld but this pansift needs "
                          "%d; run any writing command (e.g. `pansift "
                          "status`) to migrate it",
                          st->path, (long long)version, psi_nmigrations);
    for (int v = (int)version; v < psi_nmigrations; v++) {
        char *msg = NULL;
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d;", v + 1);
        if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
            SQLITE_OK)
            return psi_db_error(st, err, "migrating the store");
        if (sqlite3_exec(st->db, psi_migrations[v], NULL, NULL, &msg) !=
                SQLITE_OK ||
            sqlite3_exec(st->db, pragma, NULL, NULL, &msg) != SQLITE_OK) {
            ps_err_set(err, PS_ERR_DB, "migrating %s to schema %d: %s",
                       st->path, v + 1, msg ? msg : "error");
            sqlite3_free(msg);
            sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
            return PS_ERR_DB;
        }
        if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
            ps_status code = psi_db_error(st, err, "migrating the store");
            sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
            return code;
        }
    }
    return PS_OK;
}

static ps_status read_id(ps_store *st, ps_err *err)
{
    sqlite3_stmt *s = NULL;
    ps_status rc = PS_OK;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT value FROM meta WHERE key = 'store_id'", -1,
                           &s, NULL) != SQLITE_OK)
        return psi_db_error(st, err, "reading the store's identity");
    const unsigned char *v = NULL;
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_text(s, 0);
    if (!v || !*v || strlen((const char *)v) >= sizeof st->id)
        rc = ps_err_set(err, PS_ERR_CORRUPT,
                        "%s has no valid store_id in its meta table; the file "
                        "is damaged",
                        st->path);
    else
        memcpy(st->id, v, strlen((const char *)v) + 1);
    sqlite3_finalize(s);
    return rc;
}

const char *ps_store_id(const ps_store *st) { return st->id; }

ps_status ps_store_open(ps_store **out, const char *path,
                        const ps_store_opts *opts, ps_err *err)
{
    *out = NULL;
    ps_store_opts def = PS_STORE_OPTS_INIT;
    if (!opts)
        opts = &def;
    if (opts->version != PS_STORE_OPTS_VERSION)
        return ps_err_set(err, PS_ERR_INVALID, "ps_store_opts version %d",
                          opts->version);
    struct stat sb;
    if (stat(path, &sb) != 0) {
        if (errno != ENOENT || !opts->create)
            return ps_err_set(err,
                              errno == ENOENT ? PS_ERR_NOTFOUND : PS_ERR_IO,
                              "no store at %s (%s); run `pansift init` to "
                              "create the data directory",
                              path, strerror(errno));
    } else if (!S_ISREG(sb.st_mode)) {
        return ps_err_set(err, PS_ERR_CORRUPT,
                          "%s is not a file; move it away or choose another "
                          "data directory",
                          path);
    }

    ps_store *st = ps_calloc(1, sizeof *st);
    if (!st)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    st->path = ps_strdup(path);
    st->readonly = opts->readonly;
    if (!st->path) {
        ps_free(st);
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    int flags = SQLITE_OPEN_NOMUTEX |
                (opts->readonly ? SQLITE_OPEN_READONLY
                                : SQLITE_OPEN_READWRITE |
                                      (opts->create ? SQLITE_OPEN_CREATE : 0));
    ps_status rc = PS_OK;
    if (sqlite3_open_v2(path, &st->db, flags, NULL) != SQLITE_OK) {
        rc =
            ps_err_set(err, PS_ERR_IO,
                       "cannot open the store %s: %s; check "
                       "that the data directory exists and is writable",
                       path, st->db ? sqlite3_errmsg(st->db) : "out of memory");
        ps_store_close(st);
        return rc;
    }
    sqlite3_extended_result_codes(st->db, 1);
    sqlite3_busy_timeout(st->db, (int)opts->busy_timeout_ms);

    char pragmas[256];
    snprintf(pragmas, sizeof pragmas,
             "PRAGMA foreign_keys = ON; PRAGMA cache_size = -%ld;"
             "PRAGMA temp_store = MEMORY; PRAGMA mmap_size = 2147418112;",
             opts->cache_kib > 0 ? opts->cache_kib : 65536L);
    rc = psi_exec(st, pragmas, err);
    if (rc == PS_OK && !opts->readonly) {
        /* The first statement that reads the file: a foreign file fails
         * here with SQLITE_NOTADB. */
        /* Checkpoint every ~16 MB of WAL rather than 4 MB: bulk harvests
         * write each page fewer times. */
        rc = psi_exec(st,
                      "PRAGMA journal_mode = WAL; "
                      "PRAGMA synchronous = NORMAL; "
                      "PRAGMA wal_autocheckpoint = 4000;",
                      err);
    }
    if (rc == PS_OK) {
        int64_t dummy;
        rc = query_int(st, "SELECT count(*) FROM sqlite_master", &dummy, err);
    }
    if (rc == PS_OK)
        rc = migrate(st, err);
    if (rc == PS_OK)
        rc = read_id(st, err);
    if (rc == PS_OK && !opts->readonly)
        rc = ps_units_open(&st->units, err);
    if (rc != PS_OK) {
        ps_store_close(st);
        return rc;
    }
    *out = st;
    return PS_OK;
}

void ps_store_close(ps_store *st)
{
    if (!st)
        return;
    for (int i = 0; i < PSI_STMT_CACHE; i++)
        if (st->stmts[i].stmt)
            sqlite3_finalize(st->stmts[i].stmt);
    if (st->in_txn || st->in_read)
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    psi_child_clear(st);
    if (st->db)
        sqlite3_close_v2(st->db);
    ps_units_close(st->units);
    ps_free(st->path);
    ps_free(st);
}

int ps_store_schema_version(ps_store *st)
{
    int64_t v = 0;
    if (query_int(st, "PRAGMA user_version", &v, NULL) != PS_OK)
        return -1;
    return (int)v;
}

int ps_store_schema_latest(void) { return psi_nmigrations; }

ps_status ps_store_check(ps_store *st, ps_err *err)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db, "PRAGMA integrity_check(1)", -1, &s, NULL) !=
        SQLITE_OK)
        return psi_db_error(st, err, "checking the store");
    ps_status rc = PS_OK;
    if (sqlite3_step(s) == SQLITE_ROW) {
        const char *res = (const char *)sqlite3_column_text(s, 0);
        if (!res || strcmp(res, "ok") != 0)
            rc = ps_err_set(err, PS_ERR_CORRUPT, "store %s is damaged: %s",
                            st->path, res ? res : "?");
    } else {
        rc = psi_db_error(st, err, "checking the store");
    }
    sqlite3_finalize(s);
    return rc;
}

/* ---- transactions and sequence numbers ---------------------------------- */

ps_status ps_store_begin(ps_store *st, ps_err *err)
{
    if (st->in_txn || st->in_read)
        return ps_err_set(err, PS_ERR_INTERNAL, "transaction already open");
    if (st->readonly)
        return ps_err_set(err, PS_ERR_INVALID, "the store is open read-only");
    ps_status rc = psi_exec(st, "BEGIN IMMEDIATE", err);
    if (rc != PS_OK)
        return rc;
    int64_t seq = 0;
    rc = query_int(st,
                   "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE "
                   "name = 'change'), 0)",
                   &seq, err);
    if (rc != PS_OK) {
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    st->seq = seq;
    st->in_txn = 1;
    return PS_OK;
}

ps_status ps_store_commit(ps_store *st, ps_err *err)
{
    if (!st->in_txn)
        return ps_err_set(err, PS_ERR_INTERNAL, "no transaction to commit");
    ps_status rc = psi_exec(st, "COMMIT", err);
    if (rc != PS_OK) {
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        psi_child_clear(st);
    }
    st->in_txn = 0;
    return rc;
}

void ps_store_rollback(ps_store *st)
{
    if (st && st->in_txn) {
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        st->in_txn = 0;
        psi_child_clear(st);
    }
}

ps_status ps_store_read_begin(ps_store *st, ps_err *err)
{
    if (st->in_txn || st->in_read)
        return ps_err_set(err, PS_ERR_INTERNAL, "transaction already open");
    ps_status rc = psi_exec(st, "BEGIN DEFERRED", err);
    if (rc != PS_OK)
        return rc;
    /* Reading once starts the snapshot now rather than at the next read. */
    int64_t dummy;
    rc = query_int(st, "SELECT count(*) FROM meta", &dummy, err);
    if (rc != PS_OK) {
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    st->in_read = 1;
    return PS_OK;
}

void ps_store_read_end(ps_store *st)
{
    if (st && st->in_read) {
        sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
        st->in_read = 0;
    }
}

/* A write inside the caller's transaction runs in a savepoint, so that a
 * record that fails half-way leaves nothing behind in the batch. */
ps_status psi_begin_maybe(ps_store *st, int *own_out, ps_err *err)
{
    *own_out = 0;
    if (st->in_txn) {
        sqlite3_stmt *s = psi_stmt(st, "SAVEPOINT psi_put", err);
        ps_status rc = s ? psi_step_done(st, s, err, "starting a savepoint")
                         : (err ? err->code : PS_ERR_DB);
        if (rc == PS_OK)
            *own_out = 2;
        return rc;
    }
    ps_status rc = ps_store_begin(st, err);
    if (rc == PS_OK)
        *own_out = 1;
    return rc;
}

ps_status psi_end(ps_store *st, int own, ps_status result, ps_err *err)
{
    if (!own)
        return result;
    if (own == 2) {
        if (result != PS_OK) {
            /* Row ids the child cache learnt in the savepoint may be gone. */
            sqlite3_exec(st->db, "ROLLBACK TO psi_put; RELEASE psi_put", NULL,
                         NULL, NULL);
            psi_child_clear(st);
            return result;
        }
        sqlite3_stmt *s = psi_stmt(st, "RELEASE psi_put", err);
        return s ? psi_step_done(st, s, err, "ending a savepoint")
                 : (err ? err->code : PS_ERR_DB);
    }
    if (result != PS_OK) {
        ps_store_rollback(st);
        return result;
    }
    return ps_store_commit(st, err);
}

int64_t psi_next_seq(ps_store *st) { return ++st->seq; }

ps_status psi_feed(ps_store *st, ps_kind kind, int64_t id, int64_t seq,
                   ps_err *err)
{
    static const char feed[] =
        "INSERT OR REPLACE INTO change (seq, kind, rec_id) VALUES (?1, ?2, ?3)";
    sqlite3_stmt *s = psi_stmt(st, feed, err);
    if (!s)
        return err ? err->code : PS_ERR_DB;
    sqlite3_bind_int64(s, 1, seq);
    sqlite3_bind_int(s, 2, (int)kind);
    sqlite3_bind_int64(s, 3, id);
    return psi_step_done(st, s, err, "recording a change");
}

ps_status psi_touch(ps_store *st, ps_kind kind, int64_t id, ps_err *err)
{
    static const char *const upd[PS_KIND_MAX + 1] = {
        [PS_KIND_FACILITY] = "UPDATE facility SET seq = ?1 WHERE id = ?2",
        [PS_KIND_INSTRUMENT] = "UPDATE instrument SET seq = ?1 WHERE id = ?2",
        [PS_KIND_PROPOSAL] = "UPDATE proposal SET seq = ?1 WHERE id = ?2",
        [PS_KIND_DATASET] = "UPDATE dataset SET seq = ?1 WHERE id = ?2",
        [PS_KIND_PUBLICATION] = "UPDATE publication SET seq = ?1 WHERE id = ?2",
        [PS_KIND_PERSON] = "UPDATE person SET seq = ?1 WHERE id = ?2",
        [PS_KIND_INSTITUTION] = "UPDATE institution SET seq = ?1 WHERE id = ?2",
    };
    if ((int)kind < 0 || kind > PS_KIND_MAX || !upd[kind])
        return ps_err_set(err, PS_ERR_INTERNAL, "no change feed for %s",
                          ps_kind_name(kind));
    int64_t seq = psi_next_seq(st);
    ps_status rc = psi_feed(st, kind, id, seq, err);
    if (rc != PS_OK)
        return rc;
    sqlite3_stmt *s = psi_stmt(st, upd[kind], err);
    if (!s)
        return err ? err->code : PS_ERR_DB;
    sqlite3_bind_int64(s, 1, seq);
    sqlite3_bind_int64(s, 2, id);
    return psi_step_done(st, s, err, "recording a change");
}
