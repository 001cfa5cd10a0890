/*
 * facets.c: exact facet counts and in-memory browsing over one generation
 * of the index (docs/facets.md). A generation is what one revision of the
 * index holds, read once into compact arrays: for each facet (years, kinds,
 * statuses, document types, facilities, instruments, techniques,
 * institutions, countries, authors, keywords, journals) a docid -> value-ids
 * table (ps_xdb_facet_table) with the values' display names from the store;
 * a bitmap per kind and one of what the public may see; per document its
 * year, sort date, size and citation count. With it a search counts its
 * facets over the whole match set in a few nanoseconds per document and
 * value, and a browse without words (filters only) is answered without
 * Xapian's matcher: the filters' postings are ORed and ANDed as bitmaps and
 * the page is the top of the matches by date or citations.
 *
 * The server keeps the latest generation (psi_fcache); a request takes a
 * reference to the one its index reader sees, and the first request that
 * finds it missing or older builds it (others wait for that build rather
 * than build it twice). Embargoes end with time, not with a revision: a
 * generation's bitmap of visible documents is recomputed after
 * PSI_FGEN_VISIBLE_TTL_MS, and what it misses meanwhile (records whose
 * embargo ended since) is only missing from counts, never shown early.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "query-private.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Values read per facet (the most distinct values a facet may have). */
#define FGEN_VALUES_MAX 4000000u
/* How long a generation's visible bitmap is trusted. */
#define PSI_FGEN_VISIBLE_TTL_MS 60000

const psi_facet_def psi_facets[PSI_NFACETS] = {
    {"year", "XY:", NULL},
    {"type", PS_IDX_TERM_KIND, NULL},
    {"status", "XST:", NULL},
    {"doctype", "XTY:", NULL},
    {"facility", "XF:", NULL},
    {"instrument", "XI:", "instrument"},
    {"technique", "XTE:", "technique"},
    {"institution", "XO:", "institution"},
    {"country", "XCO:", NULL},
    {"author", "XA:", "person"},
    {"keyword", "XKW:", NULL},
    {"journal", "XJ:", NULL},
};

int psi_facet_find(const char *name, size_t len)
{
    for (int f = 0; name && f < PSI_NFACETS; f++)
        if (strlen(psi_facets[f].name) == len &&
            strncmp(psi_facets[f].name, name, len) == 0)
            return f;
    return -1;
}

struct psi_fcache {
    pthread_mutex_t lock;
    pthread_cond_t built;
    int building;
    psi_fgen *cur;
};

static void fgen_free(psi_fgen *g)
{
    if (!g)
        return;
    /* Before the tables, which say how many values there are. */
    for (size_t v = 0;
         g->inst_country && v < g->tab[PSI_F_INSTITUTION]->nvalues; v++)
        ps_free(g->inst_country[v]);
    ps_free(g->inst_country);
    for (int f = 0; f < PSI_NFACETS; f++) {
        if (g->labels[f] && g->tab[f])
            for (size_t v = 0; v < g->tab[f]->nvalues; v++)
                ps_free(g->labels[f][v]);
        ps_free(g->labels[f]);
        ps_xfacet_table_free(g->tab[f]);
    }
    for (int i = 0; i < PSI_FGEN_NEXTRA; i++)
        ps_xfacet_table_free(g->extra[i]);
    for (int f = 0; f < PSI_NFACETS + PSI_FGEN_NEXTRA; f++) {
        ps_free(g->inv_off[f]);
        ps_free(g->inv_docs[f]);
    }
    for (int k = 0; k < PSI_FGEN_NKINDS; k++) {
        ps_free(g->kinds[k]);
        for (int f = 0; f < PSI_NFACETS; f++)
            ps_free(g->base_counts[k][f]);
    }
    ps_free(g->visible);
    ps_free(g->year);
    ps_free(g->date);
    ps_free(g->size);
    ps_free(g->cites);
    ps_free(g);
}

void psi_fgen_release(psi_fgen *g)
{
    if (g && atomic_fetch_sub(&g->refs, 1) == 1)
        fgen_free(g);
}

ps_status psi_fcache_new(psi_fcache **out, ps_err *err)
{
    psi_fcache *c = ps_calloc(1, sizeof *c);
    if (!c)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->built, NULL);
    *out = c;
    return PS_OK;
}

void psi_fcache_free(psi_fcache *c)
{
    if (!c)
        return;
    psi_fgen_release(c->cur);
    pthread_cond_destroy(&c->built);
    pthread_mutex_destroy(&c->lock);
    ps_free(c);
}

/* ---- building a generation ----------------------------------------------- */

ps_kind psi_fgen_kinds[PSI_FGEN_NKINDS] = {
    PS_KIND_DATASET, PS_KIND_PROPOSAL, PS_KIND_PUBLICATION, PS_KIND_INSTRUMENT};

int psi_fgen_kind_slot(ps_kind kind)
{
    for (int k = 0; k < PSI_FGEN_NKINDS; k++)
        if (psi_fgen_kinds[k] == kind)
            return k;
    return -1;
}

static int cmp_name(const void *key, const void *elem)
{
    return strcmp((const char *)key, *(char *const *)elem);
}

/* The value id of name in facet table t, or -1. Names are in term order,
 * which is byte order. */
int64_t psi_fgen_value(const psi_fgen *g, int f, const char *name)
{
    const ps_xfacet_table *t = g->tab[f];
    if (!t || !t->nvalues || !name)
        return -1;
    char *const *hit =
        bsearch(name, t->names, t->nvalues, sizeof *t->names, cmp_name);
    return hit ? (int64_t)(hit - t->names) : -1;
}

struct label_walk {
    psi_fgen *g;
    int f;
    char **dest; /* per value of facet f */
    int nomem;
};

static void on_label(void *arg, const char *pid, const char *name)
{
    struct label_walk *w = arg;
    int64_t v = psi_fgen_value(w->g, w->f, pid);
    if (v < 0 || w->dest[v])
        return;
    w->dest[v] = ps_strdup(name);
    if (!w->dest[v])
        w->nomem = 1;
}

/* The year a value of the year facet names; 0 if it is not one. */
int16_t psi_year_of_name(const char *name)
{
    int64_t y;
    if (ps_parse_i64(name, &y) != 0 || y < 1 || y > 9999)
        return 0;
    return (int16_t)y;
}

static ps_status set_visible(psi_fgen *g, ps_xdb *db, ps_err *err)
{
    ps_xquery *q = ps_index_visible_query(ps_now_ms());
    if (!q)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    uint32_t *ids = NULL;
    size_t n = 0;
    ps_status rc = ps_xdb_match_docids(db, q, &ids, &n, err);
    ps_xq_free(q);
    if (rc != PS_OK)
        return rc;
    memset(g->visible, 0, g->nwords * sizeof *g->visible);
    for (size_t i = 0; i < n; i++)
        if (ids[i] < g->ndocs)
            g->visible[ids[i] >> 6] |= UINT64_C(1) << (ids[i] & 63);
    ps_free(ids);
    g->visible_ms = ps_now_ms();
    return PS_OK;
}

/* counts[f][v] += sign * weight[d] (1 without weights; documents whose
 * weight is NAN left out) for every value v of every facet f with which[f]
 * of the documents d of bits: one pass over the set for all of them. */
static void count_all(const psi_fgen *g, const uint64_t *bits, const int *which,
                      double *const *counts, const double *weight, double sign)
{
    const ps_xfacet_table *tabs[PSI_NFACETS];
    double *cs[PSI_NFACETS];
    int nf = 0;
    for (int f = 0; f < PSI_NFACETS; f++)
        if (which[f]) {
            tabs[nf] = g->tab[f];
            cs[nf++] = counts[f];
        }
    for (size_t w = 0; w < g->nwords; w++) {
        uint64_t x = bits[w];
        while (x) {
            size_t d = w * 64 + (size_t)__builtin_ctzll(x);
            x &= x - 1;
            double by = weight ? sign * weight[d] : sign;
            if (isnan(by))
                continue;
            for (int k = 0; k < nf; k++) {
                const ps_xfacet_table *t = tabs[k];
                if (d >= t->ndocs)
                    continue;
                for (uint32_t i = t->offsets[d]; i < t->offsets[d + 1]; i++)
                    cs[k][t->values[i]] += by;
            }
        }
    }
}

/* Table f's value -> docids lists (docids ascending), from its
 * docid -> values table: a filter's documents without Xapian's postings. */
static ps_status set_inverse(psi_fgen *g, int f, ps_err *err)
{
    const ps_xfacet_table *t = psi_fgen_table(g, f);
    size_t nv = t->nvalues, np = t->offsets[t->ndocs];
    uint32_t *off = ps_calloc(nv + 1, sizeof *off);
    uint32_t *docs = ps_malloc((np ? np : 1) * sizeof *docs);
    uint32_t *fill = ps_malloc((nv ? nv : 1) * sizeof *fill);
    if (!off || !docs || !fill) {
        ps_free(off);
        ps_free(docs);
        ps_free(fill);
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < np; i++)
        off[t->values[i] + 1]++;
    for (size_t v = 0; v < nv; v++)
        off[v + 1] += off[v];
    memcpy(fill, off, nv * sizeof *fill);
    for (size_t d = 0; d < t->ndocs; d++)
        for (uint32_t i = t->offsets[d]; i < t->offsets[d + 1]; i++)
            docs[fill[t->values[i]]++] = (uint32_t)d;
    ps_free(fill);
    g->inv_off[f] = off;
    g->inv_docs[f] = docs;
    return PS_OK;
}

const ps_xfacet_table *psi_fgen_table(const psi_fgen *g, int f)
{
    return f < PSI_NFACETS ? g->tab[f] : g->extra[f - PSI_NFACETS];
}

int psi_fgen_term_bits(const psi_fgen *g, const char *term, uint64_t *bits)
{
    static const char *const extra_prefixes[PSI_FGEN_NEXTRA] = {"XTP:", "XTN:"};
    for (int f = 0; f < PSI_NFACETS + PSI_FGEN_NEXTRA; f++) {
        const char *prefix = f < PSI_NFACETS ? psi_facets[f].prefix
                                             : extra_prefixes[f - PSI_NFACETS];
        size_t pl = strlen(prefix);
        if (strncmp(term, prefix, pl) != 0)
            continue;
        const ps_xfacet_table *t = psi_fgen_table(g, f);
        char *const *hit = t->nvalues ? bsearch(term + pl, t->names, t->nvalues,
                                                sizeof *t->names, cmp_name)
                                      : NULL;
        if (!hit)
            return 1; /* no document has it */
        size_t v = (size_t)(hit - t->names);
        for (uint32_t i = g->inv_off[f][v]; i < g->inv_off[f][v + 1]; i++) {
            uint32_t d = g->inv_docs[f][i];
            bits[d >> 6] |= UINT64_C(1) << (d & 63);
        }
        return 1;
    }
    return 0;
}

/* Every facet's counts over what the public may see of each kind. */
static ps_status set_base_counts(psi_fgen *g, ps_err *err)
{
    int all[PSI_NFACETS];
    for (int f = 0; f < PSI_NFACETS; f++)
        all[f] = 1;
    uint64_t *set = psi_bits_new(g);
    if (!set)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    for (int k = 0; k < PSI_FGEN_NKINDS; k++) {
        for (int f = 0; f < PSI_NFACETS; f++) {
            size_t nv = g->tab[f]->nvalues;
            g->base_counts[k][f] = ps_calloc(nv ? nv : 1, sizeof(double));
            if (!g->base_counts[k][f]) {
                ps_free(set);
                return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
            }
        }
        for (size_t w = 0; w < g->nwords; w++)
            set[w] = g->kinds[k][w] & g->visible[w];
        count_all(g, set, all, g->base_counts[k], NULL, 1);
        for (int f = 0; f < PSI_NFACETS; f++)
            for (size_t v = 0; !g->has_values[k][f] && v < g->tab[f]->nvalues;
                 v++)
                g->has_values[k][f] = g->base_counts[k][f][v] > 0;
    }
    ps_free(set);
    return PS_OK;
}

static ps_status fgen_build(ps_xdb *db, ps_store *st, const char *ident,
                            psi_fgen **out, ps_err *err)
{
    psi_fgen *g = ps_calloc(1, sizeof *g);
    if (!g)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    atomic_init(&g->refs, 1);
    snprintf(g->ident, sizeof g->ident, "%s", ident);
    int64_t t0 = ps_mono_ns();
    ps_status rc = PS_OK;
    for (int f = 0; rc == PS_OK && f < PSI_NFACETS; f++)
        rc = ps_xdb_facet_table(db, psi_facets[f].prefix, FGEN_VALUES_MAX,
                                &g->tab[f], err);
    static const char *const extra_prefixes[PSI_FGEN_NEXTRA] = {"XTP:", "XTN:"};
    for (int i = 0; rc == PS_OK && i < PSI_FGEN_NEXTRA; i++)
        rc = ps_xdb_facet_table(db, extra_prefixes[i], FGEN_VALUES_MAX,
                                &g->extra[i], err);
    if (rc != PS_OK) {
        fgen_free(g);
        return rc;
    }
    g->ndocs = g->tab[0]->ndocs;
    g->nwords = (g->ndocs + 63) / 64;
    g->visible = ps_calloc(g->nwords ? g->nwords : 1, sizeof *g->visible);
    g->year = ps_calloc(g->ndocs ? g->ndocs : 1, sizeof *g->year);
    g->date = ps_malloc((g->ndocs ? g->ndocs : 1) * sizeof *g->date);
    g->size = ps_malloc((g->ndocs ? g->ndocs : 1) * sizeof *g->size);
    g->cites = ps_malloc((g->ndocs ? g->ndocs : 1) * sizeof *g->cites);
    int ok = g->visible && g->year && g->date && g->size && g->cites;
    for (int k = 0; ok && k < PSI_FGEN_NKINDS; k++) {
        g->kinds[k] = ps_calloc(g->nwords ? g->nwords : 1, sizeof *g->kinds[k]);
        ok = g->kinds[k] != NULL;
    }
    for (int f = 0; ok && f < PSI_NFACETS; f++) {
        g->labels[f] = ps_calloc(g->tab[f]->nvalues ? g->tab[f]->nvalues : 1,
                                 sizeof *g->labels[f]);
        ok = g->labels[f] != NULL;
    }
    if (!ok) {
        fgen_free(g);
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    /* Kinds as bitmaps, years as numbers. */
    const ps_xfacet_table *kt = g->tab[PSI_F_TYPE];
    for (size_t v = 0; v < kt->nvalues; v++) {
        int k = psi_fgen_kind_slot(ps_kind_parse(kt->names[v]));
        if (k < 0)
            continue;
        for (size_t d = 0; d < kt->ndocs && d < g->ndocs; d++)
            for (uint32_t i = kt->offsets[d]; i < kt->offsets[d + 1]; i++)
                if (kt->values[i] == v)
                    g->kinds[k][d >> 6] |= UINT64_C(1) << (d & 63);
    }
    const ps_xfacet_table *yt = g->tab[PSI_F_YEAR];
    for (size_t d = 0; d < yt->ndocs && d < g->ndocs; d++)
        if (yt->offsets[d] < yt->offsets[d + 1])
            g->year[d] =
                psi_year_of_name(yt->names[yt->values[yt->offsets[d]]]);
    rc = ps_xdb_value_array(db, PS_IDX_SLOT_SORTDATE, g->date, g->ndocs, err);
    if (rc == PS_OK)
        rc = ps_xdb_value_array(db, PS_IDX_SLOT_SIZE, g->size, g->ndocs, err);
    if (rc == PS_OK)
        rc = ps_xdb_value_array(db, PS_IDX_SLOT_CITATIONS, g->cites, g->ndocs,
                                err);
    if (rc == PS_OK)
        rc = set_visible(g, db, err);
    if (rc == PS_OK)
        rc = set_base_counts(g, err);
    for (int f = 0; rc == PS_OK && f < PSI_NFACETS + PSI_FGEN_NEXTRA; f++)
        rc = set_inverse(g, f, err);
    uint64_t embargoed = 0;
    if (rc == PS_OK)
        rc = ps_xdb_termfreq(db, PS_IDX_TERM_VIS "embargoed", &embargoed, err);
    g->embargoed = embargoed > 0;
    /* Display names of pids and IRIs. */
    for (int f = 0; rc == PS_OK && f < PSI_NFACETS; f++) {
        if (!psi_facets[f].names)
            continue;
        struct label_walk w = {g, f, g->labels[f], 0};
        rc = ps_store_names(st, psi_facets[f].names, on_label, &w, err);
        if (rc == PS_OK && w.nomem)
            rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    /* Institutions' own countries. */
    size_t ni = g->tab[PSI_F_INSTITUTION]->nvalues;
    if (rc == PS_OK) {
        g->inst_country = ps_calloc(ni ? ni : 1, sizeof *g->inst_country);
        if (!g->inst_country)
            rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    if (rc == PS_OK) {
        struct label_walk w = {g, PSI_F_INSTITUTION, g->inst_country, 0};
        rc = ps_store_names(st, "institution-country", on_label, &w, err);
        if (rc == PS_OK && w.nomem)
            rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    if (rc != PS_OK) {
        fgen_free(g);
        return rc;
    }
    g->build_ms = (double)(ps_mono_ns() - t0) / 1e6;
    *out = g;
    return PS_OK;
}

ps_status psi_fgen_get(ps_server *srv, psi_ctx *ctx, psi_fgen **out,
                       ps_err *err)
{
    *out = NULL;
    psi_fcache *c = srv->fcache;
    char ident[sizeof((psi_fgen *)0)->ident];
    ps_status rc =
        ps_xdb_identity(ps_index_xdb(ctx->idx), ident, sizeof ident, err);
    if (rc != PS_OK)
        return rc;
    pthread_mutex_lock(&c->lock);
    /* Wait for a build in progress unless the generation is already ours. */
    while (c->building && !(c->cur && strcmp(c->cur->ident, ident) == 0))
        pthread_cond_wait(&c->built, &c->lock);
    psi_fgen *g = c->cur;
    /* Ours, unless missing, of another revision, or (while records are
     * embargoed) old enough that an embargo may have ended since. */
    int fresh = g && strcmp(g->ident, ident) == 0 &&
                !(g->embargoed &&
                  ps_now_ms() - g->visible_ms > PSI_FGEN_VISIBLE_TTL_MS);
    if (!fresh) {
        /* Build a new one; requests in progress keep the old. */
        c->building = 1;
        pthread_mutex_unlock(&c->lock);
        psi_fgen *n = NULL;
        rc = fgen_build(ps_index_xdb(ctx->idx), ctx->st, ident, &n, err);
        pthread_mutex_lock(&c->lock);
        c->building = 0;
        if (rc == PS_OK) {
            psi_fgen_release(c->cur);
            c->cur = n;
        }
        pthread_cond_broadcast(&c->built);
        g = n;
    }
    if (g)
        atomic_fetch_add(&g->refs, 1);
    pthread_mutex_unlock(&c->lock);
    *out = g;
    return rc;
}

/* ---- sets of documents --------------------------------------------------- */

uint64_t *psi_bits_new(const psi_fgen *g)
{
    return ps_calloc(g->nwords ? g->nwords : 1, sizeof(uint64_t));
}

uint64_t psi_bits_count(const psi_fgen *g, const uint64_t *bits)
{
    uint64_t n = 0;
    for (size_t i = 0; i < g->nwords; i++)
        n += (uint64_t)__builtin_popcountll(bits[i]);
    return n;
}

void psi_bits_and(const psi_fgen *g, uint64_t *a, const uint64_t *b)
{
    for (size_t i = 0; i < g->nwords; i++)
        a[i] &= b[i];
}

void psi_bits_or(const psi_fgen *g, uint64_t *a, const uint64_t *b)
{
    for (size_t i = 0; i < g->nwords; i++)
        a[i] |= b[i];
}

void psi_bits_from_docids(const psi_fgen *g, uint64_t *bits,
                          const uint32_t *ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] < g->ndocs)
            bits[ids[i] >> 6] |= UINT64_C(1) << (ids[i] & 63);
}

ps_status psi_bits_year_range(const psi_fgen *g, uint64_t *bits, int64_t lo,
                              int64_t hi, ps_err *err)
{
    /* The documents of the years in range, from the year lists. */
    uint64_t *years = psi_bits_new(g);
    if (!years)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    const ps_xfacet_table *t = g->tab[PSI_F_YEAR];
    for (size_t v = 0; v < t->nvalues; v++) {
        int64_t y = psi_year_of_name(t->names[v]);
        if (!y || y < lo || y > hi)
            continue;
        for (uint32_t i = g->inv_off[PSI_F_YEAR][v];
             i < g->inv_off[PSI_F_YEAR][v + 1]; i++) {
            uint32_t d = g->inv_docs[PSI_F_YEAR][i];
            years[d >> 6] |= UINT64_C(1) << (d & 63);
        }
    }
    psi_bits_and(g, bits, years);
    ps_free(years);
    return PS_OK;
}

/* ---- counting ------------------------------------------------------------ */

ps_status psi_fgen_count(const psi_fgen *g, int f, const uint64_t *bits,
                         const double *weight, double *counts)
{
    int which[PSI_NFACETS] = {0};
    double *cs[PSI_NFACETS] = {0};
    which[f] = 1;
    cs[f] = counts;
    memset(counts, 0,
           (g->tab[f]->nvalues ? g->tab[f]->nvalues : 1) * sizeof *counts);
    count_all(g, bits, which, cs, weight, 1);
    return PS_OK;
}

void psi_fgen_add_country(const psi_fgen *g, int f, size_t v, json_t *entry)
{
    if (entry && f == PSI_F_INSTITUTION && g->inst_country &&
        g->inst_country[v])
        json_object_set_new(entry, "country", json_string(g->inst_country[v]));
}

const char *psi_fgen_label(const psi_fgen *g, int f, size_t v)
{
    return g->labels[f][v] ? g->labels[f][v] : g->tab[f]->names[v];
}

typedef struct {
    double count;
    size_t v;
} ranked;

/* a before b in a facet's list: the larger count, then the label, then
 * the value id. */
static int rank_before(const psi_fgen *g, int f, ranked a, ranked b)
{
    if (a.count != b.count)
        return a.count > b.count;
    int c = strcmp(psi_fgen_label(g, f, a.v), psi_fgen_label(g, f, b.v));
    return c ? c < 0 : a.v < b.v;
}

/* Heap whose root is the entry that comes last. */
static void rank_sift(const psi_fgen *g, int f, ranked *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && rank_before(g, f, h[m], h[l]))
            m = l;
        if (r < n && rank_before(g, f, h[m], h[r]))
            m = r;
        if (m == i)
            return;
        ranked t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

ps_status psi_fgen_top(const psi_fgen *g, int f, const double *counts,
                       size_t limit, size_t **out, size_t *n_out, ps_err *err)
{
    *out = NULL;
    *n_out = 0;
    const ps_xfacet_table *t = g->tab[f];
    ranked *h = ps_malloc((limit ? limit : 1) * sizeof *h);
    size_t *ids = ps_malloc((limit ? limit : 1) * sizeof *ids);
    if (!h || !ids) {
        ps_free(h);
        ps_free(ids);
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    /* The limit best in a bounded heap: O(values * log limit). */
    size_t n = 0;
    for (size_t v = 0; limit && v < t->nvalues; v++) {
        if (counts[v] <= 0)
            continue;
        ranked e = {counts[v], v};
        if (n < limit) {
            h[n++] = e;
            for (size_t i = n - 1; i > 0;) {
                size_t p = (i - 1) / 2;
                if (!rank_before(g, f, h[p], h[i]))
                    break;
                ranked x = h[p];
                h[p] = h[i];
                h[i] = x;
                i = p;
            }
        } else if (rank_before(g, f, e, h[0])) {
            h[0] = e;
            rank_sift(g, f, h, n, 0);
        }
    }
    for (size_t m = n; m > 1; m--) {
        ranked x = h[0];
        h[0] = h[m - 1];
        h[m - 1] = x;
        rank_sift(g, f, h, m - 1, 0);
    }
    for (size_t i = 0; i < n; i++)
        ids[i] = h[i].v;
    ps_free(h);
    *out = ids;
    *n_out = n;
    return PS_OK;
}

ps_status psi_fgen_facets(const psi_fgen *g, const uint64_t *bits,
                          unsigned kinds, const int *which, size_t limit,
                          json_t **out, ps_err *err)
{
    *out = NULL;
    double *counts[PSI_NFACETS] = {0};
    int counted[PSI_NFACETS];
    uint64_t *base = NULL;
    ps_status rc = PS_OK;
    for (int f = 0; rc == PS_OK && f < PSI_NFACETS; f++) {
        if (!which[f])
            continue;
        size_t nv = g->tab[f]->nvalues;
        counts[f] = ps_calloc(nv ? nv : 1, sizeof *counts[f]);
        if (!counts[f])
            rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    /* The set lies within what the public may see of the kinds asked for
     * (base); when it is most of it, count what base has and the set has
     * not, and take that from base's counts, read once per generation. */
    if (rc == PS_OK) {
        if (!kinds)
            kinds = (1u << PSI_FGEN_NKINDS) - 1;
        base = psi_bits_new(g);
        if (!base)
            rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    if (rc == PS_OK) {
        for (int k = 0; k < PSI_FGEN_NKINDS; k++)
            if (kinds & (1u << k))
                psi_bits_or(g, base, g->kinds[k]);
        psi_bits_and(g, base, g->visible);
        /* Facets no record of these kinds has (authors of datasets)
         * have nothing to count. */
        for (int f = 0; f < PSI_NFACETS; f++) {
            int any = 0;
            for (int k = 0; which[f] && !any && k < PSI_FGEN_NKINDS; k++)
                any = (kinds & (1u << k)) && g->has_values[k][f];
            counted[f] = which[f] && any;
        }
        uint64_t nset = 0, nbase = 0;
        for (size_t w = 0; w < g->nwords; w++) {
            nset += (uint64_t)__builtin_popcountll(bits[w] & base[w]);
            nbase += (uint64_t)__builtin_popcountll(base[w]);
        }
        if (nset > nbase / 2) {
            for (int f = 0; f < PSI_NFACETS; f++) {
                if (!which[f])
                    continue;
                for (int k = 0; k < PSI_FGEN_NKINDS; k++)
                    if (kinds & (1u << k))
                        for (size_t v = 0; v < g->tab[f]->nvalues; v++)
                            counts[f][v] += g->base_counts[k][f][v];
            }
            for (size_t w = 0; w < g->nwords; w++)
                base[w] &= ~bits[w];
            count_all(g, base, counted, counts, NULL, -1);
        } else {
            for (size_t w = 0; w < g->nwords; w++)
                base[w] &= bits[w];
            count_all(g, base, counted, counts, NULL, 1);
        }
        *out = json_object();
        if (!*out)
            rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    for (int f = 0; rc == PS_OK && f < PSI_NFACETS; f++) {
        if (!which[f])
            continue;
        size_t *top = NULL, ntop = 0;
        rc = psi_fgen_top(g, f, counts[f], limit, &top, &ntop, err);
        json_t *arr = rc == PS_OK ? json_array() : NULL;
        for (size_t i = 0; arr && i < ntop; i++) {
            json_t *e =
                json_pack("{s:s, s:s, s:I}", "value", g->tab[f]->names[top[i]],
                          "label", psi_fgen_label(g, f, top[i]), "count",
                          (json_int_t)counts[f][top[i]]);
            psi_fgen_add_country(g, f, top[i], e);
            json_array_append_new(arr, e);
        }
        ps_free(top);
        if (rc == PS_OK && !arr)
            rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        if (rc == PS_OK)
            json_object_set_new(*out, psi_facets[f].name, arr);
    }
    for (int f = 0; f < PSI_NFACETS; f++)
        ps_free(counts[f]);
    ps_free(base);
    if (rc != PS_OK) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

/* ---- the top of a set by a number -----------------------------------------
 */

typedef struct {
    double key;
    uint32_t d;
} keyed;

/* a before b in the answer: the larger key (descending) or the smaller
 * (ascending), a missing key last, ties by docid. */
static int before(keyed a, keyed b, int desc)
{
    int an = isnan(a.key), bn = isnan(b.key);
    if (an != bn)
        return bn;
    if (!an && a.key != b.key)
        return desc ? a.key > b.key : a.key < b.key;
    return a.d < b.d;
}

/* Heap whose root is the entry that comes last. */
static void sift_down(keyed *h, size_t n, size_t i, int desc)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && before(h[m], h[l], desc))
            m = l;
        if (r < n && before(h[m], h[r], desc))
            m = r;
        if (m == i)
            return;
        keyed t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

ps_status psi_fgen_top_docs(const psi_fgen *g, const uint64_t *bits,
                            const double *key, int desc, size_t k,
                            uint32_t **out, size_t *n_out, ps_err *err)
{
    *out = NULL;
    *n_out = 0;
    keyed *h = ps_malloc((k ? k : 1) * sizeof *h);
    if (!h)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    size_t n = 0;
    for (size_t w = 0; k && w < g->nwords; w++) {
        uint64_t x = bits[w];
        while (x) {
            uint32_t d = (uint32_t)(w * 64 + (size_t)__builtin_ctzll(x));
            x &= x - 1;
            keyed e = {key[d], d};
            if (n < k) {
                h[n++] = e;
                if (n == k)
                    for (size_t i = k / 2 + 1; i-- > 0;)
                        sift_down(h, n, i, desc);
            } else if (before(e, h[0], desc)) {
                h[0] = e;
                sift_down(h, n, 0, desc);
            }
        }
    }
    if (n < k) /* never filled: make it a heap now */
        for (size_t i = n / 2 + 1; i-- > 0;)
            sift_down(h, n, i, desc);
    /* Heapsort: the root (the last in answer order) goes to the end. */
    for (size_t m = n; m > 1; m--) {
        keyed t = h[0];
        h[0] = h[m - 1];
        h[m - 1] = t;
        sift_down(h, m - 1, 0, desc);
    }
    uint32_t *ids = ps_malloc((n ? n : 1) * sizeof *ids);
    if (!ids) {
        ps_free(h);
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        ids[i] = h[i].d;
    ps_free(h);
    *out = ids;
    *n_out = n;
    return PS_OK;
}
