/*
 * index-schema.c: what goes into the index, in one place. The field table
 * says, for each field the APIs filter, sort and facet on, which boolean
 * term prefix or value slot holds it; psi_index_build_doc writes those terms
 * and values, plus the relevance scoring terms (below) and the technique and
 * parameter terms of include scopes, into the Xapian document of a store
 * entity. The query planner reads the same table, so the two cannot drift
 * apart. The free text of the search endpoint (titles, abstracts,
 * keywords, a publication's PDF text) is indexed with positions and stems
 * in the fields index.h lists (add_search_text); the PaN API does not use
 * it: `query` is scored from the scoring terms, and `text`/like conditions
 * are checked on the record.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "index-private.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DS PS_IDX_DATASET
#define DOC PS_IDX_DOCUMENT
#define INS PS_IDX_INSTRUMENT

static const ps_index_field fields[] = {
    {"pid", DS | DOC | INS, PS_IDXF_TERM, "XP:", PS_IDX_SLOT_PID},
    {"title", DS | DOC, PS_IDXF_TERM, "XT:", PS_IDX_SLOT_TITLE},
    {"name", INS, PS_IDXF_TERM, "XN:", PS_IDX_SLOT_TITLE},
    {"facility", INS, PS_IDXF_TERM, "XF:", -1},
    {"creationDate", DS, PS_IDXF_DATE, NULL, 2},
    {"size", DS, PS_IDXF_NUM, NULL, 3},
    {"instrumentId", DS, PS_IDXF_TERM, "XI:", -1},
    {"type", DOC, PS_IDXF_TERM, "XTY:", -1},
    {"doi", DOC, PS_IDXF_TERM, "XDOI:", -1},
    {"license", DOC, PS_IDXF_TERM, "XL:", -1},
    {"keywords", DOC, PS_IDXF_TERM, "XKW:", -1},
    {"startDate", DOC, PS_IDXF_DATE, NULL, 2},
    {"endDate", DOC, PS_IDXF_DATE, NULL, 5},
    {"releaseDate", DOC, PS_IDXF_DATE, NULL, 6},
};

const ps_index_field *ps_index_field_find(ps_idx_group group, const char *name)
{
    for (size_t i = 0; name && i < sizeof fields / sizeof fields[0]; i++)
        if ((fields[i].groups & group) && strcmp(fields[i].name, name) == 0)
            return &fields[i];
    return NULL;
}

int psi_index_kind(ps_kind kind)
{
    return kind == PS_KIND_DATASET || kind == PS_KIND_PROPOSAL ||
           kind == PS_KIND_PUBLICATION || kind == PS_KIND_INSTRUMENT;
}

unsigned psi_index_load_flags(ps_kind kind)
{
    switch (kind) {
    case PS_KIND_DATASET:
        return PS_LOAD_SAMPLES | PS_LOAD_TECHNIQUES | PS_LOAD_PARAMETERS |
               PS_LOAD_DOCUMENTS;
    case PS_KIND_PROPOSAL:
        return PS_LOAD_MEMBERS | PS_LOAD_PARAMETERS | PS_LOAD_DOCUMENTS |
               PS_LOAD_INSTRUMENTS;
    case PS_KIND_PUBLICATION:
        return PS_LOAD_MEMBERS | PS_LOAD_PARAMETERS | PS_LOAD_DOCUMENTS |
               PS_LOAD_TEXT | PS_LOAD_INSTRUMENTS;
    default: return 0;
    }
}

static char kind_letter(ps_kind kind)
{
    switch (kind) {
    case PS_KIND_DATASET: return 'd';
    case PS_KIND_PROPOSAL: return 'p';
    case PS_KIND_PUBLICATION: return 'u';
    case PS_KIND_INSTRUMENT: return 'i';
    default: return 'x';
    }
}

char *ps_index_idterm(ps_kind kind, int64_t id, char *out, size_t size)
{
    snprintf(out, size, "Q%c%lld", kind_letter(kind), (long long)id);
    return out;
}

int ps_index_hit_ref(const char *data, ps_kind *kind, int64_t *id)
{
    if (!data || !data[0] || data[1] != ':')
        return -1;
    switch (data[0]) {
    case 'd': *kind = PS_KIND_DATASET; break;
    case 'p': *kind = PS_KIND_PROPOSAL; break;
    case 'u': *kind = PS_KIND_PUBLICATION; break;
    case 'i': *kind = PS_KIND_INSTRUMENT; break;
    default: return -1;
    }
    return ps_parse_i64(data + 2, id);
}

ps_xquery *ps_index_visible_query(int64_t now_ms)
{
    char hi[32];
    size_t n = ps_xvalue_num((double)now_ms, hi);
    ps_xquery *embargo[2] = {ps_xq_term(PS_IDX_TERM_VIS "embargoed"),
                             ps_xq_range(PS_IDX_SLOT_EMBARGO, NULL, 0, hi, n)};
    ps_xquery *either[2] = {ps_xq_term(PS_IDX_TERM_VIS "public"),
                            ps_xq_and(embargo, 2)};
    return ps_xq_or(either, 2);
}

/* ---- building documents ------------------------------------------------- */

typedef struct builder {
    ps_xdoc *doc;
    ps_err *err;
    ps_status rc;
} builder;

static void add_term(builder *b, const char *prefix, const char *value)
{
    if (b->rc != PS_OK || !value)
        return;
    char term[1024];
    int n = snprintf(term, sizeof term, "%s%s", prefix, value);
    if (n < 0 || (size_t)n >= sizeof term) {
        /* Long values: let the shim hash them, built from a heap copy. */
        char *t = ps_asprintf("%s%s", prefix, value);
        if (!t) {
            b->rc = ps_err_set(b->err, PS_ERR_NOMEM, "out of memory");
            return;
        }
        b->rc = ps_xdoc_add_term(b->doc, t, b->err);
        ps_free(t);
        return;
    }
    b->rc = ps_xdoc_add_term(b->doc, term, b->err);
}

/* A term of the value in ASCII lower case. */
static void add_lower_term(builder *b, const char *prefix, const char *value)
{
    if (!value)
        return;
    char *v = ps_strdup(value);
    if (!v) {
        b->rc = ps_err_set(b->err, PS_ERR_NOMEM, "out of memory");
        return;
    }
    ps_str_lower(v, (size_t)-1);
    add_term(b, prefix, v);
    ps_free(v);
}

/* ---- parameter values -----------------------------------------------------
 * A parameter's SI value is indexed as five terms, its bucket at five
 * resolutions of the value's order-preserving 64-bit key (IEEE bits, sign
 * folded): the top 6, 12 (sign and exponent: a binary order of magnitude),
 * 16, 20 and 24 bits. A range query is the OR of the coarsest buckets that
 * fit inside it plus, at its two ends, finer ones down to the finest: a
 * few dozen terms, never a scan (the idea of Lucene's numeric trie terms).
 * Term: "XPV" level-digit name US unit_si US hex-bucket. */

static const int vbits[] = {6, 12, 16, 20, 24};
#define NVLEVELS ((int)(sizeof vbits / sizeof vbits[0]))
#define VNAME_MAX 160 /* longer name + unit: no value terms */

static uint64_t value_key(double d)
{
    uint64_t u;
    if (d == 0)
        d = 0; /* -0 sorts as 0 */
    memcpy(&u, &d, sizeof u);
    return (u >> 63) ? ~u : u | (UINT64_C(1) << 63);
}

static int value_term(char *out, size_t size, int level, const char *name,
                      const char *unit_si, uint64_t bucket)
{
    int n = snprintf(out, size, "XPV%d%s\x1f%s\x1f%llx", level, name, unit_si,
                     (unsigned long long)bucket);
    return n > 0 && (size_t)n < size ? 0 : -1;
}

static void add_parameter_terms(builder *b, const json_t *ent)
{
    size_t i;
    json_t *x;
    json_array_foreach (json_object_get(ent, "parameters"), i, x) {
        const char *name = ps_json_str(x, "name");
        add_term(b, "XPN:", name);
        const char *usi = ps_json_str(x, "unit_si");
        json_t *si = json_object_get(x, "value_si");
        if (!name || !usi || !*usi || !json_is_number(si) ||
            strlen(name) + strlen(usi) > VNAME_MAX ||
            !isfinite(json_number_value(si)))
            continue;
        uint64_t k = value_key(json_number_value(si));
        for (int l = 0; l < NVLEVELS; l++) {
            char t[VNAME_MAX + 48];
            if (value_term(t, sizeof t, l, name, usi, k >> (64 - vbits[l])) ==
                0)
                add_term(b, "", t);
        }
    }
}

/* Buckets of level covering [lo, hi] (keys, inclusive), appended to q. */
static int cover(ps_xquery ***q, size_t *n, size_t *cap, int level,
                 const char *name, const char *unit_si, uint64_t lo,
                 uint64_t hi)
{
    int s = 64 - vbits[level];
    uint64_t span = s == 64 ? ~UINT64_C(0) : (UINT64_C(1) << s) - 1;
    for (uint64_t bkt = lo >> s;; bkt++) {
        uint64_t blo = bkt << s, bhi = blo | span;
        if ((blo >= lo && bhi <= hi) || level == NVLEVELS - 1) {
            char t[VNAME_MAX + 48];
            if (*n == *cap) {
                size_t c = *cap ? *cap * 2 : 32;
                ps_xquery **g = ps_realloc(*q, c * sizeof *g);
                if (!g)
                    return -1;
                *q = g;
                *cap = c;
            }
            if (value_term(t, sizeof t, level, name, unit_si, bkt) != 0)
                return -1;
            (*q)[(*n)++] = ps_xq_term(t);
        } else if (cover(q, n, cap, level + 1, name, unit_si,
                         blo > lo ? blo : lo, bhi < hi ? bhi : hi) != 0) {
            return -1;
        }
        if (bkt == hi >> s)
            break;
    }
    return 0;
}

ps_xquery *ps_index_parameter_range(const char *name, const char *unit_si,
                                    double lo, double hi)
{
    if (!name || !unit_si || !*unit_si ||
        strlen(name) + strlen(unit_si) > VNAME_MAX || isnan(lo) || isnan(hi)) {
        char *t = ps_asprintf("XPN:%s", name ? name : "");
        ps_xquery *q = t ? ps_xq_term(t) : NULL;
        ps_free(t);
        return q;
    }
    if (lo > hi)
        return ps_xq_none();
    ps_xquery **kids = NULL;
    size_t n = 0, cap = 0;
    if (cover(&kids, &n, &cap, 0, name, unit_si, value_key(lo),
              value_key(hi)) != 0) {
        for (size_t i = 0; i < n; i++)
            ps_xq_free(kids[i]);
        ps_free(kids);
        return NULL;
    }
    ps_xquery *q = ps_xq_or(kids, n);
    ps_free(kids);
    return q;
}

static void set_str_value(builder *b, int slot, const char *v, int lower)
{
    if (b->rc != PS_OK || !v)
        return;
    size_t n = strlen(v);
    char buf[256];
    if (n >= sizeof buf)
        n = sizeof buf - 1;
    for (size_t i = 0; i < n; i++)
        buf[i] = lower && v[i] >= 'A' && v[i] <= 'Z' ? (char)(v[i] + 32) : v[i];
    buf[n] = '\0';
    b->rc = ps_xdoc_set_value(b->doc, (unsigned)slot, buf, n, b->err);
}

static void set_num_value(builder *b, int slot, const json_t *v)
{
    if (b->rc != PS_OK || !json_is_number(v))
        return;
    b->rc = ps_xdoc_set_value_num(b->doc, (unsigned)slot, json_number_value(v),
                                  b->err);
}

static void add_keywords(builder *b, const json_t *ent, int terms)
{
    size_t i;
    json_t *kw;
    json_array_foreach (json_object_get(ent, "keywords"), i, kw) {
        if (!json_is_string(kw))
            continue;
        if (terms)
            add_term(b, "XKW:", json_string_value(kw));
    }
}

static void common_terms(builder *b, ps_kind kind, const json_t *ent,
                         const char *group)
{
    const char *vis = ps_json_str(ent, "visibility");
    /* The unique id term: updates and deletions find the document by it,
     * whether it was written by ps_xdb_replace or by a rebuild's add. */
    char idterm[40];
    ps_index_idterm(kind, json_integer_value(json_object_get(ent, "id")),
                    idterm, sizeof idterm);
    add_term(b, "", idterm);
    add_term(b, PS_IDX_TERM_GROUP, group);
    add_term(b, PS_IDX_TERM_KIND, ps_kind_name(kind));
    add_term(b, PS_IDX_TERM_VIS, vis ? vis : "restricted");
    char gv[64];
    snprintf(gv, sizeof gv, "%s:%s", group, vis ? vis : "restricted");
    add_term(b, PS_IDX_TERM_GROUPVIS, gv);
    add_term(b, "XP:", ps_json_str(ent, "pid"));
    set_str_value(b, PS_IDX_SLOT_PID, ps_json_str(ent, "pid"), 0);
    if (vis && strcmp(vis, "embargoed") == 0)
        set_num_value(b, PS_IDX_SLOT_EMBARGO,
                      json_object_get(ent, "embargo_until"));
    if (b->rc == PS_OK) {
        char data[48];
        int64_t rid = json_integer_value(json_object_get(ent, "id"));
        snprintf(data, sizeof data, "%c:%lld", kind_letter(kind),
                 (long long)rid);
        b->rc = ps_xdoc_set_data(b->doc, data, strlen(data), b->err);
    }
}

static void build_dataset(builder *b, const json_t *ent)
{
    size_t i;
    json_t *x;
    common_terms(b, PS_KIND_DATASET, ent, "dataset");
    const char *title = ps_json_str(ent, "title");
    add_term(b, "XT:", title);
    set_str_value(b, PS_IDX_SLOT_TITLE, title, 1);
    set_num_value(b, 2, json_object_get(ent, "created"));
    set_num_value(b, PS_IDX_SLOT_SORTDATE, json_object_get(ent, "created"));
    set_num_value(b, 3, json_object_get(ent, "size"));
    add_term(b, "XI:", ps_json_str(ent, "instrument_pid"));
    add_term(b, "XDOI:", ps_json_str(ent, "doi")); /* search's doi: */
    json_t *ins = json_object_get(ent, "instrument");
    if (ins) {
        add_term(b, "XF:", ps_json_str(ins, "facility"));
    }
    json_t *created = json_object_get(ent, "created");
    if (json_is_integer(created)) {
        char when[PS_TIME_BUFSZ];
        ps_time_format(json_integer_value(created), when);
        when[4] = '\0';
        add_term(b, "XY:", when);
    }
    add_keywords(b, ent, 0);
    /* Technique scopes: XTX "has a technique", XTE: PaNET IRI, XTP: pid,
     * XTN: name in lower case (query/techniques.c). */
    if (json_array_size(json_object_get(ent, "techniques")))
        add_term(b, "XTX", "");
    json_array_foreach (json_object_get(ent, "techniques"), i, x) {
        add_term(b, "XTE:", ps_json_str(x, "panet_iri"));
        add_term(b, "XTP:", ps_json_str(x, "pid"));
        add_lower_term(b, "XTN:", ps_json_str(x, "name"));
    }
    add_parameter_terms(b, ent);
    json_array_foreach (json_object_get(ent, "documents"), i, x) {
        add_term(b, "XD:", ps_json_str(x, "pid"));
        add_term(b, "XC:", ps_json_str(x, "code"));
    }
}

static void build_document(builder *b, ps_kind kind, const json_t *ent)
{
    size_t i;
    json_t *x;
    common_terms(b, kind, ent, "document");
    const char *title = ps_json_str(ent, "title");
    add_term(b, "XT:", title);
    set_str_value(b, PS_IDX_SLOT_TITLE, title, 1);
    const char *type = ps_json_str(ent, "type");
    add_term(b, "XTY:",
             type                       ? type
             : kind == PS_KIND_PROPOSAL ? "proposal"
                                        : "publication");
    add_term(b, "XDOI:", ps_json_str(ent, "doi"));
    add_term(b, "XL:", ps_json_str(ent, "license"));
    add_term(b, "XC:", ps_json_str(ent, "code"));
    add_term(b, "XF:", ps_json_str(ent, "facility"));
    add_term(b, "XST:", ps_json_str(ent, "status"));
    add_term(b, "XJ:", ps_json_str(ent, "journal"));
    set_num_value(b, PS_IDX_SLOT_CITATIONS,
                  json_object_get(ent, "citation_count"));
    /* The instruments its dashboards count it under (PS_LOAD_INSTRUMENTS),
     * and their facilities. */
    json_array_foreach (json_object_get(ent, "instruments"), i, x) {
        add_term(b, "XI:", ps_json_str(x, "pid"));
        add_term(b, "XF:", ps_json_str(x, "facility"));
    }
    set_num_value(b, 2, json_object_get(ent, "start"));
    set_num_value(b, 5, json_object_get(ent, "end"));
    set_num_value(b, 6, json_object_get(ent, "release"));
    add_keywords(b, ent, 1);
    json_t *year = json_object_get(ent, "year");
    json_t *start = json_object_get(ent, "start");
    char y[PS_TIME_BUFSZ] = "";
    if (json_is_integer(year))
        snprintf(y, sizeof y, "%lld", (long long)json_integer_value(year));
    else if (json_is_integer(start))
        ps_time_format(json_integer_value(start), y)[4] = '\0';
    if (y[0])
        add_term(b, "XY:", y);
    /* The date it sorts by: its start, else its year's first day. */
    int64_t sort_ms;
    char jan1[PS_TIME_BUFSZ + 16];
    snprintf(jan1, sizeof jan1, "%s-01-01", y);
    if (json_is_integer(start))
        set_num_value(b, PS_IDX_SLOT_SORTDATE, start);
    else if (y[0] && ps_time_parse(jan1, &sort_ms) == PS_OK) {
        json_t *v = json_integer(sort_ms);
        set_num_value(b, PS_IDX_SLOT_SORTDATE, v);
        json_decref(v);
    }
    json_array_foreach (json_object_get(ent, "members"), i, x) {
        const json_t *p = json_object_get(x, "person");
        json_t *inst = json_object_get(x, "institution");
        add_term(b, "XA:", ps_json_str(p, "pid"));
        add_term(b, "XO:", ps_json_str(inst, "pid"));
        add_term(b, "XCO:", ps_json_str(inst, "country"));
    }
    add_parameter_terms(b, ent);
    json_array_foreach (json_object_get(ent, kind == PS_KIND_PROPOSAL
                                                 ? "publications"
                                                 : "proposals"),
                        i, x) {
        add_term(b, "XD:", ps_json_str(x, "pid"));
        add_term(b, "XC:", ps_json_str(x, "code"));
    }
}

static void build_instrument(builder *b, const json_t *ent)
{
    common_terms(b, PS_KIND_INSTRUMENT, ent, "instrument");
    const char *name = ps_json_str(ent, "name");
    add_term(b, "XN:", name);
    set_str_value(b, PS_IDX_SLOT_TITLE, name, 1);
    add_term(b, "XF:", ps_json_str(ent, "facility"));
}

/* ---- free text for the search endpoint -------------------------------------
 * Each field goes into the unprefixed field with its weight and positions
 * and, when it has one, into its own field without positions (index.h). */

static void add_words(builder *b, const json_t *v, unsigned weight,
                      const char *prefix)
{
    if (b->rc != PS_OK || !json_is_string(v) || !json_string_length(v))
        return;
    const char *text = json_string_value(v);
    size_t len = json_string_length(v);
    b->rc = ps_xdoc_index_words(b->doc, text, len, PS_IDX_TEXT_MAX, weight, "",
                                PS_XWORDS_POSITIONS, b->err);
    if (b->rc == PS_OK && prefix)
        b->rc = ps_xdoc_index_words(
            b->doc, text, len, PS_IDX_TEXT_MAX, 1, prefix,
            strcmp(prefix, PS_IDX_TEXT_TITLE) == 0 ? PS_XWORDS_POSITIONS : 0,
            b->err);
}

/* Text only in its own field, with positions (author:, instrument:). */
static void add_field_words(builder *b, const json_t *v, const char *prefix)
{
    if (b->rc != PS_OK || !json_is_string(v) || !json_string_length(v))
        return;
    b->rc = ps_xdoc_index_words(b->doc, json_string_value(v),
                                json_string_length(v), PS_IDX_TEXT_MAX, 1,
                                prefix, PS_XWORDS_POSITIONS, b->err);
}

static void add_search_text(builder *b, ps_kind kind, const json_t *ent)
{
    size_t i;
    json_t *kw;
    json_t *x;
    if (kind == PS_KIND_INSTRUMENT) {
        add_words(b, json_object_get(ent, "name"), PS_IDX_WEIGHT_TITLE,
                  PS_IDX_TEXT_TITLE);
        add_field_words(b, json_object_get(ent, "name"),
                        PS_IDX_TEXT_INSTRUMENT);
        return;
    }
    if (kind == PS_KIND_DATASET)
        add_field_words(
            b, json_object_get(json_object_get(ent, "instrument"), "name"),
            PS_IDX_TEXT_INSTRUMENT);
    json_array_foreach (json_object_get(ent, "members"), i, x)
        add_field_words(
            b, json_object_get(json_object_get(x, "person"), "full_name"),
            PS_IDX_TEXT_AUTHOR);
    add_words(b, json_object_get(ent, "title"), PS_IDX_WEIGHT_TITLE,
              PS_IDX_TEXT_TITLE);
    add_words(b,
              json_object_get(ent, kind == PS_KIND_DATASET ? "description"
                                                           : "summary"),
              PS_IDX_WEIGHT_ABSTRACT, PS_IDX_TEXT_ABSTRACT);
    json_array_foreach (json_object_get(ent, "keywords"), i, kw)
        add_words(b, kw, PS_IDX_WEIGHT_KEYWORDS, PS_IDX_TEXT_KEYWORDS);
    if (kind == PS_KIND_PUBLICATION)
        add_words(b, json_object_get(ent, "full_text"), PS_IDX_WEIGHT_TEXT,
                  NULL);
}

/* ---- relevance scoring terms --------------------------------------------
 * Kept apart from the builders above: the scoring text is its own list
 * (ps_index_score_fields), its terms are counted (within-document
 * frequency) and the number of distinct ones is the frequency of one more
 * term. */

const char *ps_index_score_prefix(ps_idx_group group)
{
    return group == PS_IDX_DATASET    ? PS_IDX_SCORE_DATASET
           : group == PS_IDX_DOCUMENT ? PS_IDX_SCORE_DOCUMENT
                                      : PS_IDX_SCORE_INSTRUMENT;
}

static int append_str(json_t *arr, const json_t *v)
{
    if (!json_is_string(v))
        return 0;
    return json_array_append(arr, (json_t *)v);
}

ps_status ps_index_score_fields(ps_kind kind, const json_t *ent, json_t **out,
                                ps_err *err)
{
    size_t i;
    json_t *x, *kw;
    json_t *a = json_array();
    *out = NULL;
    if (!a)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    int rc = 0;
    switch (kind) {
    case PS_KIND_DATASET:
        rc |= append_str(a, json_object_get(ent, "title"));
        rc |= append_str(a, json_object_get(ent, "description"));
        json_array_foreach (json_object_get(ent, "keywords"), i, kw)
            rc |= append_str(a, kw);
        json_array_foreach (json_object_get(ent, "techniques"), i, x)
            rc |= append_str(a, json_object_get(x, "name"));
        json_array_foreach (json_object_get(ent, "samples"), i, x)
            rc |= append_str(a, json_object_get(x, "name"));
        json_array_foreach (json_object_get(ent, "parameters"), i, x) {
            json_t *v = json_object_get(x, "value");
            rc |= append_str(a, json_object_get(x, "name"));
            if (json_is_string(v) || json_is_number(v))
                rc |= json_array_append(a, v);
            rc |= append_str(a, json_object_get(x, "unit"));
        }
        break;
    case PS_KIND_PROPOSAL:
    case PS_KIND_PUBLICATION:
        rc |= append_str(a, json_object_get(ent, "title"));
        rc |= append_str(a, json_object_get(ent, "summary"));
        json_array_foreach (json_object_get(ent, "keywords"), i, kw)
            rc |= append_str(a, kw);
        rc |= append_str(a, json_object_get(ent, "doi"));
        json_array_foreach (json_object_get(ent, "members"), i, x)
            rc |= append_str(
                a, json_object_get(json_object_get(x, "person"), "full_name"));
        break;
    case PS_KIND_INSTRUMENT:
        rc |= append_str(a, json_object_get(ent, "name"));
        rc |= append_str(a, json_object_get(ent, "facility"));
        break;
    default: break;
    }
    if (rc) {
        json_decref(a);
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    *out = a;
    return PS_OK;
}

static int term_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void add_scoring_terms(builder *b, ps_kind kind, const json_t *ent)
{
    if (b->rc != PS_OK)
        return;
    ps_idx_group g = kind == PS_KIND_DATASET      ? PS_IDX_DATASET
                     : kind == PS_KIND_INSTRUMENT ? PS_IDX_INSTRUMENT
                                                  : PS_IDX_DOCUMENT;
    const char *prefix = ps_index_score_prefix(g);
    json_t *text = NULL;
    ps_score_terms t = {0};
    b->rc = ps_index_score_fields(kind, ent, &text, b->err);
    if (b->rc == PS_OK)
        b->rc = ps_score_item_terms(&t, text, b->err);
    json_decref(text);
    if (b->rc != PS_OK)
        return;
    qsort(t.v, t.n, sizeof *t.v, term_cmp);
    unsigned distinct = 0;
    for (size_t i = 0; i < t.n && b->rc == PS_OK;) {
        size_t j = i + 1;
        while (j < t.n && strcmp(t.v[j], t.v[i]) == 0)
            j++;
        char *term = ps_asprintf("%s%s", prefix, t.v[i]);
        if (!term)
            b->rc = ps_err_set(b->err, PS_ERR_NOMEM, "out of memory");
        else
            b->rc = ps_xdoc_add_wdf(b->doc, term, (unsigned)(j - i), b->err);
        ps_free(term);
        distinct++;
        i = j;
    }
    ps_score_terms_free(&t);
    if (b->rc == PS_OK && distinct)
        b->rc = ps_xdoc_add_wdf(b->doc, PS_IDX_TERM_SCORE_DISTINCT, distinct,
                                b->err);
}

ps_status psi_index_build_doc(ps_kind kind, const json_t *ent, int ordered,
                              ps_xdoc **out, ps_err *err)
{
    *out = NULL;
    builder b = {ps_xdoc_new(), err, PS_OK};
    if (!b.doc)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    switch (kind) {
    case PS_KIND_DATASET: build_dataset(&b, ent); break;
    case PS_KIND_PROPOSAL:
    case PS_KIND_PUBLICATION: build_document(&b, kind, ent); break;
    case PS_KIND_INSTRUMENT: build_instrument(&b, ent); break;
    default:
        b.rc = ps_err_set(err, PS_ERR_INVALID, "%s records are not indexed",
                          ps_kind_name(kind));
    }
    add_scoring_terms(&b, kind, ent);
    add_search_text(&b, kind, ent);
    add_term(&b, ordered ? PS_IDX_TERM_ORDERED : PS_IDX_TERM_UNORDERED, "");
    if (b.rc != PS_OK) {
        ps_xdoc_free(b.doc);
        return b.rc;
    }
    *out = b.doc;
    return PS_OK;
}
