/*
 * pdf-extract.c: publication PDFs into structured fields with poppler-glib.
 * Each page's text comes with a rectangle per character and font runs (name
 * and size); we cut it into lines that know their font size, boldness and
 * position, and the heuristics work on those lines: the title is the run of
 * largest-type lines on page 1 (running headers and arXiv stamps aside),
 * the authors are the lines between title and affiliations/abstract with
 * superscript markers turned into separators, sections (abstract,
 * acknowledgements, funding, references) run from their heading to the next
 * heading, and DOIs are found by pattern with line breaks repaired. It also
 * holds the guarded variant that runs all this in a forked child with a
 * deadline, and the JSON form of a document. It does not fetch PDFs or write
 * records: that is the pdf source's job. How and why: docs/pdf.md.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "harvest.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <poll.h>
#include <poppler.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* One line of text as laid out on a page. */
typedef struct line {
    char *text; /* as printed */
    char *sep;  /* with superscripts (markers) replaced by ", " */
    double size;
    double x, y;
    int bold;
    int page;
} line;

typedef struct lines {
    line *v;
    size_t n, cap;
    double body_size; /* the commonest font size, by characters */
    double page_h;    /* height of page 1 */
} lines;

static void lines_free(lines *ls)
{
    for (size_t i = 0; i < ls->n; i++) {
        ps_free(ls->v[i].text);
        ps_free(ls->v[i].sep);
    }
    ps_free(ls->v);
}

static int lines_push(lines *ls, line *l)
{
    if (ls->n == ls->cap) {
        size_t cap = ls->cap ? ls->cap * 2 : 256;
        line *v = ps_realloc(ls->v, cap * sizeof *v);
        if (!v)
            return -1;
        ls->v = v;
        ls->cap = cap;
    }
    ls->v[ls->n++] = *l;
    return 0;
}

/* ---- strings --------------------------------------------------------- */

static char *trim_dup(const char *s, size_t n)
{
    while (n && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    return ps_strndup(s, n);
}

/* Collapse runs of white space into one space, in place. */
static void collapse_ws(char *s)
{
    char *w = s;
    int sp = 1;
    for (char *r = s; *r; r++) {
        if (isspace((unsigned char)*r)) {
            if (!sp)
                *w++ = ' ';
            sp = 1;
        } else {
            *w++ = *r;
            sp = 0;
        }
    }
    if (w > s && w[-1] == ' ')
        w--;
    *w = '\0';
}

static int count_letters(const char *s)
{
    int n = 0;
    for (; *s; s++)
        if (isalpha((unsigned char)*s) || (unsigned char)*s >= 0xc0)
            n++;
    return n;
}

/* Case-insensitive prefix test on ASCII. */
static int starts_ci(const char *s, const char *p)
{
    for (; *p; s++, p++)
        if (tolower((unsigned char)*s) != tolower((unsigned char)*p))
            return 0;
    return 1;
}

/* Skip a section number ("5", "5.1", "V.", "A.") before a heading word. */
static const char *skip_numbering(const char *s)
{
    const char *p = s;
    while (*p == ' ')
        p++;
    const char *q = p;
    while (isdigit((unsigned char)*q) || *q == '.')
        q++;
    if (q > p && (*q == ' ' || *q == '\t'))
        return q + 1;
    q = p;
    while (*q == 'I' || *q == 'V' || *q == 'X')
        q++;
    if (q > p && *q == '.' && q[1] == ' ')
        return q + 2;
    return p;
}

/* Section kinds that headings name. */
enum {
    SEC_NONE,
    SEC_ABSTRACT,
    SEC_KEYWORDS,
    SEC_ACK,
    SEC_FUNDING,
    SEC_REFS,
    SEC_OTHER
};

static const struct {
    const char *word;
    int kind;
} heading_words[] = {
    {"abstract", SEC_ABSTRACT},
    {"summary", SEC_ABSTRACT},
    {"keywords", SEC_KEYWORDS},
    {"key words", SEC_KEYWORDS},
    {"index terms", SEC_KEYWORDS},
    {"acknowledgements", SEC_ACK},
    {"acknowledgments", SEC_ACK},
    {"acknowledgement", SEC_ACK},
    {"acknowledgment", SEC_ACK},
    {"funding", SEC_FUNDING},
    {"financial support", SEC_FUNDING},
    {"references", SEC_REFS},
    {"bibliography", SEC_REFS},
    {"literature cited", SEC_REFS},
    {"works cited", SEC_REFS},
    {"introduction", SEC_OTHER},
    {"conclusion", SEC_OTHER},
    {"conclusions", SEC_OTHER},
    {"discussion", SEC_OTHER},
    {"results", SEC_OTHER},
    {"methods", SEC_OTHER},
    {"appendix", SEC_OTHER},
    {"author contributions", SEC_OTHER},
    {"competing interests", SEC_OTHER},
    {"conflict of interest", SEC_OTHER},
    {"conflicts of interest", SEC_OTHER},
    {"data availability", SEC_OTHER},
    {"statement of need", SEC_OTHER},
};

/* The kind of section a line opens, and where its body starts within the
 * line (after "Abstract." or "Keywords:" run-in headings), or SEC_NONE. */
static int heading_kind(const line *l, const lines *ls, size_t *body_off)
{
    const char *s = skip_numbering(l->text);
    size_t len = strlen(s);
    for (size_t i = 0; i < sizeof heading_words / sizeof heading_words[0];
         i++) {
        const char *w = heading_words[i].word;
        size_t wl = strlen(w);
        if (len < wl || !starts_ci(s, w))
            continue;
        const char *r = s + wl;
        while (*r == ' ' || *r == ':' || *r == '.' || *r == '-' ||
               (unsigned char)*r == 0xe2) { /* em/en dash */
            if ((unsigned char)*r == 0xe2 && r[1] && r[2])
                r += 2;
            r++;
        }
        if (*r == '\0') { /* a heading alone on its line */
            *body_off = (size_t)(r - l->text);
            return heading_words[i].kind;
        }
        /* Run-in: "Abstract. We ...", "Keywords: a, b". Only for the kinds
         * that often come so, and only after a separator. */
        int sepd = s[wl] == ':' || s[wl] == '.' || s[wl] == ' ' ||
                   (unsigned char)s[wl] == 0xe2;
        int runin = heading_words[i].kind == SEC_ABSTRACT ||
                    heading_words[i].kind == SEC_KEYWORDS ||
                    heading_words[i].kind == SEC_ACK ||
                    heading_words[i].kind == SEC_FUNDING;
        if (sepd && runin && (s[wl] != ' ' || l->bold) &&
            (s[wl] == ':' || s[wl] == '.' || l->bold ||
             heading_words[i].kind == SEC_KEYWORDS)) {
            *body_off = (size_t)(r - l->text);
            return heading_words[i].kind;
        }
    }
    /* A short bold or larger line with no final period: some other heading
     * (ends the section before it). */
    if (len > 0 && len < 70 && count_letters(s) >= 3 && s[len - 1] != '.' &&
        s[len - 1] != ',' && (l->size > ls->body_size + 0.9 || l->bold)) {
        *body_off = len;
        return SEC_OTHER;
    }
    return SEC_NONE;
}

/* ---- DOIs --------------------------------------------------------------- */

static int doi_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && c != '"' && c != '<' && c != '>' &&
           c != '{' && c != '}' && c != '\\' && c != '^' && c != '`' &&
           c != '|';
}

/* Find the next DOI in s from *pos; a DOI cut by a line break (at a "-",
 * "/", "." or "_", or followed by a line that continues it without a
 * space) is joined. Returns a new lower-case string and moves *pos past it,
 * or NULL at the end. */
static char *doi_next(const char *s, size_t *pos)
{
    for (const char *p = strstr(s + *pos, "10."); p; p = strstr(p + 1, "10.")) {
        if (p > s && (isalnum((unsigned char)p[-1]) || p[-1] == '.'))
            continue;
        const char *q = p + 3;
        if (*q == '\n') /* "https://doi.org/10." + "1126/science..." */
            q++;
        int digits = 0;
        while (isdigit((unsigned char)*q) || (*q == '.' && digits)) {
            q++;
            digits++;
        }
        if (digits < 4 || *q != '/' || !doi_char((unsigned char)q[1]))
            continue;
        ps_buf b;
        ps_buf_init(&b, 1024);
        const char *r = p;
        for (;;) {
            const char *st = r;
            while (doi_char((unsigned char)*r))
                r++;
            if (ps_buf_append(&b, st, (size_t)(r - st)) != PS_OK)
                break;
            /* A line break inside the DOI? */
            if (*r != '\n' || b.len == 0)
                break;
            char last = b.data[b.len - 1];
            const char *nx = r + 1;
            size_t tok = 0;
            while (doi_char((unsigned char)nx[tok]))
                tok++;
            if (tok == 0)
                break;
            /* Joined only after a character a DOI cannot end with, and for
             * "." only when the next line goes on with a digit or a
             * lower-case letter (not a new sentence or entry). */
            int cont = last == '-' || last == '/' || last == '_' ||
                       (last == '.' && (isdigit((unsigned char)nx[0]) ||
                                        islower((unsigned char)nx[0])));
            if (!cont)
                break;
            /* A "-" at the line end is kept: DOIs carry hyphens far more
             * often than they get hyphenated. */
            r = nx;
        }
        /* Trim trailing punctuation that closes the sentence. */
        while (b.len && strchr(".,;:)]'", b.data[b.len - 1])) {
            if (b.data[b.len - 1] == ')' && memchr(b.data, '(', b.len))
                break;
            b.data[--b.len] = '\0';
        }
        *pos = (size_t)(r - s);
        if (!b.data || b.len < 8) {
            ps_buf_free(&b);
            return doi_next(s, pos);
        }
        ps_str_lower(b.data, b.len);
        return ps_buf_detach(&b);
    }
    return NULL;
}

/* ---- building the lines ----------------------------------------------- */

static int is_bold_font(const char *name)
{
    return name && (strstr(name, "Bold") || strstr(name, "bold") ||
                    strstr(name, "Black") || strstr(name, "Heavy") ||
                    strstr(name, ",B") || strstr(name, ".B") ||
                    strstr(name, "-B") || strstr(name, "Semibold"));
}

/* Cut one page's text into lines with their fonts and positions. */
static ps_status page_lines(PopplerPage *page, const char *text, int pno,
                            lines *ls, double *size_hist, ps_err *err)
{
    glong nchars = g_utf8_strlen(text, -1);
    PopplerRectangle *rects = NULL;
    guint nrects = 0;
    if (!poppler_page_get_text_layout(page, &rects, &nrects))
        nrects = 0;
    double *size = ps_calloc((size_t)nchars + 1, sizeof *size);
    char *bold = ps_calloc((size_t)nchars + 1, 1);
    if (!size || !bold) {
        ps_free(size);
        ps_free(bold);
        g_free(rects);
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    GList *attrs = poppler_page_get_text_attributes(page);
    for (GList *a = attrs; a; a = a->next) {
        PopplerTextAttributes *t = a->data;
        for (gint i = t->start_index; i <= t->end_index && i < nchars; i++) {
            if (i < 0)
                continue;
            size[i] = t->font_size;
            bold[i] = (char)is_bold_font(t->font_name);
        }
    }
    poppler_page_free_text_attributes(attrs);

    ps_status st = PS_OK;
    const char *p = text;
    glong ci = 0;
    while (*p && st == PS_OK) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        glong lc = g_utf8_strlen(p, (gssize)n);
        /* The dominant size of the line, by characters. */
        double dom = 0;
        int best = 0, nb = 0, nvis = 0;
        for (glong k = 0; k < lc; k++) {
            double s = size[ci + k];
            int cnt = 0;
            for (glong m = 0; m < lc; m++)
                if (size[ci + m] == s)
                    cnt++;
            if (cnt > best) {
                best = cnt;
                dom = s;
            }
            if (lc > 200) /* long lines: the first size is good enough */
                break;
        }
        line l = {0};
        l.size = dom;
        l.page = pno;
        l.x = l.y = -1;
        ps_buf sep;
        ps_buf_init(&sep, 0);
        const char *c = p;
        for (glong k = 0; k < lc; k++) {
            const char *nx = g_utf8_next_char(c);
            int space = isspace((unsigned char)*c);
            if (!space) {
                nvis++;
                if (bold[ci + k])
                    nb++;
                if (l.x < 0 && (guint)(ci + k) < nrects) {
                    l.x = rects[ci + k].x1;
                    l.y = rects[ci + k].y1;
                }
                size_hist[(int)(size[ci + k] * 2 + 0.5) & 1023] += 1;
            }
            if (!space && dom > 0 && size[ci + k] < dom * 0.8) {
                /* A superscript: an affiliation or footnote marker. */
                if (sep.len == 0 || sep.data[sep.len - 1] != ',')
                    st = ps_buf_puts(&sep, ",");
            } else {
                st = ps_buf_append(&sep, c, (size_t)(nx - c));
            }
            c = nx;
        }
        l.bold = nvis > 0 && nb * 10 >= nvis * 8;
        l.text = trim_dup(p, n);
        l.sep = sep.data ? ps_buf_detach(&sep) : ps_strdup("");
        ps_buf_free(&sep);
        if (!l.text || !l.sep) {
            ps_free(l.text);
            ps_free(l.sep);
            st = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
            break;
        }
        collapse_ws(l.text);
        if (l.text[0] == '\0' || lines_push(ls, &l) != 0) {
            ps_free(l.text);
            ps_free(l.sep);
        }
        ci += lc + (e ? 1 : 0);
        p = e ? e + 1 : p + n;
    }
    ps_free(size);
    ps_free(bold);
    g_free(rects);
    return st;
}

/* ---- the fields ---------------------------------------------------------
 */

/* Lines that are not a title though printed large: arXiv stamps, journal
 * banners, lines repeated on later pages (running headers). */
static int not_title(const lines *ls, size_t i)
{
    const line *l = &ls->v[i];
    if (count_letters(l->text) < 3 || strstr(l->text, "arXiv:") ||
        strstr(l->text, "http") || starts_ci(l->text, "doi"))
        return 1;
    for (size_t j = i + 1; j < ls->n && ls->v[j].page <= 2; j++)
        if (ls->v[j].page > 0 && strcmp(ls->v[j].text, l->text) == 0)
            return 1;
    return 0;
}

static void join_line(ps_buf *b, const char *t)
{
    if (b->len) {
        /* A word hyphenated at the line end ("extrac-" "tion"). */
        if (b->data[b->len - 1] == '-' && b->len > 1 &&
            islower((unsigned char)b->data[b->len - 2]) &&
            islower((unsigned char)t[0])) {
            b->data[--b->len] = '\0';
        } else {
            ps_buf_puts(b, " ");
        }
    }
    ps_buf_puts(b, t);
}

/* Title: the first run of largest-type lines on page 1. Returns the index
 * of the line after it (where authors start), or 0 if none. */
static size_t find_title(const lines *ls, ps_pdf_doc *doc)
{
    double max = 0;
    for (size_t i = 0; i < ls->n && ls->v[i].page == 0; i++) {
        const line *l = &ls->v[i];
        if (l->y >= 0 && l->y > ls->page_h * 0.75)
            continue; /* footers, journal banners at the bottom */
        if (l->size > max && !not_title(ls, i))
            max = l->size;
    }
    if (max <= 0)
        return 0;
    ps_buf b;
    ps_buf_init(&b, 4096);
    size_t i = 0, end = 0;
    for (; i < ls->n && ls->v[i].page == 0; i++)
        if (ls->v[i].size >= max - 0.3 && !not_title(ls, i) &&
            !(ls->v[i].y >= 0 && ls->v[i].y > ls->page_h * 0.75))
            break;
    size_t taken = 0;
    for (; i < ls->n && ls->v[i].page == 0 && taken < 6; i++, taken++) {
        if (ls->v[i].size < max - 0.3)
            break;
        join_line(&b, ls->v[i].text);
        end = i + 1;
    }
    if (b.data && b.len)
        doc->title = ps_buf_detach(&b);
    ps_buf_free(&b);
    return end;
}

static int looks_affiliation(const char *s)
{
    static const char *const words[] = {
        "Universit", "Institut", "Department", "Dept",         "Laborator",
        "School",    "College",  "Center",     "Centre",       "Faculty",
        "@",         "Hospital", "Research",   "Inc.",         "Ltd",
        "GmbH",      "Street",   "Avenue",     "Corresponding"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strstr(s, words[i]))
            return 1;
    return 0;
}

static int push_str(char ***v, size_t *n, char *s)
{
    char **nv = ps_realloc(*v, (*n + 1) * sizeof *nv);
    if (!nv) {
        ps_free(s);
        return -1;
    }
    *v = nv;
    nv[(*n)++] = s;
    return 0;
}

static int is_particle(const char *w)
{
    static const char *const p[] = {"van ", "der ", "den ", "de ",  "la ",
                                    "von ", "dos ", "da ",  "del ", "di ",
                                    "le ",  "du ",  "des ", "ten ", "ter "};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
        if (strncmp(w, p[i], strlen(p[i])) == 0)
            return 1;
    return 0;
}

/* One author candidate: strip markers, digits and symbols, keep a name of
 * two to six words with capitals. */
static void add_author(ps_pdf_doc *doc, const char *s, size_t n)
{
    char *a = trim_dup(s, n);
    if (!a)
        return;
    char *w = a;
    for (char *r = a; *r; r++) {
        unsigned char c = (unsigned char)*r;
        if (isdigit(c) || c == '*' || c == '#' || c == '$' || c == '^' ||
            c == '(' || c == ')' || c == '[' || c == ']')
            continue;
        if (c == 0xe2 && (unsigned char)r[1] == 0x80 &&
            ((unsigned char)r[2] == 0xa0 || (unsigned char)r[2] == 0xa1 ||
             (unsigned char)r[2] == 0xa2)) { /* dagger, double dagger, • */
            r += 2;
            continue;
        }
        if (c == 0xc2 && ((unsigned char)r[1] == 0xa7 ||
                          (unsigned char)r[1] == 0xb6)) { /* §, ¶ */
            r++;
            continue;
        }
        *w++ = *r;
    }
    *w = '\0';
    collapse_ws(a);
    size_t len = strlen(a);
    while (len && (a[len - 1] == ',' || a[len - 1] == ' '))
        a[--len] = '\0';
    int words = 1, caps = 0;
    for (char *r = a; *r; r++) {
        if (*r == ' ')
            words++;
        if ((r == a || r[-1] == ' ' || r[-1] == '-') &&
            (isupper((unsigned char)*r) ||
             ((unsigned char)*r >= 0xc3 && (unsigned char)*r < 0xe0)))
            caps++;
    }
    /* Every word capitalised or a particle ("van", "de", "dos"). */
    int lower = 0;
    for (char *r = a; *r; r++)
        if ((r == a || r[-1] == ' ') && !isupper((unsigned char)*r) &&
            ((unsigned char)*r < 0xc3 || (unsigned char)*r >= 0xe0) &&
            !is_particle(r))
            lower++;
    if (len < 3 || words > 6 || caps == 0 || lower > 0 ||
        (words < 2 && !strchr(a, '.')) || looks_affiliation(a) ||
        count_letters(a) < 3) {
        ps_free(a);
        return;
    }
    push_str(&doc->authors, &doc->nauthors, a);
}

/* Split an author line on commas, semicolons, "and", "&". */
static void split_authors(ps_pdf_doc *doc, const char *s)
{
    const char *st = s;
    for (const char *p = s;; p++) {
        size_t skip = 0;
        if (*p == ',' || *p == ';' || *p == '&')
            skip = 1;
        else if ((p == s || p[-1] == ' ') &&
                 (strncmp(p, "and ", 4) == 0 || strcmp(p, "and") == 0))
            skip = 3;
        if (*p == '\0' || skip) {
            if (p > st)
                add_author(doc, st, (size_t)(p - st));
            if (*p == '\0')
                break;
            p += skip - 1;
            st = p + 1;
        }
    }
}

/* Is this line a heading of the word list (not just large or bold)? */
static int named_heading(const line *l, const lines *ls)
{
    size_t off;
    int k = heading_kind(l, ls, &off);
    if (k == SEC_NONE)
        return 0;
    if (k != SEC_OTHER)
        return 1;
    const char *s = skip_numbering(l->text);
    for (size_t i = 0; i < sizeof heading_words / sizeof heading_words[0]; i++)
        if (starts_ci(s, heading_words[i].word))
            return 1;
    return 0;
}

/* Authors: the lines of the title's column below the title, in reading
 * order by position (poppler emits a line's superscript markers as lines of
 * their own), up to the affiliations, a heading or a change of type size.
 * Markers become separators, then names are split on ",", ";", "and". */
static void find_authors(const lines *ls, size_t title_end, ps_pdf_doc *doc)
{
    const line *tl = &ls->v[title_end - 1];
    double ty = tl->y, tx = ls->v[title_end - 1].x;
    for (size_t i = 0; i < title_end; i++)
        if (ls->v[i].page == 0 && ls->v[i].size >= tl->size - 0.3 &&
            ls->v[i].x >= 0 && ls->v[i].x < tx)
            tx = ls->v[i].x;
    size_t cap = 0;
    for (size_t i = 0; i < ls->n && ls->v[i].page == 0; i++)
        cap++;
    size_t *idx = ps_calloc(cap + 1, sizeof *idx);
    if (!idx)
        return;
    size_t n = 0;
    for (size_t i = 0; i < ls->n && ls->v[i].page == 0; i++)
        if (i >= title_end && ls->v[i].y > ty + 1 && ls->v[i].x >= tx - 5)
            idx[n++] = i;
    for (size_t i = 1; i < n; i++) /* insertion sort by y: n is small */
        for (size_t j = i; j > 0 && ls->v[idx[j]].y < ls->v[idx[j - 1]].y;
             j--) {
            size_t t = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = t;
        }
    /* Within a row (baselines within 3 pt) sort by x. */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0; j--) {
            const line *a = &ls->v[idx[j - 1]], *b = &ls->v[idx[j]];
            if (b->y - a->y < 3 && a->y - b->y < 3 && b->x < a->x) {
                size_t t = idx[j];
                idx[j] = idx[j - 1];
                idx[j - 1] = t;
            } else {
                break;
            }
        }
    ps_buf b;
    ps_buf_init(&b, 64 * 1024);
    double sz = 0;
    for (size_t k = 0; k < n && k < 60; k++) {
        const line *l = &ls->v[idx[k]];
        if (sz > 0 && l->size < sz * 0.8 && strlen(l->text) <= 16) {
            ps_buf_puts(&b, ","); /* a line of markers */
            continue;
        }
        if (named_heading(l, ls) || looks_affiliation(l->text) ||
            strstr(l->text, "10.") || isdigit((unsigned char)l->text[0]))
            break;
        if (sz > 0 && (l->size < sz - 0.6 || l->size > sz + 0.6))
            break;
        if (sz > 0 && l->y - ty > sz * 4)
            break; /* a wide gap: the authors block is over */
        size_t words = 1;
        for (const char *c = l->text; *c; c++)
            words += *c == ' ';
        if (words > 40)
            break;
        sz = l->size;
        ty = l->y;
        if (b.len)
            ps_buf_puts(&b, " ");
        ps_buf_puts(&b, l->sep);
    }
    if (b.data)
        split_authors(doc, b.data);
    ps_buf_free(&b);
    ps_free(idx);
}

/* The text of lines [a, b) joined, from offset off of line a. */
static char *join_range(const lines *ls, size_t a, size_t b, size_t off,
                        size_t ceiling)
{
    ps_buf buf;
    ps_buf_init(&buf, ceiling);
    for (size_t i = a; i < b; i++)
        join_line(&buf, i == a ? ls->v[i].text + off : ls->v[i].text);
    char *r = NULL;
    if (buf.data && buf.len) {
        r = ps_buf_detach(&buf);
        collapse_ws(r);
    }
    ps_buf_free(&buf);
    return r;
}

/* Split the references section into entries: a new entry starts at "[n]",
 * "n." or at a line that starts left of the entry's continuation lines
 * (hanging indent). */
static void split_refs(const lines *ls, size_t a, size_t b, size_t off,
                       ps_pdf_doc *doc)
{
    size_t st = a;
    size_t max = 2000;
    for (size_t i = a; i <= b && doc->nrefs < max; i++) {
        int brk = i == b;
        if (!brk && i > st) {
            const line *l = &ls->v[i], *pr = &ls->v[i - 1];
            const char *t = l->text;
            if (t[0] == '[' && isdigit((unsigned char)t[1]))
                brk = 1;
            else if (isdigit((unsigned char)t[0])) {
                const char *q = t;
                while (isdigit((unsigned char)*q))
                    q++;
                brk = (*q == '.' || *q == ')') && q - t <= 3 && q[1] == ' ';
            } else if (l->page == pr->page && l->y > pr->y &&
                       l->y - pr->y > pr->size * 1.45) {
                brk = 1; /* a blank gap between entries */
            } else if (l->page == pr->page && l->x >= 0 && pr->x >= 0 &&
                       l->x < pr->x - 5 && l->y > pr->y) {
                brk = 1; /* back to the margin after an indented line */
            } else if (pr->text[strlen(pr->text) - 1] == '.' &&
                       l->page == pr->page && l->x >= 0 && pr->x >= 0 &&
                       l->x <= pr->x + 1 && l->x >= pr->x - 1 && i >= 2 &&
                       ls->v[i - 2].x > pr->x + 5) {
                brk = 0;
            }
        }
        if (!brk)
            continue;
        char *t = join_range(ls, st, i, st == a ? off : 0, 64 * 1024);
        if (t && count_letters(t) >= 4) {
            ps_pdf_ref *nv =
                ps_realloc(doc->refs, (doc->nrefs + 1) * sizeof *nv);
            if (!nv) {
                ps_free(t);
                return;
            }
            doc->refs = nv;
            nv[doc->nrefs].text = t;
            /* The DOI of the entry, from the raw lines (line breaks kept
             * so that a cut DOI is joined). */
            ps_buf raw;
            ps_buf_init(&raw, 64 * 1024);
            for (size_t k = st; k < i; k++) {
                ps_buf_puts(&raw, ls->v[k].text);
                ps_buf_puts(&raw, "\n");
            }
            size_t pos = 0;
            nv[doc->nrefs].doi = raw.data ? doi_next(raw.data, &pos) : NULL;
            ps_buf_free(&raw);
            doc->nrefs++;
        } else {
            ps_free(t);
        }
        st = i;
    }
}

static void split_keywords(ps_pdf_doc *doc, const char *s)
{
    const char *st = s;
    for (const char *p = s;; p++) {
        int end = *p == '\0';
        int sep = *p == ',' || *p == ';' ||
                  ((unsigned char)*p == 0xc2 &&
                   (unsigned char)p[1] == 0xb7) || /* middle dot */
                  ((unsigned char)*p == 0xe2 && (unsigned char)p[1] == 0x80 &&
                   (unsigned char)p[2] == 0xa2); /* bullet */
        if (end || sep) {
            char *k = trim_dup(st, (size_t)(p - st));
            if (k) {
                size_t n = strlen(k);
                while (n && k[n - 1] == '.')
                    k[--n] = '\0';
                if (n && doc->nkeywords < 64)
                    push_str(&doc->keywords, &doc->nkeywords, k);
                else
                    ps_free(k);
            }
            if (end)
                break;
            if ((unsigned char)*p == 0xc2)
                p += 1;
            else if ((unsigned char)*p == 0xe2)
                p += 2;
            st = p + 1;
        }
    }
}

/* Walk the lines once, cutting them into sections at headings. */
static void find_sections(const lines *ls, ps_pdf_doc *doc)
{
    int kind = SEC_NONE;
    size_t start = 0, off = 0;
    for (size_t i = 0; i <= ls->n; i++) {
        size_t o = 0;
        int k = i < ls->n ? heading_kind(&ls->v[i], ls, &o) : SEC_OTHER;
        /* Inside the references, only a real heading ends them, and an
         * abstract that has begun goes on over short bold words. */
        if (k == SEC_NONE)
            continue;
        if (kind == SEC_REFS && k == SEC_OTHER && i < ls->n &&
            ls->v[i].size <= ls->body_size + 0.9)
            continue;
        if (kind != SEC_NONE && i > start) {
            size_t cap = (size_t)1 << 20;
            switch (kind) {
            case SEC_ABSTRACT:
                if (!doc->abstract)
                    doc->abstract = join_range(ls, start, i, off, cap);
                break;
            case SEC_KEYWORDS:
                if (!doc->keywords) {
                    char *kw = join_range(ls, start, i, off, 4096);
                    if (kw)
                        split_keywords(doc, kw);
                    ps_free(kw);
                }
                break;
            case SEC_ACK:
                if (!doc->acknowledgements)
                    doc->acknowledgements = join_range(ls, start, i, off, cap);
                break;
            case SEC_FUNDING:
                if (!doc->funding)
                    doc->funding = join_range(ls, start, i, off, cap);
                break;
            case SEC_REFS:
                if (!doc->refs)
                    split_refs(ls, start, i, off, doc);
                break;
            default: break;
            }
        }
        kind = k;
        start = i;
        off = o;
        /* A keyword line is one paragraph at most: end it at the next line
         * unless that continues the list. */
        if (k == SEC_KEYWORDS && i + 1 < ls->n && ls->v[i].text[off] != '\0') {
            size_t j = i + 1;
            while (j < ls->n && j < i + 3 &&
                   ls->v[j - 1].text[strlen(ls->v[j - 1].text) - 1] == ',')
                j++;
            char *kw = join_range(ls, i, j, off, 4096);
            if (kw && !doc->keywords)
                split_keywords(doc, kw);
            ps_free(kw);
            kind = SEC_NONE;
        }
    }
}

/* The year: "Published: 21 June 2018", "© 2018", "Received ... 2018" on
 * page 1, else the document's creation date. */
static void find_year(const lines *ls, PopplerDocument *pd, ps_pdf_doc *doc)
{
    static const char *const cues[] = {"Published", "published", "\xc2\xa9",
                                       "Copyright", "Received",  "Accepted"};
    for (size_t c = 0; c < sizeof cues / sizeof cues[0] && !doc->year; c++)
        for (size_t i = 0; i < ls->n && ls->v[i].page == 0; i++) {
            const char *p = strstr(ls->v[i].text, cues[c]);
            if (!p)
                continue;
            for (; *p; p++)
                if ((p[0] == '1' || p[0] == '2') &&
                    isdigit((unsigned char)p[1]) &&
                    isdigit((unsigned char)p[2]) &&
                    isdigit((unsigned char)p[3]) &&
                    !isdigit((unsigned char)p[4]) &&
                    (p == ls->v[i].text || !isdigit((unsigned char)p[-1]))) {
                    int y = (p[0] - '0') * 1000 + (p[1] - '0') * 100 +
                            (p[2] - '0') * 10 + (p[3] - '0');
                    if (y >= 1900 && y <= 2100) {
                        doc->year = y;
                        break;
                    }
                }
            if (doc->year)
                break;
        }
    if (!doc->year) {
        GDateTime *dt = poppler_document_get_creation_date_time(pd);
        if (dt) {
            doc->year = g_date_time_get_year(dt);
            g_date_time_unref(dt);
        }
    }
}

/* The DOI: one printed with a "DOI" label on page 1, else the metadata's,
 * else the first on page 1 outside the references. */
static void find_doi(const lines *ls, PopplerDocument *pd, ps_pdf_doc *doc)
{
    ps_buf b;
    ps_buf_init(&b, (size_t)1 << 20);
    for (size_t i = 0; i < ls->n && ls->v[i].page == 0; i++) {
        size_t o;
        if (heading_kind(&ls->v[i], ls, &o) == SEC_REFS)
            break;
        ps_buf_puts(&b, ls->v[i].text);
        ps_buf_puts(&b, "\n");
    }
    char *first = NULL, *labelled = NULL;
    size_t pos = 0;
    char *d;
    for (;;) {
        d = b.data ? doi_next(b.data, &pos) : NULL;
        if (!d)
            break;
        /* The label: "DOI:", "doi.org/", "doi:" just before. */
        size_t dl = strlen(d);
        size_t at = pos >= dl ? pos - dl : 0;
        size_t from = at > 12 ? at - 12 : 0;
        int lab = 0;
        for (size_t k = from; k < at; k++)
            if (starts_ci(b.data + k, "doi"))
                lab = 1;
        if (lab && !labelled)
            labelled = ps_strdup(d);
        if (!first)
            first = ps_strdup(d);
        ps_free(d);
    }
    ps_buf_free(&b);
    char *meta = NULL;
    if (!labelled) {
        static const char *const fields[] = {"subject", "keywords", "title"};
        for (size_t f = 0; f < 3 && !meta; f++) {
            gchar *v = NULL;
            if (f == 0)
                v = poppler_document_get_subject(pd);
            else if (f == 1)
                v = poppler_document_get_keywords(pd);
            else
                v = poppler_document_get_metadata(pd);
            if (v) {
                size_t mp = 0;
                meta = doi_next(v, &mp);
                g_free(v);
            }
            (void)fields;
        }
    }
    if (labelled) {
        doc->doi = labelled;
        ps_free(first);
        ps_free(meta);
    } else if (meta) {
        doc->doi = meta;
        ps_free(first);
    } else {
        doc->doi = first;
    }
}

/* ---- extraction ---------------------------------------------------------
 */

static ps_status extract(PopplerDocument *pd, const ps_pdf_opts *o,
                         ps_pdf_doc *doc, ps_err *err)
{
    int n = poppler_document_get_n_pages(pd);
    doc->pages = n;
    if (n <= 0)
        return ps_err_set(err, PS_ERR_PARSE, "the PDF has no pages");
    if (n > o->max_pages) {
        doc->warnings |= PS_PDF_WARN_PAGES_CUT;
        n = o->max_pages;
    }
    lines ls = {0};
    double *hist = ps_calloc(1024, sizeof *hist);
    ps_buf text;
    ps_buf_init(&text, o->max_text_bytes);
    if (!hist)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    ps_status st = PS_OK;
    for (int i = 0; i < n && st == PS_OK; i++) {
        PopplerPage *page = poppler_document_get_page(pd, i);
        if (!page)
            continue;
        if (i == 0) {
            double w, h;
            poppler_page_get_size(page, &w, &h);
            ls.page_h = h;
        }
        char *t = poppler_page_get_text(page);
        if (t) {
            size_t tl = strlen(t);
            size_t room = o->max_text_bytes > text.len + 1
                              ? o->max_text_bytes - text.len - 1
                              : 0;
            int cut = tl > room;
            if (cut) {
                /* Cut at a UTF-8 character boundary and stop. */
                tl = room;
                while (tl && ((unsigned char)t[tl] & 0xc0) == 0x80)
                    tl--;
                t[tl] = '\0';
                doc->warnings |= PS_PDF_WARN_TEXT_CUT;
            }
            if (i > 0)
                st = ps_buf_append(&text, "\f", 1);
            if (st == PS_OK)
                st = ps_buf_append(&text, t, tl);
            if (st == PS_OK)
                st = page_lines(page, t, i, &ls, hist, err);
            else
                st = ps_err_set(err, st, "PDF text: %s", ps_status_str(st));
            g_free(t);
            if (cut)
                n = i + 1;
        }
        g_object_unref(page);
    }
    double best = 0;
    for (int k = 1; k < 1024; k++)
        if (hist[k] > best) {
            best = hist[k];
            ls.body_size = k / 2.0;
        }
    ps_free(hist);
    if (st == PS_OK) {
        size_t visible = 0;
        for (size_t i = 0; i < ls.n; i++)
            visible += (size_t)count_letters(ls.v[i].text);
        if (visible == 0) {
            doc->warnings |= PS_PDF_WARN_NO_TEXT;
        } else {
            size_t after = find_title(&ls, doc);
            if (!doc->title)
                doc->warnings |= PS_PDF_WARN_NO_TITLE;
            else
                find_authors(&ls, after, doc);
            find_doi(&ls, pd, doc);
            find_sections(&ls, doc);
            find_year(&ls, pd, doc);
        }
        doc->text_len = text.len;
        doc->text = text.data ? ps_buf_detach(&text) : ps_strdup("");
        if (!doc->text)
            st = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    ps_buf_free(&text);
    lines_free(&ls);
    return st;
}

ps_status ps_pdf_extract(const void *data, size_t len, const ps_pdf_opts *opts,
                         ps_pdf_doc **out, ps_err *err)
{
    if (out)
        *out = NULL;
    ps_pdf_opts o = PS_PDF_OPTS_INIT;
    if (opts)
        o = *opts;
    if (!data || !out || o.max_text_bytes < 16 || o.max_pages < 1)
        return ps_err_set(err, PS_ERR_INVALID,
                          "ps_pdf_extract: bad arguments or options");
    if (len < 8 || memcmp(data, "%PDF-", 5) != 0) {
        /* poppler also accepts a header after some junk; we do too, within
         * the first KiB, like most readers. */
        const char *d = data;
        int found = 0;
        for (size_t k = 0; k + 5 <= len && k < 1024 && !found; k++)
            found = memcmp(d + k, "%PDF-", 5) == 0;
        if (!found)
            return ps_err_set(err, PS_ERR_PARSE,
                              len == 0 ? "empty file, not a PDF"
                                       : "not a PDF (no %%PDF- header)");
    }
    GBytes *bytes = g_bytes_new_static(data, len);
    GError *gerr = NULL;
    PopplerDocument *pd = poppler_document_new_from_bytes(bytes, NULL, &gerr);
    g_bytes_unref(bytes);
    if (!pd) {
        ps_status st;
        if (gerr && gerr->domain == POPPLER_ERROR &&
            gerr->code == POPPLER_ERROR_ENCRYPTED)
            st = ps_err_set(err, PS_ERR_INVALID,
                            "encrypted PDF: it needs a password to be read");
        else
            st = ps_err_set(err, PS_ERR_PARSE, "damaged or truncated PDF: %s",
                            gerr ? gerr->message : "poppler cannot open it");
        if (gerr)
            g_error_free(gerr);
        return st;
    }
    ps_pdf_doc *doc = ps_calloc(1, sizeof *doc);
    if (!doc) {
        g_object_unref(pd);
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    ps_status st = extract(pd, &o, doc, err);
    g_object_unref(pd);
    if (st != PS_OK) {
        ps_pdf_doc_free(doc);
        return st;
    }
    *out = doc;
    return PS_OK;
}

void ps_pdf_doc_free(ps_pdf_doc *doc)
{
    if (!doc)
        return;
    ps_free(doc->title);
    for (size_t i = 0; i < doc->nauthors; i++)
        ps_free(doc->authors[i]);
    ps_free(doc->authors);
    ps_free(doc->doi);
    ps_free(doc->abstract);
    for (size_t i = 0; i < doc->nkeywords; i++)
        ps_free(doc->keywords[i]);
    ps_free(doc->keywords);
    ps_free(doc->acknowledgements);
    ps_free(doc->funding);
    for (size_t i = 0; i < doc->nrefs; i++) {
        ps_free(doc->refs[i].text);
        ps_free(doc->refs[i].doi);
    }
    ps_free(doc->refs);
    ps_free(doc->text);
    ps_free(doc);
}

/* ---- JSON ------------------------------------------------------------- */

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *str_array(char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

ps_status ps_pdf_doc_to_json(const ps_pdf_doc *doc, json_t **out, ps_err *err)
{
    if (out)
        *out = NULL;
    if (!doc || !out)
        return ps_err_set(err, PS_ERR_INVALID, "ps_pdf_doc_to_json: NULL");
    json_t *o = json_object();
    json_t *refs = json_array();
    json_t *warn = json_array();
    if (!o || !refs || !warn) {
        json_decref(o);
        json_decref(refs);
        json_decref(warn);
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < doc->nrefs; i++) {
        json_t *r = json_object();
        json_object_set_new(r, "text", str_or_null(doc->refs[i].text));
        json_object_set_new(r, "doi", str_or_null(doc->refs[i].doi));
        json_array_append_new(refs, r);
    }
    static const char *const wn[] = {"no_text", "text_cut", "pages_cut",
                                     "no_title"};
    for (unsigned k = 0; k < 4; k++)
        if (doc->warnings & (1u << k))
            json_array_append_new(warn, json_string(wn[k]));
    json_object_set_new(o, "title", str_or_null(doc->title));
    json_object_set_new(o, "authors", str_array(doc->authors, doc->nauthors));
    json_object_set_new(o, "doi", str_or_null(doc->doi));
    json_object_set_new(o, "year",
                        doc->year ? json_integer(doc->year) : json_null());
    json_object_set_new(o, "abstract", str_or_null(doc->abstract));
    json_object_set_new(o, "keywords",
                        str_array(doc->keywords, doc->nkeywords));
    json_object_set_new(o, "acknowledgements",
                        str_or_null(doc->acknowledgements));
    json_object_set_new(o, "funding", str_or_null(doc->funding));
    json_object_set_new(o, "references", refs);
    json_object_set_new(o, "pages", json_integer(doc->pages));
    json_object_set_new(o, "warnings", warn);
    json_object_set_new(o, "text",
                        json_stringn(doc->text ? doc->text : "",
                                     doc->text ? doc->text_len : 0));
    *out = o;
    return PS_OK;
}

static char *jdup(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? ps_strdup(s) : NULL;
}

static int jstrs(const json_t *o, const char *key, char ***v, size_t *n)
{
    const json_t *a = json_object_get(o, key);
    size_t i;
    const json_t *x;
    json_array_foreach (a, i, x) {
        const char *s = json_string_value(x);
        if (s && push_str(v, n, ps_strdup(s)) != 0)
            return -1;
    }
    return 0;
}

ps_status ps_pdf_doc_from_json(const json_t *obj, ps_pdf_doc **out, ps_err *err)
{
    if (out)
        *out = NULL;
    if (!json_is_object(obj) || !out)
        return ps_err_set(err, PS_ERR_INVALID,
                          "ps_pdf_doc_from_json: not an object");
    ps_pdf_doc *d = ps_calloc(1, sizeof *d);
    if (!d)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    d->title = jdup(obj, "title");
    d->doi = jdup(obj, "doi");
    d->abstract = jdup(obj, "abstract");
    d->acknowledgements = jdup(obj, "acknowledgements");
    d->funding = jdup(obj, "funding");
    d->year = (int)json_integer_value(json_object_get(obj, "year"));
    d->pages = (int)json_integer_value(json_object_get(obj, "pages"));
    const json_t *t = json_object_get(obj, "text");
    d->text_len = json_string_length(t);
    d->text = ps_strndup(json_string_value(t) ? json_string_value(t) : "",
                         d->text_len);
    int bad = !d->text || jstrs(obj, "authors", &d->authors, &d->nauthors) ||
              jstrs(obj, "keywords", &d->keywords, &d->nkeywords);
    const json_t *refs = json_object_get(obj, "references");
    size_t nr = json_array_size(refs);
    if (!bad && nr) {
        d->refs = ps_calloc(nr, sizeof *d->refs);
        bad = !d->refs;
        for (size_t i = 0; !bad && i < nr; i++) {
            const json_t *r = json_array_get(refs, i);
            d->refs[i].text = jdup(r, "text");
            d->refs[i].doi = jdup(r, "doi");
            d->nrefs++;
        }
    }
    size_t i;
    const json_t *w;
    static const char *const wn[] = {"no_text", "text_cut", "pages_cut",
                                     "no_title"};
    json_array_foreach (json_object_get(obj, "warnings"), i, w) {
        for (unsigned k = 0; k < 4; k++)
            if (json_string_value(w) &&
                strcmp(json_string_value(w), wn[k]) == 0)
                d->warnings |= 1u << k;
    }
    if (bad) {
        ps_pdf_doc_free(d);
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    *out = d;
    return PS_OK;
}

/* ---- the guarded variant ----------------------------------------------- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static ps_status read_file(const char *path, size_t max, char **data_out,
                           size_t *len_out, ps_err *err)
{
    *data_out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ps_err_set(err, errno == ENOENT ? PS_ERR_NOTFOUND : PS_ERR_IO,
                          "%s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return ps_err_set(err, PS_ERR_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)sb.st_size > max) {
        close(fd);
        return ps_err_set(err, PS_ERR_TOOBIG,
                          "%s: %lld bytes, more than the %zu allowed", path,
                          (long long)sb.st_size, max);
    }
    size_t n = (size_t)sb.st_size;
    char *d = ps_malloc(n + 1);
    if (!d) {
        close(fd);
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, d + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (got != n) {
        ps_free(d);
        return ps_err_set(err, PS_ERR_IO, "%s: short read", path);
    }
    *data_out = d;
    *len_out = n;
    return PS_OK;
}

/* The largest PDF file the guarded extraction reads. */
#define PDF_MAX_FILE ((size_t)512 << 20)

/* In the child: close every descriptor but stdio and the result pipe. When
 * several threads extract at once, a child would otherwise hold the write
 * end of another extraction's pipe, and that reader would wait for this
 * child to end (and time out with it). */
static void child_close_fds(int keep)
{
#ifdef SYS_close_range
    if (syscall(SYS_close_range, 3u, (unsigned)keep - 1, 0u) == 0 &&
        syscall(SYS_close_range, (unsigned)keep + 1, ~0u, 0u) == 0)
        return;
#endif
    long max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536)
        max = 65536;
    for (int i = 3; i < (int)max; i++)
        if (i != keep)
            close(i);
}

static void child_run(int fd, const char *path, const ps_pdf_opts *opts)
{
    child_close_fds(fd);
    ps_err err = PS_ERR_INIT;
    char *data = NULL;
    size_t len = 0;
    ps_pdf_doc *doc = NULL;
    json_t *o = NULL;
    ps_status st = read_file(path, PDF_MAX_FILE, &data, &len, &err);
    if (st == PS_OK)
        st = ps_pdf_extract(data, len, opts, &doc, &err);
    if (st == PS_OK)
        st = ps_pdf_doc_to_json(doc, &o, &err);
    if (st != PS_OK) {
        o = json_pack("{s:{s:i,s:s}}", "error", "code", (int)st, "message",
                      err.msg);
    }
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    size_t n = s ? strlen(s) : 0, put = 0;
    while (put < n) {
        ssize_t w = write(fd, s + put, n - put);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        put += (size_t)w;
    }
    _exit(s && put == n ? 0 : 3);
}

ps_status ps_pdf_extract_file_guarded(const char *path, const ps_pdf_opts *opts,
                                      long timeout_ms, ps_pdf_doc **out,
                                      ps_err *err)
{
    if (out)
        *out = NULL;
    if (!path || !out || timeout_ms <= 0)
        return ps_err_set(err, PS_ERR_INVALID,
                          "ps_pdf_extract_file_guarded: bad arguments");
    ps_pdf_opts o = PS_PDF_OPTS_INIT;
    if (opts)
        o = *opts;
    if (access(path, R_OK) != 0)
        return ps_err_set(err, errno == ENOENT ? PS_ERR_NOTFOUND : PS_ERR_IO,
                          "%s: %s", path, strerror(errno));
    int pfd[2];
    if (pipe(pfd) != 0)
        return ps_err_set(err, PS_ERR_IO, "pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(pfd[0]);
        close(pfd[1]);
        return ps_err_set(err, PS_ERR_IO, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        close(pfd[0]);
        child_run(pfd[1], path, &o);
    }
    close(pfd[1]);
    /* The result: the JSON of the text plus room for the fields. */
    ps_buf b;
    ps_buf_init(&b, o.max_text_bytes * 2 + ((size_t)8 << 20));
    int64_t deadline = now_ms() + timeout_ms;
    ps_status st = PS_OK;
    char chunk[65536];
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            st = ps_err_set(err, PS_ERR_TIMEOUT, "%s: timed out after %ld ms",
                            path, timeout_ms);
            break;
        }
        struct pollfd p = {pfd[0], POLLIN, 0};
        int r = poll(&p, 1, (int)(left > 1000000 ? 1000000 : left));
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0)
            continue;
        ssize_t got = read(pfd[0], chunk, sizeof chunk);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        if (ps_buf_append(&b, chunk, (size_t)got) != PS_OK) {
            st =
                ps_err_set(err, PS_ERR_TOOBIG,
                           "%s: extraction result over %zu bytes", path, b.max);
            break;
        }
    }
    close(pfd[0]);
    int status = 0;
    if (st != PS_OK)
        kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (st == PS_OK && WIFSIGNALED(status))
        st = ps_err_set(err, PS_ERR_INTERNAL,
                        "%s: extraction crashed (signal %d)", path,
                        WTERMSIG(status));
    json_t *j = NULL;
    if (st == PS_OK)
        st = ps_json_parse(b.data ? b.data : "", b.len, &j, err);
    ps_buf_free(&b);
    if (st != PS_OK)
        return st;
    const json_t *e = json_object_get(j, "error");
    if (e) {
        int code = (int)json_integer_value(json_object_get(e, "code"));
        const char *m = json_string_value(json_object_get(e, "message"));
        st = ps_err_set(err,
                        code > 0 && code <= PS_ERR_CANCELLED ? (ps_status)code
                                                             : PS_ERR_INTERNAL,
                        "%s", m ? m : "extraction failed");
    } else {
        st = ps_pdf_doc_from_json(j, out, err);
    }
    json_decref(j);
    return st;
}
