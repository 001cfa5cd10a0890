/*
 * main.c: the `pansift` program's entry point. It reads the global options
 * (--config, --data-dir, --log-level, --quiet), loads the configuration
 * once (defaults, then the file, then PANSIFT_* variables, then the command
 * line), sets up logging and libcurl, and hands over to the command.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "cli.h"
#include "harvest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef PS_VERSION
#define PS_VERSION "0.1.0"
#endif

static const struct {
    const char *name;
    int (*fn)(ps_cli *, int, char **);
    const char *summary;
} commands[] = {
    {"init", ps_cmd_init, "create the data directory, store and index"},
    {"harvest", ps_cmd_harvest,
     "harvest the configured sources into the store"},
    {"index", ps_cmd_index, "bring the index up to date (--rebuild: anew)"},
    {"serve", ps_cmd_serve, "serve the PaN API and the dashboard"},
    {"status", ps_cmd_status,
     "records per entity and source, harvests, index lag"},
    {"config", ps_cmd_config,
     "print the effective configuration or a template"},
    {"ontology", ps_cmd_ontology,
     "the technique ontology (PaNET): import, status, show"},
    {"pdf-extract", ps_cmd_pdf_extract,
     "extract a publication PDF and print it as JSON"},
    {"pdf-accuracy", ps_cmd_pdf_accuracy,
     "measure PDF extraction against Crossref XML"},
    {"mentions-accuracy", ps_cmd_mentions_accuracy, "mention matcher P/R/F1"},
    {"match", ps_cmd_match, "link publications to proposals, with evidence"},
};

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: pansift [--config FILE] [--data-dir DIR] [--log-level LEVEL] "
        "[--quiet]\n               COMMAND [ARGS]\n\n"
        "pansift harvests photon and neutron facility catalogues into one "
        "store, indexes\nthem, and serves the PaN search API and a "
        "dashboard.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\noptions:\n"
            "  --config FILE     INI configuration (default: $PANSIFT_CONFIG, "
            "else\n                    DIR/pansift.ini if it exists, else "
            "built-in defaults)\n"
            "  --data-dir DIR    data directory (default: [pansift] data_dir, "
            "\"data\")\n"
            "  --log-level LEVEL error, warn, info or debug\n"
            "  --quiet           no progress display\n"
            "  --version         print the version\n\n"
            "`pansift COMMAND --help` describes a command.\n\n"
            "exit status: 0 success, 1 failure, 2 usage or configuration "
            "error, 3 data\ndirectory/store/index missing or damaged, 4 a "
            "harvest source failed, 5 busy\n(another process holds a lock), "
            "130 interrupted.\n");
}

int main(int argc, char **argv)
{
    const char *config = NULL, *data_dir = NULL, *log_level = NULL;
    ps_cli cli;
    memset(&cli, 0, sizeof cli);
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 ||
            strcmp(a, "help") == 0) {
            usage(stdout);
            return PS_EXIT_OK;
        } else if (strcmp(a, "--version") == 0 || strcmp(a, "version") == 0) {
            printf("pansift %s\n", PS_VERSION);
            return PS_EXIT_OK;
        } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            cli.quiet = 1;
        } else if ((strcmp(a, "--config") == 0 ||
                    strcmp(a, "--data-dir") == 0 ||
                    strcmp(a, "--log-level") == 0)) {
            if (i + 1 >= argc) {
                ps_cli_error("%s needs a value (see `pansift --help`)", a);
                return PS_EXIT_USAGE;
            }
            if (strcmp(a, "--config") == 0)
                config = argv[++i];
            else if (strcmp(a, "--data-dir") == 0)
                data_dir = argv[++i];
            else
                log_level = argv[++i];
        } else if (a[0] == '-') {
            ps_cli_error("unknown option '%s' (see `pansift --help`)", a);
            return PS_EXIT_USAGE;
        } else {
            break;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return PS_EXIT_USAGE;
    }
    int cmd = -1;
    for (size_t c = 0; c < sizeof commands / sizeof commands[0]; c++)
        if (strcmp(argv[i], commands[c].name) == 0)
            cmd = (int)c;
    if (cmd < 0) {
        ps_cli_error("unknown command '%s' (see `pansift --help`)", argv[i]);
        return PS_EXIT_USAGE;
    }

    /* Which configuration file: --config, $PANSIFT_CONFIG, or the data
     * directory's pansift.ini when it exists. */
    ps_err err = PS_ERR_INIT;
    if (!config) {
        const char *env = getenv("PANSIFT_CONFIG");
        if (env && *env)
            config = env;
    }
    char *implicit = NULL;
    if (!config) {
        const char *dir = data_dir ? data_dir : getenv("PANSIFT_DATA_DIR");
        implicit = ps_asprintf("%s/pansift.ini", dir && *dir ? dir : "data");
        struct stat sb;
        if (implicit && stat(implicit, &sb) == 0)
            config = implicit;
    }
    ps_status rc = config ? ps_config_load(&cli.cfg, config, &err)
                          : ps_config_defaults(&cli.cfg, &err);
    cli.config_path = config;
    if (rc == PS_OK)
        rc = ps_config_apply_env(&cli.cfg, &err);
    if (rc == PS_OK && data_dir)
        rc = ps_config_set(&cli.cfg, "pansift", "data_dir", data_dir,
                           "--data-dir", &err);
    if (rc == PS_OK && log_level)
        rc = ps_config_set(&cli.cfg, "pansift", "log_level", log_level,
                           "--log-level", &err);
    if (rc != PS_OK) {
        ps_cli_error("%s", err.msg);
        ps_free(implicit);
        return rc == PS_ERR_NOMEM ? PS_EXIT_FAIL : PS_EXIT_USAGE;
    }
    ps_log_set_level((ps_log_level)ps_log_level_parse(cli.cfg.log_level));
    cli.store_path = ps_asprintf("%s/store.db", cli.cfg.data_dir);
    if (!cli.store_path || ps_http_global_init(&err) != PS_OK) {
        ps_cli_error("cannot start: %s",
                     err.msg[0] ? err.msg : "out of memory");
        ps_config_free(&cli.cfg);
        ps_free(implicit);
        return PS_EXIT_FAIL;
    }
    ps_harvest_global_init();
    int code = commands[cmd].fn(&cli, argc - i, argv + i);
    ps_http_global_cleanup();
    ps_free(cli.store_path);
    ps_config_free(&cli.cfg);
    ps_free(implicit);
    return code;
}
