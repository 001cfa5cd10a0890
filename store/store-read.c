/*
 * store-read.c: reading the store. ps_store_load turns one entity (and, on
 * request, its children and related records) into JSON in the store's own
 * shape; the indexer builds Xapian documents from it and the query server
 * renders API answers from it. Also here: lookups by pid, pages of records
 * in pid order (the browse path), counts, the change feed and the status
 * summary. Nothing here writes.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "store-private.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const vis_names[] = {"public", "embargoed", "restricted"};

/* Step s to its one row: PS_ERR_NOTFOUND (with the message fmt) when there
 * is none, a store error otherwise. The statement is reset on failure. */
static ps_status step_row(ps_store *st, sqlite3_stmt *s, const char *what,
                          ps_err *err, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static ps_status step_row(ps_store *st, sqlite3_stmt *s, const char *what,
                          ps_err *err, const char *fmt, ...)
{
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        return PS_OK;
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return psi_db_error(st, err, what);
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = PS_ERR_NOTFOUND;
    }
    return PS_ERR_NOTFOUND;
}

/* ---- JSON building from columns ----------------------------------------- */

/* Set key to the text of column i unless it is NULL. */
static void set_text(json_t *o, const char *key, sqlite3_stmt *s, int i)
{
    if (sqlite3_column_type(s, i) != SQLITE_NULL)
        json_object_set_new(
            o, key, json_string((const char *)sqlite3_column_text(s, i)));
}

static void set_int(json_t *o, const char *key, sqlite3_stmt *s, int i)
{
    if (sqlite3_column_type(s, i) != SQLITE_NULL)
        json_object_set_new(o, key, json_integer(sqlite3_column_int64(s, i)));
}

static void set_json(json_t *o, const char *key, sqlite3_stmt *s, int i)
{
    if (sqlite3_column_type(s, i) == SQLITE_NULL)
        return;
    json_t *v = json_loads((const char *)sqlite3_column_text(s, i), 0, NULL);
    if (v)
        json_object_set_new(o, key, v);
}

/* Common tail columns: visibility, embargo_until, deleted, seq at i.. */
static void set_common(json_t *o, sqlite3_stmt *s, int i)
{
    int vis = sqlite3_column_int(s, i);
    json_object_set_new(o, "visibility",
                        json_string(vis_names[vis >= 0 && vis <= 2 ? vis : 2]));
    set_int(o, "embargo_until", s, i + 1);
    json_object_set_new(o, "deleted",
                        json_boolean(sqlite3_column_int(s, i + 2)));
    json_object_set_new(o, "seq", json_integer(sqlite3_column_int64(s, i + 3)));
}

/* Run a one-parameter-pair query and append one object per row, built by
 * fn, to a new array set as key in o. */
typedef void (*row_fn)(json_t *obj, sqlite3_stmt *s);

static ps_status load_rows(ps_store *st, json_t *o, const char *key,
                           const char *sql, int64_t a, int64_t b, row_fn fn,
                           ps_err *err)
{
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    json_t *arr = json_array();
    if (!arr)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    STMT(s, sql);
    sqlite3_bind_int64(s, 1, a);
    sqlite3_bind_int64(s, 2, b);
    int rc;
    for (;;) {
        rc = sqlite3_step(s);
        if (rc != SQLITE_ROW)
            break;
        json_t *row = json_object();
        if (!row) {
            sqlite3_reset(s);
            FAIL(ps_err_set(err, PS_ERR_NOMEM, "out of memory"));
        }
        fn(row, s);
        json_array_append_new(arr, row);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        FAIL(psi_db_error(st, err, "reading related records"));
    json_object_set_new(o, key, arr);
    arr = NULL;
out:
    json_decref(arr);
    return status;
}

static void row_file(json_t *o, sqlite3_stmt *s)
{
    set_int(o, "id", s, 0);
    set_text(o, "name", s, 1);
    set_text(o, "path", s, 2);
    set_int(o, "size", s, 3);
    set_text(o, "checksum", s, 4);
    set_text(o, "url", s, 5);
}

static void row_param(json_t *o, sqlite3_stmt *s)
{
    set_int(o, "id", s, 0);
    set_text(o, "name", s, 1);
    if (sqlite3_column_int(s, 4)) {
        double v = sqlite3_column_double(s, 3);
        json_object_set_new(o, "value",
                            v == (double)(int64_t)v && v > -9e15 && v < 9e15
                                ? json_integer((json_int_t)v)
                                : json_real(v));
    } else {
        set_text(o, "value", s, 2);
    }
    set_text(o, "unit", s, 5);
    if (sqlite3_column_type(s, 6) != SQLITE_NULL)
        json_object_set_new(o, "value_si",
                            json_real(sqlite3_column_double(s, 6)));
    set_text(o, "unit_si", s, 7);
}

static void row_sample(json_t *o, sqlite3_stmt *s)
{
    set_int(o, "id", s, 0);
    set_text(o, "pid", s, 1);
    set_text(o, "name", s, 2);
    set_text(o, "description", s, 3);
}

static void row_technique(json_t *o, sqlite3_stmt *s)
{
    set_int(o, "id", s, 0);
    set_text(o, "pid", s, 1);
    set_text(o, "name", s, 2);
    set_text(o, "panet_iri", s, 3);
}

static void row_idpid(json_t *o, sqlite3_stmt *s)
{
    set_int(o, "id", s, 0);
    set_text(o, "pid", s, 1);
}

static void row_document_ref(json_t *o, sqlite3_stmt *s)
{
    int k = sqlite3_column_int(s, 0);
    json_object_set_new(o, "kind", json_string(ps_kind_name((ps_kind)k)));
    set_int(o, "id", s, 1);
    set_text(o, "pid", s, 2);
    set_text(o, "code", s, 3);
    set_text(o, "title", s, 4);
    if (sqlite3_column_type(s, 5) != SQLITE_NULL)
        json_object_set_new(o, "score", json_real(sqlite3_column_double(s, 5)));
}

static void row_instrument_ref(json_t *o, sqlite3_stmt *s)
{
    set_text(o, "pid", s, 0);
    set_text(o, "name", s, 1);
    set_text(o, "facility", s, 2);
}

static void row_member(json_t *o, sqlite3_stmt *s)
{
    set_int(o, "id", s, 0);
    set_text(o, "role", s, 1);
    if (sqlite3_column_type(s, 2) != SQLITE_NULL) {
        json_t *p = json_object();
        set_int(p, "id", s, 2);
        set_text(p, "pid", s, 3);
        set_text(p, "full_name", s, 4);
        set_text(p, "given_name", s, 5);
        set_text(p, "family_name", s, 6);
        set_text(p, "orcid", s, 7);
        json_object_set_new(o, "person", p);
    }
    if (sqlite3_column_type(s, 8) != SQLITE_NULL) {
        json_t *i = json_object();
        set_int(i, "id", s, 8);
        set_text(i, "pid", s, 9);
        set_text(i, "name", s, 10);
        set_text(i, "address", s, 11);
        set_text(i, "city", s, 12);
        set_text(i, "country", s, 13);
        set_text(i, "ror", s, 14);
        json_object_set_new(o, "institution", i);
    }
}

static const char sql_params[] =
    "SELECT id, name, value_text, value_num, is_numeric, unit, value_si, "
    "unit_si FROM parameter WHERE owner_kind = ?2 AND owner_id = ?1 ORDER BY "
    "position";

/* ---- loading entities --------------------------------------------------- */

static ps_status load_dataset(ps_store *st, int64_t id, unsigned flags,
                              json_t *o, ps_err *err)
{
    static const char main_sql[] =
        "SELECT d.id, d.pid, d.title, d.description, d.doi, d.created, "
        "d.size, d.instrument_pid, d.keywords, d.visibility, "
        "d.embargo_until, d.deleted, d.seq, i.id, i.pid, i.name, f.name "
        "FROM dataset d LEFT JOIN instrument i ON i.id = d.instrument_id AND "
        "i.deleted = 0 LEFT JOIN facility f ON f.id = i.facility_id WHERE "
        "d.id = ?1";
    static const char files[] =
        "SELECT id, name, path, size, checksum, url FROM file WHERE "
        "dataset_id = ?1 AND ?2 = ?2 ORDER BY position";
    static const char samples[] =
        "SELECT s.id, s.pid, s.name, s.description FROM dataset_sample ds "
        "JOIN sample s ON s.id = ds.sample_id WHERE ds.dataset_id = ?1 AND ?2 "
        "= ?2 ORDER BY ds.position";
    static const char techniques[] =
        "SELECT t.id, t.pid, t.name, t.panet_iri FROM dataset_technique dt "
        "JOIN technique t ON t.id = dt.technique_id WHERE dt.dataset_id = ?1 "
        "AND ?2 = ?2 ORDER BY dt.position";
    static const char documents[] =
        "SELECT 3, p.id, p.pid, p.code, p.title, NULL FROM link l JOIN "
        "proposal p ON p.id = l.dst_id AND p.deleted = 0 WHERE l.type = "
        "'dataset-of-proposal' AND l.src_kind = 4 AND l.src_id = ?1 AND ?2 = "
        "?2 UNION ALL SELECT 9, u.id, u.pid, NULL, u.title, NULL FROM link l "
        "JOIN publication u ON u.id = l.src_id AND u.deleted = 0 WHERE l.type "
        "= 'publication-cites-data' AND l.dst_kind = 4 AND l.dst_id = ?1 "
        "ORDER BY 1, 3";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    STMT(s, main_sql);
    sqlite3_bind_int64(s, 1, id);
    CHECK(step_row(st, s, "reading a dataset", err, "no dataset %lld",
                   (long long)id));
    json_object_set_new(o, "kind", json_string("dataset"));
    set_int(o, "id", s, 0);
    set_text(o, "pid", s, 1);
    set_text(o, "title", s, 2);
    set_text(o, "description", s, 3);
    set_text(o, "doi", s, 4);
    set_int(o, "created", s, 5);
    set_int(o, "size", s, 6);
    set_text(o, "instrument_pid", s, 7);
    set_json(o, "keywords", s, 8);
    set_common(o, s, 9);
    if (sqlite3_column_type(s, 13) != SQLITE_NULL) {
        json_t *i = json_object();
        set_int(i, "id", s, 13);
        set_text(i, "pid", s, 14);
        set_text(i, "name", s, 15);
        set_text(i, "facility", s, 16);
        json_object_set_new(o, "instrument", i);
    }
    sqlite3_reset(s);
    if (flags & PS_LOAD_FILES)
        CHECK(load_rows(st, o, "files", files, id, 0, row_file, err));
    if (flags & PS_LOAD_PARAMETERS)
        CHECK(load_rows(st, o, "parameters", sql_params, id, PS_KIND_DATASET,
                        row_param, err));
    if (flags & PS_LOAD_SAMPLES)
        CHECK(load_rows(st, o, "samples", samples, id, 0, row_sample, err));
    if (flags & PS_LOAD_TECHNIQUES)
        CHECK(load_rows(st, o, "techniques", techniques, id, 0, row_technique,
                        err));
    if (flags & PS_LOAD_DOCUMENTS)
        CHECK(load_rows(st, o, "documents", documents, id, 0, row_document_ref,
                        err));
out:
    return status;
}

static void row_mention(json_t *o, sqlite3_stmt *s)
{
    set_text(o, "kind", s, 0);
    set_text(o, "value", s, 1);
    set_text(o, "facility", s, 2);
    set_text(o, "matched", s, 3);
    set_text(o, "section", s, 4);
    set_int(o, "offset", s, 5);
    set_int(o, "length", s, 6);
    set_text(o, "context", s, 7);
    set_int(o, "context_at", s, 8);
    if (sqlite3_column_type(s, 9) != SQLITE_NULL)
        json_object_set_new(o, "confidence",
                            json_real(sqlite3_column_double(s, 9)));
}

static void row_reference(json_t *o, sqlite3_stmt *s)
{
    set_text(o, "doi", s, 0);
    set_text(o, "raw", s, 1);
}

/* A publication's PDF text (the text columns) and, with PS_LOAD_MENTIONS,
 * its mentions and references. */
static ps_status load_text(ps_store *st, int64_t id, unsigned flags, json_t *o,
                           ps_err *err)
{
    static const char text_sql[] =
        "SELECT full_text, acknowledgements, funding, text_sha256 FROM "
        "publication WHERE id = ?1";
    static const char mentions[] =
        "SELECT kind, value, facility, matched, section, offset, length, "
        "context, context_at, confidence FROM mention WHERE publication_id "
        "= ?1 AND ?2 = ?2 ORDER BY id";
    static const char refs[] =
        "SELECT doi, raw FROM publication_reference WHERE publication_id = "
        "?1 AND ?2 = ?2 ORDER BY position";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    STMT(s, text_sql);
    sqlite3_bind_int64(s, 1, id);
    if (sqlite3_step(s) == SQLITE_ROW) {
        set_text(o, "full_text", s, 0);
        set_text(o, "acknowledgements", s, 1);
        set_text(o, "funding", s, 2);
        set_text(o, "text_sha256", s, 3);
    }
    sqlite3_reset(s);
    if (!(flags & PS_LOAD_MENTIONS))
        goto out;
    CHECK(load_rows(st, o, "mentions", mentions, id, 0, row_mention, err));
    CHECK(load_rows(st, o, "references", refs, id, 0, row_reference, err));
out:
    return status;
}

static ps_status load_document(ps_store *st, ps_kind kind, int64_t id,
                               unsigned flags, json_t *o, ps_err *err)
{
    static const char prop_sql[] =
        "SELECT p.id, p.pid, p.type, p.code, p.title, p.summary, p.doi, "
        "p.license, p.status, p.start_at, p.end_at, p.release_at, NULL, NULL, "
        "p.keywords, p.visibility, p.embargo_until, p.deleted, p.seq, f.name, "
        "NULL, NULL, NULL, NULL, NULL, NULL FROM proposal p LEFT JOIN "
        "facility f ON f.id = p.facility_id WHERE p.id = ?1";
    static const char pub_sql[] =
        "SELECT id, pid, type, NULL, title, abstract, doi, license, NULL, "
        "start_at, end_at, release_at, journal, year, keywords, visibility, "
        "embargo_until, deleted, seq, NULL, volume, issue, pages, publisher, "
        "url, citation_count FROM publication WHERE id = ?1";
    static const char members[] =
        "SELECT m.id, m.role, p.id, p.pid, p.full_name, p.given_name, "
        "p.family_name, p.orcid, i.id, i.pid, i.name, i.address, i.city, "
        "i.country, i.ror FROM member m LEFT JOIN person p ON p.id = "
        "m.person_id LEFT JOIN institution i ON i.id = m.institution_id WHERE "
        "m.doc_id = ?1 AND m.doc_kind = ?2 ORDER BY m.position";
    static const char prop_datasets[] =
        "SELECT d.id, d.pid FROM link l JOIN dataset d ON d.id = l.src_id AND "
        "d.deleted = 0 WHERE l.type = 'dataset-of-proposal' AND l.dst_kind = "
        "3 AND l.dst_id = ?1 AND ?2 = ?2 ORDER BY d.pid";
    static const char pub_datasets[] =
        "SELECT d.id, d.pid FROM link l JOIN dataset d ON d.id = l.dst_id AND "
        "d.deleted = 0 WHERE l.type = 'publication-cites-data' AND l.src_kind "
        "= 9 AND l.src_id = ?1 AND ?2 = ?2 ORDER BY d.pid";
    static const char pub_proposals[] =
        "SELECT 3, p.id, p.pid, p.code, p.title, l.score FROM link l JOIN "
        "proposal p ON p.id = l.dst_id AND p.deleted = 0 WHERE l.type = "
        "'publication-from-proposal' AND l.src_kind = 9 AND l.src_id = ?1 AND "
        "l.state != 2 AND ?2 = ?2 ORDER BY p.pid";
    static const char prop_publications[] =
        "SELECT 9, u.id, u.pid, NULL, u.title, l.score FROM link l JOIN "
        "publication u ON u.id = l.src_id AND u.deleted = 0 WHERE l.type = "
        "'publication-from-proposal' AND l.dst_kind = 3 AND l.dst_id = ?1 AND "
        "l.state != 2 AND ?2 = ?2 ORDER BY u.pid";
    /* The instruments a document's dashboards count it under
     * (PS_LOAD_INSTRUMENTS). A link counts unless rejected or a matcher's
     * unconfirmed candidate. */
#define INSTR_COLS                                                             \
    "SELECT DISTINCT i.pid, i.name, f.name FROM instrument i LEFT JOIN "       \
    "facility f ON f.id = i.facility_id WHERE i.deleted = 0 AND i.id IN "
#define PROP_DATASET_INSTR                                                     \
    "SELECT d.instrument_id FROM link l JOIN dataset d ON d.id = l.src_id "    \
    "AND d.deleted = 0 WHERE l.type = 'dataset-of-proposal' AND l.dst_kind = " \
    "3 AND l.dst_id "
#define LINK_COUNTS "(l.state = 1 OR (l.state = 0 AND l.provenance != 1))"
    static const char prop_instruments[] =
        INSTR_COLS "(" PROP_DATASET_INSTR "= ?1) AND ?2 = ?2 ORDER BY i.pid";
    static const char pub_instruments[] = INSTR_COLS
        "(SELECT d.instrument_id FROM link l JOIN dataset d ON d.id = "
        "l.dst_id AND d.deleted = 0 WHERE l.type = 'publication-cites-data' "
        "AND l.src_kind = 9 AND l.src_id = ?1 AND " LINK_COUNTS
        " UNION " PROP_DATASET_INSTR
        "IN (SELECT l.dst_id FROM link l WHERE l.type = "
        "'publication-from-proposal' AND l.src_kind = 9 AND l.src_id = ?1 AND "
        "l.dst_kind = 3 AND " LINK_COUNTS ")) AND ?2 = ?2 ORDER BY i.pid";
#undef INSTR_COLS
#undef PROP_DATASET_INSTR
#undef LINK_COUNTS
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    int is_prop = kind == PS_KIND_PROPOSAL;
    STMT(s, is_prop ? prop_sql : pub_sql);
    sqlite3_bind_int64(s, 1, id);
    CHECK(step_row(st, s, "reading a document", err, "no %s %lld",
                   ps_kind_name(kind), (long long)id));
    json_object_set_new(o, "kind", json_string(ps_kind_name(kind)));
    set_int(o, "id", s, 0);
    set_text(o, "pid", s, 1);
    set_text(o, "type", s, 2);
    set_text(o, "code", s, 3);
    set_text(o, "title", s, 4);
    set_text(o, "summary", s, 5);
    set_text(o, "doi", s, 6);
    set_text(o, "license", s, 7);
    set_text(o, "status", s, 8);
    set_int(o, "start", s, 9);
    set_int(o, "end", s, 10);
    set_int(o, "release", s, 11);
    set_text(o, "journal", s, 12);
    set_int(o, "year", s, 13);
    set_json(o, "keywords", s, 14);
    set_common(o, s, 15);
    set_text(o, "facility", s, 19);
    set_text(o, "volume", s, 20);
    set_text(o, "issue", s, 21);
    set_text(o, "pages", s, 22);
    set_text(o, "publisher", s, 23);
    set_text(o, "url", s, 24);
    set_int(o, "citation_count", s, 25);
    sqlite3_reset(s);
    if (flags & PS_LOAD_MEMBERS)
        CHECK(load_rows(st, o, "members", members, id, kind, row_member, err));
    if (flags & PS_LOAD_PARAMETERS)
        CHECK(load_rows(st, o, "parameters", sql_params, id, kind, row_param,
                        err));
    if (flags & PS_LOAD_DATASETS)
        CHECK(load_rows(st, o, "datasets",
                        is_prop ? prop_datasets : pub_datasets, id, 0,
                        row_idpid, err));
    if (flags & PS_LOAD_DOCUMENTS)
        CHECK(load_rows(st, o, is_prop ? "publications" : "proposals",
                        is_prop ? prop_publications : pub_proposals, id, 0,
                        row_document_ref, err));
    if ((flags & (PS_LOAD_TEXT | PS_LOAD_MENTIONS)) && !is_prop)
        CHECK(load_text(st, id, flags, o, err));
    if (flags & PS_LOAD_INSTRUMENTS)
        CHECK(load_rows(st, o, "instruments",
                        is_prop ? prop_instruments : pub_instruments, id, 0,
                        row_instrument_ref, err));
out:
    return status;
}

static ps_status load_instrument(ps_store *st, int64_t id, unsigned flags,
                                 json_t *o, ps_err *err)
{
    static const char main_sql[] =
        "SELECT i.id, i.pid, i.name, f.name, i.visibility, i.embargo_until, "
        "i.deleted, i.seq FROM instrument i LEFT JOIN facility f ON f.id = "
        "i.facility_id WHERE i.id = ?1";
    static const char datasets[] =
        "SELECT id, pid FROM dataset WHERE instrument_id = ?1 AND deleted = 0 "
        "AND ?2 = ?2 ORDER BY pid";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    STMT(s, main_sql);
    sqlite3_bind_int64(s, 1, id);
    CHECK(step_row(st, s, "reading an instrument", err, "no instrument %lld",
                   (long long)id));
    json_object_set_new(o, "kind", json_string("instrument"));
    set_int(o, "id", s, 0);
    set_text(o, "pid", s, 1);
    set_text(o, "name", s, 2);
    set_text(o, "facility", s, 3);
    set_common(o, s, 4);
    sqlite3_reset(s);
    if (flags & PS_LOAD_DATASETS)
        CHECK(load_rows(st, o, "datasets", datasets, id, 0, row_idpid, err));
out:
    return status;
}

ps_status ps_store_load(ps_store *st, ps_kind kind, int64_t id, unsigned flags,
                        json_t **out, ps_err *err)
{
    *out = NULL;
    json_t *o = json_object();
    if (!o)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    ps_status rc;
    switch (kind) {
    case PS_KIND_DATASET: rc = load_dataset(st, id, flags, o, err); break;
    case PS_KIND_PROPOSAL:
    case PS_KIND_PUBLICATION:
        rc = load_document(st, kind, id, flags, o, err);
        break;
    case PS_KIND_INSTRUMENT: rc = load_instrument(st, id, flags, o, err); break;
    default:
        rc = ps_err_set(err, PS_ERR_INVALID, "cannot load a %s",
                        ps_kind_name(kind));
    }
    if (rc != PS_OK) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return PS_OK;
}

ps_status ps_store_parameter_units(ps_store *st, const char *name,
                                   const char *unit_si, int *compatible,
                                   char *seen, size_t size, ps_err *err)
{
    /* Two index seeks on parameter_si (name, unit_si, value_si); only an
     * incompatible unit lists the stored ones (each distinct unit found
     * by one seek past the previous, at most five). */
    static const char check_sql[] =
        "SELECT EXISTS (SELECT 1 FROM parameter WHERE name = ?1 AND unit_si "
        "= ?2), EXISTS (SELECT 1 FROM parameter WHERE name = ?1 AND unit_si "
        "> '')";
    static const char next_sql[] =
        "SELECT min(unit_si) FROM parameter WHERE name = ?1 AND unit_si > ?2";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    *compatible = -1;
    if (size)
        seen[0] = '\0';
    STMT(s, check_sql);
    psi_bind_text(s, 1, name);
    psi_bind_text(s, 2, unit_si);
    if (sqlite3_step(s) == SQLITE_ROW)
        *compatible = sqlite3_column_int(s, 0)   ? 1
                      : sqlite3_column_int(s, 1) ? 0
                                                 : -1;
    else
        status = psi_db_error(st, err, "looking up parameter units");
    sqlite3_reset(s);
    if (status != PS_OK || *compatible != 0 || !size)
        goto out;
    STMT(s, next_sql);
    char last[64] = "";
    size_t used = 0;
    for (int k = 0; k < 5; k++) {
        psi_bind_text(s, 1, name);
        psi_bind_text(s, 2, last);
        const char *u = sqlite3_step(s) == SQLITE_ROW
                            ? (const char *)sqlite3_column_text(s, 0)
                            : NULL;
        if (!u || strlen(u) >= sizeof last) {
            sqlite3_reset(s);
            break;
        }
        snprintf(last, sizeof last, "%s", u);
        sqlite3_reset(s);
        int n =
            snprintf(seen + used, size - used, "%s%s", used ? ", " : "", last);
        if (n < 0 || (size_t)n >= size - used)
            break;
        used += (size_t)n;
    }
out:
    return status;
}

ps_status ps_store_find_pid(ps_store *st, ps_kind kind, const char *pid,
                            int64_t *id_out, ps_err *err)
{
    static const char *const sql[PS_KIND_MAX + 1] = {
        [PS_KIND_INSTRUMENT] =
            "SELECT id FROM instrument WHERE pid = ?1 AND deleted = 0",
        [PS_KIND_PROPOSAL] =
            "SELECT id FROM proposal WHERE pid = ?1 AND deleted = 0",
        [PS_KIND_DATASET] =
            "SELECT id FROM dataset WHERE pid = ?1 AND deleted = 0",
        [PS_KIND_PUBLICATION] =
            "SELECT id FROM publication WHERE pid = ?1 AND deleted = 0",
    };
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    *id_out = 0;
    if ((int)kind < 0 || kind > PS_KIND_MAX || !sql[kind] || !pid)
        return ps_err_set(err, PS_ERR_INVALID, "cannot look up a %s by pid",
                          ps_kind_name(kind));
    STMT(s, sql[kind]);
    psi_bind_text(s, 1, pid);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *id_out = sqlite3_column_int64(s, 0);
    else if (rc == SQLITE_DONE)
        status = ps_err_set(err, PS_ERR_NOTFOUND, "no %s with pid %s",
                            ps_kind_name(kind), pid);
    else
        status = psi_db_error(st, err, "looking up a pid");
    sqlite3_reset(s);
out:
    return status;
}

/* ---- pages, counts ------------------------------------------------------ */

/* Step s (columns kind, id, pid) into out[0..max); the statement is reset
 * and, on failure, the rows read so far are freed. */
static ps_status read_rows(ps_store *st, sqlite3_stmt *s, ps_store_row *out,
                           size_t max, size_t *n_out, ps_err *err)
{
    int rc = SQLITE_DONE;
    size_t n = 0;
    ps_status status = PS_OK;
    while (n < max) {
        rc = sqlite3_step(s);
        if (rc != SQLITE_ROW)
            break;
        out[n].kind = (ps_kind)sqlite3_column_int(s, 0);
        out[n].id = sqlite3_column_int64(s, 1);
        out[n].pid = ps_strdup((const char *)sqlite3_column_text(s, 2));
        if (!out[n].pid) {
            status = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
            break;
        }
        n++;
    }
    if (status == PS_OK && n < max && rc != SQLITE_DONE)
        status = psi_db_error(st, err, "listing records");
    sqlite3_reset(s);
    if (status != PS_OK) {
        ps_store_rows_free(out, n);
        n = 0;
    }
    *n_out = n;
    return status;
}

#define VISIBLE_AT                                                             \
    " AND (?2 = 0 OR visibility = 0 OR (visibility = 1 AND embargo_until <= "  \
    "?2))"
#define PAGE_SQL(k, t)                                                         \
    "SELECT " k ", id, pid FROM " t                                            \
    " WHERE deleted = 0 AND (pid > ?1 OR (pid = ?1 AND " k                     \
    " > ?5))" VISIBLE_AT " ORDER BY pid LIMIT ?3 OFFSET ?4"
#define COUNT_SQL(t) "SELECT count(*) FROM " t " WHERE deleted = 0" VISIBLE_AT

ps_status ps_store_page(ps_store *st, ps_kind kind, const char *after_pid,
                        ps_kind after_kind, int64_t offset, int64_t now_ms,
                        ps_store_row *out, size_t max, size_t *n_out,
                        ps_err *err)
{
    /* Keyset paging on (pid, kind): a proposal and a publication may share
     * a pid, and a page may end between them. */
    static const char *const sql[PS_KIND_MAX + 1] = {
        [PS_KIND_NONE] =
            "SELECT kind, id, pid FROM (SELECT 3 AS kind, id, pid FROM "
            "proposal WHERE deleted = 0 AND (pid > ?1 OR (pid = ?1 AND 3 > "
            "?5))" VISIBLE_AT " UNION ALL SELECT 9, id, pid FROM publication "
            "WHERE deleted = 0 AND (pid > ?1 OR (pid = ?1 AND 9 > "
            "?5))" VISIBLE_AT ") ORDER BY pid, kind LIMIT ?3 OFFSET ?4",
        [PS_KIND_INSTRUMENT] = PAGE_SQL("2", "instrument"),
        [PS_KIND_PROPOSAL] = PAGE_SQL("3", "proposal"),
        [PS_KIND_DATASET] = PAGE_SQL("4", "dataset"),
        [PS_KIND_PUBLICATION] = PAGE_SQL("9", "publication"),
    };
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    *n_out = 0;
    if ((int)kind < 0 || kind > PS_KIND_MAX || !sql[kind])
        return ps_err_set(err, PS_ERR_INVALID, "cannot page %s records",
                          ps_kind_name(kind));
    STMT(s, sql[kind]);
    psi_bind_text(s, 1, after_pid ? after_pid : "");
    sqlite3_bind_int64(s, 2, now_ms);
    sqlite3_bind_int64(s, 3, (int64_t)max);
    sqlite3_bind_int64(s, 4, offset > 0 ? offset : 0);
    sqlite3_bind_int(s, 5, after_pid ? (int)after_kind : 0);
    status = read_rows(st, s, out, max, n_out, err);
out:
    return status;
}

#define ALL_ARM(k, t)                                                          \
    "SELECT " k " AS kind, id, pid FROM " t " WHERE deleted = 0 AND (pid > "   \
    "?1 OR (pid = ?1 AND " k " > ?2)) AND (?3 IS NULL OR pid < ?3)"

ps_status ps_store_page_all(ps_store *st, const char *after_pid,
                            ps_kind after_kind, const char *below_pid,
                            ps_store_row *out, size_t max, size_t *n_out,
                            ps_err *err)
{
    /* clang-format off */
    static const char sql[] =
        "SELECT kind, id, pid FROM ("
        ALL_ARM("2", "instrument") " UNION ALL "
        ALL_ARM("3", "proposal") " UNION ALL "
        ALL_ARM("4", "dataset") " UNION ALL "
        ALL_ARM("9", "publication")
        ") ORDER BY pid, kind LIMIT ?4";
    /* clang-format on */
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    *n_out = 0;
    STMT(s, sql);
    psi_bind_text(s, 1, after_pid ? after_pid : "");
    sqlite3_bind_int(s, 2, (int)after_kind);
    psi_bind_text(s, 3, below_pid);
    sqlite3_bind_int64(s, 4, (int64_t)max);
    status = read_rows(st, s, out, max, n_out, err);
out:
    return status;
}

ps_status ps_store_nth_pid(ps_store *st, int64_t n, char **pid_out, ps_err *err)
{
    static const char sql[] =
        "SELECT pid FROM (SELECT pid FROM instrument WHERE deleted = 0 UNION "
        "ALL SELECT pid FROM proposal WHERE deleted = 0 UNION ALL SELECT pid "
        "FROM dataset WHERE deleted = 0 UNION ALL SELECT pid FROM publication "
        "WHERE deleted = 0) ORDER BY pid LIMIT 1 OFFSET ?1";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    *pid_out = NULL;
    STMT(s, sql);
    sqlite3_bind_int64(s, 1, n);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *pid_out = ps_strdup((const char *)sqlite3_column_text(s, 0));
        if (!*pid_out)
            status = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    } else if (rc != SQLITE_DONE) {
        status = psi_db_error(st, err, "listing records");
    }
    sqlite3_reset(s);
out:
    return status;
}

void ps_store_rows_free(ps_store_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++) {
        ps_free(rows[i].pid);
        rows[i].pid = NULL;
    }
}

ps_status ps_store_count(ps_store *st, ps_kind kind, int64_t now_ms,
                         int64_t *out, ps_err *err)
{
    static const char *const sql[PS_KIND_MAX + 1] = {
        [PS_KIND_NONE] = "SELECT (" COUNT_SQL("proposal") ") + (" COUNT_SQL(
            "publication") ")",
        [PS_KIND_INSTRUMENT] = COUNT_SQL("instrument"),
        [PS_KIND_PROPOSAL] = COUNT_SQL("proposal"),
        [PS_KIND_DATASET] = COUNT_SQL("dataset"),
        [PS_KIND_PUBLICATION] = COUNT_SQL("publication"),
    };
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    *out = 0;
    if ((int)kind < 0 || kind > PS_KIND_MAX || !sql[kind])
        return ps_err_set(err, PS_ERR_INVALID, "cannot count %s records",
                          ps_kind_name(kind));
    STMT(s, sql[kind]);
    sqlite3_bind_int64(s, 2, now_ms);
    if (sqlite3_step(s) == SQLITE_ROW)
        *out = sqlite3_column_int64(s, 0);
    else
        status = psi_db_error(st, err, "counting records");
    sqlite3_reset(s);
out:
    return status;
}

#define IDS_SQL(t)                                                             \
    "SELECT id FROM " t " WHERE deleted = 0 AND id > ?1 AND id % ?2 = ?3 "     \
    "ORDER BY id LIMIT ?4"

ps_status ps_store_ids(ps_store *st, ps_kind kind, int64_t after_id, int stride,
                       int offset, int64_t *out, size_t max, size_t *n_out,
                       ps_err *err)
{
    static const char *const sql[PS_KIND_MAX + 1] = {
        [PS_KIND_INSTRUMENT] = IDS_SQL("instrument"),
        [PS_KIND_PROPOSAL] = IDS_SQL("proposal"),
        [PS_KIND_DATASET] = IDS_SQL("dataset"),
        [PS_KIND_PUBLICATION] = IDS_SQL("publication"),
    };
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    *n_out = 0;
    if ((int)kind < 0 || kind > PS_KIND_MAX || !sql[kind] || stride < 1)
        return ps_err_set(err, PS_ERR_INVALID, "cannot list %s ids",
                          ps_kind_name(kind));
    STMT(s, sql[kind]);
    sqlite3_bind_int64(s, 1, after_id);
    sqlite3_bind_int(s, 2, stride);
    sqlite3_bind_int(s, 3, offset);
    sqlite3_bind_int64(s, 4, (int64_t)max);
    int rc = SQLITE_DONE;
    size_t n = 0;
    while (n < max) {
        rc = sqlite3_step(s);
        if (rc != SQLITE_ROW)
            break;
        out[n++] = sqlite3_column_int64(s, 0);
    }
    if (n < max && rc != SQLITE_DONE)
        status = psi_db_error(st, err, "listing records");
    sqlite3_reset(s);
    *n_out = n;
out:
    return status;
}

/* ---- the change feed ---------------------------------------------------- */

ps_status ps_store_changes(ps_store *st, int64_t after, ps_change *out,
                           size_t max, size_t *n_out, ps_err *err)
{
    static const char sql[] =
        "SELECT seq, kind, rec_id FROM change WHERE seq > ?1 ORDER BY seq "
        "LIMIT ?2";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    *n_out = 0;
    STMT(s, sql);
    sqlite3_bind_int64(s, 1, after);
    sqlite3_bind_int64(s, 2, (int64_t)max);
    int rc = SQLITE_DONE;
    size_t n = 0;
    while (n < max) {
        rc = sqlite3_step(s);
        if (rc != SQLITE_ROW)
            break;
        out[n].seq = sqlite3_column_int64(s, 0);
        out[n].kind = (ps_kind)sqlite3_column_int(s, 1);
        out[n].id = sqlite3_column_int64(s, 2);
        n++;
    }
    if (n < max && rc != SQLITE_DONE)
        status = psi_db_error(st, err, "reading the change feed");
    sqlite3_reset(s);
    *n_out = n;
out:
    return status;
}

ps_status ps_store_max_seq(ps_store *st, int64_t *out, ps_err *err)
{
    static const char sql[] =
        "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = "
        "'change'), 0)";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    STMT(s, sql);
    if (sqlite3_step(s) == SQLITE_ROW)
        *out = sqlite3_column_int64(s, 0);
    else
        status = psi_db_error(st, err, "reading the change feed");
    sqlite3_reset(s);
out:
    return status;
}

ps_status ps_store_pending(ps_store *st, int64_t after, int64_t *out,
                           ps_err *err)
{
    static const char sql[] = "SELECT count(*) FROM change WHERE seq > ?1";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    STMT(s, sql);
    sqlite3_bind_int64(s, 1, after);
    if (sqlite3_step(s) == SQLITE_ROW)
        *out = sqlite3_column_int64(s, 0);
    else
        status = psi_db_error(st, err, "reading the change feed");
    sqlite3_reset(s);
out:
    return status;
}

/* ---- status ------------------------------------------------------------- */

ps_status ps_store_stats(ps_store *st, json_t **out, ps_err *err)
{
    static const char counts[] =
        "SELECT 'facility', sum(deleted = 0), sum(deleted) FROM facility "
        "UNION ALL SELECT 'instrument', sum(deleted = 0), sum(deleted) FROM "
        "instrument UNION ALL SELECT 'proposal', sum(deleted = 0), "
        "sum(deleted) FROM proposal UNION ALL SELECT 'dataset', sum(deleted = "
        "0), sum(deleted) FROM dataset UNION ALL SELECT 'publication', "
        "sum(deleted = 0), sum(deleted) FROM publication UNION ALL SELECT "
        "'person', sum(deleted = 0), sum(deleted) FROM person UNION ALL "
        "SELECT 'institution', sum(deleted = 0), sum(deleted) FROM "
        "institution UNION ALL SELECT 'file', count(*), 0 FROM file UNION ALL "
        "SELECT 'sample', count(*), 0 FROM sample UNION ALL SELECT "
        "'technique', count(*), 0 FROM technique UNION ALL SELECT "
        "'parameter', count(*), 0 FROM parameter UNION ALL SELECT 'link', "
        "count(*), 0 FROM link UNION ALL SELECT 'collection', sum(deleted = "
        "0), sum(deleted) FROM collection";
    static const char sources[] =
        "SELECT id, name, type, url FROM source ORDER BY name";
    static const char per_source[] =
        "SELECT kind, count(*) FROM provenance WHERE source_id = ?1 GROUP BY "
        "kind ORDER BY kind";
    static const char last_run[] =
        "SELECT id, state, started_at, finished_at, seen, inserted, updated, "
        "unchanged, deleted, rejected, message FROM harvest_run WHERE "
        "source_id = ?1 ORDER BY id DESC LIMIT 1";
    static const char checkpoint[] =
        "SELECT key, value, updated_at FROM source_state WHERE source_id = ?1 "
        "ORDER BY key";
    static const char *const states[] = {"running", "ok", "partial", "failed",
                                         "interrupted"};
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    *out = NULL;
    json_t *root = json_object(), *ents = json_object(), *tombs = json_object();
    json_t *srcs = json_array();
    int64_t *ids = NULL;
    size_t nsrc = 0;
    if (!root || !ents || !tombs || !srcs)
        FAIL(ps_err_set(err, PS_ERR_NOMEM, "out of memory"));
    json_object_set_new(root, "schema",
                        json_integer(ps_store_schema_version(st)));
    int64_t maxseq = 0;
    CHECK(ps_store_max_seq(st, &maxseq, err));
    json_object_set_new(root, "max_seq", json_integer(maxseq));
    STMT(s, counts);
    while (sqlite3_step(s) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(s, 0);
        json_object_set_new(ents, k, json_integer(sqlite3_column_int64(s, 1)));
        if (sqlite3_column_int64(s, 2))
            json_object_set_new(tombs, k,
                                json_integer(sqlite3_column_int64(s, 2)));
    }
    sqlite3_reset(s);

    STMT(s, sources);
    while (sqlite3_step(s) == SQLITE_ROW) {
        json_t *src = json_object();
        int64_t *p = ps_realloc(ids, (nsrc + 1) * sizeof *ids);
        if (!src || !p) {
            json_decref(src);
            if (p)
                ids = p;
            sqlite3_reset(s);
            FAIL(ps_err_set(err, PS_ERR_NOMEM, "out of memory"));
        }
        ids = p;
        ids[nsrc++] = sqlite3_column_int64(s, 0);
        set_text(src, "name", s, 1);
        set_text(src, "type", s, 2);
        set_text(src, "url", s, 3);
        json_array_append_new(srcs, src);
    }
    sqlite3_reset(s);
    for (size_t i = 0; i < nsrc; i++) {
        json_t *src = json_array_get(srcs, i);
        json_t *rec = json_object();
        STMT(s, per_source);
        sqlite3_bind_int64(s, 1, ids[i]);
        while (sqlite3_step(s) == SQLITE_ROW)
            json_object_set_new(rec,
                                ps_kind_name((ps_kind)sqlite3_column_int(s, 0)),
                                json_integer(sqlite3_column_int64(s, 1)));
        sqlite3_reset(s);
        json_object_set_new(src, "records", rec);
        STMT(s, last_run);
        sqlite3_bind_int64(s, 1, ids[i]);
        if (sqlite3_step(s) == SQLITE_ROW) {
            json_t *run = json_object();
            int state = sqlite3_column_int(s, 1);
            set_int(run, "id", s, 0);
            json_object_set_new(
                run, "state",
                json_string(states[state >= 0 && state <= 4 ? state : 4]));
            set_int(run, "started", s, 2);
            set_int(run, "finished", s, 3);
            set_int(run, "seen", s, 4);
            set_int(run, "inserted", s, 5);
            set_int(run, "updated", s, 6);
            set_int(run, "unchanged", s, 7);
            set_int(run, "deleted", s, 8);
            set_int(run, "rejected", s, 9);
            set_text(run, "message", s, 10);
            json_object_set_new(src, "last_run", run);
        }
        sqlite3_reset(s);
        /* The resume state: where the next run starts. */
        json_t *cp = json_object();
        STMT(s, checkpoint);
        sqlite3_bind_int64(s, 1, ids[i]);
        while (cp && sqlite3_step(s) == SQLITE_ROW) {
            const char *key = (const char *)sqlite3_column_text(s, 0);
            const char *val = (const char *)sqlite3_column_text(s, 1);
            if (key && val)
                json_object_set_new(cp, key, json_string(val));
        }
        sqlite3_reset(s);
        if (cp)
            json_object_set_new(src, "checkpoint", cp);
        /* A pdf source's ledger: how many of its PDFs were read. */
        int64_t pdfs[3];
        CHECK(ps_store_pdf_file_counts(st, ids[i], pdfs, err));
        if (pdfs[0] + pdfs[1] + pdfs[2])
            json_object_set_new(src, "pdfs",
                                json_pack("{s:I,s:I,s:I}", "extracted",
                                          (json_int_t)pdfs[0], "no_text",
                                          (json_int_t)pdfs[1], "failed",
                                          (json_int_t)pdfs[2]));
    }
    json_object_set_new(root, "entities", ents);
    json_object_set_new(root, "tombstones", tombs);
    json_object_set_new(root, "sources", srcs);
    ents = tombs = srcs = NULL;
    *out = root;
    root = NULL;
out:
    ps_free(ids);
    json_decref(root);
    json_decref(ents);
    json_decref(tombs);
    json_decref(srcs);
    return status;
}

/* ---- display names ------------------------------------------------------ */

ps_status ps_store_names(ps_store *st, const char *what, ps_store_name_fn fn,
                         void *arg, ps_err *err)
{
    static const struct {
        const char *what, *sql;
    } lists[] = {
        {"instrument", "SELECT pid, name FROM instrument WHERE deleted = 0"},
        {"institution", "SELECT pid, name FROM institution WHERE deleted = 0"},
        {"person", "SELECT pid, full_name FROM person WHERE deleted = 0"},
        {"institution-country", "SELECT pid, country FROM institution WHERE "
                                "deleted = 0 AND country IS NOT NULL"},
        {"technique", "SELECT iri, label FROM technique_term"},
    };
    const char *sql = NULL;
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
        if (what && strcmp(lists[i].what, what) == 0)
            sql = lists[i].sql;
    if (!sql || !fn)
        return ps_err_set(err, PS_ERR_INVALID, "ps_store_names: bad argument");
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    STMT(s, sql);
    int rc;
    for (;;) {
        rc = sqlite3_step(s);
        if (rc != SQLITE_ROW)
            break;
        const char *pid = (const char *)sqlite3_column_text(s, 0);
        const char *name = (const char *)sqlite3_column_text(s, 1);
        if (pid && name)
            fn(arg, pid, name);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        FAIL(psi_db_error(st, err, "reading names"));
out:
    return status;
}

ps_status ps_store_instrument_history(ps_store *st, const char *pid,
                                      json_t **out, ps_err *err)
{
    static const char main_sql[] =
        "SELECT i.id, i.pid, i.name, f.name FROM instrument i LEFT JOIN "
        "facility f ON f.id = i.facility_id WHERE i.pid = ?1 AND i.deleted = 0";
    static const char names_sql[] =
        "SELECT name, valid_from, valid_to FROM instrument_name WHERE "
        "instrument_id = ?1 ORDER BY coalesce(valid_from, 0), id";
    *out = NULL;
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    json_t *o = json_object(), *names = json_array();
    if (!o || !names)
        FAIL(ps_err_set(err, PS_ERR_NOMEM, "out of memory"));
    STMT(s, main_sql);
    sqlite3_bind_text(s, 1, pid ? pid : "", -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(s);
        FAIL(rc == SQLITE_DONE
                 ? ps_err_set(err, PS_ERR_NOTFOUND, "no instrument \"%s\"", pid)
                 : psi_db_error(st, err, "reading an instrument"));
    }
    int64_t id = sqlite3_column_int64(s, 0);
    set_text(o, "pid", s, 1);
    set_text(o, "name", s, 2);
    set_text(o, "facility", s, 3);
    sqlite3_reset(s);
    STMT(s, names_sql);
    sqlite3_bind_int64(s, 1, id);
    for (;;) {
        rc = sqlite3_step(s);
        if (rc != SQLITE_ROW)
            break;
        json_t *n = json_object();
        if (!n)
            break;
        set_text(n, "name", s, 0);
        for (int c = 1; c <= 2; c++) {
            char when[PS_TIME_BUFSZ];
            json_object_set_new(n, c == 1 ? "from" : "to",
                                sqlite3_column_type(s, c) == SQLITE_NULL
                                    ? json_null()
                                    : json_string(ps_time_format(
                                          sqlite3_column_int64(s, c), when)));
        }
        json_array_append_new(names, n);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        FAIL(psi_db_error(st, err, "reading an instrument's names"));
    json_object_set_new(o, "names", names);
    names = NULL;
    *out = o;
    o = NULL;
out:
    json_decref(o);
    json_decref(names);
    return status;
}

ps_status ps_store_facility_instruments(ps_store *st, const char *facility,
                                        json_t **out, ps_err *err)
{
    static const char sql[] =
        "SELECT i.pid, i.name, f.name FROM instrument i JOIN facility f ON "
        "f.id = i.facility_id WHERE i.deleted = 0 AND (f.name = ?1 OR "
        "upper(f.name) = upper(?1) OR f.pid = ?1) ORDER BY i.name, i.pid";
    *out = NULL;
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    json_t *arr = json_array();
    if (!arr)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    STMT(s, sql);
    sqlite3_bind_text(s, 1, facility ? facility : "", -1, SQLITE_TRANSIENT);
    int rc;
    for (;;) {
        rc = sqlite3_step(s);
        if (rc != SQLITE_ROW)
            break;
        json_t *o = json_object();
        if (!o)
            break;
        row_instrument_ref(o, s);
        json_array_append_new(arr, o);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        FAIL(psi_db_error(st, err, "reading a facility's instruments"));
    *out = arr;
    arr = NULL;
out:
    json_decref(arr);
    return status;
}
