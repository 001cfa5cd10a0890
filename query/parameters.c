/*
 * parameters.c: parameter scopes with units (PaN spec §4.5, §4.6). In a
 * scope of `parameters`, an `and` group that gives a `unit` next to
 * numeric `value` conditions is compared in SI: the query's operands are
 * converted once per request with udunits2, and each parameter's SI value
 * and SI unit were stored at harvest time, so rows are compared without
 * converting. A parameter that matches such a group comes back converted
 * into the query's unit (12 significant digits), with that unit as written.
 *
 * A unit udunits2 does not know is a 400 that says so; so is a unit that
 * cannot describe the named parameter: when the store holds parameters of
 * that name with SI values, and none in the query unit's dimension (a
 * temperature asked in metres). Conditions without a unit compare as
 * stored (numbers as numbers, strings as strings).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "query-private.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

struct psi_unitq {
    ps_units *units; /* the server's (shared, locked inside) */
    char *unit;      /* as the query wrote it */
    char unit_si[64];
    int is_unit; /* the unit condition (else a value condition) */
    double si[2];
};

void psi_unitq_free(psi_unitq *u)
{
    if (!u)
        return;
    ps_free(u->unit);
    ps_free(u);
}

static int as_num(const json_t *v, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return 0;
    }
    return json_is_string(v) ? ps_parse_double(json_string_value(v), out) : -1;
}

static int numeric_value_cond(const ps_where *w)
{
    if (w->type != PSI_W_COND || !w->field || strcmp(w->field, "value") != 0)
        return 0;
    double x;
    switch (w->op) {
    case PSI_OP_EQ:
    case PSI_OP_NEQ:
    case PSI_OP_GT:
    case PSI_OP_GTE:
    case PSI_OP_LT:
    case PSI_OP_LTE: return as_num(w->value, &x) == 0;
    case PSI_OP_BETWEEN:
        return as_num(json_array_get(w->value, 0), &x) == 0 &&
               as_num(json_array_get(w->value, 1), &x) == 0;
    default: return 0;
    }
}

static const char *eq_string(const ps_where *w, const char *field)
{
    if (w->type == PSI_W_COND && w->field && strcmp(w->field, field) == 0 &&
        w->op == PSI_OP_EQ && json_is_string(w->value))
        return json_string_value(w->value);
    return NULL;
}

static psi_unitq *unitq_new(ps_units *units, const char *unit,
                            const char *unit_si, int is_unit)
{
    psi_unitq *u = ps_calloc(1, sizeof *u);
    if (!u)
        return NULL;
    u->units = units;
    u->unit = ps_strdup(unit);
    u->is_unit = is_unit;
    snprintf(u->unit_si, sizeof u->unit_si, "%s", unit_si);
    if (!u->unit) {
        psi_unitq_free(u);
        return NULL;
    }
    return u;
}

/* One `and` group: if it has a unit and numeric values, bind them. */
static ps_status bind_group(psi_ctx *ctx, ps_units *units, ps_where *g,
                            ps_err *err)
{
    ps_where *unit_cond = NULL;
    const char *name = NULL;
    int nvalues = 0;
    for (size_t i = 0; i < g->nkids; i++) {
        if (eq_string(g->kids[i], "unit"))
            unit_cond = g->kids[i];
        if (eq_string(g->kids[i], "name"))
            name = eq_string(g->kids[i], "name");
        nvalues += numeric_value_cond(g->kids[i]);
    }
    if (!unit_cond || !nvalues)
        return PS_OK;
    const char *unit = json_string_value(unit_cond->value);
    if (!units)
        return ps_err_set(err, PS_ERR_INTERNAL,
                          "unit conversion is not available (the udunits2 "
                          "database did not load)");
    double one;
    char unit_si[64];
    ps_err uerr = PS_ERR_INIT;
    if (ps_units_to_si(units, 1, unit, &one, unit_si, sizeof unit_si, &uerr) !=
        PS_OK)
        return ps_err_set(err, PS_ERR_INVALID,
                          "parameters: %s (use a udunits2 name or symbol: "
                          "eV, keV, J, nm, angstrom, K, celsius, fahrenheit, "
                          "Pa, bar, atm, s, min, h, Hz, T, ...)",
                          uerr.msg);
    if (name) {
        int compatible;
        char seen[128];
        ps_status rc = ps_store_parameter_units(
            ctx->st, name, unit_si, &compatible, seen, sizeof seen, err);
        if (rc != PS_OK)
            return rc;
        if (compatible == 0)
            return ps_err_set(err, PS_ERR_INVALID,
                              "parameters: \"%s\" is measured in %s; unit "
                              "\"%s\" (%s) cannot be compared with it",
                              name, seen[0] ? seen : "other units", unit,
                              unit_si[0] ? unit_si : "dimensionless");
    }
    psi_unitq_free(unit_cond->uq);
    unit_cond->uq = unitq_new(units, unit, unit_si, 1);
    if (!unit_cond->uq)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < g->nkids; i++) {
        ps_where *v = g->kids[i];
        if (!numeric_value_cond(v))
            continue;
        psi_unitq *u = unitq_new(units, unit, unit_si, 0);
        if (!u)
            return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        size_t n = v->op == PSI_OP_BETWEEN ? 2 : 1;
        for (size_t k = 0; k < n; k++) {
            double x;
            char si_unit[64];
            as_num(n == 2 ? json_array_get(v->value, k) : v->value, &x);
            if (ps_units_to_si(units, x, unit, &u->si[k], si_unit,
                               sizeof si_unit, err) != PS_OK) {
                psi_unitq_free(u);
                return err ? err->code : PS_ERR_INVALID;
            }
        }
        psi_unitq_free(v->uq);
        v->uq = u;
    }
    return PS_OK;
}

static ps_status bind_where(psi_ctx *ctx, ps_units *units, ps_where *w,
                            ps_err *err)
{
    if (!w || w->type == PSI_W_COND || w->type == PSI_W_TRUE)
        return PS_OK;
    if (w->type == PSI_W_AND) {
        ps_status rc = bind_group(ctx, units, w, err);
        if (rc != PS_OK)
            return rc;
    }
    for (size_t i = 0; i < w->nkids; i++) {
        ps_status rc = bind_where(ctx, units, w->kids[i], err);
        if (rc != PS_OK)
            return rc;
    }
    return PS_OK;
}

ps_status psi_parameters_bind(psi_ctx *ctx, ps_units *units,
                              ps_pan_include *inc, size_t ninc, ps_err *err)
{
    for (size_t i = 0; i < ninc; i++) {
        ps_status rc = PS_OK;
        if (inc[i].model == PS_PAN_PARAMETER)
            rc = bind_where(ctx, units, inc[i].where, err);
        if (rc == PS_OK)
            rc = psi_parameters_bind(ctx, units, inc[i].includes,
                                     inc[i].nincludes, err);
        if (rc != PS_OK)
            return rc;
    }
    return PS_OK;
}

/* ---- matching ----------------------------------------------------------- */

static int si_cond(const ps_where *w, const json_t *ent)
{
    const psi_unitq *u = w->uq;
    const char *usi = ps_json_str(ent, "unit_si");
    if (u->is_unit)
        return usi && strcmp(usi, u->unit_si) == 0;
    json_t *v = json_object_get(ent, "value_si");
    if (!json_is_number(v) || !usi || strcmp(usi, u->unit_si) != 0)
        return 0;
    double x = json_number_value(v);
    /* Values converted back and forth differ in the last bits: compare
     * with a relative tolerance of 1e-9. */
    double tol = 1e-9 * fmax(fabs(x), fabs(u->si[0]));
    switch (w->op) {
    case PSI_OP_EQ: return fabs(x - u->si[0]) <= tol;
    case PSI_OP_NEQ: return fabs(x - u->si[0]) > tol;
    case PSI_OP_GT: return x > u->si[0] + tol;
    case PSI_OP_GTE: return x >= u->si[0] - tol;
    case PSI_OP_LT: return x < u->si[0] - tol;
    case PSI_OP_LTE: return x <= u->si[0] + tol;
    case PSI_OP_BETWEEN: {
        double lo = fmin(u->si[0], u->si[1]), hi = fmax(u->si[0], u->si[1]);
        if (u->si[0] > u->si[1])
            return 0; /* LoopBack: an empty range */
        double t2 = 1e-9 * fmax(fabs(lo), fabs(hi));
        return x >= lo - t2 && x <= hi + t2;
    }
    default: return 0;
    }
}

typedef struct param_arg {
    const json_t *row, *ent;
} param_arg;

static int param_leaf(const ps_where *w, void *p)
{
    const param_arg *a = p;
    return w->uq ? si_cond(w, a->ent)
                 : ps_where_match(w, PS_PAN_PARAMETER, a->row);
}

int psi_parameter_match(const ps_where *w, const json_t *row, const json_t *ent)
{
    param_arg a = {row, ent};
    return psi_where_eval(w, param_leaf, &a);
}

/* The unit condition of the first group with a unit that row matches. */
static const psi_unitq *unit_for(const ps_where *w, const json_t *row,
                                 const json_t *ent)
{
    if (!w || w->type == PSI_W_COND || w->type == PSI_W_TRUE)
        return NULL;
    if (w->type == PSI_W_AND)
        for (size_t i = 0; i < w->nkids; i++)
            if (w->kids[i]->uq && w->kids[i]->uq->is_unit &&
                psi_parameter_match(w, row, ent))
                return w->kids[i]->uq;
    for (size_t i = 0; i < w->nkids; i++) {
        const psi_unitq *u = unit_for(w->kids[i], row, ent);
        if (u)
            return u;
    }
    return NULL;
}

void psi_parameter_convert(const ps_where *w, json_t *row, const json_t *ent)
{
    const psi_unitq *u = unit_for(w, row, ent);
    json_t *si = json_object_get(ent, "value_si");
    if (!u || !json_is_number(si))
        return;
    double x;
    if (ps_units_convert(u->units, json_number_value(si),
                         ps_json_str(ent, "unit_si"), u->unit, &x,
                         NULL) != PS_OK ||
        !isfinite(x))
        return;
    char buf[64];
    snprintf(buf, sizeof buf, "%.12g", x);
    double r = x;
    ps_parse_double(buf, &r);
    json_object_set_new(row, "value",
                        r == floor(r) && fabs(r) < 9e15
                            ? json_integer((json_int_t)r)
                            : json_real(r));
    json_object_set_new(row, "unit", json_string(u->unit));
}

/* ---- narrowing the candidates in the index ------------------------------ */

/* The SI range a bound value condition accepts (with the tolerance of
 * si_cond); 0 if it is not a range (neq). */
static int si_range(const ps_where *v, double *lo, double *hi)
{
    const psi_unitq *u = v->uq;
    double tol = 2e-9 * fabs(u->si[0]); /* wider than si_cond's */
    *lo = -INFINITY;
    *hi = INFINITY;
    switch (v->op) {
    case PSI_OP_EQ:
        *lo = u->si[0] - tol;
        *hi = u->si[0] + tol;
        return 1;
    case PSI_OP_GT:
    case PSI_OP_GTE: *lo = u->si[0] - tol; return 1;
    case PSI_OP_LT:
    case PSI_OP_LTE: *hi = u->si[0] + tol; return 1;
    case PSI_OP_BETWEEN:
        tol = 2e-9 * fmax(fabs(u->si[0]), fabs(u->si[1]));
        *lo = u->si[0] - tol;
        *hi = u->si[1] + tol;
        return 1;
    default: return 0;
    }
}

/* A group naming the parameter and giving a unit: the value ranges. */
static ps_xquery *plan_group(const ps_where *g, const char *name)
{
    ps_xquery **kids = ps_calloc(g->nkids + 1, sizeof *kids);
    if (!kids)
        return NULL;
    size_t n = 0;
    char *t = ps_asprintf("XPN:%s", name);
    kids[n++] = t ? ps_xq_term(t) : NULL;
    ps_free(t);
    for (size_t i = 0; i < g->nkids; i++) {
        const ps_where *v = g->kids[i];
        double lo, hi;
        if (v->uq && !v->uq->is_unit && si_range(v, &lo, &hi))
            kids[n++] = ps_index_parameter_range(name, v->uq->unit_si, lo, hi);
    }
    ps_xquery *q = ps_xq_and(kids, n);
    ps_free(kids);
    return q;
}

static ps_xquery *plan_kid(const ps_where *w, void *arg)
{
    (void)arg;
    return psi_parameters_plan(w);
}

ps_xquery *psi_parameters_plan(const ps_where *w)
{
    if (!w)
        return ps_xq_all();
    if (w->type == PSI_W_AND) {
        const char *gname = NULL;
        for (size_t i = 0; i < w->nkids; i++)
            if (eq_string(w->kids[i], "name"))
                gname = eq_string(w->kids[i], "name");
        if (gname)
            return plan_group(w, gname);
    }
    const char *name = eq_string(w, "name");
    if (name) {
        char *t = ps_asprintf("XPN:%s", name);
        ps_xquery *q = t ? ps_xq_term(t) : NULL;
        ps_free(t);
        return q;
    }
    if (w->type != PSI_W_AND && w->type != PSI_W_OR)
        return ps_xq_all();
    return psi_plan_kids(w, plan_kid, NULL);
}
