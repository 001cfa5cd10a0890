/*
 * openapi.c: GET $api/openapi.json, the OpenAPI 3.0 description of the
 * server's endpoints. The document is query/openapi.json, written and kept
 * by hand next to the route table; the build compiles its bytes into the
 * program (cmake/PsEmbedJson.cmake writes them as a C array into the build
 * directory), so the binary never reads it from disk. At start-up the
 * server parses it once, points servers[0].url at the configured API
 * prefix ([server] api_prefix) and keeps the compact text; each request
 * gets a copy of that text. This file does not generate the document from
 * the route table: tests/integration/openapi.sh checks that the two agree.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "query-private.h"

#include <stdlib.h>
#include <string.h>

ps_status psi_openapi_render(char **out, size_t *len, const char *api_prefix,
                             ps_err *err)
{
    *out = NULL;
    *len = 0;
    json_error_t jerr;
    json_t *doc =
        json_loadb((const char *)psi_openapi_json, psi_openapi_json_len,
                   JSON_REJECT_DUPLICATES, &jerr);
    if (!doc)
        return ps_err_set(err, PS_ERR_INTERNAL,
                          "the built-in OpenAPI document does not parse: %s "
                          "(line %d)",
                          jerr.text, jerr.line);
    json_t *server = json_array_get(json_object_get(doc, "servers"), 0);
    if (!json_is_object(server) ||
        json_object_set_new(server, "url", json_string(api_prefix)) != 0) {
        json_decref(doc);
        return ps_err_set(err, PS_ERR_INTERNAL,
                          "the built-in OpenAPI document has no servers[0] "
                          "to point at %s",
                          api_prefix);
    }
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    char *copy = text ? ps_strdup(text) : NULL;
    free(text); /* jansson's allocation */
    if (!copy)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    *out = copy;
    *len = strlen(copy);
    return PS_OK;
}

int psi_h_openapi(psi_req *req, psi_ctx *ctx, const psi_match *m,
                  psi_resp *resp)
{
    const ps_server *srv = req->srv;
    resp->body = ps_malloc(srv->openapi_len);
    if (!resp->body)
        return psi_error(resp, 500, NULL, "out of memory");
    memcpy(resp->body, srv->openapi, srv->openapi_len);
    resp->len = srv->openapi_len;
    resp->content_type = "application/json; charset=utf-8";
    resp->cache_control = "no-store";
    return 200;
}
