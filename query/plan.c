/*
 * plan.c: planning and executing PaN queries. A where clause is compiled
 * into a Xapian query over the fields the index holds (boolean terms for
 * exact strings, numeric value ranges for dates and sizes); a condition the
 * index cannot decide exactly (like, regexp, text, a field it does not
 * hold) compiles to "everything", and the planner notes that the result is
 * a superset. Exact plans are paged by Xapian directly; superset plans, and
 * filters whose includes restrict the parent (the inner-join rule), are
 * checked record by record with the evaluator of filter.c *before* skip and
 * limit are applied, so a page is always full when more matches exist.
 * Plain listings in pid order (the most common request) skip the index and
 * page through the store's pid index. A `query` ranks by the PaNOSC scoring
 * service's relevance score, computed in the index (ps_xq_score,
 * docs/relevance.md): score descending, ties in pid order.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "query-private.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define CHUNK 256

static ps_idx_group group_of(ps_pan_model m)
{
    return m == PS_PAN_DATASET    ? PS_IDX_DATASET
           : m == PS_PAN_DOCUMENT ? PS_IDX_DOCUMENT
                                  : PS_IDX_INSTRUMENT;
}

static const char *group_term(ps_pan_model m)
{
    return m == PS_PAN_DATASET    ? PS_IDX_TERM_GROUP "dataset"
           : m == PS_PAN_DOCUMENT ? PS_IDX_TERM_GROUP "document"
                                  : PS_IDX_TERM_GROUP "instrument";
}

/* ---- compiling where clauses -------------------------------------------- */

static ps_xquery *residual(int *exact)
{
    *exact = 0;
    return ps_xq_all();
}

static ps_xquery *term_query(const char *prefix, const char *value)
{
    char *t = ps_asprintf("%s%s", prefix, value);
    ps_xquery *q = t ? ps_xq_term(t) : NULL;
    ps_free(t);
    return q;
}

static int all_strings(const json_t *arr)
{
    size_t i;
    json_t *v;
    json_array_foreach (arr, i, v)
        if (!json_is_string(v))
            return 0;
    return 1;
}

static ps_xquery *terms_or(const char *prefix, const json_t *arr)
{
    size_t n = json_array_size(arr);
    ps_xquery **kids = ps_calloc(n ? n : 1, sizeof *kids);
    if (!kids)
        return NULL;
    for (size_t i = 0; i < n; i++)
        kids[i] = term_query(prefix, json_string_value(json_array_get(arr, i)));
    ps_xquery *q = ps_xq_or(kids, n);
    ps_free(kids);
    return q;
}

/* A comparison operand as the number stored in the slot. */
static int slot_number(const ps_index_field *fi, const json_t *v, double *out)
{
    if (fi->type == PS_IDXF_DATE) {
        int64_t ms;
        if (json_is_string(v) &&
            ps_time_parse(json_string_value(v), &ms) == PS_OK) {
            *out = (double)ms;
            return 0;
        }
        if (json_is_number(v)) {
            *out = json_number_value(v);
            return 0;
        }
        return -1;
    }
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return 0;
    }
    if (json_is_string(v))
        return ps_parse_double(json_string_value(v), out);
    return -1;
}

static ps_xquery *range(int slot, const double *lo, const double *hi)
{
    char a[32], b[32];
    size_t na = lo ? ps_xvalue_num(*lo, a) : 0;
    size_t nb = hi ? ps_xvalue_num(*hi, b) : 0;
    if (lo && hi && *lo > *hi)
        return ps_xq_none();
    return ps_xq_range((unsigned)slot, lo ? a : NULL, na, hi ? b : NULL, nb);
}

static ps_xquery *compile_cond(const ps_where *w, ps_idx_group g, int *exact)
{
    *exact = 1;
    if (w->op == PSI_OP_TEXT)
        return residual(exact);
    if (strcmp(w->field, "isPublic") == 0 && w->op == PSI_OP_EQ) {
        /* Everything served is public at the time of the query. */
        int b = psi_bool_value(w->value);
        return b == 1 ? ps_xq_all() : b == 0 ? ps_xq_none() : residual(exact);
    }
    const ps_index_field *fi = ps_index_field_find(g, w->field);
    if (!fi)
        return residual(exact);
    const json_t *v = w->value;
    if (fi->type == PS_IDXF_TERM) {
        int array_field = w->def && w->def->type == PSI_FT_STRING_ARRAY;
        switch (w->op) {
        case PSI_OP_EQ:
            if (json_is_string(v))
                return term_query(fi->prefix, json_string_value(v));
            break;
        case PSI_OP_INQ:
            if (all_strings(v))
                return terms_or(fi->prefix, v);
            break;
        case PSI_OP_NEQ:
            if (json_is_string(v) && !array_field)
                return ps_xq_and_not(
                    ps_xq_all(), term_query(fi->prefix, json_string_value(v)));
            break;
        case PSI_OP_NIN:
            if (all_strings(v) && !array_field)
                return ps_xq_and_not(ps_xq_all(), terms_or(fi->prefix, v));
            break;
        default: break;
        }
        return residual(exact);
    }
    if (fi->slot < 0)
        return residual(exact);
    double x, y;
    switch (w->op) {
    case PSI_OP_EQ:
        if (slot_number(fi, v, &x) == 0)
            return range(fi->slot, &x, &x);
        break;
    case PSI_OP_GT:
        if (slot_number(fi, v, &x) == 0) {
            x = nextafter(x, INFINITY);
            return range(fi->slot, &x, NULL);
        }
        break;
    case PSI_OP_GTE:
        if (slot_number(fi, v, &x) == 0)
            return range(fi->slot, &x, NULL);
        break;
    case PSI_OP_LT:
        if (slot_number(fi, v, &x) == 0) {
            x = nextafter(x, -INFINITY);
            return range(fi->slot, NULL, &x);
        }
        break;
    case PSI_OP_LTE:
        if (slot_number(fi, v, &x) == 0)
            return range(fi->slot, NULL, &x);
        break;
    case PSI_OP_BETWEEN:
        if (slot_number(fi, json_array_get(v, 0), &x) == 0 &&
            slot_number(fi, json_array_get(v, 1), &y) == 0)
            return range(fi->slot, &x, &y);
        break;
    default: break;
    }
    return residual(exact);
}

ps_xquery *psi_plan_kids(const ps_where *w, psi_plan_fn plan, void *arg)
{
    ps_xquery **kids = ps_calloc(w->nkids ? w->nkids : 1, sizeof *kids);
    if (!kids)
        return NULL;
    for (size_t i = 0; i < w->nkids; i++)
        kids[i] = plan(w->kids[i], arg);
    ps_xquery *q = w->type == PSI_W_AND ? ps_xq_and(kids, w->nkids)
                                        : ps_xq_or(kids, w->nkids);
    ps_free(kids);
    return q;
}

typedef struct plan_arg {
    ps_idx_group group;
    int exact; /* every kid so far is exact */
} plan_arg;

static ps_xquery *plan_kid(const ps_where *w, void *p)
{
    plan_arg *a = p;
    int e = 1;
    ps_xquery *q = psi_plan_where(w, a->group, &e);
    a->exact &= e;
    return q;
}

ps_xquery *psi_plan_where(const ps_where *w, ps_idx_group g, int *exact)
{
    *exact = 1;
    if (!w || w->type == PSI_W_TRUE)
        return ps_xq_all();
    if (w->type == PSI_W_COND)
        return compile_cond(w, g, exact);
    plan_arg a = {g, 1};
    ps_xquery *q = psi_plan_kids(w, plan_kid, &a);
    *exact = a.exact;
    return q;
}

/* ---- executing ---------------------------------------------------------- */

static int includes_filter(const ps_pan_filter *f)
{
    for (size_t i = 0; i < f->nincludes; i++)
        if (f->includes[i].filters_parent)
            return 1;
    return 0;
}

/* The relevance scores of the query's terms (docs/relevance.md): the
 * documents of the model's group holding at least one term, weighted with
 * the PaNOSC scoring service's score. tie_docid: the search ranks ties by
 * docid (see ps_xq_score). */
static ps_xquery *score_query(ps_pan_model model, const ps_score_terms *terms,
                              int tie_docid, ps_err *err)
{
    const char *prefix = ps_index_score_prefix(group_of(model));
    char **full = ps_calloc(terms->n ? terms->n : 1, sizeof *full);
    ps_xquery *q = NULL;
    size_t i = 0;
    if (full)
        for (i = 0; i < terms->n; i++) {
            full[i] = ps_asprintf("%s%s", prefix, terms->v[i]);
            if (!full[i])
                break;
        }
    if (full && i == terms->n) {
        ps_xscore_opts o = PS_XSCORE_OPTS_INIT;
        o.terms = (const char *const *)full;
        o.nterms = terms->n;
        o.corpus_term = group_term(model);
        o.distinct_term = PS_IDX_TERM_SCORE_DISTINCT;
        o.tie_docid = tie_docid;
        q = ps_xq_score(&o, err);
    } else {
        ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    for (size_t k = 0; full && k < terms->n; k++)
        ps_free(full[k]);
    ps_free(full);
    return q;
}

/* What the index knows of the includes that restrict the parent: the
 * candidates their scopes can match (a superset; the renderer decides). */
static ps_xquery *plan_includes(const ps_pan_include *inc, size_t ninc)
{
    ps_xquery **kids = ps_calloc(ninc + 1, sizeof *kids);
    if (!kids)
        return NULL;
    size_t n = 0;
    kids[n++] = ps_xq_all();
    for (size_t i = 0; i < ninc; i++) {
        if (!inc[i].filters_parent)
            continue;
        if (inc[i].model == PS_PAN_TECHNIQUE)
            kids[n++] = psi_techniques_plan(inc[i].where);
        else if (inc[i].model == PS_PAN_PARAMETER)
            kids[n++] = psi_parameters_plan(inc[i].where);
    }
    ps_xquery *q = ps_xq_and(kids, n);
    ps_free(kids);
    return q;
}

/* The whole query: the compiled where and includes (or the relevance
 * scores of terms, filtered by them), restricted to the model's group and
 * to what the public may see now. tie_docid: see score_query. */
static ps_xquery *full_query(psi_ctx *ctx, ps_pan_model model,
                             const ps_where *w, const ps_pan_include *inc,
                             size_t ninc, const ps_score_terms *terms,
                             int tie_docid, int *exact, ps_err *err)
{
    ps_xquery *where = psi_plan_where(w, group_of(model), exact);
    ps_xquery *scope[3] = {ps_xq_term(group_term(model)),
                           ps_index_visible_query(ps_now_ms()),
                           plan_includes(inc, ninc)};
    ps_xquery *bounds = ps_xq_and(scope, 3);
    ps_xquery *filter = ps_xq_and((ps_xquery *[]){where, bounds}, 2);
    if (!filter) {
        ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (!terms)
        return filter;
    ps_xquery *sq = score_query(model, terms, tie_docid, err);
    if (!sq) {
        ps_xq_free(filter);
        return NULL;
    }
    ps_xquery *q = ps_xq_filter(sq, filter);
    if (!q)
        ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    return q;
}

/* Run a search, refreshing the reader once if the index moved under it. */
static ps_status search(psi_ctx *ctx, const ps_xquery *q,
                        const ps_xsearch_opts *o, ps_xresult *res, ps_err *err)
{
    ps_status rc = ps_xdb_search(ps_index_xdb(ctx->idx), q, o, res, err);
    if (rc == PS_ERR_RETRY || rc == PS_ERR_INDEX) {
        if (ps_index_refresh(ctx->idx, NULL, err) == PS_OK)
            rc = ps_xdb_search(ps_index_xdb(ctx->idx), q, o, res, err);
    }
    return rc;
}

static ps_status sort_keys(ps_pan_model model, const ps_pan_filter *f,
                           ps_xsort *keys, size_t *n, ps_err *err)
{
    *n = 0;
    if (f->query && (!f->norder || strcmp(f->order[0].field, "score") == 0))
        return PS_OK; /* relevance */
    if (!f->norder) {
        keys[0].slot = PS_IDX_SLOT_PID;
        keys[0].descending = 0;
        *n = 1;
        return PS_OK;
    }
    for (size_t i = 0; i < f->norder && i < 7; i++) {
        const ps_index_field *fi =
            ps_index_field_find(group_of(model), f->order[i].field);
        if (!fi || fi->slot < 0)
            return ps_err_set(
                err, PS_ERR_INVALID,
                "order: %s cannot be sorted on \"%s\" (sortable: "
                "%s)",
                psi_model_name(model), f->order[i].field,
                model == PS_PAN_DATASET ? "pid, title, creationDate, size"
                : model == PS_PAN_DOCUMENT
                    ? "pid, title, startDate, endDate, releaseDate"
                    : "pid, name");
        keys[*n].slot = (unsigned)fi->slot;
        keys[*n].descending = f->order[i].descending;
        (*n)++;
    }
    /* Ties in pid order, as the reference does. */
    if (keys[*n - 1].slot != PS_IDX_SLOT_PID) {
        keys[*n].slot = PS_IDX_SLOT_PID;
        keys[*n].descending = 0;
        (*n)++;
    }
    return PS_OK;
}

/* Append one hit (render, check, page) to out. *matched counts records that
 * passed; those beyond skip are kept until limit. */
typedef struct pager {
    psi_ctx *ctx;
    const ps_pan_filter *f;
    int verify;   /* check the where clause on the rendered record */
    int64_t skip; /* matches still to skip (0 when the source skipped) */
    int64_t matched;
    int64_t want; /* limit (or the ceiling) */
    int truncated;
    json_t *out;
} pager;

/* PS_ERR_TIMEOUT (a 503) once the request's deadline has passed: a query
 * the index cannot decide (like, regexp, ...) checks candidates one by
 * one, and over a large catalogue that must not run without end. */
static ps_status check_deadline(const psi_ctx *ctx, ps_err *err)
{
    if (!ctx->deadline_ns || ps_mono_ns() < ctx->deadline_ns)
        return PS_OK;
    return ps_err_set(err, PS_ERR_TIMEOUT,
                      "the query ran longer than %ld ms and was stopped; "
                      "narrow it: a more selective where clause (fewer like, "
                      "ilike or regexp conditions over everything) or a "
                      "smaller limit",
                      ctx->timeout_ms);
}

static ps_status page_hit(pager *p, ps_kind kind, int64_t id, int with_score,
                          double score, int *done, ps_err *err)
{
    const ps_pan_filter *f = p->f;
    json_t *obj = NULL;
    ps_status drc = check_deadline(p->ctx, err);
    if (drc != PS_OK)
        return drc;
    /* An exact plan without filtering includes: every hit matches, so the
     * skipped ones need not be rendered. */
    if (!p->verify && !includes_filter(f) && p->matched < p->skip) {
        p->matched++;
        return PS_OK;
    }
    ps_status rc = psi_render(p->ctx, f->model, kind, id, f->includes,
                              f->nincludes, with_score, score, &obj, err);
    if (rc != PS_OK || !obj)
        return rc;
    if (p->verify && !ps_where_match(f->where, f->model, obj)) {
        json_decref(obj);
        return PS_OK;
    }
    p->matched++;
    if (p->matched <= p->skip) {
        json_decref(obj);
        return PS_OK;
    }
    if ((int64_t)json_array_size(p->out) >= p->want) {
        json_decref(obj);
        p->truncated = 1;
        *done = 1;
        return PS_OK;
    }
    psi_project(obj, f);
    json_array_append_new(p->out, obj);
    return PS_OK;
}

/* Plain listing in pid order, from the store. */
static ps_status browse(pager *p, int64_t skip_in_store, ps_err *err)
{
    ps_kind kind = p->f->model == PS_PAN_DATASET    ? PS_KIND_DATASET
                   : p->f->model == PS_PAN_DOCUMENT ? PS_KIND_NONE
                                                    : PS_KIND_INSTRUMENT;
    ps_store_row rows[CHUNK];
    int64_t offset = skip_in_store;
    int done = 0;
    char *after = NULL;
    ps_kind after_kind = PS_KIND_NONE;
    ps_status rc = PS_OK;
    while (!done && rc == PS_OK) {
        size_t n = 0;
        rc = ps_store_page(p->ctx->st, kind, after, after_kind, offset,
                           ps_now_ms(), rows, CHUNK, &n, err);
        offset = 0;
        if (rc != PS_OK || n == 0)
            break;
        for (size_t i = 0; i < n && !done && rc == PS_OK; i++)
            rc = page_hit(p, rows[i].kind, rows[i].id, 1, 0, &done, err);
        ps_free(after);
        after = ps_strdup(rows[n - 1].pid);
        after_kind = rows[n - 1].kind;
        ps_store_rows_free(rows, n);
        if (!after && rc == PS_OK)
            rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        if (n < CHUNK)
            break;
    }
    ps_free(after);
    return rc;
}

/* ---- the default order and relevance: two streams merged -----------------
 */

/* Matches of a query in pid order, or by relevance with ties in pid order,
 * read chunk by chunk. A rebuild writes documents in pid order (they carry
 * PS_IDX_TERM_ORDERED), so among them docid order is pid order and Xapian
 * can stop after the chunk instead of sorting every match (or, by
 * relevance, rank ties by docid, which lets the scores skip whatever only
 * ties the page); documents written since (or rewritten) are the other
 * stream, sorted by the pid value. find_merged merges the two. */
typedef struct pid_stream {
    ps_xquery *q; /* owned */
    int ordered;  /* docid order (rebuilt documents) or sorted by pid */
    int relevance;
    uint64_t next;
    uint64_t chunk;
    ps_xresult res;
    size_t pos;
    int exhausted;
} pid_stream;

/* The stream's current hit (NULL at the end), fetching a chunk if needed. */
static ps_status stream_peek(psi_ctx *ctx, pid_stream *s, ps_xhit **out,
                             ps_err *err)
{
    *out = NULL;
    while (s->pos >= s->res.n) {
        if (s->exhausted)
            return PS_OK;
        ps_xresult_free(&s->res);
        s->pos = 0;
        ps_xsort key = {PS_IDX_SLOT_PID, 0};
        ps_xsearch_opts o = PS_XSEARCH_OPTS_INIT;
        o.offset = s->next;
        o.count = s->chunk;
        o.key_slot = PS_IDX_SLOT_PID;
        if (!s->ordered) {
            o.sort = &key;
            o.nsort = 1;
            o.relevance_first = s->relevance;
        } else if (!s->relevance) {
            o.docid_order = 1;
        }
        ps_status rc = search(ctx, s->q, &o, &s->res, err);
        if (rc != PS_OK)
            return rc;
        s->next += s->res.n;
        if (s->res.n < s->chunk)
            s->exhausted = 1;
    }
    *out = &s->res.hits[s->pos];
    return PS_OK;
}

static int key_cmp(const ps_xhit *a, const ps_xhit *b)
{
    size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
    int c = memcmp(a->key ? a->key : "", b->key ? b->key : "", n);
    if (c)
        return c;
    return a->key_len < b->key_len ? -1 : a->key_len > b->key_len;
}

/* Does hit a come before hit b? By pid, or by score and then pid. */
static int hit_first(const ps_xhit *a, const ps_xhit *b, int relevance)
{
    if (relevance && a->weight != b->weight)
        return a->weight > b->weight;
    return key_cmp(a, b) <= 0;
}

/* Page p through the matches of the where clause in pid order, or, with
 * terms, by relevance (score descending, ties in pid order) with each
 * record's score. chunk is how many hits each stream fetches at a time. */
static ps_status find_merged(pager *p, const ps_score_terms *terms,
                             uint64_t chunk, ps_err *err)
{
    const ps_pan_filter *f = p->f;
    pid_stream s[2];
    memset(s, 0, sizeof s);
    ps_status rc = PS_OK;
    for (int i = 0; i < 2 && rc == PS_OK; i++) {
        int exact;
        ps_xquery *q = full_query(p->ctx, f->model, f->where, f->includes,
                                  f->nincludes, terms, i == 0, &exact, err);
        /* Both streams are restricted by a positive term, so that Xapian
         * drives the (small) later stream from its short posting list. */
        ps_xquery *mark =
            ps_xq_term(i == 0 ? PS_IDX_TERM_ORDERED : PS_IDX_TERM_UNORDERED);
        s[i].ordered = i == 0;
        s[i].relevance = terms != NULL;
        s[i].chunk = chunk;
        s[i].q = q ? ps_xq_filter(q, mark) : NULL;
        if (!q)
            ps_xq_free(mark);
        if (!s[i].q)
            rc = err && err->code != PS_OK ? err->code : PS_ERR_NOMEM;
    }
    int done = 0;
    while (rc == PS_OK && !done) {
        ps_xhit *a = NULL, *b = NULL;
        rc = stream_peek(p->ctx, &s[0], &a, err);
        if (rc == PS_OK)
            rc = stream_peek(p->ctx, &s[1], &b, err);
        if (rc != PS_OK || (!a && !b))
            break;
        int take_a = a && (!b || hit_first(a, b, terms != NULL));
        ps_xhit *h = take_a ? a : b;
        s[take_a ? 0 : 1].pos++;
        ps_kind kind;
        int64_t id;
        if (ps_index_hit_ref(h->data, &kind, &id) == 0)
            rc = page_hit(p, kind, id, 1, terms ? h->weight : 0, &done, err);
    }
    for (int i = 0; i < 2; i++) {
        ps_xresult_free(&s[i].res);
        ps_xq_free(s[i].q);
    }
    return rc;
}

/* The query's scoring terms, at most PSI_QUERY_MAX_TERMS of them. */
#define PSI_QUERY_MAX_TERMS 64

static ps_status query_terms(const ps_pan_filter *f, ps_score_terms *t,
                             ps_err *err)
{
    ps_status rc = ps_score_query_terms(t, f->query, err);
    if (rc == PS_OK && t->n > PSI_QUERY_MAX_TERMS) {
        rc = ps_err_set(err, PS_ERR_INVALID,
                        "query: %zu words to score, at most %d are (stop "
                        "words such as \"the\" do not count); shorten the "
                        "query",
                        t->n, PSI_QUERY_MAX_TERMS);
        ps_score_terms_free(t);
    }
    return rc;
}

ps_status psi_pan_find(psi_ctx *ctx, const ps_pan_filter *f, size_t max_results,
                       json_t **out, int *truncated, ps_err *err)
{
    *out = NULL;
    *truncated = 0;
    pager p = {ctx, f, 0, f->skip, 0, 0, 0, json_array()};
    if (!p.out)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    /* An explicit limit is capped too: one answer never holds more than
     * max_results records (a larger limit gets a truncated answer). */
    p.want = f->limit > 0 && f->limit < (int64_t)max_results
                 ? f->limit
                 : (int64_t)max_results;
    ps_status rc = PS_OK;
    int filtering_includes = includes_filter(f);
    int default_order =
        f->norder == 0 ||
        (f->norder == 1 && strcmp(f->order[0].field, "pid") == 0 &&
         !f->order[0].descending);
    int no_where = !f->where || f->where->type == PSI_W_TRUE;
    ps_score_terms terms = {0};
    ps_xsort keys[8];
    size_t nkeys = 0;
    if (f->query) {
        rc = query_terms(f, &terms, err);
        if (rc == PS_OK)
            rc = sort_keys(f->model, f, keys, &nkeys, err);
        if (rc != PS_OK || terms.n == 0) {
            /* No term, no positive score: nothing is relevant. */
            ps_score_terms_free(&terms);
            if (rc != PS_OK) {
                json_decref(p.out);
                return rc;
            }
            *out = p.out;
            return PS_OK;
        }
    }

    if (!f->query && no_where && default_order && !filtering_includes) {
        /* The store pages in pid order (includes that restrict the parent
         * go to the index, which narrows their candidates). */
        p.verify = 0;
        p.skip = 0;
        rc = browse(&p, f->skip, err);
    } else if ((!f->query && default_order) || (f->query && nkeys == 0)) {
        /* In pid order, or by relevance with ties in pid order. Exact
         * plans need skip + limit (+1 to see a truncation) from each
         * stream; superset plans are checked chunk by chunk. */
        int exact = 1;
        ps_xq_free(psi_plan_where(f->where, group_of(f->model), &exact));
        p.verify = !exact;
        uint64_t chunk = exact && !filtering_includes
                             ? (uint64_t)f->skip + (uint64_t)p.want + 1
                             : CHUNK;
        rc = find_merged(&p, f->query ? &terms : NULL, chunk, err);
    } else {
        int exact = 1;
        ps_xquery *q =
            full_query(ctx, f->model, f->where, f->includes, f->nincludes,
                       f->query ? &terms : NULL, 0, &exact, err);
        if (!q)
            rc = err && err->code != PS_OK ? err->code : PS_ERR_NOMEM;
        if (rc == PS_OK && !f->query)
            rc = sort_keys(f->model, f, keys, &nkeys, err);
        p.verify = !exact;
        int direct = exact && !filtering_includes;
        uint64_t offset = direct ? (uint64_t)f->skip : 0;
        if (direct)
            p.skip = 0;
        int done = 0;
        while (rc == PS_OK && !done) {
            ps_xsearch_opts o = PS_XSEARCH_OPTS_INIT;
            o.sort = nkeys ? keys : NULL;
            o.nsort = nkeys;
            o.offset = offset;
            o.count = direct ? (uint64_t)p.want + 1 : CHUNK;
            ps_xresult res;
            rc = search(ctx, q, &o, &res, err);
            if (rc != PS_OK)
                break;
            for (size_t i = 0; i < res.n && !done && rc == PS_OK; i++) {
                ps_kind kind;
                int64_t id;
                if (ps_index_hit_ref(res.hits[i].data, &kind, &id) != 0)
                    continue;
                /* The hit's weight is its score (ps_xq_score). */
                rc = page_hit(&p, kind, id, 1,
                              f->query ? res.hits[i].weight : 0, &done, err);
            }
            size_t got = res.n;
            ps_xresult_free(&res);
            if (direct || got < o.count)
                break;
            offset += got;
        }
        ps_xq_free(q);
    }
    ps_score_terms_free(&terms);
    if (rc != PS_OK) {
        json_decref(p.out);
        return rc;
    }
    /* More matches than an explicit limit are not a truncation; more than
     * the ceiling are. */
    *truncated = p.truncated && (f->limit == 0 || f->limit > p.want);
    *out = p.out;
    return PS_OK;
}

ps_status psi_pan_count(psi_ctx *ctx, ps_pan_model model, const ps_where *w,
                        int64_t *out, ps_err *err)
{
    *out = 0;
    if (!w || w->type == PSI_W_TRUE) {
        /* O(1): a term frequency, not a scan (the count of everything is
         * what portals ask most). */
        const char *group = model == PS_PAN_DATASET    ? "dataset"
                            : model == PS_PAN_DOCUMENT ? "document"
                                                       : "instrument";
        ps_status rc =
            ps_index_count_visible(ctx->idx, group, ps_now_ms(), out, err);
        if (rc == PS_ERR_RETRY || rc == PS_ERR_INDEX) {
            if (ps_index_refresh(ctx->idx, NULL, err) == PS_OK)
                rc = ps_index_count_visible(ctx->idx, group, ps_now_ms(), out,
                                            err);
        }
        return rc;
    }
    int exact = 1;
    ps_xquery *q = full_query(ctx, model, w, NULL, 0, NULL, 0, &exact, err);
    if (!q)
        return err && err->code != PS_OK ? err->code : PS_ERR_NOMEM;
    ps_status rc = PS_OK;
    if (exact) {
        ps_xsearch_opts o = PS_XSEARCH_OPTS_INIT;
        o.count = 0;
        o.check_at_least = UINT64_MAX;
        ps_xresult res;
        rc = search(ctx, q, &o, &res, err);
        if (rc == PS_OK) {
            *out = (int64_t)res.matches_lower;
            ps_xresult_free(&res);
        }
    } else {
        /* Check every candidate the index cannot decide. */
        ps_pan_filter f = {0};
        f.model = model;
        f.where = (ps_where *)w;
        pager p = {ctx, &f, 1, 0, 0, INT64_MAX, 0, NULL};
        uint64_t offset = 0;
        for (;;) {
            ps_xsearch_opts o = PS_XSEARCH_OPTS_INIT;
            o.offset = offset;
            o.count = CHUNK;
            ps_xresult res;
            rc = search(ctx, q, &o, &res, err);
            if (rc != PS_OK)
                break;
            for (size_t i = 0; i < res.n && rc == PS_OK; i++) {
                ps_kind kind;
                int64_t id;
                json_t *obj = NULL;
                if (ps_index_hit_ref(res.hits[i].data, &kind, &id) != 0)
                    continue;
                rc = check_deadline(ctx, err);
                if (rc == PS_OK)
                    rc = psi_render(ctx, model, kind, id, NULL, 0, 1, 0, &obj,
                                    err);
                if (obj && ps_where_match(w, model, obj))
                    p.matched++;
                json_decref(obj);
            }
            size_t got = res.n;
            ps_xresult_free(&res);
            if (rc != PS_OK || got < CHUNK)
                break;
            offset += got;
        }
        *out = p.matched;
    }
    ps_xq_free(q);
    return rc;
}
