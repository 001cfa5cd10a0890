/*
 * filter.c: the PaN search API's filter language (LoopBack's, as the PaN
 * specification uses it): the models and their fields and relations, the
 * parser of filters and where clauses into a tree, and the evaluator that
 * checks a rendered PaN record against a where clause with LoopBack's
 * semantics (loose equality, numeric strings compared as numbers, dates as
 * times, array fields matching on any element, unanchored like patterns).
 * The planner (plan.c) turns the same tree into index queries; whatever the
 * index cannot decide exactly is checked here.
 *
 * The parser is strict where a silent mistake would hurt a user: unknown
 * keys, fields, operators and relations, malformed dates and bad limits are
 * 400s that say what is wrong and where ("where.and[1].creationDate.gt").
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "query-private.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- models ------------------------------------------------------------- */

static const psi_field dataset_fields[] = {
    {"pid", PSI_FT_STRING},    {"title", PSI_FT_STRING},
    {"isPublic", PSI_FT_BOOL}, {"creationDate", PSI_FT_DATE},
    {"size", PSI_FT_NUMBER},   {"instrumentId", PSI_FT_STRING},
    {"score", PSI_FT_NUMBER},  {NULL, 0}};
static const psi_field document_fields[] = {{"pid", PSI_FT_STRING},
                                            {"isPublic", PSI_FT_BOOL},
                                            {"type", PSI_FT_STRING},
                                            {"title", PSI_FT_STRING},
                                            {"summary", PSI_FT_STRING},
                                            {"doi", PSI_FT_STRING},
                                            {"startDate", PSI_FT_DATE},
                                            {"endDate", PSI_FT_DATE},
                                            {"releaseDate", PSI_FT_DATE},
                                            {"license", PSI_FT_STRING},
                                            {"keywords", PSI_FT_STRING_ARRAY},
                                            {"score", PSI_FT_NUMBER},
                                            {NULL, 0}};
static const psi_field instrument_fields[] = {{"pid", PSI_FT_STRING},
                                              {"name", PSI_FT_STRING},
                                              {"facility", PSI_FT_STRING},
                                              {"score", PSI_FT_NUMBER},
                                              {NULL, 0}};
static const psi_field file_fields[] = {
    {"id", PSI_FT_NUMBER},        {"name", PSI_FT_STRING},
    {"path", PSI_FT_STRING},      {"size", PSI_FT_NUMBER},
    {"datasetId", PSI_FT_STRING}, {NULL, 0}};
static const psi_field parameter_fields[] = {{"id", PSI_FT_NUMBER},
                                             {"name", PSI_FT_STRING},
                                             {"value", PSI_FT_ANY},
                                             {"unit", PSI_FT_STRING},
                                             {"datasetId", PSI_FT_STRING},
                                             {"documentId", PSI_FT_STRING},
                                             {NULL, 0}};
static const psi_field sample_fields[] = {{"pid", PSI_FT_STRING},
                                          {"name", PSI_FT_STRING},
                                          {"description", PSI_FT_STRING},
                                          {NULL, 0}};
static const psi_field technique_fields[] = {{"pid", PSI_FT_STRING},
                                             {"name", PSI_FT_STRING},
                                             {"panetId", PSI_FT_STRING},
                                             {NULL, 0}};
static const psi_field member_fields[] = {{"id", PSI_FT_NUMBER},
                                          {"role", PSI_FT_STRING},
                                          {"documentId", PSI_FT_STRING},
                                          {"personId", PSI_FT_STRING},
                                          {"affiliationId", PSI_FT_NUMBER},
                                          {NULL, 0}};
static const psi_field person_fields[] = {{"id", PSI_FT_STRING},
                                          {"fullName", PSI_FT_STRING},
                                          {"orcid", PSI_FT_STRING},
                                          {"researcherId", PSI_FT_STRING},
                                          {"firstName", PSI_FT_STRING},
                                          {"lastName", PSI_FT_STRING},
                                          {NULL, 0}};
static const psi_field affiliation_fields[] = {
    {"id", PSI_FT_NUMBER},      {"name", PSI_FT_STRING},
    {"address", PSI_FT_STRING}, {"city", PSI_FT_STRING},
    {"country", PSI_FT_STRING}, {NULL, 0}};

static const psi_relation dataset_rel[] = {{"parameters", PS_PAN_PARAMETER, 1},
                                           {"files", PS_PAN_FILE, 1},
                                           {"samples", PS_PAN_SAMPLE, 1},
                                           {"techniques", PS_PAN_TECHNIQUE, 1},
                                           {"instrument", PS_PAN_INSTRUMENT, 0},
                                           {"documents", PS_PAN_DOCUMENT, 1},
                                           {NULL, 0, 0}};
static const psi_relation document_rel[] = {{"datasets", PS_PAN_DATASET, 1},
                                            {"members", PS_PAN_MEMBER, 1},
                                            {"parameters", PS_PAN_PARAMETER, 1},
                                            {NULL, 0, 0}};
static const psi_relation instrument_rel[] = {{"datasets", PS_PAN_DATASET, 1},
                                              {NULL, 0, 0}};
static const psi_relation member_rel[] = {
    {"person", PS_PAN_PERSON, 0},
    {"affiliation", PS_PAN_AFFILIATION, 0},
    {NULL, 0, 0}};
static const psi_relation no_rel[] = {{NULL, 0, 0}};

static const char *const dataset_text[] = {"title", NULL};
static const char *const document_text[] = {"title", "summary", NULL};
static const char *const instrument_text[] = {"name", "facility", NULL};
static const char *const file_text[] = {"name", NULL};
static const char *const sample_text[] = {"name", "description", NULL};
static const char *const technique_text[] = {"name", NULL};
static const char *const person_text[] = {"fullName", "firstName", "lastName",
                                          NULL};
static const char *const affiliation_text[] = {"name", "address", "city",
                                               "country", NULL};
static const char *const no_text[] = {NULL};

static const struct {
    const char *name;
    const psi_field *fields;
    const psi_relation *rels;
    const char *const *text;
} models[] = {
    [PS_PAN_DATASET] = {"Dataset", dataset_fields, dataset_rel, dataset_text},
    [PS_PAN_DOCUMENT] = {"Document", document_fields, document_rel,
                         document_text},
    [PS_PAN_INSTRUMENT] = {"Instrument", instrument_fields, instrument_rel,
                           instrument_text},
    [PS_PAN_FILE] = {"File", file_fields, no_rel, file_text},
    [PS_PAN_PARAMETER] = {"Parameter", parameter_fields, no_rel, no_text},
    [PS_PAN_SAMPLE] = {"Sample", sample_fields, no_rel, sample_text},
    [PS_PAN_TECHNIQUE] = {"Technique", technique_fields, no_rel,
                          technique_text},
    [PS_PAN_MEMBER] = {"Member", member_fields, member_rel, no_text},
    [PS_PAN_PERSON] = {"Person", person_fields, no_rel, person_text},
    [PS_PAN_AFFILIATION] = {"Affiliation", affiliation_fields, no_rel,
                            affiliation_text},
};

const char *psi_model_name(ps_pan_model m) { return models[m].name; }

const psi_field *psi_model_field(ps_pan_model m, const char *name)
{
    for (const psi_field *f = models[m].fields; f->name; f++)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

const psi_relation *psi_model_relation(ps_pan_model m, const char *name)
{
    for (const psi_relation *r = models[m].rels; r->name; r++)
        if (strcmp(r->name, name) == 0)
            return r;
    return NULL;
}

void psi_model_field_list(ps_pan_model m, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (const psi_field *f = models[m].fields; f->name && used < size; f++) {
        int n = snprintf(out + used, size - used, "%s%s", used ? ", " : "",
                         f->name);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

static void relation_list(ps_pan_model m, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (const psi_relation *r = models[m].rels; r->name && used < size; r++) {
        int n = snprintf(out + used, size - used, "%s%s", used ? ", " : "",
                         r->name);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    if (!out[0])
        snprintf(out, size, "none");
}

const char *const *psi_model_text_fields(ps_pan_model m)
{
    return models[m].text;
}

/* ---- freeing ------------------------------------------------------------ */

void ps_where_free(ps_where *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->nkids; i++)
        ps_where_free(w->kids[i]);
    ps_free(w->kids);
    ps_free(w->field);
    json_decref(w->value);
    psi_techset_free(w->tech);
    psi_unitq_free(w->uq);
    if (w->re) {
        regfree(w->re);
        ps_free(w->re);
    }
    ps_free(w);
}

static void include_free(ps_pan_include *inc)
{
    ps_free(inc->relation);
    ps_where_free(inc->where);
    for (size_t i = 0; i < inc->nincludes; i++)
        include_free(&inc->includes[i]);
    ps_free(inc->includes);
}

void ps_pan_filter_free(ps_pan_filter *f)
{
    if (!f)
        return;
    ps_where_free(f->where);
    for (size_t i = 0; i < f->nincludes; i++)
        include_free(&f->includes[i]);
    ps_free(f->includes);
    for (size_t i = 0; i < f->norder; i++)
        ps_free(f->order[i].field);
    ps_free(f->order);
    for (size_t i = 0; i < f->nfields; i++)
        ps_free(f->fields[i]);
    ps_free(f->fields);
    ps_free(f->query);
    ps_free(f);
}

/* ---- patterns ----------------------------------------------------------- */

/* Ceilings on a like or regexp pattern, checked on the POSIX regex it
 * becomes before regcomp sees it: patterns come from any client, and
 * glibc's regcomp needs memory that grows with the square of the pattern's
 * size once its repetitions are written out ("x*" 8000 times: 500 MB;
 * "(((.*){255}){255}){255}": gigabytes, then a crash), and time that grows
 * steeply with quantifiers stacked or nested deep ("^Z" and 65 "*": 0.6 s;
 * "((((((^Z*)+?)+?)+?)+?)+?)+?": more than 10 s). */
#define PSI_PATTERN_MAX 1000 /* size with {m,n} and + written out */
#define PSI_PATTERN_NEST 3   /* quantifiers inside quantified groups */
#define PSI_PATTERN_GROUPS 32

/* Check POSIX extended regex re against the ceilings: 0 when it is within
 * them, 1 when it is too large or complex, -1 when it is malformed in a way
 * regcomp refuses too (an open bracket or a bad interval), or stacks
 * quantifiers ("a**"; JavaScript refuses those as well, but takes one "?"
 * after a quantifier, which asks for a lazy match: the same verdict). */
static int pattern_check(const char *re)
{
    size_t saved_cur[PSI_PATTERN_GROUPS];
    int saved_nest[PSI_PATTERN_GROUPS];
    size_t depth = 0;
    size_t cur = 0;  /* this group's size so far */
    size_t last = 0; /* the size of its last atom, what a quantifier copies */
    int nest = 0;    /* the deepest quantifier nesting in this group */
    int last_nest = 0, after_quant = 0, after_lazy = 0;
    for (const char *p = re; *p; p++) {
        int quant = *p == '*' || *p == '+' || *p == '?' || *p == '{';
        if (quant && after_quant) {
            if (*p != '?' || after_lazy)
                return -1;
            after_lazy = 1;
            cur++;
            continue;
        }
        after_quant = quant;
        after_lazy = 0;
        if (*p == '\\') {
            if (p[1])
                p++;
            cur++;
            last = 1;
            last_nest = 0;
        } else if (*p == '[') {
            /* A bracket expression is one atom; "[:alpha:]" inside it. */
            const char *q = p + 1;
            if (*q == '^')
                q++;
            if (*q == ']')
                q++;
            while (*q && *q != ']') {
                if (*q == '[' && q[1] && strchr(":.=", q[1])) {
                    char end[3] = {q[1], ']', '\0'};
                    const char *e = strstr(q + 2, end);
                    if (!e)
                        return -1;
                    q = e + 2;
                } else {
                    q++;
                }
            }
            if (!*q)
                return -1;
            p = q;
            cur++;
            last = 1;
            last_nest = 0;
        } else if (*p == '(') {
            if (depth == PSI_PATTERN_GROUPS)
                return 1;
            saved_cur[depth] = cur;
            saved_nest[depth++] = nest;
            cur = 1;
            last = 0;
            nest = 0;
        } else if (*p == ')' && depth > 0) {
            size_t group = cur + 1;
            last_nest = nest;
            depth--;
            cur = saved_cur[depth] + group;
            nest = saved_nest[depth] > nest ? saved_nest[depth] : nest;
            last = group;
        } else if (quant) {
            /* regcomp writes x{2,3} out as xx(x)?, x{2,} as xxx*, x+ as
             * xx*: each copies what it repeats. */
            size_t reps = *p == '+' ? 2 : 1;
            if (*p == '{') {
                size_t m = 0, n = 0;
                const char *q = p + 1;
                for (; *q >= '0' && *q <= '9'; q++)
                    m = m < 100000 ? m * 10 + (size_t)(*q - '0') : m;
                reps = m;
                if (*q == ',') {
                    int has_n = q[1] >= '0' && q[1] <= '9';
                    for (q++; *q >= '0' && *q <= '9'; q++)
                        n = n < 100000 ? n * 10 + (size_t)(*q - '0') : n;
                    reps = !has_n ? m + 1 : n > m ? n : m;
                }
                if (*q != '}')
                    return -1;
                p = q;
            }
            if (reps > 1) {
                cur += last * (reps - 1);
                last *= reps;
            }
            cur++;
            last++;
            if (++last_nest > PSI_PATTERN_NEST)
                return 1;
            if (last_nest > nest)
                nest = last_nest;
        } else {
            cur++;
            last = 1;
            last_nest = 0;
        }
        if (cur > PSI_PATTERN_MAX)
            return 1;
    }
    while (depth > 0)
        cur += saved_cur[--depth];
    return cur > PSI_PATTERN_MAX;
}

/* Compile a LoopBack like pattern (% any run, _ one character, everything
 * else literal, unanchored) into a POSIX extended regex. */
static ps_status compile_like(const char *pat, int icase, regex_t **out,
                              const char *where, ps_err *err)
{
    ps_buf b;
    ps_buf_init(&b, 0);
    ps_status rc = PS_OK;
    for (const char *p = pat; *p && rc == PS_OK; p++) {
        if (*p == '%')
            rc = ps_buf_puts(&b, ".*");
        else if (*p == '_')
            rc = ps_buf_puts(&b, ".");
        else if (strchr(".[]{}()\\*+?|^$", *p))
            rc = ps_buf_printf(&b, "\\%c", *p);
        else
            rc = ps_buf_append(&b, p, 1);
    }
    if (rc == PS_OK && !b.data)
        rc = ps_buf_puts(&b, "");
    if (rc == PS_OK && pattern_check(b.data) != 0) {
        ps_buf_free(&b);
        return ps_err_set(err, PS_ERR_INVALID,
                          "%s: the pattern is too long (at most %d "
                          "characters)",
                          where, PSI_PATTERN_MAX);
    }
    regex_t *re = rc == PS_OK ? ps_malloc(sizeof *re) : NULL;
    if (!re) {
        ps_buf_free(&b);
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    int e =
        regcomp(re, b.data, REG_EXTENDED | REG_NOSUB | (icase ? REG_ICASE : 0));
    ps_buf_free(&b);
    if (e) {
        ps_free(re);
        return ps_err_set(err, PS_ERR_INVALID, "%s: cannot use pattern \"%s\"",
                          where, pat);
    }
    *out = re;
    return PS_OK;
}

/* Compile a JavaScript regular expression ("/pat/flags" or "pat") as a
 * POSIX extended one, translating the common escapes \d \w \s. */
static ps_status compile_regexp(const char *src, regex_t **out,
                                const char *where, ps_err *err)
{
    const char *pat = src;
    size_t len = strlen(src);
    int icase = 0;
    if (src[0] == '/') {
        const char *end = strrchr(src, '/');
        if (end && end > src) {
            for (const char *f = end + 1; *f; f++) {
                if (*f == 'i')
                    icase = 1;
                else if (!strchr("gmsuy", *f))
                    return ps_err_set(err, PS_ERR_INVALID,
                                      "%s: unknown regexp flag '%c'", where,
                                      *f);
            }
            pat = src + 1;
            len = (size_t)(end - pat);
        }
    }
    ps_buf b;
    ps_buf_init(&b, 0);
    ps_status rc = ps_buf_puts(&b, "");
    for (size_t i = 0; i < len && rc == PS_OK; i++) {
        if (pat[i] == '\\' && i + 1 < len) {
            char c = pat[++i];
            switch (c) {
            case 'd': rc = ps_buf_puts(&b, "[0-9]"); break;
            case 'D': rc = ps_buf_puts(&b, "[^0-9]"); break;
            case 'w': rc = ps_buf_puts(&b, "[[:alnum:]_]"); break;
            case 'W': rc = ps_buf_puts(&b, "[^[:alnum:]_]"); break;
            case 's': rc = ps_buf_puts(&b, "[[:space:]]"); break;
            case 'S': rc = ps_buf_puts(&b, "[^[:space:]]"); break;
            case '1':
            case '2':
            case '3':
            case '4':
            case '5':
            case '6':
            case '7':
            case '8':
            case '9':
                /* Backreferences make matching exponential in the worst
                 * case: a client could occupy a server thread at will. */
                ps_buf_free(&b);
                return ps_err_set(err, PS_ERR_INVALID,
                                  "%s: backreferences (\\%c) are not "
                                  "supported in regular expressions",
                                  where, c);
            default: rc = ps_buf_printf(&b, "\\%c", c); break;
            }
        } else {
            rc = ps_buf_append(&b, pat + i, 1);
        }
    }
    int check = rc == PS_OK ? pattern_check(b.data) : 0;
    if (check < 0) {
        ps_buf_free(&b);
        return ps_err_set(err, PS_ERR_INVALID,
                          "%s: \"%s\" is not a valid regular expression", where,
                          src);
    }
    if (check > 0) {
        ps_buf_free(&b);
        return ps_err_set(err, PS_ERR_INVALID,
                          "%s: the regular expression is too long or "
                          "complex (at most %d characters with its {n} and + "
                          "repetitions written out, quantified groups nested "
                          "at most %d deep)",
                          where, PSI_PATTERN_MAX, PSI_PATTERN_NEST);
    }
    regex_t *re = rc == PS_OK ? ps_malloc(sizeof *re) : NULL;
    if (!re) {
        ps_buf_free(&b);
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    int e =
        regcomp(re, b.data, REG_EXTENDED | REG_NOSUB | (icase ? REG_ICASE : 0));
    ps_buf_free(&b);
    if (e) {
        ps_free(re);
        return ps_err_set(err, PS_ERR_INVALID,
                          "%s: \"%s\" is not a valid regular expression", where,
                          src);
    }
    *out = re;
    return PS_OK;
}

/* ---- parsing where clauses ---------------------------------------------- */

static const struct {
    const char *name;
    psi_op op;
} ops[] = {
    {"eq", PSI_OP_EQ},           {"neq", PSI_OP_NEQ},
    {"gt", PSI_OP_GT},           {"gte", PSI_OP_GTE},
    {"lt", PSI_OP_LT},           {"lte", PSI_OP_LTE},
    {"between", PSI_OP_BETWEEN}, {"inq", PSI_OP_INQ},
    {"nin", PSI_OP_NIN},         {"like", PSI_OP_LIKE},
    {"nlike", PSI_OP_NLIKE},     {"ilike", PSI_OP_ILIKE},
    {"nilike", PSI_OP_NILIKE},   {"regexp", PSI_OP_REGEXP},
};

static ps_where *node_new(psi_wtype type)
{
    ps_where *w = ps_calloc(1, sizeof *w);
    if (w)
        w->type = type;
    return w;
}

static ps_status add_kid(ps_where *parent, ps_where *kid, ps_err *err)
{
    ps_where **k = ps_realloc(parent->kids, (parent->nkids + 1) * sizeof *k);
    if (!k) {
        ps_where_free(kid);
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    parent->kids = k;
    parent->kids[parent->nkids++] = kid;
    return PS_OK;
}

/* Is v a value a date field accepts? Dates as strings must parse. */
static ps_status check_operand(const psi_field *def, const json_t *v,
                               const char *where, ps_err *err)
{
    if (def && def->type == PSI_FT_DATE && json_is_string(v)) {
        int64_t ms;
        if (ps_time_parse(json_string_value(v), &ms) != PS_OK)
            return ps_err_set(err, PS_ERR_INVALID,
                              "%s: \"%s\" is not a date (use ISO 8601, e.g. "
                              "2020-05-05 or 2020-05-05T15:01:02Z)",
                              where, json_string_value(v));
    }
    double x;
    if (def && def->type == PSI_FT_NUMBER && json_is_string(v) &&
        ps_parse_double(json_string_value(v), &x) != 0)
        return ps_err_set(err, PS_ERR_INVALID, "%s: \"%s\" is not a number",
                          where, json_string_value(v));
    if (def && def->type == PSI_FT_BOOL && json_is_string(v) &&
        psi_bool_value(v) < 0)
        return ps_err_set(err, PS_ERR_INVALID,
                          "%s: \"%s\" is not a boolean (true or false)", where,
                          json_string_value(v));
    if (json_is_object(v))
        return ps_err_set(err, PS_ERR_INVALID,
                          "%s: an object is not a value to compare with",
                          where);
    return PS_OK;
}

static ps_status parse_where_obj(ps_pan_model model, const json_t *obj,
                                 const char *path, ps_where **out, ps_err *err);

static ps_status parse_cond(ps_pan_model model, const char *key,
                            const json_t *val, const char *path, ps_where **out,
                            ps_err *err)
{
    char where[200];
    snprintf(where, sizeof where, "%s.%s", path, key);
    *out = NULL;
    ps_where *w = node_new(PSI_W_COND);
    if (!w)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    ps_status rc = PS_OK;

    if (strcmp(key, "text") == 0 && !psi_model_field(model, "text")) {
        if (!json_is_string(val)) {
            rc =
                ps_err_set(err, PS_ERR_INVALID, "%s: expected a string", where);
            goto fail;
        }
        if (!psi_model_text_fields(model)[0]) {
            rc = ps_err_set(err, PS_ERR_INVALID,
                            "%s: %s has no text fields to search", where,
                            psi_model_name(model));
            goto fail;
        }
        w->op = PSI_OP_TEXT;
        w->value = json_incref((json_t *)val);
        char *pat = ps_asprintf("%%%s%%", json_string_value(val));
        if (!pat) {
            rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
            goto fail;
        }
        rc = compile_like(pat, 1, &w->re, where, err);
        ps_free(pat);
        if (rc != PS_OK)
            goto fail;
        *out = w;
        return PS_OK;
    }

    w->def = psi_model_field(model, key);
    if (!w->def) {
        char list[400];
        psi_model_field_list(model, list, sizeof list);
        rc = ps_err_set(err, PS_ERR_INVALID,
                        "%s: %s has no field \"%s\" (fields: %s, or text)",
                        where, psi_model_name(model), key, list);
        goto fail;
    }
    w->field = ps_strdup(key);
    if (!w->field) {
        rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        goto fail;
    }
    const json_t *operand = val;
    w->op = PSI_OP_EQ;
    if (json_is_object(val)) {
        if (json_object_size(val) != 1) {
            rc = ps_err_set(err, PS_ERR_INVALID,
                            "%s: expected one operator, e.g. {\"gt\": 5}; "
                            "combine several with \"and\"",
                            where);
            goto fail;
        }
        const char *opname =
            json_object_iter_key(json_object_iter((json_t *)val));
        operand = json_object_iter_value(json_object_iter((json_t *)val));
        size_t i;
        for (i = 0; i < sizeof ops / sizeof ops[0]; i++)
            if (strcmp(ops[i].name, opname) == 0)
                break;
        if (i == sizeof ops / sizeof ops[0]) {
            rc = ps_err_set(err, PS_ERR_INVALID,
                            "%s: unknown operator \"%s\" (operators: eq, neq, "
                            "gt, gte, lt, lte, between, inq, nin, like, nlike, "
                            "ilike, nilike, regexp)",
                            where, opname);
            goto fail;
        }
        w->op = ops[i].op;
        snprintf(where + strlen(where), sizeof where - strlen(where), ".%s",
                 opname);
    }
    switch (w->op) {
    case PSI_OP_BETWEEN:
        if (!json_is_array(operand) || json_array_size(operand) != 2) {
            rc = ps_err_set(err, PS_ERR_INVALID, "%s: expected [low, high]",
                            where);
            goto fail;
        }
        for (size_t i = 0; i < 2 && rc == PS_OK; i++)
            rc = check_operand(w->def, json_array_get(operand, i), where, err);
        break;
    case PSI_OP_INQ:
    case PSI_OP_NIN:
        if (!json_is_array(operand)) {
            rc =
                ps_err_set(err, PS_ERR_INVALID, "%s: expected an array", where);
            goto fail;
        }
        for (size_t i = 0; i < json_array_size(operand) && rc == PS_OK; i++)
            rc = check_operand(w->def, json_array_get(operand, i), where, err);
        break;
    case PSI_OP_LIKE:
    case PSI_OP_NLIKE:
    case PSI_OP_ILIKE:
    case PSI_OP_NILIKE:
        if (!json_is_string(operand)) {
            rc = ps_err_set(err, PS_ERR_INVALID,
                            "%s: expected a pattern string", where);
            goto fail;
        }
        rc = compile_like(json_string_value(operand),
                          w->op == PSI_OP_ILIKE || w->op == PSI_OP_NILIKE,
                          &w->re, where, err);
        break;
    case PSI_OP_REGEXP:
        if (!json_is_string(operand)) {
            rc =
                ps_err_set(err, PS_ERR_INVALID, "%s: expected a string", where);
            goto fail;
        }
        rc = compile_regexp(json_string_value(operand), &w->re, where, err);
        break;
    default:
        if (json_is_array(operand) && w->op != PSI_OP_EQ) {
            rc = ps_err_set(err, PS_ERR_INVALID, "%s: expected a single value",
                            where);
            goto fail;
        }
        if (json_is_array(operand))
            w->op = PSI_OP_INQ; /* {"field": [a, b]} means one of them */
        else
            rc = check_operand(w->def, operand, where, err);
        break;
    }
    if (rc != PS_OK)
        goto fail;
    w->value = json_incref((json_t *)operand);
    *out = w;
    return PS_OK;
fail:
    ps_where_free(w);
    return rc;
}

static ps_status parse_list(ps_pan_model model, psi_wtype type,
                            const json_t *arr, const char *path, ps_where **out,
                            ps_err *err)
{
    *out = NULL;
    if (!json_is_array(arr))
        return ps_err_set(err, PS_ERR_INVALID,
                          "%s: expected an array of conditions", path);
    ps_where *w = node_new(type);
    if (!w)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        char sub[200];
        snprintf(sub, sizeof sub, "%s[%zu]", path, i);
        ps_where *kid = NULL;
        ps_status rc =
            parse_where_obj(model, json_array_get(arr, i), sub, &kid, err);
        if (rc == PS_OK)
            rc = add_kid(w, kid, err);
        if (rc != PS_OK) {
            ps_where_free(w);
            return rc;
        }
    }
    *out = w;
    return PS_OK;
}

static ps_status parse_where_obj(ps_pan_model model, const json_t *obj,
                                 const char *path, ps_where **out, ps_err *err)
{
    *out = NULL;
    if (!json_is_object(obj))
        return ps_err_set(err, PS_ERR_INVALID,
                          "%s: expected an object like {\"title\": \"x\"}",
                          path);
    ps_where *w = node_new(json_object_size(obj) ? PSI_W_AND : PSI_W_TRUE);
    if (!w)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    const char *key;
    json_t *val;
    json_object_foreach ((json_t *)obj, key, val) {
        ps_where *kid = NULL;
        ps_status rc;
        char sub[200];
        snprintf(sub, sizeof sub, "%s.%s", path, key);
        if (strcmp(key, "and") == 0)
            rc = parse_list(model, PSI_W_AND, val, sub, &kid, err);
        else if (strcmp(key, "or") == 0)
            rc = parse_list(model, PSI_W_OR, val, sub, &kid, err);
        else
            rc = parse_cond(model, key, val, path, &kid, err);
        if (rc == PS_OK)
            rc = add_kid(w, kid, err);
        if (rc != PS_OK) {
            ps_where_free(w);
            return rc;
        }
    }
    /* A single condition needs no AND around it. */
    if (w->type == PSI_W_AND && w->nkids == 1) {
        ps_where *only = w->kids[0];
        w->nkids = 0;
        ps_where_free(w);
        w = only;
    }
    *out = w;
    return PS_OK;
}

/* Ceilings on a filter's shape: the parser and the evaluator recurse, and
 * every node costs work on every candidate record. */
#define PSI_FILTER_MAX_DEPTH 32
#define PSI_FILTER_MAX_NODES 2000

/* Count the nodes of v into *nodes; -1 as soon as it is deeper than
 * PSI_FILTER_MAX_DEPTH or has more than PSI_FILTER_MAX_NODES (so the
 * recursion itself is bounded). */
static int json_shape_ok(const json_t *v, int depth, size_t *nodes)
{
    if (depth > PSI_FILTER_MAX_DEPTH || ++*nodes > PSI_FILTER_MAX_NODES)
        return -1;
    if (json_is_object(v)) {
        const char *key;
        json_t *val;
        json_object_foreach ((json_t *)v, key, val)
            if (json_shape_ok(val, depth + 1, nodes) != 0)
                return -1;
    } else if (json_is_array(v)) {
        size_t i;
        json_t *val;
        json_array_foreach (v, i, val)
            if (json_shape_ok(val, depth + 1, nodes) != 0)
                return -1;
    }
    return 0;
}

static ps_status parse_json_text(const char *what, const char *text,
                                 json_t **out, ps_err *err)
{
    json_error_t je;
    /* jansson stops at 2048 levels by itself; ours is lower (below). */
    *out = json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (!*out)
        return ps_err_set(err, PS_ERR_INVALID,
                          "%s is not valid JSON: %s (at character %d)", what,
                          je.text, je.position);
    size_t nodes = 0;
    if (json_shape_ok(*out, 1, &nodes) != 0) {
        json_decref(*out);
        *out = NULL;
        return ps_err_set(err, PS_ERR_INVALID,
                          "%s is too deeply nested or too large (at most %d "
                          "levels and %d values)",
                          what, PSI_FILTER_MAX_DEPTH, PSI_FILTER_MAX_NODES);
    }
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return ps_err_set(err, PS_ERR_INVALID,
                          "%s must be a JSON object, e.g. {\"title\": \"x\"}",
                          what);
    }
    return PS_OK;
}

ps_status ps_pan_where_parse(ps_pan_model model, const char *text,
                             ps_where **out, ps_err *err)
{
    *out = NULL;
    if (!text || !*text)
        return PS_OK;
    json_t *j = NULL;
    ps_status rc = parse_json_text("where", text, &j, err);
    if (rc != PS_OK)
        return rc;
    if (json_object_get(j, "where") && json_object_size(j) == 1)
        rc = ps_err_set(err, PS_ERR_INVALID,
                        "the where parameter takes the condition itself, "
                        "e.g. where={\"title\":\"x\"}, not "
                        "{\"where\":{...}}");
    else
        rc = parse_where_obj(model, j, "where", out, err);
    json_decref(j);
    return rc;
}

/* ---- parsing filters ---------------------------------------------------- */

static ps_status parse_includes(ps_pan_model model, const json_t *v,
                                const char *path, ps_pan_include **out,
                                size_t *n_out, ps_err *err);

static ps_status parse_include(ps_pan_model model, const json_t *v,
                               const char *path, ps_pan_include *inc,
                               ps_err *err)
{
    memset(inc, 0, sizeof *inc);
    const char *rel = NULL;
    const json_t *scope = NULL;
    if (json_is_string(v)) {
        rel = json_string_value(v);
    } else if (json_is_object(v)) {
        const char *key;
        json_t *val;
        json_object_foreach ((json_t *)v, key, val) {
            if (strcmp(key, "relation") == 0 && json_is_string(val))
                rel = json_string_value(val);
            else if (strcmp(key, "scope") == 0)
                scope = val;
            else
                return ps_err_set(err, PS_ERR_INVALID,
                                  "%s: unexpected \"%s\" (an include is "
                                  "{\"relation\": \"...\", \"scope\": {...}})",
                                  path, key);
        }
    }
    if (!rel)
        return ps_err_set(err, PS_ERR_INVALID,
                          "%s: expected {\"relation\": \"name\"} or a relation "
                          "name",
                          path);
    const psi_relation *r = psi_model_relation(model, rel);
    if (!r) {
        char list[200];
        relation_list(model, list, sizeof list);
        return ps_err_set(err, PS_ERR_INVALID,
                          "%s: %s has no relation \"%s\" (relations: %s)", path,
                          psi_model_name(model), rel, list);
    }
    inc->relation = ps_strdup(rel);
    inc->model = r->model;
    if (!inc->relation)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    if (!scope || json_is_null(scope))
        return PS_OK;
    if (!json_is_object(scope))
        return ps_err_set(err, PS_ERR_INVALID, "%s.scope: expected an object",
                          path);
    const char *key;
    json_t *val;
    json_object_foreach ((json_t *)scope, key, val) {
        char sub[200];
        snprintf(sub, sizeof sub, "%s.scope.%s", path, key);
        ps_status rc;
        if (strcmp(key, "where") == 0) {
            rc = parse_where_obj(r->model, val, sub, &inc->where, err);
            if (rc == PS_OK && inc->where && inc->where->type != PSI_W_TRUE)
                inc->filters_parent = 1;
        } else if (strcmp(key, "include") == 0) {
            rc = parse_includes(r->model, val, sub, &inc->includes,
                                &inc->nincludes, err);
            for (size_t i = 0; rc == PS_OK && i < inc->nincludes; i++)
                if (inc->includes[i].filters_parent)
                    inc->filters_parent = 1;
        } else {
            rc = ps_err_set(err, PS_ERR_INVALID,
                            "%s: a scope takes \"where\" and \"include\" (%s "
                            "per parent is not part of the PaN API)",
                            sub, key);
        }
        if (rc != PS_OK)
            return rc;
    }
    return PS_OK;
}

static ps_status parse_includes(ps_pan_model model, const json_t *v,
                                const char *path, ps_pan_include **out,
                                size_t *n_out, ps_err *err)
{
    *out = NULL;
    *n_out = 0;
    json_t *arr = json_is_array(v) ? json_incref((json_t *)v) : json_array();
    if (!arr)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    if (!json_is_array(v)) {
        if (json_is_string(v) || json_is_object(v)) {
            json_array_append((json_t *)arr, (json_t *)v);
        } else {
            json_decref(arr);
            return ps_err_set(err, PS_ERR_INVALID,
                              "%s: expected an array of relations", path);
        }
    }
    size_t n = json_array_size(arr);
    ps_status rc = PS_OK;
    ps_pan_include *incs = n ? ps_calloc(n, sizeof *incs) : NULL;
    if (n && !incs)
        rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n && rc == PS_OK; i++) {
        char sub[200];
        snprintf(sub, sizeof sub, "%s[%zu]", path, i);
        rc = parse_include(model, json_array_get(arr, i), sub, &incs[i], err);
    }
    json_decref(arr);
    if (rc != PS_OK) {
        /* Entries are zeroed before use, so all of them can be freed. */
        for (size_t i = 0; incs && i < n; i++)
            include_free(&incs[i]);
        ps_free(incs);
        return rc;
    }
    *out = incs;
    *n_out = n;
    return PS_OK;
}

/* A non-negative integer, also given as a numeric string. */
static int nonneg_int(const json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return *out >= 0 ? 0 : -1;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d < 0 || d != floor(d) || d > 9e15)
            return -1;
        *out = (int64_t)d;
        return 0;
    }
    if (json_is_string(v))
        return ps_parse_i64(json_string_value(v), out) == 0 && *out >= 0 ? 0
                                                                         : -1;
    return -1;
}

static ps_status parse_order(ps_pan_model model, const json_t *v,
                             ps_pan_filter *f, ps_err *err)
{
    size_t n = json_is_array(v) ? json_array_size(v) : 1;
    f->order = ps_calloc(n ? n : 1, sizeof *f->order);
    if (!f->order)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const json_t *item = json_is_array(v) ? json_array_get(v, i) : v;
        if (!json_is_string(item))
            return ps_err_set(
                err, PS_ERR_INVALID,
                "order: expected \"field ASC\" or \"field DESC\"");
        char field[128], dir[16] = "ASC", extra[8];
        int k = sscanf(json_string_value(item), "%127s %15s %7s", field, dir,
                       extra);
        if (k < 1 || k > 2 ||
            (strcasecmp(dir, "ASC") != 0 && strcasecmp(dir, "DESC") != 0))
            return ps_err_set(err, PS_ERR_INVALID,
                              "order: \"%s\" is not \"field ASC\" or \"field "
                              "DESC\"",
                              json_string_value(item));
        if (!psi_model_field(model, field)) {
            char list[400];
            psi_model_field_list(model, list, sizeof list);
            return ps_err_set(err, PS_ERR_INVALID,
                              "order: %s has no field \"%s\" (fields: %s)",
                              psi_model_name(model), field, list);
        }
        f->order[i].field = ps_strdup(field);
        if (!f->order[i].field)
            return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        f->order[i].descending = strcasecmp(dir, "DESC") == 0;
        f->norder++;
    }
    return PS_OK;
}

static ps_status parse_fields(ps_pan_model model, const json_t *v,
                              ps_pan_filter *f, ps_err *err)
{
    size_t n = json_is_array(v)    ? json_array_size(v)
               : json_is_object(v) ? json_object_size(v)
                                   : 0;
    if (!json_is_array(v) && !json_is_object(v))
        return ps_err_set(err, PS_ERR_INVALID,
                          "fields: expected {\"pid\": true, ...} or [\"pid\", "
                          "...]");
    f->fields = ps_calloc(n ? n : 1, sizeof *f->fields);
    if (!f->fields)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    /* Objects with only false values exclude; keep the included names. */
    int any_true = 0;
    const char *key;
    json_t *val;
    if (json_is_object(v))
        json_object_foreach ((json_t *)v, key, val)
            any_true |= json_is_true(val);
    for (size_t i = 0; i < n; i++) {
        const char *name;
        int include = 1;
        if (json_is_array(v)) {
            name = json_string_value(json_array_get(v, i));
        } else {
            void *it = json_object_iter((json_t *)v);
            for (size_t k = 0; k < i; k++)
                it = json_object_iter_next((json_t *)v, it);
            name = json_object_iter_key(it);
            include = json_is_true(json_object_iter_value(it));
        }
        if (!name || !psi_model_field(model, name))
            return ps_err_set(
                err, PS_ERR_INVALID, "fields: %s has no field \"%s\"",
                psi_model_name(model), name ? name : "(not a string)");
        if (any_true && !include)
            continue;
        if (!any_true && json_is_object(v)) {
            /* Exclusion list: record as "-name". */
            f->fields[f->nfields] = ps_asprintf("-%s", name);
        } else {
            f->fields[f->nfields] = ps_strdup(name);
        }
        if (!f->fields[f->nfields])
            return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        f->nfields++;
    }
    return PS_OK;
}

ps_status ps_pan_filter_parse(ps_pan_model model, const char *text,
                              ps_pan_filter **out, ps_err *err)
{
    *out = NULL;
    ps_pan_filter *f = ps_calloc(1, sizeof *f);
    if (!f)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    f->model = model;
    if (!text || !*text) {
        *out = f;
        return PS_OK;
    }
    json_t *j = NULL;
    ps_status rc = parse_json_text("filter", text, &j, err);
    const char *key;
    json_t *val;
    if (rc == PS_OK) {
        json_object_foreach (j, key, val) {
            if (strcmp(key, "where") == 0) {
                rc = parse_where_obj(model, val, "where", &f->where, err);
            } else if (strcmp(key, "include") == 0) {
                rc = parse_includes(model, val, "include", &f->includes,
                                    &f->nincludes, err);
            } else if (strcmp(key, "limit") == 0) {
                if (nonneg_int(val, &f->limit) != 0) {
                    char *t = json_dumps(val, JSON_ENCODE_ANY);
                    rc = ps_err_set(err, PS_ERR_INVALID,
                                    "The limit parameter %s is not valid (use "
                                    "a whole number, 0 for no limit)",
                                    t ? t : "?");
                    free(t);
                }
            } else if (strcmp(key, "skip") == 0 || strcmp(key, "offset") == 0) {
                if (nonneg_int(val, &f->skip) != 0) {
                    char *t = json_dumps(val, JSON_ENCODE_ANY);
                    rc = ps_err_set(err, PS_ERR_INVALID,
                                    "The skip parameter %s is not valid (use a "
                                    "whole number from 0)",
                                    t ? t : "?");
                    free(t);
                }
            } else if (strcmp(key, "order") == 0) {
                rc = parse_order(model, val, f, err);
            } else if (strcmp(key, "fields") == 0) {
                rc = parse_fields(model, val, f, err);
            } else if (strcmp(key, "query") == 0) {
                if (!json_is_string(val)) {
                    rc = ps_err_set(err, PS_ERR_INVALID,
                                    "query: expected a string of keywords");
                } else {
                    f->query = ps_strdup(json_string_value(val));
                    if (!f->query)
                        rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
                }
            } else {
                rc = ps_err_set(err, PS_ERR_INVALID,
                                "unknown filter key \"%s\" (keys: where, "
                                "include, limit, skip, order, fields, query)",
                                key);
            }
            if (rc != PS_OK)
                break;
        }
    }
    json_decref(j);
    if (rc != PS_OK) {
        ps_pan_filter_free(f);
        return rc;
    }
    *out = f;
    return PS_OK;
}

/* ---- evaluating
 * ----------------------------------------------------------------------------
 */

/* A JSON value as a number: numbers, numeric strings, booleans as 0/1. */
static int as_number(const json_t *v, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return 0;
    }
    if (json_is_string(v))
        return ps_parse_double(json_string_value(v), out);
    return -1;
}

/* A date as ms since the epoch, in a double: a number operand may be any
 * JSON number (1e300 included), which no integer type holds. */
static int as_time(const json_t *v, double *out)
{
    if (json_is_string(v)) {
        int64_t ms;
        if (ps_time_parse(json_string_value(v), &ms) != PS_OK)
            return -1;
        *out = (double)ms;
        return 0;
    }
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return 0;
    }
    return -1;
}

/* Three-way comparison of a record's value a with an operand b; 2 when they
 * cannot be compared (then only neq holds). */
static int compare(const psi_field *def, const json_t *a, const json_t *b)
{
    if (!a || json_is_null(a) || !b || json_is_null(b))
        return a == b || (json_is_null(a) && json_is_null(b)) ? 0 : 2;
    if (def && def->type == PSI_FT_DATE) {
        double x, y;
        if (as_time(a, &x) || as_time(b, &y))
            return 2;
        return x < y ? -1 : x > y;
    }
    if (json_is_boolean(a) || json_is_boolean(b)) {
        int x = psi_bool_value(a) == 1;
        int y = psi_bool_value(b) == 1;
        if ((json_is_number(a) && !json_is_boolean(b)) ||
            (json_is_number(b) && !json_is_boolean(a)))
            return 2;
        return x - y;
    }
    if (json_is_number(a) || json_is_number(b)) {
        double x, y;
        if (as_number(a, &x) || as_number(b, &y))
            return 2;
        return x < y ? -1 : x > y;
    }
    if (json_is_string(a) && json_is_string(b)) {
        int c = strcmp(json_string_value(a), json_string_value(b));
        return c < 0 ? -1 : c > 0;
    }
    return 2;
}

static int like_match(const regex_t *re, const json_t *v)
{
    char num[40];
    const char *s = NULL;
    if (json_is_string(v)) {
        s = json_string_value(v);
    } else if (json_is_integer(v)) {
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        s = num;
    } else if (json_is_real(v)) {
        snprintf(num, sizeof num, "%.17g", json_real_value(v));
        s = num;
    }
    return s && regexec(re, s, 0, NULL, 0) == 0;
}

/* Does the single value a satisfy the condition? */
static int test_value(const ps_where *w, const json_t *a)
{
    const json_t *v = w->value;
    int c;
    switch (w->op) {
    case PSI_OP_EQ: return compare(w->def, a, v) == 0;
    case PSI_OP_NEQ: return compare(w->def, a, v) != 0;
    case PSI_OP_GT: c = compare(w->def, a, v); return c == 1;
    case PSI_OP_GTE: c = compare(w->def, a, v); return c == 1 || c == 0;
    case PSI_OP_LT: c = compare(w->def, a, v); return c == -1;
    case PSI_OP_LTE: c = compare(w->def, a, v); return c == -1 || c == 0;
    case PSI_OP_BETWEEN: {
        int lo = compare(w->def, a, json_array_get(v, 0));
        int hi = compare(w->def, a, json_array_get(v, 1));
        return (lo == 0 || lo == 1) && (hi == 0 || hi == -1);
    }
    case PSI_OP_INQ:
    case PSI_OP_NIN: {
        int found = 0;
        for (size_t i = 0; i < json_array_size(v) && !found; i++)
            found = compare(w->def, a, json_array_get(v, i)) == 0;
        return w->op == PSI_OP_INQ ? found : !found;
    }
    case PSI_OP_LIKE:
    case PSI_OP_ILIKE:
    case PSI_OP_REGEXP: return like_match(w->re, a);
    case PSI_OP_NLIKE:
    case PSI_OP_NILIKE: return !like_match(w->re, a);
    default: return 0;
    }
}

int psi_where_eval(const ps_where *w, psi_leaf_fn leaf, void *arg)
{
    if (!w)
        return 1;
    switch (w->type) {
    case PSI_W_TRUE: return 1;
    case PSI_W_AND:
        for (size_t i = 0; i < w->nkids; i++)
            if (!psi_where_eval(w->kids[i], leaf, arg))
                return 0;
        return 1;
    case PSI_W_OR:
        for (size_t i = 0; i < w->nkids; i++)
            if (psi_where_eval(w->kids[i], leaf, arg))
                return 1;
        return 0;
    case PSI_W_COND: break;
    }
    return leaf(w, arg);
}

int psi_bool_value(const json_t *v)
{
    if (json_is_boolean(v))
        return json_is_true(v);
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    if (s && (strcasecmp(s, "true") == 0 || strcmp(s, "1") == 0))
        return 1;
    if (s && (strcasecmp(s, "false") == 0 || strcmp(s, "0") == 0))
        return 0;
    return -1;
}

typedef struct match_arg {
    ps_pan_model model;
    const json_t *obj;
} match_arg;

static int match_leaf(const ps_where *w, void *p)
{
    const match_arg *m = p;
    return ps_where_match(w, m->model, m->obj);
}

int ps_where_match(const ps_where *w, ps_pan_model model, const json_t *obj)
{
    if (!w)
        return 1;
    if (w->type != PSI_W_COND) {
        match_arg m = {model, obj};
        return psi_where_eval(w, match_leaf, &m);
    }
    if (w->op == PSI_OP_TEXT) {
        for (const char *const *f = psi_model_text_fields(model); *f; f++)
            if (like_match(w->re, json_object_get(obj, *f)))
                return 1;
        return 0;
    }
    const json_t *a = json_object_get(obj, w->field);
    if (json_is_array(a)) {
        /* Array fields match when any element does; the negated operators
         * hold when no element matches the positive one. */
        int negated = w->op == PSI_OP_NEQ || w->op == PSI_OP_NIN ||
                      w->op == PSI_OP_NLIKE || w->op == PSI_OP_NILIKE;
        ps_where pos = *w;
        if (negated)
            pos.op = w->op == PSI_OP_NEQ     ? PSI_OP_EQ
                     : w->op == PSI_OP_NIN   ? PSI_OP_INQ
                     : w->op == PSI_OP_NLIKE ? PSI_OP_LIKE
                                             : PSI_OP_ILIKE;
        int any = 0;
        for (size_t i = 0; i < json_array_size(a) && !any; i++)
            any = test_value(&pos, json_array_get(a, i));
        return negated ? !any : any;
    }
    return test_value(w, a);
}
