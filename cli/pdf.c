/*
 * pdf.c: `pansift pdf-extract` and `pansift pdf-accuracy`, the two commands
 * over the harvesters' PDF extraction. pdf-extract prints what one PDF
 * yields as JSON (title, authors, DOI, sections, references, full text);
 * pdf-accuracy runs the extraction over a folder of PDFs that have their
 * Crossref deposit XML beside them (NAME.pdf + NAME.crossref.xml) and
 * reports accuracy per field and the time taken. Neither touches the data
 * directory. Every PDF is read in a forked child with a time limit.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "cli.h"
#include "harvest.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Shared options: --timeout MS, --max-pages N, --max-text BYTES. Returns 1
 * when argv[*i] was one of them (consumed), 0 when not, -1 on a bad value. */
static int common_opt(const char *cmd, int argc, char **argv, int *i,
                      ps_pdf_opts *o, long *timeout_ms)
{
    const char *a = argv[*i];
    if (strcmp(a, "--timeout") != 0 && strcmp(a, "--max-pages") != 0 &&
        strcmp(a, "--max-text") != 0)
        return 0;
    int64_t v = 0;
    if (*i + 1 >= argc || ps_parse_i64(argv[*i + 1], &v) != 0 || v <= 0 ||
        v > ((int64_t)1 << 40)) {
        ps_cli_error("%s: %s needs a positive number", cmd, a);
        return -1;
    }
    (*i)++;
    if (strcmp(a, "--timeout") == 0)
        *timeout_ms = (long)v;
    else if (strcmp(a, "--max-pages") == 0)
        o->max_pages = v > 1000000 ? 1000000 : (int)v;
    else
        o->max_text_bytes = (size_t)v;
    return 1;
}

#define PDF_LIMITS_HELP                                                        \
    "  --timeout MS       stop a PDF's extraction after MS milliseconds "      \
    "(30000)\n"                                                                \
    "  --max-pages N      read at most N pages (500)\n"                        \
    "  --max-text BYTES   keep at most BYTES of text per PDF (4194304)\n"

/* --batch: the pdf source's extractor process. One path per line on
 * standard input; for each, one line of compact JSON on standard output:
 * {"doc": {...}} or {"error": "why"}. This process has one thread, so the
 * guarded extraction's fork is safe; the source starts one per worker and
 * saves starting a program per PDF. Options before --batch apply. */
static int pdf_extract_batch(const ps_pdf_opts *o, long timeout_ms)
{
    char line[8192];
    while (fgets(line, sizeof line, stdin)) {
        size_t n = strcspn(line, "\r\n");
        if (n == strlen(line) && !feof(stdin)) {
            /* a line longer than any path: skip the rest of it */
            int c;
            do
                c = getchar();
            while (c != '\n' && c != EOF);
            puts("{\"error\": \"path too long\"}");
            fflush(stdout);
            continue;
        }
        line[n] = '\0';
        ps_err err = PS_ERR_INIT;
        ps_pdf_doc *doc = NULL;
        json_t *j = NULL;
        ps_status st =
            ps_pdf_extract_file_guarded(line, o, timeout_ms, &doc, &err);
        if (st == PS_OK)
            st = ps_pdf_doc_to_json(doc, &j, &err);
        ps_pdf_doc_free(doc);
        json_t *ans = st == PS_OK ? json_pack("{s:o}", "doc", j)
                                  : json_pack("{s:s}", "error", err.msg);
        char *s = ans ? json_dumps(ans, JSON_COMPACT) : NULL;
        json_decref(ans);
        if (s)
            puts(s);
        else
            puts("{\"error\": \"out of memory\"}");
        free(s);
        if (fflush(stdout) != 0)
            return PS_EXIT_FAIL;
    }
    return PS_EXIT_OK;
}

int ps_cmd_pdf_extract(ps_cli *cli, int argc, char **argv)
{
    (void)cli;
    if (ps_cli_wants_help(argc, argv)) {
        printf("usage: pansift pdf-extract [--no-text] [--timeout MS] "
               "[--max-pages N]\n                           [--max-text "
               "BYTES] FILE.pdf\n\n"
               "Extract a publication PDF and print the result as one JSON "
               "object: title,\nauthors, doi, year, abstract, keywords, "
               "acknowledgements, funding, references\n(text and doi), "
               "pages, warnings (no_text, text_cut, pages_cut, no_title) "
               "and\nthe full text. How the fields are found: docs/pdf.md.\n\n"
               "  --no-text          leave the full text out\n"
               "  --batch            read paths from standard input, one per "
               "line, and answer\n                     each with a line of "
               "JSON ({\"doc\": ...} or {\"error\": ...})\n" PDF_LIMITS_HELP
               "\nexit status: 0 extracted (possibly with warnings), 1 the PDF "
               "could not be read\n(encrypted, damaged, timed out: the message "
               "says why), 2 usage.\n");
        return PS_EXIT_OK;
    }
    ps_pdf_opts o = PS_PDF_OPTS_INIT;
    long timeout_ms = 30000;
    int no_text = 0;
    const char *file = NULL;
    for (int i = 1; i < argc; i++) {
        int r = common_opt("pdf-extract", argc, argv, &i, &o, &timeout_ms);
        if (r < 0)
            return PS_EXIT_USAGE;
        if (r > 0)
            continue;
        if (strcmp(argv[i], "--no-text") == 0)
            no_text = 1;
        else if (strcmp(argv[i], "--batch") == 0)
            return pdf_extract_batch(&o, timeout_ms);
        else if (argv[i][0] == '-' && argv[i][1])
            return ps_cli_unknown_option("pdf-extract", argv[i]);
        else if (file) {
            ps_cli_error("pdf-extract: one FILE only (see `pansift "
                         "pdf-extract --help`)");
            return PS_EXIT_USAGE;
        } else
            file = argv[i];
    }
    if (!file) {
        ps_cli_error("pdf-extract: which FILE? (see `pansift pdf-extract "
                     "--help`)");
        return PS_EXIT_USAGE;
    }
    ps_err err = PS_ERR_INIT;
    ps_pdf_doc *doc = NULL;
    json_t *j = NULL;
    ps_status st =
        ps_pdf_extract_file_guarded(file, &o, timeout_ms, &doc, &err);
    if (st == PS_OK)
        st = ps_pdf_doc_to_json(doc, &j, &err);
    ps_pdf_doc_free(doc);
    if (st != PS_OK) {
        ps_cli_error("pdf-extract: %s", err.msg);
        return PS_EXIT_FAIL;
    }
    if (no_text)
        json_object_del(j, "text");
    json_object_set_new(j, "file", json_string(file));
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (!s) {
        ps_cli_error("pdf-extract: out of memory");
        return PS_EXIT_FAIL;
    }
    puts(s);
    free(s);
    return PS_EXIT_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The NAME.pdf files of dir that have NAME.crossref.xml beside them,
 * sorted; NULL-terminated, ps_free each and the array. */
static char **list_pairs(const char *dir, size_t *n_out)
{
    DIR *d = opendir(dir);
    if (!d)
        return NULL;
    char **v = NULL;
    size_t n = 0;
    struct dirent *e;
    for (;;) {
        e = readdir(d);
        if (!e)
            break;
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ".pdf") != 0)
            continue;
        char *x =
            ps_asprintf("%s/%.*s.crossref.xml", dir, (int)(l - 4), e->d_name);
        FILE *f = x ? fopen(x, "rb") : NULL;
        ps_free(x);
        if (!f)
            continue;
        fclose(f);
        char **nv = ps_realloc(v, (n + 2) * sizeof *nv);
        if (!nv)
            break;
        v = nv;
        v[n] = ps_strndup(e->d_name, l - 4);
        if (v[n])
            n++;
        v[n] = NULL;
    }
    closedir(d);
    if (!v) {
        v = ps_calloc(1, sizeof *v);
        if (!v)
            return NULL;
    }
    qsort(v, n, sizeof *v, cmp_str);
    *n_out = n;
    return v;
}

static double pct(size_t a, size_t b) { return b ? 100.0 * a / b : 0.0; }

int ps_cmd_pdf_accuracy(ps_cli *cli, int argc, char **argv)
{
    if (ps_cli_wants_help(argc, argv)) {
        printf("usage: pansift pdf-accuracy [--json] [--verbose] [--timeout "
               "MS] DIR\n\n"
               "Measure PDF extraction against reference metadata: every "
               "NAME.pdf of DIR\nthat has NAME.crossref.xml (a Crossref "
               "deposit) beside it is extracted and\ncompared. Reports, per "
               "field: title exact and fuzzy (normalised Levenshtein\n"
               "similarity >= 0.9 after case folding and collapsing white "
               "space), DOI exact,\nauthors (family names) micro-averaged "
               "precision, recall and F1; the number\nof files, failures and "
               "the time taken.\n\n"
               "  --json             one JSON object instead of the table\n"
               "  --verbose          list each file's misses on stderr\n"
               "" PDF_LIMITS_HELP
               "\nexit status: 0 measured, 1 no pairs in DIR or DIR "
               "unreadable, 2 usage.\n");
        return PS_EXIT_OK;
    }
    ps_pdf_opts o = PS_PDF_OPTS_INIT;
    long timeout_ms = 30000;
    int as_json = 0, verbose = 0;
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        int r = common_opt("pdf-accuracy", argc, argv, &i, &o, &timeout_ms);
        if (r < 0)
            return PS_EXIT_USAGE;
        if (r > 0)
            continue;
        if (strcmp(argv[i], "--json") == 0)
            as_json = 1;
        else if (strcmp(argv[i], "--verbose") == 0)
            verbose = 1;
        else if (argv[i][0] == '-' && argv[i][1])
            return ps_cli_unknown_option("pdf-accuracy", argv[i]);
        else if (dir) {
            ps_cli_error("pdf-accuracy: one DIR only");
            return PS_EXIT_USAGE;
        } else
            dir = argv[i];
    }
    if (!dir) {
        ps_cli_error("pdf-accuracy: which DIR? (see `pansift pdf-accuracy "
                     "--help`)");
        return PS_EXIT_USAGE;
    }
    size_t n = 0;
    char **names = list_pairs(dir, &n);
    if (!names || n == 0) {
        ps_cli_error("pdf-accuracy: %s: %s", dir,
                     names ? "no NAME.pdf with NAME.crossref.xml beside it"
                           : "cannot read the directory");
        for (size_t i = 0; names && names[i]; i++)
            ps_free(names[i]);
        ps_free(names);
        return PS_EXIT_FAIL;
    }
    ps_progress prog;
    ps_progress_init(&prog, cli->quiet || as_json);
    ps_pdf_score sc = {0};
    size_t failed = 0, pages = 0;
    int64_t t0 = ps_mono_ns();
    for (size_t i = 0; i < n && !ps_cli_interrupted; i++) {
        ps_progress_update(&prog, "pdf-accuracy", (int64_t)i, (int64_t)n,
                           names[i]);
        char *pdf = ps_asprintf("%s/%s.pdf", dir, names[i]);
        char *xml = ps_asprintf("%s/%s.crossref.xml", dir, names[i]);
        ps_err err = PS_ERR_INIT;
        ps_pdf_truth *t = NULL;
        ps_pdf_doc *doc = NULL;
        if (!pdf || !xml || ps_pdf_truth_load(xml, &t, &err) != PS_OK) {
            ps_cli_error("pdf-accuracy: %s: %s", names[i],
                         err.msg[0] ? err.msg : "out of memory");
            failed++;
        } else {
            if (ps_pdf_extract_file_guarded(pdf, &o, timeout_ms, &doc, &err) !=
                PS_OK) {
                ps_cli_error("pdf-accuracy: %s", err.msg);
                failed++;
            } else {
                pages += (size_t)doc->pages;
            }
            ps_pdf_score before = sc;
            ps_pdf_score_add(&sc, doc, t);
            if (verbose) {
                if (sc.title_fuzzy == before.title_fuzzy)
                    fprintf(stderr, "%s: title %s | want %s\n", names[i],
                            doc && doc->title ? doc->title : "(none)",
                            t->title);
                if (sc.doi_exact == before.doi_exact)
                    fprintf(stderr, "%s: doi %s | want %s\n", names[i],
                            doc && doc->doi ? doc->doi : "(none)",
                            t->doi ? t->doi : "(none)");
                size_t m = sc.authors_matched - before.authors_matched;
                size_t f = sc.authors_found - before.authors_found;
                if (m != t->nfamilies || m != f) {
                    fprintf(stderr, "%s: authors", names[i]);
                    for (size_t k = 0; doc && k < doc->nauthors; k++)
                        fprintf(stderr, "%s%s", k ? "; " : " ",
                                doc->authors[k]);
                    fprintf(stderr, " | want");
                    for (size_t k = 0; k < t->nfamilies; k++)
                        fprintf(stderr, "%s%s", k ? "; " : " ", t->families[k]);
                    fputc('\n', stderr);
                }
            }
        }
        ps_pdf_doc_free(doc);
        ps_pdf_truth_free(t);
        ps_free(pdf);
        ps_free(xml);
    }
    ps_progress_end(&prog);
    double secs = (double)(ps_mono_ns() - t0) / 1e9;
    double p = pct(sc.authors_matched, sc.authors_found);
    double r = pct(sc.authors_matched, sc.authors_true);
    double f1 = p + r > 0 ? 2 * p * r / (p + r) : 0.0;
    if (as_json) {
        json_t *j = json_pack(
            "{s:s,s:I,s:I,s:I,s:f,s:{s:f,s:f},s:{s:f},"
            "s:{s:f,s:f,s:f,s:I,s:I,s:I}}",
            "dir", dir, "files", (json_int_t)sc.docs, "failed",
            (json_int_t)failed, "pages", (json_int_t)pages, "seconds", secs,
            "title", "exact", pct(sc.title_exact, sc.docs), "fuzzy",
            pct(sc.title_fuzzy, sc.docs), "doi", "exact",
            pct(sc.doi_exact, sc.docs), "authors", "precision", p, "recall", r,
            "f1", f1, "true", (json_int_t)sc.authors_true, "found",
            (json_int_t)sc.authors_found, "matched",
            (json_int_t)sc.authors_matched);
        char *s =
            j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
        json_decref(j);
        if (!s) {
            ps_cli_error("pdf-accuracy: out of memory");
            return PS_EXIT_FAIL;
        }
        puts(s);
        free(s);
    } else {
        printf("pdf-accuracy: %s: %zu files (%zu failed), %zu pages, "
               "%.2f s\n",
               dir, sc.docs, failed, pages, secs);
        printf("  title    exact %6.2f %%   fuzzy (>= 0.9) %6.2f %%\n",
               pct(sc.title_exact, sc.docs), pct(sc.title_fuzzy, sc.docs));
        printf("  doi      exact %6.2f %%\n", pct(sc.doi_exact, sc.docs));
        printf("  authors  precision %6.2f %%   recall %6.2f %%   F1 %6.2f %%"
               "   (%zu of %zu found, %zu printed)\n",
               p, r, f1, sc.authors_matched, sc.authors_true, sc.authors_found);
    }
    for (size_t i = 0; i < n; i++)
        ps_free(names[i]);
    ps_free(names);
    return ps_cli_interrupted ? PS_EXIT_INTERRUPTED : PS_EXIT_OK;
}
