/*
 * test_filter.c: unit tests of the PaN filter language: what the parser
 * accepts, the 400 messages it gives for what it does not (they must name
 * the place and say what to do), and the evaluator's LoopBack semantics
 * that clients rely on (loose equality of numbers and numeric strings,
 * dates as times, inclusive between, unanchored like, any-element matching
 * on array fields, the text pseudo-field).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "check.h"
#include "query.h"

#include <string.h>

static ps_where *where_of(ps_pan_model m, const char *text)
{
    ps_where *w = NULL;
    ps_err err = PS_ERR_INIT;
    ps_status rc = ps_pan_where_parse(m, text, &w, &err);
    check(rc == PS_OK, "parse %s: %s", text, err.msg);
    return w;
}

static int matches(ps_pan_model m, const char *where, const char *record)
{
    ps_where *w = where_of(m, where);
    json_t *r = json_loads(record, 0, NULL);
    int ok = ps_where_match(w, m, r);
    json_decref(r);
    ps_where_free(w);
    return ok;
}

/* The filter must be refused with a message containing `needle`. */
static void refused(ps_pan_model m, const char *filter, const char *needle)
{
    ps_pan_filter *f = NULL;
    ps_err err = PS_ERR_INIT;
    ps_status rc = ps_pan_filter_parse(m, filter, &f, &err);
    check(rc == PS_ERR_INVALID, "%s must be refused", filter);
    check(strstr(err.msg, needle) != NULL, "%s: message \"%s\" lacks \"%s\"",
          filter, err.msg, needle);
    check(f == NULL, "no filter on error");
    ps_pan_filter_free(f);
}

static void test_parse(void)
{
    ps_pan_filter *f = NULL;
    ps_err err = PS_ERR_INIT;
    check(ps_pan_filter_parse(PS_PAN_DATASET, NULL, &f, &err) == PS_OK && f,
          "empty filter");
    ps_pan_filter_free(f);
    check(ps_pan_filter_parse(
              PS_PAN_DATASET,
              "{\"where\":{\"title\":\"x\"},\"limit\":\"10\",\"skip\":5,"
              "\"order\":[\"creationDate DESC\",\"pid\"],\"fields\":{\"pid\":"
              "true},\"query\":\"neutron\",\"include\":[\"files\",{"
              "\"relation\":\"parameters\",\"scope\":{\"where\":{\"name\":"
              "\"t\"}}}]}",
              &f, &err) == PS_OK,
          "full filter: %s", err.msg);
    check(f && f->limit == 10 && f->skip == 5, "numeric string limit");
    check(f && f->norder == 2 && f->order[0].descending &&
              !f->order[1].descending,
          "order");
    check(f && f->nincludes == 2 && !f->includes[0].filters_parent &&
              f->includes[1].filters_parent,
          "a scoped include restricts its parent");
    check(f && f->nfields == 1, "fields");
    check_str(f ? f->query : NULL, "neutron");
    ps_pan_filter_free(f);

    check(
        ps_pan_filter_parse(PS_PAN_DOCUMENT,
                            "{\"include\":[{\"relation\":\"members\",\"scope\":"
                            "{\"include\":[{\"relation\":\"person\",\"scope\":"
                            "{\"where\":{\"fullName\":\"X\"}}}]}}]}",
                            &f, &err) == PS_OK,
        "nested include: %s", err.msg);
    check(f && f->includes[0].filters_parent,
          "a filtering nested include restricts the top level too");
    ps_pan_filter_free(f);

    refused(PS_PAN_DATASET, "{not json", "not valid JSON");
    refused(PS_PAN_DATASET, "[1]", "JSON object");
    refused(PS_PAN_DATASET, "{\"limit\": -1}",
            "The limit parameter -1 is not valid");
    refused(PS_PAN_DATASET, "{\"limit\": 2.5}", "limit");
    refused(PS_PAN_DATASET, "{\"skip\": -100}", "skip");
    refused(PS_PAN_DATASET, "{\"wher\": {}}", "unknown filter key \"wher\"");
    refused(PS_PAN_DATASET, "{\"where\": []}", "expected an object");
    refused(PS_PAN_DATASET, "{\"where\": {\"titel\": \"x\"}}",
            "Dataset has no field \"titel\"");
    refused(PS_PAN_DATASET, "{\"where\": {\"title\": {\"lik\": \"x\"}}}",
            "unknown operator \"lik\"");
    refused(PS_PAN_DATASET,
            "{\"where\": {\"and\": [{\"title\": \"a\"}, {\"creationDate\": "
            "{\"gt\": \"yesterday\"}}]}}",
            "where.and[1].creationDate.gt: \"yesterday\" is not a date");
    refused(PS_PAN_DATASET, "{\"where\": {\"size\": {\"between\": [1]}}}",
            "expected [low, high]");
    refused(PS_PAN_DATASET, "{\"where\": {\"title\": {\"inq\": \"x\"}}}",
            "expected an array");
    refused(PS_PAN_DATASET, "{\"where\": {\"title\": {\"regexp\": \"(\"}}}",
            "not a valid regular expression");
    refused(PS_PAN_DATASET,
            "{\"where\": {\"title\": {\"regexp\": \"(a*)*\\\\1\"}}}",
            "backreferences");
    refused(PS_PAN_DATASET, "{\"where\": {\"or\": {\"title\": \"x\"}}}",
            "expected an array of conditions");
    refused(PS_PAN_DATASET, "{\"where\": {\"title\": {\"gt\": 1, \"lt\": 5}}}",
            "expected one operator");
    refused(PS_PAN_DATASET, "{\"include\": [{\"relation\": \"authors\"}]}",
            "Dataset has no relation \"authors\"");
    refused(PS_PAN_DATASET, "{\"include\": [{\"rel\": \"files\"}]}",
            "unexpected \"rel\"");
    refused(PS_PAN_DATASET,
            "{\"include\": [{\"relation\": \"files\", \"scope\": {\"limit\": "
            "2}}]}",
            "a scope takes");
    refused(PS_PAN_DATASET, "{\"order\": \"title SIDEWAYS\"}",
            "is not \"field");
    refused(PS_PAN_DATASET, "{\"order\": \"nope ASC\"}", "no field \"nope\"");
    refused(PS_PAN_DATASET, "{\"query\": 5}", "query: expected a string");
    refused(PS_PAN_DATASET, "{\"limit\": 1, \"limit\": 2}", "not valid JSON");

    ps_where *w = NULL;
    check(ps_pan_where_parse(PS_PAN_DATASET, "{\"where\": {\"pid\": \"x\"}}",
                             &w, &err) == PS_ERR_INVALID,
          "count's where must not be wrapped");
    check(strstr(err.msg, "condition itself") != NULL, "%s", err.msg);
    check(ps_pan_where_parse(PS_PAN_DATASET, "", &w, &err) == PS_OK && !w,
          "empty where is everything");
}

static void test_match(void)
{
    const char *ds =
        "{\"pid\":\"20.500.12269/d1\",\"title\":\"PaNOSC Test "
        "Dataset 1\",\"isPublic\":true,\"creationDate\":\"2020-05-"
        "05T15:01:02.341Z\",\"size\":930,\"instrumentId\":\"i/1\"}";
    check(matches(PS_PAN_DATASET, "{\"title\": \"PaNOSC Test Dataset 1\"}", ds),
          "equality");
    check(!matches(PS_PAN_DATASET, "{\"title\": \"PaNOSC\"}", ds),
          "equality is whole");
    check(matches(PS_PAN_DATASET, "{\"size\": \"930\"}", ds),
          "numeric string equals number (LoopBack loose equality)");
    check(matches(PS_PAN_DATASET, "{\"size\": {\"between\": [930, 931]}}", ds),
          "between is inclusive");
    check(!matches(PS_PAN_DATASET, "{\"size\": {\"gt\": 930}}", ds),
          "gt strict");
    check(matches(PS_PAN_DATASET, "{\"size\": {\"gte\": \"930\"}}", ds),
          "gte with a numeric string");
    check(matches(PS_PAN_DATASET,
                  "{\"creationDate\": {\"gt\": \"2020-01-01\"}}", ds),
          "dates compare as times");
    check(!matches(PS_PAN_DATASET,
                   "{\"creationDate\": {\"lt\": \"2020-05-05\"}}", ds),
          "date lt");
    check(matches(PS_PAN_DATASET, "{\"creationDate\": {\"lt\": 1e300}}", ds) &&
              !matches(PS_PAN_DATASET, "{\"creationDate\": {\"lt\": -1e300}}",
                       ds),
          "a date compares with any JSON number, however large");
    check(matches(PS_PAN_DATASET,
                  "{\"creationDate\": \"2020-05-05T17:01:02.341+02:00\"}", ds),
          "equal instants in other zones are equal");
    check(matches(PS_PAN_DATASET, "{\"title\": {\"like\": \"Test%1\"}}", ds),
          "like with %%");
    check(matches(PS_PAN_DATASET, "{\"title\": {\"like\": \"Dataset _\"}}", ds),
          "like is unanchored, _ one character");
    check(!matches(PS_PAN_DATASET, "{\"title\": {\"like\": \"panosc\"}}", ds),
          "like is case-sensitive");
    check(matches(PS_PAN_DATASET, "{\"title\": {\"ilike\": \"panosc\"}}", ds),
          "ilike is not");
    check(matches(PS_PAN_DATASET, "{\"title\": {\"nlike\": \"xyz\"}}", ds),
          "nlike");
    check(matches(PS_PAN_DATASET, "{\"title\": {\"like\": \"1.0\"}}",
                  "{\"title\":\"v1.0\"}") &&
              !matches(PS_PAN_DATASET, "{\"title\": {\"like\": \"1.0\"}}",
                       "{\"title\":\"v110\"}"),
          "regex characters in like patterns are literal");
    check(matches(PS_PAN_DATASET, "{\"title\": {\"regexp\": \"/^panosc/i\"}}",
                  ds),
          "regexp with flags");
    check(matches(PS_PAN_DATASET,
                  "{\"title\": {\"regexp\": \"Dataset \\\\d$\"}}", ds),
          "regexp \\d");
    check(matches(PS_PAN_DATASET,
                  "{\"pid\": {\"inq\": [\"a\", \"20.500.12269/d1\"]}}", ds),
          "inq");
    check(matches(PS_PAN_DATASET, "{\"pid\": {\"nin\": [\"a\", \"b\"]}}", ds),
          "nin");
    check(
        matches(PS_PAN_DATASET, "{\"pid\": [\"a\", \"20.500.12269/d1\"]}", ds),
        "an array value means one of them");
    check(matches(PS_PAN_DATASET, "{\"instrumentId\": {\"neq\": \"i/2\"}}", ds),
          "neq");
    check(
        matches(PS_PAN_DATASET, "{\"size\": {\"neq\": 5}}", "{\"pid\":\"x\"}"),
        "neq holds for a missing field");
    check(!matches(PS_PAN_DATASET, "{\"size\": 5}", "{\"pid\":\"x\"}"),
          "equality never holds for a missing field");
    check(matches(PS_PAN_DATASET, "{\"isPublic\": \"true\"}", ds),
          "boolean from a string");
    check(matches(PS_PAN_DATASET, "{\"text\": \"dataset 1\"}", ds),
          "text is a case-insensitive substring of the title");
    check(!matches(PS_PAN_DATASET, "{\"text\": \"dataset 2\"}", ds), "text no");
    check(matches(PS_PAN_DATASET,
                  "{\"or\": [{\"title\": \"x\"}, {\"and\": [{\"size\": 930}, "
                  "{\"pid\": {\"like\": \"12269\"}}]}]}",
                  ds),
          "nested and/or");
    check(!matches(PS_PAN_DATASET, "{\"title\": \"x\", \"size\": 930}", ds),
          "several keys are ANDed");

    const char *doc =
        "{\"pid\":\"p\",\"type\":\"proposal\",\"title\":\"Copper\","
        "\"summary\":\"Neutron study of copper\",\"keywords\":["
        "\"copper\",\"neutrons\"]}";
    check(matches(PS_PAN_DOCUMENT, "{\"keywords\": \"neutrons\"}", doc),
          "array field: any element");
    check(
        !matches(PS_PAN_DOCUMENT, "{\"keywords\": {\"neq\": \"copper\"}}", doc),
        "array neq: no element may equal");
    check(matches(PS_PAN_DOCUMENT, "{\"keywords\": {\"like\": \"neut\"}}", doc),
          "array like");
    check(matches(PS_PAN_DOCUMENT, "{\"text\": \"study\"}", doc),
          "text searches the summary too");

    const char *param =
        "{\"name\":\"photon_energy\",\"value\":930,\"unit\":\"eV\"}";
    check(matches(PS_PAN_PARAMETER,
                  "{\"and\": [{\"name\": \"photon_energy\"}, {\"value\": "
                  "{\"between\": [\"880\", \"990\"]}}, {\"unit\": \"eV\"}]}",
                  param),
          "parameter bounds given as strings (what the PaN portal sends)");
    check(!matches(PS_PAN_PARAMETER, "{\"value\": {\"lt\": 80}}", param), "lt");
    check(ps_where_match(NULL, PS_PAN_DATASET, NULL), "NULL where matches");
}

/* Absurd filters are 400s, not stack overflows or minutes of work. */
static void test_ceilings(void)
{
    ps_buf b;
    ps_buf_init(&b, 0);
    ps_buf_puts(&b, "{\"where\": ");
    for (int i = 0; i < 40; i++)
        ps_buf_puts(&b, "{\"and\": [");
    ps_buf_puts(&b, "{\"title\": \"x\"}");
    for (int i = 0; i < 40; i++)
        ps_buf_puts(&b, "]}");
    ps_buf_puts(&b, "}");
    refused(PS_PAN_DATASET, b.data, "too deeply nested");
    ps_buf_free(&b);

    ps_buf_init(&b, 0);
    ps_buf_puts(&b, "{\"include\": [");
    for (int i = 0; i < 20; i++)
        ps_buf_puts(&b,
                    "{\"relation\": \"datasets\", \"scope\": {\"include\": [");
    ps_buf_puts(&b, "{\"relation\": \"datasets\"}");
    for (int i = 0; i < 20; i++)
        ps_buf_puts(&b, "]}}");
    ps_buf_puts(&b, "]}");
    ps_pan_filter *f = NULL;
    ps_err err = PS_ERR_INIT;
    check(ps_pan_filter_parse(PS_PAN_INSTRUMENT, b.data, &f, &err) ==
                  PS_ERR_INVALID &&
              strstr(err.msg, "too deeply nested"),
          "deep includes refused: %s", err.msg);
    ps_pan_filter_free(f);
    ps_buf_free(&b);

    ps_buf_init(&b, 0);
    ps_buf_puts(&b, "{\"where\": {\"title\": {\"inq\": [");
    for (int i = 0; i < 5000; i++)
        ps_buf_printf(&b, "%s\"t%d\"", i ? "," : "", i);
    ps_buf_puts(&b, "]}}}");
    refused(PS_PAN_DATASET, b.data, "too large");
    ps_buf_free(&b);

    /* Deep but within bounds is fine. */
    check(matches(PS_PAN_DATASET,
                  "{\"and\": [{\"and\": [{\"or\": [{\"title\": \"x\"}, "
                  "{\"title\": \"PaNOSC Test Dataset 1\"}]}]}]}",
                  "{\"title\": \"PaNOSC Test Dataset 1\"}"),
          "nested and/or within the ceilings");
}

/* A regexp filter on Dataset titles, built in b. */
static const char *regexp_filter(ps_buf *b, const char *op, const char *pat)
{
    ps_buf_init(b, 0);
    ps_buf_printf(b, "{\"where\": {\"title\": {\"%s\": \"%s\"}}}", op, pat);
    return b->data;
}

/* Patterns that would take glibc's regcomp gigabytes or minutes (it writes
 * repetitions out, and stacked or deeply nested quantifiers explode) are
 * 400s; everyday ones, lazy quantifiers included, still work. Found by
 * tests/fuzz (fuzz.filter). */
static void test_pattern_ceilings(void)
{
    static const struct {
        const char *pat, *needle;
    } bad[] = {
        {"(((.*){255}){255}){255}", "too long or complex"},
        {"(x{1000}){1000}", "too long or complex"},
        {"x{1001}", "too long or complex"},
        {"((((^Z*)+?)+?)+?)", "too long or complex"},
        {"(a*+))))++++", "not a valid regular expression"},
        {"^Z*****************************************************************",
         "not a valid regular expression"},
        {"a*??", "not a valid regular expression"},
        {"[[:alpha:]", "not a valid regular expression"},
        {"a{2", "not a valid regular expression"},
    };
    ps_buf b;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        refused(PS_PAN_DATASET, regexp_filter(&b, "regexp", bad[i].pat),
                bad[i].needle);
        ps_buf_free(&b);
    }

    /* Long patterns: "x*" 8000 times took regcomp 500 MB. */
    ps_buf pat;
    ps_buf_init(&pat, 0);
    for (int i = 0; i < 600; i++)
        ps_buf_puts(&pat, "x*");
    refused(PS_PAN_DATASET, regexp_filter(&b, "regexp", pat.data),
            "too long or complex");
    ps_buf_free(&b);
    ps_buf_free(&pat);
    ps_buf_init(&pat, 0);
    for (int i = 0; i < 1001; i++)
        ps_buf_puts(&pat, "a");
    refused(PS_PAN_DATASET, regexp_filter(&b, "like", pat.data),
            "the pattern is too long");
    ps_buf_free(&b);
    ps_buf_init(&b, 0);
    ps_buf_printf(&b, "{\"where\": {\"text\": \"%s\"}}", pat.data);
    refused(PS_PAN_DATASET, b.data, "the pattern is too long");
    ps_buf_free(&b);
    ps_buf_free(&pat);

    const char *ds = "{\"title\": \"PaNOSC Test Dataset 1\"}";
    static const char *const good[] = {
        "^PaNOSC Test Dataset [0-9]{1,3}$",
        "/^panosc.*?dataset \\\\d+$/i",
        "[[:alpha:]]{6} (Te|Xe)st",
        "((Pa)?N(OSC)+ )*Test",
        "a*?|Test",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        ps_buf w;
        ps_buf_init(&w, 0);
        ps_buf_printf(&w, "{\"title\": {\"regexp\": \"%s\"}}", good[i]);
        check(matches(PS_PAN_DATASET, w.data, ds), "%s matches", good[i]);
        ps_buf_free(&w);
    }
}

int main(void)
{
    test_parse();
    test_match();
    test_ceilings();
    test_pattern_ceilings();
    return check_report();
}
