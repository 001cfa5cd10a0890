/*
 * match.c: `pansift match`, the publication↔proposal matcher's command: run
 * it (incrementally, or over everything with --full), list its candidates,
 * let staff confirm or reject one, and measure it against a labelled set
 * (--evaluate LABELS.tsv: precision and recall per evidence tier). The
 * matcher itself is store/store-match.c; docs/matching.md describes both.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "match.h"
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LABELS_MAX (8 * 1024 * 1024) /* bytes of a labels file */
#define LABEL_FIELD_MAX 512

static int usage(void)
{
    printf(
        "usage: pansift match [--full] [--json]\n"
        "       pansift match --list [candidate|confirmed|rejected|all] "
        "[--json]\n"
        "       pansift match --confirm LINK_ID | --reject LINK_ID\n"
        "       pansift match --evaluate LABELS.tsv [--json]\n\n"
        "Link publications to the proposals they came from "
        "(publication-from-proposal\nlinks), with a score and the evidence: "
        "hard (the proposal's code or a DOI of\nits data in the paper), soft "
        "(proposal members among the authors, the\nproposal's instrument "
        "named, similar title and abstract). Without hard\nevidence a "
        "candidate needs two kinds of soft evidence; a paper older than the\n"
        "proposal is never linked. docs/matching.md has the details.\n\n"
        "  (no option)        match what changed since the last run\n"
        "  --full             match every publication again\n"
        "  --list [STATE]     print the links (default: candidate)\n"
        "  --confirm LINK_ID  staff confirm a candidate (never changed "
        "again)\n"
        "  --reject LINK_ID   staff reject it (never proposed again)\n"
        "  --evaluate FILE    precision and recall per tier against FILE:\n"
        "                     publication pid TAB proposal code or pid TAB "
        "1|0\n"
        "                     [TAB expected tier hard|soft] [TAB note]\n"
        "  --json             machine-readable output\n");
    return PS_EXIT_OK;
}

static int parse_id(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v <= 0)
        return 0;
    *out = v;
    return 1;
}

static int print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
    if (!s)
        return PS_EXIT_FAIL;
    puts(s);
    free(s);
    return PS_EXIT_OK;
}

static int run(ps_store *st, int full, int json)
{
    ps_err err = PS_ERR_INIT;
    ps_match_opts opts = PS_MATCH_OPTS_INIT;
    ps_match_stats s;
    opts.full = full;
    opts.cancel = &ps_cli_interrupted;
    if (ps_match_run(st, &opts, &s, &err) != PS_OK) {
        ps_cli_error("match: %s", err.msg);
        return ps_cli_exit_code(err.code);
    }
    if (json) {
        json_t *o = json_pack(
            "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
            "publications", (json_int_t)s.publications, "proposals",
            (json_int_t)s.proposals, "inserted", (json_int_t)s.inserted,
            "updated", (json_int_t)s.updated, "unchanged",
            (json_int_t)s.unchanged, "removed", (json_int_t)s.removed,
            "kept_judged", (json_int_t)s.kept_judged, "filtered_year",
            (json_int_t)s.filtered_year, "filtered_soft",
            (json_int_t)s.filtered_soft, "checkpoint",
            (json_int_t)s.checkpoint);
        int rc = o ? print_json(o) : PS_EXIT_FAIL;
        json_decref(o);
        return rc;
    }
    printf("match: %lld publications examined (%lld changed proposals); "
           "%lld new, %lld updated, %lld unchanged, %lld removed, %lld "
           "judged kept; filtered: %lld paper older than proposal, %lld "
           "too little soft evidence\n",
           (long long)s.publications, (long long)s.proposals,
           (long long)s.inserted, (long long)s.updated, (long long)s.unchanged,
           (long long)s.removed, (long long)s.kept_judged,
           (long long)s.filtered_year, (long long)s.filtered_soft);
    return PS_EXIT_OK;
}

static int list(ps_store *st, int state, int json)
{
    ps_err err = PS_ERR_INIT;
    json_t *arr;
    if (ps_match_list(st, state, &arr, &err) != PS_OK) {
        ps_cli_error("match: %s", err.msg);
        return ps_cli_exit_code(err.code);
    }
    int rc = PS_EXIT_OK;
    if (json) {
        rc = print_json(arr);
    } else {
        size_t i;
        json_t *o;
        static const char *const states[] = {"candidate", "confirmed",
                                             "rejected"};
        json_array_foreach (arr, i, o) {
            int stt = (int)json_integer_value(json_object_get(o, "state"));
            const char *code = json_string_value(json_object_get(o, "code"));
            printf("%lld\t%.3f\t%s\t%s\t%s\t%s\t%s\n",
                   (long long)json_integer_value(json_object_get(o, "id")),
                   json_real_value(json_object_get(o, "score")),
                   json_string_value(json_object_get(o, "tier")),
                   stt >= 0 && stt <= 2 ? states[stt] : "?",
                   json_string_value(json_object_get(o, "publication")),
                   json_string_value(json_object_get(o, "proposal")),
                   code ? code : "-");
        }
    }
    json_decref(arr);
    return rc;
}

/* ---- evaluation ---------------------------------------------------------- */

struct label {
    char *pub, *prop, *tier;
    int positive, found;
};

static char *field(char **p)
{
    char *s = *p, *tab = strchr(s, '\t');
    if (tab) {
        *tab = '\0';
        *p = tab + 1;
    } else {
        *p = s + strlen(s);
    }
    return s;
}

/* Labels from path: malloc'd array in *out; 0 on a parse error (message
 * printed). */
static int read_labels(const char *path, struct label **out, size_t *n_out)
{
    ps_buf b;
    ps_err err = PS_ERR_INIT;
    ps_buf_init(&b, LABELS_MAX);
    *out = NULL;
    *n_out = 0;
    if (ps_buf_read_file(&b, path, &err) != PS_OK) {
        ps_cli_error("match: %s", err.msg);
        ps_buf_free(&b);
        return 0;
    }
    struct label *l = NULL;
    size_t n = 0, cap = 0, lineno = 0;
    char *save = b.data, *line = b.data;
    while (line && *line) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        lineno++;
        char *p = line;
        line = nl ? nl + 1 : NULL;
        if (*p == '#' || *p == '\0')
            continue;
        char *pub = field(&p), *prop = field(&p), *lab = field(&p);
        char *tier = field(&p);
        if (!*pub || !*prop || (strcmp(lab, "1") != 0 && strcmp(lab, "0")) ||
            strlen(pub) > LABEL_FIELD_MAX || strlen(prop) > LABEL_FIELD_MAX) {
            ps_cli_error("match: %s:%zu: expected publication TAB proposal "
                         "TAB 1|0",
                         path, lineno);
            goto fail;
        }
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            struct label *q = ps_realloc(l, nc * sizeof *q);
            if (!q)
                goto fail;
            l = q;
            cap = nc;
        }
        l[n].pub = ps_strdup(pub);
        l[n].prop = ps_strdup(prop);
        l[n].tier = ps_strdup(*tier ? tier : "-");
        l[n].positive = lab[0] == '1';
        l[n].found = 0;
        n++;
    }
    (void)save;
    ps_buf_free(&b);
    *out = l;
    *n_out = n;
    return 1;
fail:
    for (size_t i = 0; i < n; i++) {
        ps_free(l[i].pub);
        ps_free(l[i].prop);
        ps_free(l[i].tier);
    }
    ps_free(l);
    ps_buf_free(&b);
    return 0;
}

static double ratio(long a, long b) { return b ? (double)a / (double)b : 0; }

static int evaluate(ps_store *st, const char *path, int json)
{
    struct label *lab;
    size_t nl;
    if (!read_labels(path, &lab, &nl))
        return PS_EXIT_USAGE;
    ps_err err = PS_ERR_INIT;
    json_t *links = NULL;
    int rc = PS_EXIT_OK;
    if (ps_match_list(st, -1, &links, &err) != PS_OK) {
        ps_cli_error("match: %s", err.msg);
        rc = ps_cli_exit_code(err.code);
        goto out;
    }
    /* tiers: 0 hard, 1 soft, 2 all. */
    long tp[3] = {0}, fp[3] = {0}, pos[3] = {0}, found[3] = {0};
    size_t i;
    json_t *o;
    json_array_foreach (links, i, o) {
        if (json_integer_value(json_object_get(o, "state")) == PS_LINK_REJECTED)
            continue;
        const char *pub = json_string_value(json_object_get(o, "publication"));
        const char *prop = json_string_value(json_object_get(o, "proposal"));
        const char *code = json_string_value(json_object_get(o, "code"));
        int t =
            strcmp(json_string_value(json_object_get(o, "tier")), "hard") == 0
                ? 0
                : 1;
        int labelled_pub = 0, hit = 0;
        for (size_t k = 0; k < nl; k++) {
            if (strcmp(lab[k].pub, pub) != 0)
                continue;
            labelled_pub = 1;
            if (strcmp(lab[k].prop, prop) == 0 ||
                (code && strcmp(lab[k].prop, code) == 0)) {
                if (lab[k].positive) {
                    hit = 1;
                    lab[k].found = 1;
                }
            }
        }
        if (!labelled_pub)
            continue; /* outside the labelled set */
        if (hit) {
            tp[t]++;
            tp[2]++;
        } else {
            fp[t]++;
            fp[2]++;
        }
    }
    for (size_t k = 0; k < nl; k++) {
        if (!lab[k].positive)
            continue;
        int t = strcmp(lab[k].tier, "hard") == 0   ? 0
                : strcmp(lab[k].tier, "soft") == 0 ? 1
                                                   : -1;
        pos[2]++;
        found[2] += lab[k].found;
        if (t >= 0) {
            pos[t]++;
            found[t] += lab[k].found;
        }
    }
    static const char *const names[] = {"hard", "soft", "all"};
    json_t *res = json_object();
    if (!json)
        printf("tier\tlinks\ttrue\tfalse\tprecision\tpositives\tfound\t"
               "recall\n");
    for (int t = 0; t < 3; t++) {
        double p = ratio(tp[t], tp[t] + fp[t]);
        double r = ratio(found[t], pos[t]);
        if (json)
            json_object_set_new(
                res, names[t],
                json_pack("{s:i, s:i, s:i, s:f, s:i, s:i, s:f}", "links",
                          (int)(tp[t] + fp[t]), "true", (int)tp[t], "false",
                          (int)fp[t], "precision", p, "positives", (int)pos[t],
                          "found", (int)found[t], "recall", r));
        else
            printf("%s\t%ld\t%ld\t%ld\t%.3f\t%ld\t%ld\t%.3f\n", names[t],
                   tp[t] + fp[t], tp[t], fp[t], p, pos[t], found[t], r);
    }
    if (json)
        rc = print_json(res);
    json_decref(res);
out:
    json_decref(links);
    for (size_t k = 0; k < nl; k++) {
        ps_free(lab[k].pub);
        ps_free(lab[k].prop);
        ps_free(lab[k].tier);
    }
    ps_free(lab);
    return rc;
}

int ps_cmd_match(ps_cli *cli, int argc, char **argv)
{
    if (ps_cli_wants_help(argc, argv))
        return usage();
    int full = 0, json = 0, state = -2;
    int64_t judge_id = 0;
    ps_link_state judge = PS_LINK_CANDIDATE;
    const char *labels = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--full") == 0) {
            full = 1;
        } else if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strcmp(a, "--list") == 0) {
            state = PS_LINK_CANDIDATE;
            if (i + 1 < argc && argv[i + 1][0] != '-') {
                const char *v = argv[++i];
                state = strcmp(v, "candidate") == 0   ? 0
                        : strcmp(v, "confirmed") == 0 ? 1
                        : strcmp(v, "rejected") == 0  ? 2
                        : strcmp(v, "all") == 0       ? -1
                                                      : -3;
                if (state == -3) {
                    ps_cli_error("match: --list takes candidate, confirmed, "
                                 "rejected or all, not '%s'",
                                 v);
                    return PS_EXIT_USAGE;
                }
            }
        } else if (strcmp(a, "--confirm") == 0 || strcmp(a, "--reject") == 0) {
            if (i + 1 >= argc || !parse_id(argv[i + 1], &judge_id)) {
                ps_cli_error("match: %s needs a link id (a positive number)",
                             a);
                return PS_EXIT_USAGE;
            }
            i++;
            judge = a[2] == 'c' ? PS_LINK_CONFIRMED : PS_LINK_REJECTED;
        } else if (strcmp(a, "--evaluate") == 0) {
            if (i + 1 >= argc) {
                ps_cli_error("match: --evaluate needs a labels file");
                return PS_EXIT_USAGE;
            }
            labels = argv[++i];
        } else {
            return ps_cli_unknown_option("match", a);
        }
    }
    ps_err err = PS_ERR_INIT;
    ps_store *st = NULL;
    if (ps_cli_open_store(cli, 0, &st, &err) != PS_OK) {
        ps_cli_error("%s", err.msg);
        return ps_cli_exit_code(err.code);
    }
    int rc;
    if (judge_id) {
        if (ps_match_judge(st, judge_id, judge, &err) != PS_OK) {
            ps_cli_error("match: %s", err.msg);
            rc = err.code == PS_ERR_NOTFOUND ? PS_EXIT_FAIL
                                             : ps_cli_exit_code(err.code);
        } else {
            if (!cli->quiet)
                printf("match %lld %s\n", (long long)judge_id,
                       judge == PS_LINK_CONFIRMED ? "confirmed" : "rejected");
            rc = PS_EXIT_OK;
        }
    } else if (labels) {
        rc = evaluate(st, labels, json);
    } else if (state != -2) {
        rc = list(st, state, json);
    } else {
        ps_cli_catch_signals();
        rc = run(st, full, json);
    }
    ps_store_close(st);
    return rc;
}
