/*
 * test_query_syntax.c: unit tests of /api/search's query language
 * (query/query-syntax.c): the tree each operator gives (described as
 * text), and for each kind of malformed query the message and the
 * position (character offset and caret excerpt) of the 400 a client gets.
 * The translation to Xapian and the answers are tested through the
 * server (tests/integration/search.sh).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "check.h"
#include "query-syntax.h"

#include <string.h>

static ps_qs qs;

/* q must parse into the tree described as want. */
static void parses(const char *q, const char *want)
{
    ps_qs_error e;
    char got[1024];
    int rc = ps_qs_parse(q, &qs, &e);
    check(rc == 0, "%s: refused: %s at %zu", q, e.msg, e.offset);
    if (rc != 0)
        return;
    ps_qs_describe(&qs, got, sizeof got);
    check(strcmp(got, want) == 0, "%s: got %s, want %s", q, got, want);
}

/* q must be refused with a message containing needle, at character
 * offset at. */
static void refused(const char *q, size_t at, const char *needle)
{
    ps_qs_error e;
    int rc = ps_qs_parse(q, &qs, &e);
    check(rc == -1, "%s must be refused", q);
    if (rc != -1)
        return;
    check(strstr(e.msg, needle) != NULL, "%s: message \"%s\" lacks \"%s\"", q,
          e.msg, needle);
    check(e.offset == at, "%s: position %zu, want %zu (%s)", q, e.offset, at,
          e.msg);
}

static void test_operators(void)
{
    parses("neutron", "neutron");
    parses("  crystal  structure ", "(AND crystal structure)");
    parses("+crystal structure", "(AND crystal structure)");
    parses("crystal -powder", "(AND crystal -powder)");
    parses("crystal NOT powder", "(AND crystal -powder)");
    parses("crystal AND NOT powder", "(AND crystal -powder)");
    parses("magnon | phonon", "(OR magnon phonon)");
    parses("magnon|phonon", "(OR magnon phonon)");
    parses("magnon OR phonon OR spin", "(OR magnon phonon spin)");
    parses("a b | c", "(OR (AND a b) c)");
    parses("a AND b", "(AND a b)");
    parses("a or b", "(AND a or b)"); /* operators are in capitals */
    parses("\"single crystal\"", "\"single crystal\"");
    parses("\"single crystal\" -powder", "(AND \"single crystal\" -powder)");
    parses("diffract*", "diffract*");
    parses("(magnon | phonon) -powder", "(AND (OR magnon phonon) -powder)");
    parses("-(a | b) c", "(AND -(OR a b) c)");
    parses("((a))", "a");
    parses("single-crystal", "single-crystal");
    parses("Si(111)", "(AND Si 111)");
    parses("note: x", "(AND note: x)");
    parses("caf\xc3\xa9 \"na\xc3\xafve\"",
           "(AND caf\xc3\xa9 \"na\xc3\xafve\")");
    /* fields */
    parses("title:perovskite", "title:perovskite");
    parses("Title:perovskite", "title:perovskite");
    parses("title:\"solar cells\"", "title:\"solar cells\"");
    parses("title:perov*", "title:perov*");
    parses("author:Smith instrument:IN5 facility:ILL",
           "(AND author:Smith instrument:IN5 facility:ILL)");
    parses("technique:\"neutron diffraction\"",
           "technique:\"neutron diffraction\"");
    parses("doi:10.5291/ILL-DATA.EASY-1001", "doi:10.5291/ILL-DATA.EASY-1001");
    parses("year:2019", "year:2019");
    parses("year:[2015 TO 2020]", "year:[2015 TO 2020]");
    parses("year:{2015 TO 2020}", "year:[2016 TO 2019]");
    parses("year:[2015 TO 2020}", "year:[2015 TO 2019]");
    parses("year:[* TO 2020]", "year:[* TO 2020]");
    parses("year:[2015 TO *]", "year:[2015 TO *]");
    parses("year:[  2015   TO   2020 ]", "year:[2015 TO 2020]");
    parses("neutron -year:[* TO 2000]", "(AND neutron -year:[* TO 2000])");
    parses("(title:a | author:b) year:2020",
           "(AND (OR title:a author:b) year:2020)");
}

static void test_errors(void)
{
    /* parentheses */
    refused("neutron (crystal", 8, "this ( is never closed");
    refused("neutron crystal)", 15, "this ) closes nothing");
    refused(")", 0, "this ) closes nothing");
    refused("a () b", 2, "empty parentheses");
    /* quotes */
    refused("neutron \"single crystal", 8, "unterminated quote");
    refused("a \"\" b", 2, "empty phrase");
    refused("a \"  \"", 2, "empty phrase");
    refused("title:\"solar", 6, "unterminated quote");
    /* fields */
    refused("title:", 6, "empty value for title");
    refused("title: perovskite", 6, "empty value for title");
    refused("(author:)", 8, "empty value for author");
    refused("neutron colour:red", 8, "unknown field \"colour\"");
    refused("colour:red", 0,
            "title, author, instrument, facility, "
            "technique, doi, year");
    refused("title:(a b)", 6, "not supported");
    refused("year:twenty", 5, "a year is a whole number");
    refused("year:20*", 5, "a year is a whole number");
    refused("facility:IL*", 11, "facility: takes a whole value");
    refused("doi:10.5291/*", 12, "doi: takes a whole value");
    /* ranges */
    refused("year:[2015 2020]", 11, "expected TO");
    refused("year:[2015 TO 2020", 5, "never closed");
    refused("year:[2015 TO", 5, "never closed");
    refused("year:[2015 TO x]", 14, "\"x\" is not a year");
    refused("year:[ TO 2020]", 7, "\"TO\" is not a year");
    refused("year:[2020 TO 2015]", 6, "lower bound is above");
    refused("year:{2015 TO 2016}", 6, "lower bound is above");
    refused("title:[a TO b]", 6, "ranges are only for year");
    /* operators */
    refused("neutron AND", 8, "AND must come between two terms");
    refused("AND neutron", 0, "AND must come between two terms");
    refused("neutron OR", 8, "OR must come between two terms");
    refused("| neutron", 0, "OR must come between two terms");
    refused("a | | b", 2, "OR must come between two terms");
    refused("neutron - xray", 8, "- must be followed by the term");
    refused("neutron +", 8, "+ must be followed by the term");
    refused("NOT", 0, "NOT must be followed by the term");
    refused("-neutron", 0, "only excludes");
    refused("NOT neutron", 0, "only excludes");
    refused("-neutron -xray", 0, "only excludes");
    refused("a | -b", 4, "only excludes");
    refused("a (-b)", 3, "only excludes");
    /* wildcards */
    refused("*", 0, "no word to search for");
    refused("neutron d*ffraction", 9, "a * may only end a word");
    refused("neutron diffract**", 16, "a * may only end a word");
    /* positions count characters, not bytes */
    refused("\xc3\xa9t\xc3\xa9 (crystal", 4, "never closed");
}

static void test_excerpt(void)
{
    ps_qs_error e;
    check(ps_qs_parse("neutron (crystal", &qs, &e) == -1, "refused");
    check(strcmp(e.excerpt, "neutron (crystal\n        ^") == 0, "excerpt: %s",
          e.excerpt);
    check(e.byte == 8, "byte %zu", e.byte);
    /* A long query is cut around the fault. */
    char q[200];
    memset(q, 'a', 100);
    memcpy(q + 100, " ) ", 3);
    memset(q + 103, 'b', 60);
    q[163] = '\0';
    check(ps_qs_parse(q, &qs, &e) == -1, "refused");
    check(e.offset == 101, "offset %zu", e.offset);
    const char *nl = strchr(e.excerpt, '\n');
    check(nl != NULL && strncmp(e.excerpt, "...", 3) == 0, "cut: %s",
          e.excerpt);
    /* The caret is under the ')'. */
    if (nl) {
        size_t col = strlen(nl + 1) - 1;
        check(e.excerpt[col] == ')', "caret at %zu under '%c': %s", col,
              e.excerpt[col], e.excerpt);
    }
    /* Control characters become spaces: one line. */
    check(ps_qs_parse("a\n(b", &qs, &e) == -1, "refused");
    check(strcmp(e.excerpt, "a (b\n  ^") == 0, "excerpt: %s", e.excerpt);
}

static void test_ceilings(void)
{
    ps_qs_error e;
    char q[PS_QS_INPUT_MAX + 8];
    /* Too long. */
    memset(q, 'a', PS_QS_INPUT_MAX + 1);
    q[PS_QS_INPUT_MAX + 1] = '\0';
    check(ps_qs_parse(q, &qs, &e) == -1 && strstr(e.msg, "at most 1024"),
          "too long: %s", e.msg);
    /* Too deep. */
    size_t n = 0;
    for (int i = 0; i < PS_QS_DEPTH_MAX + 1; i++)
        q[n++] = '(';
    q[n++] = 'a';
    for (int i = 0; i < PS_QS_DEPTH_MAX + 1; i++)
        q[n++] = ')';
    q[n] = '\0';
    refused(q, PS_QS_DEPTH_MAX, "nested too deep");
    q[0] = ' ';
    q[n - 1] = ' ';
    parses(q, "a"); /* 32 levels are fine */
    /* Too many terms. */
    n = 0;
    for (int i = 0; i < PS_QS_TERMS_MAX + 1; i++) {
        memcpy(q + n, "ab ", 3);
        n += 3;
    }
    q[n] = '\0';
    refused(q, 3 * PS_QS_TERMS_MAX, "too many terms");
    q[n - 3] = '\0';
    check(ps_qs_parse(q, &qs, &e) == 0, "64 terms are fine: %s", e.msg);
    /* Many nested groups with many terms stay within the node pool. */
    n = 0;
    for (int i = 0; i < 20; i++) {
        memcpy(q + n, "(a|b) ", 6);
        n += 6;
    }
    q[n] = '\0';
    check(ps_qs_parse(q, &qs, &e) == 0, "20 groups: %s", e.msg);
    check(qs.n <= PS_QS_NODES_MAX, "nodes %zu", qs.n);
}

int main(void)
{
    test_operators();
    test_errors();
    test_excerpt();
    test_ceilings();
    return check_report();
}
