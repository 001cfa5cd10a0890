/*
 * techniques.c: "deep" technique conditions (PaN spec §5.2). A condition on
 * a technique's pid, panetId or name inside an include of `techniques`
 * names a PaNET term by IRI, label or synonym; it matches that technique
 * and every narrower one, using the closure the store precomputed at
 * `pansift ontology import` (one indexed lookup per value, per request).
 *
 * The scope is judged for the dataset as a whole, not row by row: a
 * positive condition (eq, inq, like, ...) holds when at least one of the
 * dataset's techniques satisfies it, a negative one (neq, nin, nlike,
 * nilike) when none of them falls in the named set, and `and`/`or` combine
 * those verdicts, so "small angle scattering and magnetism" needs one
 * technique of each, possibly different rows. A dataset without any
 * technique never satisfies a technique scope (the inner-join rule). The
 * techniques returned are those satisfying some positive condition (all of
 * them when the scope has none). A value the ontology does not know still
 * matches literally (a facility's local technique pid).
 *
 * The planner narrows candidates with the index's technique terms (XTE:
 * IRI, XTP: pid, XTN: lower-case name) before the renderer decides.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "query-private.h"

#include <stdlib.h>
#include <string.h>

struct psi_techset {
    char **iris; /* sorted */
    size_t niris;
    char **names; /* lower case, sorted */
    size_t nnames;
    char **terms; /* the index terms of the set that occur in the index */
    size_t nterms;
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void psi_techset_free(psi_techset *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->niris; i++)
        ps_free(t->iris[i]);
    for (size_t i = 0; i < t->nnames; i++)
        ps_free(t->names[i]);
    for (size_t i = 0; i < t->nterms; i++)
        ps_free(t->terms[i]);
    ps_free(t->iris);
    ps_free(t->names);
    ps_free(t->terms);
    ps_free(t);
}

/* Move the strings of src onto the end of *dst (which grows). */
static int steal(char ***dst, size_t *n, char **src, size_t nsrc, int lower)
{
    if (!nsrc)
        return 0;
    char **grown = ps_realloc(*dst, (*n + nsrc) * sizeof *grown);
    if (!grown)
        return -1;
    *dst = grown;
    for (size_t i = 0; i < nsrc; i++) {
        if (lower)
            ps_str_lower(src[i], (size_t)-1);
        grown[(*n)++] = src[i];
        src[i] = NULL;
    }
    return 0;
}

static void sort_unique(char **v, size_t *n)
{
    if (*n < 2)
        return;
    qsort(v, *n, sizeof *v, cmp_str);
    size_t w = 1;
    for (size_t i = 1; i < *n; i++) {
        if (strcmp(v[i], v[w - 1]) == 0)
            ps_free(v[i]);
        else
            v[w++] = v[i];
    }
    *n = w;
}

static int is_technique_key(const char *field)
{
    return field &&
           (strcmp(field, "pid") == 0 || strcmp(field, "panetId") == 0 ||
            strcmp(field, "name") == 0);
}

/* Keep the terms of prefix+value that occur in the index. */
static ps_status keep_terms(ps_xdb *db, psi_techset *t, const char *prefix,
                            char *const *values, size_t n, ps_err *err)
{
    for (size_t i = 0; i < n; i++) {
        char *term = ps_asprintf("%s%s", prefix, values[i]);
        uint64_t freq = 0;
        if (!term)
            return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        ps_err terr = PS_ERR_INIT;
        /* A reader that cannot tell (the index moved) keeps the term. */
        if (ps_xdb_termfreq(db, term, &freq, &terr) == PS_OK && freq == 0) {
            ps_free(term);
            continue;
        }
        char **grown = ps_realloc(t->terms, (t->nterms + 1) * sizeof *grown);
        if (!grown) {
            ps_free(term);
            return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        }
        t->terms = grown;
        t->terms[t->nterms++] = term;
    }
    return PS_OK;
}

/* A broad technique names hundreds of terms (diffraction: 71 classes, 150
 * names) of which a catalogue uses a few; an OR of them all costs Xapian
 * more than the search, so the plan keeps those the index holds (one
 * dictionary lookup each). */
static ps_status find_terms(psi_ctx *ctx, psi_techset *t, ps_err *err)
{
    ps_xdb *db = ctx->idx ? ps_index_xdb(ctx->idx) : NULL;
    if (!db)
        return PS_OK;
    ps_status rc = keep_terms(db, t, "XTE:", t->iris, t->niris, err);
    if (rc == PS_OK)
        rc = keep_terms(db, t, "XTP:", t->iris, t->niris, err);
    if (rc == PS_OK)
        rc = keep_terms(db, t, "XTN:", t->names, t->nnames, err);
    return rc;
}

/* Expand every string operand of one condition and attach the union. */
static ps_status bind_cond(psi_ctx *ctx, ps_where *w, ps_err *err)
{
    if (!is_technique_key(w->field) ||
        (w->op != PSI_OP_EQ && w->op != PSI_OP_NEQ && w->op != PSI_OP_INQ &&
         w->op != PSI_OP_NIN))
        return PS_OK;
    psi_techset *t = ps_calloc(1, sizeof *t);
    if (!t)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    size_t nvals = json_is_array(w->value) ? json_array_size(w->value) : 1;
    ps_status rc = PS_OK;
    for (size_t i = 0; i < nvals && rc == PS_OK; i++) {
        const json_t *v =
            json_is_array(w->value) ? json_array_get(w->value, i) : w->value;
        if (!json_is_string(v))
            continue;
        ps_technique_set set;
        rc =
            ps_store_technique_expand(ctx->st, json_string_value(v), &set, err);
        if (rc != PS_OK)
            break;
        if (steal(&t->iris, &t->niris, set.iris, set.niris, 0) != 0 ||
            steal(&t->names, &t->nnames, set.names, set.nnames, 1) != 0)
            rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        ps_technique_set_free(&set);
    }
    if (rc != PS_OK || t->niris == 0) {
        psi_techset_free(t);
        return rc;
    }
    sort_unique(t->iris, &t->niris);
    sort_unique(t->names, &t->nnames);
    rc = find_terms(ctx, t, err);
    if (rc != PS_OK) {
        psi_techset_free(t);
        return rc;
    }
    psi_techset_free(w->tech);
    w->tech = t;
    return PS_OK;
}

static ps_status bind_where(psi_ctx *ctx, ps_where *w, ps_err *err)
{
    if (!w)
        return PS_OK;
    if (w->type == PSI_W_COND)
        return bind_cond(ctx, w, err);
    for (size_t i = 0; i < w->nkids; i++) {
        ps_status rc = bind_where(ctx, w->kids[i], err);
        if (rc != PS_OK)
            return rc;
    }
    return PS_OK;
}

ps_status psi_techniques_bind(psi_ctx *ctx, ps_pan_include *inc, size_t ninc,
                              ps_err *err)
{
    for (size_t i = 0; i < ninc; i++) {
        ps_status rc = PS_OK;
        if (inc[i].model == PS_PAN_TECHNIQUE)
            rc = bind_where(ctx, inc[i].where, err);
        if (rc == PS_OK)
            rc = psi_techniques_bind(ctx, inc[i].includes, inc[i].nincludes,
                                     err);
        if (rc != PS_OK)
            return rc;
    }
    return PS_OK;
}

/* ---- judging a dataset's techniques ------------------------------------- */

static int in_sorted(char *const *v, size_t n, const char *s)
{
    return s && n && bsearch(&s, v, n, sizeof *v, cmp_str) != NULL;
}

/* Technique row t (rendered: pid, name, panetId) is in the named set. */
static int in_set(const psi_techset *ts, const json_t *t)
{
    if (!ts)
        return 0;
    if (in_sorted(ts->iris, ts->niris, ps_json_str(t, "panetId")) ||
        in_sorted(ts->iris, ts->niris, ps_json_str(t, "pid")))
        return 1;
    const char *name = ps_json_str(t, "name");
    if (!name || !ts->nnames)
        return 0;
    char buf[512];
    size_t n = strlen(name);
    if (n >= sizeof buf)
        return 0;
    memcpy(buf, name, n + 1);
    ps_str_lower(buf, (size_t)-1);
    return in_sorted(ts->names, ts->nnames, buf);
}

static int negative(const ps_where *w)
{
    return w->op == PSI_OP_NEQ || w->op == PSI_OP_NIN ||
           w->op == PSI_OP_NLIKE || w->op == PSI_OP_NILIKE;
}

/* A positive condition on one row: in the expanded set, or literally. */
static int row_hit(const ps_where *w, const json_t *t)
{
    return in_set(w->tech, t) || ps_where_match(w, PS_PAN_TECHNIQUE, t);
}

static int judge(const ps_where *w, const json_t *rows)
{
    size_t i;
    const json_t *t;
    switch (w->type) {
    case PSI_W_TRUE: return json_array_size(rows) > 0;
    case PSI_W_AND:
        for (i = 0; i < w->nkids; i++)
            if (!judge(w->kids[i], rows))
                return 0;
        return 1;
    case PSI_W_OR:
        for (i = 0; i < w->nkids; i++)
            if (judge(w->kids[i], rows))
                return 1;
        return 0;
    case PSI_W_COND: break;
    }
    if (negative(w)) {
        /* None of the dataset's techniques is in the set, and each
         * passes the literal test (neq: differs, nlike: does not match). */
        if (json_array_size(rows) == 0)
            return 0;
        json_array_foreach ((json_t *)rows, i, t)
            if (in_set(w->tech, t) || !ps_where_match(w, PS_PAN_TECHNIQUE, t))
                return 0;
        return 1;
    }
    json_array_foreach ((json_t *)rows, i, t)
        if (row_hit(w, t))
            return 1;
    return 0;
}

/* Does row t satisfy a positive condition of w? *any_positive says
 * whether w has one at all. */
static int row_shown(const ps_where *w, const json_t *t, int *any_positive)
{
    if (w->type == PSI_W_COND) {
        if (negative(w))
            return 0;
        *any_positive = 1;
        return row_hit(w, t);
    }
    int hit = 0;
    for (size_t i = 0; i < w->nkids; i++)
        hit |= row_shown(w->kids[i], t, any_positive);
    return hit;
}

int psi_techniques_select(const ps_where *w, const json_t *rows, json_t *out)
{
    if (!w || w->type == PSI_W_TRUE) {
        json_array_extend(out, (json_t *)rows);
        return json_array_size(rows) > 0;
    }
    if (!judge(w, rows))
        return 0;
    size_t i;
    json_t *t;
    json_array_foreach ((json_t *)rows, i, t) {
        int any_positive = 0;
        if (row_shown(w, t, &any_positive) || !any_positive)
            json_array_append(out, t);
    }
    return 1;
}

/* ---- narrowing the candidates in the index ------------------------------ */

static ps_xquery *term_of(const char *prefix, const char *value, int lower)
{
    char *t = ps_asprintf("%s%s", prefix, value);
    if (!t)
        return NULL;
    if (lower)
        ps_str_lower(t + strlen(prefix), (size_t)-1);
    ps_xquery *q = ps_xq_term(t);
    ps_free(t);
    return q;
}

/* Every index term by which a dataset shows a technique of condition w:
 * the set's IRIs (as panetId or pid) and names the index holds, and the
 * literal values
 * (names only when lower_names: the literal test is case-sensitive, the
 * XTN: terms are not, so they may widen a positive plan but never
 * exclude). */
static ps_xquery *set_terms(const ps_where *w, int lower_names)
{
    const psi_techset *ts = w->tech;
    size_t nvals = json_is_array(w->value) ? json_array_size(w->value) : 1;
    size_t cap = (ts ? ts->nterms : 0) + 3 * nvals;
    ps_xquery **kids = ps_calloc(cap ? cap : 1, sizeof *kids);
    if (!kids)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; ts && i < ts->nterms; i++)
        kids[n++] = ps_xq_term(ts->terms[i]);
    for (size_t i = 0; i < nvals; i++) {
        const json_t *v =
            json_is_array(w->value) ? json_array_get(w->value, i) : w->value;
        if (!json_is_string(v))
            continue;
        const char *s = json_string_value(v);
        if (strcmp(w->field, "name") != 0)
            kids[n++] =
                term_of(strcmp(w->field, "pid") == 0 ? "XTP:" : "XTE:", s, 0);
        else if (lower_names)
            kids[n++] = term_of("XTN:", s, 1);
    }
    ps_xquery *q = ps_xq_or(kids, n);
    ps_free(kids);
    return q;
}

static ps_xquery *plan_kid(const ps_where *w, void *arg)
{
    (void)arg;
    return psi_techniques_plan(w);
}

ps_xquery *psi_techniques_plan(const ps_where *w)
{
    if (!w || w->type == PSI_W_TRUE)
        return ps_xq_term("XTX");
    if (w->type != PSI_W_COND)
        return psi_plan_kids(w, plan_kid, NULL);
    int sets = is_technique_key(w->field) &&
               (w->op == PSI_OP_EQ || w->op == PSI_OP_INQ ||
                w->op == PSI_OP_NEQ || w->op == PSI_OP_NIN);
    if (!sets)
        return ps_xq_term("XTX"); /* has a technique: decided when shown */
    if (w->op == PSI_OP_EQ || w->op == PSI_OP_INQ)
        return set_terms(w, 1);
    /* neq/nin: no technique in the set (the literal test is the
     * renderer's, which only removes more). */
    ps_xquery *in = set_terms(w, 0);
    return in ? ps_xq_and_not(ps_xq_term("XTX"), in) : NULL;
}
