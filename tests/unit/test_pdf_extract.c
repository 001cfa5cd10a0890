/*
 * test_pdf_extract.c: unit tests of PDF extraction (harvesters/
 * pdf-extract.c) and its scoring (harvesters/pdf-accuracy.c). What users
 * rely on: real JOSE papers give the title, DOI and authors of their
 * Crossref deposits; references come with their DOIs, a DOI cut across
 * lines included; every file of the robustness corpus, a truncated copy, a
 * zero-byte file and garbage give a clear error or a warning, never a
 * crash (this runs under ASan); the text ceiling cuts with a warning; the
 * guarded variant gives the same result as the direct one and stops at its
 * deadline and its memory ceiling; several files at once are each reported
 * once, bad ones named with their reason, and the callback can stop the
 * run; the JSON form round-trips; bad arguments are refused. The
 * corpora live beside the checkout (../shared/corpus/pdf); without them the
 * corpus checks are skipped with a message.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "check.h"
#include "harvest.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>

static char jose[512], robust[512];

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *d = malloc((size_t)n + 1);
    if (d && fread(d, 1, (size_t)n, f) != (size_t)n) {
        free(d);
        d = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return d;
}

static void test_jose(const char *name)
{
    char pdf[600], xml[600];
    snprintf(pdf, sizeof pdf, "%s/%s.pdf", jose, name);
    snprintf(xml, sizeof xml, "%s/%s.crossref.xml", jose, name);
    ps_err err = PS_ERR_INIT;
    ps_pdf_truth *t = NULL;
    check_fatal(ps_pdf_truth_load(xml, &t, &err) == PS_OK, "%s", err.msg);
    size_t len = 0;
    char *data = slurp(pdf, &len);
    check_fatal(data != NULL, "read %s", pdf);
    ps_pdf_doc *doc = NULL;
    check(ps_pdf_extract(data, len, NULL, &doc, &err) == PS_OK, "%s: %s", name,
          err.msg);
    free(data);
    if (!doc) {
        ps_pdf_truth_free(t);
        return;
    }
    check(ps_pdf_similarity(doc->title, t->title) >= 0.9, "%s: title %s", name,
          doc->title ? doc->title : "(null)");
    check_str(doc->doi, t->doi);
    check(doc->nauthors == t->nfamilies, "%s: %zu authors, want %zu", name,
          doc->nauthors, t->nfamilies);
    ps_pdf_score sc = {0};
    ps_pdf_score_add(&sc, doc, t);
    check(sc.authors_matched == t->nfamilies, "%s: %zu of %zu authors", name,
          sc.authors_matched, t->nfamilies);
    check(doc->year >= 2018 && doc->year <= 2030, "%s: year %d", name,
          doc->year);
    check(doc->text && doc->text_len > 1000, "%s: full text", name);
    check(doc->warnings == 0, "%s: warnings %u", name, doc->warnings);

    /* The guarded variant agrees, through JSON and a child. */
    ps_pdf_doc *g = NULL;
    check(ps_pdf_extract_file_guarded(pdf, NULL, 60000, &g, &err) == PS_OK,
          "%s: guarded: %s", name, err.msg);
    if (g) {
        check_str(g->title, doc->title);
        check_str(g->doi, doc->doi);
        check(g->nauthors == doc->nauthors && g->nrefs == doc->nrefs &&
                  g->text_len == doc->text_len,
              "%s: guarded result differs", name);
    }
    ps_pdf_doc_free(g);
    ps_pdf_doc_free(doc);
    ps_pdf_truth_free(t);
}

/* jose.00015 in detail: references and their DOIs, one of them printed
 * across two lines ("https://doi.org/10.1057/palgrave.ivs." + "9500082."). */
static void test_references(void)
{
    char pdf[600];
    snprintf(pdf, sizeof pdf, "%s/jose.00015.pdf", jose);
    size_t len = 0;
    char *data = slurp(pdf, &len);
    ps_err err = PS_ERR_INIT;
    ps_pdf_doc *doc = NULL;
    check_fatal(data && ps_pdf_extract(data, len, NULL, &doc, &err) == PS_OK,
                "%s", err.msg);
    free(data);
    check(doc->nrefs >= 15, "%zu references", doc->nrefs);
    int broken = 0, science = 0;
    for (size_t i = 0; i < doc->nrefs; i++) {
        const char *d = doc->refs[i].doi;
        if (d && strcmp(d, "10.1057/palgrave.ivs.9500082") == 0)
            broken = 1;
        if (d && strcmp(d, "10.1126/science.156.3775.636") == 0)
            science = 1;
    }
    check(broken, "a DOI cut after '.' is joined");
    check(science, "a DOI cut after '10.' is joined");
    check(doc->abstract && strstr(doc->abstract, "Pynamical"), "abstract");
    check(doc->year == 2018, "year %d", doc->year);

    /* The text ceiling: cut with a warning, fields still found. */
    ps_pdf_opts o = PS_PDF_OPTS_INIT;
    o.max_text_bytes = 2000;
    data = slurp(pdf, &len);
    ps_pdf_doc *cut = NULL;
    check(ps_pdf_extract(data, len, &o, &cut, &err) == PS_OK, "%s", err.msg);
    if (cut) {
        check(cut->text_len < 2000, "text %zu bytes", cut->text_len);
        check(cut->warnings & PS_PDF_WARN_TEXT_CUT, "cut warning");
        check(cut->title != NULL, "title despite the cut");
    }
    ps_pdf_doc_free(cut);
    o = (ps_pdf_opts)PS_PDF_OPTS_INIT;
    o.max_pages = 1;
    check(ps_pdf_extract(data, len, &o, &cut, &err) == PS_OK, "%s", err.msg);
    if (cut)
        check(cut->warnings & PS_PDF_WARN_PAGES_CUT, "pages warning");
    ps_pdf_doc_free(cut);

    /* A truncated copy: an error or a warning, no crash. */
    ps_pdf_doc *tr = NULL;
    ps_status st = ps_pdf_extract(data, len / 3, NULL, &tr, &err);
    check(st == PS_ERR_PARSE || (st == PS_OK && tr), "truncated: %d %s", st,
          err.msg);
    ps_pdf_doc_free(tr);
    free(data);

    /* JSON round trip. */
    json_t *j = NULL;
    ps_pdf_doc *back = NULL;
    check(ps_pdf_doc_to_json(doc, &j, &err) == PS_OK, "to json");
    check(ps_pdf_doc_from_json(j, &back, &err) == PS_OK, "from json");
    if (back) {
        check_str(back->title, doc->title);
        check(back->nrefs == doc->nrefs && back->year == doc->year &&
                  back->nauthors == doc->nauthors,
              "round trip");
    }
    json_decref(j);
    ps_pdf_doc_free(back);
    ps_pdf_doc_free(doc);
}

static void test_robustness(void)
{
    DIR *d = opendir(robust);
    if (!d) {
        printf("skipped: no robustness corpus at %s\n", robust);
        return;
    }
    struct dirent *e;
    int n = 0;
    for (;;) {
        e = readdir(d);
        if (!e)
            break;
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ".pdf") != 0)
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", robust, e->d_name);
        size_t len = 0;
        char *data = slurp(path, &len);
        ps_err err = PS_ERR_INIT;
        ps_pdf_doc *doc = NULL;
        ps_status st = ps_pdf_extract(data, len, NULL, &doc, &err);
        check(st == PS_OK ? doc != NULL : (doc == NULL && err.msg[0] != '\0'),
              "%s: %d", e->d_name, st);
        if (st == PS_OK)
            check(doc->title || doc->warnings, "%s: no title, no warning",
                  e->d_name);
        ps_pdf_doc_free(doc);
        /* Every file also cut in half. */
        st = ps_pdf_extract(data, len / 2, NULL, &doc, &err);
        check(st == PS_OK || err.msg[0], "%s halved: %d", e->d_name, st);
        ps_pdf_doc_free(doc);
        free(data);
        n++;
    }
    closedir(d);
    check(n >= 10, "%d robustness files", n);
}

static void test_bad_input(void)
{
    ps_err err = PS_ERR_INIT;
    ps_pdf_doc *doc = (ps_pdf_doc *)&err;
    check(ps_pdf_extract("", 0, NULL, &doc, &err) == PS_ERR_PARSE,
          "zero bytes");
    check(doc == NULL, "out NULL on failure");
    check(strstr(err.msg, "empty") != NULL, "%s", err.msg);
    check(ps_pdf_extract("hello world, not a pdf", 22, NULL, &doc, &err) ==
              PS_ERR_PARSE,
          "not a PDF");
    const char junk[] = "%PDF-1.7\n1 0 obj << /Type /Catalog >>\n%%EOF\n";
    check(ps_pdf_extract(junk, sizeof junk - 1, NULL, &doc, &err) ==
              PS_ERR_PARSE,
          "damaged: %s", err.msg);
    /* No pages: a page tree with /Count 0, and the same file cut short. */
    const char nopages[] =
        "%PDF-1.4\n1 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
        "2 0 obj\n<< /Type /Catalog /Pages 1 0 R >>\nendobj\nxref\n0 3\n"
        "0000000000 65535 f \n0000000009 00000 n \n0000000064 00000 n \n"
        "trailer\n<< /Size 3 /Root 2 0 R >>\nstartxref\n113\n%%EOF\n";
    check(ps_pdf_extract(nopages, sizeof nopages - 1, NULL, &doc, &err) ==
              PS_ERR_PARSE,
          "no pages: %s", err.msg);
    check(strstr(err.msg, "the PDF has no pages") != NULL, "%s", err.msg);
    ps_status cst =
        ps_pdf_extract(nopages, sizeof nopages - 8, NULL, &doc, &err);
    check(cst == PS_ERR_PARSE && strstr(err.msg, "damaged or truncated"),
          "no pages, cut: %d %s", cst, err.msg);
    check(ps_pdf_extract(NULL, 3, NULL, &doc, &err) == PS_ERR_INVALID,
          "NULL data");
    check(ps_pdf_extract("x", 1, NULL, NULL, &err) == PS_ERR_INVALID,
          "NULL out");
    ps_pdf_opts o = PS_PDF_OPTS_INIT;
    o.max_pages = 0;
    check(ps_pdf_extract("%PDF-1.4", 8, &o, &doc, &err) == PS_ERR_INVALID,
          "bad opts");

    /* A zero-byte file and a missing one, guarded. */
    char *dir = check_tmpdir("pdf");
    char path[512];
    snprintf(path, sizeof path, "%s/zero.pdf", dir);
    FILE *f = fopen(path, "wb");
    if (f)
        fclose(f);
    check(ps_pdf_extract_file_guarded(path, NULL, 10000, &doc, &err) ==
              PS_ERR_PARSE,
          "zero-byte file: %s", err.msg);
    snprintf(path, sizeof path, "%s/missing.pdf", dir);
    check(ps_pdf_extract_file_guarded(path, NULL, 10000, &doc, &err) ==
              PS_ERR_NOTFOUND,
          "missing file: %s", err.msg);
    check(ps_pdf_extract_file_guarded(path, NULL, 0, &doc, &err) ==
              PS_ERR_INVALID,
          "zero timeout");
    check_rmtree(dir);

    /* The deadline: a 1 ms budget cannot be met (fork, poppler start-up). */
    char big[600];
    snprintf(big, sizeof big, "%s/MullenJSSv18i03.pdf", robust);
    FILE *bf = fopen(big, "rb");
    if (bf) {
        fclose(bf);
        ps_status st = ps_pdf_extract_file_guarded(big, NULL, 1, &doc, &err);
        check(st == PS_ERR_TIMEOUT, "deadline: %d %s", st, err.msg);
        check(strstr(err.msg, "timed out after 1 ms") != NULL, "%s", err.msg);
        check(doc == NULL, "no document after a timeout");
    }

    /* Scoring helpers. */
    check(ps_pdf_similarity("A  Title", "a title") == 1.0, "case, spaces");
    check(ps_pdf_similarity("Pérez", "perez") == 1.0, "accents");
    check(ps_pdf_similarity("abcdefghij", "abcdefghiX") >= 0.9, "one edit");
    check(ps_pdf_similarity("abc", NULL) == 0.0, "NULL");
    ps_pdf_doc_free(NULL);
    ps_pdf_truth_free(NULL);
}

/* What the callback of ps_pdf_extract_files_guarded saw. */
typedef struct seen {
    int calls[8];
    ps_status st[8];
    char msg[8][256];
    char *title[8];
    int stop_after; /* stop once this many files are done; 0: never */
    int done;
} seen;

static int on_file(size_t index, const char *path, ps_status status,
                   ps_pdf_doc *doc, const ps_err *err, void *payload)
{
    seen *s = payload;
    check(index < 8, "index %zu", index);
    if (index >= 8) {
        ps_pdf_doc_free(doc);
        return 1;
    }
    check(path != NULL, "path");
    check((status == PS_OK) == (doc != NULL), "%s: doc iff success", path);
    check(status == PS_OK || (err && err->msg[0]), "%s: a message", path);
    s->calls[index]++;
    s->st[index] = status;
    if (err && status != PS_OK)
        snprintf(s->msg[index], sizeof s->msg[index], "%s", err->msg);
    if (doc && doc->title)
        s->title[index] = strdup(doc->title);
    ps_pdf_doc_free(doc);
    s->done++;
    return s->stop_after && s->done >= s->stop_after;
}

/* Several files at once: every file reported once, bad ones with their
 * reason and named, good ones read; stopping early; the memory ceiling. */
static void test_guarded_many(void)
{
    char *dir = check_tmpdir("pdfmany");
    char zero[512], junk[512], missing[512], good[600];
    snprintf(zero, sizeof zero, "%s/zero.pdf", dir);
    snprintf(junk, sizeof junk, "%s/junk.pdf", dir);
    snprintf(missing, sizeof missing, "%s/missing.pdf", dir);
    snprintf(good, sizeof good, "%s/jose.00015.pdf", jose);
    FILE *f = fopen(zero, "wb");
    if (f)
        fclose(f);
    f = fopen(junk, "wb");
    if (f) {
        fputs("%PDF-1.4\n1 0 obj << /Type /Catalog >>\nendobj\n", f);
        fclose(f);
    }
    FILE *g = fopen(good, "rb");
    int have_good = g != NULL;
    if (g)
        fclose(g);
    const char *paths[5] = {zero, missing, junk, have_good ? good : zero,
                            have_good ? good : junk};
    ps_err err = PS_ERR_INIT;
    seen s = {0};
    check(ps_pdf_extract_files_guarded(paths, 5, NULL, 60000, 2, on_file, &s,
                                       &err) == PS_OK,
          "several files: %s", err.msg);
    for (int i = 0; i < 5; i++)
        check(s.calls[i] == 1, "file %d reported %d times", i, s.calls[i]);
    check(s.st[0] == PS_ERR_PARSE && strstr(s.msg[0], "empty file"),
          "zero-byte: %d %s", s.st[0], s.msg[0]);
    check(s.st[1] == PS_ERR_NOTFOUND && strstr(s.msg[1], "missing.pdf"),
          "missing: %d %s", s.st[1], s.msg[1]);
    check(s.st[2] == PS_ERR_PARSE && s.msg[2][0], "damaged: %d %s", s.st[2],
          s.msg[2]);
    if (have_good) {
        check(s.st[3] == PS_OK && s.st[4] == PS_OK, "good files read");
        check(s.title[3] && s.title[4] && strcmp(s.title[3], s.title[4]) == 0,
              "same file, same title");
    }
    for (int i = 0; i < 8; i++)
        free(s.title[i]);

    /* The callback stops the run: fewer files, PS_ERR_CANCELLED. */
    seen s2 = {0};
    s2.stop_after = 1;
    check(ps_pdf_extract_files_guarded(paths, 5, NULL, 60000, 1, on_file, &s2,
                                       &err) == PS_ERR_CANCELLED,
          "stopped: %s", err.msg);
    check(s2.done == 1, "stopped after one file, %d reported", s2.done);
    for (int i = 0; i < 8; i++)
        free(s2.title[i]);

    /* No files: nothing to do. Bad arguments. */
    seen s3 = {0};
    check(ps_pdf_extract_files_guarded(NULL, 0, NULL, 1000, 0, on_file, &s3,
                                       &err) == PS_OK,
          "no files");
    check(ps_pdf_extract_files_guarded(paths, 5, NULL, 1000, 0, NULL, &s3,
                                       &err) == PS_ERR_INVALID,
          "NULL callback");
    check(ps_pdf_extract_files_guarded(paths, 5, NULL, 0, 0, on_file, &s3,
                                       &err) == PS_ERR_INVALID,
          "zero timeout");
    const char *holes[2] = {zero, NULL};
    check(ps_pdf_extract_files_guarded(holes, 2, NULL, 1000, 0, on_file, &s3,
                                       &err) == PS_ERR_INVALID,
          "a NULL path");
    check(s3.done == 0, "nothing reported for bad arguments");

    /* The memory ceiling (looked at every 20 ms, so on a file that takes
     * longer): a child allowed 1 MiB more than its parent is stopped. */
    char big[600];
    snprintf(big, sizeof big, "%s/MullenJSSv18i03.pdf", robust);
    g = fopen(big, "rb");
    if (g) {
        fclose(g);
        ps_pdf_opts o = PS_PDF_OPTS_INIT;
        o.max_memory_bytes = (size_t)1 << 20;
        ps_pdf_doc *doc = NULL;
        ps_status st = ps_pdf_extract_file_guarded(big, &o, 60000, &doc, &err);
        check(st == PS_ERR_TOOBIG, "memory ceiling: %d %s", st, err.msg);
        check(strstr(err.msg, "memory ceiling of 1 MiB") != NULL, "%s",
              err.msg);
        check(doc == NULL, "no document past the ceiling");
        ps_pdf_doc_free(doc);
    }
    check_rmtree(dir);
}

int main(void)
{
    const char *src = getenv("PS_SOURCE_DIR");
    snprintf(jose, sizeof jose, "%s/../shared/corpus/pdf/jose",
             src ? src : "..");
    snprintf(robust, sizeof robust, "%s/../shared/corpus/pdf/robustness",
             src ? src : "..");
    test_bad_input();
    test_robustness();
    test_guarded_many();
    char probe[600];
    snprintf(probe, sizeof probe, "%s/jose.00015.pdf", jose);
    FILE *f = fopen(probe, "rb");
    if (!f) {
        printf("skipped: no JOSE corpus at %s\n", jose);
        return check_report();
    }
    fclose(f);
    test_references();
    static const char *const names[] = {"jose.00015", "jose.00032",
                                        "jose.00090", "jose.00143",
                                        "jose.00241", "jose.00307"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        test_jose(names[i]);
    return check_report();
}
