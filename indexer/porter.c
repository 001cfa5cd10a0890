/*
 * porter.c: the Porter stemmer as the PaNOSC search-scoring service uses it,
 * that is NLTK's PorterStemmer in its default mode (NLTK_EXTENSIONS). It is
 * written here from the published algorithm (Porter 1980) and NLTK's list
 * of departures from it, rather than taken from Xapian, whose "porter"
 * stemmer is Martin Porter's frozen version: the two differ on words such
 * as "dying", "dies", "enjoy", "fully", "geology", "innings". Scoring terms
 * must be the service's terms, so the variant matters.
 *
 * The stemmer works on Unicode code points, as Python does: a letter that
 * is not a, e, i, o, u (or y after a vowel) counts as a consonant, whatever
 * script it is in, and word lengths are counted in code points. It is not
 * used for the full-text index (Xapian's own English stemmer does that).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "score-private.h"

#include <string.h>

/* ---- letters -------------------------------------------------------------
 */

static int vowel_letter(uint32_t c)
{
    return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
}

/* Is w[i] a consonant? A y is a consonant at the start of a word and after
 * a vowel, a vowel after a consonant; one pass from the start (a run of y
 * alternates). */
static int cons_at(const uint32_t *w, size_t i)
{
    int prev = 0;
    for (size_t k = 0; k <= i; k++) {
        uint32_t c = w[k];
        prev = vowel_letter(c) ? 0 : c != 'y' ? 1 : k == 0 ? 1 : !prev;
    }
    return prev;
}

/* The measure m of w[0..n): the number of vowel-consonant pairs in its
 * consonant/vowel pattern [C](VC){m}[V]. */
static size_t measure(const uint32_t *w, size_t n)
{
    size_t m = 0;
    int prev = 0;
    for (size_t k = 0; k < n; k++) {
        uint32_t c = w[k];
        int cur = vowel_letter(c) ? 0 : c != 'y' ? 1 : k == 0 ? 1 : !prev;
        if (k > 0 && !prev && cur)
            m++;
        prev = cur;
    }
    return m;
}

static int has_vowel(const uint32_t *w, size_t n)
{
    int prev = 0;
    for (size_t k = 0; k < n; k++) {
        uint32_t c = w[k];
        prev = vowel_letter(c) ? 0 : c != 'y' ? 1 : k == 0 ? 1 : !prev;
        if (!prev)
            return 1;
    }
    return 0;
}

/* *d: ends with a double consonant. */
static int ends_double(const uint32_t *w, size_t n)
{
    return n >= 2 && w[n - 1] == w[n - 2] && cons_at(w, n - 1);
}

/* *o: ends consonant-vowel-consonant, the last not w, x or y; NLTK also
 * counts a two-letter vowel-consonant word. */
static int ends_cvc(const uint32_t *w, size_t n)
{
    if (n >= 3)
        return cons_at(w, n - 3) && !cons_at(w, n - 2) && cons_at(w, n - 1) &&
               w[n - 1] != 'w' && w[n - 1] != 'x' && w[n - 1] != 'y';
    return n == 2 && !cons_at(w, 0) && cons_at(w, 1);
}

static int ends_with(const uint32_t *w, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    if (k > n)
        return 0;
    for (size_t i = 0; i < k; i++)
        if (w[n - k + i] != (unsigned char)suffix[i])
            return 0;
    return 1;
}

/* Replace the last cut code points of w[0..*n) by the ASCII text rep. */
static void replace_tail(uint32_t *w, size_t *n, size_t cut, const char *rep)
{
    size_t at = *n - cut;
    for (size_t i = 0; rep[i]; i++)
        w[at + i] = (unsigned char)rep[i];
    *n = at + strlen(rep);
}

/* ---- rules -----------------------------------------------------------------
 * A rule replaces a suffix when a condition on what precedes it holds. In
 * a list of rules only the first whose suffix matches is considered: if its
 * condition fails, the word stays as it is (the later rules are not
 * tried). */
typedef enum {
    C_NONE,    /* always */
    C_M0,      /* m(stem) > 0 */
    C_M1,      /* m(stem) > 1 */
    C_M1_ST,   /* m(stem) > 1 and the stem ends in s or t (-ion) */
    C_E_CVC,   /* m(stem) == 1 and *o (restore an e) */
    C_NOT_LSZ, /* *d rule: the doubled letter is not l, s or z */
    C_LOGI,    /* m(word minus "ogi") > 0 */
    C_LL       /* m(word minus its last letter) > 1 */
} cond;

typedef struct rule {
    const char *suffix; /* "*d" for a double consonant */
    const char *rep;    /* "*" for the doubled letter (once) */
    cond c;
} rule;

static int holds(cond c, const uint32_t *w, size_t n, size_t stem)
{
    switch (c) {
    case C_NONE: return 1;
    case C_M0: return measure(w, stem) > 0;
    case C_M1: return measure(w, stem) > 1;
    case C_M1_ST:
        return measure(w, stem) > 1 && stem > 0 &&
               (w[stem - 1] == 's' || w[stem - 1] == 't');
    case C_E_CVC: return measure(w, stem) == 1 && ends_cvc(w, stem);
    case C_NOT_LSZ:
        return w[n - 1] != 'l' && w[n - 1] != 's' && w[n - 1] != 'z';
    case C_LOGI: return measure(w, n - 3) > 0;
    case C_LL: return measure(w, n - 1) > 1;
    }
    return 0;
}

static void apply_rules(uint32_t *w, size_t *n, const rule *rules, size_t nr)
{
    for (size_t i = 0; i < nr; i++) {
        const rule *r = &rules[i];
        if (strcmp(r->suffix, "*d") == 0) {
            if (!ends_double(w, *n))
                continue;
            if (holds(r->c, w, *n, *n - 2))
                (*n)--; /* the stem plus the letter once */
            return;
        }
        if (!ends_with(w, *n, r->suffix))
            continue;
        size_t cut = strlen(r->suffix);
        if (holds(r->c, w, *n, *n - cut))
            replace_tail(w, n, cut, r->rep);
        return;
    }
}

#define NRULES(a) (sizeof(a) / sizeof((a)[0]))

static void step1a(uint32_t *w, size_t *n)
{
    /* NLTK: "dies" -> "die", but "flies" -> "fli". */
    if (*n == 4 && ends_with(w, *n, "ies")) {
        replace_tail(w, n, 3, "ie");
        return;
    }
    static const rule r[] = {{"sses", "ss", C_NONE},
                             {"ies", "i", C_NONE},
                             {"ss", "ss", C_NONE},
                             {"s", "", C_NONE}};
    apply_rules(w, n, r, NRULES(r));
}

static void step1b(uint32_t *w, size_t *n)
{
    /* NLTK: "died" -> "die", "spied" -> "spi". */
    if (ends_with(w, *n, "ied")) {
        replace_tail(w, n, 3, *n == 4 ? "ie" : "i");
        return;
    }
    if (ends_with(w, *n, "eed")) {
        if (measure(w, *n - 3) > 0)
            (*n)--;
        return;
    }
    size_t cut = 0;
    if (ends_with(w, *n, "ed") && has_vowel(w, *n - 2))
        cut = 2;
    else if (ends_with(w, *n, "ing") && has_vowel(w, *n - 3))
        cut = 3;
    if (!cut)
        return;
    *n -= cut;
    static const rule r[] = {{"at", "ate", C_NONE},
                             {"bl", "ble", C_NONE},
                             {"iz", "ize", C_NONE},
                             {"*d", "*", C_NOT_LSZ},
                             {"", "e", C_E_CVC}};
    apply_rules(w, n, r, NRULES(r));
}

static void step1c(uint32_t *w, size_t *n)
{
    /* NLTK: y -> i only after a consonant that is not the whole stem. */
    if (*n >= 1 && w[*n - 1] == 'y' && *n - 1 > 1 && cons_at(w, *n - 2))
        w[*n - 1] = 'i';
}

static void step2(uint32_t *w, size_t *n)
{
    /* NLTK applies -alli -> -al first and runs step 2 again on the
     * result. */
    if (ends_with(w, *n, "alli") && measure(w, *n - 4) > 0) {
        replace_tail(w, n, 4, "al");
        step2(w, n);
        return;
    }
    static const rule r[] = {{"ational", "ate", C_M0}, {"tional", "tion", C_M0},
                             {"enci", "ence", C_M0},   {"anci", "ance", C_M0},
                             {"izer", "ize", C_M0},    {"bli", "ble", C_M0},
                             {"alli", "al", C_M0},     {"entli", "ent", C_M0},
                             {"eli", "e", C_M0},       {"ousli", "ous", C_M0},
                             {"ization", "ize", C_M0}, {"ation", "ate", C_M0},
                             {"ator", "ate", C_M0},    {"alism", "al", C_M0},
                             {"iveness", "ive", C_M0}, {"fulness", "ful", C_M0},
                             {"ousness", "ous", C_M0}, {"aliti", "al", C_M0},
                             {"iviti", "ive", C_M0},   {"biliti", "ble", C_M0},
                             {"fulli", "ful", C_M0},   {"logi", "log", C_LOGI}};
    apply_rules(w, n, r, NRULES(r));
}

static void step3(uint32_t *w, size_t *n)
{
    static const rule r[] = {{"icate", "ic", C_M0}, {"ative", "", C_M0},
                             {"alize", "al", C_M0}, {"iciti", "ic", C_M0},
                             {"ical", "ic", C_M0},  {"ful", "", C_M0},
                             {"ness", "", C_M0}};
    apply_rules(w, n, r, NRULES(r));
}

static void step4(uint32_t *w, size_t *n)
{
    static const rule r[] = {
        {"al", "", C_M1},   {"ance", "", C_M1}, {"ence", "", C_M1},
        {"er", "", C_M1},   {"ic", "", C_M1},   {"able", "", C_M1},
        {"ible", "", C_M1}, {"ant", "", C_M1},  {"ement", "", C_M1},
        {"ment", "", C_M1}, {"ent", "", C_M1},  {"ion", "", C_M1_ST},
        {"ou", "", C_M1},   {"ism", "", C_M1},  {"ate", "", C_M1},
        {"iti", "", C_M1},  {"ous", "", C_M1},  {"ive", "", C_M1},
        {"ize", "", C_M1}};
    apply_rules(w, n, r, NRULES(r));
}

static void step5(uint32_t *w, size_t *n)
{
    /* 5a: both conditions are tried (unlike a rule list). */
    if (ends_with(w, *n, "e")) {
        size_t m = measure(w, *n - 1);
        if (m > 1 || (m == 1 && !ends_cvc(w, *n - 1)))
            (*n)--;
    }
    static const rule r[] = {{"ll", "l", C_LL}};
    apply_rules(w, n, r, NRULES(r));
}

/* NLTK's irregular forms: word -> stem, bypassing the algorithm. */
static const char *const irregular[][2] = {
    {"sky", "sky"},        {"skies", "sky"},        {"dying", "die"},
    {"lying", "lie"},      {"tying", "tie"},        {"news", "news"},
    {"innings", "inning"}, {"inning", "inning"},    {"outings", "outing"},
    {"outing", "outing"},  {"cannings", "canning"}, {"canning", "canning"},
    {"howe", "howe"},      {"proceed", "proceed"},  {"exceed", "exceed"},
    {"succeed", "succeed"}};

size_t psi_porter_stem(const uint32_t *w, size_t n, uint32_t *out)
{
    for (size_t i = 0; i < sizeof irregular / sizeof irregular[0]; i++) {
        const char *word = irregular[i][0];
        if (strlen(word) == n && ends_with(w, n, word)) {
            const char *stem = irregular[i][1];
            size_t k = strlen(stem);
            for (size_t j = 0; j < k; j++)
                out[j] = (unsigned char)stem[j];
            return k;
        }
    }
    if (n)
        memcpy(out, w, n * sizeof *w);
    if (n <= 2)
        return n;
    size_t len = n;
    step1a(out, &len);
    step1b(out, &len);
    step1c(out, &len);
    step2(out, &len);
    step3(out, &len);
    step4(out, &len);
    step5(out, &len);
    return len;
}

/* ---- UTF-8 -------------------------------------------------------------- */

size_t psi_utf8_decode(const char *s, size_t len, uint32_t *out)
{
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *end = p + len;
    size_t n = 0;
    while (p < end) {
        uint32_t c = *p;
        size_t k = c < 0x80           ? 1
                   : (c >> 5) == 0x6  ? 2
                   : (c >> 4) == 0xe  ? 3
                   : (c >> 3) == 0x1e ? 4
                                      : 0;
        int ok = k > 0 && k <= (size_t)(end - p);
        for (size_t i = 1; ok && i < k; i++)
            ok = (p[i] & 0xc0) == 0x80;
        if (!ok) {
            out[n++] = PSI_RAW_BYTE + *p++;
            continue;
        }
        if (k > 1) {
            c &= 0xffu >> (k + 1);
            for (size_t i = 1; i < k; i++)
                c = (c << 6) | (p[i] & 0x3f);
        }
        out[n++] = c;
        p += k;
    }
    return n;
}

size_t psi_utf8_encode(const uint32_t *w, size_t n, char *out)
{
    unsigned char *o = (unsigned char *)out;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = w[i];
        if (c >= PSI_RAW_BYTE) {
            *o++ = (unsigned char)(c - PSI_RAW_BYTE);
        } else if (c < 0x80) {
            *o++ = (unsigned char)c;
        } else if (c < 0x800) {
            *o++ = (unsigned char)(0xc0 | (c >> 6));
            *o++ = (unsigned char)(0x80 | (c & 0x3f));
        } else if (c < 0x10000) {
            *o++ = (unsigned char)(0xe0 | (c >> 12));
            *o++ = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
            *o++ = (unsigned char)(0x80 | (c & 0x3f));
        } else {
            *o++ = (unsigned char)(0xf0 | (c >> 18));
            *o++ = (unsigned char)(0x80 | ((c >> 12) & 0x3f));
            *o++ = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
            *o++ = (unsigned char)(0x80 | (c & 0x3f));
        }
    }
    *o = '\0';
    return (size_t)((char *)o - out);
}

char *psi_porter_stem_utf8(const char *word)
{
    size_t bytes = strlen(word);
    uint32_t stackbuf[2 * 64];
    uint32_t *w = stackbuf;
    /* A word has at most as many code points as bytes. */
    if (bytes + 1 > 64) {
        w = ps_malloc(2 * (bytes + 1) * sizeof *w);
        if (!w)
            return NULL;
    }
    uint32_t *stem = w + bytes + 1;
    size_t n = psi_utf8_decode(word, bytes, w);
    size_t k = psi_porter_stem(w, n, stem);
    /* The stem never grows, and raw bytes encode to one byte each. */
    char *out = ps_malloc(4 * k + 1);
    if (out)
        psi_utf8_encode(stem, k, out);
    if (w != stackbuf)
        ps_free(w);
    return out;
}
