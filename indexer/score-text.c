/*
 * score-text.c: the terms of relevance scoring, extracted from a query or
 * from an item's text exactly the way the PaNOSC search-scoring service
 * (PSS, app/ml/preprocessItemsText.py) does it, so that pansift's scores
 * are the service's: lower case; "\uNNNN" escapes with four decimal digits
 * removed; punctuation to spaces; NLTK's English stop words removed;
 * apostrophes removed; numbers to English words (num2words); stop words
 * removed again; Porter stemming (NLTK's variant, porter.c); punctuation
 * removed again; terms of one letter dropped.
 *
 * An item's text is what PSS computes it from: json.dumps() of the item's
 * fields, so non-ASCII letters reach the pipeline as "\u00e9"-style
 * escapes and control characters as "\n", "\t", ... exactly as Python's
 * json module (ensure_ascii) writes them, and numbers as Python's repr
 * writes them. A query is taken as it is (Unicode, lower-cased with
 * Xapian's Unicode tables).
 *
 * What it is not: the full-text index's tokenizer (that is Xapian's
 * TermGenerator, index-schema.c), nor the scoring itself (xapian-shim.cc).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "score-private.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- stop words ----------------------------------------------------------
 * NLTK's English stop word list as NLTK 3.7 (PSS's version) ships it: 179
 * words, here in byte order for binary search. */
static const char *const stopwords[] = {
    "a",        "about",      "above",   "after",    "again",     "against",
    "ain",      "all",        "am",      "an",       "and",       "any",
    "are",      "aren",       "aren't",  "as",       "at",        "be",
    "because",  "been",       "before",  "being",    "below",     "between",
    "both",     "but",        "by",      "can",      "couldn",    "couldn't",
    "d",        "did",        "didn",    "didn't",   "do",        "does",
    "doesn",    "doesn't",    "doing",   "don",      "don't",     "down",
    "during",   "each",       "few",     "for",      "from",      "further",
    "had",      "hadn",       "hadn't",  "has",      "hasn",      "hasn't",
    "have",     "haven",      "haven't", "having",   "he",        "her",
    "here",     "hers",       "herself", "him",      "himself",   "his",
    "how",      "i",          "if",      "in",       "into",      "is",
    "isn",      "isn't",      "it",      "it's",     "its",       "itself",
    "just",     "ll",         "m",       "ma",       "me",        "mightn",
    "mightn't", "more",       "most",    "mustn",    "mustn't",   "my",
    "myself",   "needn",      "needn't", "no",       "nor",       "not",
    "now",      "o",          "of",      "off",      "on",        "once",
    "only",     "or",         "other",   "our",      "ours",      "ourselves",
    "out",      "over",       "own",     "re",       "s",         "same",
    "shan",     "shan't",     "she",     "she's",    "should",    "should've",
    "shouldn",  "shouldn't",  "so",      "some",     "such",      "t",
    "than",     "that",       "that'll", "the",      "their",     "theirs",
    "them",     "themselves", "then",    "there",    "these",     "they",
    "this",     "those",      "through", "to",       "too",       "under",
    "until",    "up",         "ve",      "very",     "was",       "wasn",
    "wasn't",   "we",         "were",    "weren",    "weren't",   "what",
    "when",     "where",      "which",   "while",    "who",       "whom",
    "why",      "will",       "with",    "won",      "won't",     "wouldn",
    "wouldn't", "y",          "you",     "you'd",    "you'll",    "you're",
    "you've",   "your",       "yours",   "yourself", "yourselves"};

#define NSTOP (sizeof stopwords / sizeof stopwords[0])

size_t psi_stopword_count(void) { return NSTOP; }

int psi_stopword(const char *word, size_t len)
{
    if (len == 0 || len > 10)
        return 0;
    size_t lo = 0, hi = NSTOP;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const char *s = stopwords[mid];
        size_t sl = strlen(s);
        int c = memcmp(word, s, len < sl ? len : sl);
        if (c == 0)
            c = len < sl ? -1 : len > sl;
        if (c == 0)
            return 1;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return 0;
}

/* ---- numbers in words ----------------------------------------------------
 * num2words (0.5.10, English) builds the words of n from its largest
 * "card" c <= n (the powers of 1000, then 100, 90, 80, ..., 20, 19, ...,
 * 0): words(n / c) " " card(c), then ", " words(n % c) if the rest is 100
 * or more, " and " words(n % c) if it is less; below 100, "twenty-three".
 * Since the cards above 1000 are powers of 1000, that is group by group. */

static const char *const low_words[] = {
    "zero",    "one",     "two",       "three",    "four",
    "five",    "six",     "seven",     "eight",    "nine",
    "ten",     "eleven",  "twelve",    "thirteen", "fourteen",
    "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"};
static const char *const tens_words[] = {"",       "",      "twenty", "thirty",
                                         "forty",  "fifty", "sixty",  "seventy",
                                         "eighty", "ninety"};

/* num2words' names of 1000^k, k >= 2: "m", "b", "tr", ... for k = 2..10,
 * then unit + ten for k = 11..100 ("dec", "undec", "duodec", ...,
 * "novemnonagint"), then "cent" for k = 101; each + "illion". */
static void scale_word(int k, char *out, size_t size)
{
    static const char *const lows[] = {"m",    "b",    "tr",  "quadr", "quint",
                                       "sext", "sept", "oct", "non"};
    static const char *const units[] = {"",         "un",   "duo", "tre",
                                        "quattuor", "quin", "sex", "sept",
                                        "octo",     "novem"};
    static const char *const tens[] = {"dec",        "vigint",      "trigint",
                                       "quadragint", "quinquagint", "sexagint",
                                       "septuagint", "octogint",    "nonagint"};
    if (k == 1)
        snprintf(out, size, "thousand");
    else if (k <= 10)
        snprintf(out, size, "%sillion", lows[k - 2]);
    else if (k <= 100)
        snprintf(out, size, "%s%sillion", units[(k - 11) % 10],
                 tens[(k - 11) / 10]);
    else
        snprintf(out, size, "centillion");
}

static ps_status put(ps_buf *b, const char *s) { return ps_buf_puts(b, s); }

/* Words of 1..99. */
static ps_status words_below_100(ps_buf *b, int n)
{
    if (n < 20)
        return put(b, low_words[n]);
    ps_status rc = put(b, tens_words[n / 10]);
    if (rc == PS_OK && n % 10) {
        rc = put(b, "-");
        if (rc == PS_OK)
            rc = put(b, low_words[n % 10]);
    }
    return rc;
}

/* Words of 1..999. */
static ps_status words_below_1000(ps_buf *b, int n)
{
    ps_status rc = PS_OK;
    if (n >= 100) {
        rc = put(b, low_words[n / 100]);
        if (rc == PS_OK)
            rc = put(b, " hundred");
        if (rc == PS_OK && n % 100)
            rc = put(b, " and ");
    }
    if (rc == PS_OK && n % 100)
        rc = words_below_100(b, n % 100);
    return rc;
}

/* Words of the number whose groups of three digits are g[0..top] (g[0] the
 * lowest), not all zero. */
static ps_status group_words(ps_buf *b, const int *g, int top)
{
    while (top > 0 && g[top] == 0)
        top--;
    if (top == 0)
        return words_below_1000(b, g[0]);
    ps_status rc = words_below_1000(b, g[top]);
    char scale[32];
    scale_word(top, scale, sizeof scale);
    if (rc == PS_OK)
        rc = put(b, " ");
    if (rc == PS_OK)
        rc = put(b, scale);
    int rest_top = top - 1;
    while (rest_top > 0 && g[rest_top] == 0)
        rest_top--;
    if (rc != PS_OK || (rest_top == 0 && g[0] == 0))
        return rc;
    /* The rest: " and " below 100, ", " from 100 on. */
    rc = put(b, rest_top == 0 && g[0] < 100 ? " and " : ", ");
    return rc == PS_OK ? group_words(b, g, rest_top) : rc;
}

char *psi_num2words(const char *digits, size_t len)
{
    while (len > 1 && digits[0] == '0') {
        digits++;
        len--;
    }
    if (len == 0 || len > 306)
        return NULL;
    int g[102] = {0};
    int ng = (int)((len + 2) / 3);
    for (int k = 0; k < ng; k++) {
        /* Group k covers digits [len - 3k - 3, len - 3k). */
        size_t end = len - 3 * (size_t)k;
        size_t start = end >= 3 ? end - 3 : 0;
        int v = 0;
        for (size_t i = start; i < end; i++)
            v = v * 10 + (digits[i] - '0');
        g[k] = v;
    }
    ps_buf b;
    ps_buf_init(&b, 64 * 1024);
    int zero = 1;
    for (int k = 0; k < ng; k++)
        zero &= g[k] == 0;
    ps_status rc = zero ? put(&b, "zero") : group_words(&b, g, ng - 1);
    if (rc != PS_OK) {
        ps_buf_free(&b);
        return NULL;
    }
    return ps_buf_detach(&b);
}

/* ---- Python's formatting -------------------------------------------------
 */

/* repr() of a finite double: the shortest digits that read back as v,
 * fixed notation for exponents -4..15 (with ".0" when integral),
 * scientific otherwise ("1e+16", "1.5e-05"). */
static void py_float_repr(double v, char *out, size_t size)
{
    char sci[40];
    int prec = 0;
    for (prec = 0; prec < 17; prec++) {
        snprintf(sci, sizeof sci, "%.*e", prec, v);
        if (strtod(sci, NULL) == v)
            break;
    }
    /* sci: [-]d[.ddd]e[+-]XX */
    const char *p = sci;
    int neg = *p == '-';
    if (neg)
        p++;
    char dig[24];
    size_t nd = 0;
    for (; *p && *p != 'e'; p++)
        if (*p != '.' && nd < sizeof dig - 1)
            dig[nd++] = *p;
    dig[nd] = '\0';
    int exp = (int)strtol(*p == 'e' ? p + 1 : "0", NULL, 10);
    while (nd > 1 && dig[nd - 1] == '0')
        dig[--nd] = '\0';
    size_t o = 0;
#define OUT(c)                                                                 \
    do {                                                                       \
        if (o + 1 < size)                                                      \
            out[o++] = (c);                                                    \
    } while (0)
    if (neg)
        OUT('-');
    if (exp < -4 || exp >= 16) {
        OUT(dig[0]);
        if (nd > 1) {
            OUT('.');
            for (size_t i = 1; i < nd; i++)
                OUT(dig[i]);
        }
        char e[16];
        snprintf(e, sizeof e, "e%c%02d", exp < 0 ? '-' : '+', abs(exp));
        for (size_t i = 0; e[i]; i++)
            OUT(e[i]);
    } else if (exp < 0) {
        OUT('0');
        OUT('.');
        for (int i = 0; i < -exp - 1; i++)
            OUT('0');
        for (size_t i = 0; i < nd; i++)
            OUT(dig[i]);
    } else {
        for (int i = 0; i <= exp; i++)
            OUT((size_t)i < nd ? dig[i] : '0');
        OUT('.');
        if ((size_t)exp + 1 < nd)
            for (size_t i = (size_t)exp + 1; i < nd; i++)
                OUT(dig[i]);
        else
            OUT('0');
    }
#undef OUT
    out[o] = '\0';
}

/* json.dumps(s) with ensure_ascii, without the quotes: \" \\ \b \f \n \r \t,
 * other characters outside ' '..'~' as \uxxxx (surrogate pairs above
 * U+FFFF). out must hold 6 * len + 1 bytes. */
static size_t py_json_escape(const char *s, size_t len, char *out)
{
    uint32_t stackbuf[256];
    uint32_t *cp = len <= 256 ? stackbuf : ps_malloc(len * sizeof *cp);
    if (!cp)
        return (size_t)-1;
    size_t n = psi_utf8_decode(s, len, cp);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = cp[i];
        const char *esc = c == '"'    ? "\\\""
                          : c == '\\' ? "\\\\"
                          : c == '\b' ? "\\b"
                          : c == '\f' ? "\\f"
                          : c == '\n' ? "\\n"
                          : c == '\r' ? "\\r"
                          : c == '\t' ? "\\t"
                                      : NULL;
        if (esc) {
            size_t k = strlen(esc);
            memcpy(out + o, esc, k);
            o += k;
        } else if (c >= 0x20 && c <= 0x7e) {
            out[o++] = (char)c;
        } else {
            /* A byte that is not UTF-8 is read as Latin-1 (it cannot come
             * from jansson, which checks UTF-8). */
            if (c >= PSI_RAW_BYTE)
                c -= PSI_RAW_BYTE;
            if (c > 0xffff) {
                uint32_t v = c - 0x10000;
                snprintf(out + o, 13, "\\u%04x\\u%04x", 0xd800 + (v >> 10),
                         0xdc00 + (v & 0x3ff));
                o += 12;
            } else {
                snprintf(out + o, 7, "\\u%04x", c);
                o += 6;
            }
        }
    }
    out[o] = '\0';
    if (cp != stackbuf)
        ps_free(cp);
    return o;
}

/* ---- the pipeline -------------------------------------------------------- */

static int punct(unsigned char c)
{
    return c != '\0' &&
           (c == '\n' || strchr("!\"#$%&()*+-,./:;<=>?@[\\]^_`{|}~", c));
}

/* Replace punctuation in s[0..len) by spaces: the ASCII set and U+2013. */
static void blank_punct(char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (punct(c))
            s[i] = ' ';
        else if (c == 0xe2 && i + 2 < len && (unsigned char)s[i + 1] == 0x80 &&
                 (unsigned char)s[i + 2] == 0x93)
            memset(s + i, ' ', 3);
    }
}

/* Number of code points of s[0..len). */
static size_t cp_len(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xc0) != 0x80;
    return n;
}

static ps_status push_term(ps_score_terms *t, const char *s, size_t len)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        char **v = ps_realloc(t->v, cap * sizeof *v);
        if (!v)
            return PS_ERR_NOMEM;
        t->v = v;
        t->cap = cap;
    }
    char *c = ps_strndup(s, len);
    if (!c)
        return PS_ERR_NOMEM;
    t->v[t->n++] = c;
    return PS_OK;
}

/* Stem one word, then drop punctuation and pieces of one letter. */
static ps_status stem_word(ps_score_terms *out, const char *w, size_t len)
{
    char small[128];
    char *word = len < sizeof small ? small : ps_malloc(len + 1);
    if (!word)
        return PS_ERR_NOMEM;
    memcpy(word, w, len);
    word[len] = '\0';
    char *stem = psi_porter_stem_utf8(word);
    if (word != small)
        ps_free(word);
    if (!stem)
        return PS_ERR_NOMEM;
    size_t sl = strlen(stem);
    blank_punct(stem, sl);
    ps_status rc = PS_OK;
    for (size_t i = 0; i < sl && rc == PS_OK;) {
        while (i < sl && stem[i] == ' ')
            i++;
        size_t j = i;
        while (j < sl && stem[j] != ' ')
            j++;
        if (j > i && cp_len(stem + i, j - i) > 1)
            rc = push_term(out, stem + i, j - i);
        i = j;
    }
    ps_free(stem);
    return rc;
}

/* Python's str.strip() of the white space a token can still hold. */
static void strip_space(const char **s, size_t *len)
{
    static const char ws[] = "\t\v\f\r\x1c\x1d\x1e\x1f";
    while (*len && memchr(ws, (*s)[0], sizeof ws - 1)) {
        (*s)++;
        (*len)--;
    }
    while (*len && memchr(ws, (*s)[*len - 1], sizeof ws - 1))
        (*len)--;
}

static int all_digits(const char *s, size_t len)
{
    if (!len)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* The words of a token that Python's int() or float() reads as a whole
 * number (num2words spells integral floats like integers), or NULL (keep
 * the token). *rc is PS_ERR_NOMEM when out of memory. */
static char *number_words(const char *tok, size_t len, ps_status *rc)
{
    *rc = PS_OK;
    strip_space(&tok, &len);
    if (all_digits(tok, len)) {
        char *w = psi_num2words(tok, len);
        size_t sig = len;
        for (size_t i = 0; i + 1 < len && tok[i] == '0'; i++)
            sig--;
        if (!w && sig <= 306)
            *rc = PS_ERR_NOMEM;
        return w;
    }
    /* "<digits>e<digits>": float() reads it; num2words(100000.0) spells
     * it as the integer. (Signs and points are punctuation, gone by now;
     * "inf" and "nan" make num2words fail, so they stay as they are.) */
    const char *e = memchr(tok, 'e', len);
    if (!e || !all_digits(tok, (size_t)(e - tok)) ||
        !all_digits(e + 1, len - (size_t)(e - tok) - 1) || len > 400)
        return NULL;
    char buf[402];
    memcpy(buf, tok, len);
    buf[len] = '\0';
    double v = strtod(buf, NULL);
    if (!isfinite(v) || v >= 1e306)
        return NULL;
    char digits[320];
    int n = snprintf(digits, sizeof digits, "%.0f", v);
    if (n <= 0 || (size_t)n >= sizeof digits)
        return NULL;
    char *w = psi_num2words(digits, (size_t)n);
    if (!w)
        *rc = PS_ERR_NOMEM;
    return w;
}

/* Second half of the pipeline for one token: numbers to words, stop words
 * again, stemming. */
static ps_status token_terms(ps_score_terms *out, const char *tok, size_t len)
{
    ps_status rc;
    char *words = number_words(tok, len, &rc);
    if (rc != PS_OK)
        return rc;
    if (!words) {
        if (psi_stopword(tok, len))
            return PS_OK;
        return stem_word(out, tok, len);
    }
    size_t wl = strlen(words);
    for (size_t i = 0; i < wl && rc == PS_OK;) {
        size_t j = i;
        while (j < wl && words[j] != ' ')
            j++;
        if (j > i && !psi_stopword(words + i, j - i))
            rc = stem_word(out, words + i, j - i);
        i = j + 1;
    }
    ps_free(words);
    return rc;
}

/* The pipeline on s[0..len) (already lower case), which it may modify. */
static ps_status pipeline(ps_score_terms *out, char *s, size_t len)
{
    /* "\u" and four decimal digits: removeUnicode. */
    for (size_t i = 0; i + 6 <= len;) {
        if (s[i] == '\\' && s[i + 1] == 'u' && all_digits(s + i + 2, 4)) {
            memset(s + i, ' ', 6);
            i += 6;
        } else {
            i++;
        }
    }
    blank_punct(s, len);
    ps_status rc = PS_OK;
    for (size_t i = 0; i < len && rc == PS_OK;) {
        while (i < len && s[i] == ' ')
            i++;
        size_t j = i;
        while (j < len && s[j] != ' ')
            j++;
        size_t tl = j - i;
        char *tok = s + i;
        i = j;
        if (tl == 0 || psi_stopword(tok, tl))
            continue;
        /* Apostrophes go after the first stop word pass ("don't" is a stop
         * word, "dont" is not). */
        size_t k = 0;
        for (size_t m = 0; m < tl; m++)
            if (tok[m] != '\'')
                tok[k++] = tok[m];
        if (k)
            rc = token_terms(out, tok, k);
    }
    return rc;
}

void ps_score_terms_free(ps_score_terms *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        ps_free(t->v[i]);
    ps_free(t->v);
    t->v = NULL;
    t->n = t->cap = 0;
}

static ps_status fail(ps_score_terms *out, ps_status rc, ps_err *err)
{
    ps_score_terms_free(out);
    return ps_err_set(err, rc, "out of memory");
}

ps_status ps_score_query_terms(ps_score_terms *out, const char *query,
                               ps_err *err)
{
    memset(out, 0, sizeof *out);
    if (!query)
        return ps_err_set(err, PS_ERR_INVALID, "no query text");
    size_t len = strlen(query);
    /* Lower case, code point by code point (at most 4 bytes each). */
    uint32_t *cp = ps_malloc((len + 1) * sizeof *cp);
    char *s = ps_malloc(4 * len + 1);
    if (!cp || !s) {
        ps_free(cp);
        ps_free(s);
        return fail(out, PS_ERR_NOMEM, err);
    }
    size_t n = psi_utf8_decode(query, len, cp);
    for (size_t i = 0; i < n; i++)
        if (cp[i] < PSI_RAW_BYTE)
            cp[i] = ps_xunicode_lower(cp[i]);
    size_t sl = psi_utf8_encode(cp, n, s);
    ps_free(cp);
    ps_status rc = pipeline(out, s, sl);
    ps_free(s);
    return rc == PS_OK ? PS_OK : fail(out, rc, err);
}

/* One JSON value as json.dumps writes it, through the pipeline. */
static ps_status item_value(ps_score_terms *out, const json_t *v, int depth)
{
    char num[64];
    const char *text = NULL;
    size_t len = 0;
    if (depth > 32)
        return PS_OK;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *x;
        ps_status rc = PS_OK;
        json_object_foreach ((json_t *)v, key, x) {
            json_t *k = json_string(key);
            rc = k ? item_value(out, k, depth + 1) : PS_ERR_NOMEM;
            json_decref(k);
            if (rc == PS_OK)
                rc = item_value(out, x, depth + 1);
            if (rc != PS_OK)
                break;
        }
        return rc;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *x;
        json_array_foreach (v, i, x) {
            ps_status rc = item_value(out, x, depth + 1);
            if (rc != PS_OK)
                return rc;
        }
        return PS_OK;
    }
    case JSON_STRING: {
        const char *s = json_string_value(v);
        size_t sl = json_string_length(v);
        char *esc = ps_malloc(6 * sl + 1);
        if (!esc)
            return PS_ERR_NOMEM;
        size_t el = py_json_escape(s, sl, esc);
        ps_status rc = PS_ERR_NOMEM;
        if (el != (size_t)-1) {
            ps_str_lower(esc, el);
            rc = pipeline(out, esc, el);
        }
        ps_free(esc);
        return rc;
    }
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        text = num;
        break;
    case JSON_REAL:
        py_float_repr(json_real_value(v), num, sizeof num);
        text = num;
        break;
    case JSON_TRUE: text = "true"; break;
    case JSON_FALSE: text = "false"; break;
    case JSON_NULL: text = "null"; break;
    }
    if (!text)
        return PS_OK;
    len = strlen(text);
    char buf[64];
    memcpy(buf, text, len + 1);
    return pipeline(out, buf, len);
}

ps_status ps_score_item_terms(ps_score_terms *out, const json_t *fields,
                              ps_err *err)
{
    memset(out, 0, sizeof *out);
    if (!fields)
        return PS_OK;
    ps_status rc = item_value(out, fields, 0);
    return rc == PS_OK ? PS_OK : fail(out, rc, err);
}
