/*
 * test_panet.c: unit tests of the PaNET import (harvesters/panet.c) and of
 * the store's technique expansion. What users rely on: importing the real
 * PaNET table (the copy in share/panet) gives the hierarchy the PaN
 * ontologies API computes from the released OWL, checked against that
 * API's own test fixtures (small angle scattering covers 22 techniques,
 * magnetism technique 11, XES is one leaf); names and synonyms work in any
 * letter case, and a name shared by a technique and a process means the
 * technique; a re-import replaces, and a broken file is refused with a
 * clear message and leaves the ontology as it was.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "check.h"
#include "harvest.h"
#include "store.h"

#include <stdio.h>
#include <string.h>

#define P "http://purl.org/pan-science/PaNET/PaNET"

static char dir[256], panet[512];

/* The 5-digit numbers of what value expands to, sorted, space-separated. */
static void expansion(ps_store *st, const char *value, char *out, size_t size)
{
    ps_technique_set set;
    ps_err err = PS_ERR_INIT;
    out[0] = '\0';
    if (ps_store_technique_expand(st, value, &set, &err) != PS_OK) {
        snprintf(out, size, "error: %s", err.msg);
        return;
    }
    for (size_t i = 0; i < set.niris; i++) {
        const char *num = strstr(set.iris[i], "PaNET")
                              ? strrchr(set.iris[i], 'T') + 1
                              : set.iris[i];
        size_t len = strlen(out);
        snprintf(out + len, size - len, "%s%s", len ? " " : "", num);
    }
    ps_technique_set_free(&set);
}

static int has_name(ps_store *st, const char *value, const char *name)
{
    ps_technique_set set;
    int found = 0;
    if (ps_store_technique_expand(st, value, &set, NULL) != PS_OK)
        return 0;
    for (size_t i = 0; i < set.nnames; i++)
        found |= strcmp(set.names[i], name) == 0;
    ps_technique_set_free(&set);
    return found;
}

int main(void)
{
    char *d = check_tmpdir("panet");
    check_fatal(d != NULL, "temp dir");
    snprintf(dir, sizeof dir, "%s", d);
    const char *src = getenv("PS_SOURCE_DIR");
    snprintf(panet, sizeof panet, "%s/share/panet/PaNET.csv", src ? src : ".");

    char path[512];
    snprintf(path, sizeof path, "%s/store.db", dir);
    ps_store_opts o = PS_STORE_OPTS_INIT;
    o.create = 1;
    ps_store *st = NULL;
    ps_err err = PS_ERR_INIT;
    check_fatal(ps_store_open(&st, path, &o, &err) == PS_OK, "store: %s",
                err.msg);

    char got[4096];
    expansion(st, "small angle scattering", got, sizeof got);
    check(strcmp(got, "") == 0, "nothing before an import: %s", got);

    ps_ontology_stats stats;
    check_fatal(ps_ontology_import(st, panet, &stats, &err) == PS_OK,
                "import %s: %s", panet, err.msg);
    check(stats.terms == 510, "510 classes, got %zu", stats.terms);
    check(stats.pairs > stats.terms, "a closure (%zu pairs)", stats.pairs);

    /* ExPaNDS-eu/pan-ontologies-api's fixtures (technique.testcases.ts). */
    expansion(st, P "01124", got, sizeof got);
    check(strcmp(got, "01099 01107 01124 01127 01133 01162 01188 01189 01240 "
                      "01241 01273 01274 01275 01276 01277 01278 01279 01280 "
                      "01281 01282 01286 01287") == 0,
          "small angle scattering by IRI: %s", got);
    char byname[4096];
    expansion(st, "Small Angle Scattering", byname, sizeof byname);
    check(strcmp(got, byname) == 0,
          "by name in any letter case, the technique not the process: %s",
          byname);
    expansion(st, "magnetism technique", got, sizeof got);
    check(strcmp(got, "00207 01137 01141 01142 01143 01221 01252 01253 01259 "
                      "01301 01313") == 0,
          "magnetism technique: %s", got);
    expansion(st, "XES", got, sizeof got);
    check(strcmp(got, "01200") == 0, "synonym XES is a leaf: %s", got);
    expansion(st, "x-ray absorption", got, sizeof got);
    check(strstr(got, "01227") && strstr(got, "01196") && strstr(got, "01198"),
          "x-ray absorption covers XAS and EXAFS: %s", got);
    check(has_name(st, "x-ray emission spectroscopy", "XES"),
          "expansions carry synonyms as names");
    expansion(st, "no such technique", got, sizeof got);
    check(strcmp(got, "") == 0, "unknown name: empty (%s)", got);

    /* Re-import: the same, no duplicates. */
    size_t pairs = stats.pairs;
    check(ps_ontology_import(st, panet, &stats, &err) == PS_OK &&
              stats.pairs == pairs,
          "re-import: %s", err.msg);
    int64_t n = 0, when = 0;
    char *source = NULL;
    ps_store_ontology_info(st, &n, &source, &when, &err);
    check(n == 510 && source && strcmp(source, "PaNET.csv") == 0 && when > 0,
          "status: %lld terms from %s", (long long)n, source ? source : "?");
    ps_free(source);

    /* Broken and missing files: clear errors, ontology untouched. */
    char bad[512];
    snprintf(bad, sizeof bad, "%s/bad.csv", dir);
    FILE *f = fopen(bad, "w");
    fputs("a,b,c\n1,2,3\n", f);
    fclose(f);
    check(ps_ontology_import(st, bad, &stats, &err) == PS_ERR_PARSE &&
              strstr(err.msg, "ID and Label"),
          "not PaNET's table: %s", err.msg);
    f = fopen(bad, "w");
    fputs(",ID,Label\n,x,y\n", f);
    fclose(f);
    check(ps_ontology_import(st, bad, &stats, &err) == PS_ERR_PARSE &&
              strstr(err.msg, "no terms"),
          "no terms: %s", err.msg);
    snprintf(bad, sizeof bad, "%s/missing.csv", dir);
    check(ps_ontology_import(st, bad, &stats, &err) == PS_ERR_NOTFOUND,
          "missing file: %s", err.msg);
    expansion(st, "XES", got, sizeof got);
    check(strcmp(got, "01200") == 0, "ontology untouched by failures: %s", got);

    ps_store_close(st);
    check_rmtree(dir);
    return check_report();
}
