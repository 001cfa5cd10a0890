/*
 * test_xapian_shim.c: unit tests of indexer/xapian-shim.h, the C face of
 * Xapian. They check what the index relies on, each against a real
 * database in a temporary directory: documents replaced and deleted by id
 * term, commit and reopen visibility, metadata, stemmed text search,
 * phrases that stay inside one field, boolean filters that do not weigh,
 * value ranges and sorting with paging, exact counts, over-long terms,
 * error codes (missing database, second writer, parse error, modified
 * revision, out of memory) and compaction; the search endpoint's words
 * (STEM_SOME text with a ceiling, the user query parser with its errors
 * and title boost) and snippets (marks, escaping, the options they
 * refuse). They do not test the index schema (test_index.c does).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "check.h"
#include "xapian-shim.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The temporary directory of this run (check_tmpdir's buffer is reused). */
static char root[256];

/* A path under root. */
static const char *at(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", root, name);
    return buf;
}

/* Open path or stop the test. (check_fatal evaluates its condition twice,
 * so the call must not be inside it.) */
static ps_xdb *open_db(const char *path, ps_xdb_mode mode, unsigned flags)
{
    ps_err err = PS_ERR_INIT;
    ps_xdb *db = NULL;
    ps_status st = ps_xdb_open(&db, path, mode, flags, &err);
    check_fatal(st == PS_OK, "open %s: %s", path, err.msg);
    return db;
}

/* Value slots of the test documents. */
enum { SLOT_NUM = 0, SLOT_YEAR = 1, SLOT_WORD = 2 };

/* One test document: its id is "Q<name>" and its data is name. */
typedef struct {
    const char *name;
    const char *title;
    const char *body;
    const char *facility;
    double year;
    const char *word;
} doc_spec;

static const doc_spec corpus[] = {
    {"d1", "Neutron scattering on magnets",
     "Small angle neutron scattering of magnetic nanoparticles", "XFACILITYill",
     2001, "alpha"},
    {"d2", "X-ray diffraction study",
     "Powder diffraction with scattered x-rays", "XFACILITYesrf", 2010, "beta"},
    {"d3", "Beamline small", "angle measurements of neutrons", "XFACILITYill",
     2020, "gamma"},
    {"d4", "Tomography", "Imaging of fossils", "XFACILITYpsi", -3.5, "beta"},
};
#define NCORPUS (sizeof corpus / sizeof corpus[0])

/* Build the document for spec number i (1-based document number n). */
static ps_xdoc *make_doc(const doc_spec *s, int n)
{
    ps_err err = PS_ERR_INIT;
    ps_xdoc *doc = ps_xdoc_new();
    check_fatal(doc != NULL, "ps_xdoc_new");
    check(ps_xdoc_index_text(doc, s->title, 1, "S", &err) == PS_OK, "%s",
          err.msg);
    check(ps_xdoc_index_text(doc, s->title, 2, "", &err) == PS_OK, "%s",
          err.msg);
    check(ps_xdoc_index_text(doc, s->body, 1, "", &err) == PS_OK, "%s",
          err.msg);
    check(ps_xdoc_add_term(doc, s->facility, &err) == PS_OK, "%s", err.msg);
    check(ps_xdoc_set_value_num(doc, SLOT_NUM, n, &err) == PS_OK, "%s",
          err.msg);
    check(ps_xdoc_set_value_num(doc, SLOT_YEAR, s->year, &err) == PS_OK, "%s",
          err.msg);
    check(ps_xdoc_set_value(doc, SLOT_WORD, s->word, strlen(s->word), &err) ==
              PS_OK,
          "%s", err.msg);
    check(ps_xdoc_set_data(doc, s->name, strlen(s->name), &err) == PS_OK, "%s",
          err.msg);
    return doc;
}

/* Add or replace a document by its id term. */
static void put_doc(ps_xdb *db, const doc_spec *s, int n)
{
    ps_err err = PS_ERR_INIT;
    char id[64];
    snprintf(id, sizeof id, "Q%s", s->name);
    ps_xdoc *doc = make_doc(s, n);
    check(ps_xdb_replace(db, id, doc, &err) == PS_OK, "replace %s: %s", id,
          err.msg);
    ps_xdoc_free(doc);
}

/* The data of the hits, comma-separated, in hit order. */
static const char *hit_names(const ps_xresult *res)
{
    static char buf[4096];
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < res->n && len < sizeof buf; i++) {
        int w = snprintf(buf + len, sizeof buf - len, "%s%s", i ? "," : "",
                         res->hits[i].data);
        if (w < 0)
            break;
        len += (size_t)w;
    }
    return buf;
}

/* Run q (freed here) sorted by document number with exact counts; return
 * the names of all hits ("" if none, "(error)" on failure). */
static const char *match(ps_xdb *db, ps_xquery *q)
{
    static char names[4096];
    ps_err err = PS_ERR_INIT;
    ps_xsort by_num = {SLOT_NUM, 0};
    ps_xsearch_opts opts = PS_XSEARCH_OPTS_INIT;
    ps_xresult res;
    opts.sort = &by_num;
    opts.nsort = 1;
    opts.count = 1000;
    opts.check_at_least = UINT64_MAX;
    check(q != NULL, "query is NULL");
    if (!q)
        return "(error)";
    ps_status st = ps_xdb_search(db, q, &opts, &res, &err);
    ps_xq_free(q);
    check(st == PS_OK, "search: %s", err.msg);
    if (st != PS_OK)
        return "(error)";
    check(res.matches_lower == res.n && res.matches_upper == res.n,
          "counts %llu..%llu for %zu hits",
          (unsigned long long)res.matches_lower,
          (unsigned long long)res.matches_upper, res.n);
    snprintf(names, sizeof names, "%s", hit_names(&res));
    ps_xresult_free(&res);
    return names;
}

/* Parse text as user input (no error expected). */
static ps_xquery *text_q(ps_xdb *db, const char *text, const char *prefix)
{
    ps_err err = PS_ERR_INIT;
    ps_xquery *q = ps_xq_text(db, text, prefix, &err);
    check(q != NULL, "parse '%s': %s", text, err.msg);
    return q;
}

static ps_xquery *num_range(unsigned slot, const double *lo, const double *hi)
{
    char lob[32], hib[32];
    size_t lol = lo ? ps_xvalue_num(*lo, lob) : 0;
    size_t hil = hi ? ps_xvalue_num(*hi, hib) : 0;
    return ps_xq_range(slot, lo ? lob : NULL, lol, hi ? hib : NULL, hil);
}

static ps_xquery *str_range(unsigned slot, const char *lo, const char *hi)
{
    return ps_xq_range(slot, lo, lo ? strlen(lo) : 0, hi, hi ? strlen(hi) : 0);
}

/* Open the shared corpus database read-only. */
static ps_xdb *open_corpus(void)
{
    char path[300];
    return open_db(at(path, sizeof path, "corpus"), PS_XDB_READ, 0);
}

/* ---- tests -------------------------------------------------------------- */

static void test_null_handling(void)
{
    ps_err err = PS_ERR_INIT;
    ps_xdb_close(NULL);
    ps_xq_free(NULL);
    ps_xdoc_free(NULL);
    ps_xresult_free(NULL);
    check(ps_xq_describe(NULL) == NULL, "describe(NULL)");
    check(ps_xdb_doccount(NULL) == 0, "doccount(NULL)");
    check(ps_xdb_revision(NULL) == 0, "revision(NULL)");
    check(ps_xdb_open(NULL, "x", PS_XDB_READ, 0, &err) == PS_ERR_INVALID,
          "open without out");
    /* A failed open resets *out to NULL. */
    ps_xdb *db = (ps_xdb *)&err;
    check(ps_xdb_open(&db, NULL, PS_XDB_READ, 0, &err) == PS_ERR_INVALID &&
              db == NULL,
          "open without path");
    check(ps_xdb_commit(NULL, &err) == PS_ERR_INVALID, "commit(NULL)");
    /* A NULL err is allowed everywhere. */
    check(ps_xdb_commit(NULL, NULL) == PS_ERR_INVALID, "commit(NULL, NULL)");
    ps_xresult res;
    check(ps_xdb_search(NULL, NULL, NULL, &res, &err) == PS_ERR_INVALID &&
              res.n == 0 && res.hits == NULL,
          "search(NULL) leaves an empty result");
}

static void test_term_shaping(void)
{
    char out[246], again[246], big[400], big2[400];
    check_str(ps_xterm_make("XFACILITYill", out, sizeof out), "XFACILITYill");

    /* 245 bytes is Xapian's limit: still identity. */
    memset(big, 'a', 245);
    big[245] = '\0';
    ps_xterm_make(big, out, sizeof out);
    check(strcmp(out, big) == 0, "245-byte term changed");

    /* Longer: 200 bytes, '#', hash; 245 bytes in all. */
    memset(big, 'u', 300);
    big[300] = '\0';
    ps_xterm_make(big, out, sizeof out);
    check(strlen(out) == 245, "shaped length %zu", strlen(out));
    check(strncmp(out, big, 200) == 0 && out[200] == '#',
          "shaped term keeps the first 200 bytes then '#'");
    int hex = 1;
    for (size_t i = 201; i < 245; i++)
        if (!strchr("0123456789abcdef", out[i]))
            hex = 0;
    check(hex, "hash part is lower-case hex: %s", out + 201);
    check(strcmp(ps_xterm_make(out, again, sizeof again), out) == 0,
          "shaping is idempotent");

    /* Same first 200 bytes, different tail: different terms. */
    memcpy(big2, big, sizeof big2);
    big2[280] = 'v';
    ps_xterm_make(big2, again, sizeof again);
    check(strcmp(out, again) != 0, "long terms differing late stay distinct");

    /* Too small a buffer gives "" rather than a wrong term. */
    char small[10];
    check_str(ps_xterm_make("abcdefghijklmnop", small, sizeof small), "");
}

static void test_value_num(void)
{
    static const double v[] = {-1e9, -3.5, 0, 1.5, 2001, 2010, 1e12};
    char a[32], b[32];
    for (size_t i = 0; i + 1 < sizeof v / sizeof v[0]; i++) {
        size_t la = ps_xvalue_num(v[i], a);
        size_t lb = ps_xvalue_num(v[i + 1], b);
        check(la <= 18 && lb <= 18, "length %zu %zu", la, lb);
        size_t m = la < lb ? la : lb;
        int c = memcmp(a, b, m);
        check(c < 0 || (c == 0 && la < lb),
              "sortable order broken between %g and %g", v[i], v[i + 1]);
    }
}

static void test_open_missing(void)
{
    char path[300];
    ps_err err = PS_ERR_INIT;
    ps_xdb *db = NULL;
    check(ps_xdb_open(&db, at(path, sizeof path, "missing"), PS_XDB_READ, 0,
                      &err) == PS_ERR_NOTFOUND,
          "missing database: %d %s", err.code, err.msg);
    check(db == NULL, "out is NULL on failure");
    check(err.code == PS_ERR_NOTFOUND && strstr(err.msg, path) != NULL,
          "message names the path: %s", err.msg);

    /* An empty directory is no database either. */
    ps_err_clear(&err);
    check(ps_xdb_open(&db, root, PS_XDB_READ, 0, &err) == PS_ERR_NOTFOUND,
          "empty directory: %d %s", err.code, err.msg);
    check(err.msg[0] != '\0', "message given");

    /* Bad mode and flags. */
    check(ps_xdb_open(&db, path, (ps_xdb_mode)7, 0, &err) == PS_ERR_INVALID,
          "bad mode");
    check(ps_xdb_open(&db, path, PS_XDB_WRITE, 0x100, &err) == PS_ERR_INVALID,
          "bad flags");
}

/* Build the corpus used by the search tests. */
static void build_corpus(void)
{
    char path[300];
    ps_err err = PS_ERR_INIT;
    ps_xdb *db = NULL;
    db = open_db(at(path, sizeof path, "corpus"), PS_XDB_OVERWRITE, 0);
    for (size_t i = 0; i < NCORPUS; i++)
        put_doc(db, &corpus[i], (int)i + 1);
    check(ps_xdb_commit(db, &err) == PS_OK, "commit: %s", err.msg);
    check(ps_xdb_doccount(db) == NCORPUS, "corpus doccount");
    ps_xdb_close(db);
}

static void test_write_replace_delete(void)
{
    char path[300];
    ps_err err = PS_ERR_INIT;
    ps_xdb *w = NULL, *r = NULL;
    uint64_t n = 0;
    w = open_db(at(path, sizeof path, "rw"), PS_XDB_WRITE, 0);
    for (size_t i = 0; i < NCORPUS; i++)
        put_doc(w, &corpus[i], (int)i + 1);
    check(ps_xdb_doccount(w) == 4, "4 docs before commit (writer view)");

    /* Replacing d1 twice leaves one d1, with the new content. */
    doc_spec d1 = corpus[0];
    d1.title = "Replaced title";
    d1.body = "Completely different words";
    put_doc(w, &d1, 1);
    put_doc(w, &d1, 1);
    check(ps_xdb_doccount(w) == 4, "doccount %llu after replacing twice",
          (unsigned long long)ps_xdb_doccount(w));
    check(ps_xdb_termfreq(w, "Qd1", &n, &err) == PS_OK && n == 1,
          "one document with id Qd1 (%llu)", (unsigned long long)n);
    check(ps_xdb_termfreq(w, "magnet", &n, &err) == PS_OK && n == 0,
          "old text of d1 gone (%llu)", (unsigned long long)n);
    check(ps_xdb_termfreq(w, "differ", &n, &err) == PS_OK && n == 1,
          "new text of d1 indexed, stemmed (%llu)", (unsigned long long)n);

    /* ps_xdb_replace added the id term itself. */
    check_str(match(w, ps_xq_term("Qd1")), "d1");

    /* Delete; deleting nothing is fine. */
    check(ps_xdb_delete(w, "Qd2", &err) == PS_OK, "delete: %s", err.msg);
    check(ps_xdb_delete(w, "Qnothing", &err) == PS_OK, "delete nothing: %s",
          err.msg);
    check(ps_xdb_doccount(w) == 3, "3 docs after delete");
    check(ps_xdb_commit(w, &err) == PS_OK, "commit: %s", err.msg);
    uint64_t rev1 = ps_xdb_revision(w);

    /* A reader sees the committed state and stays on its revision. */
    r = open_db(path, PS_XDB_READ, 0);
    check(ps_xdb_doccount(r) == 3, "reader sees 3");
    check(ps_xdb_revision(r) == rev1, "reader revision %llu, writer %llu",
          (unsigned long long)ps_xdb_revision(r), (unsigned long long)rev1);
    check_str(match(r, ps_xq_all()), "d1,d3,d4");

    /* Read handles refuse writes. */
    ps_xdoc *doc = ps_xdoc_new();
    check(ps_xdb_replace(r, "Qx", doc, &err) == PS_ERR_INVALID,
          "replace on a reader");
    check(ps_xdb_add(r, doc, &err) == PS_ERR_INVALID, "add on a reader");
    check(ps_xdb_delete(r, "Qd1", &err) == PS_ERR_INVALID, "delete on reader");
    check(ps_xdb_commit(r, &err) == PS_ERR_INVALID, "commit on a reader");
    check(ps_xdb_set_metadata(r, "k", "v", &err) == PS_ERR_INVALID,
          "set_metadata on a reader");
    ps_xdoc_free(doc);

    /* Uncommitted changes are invisible; committed ones after reopen. */
    check(ps_xdb_delete(w, "Qd3", &err) == PS_OK, "delete d3");
    int changed = -1;
    check(ps_xdb_reopen(r, &changed, &err) == PS_OK && changed == 0,
          "reopen before commit: changed=%d", changed);
    check(ps_xdb_doccount(r) == 3, "uncommitted delete not seen");
    check(ps_xdb_commit(w, &err) == PS_OK, "commit: %s", err.msg);
    check(ps_xdb_revision(w) == rev1 + 1, "commit makes one revision");
    check(ps_xdb_doccount(r) == 3, "reader keeps its snapshot until reopen");
    check(ps_xdb_reopen(r, &changed, &err) == PS_OK && changed == 1,
          "reopen after commit: changed=%d", changed);
    check(ps_xdb_doccount(r) == 2, "reader sees the delete after reopen");
    check(ps_xdb_revision(r) == rev1 + 1, "reader moved to the new revision");
    check(ps_xdb_reopen(r, NULL, &err) == PS_OK, "reopen with NULL changed");
    check(ps_xdb_reopen(r, &changed, &err) == PS_OK && changed == 0,
          "second reopen: nothing changed");
    check_str(match(r, ps_xq_all()), "d1,d4");

    /* ps_xdb_add adds without looking for an existing document. */
    doc = make_doc(&corpus[3], 4);
    check(ps_xdb_add(w, doc, &err) == PS_OK, "add: %s", err.msg);
    ps_xdoc_free(doc);
    check(ps_xdb_doccount(w) == 3, "add makes a new document");

    /* Closing a writer commits what is pending. */
    ps_xdb_close(w);
    check(ps_xdb_reopen(r, &changed, &err) == PS_OK && changed == 1,
          "close committed: changed=%d", changed);
    check(ps_xdb_doccount(r) == 3, "reader sees the document added before "
                                   "close");
    ps_xdb_close(r);

    /* OVERWRITE starts from an empty database. */
    check(ps_xdb_open(&w, path, PS_XDB_OVERWRITE, 0, &err) == PS_OK,
          "overwrite: %s", err.msg);
    check(ps_xdb_doccount(w) == 0, "overwritten database is empty");
    ps_xdb_close(w);
}

static void test_metadata(void)
{
    char path[300];
    ps_err err = PS_ERR_INIT;
    ps_xdb *w = NULL, *r = NULL;
    char *v = NULL;
    w = open_db(at(path, sizeof path, "meta"), PS_XDB_WRITE, 0);
    check(ps_xdb_set_metadata(w, "last_seq", "12345", &err) == PS_OK, "set: %s",
          err.msg);
    check(ps_xdb_set_metadata(w, "", "x", &err) == PS_ERR_INVALID,
          "empty key refused");
    check(ps_xdb_commit(w, &err) == PS_OK, "commit: %s", err.msg);
    check(ps_xdb_set_metadata(w, "pending", "yes", &err) == PS_OK, "set: %s",
          err.msg);

    r = open_db(path, PS_XDB_READ, 0);
    check(ps_xdb_get_metadata(r, "last_seq", &v, &err) == PS_OK, "get: %s",
          err.msg);
    check_str(v, "12345");
    ps_free(v);
    check(ps_xdb_get_metadata(r, "absent", &v, &err) == PS_OK, "get: %s",
          err.msg);
    check_str(v, "");
    ps_free(v);
    check(ps_xdb_get_metadata(r, "pending", &v, &err) == PS_OK, "get: %s",
          err.msg);
    /* Not committed yet. */
    check_str(v, "");
    ps_free(v);
    ps_xdb_close(r);

    /* Setting "" deletes; the change shows after commit. */
    check(ps_xdb_set_metadata(w, "last_seq", "", &err) == PS_OK, "clear");
    check(ps_xdb_commit(w, &err) == PS_OK, "commit: %s", err.msg);
    r = open_db(path, PS_XDB_READ, 0);
    check(ps_xdb_get_metadata(r, "pending", &v, &err) == PS_OK, "get");
    check_str(v, "yes");
    ps_free(v);
    check(ps_xdb_get_metadata(r, "last_seq", &v, &err) == PS_OK, "get");
    check_str(v, "");
    ps_free(v);
    v = (char *)"x";
    check(ps_xdb_get_metadata(r, NULL, &v, &err) == PS_ERR_INVALID && v == NULL,
          "NULL key");
    ps_xdb_close(r);
    ps_xdb_close(w);
}

static void test_text_search(void)
{
    ps_xdb *db = open_corpus();
    ps_err err = PS_ERR_INIT;

    /* Stemming both ways: "scattering" finds "scattered", "neutrons"
     * finds "Neutron" and "neutron" finds "neutrons". */
    check_str(match(db, text_q(db, "scattering", "")), "d1,d2");
    check_str(match(db, text_q(db, "neutrons", "")), "d1,d3");
    check_str(match(db, text_q(db, "neutron", "")), "d1,d3");
    check_str(match(db, text_q(db, "NEUTRON", "")), "d1,d3");

    /* Default operator AND. */
    check_str(match(db, text_q(db, "neutron magnetic", "")), "d1");
    /* Boolean operators, love/hate, pure NOT, wildcards. */
    check_str(match(db, text_q(db, "diffraction OR tomography", "")), "d2,d4");
    check_str(match(db, text_q(db, "scattering -powder", "")), "d1");
    check_str(match(db, text_q(db, "NOT neutron", "")), "d2,d4");
    check_str(match(db, text_q(db, "neutr*", "")), "d1,d3");
    /* Blank text matches everything. */
    check_str(match(db, text_q(db, "", "")), "d1,d2,d3,d4");
    check_str(match(db, text_q(db, "  \t", "")), "d1,d2,d3,d4");
    /* Works without a database too. */
    check_str(match(db, text_q(NULL, "fossils", "")), "d4");

    /* Phrases: word order matters, and a phrase never spans two fields
     * (d3 has "small" at the end of its title and "angle" at the start of
     * its body). */
    check_str(match(db, text_q(db, "small angle", "")), "d1,d3");
    check_str(match(db, text_q(db, "\"small angle\"", "")), "d1");
    check_str(match(db, text_q(db, "\"angle small\"", "")), "");
    check_str(match(db, text_q(db, "\"small angle neutrons scattering\"", "")),
              "d1");

    /* A default prefix searches one field: only d2 has "diffraction" in
     * its title (S), though d2's body mentions it too; "scattering" is in
     * d1's title but only in d2's body. */
    check_str(match(db, text_q(db, "diffraction", "S")), "d2");
    check_str(match(db, text_q(db, "scattering", "S")), "d1");

    /* Relevance: hits come best first, weights are positive and
     * max_weight is the best one. */
    ps_xsearch_opts opts = PS_XSEARCH_OPTS_INIT;
    ps_xresult res;
    ps_xquery *q = text_q(db, "scattering", "");
    check(ps_xdb_search(db, q, &opts, &res, &err) == PS_OK, "search: %s",
          err.msg);
    check(res.n == 2, "two hits");
    if (res.n == 2) {
        check(res.hits[0].weight > 0 && res.hits[1].weight > 0,
              "weights positive");
        check(res.hits[0].weight >= res.hits[1].weight, "best first");
        check(res.max_weight == res.hits[0].weight, "max_weight %g vs %g",
              res.max_weight, res.hits[0].weight);
        /* d1 has "scattering" in its title (weight 2) and body. */
        check_str(res.hits[0].data, "d1");
        check(res.hits[0].data_len == 2, "data_len");
    }
    double w_d1 = res.n ? res.hits[0].weight : -1;
    ps_xresult_free(&res);
    check(res.hits == NULL && res.n == 0, "ps_xresult_free resets");

    /* A filter restricts without changing the weights. */
    ps_xquery *f =
        ps_xq_filter(text_q(db, "scattering", ""), ps_xq_term("XFACILITYill"));
    check(ps_xdb_search(db, f, &opts, &res, &err) == PS_OK, "search: %s",
          err.msg);
    check(res.n == 1 && strcmp(res.hits[0].data, "d1") == 0,
          "filter keeps d1 only: %s", hit_names(&res));
    check(res.n == 1 && res.hits[0].weight == w_d1,
          "filter does not change the weight");
    ps_xresult_free(&res);
    ps_xq_free(f);
    ps_xq_free(q);

    /* Terms are boolean: they match but do not weigh. */
    q = ps_xq_term("XFACILITYill");
    check(ps_xdb_search(db, q, &opts, &res, &err) == PS_OK, "search: %s",
          err.msg);
    check_str(hit_names(&res), "d1,d3");
    check(res.n == 2 && res.hits[0].weight == 0 && res.hits[1].weight == 0 &&
              res.max_weight == 0,
          "term queries have weight 0");
    ps_xresult_free(&res);
    ps_xq_free(q);

    /* The same term ANDed into a text query adds nothing to the weight. */
    ps_xquery *kids[2] = {text_q(db, "scattering", ""),
                          ps_xq_term("XFACILITYill")};
    q = ps_xq_and(kids, 2);
    check(ps_xdb_search(db, q, &opts, &res, &err) == PS_OK, "search: %s",
          err.msg);
    check(res.n == 1 && res.hits[0].weight == w_d1,
          "AND with a term keeps the text weight");
    ps_xresult_free(&res);
    ps_xq_free(q);
    ps_xdb_close(db);
}

static void test_boolean_queries(void)
{
    ps_xdb *db = open_corpus();
    check_str(match(db, ps_xq_all()), "d1,d2,d3,d4");
    check_str(match(db, ps_xq_none()), "");
    check_str(match(db, ps_xq_term("XFACILITYesrf")), "d2");
    check_str(match(db, ps_xq_term("XFACILITYnone")), "");
    check_str(match(db, ps_xq_term("")), "");

    ps_xquery *o[2] = {ps_xq_term("XFACILITYill"), ps_xq_term("XFACILITYpsi")};
    check_str(match(db, ps_xq_or(o, 2)), "d1,d3,d4");
    ps_xquery *a[2] = {ps_xq_term("XFACILITYill"), text_q(db, "angle", "")};
    check_str(match(db, ps_xq_and(a, 2)), "d1,d3");
    check_str(match(db, ps_xq_and_not(ps_xq_all(), ps_xq_term("XFACILITYill"))),
              "d2,d4");
    check_str(match(db, ps_xq_filter(ps_xq_all(), ps_xq_term("Qd3"))), "d3");

    /* No children: AND is everything, OR is nothing. */
    check_str(match(db, ps_xq_and(NULL, 0)), "d1,d2,d3,d4");
    check_str(match(db, ps_xq_or(NULL, 0)), "");
    ps_xquery *one[1] = {ps_xq_term("Qd4")};
    check_str(match(db, ps_xq_or(one, 1)), "d4");
    ps_xdb_close(db);
}

static void test_composite_null_child(void)
{
    /* Every child is freed (ASan's leak check proves it). */
    ps_xquery *kids[3] = {ps_xq_term("a"), NULL,
                          ps_xq_text(NULL, "b c", "", NULL)};
    check(ps_xq_and(kids, 3) == NULL, "AND with a NULL child");
    ps_xquery *kids2[2] = {ps_xq_all(), NULL};
    check(ps_xq_or(kids2, 2) == NULL, "OR with a NULL child");
    check(ps_xq_and_not(ps_xq_term("a"), NULL) == NULL, "AND_NOT NULL b");
    check(ps_xq_and_not(NULL, ps_xq_term("b")) == NULL, "AND_NOT NULL a");
    check(ps_xq_filter(NULL, ps_xq_term("b")) == NULL, "FILTER NULL a");
    check(ps_xq_filter(ps_xq_term("a"), NULL) == NULL, "FILTER NULL b");
    check(ps_xq_filter(NULL, NULL) == NULL, "FILTER NULL NULL");
    check(ps_xq_and(NULL, 2) == NULL, "AND with no array but n=2");

    /* Nested composites steal all the way down. */
    ps_xquery *inner[2] = {ps_xq_term("x"), ps_xq_term("y")};
    ps_xquery *outer[2] = {ps_xq_or(inner, 2), NULL};
    check(ps_xq_and(outer, 2) == NULL, "nested");

    /* Descriptions show the query. */
    ps_xquery *t[2] = {ps_xq_term("XFACILITYill"), ps_xq_term("Qd1")};
    ps_xquery *q = ps_xq_or(t, 2);
    char *d = ps_xq_describe(q);
    check(d && strstr(d, "XFACILITYill") && strstr(d, "Qd1") && strstr(d, "OR"),
          "describe: %s", d ? d : "(null)");
    ps_free(d);
    ps_xq_free(q);
}

static void test_ranges(void)
{
    ps_xdb *db = open_corpus();
    double y2001 = 2001, y2005 = 2005, y2010 = 2010, y2020 = 2020;
    /* Years: d1 2001, d2 2010, d3 2020, d4 -3.5. */
    check_str(match(db, num_range(SLOT_YEAR, &y2005, &y2020)), "d2,d3");
    check_str(match(db, num_range(SLOT_YEAR, &y2010, NULL)), "d2,d3");
    check_str(match(db, num_range(SLOT_YEAR, NULL, &y2001)), "d1,d4");
    check_str(match(db, num_range(SLOT_YEAR, &y2001, &y2001)), "d1");
    check_str(match(db, num_range(SLOT_YEAR, NULL, NULL)), "d1,d2,d3,d4");
    check_str(match(db, num_range(SLOT_YEAR, &y2020, &y2005)), "");
    /* Strings: alpha, beta, gamma, beta. */
    check_str(match(db, str_range(SLOT_WORD, "b", "c")), "d2,d4");
    check_str(match(db, str_range(SLOT_WORD, "gamma", NULL)), "d3");
    check_str(match(db, str_range(SLOT_WORD, NULL, "alpha")), "d1");
    check_str(match(db, str_range(SLOT_WORD, "beta", "beta")), "d2,d4");
    /* Combined with text. */
    check_str(match(db, ps_xq_filter(text_q(db, "neutron", ""),
                                     num_range(SLOT_YEAR, &y2010, NULL))),
              "d3");
    ps_xdb_close(db);
}

/* Search all documents sorted as given; return the hit names. */
static const char *sorted(ps_xdb *db, const ps_xsort *sort, size_t nsort,
                          uint64_t offset, uint64_t count)
{
    ps_err err = PS_ERR_INIT;
    ps_xsearch_opts opts = PS_XSEARCH_OPTS_INIT;
    ps_xresult res;
    static char names[256];
    opts.sort = sort;
    opts.nsort = nsort;
    opts.offset = offset;
    opts.count = count;
    opts.check_at_least = UINT64_MAX;
    ps_xquery *q = ps_xq_all();
    ps_status st = ps_xdb_search(db, q, &opts, &res, &err);
    ps_xq_free(q);
    check(st == PS_OK, "search: %s", err.msg);
    check(res.matches_lower == NCORPUS && res.matches_upper == NCORPUS,
          "total stays %zu whatever the page", NCORPUS);
    snprintf(names, sizeof names, "%s", hit_names(&res));
    ps_xresult_free(&res);
    return names;
}

static void test_sort_and_paging(void)
{
    ps_xdb *db = open_corpus();
    ps_xsort year_up = {SLOT_YEAR, 0}, year_down = {SLOT_YEAR, 1};
    ps_xsort word_up = {SLOT_WORD, 0}, word_down = {SLOT_WORD, 1};

    check_str(sorted(db, &year_up, 1, 0, 10), "d4,d1,d2,d3");
    check_str(sorted(db, &year_up, 1, 0, 2), "d4,d1");
    check_str(sorted(db, &year_up, 1, 2, 2), "d2,d3");
    check_str(sorted(db, &year_up, 1, 4, 2), "");
    check_str(sorted(db, &year_down, 1, 0, 10), "d3,d2,d1,d4");
    check_str(sorted(db, &year_down, 1, 1, 2), "d2,d1");
    check_str(sorted(db, &year_down, 1, 3, 5), "d4");
    check_str(sorted(db, &year_up, 1, UINT64_MAX, UINT64_MAX), "");

    /* Ties (d2 and d4 are both "beta") go by ascending docid, in both
     * directions. */
    check_str(sorted(db, &word_up, 1, 0, 10), "d1,d2,d4,d3");
    check_str(sorted(db, &word_down, 1, 0, 10), "d3,d2,d4,d1");
    /* A second key breaks the tie: beta by year ascending, d4 first. */
    ps_xsort two[2] = {{SLOT_WORD, 0}, {SLOT_YEAR, 0}};
    check_str(sorted(db, two, 2, 0, 10), "d1,d4,d2,d3");
    two[1].descending = 1;
    check_str(sorted(db, two, 2, 0, 10), "d1,d2,d4,d3");

    /* Bad options. */
    ps_err err = PS_ERR_INIT;
    ps_xresult res;
    ps_xquery *q = ps_xq_all();
    ps_xsearch_opts opts = PS_XSEARCH_OPTS_INIT;
    opts.version = 99;
    check(ps_xdb_search(db, q, &opts, &res, &err) == PS_ERR_INVALID,
          "unknown version");
    opts.version = PS_XSEARCH_OPTS_VERSION;
    opts.nsort = 1;
    check(ps_xdb_search(db, q, &opts, &res, &err) == PS_ERR_INVALID,
          "nsort without sort");
    /* NULL opts means the defaults: 10 hits by relevance. */
    check(ps_xdb_search(db, q, NULL, &res, &err) == PS_OK && res.n == 4,
          "NULL opts");
    ps_xresult_free(&res);
    ps_xq_free(q);
    ps_xdb_close(db);
}

static void test_counts(void)
{
    char path[300];
    ps_err err = PS_ERR_INIT;
    ps_xdb *w = NULL;
    w = open_db(at(path, sizeof path, "counts"), PS_XDB_OVERWRITE, PS_XDB_BULK);
    for (int i = 0; i < 1000; i++) {
        ps_xdoc *doc = ps_xdoc_new();
        char data[16];
        snprintf(data, sizeof data, "n%d", i);
        if (i % 2 == 0)
            ps_xdoc_add_term(doc, "Xtwo", &err);
        if (i % 3 == 0)
            ps_xdoc_add_term(doc, "Xthree", &err);
        ps_xdoc_set_data(doc, data, strlen(data), &err);
        check(ps_xdb_add(w, doc, &err) == PS_OK, "add: %s", err.msg);
        ps_xdoc_free(doc);
    }
    check(ps_xdb_commit(w, &err) == PS_OK, "commit: %s", err.msg);
    ps_xdb_close(w);

    ps_xdb *r = NULL;
    r = open_db(path, PS_XDB_READ, 0);
    check(ps_xdb_doccount(r) == 1000, "bulk build kept every document");
    ps_xquery *k[2] = {ps_xq_term("Xtwo"), ps_xq_term("Xthree")};
    ps_xquery *q = ps_xq_and(k, 2);
    ps_xsearch_opts opts = PS_XSEARCH_OPTS_INIT;
    ps_xresult res;

    /* Without check_at_least the counts are only bounds. */
    opts.count = 1;
    check(ps_xdb_search(r, q, &opts, &res, &err) == PS_OK, "search: %s",
          err.msg);
    check(res.matches_lower <= 167 && res.matches_upper >= 167 &&
              res.matches_estimated >= res.matches_lower &&
              res.matches_estimated <= res.matches_upper,
          "bounds %llu <= 167 <= %llu", (unsigned long long)res.matches_lower,
          (unsigned long long)res.matches_upper);
    ps_xresult_free(&res);

    /* With check_at_least = UINT64_MAX the total is exact. */
    opts.count = 5;
    opts.check_at_least = UINT64_MAX;
    check(ps_xdb_search(r, q, &opts, &res, &err) == PS_OK, "search: %s",
          err.msg);
    check(res.n == 5, "5 hits");
    check(res.matches_lower == 167 && res.matches_estimated == 167 &&
              res.matches_upper == 167,
          "exact 167: %llu %llu %llu", (unsigned long long)res.matches_lower,
          (unsigned long long)res.matches_estimated,
          (unsigned long long)res.matches_upper);
    /* Documents come in docid order: 0, 6, 12, ... */
    check_str(hit_names(&res), "n0,n6,n12,n18,n24");
    ps_xresult_free(&res);

    /* count 0: only the counts. */
    opts.count = 0;
    check(ps_xdb_search(r, q, &opts, &res, &err) == PS_OK, "search: %s",
          err.msg);
    check(res.n == 0 && res.hits == NULL, "no hits for count 0");
    check(res.matches_lower == 167 && res.matches_upper == 167,
          "exact counts for count 0");
    ps_xresult_free(&res);

    /* Out of memory while copying hits: PS_ERR_NOMEM, an empty result and
     * nothing leaked, at every allocation. */
    opts.count = 3;
    ps_status st = PS_ERR_NOMEM;
    int failures = 0;
    for (long n = 0; st == PS_ERR_NOMEM && n < 20; n++) {
        ps_alloc_fail_after(n);
        st = ps_xdb_search(r, q, &opts, &res, &err);
        ps_alloc_fail_after(-1);
        if (st == PS_ERR_NOMEM) {
            failures++;
            check(res.n == 0 && res.hits == NULL, "empty result on NOMEM");
        }
    }
    check(st == PS_OK && res.n == 3, "search succeeds once memory is back");
    check(failures == 4, "one failure per allocation (hits + 3 data): %d",
          failures);
    ps_xresult_free(&res);
    char *v = NULL;
    ps_alloc_fail_after(0);
    st = ps_xdb_get_metadata(r, "k", &v, &err);
    ps_alloc_fail_after(-1);
    check(st == PS_ERR_NOMEM && v == NULL, "get_metadata out of memory");

    ps_xq_free(q);
    ps_xdb_close(r);
}

static void test_long_terms(void)
{
    char path[300], longterm[400], other[400], made[246];
    ps_err err = PS_ERR_INIT;
    ps_xdb *w = NULL;
    uint64_t n = 0;
    memcpy(longterm, "XURL", 4);
    memset(longterm + 4, 'h', 296);
    longterm[300] = '\0';
    memcpy(other, longterm, sizeof other);
    other[250] = 'z';

    w = open_db(at(path, sizeof path, "long"), PS_XDB_WRITE, 0);
    ps_xdoc *doc = ps_xdoc_new();
    check(ps_xdoc_add_term(doc, longterm, &err) == PS_OK, "add long term: %s",
          err.msg);
    ps_xdoc_set_data(doc, "long", 4, &err);
    /* A long id term works too. */
    check(ps_xdb_replace(w, other, doc, &err) == PS_OK, "replace: %s", err.msg);
    check(ps_xdb_replace(w, other, doc, &err) == PS_OK, "replace: %s", err.msg);
    ps_xdoc_free(doc);
    check(ps_xdb_commit(w, &err) == PS_OK, "commit: %s", err.msg);
    check(ps_xdb_doccount(w) == 1, "replace by long id: one document");

    ps_xterm_make(longterm, made, sizeof made);
    check_str(match(w, ps_xq_term(made)), "long");
    /* Query terms are shaped the same way by the shim itself. */
    check_str(match(w, ps_xq_term(longterm)), "long");
    check(ps_xdb_termfreq(w, made, &n, &err) == PS_OK && n == 1,
          "termfreq of the shaped term");
    /* The unshaped 245-byte prefix of the term is not what was stored. */
    memcpy(made, longterm, 245);
    made[245] = '\0';
    check(ps_xdb_termfreq(w, made, &n, &err) == PS_OK && n == 0,
          "the term was not simply cut");
    /* The id term differs from the content term only after byte 200. */
    check(ps_xdb_termfreq(w, other, &n, &err) == PS_OK && n == 1,
          "long id term found");
    check(ps_xdb_delete(w, other, &err) == PS_OK, "delete by long id");
    check(ps_xdb_doccount(w) == 0, "deleted by long id");
    ps_xdb_close(w);
}

static void test_busy(void)
{
    char path[300];
    ps_err err = PS_ERR_INIT;
    ps_xdb *w1 = NULL, *w2 = NULL, *r = NULL;
    w1 = open_db(at(path, sizeof path, "busy"), PS_XDB_WRITE, 0);
    check(ps_xdb_open(&w2, path, PS_XDB_WRITE, 0, &err) == PS_ERR_BUSY,
          "second writer: %d %s", err.code, err.msg);
    check(w2 == NULL && err.code == PS_ERR_BUSY && err.msg[0],
          "busy reported: %s", err.msg);
    /* Readers are not locked out. */
    check(ps_xdb_open(&r, path, PS_XDB_READ, 0, &err) == PS_OK,
          "reader beside a writer: %s", err.msg);
    ps_xdb_close(r);
    /* Closing releases the lock. */
    ps_xdb_close(w1);
    check(ps_xdb_open(&w2, path, PS_XDB_WRITE, 0, &err) == PS_OK,
          "writer after close: %s", err.msg);
    ps_xdb_close(w2);
}

static void test_parse_error(void)
{
    ps_err err = PS_ERR_INIT;
    ps_xquery *q = ps_xq_text(NULL, "neutron AND", "", &err);
    check(q == NULL, "parse error gives NULL");
    check(err.code == PS_ERR_PARSE, "code %d", err.code);
    check(strstr(err.msg, "Syntax") != NULL, "message: %s", err.msg);
    ps_xq_free(q);
    ps_err_clear(&err);
    check(ps_xq_text(NULL, "OR", "", &err) == NULL && err.code == PS_ERR_PARSE,
          "lone OR");
    check(ps_xq_text(NULL, NULL, "", &err) == NULL &&
              err.code == PS_ERR_INVALID,
          "NULL text");
    /* NULL err is fine. */
    check(ps_xq_text(NULL, "AND", "", NULL) == NULL, "NULL err");
}

static void test_modified_retry(void)
{
    char path[300];
    ps_err err = PS_ERR_INIT;
    ps_xdb *w = NULL, *r = NULL;
    w = open_db(at(path, sizeof path, "modified"), PS_XDB_WRITE, 0);
    char id[32], data[128];
    memset(data, 'x', sizeof data);
    for (int i = 0; i < 2000; i++) {
        ps_xdoc *doc = ps_xdoc_new();
        snprintf(id, sizeof id, "Q%d", i);
        ps_xdoc_add_term(doc, "Xall", &err);
        ps_xdoc_set_data(doc, data, sizeof data, &err);
        ps_xdb_replace(w, id, doc, &err);
        ps_xdoc_free(doc);
    }
    check(ps_xdb_commit(w, &err) == PS_OK, "commit");
    r = open_db(path, PS_XDB_READ, 0);

    /* Rewrite everything until the reader's revision is discarded (glass
     * keeps the previous revision, so this takes two commits). */
    ps_xsearch_opts opts = PS_XSEARCH_OPTS_INIT;
    opts.count = 2000;
    ps_xresult res;
    ps_xquery *q = ps_xq_term("Xall");
    ps_status st = PS_OK;
    for (int round = 0; round < 6 && st == PS_OK; round++) {
        data[0] = (char)('a' + round);
        for (int i = 0; i < 2000; i++) {
            ps_xdoc *doc = ps_xdoc_new();
            snprintf(id, sizeof id, "Q%d", i);
            ps_xdoc_add_term(doc, "Xall", &err);
            ps_xdoc_set_data(doc, data, sizeof data, &err);
            ps_xdb_replace(w, id, doc, &err);
            ps_xdoc_free(doc);
        }
        check(ps_xdb_commit(w, &err) == PS_OK, "commit");
        st = ps_xdb_search(r, q, &opts, &res, &err);
        ps_xresult_free(&res);
    }
    check(st == PS_ERR_RETRY, "stale reader: %d %s", st, err.msg);
    check(res.n == 0 && res.hits == NULL, "empty result");
    /* Reopen and repeat, as the header says. */
    check(ps_xdb_reopen(r, NULL, &err) == PS_OK, "reopen: %s", err.msg);
    check(ps_xdb_search(r, q, &opts, &res, &err) == PS_OK && res.n == 2000,
          "search after reopen: %s", err.msg);
    check(res.n == 2000 && res.hits[0].data[0] == data[0],
          "reader sees the latest data");
    ps_xresult_free(&res);
    ps_xq_free(q);
    ps_xdb_close(r);
    ps_xdb_close(w);
}

static void test_data_bytes(void)
{
    char path[300];
    ps_err err = PS_ERR_INIT;
    ps_xdb *w = NULL;
    w = open_db(at(path, sizeof path, "bytes"), PS_XDB_WRITE,
                PS_XDB_NO_TERMLIST);
    ps_xdoc *doc = ps_xdoc_new();
    ps_xdoc_add_term(doc, "Xb", &err);
    check(ps_xdoc_set_data(doc, "a\0b", 3, &err) == PS_OK, "data with NUL");
    check(ps_xdoc_set_value(doc, 5, "\0\1", 2, &err) == PS_OK,
          "value with NUL");
    check(ps_xdb_add(w, doc, &err) == PS_OK, "add: %s", err.msg);
    ps_xdoc_free(doc);

    ps_xsearch_opts opts = PS_XSEARCH_OPTS_INIT;
    ps_xresult res;
    ps_xquery *q = ps_xq_term("Xb");
    check(ps_xdb_search(w, q, &opts, &res, &err) == PS_OK && res.n == 1,
          "search: %s", err.msg);
    check(res.n == 1 && res.hits[0].data_len == 3 &&
              memcmp(res.hits[0].data, "a\0b", 4) == 0,
          "data with a NUL byte comes back whole and NUL-terminated");
    ps_xresult_free(&res);
    ps_xq_free(q);
    q = ps_xq_range(5, "\0\0", 2, "\0\2", 2);
    check_str(match(w, q), "a");
    ps_xdb_close(w);
}

static void test_no_termlist(void)
{
    char path[300];
    ps_err err = PS_ERR_INIT;
    ps_xdb *w = open_db(at(path, sizeof path, "notermlist"), PS_XDB_WRITE,
                        PS_XDB_NO_TERMLIST);
    ps_xdoc *doc = ps_xdoc_new();
    ps_xdoc_index_text(doc, "build once", 1, "", &err);
    ps_xdoc_set_data(doc, "once", 4, &err);
    /* Adding by id works (nothing to replace yet) ... */
    check(ps_xdb_replace(w, "Qonce", doc, &err) == PS_OK, "first replace: %s",
          err.msg);
    check(ps_xdb_commit(w, &err) == PS_OK, "commit: %s", err.msg);
    check_str(match(w, text_q(w, "build", "")), "once");
    check(ps_xdb_doccount(w) == 1, "one document");
    /* ... but replacing or deleting needs the termlist Xapian did not
     * keep: an index error that says so. */
    ps_err_clear(&err);
    check(ps_xdb_replace(w, "Qonce", doc, &err) == PS_ERR_INDEX,
          "second replace: %d", err.code);
    check(strstr(err.msg, "termlist") != NULL, "message: %s", err.msg);
    check(ps_xdb_delete(w, "Qonce", &err) == PS_ERR_INDEX, "delete: %d",
          err.code);
    ps_xdoc_free(doc);
    ps_xdb_close(w);
}

/* Make a database of n documents named <tag>-<i>, with metadata. */
static void make_shard(const char *name, const char *tag, int n,
                       const char *seq, const char *extra_key)
{
    char path[300];
    ps_err err = PS_ERR_INIT;
    ps_xdb *w = NULL;
    w = open_db(at(path, sizeof path, name), PS_XDB_OVERWRITE, 0);
    for (int i = 0; i < n; i++) {
        char id[64], data[64];
        snprintf(id, sizeof id, "Q%s-%d", tag, i);
        snprintf(data, sizeof data, "%s-%d", tag, i);
        ps_xdoc *doc = ps_xdoc_new();
        ps_xdoc_index_text(doc, "common words", 1, "", &err);
        ps_xdoc_set_data(doc, data, strlen(data), &err);
        check(ps_xdb_replace(w, id, doc, &err) == PS_OK, "replace: %s",
              err.msg);
        ps_xdoc_free(doc);
    }
    ps_xdb_set_metadata(w, "seq", seq, &err);
    ps_xdb_set_metadata(w, extra_key, "1", &err);
    check(ps_xdb_commit(w, &err) == PS_OK, "commit: %s", err.msg);
    ps_xdb_close(w);
}

static char *meta(ps_xdb *db, const char *key)
{
    static char buf[64];
    ps_err err = PS_ERR_INIT;
    char *v = NULL;
    check(ps_xdb_get_metadata(db, key, &v, &err) == PS_OK, "get: %s", err.msg);
    snprintf(buf, sizeof buf, "%s", v ? v : "(null)");
    ps_free(v);
    return buf;
}

static void test_compact(void)
{
    char p1[300], p2[300], out[300], out2[300], missing[300];
    ps_err err = PS_ERR_INIT;
    uint64_t n = 0;
    make_shard("shard1", "a", 2, "10", "only1");
    make_shard("shard2", "b", 3, "20", "only2");
    at(p1, sizeof p1, "shard1");
    at(p2, sizeof p2, "shard2");

    const char *srcs[2] = {p1, p2};
    check(ps_xdb_compact(srcs, 2, at(out, sizeof out, "compact12"), &err) ==
              PS_OK,
          "compact: %s", err.msg);
    ps_xdb *r = NULL;
    r = open_db(out, PS_XDB_READ, 0);
    check(ps_xdb_doccount(r) == 5, "doccount %llu = 2 + 3",
          (unsigned long long)ps_xdb_doccount(r));
    check_str(meta(r, "seq"), "10");
    check_str(meta(r, "only1"), "1");
    /* Keys only in a later source are kept as well. */
    check_str(meta(r, "only2"), "1");
    check(ps_xdb_termfreq(r, "Qb-2", &n, &err) == PS_OK && n == 1,
          "documents of the second source kept");
    check(ps_xdb_termfreq(r, "common", &n, &err) == PS_OK && n == 5,
          "postings merged");
    ps_xdb_close(r);

    /* The other way round, the other source's metadata wins. */
    const char *rev[2] = {p2, p1};
    check(ps_xdb_compact(rev, 2, at(out2, sizeof out2, "compact21"), &err) ==
              PS_OK,
          "compact: %s", err.msg);
    r = open_db(out2, PS_XDB_READ, 0);
    check(ps_xdb_doccount(r) == 5, "doccount");
    check_str(meta(r, "seq"), "20");
    ps_xdb_close(r);

    /* More than 3 sources: Xapian merges in several passes. */
    const char *many[5] = {p1, p2, p2, p1, p2};
    check(ps_xdb_compact(many, 5, at(out2, sizeof out2, "compact5"), &err) ==
              PS_OK,
          "compact 5: %s", err.msg);
    r = open_db(out2, PS_XDB_READ, 0);
    check(ps_xdb_doccount(r) == 13, "doccount 2+3+3+2+3");
    check_str(meta(r, "seq"), "10");
    ps_xdb_close(r);

    /* The destination must not exist; sources must. */
    check(ps_xdb_compact(srcs, 2, out, &err) == PS_ERR_INVALID,
          "existing destination: %d", err.code);
    const char *bad[2] = {p1, at(missing, sizeof missing, "no-such-shard")};
    check(ps_xdb_compact(bad, 2, at(out2, sizeof out2, "compact-bad"), &err) ==
              PS_ERR_NOTFOUND,
          "missing source: %d %s", err.code, err.msg);
    check(ps_xdb_compact(srcs, 0, out2, &err) == PS_ERR_INVALID, "no source");
}

/* The server builds queries in several threads at once: constructing
 * "everything"/"nothing" queries must not touch shared state (Xapian 1.4's
 * static MatchAll has a non-atomic reference count; copying it from two
 * threads corrupted it and crashed the server under load). */
static void *build_queries(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100000; i++) {
        ps_xquery *kids[3] = {ps_xq_all(), ps_xq_none(), ps_xq_term("XK:x")};
        ps_xquery *q = ps_xq_and(kids, 3);
        ps_xquery *e = ps_xq_or(NULL, 0);
        ps_xq_free(q);
        ps_xq_free(e);
    }
    return NULL;
}

static void test_threads(void)
{
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, build_queries, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    check(1, "queries built in 4 threads at once without a crash");
}

/* The hits of q by relevance (q is freed). */
static const char *ranked(ps_xdb *db, ps_xquery *q)
{
    static char names[256];
    ps_err err = PS_ERR_INIT;
    ps_xresult res;
    snprintf(names, sizeof names, "(error)");
    check(q != NULL, "no query: %s", err.msg);
    if (q && ps_xdb_search(db, q, NULL, &res, &err) == PS_OK) {
        snprintf(names, sizeof names, "%s", hit_names(&res));
        ps_xresult_free(&res);
    }
    ps_xq_free(q);
    return names;
}

/* Words and snippets, for the search endpoint. */
static void test_words(void)
{
    char path[300];
    ps_err err = PS_ERR_INIT;
    ps_xdb *w = open_db(at(path, sizeof path, "words"), PS_XDB_WRITE, 0);
    static const struct {
        const char *id, *title, *body;
    } docs[] = {
        {"Qw1", "Spin waves", "Magnons are spin waves in ordered magnets."},
        {"Qw2", "Ordered magnets", "Nothing about waves here."},
        /* "é" is two bytes: the ceiling below falls inside it. */
        {"Qw3", "Ceiling", "aaaa caf\xc3\xa9 hidden"},
    };
    for (size_t i = 0; i < 3; i++) {
        ps_xdoc *doc = ps_xdoc_new();
        check_fatal(doc != NULL, "doc");
        check(ps_xdoc_index_words(doc, docs[i].title, strlen(docs[i].title), 0,
                                  3, "", PS_XWORDS_POSITIONS, &err) == PS_OK &&
                  ps_xdoc_index_words(doc, docs[i].title, strlen(docs[i].title),
                                      0, 1, "S", 0, &err) == PS_OK,
              "title: %s", err.msg);
        /* A ceiling of 9 bytes keeps "aaaa caf" of the third body. */
        check(ps_xdoc_index_words(doc, docs[i].body, strlen(docs[i].body),
                                  i == 2 ? 9 : 0, 1, "", PS_XWORDS_POSITIONS,
                                  &err) == PS_OK,
              "body: %s", err.msg);
        ps_xdoc_set_data(doc, docs[i].id + 1, 2, &err);
        check(ps_xdb_replace(w, docs[i].id, doc, &err) == PS_OK, "replace");
        ps_xdoc_free(doc);
    }
    check(ps_xdoc_index_words(NULL, "x", 1, 0, 1, "", 0, &err) ==
              PS_ERR_INVALID,
          "no doc");
    ps_xdoc *d0 = ps_xdoc_new();
    check(ps_xdoc_index_words(d0, "x", 1, 0, 1, "", 0x80, &err) ==
              PS_ERR_INVALID,
          "unknown flags");
    ps_xdoc_free(d0);
    ps_xdb_commit(w, &err);
    uint64_t n = 0;
    check(ps_xdb_termfreq(w, "magnons", &n, &err) == PS_OK && n == 1,
          "words as written");
    check(ps_xdb_termfreq(w, "Zmagnet", &n, &err) == PS_OK && n == 2,
          "stems with Z");
    check(ps_xdb_termfreq(w, "ZSwave", &n, &err) == PS_OK && n == 1,
          "prefixed stems: Z before the prefix");
    check(ps_xdb_termfreq(w, "caf", &n, &err) == PS_OK && n == 1 &&
              ps_xdb_termfreq(w, "hidden", &n, &err) == PS_OK && n == 0,
          "the ceiling cuts before a split character");

    /* Title boost: both match "magnets", w2 in its title. */
    ps_xwords_opts wo = PS_XWORDS_OPTS_INIT;
    wo.boost_prefix = "S";
    wo.boost = 1;
    check_str(ranked(w, ps_xq_words(w, "magnets", &wo, &err)), "w2,w1");
    check_str(ranked(w, ps_xq_words(w, "\"spin waves\" -nothing", &wo, &err)),
              "w1");
    /* The title field has no positions: a phrase limited to it matches
     * nothing (and, as a boost, adds nothing), without an error. */
    wo.prefix = "S";
    wo.boost_prefix = NULL;
    check_str(ranked(w, ps_xq_words(w, "\"spin waves\"", &wo, &err)), "");
    check_str(ranked(w, ps_xq_words(w, "spin waves", &wo, &err)), "w1");
    wo.prefix = "";
    wo.boost_prefix = "S";
    check_str(ranked(w, ps_xq_words(w, "magnon* OR ordered", NULL, &err)),
              "w1,w2");

    /* What users get wrong, and bad calls. */
    struct {
        const char *text;
        ps_status code;
    } bad[] = {{"waves AND", PS_ERR_PARSE}, {"NOT waves", PS_ERR_PARSE},
               {"", PS_ERR_INVALID},        {"  ", PS_ERR_INVALID},
               {"*", PS_ERR_INVALID},       {"()", PS_ERR_INVALID},
               {NULL, PS_ERR_INVALID}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ps_err_clear(&err);
        ps_xquery *q = ps_xq_words(w, bad[i].text, NULL, &err);
        check(q == NULL && err.code == bad[i].code, "'%s': %d %s",
              bad[i].text ? bad[i].text : "(null)", err.code, err.msg);
        ps_xq_free(q);
    }
    wo.boost = 0;
    check(ps_xq_words(w, "waves", &wo, &err) == NULL &&
              err.code == PS_ERR_INVALID,
          "a boost field needs a boost");

    /* Snippets need the kept match set. */
    ps_xquery *q = ps_xq_words(w, "magnets", NULL, &err);
    ps_xsearch_opts so = PS_XSEARCH_OPTS_INIT;
    ps_xresult res;
    char *out = (char *)"x";
    check(ps_xdb_search(w, q, &so, &res, &err) == PS_OK && res.n == 2 &&
              res.mset == NULL,
          "no match set kept by default");
    check(ps_xresult_snippet(&res, "magnets", 7, NULL, &out, &err) ==
                  PS_ERR_INVALID &&
              out == NULL,
          "no snippet without it: %s", err.msg);
    ps_xresult_free(&res);
    so.snippets = 1;
    check(ps_xdb_search(w, q, &so, &res, &err) == PS_OK && res.mset != NULL,
          "match set kept");
    ps_xq_free(q);
    static const char text[] = "Cold <magnets> & hot magnet.";
    check(ps_xresult_snippet(&res, text, strlen(text), NULL, &out, &err) ==
              PS_OK,
          "snippet: %s", err.msg);
    check_str(out, "Cold &lt;<mark>magnets</mark>&gt; &amp; hot "
                   "<mark>magnet</mark>.");
    ps_free(out);
    ps_xsnippet_opts sn = PS_XSNIPPET_OPTS_INIT;
    sn.length = 12;
    check(ps_xresult_snippet(&res, "One two three four five six seven magnet",
                             40, &sn, &out, &err) == PS_OK,
          "short snippet");
    check(strstr(out, "\xe2\x80\xa6") == out &&
              strstr(out, "<mark>magnet</mark>") != NULL,
          "cut text starts with an ellipsis: %s", out);
    ps_free(out);
    /* The first match of a long text, after words the database knows
     * (which Xapian's background model weighs, and which once stopped the
     * search before any match). */
    char longtext[1200];
    size_t tl = 0;
    for (int i = 0; i < 40; i++)
        tl += (size_t)snprintf(longtext + tl, sizeof longtext - tl,
                               "Magnons are hidden ");
    snprintf(longtext + tl, sizeof longtext - tl, "in magnets.");
    check(ps_xresult_snippet(&res, longtext, strlen(longtext), NULL, &out,
                             &err) == PS_OK &&
              strstr(out, "<mark>magnets</mark>") != NULL,
          "a match far into the text: %s", out);
    ps_free(out);
    sn = (ps_xsnippet_opts)PS_XSNIPPET_OPTS_INIT;
    sn.exhaustive = 1;
    check(ps_xresult_snippet(&res, longtext, strlen(longtext), &sn, &out,
                             &err) == PS_OK &&
              strstr(out, "<mark>magnets</mark>") != NULL,
          "exhaustively: %s", out);
    ps_free(out);
    sn.length = 12;
    check(ps_xresult_snippet(&res, "no match in here", 16, NULL, &out, &err) ==
                  PS_OK &&
              strcmp(out, "") == 0,
          "\"\" without a match");
    ps_free(out);
    sn.hi_start = "";
    check(ps_xresult_snippet(&res, "magnet", 6, &sn, &out, &err) ==
              PS_ERR_INVALID,
          "marks are required (Xapian would not escape)");
    check(ps_xresult_snippet(NULL, "x", 1, NULL, &out, &err) == PS_ERR_INVALID,
          "no result");
    ps_xresult_free(&res);
    check(res.mset == NULL, "freed");

    /* Version 2 options (no snippets field) are still understood. */
    so.version = 2;
    q = ps_xq_words(w, "waves", NULL, &err);
    check(ps_xdb_search(w, q, &so, &res, &err) == PS_OK && res.n == 2 &&
              res.mset == NULL,
          "version 2: %s", err.msg);
    ps_xresult_free(&res);
    ps_xq_free(q);
    ps_xdb_close(w);
}

/* Facets: a match set's docids counted against a facet table equal the
 * counts of the boolean terms among the matches. */
static void test_facets(void)
{
    ps_xdb *db = open_corpus();
    ps_err err = PS_ERR_INIT;
    ps_xfacet_table *t = NULL;
    check(ps_xdb_facet_table(db, "XFACILITY", 100, &t, &err) == PS_OK,
          "facet table: %s", err.msg);
    check_fatal(t != NULL, "facet table");
    check(t->nvalues == 3, "three facilities, not %zu", t->nvalues);
    check_str(t->names[0], "esrf");
    check_str(t->names[1], "ill");
    check_str(t->names[2], "psi");
    ps_xquery *o[2] = {ps_xq_term("XFACILITYill"), ps_xq_term("XFACILITYpsi")};
    ps_xquery *q = ps_xq_or(o, 2);
    uint32_t *ids = NULL;
    size_t n = 0;
    check(ps_xdb_match_docids(db, q, &ids, &n, &err) == PS_OK, "docids: %s",
          err.msg);
    check(n == 3, "three matches, not %zu", n);
    size_t counts[3] = {0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        check_fatal(ids[i] < t->ndocs, "docid in the table");
        for (uint32_t k = t->offsets[ids[i]]; k < t->offsets[ids[i] + 1]; k++)
            counts[t->values[k]]++;
    }
    check(counts[0] == 0 && counts[1] == 2 && counts[2] == 1,
          "counts esrf %zu ill %zu psi %zu", counts[0], counts[1], counts[2]);
    ps_free(ids);
    ps_xq_free(q);
    /* A prefix without terms: an empty table. */
    ps_xfacet_table_free(t);
    t = NULL;
    check(ps_xdb_facet_table(db, "XNOPE", 100, &t, &err) == PS_OK && t &&
              t->nvalues == 0,
          "empty facet");
    ps_xfacet_table_free(t);
    ps_xfacet_table_free(NULL);
    check(ps_xdb_facet_table(NULL, "X", 1, &t, &err) == PS_ERR_INVALID,
          "facet table of NULL");
    check(ps_xdb_match_docids(db, NULL, &ids, &n, &err) == PS_ERR_INVALID,
          "docids of NULL");
    ps_xdb_close(db);
}

int main(void)
{
    const char *dir = check_tmpdir("xapian-shim");
    check_fatal(dir != NULL, "no temporary directory");
    snprintf(root, sizeof root, "%s", dir);
    test_threads();

    test_null_handling();
    test_term_shaping();
    test_value_num();
    test_open_missing();
    build_corpus();
    test_write_replace_delete();
    test_metadata();
    test_text_search();
    test_boolean_queries();
    test_composite_null_child();
    test_ranges();
    test_sort_and_paging();
    test_counts();
    test_long_terms();
    test_busy();
    test_parse_error();
    test_modified_retry();
    test_data_bytes();
    test_no_termlist();
    test_compact();
    test_words();
    test_facets();

    check_rmtree(root);
    return check_report();
}
