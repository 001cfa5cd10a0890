/*
 * collections.c: the collections endpoints (docs/api/collections.md): list
 * and create collections, read one with its items, delete it, and add or
 * remove records given as (type, pid) pairs. The store keeps collections
 * (store/store-collection.c, which checks names, notes and ceilings); this
 * file checks the request bodies, speaks HTTP and maps the store's answers
 * to statuses. A collection's charts are the analytics endpoints with
 * collection=PID, and its search is /api/search with collection=PID: not
 * here. Records the public may not see are neither added nor shown, unless
 * the request shows the admin token.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "query-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ITEMS_PAGE_DEFAULT 1000
#define PID_MAX 1024 /* bytes of an item's pid */

static int64_t visible_at(psi_req *req)
{
    return psi_req_admin(req) ? 0 : ps_now_ms();
}

/* Reject members of obj other than those listed (NULL-ended): 0, or the
 * status of the 400 error put in resp. */
static int only_members(json_t *obj, const char *const *allowed,
                        const char *shape, psi_resp *resp)
{
    const char *key;
    json_t *v;
    json_object_foreach (obj, key, v) {
        int ok = 0;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = strcmp(key, *a) == 0;
        if (!ok)
            return psi_error(resp, 400, "INVALID_BODY",
                             "unknown member \"%.64s\" (expected %s)", key,
                             shape);
    }
    return 0;
}

/* The writer, or a 503 in resp (NULL). */
static ps_store *writer(psi_req *req, psi_ctx *ctx, psi_resp *resp)
{
    ps_err err = PS_ERR_INIT;
    ps_store *w = psi_ctx_writer(req->srv, ctx, &err);
    if (!w)
        psi_error(resp, 503, NULL, "the store cannot be written: %s", err.msg);
    return w;
}

int psi_h_collections(psi_req *req, psi_ctx *ctx, const psi_match *m,
                      psi_resp *resp)
{
    (void)m;
    ps_err err = PS_ERR_INIT;
    json_t *arr = NULL;
    if (ps_store_collection_list(ctx->st, &arr, visible_at(req), &err) != PS_OK)
        return psi_error_status(resp, &err);
    resp->json = json_pack("{s:o}", "results", arr);
    return resp->json ? 200 : psi_error(resp, 500, NULL, "out of memory");
}

int psi_h_collection_create(psi_req *req, psi_ctx *ctx, const psi_match *m,
                            psi_resp *resp)
{
    (void)m;
    static const char *const allowed[] = {"name", "description", NULL};
    json_t *body = NULL;
    int st = psi_body_json(req, resp, &body);
    if (st)
        return st;
    st = only_members(body, allowed, "{\"name\", \"description\"}", resp);
    json_t *name = json_object_get(body, "name");
    json_t *desc = json_object_get(body, "description");
    if (!st && !json_is_string(name))
        st = psi_error(resp, 400, "INVALID_BODY",
                       "a collection needs a name (a string)");
    if (!st && desc && !json_is_string(desc) && !json_is_null(desc))
        st = psi_error(resp, 400, "INVALID_BODY",
                       "description is a string (or null)");
    ps_store *w = st ? NULL : writer(req, ctx, resp);
    if (!st && !w)
        st = resp->status;
    if (st) {
        json_decref(body);
        return st;
    }
    ps_err err = PS_ERR_INIT;
    json_t *out = NULL;
    ps_status rc = ps_store_collection_create(w, &out, json_string_value(name),
                                              json_string_value(desc), &err);
    json_decref(body);
    if (rc == PS_ERR_TOOBIG)
        return psi_error(resp, 409, "TOO_MANY_COLLECTIONS", "%s", err.msg);
    if (rc != PS_OK)
        return psi_error_status(resp, &err);
    snprintf(resp->location, sizeof resp->location, "%s/collections/%s",
             req->srv->api_prefix,
             json_string_value(json_object_get(out, "pid")));
    resp->json = out;
    resp->cache_control = "no-store";
    return 201;
}

int psi_h_collection(psi_req *req, psi_ctx *ctx, const psi_match *m,
                     psi_resp *resp)
{
    int64_t limit, skip;
    int st = psi_arg_int(req, resp, "limit", 1, PS_COLLECTION_BATCH_MAX,
                         ITEMS_PAGE_DEFAULT, &limit);
    if (!st)
        st = psi_arg_int(req, resp, "skip", 0, PS_COLLECTION_ITEMS_MAX, 0,
                         &skip);
    if (st)
        return st;
    ps_err err = PS_ERR_INIT;
    json_t *out = NULL;
    if (ps_store_collection_get(ctx->st, &out, m->pid, visible_at(req), limit,
                                skip, &err) != PS_OK)
        return psi_error_status(resp, &err);
    resp->json = out;
    return 200;
}

int psi_h_collection_delete(psi_req *req, psi_ctx *ctx, const psi_match *m,
                            psi_resp *resp)
{
    ps_store *w = writer(req, ctx, resp);
    if (!w)
        return resp->status;
    ps_err err = PS_ERR_INIT;
    if (ps_store_collection_delete(w, m->pid, &err) != PS_OK)
        return psi_error_status(resp, &err);
    return 204;
}

/* Parse the body's items into *items_out (n_out of them; the strings are
 * borrowed from *body_out, which the caller frees): 0, or the status of
 * the error put in resp. */
static int parse_items(psi_req *req, psi_resp *resp, int notes,
                       json_t **body_out, ps_collection_item **items_out,
                       size_t *n_out)
{
    static const char *const allowed[] = {"items", NULL};
    json_t *body = NULL;
    *body_out = NULL;
    *items_out = NULL;
    *n_out = 0;
    int st = psi_body_json(req, resp, &body);
    if (st)
        return st;
    st = only_members(body, allowed, "{\"items\": [...]}", resp);
    json_t *arr = json_object_get(body, "items");
    if (!st && !json_is_array(arr))
        st = psi_error(resp, 400, "INVALID_BODY",
                       "items is an array of {\"type\", \"pid\"%s}",
                       notes ? ", \"note\"" : "");
    size_t n = st ? 0 : json_array_size(arr);
    if (!st && n > PS_COLLECTION_BATCH_MAX)
        st = psi_error(resp, 413, "TOO_MANY_ITEMS",
                       "at most %d items per request (%zu sent): send them "
                       "in several",
                       PS_COLLECTION_BATCH_MAX, n);
    ps_collection_item *items = NULL;
    if (!st && n) {
        items = ps_calloc(n, sizeof *items);
        if (!items)
            st = psi_error(resp, 500, NULL, "out of memory");
    }
    for (size_t i = 0; !st && i < n; i++) {
        json_t *it = json_array_get(arr, i);
        const char *type = json_string_value(json_object_get(it, "type"));
        const char *pid = json_string_value(json_object_get(it, "pid"));
        json_t *note = json_object_get(it, "note");
        ps_kind k = type ? ps_kind_parse(type) : PS_KIND_NONE;
        if (!json_is_object(it))
            st = psi_error(resp, 400, "INVALID_BODY",
                           "items[%zu] is not an object", i);
        else if (k != PS_KIND_PUBLICATION && k != PS_KIND_PROPOSAL &&
                 k != PS_KIND_DATASET && k != PS_KIND_INSTRUMENT)
            st = psi_error(resp, 400, "INVALID_BODY",
                           "items[%zu].type is publication, proposal, "
                           "dataset or instrument%s%.64s%s",
                           i, type ? ", not \"" : "", type ? type : "",
                           type ? "\"" : "");
        else if (!pid || !*pid || strlen(pid) > PID_MAX)
            st = psi_error(resp, 400, "INVALID_BODY",
                           "items[%zu].pid is a record's pid (1 to %d bytes)",
                           i, PID_MAX);
        else if (notes && note && !json_is_string(note) && !json_is_null(note))
            st = psi_error(resp, 400, "INVALID_BODY",
                           "items[%zu].note is a string (or null)", i);
        else if (notes && json_is_string(note) &&
                 strlen(json_string_value(note)) > PS_COLLECTION_NOTE_MAX)
            st = psi_error(resp, 400, "INVALID_BODY",
                           "items[%zu].note has at most %d bytes", i,
                           PS_COLLECTION_NOTE_MAX);
        if (st)
            break;
        items[i].kind = k;
        items[i].pid = pid;
        items[i].note = notes ? json_string_value(note) : NULL;
    }
    if (st) {
        ps_free(items);
        json_decref(body);
        return st;
    }
    *body_out = body;
    *items_out = items;
    *n_out = n;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Add (adding) or remove the body's items; answer the counts, the
 * distinct unknown pids and the collection's new count. */
static int change_items(psi_req *req, psi_ctx *ctx, const psi_match *m,
                        psi_resp *resp, int adding)
{
    json_t *body = NULL;
    ps_collection_item *items = NULL;
    size_t n = 0;
    int st = parse_items(req, resp, adding, &body, &items, &n);
    if (st)
        return st;
    ps_store *w = writer(req, ctx, resp);
    unsigned char *unknown = n ? ps_calloc(n, 1) : NULL;
    json_t *unk = json_array();
    json_t *coll = NULL;
    ps_collection_counts c;
    ps_err err = PS_ERR_INIT;
    int64_t now = visible_at(req);
    if (!w) {
        st = resp->status;
        goto out;
    }
    if ((n && !unknown) || !unk) {
        st = psi_error(resp, 500, NULL, "out of memory");
        goto out;
    }
    ps_status rc = adding ? ps_store_collection_add(w, &c, m->pid, items, n,
                                                    now, unknown, &err)
                          : ps_store_collection_remove(w, &c, m->pid, items, n,
                                                       now, unknown, &err);
    if (rc == PS_OK)
        rc = ps_store_collection_get(w, &coll, m->pid, now, 0, 0, &err);
    if (rc == PS_ERR_TOOBIG) {
        st = psi_error(resp, 409, "COLLECTION_FULL", "%s", err.msg);
        goto out;
    }
    if (rc != PS_OK) {
        st = psi_error_status(resp, &err);
        goto out;
    }
    /* Each unknown pid once, in sorted order. */
    const char **pids =
        c.unknown ? ps_calloc((size_t)c.unknown, sizeof *pids) : NULL;
    if (c.unknown && !pids) {
        st = psi_error(resp, 500, NULL, "out of memory");
        goto out;
    }
    size_t nu = 0;
    for (size_t i = 0; i < n && nu < (size_t)c.unknown; i++)
        if (unknown[i])
            pids[nu++] = items[i].pid;
    if (nu > 1)
        qsort(pids, nu, sizeof *pids, cmp_str);
    for (size_t i = 0; i < nu; i++)
        if (i == 0 || strcmp(pids[i], pids[i - 1]) != 0)
            json_array_append_new(unk, json_string(pids[i]));
    ps_free(pids);
    resp->json = json_pack("{s:I, s:I, s:O, s:O}", adding ? "added" : "removed",
                           (json_int_t)c.done, adding ? "already" : "absent",
                           (json_int_t)c.already, "unknown", unk, "count",
                           json_object_get(coll, "count"));
    resp->cache_control = "no-store";
    st = resp->json ? 200 : psi_error(resp, 500, NULL, "out of memory");
out:
    json_decref(coll);
    json_decref(unk);
    json_decref(body);
    ps_free(unknown);
    ps_free(items);
    return st;
}

int psi_h_collection_add(psi_req *req, psi_ctx *ctx, const psi_match *m,
                         psi_resp *resp)
{
    return change_items(req, ctx, m, resp, 1);
}

int psi_h_collection_remove(psi_req *req, psi_ctx *ctx, const psi_match *m,
                            psi_resp *resp)
{
    return change_items(req, ctx, m, resp, 0);
}
