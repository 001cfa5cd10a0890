/*
 * store-write.c: everything that changes the store: sources, harvest runs
 * and checkpoints, the idempotent upserts of instruments, datasets and
 * documents with their children, links, deletions (tombstones), the sweep
 * after a complete harvest and the resolution of references to records that
 * arrived later.
 *
 * The upsert rule: a record is identified by its pid whatever the source;
 * each source's copy is a provenance row keyed by (source, kind, remote id)
 * holding the hash of the raw record. If that hash is unchanged and the
 * record is live, nothing is written but the provenance's last-seen run (so
 * harvesting the same record twice changes nothing). Otherwise the record
 * and its children are rewritten and the record gets a new change sequence
 * number; so do the records whose index documents show it (a dataset shows
 * its instrument, its proposal and the publications citing it).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "store-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- sources, runs, checkpoints ----------------------------------------- */

ps_status ps_store_source_ensure(ps_store *st, const char *name,
                                 const char *type, const char *url,
                                 int64_t *id_out, ps_err *err)
{
    static const char sql[] =
        "INSERT INTO source (name, type, url, created_at, updated_at) "
        "VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT (name) DO UPDATE SET "
        "type = excluded.type, url = excluded.url, updated_at = "
        "excluded.updated_at WHERE type IS NOT excluded.type OR url IS NOT "
        "excluded.url";
    static const char sel[] = "SELECT id FROM source WHERE name = ?1";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    if (!name || !type)
        return ps_err_set(err, PS_ERR_INVALID,
                          "a source needs a name and a type");
    STMT(s, sql);
    psi_bind_text(s, 1, name);
    psi_bind_text(s, 2, type);
    psi_bind_text(s, 3, url);
    sqlite3_bind_int64(s, 4, ps_now_ms());
    CHECK(psi_step_done(st, s, err, "recording a source"));
    STMT(s, sel);
    psi_bind_text(s, 1, name);
    if (sqlite3_step(s) != SQLITE_ROW)
        FAIL(psi_db_error(st, err, "reading a source"));
    *id_out = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
out:
    return status;
}

ps_status ps_store_source_set_precedence(ps_store *st, int64_t source_id,
                                         int precedence, ps_err *err)
{
    static const char sql[] = "UPDATE source SET precedence = ?2 WHERE id = "
                              "?1 AND precedence != ?2";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    STMT(s, sql);
    sqlite3_bind_int64(s, 1, source_id);
    sqlite3_bind_int(s, 2, precedence);
    status = psi_step_done(st, s, err, "ranking a source");
out:
    return status;
}

ps_status ps_store_state_get(ps_store *st, int64_t source_id, const char *key,
                             char **value_out, ps_err *err)
{
    static const char sql[] =
        "SELECT value FROM source_state WHERE source_id = ?1 AND key = ?2";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    *value_out = NULL;
    STMT(s, sql);
    sqlite3_bind_int64(s, 1, source_id);
    psi_bind_text(s, 2, key);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(s, 0);
        if (v) {
            *value_out = ps_strdup(v);
            if (!*value_out)
                status = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        }
    } else if (rc != SQLITE_DONE) {
        status = psi_db_error(st, err, "reading a checkpoint");
    }
    sqlite3_reset(s);
out:
    return status;
}

ps_status ps_store_state_set(ps_store *st, int64_t source_id, const char *key,
                             const char *value, ps_err *err)
{
    static const char sql[] =
        "INSERT INTO source_state (source_id, key, value, updated_at) VALUES "
        "(?1, ?2, ?3, ?4) ON CONFLICT (source_id, key) DO UPDATE SET value = "
        "excluded.value, updated_at = excluded.updated_at";
    static const char del[] =
        "DELETE FROM source_state WHERE source_id = ?1 AND key = ?2";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    STMT(s, value ? sql : del);
    sqlite3_bind_int64(s, 1, source_id);
    psi_bind_text(s, 2, key);
    if (value) {
        psi_bind_text(s, 3, value);
        sqlite3_bind_int64(s, 4, ps_now_ms());
    }
    status = psi_step_done(st, s, err, "writing a checkpoint");
out:
    return status;
}

ps_status ps_store_run_begin(ps_store *st, int64_t source_id,
                             int64_t *run_id_out, ps_err *err)
{
    static const char stale[] =
        "UPDATE harvest_run SET state = 4, finished_at = coalesce(finished_at, "
        "?2), message = coalesce(message, 'interrupted: the harvesting "
        "process stopped before the run finished') WHERE source_id = ?1 AND "
        "state = 0";
    static const char ins[] =
        "INSERT INTO harvest_run (source_id, started_at, state) VALUES (?1, "
        "?2, 0)";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    int own;
    CHECK(psi_begin_maybe(st, &own, err));
    STMT(s, stale);
    sqlite3_bind_int64(s, 1, source_id);
    sqlite3_bind_int64(s, 2, ps_now_ms());
    status = psi_step_done(st, s, err, "starting a harvest run");
    if (status == PS_OK) {
        s = psi_stmt(st, ins, err);
        if (!s) {
            status = err ? err->code : PS_ERR_DB;
        } else {
            sqlite3_bind_int64(s, 1, source_id);
            sqlite3_bind_int64(s, 2, ps_now_ms());
            status = psi_step_done(st, s, err, "starting a harvest run");
            *run_id_out = sqlite3_last_insert_rowid(st->db);
        }
    }
    status = psi_end(st, own, status, err);
out:
    return status;
}

ps_status ps_store_run_finish(ps_store *st, int64_t run_id, ps_run_state state,
                              const ps_run_counts *c, const char *message,
                              ps_err *err)
{
    static const char sql[] =
        "UPDATE harvest_run SET state = ?2, finished_at = ?3, seen = ?4, "
        "inserted = ?5, updated = ?6, unchanged = ?7, deleted = ?8, rejected "
        "= ?9, message = ?10 WHERE id = ?1";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    ps_run_counts zero = {0};
    if (!c)
        c = &zero;
    STMT(s, sql);
    sqlite3_bind_int64(s, 1, run_id);
    sqlite3_bind_int(s, 2, (int)state);
    sqlite3_bind_int64(s, 3, ps_now_ms());
    sqlite3_bind_int64(s, 4, c->seen);
    sqlite3_bind_int64(s, 5, c->inserted);
    sqlite3_bind_int64(s, 6, c->updated);
    sqlite3_bind_int64(s, 7, c->unchanged);
    sqlite3_bind_int64(s, 8, c->deleted);
    sqlite3_bind_int64(s, 9, c->rejected);
    psi_bind_text(s, 10, message);
    status = psi_step_done(st, s, err, "finishing a harvest run");
out:
    return status;
}

/* ---- per-kind SQL ------------------------------------------------------- */

#define BY_KIND(fmt)                                                           \
    {                                                                          \
        [PS_KIND_INSTRUMENT] = fmt("instrument"),                              \
        [PS_KIND_PROPOSAL] = fmt("proposal"),                                  \
        [PS_KIND_DATASET] = fmt("dataset"),                                    \
        [PS_KIND_PUBLICATION] = fmt("publication"),                            \
    }
#define SQL_FIND_PID(t) "SELECT id, deleted FROM " t " WHERE pid = ?1"
#define SQL_LIVE_SAME(t)                                                       \
    "SELECT pid = ?2 AND deleted = 0 FROM " t " WHERE id = ?1"
#define SQL_TOMBSTONE(t)                                                       \
    "UPDATE " t " SET deleted = 1, deleted_at = ?2, updated_at = ?2 WHERE id " \
    "= ?1 AND deleted = 0"
#define SQL_LIVE_ID(t) "SELECT id FROM " t " WHERE pid = ?1 AND deleted = 0"
/* Kinds with a DOI are also found by it (pid first). */
#define SQL_LIVE_ID_DOI(t)                                                     \
    "SELECT id FROM " t " WHERE (pid = ?1 OR (doi = ?1 COLLATE NOCASE AND "    \
    "?1 LIKE '10.%')) AND deleted = 0 ORDER BY pid = ?1 DESC LIMIT 1"
#define SQL_FIND_DOI(t)                                                        \
    "SELECT id, deleted FROM " t " WHERE doi = ?1 COLLATE NOCASE AND "         \
    "deleted = 0 ORDER BY id LIMIT 1"
#define SQL_LIVE_SAME_DOI(t)                                                   \
    "SELECT (pid = ?2 OR doi = ?3 COLLATE NOCASE) AND deleted = 0 FROM " t     \
    " WHERE id = ?1"
#define BY_DOI_KIND(fmt)                                                       \
    {                                                                          \
        [PS_KIND_PROPOSAL] = fmt("proposal"),                                  \
        [PS_KIND_DATASET] = fmt("dataset"),                                    \
        [PS_KIND_PUBLICATION] = fmt("publication"),                            \
    }

static const char *const sql_find_pid[PS_KIND_MAX + 1] = BY_KIND(SQL_FIND_PID);
static const char *const sql_live_same[PS_KIND_MAX + 1] =
    BY_KIND(SQL_LIVE_SAME);
static const char *const sql_tombstone[PS_KIND_MAX + 1] =
    BY_KIND(SQL_TOMBSTONE);
static const char *const sql_live_id[PS_KIND_MAX + 1] = BY_KIND(SQL_LIVE_ID);
static const char *const sql_live_id_doi[PS_KIND_MAX + 1] =
    BY_DOI_KIND(SQL_LIVE_ID_DOI);
static const char *const sql_find_doi[PS_KIND_MAX + 1] =
    BY_DOI_KIND(SQL_FIND_DOI);
static const char *const sql_live_same_doi[PS_KIND_MAX + 1] =
    BY_DOI_KIND(SQL_LIVE_SAME_DOI);

static int indexable(ps_kind k)
{
    return k == PS_KIND_INSTRUMENT || k == PS_KIND_PROPOSAL ||
           k == PS_KIND_DATASET || k == PS_KIND_PUBLICATION;
}

/* Row id of the live record of kind with this pid, or 0. */
static ps_status live_id(ps_store *st, ps_kind kind, const char *pid,
                         int64_t *out, ps_err *err)
{
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    *out = 0;
    if (!pid)
        return PS_OK;
    STMT(s, sql_live_id_doi[kind] ? sql_live_id_doi[kind] : sql_live_id[kind]);
    psi_bind_text(s, 1, pid);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(s, 0);
    else if (rc != SQLITE_DONE)
        status = psi_db_error(st, err, "looking up a record");
    sqlite3_reset(s);
out:
    return status;
}

/* ---- the generic part of an upsert -------------------------------------- */

typedef struct put_ctx {
    ps_kind kind;
    char hash[65];
    const char *raw; /* the raw record's text (borrowed or canon) */
    size_t raw_len;
    char *canon;      /* raw serialised here when the caller had no text
                         (jansson memory: free()) */
    int64_t prov_id;  /* this source's provenance row, 0 if none */
    int64_t prov_rec; /* the record it pointed at */
    int64_t rec_id;   /* the record with this pid, 0 if none */
    int existed;      /* the record was in the store before this put */
    int was_deleted;
    int64_t now;
    int64_t seq; /* the record's new sequence number */
    int defer;   /* a source of higher precedence holds the record: only
                    this source's provenance is written */
} put_ctx;

/* SHA-256 of JSON text without its insignificant white space (outside
 * strings), so that a source that re-formats its records (pretty-printed
 * one day, compact the next) does not make them look changed. */
static ps_status hash_json_text(const char *text, size_t len, char out[65],
                                ps_err *err)
{
    char *tight = ps_malloc(len ? len : 1);
    if (!tight)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    size_t n = 0;
    int in_str = 0, esc = 0;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_str) {
            if (esc)
                esc = 0;
            else if (c == '\\')
                esc = 1;
            else if (c == '"')
                in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
            continue;
        }
        tight[n++] = c;
    }
    ps_sha256_hex(tight, n, out);
    ps_free(tight);
    return PS_OK;
}

static void put_ctx_free(put_ctx *c)
{
    free(c->canon);
    c->canon = NULL;
}

/* Hash the raw record, look up this source's provenance and the record.
 * *unchanged_out = 1 when nothing needs writing (the provenance's last run
 * has been updated). */
static ps_status put_begin(ps_store *st, ps_kind kind, const ps_prov *prov,
                           const char *pid, const char *doi, put_ctx *c,
                           int *unchanged_out, ps_err *err)
{
    static const char outranked[] =
        "SELECT (SELECT max(o.precedence) FROM provenance p JOIN source o ON "
        "o.id = p.source_id WHERE p.kind = ?1 AND p.rec_id = ?2 AND "
        "p.source_id != ?3) > (SELECT precedence FROM source WHERE id = ?3)";
    static const char find_prov[] =
        "SELECT id, rec_id, raw_hash FROM provenance WHERE source_id = ?1 AND "
        "kind = ?2 AND remote_id = ?3";
    static const char seen[] =
        "UPDATE provenance SET last_run = ?2, harvested_at = ?3 WHERE id = ?1";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    memset(c, 0, sizeof *c);
    c->kind = kind;
    *unchanged_out = 0;
    if (!prov || !prov->source_id || !prov->remote_id)
        return ps_err_set(err, PS_ERR_INVALID,
                          "a %s needs a source and a remote id",
                          ps_kind_name(kind));
    c->now = prov->harvested_at_ms ? prov->harvested_at_ms : ps_now_ms();
    if (prov->raw_text) {
        /* The bytes as the source sent them, kept as they are. JSON is
         * hashed without its insignificant white space; anything else
         * (XML, where white space in text is content) byte for byte. */
        c->raw = prov->raw_text;
        c->raw_len = prov->raw_len;
        size_t k = 0;
        while (k < c->raw_len && (c->raw[k] == ' ' || c->raw[k] == '\n' ||
                                  c->raw[k] == '\r' || c->raw[k] == '\t'))
            k++;
        if (k < c->raw_len && (c->raw[k] == '{' || c->raw[k] == '[')) {
            ps_status hrc = hash_json_text(c->raw, c->raw_len, c->hash, err);
            if (hrc != PS_OK)
                return hrc;
        } else {
            ps_sha256_hex(c->raw, c->raw_len, c->hash);
        }
    } else if (prov->raw) {
        /* The record as received, compact: sources emit their keys in a
         * stable order, so equal records hash equally without the cost of
         * sorting keys (a source that reorders keys only causes a rewrite). */
        c->canon = json_dumps(prov->raw, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!c->canon)
            return ps_err_set(err, PS_ERR_NOMEM, "cannot serialise a record");
        c->raw = c->canon;
        c->raw_len = strlen(c->canon);
        ps_sha256_hex(c->raw, c->raw_len, c->hash);
    } else {
        ps_sha256_hex(pid, strlen(pid), c->hash);
    }

    STMT(s, find_prov);
    sqlite3_bind_int64(s, 1, prov->source_id);
    sqlite3_bind_int(s, 2, (int)kind);
    psi_bind_text(s, 3, prov->remote_id);
    int rc = sqlite3_step(s);
    int same_hash = 0;
    if (rc == SQLITE_ROW) {
        c->prov_id = sqlite3_column_int64(s, 0);
        c->prov_rec = sqlite3_column_int64(s, 1);
        const char *h = (const char *)sqlite3_column_text(s, 2);
        same_hash = h && strcmp(h, c->hash) == 0;
    } else if (rc != SQLITE_DONE) {
        status = psi_db_error(st, err, "looking up provenance");
    }
    sqlite3_reset(s);
    if (status != PS_OK)
        goto out;

    if (doi && !*doi)
        doi = NULL;
    if (same_hash) {
        STMT(s, doi ? sql_live_same_doi[kind] : sql_live_same[kind]);
        sqlite3_bind_int64(s, 1, c->prov_rec);
        psi_bind_text(s, 2, pid);
        if (doi)
            psi_bind_text(s, 3, doi);
        rc = sqlite3_step(s);
        int live_same = rc == SQLITE_ROW && sqlite3_column_int(s, 0);
        sqlite3_reset(s);
        if (live_same) {
            STMT(s, seen);
            sqlite3_bind_int64(s, 1, c->prov_id);
            psi_bind_i64_or_null(s, 2, prov->run_id, 0);
            sqlite3_bind_int64(s, 3, c->now);
            CHECK(psi_step_done(st, s, err, "recording provenance"));
            *unchanged_out = 1;
            goto out;
        }
    }

    STMT(s, sql_find_pid[kind]);
    psi_bind_text(s, 1, pid);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        c->rec_id = sqlite3_column_int64(s, 0);
        c->was_deleted = sqlite3_column_int(s, 1);
        c->existed = 1;
    } else if (rc != SQLITE_DONE) {
        status = psi_db_error(st, err, "looking up a record");
    }
    sqlite3_reset(s);
    if (status != PS_OK)
        goto out;
    /* A new pid with a DOI another source already gave: the same entity. */
    if ((!c->existed || c->was_deleted) && doi && sql_find_doi[kind]) {
        STMT(s, sql_find_doi[kind]);
        psi_bind_text(s, 1, doi);
        rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
            c->rec_id = sqlite3_column_int64(s, 0);
            c->was_deleted = 0;
            c->existed = 1;
        } else if (rc != SQLITE_DONE) {
            status = psi_db_error(st, err, "looking up a DOI");
        }
        sqlite3_reset(s);
        if (status != PS_OK)
            goto out;
    }
    if (c->existed && !c->was_deleted) {
        STMT(s, outranked);
        sqlite3_bind_int(s, 1, (int)kind);
        sqlite3_bind_int64(s, 2, c->rec_id);
        sqlite3_bind_int64(s, 3, prov->source_id);
        rc = sqlite3_step(s);
        c->defer = rc == SQLITE_ROW && sqlite3_column_int(s, 0) == 1;
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            status = psi_db_error(st, err, "comparing source precedence");
        sqlite3_reset(s);
    }
    c->seq = psi_next_seq(st);
out:
    return status;
}

static ps_status tombstone(ps_store *st, ps_kind kind, int64_t id,
                           int *done_out, ps_err *err);

/* A record this source rewrites: the links it asserted from it go (the
 * source puts its current ones right after the record). The links a
 * document's own fields make (its datasets) are managed with the document
 * (drop_assertions); links nobody asserts any more go. */
static ps_status withdraw_links(ps_store *st, ps_kind kind, int64_t rec_id,
                                int64_t source_id, ps_err *err)
{
    static const char withdraw[] =
        "DELETE FROM link_source WHERE source_id = ?3 AND link_id IN (SELECT "
        "id FROM link WHERE src_kind = ?1 AND src_id = ?2 AND provenance = 0 "
        "AND type NOT IN ('dataset-of-proposal', 'publication-cites-data'))";
    static const char orphans[] =
        "DELETE FROM link WHERE src_kind = ?1 AND src_id = ?2 AND provenance "
        "= 0 AND type NOT IN ('dataset-of-proposal', "
        "'publication-cites-data') AND ?3 = ?3 AND NOT EXISTS (SELECT 1 FROM "
        "link_source a WHERE a.link_id = link.id)";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    for (int q = 0; q < 2; q++) {
        STMT(s, q ? orphans : withdraw);
        sqlite3_bind_int(s, 1, (int)kind);
        sqlite3_bind_int64(s, 2, rec_id);
        sqlite3_bind_int64(s, 3, source_id);
        CHECK(psi_step_done(st, s, err, "withdrawing links"));
    }
out:
    return status;
}

/* Record the provenance of a written record and give it a new sequence
 * number (feed 0: the record is held by a source of higher precedence, so
 * only this source's copy is kept, the record's fields and sequence number
 * stay). If this source's provenance used to point at another record, that
 * record loses it (and becomes a tombstone when no source is left). */
static ps_status put_finish(ps_store *st, const ps_prov *prov, put_ctx *c,
                            int feed, ps_err *err)
{
    static const char upsert[] =
        "INSERT INTO provenance (kind, rec_id, source_id, remote_id, raw_hash, "
        "raw, first_harvested_at, harvested_at, last_run) VALUES (?1, ?2, ?3, "
        "?4, ?5, ?6, ?7, ?7, ?8) ON CONFLICT (source_id, kind, remote_id) DO "
        "UPDATE SET rec_id = excluded.rec_id, raw_hash = excluded.raw_hash, "
        "raw = excluded.raw, harvested_at = excluded.harvested_at, last_run = "
        "excluded.last_run";
    static const char left[] =
        "SELECT count(*) FROM provenance WHERE kind = ?1 AND rec_id = ?2";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    if (c->existed)
        CHECK(withdraw_links(st, c->kind, c->rec_id, prov->source_id, err));
    STMT(s, upsert);
    sqlite3_bind_int(s, 1, (int)c->kind);
    sqlite3_bind_int64(s, 2, c->rec_id);
    sqlite3_bind_int64(s, 3, prov->source_id);
    psi_bind_text(s, 4, prov->remote_id);
    psi_bind_text(s, 5, c->hash);
    if (c->raw)
        sqlite3_bind_text(s, 6, c->raw, (int)c->raw_len, SQLITE_STATIC);
    sqlite3_bind_int64(s, 7, c->now);
    psi_bind_i64_or_null(s, 8, prov->run_id, 0);
    CHECK(psi_step_done(st, s, err, "recording provenance"));
    if (feed)
        CHECK(psi_feed(st, c->kind, c->rec_id, c->seq, err));
    if (c->prov_id && c->prov_rec && c->prov_rec != c->rec_id) {
        STMT(s, left);
        sqlite3_bind_int(s, 1, (int)c->kind);
        sqlite3_bind_int64(s, 2, c->prov_rec);
        int64_t n =
            sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 1;
        sqlite3_reset(s);
        if (n == 0) {
            int done;
            CHECK(tombstone(st, c->kind, c->prov_rec, &done, err));
        }
    }
out:
    return status;
}

static ps_put_result put_result(const put_ctx *c)
{
    return c->existed && !c->was_deleted ? PS_PUT_UPDATED : PS_PUT_INSERTED;
}

/* ---- shared children ---------------------------------------------------- */

static ps_status ensure_facility(ps_store *st, const char *name, int64_t now,
                                 int64_t *id_out, ps_err *err)
{
    static const char ins[] =
        "INSERT INTO facility (pid, name, created_at, updated_at) VALUES "
        "(lower(?1), ?1, ?2, ?2) ON CONFLICT (pid) DO UPDATE SET deleted = 0 "
        "WHERE deleted = 1 RETURNING id";
    static const char sel[] = "SELECT id FROM facility WHERE pid = lower(?1)";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    *id_out = 0;
    if (!name || !*name)
        return PS_OK;
    STMT(s, sel);
    psi_bind_text(s, 1, name);
    if (sqlite3_step(s) == SQLITE_ROW) {
        *id_out = sqlite3_column_int64(s, 0);
        sqlite3_reset(s);
        goto out;
    }
    sqlite3_reset(s);
    STMT(s, ins);
    psi_bind_text(s, 1, name);
    sqlite3_bind_int64(s, 2, now);
    if (sqlite3_step(s) == SQLITE_ROW)
        *id_out = sqlite3_column_int64(s, 0);
    else
        status = psi_db_error(st, err, "recording a facility");
    sqlite3_reset(s);
out:
    return status;
}

static ps_status put_params(ps_store *st, ps_kind owner_kind, int64_t owner_id,
                            const ps_param_in *p, size_t n, ps_err *err)
{
    static const char ins[] =
        "INSERT INTO parameter (owner_kind, owner_id, position, name, "
        "value_text, value_num, is_numeric, unit, value_si, unit_si) VALUES "
        "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    for (size_t i = 0; i < n; i++) {
        if (!p[i].name)
            continue;
        STMT(s, ins);
        sqlite3_bind_int(s, 1, (int)owner_kind);
        sqlite3_bind_int64(s, 2, owner_id);
        sqlite3_bind_int64(s, 3, (int64_t)i);
        psi_bind_text(s, 4, p[i].name);
        if (p[i].is_num)
            sqlite3_bind_double(s, 6, p[i].num);
        else
            psi_bind_text(s, 5, p[i].text);
        sqlite3_bind_int(s, 7, p[i].is_num ? 1 : 0);
        psi_bind_text(s, 8, p[i].unit ? p[i].unit : "");
        char si_unit[64];
        double si;
        if (p[i].is_num && st->units &&
            ps_units_to_si(st->units, p[i].num, p[i].unit, &si, si_unit,
                           sizeof si_unit, NULL) == PS_OK) {
            sqlite3_bind_double(s, 9, si);
            sqlite3_bind_text(s, 10, si_unit, -1, SQLITE_TRANSIENT);
        }
        CHECK(psi_step_done(st, s, err, "recording a parameter"));
    }
out:
    return status;
}

static ps_status delete_params(ps_store *st, ps_kind owner_kind,
                               int64_t owner_id, ps_err *err)
{
    static const char del[] =
        "DELETE FROM parameter WHERE owner_kind = ?1 AND owner_id = ?2";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    STMT(s, del);
    sqlite3_bind_int(s, 1, (int)owner_kind);
    sqlite3_bind_int64(s, 2, owner_id);
    status = psi_step_done(st, s, err, "replacing parameters");
out:
    return status;
}

/* Store keywords as a JSON array text (NULL when there are none). */
static char *keywords_json(const char *const *kw, size_t n)
{
    if (!n)
        return NULL;
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (kw[i])
            json_array_append_new(a, json_string(kw[i]));
    char *text = a ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    return text;
}

/* ---- instruments -------------------------------------------------------- */

ps_status ps_store_put_instrument(ps_store *st, const ps_prov *prov,
                                  const ps_instrument_in *in,
                                  ps_put_result *result_out, int64_t *id_out,
                                  ps_err *err)
{
    static const char ins[] =
        "INSERT INTO instrument (pid, name, facility_id, visibility, "
        "embargo_until, created_at, updated_at, seq) VALUES (?1, ?2, ?3, ?4, "
        "?5, ?6, ?6, ?7)";
    static const char upd[] =
        "UPDATE instrument SET name = ?2, facility_id = ?3, visibility = ?4, "
        "embargo_until = ?5, updated_at = ?6, seq = ?7, deleted = 0, "
        "deleted_at = NULL WHERE id = ?1";
    static const char name_hist[] =
        "INSERT OR IGNORE INTO instrument_name (instrument_id, name) VALUES "
        "(?1, ?2)";
    static const char datasets[] =
        "SELECT id FROM dataset WHERE deleted = 0 AND (instrument_id = ?1 OR "
        "(instrument_id IS NULL AND instrument_pid = ?2))";
    static const char attach[] =
        "UPDATE dataset SET instrument_id = ?1 WHERE instrument_id IS NULL "
        "AND instrument_pid = ?2";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    put_ctx c = {0};
    int own = 0, unchanged = 0;
    int64_t *ids = NULL;
    size_t nids = 0, capids = 0;
    if (result_out)
        *result_out = PS_PUT_UNCHANGED;
    if (!in || !in->pid || !*in->pid)
        return ps_err_set(err, PS_ERR_INVALID, "an instrument needs a pid");
    if (!in->name || !*in->name)
        return ps_err_set(err, PS_ERR_INVALID, "instrument %s has no name",
                          in->pid);
    CHECK(psi_begin_maybe(st, &own, err));
    CHECK(put_begin(st, PS_KIND_INSTRUMENT, prov, in->pid, NULL, &c, &unchanged,
                    err));
    if (unchanged) {
        if (id_out)
            *id_out = c.prov_rec;
        goto out;
    }
    if (c.defer) {
        /* This source's copy changed (the caller puts its links again),
         * but not the record. */
        CHECK(put_finish(st, prov, &c, 0, err));
        if (id_out)
            *id_out = c.rec_id;
        if (result_out)
            *result_out = c.prov_id ? PS_PUT_UPDATED : PS_PUT_INSERTED;
        goto out;
    }
    int64_t facility = 0;
    CHECK(ensure_facility(st, in->facility, c.now, &facility, err));
    STMT(s, c.rec_id ? upd : ins);
    if (c.rec_id)
        sqlite3_bind_int64(s, 1, c.rec_id);
    else
        psi_bind_text(s, 1, in->pid);
    psi_bind_text(s, 2, in->name);
    psi_bind_i64_or_null(s, 3, facility, 0);
    sqlite3_bind_int(s, 4, (int)in->vis);
    psi_bind_i64_or_null(s, 5, in->embargo_until_ms, 0);
    sqlite3_bind_int64(s, 6, c.now);
    sqlite3_bind_int64(s, 7, c.seq);
    CHECK(psi_step_done(st, s, err, "recording an instrument"));
    if (!c.rec_id)
        c.rec_id = sqlite3_last_insert_rowid(st->db);
    STMT(s, name_hist);
    sqlite3_bind_int64(s, 1, c.rec_id);
    psi_bind_text(s, 2, in->name);
    CHECK(psi_step_done(st, s, err, "recording an instrument name"));
    CHECK(put_finish(st, prov, &c, 1, err));

    /* Datasets show their instrument's name and facility: give them new
     * sequence numbers, and attach those that were waiting for it. */
    STMT(s, datasets);
    sqlite3_bind_int64(s, 1, c.rec_id);
    psi_bind_text(s, 2, in->pid);
    int rc;
    for (;;) {
        rc = sqlite3_step(s);
        if (rc != SQLITE_ROW)
            break;
        if (nids == capids) {
            size_t cap = capids ? capids * 2 : 64;
            int64_t *p = ps_realloc(ids, cap * sizeof *ids);
            if (!p) {
                sqlite3_reset(s);
                FAIL(ps_err_set(err, PS_ERR_NOMEM, "out of memory"));
            }
            ids = p;
            capids = cap;
        }
        ids[nids++] = sqlite3_column_int64(s, 0);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        FAIL(psi_db_error(st, err, "finding an instrument's datasets"));
    if (nids) {
        STMT(s, attach);
        sqlite3_bind_int64(s, 1, c.rec_id);
        psi_bind_text(s, 2, in->pid);
        CHECK(psi_step_done(st, s, err, "attaching datasets"));
        for (size_t i = 0; i < nids; i++)
            CHECK(psi_touch(st, PS_KIND_DATASET, ids[i], err));
    }
    if (result_out)
        *result_out = put_result(&c);
    if (id_out)
        *id_out = c.rec_id;
out:
    ps_free(ids);
    put_ctx_free(&c);
    return psi_end(st, own, status, err);
}

/* ---- datasets ----------------------------------------------------------- */

static ps_status put_dataset_children(ps_store *st, int64_t id,
                                      const ps_dataset_in *in, int64_t now,
                                      int replace, ps_err *err)
{
    static const char del_files[] = "DELETE FROM file WHERE dataset_id = ?1";
    static const char del_samples[] =
        "DELETE FROM dataset_sample WHERE dataset_id = ?1";
    static const char del_tech[] =
        "DELETE FROM dataset_technique WHERE dataset_id = ?1";
    static const char ins_file[] =
        "INSERT INTO file (dataset_id, position, name, path, size, checksum, "
        "url) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
    static const char up_sample[] =
        "INSERT INTO sample (pid, name, description, created_at, updated_at) "
        "VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT (pid) DO UPDATE SET name = "
        "excluded.name, description = excluded.description, updated_at = "
        "excluded.updated_at RETURNING id";
    static const char ins_ds_sample[] =
        "INSERT OR IGNORE INTO dataset_sample (dataset_id, sample_id, "
        "position) VALUES (?1, ?2, ?3)";
    static const char up_tech[] =
        "INSERT INTO technique (pid, name, panet_iri, created_at, updated_at) "
        "VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT (pid) DO UPDATE SET name = "
        "excluded.name, panet_iri = coalesce(excluded.panet_iri, panet_iri), "
        "updated_at = excluded.updated_at RETURNING id";
    static const char ins_ds_tech[] =
        "INSERT OR IGNORE INTO dataset_technique (dataset_id, technique_id, "
        "position) VALUES (?1, ?2, ?3)";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    if (replace) {
        const char *const dels[] = {del_files, del_samples, del_tech};
        for (int i = 0; i < 3; i++) {
            STMT(s, dels[i]);
            sqlite3_bind_int64(s, 1, id);
            CHECK(psi_step_done(st, s, err, "replacing a dataset's children"));
        }
        CHECK(delete_params(st, PS_KIND_DATASET, id, err));
    }
    for (size_t i = 0; i < in->nfiles; i++) {
        const ps_file_in *f = &in->files[i];
        if (!f->name)
            continue;
        STMT(s, ins_file);
        sqlite3_bind_int64(s, 1, id);
        sqlite3_bind_int64(s, 2, (int64_t)i);
        psi_bind_text(s, 3, f->name);
        psi_bind_text(s, 4, f->path);
        psi_bind_i64_or_null(s, 5, f->size, -1);
        psi_bind_text(s, 6, f->checksum);
        psi_bind_text(s, 7, f->url);
        CHECK(psi_step_done(st, s, err, "recording a file"));
    }
    for (size_t i = 0; i < in->nsamples; i++) {
        const ps_sample_in *x = &in->samples[i];
        if (!x->pid)
            continue;
        const char *name = x->name ? x->name : x->pid;
        const char *fields[2] = {name, x->description};
        uint64_t content = psi_hash_fields(fields, 2);
        int64_t sid = 0;
        if (!psi_child_get(st, PSI_CHILD_SAMPLE, x->pid, content, &sid)) {
            STMT(s, up_sample);
            psi_bind_text(s, 1, x->pid);
            psi_bind_text(s, 2, name);
            psi_bind_text(s, 3, x->description);
            sqlite3_bind_int64(s, 4, now);
            if (sqlite3_step(s) != SQLITE_ROW) {
                status = psi_db_error(st, err, "recording a sample");
                sqlite3_reset(s);
                goto out;
            }
            sid = sqlite3_column_int64(s, 0);
            sqlite3_reset(s);
            psi_child_put(st, PSI_CHILD_SAMPLE, x->pid, content, sid);
        }
        STMT(s, ins_ds_sample);
        sqlite3_bind_int64(s, 1, id);
        sqlite3_bind_int64(s, 2, sid);
        sqlite3_bind_int64(s, 3, (int64_t)i);
        CHECK(psi_step_done(st, s, err, "recording a sample"));
    }
    for (size_t i = 0; i < in->ntechniques; i++) {
        const ps_technique_in *t = &in->techniques[i];
        const char *pid = t->pid ? t->pid : t->panet_iri;
        if (!pid)
            continue;
        const char *tname = t->name ? t->name : pid;
        const char *fields[2] = {tname, t->panet_iri};
        uint64_t content = psi_hash_fields(fields, 2);
        int64_t tid = 0;
        if (!psi_child_get(st, PSI_CHILD_TECHNIQUE, pid, content, &tid)) {
            STMT(s, up_tech);
            psi_bind_text(s, 1, pid);
            psi_bind_text(s, 2, tname);
            psi_bind_text(s, 3, t->panet_iri);
            sqlite3_bind_int64(s, 4, now);
            if (sqlite3_step(s) != SQLITE_ROW) {
                status = psi_db_error(st, err, "recording a technique");
                sqlite3_reset(s);
                goto out;
            }
            tid = sqlite3_column_int64(s, 0);
            sqlite3_reset(s);
            psi_child_put(st, PSI_CHILD_TECHNIQUE, pid, content, tid);
        }
        STMT(s, ins_ds_tech);
        sqlite3_bind_int64(s, 1, id);
        sqlite3_bind_int64(s, 2, tid);
        sqlite3_bind_int64(s, 3, (int64_t)i);
        CHECK(psi_step_done(st, s, err, "recording a technique"));
    }
    CHECK(put_params(st, PS_KIND_DATASET, id, in->params, in->nparams, err));
out:
    return status;
}

ps_status ps_store_put_dataset(ps_store *st, const ps_prov *prov,
                               const ps_dataset_in *in,
                               ps_put_result *result_out, int64_t *id_out,
                               ps_err *err)
{
    static const char ins[] =
        "INSERT INTO dataset (pid, title, description, doi, created, size, "
        "instrument_pid, instrument_id, keywords, visibility, embargo_until, "
        "created_at, updated_at, seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
        "?9, ?10, ?11, ?12, ?12, ?13)";
    static const char upd[] =
        "UPDATE dataset SET title = ?2, description = ?3, doi = ?4, created = "
        "?5, size = ?6, instrument_pid = ?7, instrument_id = ?8, keywords = "
        "?9, visibility = ?10, embargo_until = ?11, updated_at = ?12, seq = "
        "?13, deleted = 0, deleted_at = NULL WHERE id = ?1";
    static const char resolve_links[] =
        "UPDATE link SET src_id = ?1 WHERE src_kind = 4 AND src_ref = ?2 AND "
        "src_id IS NULL";
    static const char resolve_links2[] =
        "UPDATE link SET dst_id = ?1 WHERE dst_kind = 4 AND dst_ref = ?2 AND "
        "dst_id IS NULL";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    put_ctx c = {0};
    int own = 0, unchanged = 0;
    char *kw = NULL;
    if (result_out)
        *result_out = PS_PUT_UNCHANGED;
    if (!in || !in->pid || !*in->pid)
        return ps_err_set(err, PS_ERR_INVALID, "a dataset needs a pid");
    if (!in->title)
        return ps_err_set(err, PS_ERR_INVALID, "dataset %s has no title",
                          in->pid);
    CHECK(psi_begin_maybe(st, &own, err));
    CHECK(put_begin(st, PS_KIND_DATASET, prov, in->pid, in->doi, &c, &unchanged,
                    err));
    if (unchanged) {
        if (id_out)
            *id_out = c.prov_rec;
        goto out;
    }
    if (c.defer) {
        /* This source's copy changed (the caller puts its links again),
         * but not the record. */
        CHECK(put_finish(st, prov, &c, 0, err));
        if (id_out)
            *id_out = c.rec_id;
        if (result_out)
            *result_out = c.prov_id ? PS_PUT_UPDATED : PS_PUT_INSERTED;
        goto out;
    }
    int64_t instrument = 0;
    CHECK(
        live_id(st, PS_KIND_INSTRUMENT, in->instrument_pid, &instrument, err));
    kw = keywords_json(in->keywords, in->nkeywords);
    if (in->nkeywords && !kw)
        FAIL(ps_err_set(err, PS_ERR_NOMEM, "out of memory"));
    int existed = c.rec_id != 0;
    STMT(s, existed ? upd : ins);
    if (existed)
        sqlite3_bind_int64(s, 1, c.rec_id);
    else
        psi_bind_text(s, 1, in->pid);
    psi_bind_text(s, 2, in->title);
    psi_bind_text(s, 3, in->description);
    psi_bind_text(s, 4, in->doi);
    psi_bind_time(s, 5, in->created_ms);
    psi_bind_i64_or_null(s, 6, in->size, -1);
    psi_bind_text(s, 7, in->instrument_pid);
    psi_bind_i64_or_null(s, 8, instrument, 0);
    psi_bind_text(s, 9, kw);
    sqlite3_bind_int(s, 10, (int)in->vis);
    psi_bind_i64_or_null(s, 11, in->embargo_until_ms, 0);
    sqlite3_bind_int64(s, 12, c.now);
    sqlite3_bind_int64(s, 13, c.seq);
    CHECK(psi_step_done(st, s, err, "recording a dataset"));
    if (!existed) {
        c.rec_id = sqlite3_last_insert_rowid(st->db);
        /* Documents harvested before this dataset may name it. */
        const char *const res[] = {resolve_links, resolve_links2};
        for (int i = 0; i < 2; i++) {
            STMT(s, res[i]);
            sqlite3_bind_int64(s, 1, c.rec_id);
            psi_bind_text(s, 2, in->pid);
            CHECK(psi_step_done(st, s, err, "resolving links"));
        }
    }
    CHECK(put_dataset_children(st, c.rec_id, in, c.now, existed, err));
    CHECK(put_finish(st, prov, &c, 1, err));
    if (result_out)
        *result_out = put_result(&c);
    if (id_out)
        *id_out = c.rec_id;
out:
    free(kw);
    put_ctx_free(&c);
    return psi_end(st, own, status, err);
}

/* ---- documents: proposals and publications ------------------------------ */

static ps_status put_person(ps_store *st, const ps_person_in *p, int64_t now,
                            int64_t *id_out, ps_err *err)
{
    static const char up[] =
        "INSERT INTO person (pid, full_name, given_name, family_name, orcid, "
        "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) ON "
        "CONFLICT (pid) DO UPDATE SET full_name = excluded.full_name, "
        "given_name = coalesce(excluded.given_name, given_name), family_name "
        "= coalesce(excluded.family_name, family_name), orcid = "
        "coalesce(excluded.orcid, orcid), deleted = 0 RETURNING id";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    const char *fields[4] = {p->full_name ? p->full_name : p->pid,
                             p->given_name, p->family_name, p->orcid};
    uint64_t content = psi_hash_fields(fields, 4);
    if (psi_child_get(st, PSI_CHILD_PERSON, p->pid, content, id_out))
        return PS_OK;
    STMT(s, up);
    psi_bind_text(s, 1, p->pid);
    psi_bind_text(s, 2, p->full_name ? p->full_name : p->pid);
    psi_bind_text(s, 3, p->given_name);
    psi_bind_text(s, 4, p->family_name);
    psi_bind_text(s, 5, p->orcid);
    sqlite3_bind_int64(s, 6, now);
    if (sqlite3_step(s) == SQLITE_ROW) {
        *id_out = sqlite3_column_int64(s, 0);
        psi_child_put(st, PSI_CHILD_PERSON, p->pid, content, *id_out);
    } else {
        status = psi_db_error(st, err, "recording a person");
    }
    sqlite3_reset(s);
out:
    return status;
}

/* ASCII lower-case copy into out (size bytes). */
static void lower_into(const char *in, char *out, size_t size)
{
    size_t i = 0;
    for (; in && in[i] && i + 1 < size; i++)
        out[i] = (in[i] >= 'A' && in[i] <= 'Z') ? (char)(in[i] + 32) : in[i];
    out[i] = '\0';
}

static ps_status put_institution(ps_store *st, const ps_institution_in *x,
                                 int64_t now, int64_t *id_out, ps_err *err)
{
    static const char up[] =
        "INSERT INTO institution (pid, name, ror, country, city, address, "
        "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) ON "
        "CONFLICT (pid) DO UPDATE SET name = excluded.name, country = "
        "coalesce(excluded.country, country), city = coalesce(excluded.city, "
        "city), address = coalesce(excluded.address, address), deleted = 0 "
        "RETURNING id";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    char pid[512], name[200], country[100];
    const char *ror = NULL;
    if (x->pid && *x->pid) {
        snprintf(pid, sizeof pid, "%s", x->pid);
        if (ps_str_startswith(x->pid, "https://ror.org/"))
            ror = x->pid;
    } else {
        lower_into(x->name, name, sizeof name);
        lower_into(x->country, country, sizeof country);
        snprintf(pid, sizeof pid, "name:%s|%s", name, country);
    }
    const char *fields[5] = {x->name, ror, x->country, x->city, x->address};
    uint64_t content = psi_hash_fields(fields, 5);
    if (psi_child_get(st, PSI_CHILD_INSTITUTION, pid, content, id_out))
        return PS_OK;
    STMT(s, up);
    sqlite3_bind_text(s, 1, pid, -1, SQLITE_TRANSIENT);
    psi_bind_text(s, 2, x->name);
    psi_bind_text(s, 3, ror);
    psi_bind_text(s, 4, x->country);
    psi_bind_text(s, 5, x->city);
    psi_bind_text(s, 6, x->address);
    sqlite3_bind_int64(s, 7, now);
    if (sqlite3_step(s) == SQLITE_ROW) {
        *id_out = sqlite3_column_int64(s, 0);
        psi_child_put(st, PSI_CHILD_INSTITUTION, pid, content, *id_out);
    } else {
        status = psi_db_error(st, err, "recording an institution");
    }
    sqlite3_reset(s);
out:
    return status;
}

/* Collect ids of rows of a one-column query bound with (?1 = a, ?2 = b). */
static ps_status collect_ids(ps_store *st, const char *sql, int64_t a,
                             int64_t b, int64_t **ids, size_t *n, size_t *cap,
                             ps_err *err)
{
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    STMT(s, sql);
    sqlite3_bind_int64(s, 1, a);
    sqlite3_bind_int64(s, 2, b);
    int rc;
    for (;;) {
        rc = sqlite3_step(s);
        if (rc != SQLITE_ROW)
            break;
        if (sqlite3_column_type(s, 0) == SQLITE_NULL)
            continue;
        if (*n == *cap) {
            size_t nc = *cap ? *cap * 2 : 32;
            int64_t *p = ps_realloc(*ids, nc * sizeof **ids);
            if (!p) {
                sqlite3_reset(s);
                FAIL(ps_err_set(err, PS_ERR_NOMEM, "out of memory"));
            }
            *ids = p;
            *cap = nc;
        }
        (*ids)[(*n)++] = sqlite3_column_int64(s, 0);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        status = psi_db_error(st, err, "reading links");
out:
    return status;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Withdraw what one source asserted about a document's datasets: its
 * link_source rows go, and so does every harvested link no source asserts
 * any more. The datasets that were on the other end are appended to ids
 * (they need reindexing). Links a person made or validated stay. */
static ps_status drop_assertions(ps_store *st, ps_kind kind, int64_t doc_id,
                                 int64_t source_id, int64_t **ids, size_t *n,
                                 size_t *cap, ps_err *err)
{
    static const char prop_datasets[] =
        "SELECT l.src_id FROM link l JOIN link_source a ON a.link_id = l.id "
        "WHERE l.type = 'dataset-of-proposal' AND l.dst_kind = 3 AND l.dst_id "
        "= ?1 AND a.source_id = ?2";
    static const char pub_datasets[] =
        "SELECT l.dst_id FROM link l JOIN link_source a ON a.link_id = l.id "
        "WHERE l.type = 'publication-cites-data' AND l.src_kind = 9 AND "
        "l.src_id = ?1 AND a.source_id = ?2";
    static const char *const withdraw[] = {
        "DELETE FROM link_source WHERE source_id = ?2 AND link_id IN (SELECT "
        "id FROM link WHERE type = 'dataset-of-proposal' AND dst_kind = 3 AND "
        "dst_id = ?1)",
        "DELETE FROM link_source WHERE source_id = ?2 AND link_id IN (SELECT "
        "id FROM link WHERE type = 'publication-cites-data' AND src_kind = 9 "
        "AND src_id = ?1)"};
    static const char *const orphans[] = {
        "DELETE FROM link WHERE type = 'dataset-of-proposal' AND dst_kind = 3 "
        "AND dst_id = ?1 AND provenance = 0 AND NOT EXISTS (SELECT 1 FROM "
        "link_source a WHERE a.link_id = link.id) AND ?2 = ?2",
        "DELETE FROM link WHERE type = 'publication-cites-data' AND src_kind "
        "= 9 AND src_id = ?1 AND provenance = 0 AND NOT EXISTS (SELECT 1 FROM "
        "link_source a WHERE a.link_id = link.id) AND ?2 = ?2"};
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    int pub = kind == PS_KIND_PUBLICATION;
    if (kind != PS_KIND_PROPOSAL && !pub)
        return PS_OK;
    CHECK(collect_ids(st, pub ? pub_datasets : prop_datasets, doc_id, source_id,
                      ids, n, cap, err));
    STMT(s, withdraw[pub]);
    sqlite3_bind_int64(s, 1, doc_id);
    sqlite3_bind_int64(s, 2, source_id);
    CHECK(psi_step_done(st, s, err, "withdrawing links"));
    STMT(s, orphans[pub]);
    sqlite3_bind_int64(s, 1, doc_id);
    sqlite3_bind_int64(s, 2, source_id);
    CHECK(psi_step_done(st, s, err, "removing links"));
out:
    return status;
}

ps_status ps_store_put_document(ps_store *st, const ps_prov *prov,
                                const ps_document_in *in,
                                ps_put_result *result_out, int64_t *id_out,
                                ps_err *err)
{
    static const char ins_prop[] =
        "INSERT INTO proposal (pid, code, title, summary, doi, type, status, "
        "start_at, end_at, release_at, license, keywords, visibility, "
        "embargo_until, created_at, updated_at, seq) VALUES (?1, ?2, ?3, ?4, "
        "?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?15, ?16)";
    static const char upd_prop[] =
        "UPDATE proposal SET code = ?2, title = ?3, summary = ?4, doi = ?5, "
        "type = ?6, status = ?7, start_at = ?8, end_at = ?9, release_at = "
        "?10, license = ?11, keywords = ?12, visibility = ?13, embargo_until "
        "= ?14, updated_at = ?15, seq = ?16, deleted = 0, deleted_at = NULL "
        "WHERE id = ?1";
    static const char ins_pub[] =
        "INSERT INTO publication (pid, journal, title, abstract, doi, type, "
        "year, start_at, end_at, release_at, license, keywords, visibility, "
        "embargo_until, created_at, updated_at, seq, volume, issue, pages, "
        "publisher, url, citation_count) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
        "?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?15, ?16, ?17, ?18, ?19, ?20, "
        "?21, ?22)";
    static const char upd_pub[] =
        "UPDATE publication SET journal = ?2, title = ?3, abstract = ?4, doi "
        "= ?5, type = ?6, year = ?7, start_at = ?8, end_at = ?9, release_at = "
        "?10, license = ?11, keywords = ?12, visibility = ?13, embargo_until "
        "= ?14, updated_at = ?15, seq = ?16, deleted = 0, deleted_at = NULL, "
        "volume = ?17, issue = ?18, pages = ?19, publisher = ?20, url = ?21, "
        "citation_count = ?22 WHERE id = ?1";
    static const char del_members[] =
        "DELETE FROM member WHERE doc_kind = ?1 AND doc_id = ?2";
    static const char ins_member[] =
        "INSERT INTO member (doc_kind, doc_id, position, role, person_id, "
        "institution_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
    static const char ins_link[] =
        "INSERT INTO link (type, src_kind, src_ref, src_id, dst_kind, "
        "dst_ref, dst_id, provenance, source_id, score, state, created_at, "
        "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8, 1.0, 1, ?9, "
        "?9) ON CONFLICT (type, src_kind, src_ref, dst_kind, dst_ref) DO "
        "UPDATE SET src_id = excluded.src_id, dst_id = excluded.dst_id, "
        "updated_at = excluded.updated_at RETURNING id";
    static const char ins_assertion[] =
        "INSERT OR IGNORE INTO link_source (link_id, source_id) VALUES (?1, "
        "?2)";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    put_ctx c = {0};
    int own = 0, unchanged = 0;
    char *kw = NULL;
    int64_t *ids = NULL;
    size_t nids = 0, capids = 0;
    if (result_out)
        *result_out = PS_PUT_UNCHANGED;
    if (!in || !in->pid || !*in->pid)
        return ps_err_set(err, PS_ERR_INVALID, "a document needs a pid");
    if (in->kind != PS_KIND_PROPOSAL && in->kind != PS_KIND_PUBLICATION)
        return ps_err_set(err, PS_ERR_INVALID,
                          "document %s is neither a proposal nor a "
                          "publication",
                          in->pid);
    if (!in->title)
        return ps_err_set(err, PS_ERR_INVALID, "document %s has no title",
                          in->pid);
    int is_prop = in->kind == PS_KIND_PROPOSAL;
    CHECK(psi_begin_maybe(st, &own, err));
    CHECK(put_begin(st, in->kind, prov, in->pid, in->doi, &c, &unchanged, err));
    if (unchanged) {
        if (id_out)
            *id_out = c.prov_rec;
        goto out;
    }
    if (c.defer) {
        /* This source's copy changed (the caller puts its links again),
         * but not the record. */
        CHECK(put_finish(st, prov, &c, 0, err));
        if (id_out)
            *id_out = c.rec_id;
        if (result_out)
            *result_out = c.prov_id ? PS_PUT_UPDATED : PS_PUT_INSERTED;
        goto out;
    }
    kw = keywords_json(in->keywords, in->nkeywords);
    if (in->nkeywords && !kw)
        FAIL(ps_err_set(err, PS_ERR_NOMEM, "out of memory"));
    int existed = c.rec_id != 0;
    STMT(s, is_prop ? (existed ? upd_prop : ins_prop)
                    : (existed ? upd_pub : ins_pub));
    if (existed)
        sqlite3_bind_int64(s, 1, c.rec_id);
    else
        psi_bind_text(s, 1, in->pid);
    if (is_prop)
        psi_bind_text(s, 2, in->code);
    else
        psi_bind_text(s, 2, in->journal);
    psi_bind_text(s, 3, in->title);
    psi_bind_text(s, 4, in->summary);
    psi_bind_text(s, 5, in->doi);
    psi_bind_text(s, 6, in->type);
    if (is_prop)
        psi_bind_text(s, 7, in->status);
    else
        psi_bind_i64_or_null(s, 7, in->year, 0);
    psi_bind_time(s, 8, in->start_ms);
    psi_bind_time(s, 9, in->end_ms);
    psi_bind_time(s, 10, in->release_ms);
    psi_bind_text(s, 11, in->license);
    psi_bind_text(s, 12, kw);
    sqlite3_bind_int(s, 13, (int)in->vis);
    psi_bind_i64_or_null(s, 14, in->embargo_until_ms, 0);
    sqlite3_bind_int64(s, 15, c.now);
    sqlite3_bind_int64(s, 16, c.seq);
    if (!is_prop) {
        psi_bind_text(s, 17, in->volume);
        psi_bind_text(s, 18, in->issue);
        psi_bind_text(s, 19, in->pages);
        psi_bind_text(s, 20, in->publisher);
        psi_bind_text(s, 21, in->url);
        if (in->citation_known)
            sqlite3_bind_int64(s, 22, in->citation_count);
        else
            sqlite3_bind_null(s, 22);
    }
    CHECK(psi_step_done(st, s, err, "recording a document"));
    if (!existed)
        c.rec_id = sqlite3_last_insert_rowid(st->db);

    /* Members and parameters are replaced as a whole. */
    if (existed) {
        STMT(s, del_members);
        sqlite3_bind_int(s, 1, (int)in->kind);
        sqlite3_bind_int64(s, 2, c.rec_id);
        CHECK(psi_step_done(st, s, err, "replacing members"));
        CHECK(delete_params(st, in->kind, c.rec_id, err));
    }
    for (size_t i = 0; i < in->nmembers; i++) {
        const ps_member_in *m = &in->members[i];
        int64_t person = 0, inst = 0;
        if (m->person.pid)
            CHECK(put_person(st, &m->person, c.now, &person, err));
        if (m->institution.name)
            CHECK(put_institution(st, &m->institution, c.now, &inst, err));
        STMT(s, ins_member);
        sqlite3_bind_int(s, 1, (int)in->kind);
        sqlite3_bind_int64(s, 2, c.rec_id);
        sqlite3_bind_int64(s, 3, (int64_t)i);
        psi_bind_text(s, 4, m->role);
        psi_bind_i64_or_null(s, 5, person, 0);
        psi_bind_i64_or_null(s, 6, inst, 0);
        CHECK(psi_step_done(st, s, err, "recording a member"));
    }
    CHECK(put_params(st, in->kind, c.rec_id, in->params, in->nparams, err));

    /* Links to datasets: this source's earlier assertions are withdrawn
     * (a link no source asserts any more goes), the current ones are made;
     * every dataset on either side is reindexed. */
    if (existed)
        CHECK(drop_assertions(st, in->kind, c.rec_id, prov->source_id, &ids,
                              &nids, &capids, err));
    for (size_t i = 0; i < in->ndatasets; i++) {
        const char *dpid = in->dataset_pids[i];
        if (!dpid)
            continue;
        int64_t did = 0;
        CHECK(live_id(st, PS_KIND_DATASET, dpid, &did, err));
        STMT(s, ins_link);
        if (is_prop) {
            psi_bind_text(s, 1, "dataset-of-proposal");
            sqlite3_bind_int(s, 2, PS_KIND_DATASET);
            psi_bind_text(s, 3, dpid);
            psi_bind_i64_or_null(s, 4, did, 0);
            sqlite3_bind_int(s, 5, PS_KIND_PROPOSAL);
            psi_bind_text(s, 6, in->pid);
            sqlite3_bind_int64(s, 7, c.rec_id);
        } else {
            psi_bind_text(s, 1, "publication-cites-data");
            sqlite3_bind_int(s, 2, PS_KIND_PUBLICATION);
            psi_bind_text(s, 3, in->pid);
            sqlite3_bind_int64(s, 4, c.rec_id);
            sqlite3_bind_int(s, 5, PS_KIND_DATASET);
            psi_bind_text(s, 6, dpid);
            psi_bind_i64_or_null(s, 7, did, 0);
        }
        sqlite3_bind_int64(s, 8, prov->source_id);
        sqlite3_bind_int64(s, 9, c.now);
        int64_t link_id = 0;
        CHECK(psi_step_id(st, s, &link_id, err, "recording a link"));
        STMT(s, ins_assertion);
        sqlite3_bind_int64(s, 1, link_id);
        sqlite3_bind_int64(s, 2, prov->source_id);
        CHECK(psi_step_done(st, s, err, "recording a link"));
        if (did) {
            if (nids == capids) {
                size_t nc = capids ? capids * 2 : 32;
                int64_t *p = ps_realloc(ids, nc * sizeof *ids);
                if (!p)
                    FAIL(ps_err_set(err, PS_ERR_NOMEM, "out of memory"));
                ids = p;
                capids = nc;
            }
            ids[nids++] = did;
        }
    }
    CHECK(put_finish(st, prov, &c, 1, err));
    if (nids) {
        qsort(ids, nids, sizeof *ids, cmp_i64);
        for (size_t i = 0; i < nids; i++)
            if (i == 0 || ids[i] != ids[i - 1])
                CHECK(psi_touch(st, PS_KIND_DATASET, ids[i], err));
    }
    if (result_out)
        *result_out = put_result(&c);
    if (id_out)
        *id_out = c.rec_id;
out:
    ps_free(ids);
    free(kw);
    put_ctx_free(&c);
    return psi_end(st, own, status, err);
}

/* ---- links -------------------------------------------------------------- */

ps_status ps_store_put_link(ps_store *st, const ps_link_in *in,
                            ps_put_result *result_out, ps_err *err)
{
    static const char src_pid[PS_KIND_MAX + 1][64] = {
        [PS_KIND_INSTRUMENT] = "SELECT pid FROM instrument WHERE id = ?1",
        [PS_KIND_PROPOSAL] = "SELECT pid FROM proposal WHERE id = ?1",
        [PS_KIND_DATASET] = "SELECT pid FROM dataset WHERE id = ?1",
        [PS_KIND_PUBLICATION] = "SELECT pid FROM publication WHERE id = ?1",
    };
    static const char find[] =
        "SELECT id, provenance, score, evidence, state, dst_id FROM link "
        "WHERE type = ?1 AND src_kind = ?2 AND src_ref = ?3 AND dst_kind = ?4 "
        "AND dst_ref = ?5";
    static const char ins[] =
        "INSERT INTO link (type, src_kind, src_ref, src_id, dst_kind, "
        "dst_ref, dst_id, provenance, source_id, score, evidence, state, "
        "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
        "?10, ?11, ?12, ?13, ?13)";
    static const char assert_src[] =
        "INSERT OR IGNORE INTO link_source (link_id, source_id) VALUES (?1, "
        "?2)";
    static const char upd[] =
        "UPDATE link SET dst_id = ?2, provenance = ?3, source_id = ?4, score "
        "= ?5, evidence = ?6, state = ?7, updated_at = ?8 WHERE id = ?1";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    int own = 0;
    char *ev = NULL, *sref = NULL;
    if (result_out)
        *result_out = PS_PUT_UNCHANGED;
    if (!in || !in->type || !in->dst_pid || !indexable(in->src_kind) ||
        !indexable(in->dst_kind) || in->src_id <= 0)
        return ps_err_set(err, PS_ERR_INVALID,
                          "a link needs a type, a stored source record and "
                          "the pid of its target");
    if (in->evidence) {
        ev = json_dumps(in->evidence, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!ev)
            return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    CHECK(psi_begin_maybe(st, &own, err));
    STMT(s, src_pid[in->src_kind]);
    sqlite3_bind_int64(s, 1, in->src_id);
    if (sqlite3_step(s) == SQLITE_ROW)
        sref = ps_strdup((const char *)sqlite3_column_text(s, 0));
    sqlite3_reset(s);
    if (!sref)
        FAIL(ps_err_set(err, PS_ERR_NOTFOUND, "no %s with id %lld",
                        ps_kind_name(in->src_kind), (long long)in->src_id));
    int64_t dst = 0;
    CHECK(live_id(st, in->dst_kind, in->dst_pid, &dst, err));
    int64_t now = ps_now_ms();

    STMT(s, find);
    psi_bind_text(s, 1, in->type);
    sqlite3_bind_int(s, 2, (int)in->src_kind);
    psi_bind_text(s, 3, sref);
    sqlite3_bind_int(s, 4, (int)in->dst_kind);
    psi_bind_text(s, 5, in->dst_pid);
    int64_t link_id = 0;
    int same = 0;
    if (sqlite3_step(s) == SQLITE_ROW) {
        link_id = sqlite3_column_int64(s, 0);
        const char *oev = (const char *)sqlite3_column_text(s, 3);
        same = sqlite3_column_int(s, 1) == (int)in->provenance &&
               sqlite3_column_double(s, 2) == in->score &&
               sqlite3_column_int(s, 4) == (int)in->state &&
               sqlite3_column_int64(s, 5) == dst &&
               ((!oev && !ev) || (oev && ev && strcmp(oev, ev) == 0));
    }
    sqlite3_reset(s);
    /* Which sources assert a harvested link: a source withdraws only its
     * own (see put_finish), another's assertion keeps the link. */
    int asserted = in->provenance == PS_LINK_HARVESTED && in->source_id > 0;
    if (same) {
        if (asserted) {
            STMT(s, assert_src);
            sqlite3_bind_int64(s, 1, link_id);
            sqlite3_bind_int64(s, 2, in->source_id);
            CHECK(psi_step_done(st, s, err, "recording a link's source"));
        }
        goto out;
    }
    STMT(s, link_id ? upd : ins);
    if (link_id) {
        sqlite3_bind_int64(s, 1, link_id);
        psi_bind_i64_or_null(s, 2, dst, 0);
        sqlite3_bind_int(s, 3, (int)in->provenance);
        psi_bind_i64_or_null(s, 4, in->source_id, 0);
        sqlite3_bind_double(s, 5, in->score);
        psi_bind_text(s, 6, ev);
        sqlite3_bind_int(s, 7, (int)in->state);
        sqlite3_bind_int64(s, 8, now);
    } else {
        psi_bind_text(s, 1, in->type);
        sqlite3_bind_int(s, 2, (int)in->src_kind);
        psi_bind_text(s, 3, sref);
        sqlite3_bind_int64(s, 4, in->src_id);
        sqlite3_bind_int(s, 5, (int)in->dst_kind);
        psi_bind_text(s, 6, in->dst_pid);
        psi_bind_i64_or_null(s, 7, dst, 0);
        sqlite3_bind_int(s, 8, (int)in->provenance);
        psi_bind_i64_or_null(s, 9, in->source_id, 0);
        sqlite3_bind_double(s, 10, in->score);
        psi_bind_text(s, 11, ev);
        sqlite3_bind_int(s, 12, (int)in->state);
        sqlite3_bind_int64(s, 13, now);
    }
    CHECK(psi_step_done(st, s, err, "recording a link"));
    int inserted = link_id == 0;
    if (inserted)
        link_id = sqlite3_last_insert_rowid(st->db);
    if (asserted) {
        STMT(s, assert_src);
        sqlite3_bind_int64(s, 1, link_id);
        sqlite3_bind_int64(s, 2, in->source_id);
        CHECK(psi_step_done(st, s, err, "recording a link's source"));
    }
    CHECK(psi_touch(st, in->src_kind, in->src_id, err));
    if (dst)
        CHECK(psi_touch(st, in->dst_kind, dst, err));
    if (result_out)
        *result_out = inserted ? PS_PUT_INSERTED : PS_PUT_UPDATED;
out:
    free(ev);
    ps_free(sref);
    return psi_end(st, own, status, err);
}

/* ---- deletion, sweep, resolution ---------------------------------------- */

/* Make (kind, id) a tombstone and reindex what showed it. */
static ps_status tombstone(ps_store *st, ps_kind kind, int64_t id,
                           int *done_out, ps_err *err)
{
    static const char prop_ds[] =
        "SELECT src_id FROM link WHERE type = 'dataset-of-proposal' AND "
        "dst_kind = 3 AND dst_id = ?1 AND ?2 = ?2";
    static const char pub_ds[] =
        "SELECT dst_id FROM link WHERE type = 'publication-cites-data' AND "
        "src_kind = 9 AND src_id = ?1 AND ?2 = ?2";
    static const char inst_ds[] =
        "SELECT id FROM dataset WHERE instrument_id = ?1 AND deleted = 0 AND "
        "?2 = ?2";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    int64_t *ids = NULL;
    size_t n = 0, cap = 0;
    *done_out = 0;
    if (!indexable(kind))
        return PS_OK;
    STMT(s, sql_tombstone[kind]);
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, ps_now_ms());
    CHECK(psi_step_done(st, s, err, "writing a tombstone"));
    if (sqlite3_changes(st->db) == 0)
        goto out;
    *done_out = 1;
    CHECK(psi_touch(st, kind, id, err));
    const char *dep = kind == PS_KIND_PROPOSAL      ? prop_ds
                      : kind == PS_KIND_PUBLICATION ? pub_ds
                      : kind == PS_KIND_INSTRUMENT  ? inst_ds
                                                    : NULL;
    if (dep) {
        CHECK(collect_ids(st, dep, id, 0, &ids, &n, &cap, err));
        for (size_t i = 0; i < n; i++)
            CHECK(psi_touch(st, PS_KIND_DATASET, ids[i], err));
    }
out:
    ps_free(ids);
    return status;
}

/* Source source_id no longer has (kind, rec_id): its provenance row and
 * its link assertions go. The last source to let go deletes the record;
 * otherwise the record's content hash is cleared, so the next harvest of
 * any remaining source rewrites it even if that source's bytes are
 * unchanged (the content may have been the departed source's). */
static ps_status drop_provenance(ps_store *st, int64_t source_id,
                                 int64_t prov_id, ps_kind kind, int64_t rec_id,
                                 int *deleted_out, ps_err *err)
{
    static const char del[] = "DELETE FROM provenance WHERE id = ?1";
    static const char left[] =
        "SELECT count(*) FROM provenance WHERE kind = ?1 AND rec_id = ?2";
    static const char stale[] =
        "UPDATE provenance SET raw_hash = '' WHERE kind = ?1 AND rec_id = ?2";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    int64_t *ids = NULL;
    size_t nids = 0, capids = 0;
    *deleted_out = 0;
    STMT(s, del);
    sqlite3_bind_int64(s, 1, prov_id);
    CHECK(psi_step_done(st, s, err, "deleting provenance"));
    CHECK(drop_assertions(st, kind, rec_id, source_id, &ids, &nids, &capids,
                          err));
    for (size_t i = 0; i < nids; i++)
        CHECK(psi_touch(st, PS_KIND_DATASET, ids[i], err));
    /* The relations this source gave from the record go with it (those
     * another source asserts stay). */
    CHECK(withdraw_links(st, kind, rec_id, source_id, err));
    STMT(s, left);
    sqlite3_bind_int(s, 1, (int)kind);
    sqlite3_bind_int64(s, 2, rec_id);
    int64_t n = 1;
    CHECK(psi_step_id(st, s, &n, err, "reading provenance"));
    if (n == 0) {
        CHECK(tombstone(st, kind, rec_id, deleted_out, err));
    } else {
        STMT(s, stale);
        sqlite3_bind_int(s, 1, (int)kind);
        sqlite3_bind_int64(s, 2, rec_id);
        CHECK(psi_step_done(st, s, err, "recording provenance"));
    }
out:
    ps_free(ids);
    return status;
}

ps_status ps_store_delete(ps_store *st, int64_t source_id, ps_kind kind,
                          const char *remote_id, int *deleted_out, ps_err *err)
{
    static const char find[] =
        "SELECT id, rec_id FROM provenance WHERE source_id = ?1 AND kind = ?2 "
        "AND remote_id = ?3";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    int own = 0, deleted = 0;
    if (!indexable(kind) || !remote_id)
        return ps_err_set(err, PS_ERR_INVALID, "cannot delete a %s",
                          ps_kind_name(kind));
    CHECK(psi_begin_maybe(st, &own, err));
    STMT(s, find);
    sqlite3_bind_int64(s, 1, source_id);
    sqlite3_bind_int(s, 2, (int)kind);
    psi_bind_text(s, 3, remote_id);
    int64_t prov_id = 0, rec_id = 0;
    if (sqlite3_step(s) == SQLITE_ROW) {
        prov_id = sqlite3_column_int64(s, 0);
        rec_id = sqlite3_column_int64(s, 1);
    }
    sqlite3_reset(s);
    if (prov_id)
        CHECK(drop_provenance(st, source_id, prov_id, kind, rec_id, &deleted,
                              err));
out:
    if (deleted_out)
        *deleted_out = deleted;
    return psi_end(st, own, status, err);
}

ps_status ps_store_mark_seen(ps_store *st, int64_t source_id, ps_kind kind,
                             const char *remote_id, int64_t run_id, ps_err *err)
{
    static const char sql[] =
        "UPDATE provenance SET last_run = ?4 WHERE source_id = ?1 AND kind = "
        "?2 AND remote_id = ?3";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    STMT(s, sql);
    sqlite3_bind_int64(s, 1, source_id);
    sqlite3_bind_int(s, 2, (int)kind);
    psi_bind_text(s, 3, remote_id);
    sqlite3_bind_int64(s, 4, run_id);
    status = psi_step_done(st, s, err, "recording provenance");
out:
    return status;
}

ps_status ps_store_sweep(ps_store *st, int64_t source_id, int64_t run_id,
                         int64_t *deleted_out, ps_err *err)
{
    static const char stale[] =
        "SELECT id, kind, rec_id FROM provenance WHERE source_id = ?1 AND "
        "(last_run IS NULL OR last_run < ?2)";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    int own = 0;
    int64_t(*rows)[3] = NULL;
    size_t n = 0, cap = 0;
    int64_t deleted = 0;
    CHECK(psi_begin_maybe(st, &own, err));
    STMT(s, stale);
    sqlite3_bind_int64(s, 1, source_id);
    sqlite3_bind_int64(s, 2, run_id);
    int rc;
    for (;;) {
        rc = sqlite3_step(s);
        if (rc != SQLITE_ROW)
            break;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            int64_t(*p)[3] = ps_realloc(rows, nc * sizeof *rows);
            if (!p) {
                sqlite3_reset(s);
                FAIL(ps_err_set(err, PS_ERR_NOMEM, "out of memory"));
            }
            rows = p;
            cap = nc;
        }
        rows[n][0] = sqlite3_column_int64(s, 0);
        rows[n][1] = sqlite3_column_int64(s, 1);
        rows[n][2] = sqlite3_column_int64(s, 2);
        n++;
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        FAIL(psi_db_error(st, err, "finding records to sweep"));
    for (size_t i = 0; i < n; i++) {
        int d = 0;
        CHECK(drop_provenance(st, source_id, rows[i][0], (ps_kind)rows[i][1],
                              rows[i][2], &d, err));
        deleted += d;
    }
out:
    ps_free(rows);
    if (deleted_out)
        *deleted_out = deleted;
    return psi_end(st, own, status, err);
}

ps_status ps_store_resolve(ps_store *st, int64_t *n_out, ps_err *err)
{
#define RESOLVE(end, k, t)                                                     \
    "UPDATE link SET " end "_id = coalesce((SELECT id FROM " t " x WHERE "     \
    "x.pid = link." end "_ref AND x.deleted = 0), (SELECT min(id) FROM " t     \
    " x WHERE x.doi = link." end "_ref COLLATE NOCASE AND link." end "_ref "   \
    "LIKE '10.%' AND x.deleted = 0)) WHERE " end "_id IS NULL AND " end        \
    "_kind = " k " AND (EXISTS (SELECT 1 FROM " t " x WHERE x.pid = link." end \
    "_ref AND x.deleted = 0) OR EXISTS (SELECT 1 FROM " t " x WHERE x.doi = "  \
    "link." end "_ref COLLATE NOCASE AND link." end "_ref LIKE '10.%' AND "    \
    "x.deleted = 0)) RETURNING src_kind, src_id, dst_kind, dst_id"
    static const char *const resolve[] = {
        RESOLVE("dst", "4", "dataset"),     RESOLVE("src", "4", "dataset"),
        RESOLVE("dst", "3", "proposal"),    RESOLVE("src", "3", "proposal"),
        RESOLVE("dst", "9", "publication"), RESOLVE("src", "9", "publication"),
    };
#undef RESOLVE
    /* Links the matcher (store-match.c) wrote carry "tier" in their
     * evidence and already count cited data as hard evidence: this
     * inference neither rewrites nor removes them. */
#define NOT_MATCHER                                                            \
    "NOT (CASE WHEN json_valid(link.evidence) THEN EXISTS (SELECT 1 FROM "     \
    "json_each(link.evidence) WHERE json_extract(value, '$.tier') IS NOT "     \
    "NULL) ELSE 0 END)"
    /* A publication citing data of a proposal most likely came from it. */
    static const char infer[] =
        "INSERT INTO link (type, src_kind, src_ref, src_id, dst_kind, "
        "dst_ref, dst_id, provenance, score, evidence, state, created_at, "
        "updated_at) SELECT 'publication-from-proposal', 9, c.src_ref, "
        "c.src_id, 3, p.dst_ref, p.dst_id, 1, 0.95, json_group_array("
        "json_object('kind', 'cites-data-of-proposal', 'dataset', c.dst_ref)), "
        "0, ?1, ?1 FROM link c JOIN dataset d ON d.id = c.dst_id AND "
        "d.deleted = 0 JOIN link p ON p.type = 'dataset-of-proposal' "
        "AND p.src_kind = 4 AND p.src_id = c.dst_id AND p.dst_id IS NOT NULL "
        "WHERE c.type = 'publication-cites-data' AND c.src_id IS NOT NULL AND "
        "c.dst_id IS NOT NULL GROUP BY c.src_ref, p.dst_ref ON CONFLICT "
        "(type, src_kind, src_ref, dst_kind, dst_ref) DO UPDATE SET evidence "
        "= excluded.evidence, src_id = excluded.src_id, dst_id = "
        "excluded.dst_id, updated_at = excluded.updated_at WHERE "
        "link.provenance = 1 AND " NOT_MATCHER " AND (link.evidence IS NOT "
        "excluded.evidence OR "
        "link.src_id IS NOT excluded.src_id OR link.dst_id IS NOT "
        "excluded.dst_id) RETURNING src_kind, src_id, dst_kind, dst_id";
    /* An inference whose evidence is gone (a source withdrew the citation
     * or the dataset's proposal, or the dataset was deleted) goes too,
     * unless a person judged it. */
    static const char stale[] =
        "DELETE FROM link WHERE type = 'publication-from-proposal' AND "
        "provenance = 1 AND state = 0 AND " NOT_MATCHER
        " AND NOT EXISTS (SELECT 1 FROM link c "
        "JOIN dataset d ON d.id = c.dst_id AND d.deleted = 0 "
        "JOIN link p ON p.type = 'dataset-of-proposal' AND p.src_kind = 4 AND "
        "p.src_id = c.dst_id AND p.dst_ref = link.dst_ref WHERE c.type = "
        "'publication-cites-data' AND c.src_kind = 9 AND c.src_ref = "
        "link.src_ref AND c.dst_id IS NOT NULL) RETURNING src_kind, src_id, "
        "dst_kind, dst_id";
#undef NOT_MATCHER
    static const char instruments[] =
        "UPDATE dataset SET instrument_id = (SELECT id FROM instrument i "
        "WHERE i.pid = dataset.instrument_pid AND i.deleted = 0) WHERE "
        "instrument_id IS NULL AND instrument_pid IS NOT NULL AND EXISTS "
        "(SELECT 1 FROM instrument i WHERE i.pid = dataset.instrument_pid AND "
        "i.deleted = 0) RETURNING 4, id, 0, 0";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    int own = 0;
    int64_t(*touch)[2] = NULL;
    size_t n = 0, cap = 0;
    int64_t resolved = 0;
    CHECK(psi_begin_maybe(st, &own, err));
    size_t nsql = sizeof resolve / sizeof resolve[0];
    const char *const after[] = {infer, stale, instruments};
    for (size_t q = 0; q < nsql + 3; q++) {
        const char *sql = q < nsql ? resolve[q] : after[q - nsql];
        STMT(s, sql);
        if (sql == infer)
            sqlite3_bind_int64(s, 1, ps_now_ms());
        int rc;
        for (;;) {
            rc = sqlite3_step(s);
            if (rc != SQLITE_ROW)
                break;
            if (n + 2 > cap) {
                size_t nc = cap ? cap * 2 : 64;
                int64_t(*p)[2] = ps_realloc(touch, nc * sizeof *touch);
                if (!p) {
                    sqlite3_reset(s);
                    FAIL(ps_err_set(err, PS_ERR_NOMEM, "out of memory"));
                }
                touch = p;
                cap = nc;
            }
            for (int end = 0; end < 2; end++) {
                int k = sqlite3_column_int(s, 2 * end);
                if (sqlite3_column_type(s, 2 * end + 1) == SQLITE_NULL ||
                    !indexable((ps_kind)k))
                    continue;
                touch[n][0] = k;
                touch[n][1] = sqlite3_column_int64(s, 2 * end + 1);
                n++;
            }
            if (q < nsql)
                resolved++;
        }
        sqlite3_reset(s);
        if (rc != SQLITE_DONE)
            FAIL(psi_db_error(st, err, "resolving references"));
    }
    for (size_t i = 0; i < n; i++)
        CHECK(psi_touch(st, (ps_kind)touch[i][0], touch[i][1], err));
out:
    ps_free(touch);
    if (n_out)
        *n_out = resolved;
    return psi_end(st, own, status, err);
}
