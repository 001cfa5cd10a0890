/*
 * mentions.c: `pansift mentions-accuracy`, which measures the mention
 * matcher (harvesters/mentions.c) against annotated acknowledgement
 * statements: precision, recall and F1 of facility, instrument and
 * proposal mentions. It reads the annotated XML of the shared corpus
 * (<acknowledgment> elements with <institution type="infrastructure">,
 * <grantNumber>, ... inside), optionally a supplementary gold table for
 * what the annotations do not mark, runs the matcher on each statement's
 * plain text and compares spans. docs/mentions.md says how annotations map
 * to mention kinds. It does not touch the store.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "cli.h"
#include "harvest.h"

#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#ifndef PS_DEFAULT_MENTIONS_DIR
#define PS_DEFAULT_MENTIONS_DIR "share/mentions"
#endif

#define CORPUS_FILE "acknowledgements/facility-acknowledgements.xml"
#define MAX_CORPUS ((off_t)64 << 20)
#define MAX_STATEMENT ((size_t)1 << 20)
#define NKINDS 3 /* facility, instrument, proposal */

const char *ps_cli_default_mentions_dir(void)
{
    return PS_DEFAULT_MENTIONS_DIR;
}

/* A gold span in one statement's plain text. */
typedef struct gold {
    int kind;
    size_t s, e;
    int found;
} gold;

typedef struct statement {
    ps_buf text;
    gold *gold;
    size_t ngold, capgold;
} statement;

typedef struct tally {
    size_t gold, found, predicted, tp;
} tally;

static int usage(void)
{
    printf(
        "usage: pansift mentions-accuracy [--json] [--verbose] [--gold TSV]\n"
        "           [--tables DIR] [--min-confidence X] (--corpus DIR | "
        "FILE)\n\n"
        "Measure the mention matcher against annotated acknowledgement "
        "statements:\nprecision, recall and F1 of facility, instrument and "
        "proposal mentions.\n\n"
        "  FILE                  the annotated XML (<acknowledgment> "
        "elements)\n"
        "  --corpus DIR          FILE is DIR/%s\n"
        "  --gold TSV            also count these hand-annotated mentions\n"
        "                        (statement, kind, text; "
        "docs/mentions.md)\n"
        "  --tables DIR          the matcher's tables (default %s)\n"
        "  --min-confidence X    count mentions of confidence >= X "
        "(default 0.5)\n"
        "  --verbose             list the false and the missed mentions\n"
        "  --json                one JSON object on stdout\n",
        CORPUS_FILE, PS_DEFAULT_MENTIONS_DIR);
    return PS_EXIT_OK;
}

static int add_gold(statement *st, int kind, size_t s, size_t e)
{
    if (st->ngold == st->capgold) {
        size_t cap = st->capgold ? st->capgold * 2 : 8;
        gold *g = ps_realloc(st->gold, cap * sizeof *g);
        if (!g)
            return -1;
        st->gold = g;
        st->capgold = cap;
    }
    st->gold[st->ngold++] = (gold){kind, s, e, 0};
    return 0;
}

static int has_proposal_cue(const char *t, size_t at)
{
    static const char *cues[] = {"proposal", "experiment", "beamtime",
                                 "beam time", NULL};
    size_t from = at > 40 ? at - 40 : 0;
    for (int i = 0; cues[i]; i++)
        for (size_t k = from; k + strlen(cues[i]) <= at; k++)
            if (strncasecmp(t + k, cues[i], strlen(cues[i])) == 0)
                return 1;
    return 0;
}

/* Append node's text to the statement, noting the gold spans. */
static int walk(xmlNode *n, statement *st)
{
    for (; n; n = n->next) {
        if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
            if (n->content &&
                ps_buf_puts(&st->text, (const char *)n->content) != PS_OK)
                return -1;
        } else if (n->type == XML_ELEMENT_NODE) {
            size_t s = st->text.len;
            if (walk(n->children, st))
                return -1;
            size_t e = st->text.len;
            const char *name = (const char *)n->name;
            xmlChar *type = xmlGetProp(n, (const xmlChar *)"type");
            int infra = type && strcmp((char *)type, "infrastructure") == 0;
            xmlFree(type);
            int rc = 0;
            if (infra)
                rc = add_gold(st, PS_MENTION_FACILITY, s, e);
            else if (strcmp(name, "grantNumber") == 0 &&
                     has_proposal_cue(st->text.data, s))
                rc = add_gold(st, PS_MENTION_PROPOSAL, s, e);
            if (rc)
                return -1;
        }
    }
    return 0;
}

static void free_statements(statement *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ps_buf_free(&v[i].text);
        ps_free(v[i].gold);
    }
    ps_free(v);
}

static int read_corpus(const char *path, statement **out, size_t *nout)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        ps_cli_error("%s: cannot read it", path);
        return PS_EXIT_USAGE;
    }
    if (sb.st_size > MAX_CORPUS) {
        ps_cli_error("%s: more than 64 MiB", path);
        return PS_EXIT_USAGE;
    }
    xmlDoc *doc = xmlReadFile(
        path, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc) {
        ps_cli_error("%s: not well-formed XML", path);
        return PS_EXIT_DATA;
    }
    statement *v = NULL;
    size_t n = 0;
    xmlNode *root = xmlDocGetRootElement(doc);
    for (xmlNode *c = root ? root->children : NULL; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE ||
            (strcmp((const char *)c->name, "acknowledgment") &&
             strcmp((const char *)c->name, "acknowledgement")))
            continue;
        statement *nv = ps_realloc(v, (n + 1) * sizeof *nv);
        if (!nv)
            goto nomem;
        v = nv;
        memset(&v[n], 0, sizeof v[n]);
        ps_buf_init(&v[n].text, MAX_STATEMENT);
        n++;
        if (walk(c->children, &v[n - 1]) ||
            ps_buf_append(&v[n - 1].text, "", 1) != PS_OK)
            goto nomem;
        v[n - 1].text.len--; /* keep the NUL out of the length */
    }
    xmlFreeDoc(doc);
    if (n == 0) {
        ps_cli_error("%s: no <acknowledgment> statements", path);
        ps_free(v);
        return PS_EXIT_DATA;
    }
    *out = v;
    *nout = n;
    return PS_EXIT_OK;
nomem:
    xmlFreeDoc(doc);
    free_statements(v, n);
    ps_cli_error("%s: out of memory or a statement over 1 MiB", path);
    return PS_EXIT_FAIL;
}

static int kind_of(const char *s)
{
    if (strcmp(s, "facility") == 0)
        return PS_MENTION_FACILITY;
    if (strcmp(s, "instrument") == 0)
        return PS_MENTION_INSTRUMENT;
    if (strcmp(s, "proposal") == 0)
        return PS_MENTION_PROPOSAL;
    return -1;
}

/* The supplementary gold: "statement<TAB>kind<TAB>text" lines. */
static int read_gold(const char *path, statement *v, size_t n)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        ps_cli_error("%s: cannot read it", path);
        return PS_EXIT_USAGE;
    }
    char line[1024];
    size_t lineno = 0;
    int rc = PS_EXIT_OK;
    while (rc == PS_EXIT_OK && fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0] || line[0] == '#')
            continue;
        char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        int64_t no = 0;
        if (t1)
            *t1 = '\0';
        if (t2)
            *t2 = '\0';
        int kind = t2 ? kind_of(t1 + 1) : -1;
        if (!t2 || kind < 0 || ps_parse_i64(line, &no) != 0 || no < 1 ||
            (size_t)no > n || !t2[1]) {
            ps_cli_error("%s line %zu: want statement (1-%zu), kind, text",
                         path, lineno, n);
            rc = PS_EXIT_USAGE;
            break;
        }
        statement *st = &v[no - 1];
        const char *want = t2 + 1;
        size_t wl = strlen(want), hits = 0;
        for (size_t k = 0; k + wl <= st->text.len; k++)
            if (memcmp(st->text.data + k, want, wl) == 0) {
                if (add_gold(st, kind, k, k + wl)) {
                    rc = PS_EXIT_FAIL;
                    break;
                }
                hits++;
            }
        if (rc == PS_EXIT_OK && hits == 0) {
            ps_cli_error("%s line %zu: \"%s\" is not in statement %lld", path,
                         lineno, want, (long long)no);
            rc = PS_EXIT_USAGE;
        }
    }
    fclose(f);
    return rc;
}

static double ratio(size_t a, size_t b) { return b ? (double)a / b : 0.0; }

int ps_cmd_mentions_accuracy(ps_cli *cli, int argc, char **argv)
{
    (void)cli;
    const char *file = NULL, *corpus = NULL, *gold_path = NULL;
    const char *tables = PS_DEFAULT_MENTIONS_DIR;
    double min_conf = 0.5;
    int json = 0, verbose = 0;
    if (ps_cli_wants_help(argc, argv))
        return usage();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strcmp(a, "--verbose") == 0) {
            verbose = 1;
        } else if (strcmp(a, "--corpus") == 0 && more) {
            corpus = argv[++i];
        } else if (strcmp(a, "--gold") == 0 && more) {
            gold_path = argv[++i];
        } else if (strcmp(a, "--tables") == 0 && more) {
            tables = argv[++i];
        } else if (strcmp(a, "--min-confidence") == 0 && more) {
            if (ps_parse_double(argv[++i], &min_conf) != 0 || min_conf < 0 ||
                min_conf > 1) {
                ps_cli_error("mentions-accuracy: --min-confidence wants a "
                             "number from 0 to 1");
                return PS_EXIT_USAGE;
            }
        } else if (a[0] == '-') {
            return ps_cli_unknown_option("mentions-accuracy", a);
        } else if (!file) {
            file = a;
        } else {
            ps_cli_error("mentions-accuracy: one FILE only");
            return PS_EXIT_USAGE;
        }
    }
    char *corpus_file = NULL;
    if (!file && corpus) {
        corpus_file = ps_asprintf("%s/%s", corpus, CORPUS_FILE);
        file = corpus_file;
    }
    if (!file) {
        ps_cli_error("mentions-accuracy: give the annotated FILE or --corpus "
                     "DIR (see --help)");
        return PS_EXIT_USAGE;
    }
    statement *v = NULL;
    size_t n = 0;
    int rc = read_corpus(file, &v, &n);
    if (rc == PS_EXIT_OK && gold_path)
        rc = read_gold(gold_path, v, n);
    ps_mentions_matcher *m = NULL;
    ps_err err = PS_ERR_INIT;
    if (rc == PS_EXIT_OK &&
        ps_mentions_matcher_load(&m, tables, &err) != PS_OK) {
        ps_cli_error("mentions-accuracy: %s", err.msg);
        rc = ps_cli_exit_code(err.code);
    }
    tally t[NKINDS];
    memset(t, 0, sizeof t);
    json_t *errors = json_array();
    for (size_t i = 0; rc == PS_EXIT_OK && i < n; i++) {
        statement *st = &v[i];
        ps_mentions ms = {NULL, 0, 0};
        if (ps_mentions_find(m, st->text.data, st->text.len, "acknowledgement",
                             &ms, &err) != PS_OK) {
            ps_cli_error("mentions-accuracy: statement %zu: %s", i + 1,
                         err.msg);
            rc = ps_cli_exit_code(err.code);
            break;
        }
        for (size_t k = 0; k < ms.n; k++) {
            const ps_mention *x = &ms.items[k];
            if ((int)x->kind >= NKINDS || x->confidence < min_conf)
                continue;
            int hit = 0;
            for (size_t g = 0; g < st->ngold; g++) {
                gold *gd = &st->gold[g];
                if (gd->kind == (int)x->kind && x->offset < gd->e &&
                    x->offset + x->length > gd->s) {
                    gd->found = 1;
                    hit = 1;
                }
            }
            t[x->kind].predicted++;
            t[x->kind].tp += (size_t)hit;
            if (!hit && verbose)
                json_array_append_new(
                    errors, json_pack("{s:s,s:I,s:s,s:s,s:f,s:s}", "error",
                                      "false", "statement", (json_int_t)(i + 1),
                                      "kind", ps_mention_kind_str(x->kind),
                                      "value", x->value, "confidence",
                                      x->confidence, "context", x->context));
        }
        for (size_t g = 0; g < st->ngold; g++) {
            t[st->gold[g].kind].gold++;
            t[st->gold[g].kind].found += (size_t)st->gold[g].found;
            if (!st->gold[g].found && verbose) {
                char *txt = ps_strndup(st->text.data + st->gold[g].s,
                                       st->gold[g].e - st->gold[g].s);
                json_array_append_new(
                    errors, json_pack("{s:s,s:I,s:s,s:s}", "error", "missed",
                                      "statement", (json_int_t)(i + 1), "kind",
                                      ps_mention_kind_str(st->gold[g].kind),
                                      "text", txt ? txt : ""));
                ps_free(txt);
            }
        }
        ps_mentions_clear(&ms);
    }
    if (rc == PS_EXIT_OK) {
        json_t *o = json_pack("{s:s,s:I,s:f,s:o}", "corpus", file, "statements",
                              (json_int_t)n, "min_confidence", min_conf,
                              "kinds", json_object());
        json_t *kinds = json_object_get(o, "kinds");
        if (!json)
            printf("%zu statements, mentions of confidence >= %.2f\n"
                   "%-11s %5s %9s %5s %9s %7s %6s\n",
                   n, min_conf, "kind", "gold", "predicted", "true",
                   "precision", "recall", "F1");
        for (int k = 0; k < NKINDS; k++) {
            double p = ratio(t[k].tp, t[k].predicted);
            double r = ratio(t[k].found, t[k].gold);
            double f1 = p + r > 0 ? 2 * p * r / (p + r) : 0.0;
            json_object_set_new(
                kinds, ps_mention_kind_str((ps_mention_kind)k),
                json_pack("{s:I,s:I,s:I,s:I,s:f,s:f,s:f}", "gold",
                          (json_int_t)t[k].gold, "predicted",
                          (json_int_t)t[k].predicted, "true_positives",
                          (json_int_t)t[k].tp, "gold_found",
                          (json_int_t)t[k].found, "precision", p, "recall", r,
                          "f1", f1));
            if (!json)
                printf("%-11s %5zu %9zu %5zu %8.1f%% %6.1f%% %5.1f%%\n",
                       ps_mention_kind_str((ps_mention_kind)k), t[k].gold,
                       t[k].predicted, t[k].tp, 100 * p, 100 * r, 100 * f1);
        }
        if (verbose)
            json_object_set(o, "errors", errors);
        if (json) {
            char *s = json_dumps(o, JSON_INDENT(2));
            if (s)
                puts(s);
            free(s);
        } else if (verbose) {
            size_t i;
            json_t *e;
            json_array_foreach (errors, i, e) {
                char *s = json_dumps(e, JSON_COMPACT);
                if (s)
                    printf("%s\n", s);
                free(s);
            }
        }
        json_decref(o);
    }
    json_decref(errors);
    ps_mentions_matcher_free(m);
    free_statements(v, n);
    ps_free(corpus_file);
    return rc;
}
