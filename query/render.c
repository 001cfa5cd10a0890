/*
 * render.c: store entities as PaN search API JSON. Field names, key order
 * and conventions follow the reference implementation (LoopBack 3): unset
 * properties are omitted, dates are Date.toJSON() strings, belongsTo
 * foreign keys are emitted (instrumentId, datasetId, documentId, personId,
 * affiliationId), included relations appear under their names (arrays for
 * to-many, objects for to-one). Includes with a scope return only the
 * children matching scope.where, and a scope that ends up empty removes its
 * parent (the PaN "inner join" rule), at any depth.
 *
 * Every record goes through ps_visible here: a record the public may not
 * see is never rendered, whether it is the answer or an included child.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "query-private.h"

#include <stdlib.h>
#include <string.h>

/* The reference writes a zero score as the integer 0. */
static json_t *score_json(double score)
{
    return score == 0 ? json_integer(0) : json_real(score);
}

/* Set key to the ISO date of the integer member src of ent, if present. */
static void set_date(json_t *o, const char *key, const json_t *ent,
                     const char *src)
{
    json_t *v = json_object_get(ent, src);
    if (json_is_integer(v)) {
        char buf[PS_TIME_BUFSZ];
        json_object_set_new(
            o, key, json_string(ps_time_format(json_integer_value(v), buf)));
    }
}

static void copy(json_t *o, const char *key, const json_t *ent, const char *src)
{
    json_t *v = json_object_get(ent, src);
    if (v && !json_is_null(v))
        json_object_set(o, key, v);
}

int psi_visible(const json_t *ent, int64_t now)
{
    if (json_is_true(json_object_get(ent, "deleted")))
        return 0;
    const char *vis = ps_json_str(ent, "visibility");
    ps_visibility v = !vis                            ? PS_VIS_RESTRICTED
                      : strcmp(vis, "public") == 0    ? PS_VIS_PUBLIC
                      : strcmp(vis, "embargoed") == 0 ? PS_VIS_EMBARGOED
                                                      : PS_VIS_RESTRICTED;
    return ps_visible(
        v, json_integer_value(json_object_get(ent, "embargo_until")), now);
}

static unsigned load_flags(ps_kind kind, const ps_pan_include *inc, size_t n)
{
    unsigned flags = 0;
    for (size_t i = 0; i < n; i++) {
        const char *r = inc[i].relation;
        if (strcmp(r, "files") == 0)
            flags |= PS_LOAD_FILES;
        else if (strcmp(r, "parameters") == 0)
            flags |= PS_LOAD_PARAMETERS;
        else if (strcmp(r, "samples") == 0)
            flags |= PS_LOAD_SAMPLES;
        else if (strcmp(r, "techniques") == 0)
            flags |= PS_LOAD_TECHNIQUES;
        else if (strcmp(r, "documents") == 0)
            flags |= PS_LOAD_DOCUMENTS;
        else if (strcmp(r, "datasets") == 0)
            flags |= PS_LOAD_DATASETS;
        else if (strcmp(r, "members") == 0)
            flags |= PS_LOAD_MEMBERS;
    }
    (void)kind;
    return flags;
}

/* ---- leaf children ------------------------------------------------------ */

static json_t *render_file(const json_t *f, const char *dataset_pid)
{
    json_t *o = json_object();
    copy(o, "id", f, "id");
    copy(o, "name", f, "name");
    copy(o, "path", f, "path");
    copy(o, "size", f, "size");
    json_object_set_new(o, "datasetId", json_string(dataset_pid));
    return o;
}

static json_t *render_param(const json_t *p, const char *owner_key,
                            const char *owner_pid)
{
    json_t *o = json_object();
    copy(o, "id", p, "id");
    copy(o, "name", p, "name");
    copy(o, "value", p, "value");
    json_t *u = json_object_get(p, "unit");
    json_object_set_new(
        o, "unit", json_string(json_is_string(u) ? json_string_value(u) : ""));
    json_object_set_new(o, owner_key, json_string(owner_pid));
    return o;
}

static json_t *render_sample(const json_t *s)
{
    json_t *o = json_object();
    copy(o, "pid", s, "pid");
    copy(o, "name", s, "name");
    copy(o, "description", s, "description");
    return o;
}

static json_t *render_technique(const json_t *t)
{
    json_t *o = json_object();
    copy(o, "pid", t, "pid");
    copy(o, "name", t, "name");
    copy(o, "panetId", t, "panet_iri");
    return o;
}

static json_t *render_person(const json_t *p)
{
    json_t *o = json_object();
    copy(o, "id", p, "pid");
    copy(o, "fullName", p, "full_name");
    copy(o, "orcid", p, "orcid");
    copy(o, "firstName", p, "given_name");
    copy(o, "lastName", p, "family_name");
    return o;
}

static json_t *render_affiliation(const json_t *i)
{
    json_t *o = json_object();
    copy(o, "id", i, "id");
    copy(o, "name", i, "name");
    copy(o, "address", i, "address");
    copy(o, "city", i, "city");
    copy(o, "country", i, "country");
    return o;
}

/* ---- includes
 * ----------------------------------------------------------------------------
 */

static ps_status apply_includes(psi_ctx *ctx, ps_pan_model model, json_t *obj,
                                const json_t *ent, const ps_pan_include *inc,
                                size_t ninc, int *dropped, ps_err *err);

/* Keep child (a rendered object) if it passes the include's scope; it is
 * stolen either way. Returns 1 if kept. */
static int keep_child(psi_ctx *ctx, const ps_pan_include *inc, json_t *arr,
                      json_t *child, const json_t *child_ent, ps_status *rc,
                      ps_err *err)
{
    int dropped = 0;
    if (!child) {
        *rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        return 0;
    }
    if (inc->where && !ps_where_match(inc->where, inc->model, child)) {
        json_decref(child);
        return 0;
    }
    if (inc->nincludes) {
        *rc = apply_includes(ctx, inc->model, child, child_ent, inc->includes,
                             inc->nincludes, &dropped, err);
        if (*rc != PS_OK || dropped) {
            json_decref(child);
            return 0;
        }
    }
    json_array_append_new(arr, child);
    return 1;
}

/* Render related records referenced by id (datasets, documents, the
 * instrument) with the include's nested includes. */
static ps_status render_refs(psi_ctx *ctx, const ps_pan_include *inc,
                             const json_t *refs, json_t *arr, ps_err *err)
{
    size_t i;
    json_t *ref;
    json_array_foreach (refs, i, ref) {
        const char *k = ps_json_str(ref, "kind");
        ps_kind kind = k                              ? ps_kind_parse(k)
                       : inc->model == PS_PAN_DATASET ? PS_KIND_DATASET
                                                      : PS_KIND_INSTRUMENT;
        json_t *child = NULL;
        ps_status rc =
            psi_render(ctx, inc->model, kind,
                       json_integer_value(json_object_get(ref, "id")),
                       inc->includes, inc->nincludes, 0, 0, &child, err);
        if (rc != PS_OK)
            return rc;
        if (!child)
            continue;
        if (inc->where && !ps_where_match(inc->where, inc->model, child)) {
            json_decref(child);
            continue;
        }
        json_array_append_new(arr, child);
    }
    return PS_OK;
}

/* The key that identifies a child: its pid, else its id. */
static const json_t *child_key(const json_t *c)
{
    const json_t *k = json_object_get(c, "pid");
    return k ? k : json_object_get(c, "id");
}

static int by_id(const void *a, const void *b)
{
    json_int_t x =
        json_integer_value(json_object_get(*(json_t *const *)a, "id"));
    json_int_t y =
        json_integer_value(json_object_get(*(json_t *const *)b, "id"));
    return x < y ? -1 : x > y;
}

/* Add to prev the children of more it lacks, in the store's order (by id,
 * when children have ids). */
static void merge_children(json_t *prev, json_t *more)
{
    size_t i, j;
    json_t *c, *p;
    json_array_foreach (more, i, c) {
        int have = 0;
        json_array_foreach (prev, j, p)
            if (json_equal((json_t *)child_key(c), (json_t *)child_key(p)))
                have = 1;
        if (!have)
            json_array_append(prev, c);
    }
    size_t n = json_array_size(prev);
    if (n < 2 ||
        !json_is_integer(json_object_get(json_array_get(prev, 0), "id")))
        return;
    json_t **v = ps_calloc(n, sizeof *v);
    if (!v)
        return;
    for (i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(prev, i));
    qsort(v, n, sizeof *v, by_id);
    json_array_clear(prev);
    for (i = 0; i < n; i++)
        json_array_append_new(prev, v[i]);
    ps_free(v);
}

static ps_status apply_includes(psi_ctx *ctx, ps_pan_model model, json_t *obj,
                                const json_t *ent, const ps_pan_include *inc,
                                size_t ninc, int *dropped, ps_err *err)
{
    ps_status rc = PS_OK;
    const char *pid = ps_json_str(ent, "pid");
    *dropped = 0;
    for (size_t n = 0; n < ninc && rc == PS_OK; n++) {
        const ps_pan_include *in = &inc[n];
        const psi_relation *rel = psi_model_relation(model, in->relation);
        json_t *arr = json_array();
        if (!arr || !rel)
            return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        size_t i;
        json_t *x;
        const char *r = in->relation;
        if (model == PS_PAN_DATASET && strcmp(r, "files") == 0) {
            json_array_foreach (json_object_get(ent, "files"), i, x)
                keep_child(ctx, in, arr, render_file(x, pid), x, &rc, err);
        } else if (strcmp(r, "parameters") == 0) {
            /* Compared in SI where the scope gives a unit, and shown in
             * that unit (parameters.c). */
            const char *key =
                model == PS_PAN_DATASET ? "datasetId" : "documentId";
            json_array_foreach (json_object_get(ent, "parameters"), i, x) {
                json_t *row = render_param(x, key, pid);
                if (!row) {
                    rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
                } else if (!psi_parameter_match(in->where, row, x)) {
                    json_decref(row);
                } else {
                    psi_parameter_convert(in->where, row, x);
                    json_array_append_new(arr, row);
                }
            }
        } else if (strcmp(r, "samples") == 0) {
            json_array_foreach (json_object_get(ent, "samples"), i, x)
                keep_child(ctx, in, arr, render_sample(x), x, &rc, err);
        } else if (strcmp(r, "techniques") == 0) {
            /* Judged for the dataset as a whole (techniques.c). */
            json_t *rows = json_array();
            json_array_foreach (json_object_get(ent, "techniques"), i, x)
                json_array_append_new(rows, render_technique(x));
            if (!rows)
                rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
            else
                psi_techniques_select(in->where, rows, arr);
            json_decref(rows);
        } else if (strcmp(r, "members") == 0) {
            json_array_foreach (json_object_get(ent, "members"), i, x) {
                json_t *m = json_object();
                json_t *p = json_object_get(x, "person");
                json_t *a = json_object_get(x, "institution");
                copy(m, "id", x, "id");
                copy(m, "role", x, "role");
                json_object_set_new(m, "documentId", json_string(pid));
                if (a)
                    copy(m, "affiliationId", a, "id");
                if (p)
                    copy(m, "personId", p, "pid");
                keep_child(ctx, in, arr, m, x, &rc, err);
            }
        } else if (model == PS_PAN_MEMBER && strcmp(r, "person") == 0) {
            json_t *p = json_object_get(ent, "person");
            if (p)
                keep_child(ctx, in, arr, render_person(p), p, &rc, err);
        } else if (model == PS_PAN_MEMBER && strcmp(r, "affiliation") == 0) {
            json_t *a = json_object_get(ent, "institution");
            if (a)
                keep_child(ctx, in, arr, render_affiliation(a), a, &rc, err);
        } else if (strcmp(r, "instrument") == 0) {
            json_t *ins = json_object_get(ent, "instrument");
            if (ins) {
                json_t *refs = json_pack("[{s:s,s:O}]", "kind", "instrument",
                                         "id", json_object_get(ins, "id"));
                rc = render_refs(ctx, in, refs, arr, err);
                json_decref(refs);
            }
        } else if (strcmp(r, "documents") == 0) {
            rc = render_refs(ctx, in, json_object_get(ent, "documents"), arr,
                             err);
        } else if (strcmp(r, "datasets") == 0) {
            json_t *refs = json_object_get(ent, "datasets");
            rc = render_refs(ctx, in, refs, arr, err);
        }
        if (rc != PS_OK) {
            json_decref(arr);
            break;
        }
        size_t got = json_array_size(arr);
        if (in->filters_parent && got == 0) {
            *dropped = 1;
            json_decref(arr);
            return PS_OK;
        }
        json_t *prev = json_object_get(obj, r);
        if (rel->many && json_is_array(prev)) {
            /* The same relation included twice (one parameter facet per
             * include): each must match, and the answer shows the
             * children either matched. */
            merge_children(prev, arr);
            json_decref(arr);
        } else if (rel->many)
            json_object_set_new(obj, r, arr);
        else {
            if (got)
                json_object_set(obj, r, json_array_get(arr, 0));
            json_decref(arr);
        }
    }
    return rc;
}

/* ---- records
 * ----------------------------------------------------------------------------------
 */

ps_status psi_render(psi_ctx *ctx, ps_pan_model model, ps_kind kind, int64_t id,
                     const ps_pan_include *inc, size_t ninc, int with_score,
                     double score, json_t **out, ps_err *err)
{
    *out = NULL;
    json_t *ent = NULL;
    ps_status rc = ps_store_load(ctx->st, kind, id, load_flags(kind, inc, ninc),
                                 &ent, err);
    if (rc == PS_ERR_NOTFOUND) {
        ps_err_clear(err);
        return PS_OK;
    }
    if (rc != PS_OK)
        return rc;
    int64_t now = ps_now_ms();
    if (!psi_visible(ent, now)) {
        json_decref(ent);
        return PS_OK;
    }
    json_t *o = json_object();
    if (!o) {
        json_decref(ent);
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    copy(o, "pid", ent, "pid");
    if (model == PS_PAN_DATASET) {
        copy(o, "title", ent, "title");
        json_object_set_new(o, "isPublic", json_true());
        set_date(o, "creationDate", ent, "created");
        copy(o, "size", ent, "size");
        if (with_score)
            json_object_set_new(o, "score", score_json(score));
        copy(o, "instrumentId", ent, "instrument_pid");
    } else if (model == PS_PAN_DOCUMENT) {
        json_object_set_new(o, "isPublic", json_true());
        const char *type = ps_json_str(ent, "type");
        json_object_set_new(o, "type",
                            json_string(type ? type
                                        : kind == PS_KIND_PROPOSAL
                                            ? "proposal"
                                            : "publication"));
        copy(o, "title", ent, "title");
        copy(o, "summary", ent, "summary");
        copy(o, "doi", ent, "doi");
        set_date(o, "startDate", ent, "start");
        set_date(o, "endDate", ent, "end");
        set_date(o, "releaseDate", ent, "release");
        copy(o, "license", ent, "license");
        copy(o, "keywords", ent, "keywords");
        if (with_score)
            json_object_set_new(o, "score", score_json(score));
    } else {
        copy(o, "name", ent, "name");
        copy(o, "facility", ent, "facility");
        if (with_score)
            json_object_set_new(o, "score", score_json(score));
    }
    int dropped = 0;
    rc = apply_includes(ctx, model, o, ent, inc, ninc, &dropped, err);
    json_decref(ent);
    if (rc != PS_OK || dropped) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return PS_OK;
}

void psi_project(json_t *obj, const ps_pan_filter *f)
{
    if (!f->nfields)
        return;
    int exclude = f->fields[0][0] == '-';
    if (exclude) {
        for (size_t i = 0; i < f->nfields; i++)
            json_object_del(obj, f->fields[i] + 1);
        return;
    }
    const char *key;
    json_t *val;
    void *tmp;
    json_object_foreach_safe (obj, tmp, key, val) {
        int keep = 0;
        for (size_t i = 0; i < f->nfields && !keep; i++)
            keep = strcmp(f->fields[i], key) == 0;
        for (size_t i = 0; i < f->nincludes && !keep; i++)
            keep = strcmp(f->includes[i].relation, key) == 0;
        if (!keep)
            json_object_del(obj, key);
    }
}
