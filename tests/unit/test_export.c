/*
 * test_export.c: unit tests of the export formatters (query/export.h): the
 * format names, content types and extensions; CSV's header, quoting, lists
 * and the defusing of cells a spreadsheet would run as formulas; BibTeX's
 * entry types, unique keys, escaping of TeX's specials and of "and" in
 * names, verbatim doi and url fields; RIS's tags per type; JSON as an
 * array; bad arguments, and the ceiling (an export that passes it keeps
 * whole records only).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "check.h"
#include "export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define check_contains(hay, needle)                                            \
    check((hay) && strstr((hay), (needle)) != NULL, "\"%s\" not in:\n%s",      \
          (needle), (hay) ? (hay) : "(null)")
#define check_lacks(hay, needle)                                               \
    check((hay) && strstr((hay), (needle)) == NULL, "\"%s\" in:\n%s",          \
          (needle), (hay) ? (hay) : "(null)")

/* A whole export of hits in format f (ps_free the result). */
static char *export_all(psi_export_format f, json_t *hits)
{
    ps_buf b;
    ps_buf_init(&b, 0);
    ps_err err = PS_ERR_INIT;
    check(psi_export_begin(f, &b, &err) == PS_OK, "begin: %s", err.msg);
    size_t i;
    json_t *h;
    json_array_foreach (hits, i, h)
        check(psi_export_record(f, h, i, &b, &err) == PS_OK, "record: %s",
              err.msg);
    check(psi_export_end(f, &b, &err) == PS_OK, "end: %s", err.msg);
    return ps_buf_detach(&b);
}

static json_t *sample_hits(void)
{
    json_error_t je;
    json_t *hits = json_loads(
        "["
        "{\"type\":\"publication\",\"pid\":\"10.1/x_1\",\"title\":\"Spins, "
        "\\\"ice\\\" & 50% {more} $x$ #1 a_b ~c ^d \\\\e\",\"year\":2019,"
        "\"doi\":\"10.1/x_{1}\",\"journal\":\"Phys. Rev. B\","
        "\"authors\":[{\"pid\":\"p1\",\"name\":\"Marie Curie\",\"orcid\":"
        "\"0000\"},{\"name\":\"Smith and Sons Lab\"},{\"name\":\"Bragg, W.\"}],"
        "\"institutions\":[{\"name\":\"ILL\",\"country\":\"France\"},"
        "{\"name\":\"ESRF\",\"country\":\"France\"},{\"name\":\"PSI\","
        "\"country\":\"Switzerland\"}],"
        "\"instruments\":[{\"pid\":\"ill/in5\",\"name\":\"IN5\"}],"
        "\"keywords\":[\"spin ice\",\"neutrons\"],\"citations\":12,"
        "\"abstract\":\"Line one\\nline two\",\"json\":"
        "\"http://h/api/Documents/10.1%2Fx_1\"},"
        "{\"type\":\"proposal\",\"pid\":\"ill:8-01-418\",\"code\":\"8-01-418\","
        "\"title\":\"=HYPERLINK(\\\"http://evil\\\")\",\"year\":2015,"
        "\"status\":\"accepted\",\"authors\":[{\"name\":\"Marie Curie\"}],"
        "\"institutions\":[{\"name\":\"Sorbonne\",\"country\":\"France\"}],"
        "\"summary\":\"+cmd|' /C calc'!A0\"},"
        "{\"type\":\"dataset\",\"pid\":\"ds/1\",\"title\":\"-1+2\","
        "\"authors\":[\"\\u00c5ngstr\\u00f6m, Anders\"],\"year\":2016,"
        "\"keywords\":[\"@SUM(A1)\"]},"
        "{\"type\":\"publication\",\"pid\":\"p/2\",\"title\":\"\\tTabbed\","
        "\"year\":2019,\"authors\":[{\"name\":\"Marie Curie\"}]},"
        "{\"kind\":\"instrument\",\"pid\":\"ill/in5\",\"title\":\"IN5\"}"
        "]",
        0, &je);
    check_fatal(hits != NULL, "sample: %s", je.text);
    return hits;
}

static void test_formats(void)
{
    psi_export_format f = PSI_EXPORT_JSON;
    check(psi_export_format_parse("csv", &f) == 0 && f == PSI_EXPORT_CSV,
          "csv");
    check(psi_export_format_parse("BibTeX", &f) == 0 && f == PSI_EXPORT_BIBTEX,
          "BibTeX");
    check(psi_export_format_parse("ris", &f) == 0 && f == PSI_EXPORT_RIS,
          "ris");
    check(psi_export_format_parse("json", &f) == 0 && f == PSI_EXPORT_JSON,
          "json");
    check(psi_export_format_parse("xml", &f) == -1 && f == PSI_EXPORT_JSON,
          "xml is not a format");
    check(psi_export_format_parse(NULL, &f) == -1, "NULL");
    check(psi_export_format_parse("", &f) == -1, "empty");
    check_str(psi_export_content_type(PSI_EXPORT_CSV),
              "text/csv; charset=utf-8");
    check_str(psi_export_content_type(PSI_EXPORT_BIBTEX),
              "application/x-bibtex");
    check_str(psi_export_content_type(PSI_EXPORT_RIS),
              "application/x-research-info-systems");
    check_str(psi_export_content_type(PSI_EXPORT_JSON), "application/json");
    check_str(psi_export_extension(PSI_EXPORT_CSV), "csv");
    check_str(psi_export_extension(PSI_EXPORT_BIBTEX), "bib");
    check_str(psi_export_extension(PSI_EXPORT_RIS), "ris");
    check_str(psi_export_extension(PSI_EXPORT_JSON), "json");
}

static void test_csv(json_t *hits)
{
    char *csv = export_all(PSI_EXPORT_CSV, hits);
    static const char header[] =
        "type,pid,title,year,doi,code,status,journal,authors,institutions,"
        "countries,instruments,keywords,citations,abstract,json\r\n";
    check(strncmp(csv, header, sizeof header - 1) == 0, "header row:\n%s", csv);
    /* Quotes doubled, commas quoted, lists joined, countries once. */
    check_contains(csv, "publication,10.1/x_1,\"Spins, \"\"ice\"\" & 50% "
                        "{more} $x$ #1 a_b ~c ^d \\e\",2019,10.1/x_{1},,,"
                        "Phys. Rev. B,\"Marie Curie; Smith and Sons Lab; "
                        "Bragg, W.\",ILL;");
    check_contains(csv, ",ILL; ESRF; PSI,France; Switzerland,IN5,spin ice; "
                        "neutrons,12,\"Line one\nline two\",http://h/api/"
                        "Documents/10.1%2Fx_1\r\n");
    /* Formula injection: the cells start with ' (and stay quoted when they
     * must be). */
    check_contains(csv, ",\"'=HYPERLINK(\"\"http://evil\"\")\",");
    check_contains(csv, ",'+cmd|' /C calc'!A0,");
    check_contains(csv, "dataset,ds/1,'-1+2,2016,");
    check_contains(csv, ",'@SUM(A1),");
    check_contains(csv, ",'\tTabbed,");
    check_lacks(csv, ",=HYPERLINK");
    /* The instrument: its kind as type. */
    check_contains(csv, "\r\ninstrument,ill/in5,IN5,,,");
    /* Every row has the 16 columns: count the rows' unquoted commas. */
    int rows = 0, commas = 0, quoted = 0, bad = 0;
    for (const char *p = csv; *p; p++) {
        if (*p == '"')
            quoted = !quoted;
        else if (!quoted && *p == ',')
            commas++;
        else if (!quoted && *p == '\r' && p[1] == '\n') {
            bad += commas != 15;
            rows++;
            commas = 0;
            p++;
        }
    }
    check(rows == 6 && bad == 0 && !quoted, "%d rows, %d bad", rows, bad);
    /* A record alone: one row. */
    ps_buf b;
    ps_buf_init(&b, 0);
    ps_err err = PS_ERR_INIT;
    json_t *one = json_pack("{s:s, s:s}", "type", "dataset", "title", "\rx");
    check(psi_export_record(PSI_EXPORT_CSV, one, 0, &b, &err) == PS_OK, "one");
    check_str(b.data, "dataset,,\"'\rx\",,,,,,,,,,,,,\r\n");
    json_decref(one);
    ps_buf_free(&b);
    ps_free(csv);
}

static void test_bibtex(json_t *hits)
{
    char *bib = export_all(PSI_EXPORT_BIBTEX, hits);
    check_contains(bib, "@article{curie2019-1,\n  title = {Spins, \"ice\" "
                        "\\& 50\\% \\textbraceleft{}more\\textbraceright{} "
                        "\\$x\\$ \\#1 a\\_b \\textasciitilde{}c "
                        "\\textasciicircum{}d \\textbackslash{}e},\n");
    check_contains(bib, "  author = {Marie Curie and {Smith and Sons Lab} and "
                        "Bragg, W.},\n");
    check_contains(bib, "  journal = {Phys. Rev. B},\n  year = {2019},\n"
                        "  doi = {10.1/x_%7B1%7D},\n");
    check_contains(bib, "  keywords = {spin ice, neutrons},\n");
    check_contains(bib, "  abstract = {Line one line two},\n");
    check_contains(bib, "  note = {Instruments: IN5},\n"
                        "  url = {http://h/api/Documents/10.1%2Fx_1}\n}\n");
    check_contains(bib, "@techreport{curie2015-2,\n");
    check_contains(bib, "  institution = {Sorbonne},\n  type = {Proposal},\n"
                        "  number = {8-01-418},\n  year = {2015},\n");
    check_contains(bib, "  note = {Status: accepted}");
    check_contains(bib, "@dataset{angstrom2016-3,\n  title = {-1+2},\n");
    /* Same author and year: the number keeps keys apart. */
    check_contains(bib, "@misc{curie2019-4,\n");
    check_contains(bib, "@misc{instrumentnd-5,\n  title = {IN5}\n}");
    /* Braces balance in every entry. */
    int depth = 0, low = 0;
    for (const char *p = bib; *p; p++) {
        depth += *p == '{';
        depth -= *p == '}';
        if (depth < 0)
            low = 1;
    }
    check(depth == 0 && !low, "balanced braces");
    ps_free(bib);
}

static void test_ris(json_t *hits)
{
    char *ris = export_all(PSI_EXPORT_RIS, hits);
    check(strncmp(ris, "TY  - JOUR\r\nTI  - Spins,", 24) == 0, "starts:\n%s",
          ris);
    check_contains(ris, "AU  - Marie Curie\r\nAU  - Smith and Sons Lab\r\n"
                        "AU  - Bragg, W.\r\nPY  - 2019\r\nJO  - Phys. Rev. B"
                        "\r\nDO  - 10.1/x_{1}\r\nKW  - spin ice\r\nKW  - "
                        "neutrons\r\nAB  - Line one line two\r\n");
    check_contains(ris, "N1  - Instrument: IN5\r\nUR  - http://h/api/"
                        "Documents/10.1%2Fx_1\r\nID  - 10.1/x_1\r\n"
                        "ER  - \r\n\r\n");
    check_contains(ris, "TY  - GEN\r\nTI  - =HYPERLINK(\"http://evil\")\r\n");
    check_contains(ris, "M1  - 8-01-418\r\nN1  - Status: accepted\r\n");
    check_contains(ris, "TY  - DATA\r\nTI  - -1+2\r\n");
    check_contains(ris, "TY  - GEN\r\nTI  - Tabbed\r\n");
    int n = 0;
    for (const char *p = ris; (p = strstr(p, "ER  - ")) != NULL; p++)
        n++;
    check(n == 5, "5 records: %d", n);
    check_lacks(ris, "\n\n\n");
    ps_free(ris);
}

static void test_json(json_t *hits)
{
    char *text = export_all(PSI_EXPORT_JSON, hits);
    json_error_t je;
    json_t *back = json_loads(text, 0, &je);
    check(back && json_equal(back, hits), "JSON round trip: %s", je.text);
    json_decref(back);
    ps_free(text);
    json_t *none = json_array();
    text = export_all(PSI_EXPORT_JSON, none);
    check_str(text, "[]\n");
    ps_free(text);
    text = export_all(PSI_EXPORT_CSV, none);
    check(strchr(text, '\n') == text + strlen(text) - 1, "CSV: header only");
    ps_free(text);
    text = export_all(PSI_EXPORT_BIBTEX, none);
    check_str(text, "");
    ps_free(text);
    json_decref(none);
}

static void test_errors(json_t *hits)
{
    ps_buf b;
    ps_buf_init(&b, 0);
    ps_err err = PS_ERR_INIT;
    json_t *s = json_string("x");
    check(psi_export_record(PSI_EXPORT_CSV, s, 0, &b, &err) == PS_ERR_INVALID,
          "a string is not a hit");
    check(psi_export_record(PSI_EXPORT_CSV, NULL, 0, &b, &err) ==
              PS_ERR_INVALID,
          "NULL hit");
    json_decref(s);
    check(psi_export_begin((psi_export_format)9, &b, &err) == PS_ERR_INVALID,
          "bad format");
    check(psi_export_end(PSI_EXPORT_CSV, NULL, &err) == PS_ERR_INVALID,
          "NULL buffer");
    check(psi_export_record(PSI_EXPORT_RIS, json_array_get(hits, 0), 0, NULL,
                            &err) == PS_ERR_INVALID,
          "NULL buffer");
    ps_buf_free(&b);

    /* The ceiling: the record that passes it is taken back whole. */
    for (int f = PSI_EXPORT_CSV; f <= PSI_EXPORT_JSON; f++) {
        ps_buf_init(&b, 600);
        ps_status rc = psi_export_begin((psi_export_format)f, &b, &err);
        size_t i, kept = b.len, nrec = 0;
        json_t *h;
        json_array_foreach (hits, i, h) {
            rc = psi_export_record((psi_export_format)f, h, i, &b, &err);
            if (rc != PS_OK)
                break;
            kept = b.len;
            nrec++;
        }
        check(rc == PS_ERR_TOOBIG, "format %d: TOOBIG after %zu records", f,
              nrec);
        check(strstr(err.msg, "larger than 600 bytes") != NULL, "%s", err.msg);
        check(b.len == kept && (!b.data || strlen(b.data) == kept),
              "format %d: whole records only", f);
        ps_buf_free(&b);
    }
}

int main(void)
{
    json_t *hits = sample_hits();
    test_formats();
    test_csv(hits);
    test_bibtex(hits);
    test_ris(hits);
    test_json(hits);
    test_errors(hits);
    json_decref(hits);
    return check_report();
}
