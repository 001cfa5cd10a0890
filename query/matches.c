/*
 * matches.c: the match review endpoints (docs/api/matches.md). GET
 * $api/matches lists the publication-proposal links the matcher (`pansift
 * match`) and the harvest made, with their evidence, the publication and
 * the proposal with its instruments, filtered by state, tier and
 * instrument and paged; POST $api/matches/{id} confirms, rejects or
 * un-judges one. Judgements go through ps_match_judge, which gives both
 * records a new change sequence number so that the in-server indexer
 * re-indexes them (a confirmed match counts in the dashboards). The
 * matching itself is store/store-match.c; this file only speaks HTTP.
 * Matches whose publication or proposal the public may not see are left
 * out, unless the request shows the admin token.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "match.h"
#include "query-private.h"

#include <string.h>

#define MATCH_PAGE_DEFAULT 50
#define MATCH_PAGE_MAX 1000
#define MATCH_SKIP_MAX 1000000
#define MATCH_ARG_MAX 512 /* bytes of an instrument pid */

/* The time reads are made visible at: 0 (everything) for an admin. */
static int64_t visible_at(psi_req *req)
{
    return psi_req_admin(req) ? 0 : ps_now_ms();
}

int psi_h_matches(psi_req *req, psi_ctx *ctx, const psi_match *m,
                  psi_resp *resp)
{
    (void)m;
    ps_match_query q = PS_MATCH_QUERY_INIT;
    const char *state = psi_arg(req, "state");
    const char *tier = psi_arg(req, "tier");
    const char *instr = psi_arg(req, "instrument");
    q.state = PS_LINK_CANDIDATE;
    if (state && strcmp(state, "all") == 0)
        q.state = -1;
    else if (state && ps_match_state_parse(state) < 0)
        return psi_error(resp, 400, "INVALID_PARAMETER",
                         "state is candidate, confirmed, rejected or all, "
                         "not \"%.64s\"",
                         state);
    else if (state)
        q.state = ps_match_state_parse(state);
    if (tier && strcmp(tier, "hard") == 0)
        q.tier = 1;
    else if (tier && strcmp(tier, "soft") == 0)
        q.tier = 0;
    else if (tier && strcmp(tier, "all") != 0)
        return psi_error(resp, 400, "INVALID_PARAMETER",
                         "tier is hard, soft or all, not \"%.64s\"", tier);
    if (instr && (!*instr || strlen(instr) > MATCH_ARG_MAX))
        return psi_error(resp, 400, "INVALID_PARAMETER",
                         "instrument is an instrument's pid (1 to %d bytes)",
                         MATCH_ARG_MAX);
    q.instrument = instr;
    int st = psi_arg_int(req, resp, "limit", 1, MATCH_PAGE_MAX,
                         MATCH_PAGE_DEFAULT, &q.limit);
    if (!st)
        st = psi_arg_int(req, resp, "skip", 0, MATCH_SKIP_MAX, 0, &q.skip);
    if (st)
        return st;
    q.now_ms = visible_at(req);
    ps_err err = PS_ERR_INIT;
    json_t *out = NULL;
    if (ps_match_find(ctx->st, &out, &q, &err) != PS_OK)
        return psi_error_status(resp, &err);
    resp->json = out;
    return 200;
}

int psi_h_match_judge(psi_req *req, psi_ctx *ctx, const psi_match *m,
                      psi_resp *resp)
{
    int64_t id = 0;
    if (!m->pid || ps_parse_i64(m->pid, &id) != 0 || id < 1)
        return psi_error(resp, 400, "INVALID_PARAMETER",
                         "a match id is a whole number from 1, not \"%.64s\"",
                         m->pid ? m->pid : "");
    json_t *body = NULL;
    int st = psi_body_json(req, resp, &body);
    if (st)
        return st;
    const char *key;
    json_t *v;
    json_object_foreach (body, key, v)
        if (strcmp(key, "state") != 0) {
            st = psi_error(resp, 400, "INVALID_BODY",
                           "unknown member \"%.64s\" (a judgement is "
                           "{\"state\": ...})",
                           key);
            json_decref(body);
            return st;
        }
    const char *name = json_string_value(json_object_get(body, "state"));
    int state = ps_match_state_parse(name);
    if (state < 0) {
        st = psi_error(resp, 400, "INVALID_BODY",
                       "state is \"confirmed\", \"rejected\" or "
                       "\"candidate\"%s%.64s%s",
                       name ? ", not \"" : "", name ? name : "",
                       name ? "\"" : " (a string)");
        json_decref(body);
        return st;
    }
    json_decref(body);

    ps_err err = PS_ERR_INIT;
    ps_store *w = psi_ctx_writer(req->srv, ctx, &err);
    if (!w)
        return psi_error(resp, 503, NULL, "the store cannot be written: %s",
                         err.msg);
    /* What the client may not see, it may not judge either. */
    int64_t now = visible_at(req);
    json_t *out = NULL;
    if (ps_match_get(w, &out, id, now, &err) != PS_OK)
        return psi_error_status(resp, &err);
    json_decref(out);
    out = NULL;
    if (ps_match_judge(w, id, (ps_link_state)state, &err) != PS_OK ||
        ps_match_get(w, &out, id, now, &err) != PS_OK)
        return psi_error_status(resp, &err);
    resp->json = out;
    resp->cache_control = "no-store";
    return 200;
}
