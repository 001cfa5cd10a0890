/*
 * analytics.c: the numbers behind the dashboard's charts
 * (docs/api/analytics.md), GET {api}/analytics/breakdown, /country-pairs,
 * /instrument and /facility. Each takes the search parameters of /api/search
 * (q, type, the filters), so that any result set becomes a dashboard, and
 * counts over the whole match set with the tables of one index generation
 * (facets.c): a breakdown is a facet's counts (or sums of data volume or
 * citations), optionally split by a second facet; country pairs count the
 * documents whose members come from several countries; an instrument's and a
 * facility's figures count proposals (accepted, refused), datasets and their
 * volume, publications and their citations under each instrument. Nothing
 * here reads the store per document: the only store reads are an
 * instrument's names and a facility's instruments.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "query-private.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rows of a breakdown: default and most; columns of a split. */
#define ANALYTICS_ROWS_DEFAULT 25
#define ANALYTICS_ROWS_MAX 1000
#define ANALYTICS_SPLIT_MAX 50
/* Most countries a pair count considers (the commonest). */
#define ANALYTICS_COUNTRIES_MAX 1024
#define ANALYTICS_PAIRS_DEFAULT 50

enum { METRIC_COUNT, METRIC_VOLUME, METRIC_CITATIONS };

/* s if it is valid UTF-8 (it can go into a JSON message), else "?". */
static const char *printable(const char *s)
{
    json_t *t = json_string(s);
    json_decref(t);
    return t ? s : "?";
}

/* A whole number in [lo, hi] from a query argument, def when absent; -1
 * (and a 400 in resp) when it is not. */
static int64_t arg_count(psi_req *req, psi_resp *resp, const char *name,
                         int64_t def, int64_t lo, int64_t hi)
{
    const char *v = psi_arg(req, name);
    int64_t n;
    if (!v)
        return def;
    if (ps_parse_i64(v, &n) != 0 || n < lo || n > hi) {
        psi_error(resp, 400, "INVALID_PARAMETER",
                  "%s must be a whole number from %lld to %lld", name,
                  (long long)lo, (long long)hi);
        return -1;
    }
    return n;
}

/* The facet named by argument name; -1 (and a 400 in resp) when it is
 * missing and required, or unknown; -2 when it is absent and optional. */
static int arg_facet(psi_req *req, psi_resp *resp, const char *name,
                     int required)
{
    const char *v = psi_arg(req, name);
    if (!v || !*v) {
        if (!required)
            return -2;
        psi_error(resp, 400, "INVALID_PARAMETER",
                  "%s is required: one of year, type, status, doctype, "
                  "facility, instrument, technique, institution, country, "
                  "author, keyword, journal",
                  name);
        return -1;
    }
    int f = psi_facet_find(v, strlen(v));
    if (f < 0)
        psi_error(resp, 400, "INVALID_PARAMETER",
                  "%s: \"%.64s\" is not one of year, type, status, doctype, "
                  "facility, instrument, technique, institution, country, "
                  "author, keyword, journal",
                  name, printable(v));
    return f;
}

static int has_bit(const uint64_t *bits, size_t d)
{
    return (int)((bits[d >> 6] >> (d & 63)) & 1);
}

/* A count or a sum as JSON: whole numbers as integers. */
static json_t *number(double x)
{
    if (x == floor(x) && fabs(x) < 9e15)
        return json_integer((json_int_t)x);
    return json_real(x);
}

/* The value ids of a facet to show as rows or columns: a year facet
 * every year from the first to the last with a count (in order; ids -1
 * for years the facet does not hold), others the limit commonest. */
typedef struct axis {
    int f;
    size_t n;
    int64_t *ids;   /* value id, or -1 (a year without records) */
    int64_t *years; /* for a year axis: the year of each entry */
} axis;

static void axis_free(axis *a)
{
    ps_free(a->ids);
    ps_free(a->years);
    memset(a, 0, sizeof *a);
}

static ps_status axis_make(const psi_fgen *g, int f, const double *counts,
                           size_t limit, axis *a, ps_err *err)
{
    memset(a, 0, sizeof *a);
    a->f = f;
    const ps_xfacet_table *t = g->tab[f];
    if (f == PSI_F_YEAR) {
        int64_t lo = INT64_MAX, hi = INT64_MIN;
        for (size_t v = 0; v < t->nvalues; v++) {
            int64_t y = psi_year_of_name(t->names[v]);
            if (counts[v] > 0 && y > 0) {
                lo = y < lo ? y : lo;
                hi = y > hi ? y : hi;
            }
        }
        size_t n = lo <= hi ? (size_t)(hi - lo + 1) : 0;
        if (n > 10000) /* a stray year: keep the span sane */
            n = 10000;
        a->ids = ps_malloc((n ? n : 1) * sizeof *a->ids);
        a->years = ps_malloc((n ? n : 1) * sizeof *a->years);
        if (!a->ids || !a->years) {
            axis_free(a);
            return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        }
        for (size_t i = 0; i < n; i++) {
            a->years[i] = lo + (int64_t)i;
            a->ids[i] = -1;
        }
        for (size_t v = 0; v < t->nvalues; v++) {
            int64_t y = psi_year_of_name(t->names[v]);
            if (y >= lo && y <= hi && y - lo < (int64_t)n)
                a->ids[y - lo] = (int64_t)v;
        }
        a->n = n;
        return PS_OK;
    }
    size_t *top = NULL, ntop = 0;
    ps_status rc = psi_fgen_top(g, f, counts, limit, &top, &ntop, err);
    if (rc != PS_OK)
        return rc;
    a->ids = ps_malloc((ntop ? ntop : 1) * sizeof *a->ids);
    if (!a->ids) {
        ps_free(top);
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < ntop; i++)
        a->ids[i] = (int64_t)top[i];
    a->n = ntop;
    ps_free(top);
    return PS_OK;
}

/* {"value","label"} of entry i of an axis. */
static json_t *axis_entry(const psi_fgen *g, const axis *a, size_t i)
{
    if (a->years) {
        char y[24];
        snprintf(y, sizeof y, "%lld", (long long)a->years[i]);
        return json_pack("{s:s, s:s}", "value", y, "label", y);
    }
    size_t v = (size_t)a->ids[i];
    json_t *e = json_pack("{s:s, s:s}", "value", g->tab[a->f]->names[v],
                          "label", psi_fgen_label(g, a->f, v));
    psi_fgen_add_country(g, a->f, v, e);
    return e;
}

/* A value id -> axis position map (-1: not on the axis). */
static int32_t *axis_index(const psi_fgen *g, const axis *a)
{
    size_t nv = g->tab[a->f]->nvalues;
    int32_t *m = ps_malloc((nv ? nv : 1) * sizeof *m);
    if (!m)
        return NULL;
    for (size_t v = 0; v < nv; v++)
        m[v] = -1;
    for (size_t i = 0; i < a->n; i++)
        if (a->ids[i] >= 0)
            m[a->ids[i]] = (int32_t)i;
    return m;
}

static const double *metric_weight(const psi_fgen *g, int metric)
{
    return metric == METRIC_VOLUME      ? g->size
           : metric == METRIC_CITATIONS ? g->cites
                                        : NULL;
}

/* ---- breakdown ------------------------------------------------------------
 */

static ps_status breakdown(const psi_fgen *g, const uint64_t *bits, int by,
                           int split, int metric, size_t limit, json_t *out,
                           ps_err *err)
{
    const double *w = metric_weight(g, metric);
    const ps_xfacet_table *tb = g->tab[by];
    size_t nb = tb->nvalues ? tb->nvalues : 1;
    double *cb = ps_malloc(nb * sizeof *cb);
    if (!cb)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    psi_fgen_count(g, by, bits, w, cb);
    axis rows, cols;
    memset(&cols, 0, sizeof cols);
    ps_status rc = axis_make(g, by, cb, limit, &rows, err);
    double *cs = NULL, *cells = NULL;
    int32_t *rmap = NULL, *cmap = NULL;
    if (rc == PS_OK && split >= 0) {
        size_t ns = g->tab[split]->nvalues ? g->tab[split]->nvalues : 1;
        cs = ps_malloc(ns * sizeof *cs);
        if (!cs)
            rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        if (rc == PS_OK) {
            psi_fgen_count(g, split, bits, w, cs);
            rc = axis_make(g, split, cs, ANALYTICS_SPLIT_MAX, &cols, err);
        }
        if (rc == PS_OK) {
            cells = ps_calloc((rows.n ? rows.n : 1) * (cols.n ? cols.n : 1),
                              sizeof *cells);
            rmap = axis_index(g, &rows);
            cmap = axis_index(g, &cols);
            if (!cells || !rmap || !cmap)
                rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        }
        /* One pass over the match set: each (row value, column value) of
         * each document. */
        const ps_xfacet_table *ts = g->tab[split];
        for (size_t wd = 0; rc == PS_OK && wd < g->nwords; wd++) {
            uint64_t x = bits[wd];
            while (x) {
                size_t d = wd * 64 + (size_t)__builtin_ctzll(x);
                x &= x - 1;
                double by_w = w ? w[d] : 1;
                if (isnan(by_w) || d >= tb->ndocs || d >= ts->ndocs)
                    continue;
                for (uint32_t i = tb->offsets[d]; i < tb->offsets[d + 1]; i++) {
                    int32_t r = rmap[tb->values[i]];
                    if (r < 0)
                        continue;
                    for (uint32_t j = ts->offsets[d]; j < ts->offsets[d + 1];
                         j++) {
                        int32_t c = cmap[ts->values[j]];
                        if (c >= 0)
                            cells[(size_t)r * cols.n + (size_t)c] += by_w;
                    }
                }
            }
        }
    }
    /* The total over the match set, and what has no value of by. */
    double total = 0, missing = 0;
    for (size_t wd = 0; rc == PS_OK && wd < g->nwords; wd++) {
        uint64_t x = bits[wd];
        while (x) {
            size_t d = wd * 64 + (size_t)__builtin_ctzll(x);
            x &= x - 1;
            double by_w = w ? w[d] : 1;
            if (isnan(by_w))
                continue;
            total += by_w;
            if (d >= tb->ndocs || tb->offsets[d] == tb->offsets[d + 1])
                missing += by_w;
        }
    }
    json_t *arr = rc == PS_OK ? json_array() : NULL;
    if (rc == PS_OK && !arr)
        rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; rc == PS_OK && i < rows.n; i++) {
        json_t *row = axis_entry(g, &rows, i);
        if (!row) {
            rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
            break;
        }
        json_object_set_new(row, "count",
                            number(rows.ids[i] >= 0 ? cb[rows.ids[i]] : 0));
        if (split >= 0) {
            json_t *sp = json_array();
            for (size_t c = 0; sp && c < cols.n; c++) {
                double n = cells[i * cols.n + c];
                if (n <= 0 && !cols.years)
                    continue;
                json_t *e = axis_entry(g, &cols, c);
                if (e) {
                    json_object_set_new(e, "count", number(n));
                    json_array_append_new(sp, e);
                }
            }
            json_object_set_new(row, "split", sp ? sp : json_array());
        }
        json_array_append_new(arr, row);
    }
    if (rc == PS_OK) {
        json_object_set_new(out, "total", number(total));
        json_object_set_new(out, "missing", number(missing));
        json_object_set_new(out, "rows", arr);
        if (split >= 0) {
            json_t *keys = json_array();
            for (size_t c = 0; keys && c < cols.n; c++)
                json_array_append_new(keys, axis_entry(g, &cols, c));
            json_object_set_new(out, "columns", keys ? keys : json_array());
        }
    } else {
        json_decref(arr);
    }
    ps_free(cb);
    ps_free(cs);
    ps_free(cells);
    ps_free(rmap);
    ps_free(cmap);
    axis_free(&rows);
    axis_free(&cols);
    return rc;
}

/* The parts every analytics handler shares: parse the search parameters,
 * then its own, then the match set. */
typedef struct analytics_req {
    psi_search *s;
    psi_fgen *g;
    uint64_t *bits;
    int64_t t0;
} analytics_req;

static int analytics_begin(psi_req *req, psi_ctx *ctx, psi_resp *resp,
                           analytics_req *a)
{
    memset(a, 0, sizeof *a);
    a->t0 = ps_mono_ns();
    int st = psi_search_parse(req, resp, &a->s);
    if (st)
        return st;
    st = psi_search_match(req, ctx, a->s, resp, &a->g, &a->bits);
    if (st) {
        psi_search_free(a->s);
        a->s = NULL;
    }
    return st;
}

static void analytics_end(analytics_req *a)
{
    ps_free(a->bits);
    psi_fgen_release(a->g);
    psi_search_free(a->s);
}

static int analytics_answer(psi_resp *resp, analytics_req *a, json_t *out,
                            ps_status rc, ps_err *err)
{
    if (rc == PS_OK && out) {
        double took = (double)(ps_mono_ns() - a->t0) / 1e6;
        json_object_set_new(out, "took_ms",
                            json_real(round(took * 1000) / 1000));
    }
    analytics_end(a);
    if (rc != PS_OK || !out) {
        json_decref(out);
        if (rc == PS_OK)
            ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        return psi_error_status(resp, err);
    }
    resp->json = out;
    return 200;
}

int psi_h_analytics_breakdown(psi_req *req, psi_ctx *ctx, const psi_match *m,
                              psi_resp *resp)
{
    (void)m;
    int by = arg_facet(req, resp, "by", 1);
    if (by < 0)
        return resp->status;
    int split = arg_facet(req, resp, "split", 0);
    if (split == -1)
        return resp->status;
    const char *mv = psi_arg(req, "metric");
    int metric = METRIC_COUNT;
    if (mv && strcmp(mv, "volume") == 0)
        metric = METRIC_VOLUME;
    else if (mv && strcmp(mv, "citations") == 0)
        metric = METRIC_CITATIONS;
    else if (mv && strcmp(mv, "count") != 0)
        return psi_error(resp, 400, "INVALID_PARAMETER",
                         "metric must be count, volume (datasets' bytes) or "
                         "citations (publications' citations)");
    int64_t limit = arg_count(req, resp, "limit", ANALYTICS_ROWS_DEFAULT, 1,
                              ANALYTICS_ROWS_MAX);
    if (limit < 0)
        return resp->status;
    analytics_req a;
    int st = analytics_begin(req, ctx, resp, &a);
    if (st)
        return st;
    ps_err err = PS_ERR_INIT;
    json_t *out =
        json_pack("{s:s, s:s, s:s}", "by", psi_facets[by].name, "metric",
                  metric == METRIC_VOLUME      ? "volume"
                  : metric == METRIC_CITATIONS ? "citations"
                                               : "count",
                  "split", split >= 0 ? psi_facets[split].name : "");
    if (out && split < 0)
        json_object_del(out, "split");
    ps_status rc = out ? breakdown(a.g, a.bits, by, split >= 0 ? split : -1,
                                   metric, (size_t)limit, out, &err)
                       : PS_ERR_NOMEM;
    return analytics_answer(resp, &a, out, rc, &err);
}

/* ---- country pairs --------------------------------------------------------
 */

typedef struct pair {
    uint32_t a, b, n;
} pair;

int psi_h_analytics_countries(psi_req *req, psi_ctx *ctx, const psi_match *m,
                              psi_resp *resp)
{
    (void)m;
    int64_t limit = arg_count(req, resp, "limit", ANALYTICS_PAIRS_DEFAULT, 1,
                              ANALYTICS_ROWS_MAX);
    if (limit < 0)
        return resp->status;
    analytics_req a;
    int st = analytics_begin(req, ctx, resp, &a);
    if (st)
        return st;
    ps_err err = PS_ERR_INIT;
    const psi_fgen *g = a.g;
    const ps_xfacet_table *t = g->tab[PSI_F_COUNTRY];
    size_t nc = t->nvalues < ANALYTICS_COUNTRIES_MAX ? t->nvalues
                                                     : ANALYTICS_COUNTRIES_MAX;
    uint32_t *cells = ps_calloc(nc ? nc * nc : 1, sizeof *cells);
    uint32_t *per = ps_calloc(nc ? nc : 1, sizeof *per);
    json_t *out = NULL;
    ps_status rc =
        cells && per ? PS_OK : ps_err_set(&err, PS_ERR_NOMEM, "out of memory");
    uint64_t docs = 0;
    for (size_t wd = 0; rc == PS_OK && wd < g->nwords; wd++) {
        uint64_t x = a.bits[wd];
        while (x) {
            size_t d = wd * 64 + (size_t)__builtin_ctzll(x);
            x &= x - 1;
            if (d >= t->ndocs)
                continue;
            uint32_t lo = t->offsets[d], hi = t->offsets[d + 1];
            if (hi - lo < 2)
                continue;
            docs++;
            /* Value ids of a document are in term order: a < b. */
            for (uint32_t i = lo; i < hi; i++) {
                uint32_t ca = t->values[i];
                if (ca >= nc)
                    continue;
                per[ca]++;
                for (uint32_t j = i + 1; j < hi; j++)
                    if (t->values[j] < nc)
                        cells[(size_t)ca * nc + t->values[j]]++;
            }
        }
    }
    pair *pairs = NULL;
    size_t np = 0;
    for (size_t i = 0; rc == PS_OK && i < nc * nc; i++)
        np += cells[i] > 0;
    if (rc == PS_OK) {
        pairs = ps_malloc((np ? np : 1) * sizeof *pairs);
        if (!pairs)
            rc = ps_err_set(&err, PS_ERR_NOMEM, "out of memory");
    }
    np = 0;
    for (size_t i = 0; rc == PS_OK && i < nc; i++)
        for (size_t j = 0; j < nc; j++)
            if (cells[i * nc + j])
                pairs[np++] =
                    (pair){(uint32_t)i, (uint32_t)j, cells[i * nc + j]};
    /* The commonest first; ties in name order (ids are name order). */
    for (size_t i = 1; rc == PS_OK && i < np; i++) {
        pair p = pairs[i];
        size_t j = i;
        while (j && (pairs[j - 1].n < p.n ||
                     (pairs[j - 1].n == p.n &&
                      (pairs[j - 1].a > p.a ||
                       (pairs[j - 1].a == p.a && pairs[j - 1].b > p.b))))) {
            pairs[j] = pairs[j - 1];
            j--;
        }
        pairs[j] = p;
    }
    if (rc == PS_OK) {
        json_t *parr = json_array(), *carr = json_array();
        for (size_t i = 0; parr && i < np && i < (size_t)limit; i++)
            json_array_append_new(parr, json_pack("{s:s, s:s, s:I}", "a",
                                                  t->names[pairs[i].a], "b",
                                                  t->names[pairs[i].b], "count",
                                                  (json_int_t)pairs[i].n));
        double *pc = ps_malloc((nc ? nc : 1) * sizeof *pc);
        for (size_t i = 0; pc && i < nc; i++)
            pc[i] = per[i];
        /* Countries by their multi-country documents (the top ones). */
        size_t *top = NULL, ntop = 0;
        if (pc && t->nvalues == nc)
            rc = psi_fgen_top(g, PSI_F_COUNTRY, pc, (size_t)limit, &top, &ntop,
                              &err);
        for (size_t i = 0; carr && i < ntop; i++)
            json_array_append_new(carr, json_pack("{s:s, s:I}", "value",
                                                  t->names[top[i]], "count",
                                                  (json_int_t)per[top[i]]));
        ps_free(top);
        ps_free(pc);
        out = json_pack("{s:I, s:o*, s:o*}", "documents", (json_int_t)docs,
                        "countries", carr, "pairs", parr);
    }
    ps_free(pairs);
    ps_free(cells);
    ps_free(per);
    return analytics_answer(resp, &a, out, rc, &err);
}

/* ---- an instrument's and a facility's figures -----------------------------
 */

enum {
    T_PROPOSALS,
    T_ACCEPTED,
    T_REFUSED,
    T_DATASETS,
    T_VOLUME,
    T_PUBLICATIONS,
    T_CITATIONS,
    T_FIRST_YEAR,
    T_LAST_YEAR,
    NTOTALS
};
static const char *const total_names[NTOTALS] = {
    "proposals",    "accepted",  "refused",    "datasets", "volume",
    "publications", "citations", "first_year", "last_year"};

/* Add document d's figures to tot. */
static void add_totals(const psi_fgen *g, size_t d, int64_t accepted,
                       int64_t refused, double *tot)
{
    const ps_xfacet_table *st = g->tab[PSI_F_STATUS];
    if (has_bit(g->kinds[psi_fgen_kind_slot(PS_KIND_PROPOSAL)], d)) {
        tot[T_PROPOSALS]++;
        for (uint32_t i = d < st->ndocs ? st->offsets[d] : 0;
             d < st->ndocs && i < st->offsets[d + 1]; i++) {
            tot[T_ACCEPTED] += (int64_t)st->values[i] == accepted;
            tot[T_REFUSED] += (int64_t)st->values[i] == refused;
        }
    } else if (has_bit(g->kinds[psi_fgen_kind_slot(PS_KIND_DATASET)], d)) {
        tot[T_DATASETS]++;
        if (!isnan(g->size[d]))
            tot[T_VOLUME] += g->size[d];
    } else if (has_bit(g->kinds[psi_fgen_kind_slot(PS_KIND_PUBLICATION)], d)) {
        tot[T_PUBLICATIONS]++;
        if (!isnan(g->cites[d]))
            tot[T_CITATIONS] += g->cites[d];
    }
    int y = g->year[d];
    if (y && (!tot[T_FIRST_YEAR] || y < tot[T_FIRST_YEAR]))
        tot[T_FIRST_YEAR] = y;
    if (y && y > tot[T_LAST_YEAR])
        tot[T_LAST_YEAR] = y;
}

static json_t *totals_json(const double *tot)
{
    json_t *o = json_object();
    for (int i = 0; o && i < NTOTALS; i++)
        json_object_set_new(o, total_names[i],
                            (i == T_FIRST_YEAR || i == T_LAST_YEAR) && !tot[i]
                                ? json_null()
                                : number(tot[i]));
    return o;
}

/* For each document of bits counted under an instrument of ids (value
 * ids of the instrument facet, n of them; -1 entries skipped), add its
 * figures to tot[k * NTOTALS ...]. */
static ps_status instrument_totals(const psi_fgen *g, const uint64_t *bits,
                                   const int64_t *ids, size_t n, double *tot,
                                   ps_err *err)
{
    const ps_xfacet_table *t = g->tab[PSI_F_INSTRUMENT];
    int32_t *map = ps_malloc((t->nvalues ? t->nvalues : 1) * sizeof *map);
    if (!map)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    for (size_t v = 0; v < t->nvalues; v++)
        map[v] = -1;
    for (size_t i = 0; i < n; i++)
        if (ids[i] >= 0)
            map[ids[i]] = (int32_t)i;
    int64_t acc = psi_fgen_value(g, PSI_F_STATUS, "accepted");
    int64_t ref = psi_fgen_value(g, PSI_F_STATUS, "refused");
    for (size_t wd = 0; wd < g->nwords; wd++) {
        uint64_t x = bits[wd];
        while (x) {
            size_t d = wd * 64 + (size_t)__builtin_ctzll(x);
            x &= x - 1;
            if (d >= t->ndocs)
                continue;
            for (uint32_t i = t->offsets[d]; i < t->offsets[d + 1]; i++) {
                int32_t k = map[t->values[i]];
                if (k >= 0)
                    add_totals(g, d, acc, ref, tot + (size_t)k * NTOTALS);
            }
        }
    }
    ps_free(map);
    return PS_OK;
}

int psi_h_analytics_instrument(psi_req *req, psi_ctx *ctx, const psi_match *m,
                               psi_resp *resp)
{
    (void)m;
    const char *pid = psi_arg(req, "pid");
    if (!pid || !*pid || strlen(pid) > 256)
        return psi_error(resp, 400, "INVALID_PARAMETER",
                         "pid is required: the instrument's pid (1 to 256 "
                         "bytes), e.g. pid=esrf:ID13");
    ps_err err = PS_ERR_INIT;
    json_t *out = NULL;
    ps_status rc = ps_store_instrument_history(ctx->st, pid, &out, &err);
    if (rc == PS_ERR_NOTFOUND)
        return psi_error(resp, 404, "NOT_FOUND", "no instrument \"%.256s\"",
                         printable(pid));
    if (rc != PS_OK)
        return psi_error_status(resp, &err);
    analytics_req a;
    int st = analytics_begin(req, ctx, resp, &a);
    if (st) {
        json_decref(out);
        return st;
    }
    double tot[NTOTALS] = {0};
    int64_t id = psi_fgen_value(a.g, PSI_F_INSTRUMENT, pid);
    rc = instrument_totals(a.g, a.bits, &id, 1, tot, &err);
    if (rc == PS_OK)
        json_object_set_new(out, "totals", totals_json(tot));
    return analytics_answer(resp, &a, out, rc, &err);
}

int psi_h_analytics_facility(psi_req *req, psi_ctx *ctx, const psi_match *m,
                             psi_resp *resp)
{
    (void)m;
    const char *name = psi_arg(req, "name");
    if (!name || !*name || strlen(name) > 256)
        return psi_error(resp, 400, "INVALID_PARAMETER",
                         "name is required: the facility's name (1 to 256 "
                         "bytes), e.g. name=ILL");
    ps_err err = PS_ERR_INIT;
    json_t *list = NULL;
    ps_status rc = ps_store_facility_instruments(ctx->st, name, &list, &err);
    if (rc != PS_OK)
        return psi_error_status(resp, &err);
    if (!json_array_size(list)) {
        json_decref(list);
        return psi_error(resp, 404, "NOT_FOUND",
                         "no facility \"%.256s\" with instruments",
                         printable(name));
    }
    analytics_req a;
    int st = analytics_begin(req, ctx, resp, &a);
    if (st) {
        json_decref(list);
        return st;
    }
    size_t n = json_array_size(list);
    const char *fname = ps_json_str(json_array_get(list, 0), "facility");
    json_t *facility = json_string(fname ? fname : printable(name));
    int64_t *ids = ps_malloc(n * sizeof *ids);
    double *tot = ps_calloc(n * NTOTALS, sizeof *tot);
    json_t *out = NULL;
    if (!ids || !tot)
        rc = ps_err_set(&err, PS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; rc == PS_OK && i < n; i++)
        ids[i] = psi_fgen_value(a.g, PSI_F_INSTRUMENT,
                                ps_json_str(json_array_get(list, i), "pid"));
    if (rc == PS_OK)
        rc = instrument_totals(a.g, a.bits, ids, n, tot, &err);
    for (size_t i = 0; rc == PS_OK && i < n; i++) {
        json_t *row = json_array_get(list, i);
        json_t *t = totals_json(tot + i * NTOTALS);
        json_object_update(row, t);
        json_decref(t);
        json_object_del(row, "facility");
    }
    if (rc == PS_OK)
        out =
            json_pack("{s:O, s:O}", "facility", facility, "instruments", list);
    json_decref(facility);
    ps_free(ids);
    ps_free(tot);
    json_decref(list);
    return analytics_answer(resp, &a, out, rc, &err);
}
