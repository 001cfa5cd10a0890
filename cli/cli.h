/*
 * cli.h: what the `pansift` program's files share: the exit codes, the
 * global options, the commands' entry points and the progress display. The
 * program is the only place that reads configuration and prints; the
 * components it drives (store, indexer, harvesters, query) only return
 * statuses and messages.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef PS_CLI_H
#define PS_CLI_H

#include "config.h"
#include "store.h"

#include <stdint.h>
#include <stdio.h>

/* Exit codes (documented in docs/cli.md and `pansift --help`). */
enum {
    PS_EXIT_OK = 0,
    PS_EXIT_FAIL = 1,   /* the command failed (message says why) */
    PS_EXIT_USAGE = 2,  /* bad command line or configuration */
    PS_EXIT_DATA = 3,   /* data directory, store or index missing/damaged */
    PS_EXIT_SOURCE = 4, /* harvest: at least one source failed */
    PS_EXIT_BUSY = 5,   /* another process holds a lock; try later */
    PS_EXIT_INTERRUPTED = 130 /* stopped by SIGINT/SIGTERM; state consistent */
};

typedef struct ps_cli {
    ps_config cfg;
    const char *config_path; /* what was loaded, or NULL */
    int quiet;               /* no progress display */
    char *store_path;        /* <data_dir>/store.db */
} ps_cli;

/* Map a status to an exit code. */
int ps_cli_exit_code(ps_status st);
/* Print "pansift: <message>" on stderr. */
void ps_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Commands: argc/argv start at the command name. */
/* Shared by the commands: is --help or -h among the arguments; report an
 * unknown option (returns PS_EXIT_USAGE); open the data directory's store
 * (create: make it if missing). */
int ps_cli_wants_help(int argc, char **argv);
int ps_cli_unknown_option(const char *cmd, const char *opt);
ps_status ps_cli_open_store(ps_cli *cli, int create, ps_store **out,
                            ps_err *err);

int ps_cmd_init(ps_cli *cli, int argc, char **argv);
int ps_cmd_harvest(ps_cli *cli, int argc, char **argv);
int ps_cmd_index(ps_cli *cli, int argc, char **argv);
int ps_cmd_serve(ps_cli *cli, int argc, char **argv);
int ps_cmd_status(ps_cli *cli, int argc, char **argv);
int ps_cmd_config(ps_cli *cli, int argc, char **argv);
int ps_cmd_ontology(ps_cli *cli, int argc, char **argv);
int ps_cmd_pdf_extract(ps_cli *cli, int argc, char **argv);
int ps_cmd_pdf_accuracy(ps_cli *cli, int argc, char **argv);
/* Import the ontology at path into st, printing a summary unless quiet;
 * an exit code. The copy that comes with pansift is at
 * ps_cli_default_ontology(). */
int ps_cli_ontology_import(ps_store *st, const char *path, int quiet);
const char *ps_cli_default_ontology(void);
int ps_cmd_mentions_accuracy(ps_cli *cli, int argc, char **argv);
const char *ps_cli_default_mentions_dir(void); /* share/mentions */
int ps_cmd_match(ps_cli *cli, int argc, char **argv);

/* The SIGINT/SIGTERM flag that long commands pass as their cancel pointer. */
extern volatile int ps_cli_interrupted;
void ps_cli_catch_signals(void);

/* ---- progress ----------------------------------------------------------- */
/* A progress line on stderr: redrawn in place on a terminal (bar, rate, ETA),
 * a plain line every few seconds otherwise, nothing when quiet. */
typedef struct ps_progress {
    int enabled, tty;
    int64_t t0_ns, last_ns;
    int64_t last_done;
    char label[96];
    int drawn;
} ps_progress;

void ps_progress_init(ps_progress *p, int quiet);
/* done of total (total < 0: unknown) items of the current label. */
void ps_progress_update(ps_progress *p, const char *label, int64_t done,
                        int64_t total, const char *extra);
/* End the line (if one is drawn). */
void ps_progress_end(ps_progress *p);

/* Several progress lines at once, one per slot (the sources of a parallel
 * harvest), updated from several threads: on a terminal the block of lines
 * is redrawn in place; otherwise each slot writes a plain line every few
 * seconds. */
typedef struct ps_progress_board ps_progress_board;
ps_progress_board *ps_progress_board_new(size_t nslots, int quiet);
void ps_progress_board_update(ps_progress_board *b, size_t slot,
                              const char *label, int64_t done, int64_t total,
                              const char *extra);
/* Leave the block (the cursor goes below it); frees b. */
void ps_progress_board_free(ps_progress_board *b);

#endif /* PS_CLI_H */
