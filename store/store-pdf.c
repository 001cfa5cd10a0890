/*
 * store-pdf.c: what publication PDFs add to the store. A publication's PDF
 * text (full text, acknowledgements, funding), its references and the
 * mentions found in it are written here, apart from the publication's
 * metadata: whichever source wrote the metadata (a PDF's own guess, or
 * Crossref's deposit that outranks it), the text stays the PDF's. The pdf
 * source's ledger (pdf_file) remembers each location's content hash so a
 * PDF is fetched and extracted once; pdf_link holds the PDF URLs harvested
 * records give. Also the instrument names the mention matcher learns.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "store-private.h"

#include <stdlib.h>
#include <string.h>

static char *dup_col(sqlite3_stmt *s, int i)
{
    const char *v = (const char *)sqlite3_column_text(s, i);
    return v ? ps_strdup(v) : NULL;
}

ps_status ps_store_put_publication_text(ps_store *st, int64_t pub_id,
                                        const ps_pub_text_in *in,
                                        int *changed_out, ps_err *err)
{
    static const char same[] =
        "SELECT text_sha256 IS NOT NULL AND text_sha256 = ?2 FROM publication "
        "WHERE id = ?1";
    static const char upd[] =
        "UPDATE publication SET full_text = ?2, acknowledgements = ?3, "
        "funding = ?4, text_sha256 = ?5 WHERE id = ?1";
    static const char del_mentions[] =
        "DELETE FROM mention WHERE publication_id = ?1";
    static const char ins_mention[] =
        "INSERT INTO mention (publication_id, kind, value, facility, matched, "
        "section, offset, length, context, context_at, confidence) VALUES "
        "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
    static const char del_refs[] =
        "DELETE FROM publication_reference WHERE publication_id = ?1";
    static const char ins_ref[] =
        "INSERT INTO publication_reference (publication_id, position, doi, "
        "raw) VALUES (?1, ?2, ?3, ?4)";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    int own = 0;
    if (changed_out)
        *changed_out = 0;
    if (!in || pub_id <= 0)
        return ps_err_set(err, PS_ERR_INVALID,
                          "publication text needs a publication");
    CHECK(psi_begin_maybe(st, &own, err));
    STMT(s, same);
    sqlite3_bind_int64(s, 1, pub_id);
    psi_bind_text(s, 2, in->sha256);
    int rc = sqlite3_step(s);
    int unchanged = rc == SQLITE_ROW && sqlite3_column_int(s, 0);
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        FAIL(ps_err_set(err, PS_ERR_NOTFOUND, "no publication %lld",
                        (long long)pub_id));
    if (rc != SQLITE_ROW)
        FAIL(psi_db_error(st, err, "reading a publication"));
    if (unchanged)
        goto out;

    STMT(s, upd);
    sqlite3_bind_int64(s, 1, pub_id);
    psi_bind_text(s, 2, in->full_text);
    psi_bind_text(s, 3, in->acknowledgements);
    psi_bind_text(s, 4, in->funding);
    psi_bind_text(s, 5, in->sha256);
    CHECK(psi_step_done(st, s, err, "recording a publication's text"));
    STMT(s, del_mentions);
    sqlite3_bind_int64(s, 1, pub_id);
    CHECK(psi_step_done(st, s, err, "replacing mentions"));
    for (size_t i = 0; i < in->nmentions; i++) {
        const ps_mention_in *m = &in->mentions[i];
        if (!m->kind || !m->value)
            continue;
        STMT(s, ins_mention);
        sqlite3_bind_int64(s, 1, pub_id);
        psi_bind_text(s, 2, m->kind);
        psi_bind_text(s, 3, m->value);
        psi_bind_text(s, 4, m->facility);
        psi_bind_text(s, 5, m->matched);
        psi_bind_text(s, 6, m->section);
        sqlite3_bind_int64(s, 7, m->offset);
        sqlite3_bind_int64(s, 8, m->length);
        psi_bind_text(s, 9, m->context);
        sqlite3_bind_int64(s, 10, m->context_at);
        sqlite3_bind_double(s, 11, m->confidence);
        CHECK(psi_step_done(st, s, err, "recording a mention"));
    }
    STMT(s, del_refs);
    sqlite3_bind_int64(s, 1, pub_id);
    CHECK(psi_step_done(st, s, err, "replacing references"));
    for (size_t i = 0; i < in->nrefs; i++) {
        STMT(s, ins_ref);
        sqlite3_bind_int64(s, 1, pub_id);
        sqlite3_bind_int64(s, 2, (int64_t)i);
        psi_bind_text(s, 3, in->refs[i].doi);
        psi_bind_text(s, 4, in->refs[i].raw);
        CHECK(psi_step_done(st, s, err, "recording a reference"));
    }
    CHECK(psi_touch(st, PS_KIND_PUBLICATION, pub_id, err));
    if (changed_out)
        *changed_out = 1;
out:
    return psi_end(st, own, status, err);
}

/* ---- the ledger --------------------------------------------------------- */

void ps_pdf_file_clear(ps_pdf_file *f)
{
    if (!f)
        return;
    ps_free((char *)f->location);
    ps_free((char *)f->sha256);
    ps_free((char *)f->message);
    memset(f, 0, sizeof *f);
}

/* A ledger row from columns location, sha256, size, mtime, pages, state,
 * message, publication_id (copies of the strings). */
static void read_file_row(sqlite3_stmt *s, ps_pdf_file *out)
{
    out->location = dup_col(s, 0);
    out->sha256 = dup_col(s, 1);
    out->size = sqlite3_column_int64(s, 2);
    out->mtime = sqlite3_column_int64(s, 3);
    out->pages = sqlite3_column_int(s, 4);
    out->state = (ps_pdf_state)sqlite3_column_int(s, 5);
    out->message = dup_col(s, 6);
    out->publication_id = sqlite3_column_int64(s, 7);
}

ps_status ps_store_pdf_file_get(ps_store *st, int64_t source_id,
                                const char *location, ps_pdf_file *out,
                                int *found_out, ps_err *err)
{
    static const char sql[] =
        "SELECT location, sha256, size, mtime, pages, state, message, "
        "publication_id FROM pdf_file WHERE source_id = ?1 AND location = ?2";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    memset(out, 0, sizeof *out);
    *found_out = 0;
    STMT(s, sql);
    sqlite3_bind_int64(s, 1, source_id);
    psi_bind_text(s, 2, location);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        read_file_row(s, out);
        *found_out = 1;
    } else if (rc != SQLITE_DONE) {
        status = psi_db_error(st, err, "reading the PDF ledger");
    }
    sqlite3_reset(s);
out:
    return status;
}

ps_status ps_store_pdf_by_hash(ps_store *st, const char *sha256,
                               ps_pdf_file *out, int64_t *source_out,
                               int *found_out, ps_err *err)
{
    /* An extraction that gave a live publication first, then any other. */
    static const char sql[] =
        "SELECT f.location, f.sha256, f.size, f.mtime, f.pages, f.state, "
        "f.message, coalesce(u.id, 0), f.source_id FROM pdf_file f LEFT JOIN "
        "publication u ON u.id = f.publication_id AND u.deleted = 0 WHERE "
        "f.sha256 = ?1 ORDER BY u.id IS NULL, f.id LIMIT 1";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    memset(out, 0, sizeof *out);
    *found_out = 0;
    *source_out = 0;
    STMT(s, sql);
    psi_bind_text(s, 1, sha256);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        read_file_row(s, out);
        *source_out = sqlite3_column_int64(s, 8);
        *found_out = 1;
    } else if (rc != SQLITE_DONE) {
        status = psi_db_error(st, err, "reading the PDF ledger");
    }
    sqlite3_reset(s);
out:
    return status;
}

ps_status ps_store_pdf_share(ps_store *st, int64_t from_source,
                             const char *from_location, int64_t to_source,
                             const char *to_location, int64_t run_id,
                             int *copied_out, ps_err *err)
{
    static const char sql[] =
        "INSERT INTO provenance (kind, rec_id, source_id, remote_id, "
        "raw_hash, raw, first_harvested_at, harvested_at, last_run) SELECT "
        "p.kind, p.rec_id, ?3, ?4, p.raw_hash, p.raw, ?6, ?6, ?5 FROM "
        "provenance p JOIN publication u ON u.id = p.rec_id AND u.deleted = 0 "
        "WHERE p.source_id = ?1 AND p.kind = 9 AND p.remote_id = ?2 AND "
        "true ON CONFLICT (source_id, kind, remote_id) DO UPDATE SET rec_id = "
        "excluded.rec_id, raw_hash = excluded.raw_hash, raw = excluded.raw, "
        "harvested_at = excluded.harvested_at, last_run = excluded.last_run";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    *copied_out = 0;
    STMT(s, sql);
    sqlite3_bind_int64(s, 1, from_source);
    psi_bind_text(s, 2, from_location);
    sqlite3_bind_int64(s, 3, to_source);
    psi_bind_text(s, 4, to_location);
    psi_bind_i64_or_null(s, 5, run_id, 0);
    sqlite3_bind_int64(s, 6, ps_now_ms());
    CHECK(psi_step_done(st, s, err, "sharing a PDF's record"));
    *copied_out = sqlite3_changes(st->db) > 0;
out:
    return status;
}

ps_status ps_store_pdf_file_put(ps_store *st, int64_t source_id, int64_t run_id,
                                const ps_pdf_file *f, ps_err *err)
{
    static const char sql[] =
        "INSERT INTO pdf_file (source_id, location, sha256, size, mtime, "
        "pages, state, message, publication_id, extracted_at, last_run) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) ON CONFLICT "
        "(source_id, location) DO UPDATE SET sha256 = excluded.sha256, size "
        "= excluded.size, mtime = excluded.mtime, pages = excluded.pages, "
        "state = excluded.state, message = excluded.message, publication_id "
        "= excluded.publication_id, extracted_at = CASE WHEN "
        "pdf_file.sha256 IS excluded.sha256 THEN pdf_file.extracted_at ELSE "
        "excluded.extracted_at END, last_run = excluded.last_run";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    if (!f || !f->location)
        return ps_err_set(err, PS_ERR_INVALID, "a PDF needs a location");
    STMT(s, sql);
    sqlite3_bind_int64(s, 1, source_id);
    psi_bind_text(s, 2, f->location);
    psi_bind_text(s, 3, f->sha256);
    sqlite3_bind_int64(s, 4, f->size);
    sqlite3_bind_int64(s, 5, f->mtime);
    sqlite3_bind_int(s, 6, f->pages);
    sqlite3_bind_int(s, 7, (int)f->state);
    psi_bind_text(s, 8, f->message);
    psi_bind_i64_or_null(s, 9, f->publication_id, 0);
    sqlite3_bind_int64(s, 10, ps_now_ms());
    psi_bind_i64_or_null(s, 11, run_id, 0);
    CHECK(psi_step_done(st, s, err, "recording a PDF"));
out:
    return status;
}

ps_status ps_store_pdf_file_sweep(ps_store *st, int64_t source_id,
                                  int64_t run_id, int64_t *n_out, ps_err *err)
{
    static const char sql[] = "DELETE FROM pdf_file WHERE source_id = ?1 AND "
                              "(last_run IS NULL OR last_run != ?2)";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    if (n_out)
        *n_out = 0;
    STMT(s, sql);
    sqlite3_bind_int64(s, 1, source_id);
    sqlite3_bind_int64(s, 2, run_id);
    CHECK(psi_step_done(st, s, err, "forgetting PDFs"));
    if (n_out)
        *n_out = sqlite3_changes(st->db);
out:
    return status;
}

ps_status ps_store_pdf_file_counts(ps_store *st, int64_t source_id,
                                   int64_t counts[3], ps_err *err)
{
    static const char sql[] = "SELECT state, count(*) FROM pdf_file WHERE "
                              "source_id = ?1 GROUP BY state";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    counts[0] = counts[1] = counts[2] = 0;
    STMT(s, sql);
    sqlite3_bind_int64(s, 1, source_id);
    int rc;
    for (;;) {
        rc = sqlite3_step(s);
        if (rc != SQLITE_ROW)
            break;
        int k = sqlite3_column_int(s, 0);
        if (k >= 0 && k < 3)
            counts[k] = sqlite3_column_int64(s, 1);
    }
    if (rc != SQLITE_DONE)
        status = psi_db_error(st, err, "counting PDFs");
    sqlite3_reset(s);
out:
    return status;
}

/* ---- PDF links of harvested records ------------------------------------- */

ps_status ps_store_put_pdf_link(ps_store *st, int64_t source_id, int64_t pub_id,
                                const char *url, ps_err *err)
{
    static const char sql[] =
        "INSERT INTO pdf_link (publication_id, url, source_id) VALUES (?1, "
        "?2, ?3) ON CONFLICT (publication_id, url) DO NOTHING";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    if (!url || !*url || pub_id <= 0)
        return ps_err_set(err, PS_ERR_INVALID,
                          "a PDF link needs a publication and a URL");
    STMT(s, sql);
    sqlite3_bind_int64(s, 1, pub_id);
    psi_bind_text(s, 2, url);
    psi_bind_i64_or_null(s, 3, source_id, 0);
    CHECK(psi_step_done(st, s, err, "recording a PDF link"));
out:
    return status;
}

/* Call fn with the three text columns of each row of sql (no parameters)
 * until it returns non-zero. */
typedef int (*row3_fn)(void *ctx, const char *a, const char *b, const char *c);
static ps_status each_row3(ps_store *st, const char *sql, row3_fn fn, void *ctx,
                           const char *what, ps_err *err)
{
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    STMT(s, sql);
    int rc;
    for (;;) {
        rc = sqlite3_step(s);
        if (rc != SQLITE_ROW)
            break;
        if (fn(ctx, (const char *)sqlite3_column_text(s, 0),
               (const char *)sqlite3_column_text(s, 1),
               (const char *)sqlite3_column_text(s, 2))) {
            rc = SQLITE_DONE;
            break;
        }
    }
    if (rc != SQLITE_DONE)
        status = psi_db_error(st, err, what);
    sqlite3_reset(s);
out:
    return status;
}

ps_status ps_store_pdf_links(ps_store *st,
                             int (*fn)(void *ctx, const char *pid,
                                       const char *doi, const char *url),
                             void *ctx, ps_err *err)
{
    static const char sql[] =
        "SELECT u.pid, u.doi, l.url FROM pdf_link l JOIN publication u ON "
        "u.id = l.publication_id AND u.deleted = 0 ORDER BY u.id, l.url";
    return each_row3(st, sql, fn, ctx, "reading PDF links", err);
}

/* ---- instrument names for the mention matcher ---------------------------- */

ps_status ps_store_instrument_names(ps_store *st,
                                    int (*fn)(void *ctx, const char *facility,
                                              const char *name,
                                              const char *aliases),
                                    void *ctx, ps_err *err)
{
    static const char sql[] =
        "SELECT f.name, i.name, (SELECT group_concat(n.name, '|') FROM "
        "instrument_name n WHERE n.instrument_id = i.id AND n.name != "
        "i.name) FROM instrument i LEFT JOIN facility f ON f.id = "
        "i.facility_id WHERE i.deleted = 0 ORDER BY i.id";
    return each_row3(st, sql, fn, ctx, "reading instrument names", err);
}
