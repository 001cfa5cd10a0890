/*
 * store-collection.c: users' collections of records (API in store.h, the
 * "collections" section): create, list, read with items, delete, add and
 * remove items, and the member walk the search uses for `collection=PID`.
 * The tables (collection, collection_item) come from migration 1; an item
 * names its record by (kind, row id), so the API's (type, pid) pairs are
 * looked up here. Items outlive their records' deletion or hiding, and the
 * reads leave those out, so a record that comes back is a member again.
 * Collections are not indexed records: they have no change sequence.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "store-private.h"

#include <stdio.h>
#include <string.h>

/* The public may see a record x at ?N (0: whatever its visibility). */
#define VISIBLE(x, n)                                                          \
    "(?" n " = 0 OR " x ".visibility = 0 OR (" x ".visibility = 1 AND " x      \
    ".embargo_until <= ?" n "))"

/* One kind's live items of collection ?1 visible at ?2: kind, id, pid,
 * title, added_at, note. */
#define ITEM_ARM(k, table, title)                                              \
    "SELECT ci.kind, x.id, x.pid, x." title ", ci.added_at, ci.note FROM "     \
    "collection_item ci JOIN " table " x ON x.id = ci.rec_id AND x.deleted = " \
    "0 AND " VISIBLE("x", "2") " WHERE ci.collection_id = ?1 AND ci.kind = " k
#define ITEM_ARMS                                                              \
    ITEM_ARM("3", "proposal", "title")                                         \
    " UNION ALL " ITEM_ARM(                                                    \
        "9", "publication",                                                    \
        "title") " UNION ALL " ITEM_ARM("4", "dataset",                        \
                                        "title") " UNION ALL " ITEM_ARM("2",   \
                                                                        "inst" \
                                                                        "rume" \
                                                                        "nt",  \
                                                                        "nam"  \
                                                                        "e")

static const char count_sql[] = "SELECT count(*) FROM (" ITEM_ARMS ")";
static const char items_sql[] =
    ITEM_ARMS " ORDER BY 5, 1, 3 LIMIT ?3 OFFSET ?4";
static const char members_sql[] = ITEM_ARMS " ORDER BY 1, 3";

static const char find_sql[] =
    "SELECT id, pid, name, description, created_at, updated_at FROM "
    "collection WHERE pid = ?1";

/* Is kind one a collection may hold? */
static int collectable(ps_kind kind)
{
    return kind == PS_KIND_PROPOSAL || kind == PS_KIND_PUBLICATION ||
           kind == PS_KIND_DATASET || kind == PS_KIND_INSTRUMENT;
}

/* Is s valid UTF-8 (jansson accepts it as a string)? */
static int utf8_ok(const char *s)
{
    json_t *probe = json_string(s);
    json_decref(probe);
    return probe != NULL;
}

/* Does s hold a control character (other than tab and line breaks when
 * lines)? */
static int has_control(const char *s, int lines)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p < 0x20 || *p == 0x7f) &&
            !(lines && (*p == '\n' || *p == '\r' || *p == '\t')))
            return 1;
    return 0;
}

static ps_status check_name(const char *name, ps_err *err)
{
    if (!name || !*name)
        return ps_err_set(err, PS_ERR_INVALID, "a collection needs a name");
    size_t n = strlen(name);
    if (n > PS_COLLECTION_NAME_MAX)
        return ps_err_set(err, PS_ERR_INVALID,
                          "a collection's name has at most %d bytes (this "
                          "one has %zu)",
                          PS_COLLECTION_NAME_MAX, n);
    if (!utf8_ok(name))
        return ps_err_set(err, PS_ERR_INVALID,
                          "a collection's name must be UTF-8");
    if (has_control(name, 0))
        return ps_err_set(err, PS_ERR_INVALID,
                          "a collection's name has no control characters");
    if (strspn(name, " ") == n)
        return ps_err_set(err, PS_ERR_INVALID,
                          "a collection's name must not be blank");
    return PS_OK;
}

static ps_status check_text(const char *what, const char *s, size_t max,
                            ps_err *err)
{
    if (!s)
        return PS_OK;
    size_t n = strlen(s);
    if (n > max)
        return ps_err_set(err, PS_ERR_INVALID,
                          "%s has at most %zu bytes (this one has %zu)", what,
                          max, n);
    if (!utf8_ok(s))
        return ps_err_set(err, PS_ERR_INVALID, "%s must be UTF-8", what);
    if (has_control(s, 1))
        return ps_err_set(err, PS_ERR_INVALID,
                          "%s has no control characters but tabs and line "
                          "breaks",
                          what);
    return PS_OK;
}

static json_t *time_json(sqlite3_stmt *s, int i)
{
    char buf[PS_TIME_BUFSZ];
    if (sqlite3_column_type(s, i) == SQLITE_NULL)
        return json_null();
    return json_string(ps_time_format(sqlite3_column_int64(s, i), buf));
}

static json_t *text_json(sqlite3_stmt *s, int i)
{
    const char *t = (const char *)sqlite3_column_text(s, i);
    return t ? json_string(t) : json_null();
}

/* The number of items of collection id visible at now. */
static ps_status count_items(ps_store *st, int64_t id, int64_t now,
                             int64_t *out, ps_err *err)
{
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    *out = 0;
    STMT(s, count_sql);
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, now);
    CHECK(psi_step_id(st, s, out, err, "counting a collection's items"));
out:
    return status;
}

/* The JSON of the collection row s is on (find_sql's columns). */
static ps_status collection_json(ps_store *st, sqlite3_stmt *s, int64_t now,
                                 json_t **out, ps_err *err)
{
    int64_t id = sqlite3_column_int64(s, 0);
    json_t *o =
        json_pack("{s:o, s:o, s:o, s:o, s:o}", "pid", text_json(s, 1), "name",
                  text_json(s, 2), "description", text_json(s, 3), "created_at",
                  time_json(s, 4), "updated_at", time_json(s, 5));
    *out = NULL;
    if (!o)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    /* The count comes from another statement: s stays on its row. */
    int64_t n = 0;
    ps_status rc = count_items(st, id, now, &n, err);
    if (rc != PS_OK) {
        json_decref(o);
        return rc;
    }
    json_object_set_new(o, "count", json_integer((json_int_t)n));
    *out = o;
    return PS_OK;
}

/* The row id of collection pid: PS_ERR_NOTFOUND when there is none. */
static ps_status find_collection(ps_store *st, const char *pid, int64_t *id,
                                 ps_err *err)
{
    static const char sql[] = "SELECT id FROM collection WHERE pid = ?1";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    *id = 0;
    if (!pid)
        return ps_err_set(err, PS_ERR_INVALID, "no collection pid");
    STMT(s, sql);
    psi_bind_text(s, 1, pid);
    CHECK(psi_step_id(st, s, id, err, "finding a collection"));
    if (!*id)
        status =
            ps_err_set(err, PS_ERR_NOTFOUND, "no collection \"%.80s\"", pid);
out:
    return status;
}

/* A read snapshot for the reads of one call, unless the caller has one. */
static int read_begin(ps_store *st)
{
    if (st->in_txn || st->in_read)
        return 0;
    ps_err e = PS_ERR_INIT;
    return ps_store_read_begin(st, &e) == PS_OK;
}

ps_status ps_store_collection_create(ps_store *st, json_t **out,
                                     const char *name, const char *description,
                                     ps_err *err)
{
    static const char count[] = "SELECT count(*) FROM collection";
    static const char ins[] =
        "INSERT INTO collection (pid, name, description, created_at, "
        "updated_at) VALUES ('c-' || lower(hex(randomblob(6))), ?1, ?2, ?3, "
        "?3) ON CONFLICT (pid) DO NOTHING RETURNING id";
    static const char get[] = "SELECT id, pid, name, description, created_at, "
                              "updated_at FROM collection WHERE id = ?1";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    int own = 0;
    *out = NULL;
    if (!st)
        return ps_err_set(err, PS_ERR_INVALID, "no store");
    CHECK(check_name(name, err));
    CHECK(check_text("a collection's description", description,
                     PS_COLLECTION_DESC_MAX, err));
    if (description && !*description)
        description = NULL;
    CHECK(psi_begin_maybe(st, &own, err));
    int64_t n = 0, id = 0;
    STMT(s, count);
    CHECK(psi_step_id(st, s, &n, err, "counting collections"));
    if (n >= PS_COLLECTIONS_MAX)
        FAIL(ps_err_set(err, PS_ERR_TOOBIG,
                        "there are %d collections already, the most a "
                        "store keeps: delete one first",
                        PS_COLLECTIONS_MAX));
    /* 48 random bits: a clash is unlikely, and retried. */
    for (int attempt = 0; attempt < 8 && !id; attempt++) {
        STMT(s, ins);
        psi_bind_text(s, 1, name);
        psi_bind_text(s, 2, description);
        sqlite3_bind_int64(s, 3, ps_now_ms());
        CHECK(psi_step_id(st, s, &id, err, "creating a collection"));
    }
    if (!id)
        FAIL(ps_err_set(err, PS_ERR_INTERNAL, "no free collection pid"));
    STMT(s, get);
    sqlite3_bind_int64(s, 1, id);
    if (sqlite3_step(s) != SQLITE_ROW) {
        sqlite3_reset(s);
        FAIL(psi_db_error(st, err, "reading a new collection"));
    }
    status = collection_json(st, s, 0, out, err);
    sqlite3_reset(s);
out:
    status = psi_end(st, own, status, err);
    if (status != PS_OK && out) {
        json_decref(*out);
        *out = NULL;
    }
    return status;
}

ps_status ps_store_collection_list(ps_store *st, json_t **out, int64_t now_ms,
                                   ps_err *err)
{
    static const char sql[] =
        "SELECT id, pid, name, description, created_at, updated_at FROM "
        "collection ORDER BY updated_at DESC, id DESC";
    ps_status status = PS_OK;
    sqlite3_stmt *s = NULL;
    json_t *arr = json_array();
    int snap = 0;
    *out = NULL;
    if (!arr)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    snap = read_begin(st);
    STMT(s, sql);
    int rc;
    for (;;) {
        rc = sqlite3_step(s);
        if (rc != SQLITE_ROW)
            break;
        json_t *o = NULL;
        CHECK(collection_json(st, s, now_ms, &o, err));
        if (json_array_append_new(arr, o) != 0)
            FAIL(ps_err_set(err, PS_ERR_NOMEM, "out of memory"));
    }
    if (rc != SQLITE_DONE)
        FAIL(psi_db_error(st, err, "listing collections"));
    *out = arr;
    arr = NULL;
out:
    if (s)
        sqlite3_reset(s);
    if (snap)
        ps_store_read_end(st);
    json_decref(arr);
    return status;
}

/* Append the items of collection id (limit after skip) to arr. */
static ps_status items_json(ps_store *st, int64_t id, int64_t now,
                            int64_t limit, int64_t skip, json_t *arr,
                            ps_err *err)
{
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    char buf[PS_TIME_BUFSZ];
    STMT(s, items_sql);
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, now);
    sqlite3_bind_int64(s, 3, limit);
    sqlite3_bind_int64(s, 4, skip);
    int rc;
    for (;;) {
        rc = sqlite3_step(s);
        if (rc != SQLITE_ROW)
            break;
        json_t *o =
            json_pack("{s:s, s:o, s:o, s:s}", "type",
                      ps_kind_name((ps_kind)sqlite3_column_int(s, 0)), "pid",
                      text_json(s, 2), "title", text_json(s, 3), "added_at",
                      ps_time_format(sqlite3_column_int64(s, 4), buf));
        if (o && sqlite3_column_type(s, 5) != SQLITE_NULL)
            json_object_set_new(o, "note", text_json(s, 5));
        if (!o || json_array_append_new(arr, o) != 0) {
            sqlite3_reset(s);
            FAIL(ps_err_set(err, PS_ERR_NOMEM, "out of memory"));
        }
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        FAIL(psi_db_error(st, err, "reading a collection's items"));
out:
    return status;
}

ps_status ps_store_collection_get(ps_store *st, json_t **out, const char *pid,
                                  int64_t now_ms, int64_t limit, int64_t skip,
                                  ps_err *err)
{
    ps_status status = PS_OK;
    sqlite3_stmt *s = NULL;
    json_t *o = NULL;
    int snap = 0;
    *out = NULL;
    if (!pid)
        return ps_err_set(err, PS_ERR_INVALID, "no collection pid");
    if (limit < 0 || skip < 0)
        return ps_err_set(err, PS_ERR_INVALID, "negative limit or skip");
    snap = read_begin(st);
    STMT(s, find_sql);
    psi_bind_text(s, 1, pid);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        if (rc == SQLITE_DONE)
            FAIL(ps_err_set(err, PS_ERR_NOTFOUND, "no collection \"%.80s\"",
                            pid));
        FAIL(psi_db_error(st, err, "reading a collection"));
    }
    int64_t id = sqlite3_column_int64(s, 0);
    CHECK(collection_json(st, s, now_ms, &o, err));
    sqlite3_reset(s);
    s = NULL;
    if (limit > 0) {
        json_t *items = json_array();
        if (!items || json_object_set_new(o, "items", items) != 0)
            FAIL(ps_err_set(err, PS_ERR_NOMEM, "out of memory"));
        CHECK(items_json(st, id, now_ms, limit, skip, items, err));
    }
    *out = o;
    o = NULL;
out:
    if (s)
        sqlite3_reset(s);
    if (snap)
        ps_store_read_end(st);
    json_decref(o);
    return status;
}

ps_status ps_store_collection_delete(ps_store *st, const char *pid, ps_err *err)
{
    static const char sql[] = "DELETE FROM collection WHERE pid = ?1";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    int own = 0;
    int64_t id = 0;
    if (!st || !pid)
        return ps_err_set(err, PS_ERR_INVALID, "no store or no pid");
    CHECK(psi_begin_maybe(st, &own, err));
    CHECK(find_collection(st, pid, &id, err));
    STMT(s, sql);
    psi_bind_text(s, 1, pid);
    CHECK(psi_step_done(st, s, err, "deleting a collection"));
out:
    return psi_end(st, own, status, err);
}

/* The row id of the record (kind, pid): live and visible at now (0: any)
 * when strict, else whatever its state. 0 when there is none. */
static ps_status find_record(ps_store *st, ps_kind kind, const char *pid,
                             int strict, int64_t now, int64_t *id, ps_err *err)
{
#define FIND(table)                                                            \
    "SELECT id FROM " table " x WHERE pid = ?1 AND (?3 = 0 OR (deleted = 0 "   \
    "AND " VISIBLE("x", "2") "))"
    static const char *const sql[PS_KIND_MAX + 1] = {
        [PS_KIND_PROPOSAL] = FIND("proposal"),
        [PS_KIND_PUBLICATION] = FIND("publication"),
        [PS_KIND_DATASET] = FIND("dataset"),
        [PS_KIND_INSTRUMENT] = FIND("instrument"),
    };
#undef FIND
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    *id = 0;
    STMT(s, sql[kind]);
    psi_bind_text(s, 1, pid);
    sqlite3_bind_int64(s, 2, now);
    sqlite3_bind_int(s, 3, strict);
    CHECK(psi_step_id(st, s, id, err, "finding a record"));
out:
    return status;
}

static ps_status check_items(const ps_collection_item *items, size_t n,
                             int notes, ps_err *err)
{
    if (n && !items)
        return ps_err_set(err, PS_ERR_INVALID, "no items");
    if (n > PS_COLLECTION_BATCH_MAX)
        return ps_err_set(err, PS_ERR_INVALID,
                          "at most %d items at a time (%zu given)",
                          PS_COLLECTION_BATCH_MAX, n);
    for (size_t i = 0; i < n; i++) {
        if (!collectable(items[i].kind))
            return ps_err_set(err, PS_ERR_INVALID,
                              "item %zu: a collection holds proposals, "
                              "publications, datasets and instruments, not "
                              "%s",
                              i, ps_kind_name(items[i].kind));
        if (!items[i].pid)
            return ps_err_set(err, PS_ERR_INVALID, "item %zu has no pid", i);
        if (notes) {
            char what[48];
            snprintf(what, sizeof what, "item %zu's note", i);
            ps_status rc =
                check_text(what, items[i].note, PS_COLLECTION_NOTE_MAX, err);
            if (rc != PS_OK)
                return rc;
        }
    }
    return PS_OK;
}

static ps_status touch_collection(ps_store *st, int64_t id, ps_err *err)
{
    static const char sql[] =
        "UPDATE collection SET updated_at = max(updated_at + 1, ?2) WHERE id "
        "= ?1";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    STMT(s, sql);
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, ps_now_ms());
    CHECK(psi_step_done(st, s, err, "updating a collection"));
out:
    return status;
}

ps_status ps_store_collection_add(ps_store *st,
                                  ps_collection_counts *counts_out,
                                  const char *pid,
                                  const ps_collection_item *items, size_t n,
                                  int64_t now_ms, unsigned char *unknown_out,
                                  ps_err *err)
{
    static const char ins[] =
        "INSERT INTO collection_item (collection_id, kind, rec_id, added_at, "
        "note) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING";
    static const char note[] =
        "UPDATE collection_item SET note = ?4 WHERE collection_id = ?1 AND "
        "kind = ?2 AND rec_id = ?3";
    static const char total[] =
        "SELECT count(*) FROM collection_item WHERE collection_id = ?1";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    ps_collection_counts c = {0, 0, 0};
    int own = 0;
    int64_t cid = 0, have = 0;
    if (unknown_out && n)
        memset(unknown_out, 0, n);
    if (!st)
        return ps_err_set(err, PS_ERR_INVALID, "no store");
    CHECK(check_items(items, n, 1, err));
    CHECK(psi_begin_maybe(st, &own, err));
    CHECK(find_collection(st, pid, &cid, err));
    STMT(s, total);
    sqlite3_bind_int64(s, 1, cid);
    CHECK(psi_step_id(st, s, &have, err, "counting a collection's items"));
    int64_t now = ps_now_ms();
    for (size_t i = 0; i < n; i++) {
        int64_t rec = 0;
        CHECK(
            find_record(st, items[i].kind, items[i].pid, 1, now_ms, &rec, err));
        if (!rec) {
            c.unknown++;
            if (unknown_out)
                unknown_out[i] = 1;
            continue;
        }
        STMT(s, ins);
        sqlite3_bind_int64(s, 1, cid);
        sqlite3_bind_int(s, 2, (int)items[i].kind);
        sqlite3_bind_int64(s, 3, rec);
        sqlite3_bind_int64(s, 4, now);
        psi_bind_text(s, 5, items[i].note);
        CHECK(psi_step_done(st, s, err, "adding to a collection"));
        if (sqlite3_changes(st->db) > 0) {
            c.done++;
            continue;
        }
        c.already++;
        if (items[i].note) {
            STMT(s, note);
            sqlite3_bind_int64(s, 1, cid);
            sqlite3_bind_int(s, 2, (int)items[i].kind);
            sqlite3_bind_int64(s, 3, rec);
            psi_bind_text(s, 4, items[i].note);
            CHECK(psi_step_done(st, s, err, "noting a collection's item"));
        }
    }
    if (have + c.done > PS_COLLECTION_ITEMS_MAX)
        FAIL(ps_err_set(err, PS_ERR_TOOBIG,
                        "a collection holds at most %d items: this one has "
                        "%lld and %lld more would pass that; nothing was "
                        "added",
                        PS_COLLECTION_ITEMS_MAX, (long long)have,
                        (long long)c.done));
    if (c.done)
        CHECK(touch_collection(st, cid, err));
out:
    status = psi_end(st, own, status, err);
    if (status != PS_OK) {
        memset(&c, 0, sizeof c);
        if (unknown_out && n)
            memset(unknown_out, 0, n);
    }
    if (counts_out)
        *counts_out = c;
    return status;
}

ps_status ps_store_collection_remove(ps_store *st,
                                     ps_collection_counts *counts_out,
                                     const char *pid,
                                     const ps_collection_item *items, size_t n,
                                     int64_t now_ms, unsigned char *unknown_out,
                                     ps_err *err)
{
    static const char del[] =
        "DELETE FROM collection_item WHERE collection_id = ?1 AND kind = ?2 "
        "AND rec_id = ?3";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    ps_collection_counts c = {0, 0, 0};
    int own = 0;
    int64_t cid = 0;
    if (unknown_out && n)
        memset(unknown_out, 0, n);
    if (!st)
        return ps_err_set(err, PS_ERR_INVALID, "no store");
    CHECK(check_items(items, n, 0, err));
    CHECK(psi_begin_maybe(st, &own, err));
    CHECK(find_collection(st, pid, &cid, err));
    for (size_t i = 0; i < n; i++) {
        /* Any member can go, whatever its record became; a record the
         * public may not see that is not a member is unknown, so that
         * removing does not tell whether it exists. */
        int64_t rec = 0, seen = 0;
        CHECK(find_record(st, items[i].kind, items[i].pid, 0, 0, &rec, err));
        int removed = 0;
        if (rec) {
            STMT(s, del);
            sqlite3_bind_int64(s, 1, cid);
            sqlite3_bind_int(s, 2, (int)items[i].kind);
            sqlite3_bind_int64(s, 3, rec);
            CHECK(psi_step_done(st, s, err, "removing from a collection"));
            removed = sqlite3_changes(st->db) > 0;
        }
        if (removed) {
            c.done++;
            continue;
        }
        if (rec)
            CHECK(find_record(st, items[i].kind, items[i].pid, 1, now_ms, &seen,
                              err));
        if (seen) {
            c.already++;
        } else {
            c.unknown++;
            if (unknown_out)
                unknown_out[i] = 1;
        }
    }
    if (c.done)
        CHECK(touch_collection(st, cid, err));
out:
    status = psi_end(st, own, status, err);
    if (status != PS_OK) {
        memset(&c, 0, sizeof c);
        if (unknown_out && n)
            memset(unknown_out, 0, n);
    }
    if (counts_out)
        *counts_out = c;
    return status;
}

ps_status ps_store_collection_members(ps_store *st, const char *pid,
                                      int (*fn)(void *payload, ps_kind kind,
                                                int64_t id,
                                                const char *member_pid),
                                      void *payload, ps_err *err)
{
    ps_status status = PS_OK;
    sqlite3_stmt *s = NULL;
    int64_t cid = 0;
    int snap = 0;
    if (!st || !pid || !fn)
        return ps_err_set(err, PS_ERR_INVALID, "no store, pid or callback");
    snap = read_begin(st);
    CHECK(find_collection(st, pid, &cid, err));
    STMT(s, members_sql);
    sqlite3_bind_int64(s, 1, cid);
    sqlite3_bind_int64(s, 2, 0);
    int rc;
    for (;;) {
        rc = sqlite3_step(s);
        if (rc != SQLITE_ROW)
            break;
        if (fn(payload, (ps_kind)sqlite3_column_int(s, 0),
               sqlite3_column_int64(s, 1),
               (const char *)sqlite3_column_text(s, 2)) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    if (rc != SQLITE_DONE)
        FAIL(psi_db_error(st, err, "reading a collection's members"));
out:
    if (s)
        sqlite3_reset(s);
    if (snap)
        ps_store_read_end(st);
    return status;
}
