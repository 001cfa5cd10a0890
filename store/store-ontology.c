/*
 * store-ontology.c: the technique ontology (PaNET) in the store. An import
 * replaces the terms, their names and the transitive closure of the
 * hierarchy in one transaction; queries expand a technique, given by IRI
 * or by name (label or synonym, any letter case), to itself and every
 * narrower technique with one indexed lookup in the closure. The parsing of
 * ontology files and the computation of the closure are the importer's
 * (harvesters/panet.c); this file only stores and reads.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "store-private.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

ps_status ps_store_ontology_replace(ps_store *st, const char *source,
                                    const ps_technique_term *terms,
                                    size_t nterms, const size_t (*closure)[2],
                                    size_t nclosure, ps_err *err)
{
    static const char ins_term[] =
        "INSERT INTO technique_term (id, iri, label, synonyms, definition, "
        "specifier) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
    static const char ins_name[] = "INSERT OR IGNORE INTO technique_term_name "
                                   "(name, term_id) VALUES (?1, ?2)";
    static const char ins_pair[] =
        "INSERT OR IGNORE INTO technique_closure (ancestor_id, "
        "descendant_id) VALUES (?1, ?2)";
    static const char set_meta[] =
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO "
        "UPDATE SET value = excluded.value";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    int own = 0;
    json_t *syn = NULL;
    for (size_t i = 0; i < nclosure; i++)
        if (closure[i][0] >= nterms || closure[i][1] >= nterms)
            return ps_err_set(err, PS_ERR_INVALID,
                              "ontology closure pair %zu names no term", i);
    CHECK(psi_begin_maybe(st, &own, err));
    CHECK(psi_exec(st,
                   "DELETE FROM technique_closure; DELETE FROM "
                   "technique_term_name; DELETE FROM technique_term;",
                   err));
    for (size_t i = 0; i < nterms; i++) {
        const ps_technique_term *t = &terms[i];
        if (!t->iri || !*t->iri || !t->label)
            FAIL(ps_err_set(err, PS_ERR_INVALID,
                            "ontology term %zu has no IRI or label", i));
        json_decref(syn);
        syn = json_array();
        for (size_t k = 0; syn && k < t->nsynonyms; k++)
            json_array_append_new(syn, json_string(t->synonyms[k]));
        char *syn_text = syn && t->nsynonyms ? json_dumps(syn, 0) : NULL;
        STMT(s, ins_term);
        sqlite3_bind_int64(s, 1, (int64_t)i + 1);
        psi_bind_text(s, 2, t->iri);
        psi_bind_text(s, 3, t->label);
        psi_bind_text(s, 4, syn_text);
        psi_bind_text(s, 5, t->definition);
        sqlite3_bind_int(s, 6, t->specifier != 0);
        status = psi_step_done(st, s, err, "recording a technique");
        free(syn_text);
        CHECK(status);
        for (size_t k = 0; k <= t->nsynonyms; k++) {
            const char *name = k == 0 ? t->label : t->synonyms[k - 1];
            if (!name || !*name)
                continue;
            STMT(s, ins_name);
            psi_bind_text(s, 1, name);
            sqlite3_bind_int64(s, 2, (int64_t)i + 1);
            CHECK(psi_step_done(st, s, err, "recording a technique name"));
        }
    }
    for (size_t i = 0; i < nclosure; i++) {
        STMT(s, ins_pair);
        sqlite3_bind_int64(s, 1, (int64_t)closure[i][0] + 1);
        sqlite3_bind_int64(s, 2, (int64_t)closure[i][1] + 1);
        CHECK(psi_step_done(st, s, err, "recording the technique hierarchy"));
    }
    char when[32];
    snprintf(when, sizeof when, "%lld", (long long)ps_now_ms());
    const char *meta[][2] = {{"ontology_source", source ? source : ""},
                             {"ontology_imported_at", when}};
    for (size_t i = 0; i < 2; i++) {
        STMT(s, set_meta);
        psi_bind_text(s, 1, meta[i][0]);
        psi_bind_text(s, 2, meta[i][1]);
        CHECK(psi_step_done(st, s, err, "recording the ontology's origin"));
    }
out:
    json_decref(syn);
    return psi_end(st, own, status, err);
}

/* Append a copy of v to a growing string list. */
static ps_status list_add(char ***list, size_t *n, const char *v, ps_err *err)
{
    char *copy = ps_strdup(v);
    char **grown = copy ? ps_realloc(*list, (*n + 1) * sizeof **list) : NULL;
    if (!grown) {
        ps_free(copy);
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    *list = grown;
    (*list)[(*n)++] = copy;
    return PS_OK;
}

static ps_status expand_one(ps_store *st, const char *value,
                            ps_technique_set *out, ps_err *err)
{
    /* The terms the value names (by IRI, label or synonym; a name that is
     * both a technique's and a specifier's means the technique), then
     * every term below them with all its names. */
    static const char sql[] =
        "WITH cand (id, specifier) AS (SELECT id, specifier FROM "
        "technique_term WHERE iri = ?1 UNION SELECT t.id, t.specifier FROM "
        "technique_term_name n JOIN technique_term t ON t.id = n.term_id "
        "WHERE n.name = ?1), named (id) AS (SELECT id FROM cand WHERE "
        "specifier = (SELECT min(specifier) FROM cand)), "
        "below (id) AS (SELECT DISTINCT c.descendant_id FROM "
        "technique_closure c JOIN named n ON c.ancestor_id = n.id) "
        "SELECT t.iri, n.name FROM below b JOIN technique_term t ON t.id = "
        "b.id JOIN technique_term_name n ON n.term_id = t.id ORDER BY t.iri, "
        "n.name";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    memset(out, 0, sizeof *out);
    if (!value)
        return PS_OK;
    STMT(s, sql);
    psi_bind_text(s, 1, value);
    int rc;
    const char *last_iri = NULL;
    for (;;) {
        rc = sqlite3_step(s);
        if (rc != SQLITE_ROW)
            break;
        const char *iri = (const char *)sqlite3_column_text(s, 0);
        const char *name = (const char *)sqlite3_column_text(s, 1);
        if (!iri || !name)
            continue;
        if (!last_iri || strcmp(last_iri, iri) != 0) {
            status = list_add(&out->iris, &out->niris, iri, err);
            last_iri = status == PS_OK ? out->iris[out->niris - 1] : NULL;
        }
        if (status == PS_OK)
            status = list_add(&out->names, &out->nnames, name, err);
        if (status != PS_OK)
            break;
    }
    if (status == PS_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
        status = psi_db_error(st, err, "expanding a technique");
    sqlite3_reset(s);
    if (status != PS_OK)
        ps_technique_set_free(out);
out:
    return status;
}

ps_status ps_store_technique_expand(ps_store *st, const char *value,
                                    ps_technique_set *out, ps_err *err)
{
    ps_status rc = expand_one(st, value, out, err);
    /* PaNET's labels of technique classes by probe end in "technique"
     * ("x-ray probe technique", "magnetism technique"); clients, and the
     * PaN requirement examples written against an older PaNET, name them
     * without it ("x-ray probe"). */
    static const char suffix[] = " technique";
    size_t n = value ? strlen(value) : 0;
    if (rc == PS_OK && out->niris == 0 && n > 0 && n < 512 &&
        (n < sizeof suffix - 1 ||
         strcasecmp(value + n - (sizeof suffix - 1), suffix) != 0) &&
        strncmp(value, "http", 4) != 0) {
        char longer[512 + sizeof suffix];
        snprintf(longer, sizeof longer, "%s%s", value, suffix);
        rc = expand_one(st, longer, out, err);
    }
    return rc;
}

void ps_technique_set_free(ps_technique_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->niris; i++)
        ps_free(set->iris[i]);
    for (size_t i = 0; i < set->nnames; i++)
        ps_free(set->names[i]);
    ps_free(set->iris);
    ps_free(set->names);
    memset(set, 0, sizeof *set);
}

ps_status ps_store_ontology_info(ps_store *st, int64_t *nterms_out,
                                 char **source_out, int64_t *imported_at_out,
                                 ps_err *err)
{
    static const char count[] = "SELECT count(*) FROM technique_term";
    static const char meta[] = "SELECT value FROM meta WHERE key = ?1";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    *nterms_out = 0;
    *source_out = NULL;
    *imported_at_out = 0;
    STMT(s, count);
    CHECK(psi_step_id(st, s, nterms_out, err, "counting techniques"));
    STMT(s, meta);
    psi_bind_text(s, 1, "ontology_source");
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0)) {
        *source_out = ps_strdup((const char *)sqlite3_column_text(s, 0));
        if (!*source_out)
            status = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    sqlite3_reset(s);
    CHECK(status);
    STMT(s, meta);
    psi_bind_text(s, 1, "ontology_imported_at");
    if (sqlite3_step(s) == SQLITE_ROW)
        *imported_at_out = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
out:
    return status;
}
