/*
 * query-syntax.c: the parser of /api/search's query language
 * (query-syntax.h, docs/api/search.md). A tokenizer reads the query one
 * token at a time (words, "phrases", word* prefixes, field:value terms
 * with their values and year ranges, ( ) | + - and the operators OR, AND,
 * NOT in capitals) and a recursive descent parser builds the tree:
 *   query   := or EOF
 *   or      := and ( ('|' | OR) and )*
 *   and     := unary ( [AND] unary )*
 *   unary   := ('+' | '-' | NOT) primary | primary
 *   primary := '(' or ')' | word | prefix | phrase | field ':' value
 * Everything wrong is reported with the byte where it is, turned into a
 * character offset and a caret excerpt. The tree lives in the caller's
 * ps_qs: a fixed pool of nodes and text, bounded by the ceilings of the
 * header, so that no query can make the parser allocate or recurse
 * without end. It is not the PaN filter language (filter.c).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "query-syntax.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const field_names[] = {
    "", "title", "author", "instrument", "facility", "technique", "doi", "year",
};
#define NFIELDS (sizeof field_names / sizeof field_names[0])
#define FIELD_LIST "title, author, instrument, facility, technique, doi, year"

const char *ps_qs_field_name(ps_qs_field f)
{
    return (size_t)f < NFIELDS ? field_names[f] : "";
}

/* ---- errors -------------------------------------------------------------- */

/* Characters (code points) in s[0..n). */
static size_t chars_in(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            c++;
    return c;
}

/* Byte offset of the character k characters before (k < 0) or after byte
 * pos, stopping at the ends of s (len bytes). */
static size_t step_chars(const char *s, size_t len, size_t pos, int k)
{
    while (k < 0 && pos > 0) {
        pos--;
        while (pos > 0 && ((unsigned char)s[pos] & 0xC0) == 0x80)
            pos--;
        k++;
    }
    while (k > 0 && pos < len) {
        pos++;
        while (pos < len && ((unsigned char)s[pos] & 0xC0) == 0x80)
            pos++;
        k--;
    }
    return pos;
}

#define EXCERPT_SIDE 30 /* characters shown on each side of the fault */

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static int
fail(ps_qs_error *e, const char *q, size_t pos, const char *fmt, ...)
{
    size_t len = strlen(q);
    if (pos > len)
        pos = len;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    e->byte = pos;
    e->offset = chars_in(q, pos);
    /* The excerpt: up to EXCERPT_SIDE characters either side, white space
     * as spaces (one line), "..." where cut; then the caret line. */
    size_t a = step_chars(q, len, pos, -EXCERPT_SIDE);
    size_t b = step_chars(q, len, pos, EXCERPT_SIDE);
    size_t o = 0, lead = 0;
    char *x = e->excerpt;
    if (a > 0) {
        memcpy(x, "...", 3);
        o = lead = 3;
    }
    for (size_t i = a; i < b && o + 8 < sizeof e->excerpt; i++) {
        unsigned char c = (unsigned char)q[i];
        x[o++] = c < 0x20 ? ' ' : (char)c;
    }
    if (b < len && o + 4 < sizeof e->excerpt) {
        memcpy(x + o, "...", 3);
        o += 3;
    }
    size_t caret = lead + chars_in(q + a, pos - a);
    if (o + caret + 3 < sizeof e->excerpt) {
        x[o++] = '\n';
        memset(x + o, ' ', caret);
        o += caret;
        x[o++] = '^';
    }
    x[o] = '\0';
    return -1;
}

/* ---- tokens -------------------------------------------------------------- */

typedef enum {
    T_END,
    T_WORD,
    T_PREFIX,
    T_PHRASE,
    T_RANGE, /* only as a field's value */
    T_LP,
    T_RP,
    T_OR,
    T_AND,
    T_NOT,
    T_PLUS,
    T_MINUS
} tok_kind;

typedef struct token {
    tok_kind kind;
    size_t pos;        /* where the token starts */
    size_t start, len; /* the text: word, prefix (without '*'), phrase */
    ps_qs_field field; /* PS_QS_ANY unless field:value */
    int64_t lo, hi;    /* T_RANGE */
} token;

typedef struct lexer {
    const char *q;
    size_t len, i;
    token peek;
    int have_peek;
    ps_qs_error *e;
} lexer;

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
           c == '\v';
}

/* Ends a word: white space, the end, ( ) " | */
static int ends_word(char c)
{
    return !c || is_space(c) || c == '(' || c == ')' || c == '"' || c == '|';
}

static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static const char *kind_name(tok_kind k)
{
    switch (k) {
    case T_OR: return "OR";
    case T_AND: return "AND";
    case T_NOT: return "NOT";
    case T_PLUS: return "+";
    case T_MINUS: return "-";
    default: return "";
    }
}

/* A phrase from the quote at q[at]: its text, or an error. *end is past
 * the closing quote. */
static int lex_phrase(lexer *lx, size_t at, token *t, size_t *end)
{
    const char *close = strchr(lx->q + at + 1, '"');
    if (!close)
        return fail(lx->e, lx->q, at,
                    "unterminated quote: this \" is never closed");
    t->kind = T_PHRASE;
    t->start = at + 1;
    t->len = (size_t)(close - lx->q) - at - 1;
    size_t k = 0;
    while (k < t->len && is_space(lx->q[t->start + k]))
        k++;
    if (k == t->len)
        return fail(lx->e, lx->q, at,
                    "empty phrase: put words between the "
                    "quotes");
    *end = (size_t)(close - lx->q) + 1;
    return 0;
}

/* A whole number of at most 9 digits in q[a..b), or -1. */
static int parse_year(const char *q, size_t a, size_t b, int64_t *out)
{
    if (a >= b || b - a > 9)
        return -1;
    int64_t v = 0;
    for (size_t i = a; i < b; i++) {
        if (q[i] < '0' || q[i] > '9')
            return -1;
        v = v * 10 + (q[i] - '0');
    }
    *out = v;
    return 0;
}

/* A range value from the bracket at q[at]: [lo TO hi], { } exclusive, *
 * open. */
static int lex_range(lexer *lx, size_t at, token *t, size_t *end)
{
    const char *q = lx->q;
    size_t i = at + 1;
    int64_t b[2];
    size_t bpos[2];
    for (int k = 0; k < 2; k++) {
        while (is_space(q[i]))
            i++;
        if (k == 1) {
            if (strncmp(q + i, "TO", 2) != 0 ||
                (q[i + 2] && !is_space(q[i + 2])))
                return fail(lx->e, lx->q, i,
                            "bad range: expected TO between the bounds, as "
                            "in year:[2015 TO 2020]");
            i += 2;
            while (is_space(q[i]))
                i++;
        }
        size_t s = i;
        while (q[i] && !is_space(q[i]) && q[i] != ']' && q[i] != '}' &&
               q[i] != '[' && q[i] != '{')
            i++;
        bpos[k] = s;
        if (!q[s])
            return fail(lx->e, lx->q, at, "bad range: this %c is never closed",
                        q[at]);
        if (s == i)
            return fail(lx->e, lx->q, s,
                        "bad range: a bound is missing (a year, or * for no "
                        "bound)");
        if (i - s == 1 && q[s] == '*')
            b[k] = k ? INT64_MAX : INT64_MIN;
        else if (parse_year(q, s, i, &b[k]) != 0)
            return fail(lx->e, lx->q, s,
                        "bad range: \"%.*s\" is not a year (a whole number, "
                        "or * for no bound)",
                        (int)(i - s > 40 ? 40 : i - s), q + s);
    }
    while (is_space(q[i]))
        i++;
    if (!q[i])
        return fail(lx->e, lx->q, at, "bad range: this %c is never closed",
                    q[at]);
    if (q[i] != ']' && q[i] != '}')
        return fail(lx->e, lx->q, i,
                    "bad range: expected ] or } after the second bound");
    if (q[at] == '{' && b[0] != INT64_MIN)
        b[0]++;
    if (q[i] == '}' && b[1] != INT64_MAX)
        b[1]--;
    if (b[0] > b[1])
        return fail(lx->e, lx->q, bpos[0],
                    "bad range: the lower bound is above the upper one, "
                    "nothing can match");
    t->kind = T_RANGE;
    t->lo = b[0];
    t->hi = b[1];
    *end = i + 1;
    return 0;
}

/* A word or field:value term starting at q[i] (not white space, not a
 * special character). */
static int lex_word(lexer *lx, size_t i, token *t, size_t *end)
{
    const char *q = lx->q;
    size_t j = i;
    while (!ends_word(q[j]))
        j++;
    size_t k = i;
    while (k < j && is_alpha(q[k]))
        k++;
    size_t v = i; /* where the word's value starts */
    if (k > i && k < j && q[k] == ':') {
        size_t f = 1;
        while (f < NFIELDS && !(strlen(field_names[f]) == k - i &&
                                strncasecmp(field_names[f], q + i, k - i) == 0))
            f++;
        v = k + 1;
        int bare =
            v == j && (!q[v] || is_space(q[v]) || q[v] == ')' || q[v] == '|');
        if (f == NFIELDS && !bare)
            return fail(lx->e, q, i,
                        "unknown field \"%.*s\" (fields: " FIELD_LIST
                        "); to search for the text itself, put it in quotes",
                        (int)(k - i > 40 ? 40 : k - i), q + i);
        if (f == NFIELDS) {
            v = i; /* "word:" before a space: a word */
        } else {
            t->field = (ps_qs_field)f;
            const char *name = field_names[f];
            if (q[v] == '"')
                return lex_phrase(lx, v, t, end);
            if (q[v] == '[' || q[v] == '{') {
                if (t->field != PS_QS_YEAR)
                    return fail(lx->e, q, v,
                                "bad range: ranges are only for year, not %s",
                                name);
                return lex_range(lx, v, t, end);
            }
            if (q[v] == '(')
                return fail(lx->e, q, v,
                            "%s:( ) is not supported: repeat the field for "
                            "each word (%s:a %s:b)",
                            name, name, name);
            if (v == j)
                return fail(lx->e, q, v,
                            "empty value for %s: write %s:word or "
                            "%s:\"some words\"",
                            name, name, name);
        }
    }
    /* The value q[v..j): a word, or a prefix ending in one '*'. */
    const char *star = memchr(q + v, '*', j - v);
    t->kind = T_WORD;
    if (star) {
        size_t s = (size_t)(star - q);
        if (s != j - 1)
            return fail(lx->e, q, s,
                        "a * may only end a word (a prefix, as in "
                        "diffract*)");
        if (s == v)
            return fail(lx->e, q, s,
                        "no word to search for before this * (a prefix "
                        "needs at least one letter, as in diffract*)");
        if (t->field == PS_QS_FACILITY || t->field == PS_QS_TECHNIQUE ||
            t->field == PS_QS_DOI)
            return fail(lx->e, q, s, "%s: takes a whole value, not a prefix*",
                        field_names[t->field]);
        t->kind = T_PREFIX;
        j--;
    }
    if (t->field == PS_QS_YEAR &&
        (t->kind == T_PREFIX || parse_year(q, v, j, &t->lo) != 0))
        return fail(lx->e, q, v,
                    "year:%.*s: a year is a whole number (year:2019), or a "
                    "range (year:[2015 TO 2020])",
                    (int)(j - v > 40 ? 40 : j - v), q + v);
    t->start = v;
    t->len = j - v;
    *end = j + (t->kind == T_PREFIX);
    if (t->field == PS_QS_ANY && t->kind == T_WORD) {
        static const struct {
            const char *w;
            tok_kind k;
        } ops[] = {{"OR", T_OR}, {"AND", T_AND}, {"NOT", T_NOT}};
        for (size_t o = 0; o < 3; o++)
            if (t->len == strlen(ops[o].w) &&
                strncmp(q + v, ops[o].w, t->len) == 0)
                t->kind = ops[o].k;
    }
    return 0;
}

static int lex_next(lexer *lx, token *t)
{
    const char *q = lx->q;
    size_t i = lx->i;
    while (is_space(q[i]))
        i++;
    memset(t, 0, sizeof *t);
    t->pos = i;
    size_t end = i + 1;
    int rc = 0;
    switch (q[i]) {
    case '\0':
        t->kind = T_END;
        end = i;
        break;
    case '(': t->kind = T_LP; break;
    case ')': t->kind = T_RP; break;
    case '|': t->kind = T_OR; break;
    case '"': rc = lex_phrase(lx, i, t, &end); break;
    case '+':
    case '-':
        if (ends_word(q[i + 1]) && q[i + 1] != '(' && q[i + 1] != '"')
            return fail(lx->e, q, i,
                        "%c must be followed by the term it applies to, "
                        "without a space (%cword)",
                        q[i], q[i]);
        t->kind = q[i] == '+' ? T_PLUS : T_MINUS;
        break;
    default: rc = lex_word(lx, i, t, &end); break;
    }
    lx->i = end;
    return rc;
}

static int peek(lexer *lx, token **t)
{
    if (!lx->have_peek) {
        if (lex_next(lx, &lx->peek) != 0)
            return -1;
        lx->have_peek = 1;
    }
    *t = &lx->peek;
    return 0;
}

static void take(lexer *lx) { lx->have_peek = 0; }

/* ---- the parser ---------------------------------------------------------- */

typedef struct parser {
    lexer lx;
    ps_qs *qs;
    ps_qs_error *e;
} parser;

static int new_node(parser *p, ps_qs_kind kind, size_t pos)
{
    if (p->qs->n >= PS_QS_NODES_MAX)
        return fail(p->e, p->lx.q, pos,
                    "the query is too complex (more "
                    "than %d parts)",
                    PS_QS_NODES_MAX);
    ps_qs_node *n = &p->qs->nodes[p->qs->n];
    memset(n, 0, sizeof *n);
    n->kind = kind;
    n->pos = pos;
    n->first = n->next = -1;
    return (int)p->qs->n++;
}

static int parse_or(parser *p, int depth);

static int leaf(parser *p, const token *t)
{
    if (++p->qs->nterms > PS_QS_TERMS_MAX)
        return fail(p->e, p->lx.q, t->pos,
                    "too many terms: at most %d words, phrases and "
                    "field:value terms",
                    PS_QS_TERMS_MAX);
    ps_qs_kind k = t->kind == T_PHRASE   ? PS_QS_PHRASE
                   : t->kind == T_PREFIX ? PS_QS_PREFIX
                   : t->kind == T_RANGE  ? PS_QS_RANGE
                                         : PS_QS_WORD;
    int id = new_node(p, k, t->pos);
    if (id < 0)
        return -1;
    ps_qs_node *n = &p->qs->nodes[id];
    n->field = t->field;
    n->lo = t->lo;
    n->hi = t->kind == T_RANGE ? t->hi : t->lo;
    if (k != PS_QS_RANGE) {
        ps_qs *qs = p->qs;
        if (qs->used + t->len + 1 > sizeof qs->text)
            return fail(p->e, p->lx.q, t->pos, "the query is too long");
        memcpy(qs->text + qs->used, p->lx.q + t->start, t->len);
        qs->text[qs->used + t->len] = '\0';
        n->text = qs->text + qs->used;
        qs->used += t->len + 1;
    }
    return id;
}

static int parse_primary(parser *p, int depth)
{
    token *t;
    if (peek(&p->lx, &t) != 0)
        return -1;
    switch (t->kind) {
    case T_LP: {
        size_t at = t->pos;
        if (depth >= PS_QS_DEPTH_MAX)
            return fail(p->e, p->lx.q, at,
                        "parentheses nested too deep (at most %d levels)",
                        PS_QS_DEPTH_MAX);
        take(&p->lx);
        if (peek(&p->lx, &t) != 0)
            return -1;
        if (t->kind == T_RP)
            return fail(p->e, p->lx.q, at,
                        "empty parentheses: put the terms to group "
                        "between them");
        int id = parse_or(p, depth + 1);
        if (id < 0)
            return -1;
        if (peek(&p->lx, &t) != 0)
            return -1;
        if (t->kind != T_RP)
            return fail(p->e, p->lx.q, at,
                        "unbalanced parenthesis: this ( is never closed");
        take(&p->lx);
        return id;
    }
    case T_WORD:
    case T_PREFIX:
    case T_PHRASE:
    case T_RANGE: {
        int id = leaf(p, t);
        take(&p->lx);
        return id;
    }
    default: return fail(p->e, p->lx.q, t->pos, "expected a term here");
    }
}

/* Can t start a term? */
static int starts_term(const token *t)
{
    return t->kind == T_WORD || t->kind == T_PREFIX || t->kind == T_PHRASE ||
           t->kind == T_RANGE || t->kind == T_LP;
}

static int parse_unary(parser *p, int depth)
{
    token *t;
    if (peek(&p->lx, &t) != 0)
        return -1;
    if (t->kind == T_PLUS || t->kind == T_MINUS || t->kind == T_NOT) {
        tok_kind op = t->kind;
        size_t at = t->pos;
        take(&p->lx);
        if (peek(&p->lx, &t) != 0)
            return -1;
        if (!starts_term(t))
            return fail(p->e, p->lx.q, at,
                        "%s must be followed by the term it applies to",
                        kind_name(op));
        int id = parse_primary(p, depth);
        if (id < 0)
            return -1;
        p->qs->nodes[id].neg = op != T_PLUS;
        if (op != T_PLUS)
            p->qs->nodes[id].pos = at;
        return id;
    }
    return parse_primary(p, depth);
}

/* Append child to parent's children (last is the current last, or -1). */
static void append(ps_qs *qs, int parent, int *last, int child)
{
    if (*last < 0)
        qs->nodes[parent].first = child;
    else
        qs->nodes[*last].next = child;
    *last = child;
}

static int parse_and(parser *p, int depth)
{
    token *t;
    /* The AND node is made when a second term comes: one term is itself. */
    int id = -1, first = -1, last = -1, pos_count = 0, first_neg = -1;
    for (;;) {
        if (peek(&p->lx, &t) != 0)
            return -1;
        if (t->kind == T_END || t->kind == T_RP || t->kind == T_OR)
            break;
        if (t->kind == T_AND) {
            size_t and_at = t->pos;
            if (first < 0)
                return fail(p->e, p->lx.q, and_at,
                            "AND must come between two terms");
            take(&p->lx);
            if (peek(&p->lx, &t) != 0)
                return -1;
            if (!starts_term(t) && t->kind != T_PLUS && t->kind != T_MINUS &&
                t->kind != T_NOT)
                return fail(p->e, p->lx.q, and_at,
                            "AND must come between two terms");
        }
        int c = parse_unary(p, depth);
        if (c < 0)
            return -1;
        if (p->qs->nodes[c].neg) {
            if (first_neg < 0)
                first_neg = c;
        } else {
            pos_count++;
        }
        if (first < 0) {
            first = c;
            continue;
        }
        if (id < 0) {
            id = new_node(p, PS_QS_AND, p->qs->nodes[first].pos);
            if (id < 0)
                return -1;
            append(p->qs, id, &last, first);
        }
        append(p->qs, id, &last, c);
    }
    if (first < 0) {
        if (t->kind == T_OR)
            return fail(p->e, p->lx.q, t->pos,
                        "OR must come between two terms");
        if (t->kind == T_RP && depth == 0)
            return fail(p->e, p->lx.q, t->pos,
                        "unbalanced parenthesis: this ) closes nothing");
        return fail(p->e, p->lx.q, t->pos, "expected a term here");
    }
    if (!pos_count)
        return fail(p->e, p->lx.q, p->qs->nodes[first_neg].pos,
                    "this part only excludes (-word, NOT word): add a word "
                    "to find, as in crystal -protein");
    return id >= 0 ? id : first;
}

static int parse_or(parser *p, int depth)
{
    int first = parse_and(p, depth);
    if (first < 0)
        return -1;
    token *t;
    if (peek(&p->lx, &t) != 0)
        return -1;
    if (t->kind != T_OR)
        return first;
    int id = new_node(p, PS_QS_OR, p->qs->nodes[first].pos);
    if (id < 0)
        return -1;
    int last = -1;
    append(p->qs, id, &last, first);
    while (t->kind == T_OR) {
        size_t at = t->pos;
        take(&p->lx);
        if (peek(&p->lx, &t) != 0)
            return -1;
        if (!starts_term(t) && t->kind != T_PLUS && t->kind != T_MINUS &&
            t->kind != T_NOT)
            return fail(p->e, p->lx.q, at, "OR must come between two terms");
        int c = parse_and(p, depth);
        if (c < 0)
            return -1;
        append(p->qs, id, &last, c);
        if (peek(&p->lx, &t) != 0)
            return -1;
    }
    return id;
}

int ps_qs_parse(const char *q, ps_qs *out, ps_qs_error *e)
{
    memset(e, 0, sizeof *e);
    out->n = out->nterms = out->used = 0;
    out->root = -1;
    if (!q)
        q = "";
    size_t len = strlen(q);
    if (len > PS_QS_INPUT_MAX)
        return fail(e, q, PS_QS_INPUT_MAX,
                    "the query is %zu bytes long; at "
                    "most %d are accepted",
                    len, PS_QS_INPUT_MAX);
    parser p;
    memset(&p, 0, sizeof p);
    p.lx.q = q;
    p.lx.len = len;
    p.lx.e = e;
    p.qs = out;
    p.e = e;
    int root = parse_or(&p, 0);
    if (root < 0)
        return -1;
    token *t;
    if (peek(&p.lx, &t) != 0)
        return -1;
    if (t->kind == T_RP)
        return fail(e, q, t->pos,
                    "unbalanced parenthesis: this ) closes nothing");
    if (t->kind != T_END)
        return fail(e, q, t->pos, "expected a term here");
    out->root = root;
    return 0;
}

/* ---- describe ------------------------------------------------------------ */

typedef struct sbuf {
    char *s;
    size_t size, n;
} sbuf;

static void put(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(b->n < b->size ? b->s + b->n : NULL,
                      b->n < b->size ? b->size - b->n : 0, fmt, ap);
    va_end(ap);
    if (k > 0)
        b->n += (size_t)k;
}

static void describe(const ps_qs *qs, int id, sbuf *b)
{
    const ps_qs_node *n = &qs->nodes[id];
    if (n->neg)
        put(b, "-");
    if (n->field != PS_QS_ANY)
        put(b, "%s:", ps_qs_field_name(n->field));
    switch (n->kind) {
    case PS_QS_WORD:
        if (n->field == PS_QS_YEAR)
            put(b, "%lld", (long long)n->lo);
        else
            put(b, "%s", n->text);
        break;
    case PS_QS_PREFIX: put(b, "%s*", n->text); break;
    case PS_QS_PHRASE: put(b, "\"%s\"", n->text); break;
    case PS_QS_RANGE:
        put(b, "[");
        if (n->lo == INT64_MIN)
            put(b, "*");
        else
            put(b, "%lld", (long long)n->lo);
        put(b, " TO ");
        if (n->hi == INT64_MAX)
            put(b, "*");
        else
            put(b, "%lld", (long long)n->hi);
        put(b, "]");
        break;
    case PS_QS_AND:
    case PS_QS_OR:
        put(b, "(%s", n->kind == PS_QS_AND ? "AND" : "OR");
        for (int c = n->first; c >= 0; c = qs->nodes[c].next) {
            put(b, " ");
            describe(qs, c, b);
        }
        put(b, ")");
        break;
    }
}

size_t ps_qs_describe(const ps_qs *qs, char *out, size_t size)
{
    sbuf b = {out, size, 0};
    if (size)
        out[0] = '\0';
    if (qs->root >= 0)
        describe(qs, qs->root, &b);
    return b.n;
}
