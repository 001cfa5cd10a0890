/*
 * search.c: GET {api}/search, the full-text search over every kind of
 * record the index holds (publications with their PDF text, proposals,
 * datasets, instruments), beside the PaN API. What a user typed is
 * parsed by query-syntax.c (the PUMA/Elasticsearch syntax: AND by default,
 * +, -, | and OR, "phrases", word* prefixes, ( ), field:value, year
 * ranges; a malformed query is a 400 with the position of the fault) and
 * translated here into a Xapian query over the free-text fields of
 * index.h (each word through ps_xq_leaf: English stems as before) and the
 * boolean terms of the fields, titles weighing most; only what the public may
 * see is searched and answered, as in the PaN API. Each hit is loaded from the
 * store (a publication with its PDF text) and gets snippets of its title,
 * abstract and text in which the query's words are marked with <mark> and
 * everything else is escaped for HTML (MSet::snippet, ps_xresult_snippet),
 * for the fields that matched. Parameters are checked here, and anything
 * wrong is a 400 that says what. The request is parsed into one struct
 * and the query is built in one place, so that the query language and
 * filters of issue 6 can grow from here; this file does not know the PaN
 * filter language.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "export.h"
#include "query-private.h"
#include "query-syntax.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Ceilings on what a client may ask. */
#define SEARCH_Q_MAX 1024       /* bytes of q */
#define SEARCH_LIMIT_DEFAULT 20 /* results per page */
#define SEARCH_LIMIT_MAX 100    /* most results per page */
#define SEARCH_SKIP_MAX 10000   /* deepest page start */
/* type values, repeated or comma-separated */
#define SEARCH_TYPE_VALUES_MAX 16
/* Counts are exact up to this many matches, Xapian's estimate beyond. */
#define SEARCH_EXACT_COUNT 10000
/* Snippets of fields up to this size (titles, abstracts) come from the
 * best window of the text, of longer ones (PDF text) from the first window
 * with a match: weighing every window of a 12 KiB paper costs about 1.5
 * ms, and a page of 20 results has 20 of them. */
#define SEARCH_SNIPPET_BEST_MAX (4u << 10)
/* Titles matching the words add this times their weight (ps_xq_words). */
#define SEARCH_TITLE_BOOST 1.0

/* The kinds a search covers, by the name clients use in type=. */
static const struct {
    const char *name;
    ps_kind kind;
} search_kinds[] = {
    {"publication", PS_KIND_PUBLICATION},
    {"proposal", PS_KIND_PROPOSAL},
    {"dataset", PS_KIND_DATASET},
    {"instrument", PS_KIND_INSTRUMENT},
};
#define NKINDS (sizeof search_kinds / sizeof search_kinds[0])

/* The filter parameters (repeatable: values ORed), in the order of
 * search_req.fv. */
enum {
    F_DOCTYPE,
    F_FACILITY,
    F_INSTRUMENT,
    F_TECHNIQUE,
    F_PERSON,
    F_INSTITUTION,
    F_COUNTRY,
    F_STATUS,
    NFILTERS
};
static const char *const filter_names[NFILTERS] = {
    "doctype", "facility",    "instrument", "technique",
    "person",  "institution", "country",    "status"};
/* Values per filter parameter, and bytes per value. */
#define SEARCH_FILTER_VALUES_MAX 16
#define SEARCH_FILTER_VALUE_MAX 256
/* Years a filter may name. */
#define SEARCH_YEAR_MAX 9999

/* Orders of the results. */
enum { SORT_RELEVANCE, SORT_DATE, SORT_DATE_ASC, SORT_CITATIONS, SORT_TITLE };
static const char *const sort_names[] = {"relevance", "date", "-date",
                                         "citations", "title"};
#define NSORTS (sizeof sort_names / sizeof sort_names[0])
/* Records of an export (format=): default and most. */
#define SEARCH_EXPORT_DEFAULT 1000
#define SEARCH_EXPORT_MAX 10000
/* Bytes of an export. */
#define SEARCH_EXPORT_BYTES_MAX (64u << 20)
/* Facet values per facet: default and most. */
#define SEARCH_FACET_LIMIT_DEFAULT 10
#define SEARCH_FACET_LIMIT_MAX 100

/* A search request, parsed and checked. */
typedef struct search_req {
    const char *q;     /* the words (borrowed from the request) */
    ps_qs *qs;         /* q parsed (the caller's) */
    int kinds[NKINDS]; /* 1: search_kinds[i] asked for; all 0: every kind */
    int64_t limit;     /* results wanted (0: only the count) */
    int64_t skip;      /* results skipped before them */
    /* Filters: the values of each filter parameter (borrowed from the
     * request), ORed within a parameter, ANDed across them. */
    const char *fv[NFILTERS][SEARCH_FILTER_VALUES_MAX];
    size_t nfv[NFILTERS];
    int64_t year_from, year_to; /* INT64_MIN / INT64_MAX: no bound */
    int sort;                   /* SORT_* */
    int facets[PSI_NFACETS];    /* 1: counted in the answer */
    int nfacets;
    int64_t facet_limit;    /* values per facet */
    const char *collection; /* only its members (a collection pid), or NULL */
    int exporting;          /* format=: the result set as a file */
    psi_export_format format;
} search_req;

/* ---- parameters ----------------------------------------------------------
 */

/* Is s valid UTF-8 (as JSON strings must be)? */
static int utf8_ok(const char *s)
{
    json_t *t = json_string(s);
    int ok = t != NULL;
    json_decref(t);
    return ok;
}

/* s cut to at most max bytes into buf (size > max + 3), at a character
 * boundary, with "..." when cut; with trim_tail, also without a character
 * cut short at its end (a message cut by its buffer); "(not UTF-8)" if s
 * is not UTF-8 (an error message must be, or the JSON body cannot be
 * made). Returns buf. */
static const char *quote(const char *s, size_t max, int trim_tail, char *buf,
                         size_t size)
{
    size_t n = strlen(s);
    int cut = n > max;
    if (cut) {
        n = max;
        while (n && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    /* The last character's lead byte, and whether all of it is there. */
    size_t lead = n;
    while (lead && ((unsigned char)s[lead - 1] & 0xC0) == 0x80)
        lead--;
    if (trim_tail && lead && n - lead < 3) {
        unsigned char c = (unsigned char)s[lead - 1];
        size_t want = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        if (n - (lead - 1) < want)
            n = lead - 1;
    }
    snprintf(buf, size, "%.*s%s", (int)n, s, cut ? "..." : "");
    if (!utf8_ok(buf))
        snprintf(buf, size, "(not UTF-8)");
    return buf;
}

/* A whole number in [0, max] from a query argument; -1 if it is not. */
static int64_t parse_count(const char *v, int64_t max)
{
    int64_t n;
    if (!v || ps_parse_i64(v, &n) != 0 || n < 0 || n > max)
        return -1;
    return n;
}

/* Collects the values of every type= argument (repeated, or with commas),
 * checking each against search_kinds. */
typedef struct type_walk {
    search_req *r;
    int nvalues;
    int bad;        /* a value was not understood: */
    char value[72]; /* the first such, cut to 64 bytes */
    int too_many;
    const char *filter_bad; /* a filter parameter that is wrong */
    const char *filter_why; /* what is wrong with it */
} type_walk;

static void add_type(type_walk *w, const char *v, size_t n)
{
    while (n && (*v == ' ' || *v == '\t')) {
        v++;
        n--;
    }
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    if (++w->nvalues > SEARCH_TYPE_VALUES_MAX) {
        w->too_many = 1;
        return;
    }
    for (size_t i = 0; i < NKINDS; i++)
        if (n == strlen(search_kinds[i].name) &&
            strncasecmp(v, search_kinds[i].name, n) == 0) {
            w->r->kinds[i] = 1;
            return;
        }
    if (!w->bad) {
        char one[72];
        w->bad = 1;
        snprintf(one, sizeof one, "%.*s", n > 65 ? 65 : (int)n, v);
        quote(one, 64, 0, w->value, sizeof w->value);
    }
}

static enum MHD_Result on_arg(void *cls, enum MHD_ValueKind kind,
                              const char *key, const char *value)
{
    type_walk *w = cls;
    (void)kind;
    if (!key)
        return MHD_YES;
    for (size_t f = 0; f < NFILTERS; f++) {
        if (strcmp(key, filter_names[f]) != 0)
            continue;
        const char *fv = value ? value : "";
        if (w->r->nfv[f] >= SEARCH_FILTER_VALUES_MAX) {
            w->filter_bad = filter_names[f];
            w->filter_why = "has more than 16 values";
            return MHD_NO;
        }
        if (!fv[strspn(fv, " \t")] || strlen(fv) > SEARCH_FILTER_VALUE_MAX ||
            !utf8_ok(fv)) {
            w->filter_bad = filter_names[f];
            w->filter_why = "needs a value of 1 to 256 bytes of UTF-8 text";
            return MHD_NO;
        }
        w->r->fv[f][w->r->nfv[f]++] = fv;
        return MHD_YES;
    }
    if (strcmp(key, "type") != 0)
        return MHD_YES;
    const char *v = value ? value : "";
    do {
        size_t n = strcspn(v, ",");
        add_type(w, v, n);
        v += n;
    } while (*v++ == ',' && !w->too_many);
    return w->too_many ? MHD_NO : MHD_YES;
}

/* Fill r from the request; a non-zero return is the 400 already in resp. */
static int parse_request(psi_req *req, psi_resp *resp, ps_qs *qs, search_req *r,
                         int analytics)
{
    memset(r, 0, sizeof *r);
    const char *q = psi_arg(req, "q");
    if (q && !q[strspn(q, " \t\r\n\f\v")])
        q = NULL; /* no words: browse */
    if (q && strlen(q) > SEARCH_Q_MAX)
        return psi_error(resp, 400, "INVALID_QUERY",
                         "q is %zu bytes long; at most %d are accepted",
                         strlen(q), SEARCH_Q_MAX);
    if (q && !utf8_ok(q))
        return psi_error(resp, 400, "INVALID_QUERY",
                         "q is not valid UTF-8 text");
    r->q = q;
    r->qs = q ? qs : NULL;
    ps_qs_error qe;
    if (q && ps_qs_parse(q, qs, &qe) != 0) {
        psi_error(resp, 400, "INVALID_QUERY", "q: %s (at character %zu)",
                  qe.msg, qe.offset);
        json_t *e = json_object_get(resp->json, "error");
        json_object_set_new(e, "position", json_integer((json_int_t)qe.offset));
        json_object_set_new(e, "excerpt", json_string(qe.excerpt));
        return resp->status;
    }

    char buf[72];
    const char *v = analytics ? NULL : psi_arg(req, "format");
    if (v && psi_export_format_parse(v, &r->format) != 0)
        return psi_error(resp, 400, "INVALID_PARAMETER",
                         "format must be csv, bibtex, ris or json, not \"%s\"",
                         quote(v, 64, 0, buf, sizeof buf));
    r->exporting = v != NULL;
    int64_t lmax = r->exporting ? SEARCH_EXPORT_MAX : SEARCH_LIMIT_MAX;
    v = analytics ? NULL : psi_arg(req, "limit");
    r->limit = v              ? parse_count(v, lmax)
               : r->exporting ? SEARCH_EXPORT_DEFAULT
                              : SEARCH_LIMIT_DEFAULT;
    if (r->limit < 0)
        return psi_error(resp, 400, "INVALID_PARAMETER",
                         "limit must be a whole number from 0 to %lld, not "
                         "\"%s\"",
                         (long long)lmax, quote(v, 64, 0, buf, sizeof buf));
    v = analytics ? NULL : psi_arg(req, "skip");
    r->skip = v ? parse_count(v, SEARCH_SKIP_MAX) : 0;
    if (r->skip < 0)
        return psi_error(resp, 400, "INVALID_PARAMETER",
                         "skip must be a whole number from 0 to %d, not "
                         "\"%s\"",
                         SEARCH_SKIP_MAX, quote(v, 64, 0, buf, sizeof buf));

    type_walk w;
    memset(&w, 0, sizeof w);
    w.r = r;
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, on_arg, &w);
    if (w.filter_bad)
        return psi_error(resp, 400, "INVALID_PARAMETER", "%s %s", w.filter_bad,
                         w.filter_why);
    if (w.too_many)
        return psi_error(resp, 400, "INVALID_PARAMETER",
                         "type has more than %d values",
                         SEARCH_TYPE_VALUES_MAX);
    if (w.bad)
        return psi_error(resp, 400, "INVALID_PARAMETER",
                         "type: \"%s\" is not a kind of record (types: "
                         "publication, proposal, dataset, instrument)",
                         w.value);

    /* year_from, year_to: bounds included. */
    r->year_from = INT64_MIN;
    r->year_to = INT64_MAX;
    static const char *const ykeys[2] = {"year_from", "year_to"};
    for (int i = 0; i < 2; i++) {
        v = psi_arg(req, ykeys[i]);
        if (!v)
            continue;
        int64_t y = parse_count(v, SEARCH_YEAR_MAX);
        if (y < 0)
            return psi_error(resp, 400, "INVALID_PARAMETER",
                             "%s must be a year (a whole number from 0 to "
                             "%d), not \"%s\"",
                             ykeys[i], SEARCH_YEAR_MAX,
                             quote(v, 64, 0, buf, sizeof buf));
        *(i ? &r->year_to : &r->year_from) = y;
    }
    if (r->year_from > r->year_to)
        return psi_error(resp, 400, "INVALID_PARAMETER",
                         "year_from (%lld) is after year_to (%lld): nothing "
                         "can match",
                         (long long)r->year_from, (long long)r->year_to);

    v = psi_arg(req, "collection");
    if (v && (!*v || strlen(v) > SEARCH_FILTER_VALUE_MAX || !utf8_ok(v)))
        return psi_error(resp, 400, "INVALID_PARAMETER",
                         "collection needs a collection's pid (1 to 256 "
                         "bytes), as GET /api/collections lists them");
    r->collection = v;

    /* sort: relevance with words, newest first without. */
    r->sort = q ? SORT_RELEVANCE : SORT_DATE;
    v = psi_arg(req, "sort");
    if (v && *v) {
        size_t i = 0;
        while (i < NSORTS && strcmp(v, sort_names[i]) != 0)
            i++;
        if (i == NSORTS)
            return psi_error(resp, 400, "INVALID_PARAMETER",
                             "sort must be relevance, date, -date, citations "
                             "or title, not \"%s\"",
                             quote(v, 64, 0, buf, sizeof buf));
        r->sort = (int)i;
    }
    if (!q && r->sort == SORT_RELEVANCE)
        r->sort = SORT_DATE; /* nothing to be relevant to */
    if (analytics || r->exporting) {
        r->nfacets = 0; /* no page, no facets */
        memset(r->facets, 0, sizeof r->facets);
        return 0;
    }

    /* facets: every one by default, "none", or a comma-separated list. */
    v = psi_arg(req, "facets");
    if (v && strcmp(v, "none") == 0)
        v = "";
    for (int f = 0; f < PSI_NFACETS; f++)
        r->facets[f] = v == NULL;
    while (v && *v) {
        size_t n = strcspn(v, ",");
        int f = psi_facet_find(v, n);
        if (f < 0 && n)
            return psi_error(resp, 400, "INVALID_PARAMETER",
                             "facets: \"%.*s\" is not a facet (facets: year, "
                             "type, status, doctype, facility, instrument, "
                             "technique, institution, country, author, "
                             "keyword, journal; or none)",
                             n > 64 ? 64 : (int)n,
                             quote(v, 64, 0, buf, sizeof buf));
        if (f >= 0)
            r->facets[f] = 1;
        v += n + (v[n] == ',');
    }
    for (int f = 0; f < PSI_NFACETS; f++)
        r->nfacets += r->facets[f];
    v = psi_arg(req, "facet_limit");
    r->facet_limit =
        v ? parse_count(v, SEARCH_FACET_LIMIT_MAX) : SEARCH_FACET_LIMIT_DEFAULT;
    if (r->facet_limit < 1)
        return psi_error(resp, 400, "INVALID_PARAMETER",
                         "facet_limit must be a whole number from 1 to %d, "
                         "not \"%s\"",
                         SEARCH_FACET_LIMIT_MAX,
                         quote(v ? v : "", 64, 0, buf, sizeof buf));
    return 0;
}

/* ---- the query ----------------------------------------------------------- */

/* Each field's term prefixes (index.h, index-schema.c). */
#define TERM_YEAR "XY:"

/* *out = a OR b, either of which may be NULL (nothing). */
static ps_status or2(ps_xquery *a, ps_xquery *b, ps_xquery **out, ps_err *err)
{
    if (!a || !b) {
        *out = a ? a : b;
        return PS_OK;
    }
    ps_xquery *two[2] = {a, b};
    *out = ps_xq_or(two, 2);
    return *out ? PS_OK : ps_err_set(err, PS_ERR_NOMEM, "out of memory");
}

/* ---- filter values as index terms -----------------------------------------
 * A filter value stands for a few boolean terms (its letter cases, a
 * technique's narrower terms), any of which a document must have; the
 * same list becomes a Xapian query (ranked searches) or a bitmap from the
 * terms' postings (counts and browsing, facets.c). */
typedef struct vterms {
    char **t;
    size_t n, cap;
    char *self; /* F_INSTRUMENT: the instrument's own "XP:" term */
    int nomem;
} vterms;

static void vt_push(vterms *v, char *term)
{
    if (!term) {
        v->nomem = 1;
        return;
    }
    char shaped[256];
    char *t = ps_strdup(ps_xterm_make(term, shaped, sizeof shaped));
    ps_free(term);
    if (t && v->n == v->cap) {
        size_t cap = v->cap ? 2 * v->cap : 8;
        char **grown = ps_realloc(v->t, cap * sizeof *grown);
        if (!grown) {
            ps_free(t);
            t = NULL;
        } else {
            v->t = grown;
            v->cap = cap;
        }
    }
    if (!t) {
        v->nomem = 1;
        return;
    }
    v->t[v->n++] = t;
}

/* prefix + value as typed, and in lower case (lower) and in upper case
 * (upper): exact values in their usual letter cases. */
static void vt_exact(vterms *v, const char *prefix, const char *value,
                     int lower, int upper)
{
    size_t pl = strlen(prefix);
    vt_push(v, ps_asprintf("%s%s", prefix, value));
    if (lower) {
        char *t = ps_asprintf("%s%s", prefix, value);
        if (t)
            ps_str_lower(t + pl, (size_t)-1);
        vt_push(v, t);
    }
    if (upper) {
        char *t = ps_asprintf("%s%s", prefix, value);
        for (char *c = t ? t + pl : NULL; c && *c; c++)
            if (*c >= 'a' && *c <= 'z')
                *c = (char)(*c - 32);
        vt_push(v, t);
    }
}

static void vt_free(vterms *v)
{
    for (size_t i = 0; i < v->n; i++)
        ps_free(v->t[i]);
    ps_free(v->t);
    ps_free(v->self);
    memset(v, 0, sizeof *v);
}

/* The terms ORed (and the instrument itself); NULL when out of memory. */
static ps_xquery *vt_query(const vterms *v)
{
    if (v->nomem)
        return NULL;
    ps_xquery **kids = ps_calloc(v->n + 1, sizeof *kids);
    if (!kids)
        return NULL;
    size_t k = 0;
    int ok = 1;
    for (size_t i = 0; i < v->n; i++) {
        kids[k] = ps_xq_term(v->t[i]);
        ok = ok && kids[k++];
    }
    if (v->self) {
        char t[32];
        snprintf(t, sizeof t, "%s%s", PS_IDX_TERM_KIND,
                 ps_kind_name(PS_KIND_INSTRUMENT));
        kids[k] = ps_xq_filter(ps_xq_term(v->self), ps_xq_term(t));
        ok = ok && kids[k++];
    }
    ps_xquery *q = ok ? ps_xq_or(kids, k) : NULL;
    if (!ok)
        for (size_t i = 0; i < k; i++)
            ps_xq_free(kids[i]);
    ps_free(kids);
    return q;
}

/* OR the documents of v's terms into bits (g's docids). */
static ps_status vt_bits(ps_xdb *db, const psi_fgen *g, const vterms *v,
                         uint64_t *bits, ps_err *err)
{
    if (v->nomem)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    ps_status rc = PS_OK;
    for (size_t i = 0; rc == PS_OK && i < v->n; i++)
        rc = ps_xdb_postings_or(db, v->t[i], bits, g->ndocs, NULL, err);
    if (rc == PS_OK && v->self) {
        uint64_t *own = psi_bits_new(g);
        if (!own)
            return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        rc = ps_xdb_postings_or(db, v->self, own, g->ndocs, NULL, err);
        if (rc == PS_OK) {
            psi_bits_and(g, own,
                         g->kinds[psi_fgen_kind_slot(PS_KIND_INSTRUMENT)]);
            psi_bits_or(g, bits, own);
        }
        ps_free(own);
    }
    return rc;
}

/* Boolean terms prefix + value in their usual letter cases (vt_exact),
 * ORed. */
static ps_xquery *exact_terms(const char *prefix, const char *value, int lower,
                              int upper)
{
    vterms v;
    memset(&v, 0, sizeof v);
    vt_exact(&v, prefix, value, lower, upper);
    ps_xquery *q = vt_query(&v);
    vt_free(&v);
    return q;
}

/* The query of one term of q (a leaf of the tree): words through
 * ps_xq_leaf in the field's free text, exact values as boolean terms.
 * any_prefix is the free-text field of words without a field ("", or the
 * titles' for the title boost). *out NULL: nothing to search for
 * (punctuation). */
static ps_status leaf_query(ps_xdb *db, const ps_qs_node *n,
                            const char *any_prefix, ps_xquery **out,
                            ps_err *err)
{
    *out = NULL;
    ps_xleaf_kind k = n->kind == PS_QS_PHRASE   ? PS_XLEAF_PHRASE
                      : n->kind == PS_QS_PREFIX ? PS_XLEAF_PREFIX
                                                : PS_XLEAF_WORD;
    ps_xquery *a = NULL, *b = NULL;
    ps_status rc = PS_OK;
    switch (n->field) {
    case PS_QS_ANY: return ps_xq_leaf(db, n->text, any_prefix, k, 0, out, err);
    case PS_QS_TITLE:
        /* In the titles, and in all the text too when that is searched,
         * so that the title's snippet marks the words. */
        rc = ps_xq_leaf(db, n->text, PS_IDX_TEXT_TITLE, k, 0, &a, err);
        if (rc == PS_OK && a && !*any_prefix)
            rc = ps_xq_leaf(db, n->text, "", k, 0, &b, err);
        if (rc == PS_OK && a && b) {
            ps_xquery *two[2] = {a, b};
            a = b = NULL;
            *out = ps_xq_and(two, 2);
            if (!*out)
                rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        } else if (rc == PS_OK) {
            *out = a;
            a = NULL;
        }
        ps_xq_free(a);
        ps_xq_free(b);
        return rc;
    case PS_QS_AUTHOR:
        return ps_xq_leaf(db, n->text, PS_IDX_TEXT_AUTHOR, k, 0, out, err);
    case PS_QS_INSTRUMENT:
        /* Its name's words, or its pid as written. */
        rc = ps_xq_leaf(db, n->text, PS_IDX_TEXT_INSTRUMENT, k, 0, &a, err);
        if (rc == PS_OK && k != PS_XLEAF_PREFIX) {
            b = exact_terms("XI:", n->text, 0, 0);
            if (!b)
                rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        }
        if (rc == PS_OK)
            return or2(a, b, out, err);
        ps_xq_free(a);
        return rc;
    case PS_QS_FACILITY: *out = exact_terms("XF:", n->text, 0, 1); break;
    case PS_QS_TECHNIQUE: {
        /* Its name (in lower case), pid or PaNET IRI. */
        ps_xquery *t[3] = {exact_terms("XTN:", n->text, 1, 0),
                           exact_terms("XTP:", n->text, 0, 0),
                           exact_terms("XTE:", n->text, 0, 0)};
        *out = ps_xq_or(t, 3);
        break;
    }
    case PS_QS_DOI: {
        const char *d = n->text;
        static const char *const resolvers[] = {
            "https://doi.org/", "http://doi.org/", "https://dx.doi.org/",
            "http://dx.doi.org/", "doi.org/"};
        for (size_t i = 0; i < sizeof resolvers / sizeof resolvers[0]; i++)
            if (ps_str_startswith(d, resolvers[i])) {
                d += strlen(resolvers[i]);
                break;
            }
        /* A DOI is case-insensitive: as written, in lower and upper case,
         * as a DOI or as the pid (a publication's pid is often its DOI). */
        ps_xquery *t[2] = {exact_terms("XDOI:", d, 1, 1),
                           exact_terms("XP:", d, 1, 1)};
        *out = ps_xq_or(t, 2);
        break;
    }
    case PS_QS_YEAR: {
        if (n->kind == PS_QS_RANGE)
            return ps_xq_term_span(db, TERM_YEAR, n->lo, n->hi, out, err);
        char t[40];
        snprintf(t, sizeof t, "%s%lld", TERM_YEAR, (long long)n->lo);
        *out = ps_xq_term(t);
        break;
    }
    }
    return *out ? PS_OK : ps_err_set(err, PS_ERR_NOMEM, "out of memory");
}

/* The query of node id of the tree (see leaf_query); *out NULL when it
 * holds nothing to search for. */
static ps_status node_query(ps_xdb *db, const ps_qs *qs, int id,
                            const char *any_prefix, ps_xquery **out,
                            ps_err *err)
{
    const ps_qs_node *n = &qs->nodes[id];
    *out = NULL;
    if (n->kind != PS_QS_AND && n->kind != PS_QS_OR)
        return leaf_query(db, n, any_prefix, out, err);
    /* Each child holds a term at least. */
    ps_xquery *pos[PS_QS_TERMS_MAX], *neg[PS_QS_TERMS_MAX];
    size_t np = 0, nn = 0;
    ps_status rc = PS_OK;
    for (int c = n->first; c >= 0 && rc == PS_OK; c = qs->nodes[c].next) {
        ps_xquery *x = NULL;
        rc = node_query(db, qs, c, any_prefix, &x, err);
        if (rc == PS_OK && x) {
            if (qs->nodes[c].neg)
                neg[nn++] = x;
            else
                pos[np++] = x;
        }
    }
    if (rc != PS_OK || !np) {
        for (size_t i = 0; i < np; i++)
            ps_xq_free(pos[i]);
        for (size_t i = 0; i < nn; i++)
            ps_xq_free(neg[i]);
        return rc;
    }
    ps_xquery *q =
        n->kind == PS_QS_AND ? ps_xq_and(pos, np) : ps_xq_or(pos, np);
    if (nn)
        q = ps_xq_and_not(q, ps_xq_or(neg, nn));
    *out = q;
    return q ? PS_OK : ps_err_set(err, PS_ERR_NOMEM, "out of memory");
}

/* The terms of one technique filter value: the PaNET term it names (by
 * IRI, label or synonym) and every narrower one (the ontology's closure,
 * as the PaN API's technique scopes), by IRI, pid or name; and the value
 * itself as a pid, IRI or name (a facility's own technique). */
static ps_status technique_terms(psi_ctx *ctx, const char *v, vterms *out,
                                 ps_err *err)
{
    ps_technique_set set;
    memset(&set, 0, sizeof set);
    ps_status rc = ps_store_technique_expand(ctx->st, v, &set, err);
    if (rc != PS_OK)
        return rc;
    for (size_t i = 0; i < set.niris; i++) {
        vt_exact(out, "XTE:", set.iris[i], 0, 0);
        vt_exact(out, "XTP:", set.iris[i], 0, 0);
    }
    for (size_t i = 0; i < set.nnames; i++)
        vt_exact(out, "XTN:", set.names[i], 1, 0);
    vt_exact(out, "XTN:", v, 1, 0);
    vt_exact(out, "XTP:", v, 0, 0);
    vt_exact(out, "XTE:", v, 0, 0);
    ps_technique_set_free(&set);
    return out->nomem ? ps_err_set(err, PS_ERR_NOMEM, "out of memory") : PS_OK;
}

/* The terms of value v of filter parameter f into *out (vt_free). */
static ps_status value_terms(psi_ctx *ctx, int f, const char *v, vterms *out,
                             ps_err *err)
{
    memset(out, 0, sizeof *out);
    switch (f) {
    /* A publication's kind or a proposal's type, as the catalogue writes
     * it (or in lower case). */
    case F_DOCTYPE: vt_exact(out, "XTY:", v, 1, 0); break;
    case F_FACILITY: vt_exact(out, "XF:", v, 0, 1); break;
    case F_INSTRUMENT:
        /* What was measured on it or is counted under it, and the
         * instrument itself, by pid. */
        vt_exact(out, "XI:", v, 0, 0);
        out->self = ps_asprintf("XP:%s", v);
        if (!out->self)
            out->nomem = 1;
        break;
    case F_TECHNIQUE: return technique_terms(ctx, v, out, err);
    case F_PERSON: vt_exact(out, "XA:", v, 0, 0); break;
    case F_INSTITUTION: vt_exact(out, "XO:", v, 0, 0); break;
    case F_COUNTRY: vt_exact(out, "XCO:", v, 0, 1); break;
    case F_STATUS: vt_exact(out, "XST:", v, 1, 0); break;
    default: break;
    }
    return out->nomem ? ps_err_set(err, PS_ERR_NOMEM, "out of memory") : PS_OK;
}

/* The index documents of a collection's members, by their id terms. */
static int on_member(void *payload, ps_kind kind, int64_t id, const char *pid)
{
    (void)pid;
    char t[40];
    if (ps_index_idterm(kind, id, t, sizeof t))
        vt_push(payload, ps_strdup(t));
    return ((vterms *)payload)->nomem;
}

static ps_status collection_terms(psi_ctx *ctx, const char *pid, vterms *out,
                                  ps_err *err)
{
    memset(out, 0, sizeof *out);
    ps_status rc =
        ps_store_collection_members(ctx->st, pid, on_member, out, err);
    if (rc == PS_ERR_NOTFOUND)
        return ps_err_set(err, PS_ERR_NOTFOUND,
                          "collection: no collection \"%.200s\"", pid);
    if (rc == PS_OK && out->nomem)
        rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    return rc;
}

/* The documents of value v of filter parameter f. */
static ps_status filter_value_query(psi_ctx *ctx, int f, const char *v,
                                    ps_xquery **out, ps_err *err)
{
    vterms t;
    ps_status rc = value_terms(ctx, f, v, &t, err);
    *out = rc == PS_OK ? vt_query(&t) : NULL;
    vt_free(&t);
    if (rc == PS_OK && !*out)
        rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    return rc;
}

/* The filters of r ANDed (each parameter's values ORed) into *out; *out
 * NULL when r has none. */
static ps_status filters_query(psi_ctx *ctx, const search_req *r,
                               ps_xquery **out, ps_err *err)
{
    *out = NULL;
    ps_xquery *all[NFILTERS + 2];
    size_t na = 0;
    ps_status rc = PS_OK;
    if (r->collection) {
        vterms t;
        rc = collection_terms(ctx, r->collection, &t, err);
        if (rc == PS_OK) {
            /* An empty collection matches nothing. */
            all[na] = t.n ? vt_query(&t) : ps_xq_term("XNONE");
            if (!all[na])
                rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
            else
                na++;
        }
        vt_free(&t);
        if (rc != PS_OK)
            return rc;
    }
    if (r->year_from != INT64_MIN || r->year_to != INT64_MAX) {
        rc = ps_xq_term_span(ps_index_xdb(ctx->idx), TERM_YEAR, r->year_from,
                             r->year_to, &all[na], err);
        if (rc == PS_OK)
            na++;
    }
    for (int f = 0; rc == PS_OK && f < NFILTERS; f++) {
        if (!r->nfv[f])
            continue;
        ps_xquery *vals[SEARCH_FILTER_VALUES_MAX];
        size_t nv = 0;
        for (size_t i = 0; rc == PS_OK && i < r->nfv[f]; i++) {
            rc = filter_value_query(ctx, f, r->fv[f][i], &vals[nv], err);
            if (rc == PS_OK)
                nv++;
        }
        if (rc != PS_OK) {
            for (size_t i = 0; i < nv; i++)
                ps_xq_free(vals[i]);
            break;
        }
        all[na] = ps_xq_or(vals, nv);
        if (!all[na])
            rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        else
            na++;
    }
    if (rc != PS_OK) {
        for (size_t i = 0; i < na; i++)
            ps_xq_free(all[i]);
        return rc;
    }
    if (!na)
        return PS_OK;
    *out = ps_xq_and(all, na);
    return *out ? PS_OK : ps_err_set(err, PS_ERR_NOMEM, "out of memory");
}

/* The documents r's filters and kinds leave among what the public may
 * see, as a bitmap over g (no words: browsing). */
static ps_status filters_bits(psi_ctx *ctx, const psi_fgen *g,
                              const search_req *r, uint64_t *bits, ps_err *err)
{
    ps_xdb *db = ps_index_xdb(ctx->idx);
    int any = 0;
    for (size_t i = 0; i < NKINDS; i++)
        if (r->kinds[i]) {
            any = 1;
            psi_bits_or(g, bits,
                        g->kinds[psi_fgen_kind_slot(search_kinds[i].kind)]);
        }
    for (int k = 0; !any && k < PSI_FGEN_NKINDS; k++)
        psi_bits_or(g, bits, g->kinds[k]);
    psi_bits_and(g, bits, g->visible);
    if (r->year_from != INT64_MIN || r->year_to != INT64_MAX)
        psi_bits_year_range(g, bits, r->year_from, r->year_to);
    uint64_t *one = NULL;
    ps_status rc = PS_OK;
    if (r->collection) {
        vterms t;
        one = psi_bits_new(g);
        rc = one ? collection_terms(ctx, r->collection, &t, err)
                 : ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        if (rc == PS_OK)
            rc = vt_bits(db, g, &t, one, err);
        if (one)
            vt_free(&t);
        if (rc == PS_OK)
            psi_bits_and(g, bits, one);
    }
    for (int f = 0; rc == PS_OK && f < NFILTERS; f++) {
        if (!r->nfv[f])
            continue;
        if (!one)
            one = psi_bits_new(g);
        else
            memset(one, 0, g->nwords * sizeof *one);
        if (!one)
            return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        for (size_t i = 0; rc == PS_OK && i < r->nfv[f]; i++) {
            vterms t;
            rc = value_terms(ctx, f, r->fv[f][i], &t, err);
            if (rc == PS_OK)
                rc = vt_bits(db, g, &t, one, err);
            vt_free(&t);
        }
        psi_bits_and(g, bits, one);
    }
    ps_free(one);
    return rc;
}

/* The query of r, over the kinds asked for, among what the public may see
 * now. NULL with err filled (PS_ERR_INVALID: the client's, nothing to
 * search for). */
static ps_xquery *build_query(psi_ctx *ctx, const search_req *r, ps_err *err)
{
    ps_xdb *db = ps_index_xdb(ctx->idx);
    ps_xquery *words = NULL, *boost = NULL;
    if (!r->qs) /* browsing: every record, filtered */
        words = ps_xq_all();
    else if (node_query(db, r->qs, r->qs->root, "", &words, err) != PS_OK)
        return NULL;
    if (!words) {
        ps_err_set(err, PS_ERR_INVALID, "no word to search for");
        return NULL;
    }
    /* The same query in the titles adds weight to the documents that
     * match there too: it ranks, it does not filter. */
    if (r->qs && node_query(db, r->qs, r->qs->root, PS_IDX_TEXT_TITLE, &boost,
                            err) != PS_OK) {
        ps_xq_free(words);
        return NULL;
    }
    if (boost)
        words = ps_xq_and_maybe(words, boost, SEARCH_TITLE_BOOST);
    if (!words) {
        ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        return NULL;
    }
    ps_xquery *kinds[NKINDS];
    size_t n = 0;
    for (size_t i = 0; i < NKINDS; i++) {
        if (!r->kinds[i])
            continue;
        char t[32];
        snprintf(t, sizeof t, "%s%s", PS_IDX_TERM_KIND,
                 ps_kind_name(search_kinds[i].kind));
        kinds[n++] = ps_xq_term(t);
    }
    /* No type: every kind the index holds, which are the kinds above. */
    ps_xquery *scope[2] = {ps_index_visible_query(ps_now_ms()),
                           n ? ps_xq_or(kinds, n) : ps_xq_all()};
    ps_xquery *filters = NULL;
    if (filters_query(ctx, r, &filters, err) != PS_OK) {
        ps_xq_free(words);
        ps_xq_free(scope[0]);
        ps_xq_free(scope[1]);
        return NULL;
    }
    ps_xquery *q = ps_xq_filter(words, ps_xq_and(scope, 2));
    if (filters)
        q = ps_xq_filter(q, filters);
    if (!q)
        ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    return q;
}

/* ---- answers -------------------------------------------------------------
 */

/* The year of a record, when it has one: a publication's year, else the
 * year of a proposal's start or a dataset's creation. 0 if none. */
static int64_t year_of(const json_t *ent)
{
    json_t *y = json_object_get(ent, "year");
    if (json_is_integer(y))
        return json_integer_value(y);
    static const char *const dates[] = {"start", "created"};
    for (size_t i = 0; i < 2; i++) {
        json_t *d = json_object_get(ent, dates[i]);
        if (json_is_integer(d)) {
            char buf[PS_TIME_BUFSZ];
            int64_t year = 0;
            ps_time_format(json_integer_value(d), buf)[4] = '\0';
            if (ps_parse_i64(buf, &year) == 0)
                return year;
        }
    }
    return 0;
}

/* Add snippets[key], a snippet of the string member src of ent, if the
 * query matches in it. */
static ps_status add_snippet(const ps_xresult *res, json_t *snippets,
                             const char *key, const json_t *ent,
                             const char *src, ps_err *err)
{
    json_t *v = json_object_get(ent, src);
    if (!json_is_string(v) || !json_string_length(v))
        return PS_OK;
    ps_xsnippet_opts so = PS_XSNIPPET_OPTS_INIT;
    char *s = NULL;
    const char *text = json_string_value(v);
    size_t len = json_string_length(v);
    /* What the index holds of it: the first PS_IDX_TEXT_MAX bytes, cut
     * before a character's continuation bytes. */
    if (len > PS_IDX_TEXT_MAX) {
        len = PS_IDX_TEXT_MAX;
        while (len && ((unsigned char)text[len] & 0xC0) == 0x80)
            len--;
    }
    so.exhaustive = len <= SEARCH_SNIPPET_BEST_MAX;
    ps_status rc = ps_xresult_snippet(res, text, len, &so, &s, err);
    if (rc != PS_OK)
        return rc;
    /* "" means the words are not in this field. The text is the store's
     * (valid UTF-8, or json_string fails and the snippet is left out). */
    if (s[0])
        json_object_set_new(snippets, key, json_string(s));
    ps_free(s);
    return PS_OK;
}

/* The API path of a record's PaN JSON ("Documents/<pid>"), pid
 * percent-encoded; NULL when out of memory. */
static char *record_path(ps_kind kind, const char *pid)
{
    const char *model = kind == PS_KIND_DATASET      ? "Datasets"
                        : kind == PS_KIND_INSTRUMENT ? "Instruments"
                                                     : "Documents";
    char *enc = ps_pct_encode(pid ? pid : "");
    char *path = enc ? ps_asprintf("%s/%s", model, enc) : NULL;
    ps_free(enc);
    return path;
}

/* A result's people, institutions and instruments from the store's
 * members and instruments (at most SEARCH_HIT_LIST_MAX of each). */
#define SEARCH_HIT_LIST_MAX 50
static void add_hit_lists(json_t *o, const json_t *ent)
{
    json_t *authors = json_array(), *insts = json_array(),
           *instr = json_array();
    size_t i;
    json_t *m;
    json_array_foreach (json_object_get(ent, "members"), i, m) {
        const json_t *p = json_object_get(m, "person");
        const json_t *in = json_object_get(m, "institution");
        if (p && json_array_size(authors) < SEARCH_HIT_LIST_MAX) {
            json_t *a = json_object();
            json_object_set(a, "pid", json_object_get(p, "pid"));
            json_object_set(a, "name", json_object_get(p, "full_name"));
            if (json_is_string(json_object_get(p, "orcid")))
                json_object_set(a, "orcid", json_object_get(p, "orcid"));
            json_object_set_new(a, "role",
                                json_string(ps_json_str(m, "role")
                                                ? ps_json_str(m, "role")
                                                : ""));
            json_array_append_new(authors, a);
        }
        const char *ipid = ps_json_str(in, "pid");
        int seen = !ipid;
        size_t j;
        json_t *x;
        json_array_foreach (insts, j, x)
            seen = seen || strcmp(ps_json_str(x, "pid"), ipid) == 0;
        if (!seen && json_array_size(insts) < SEARCH_HIT_LIST_MAX) {
            json_t *a = json_object();
            json_object_set(a, "pid", json_object_get(in, "pid"));
            json_object_set(a, "name", json_object_get(in, "name"));
            if (json_is_string(json_object_get(in, "country")))
                json_object_set(a, "country", json_object_get(in, "country"));
            json_array_append_new(insts, a);
        }
    }
    json_array_foreach (json_object_get(ent, "instruments"), i, m) {
        if (json_array_size(instr) >= SEARCH_HIT_LIST_MAX)
            break;
        json_array_append_new(
            instr, json_pack("{s:O, s:O}", "pid", json_object_get(m, "pid"),
                             "name", json_object_get(m, "name")));
    }
    const json_t *one = json_object_get(ent, "instrument");
    if (json_is_string(json_object_get(one, "pid")))
        json_array_append_new(
            instr, json_pack("{s:O, s:O}", "pid", json_object_get(one, "pid"),
                             "name", json_object_get(one, "name")));
    if (json_array_size(authors))
        json_object_set(o, "authors", authors);
    if (json_array_size(insts))
        json_object_set(o, "institutions", insts);
    if (json_array_size(instr))
        json_object_set(o, "instruments", instr);
    json_decref(authors);
    json_decref(insts);
    json_decref(instr);
}

/* The answer's entry for the index document with data (its record
 * reference), or NULL (and PS_OK) when the record is no longer there or
 * not visible (the index is a moment behind the store). res: the match
 * set, for snippets (NULL: none); weight: its score (NAN: none). */
static ps_status render_hit(psi_ctx *ctx, const ps_xresult *res,
                            const char *data, double weight, const char *api,
                            json_t **out, ps_err *err)
{
    *out = NULL;
    ps_kind kind;
    int64_t id;
    if (ps_index_hit_ref(data, &kind, &id) != 0)
        return ps_err_set(err, PS_ERR_CORRUPT,
                          "an index document has no record reference");
    unsigned flags = 0;
    if (kind == PS_KIND_PUBLICATION || kind == PS_KIND_PROPOSAL)
        flags = PS_LOAD_MEMBERS | PS_LOAD_INSTRUMENTS;
    if (kind == PS_KIND_PUBLICATION && res)
        flags |= PS_LOAD_TEXT;
    json_t *ent = NULL;
    ps_status rc = ps_store_load(ctx->st, kind, id, flags, &ent, err);
    if (rc == PS_ERR_NOTFOUND) {
        ps_err_clear(err);
        return PS_OK;
    }
    if (rc != PS_OK)
        return rc;
    if (!psi_visible(ent, ps_now_ms())) {
        json_decref(ent);
        return PS_OK;
    }
    const char *title_key = kind == PS_KIND_INSTRUMENT ? "name" : "title";
    json_t *o = json_object();
    json_t *snippets = json_object();
    char *path = record_path(kind, ps_json_str(ent, "pid"));
    if (!o || !snippets || !path) {
        json_decref(o);
        json_decref(snippets);
        json_decref(ent);
        ps_free(path);
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    json_object_set_new(o, "kind", json_string(ps_kind_name(kind)));
    json_object_set(o, "pid", json_object_get(ent, "pid"));
    json_t *title = json_object_get(ent, title_key);
    if (json_is_string(title))
        json_object_set(o, "title", title);
    /* What a result list shows, where the record has it. */
    static const struct {
        const char *from, *to;
    } copied[] = {
        {"doi", "doi"},           {"code", "code"},
        {"status", "status"},     {"type", "doctype"},
        {"journal", "journal"},   {"citation_count", "citations"},
        {"keywords", "keywords"}, {"url", "url"},
        {"facility", "facility"}, {"size", "size"},
    };
    for (size_t i = 0; i < sizeof copied / sizeof copied[0]; i++) {
        json_t *v = json_object_get(ent, copied[i].from);
        if (v && !json_is_null(v) && !(json_is_array(v) && !json_array_size(v)))
            json_object_set(o, copied[i].to, v);
    }
    static const char *const dates[] = {"start", "end", "created", "release"};
    for (size_t i = 0; i < sizeof dates / sizeof dates[0]; i++) {
        json_t *d = json_object_get(ent, dates[i]);
        char when[PS_TIME_BUFSZ];
        if (json_is_integer(d))
            json_object_set_new(
                o, dates[i],
                json_string(ps_time_format(json_integer_value(d), when)));
    }
    int64_t year = year_of(ent);
    if (year)
        json_object_set_new(o, "year", json_integer(year));
    add_hit_lists(o, ent);
    char *json_url = ps_asprintf("%s/%s", api, path);
    if (json_url)
        json_object_set_new(o, "json", json_string(json_url));
    ps_free(json_url);
    ps_free(path);
    if (!isnan(weight))
        json_object_set_new(o, "score", json_real(weight));
    if (res) {
        rc = add_snippet(res, snippets, "title", ent, title_key, err);
        if (rc == PS_OK && kind != PS_KIND_INSTRUMENT)
            rc = add_snippet(
                res, snippets, "abstract", ent,
                kind == PS_KIND_DATASET ? "description" : "summary", err);
        if (rc == PS_OK && kind == PS_KIND_PUBLICATION)
            rc = add_snippet(res, snippets, "text", ent, "full_text", err);
    }
    json_object_set_new(o, "snippets", snippets);
    json_decref(ent);
    if (rc != PS_OK) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return PS_OK;
}

/* PS_ERR_TIMEOUT (a 503) once the request's deadline has passed. */
static ps_status check_deadline(const psi_ctx *ctx, ps_err *err)
{
    if (!ctx->deadline_ns || ps_mono_ns() < ctx->deadline_ns)
        return PS_OK;
    return ps_err_set(err, PS_ERR_TIMEOUT,
                      "the search ran longer than %ld ms and was stopped; "
                      "ask for fewer results (limit)",
                      ctx->timeout_ms);
}

/* The match set of r as a bitmap over g: with words, the docids of the
 * whole query (Xapian's matcher); without, the filters' postings (facets.c). */
static ps_status match_bits(psi_ctx *ctx, const psi_fgen *g,
                            const search_req *r, uint64_t **out, ps_err *err)
{
    *out = psi_bits_new(g);
    if (!*out)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    if (!r->qs)
        return filters_bits(ctx, g, r, *out, err);
    ps_xquery *q = build_query(ctx, r, err);
    if (!q)
        return err->code;
    uint32_t *ids = NULL;
    size_t n = 0;
    ps_status rc =
        ps_xdb_match_docids(ps_index_xdb(ctx->idx), q, &ids, &n, err);
    ps_xq_free(q);
    if (rc == PS_OK)
        psi_bits_from_docids(g, *out, ids, n);
    ps_free(ids);
    return rc;
}

/* One page of results, in r's order, into results. A browse by date or
 * citations is read off g (no matcher); the rest through Xapian's
 * matcher (words: ranked, with snippets). *count_out / *exact_out: the
 * matcher's count, when it ran. */
static ps_status page_results(psi_ctx *ctx, const psi_fgen *g,
                              const uint64_t *bits, const search_req *r,
                              const char *api, json_t *results,
                              uint64_t *count_out, int *exact_out, ps_err *err)
{
    ps_status rc;
    if (g && bits && !r->qs && r->sort != SORT_TITLE) {
        const double *key = r->sort == SORT_CITATIONS ? g->cites : g->date;
        uint32_t *ids = NULL;
        size_t n = 0;
        rc = psi_fgen_top_docs(g, bits, key, r->sort != SORT_DATE_ASC,
                               (size_t)(r->skip + r->limit), &ids, &n, err);
        if (rc == PS_OK)
            rc = ps_store_read_begin(ctx->st, err);
        for (size_t i = (size_t)r->skip; rc == PS_OK && i < n; i++) {
            char *data = NULL;
            json_t *hit = NULL;
            rc = check_deadline(ctx, err);
            if (rc == PS_OK)
                rc =
                    ps_xdb_doc_data(ps_index_xdb(ctx->idx), ids[i], &data, err);
            if (rc == PS_OK)
                rc = render_hit(ctx, NULL, data, NAN, api, &hit, err);
            ps_free(data);
            if (rc == PS_OK && hit)
                json_array_append_new(results, hit);
        }
        ps_store_read_end(ctx->st);
        ps_free(ids);
        return rc;
    }
    ps_xquery *q = build_query(ctx, r, err);
    if (!q)
        return err->code;
    ps_xsearch_opts o = PS_XSEARCH_OPTS_INIT;
    o.offset = (uint64_t)r->skip;
    o.count = (uint64_t)r->limit;
    o.check_at_least = (uint64_t)(r->skip + r->limit) > SEARCH_EXACT_COUNT
                           ? (uint64_t)(r->skip + r->limit)
                           : SEARCH_EXACT_COUNT;
    o.snippets = r->qs && !r->exporting;
    ps_xsort sort = {PS_IDX_SLOT_SORTDATE, 1};
    if (r->sort != SORT_RELEVANCE) {
        if (r->sort == SORT_DATE_ASC)
            sort.descending = 0;
        else if (r->sort == SORT_CITATIONS)
            sort.slot = PS_IDX_SLOT_CITATIONS;
        else if (r->sort == SORT_TITLE)
            sort = (ps_xsort){PS_IDX_SLOT_TITLE, 0};
        o.sort = &sort;
        o.nsort = 1;
    }
    ps_xresult res;
    rc = ps_xdb_search(ps_index_xdb(ctx->idx), q, &o, &res, err);
    ps_xq_free(q);
    if (rc != PS_OK)
        return rc;
    /* Every record of the page read from one state of the store. */
    rc = ps_store_read_begin(ctx->st, err);
    for (size_t i = 0; rc == PS_OK && i < res.n; i++) {
        json_t *hit = NULL;
        rc = check_deadline(ctx, err);
        if (rc == PS_OK)
            rc = render_hit(ctx, o.snippets ? &res : NULL, res.hits[i].data,
                            r->qs ? res.hits[i].weight : NAN, api, &hit, err);
        if (rc == PS_OK && hit)
            json_array_append_new(results, hit);
    }
    ps_store_read_end(ctx->st);
    *exact_out = res.matches_lower == res.matches_upper;
    *count_out = *exact_out ? res.matches_lower : res.matches_estimated;
    ps_xresult_free(&res);
    return rc;
}

/* Run the search and fill *out with the answer. PS_ERR_RETRY when the
 * index changed under the reader: refresh and run it again. *bad_q is set
 * when the failure is q's (a syntax error, nothing to search for). */
static ps_status run_search(psi_req *req, psi_ctx *ctx, const search_req *r,
                            int64_t t0, json_t **out, int *bad_q, ps_err *err)
{
    *out = NULL;
    *bad_q = 0;
    psi_fgen *g = NULL;
    uint64_t *bits = NULL;
    json_t *results = json_array(), *facets = NULL;
    ps_status rc =
        results ? PS_OK : ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    /* The whole match set, for exact counts and facets, and for browsing. */
    if (rc == PS_OK && (r->nfacets || !r->qs))
        rc = psi_fgen_get(req->srv, ctx, &g, err);
    if (rc == PS_OK && g)
        rc = match_bits(ctx, g, r, &bits, err);
    uint64_t count = 0;
    int exact = 1;
    if (rc == PS_OK)
        rc = page_results(ctx, g, bits, r, req->srv->api_prefix, results,
                          &count, &exact, err);
    if (rc == PS_OK && bits) {
        count = psi_bits_count(g, bits);
        exact = 1;
    }
    if (rc == PS_OK && g && r->nfacets)
        rc = psi_fgen_facets(g, bits, r->facets, (size_t)r->facet_limit,
                             &facets, err);
    ps_free(bits);
    psi_fgen_release(g);
    if (rc != PS_OK) {
        *bad_q = rc == PS_ERR_PARSE || rc == PS_ERR_INVALID;
        json_decref(results);
        json_decref(facets);
        return rc;
    }
    double took = (double)(ps_mono_ns() - t0) / 1e6;
    *out = json_pack("{s:I, s:b, s:f, s:o}", "count", (json_int_t)count,
                     "count_exact", exact, "took_ms", round(took * 1000) / 1000,
                     "results", results);
    if (*out && facets)
        json_object_set_new(*out, "facets", facets);
    else
        json_decref(facets);
    return *out ? PS_OK : ps_err_set(err, PS_ERR_NOMEM, "out of memory");
}

/* The result set of r as a file in r->format (format=): up to limit
 * records in r's order, without snippets or facets, into resp. */
static ps_status run_export(psi_req *req, psi_ctx *ctx, const search_req *r,
                            psi_resp *resp, ps_err *err)
{
    psi_fgen *g = NULL;
    uint64_t *bits = NULL;
    json_t *results = json_array();
    ps_status rc =
        results ? PS_OK : ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    if (rc == PS_OK && !r->qs)
        rc = psi_fgen_get(req->srv, ctx, &g, err);
    if (rc == PS_OK && g)
        rc = match_bits(ctx, g, r, &bits, err);
    uint64_t count = 0;
    int exact = 1;
    if (rc == PS_OK)
        rc = page_results(ctx, g, bits, r, req->srv->api_prefix, results,
                          &count, &exact, err);
    ps_free(bits);
    psi_fgen_release(g);
    ps_buf out;
    ps_buf_init(&out, SEARCH_EXPORT_BYTES_MAX);
    if (rc == PS_OK)
        rc = psi_export_begin(r->format, &out, err);
    for (size_t i = 0; rc == PS_OK && i < json_array_size(results); i++)
        rc = psi_export_record(r->format, json_array_get(results, i), i, &out,
                               err);
    if (rc == PS_OK)
        rc = psi_export_end(r->format, &out, err);
    json_decref(results);
    if (rc != PS_OK) {
        ps_buf_free(&out);
        return rc;
    }
    resp->body = out.data;
    resp->len = out.len;
    resp->content_type = psi_export_content_type(r->format);
    snprintf(
        resp->headers, sizeof resp->headers,
        "Content-Disposition: attachment; filename=\"pansift-search.%s\"\n",
        psi_export_extension(r->format));
    return PS_OK;
}

/* The answer to a failed search: a 400 for q's faults, else the error's
 * status. */
static int search_fail(psi_resp *resp, const search_req *r, ps_status rc,
                       int bad_q, ps_err *err)
{
    char msg_buf[sizeof err->msg + 4], q_buf[220];
    if (bad_q && rc == PS_ERR_PARSE) {
        /* Xapian says "QueryParserError: Syntax: <expression> AND
         * <expression>": the form it expected. */
        const char *msg =
            quote(err->msg, sizeof err->msg, 1, msg_buf, sizeof msg_buf);
        if (ps_str_startswith(msg, "QueryParserError: "))
            msg += strlen("QueryParserError: ");
        if (ps_str_startswith(msg, "Syntax: "))
            return psi_error(resp, 400, "INVALID_QUERY",
                             "q: syntax error: expected %s",
                             msg + strlen("Syntax: "));
        return psi_error(resp, 400, "INVALID_QUERY", "q: %s", msg);
    }
    if (bad_q)
        return psi_error(
            resp, 400, "INVALID_QUERY", "q: %s in \"%s\"",
            quote(err->msg, sizeof err->msg, 1, msg_buf, sizeof msg_buf),
            quote(r->q ? r->q : "", 200, 0, q_buf, sizeof q_buf));
    return psi_error_status(resp, err);
}

int psi_h_search(psi_req *req, psi_ctx *ctx, const psi_match *m, psi_resp *resp)
{
    (void)m;
    int64_t t0 = ps_mono_ns();
    search_req r;
    ps_qs *qs = ps_malloc(sizeof *qs);
    if (!qs)
        return psi_error(resp, 503, NULL, "out of memory");
    int st = parse_request(req, resp, qs, &r, 0);
    if (st) {
        ps_free(qs);
        return st;
    }
    ps_err err = PS_ERR_INIT;
    json_t *out = NULL;
    int bad_q = 0;
    ps_status rc = r.exporting
                       ? run_export(req, ctx, &r, resp, &err)
                       : run_search(req, ctx, &r, t0, &out, &bad_q, &err);
    if (rc == PS_ERR_RETRY || rc == PS_ERR_INDEX) {
        /* The index moved under the reader: once more on its latest
         * revision (as the PaN API does). */
        ps_err_clear(&err);
        if (ps_index_refresh(ctx->idx, NULL, &err) == PS_OK)
            rc = r.exporting ? run_export(req, ctx, &r, resp, &err)
                             : run_search(req, ctx, &r, t0, &out, &bad_q, &err);
    }
    if (rc != PS_OK && r.exporting)
        bad_q = rc == PS_ERR_PARSE || rc == PS_ERR_INVALID;
    if (rc != PS_OK)
        st = search_fail(resp, &r, rc, bad_q, &err);
    ps_free(qs);
    if (rc != PS_OK)
        return st;
    if (r.exporting)
        return 200;
    resp->json = out;
    return 200;
}

/* ---- the match set for analytics.c ----------------------------------------
 */

struct psi_search {
    search_req r;
    ps_qs qs;
};

int psi_search_parse(psi_req *req, psi_resp *resp, psi_search **out)
{
    *out = ps_malloc(sizeof **out);
    if (!*out)
        return psi_error(resp, 503, NULL, "out of memory");
    int st = parse_request(req, resp, &(*out)->qs, &(*out)->r, 1);
    if (st) {
        ps_free(*out);
        *out = NULL;
    }
    return st;
}

void psi_search_free(psi_search *s) { ps_free(s); }

int psi_search_match(psi_req *req, psi_ctx *ctx, psi_search *s, psi_resp *resp,
                     psi_fgen **g_out, uint64_t **bits_out)
{
    ps_err err = PS_ERR_INIT;
    ps_status rc = PS_OK;
    for (int attempt = 0; attempt < 2; attempt++) {
        *g_out = NULL;
        *bits_out = NULL;
        if (attempt) {
            /* The index moved under the reader: once more on its latest
             * revision. */
            ps_err_clear(&err);
            rc = ps_index_refresh(ctx->idx, NULL, &err);
            if (rc != PS_OK)
                break;
        }
        rc = psi_fgen_get(req->srv, ctx, g_out, &err);
        if (rc == PS_OK)
            rc = match_bits(ctx, *g_out, &s->r, bits_out, &err);
        if (rc == PS_OK)
            return 0;
        ps_free(*bits_out);
        psi_fgen_release(*g_out);
        *g_out = NULL;
        *bits_out = NULL;
        if (rc != PS_ERR_RETRY && rc != PS_ERR_INDEX)
            break;
    }
    return search_fail(resp, &s->r, rc,
                       rc == PS_ERR_PARSE || rc == PS_ERR_INVALID, &err);
}
