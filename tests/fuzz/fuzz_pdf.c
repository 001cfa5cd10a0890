/*
 * fuzz_pdf.c: the libFuzzer target of PDF extraction
 * (harvesters/pdf-extract.c). Each input is the bytes of a PDF: it goes
 * through ps_pdf_extract in this process (not the forked, guarded variant:
 * the point is to find what the child would crash on), with small ceilings
 * (5 pages, 256 KiB of text) so that an input stays fast, and whatever
 * extracts goes through ps_pdf_doc_to_json, ps_pdf_doc_from_json and
 * ps_pdf_doc_to_json again. poppler itself is not instrumented: coverage
 * guides the mutations through our heuristics (lines, fonts, headings,
 * DOIs, authors, references), and a crash inside poppler is what the
 * guarded child is for.
 *
 * A clear error (PS_ERR_PARSE for a damaged file, PS_ERR_INVALID for an
 * encrypted one) is a fine answer. A crash, a sanitizer report, a leak, a
 * hang or a broken contract is a bug, and the contract checks abort so that
 * libFuzzer reports them: on failure no document and a message; on success
 * a document within its ceilings (text at most max_text_bytes and as long
 * as text_len says, at least one page, known warnings only, valid UTF-8 in
 * every string, a DOI in lower case that starts with "10."), a JSON form
 * with every field, and a round trip that gives the same JSON.
 *
 * Not a test of what the fields are (tests/unit/test_pdf_extract.c does
 * that). Built and run by tests/fuzz/CMakeLists.txt (CTest: fuzz.pdf).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "harvest.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_PAGES 5
#define FUZZ_MAX_TEXT ((size_t)256 << 10)

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_pdf: %s%s%s\n", what, detail ? ": " : "",
            detail ? detail : "");
    abort();
}

/* Is s (n bytes) well-formed UTF-8 (no overlongs, surrogates or code
 * points past U+10FFFF)? jansson refuses anything else, so a field that is
 * not would vanish from the JSON form. */
static int utf8_ok(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *e = p + n;
    while (p < e) {
        unsigned c = *p;
        size_t k;
        unsigned min;
        if (c < 0x80) {
            p++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            k = 1;
            min = 0x80;
        } else if (c >= 0xe0 && c <= 0xef) {
            k = 2;
            min = 0x800;
        } else if (c >= 0xf0 && c <= 0xf4) {
            k = 3;
            min = 0x10000;
        } else {
            return 0;
        }
        if ((size_t)(e - p) <= k)
            return 0;
        unsigned cp = c & (0x3f >> k);
        for (size_t i = 1; i <= k; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        p += k + 1;
    }
    return 1;
}

static void check_str(const char *what, const char *s)
{
    if (s && !utf8_ok(s, strlen(s)))
        fail("a string that is not UTF-8", what);
}

/* A DOI as the extraction gives it: "10." first, lower case. */
static void check_doi(const char *x)
{
    if (!x)
        return;
    if (strncmp(x, "10.", 3) != 0)
        fail("a DOI that does not start with 10.", x);
    for (const char *c = x; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            fail("a DOI not in lower case", x);
}

static void check_doc(const ps_pdf_doc *d)
{
    if (d->pages < 1)
        fail("a document without pages", NULL);
    if (d->warnings & ~(unsigned)(PS_PDF_WARN_NO_TEXT | PS_PDF_WARN_TEXT_CUT |
                                  PS_PDF_WARN_PAGES_CUT | PS_PDF_WARN_NO_TITLE))
        fail("an unknown warning", NULL);
    if (!d->text)
        fail("no text (not even empty)", NULL);
    if (d->text_len > FUZZ_MAX_TEXT || strlen(d->text) != d->text_len)
        fail("text over its ceiling or not text_len long", NULL);
    if (!utf8_ok(d->text, d->text_len))
        fail("a string that is not UTF-8", "text");
    check_str("title", d->title);
    check_str("abstract", d->abstract);
    check_str("acknowledgements", d->acknowledgements);
    check_str("funding", d->funding);
    for (size_t i = 0; i < d->nauthors; i++)
        check_str("author", d->authors[i]);
    for (size_t i = 0; i < d->nkeywords; i++)
        check_str("keyword", d->keywords[i]);
    for (size_t i = 0; i < d->nrefs; i++) {
        check_str("reference", d->refs[i].text);
        check_str("reference DOI", d->refs[i].doi);
    }
    check_doi(d->doi);
    for (size_t i = 0; i < d->nrefs; i++)
        check_doi(d->refs[i].doi);
}

static const char *const json_keys[] = {"title",
                                        "authors",
                                        "doi",
                                        "year",
                                        "abstract",
                                        "keywords",
                                        "acknowledgements",
                                        "funding",
                                        "references",
                                        "pages",
                                        "warnings",
                                        "text"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ps_pdf_opts o = PS_PDF_OPTS_INIT;
    o.max_pages = FUZZ_MAX_PAGES;
    o.max_text_bytes = FUZZ_MAX_TEXT;
    ps_err err = PS_ERR_INIT;
    ps_pdf_doc *doc = (ps_pdf_doc *)&err; /* must be reset on failure */
    ps_status st = ps_pdf_extract(data, size, &o, &doc, &err);
    if (st != PS_OK) {
        if (doc != NULL)
            fail("a document left behind on failure", err.msg);
        if (err.msg[0] == '\0' || err.code != st)
            fail("a failure without its message", NULL);
        if (st != PS_ERR_PARSE && st != PS_ERR_INVALID && st != PS_ERR_NOMEM)
            fail("an unexpected status", err.msg);
        return 0;
    }
    if (!doc)
        fail("success without a document", NULL);
    check_doc(doc);

    json_t *j = NULL, *j2 = NULL;
    ps_pdf_doc *back = NULL;
    if (ps_pdf_doc_to_json(doc, &j, &err) != PS_OK)
        fail("to_json failed", err.msg);
    for (size_t k = 0; k < sizeof json_keys / sizeof json_keys[0]; k++)
        if (!json_object_get(j, json_keys[k]))
            fail("a field missing from the JSON form", json_keys[k]);
    if (ps_pdf_doc_from_json(j, &back, &err) != PS_OK)
        fail("from_json failed", err.msg);
    if (back->nauthors != doc->nauthors || back->nrefs != doc->nrefs ||
        back->nkeywords != doc->nkeywords || back->text_len != doc->text_len ||
        back->warnings != doc->warnings || back->pages != doc->pages ||
        back->year != doc->year)
        fail("the round trip changed the document", NULL);
    if (ps_pdf_doc_to_json(back, &j2, &err) != PS_OK)
        fail("to_json of the round trip failed", err.msg);
    if (!json_equal(j, j2))
        fail("the round trip changed the JSON form", NULL);
    json_decref(j);
    json_decref(j2);
    ps_pdf_doc_free(back);
    ps_pdf_doc_free(doc);
    return 0;
}
