/*
 * test_score.c: unit tests of relevance scoring (docs/relevance.md). The
 * term extraction must give the PaNOSC search-scoring service's terms: the
 * stop word list, NLTK's Porter stemmer (the examples of NLTK's own
 * documentation), num2words' English, Python's json.dumps escapes and
 * float repr, and the spec's examples ("retrieval and information",
 * "My test query"). The scores must be the service's, checked against
 * values computed by hand on a small database: the cosine for several
 * terms (one term of two present: exactly 1/sqrt(2)), 0.9 * w / max w for
 * one, repeated query terms, (0, 1) bounds, a filter, skipping of ties,
 * and scores that follow the index when it changes.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "check.h"
#include "index.h"
#include "score-private.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- term extraction ---------------------------------------------------- */

static void check_stem(const char *word, const char *want)
{
    char *s = psi_porter_stem_utf8(word);
    check(s && strcmp(s, want) == 0, "stem(%s) = %s, want %s", word,
          s ? s : "(null)", want);
    ps_free(s);
}

static void test_stopwords(void)
{
    check(psi_stopword_count() == 179, "179 stop words, not %zu",
          psi_stopword_count());
    const char *yes[] = {"a", "the", "and", "don't", "yourselves", "y", "ll"};
    const char *no[] = {"", "neutron", "dont", "th", "yourselvesx", "z"};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        check(psi_stopword(yes[i], strlen(yes[i])), "%s is a stop word",
              yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        check(!psi_stopword(no[i], strlen(no[i])), "%s is not a stop word",
              no[i]);
}

static void test_porter(void)
{
    /* NLTK's stem.doctest. */
    const char *plurals[] = {
        "caresses",    "flies",     "dies",      "mules",       "denied",
        "died",        "agreed",    "owned",     "humbled",     "sized",
        "meeting",     "stating",   "siezing",   "itemization", "sensational",
        "traditional", "reference", "colonizer", "plotted"};
    const char *singles[] = {"caress", "fli",   "die",   "mule",  "deni",
                             "die",    "agre",  "own",   "humbl", "size",
                             "meet",   "state", "siez",  "item",  "sensat",
                             "tradit", "refer", "colon", "plot"};
    for (size_t i = 0; i < sizeof plurals / sizeof *plurals; i++)
        check_stem(plurals[i], singles[i]);
    /* NLTK's test_stem.py (issue 1581). */
    check_stem("oed", "o");
    /* The spec's examples and NLTK's departures from Porter's frozen
     * version. */
    check_stem("retrieval", "retriev");
    check_stem("information", "inform");
    check_stem("query", "queri");
    check_stem("scoring", "score");
    check_stem("dying", "die");
    check_stem("skies", "sky");
    check_stem("happy", "happi");
    check_stem("enjoy", "enjoy");
    check_stem("is", "is");
    check_stem("relational", "relat");
    check_stem("hundred", "hundr");
    check_stem("thousand,", "thousand,");
    check_stem("twenty-three", "twenty-thre");
    check_stem("thirty-four", "thirty-four");
    /* Code points, not bytes: a two-letter word is left alone. */
    check_stem("\xc3\xa9t", "\xc3\xa9t");
    check_stem("", "");
}

static void check_words(const char *digits, const char *want)
{
    char *w = psi_num2words(digits, strlen(digits));
    check(w && strcmp(w, want) == 0, "num2words(%s) = %s, want %s", digits,
          w ? w : "(null)", want);
    ps_free(w);
}

static void test_num2words(void)
{
    check_words("0", "zero");
    check_words("000", "zero");
    check_words("7", "seven");
    check_words("19", "nineteen");
    check_words("20", "twenty");
    check_words("23", "twenty-three");
    check_words("100", "one hundred");
    check_words("101", "one hundred and one");
    check_words("1234", "one thousand, two hundred and thirty-four");
    check_words("1001", "one thousand and one");
    check_words("1100", "one thousand, one hundred");
    check_words("23000", "twenty-three thousand");
    check_words("2000001", "two million and one");
    check_words("1000100", "one million, one hundred");
    check_words("1000000000", "one billion");
    check_words("0042", "forty-two");
    check_words("1000000000000000000000000000000000", "one decillion");
    char big[400];
    memset(big, '9', 306);
    big[306] = '\0';
    char *w = psi_num2words(big, 306);
    check(w && strncmp(w, "nine hundred and ninety-nine centillion, ", 41) == 0,
          "306 digits: %.60s", w ? w : "(null)");
    ps_free(w);
    big[0] = '1';
    memset(big + 1, '0', 306);
    check(psi_num2words(big, 307) == NULL, "10^306 is too big for num2words");
}

/* The terms of a query, joined by spaces. */
static void check_query(const char *q, const char *want)
{
    ps_score_terms t;
    ps_err err = PS_ERR_INIT;
    check_fatal(ps_score_query_terms(&t, q, &err) == PS_OK, "%s", err.msg);
    char got[1024] = "";
    for (size_t i = 0; i < t.n; i++)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s",
                 i ? " " : "", t.v[i]);
    check(strcmp(got, want) == 0, "terms(%s) = [%s], want [%s]", q, got, want);
    ps_score_terms_free(&t);
}

static void check_item(const char *fields_json, const char *want)
{
    json_error_t jerr;
    json_t *fields = json_loads(fields_json, JSON_DECODE_ANY, &jerr);
    check_fatal(fields != NULL, "%s", jerr.text);
    ps_score_terms t;
    ps_err err = PS_ERR_INIT;
    check_fatal(ps_score_item_terms(&t, fields, &err) == PS_OK, "%s", err.msg);
    char got[1024] = "";
    for (size_t i = 0; i < t.n; i++)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s",
                 i ? " " : "", t.v[i]);
    check(strcmp(got, want) == 0, "item %s = [%s], want [%s]", fields_json, got,
          want);
    ps_score_terms_free(&t);
    json_decref(fields);
}

static void test_terms(void)
{
    /* The spec's examples (section 6.2 and 6.3). */
    check_query("retrieval and information", "retriev inform");
    check_query("My test query", "test queri");
    /* Stop words, twice; apostrophes after the first pass. */
    check_query("the", "");
    check_query("", "");
    check_query("don't stop o'clock", "stop oclock");
    /* Punctuation, including the en dash, and one-letter terms. */
    check_query("small-angle (SANS), x\xe2\x80\x93ray", "small angl san ray");
    /* Numbers in words, then stop words ("and") and stemming. */
    check_query("2 samples", "two sampl");
    check_query("1234", "one thousand two hundr thirty four");
    check_query("23", "twenty thre");
    check_query("30", "thirti");
    check_query("1e5", "one hundr thousand");
    check_query("300K", "300k");
    /* Unicode lower case; only spaces separate words. */
    check_query("CAF\xc3\x89 Caf\xc3\xa9", "caf\xc3\xa9 caf\xc3\xa9");
    check_query("a\tb c", "a\tb");
    /* A query is not JSON text: no escapes. */
    check_query("na\xc3\xafve", "na\xc3\xafv");

    /* Items: json.dumps(fields) with ensure_ascii. */
    check_item("[\"Caf\\u00e9 au lait\"]", "caf u00e9 au lait");
    check_item("[\"Line1\\nLine2\"]", "line1 nline2");
    check_item("[\"x\\u2013y\"]", "");
    check_item("[\"Neutron scattering\", \"neutron\"]",
               "neutron scatter neutron");
    /* Numbers as Python writes them: 300.0, 5, 1e-05. */
    check_item("[300.0, 5, 1e-05]", "three hundr zero five 1e five");
    /* Object keys are text too. */
    check_item("{\"title\": \"Beam\"}", "titl beam");
}

/* ---- scores on a small database ----------------------------------------- */

static char root[256];

typedef struct {
    const char *name;
    const char *terms[4]; /* term names, repeated for a higher count */
} item;

/* Documents of group "dataset" with scoring terms; the last one is of
 * another group (it must not count). */
static const item items[] = {
    {"d1", {"a", "b"}}, {"d2", {"a", "a"}},           {"d3", {"c"}},
    {"d4", {"b", "c"}}, {"d5", {"a", "b", "b", "b"}}, {"d6", {"a", "c"}},
};

static void add_item(ps_xdb *db, const item *it, const char *group)
{
    ps_err err = PS_ERR_INIT;
    ps_xdoc *doc = ps_xdoc_new();
    check_fatal(doc != NULL, "doc");
    char term[64];
    unsigned distinct = 0;
    for (size_t i = 0; i < 4 && it->terms[i]; i++) {
        int seen = 0;
        for (size_t j = 0; j < i; j++)
            seen |= strcmp(it->terms[j], it->terms[i]) == 0;
        distinct += !seen;
        snprintf(term, sizeof term, "%s%s", PS_IDX_SCORE_DATASET, it->terms[i]);
        check(ps_xdoc_add_wdf(doc, term, 1, &err) == PS_OK, "%s", err.msg);
    }
    snprintf(term, sizeof term, "XG:%s", group);
    check(ps_xdoc_add_term(doc, term, &err) == PS_OK, "%s", err.msg);
    check(ps_xdoc_add_wdf(doc, PS_IDX_TERM_SCORE_DISTINCT, distinct, &err) ==
              PS_OK,
          "%s", err.msg);
    check(ps_xdoc_set_data(doc, it->name, strlen(it->name), &err) == PS_OK,
          "%s", err.msg);
    /* Slot 0 sorts the other way round from the names (and docids). */
    char key[8];
    snprintf(key, sizeof key, "%c", 'z' - it->name[1]);
    check(ps_xdoc_set_value(doc, 0, key, 1, &err) == PS_OK, "%s", err.msg);
    snprintf(term, sizeof term, "Q%s", it->name);
    check(ps_xdb_replace(db, term, doc, &err) == PS_OK, "%s", err.msg);
    ps_xdoc_free(doc);
}

typedef struct {
    char name[8];
    double score;
} scored;

/* Run the score query of terms (with filter_term, if any), ranked by
 * relevance with ties by docid, or by slot 0 if by_key; fill out, return
 * the number of hits. */
static size_t run_sorted(ps_xdb *db, const char *const *terms, size_t n,
                         const char *filter_term, int tie_docid, int by_key,
                         uint64_t count, scored *out)
{
    char full[8][32];
    const char *v[8];
    for (size_t i = 0; i < n; i++) {
        snprintf(full[i], sizeof full[i], "%s%s", PS_IDX_SCORE_DATASET,
                 terms[i]);
        v[i] = full[i];
    }
    ps_err err = PS_ERR_INIT;
    ps_xscore_opts o = PS_XSCORE_OPTS_INIT;
    o.terms = v;
    o.nterms = n;
    o.corpus_term = "XG:dataset";
    o.distinct_term = PS_IDX_TERM_SCORE_DISTINCT;
    o.tie_docid = tie_docid;
    ps_xquery *q = ps_xq_score(&o, &err);
    check_fatal(q != NULL, "ps_xq_score: %s", err.msg);
    if (filter_term)
        q = ps_xq_filter(q, ps_xq_term(filter_term));
    ps_xsearch_opts so = PS_XSEARCH_OPTS_INIT;
    ps_xsort key = {0, 0};
    so.count = count;
    if (by_key) {
        so.sort = &key;
        so.nsort = 1;
        so.relevance_first = 1;
    }
    ps_xresult res;
    check_fatal(ps_xdb_search(db, q, &so, &res, &err) == PS_OK, "search: %s",
                err.msg);
    size_t k = 0;
    for (; k < res.n; k++) {
        snprintf(out[k].name, sizeof out[k].name, "%s", res.hits[k].data);
        out[k].score = res.hits[k].weight;
    }
    ps_xresult_free(&res);
    ps_xq_free(q);
    return k;
}

static size_t run(ps_xdb *db, const char *const *terms, size_t n,
                  const char *filter_term, int tie_docid, uint64_t count,
                  scored *out)
{
    return run_sorted(db, terms, n, filter_term, tie_docid, 0, count, out);
}

static void check_hit(const scored *h, const char *name, double want)
{
    check(strcmp(h->name, name) == 0, "hit %s, want %s", h->name, name);
    check(fabs(h->score - want) < 1e-12, "%s scores %.17g, want %.17g", h->name,
          h->score, want);
}

static void test_scores(void)
{
    ps_err err = PS_ERR_INIT;
    char path[300];
    snprintf(path, sizeof path, "%s/db", root);
    ps_xdb *db = NULL;
    check_fatal(ps_xdb_open(&db, path, PS_XDB_WRITE, 0, &err) == PS_OK, "%s",
                err.msg);
    for (size_t i = 0; i < sizeof items / sizeof *items; i++)
        add_item(db, &items[i], "dataset");
    /* Another group: its terms do not count in the dataset group. */
    item other = {"o1", {"a"}};
    ps_xdoc *doc = ps_xdoc_new();
    check(ps_xdoc_add_wdf(doc, PS_IDX_SCORE_DOCUMENT "a", 1, &err) == PS_OK,
          "%s", err.msg);
    check(ps_xdoc_add_term(doc, "XG:document", &err) == PS_OK, "%s", err.msg);
    check(ps_xdoc_set_data(doc, other.name, 2, &err) == PS_OK, "%s", err.msg);
    check(ps_xdb_replace(db, "Qo1", doc, &err) == PS_OK, "%s", err.msg);
    ps_xdoc_free(doc);
    check(ps_xdb_commit(db, &err) == PS_OK, "%s", err.msg);

    /* N = 6 datasets; a is in d1 d2 d5 d6, b in d1 d4 d5, c in d3 d4 d6. */
    const double ia = log10(1 + 6.0 / 4), ib = log10(1 + 6.0 / 3),
                 ic = log10(1 + 6.0 / 3);
    const double r2 = 1 / sqrt(2.0);
    scored h[8];

    /* Two terms: the cosine with (1, 1). A document holding one of the
     * two scores 1/sqrt(2) whatever its weight. */
    const char *ab[] = {"a", "b"};
    size_t n = run(db, ab, 2, NULL, 1, 10, h);
    check_fatal(n == 5, "a b: %zu hits", n);
    /* d1 (a, b once each) and d5 (a once, b three times). */
    double d1 = (ia + ib) / (sqrt(ia * ia + ib * ib) * sqrt(2.0));
    double d5 = (ia + 3 * ib) / (sqrt(ia * ia + 9 * ib * ib) * sqrt(2.0));
    check(d1 > d5, "d1 is the better balanced");
    check_hit(&h[0], "d1", d1);
    check_hit(&h[1], "d5", d5);
    check_hit(&h[2], "d2", r2);
    check_hit(&h[3], "d4", r2);
    check_hit(&h[4], "d6", r2);
    for (size_t i = 0; i < n; i++)
        check(h[i].score > 0 && h[i].score < 1, "(0, 1): %.17g", h[i].score);

    /* Equal weights give a cosine of 1: served as the largest double
     * below 1. b and c have the same frequency: d4 holds both once. */
    const char *bc[] = {"b", "c"};
    n = run(db, bc, 2, NULL, 1, 10, h);
    check(n == 5 && strcmp(h[0].name, "d4") == 0, "b c: d4 first");
    check(h[0].score < 1 && h[0].score > 1 - 1e-15, "cosine 1 -> %.17g",
          h[0].score);

    /* One term: 0.9 * w / max w, w = wdf / distinct * idf. b: d1 1/2,
     * d4 1/2, d5 3/2 (d5 has 2 distinct terms). */
    const char *b[] = {"b"};
    n = run(db, b, 1, NULL, 1, 10, h);
    check_fatal(n == 3, "b: %zu hits", n);
    check_hit(&h[0], "d5", 0.9);
    check_hit(&h[1], "d1", 0.9 * (0.5 * ib) / (1.5 * ib));
    check_hit(&h[2], "d4", 0.3);
    /* a: d2 holds it twice (one distinct term): 2 is the maximum. */
    const char *a[] = {"a"};
    n = run(db, a, 1, NULL, 1, 10, h);
    check(n == 4 && strcmp(h[0].name, "d2") == 0, "a: d2 first");
    check_hit(&h[0], "d2", 0.9);
    check_hit(&h[1], "d1", 0.9 * 0.5 / 2);

    /* A term repeated counts twice in the query vector: q = (2, 1). */
    const char *aab[] = {"a", "a", "b"};
    n = run(db, aab, 3, NULL, 1, 10, h);
    check(n == 5, "a a b: %zu hits", n);
    check_hit(&h[0], "d1",
              (2 * ia + ib) / (sqrt(ia * ia + ib * ib) * sqrt(5.0)));
    /* A query term absent from the index still counts in |q|. */
    const char *bz[] = {"b", "zzz"};
    n = run(db, bz, 2, NULL, 1, 10, h);
    check(n == 3, "b zzz: %zu hits", n);
    for (size_t i = 0; i < n; i++)
        check(fabs(h[i].score - r2) < 1e-15, "b zzz: %s %.17g", h[i].name,
              h[i].score);
    const char *zz[] = {"zzz"};
    check(run(db, zz, 1, NULL, 1, 10, h) == 0, "no document: no hit");
    check(run(db, ab, 0, NULL, 1, 10, h) == 0, "no term: no hit");

    /* c alone (d3, d4, d6 hold it once): the same ranking by docid. */
    const char *ac[] = {"a", "c"};
    n = run(db, ac, 2, "Qd6", 1, 10, h);
    check(n == 1 && strcmp(h[0].name, "d6") == 0, "filtered to d6");
    check_hit(&h[0], "d6", (ia + ic) / (sqrt(ia * ia + ic * ic) * sqrt(2.0)));

    /* Skipping ties changes no page: top 1, 2, 3 of "a b" and "a c"
     * with and without it. */
    for (uint64_t k = 1; k <= 4; k++) {
        scored x[8], y[8];
        size_t nx = run(db, ac, 2, NULL, 1, k, x);
        size_t ny = run(db, ac, 2, NULL, 0, k, y);
        check(nx == ny && nx == k, "top %llu: %zu %zu", (unsigned long long)k,
              nx, ny);
        for (size_t i = 0; i < nx && i < ny; i++)
            check(strcmp(x[i].name, y[i].name) == 0 && x[i].score == y[i].score,
                  "top %llu, hit %zu: %s %s", (unsigned long long)k, i,
                  x[i].name, y[i].name);
    }

    /* Relevance first, ties by a sort key (the stream of documents not in
     * pid order): the 1/sqrt(2) ties of "a b" come in key order. */
    n = run_sorted(db, ab, 2, NULL, 0, 1, 10, h);
    check(n == 5 && strcmp(h[0].name, "d1") == 0 &&
              strcmp(h[1].name, "d5") == 0,
          "relevance first");
    check(n == 5 && strcmp(h[2].name, "d6") == 0 &&
              strcmp(h[3].name, "d4") == 0 && strcmp(h[4].name, "d2") == 0,
          "ties by key: %s %s %s", h[2].name, h[3].name, h[4].name);
    ps_xsearch_opts bad = PS_XSEARCH_OPTS_INIT;
    bad.relevance_first = 1;
    ps_xresult res;
    ps_xquery *all = ps_xq_all();
    check(ps_xdb_search(db, all, &bad, &res, &err) == PS_ERR_INVALID,
          "relevance first needs sort keys");
    ps_xq_free(all);

    /* The scores follow the index: a new dataset changes N and the
     * frequency of b (the cache is per revision). */
    item d7 = {"d7", {"b"}};
    add_item(db, &d7, "dataset");
    check(ps_xdb_commit(db, &err) == PS_OK, "%s", err.msg);
    n = run(db, ab, 2, NULL, 1, 10, h);
    double ia7 = log10(1 + 7.0 / 4), ib7 = log10(1 + 7.0 / 4);
    check(n == 6, "a b after d7: %zu hits", n);
    check_hit(&h[0], "d1", nextafter(1.0, 0.0));
    check_hit(&h[1], "d5",
              (ia7 + 3 * ib7) / (sqrt(ia7 * ia7 + 9 * ib7 * ib7) * sqrt(2.0)));
    ps_xdb_close(db);

    /* Bad arguments. */
    ps_xscore_opts o = PS_XSCORE_OPTS_INIT;
    o.corpus_term = "";
    check(ps_xq_score(&o, &err) == NULL && err.code == PS_ERR_INVALID,
          "no corpus term");
    check(ps_xq_score(NULL, &err) == NULL && err.code == PS_ERR_INVALID,
          "no options");
}

int main(void)
{
    char *d = check_tmpdir("score");
    check_fatal(d != NULL, "temp dir");
    snprintf(root, sizeof root, "%s", d);
    test_stopwords();
    test_porter();
    test_num2words();
    test_terms();
    test_scores();
    check_rmtree(root);
    return check_report();
}
