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
    for (int f = 0; f < PSI_NFACETS; f++) {
        if (g->labels[f] && g->tab[f])
            for (size_t v = 0; v < g->tab[f]->nvalues; v++)
                ps_free(g->labels[f][v]);
        ps_free(g->labels[f]);
        ps_xfacet_table_free(g->tab[f]);
    }
    for (int k = 0; k < PSI_FGEN_NKINDS; k++)
        ps_free(g->kinds[k]);
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
    int nomem;
};

static void on_label(void *arg, const char *pid, const char *name)
{
    struct label_walk *w = arg;
    int64_t v = psi_fgen_value(w->g, w->f, pid);
    if (v < 0 || w->g->labels[w->f][v])
        return;
    w->g->labels[w->f][v] = ps_strdup(name);
    if (!w->g->labels[w->f][v])
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
    uint64_t embargoed = 0;
    if (rc == PS_OK)
        rc = ps_xdb_termfreq(db, PS_IDX_TERM_VIS "embargoed", &embargoed, err);
    g->embargoed = embargoed > 0;
    /* Display names of pids and IRIs. */
    for (int f = 0; rc == PS_OK && f < PSI_NFACETS; f++) {
        if (!psi_facets[f].names)
            continue;
        struct label_walk w = {g, f, 0};
        rc = ps_store_names(st, psi_facets[f].names, on_label, &w, err);
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
    for (;;) {
        if (c->cur && strcmp(c->cur->ident, ident) == 0)
            break;
        if (!c->building)
            break;
        pthread_cond_wait(&c->built, &c->lock);
    }
    psi_fgen *g = c->cur;
    if (g && strcmp(g->ident, ident) == 0) {
        int stale = g->embargoed &&
                    ps_now_ms() - g->visible_ms > PSI_FGEN_VISIBLE_TTL_MS;
        if (stale) {
            /* Embargoes may have ended: a new generation (requests still
             * hold the old one). */
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
            if (rc != PS_OK) {
                pthread_mutex_unlock(&c->lock);
                return rc;
            }
            g = c->cur;
        }
        atomic_fetch_add(&g->refs, 1);
        pthread_mutex_unlock(&c->lock);
        *out = g;
        return PS_OK;
    }
    c->building = 1;
    pthread_mutex_unlock(&c->lock);
    psi_fgen *n = NULL;
    rc = fgen_build(ps_index_xdb(ctx->idx), ctx->st, ident, &n, err);
    pthread_mutex_lock(&c->lock);
    c->building = 0;
    if (rc == PS_OK) {
        psi_fgen_release(c->cur);
        c->cur = n;
        atomic_fetch_add(&n->refs, 1);
    }
    pthread_cond_broadcast(&c->built);
    pthread_mutex_unlock(&c->lock);
    *out = n;
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

void psi_bits_year_range(const psi_fgen *g, uint64_t *bits, int64_t lo,
                         int64_t hi)
{
    for (size_t w = 0; w < g->nwords; w++) {
        uint64_t x = bits[w];
        while (x) {
            size_t d = w * 64 + (size_t)__builtin_ctzll(x);
            x &= x - 1;
            int64_t y = g->year[d];
            if (!y || y < lo || y > hi)
                bits[w] &= ~(UINT64_C(1) << (d & 63));
        }
    }
}

/* ---- counting ------------------------------------------------------------ */

ps_status psi_fgen_count(const psi_fgen *g, int f, const uint64_t *bits,
                         const double *weight, double *counts)
{
    const ps_xfacet_table *t = g->tab[f];
    memset(counts, 0, (t->nvalues ? t->nvalues : 1) * sizeof *counts);
    for (size_t w = 0; w < g->nwords; w++) {
        uint64_t x = bits[w];
        while (x) {
            size_t d = w * 64 + (size_t)__builtin_ctzll(x);
            x &= x - 1;
            if (d >= t->ndocs)
                continue;
            double by = 1;
            if (weight) {
                by = weight[d];
                if (isnan(by))
                    continue;
            }
            for (uint32_t i = t->offsets[d]; i < t->offsets[d + 1]; i++)
                counts[t->values[i]] += by;
        }
    }
    return PS_OK;
}

const char *psi_fgen_label(const psi_fgen *g, int f, size_t v)
{
    return g->labels[f][v] ? g->labels[f][v] : g->tab[f]->names[v];
}

typedef struct {
    double count;
    size_t v;
    const psi_fgen *g;
    int f;
} ranked;

static int cmp_ranked(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    int c = strcmp(psi_fgen_label(x->g, x->f, x->v),
                   psi_fgen_label(y->g, y->f, y->v));
    if (c)
        return c;
    return x->v < y->v ? -1 : x->v > y->v;
}

ps_status psi_fgen_top(const psi_fgen *g, int f, const double *counts,
                       size_t limit, size_t **out, size_t *n_out, ps_err *err)
{
    *out = NULL;
    *n_out = 0;
    const ps_xfacet_table *t = g->tab[f];
    size_t n = 0;
    for (size_t v = 0; v < t->nvalues; v++)
        n += counts[v] > 0;
    ranked *r = ps_malloc((n ? n : 1) * sizeof *r);
    size_t *ids = ps_malloc((n ? n : 1) * sizeof *ids);
    if (!r || !ids) {
        ps_free(r);
        ps_free(ids);
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    n = 0;
    for (size_t v = 0; v < t->nvalues; v++)
        if (counts[v] > 0)
            r[n++] = (ranked){counts[v], v, g, f};
    qsort(r, n, sizeof *r, cmp_ranked);
    if (n > limit)
        n = limit;
    for (size_t i = 0; i < n; i++)
        ids[i] = r[i].v;
    ps_free(r);
    *out = ids;
    *n_out = n;
    return PS_OK;
}

ps_status psi_fgen_facets(const psi_fgen *g, const uint64_t *bits,
                          const int *which, size_t limit, json_t **out,
                          ps_err *err)
{
    *out = json_object();
    if (!*out)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    for (int f = 0; f < PSI_NFACETS; f++) {
        if (!which[f])
            continue;
        size_t nv = g->tab[f]->nvalues;
        double *counts = ps_malloc((nv ? nv : 1) * sizeof *counts);
        if (!counts) {
            json_decref(*out);
            *out = NULL;
            return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        }
        psi_fgen_count(g, f, bits, NULL, counts);
        size_t *top = NULL, ntop = 0;
        ps_status rc = psi_fgen_top(g, f, counts, limit, &top, &ntop, err);
        json_t *arr = rc == PS_OK ? json_array() : NULL;
        for (size_t i = 0; arr && i < ntop; i++)
            json_array_append_new(
                arr,
                json_pack("{s:s, s:s, s:I}", "value", g->tab[f]->names[top[i]],
                          "label", psi_fgen_label(g, f, top[i]), "count",
                          (json_int_t)counts[top[i]]));
        ps_free(top);
        ps_free(counts);
        if (!arr) {
            json_decref(*out);
            *out = NULL;
            return rc != PS_OK ? rc
                               : ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        }
        json_object_set_new(*out, psi_facets[f].name, arr);
    }
    return PS_OK;
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
