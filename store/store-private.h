/*
 * store-private.h: what the store's .c files share and nothing else sees:
 * the handle's real struct, the prepared-statement cache, the change
 * sequence allocator and small SQLite helpers. Not part of the public API
 * (store.h is).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef PS_STORE_PRIVATE_H
#define PS_STORE_PRIVATE_H

#include "store.h"

#include <sqlite3.h>

#define PSI_STMT_CACHE 256
#define PSI_CHILD_SLOTS 4096

/* Shared children (samples, techniques, people, institutions) recur in
 * thousands of records: this cache remembers, per pid, the row id and a
 * hash of the fields last written, so an unchanged child costs no SQL. It
 * is emptied on rollback (ids written in the transaction may be gone). */
enum {
    PSI_CHILD_SAMPLE,
    PSI_CHILD_TECHNIQUE,
    PSI_CHILD_PERSON,
    PSI_CHILD_INSTITUTION,
    PSI_CHILD_KINDS
};

struct psi_child_slot {
    char *pid;
    uint64_t content;
    int64_t id;
};

struct psi_stmt_slot {
    const char *sql; /* static string: the pointer is the key */
    sqlite3_stmt *stmt;
};

struct ps_store {
    sqlite3 *db;
    char *path;
    int readonly;
    int in_txn;      /* inside ps_store_begin .. commit/rollback */
    int in_read;     /* inside ps_store_read_begin .. read_end */
    int64_t seq;     /* last sequence number given (valid inside a txn) */
    char id[40];     /* meta.store_id: this store's identity */
    ps_units *units; /* writable stores: SI conversion of parameters */
    struct psi_stmt_slot stmts[PSI_STMT_CACHE];
    struct psi_child_slot *children[PSI_CHILD_KINDS];
};

/* FNV-1a over the strings (NULL and "" differ), for the child cache. */
uint64_t psi_hash_fields(const char *const *fields, size_t n);
/* The cached row id of child pid if its fields still hash to content. */
int psi_child_get(ps_store *st, int which, const char *pid, uint64_t content,
                  int64_t *id_out);
void psi_child_put(ps_store *st, int which, const char *pid, uint64_t content,
                   int64_t id);
void psi_child_clear(ps_store *st);

/* Error-path helpers of the store's functions, which keep a `ps_status
 * status`, an `ps_err *err` and an `out:` label: FAIL jumps to out with a
 * status, CHECK does so when a call fails, STMT fetches a cached statement
 * (st is the handle). */
#define FAIL(rc)                                                               \
    do {                                                                       \
        status = (rc);                                                         \
        goto out;                                                              \
    } while (0)
#define CHECK(expr)                                                            \
    do {                                                                       \
        ps_status check_rc_ = (expr);                                          \
        if (check_rc_ != PS_OK)                                                \
            FAIL(check_rc_);                                                   \
    } while (0)
#define STMT(var, sql)                                                         \
    do {                                                                       \
        (var) = psi_stmt(st, (sql), err);                                      \
        if (!(var))                                                            \
            FAIL(err ? err->code : PS_ERR_DB);                                 \
    } while (0)

/* Migrations (store-schema.c). */
extern const char *const psi_migrations[];
extern const int psi_nmigrations;

/* A prepared statement for the static SQL text sql, reset and with its
 * bindings cleared; NULL on error (err filled). Cached per handle. */
sqlite3_stmt *psi_stmt(ps_store *st, const char *sql, ps_err *err);
/* Map the last SQLite error of st->db to a ps_status and message. */
ps_status psi_db_error(ps_store *st, ps_err *err, const char *what);
/* Execute a statement to completion (no rows expected). */
ps_status psi_step_done(ps_store *st, sqlite3_stmt *s, ps_err *err,
                        const char *what);
/* Run SQL text without results (sqlite3_exec). */
/* Step s once for a statement that returns one id (SELECT or RETURNING):
 * *id_out is column 0 of the row, or 0 when there is none. Resets s. */
ps_status psi_step_id(ps_store *st, sqlite3_stmt *s, int64_t *id_out,
                      ps_err *err, const char *what);
ps_status psi_exec(ps_store *st, const char *sql, ps_err *err);
/* Bind helpers: NULL strings and PS_TIME_NONE bind as SQL NULL. */
void psi_bind_text(sqlite3_stmt *s, int i, const char *v);
void psi_bind_time(sqlite3_stmt *s, int i, int64_t ms);
void psi_bind_i64_or_null(sqlite3_stmt *s, int i, int64_t v, int64_t null_v);

/* Inside a write transaction: the next change sequence number. */
int64_t psi_next_seq(ps_store *st);
/* Write the change feed row of (kind, id) at seq (the record's own seq
 * column is written by the caller). */
ps_status psi_feed(ps_store *st, ps_kind kind, int64_t id, int64_t seq,
                   ps_err *err);
/* Give record (kind, id) a new sequence number: the change feed row and the
 * record's seq column. */
ps_status psi_touch(ps_store *st, ps_kind kind, int64_t id, ps_err *err);
/* Table name of an entity kind with a table, or NULL. */
const char *psi_table(ps_kind kind);

/* Begin a transaction, or a savepoint inside the caller's transaction;
 * *own_out says which (1, 2; 0 on failure). psi_end commits or rolls back
 * the one begun, so a failed write leaves nothing behind either way. */
ps_status psi_begin_maybe(ps_store *st, int *own_out, ps_err *err);
ps_status psi_end(ps_store *st, int own, ps_status result, ps_err *err);

#endif /* PS_STORE_PRIVATE_H */
