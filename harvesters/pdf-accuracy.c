/*
 * pdf-accuracy.c: how well PDF extraction does against reference metadata.
 * It reads the reference (title, DOI, authors' family names) from the
 * Crossref deposit XML that journals such as JOSE publish beside each PDF,
 * and scores an extraction against it: title exact and fuzzy (normalised
 * Levenshtein similarity >= 0.9 after case folding and collapsing white
 * space), DOI exact, and authors by family name for micro-averaged
 * precision and recall. The `pansift pdf-accuracy` command drives it; the
 * figures are in docs/pdf.md.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "harvest-private.h"
#include "harvest.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

#define TRUTH_MAX_BYTES ((size_t)16 << 20)

void ps_pdf_truth_free(ps_pdf_truth *t)
{
    if (!t)
        return;
    ps_free(t->title);
    ps_free(t->doi);
    for (size_t i = 0; i < t->nfamilies; i++)
        ps_free(t->families[i]);
    ps_free(t->families);
    ps_free(t);
}

/* The first element called local in document order under n. */
static xmlNode *find_deep(xmlNode *n, const char *local)
{
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (psi_xml_is(n, local))
            return n;
        xmlNode *r = find_deep(n->children, local);
        if (r)
            return r;
    }
    return NULL;
}

ps_status ps_pdf_truth_load(const char *path, ps_pdf_truth **out, ps_err *err)
{
    if (out)
        *out = NULL;
    if (!path || !out)
        return ps_err_set(err, PS_ERR_INVALID, "ps_pdf_truth_load: NULL");
    ps_buf b;
    ps_buf_init(&b, TRUTH_MAX_BYTES);
    ps_status st = ps_buf_read_file(&b, path, err);
    if (st != PS_OK) {
        ps_buf_free(&b);
        return st;
    }
    xmlDoc *x = NULL;
    st = psi_xml_parse(b.data ? b.data : "", b.len, path, &x, err);
    ps_buf_free(&b);
    if (st != PS_OK)
        return st;
    /* The work is the parent of the first <contributors> (or <titles>). */
    xmlNode *root = xmlDocGetRootElement(x);
    xmlNode *c = find_deep(root, "contributors");
    xmlNode *work = c ? c->parent : NULL;
    if (!work) {
        xmlNode *ti = find_deep(root, "titles");
        work = ti ? ti->parent : NULL;
    }
    ps_pdf_truth *t = work ? ps_calloc(1, sizeof *t) : NULL;
    if (!t) {
        xmlFreeDoc(x);
        return work ? ps_err_set(err, PS_ERR_NOMEM, "out of memory")
                    : ps_err_set(err, PS_ERR_PARSE,
                                 "%s: no Crossref work in it", path);
    }
    xmlNode *ti = psi_xml_child(work, "titles");
    t->title = ti ? psi_xml_text(psi_xml_child(ti, "title")) : NULL;
    xmlNode *dd = psi_xml_child(work, "doi_data");
    t->doi = dd ? psi_xml_text(psi_xml_child(dd, "doi")) : NULL;
    if (t->doi)
        ps_str_lower(t->doi, strlen(t->doi));
    for (xmlNode *p = c ? psi_xml_next(c->children, "person_name") : NULL; p;
         p = psi_xml_next(p->next, "person_name")) {
        char *role = psi_xml_attr(p, "contributor_role");
        int author = !role || strcmp(role, "author") == 0;
        ps_free(role);
        char *sn = author ? psi_xml_text(psi_xml_child(p, "surname")) : NULL;
        if (!sn)
            continue;
        char **v =
            ps_realloc(t->families, (t->nfamilies + 1) * sizeof *t->families);
        if (!v) {
            ps_free(sn);
            break;
        }
        t->families = v;
        v[t->nfamilies++] = sn;
    }
    xmlFreeDoc(x);
    if (!t->title) {
        ps_pdf_truth_free(t);
        return ps_err_set(err, PS_ERR_PARSE, "%s: the work has no title", path);
    }
    *out = t;
    return PS_OK;
}

/* Case-folded, accent-free (NFKD without combining marks), white space
 * collapsed, as UCS-4. *n gets the length. NULL when out of memory. */
static gunichar *normalise(const char *s, glong *n)
{
    gchar *fold = g_utf8_casefold(s, -1);
    gchar *nf = fold ? g_utf8_normalize(fold, -1, G_NORMALIZE_NFKD) : NULL;
    g_free(fold);
    if (!nf)
        return NULL;
    glong len = 0;
    gunichar *u = g_utf8_to_ucs4_fast(nf, -1, &len);
    g_free(nf);
    glong w = 0;
    int sp = 1;
    for (glong i = 0; i < len; i++) {
        gunichar c = u[i];
        if (g_unichar_ismark(c))
            continue;
        if (g_unichar_isspace(c)) {
            if (!sp)
                u[w++] = ' ';
            sp = 1;
            continue;
        }
        u[w++] = c;
        sp = 0;
    }
    if (w && u[w - 1] == ' ')
        w--;
    *n = w;
    return u;
}

double ps_pdf_similarity(const char *a, const char *b)
{
    if (!a || !b)
        return 0.0;
    glong na = 0, nb = 0;
    gunichar *ua = normalise(a, &na), *ub = normalise(b, &nb);
    double r = 0.0;
    if (ua && ub) {
        if (na == 0 && nb == 0) {
            r = 1.0;
        } else {
            /* Two rows of the edit-distance table. */
            glong *prev = g_new(glong, nb + 1), *cur = g_new(glong, nb + 1);
            for (glong j = 0; j <= nb; j++)
                prev[j] = j;
            for (glong i = 1; i <= na; i++) {
                cur[0] = i;
                for (glong j = 1; j <= nb; j++) {
                    glong sub = prev[j - 1] + (ua[i - 1] != ub[j - 1]);
                    glong del = prev[j] + 1, ins = cur[j - 1] + 1;
                    cur[j] = sub < del ? (sub < ins ? sub : ins)
                                       : (del < ins ? del : ins);
                }
                glong *t = prev;
                prev = cur;
                cur = t;
            }
            glong d = prev[nb], m = na > nb ? na : nb;
            r = 1.0 - (double)d / (double)m;
            g_free(prev);
            g_free(cur);
        }
    }
    g_free(ua);
    g_free(ub);
    return r;
}

/* Normalised UTF-8 for name comparison. */
static char *norm_utf8(const char *s)
{
    glong n = 0;
    gunichar *u = normalise(s, &n);
    if (!u)
        return NULL;
    gchar *r = g_ucs4_to_utf8(u, n, NULL, NULL, NULL);
    g_free(u);
    return r;
}

/* Does the printed name carry this family name (at its end, or as whole
 * words anywhere: "Stéfan van der Walt", "Walt, S.")? */
static int name_has_family(const char *name, const char *family)
{
    size_t fl = strlen(family);
    for (const char *p = strstr(name, family); p; p = strstr(p + 1, family)) {
        int left = p == name || p[-1] == ' ' || p[-1] == '-' || p[-1] == '.';
        char c = p[fl];
        int right = c == '\0' || c == ' ' || c == ',' || c == '-';
        if (left && right)
            return 1;
    }
    return 0;
}

void ps_pdf_score_add(ps_pdf_score *sc, const ps_pdf_doc *doc,
                      const ps_pdf_truth *truth)
{
    if (!sc || !truth)
        return;
    sc->docs++;
    sc->authors_true += truth->nfamilies;
    if (!doc)
        return;
    if (doc->title && truth->title) {
        double s = ps_pdf_similarity(doc->title, truth->title);
        if (s >= 0.9)
            sc->title_fuzzy++;
        if (s >= 1.0)
            sc->title_exact++;
    }
    if (doc->doi && truth->doi && strcmp(doc->doi, truth->doi) == 0)
        sc->doi_exact++;
    sc->authors_found += doc->nauthors;
    /* One-to-one matching, in order of the reference. */
    char *used = g_new0(char, doc->nauthors + 1);
    char **names = g_new0(char *, doc->nauthors + 1);
    for (size_t i = 0; i < doc->nauthors; i++)
        names[i] = norm_utf8(doc->authors[i]);
    for (size_t f = 0; f < truth->nfamilies; f++) {
        char *fam = norm_utf8(truth->families[f]);
        for (size_t i = 0; fam && i < doc->nauthors; i++)
            if (!used[i] && names[i] && name_has_family(names[i], fam)) {
                used[i] = 1;
                sc->authors_matched++;
                break;
            }
        g_free(fam);
    }
    for (size_t i = 0; i < doc->nauthors; i++)
        g_free(names[i]);
    g_free(names);
    g_free(used);
}
