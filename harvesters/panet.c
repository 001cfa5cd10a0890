/*
 * panet.c: import of the PaNET technique ontology from its source table,
 * PaNET.csv (the ROBOT template the ontology's OWL is generated from; the
 * project's source/PaNET.csv, parsed with libcsv). Each row whose ID is an
 * IRI is a term: label, synonyms (alt labels), definition, told parents
 * ("Parent IRI", SubClassOf) and equivalences ("Equivalent", an
 * intersection of classes and restrictions such as
 * ('definedbyprobe' some 'neutron')). References are IRIs, PaNET:PaNETnnnnn
 * CURIEs or labels, quoted or not.
 *
 * The hierarchy is what a reasoner infers from those axioms, the way the
 * PaN ontologies API computes "relatives": a term's parents are the named
 * classes of its SubClassOf and equivalence axioms, plus, for each of its
 * restrictions (P some F), every class defined by exactly (P some G) where
 * G is F or a told ancestor of F ('x-ray' below 'photon' makes an x-ray
 * technique a photon technique). The transitive closure (each term its
 * own ancestor) goes into the store, so a query for a technique matches
 * every narrower one with one lookup.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "harvest.h"

#include <csv.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define PANET_PREFIX "http://purl.org/pan-science/PaNET/"
#define PANET_MAX_FILE (64L << 20) /* the real file is about 200 KB */
#define PANET_MAX_FIELDS 64
/* The root of PaNET's non-technique vocabulary (probes, processes...). */
#define PANET_SPECIFIERS "photon and neutron specifiers"

/* One term and what its row says about its place in the hierarchy. */
typedef struct term {
    char *iri, *label, *definition;
    char *syn[2];
    size_t nsyn;
    char **axioms; /* raw SubClassOf and Equivalent cells */
    size_t naxioms;
    char **eq; /* the Equivalent cells among them */
    size_t neq;
    int specifier;
    size_t *parents;
    size_t nparents;
} term;

/* An atom of an axiom: a named class, or a restriction (prop some filler).
 * Indexes are into the term array; SIZE_MAX is unresolved. */
typedef struct atom {
    int some;
    char prop[64];
    size_t cls;
} atom;

typedef struct reader {
    /* the row being read */
    char *field[PANET_MAX_FIELDS];
    size_t nfield;
    /* column roles, from the header row */
    int have_header;
    int col_id, col_label, col_def;
    int col_syn[4], nsyn;
    int col_axiom[16], naxiom;
    int axiom_is_eq[16];
    int col_type, col_domain;
    /* object properties and their domains ('definedbyprocess' has domain
     * 'photon and neutron technique') */
    char *prop_label[32], *prop_domain[32];
    size_t nprops;
    /* the terms */
    term *terms;
    size_t nterms, cap;
    ps_status rc;
    ps_err *err;
} reader;

static void on_field(void *data, size_t len, void *payload)
{
    reader *r = payload;
    if (r->rc != PS_OK)
        return;
    if (r->nfield >= PANET_MAX_FIELDS) {
        r->rc = ps_err_set(r->err, PS_ERR_PARSE,
                           "a row has more than %d columns: not PaNET.csv",
                           PANET_MAX_FIELDS);
        return;
    }
    char *v = ps_malloc(len + 1);
    if (!v) {
        r->rc = ps_err_set(r->err, PS_ERR_NOMEM, "out of memory");
        return;
    }
    if (len)
        memcpy(v, data, len);
    v[len] = '\0';
    r->field[r->nfield++] = v;
}

static const char *cell(const reader *r, int col)
{
    return col >= 0 && (size_t)col < r->nfield ? r->field[col] : "";
}

static void read_header(reader *r)
{
    r->col_id = r->col_label = r->col_def = r->col_type = r->col_domain = -1;
    for (size_t i = 0; i < r->nfield; i++) {
        const char *h = r->field[i];
        if (strcmp(h, "ID") == 0)
            r->col_id = (int)i;
        else if (strcmp(h, "Label") == 0)
            r->col_label = (int)i;
        else if (strcmp(h, "Definition") == 0)
            r->col_def = (int)i;
        else if (strcmp(h, "RDF Type") == 0)
            r->col_type = (int)i;
        else if (strcmp(h, "Domain") == 0)
            r->col_domain = (int)i;
        else if (ps_str_startswith(h, "Alt Label") && r->nsyn < 2)
            r->col_syn[r->nsyn++] = (int)i;
        else if ((strcmp(h, "Parent IRI") == 0 ||
                  strcmp(h, "Equivalent") == 0) &&
                 r->naxiom < 16) {
            r->axiom_is_eq[r->naxiom] = strcmp(h, "Equivalent") == 0;
            r->col_axiom[r->naxiom++] = (int)i;
        }
    }
    if (r->col_id < 0 || r->col_label < 0)
        r->rc = ps_err_set(r->err, PS_ERR_PARSE,
                           "the first row has no ID and Label columns: this "
                           "is not PaNET's source table (source/PaNET.csv)");
    r->have_header = 1;
}

/* Append a copy of v to a string list. */
static int push(char ***list, size_t *n, const char *v)
{
    char *copy = ps_strdup(v);
    char **grown = copy ? ps_realloc(*list, (*n + 1) * sizeof **list) : NULL;
    if (!grown) {
        ps_free(copy);
        return -1;
    }
    *list = grown;
    (*list)[(*n)++] = copy;
    return 0;
}

/* A row whose ID is an IRI: a new term, or more about one already read
 * (a ROBOT template may give a term's axioms on several rows). */
static void read_term(reader *r)
{
    const char *iri = cell(r, r->col_id);
    if (!ps_str_startswith(iri, "http://") &&
        !ps_str_startswith(iri, "https://"))
        return; /* blank, section or template rows */
    if (strcmp(cell(r, r->col_type), "owl:ObjectProperty") == 0) {
        const char *domain = cell(r, r->col_domain);
        if (*domain && strcmp(domain, "owl:Thing") != 0 && r->nprops < 32) {
            r->prop_label[r->nprops] = ps_strdup(cell(r, r->col_label));
            r->prop_domain[r->nprops] = ps_strdup(domain);
            if (!r->prop_label[r->nprops] || !r->prop_domain[r->nprops])
                r->rc = ps_err_set(r->err, PS_ERR_NOMEM, "out of memory");
            r->nprops++;
        }
        return;
    }
    term *t = NULL;
    for (size_t i = 0; i < r->nterms && !t; i++)
        if (strcmp(r->terms[i].iri, iri) == 0)
            t = &r->terms[i];
    int nomem = 0;
    if (!t) {
        if (!*cell(r, r->col_label)) {
            r->rc =
                ps_err_set(r->err, PS_ERR_PARSE, "term %s has no label", iri);
            return;
        }
        if (r->nterms == r->cap) {
            size_t nc = r->cap ? r->cap * 2 : 256;
            term *g = ps_realloc(r->terms, nc * sizeof *g);
            if (!g) {
                r->rc = ps_err_set(r->err, PS_ERR_NOMEM, "out of memory");
                return;
            }
            r->terms = g;
            r->cap = nc;
        }
        t = &r->terms[r->nterms++];
        memset(t, 0, sizeof *t);
        t->iri = ps_strdup(iri);
        t->label = ps_strdup(cell(r, r->col_label));
        nomem = !t->iri || !t->label;
    }
    if (!t->definition && *cell(r, r->col_def)) {
        t->definition = ps_strdup(cell(r, r->col_def));
        nomem |= !t->definition;
    }
    for (int i = 0; i < r->nsyn && !nomem; i++) {
        const char *syn = cell(r, r->col_syn[i]);
        if (*syn && t->nsyn < 2) {
            t->syn[t->nsyn] = ps_strdup(syn);
            nomem |= !t->syn[t->nsyn++];
        }
    }
    for (int i = 0; i < r->naxiom && !nomem; i++) {
        const char *a = cell(r, r->col_axiom[i]);
        if (!*a || strcmp(a, "owl:Thing") == 0)
            continue;
        nomem |= push(&t->axioms, &t->naxioms, a) != 0;
        if (!nomem && r->axiom_is_eq[i]) {
            char **g = ps_realloc(t->eq, (t->neq + 1) * sizeof *g);
            nomem |= !g;
            if (g) {
                t->eq = g;
                t->eq[t->neq++] = t->axioms[t->naxioms - 1];
            }
        }
    }
    if (nomem)
        r->rc = ps_err_set(r->err, PS_ERR_NOMEM, "out of memory");
}

static void on_row(int c, void *payload)
{
    (void)c;
    reader *r = payload;
    if (r->rc == PS_OK) {
        if (!r->have_header)
            read_header(r);
        else
            read_term(r);
    }
    for (size_t i = 0; i < r->nfield; i++)
        ps_free(r->field[i]);
    r->nfield = 0;
}

static void terms_free(term *t, size_t n)
{
    for (size_t i = 0; t && i < n; i++) {
        ps_free(t[i].iri);
        ps_free(t[i].label);
        ps_free(t[i].definition);
        for (size_t k = 0; k < t[i].nsyn; k++)
            ps_free(t[i].syn[k]);
        for (size_t k = 0; k < t[i].naxioms; k++)
            ps_free(t[i].axioms[k]);
        ps_free(t[i].axioms);
        ps_free(t[i].eq);
        ps_free(t[i].parents);
    }
    ps_free(t);
}

/* ---- resolving references ------------------------------------------------
 */

/* Trim spaces and one pair of single quotes, into buf. */
static const char *unquote(const char *s, size_t len, char *buf, size_t size)
{
    while (len && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len >= 2 && s[0] == '\'' && s[len - 1] == '\'') {
        s++;
        len -= 2;
    }
    if (len >= size)
        len = size - 1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return buf;
}

/* The term a reference names: an IRI, a PaNET: CURIE or a label. A label
 * two terms share (a technique and the process it is defined by) is the
 * technique's (the shorter PaNET number), or with specifier set, the
 * other's. SIZE_MAX if none. */
static size_t resolve(const term *t, size_t n, const char *ref, size_t len,
                      int specifier)
{
    char name[512], iri[600];
    unquote(ref, len, name, sizeof name);
    if (ps_str_startswith(name, "PaNET:")) {
        snprintf(iri, sizeof iri, "%s%s", PANET_PREFIX, name + 6);
    } else {
        snprintf(iri, sizeof iri, "%s", name);
    }
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(t[i].iri, iri) == 0)
            return i;
        if (strcasecmp(t[i].label, name) != 0)
            continue;
        if (best == SIZE_MAX)
            best = i;
        else {
            size_t a = strlen(t[i].iri), b = strlen(t[best].iri);
            if (specifier ? a > b : a < b)
                best = i;
        }
    }
    return best;
}

/* Split an axiom cell into atoms: a named class, a restriction
 * "('prop' some FILLER)", or an intersection "(A and B ...)" of those. */
static size_t parse_axiom(const term *t, size_t n, const char *s, size_t len,
                          atom *out, size_t max, size_t *unresolved)
{
    while (len && *s == ' ') {
        s++;
        len--;
    }
    while (len && s[len - 1] == ' ')
        len--;
    if (!len || !max)
        return 0;
    if (s[0] == '(' && s[len - 1] == ')') {
        const char *in = s + 1;
        size_t inlen = len - 2;
        /* Restriction: 'prop' some filler. */
        const char *q2 =
            inlen && in[0] == '\'' ? memchr(in + 1, '\'', inlen - 1) : NULL;
        if (q2) {
            size_t plen = (size_t)(q2 - in - 1);
            const char *rest = q2 + 1;
            size_t restlen = inlen - (size_t)(rest - in);
            while (restlen && *rest == ' ') {
                rest++;
                restlen--;
            }
            if (restlen > 5 && strncmp(rest, "some ", 5) == 0) {
                atom *a = &out[0];
                a->some = 1;
                snprintf(a->prop, sizeof a->prop, "%.*s", (int)plen, in + 1);
                a->cls = resolve(t, n, rest + 5, restlen - 5, 1);
                *unresolved += a->cls == SIZE_MAX;
                return 1;
            }
        }
        /* Intersection: split on " and " outside quotes and parentheses. */
        size_t got = 0, start = 0;
        int depth = 0, quoted = 0;
        for (size_t i = 0; i <= inlen; i++) {
            char c = i < inlen ? in[i] : '\0';
            if (c == '\'')
                quoted = !quoted;
            else if (!quoted && c == '(')
                depth++;
            else if (!quoted && c == ')')
                depth--;
            int split =
                i == inlen || (!quoted && depth == 0 && i + 5 <= inlen &&
                               strncmp(in + i, " and ", 5) == 0);
            if (!split)
                continue;
            got += parse_axiom(t, n, in + start, i - start, out + got,
                               max - got, unresolved);
            if (i < inlen) {
                start = i + 5;
                i += 4;
            }
        }
        return got;
    }
    out[0].some = 0;
    out[0].cls = resolve(t, n, s, len, 0);
    *unresolved += out[0].cls == SIZE_MAX;
    return out[0].cls == SIZE_MAX ? 0 : 1;
}

/* ---- the hierarchy -------------------------------------------------------
 */

static int add_parent(term *c, size_t p)
{
    for (size_t i = 0; i < c->nparents; i++)
        if (c->parents[i] == p)
            return 0;
    size_t *grown = ps_realloc(c->parents, (c->nparents + 1) * sizeof *grown);
    if (!grown)
        return -1;
    c->parents = grown;
    c->parents[c->nparents++] = p;
    return 0;
}

/* Mark in seen[] every told (named) ancestor of i. */
static void told_ancestors(const term *t, size_t n, atom (*atoms)[32],
                           const size_t *natoms, size_t i, char *seen)
{
    for (size_t k = 0; k < natoms[i]; k++) {
        const atom *a = &atoms[i][k];
        if (a->some || a->cls == SIZE_MAX || seen[a->cls])
            continue;
        seen[a->cls] = 1;
        told_ancestors(t, n, atoms, natoms, a->cls, seen);
    }
}

/* Compute every term's parents (see the top of the file). */
static ps_status link_parents(term *t, size_t n, const reader *r,
                              size_t *unresolved, ps_err *err)
{
    atom(*atoms)[32] = ps_calloc(n ? n : 1, sizeof *atoms);
    size_t *natoms = ps_calloc(n ? n : 1, sizeof *natoms);
    atom *defs = ps_calloc(n ? n : 1, sizeof *defs);
    char *seen = ps_calloc(n ? n : 1, 1);
    ps_status rc = PS_OK;
    if (!atoms || !natoms || !defs || !seen) {
        rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < t[i].naxioms && natoms[i] < 32; k++)
            natoms[i] +=
                parse_axiom(t, n, t[i].axioms[k], strlen(t[i].axioms[k]),
                            atoms[i] + natoms[i], 32 - natoms[i], unresolved);
    /* What each defined class is defined by: one restriction, the only
     * Equivalent cell that names known classes (others may point outside
     * PaNET, e.g. to Wikidata). */
    for (size_t i = 0; i < n; i++) {
        size_t cells = 0;
        defs[i].cls = SIZE_MAX;
        for (size_t k = 0; k < t[i].neq; k++) {
            atom tmp[2];
            size_t ignored = 0;
            size_t got = parse_axiom(t, n, t[i].eq[k], strlen(t[i].eq[k]), tmp,
                                     2, &ignored);
            if (got == 0)
                continue;
            cells++;
            if (got == 1 && tmp[0].some)
                defs[i] = tmp[0];
            else
                defs[i].cls = SIZE_MAX;
        }
        if (cells != 1)
            defs[i].cls = SIZE_MAX;
    }
    for (size_t i = 0; i < n && rc == PS_OK; i++) {
        for (size_t k = 0; k < natoms[i] && rc == PS_OK; k++) {
            const atom *a = &atoms[i][k];
            if (a->cls == SIZE_MAX)
                continue;
            if (!a->some) {
                if (a->cls != i && add_parent(&t[i], a->cls) != 0)
                    rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
                continue;
            }
            /* A property's domain: (definedbyprocess some X) is a photon
             * and neutron technique. */
            for (size_t p = 0; p < r->nprops && rc == PS_OK; p++) {
                if (strcmp(r->prop_label[p], a->prop) != 0)
                    continue;
                size_t d = resolve(t, n, r->prop_domain[p],
                                   strlen(r->prop_domain[p]), 0);
                if (d != SIZE_MAX && d != i && add_parent(&t[i], d) != 0)
                    rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
            }
            /* Classes defined by (prop some G), G the filler or above it. */
            memset(seen, 0, n);
            seen[a->cls] = 1;
            told_ancestors(t, n, atoms, natoms, a->cls, seen);
            for (size_t d = 0; d < n && rc == PS_OK; d++) {
                /* d is defined by exactly one restriction (prop some G). */
                const atom *def = &defs[d];
                if (d == i || !def->some || def->cls == SIZE_MAX ||
                    !seen[def->cls] || strcmp(def->prop, a->prop) != 0)
                    continue;
                if (add_parent(&t[i], d) != 0)
                    rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
            }
        }
    }
out:
    ps_free(atoms);
    ps_free(natoms);
    ps_free(defs);
    ps_free(seen);
    return rc;
}

/* Every (ancestor, descendant) pair, each term its own ancestor. */
static ps_status closure_of(const term *t, size_t n, size_t (**pairs)[2],
                            size_t *npairs, ps_err *err)
{
    char *seen = ps_malloc(n ? n : 1);
    size_t *stack = ps_malloc((n ? n : 1) * sizeof *stack);
    size_t cap = 0;
    *pairs = NULL;
    *npairs = 0;
    ps_status rc = PS_OK;
    if (!seen || !stack)
        rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n && rc == PS_OK; i++) {
        memset(seen, 0, n);
        size_t sp = 0;
        seen[i] = 1;
        stack[sp++] = i;
        while (sp && rc == PS_OK) {
            size_t x = stack[--sp];
            if (*npairs == cap) {
                size_t nc = cap ? cap * 2 : 1024;
                size_t(*g)[2] = ps_realloc(*pairs, nc * sizeof **pairs);
                if (!g) {
                    rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
                    break;
                }
                *pairs = g;
                cap = nc;
            }
            (*pairs)[*npairs][0] = x;
            (*pairs)[*npairs][1] = i;
            (*npairs)++;
            for (size_t k = 0; k < t[x].nparents; k++)
                if (!seen[t[x].parents[k]]) {
                    seen[t[x].parents[k]] = 1;
                    stack[sp++] = t[x].parents[k];
                }
        }
    }
    ps_free(seen);
    ps_free(stack);
    if (rc != PS_OK) {
        ps_free(*pairs);
        *pairs = NULL;
        *npairs = 0;
    }
    return rc;
}

/* ---- the import ------------------------------------------------------------
 */

static ps_status read_file(const char *path, reader *r, ps_err *err)
{
    struct stat sb;
    FILE *f = fopen(path, "rb");
    if (!f)
        return ps_err_set(err, errno == ENOENT ? PS_ERR_NOTFOUND : PS_ERR_IO,
                          "cannot read %s: %s", path, strerror(errno));
    if (fstat(fileno(f), &sb) == 0 && sb.st_size > PANET_MAX_FILE) {
        fclose(f);
        return ps_err_set(err, PS_ERR_TOOBIG,
                          "%s is larger than %ld MB: not PaNET.csv", path,
                          PANET_MAX_FILE >> 20);
    }
    struct csv_parser p;
    if (csv_init(&p, CSV_APPEND_NULL) != 0) {
        fclose(f);
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    char buf[65536];
    for (;;) {
        size_t n = fread(buf, 1, sizeof buf, f);
        if (n == 0)
            break;
        if (csv_parse(&p, buf, n, on_field, on_row, r) != n && r->rc == PS_OK)
            r->rc = ps_err_set(err, PS_ERR_PARSE, "%s is not valid CSV: %s",
                               path, csv_strerror(csv_error(&p)));
        if (r->rc != PS_OK)
            break;
    }
    if (r->rc == PS_OK && ferror(f))
        r->rc = ps_err_set(err, PS_ERR_IO, "cannot read %s: %s", path,
                           strerror(errno));
    if (r->rc == PS_OK)
        csv_fini(&p, on_field, on_row, r);
    for (size_t i = 0; i < r->nfield; i++)
        ps_free(r->field[i]);
    r->nfield = 0;
    csv_free(&p);
    fclose(f);
    return r->rc;
}

ps_status ps_ontology_import(ps_store *st, const char *path,
                             ps_ontology_stats *stats, ps_err *err)
{
    reader r;
    memset(&r, 0, sizeof r);
    r.err = err;
    ps_ontology_stats local;
    if (!stats)
        stats = &local;
    memset(stats, 0, sizeof *stats);
    ps_technique_term *rows = NULL;
    size_t(*pairs)[2] = NULL;
    size_t npairs = 0;
    ps_status rc = read_file(path, &r, err);
    if (rc == PS_OK && r.nterms == 0)
        rc = ps_err_set(err, PS_ERR_PARSE,
                        "%s has no terms (rows whose ID is an IRI): is it "
                        "PaNET's source/PaNET.csv?",
                        path);
    if (rc == PS_OK)
        rc = link_parents(r.terms, r.nterms, &r, &stats->unresolved, err);
    if (rc == PS_OK)
        rc = closure_of(r.terms, r.nterms, &pairs, &npairs, err);
    if (rc == PS_OK) {
        rows = ps_calloc(r.nterms, sizeof *rows);
        if (!rows)
            rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    /* The vocabulary techniques are defined with (probes, processes...)
     * sits below this term in PaNET. */
    size_t sroot = SIZE_MAX;
    for (size_t i = 0; rc == PS_OK && i < r.nterms; i++)
        if (strcmp(r.terms[i].label, PANET_SPECIFIERS) == 0)
            sroot = i;
    for (size_t i = 0; rc == PS_OK && sroot != SIZE_MAX && i < npairs; i++)
        if (pairs[i][0] == sroot)
            r.terms[pairs[i][1]].specifier = 1;
    for (size_t i = 0; rc == PS_OK && i < r.nterms; i++) {
        rows[i].specifier = r.terms[i].specifier;
        rows[i].iri = r.terms[i].iri;
        rows[i].label = r.terms[i].label;
        rows[i].synonyms = (const char *const *)r.terms[i].syn;
        rows[i].nsynonyms = r.terms[i].nsyn;
        rows[i].definition = r.terms[i].definition;
    }
    if (rc == PS_OK) {
        const char *base = strrchr(path, '/');
        rc = ps_store_ontology_replace(st, base ? base + 1 : path, rows,
                                       r.nterms, (const size_t(*)[2])pairs,
                                       npairs, err);
    }
    if (rc == PS_OK) {
        stats->terms = r.nterms;
        stats->pairs = npairs;
    }
    ps_free(rows);
    ps_free(pairs);
    terms_free(r.terms, r.nterms);
    for (size_t i = 0; i < r.nprops; i++) {
        ps_free(r.prop_label[i]);
        ps_free(r.prop_domain[i]);
    }
    return rc;
}
