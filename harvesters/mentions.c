/*
 * mentions.c: finds the mentions of facilities, instruments (beamlines),
 * proposal codes and facility data DOIs in a text (a publication's
 * acknowledgements, methods or references) for later work to turn into
 * evidence for publication-proposal links. It does not decide links, and
 * it does not read PDFs: it takes text and a section name.
 *
 * How: the tables (the .tsv files of share/mentions/) give literal aliases,
 * matched case-sensitively with word boundaries, longest first, and POSIX
 * extended regular expressions (regcomp/regexec) for proposal codes and
 * beamline families. Context rules, on a lower-cased copy of the text, keep the
 * precision up: nothing inside a DOI or URL counts but a facility data DOI;
 * a short or ordinary-word name counts only near a cue word; a proposal
 * code after "grant", "contract", "pp.", "Fig." ... (nearer than any
 * positive cue) is dropped, and one after "proposal", "experiment",
 * "beamtime" ... or near a facility's name gets a higher confidence than a
 * bare one. docs/mentions.md has the rules and the measured accuracy.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "harvest.h"

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define CUE_BEFORE 80 /* bytes before a mention searched for cues */
#define CUE_AFTER 40  /* bytes after */

/* A literal name: a facility alias or an instrument name or alias. */
typedef struct alias {
    char *text;
    size_t len;
    size_t owner; /* index into facs (facility) or instrs (instrument) */
    int cue;      /* counts only near a cue */
} alias;

typedef struct fac {
    char *name;
    char **doi; /* data-DOI prefixes */
    size_t ndoi;
} fac;

typedef struct code {
    size_t fac;
    regex_t re;
} code;

typedef struct instr {
    size_t fac;
    char *value;
    int is_re; /* a pattern: re is compiled */
    regex_t re;
} instr;

struct ps_mentions_matcher {
    fac *facs;
    size_t nfacs;
    alias *fal; /* facility aliases, longest first once sorted */
    size_t nfal;
    code *codes;
    size_t ncodes;
    instr *instrs;
    size_t ninstrs;
    alias *ial; /* instrument names and aliases */
    size_t nial;
    regex_t doi_re, url_re;
    int res_ok;
};

/* ---- building -------------------------------------------------------- */

static int grow(void **v, size_t n, size_t size)
{
    /* Room for one more element when n is a power of two (or 0). */
    if (n && (n < 8 || (n & (n - 1))))
        return 0;
    void *p = ps_realloc(*v, (n ? n * 2 : 8) * size);
    if (!p)
        return -1;
    *v = p;
    return 0;
}

static ps_status add_alias(alias **v, size_t *n, const char *text, size_t len,
                           size_t owner, int cue)
{
    if (len == 0)
        return PS_OK;
    if (grow((void **)v, *n, sizeof **v))
        return PS_ERR_NOMEM;
    alias *a = &(*v)[*n];
    a->text = ps_strndup(text, len);
    if (!a->text)
        return PS_ERR_NOMEM;
    a->len = len;
    a->owner = owner;
    a->cue = cue;
    (*n)++;
    return PS_OK;
}

/* Split line at tabs into at most max fields (in place). */
static size_t split_tabs(char *line, char **f, size_t max)
{
    size_t n = 0;
    char *p = line;
    while (n < max) {
        f[n++] = p;
        char *t = strchr(p, '\t');
        if (!t)
            break;
        *t = '\0';
        p = t + 1;
    }
    return n;
}

static long find_fac(const ps_mentions_matcher *m, const char *name)
{
    for (size_t i = 0; i < m->nfacs; i++)
        if (strcmp(m->facs[i].name, name) == 0)
            return (long)i;
    return -1;
}

/* A facility named by an instrument or a code but absent from
 * facilities.tsv becomes one with no aliases. */
static ps_status want_fac(ps_mentions_matcher *m, const char *name, size_t *out)
{
    long i = find_fac(m, name);
    if (i >= 0) {
        *out = (size_t)i;
        return PS_OK;
    }
    if (grow((void **)&m->facs, m->nfacs, sizeof *m->facs))
        return PS_ERR_NOMEM;
    fac *f = &m->facs[m->nfacs];
    memset(f, 0, sizeof *f);
    f->name = ps_strdup(name);
    if (!f->name)
        return PS_ERR_NOMEM;
    *out = m->nfacs++;
    return PS_OK;
}

/* Add each |-separated piece of list (a ~ prefix: needs a cue). */
static ps_status add_list(alias **v, size_t *n, const char *list, size_t owner,
                          int cue)
{
    const char *p = list;
    while (p && *p) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        int c = cue;
        if (len && *p == '~') {
            c = 1;
            p++;
            len--;
        }
        ps_status st = add_alias(v, n, p, len, owner, c);
        if (st != PS_OK)
            return st;
        p = bar ? bar + 1 : NULL;
    }
    return PS_OK;
}

static ps_status compile(regex_t *re, const char *pattern, int icase,
                         const char *table, size_t line, ps_err *err)
{
    int rc = regcomp(re, pattern, REG_EXTENDED | (icase ? REG_ICASE : 0));
    if (rc != 0) {
        char msg[128];
        regerror(rc, re, msg, sizeof msg);
        return ps_err_set(err, PS_ERR_PARSE, "%s line %zu: /%s/: %s", table,
                          line, pattern, msg);
    }
    return PS_OK;
}

/* The line-oriented reader shared by the three tables: comments (#) and
 * blank lines are skipped; fn gets the tab-separated fields. */
typedef ps_status (*row_fn)(ps_mentions_matcher *m, char **f, size_t nf,
                            size_t line, ps_err *err);

static ps_status read_table(ps_mentions_matcher *m, const char *text,
                            const char *table, row_fn fn, ps_err *err)
{
    if (!text)
        return PS_OK;
    size_t len = strlen(text);
    if (len > PS_MENTIONS_MAX_TABLE)
        return ps_err_set(err, PS_ERR_TOOBIG, "%s: more than %zu bytes", table,
                          PS_MENTIONS_MAX_TABLE);
    char *copy = ps_strndup(text, len);
    if (!copy)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    ps_status st = PS_OK;
    size_t lineno = 0;
    char *p = copy;
    while (st == PS_OK && p && *p) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        lineno++;
        size_t l = strlen(p);
        if (l && p[l - 1] == '\r')
            p[--l] = '\0';
        if (l && p[0] != '#') {
            char *f[8] = {0};
            size_t nf = split_tabs(p, f, 8);
            st = fn(m, f, nf, lineno, err);
        }
        p = nl ? nl + 1 : NULL;
    }
    ps_free(copy);
    return st;
}

static ps_status fac_row(ps_mentions_matcher *m, char **f, size_t nf,
                         size_t line, ps_err *err)
{
    if (nf < 2 || !*f[0])
        return ps_err_set(err, PS_ERR_PARSE,
                          "facilities.tsv line %zu: want name, aliases, "
                          "data-DOI prefixes",
                          line);
    size_t i;
    if (want_fac(m, f[0], &i) != PS_OK ||
        add_list(&m->fal, &m->nfal, f[1], i, 0) != PS_OK)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    const char *p = nf > 2 ? f[2] : "";
    while (*p) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        fac *fc = &m->facs[i];
        if (len) {
            if (grow((void **)&fc->doi, fc->ndoi, sizeof *fc->doi))
                return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
            fc->doi[fc->ndoi] = ps_strndup(p, len);
            if (!fc->doi[fc->ndoi])
                return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
            fc->ndoi++;
        }
        p = bar ? bar + 1 : p + len;
    }
    return PS_OK;
}

static ps_status code_row(ps_mentions_matcher *m, char **f, size_t nf,
                          size_t line, ps_err *err)
{
    if (nf < 2 || !*f[0] || !*f[1])
        return ps_err_set(err, PS_ERR_PARSE,
                          "proposal-codes.tsv line %zu: want facility, "
                          "pattern, example",
                          line);
    size_t i;
    if (want_fac(m, f[0], &i) != PS_OK ||
        grow((void **)&m->codes, m->ncodes, sizeof *m->codes))
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    code *c = &m->codes[m->ncodes];
    c->fac = i;
    ps_status st = compile(&c->re, f[1], 0, "proposal-codes.tsv", line, err);
    if (st == PS_OK)
        m->ncodes++;
    return st;
}

static ps_status add_instr(ps_mentions_matcher *m, const char *facility,
                           const char *name, const char *aliases, int cue,
                           size_t line, ps_err *err)
{
    size_t fi;
    if (want_fac(m, facility, &fi) != PS_OK ||
        grow((void **)&m->instrs, m->ninstrs, sizeof *m->instrs))
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    instr *in = &m->instrs[m->ninstrs];
    memset(in, 0, sizeof *in);
    in->fac = fi;
    if (strncmp(name, "re:", 3) == 0) {
        ps_status st =
            compile(&in->re, name + 3, 1, "instruments.tsv", line, err);
        if (st != PS_OK)
            return st;
        in->is_re = 1;
    }
    in->value = ps_strdup(name);
    if (!in->value) {
        if (in->is_re)
            regfree(&in->re);
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    size_t ii = m->ninstrs++;
    if (!in->is_re &&
        (add_alias(&m->ial, &m->nial, name, strlen(name), ii, cue) != PS_OK ||
         add_list(&m->ial, &m->nial, aliases, ii, cue) != PS_OK))
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    return PS_OK;
}

static ps_status instr_row(ps_mentions_matcher *m, char **f, size_t nf,
                           size_t line, ps_err *err)
{
    if (nf < 2 || !*f[0] || !*f[1])
        return ps_err_set(err, PS_ERR_PARSE,
                          "instruments.tsv line %zu: want facility, name, "
                          "aliases, cue",
                          line);
    int cue = nf > 3 && strcmp(f[3], "1") == 0;
    return add_instr(m, f[0], f[1], nf > 2 ? f[2] : NULL, cue, line, err);
}

static int by_length_desc(const void *a, const void *b)
{
    const alias *x = a, *y = b;
    return x->len < y->len ? 1 : x->len > y->len ? -1 : 0;
}

ps_status ps_mentions_matcher_new(ps_mentions_matcher **out,
                                  const char *facilities_tsv,
                                  const char *proposal_codes_tsv,
                                  const char *instruments_tsv, ps_err *err)
{
    *out = NULL;
    ps_mentions_matcher *m = ps_calloc(1, sizeof *m);
    if (!m)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    /* A DOI: 10.<registrant>/<suffix without spaces or markup>. */
    if (regcomp(&m->doi_re, "10\\.[0-9]{4,9}/[^][:space:]\"<>]+",
                REG_EXTENDED) != 0) {
        ps_free(m);
        return ps_err_set(err, PS_ERR_INTERNAL, "DOI pattern");
    }
    if (regcomp(&m->url_re, "(https?://|www\\.)[^][:space:]\"<>]+",
                REG_EXTENDED | REG_ICASE) != 0) {
        regfree(&m->doi_re);
        ps_free(m);
        return ps_err_set(err, PS_ERR_INTERNAL, "URL pattern");
    }
    m->res_ok = 1;
    ps_status st =
        read_table(m, facilities_tsv, "facilities.tsv", fac_row, err);
    if (st == PS_OK)
        st = read_table(m, proposal_codes_tsv, "proposal-codes.tsv", code_row,
                        err);
    if (st == PS_OK)
        st = read_table(m, instruments_tsv, "instruments.tsv", instr_row, err);
    if (st != PS_OK) {
        ps_mentions_matcher_free(m);
        return st;
    }
    if (m->nfal)
        qsort(m->fal, m->nfal, sizeof *m->fal, by_length_desc);
    if (m->nial)
        qsort(m->ial, m->nial, sizeof *m->ial, by_length_desc);
    *out = m;
    return PS_OK;
}

ps_status ps_mentions_matcher_add_instrument(ps_mentions_matcher *m,
                                             const char *facility,
                                             const char *name,
                                             const char *aliases, int needs_cue,
                                             ps_err *err)
{
    if (!m || !facility || !name || !*name)
        return ps_err_set(err, PS_ERR_INVALID, "instrument without a name");
    ps_status st = add_instr(m, facility, name, aliases, needs_cue, 0, err);
    if (st == PS_OK && m->nial)
        qsort(m->ial, m->nial, sizeof *m->ial, by_length_desc);
    return st;
}

static char *read_small(const char *path, ps_status *st, ps_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        *st = ps_err_set(err, errno == ENOENT ? PS_ERR_NOTFOUND : PS_ERR_IO,
                         "%s: %s", path, strerror(errno));
        return NULL;
    }
    ps_buf b;
    ps_buf_init(&b, PS_MENTIONS_MAX_TABLE);
    char chunk[8192];
    size_t n;
    *st = PS_OK;
    for (;;) {
        n = fread(chunk, 1, sizeof chunk, f);
        if (n == 0)
            break;
        *st = ps_buf_append(&b, chunk, n);
        if (*st != PS_OK)
            break;
    }
    if (*st == PS_OK && ferror(f))
        *st = PS_ERR_IO;
    fclose(f);
    if (*st == PS_OK)
        *st = ps_buf_append(&b, "", 1);
    if (*st != PS_OK) {
        ps_buf_free(&b);
        ps_err_set(err, *st, "%s: %s", path,
                   *st == PS_ERR_TOOBIG ? "more than 1 MiB" : "read failed");
        return NULL;
    }
    return ps_buf_detach(&b);
}

ps_status ps_mentions_matcher_load(ps_mentions_matcher **out, const char *dir,
                                   ps_err *err)
{
    return ps_mentions_matcher_load_with(out, dir, NULL, err);
}

ps_status ps_mentions_matcher_load_with(ps_mentions_matcher **out,
                                        const char *dir,
                                        const char *proposal_codes, ps_err *err)
{
    static const char *names[3] = {"facilities.tsv", "proposal-codes.tsv",
                                   "instruments.tsv"};
    char *text[3] = {NULL, NULL, NULL};
    ps_status st = PS_OK;
    *out = NULL;
    for (int i = 0; i < 3 && st == PS_OK; i++) {
        char *path = i == 1 && proposal_codes
                         ? ps_strdup(proposal_codes)
                         : ps_asprintf("%s/%s", dir, names[i]);
        if (!path)
            return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        text[i] = read_small(path, &st, err);
        ps_free(path);
    }
    if (st == PS_OK)
        st = ps_mentions_matcher_new(out, text[0], text[1], text[2], err);
    for (int i = 0; i < 3; i++)
        ps_free(text[i]);
    return st;
}

void ps_mentions_matcher_free(ps_mentions_matcher *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nfacs; i++) {
        ps_free(m->facs[i].name);
        for (size_t j = 0; j < m->facs[i].ndoi; j++)
            ps_free(m->facs[i].doi[j]);
        ps_free(m->facs[i].doi);
    }
    for (size_t i = 0; i < m->nfal; i++)
        ps_free(m->fal[i].text);
    for (size_t i = 0; i < m->nial; i++)
        ps_free(m->ial[i].text);
    for (size_t i = 0; i < m->ncodes; i++)
        regfree(&m->codes[i].re);
    for (size_t i = 0; i < m->ninstrs; i++) {
        if (m->instrs[i].is_re)
            regfree(&m->instrs[i].re);
        ps_free(m->instrs[i].value);
    }
    if (m->res_ok) {
        regfree(&m->doi_re);
        regfree(&m->url_re);
    }
    ps_free(m->facs);
    ps_free(m->fal);
    ps_free(m->ial);
    ps_free(m->codes);
    ps_free(m->instrs);
    ps_free(m);
}

/* ---- finding ---------------------------------------------------------- */

/* One search: the text (a NUL-free, NUL-terminated copy), its lower-cased
 * twin for cue words, the spans no mention may fall in (DOIs, URLs), and
 * the facility mentions found so far (cues for codes and instruments). */
typedef struct scan {
    const ps_mentions_matcher *m;
    const char *t;
    char *low;
    size_t len;
    const char *section;
    size_t (*block)[2];
    size_t nblock;
    ps_mentions *out;
    size_t first; /* out->n before this search */
} scan;

/* memmem, which _DEFAULT_SOURCE does not declare. */
static const char *find_bytes(const char *h, size_t hl, const char *n,
                              size_t nl)
{
    if (nl == 0 || hl < nl)
        return NULL;
    const char *end = h + hl - nl + 1;
    while (h < end) {
        const char *p = memchr(h, n[0], (size_t)(end - h));
        if (!p)
            return NULL;
        if (memcmp(p, n, nl) == 0)
            return p;
        h = p + 1;
    }
    return NULL;
}

static int is_word(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z') || c >= 0x80;
}

/* Word boundaries around t[s..e): a name is not part of a longer word,
 * path or code ("/ESRF", "ID23x", "MA-1234-5", "8-01-418.2"). */
static int bounded(const scan *sc, size_t s, size_t e)
{
    const unsigned char *t = (const unsigned char *)sc->t;
    if (s > 0) {
        unsigned char p = t[s - 1];
        if (is_word(p) || p == '/' || p == '_' || p == '@')
            return 0;
        if ((p == '-' || p == '.') && s > 1 && is_word(t[s - 2]))
            return 0;
    }
    if (e < sc->len) {
        unsigned char n = t[e];
        if (is_word(n) || n == '_' || n == '@')
            return 0;
        if ((n == '-' || n == '.' || n == '/') && e + 1 < sc->len &&
            is_word(t[e + 1]))
            return 0;
    }
    return 1;
}

static int blocked(const scan *sc, size_t s, size_t e)
{
    for (size_t i = 0; i < sc->nblock; i++)
        if (s < sc->block[i][1] && e > sc->block[i][0])
            return 1;
    return 0;
}

/* Does a mention of kind already cover part of [s, e)? */
static int taken(const scan *sc, ps_mention_kind kind, size_t s, size_t e)
{
    for (size_t i = sc->first; i < sc->out->n; i++) {
        const ps_mention *x = &sc->out->items[i];
        if ((int)x->kind == (int)kind && s < x->offset + x->length &&
            e > x->offset)
            return 1;
    }
    return 0;
}

/* The position of the cue word nearest to [s, e) within the windows, or
 * -1; *dist gets its distance. A cue starts a word ("experiments" counts
 * for "experiment"). */
static long nearest_cue(const scan *sc, const char *const *words, size_t s,
                        size_t e, size_t before, size_t after, size_t *dist)
{
    size_t from = s > before ? s - before : 0;
    size_t to = e + after < sc->len ? e + after : sc->len;
    long best = -1;
    size_t bestd = (size_t)-1;
    for (size_t w = 0; words[w]; w++) {
        size_t wl = strlen(words[w]);
        const char *p = sc->low + from;
        const char *end = sc->low + to;
        while (p + wl <= end) {
            const char *hit = find_bytes(p, (size_t)(end - p), words[w], wl);
            if (!hit || hit + wl > end)
                break;
            size_t at = (size_t)(hit - sc->low);
            if ((at == 0 || !is_word((unsigned char)sc->low[at - 1])) &&
                (at + wl <= s || at >= e)) {
                size_t d = at < s ? s - (at + wl) : at - e;
                if (d < bestd) {
                    bestd = d;
                    best = (long)at;
                }
            }
            p = hit + 1;
        }
    }
    if (dist)
        *dist = bestd;
    return best;
}

/* The nearest facility mention to [s, e) within the windows (of facility
 * fi, or any when fi is (size_t)-1): its distance, or (size_t)-1. */
static size_t near_facility(const scan *sc, size_t s, size_t e, size_t before,
                            size_t after, size_t fi)
{
    size_t best = (size_t)-1;
    for (size_t i = sc->first; i < sc->out->n; i++) {
        const ps_mention *x = &sc->out->items[i];
        if (x->kind != PS_MENTION_FACILITY)
            continue;
        if (fi != (size_t)-1 && strcmp(x->facility, sc->m->facs[fi].name))
            continue;
        size_t xe = x->offset + x->length, d;
        if (xe <= s && s - xe <= before)
            d = s - xe;
        else if (x->offset >= e && x->offset - e <= after)
            d = x->offset - e;
        else
            continue;
        if (d < best)
            best = d;
    }
    return best;
}

static char *make_context(const char *t, size_t len, size_t s, size_t e,
                          size_t *at)
{
    size_t a = s > PS_MENTIONS_CONTEXT ? s - PS_MENTIONS_CONTEXT : 0;
    size_t b = e + PS_MENTIONS_CONTEXT < len ? e + PS_MENTIONS_CONTEXT : len;
    /* Whole UTF-8 characters: never start or end inside one. */
    while (a < s && ((unsigned char)t[a] & 0xC0) == 0x80)
        a++;
    while (b > e && b < len && ((unsigned char)t[b] & 0xC0) == 0x80)
        b--;
    char *c = ps_strndup(t + a, b - a);
    if (!c)
        return NULL;
    for (size_t i = 0; i < b - a; i++)
        if ((unsigned char)c[i] < 0x20 || c[i] == 0x7f)
            c[i] = ' ';
    *at = s - a;
    return c;
}

static ps_status emit(scan *sc, ps_mention_kind kind, const char *value,
                      size_t vlen, size_t fi, size_t s, size_t e,
                      double confidence)
{
    ps_mentions *o = sc->out;
    if (o->n >= PS_MENTIONS_MAX_ITEMS)
        return PS_ERR_TOOBIG;
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 16;
        ps_mention *p = ps_realloc(o->items, cap * sizeof *p);
        if (!p)
            return PS_ERR_NOMEM;
        o->items = p;
        o->cap = cap;
    }
    ps_mention *x = &o->items[o->n];
    memset(x, 0, sizeof *x);
    x->kind = kind;
    x->value = ps_strndup(value, vlen);
    x->facility = ps_strdup(sc->m->facs[fi].name);
    x->section = sc->section ? ps_strdup(sc->section) : NULL;
    x->context = make_context(sc->t, sc->len, s, e, &x->context_at);
    x->offset = s;
    x->length = e - s;
    x->confidence = confidence;
    if (!x->value || !x->facility || (sc->section && !x->section) ||
        !x->context) {
        ps_free(x->value);
        ps_free(x->facility);
        ps_free(x->section);
        ps_free(x->context);
        return PS_ERR_NOMEM;
    }
    o->n++;
    return PS_OK;
}

/* Words that make a facility's ordinary-word alias ("Diamond", "APS") or a
 * short instrument name count. */
static const char *const fac_cues[] = {
    "synchrotron", "neutron",    "beamline", "beam line",  "beamtime",
    "beam time",   "proposal",   "facility", "facilities", "light source",
    "instrument",  "x-ray",      "muon",     "spallation", "reactor",
    "experiment",  "allocation", NULL};
static const char *const instr_cues[] = {"beamline",
                                         "beam line",
                                         "instrument",
                                         "diffractometer",
                                         "spectrometer",
                                         "reflectometer",
                                         "station",
                                         "camera",
                                         "backscattering",
                                         "time-of-flight",
                                         "small-angle",
                                         "sans ",
                                         NULL};
static const char *const beamline_cues[] = {"beamline", "beam line", NULL};
static const char *const code_cues[] = {
    "proposal", "experiment",     "beamtime", "beam time", "allocation",
    "under",    "project number", "exp.",     "rb ",       NULL};
static const char *const code_negative[] = {
    "grant", "contract", "award", "project", "isbn",     "issn",  "pp.",
    "page",  "fig",      "eq.",   "eqs.",    "equation", "table", "vol.",
    "ref.",  "tel",      "fax",   "phone",   "no. of",   "doi",   NULL};

/* All matches of re in the text, each passed to fn with its span. */
typedef ps_status (*match_fn)(scan *sc, size_t s, size_t e, void *payload);

static ps_status each_match(scan *sc, const regex_t *re, match_fn fn,
                            void *payload)
{
    size_t pos = 0;
    while (pos < sc->len) {
        regmatch_t mt[1];
        if (regexec(re, sc->t + pos, 1, mt, pos ? REG_NOTBOL : 0) != 0)
            break;
        size_t s = pos + (size_t)mt[0].rm_so, e = pos + (size_t)mt[0].rm_eo;
        if (e == s) {
            pos = s + 1;
            continue;
        }
        ps_status st = fn(sc, s, e, payload);
        if (st != PS_OK)
            return st;
        pos = s + 1;
    }
    return PS_OK;
}

static ps_status add_block(scan *sc, size_t s, size_t e, void *payload)
{
    (void)payload;
    if (grow((void **)&sc->block, sc->nblock, sizeof *sc->block))
        return PS_ERR_NOMEM;
    sc->block[sc->nblock][0] = s;
    sc->block[sc->nblock][1] = e;
    sc->nblock++;
    return PS_OK;
}

/* Trim what ends a sentence or encloses a DOI rather than belongs to it. */
static size_t trim_doi(const char *t, size_t s, size_t e)
{
    while (e > s) {
        char c = t[e - 1];
        if (c == '.' || c == ',' || c == ';' || c == ':' || c == '\'' ||
            c == ']' || c == '}') {
            e--;
        } else if (c == ')') {
            if (memchr(t + s, '(', e - s))
                break;
            e--;
        } else {
            break;
        }
    }
    return e;
}

/* Does s match one of facility fi's code grammars exactly? */
static int is_code(const ps_mentions_matcher *m, size_t fi, const char *s)
{
    for (size_t i = 0; i < m->ncodes; i++) {
        regmatch_t mt[1];
        if (m->codes[i].fac == fi &&
            regexec(&m->codes[i].re, s, 1, mt, 0) == 0 && mt[0].rm_so == 0 &&
            (size_t)mt[0].rm_eo == strlen(s))
            return 1;
    }
    return 0;
}

/* A DOI in the text: a facility's data DOI becomes a mention, repaired
 * when a line end broke it; every DOI blocks other mentions inside it. */
static ps_status on_doi(scan *sc, size_t s, size_t e, void *payload)
{
    (void)payload;
    if (s > 0 && (is_word((unsigned char)sc->t[s - 1]) || sc->t[s - 1] == '.'))
        return PS_OK; /* inside a longer number */
    const ps_mentions_matcher *m = sc->m;
    size_t raw = e; /* before trimming: "ILL-DATA." may go on */
    e = trim_doi(sc->t, s, e);
    /* Which facility's data DOI, if any. */
    size_t fi = (size_t)-1, plen = 0;
    for (size_t i = 0; i < m->nfacs && fi == (size_t)-1; i++)
        for (size_t j = 0; j < m->facs[i].ndoi; j++) {
            size_t l = strlen(m->facs[i].doi[j]);
            if (raw - s >= l &&
                strncasecmp(sc->t + s, m->facs[i].doi[j], l) == 0) {
                fi = i;
                plen = l;
                break;
            }
        }
    ps_buf v;
    ps_buf_init(&v, 1024);
    ps_status st = ps_buf_append(&v, sc->t + s, e - s);
    size_t end = e;
    /* Repair: the DOI stops at a line end after a character that cannot
     * end it (- . / _) or right after its prefix: glue the next token. */
    char last = sc->t[raw - 1];
    size_t k = raw;
    while (k < sc->len &&
           (sc->t[k] == ' ' || sc->t[k] == '\t' || sc->t[k] == '\r'))
        k++;
    if (st == PS_OK && fi != (size_t)-1 && k < sc->len && sc->t[k] == '\n' &&
        (last == '-' || last == '.' || last == '/' || last == '_' ||
         raw - s == plen)) {
        k++;
        while (k < sc->len && (sc->t[k] == ' ' || sc->t[k] == '\t'))
            k++;
        size_t n = k;
        while (n < sc->len && !strchr(" \t\r\n\"<>", sc->t[n]))
            n++;
        n = trim_doi(sc->t, k, n);
        if (n > k) {
            st = ps_buf_append(&v, sc->t + e, raw - e);
            if (st == PS_OK)
                st = ps_buf_append(&v, sc->t + k, n - k);
            end = n;
            /* A hyphen at the break is kept (DOIs are broken after their
             * own hyphens), unless the facility's codes say otherwise:
             * 10.5291/ILL-DATA.8-01-\n418 keeps it, ...TEST-33-\n46 not. */
            if (st == PS_OK && last == '-' && plen && v.len > plen) {
                char *suf = ps_strndup(v.data + plen, v.len - plen);
                size_t cut = (raw - 1 - s) - plen;
                if (suf && !is_code(m, fi, suf)) {
                    memmove(suf + cut, suf + cut + 1, strlen(suf + cut));
                    if (is_code(m, fi, suf)) {
                        memmove(v.data + plen + cut, v.data + plen + cut + 1,
                                v.len - plen - cut - 1);
                        v.len--;
                    }
                }
                ps_free(suf);
            }
        }
    }
    if (st == PS_OK)
        st = add_block(sc, s, end, NULL);
    if (st == PS_OK && fi != (size_t)-1 && v.len > plen)
        st = emit(sc, PS_MENTION_DATA_DOI, v.data, v.len, fi, s, end, 1.0);
    ps_buf_free(&v);
    return st;
}

static ps_status on_url(scan *sc, size_t s, size_t e, void *payload)
{
    (void)payload;
    return add_block(sc, s, e, NULL);
}

/* Facility aliases, longest first, so "Diamond Light Source" wins over
 * "Diamond" and "European XFEL" is one mention. */
static ps_status find_facilities(scan *sc)
{
    const ps_mentions_matcher *m = sc->m;
    for (size_t i = 0; i < m->nfal; i++) {
        const alias *a = &m->fal[i];
        const char *p = sc->t;
        const char *end = sc->t + sc->len;
        while (p + a->len <= end) {
            const char *hit = find_bytes(p, (size_t)(end - p), a->text, a->len);
            if (!hit)
                break;
            size_t s = (size_t)(hit - sc->t), e = s + a->len;
            p = hit + 1;
            if (!bounded(sc, s, e) || blocked(sc, s, e) ||
                taken(sc, PS_MENTION_FACILITY, s, e))
                continue;
            double conf = 0.9;
            if (a->cue) {
                size_t d;
                if (nearest_cue(sc, fac_cues, s, e, CUE_BEFORE, CUE_AFTER, &d) <
                    0)
                    continue;
                conf = 0.8;
            }
            ps_status st =
                emit(sc, PS_MENTION_FACILITY, m->facs[a->owner].name,
                     strlen(m->facs[a->owner].name), a->owner, s, e, conf);
            if (st != PS_OK)
                return st;
        }
    }
    return PS_OK;
}

/* An instrument: its facility named nearby or a cue word; a name without
 * the need of a cue counts anyway, with a lower confidence. */
static double instr_confidence(scan *sc, size_t fi, size_t s, size_t e,
                               int needs_cue, int is_re)
{
    size_t d;
    if (near_facility(sc, s, e, CUE_BEFORE * 2, CUE_BEFORE, fi) != (size_t)-1)
        return 0.9;
    if (nearest_cue(sc, is_re ? beamline_cues : instr_cues, s, e, CUE_BEFORE,
                    CUE_AFTER, &d) >= 0)
        return 0.8;
    return needs_cue ? 0.0 : 0.6;
}

static ps_status find_instruments(scan *sc)
{
    const ps_mentions_matcher *m = sc->m;
    for (size_t i = 0; i < m->nial; i++) {
        const alias *a = &m->ial[i];
        const instr *in = &m->instrs[a->owner];
        const char *p = sc->t;
        const char *end = sc->t + sc->len;
        while (p + a->len <= end) {
            const char *hit = find_bytes(p, (size_t)(end - p), a->text, a->len);
            if (!hit)
                break;
            size_t s = (size_t)(hit - sc->t), e = s + a->len;
            p = hit + 1;
            if (!bounded(sc, s, e) || blocked(sc, s, e) ||
                taken(sc, PS_MENTION_INSTRUMENT, s, e) ||
                taken(sc, PS_MENTION_FACILITY, s, e))
                continue;
            double conf = instr_confidence(sc, in->fac, s, e, a->cue, 0);
            if (conf <= 0)
                continue;
            ps_status st = emit(sc, PS_MENTION_INSTRUMENT, in->value,
                                strlen(in->value), in->fac, s, e, conf);
            if (st != PS_OK)
                return st;
        }
    }
    return PS_OK;
}

static ps_status on_instr_re(scan *sc, size_t s, size_t e, void *payload)
{
    const instr *in = payload;
    if (!bounded(sc, s, e) || blocked(sc, s, e) ||
        taken(sc, PS_MENTION_INSTRUMENT, s, e) ||
        taken(sc, PS_MENTION_FACILITY, s, e) ||
        taken(sc, PS_MENTION_PROPOSAL, s, e))
        return PS_OK;
    double conf = instr_confidence(sc, in->fac, s, e, 1, 1);
    if (conf <= 0)
        return PS_OK;
    char v[64];
    size_t n = e - s < sizeof v ? e - s : sizeof v - 1;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char c = sc->t[s + i];
        if (c != ' ')
            v[k++] = c == '.'                 ? '-'
                     : (c >= 'a' && c <= 'z') ? (char)(c - 32)
                                              : c;
    }
    return emit(sc, PS_MENTION_INSTRUMENT, v, k, in->fac, s, e, conf);
}

/* A postal code that looks like a code ("CH-5232 Villigen"): letters, a
 * hyphen, 4-5 digits, then a capitalised word. */
static int postal_like(const scan *sc, size_t s, size_t e)
{
    const char *t = sc->t;
    size_t i = s;
    while (i < e && t[i] >= 'A' && t[i] <= 'Z')
        i++;
    if (i - s < 1 || i - s > 2 || i >= e || t[i] != '-')
        return 0;
    size_t digits = e - i - 1;
    for (size_t k = i + 1; k < e; k++)
        if (t[k] < '0' || t[k] > '9')
            return 0;
    return digits >= 4 && digits <= 5 && e + 2 < sc->len && t[e] == ' ' &&
           t[e + 1] >= 'A' && t[e + 1] <= 'Z' && t[e + 2] >= 'a' &&
           t[e + 2] <= 'z';
}

static ps_status on_code(scan *sc, size_t s, size_t e, void *payload)
{
    const code *c = payload;
    if (!bounded(sc, s, e) || blocked(sc, s, e) ||
        taken(sc, PS_MENTION_PROPOSAL, s, e) ||
        taken(sc, PS_MENTION_INSTRUMENT, s, e))
        return PS_OK;
    size_t dpos, dneg, dafter;
    long pos = nearest_cue(sc, code_cues, s, e, CUE_BEFORE, 0, &dpos);
    long neg = nearest_cue(sc, code_negative, s, e, CUE_BEFORE, 0, &dneg);
    size_t dfac = near_facility(sc, s, e, CUE_BEFORE, CUE_AFTER, (size_t)-1);
    double conf;
    if (neg >= 0 && (pos < 0 || dneg < dpos) &&
        (dfac == (size_t)-1 || dneg < dfac))
        return PS_OK; /* "grant 2016-05-123", "pp. 1-23-456", "Fig. ..." */
    if (pos >= 0)
        conf = 0.9;
    else if (postal_like(sc, s, e))
        return PS_OK;
    else if (dfac != (size_t)-1 ||
             nearest_cue(sc, code_cues, s, e, 0, CUE_AFTER, &dafter) >= 0)
        conf = 0.8;
    else
        conf = 0.5;
    return emit(sc, PS_MENTION_PROPOSAL, sc->t + s, e - s, c->fac, s, e, conf);
}

static int by_offset(const void *a, const void *b)
{
    const ps_mention *x = a, *y = b;
    if (x->offset != y->offset)
        return x->offset < y->offset ? -1 : 1;
    return (int)x->kind - (int)y->kind;
}

ps_status ps_mentions_find(const ps_mentions_matcher *m, const char *text,
                           size_t len, const char *section, ps_mentions *out,
                           ps_err *err)
{
    if (!m || !out || (!text && len))
        return ps_err_set(err, PS_ERR_INVALID, "no matcher or no text");
    if (len > PS_MENTIONS_MAX_TEXT)
        return ps_err_set(err, PS_ERR_TOOBIG,
                          "text of %zu bytes: more than the %zu a search takes",
                          len, PS_MENTIONS_MAX_TEXT);
    scan sc;
    memset(&sc, 0, sizeof sc);
    sc.m = m;
    sc.len = len;
    sc.section = section;
    sc.out = out;
    sc.first = out->n;
    char *t = ps_malloc(len + 1);
    sc.low = ps_malloc(len + 1);
    if (!t || !sc.low) {
        ps_free(t);
        ps_free(sc.low);
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < len; i++) {
        char c = text[i] ? text[i] : ' ';
        t[i] = c;
        sc.low[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
    t[len] = sc.low[len] = '\0';
    sc.t = t;

    ps_status st = each_match(&sc, &m->url_re, on_url, NULL);
    if (st == PS_OK)
        st = each_match(&sc, &m->doi_re, on_doi, NULL);
    if (st == PS_OK)
        st = find_facilities(&sc);
    for (size_t i = 0; st == PS_OK && i < m->ncodes; i++)
        st = each_match(&sc, &m->codes[i].re, on_code, &m->codes[i]);
    if (st == PS_OK)
        st = find_instruments(&sc);
    for (size_t i = 0; st == PS_OK && i < m->ninstrs; i++)
        if (m->instrs[i].is_re)
            st = each_match(&sc, &m->instrs[i].re, on_instr_re,
                            (void *)&m->instrs[i]);
    ps_free(t);
    ps_free(sc.low);
    ps_free(sc.block);
    if (st != PS_OK) {
        for (size_t i = sc.first; i < out->n; i++) {
            ps_free(out->items[i].value);
            ps_free(out->items[i].facility);
            ps_free(out->items[i].section);
            ps_free(out->items[i].context);
        }
        out->n = sc.first;
        return ps_err_set(err, st,
                          st == PS_ERR_TOOBIG
                              ? "more than %d mentions"
                              : "out of memory (%d mentions at most)",
                          PS_MENTIONS_MAX_ITEMS);
    }
    if (out->n > sc.first)
        qsort(out->items + sc.first, out->n - sc.first, sizeof *out->items,
              by_offset);
    return PS_OK;
}

void ps_mentions_clear(ps_mentions *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++) {
        ps_free(a->items[i].value);
        ps_free(a->items[i].facility);
        ps_free(a->items[i].section);
        ps_free(a->items[i].context);
    }
    ps_free(a->items);
    a->items = NULL;
    a->n = a->cap = 0;
}

const char *ps_mention_kind_str(ps_mention_kind kind)
{
    switch (kind) {
    case PS_MENTION_FACILITY: return "facility";
    case PS_MENTION_INSTRUMENT: return "instrument";
    case PS_MENTION_PROPOSAL: return "proposal";
    case PS_MENTION_DATA_DOI: return "data-doi";
    }
    return "?";
}
