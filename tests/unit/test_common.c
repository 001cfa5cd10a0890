/*
 * test_common.c: unit tests of the shared layer. What users rely on: dates
 * from PaN APIs and harvest sources are read right in every ISO form and
 * written back as JavaScript writes them; pids arrive percent-encoded;
 * buffers fed from outside stop at their ceiling; units convert to SI
 * (temperatures with their offsets) and incompatible units are refused;
 * file:// fetches honour the ceiling; equal JSON hashes equally whatever
 * its key order; allocation failures come back as PS_ERR_NOMEM.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "check.h"
#include "common.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static void test_time(void)
{
    int64_t ms = 0;
    char buf[PS_TIME_BUFSZ];
    check(ps_time_parse("2020-05-05T15:01:02.341Z", &ms) == PS_OK, "parse");
    check(ms == 1588690862341LL, "ms %lld", (long long)ms);
    check_str(ps_time_format(ms, buf), "2020-05-05T15:01:02.341Z");
    check(ps_time_parse("2020-01-01", &ms) == PS_OK && ms == 1577836800000LL,
          "date only is midnight UTC");
    check(ps_time_parse("2020", &ms) == PS_OK && ms == 1577836800000LL,
          "year only");
    check(ps_time_parse("2020-05", &ms) == PS_OK, "year and month");
    check(ps_time_parse("2020-05-05T17:01:02+02:00", &ms) == PS_OK &&
              ms == 1588690862000LL,
          "offset applied: %lld", (long long)ms);
    check(ps_time_parse("2020-05-05 15:01:02", &ms) == PS_OK,
          "space separator");
    check(ps_time_parse("1969-12-31T23:59:59.999Z", &ms) == PS_OK && ms == -1,
          "before the epoch");
    check_str(ps_time_format(-1, buf), "1969-12-31T23:59:59.999Z");
    check(ps_time_parse("2020-02-30", &ms) == PS_ERR_PARSE, "no 30 February");
    check(ps_time_parse("2021-02-29", &ms) == PS_ERR_PARSE, "2021 not leap");
    check(ps_time_parse("2024-02-29", &ms) == PS_OK, "2024 leap");
    check(ps_time_parse("not a date", &ms) == PS_ERR_PARSE, "garbage");
    check(ps_time_parse("2020-05-05T25:00", &ms) == PS_ERR_PARSE, "hour 25");
    check(ps_time_parse("2020-05-05Tx", &ms) == PS_ERR_PARSE, "bad time");
    check(ps_time_parse("", &ms) == PS_ERR_PARSE, "empty");
    check(ps_time_parse(NULL, &ms) == PS_ERR_PARSE, "NULL");
    /* Round trip across many instants. */
    for (int64_t t = -2208988800000LL; t < 4102444800000LL;
         t += 86399123LL * 97) {
        int64_t back = 0;
        ps_time_format(t, buf);
        if (ps_time_parse(buf, &back) != PS_OK || back != t) {
            check(0, "round trip %lld -> %s -> %lld", (long long)t, buf,
                  (long long)back);
            break;
        }
    }
}

static void test_strings(void)
{
    char *s = ps_pct_decode("20.500.12269%2Fpanosc-dataset1", 30);
    check_str(s, "20.500.12269/panosc-dataset1");
    ps_free(s);
    check(ps_pct_decode("%zz", 3) == NULL, "bad escape refused");
    check(ps_pct_decode("a%00b", 5) == NULL, "NUL refused");
    check(ps_pct_decode("abc%4", 5) == NULL, "truncated escape refused");
    s = ps_pct_encode("{\"a\": 1}/é");
    check_str(s, "%7B%22a%22%3A%201%7D%2F%C3%A9");
    ps_free(s);
    int64_t v;
    double d;
    check(ps_parse_i64("42", &v) == 0 && v == 42, "i64");
    check(ps_parse_i64("42x", &v) != 0, "trailing garbage");
    check(ps_parse_i64("", &v) != 0, "empty");
    check(ps_parse_i64("99999999999999999999", &v) != 0, "overflow");
    check(ps_parse_double("1e-3", &d) == 0 && d == 1e-3, "double");
    check(ps_parse_double("nan", &d) != 0, "nan refused");
    check(ps_str_startswith("file:///x", "file://"), "startswith");
    check(ps_str_endswith("a.json", ".json"), "endswith");
    check(!ps_str_endswith("a", "long"), "endswith short");
}

static void test_buf(void)
{
    ps_buf b;
    ps_buf_init(&b, 10);
    check(ps_buf_puts(&b, "hello") == PS_OK, "fits");
    check(ps_buf_puts(&b, "world!") == PS_ERR_TOOBIG, "ceiling");
    check(b.len == 5 && strcmp(b.data, "hello") == 0, "unchanged on TOOBIG");
    check(ps_buf_printf(&b, "%d", 12345) == PS_OK, "printf fits exactly");
    check(b.len == 10, "len 10");
    char *p = ps_buf_detach(&b);
    check_str(p, "hello12345");
    ps_free(p);
    ps_buf_init(&b, 0);
    for (int i = 0; i < 10000; i++)
        ps_buf_puts(&b, "x");
    check(b.len == 10000, "grows without ceiling");
    ps_buf_free(&b);
}

static void test_units(void)
{
    ps_units *u = NULL;
    ps_err err = PS_ERR_INIT;
    check_fatal(ps_units_open(&u, &err) == PS_OK, "units: %s", err.msg);
    double si, out;
    char unit[64];
    check(ps_units_to_si(u, 930, "eV", &si, unit, sizeof unit, &err) == PS_OK,
          "eV");
    check(fabs(si - 1.49002e-16) < 1e-20, "930 eV = %g J", si);
    check_str(unit, "m2.kg.s-2");
    check(ps_units_to_si(u, 20, "celsius", &si, unit, sizeof unit, &err) ==
                  PS_OK &&
              fabs(si - 293.15) < 1e-9,
          "20 celsius = %g", si);
    check_str(unit, "K");
    check(ps_units_to_si(u, 32, "fahrenheit", &si, unit, sizeof unit, &err) ==
                  PS_OK &&
              fabs(si - 273.15) < 1e-6,
          "32 F = %g K", si);
    check(ps_units_to_si(u, 1, "angstrom", &si, unit, sizeof unit, &err) ==
                  PS_OK &&
              fabs(si - 1e-10) < 1e-22,
          "angstrom");
    check(ps_units_to_si(u, 1, "mbar", &si, unit, sizeof unit, &err) == PS_OK &&
              fabs(si - 100) < 1e-9,
          "mbar = 100 Pa");
    check(ps_units_to_si(u, 1, "atm", &si, unit, sizeof unit, &err) == PS_OK &&
              fabs(si - 101325) < 1e-6,
          "atm");
    check(ps_units_to_si(u, 2, "h", &si, unit, sizeof unit, &err) == PS_OK &&
              si == 7200,
          "hours");
    check(ps_units_to_si(u, 1, "deg", &si, unit, sizeof unit, &err) == PS_OK,
          "deg alias");
    check(ps_units_to_si(u, 5, "", &si, unit, sizeof unit, &err) == PS_OK &&
              si == 5 && unit[0] == '\0',
          "unitless");
    check(ps_units_to_si(u, 1, "furlongs per fortnight squared", &si, unit,
                         sizeof unit, &err) == PS_ERR_INVALID,
          "unknown unit");
    check(strstr(err.msg, "furlongs") != NULL, "message names it: %s", err.msg);
    check(ps_units_convert(u, 9.5, "keV", "eV", &out, &err) == PS_OK &&
              fabs(out - 9500) < 1e-6,
          "keV to eV: %g", out);
    check(ps_units_convert(u, 300, "K", "celsius", &out, &err) == PS_OK &&
              fabs(out - 26.85) < 1e-9,
          "K to celsius");
    check(ps_units_convert(u, 1, "K", "m", &out, &err) == PS_ERR_INVALID,
          "temperature in metres refused");
    check(strstr(err.msg, "cannot be converted") != NULL, "%s", err.msg);
    /* Many distinct units go through the cache without trouble. */
    for (int i = 0; i < 300; i++) {
        char name[32];
        snprintf(name, sizeof name, "%d m", i + 1);
        if (ps_units_to_si(u, 1, name, &si, unit, sizeof unit, &err) != PS_OK ||
            fabs(si - (i + 1)) > 1e-9) {
            check(0, "scaled unit %s: %g %s", name, si, err.msg);
            break;
        }
    }
    ps_units_close(u);
    ps_units_close(NULL);
}

static void test_json(void)
{
    json_t *a = json_loads("{\"b\": 1, \"a\": [1, 2]}", 0, NULL);
    json_t *b = json_loads("{\"a\": [1, 2], \"b\": 1}", 0, NULL);
    json_t *c = json_loads("{\"a\": [2, 1], \"b\": 1}", 0, NULL);
    char ha[65], hb[65], hc[65];
    ps_json_hash(a, ha, NULL);
    ps_json_hash(b, hb, NULL);
    ps_json_hash(c, hc, NULL);
    check(strcmp(ha, hb) == 0, "key order does not change the hash");
    check(strcmp(ha, hc) != 0, "array order does");
    json_decref(a);
    json_decref(b);
    json_decref(c);
    json_t *j = NULL;
    ps_err err = PS_ERR_INIT;
    check(ps_json_parse("{\"x\": ", 6, &j, &err) == PS_ERR_PARSE, "bad JSON");
    check(strstr(err.msg, "line 1") != NULL, "where: %s", err.msg);
    check(ps_json_parse("{\"x\": \"y\", \"n\": 2}", 18, &j, &err) == PS_OK,
          "good JSON");
    double n;
    check_str(ps_json_str(j, "x"), "y");
    check(ps_json_str(j, "n") == NULL, "number is not a string");
    check(ps_json_num(j, "n", &n) == 0 && n == 2, "number");
    check(ps_json_bool(j, "missing", 7) == 7, "default");
    json_decref(j);
}

static void test_fetch_file(void)
{
    char *dir = check_tmpdir("common");
    char path[512], url[600];
    snprintf(path, sizeof path, "%s/page.json", dir);
    FILE *f = fopen(path, "w");
    for (int i = 0; i < 1000; i++)
        fputs("[1,2,3,4,5,6,7,8,9,10],", f);
    fclose(f);
    snprintf(url, sizeof url, "file://%s", path);
    ps_http *h = NULL;
    ps_http_opts o = PS_HTTP_OPTS_INIT;
    ps_err err = PS_ERR_INIT;
    ps_http_response r;
    check_fatal(ps_http_new(&h, &o, &err) == PS_OK, "client");
    check(ps_http_get(h, url, &r, &err) == PS_OK, "file fetch: %s", err.msg);
    check(r.status == 200 && r.body_len == 23000, "whole file %zu", r.body_len);
    ps_http_response_free(&r);
    ps_http_free(h);
    o.max_body = 1000;
    check_fatal(ps_http_new(&h, &o, &err) == PS_OK, "client");
    check(ps_http_get(h, url, &r, &err) == PS_ERR_TOOBIG, "ceiling on files");
    check(strstr(err.msg, "1000") != NULL, "message gives the ceiling: %s",
          err.msg);
    ps_http_response_free(&r);
    snprintf(url, sizeof url, "file://%s/missing.json", dir);
    check(ps_http_get(h, url, &r, &err) == PS_ERR_NOTFOUND, "missing file");
    ps_http_response_free(&r);
    check(ps_http_get(h, "gopher://x/", &r, &err) != PS_OK,
          "other protocols refused");
    ps_http_response_free(&r);
    ps_http_free(h);
    ps_http_free(NULL);
    check_rmtree(dir);
}

static void test_nomem(void)
{
    ps_alloc_fail_after(0);
    check(ps_strdup("x") == NULL, "strdup fails when told to");
    ps_buf b;
    ps_buf_init(&b, 0);
    check(ps_buf_puts(&b, "x") == PS_ERR_NOMEM, "buffer NOMEM");
    ps_alloc_fail_after(-1);
    ps_buf_free(&b);
    ps_err err = PS_ERR_INIT;
    ps_err_set(&err, PS_ERR_IO, "disk %s", "full");
    ps_err_prefix(&err, "writing %s", "x");
    check_str(err.msg, "writing x: disk full");
    check(err.code == PS_ERR_IO, "prefix keeps the code");
    ps_err_clear(&err);
    check(err.code == PS_OK && err.msg[0] == '\0', "clear");
    check(strcmp(ps_status_str(PS_ERR_BUSY), "unknown status") != 0, "text");
}

int main(void)
{
    ps_http_global_init(NULL);
    test_time();
    test_strings();
    test_buf();
    test_units();
    test_json();
    test_fetch_file();
    test_nomem();
    ps_http_global_cleanup();
    return check_report();
}
