/*
 * ontology.c: `pansift ontology`, the technique ontology (PaNET) of the
 * store: import it from PaNET's source table, show what it holds, and show
 * what a technique covers (the technique and every narrower one, which is
 * what a query for it matches). `pansift init` imports the copy that comes
 * with pansift, so a new data directory understands techniques at once.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "cli.h"
#include "harvest.h"

#include <stdio.h>
#include <string.h>

#ifndef PS_DEFAULT_ONTOLOGY
#define PS_DEFAULT_ONTOLOGY "share/panet/PaNET.csv"
#endif

const char *ps_cli_default_ontology(void) { return PS_DEFAULT_ONTOLOGY; }

static int usage(void)
{
    printf("usage: pansift ontology [status]\n"
           "       pansift ontology import [FILE]\n"
           "       pansift ontology show TECHNIQUE\n\n"
           "The technique ontology (PaNET) that technique conditions use: a "
           "query for a\ntechnique, by PaNET IRI or by name or synonym, "
           "matches it and every narrower\ntechnique.\n\n"
           "  status            terms held, where and when they were "
           "imported\n"
           "  import [FILE]     replace the ontology by FILE, PaNET's source "
           "table\n"
           "                    (source/PaNET.csv of the ExPaNDS ontology "
           "repository);\n"
           "                    default: the copy that comes with pansift\n"
           "                    (%s)\n"
           "  show TECHNIQUE    a technique (IRI, name or synonym) and every "
           "narrower one\n",
           PS_DEFAULT_ONTOLOGY);
    return PS_EXIT_OK;
}

static int status(ps_store *st)
{
    ps_err err = PS_ERR_INIT;
    int64_t n = 0, when = 0;
    char *source = NULL;
    if (ps_store_ontology_info(st, &n, &source, &when, &err) != PS_OK) {
        ps_cli_error("%s", err.msg);
        return ps_cli_exit_code(err.code);
    }
    if (n == 0) {
        printf("no technique ontology; run `pansift ontology import` to "
               "import PaNET\n");
    } else {
        char buf[PS_TIME_BUFSZ];
        printf("%lld techniques from %s, imported %s\n", (long long)n,
               source ? source : "?", ps_time_format(when, buf));
    }
    ps_free(source);
    return PS_EXIT_OK;
}

int ps_cli_ontology_import(ps_store *st, const char *path, int quiet)
{
    ps_err err = PS_ERR_INIT;
    ps_ontology_stats stats;
    if (ps_ontology_import(st, path, &stats, &err) != PS_OK) {
        ps_cli_error("ontology: %s", err.msg);
        return ps_cli_exit_code(err.code);
    }
    if (!quiet)
        printf("ontology: %zu techniques from %s, %zu (broader, narrower) "
               "pairs%s\n",
               stats.terms, path, stats.pairs,
               stats.unresolved ? " (some references to unknown terms were "
                                  "ignored)"
                                : "");
    return PS_EXIT_OK;
}

static int show(ps_store *st, const char *what)
{
    ps_err err = PS_ERR_INIT;
    ps_technique_set set;
    if (ps_store_technique_expand(st, what, &set, &err) != PS_OK) {
        ps_cli_error("%s", err.msg);
        return ps_cli_exit_code(err.code);
    }
    if (set.niris == 0) {
        ps_cli_error("no technique called \"%s\" (give a PaNET IRI, a label "
                     "or a synonym; `pansift ontology` says whether an "
                     "ontology is imported)",
                     what);
        return PS_EXIT_USAGE;
    }
    printf("\"%s\" matches %zu technique(s):\n", what, set.niris);
    for (size_t i = 0; i < set.niris; i++)
        printf("  %s\n", set.iris[i]);
    ps_technique_set_free(&set);
    return PS_EXIT_OK;
}

int ps_cmd_ontology(ps_cli *cli, int argc, char **argv)
{
    if (ps_cli_wants_help(argc, argv))
        return usage();
    const char *sub = argc > 1 ? argv[1] : "status";
    int want = strcmp(sub, "status") == 0   ? 2
               : strcmp(sub, "import") == 0 ? 3
               : strcmp(sub, "show") == 0   ? 3
                                            : 0;
    if (!want) {
        ps_cli_error("ontology: unknown subcommand '%s' (status, import or "
                     "show; see `pansift ontology --help`)",
                     sub);
        return PS_EXIT_USAGE;
    }
    if (argc > want || (strcmp(sub, "show") == 0 && argc != 3)) {
        ps_cli_error("ontology %s: wrong arguments (see `pansift ontology "
                     "--help`)",
                     sub);
        return PS_EXIT_USAGE;
    }
    ps_err err = PS_ERR_INIT;
    ps_store *st = NULL;
    if (ps_cli_open_store(cli, 0, &st, &err) != PS_OK) {
        ps_cli_error("%s", err.msg);
        return ps_cli_exit_code(err.code);
    }
    int rc;
    if (strcmp(sub, "import") == 0)
        rc = ps_cli_ontology_import(
            st, argc > 2 ? argv[2] : PS_DEFAULT_ONTOLOGY, 0);
    else if (strcmp(sub, "show") == 0)
        rc = show(st, argv[2]);
    else
        rc = status(st);
    ps_store_close(st);
    return rc;
}
