/*
 * json.c: small jansson helpers shared by harvesters, the store and the
 * query server: a stable hash of a JSON value (used to detect that a
 * re-harvested record has not changed), parsing with a message that says
 * where the text is broken, and typed getters that return NULL for a member
 * of the wrong type instead of crashing on it.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "common.h"

#include <stdlib.h>
#include <string.h>

ps_status ps_json_hash(const json_t *v, char out[65], ps_err *err)
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    if (!text)
        return ps_err_set(err, PS_ERR_NOMEM, "cannot serialise JSON");
    ps_sha256_hex(text, strlen(text), out);
    free(text);
    return PS_OK;
}

ps_status ps_json_parse(const char *text, size_t len, json_t **out, ps_err *err)
{
    json_error_t je;
    *out = json_loadb(text, len, JSON_DECODE_ANY, &je);
    if (!*out)
        return ps_err_set(err, PS_ERR_PARSE, "%s (line %d, column %d)", je.text,
                          je.line, je.column);
    return PS_OK;
}

const char *ps_json_str(const json_t *obj, const char *key)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

int ps_json_bool(const json_t *obj, const char *key, int dflt)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_boolean(v) ? json_is_true(v) : dflt;
}

int ps_json_num(const json_t *obj, const char *key, double *out)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    if (!json_is_number(v))
        return -1;
    *out = json_number_value(v);
    return 0;
}
