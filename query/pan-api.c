/*
 * pan-api.c: the PaN search API's endpoints (find, count, find by pid, a
 * dataset's files and their count) for Datasets, Documents and Instruments,
 * answered over the index and the store. Requests and answers follow the
 * PaN specification and the reference implementation (LoopBack): the
 * filter arrives as ?filter=<JSON>, count takes the bare ?where=<JSON>,
 * unknown pids are 404 MODEL_NOT_FOUND, and any malformed input is a 400
 * that says what is wrong. The work is in filter.c (parsing, checking),
 * plan.c (finding) and render.c (JSON).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "query-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bad_request(psi_resp *resp, const ps_err *err)
{
    if (err->code == PS_ERR_INVALID || err->code == PS_ERR_PARSE)
        return psi_error(resp, 400, NULL, "%s", err->msg);
    return psi_error_status(resp, err);
}

/* Resolve what a filter names outside itself: the techniques of technique
 * scopes (with the ontology), the units of parameter scopes. */
static ps_status bind_filter(psi_req *req, psi_ctx *ctx, ps_pan_filter *f,
                             ps_err *err)
{
    ps_status rc = psi_techniques_bind(ctx, f->includes, f->nincludes, err);
    if (rc == PS_OK)
        rc = psi_parameters_bind(ctx, req->srv->units, f->includes,
                                 f->nincludes, err);
    return rc;
}

int psi_h_pan_find(psi_req *req, psi_ctx *ctx, const psi_match *m,
                   psi_resp *resp)
{
    if (req->srv->fed && !req->args_override)
        return psi_fed_answer(req, ctx, m, resp, psi_h_pan_find);
    ps_err err = PS_ERR_INIT;
    ps_pan_filter *f = NULL;
    if (ps_pan_filter_parse(m->model, psi_arg(req, "filter"), &f, &err) !=
        PS_OK)
        return bad_request(resp, &err);
    /* SciCat's provider also takes the keywords as ?query=. */
    const char *q = psi_arg(req, "query");
    if (q && *q && !f->query) {
        f->query = ps_strdup(q);
        if (!f->query) {
            ps_pan_filter_free(f);
            return psi_error(resp, 500, NULL, "out of memory");
        }
    }
    json_t *out = NULL;
    int truncated = 0;
    ps_status rc = bind_filter(req, ctx, f, &err);
    if (rc == PS_OK)
        rc = psi_pan_find(ctx, f, req->srv->opts.max_results, &out, &truncated,
                          &err);
    ps_pan_filter_free(f);
    if (rc != PS_OK)
        return psi_error_status(resp, &err);
    resp->json = out;
    resp->truncated = truncated;
    return 200;
}

int psi_h_pan_count(psi_req *req, psi_ctx *ctx, const psi_match *m,
                    psi_resp *resp)
{
    if (req->srv->fed && !req->args_override)
        return psi_fed_answer(req, ctx, m, resp, psi_h_pan_count);
    ps_err err = PS_ERR_INIT;
    ps_where *w = NULL;
    if (ps_pan_where_parse(m->model, psi_arg(req, "where"), &w, &err) != PS_OK)
        return bad_request(resp, &err);
    int64_t n = 0;
    ps_status rc = psi_pan_count(ctx, m->model, w, &n, &err);
    ps_where_free(w);
    if (rc != PS_OK)
        return psi_error_status(resp, &err);
    resp->json = json_pack("{s:I}", "count", (json_int_t)n);
    return resp->json ? 200 : psi_error(resp, 500, NULL, "out of memory");
}

static void keep_parents(ps_pan_include *inc, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        inc[i].filters_parent = 0;
        keep_parents(inc[i].includes, inc[i].nincludes);
    }
}

/* The store record behind a PaN pid of model: kind and id, or 0. */
static ps_status lookup(psi_ctx *ctx, ps_pan_model model, const char *pid,
                        ps_kind *kind, int64_t *id, ps_err *err)
{
    static const ps_kind dataset[] = {PS_KIND_DATASET, PS_KIND_NONE};
    static const ps_kind document[] = {PS_KIND_PROPOSAL, PS_KIND_PUBLICATION,
                                       PS_KIND_NONE};
    static const ps_kind instrument[] = {PS_KIND_INSTRUMENT, PS_KIND_NONE};
    const ps_kind *kinds = model == PS_PAN_DATASET    ? dataset
                           : model == PS_PAN_DOCUMENT ? document
                                                      : instrument;
    *id = 0;
    for (; *kinds != PS_KIND_NONE; kinds++) {
        ps_status rc = ps_store_find_pid(ctx->st, *kinds, pid, id, err);
        if (rc == PS_OK) {
            *kind = *kinds;
            return PS_OK;
        }
        if (rc != PS_ERR_NOTFOUND)
            return rc;
        ps_err_clear(err);
    }
    return PS_OK;
}

static int not_found(psi_resp *resp, ps_pan_model model, const char *pid)
{
    return psi_error(resp, 404, "MODEL_NOT_FOUND", "Unknown \"%s\" id \"%s\".",
                     psi_model_name(model), pid);
}

int psi_h_pan_by_pid(psi_req *req, psi_ctx *ctx, const psi_match *m,
                     psi_resp *resp)
{
    if (req->srv->fed && !req->args_override)
        return psi_fed_answer(req, ctx, m, resp, psi_h_pan_by_pid);
    ps_err err = PS_ERR_INIT;
    ps_pan_filter *f = NULL;
    if (ps_pan_filter_parse(m->model, psi_arg(req, "filter"), &f, &err) !=
        PS_OK)
        return bad_request(resp, &err);
    ps_kind kind = PS_KIND_NONE;
    int64_t id = 0;
    json_t *obj = NULL;
    /* The record asked for by pid is answered whatever its scoped
     * includes hold (the inner-join rule is for find, spec §4.4). */
    keep_parents(f->includes, f->nincludes);
    ps_status rc = bind_filter(req, ctx, f, &err);
    if (rc == PS_OK)
        rc = lookup(ctx, m->model, m->pid, &kind, &id, &err);
    if (rc == PS_OK && id)
        rc = psi_render(ctx, m->model, kind, id, f->includes, f->nincludes, 0,
                        0, &obj, &err);
    if (rc == PS_OK && obj)
        psi_project(obj, f);
    ps_pan_filter_free(f);
    if (rc != PS_OK)
        return psi_error_status(resp, &err);
    if (!obj)
        return not_found(resp, m->model, m->pid);
    resp->json = obj;
    return 200;
}

/* The dataset's rendered files, or 404. */
static int dataset_files(psi_req *req, psi_ctx *ctx, const psi_match *m,
                         psi_resp *resp, json_t **files)
{
    ps_err err = PS_ERR_INIT;
    ps_kind kind;
    int64_t id = 0;
    json_t *obj = NULL;
    ps_pan_include inc = {0};
    inc.relation = "files";
    inc.model = PS_PAN_FILE;
    ps_status rc = lookup(ctx, PS_PAN_DATASET, m->pid, &kind, &id, &err);
    if (rc == PS_OK && id)
        rc = psi_render(ctx, PS_PAN_DATASET, kind, id, &inc, 1, 0, 0, &obj,
                        &err);
    if (rc != PS_OK)
        return psi_error_status(resp, &err);
    if (!obj)
        return not_found(resp, PS_PAN_DATASET, m->pid);
    *files = json_incref(json_object_get(obj, "files"));
    json_decref(obj);
    return 0;
}

int psi_h_pan_files(psi_req *req, psi_ctx *ctx, const psi_match *m,
                    psi_resp *resp)
{
    if (req->srv->fed && !req->args_override)
        return psi_fed_answer(req, ctx, m, resp, psi_h_pan_files);
    ps_err err = PS_ERR_INIT;
    ps_pan_filter *f = NULL;
    if (ps_pan_filter_parse(PS_PAN_FILE, psi_arg(req, "filter"), &f, &err) !=
        PS_OK)
        return bad_request(resp, &err);
    if (f->nincludes || f->query || f->norder) {
        ps_pan_filter_free(f);
        return psi_error(resp, 400, NULL,
                         "files take a filter with where, limit, skip and "
                         "fields (files have no relations and come in their "
                         "dataset's order)");
    }
    json_t *files = NULL;
    int st = dataset_files(req, ctx, m, resp, &files);
    if (st) {
        ps_pan_filter_free(f);
        return st;
    }
    json_t *out = json_array();
    int64_t matched = 0;
    size_t i;
    json_t *file;
    json_array_foreach (files, i, file) {
        if (!ps_where_match(f->where, PS_PAN_FILE, file))
            continue;
        if (matched++ < f->skip)
            continue;
        if (f->limit && (int64_t)json_array_size(out) >= f->limit)
            break;
        json_t *copy = json_deep_copy(file);
        psi_project(copy, f);
        json_array_append_new(out, copy);
    }
    json_decref(files);
    ps_pan_filter_free(f);
    resp->json = out;
    return out ? 200 : psi_error(resp, 500, NULL, "out of memory");
}

int psi_h_pan_files_count(psi_req *req, psi_ctx *ctx, const psi_match *m,
                          psi_resp *resp)
{
    if (req->srv->fed && !req->args_override)
        return psi_fed_answer(req, ctx, m, resp, psi_h_pan_files_count);
    ps_err err = PS_ERR_INIT;
    ps_where *w = NULL;
    if (ps_pan_where_parse(PS_PAN_FILE, psi_arg(req, "where"), &w, &err) !=
        PS_OK)
        return bad_request(resp, &err);
    json_t *files = NULL;
    int st = dataset_files(req, ctx, m, resp, &files);
    if (st) {
        ps_where_free(w);
        return st;
    }
    int64_t n = 0;
    size_t i;
    json_t *file;
    json_array_foreach (files, i, file)
        n += ps_where_match(w, PS_PAN_FILE, file);
    json_decref(files);
    ps_where_free(w);
    resp->json = json_pack("{s:I}", "count", (json_int_t)n);
    return resp->json ? 200 : psi_error(resp, 500, NULL, "out of memory");
}
