/*
 * export.c: the export formatters of a search's result set (API in
 * export.h): CSV, BibTeX, RIS and JSON, one hit at a time into a ps_buf.
 * What each format holds:
 *   CSV     RFC 4180 (CRLF line ends, quotes doubled, a cell quoted when it
 *           holds a comma, a quote or a line break), UTF-8 without a byte
 *           order mark, one header row; lists joined with "; "; a text
 *           cell that starts with = + - @, a tab or a CR gets a leading '
 *           so that a spreadsheet shows it instead of running it.
 *   BibTeX  @article (a publication with a journal), @misc (other
 *           publications, instruments), @techreport (proposals), @dataset
 *           (datasets, biblatex); key: the first author's family name in
 *           ASCII, the year ("nd" without), "-" and the record's number
 *           from 1 (unique in one export); TeX's specials escaped, braces
 *           written as \textbraceleft{} so that fields stay balanced; doi
 *           and url fields verbatim but with braces, backslashes and
 *           blanks %-encoded.
 *   RIS     TY (JOUR for a publication with a journal, DATA for a dataset,
 *           GEN otherwise), TI, AU per author, PY, JO, DO, KW per keyword,
 *           AB, M1 (a proposal's code), N1 (status, instruments), UR (the
 *           record's JSON), ID (pid), ER; CRLF line ends; line breaks in
 *           values become spaces.
 *   JSON    an array of the hits as they are.
 * It does not run searches or send answers (search.c does).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "export.h"
#include "match.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- writing with one status -------------------------------------------- */

/* Appends to b until one fails; rc keeps the first failure. */
typedef struct wr {
    ps_buf *b;
    ps_status rc;
} wr;

static void put(wr *w, const char *s, size_t n)
{
    if (w->rc == PS_OK && n)
        w->rc = ps_buf_append(w->b, s, n);
}

static void puts_(wr *w, const char *s)
{
    if (s)
        put(w, s, strlen(s));
}

/* Finish a record: on failure, take back what it wrote (out keeps whole
 * records) and fill err. */
static ps_status wr_end(wr *w, size_t start, ps_err *err)
{
    if (w->rc == PS_OK)
        return PS_OK;
    if (w->b->data && w->b->len > start) {
        w->b->len = start;
        w->b->data[start] = '\0';
    }
    if (w->rc == PS_ERR_TOOBIG)
        return ps_err_set(err, PS_ERR_TOOBIG,
                          "the export is larger than %zu bytes: ask for "
                          "fewer records",
                          w->b->max);
    return ps_err_set(err, w->rc, "out of memory");
}

/* ---- reading hits -------------------------------------------------------- */

/* The text of member key: a string as is, an integer printed into buf
 * (size 32); NULL when absent, null, empty or of another type. */
static const char *text_of(const json_t *hit, const char *key, char buf[32])
{
    const json_t *v = json_object_get(hit, key);
    if (json_is_string(v))
        return *json_string_value(v) ? json_string_value(v) : NULL;
    if (json_is_integer(v)) {
        snprintf(buf, 32, "%lld", (long long)json_integer_value(v));
        return buf;
    }
    return NULL;
}

static const char *str_of(const json_t *hit, const char *key)
{
    const char *s = json_string_value(json_object_get(hit, key));
    return s && *s ? s : NULL;
}

static const char *type_of(const json_t *hit)
{
    const char *t = str_of(hit, "type");
    return t ? t : str_of(hit, "kind");
}

static const char *abstract_of(const json_t *hit)
{
    const char *a = str_of(hit, "abstract");
    if (!a)
        a = str_of(hit, "summary");
    return a ? a : str_of(hit, "description");
}

/* Element i of a list member: a string, or an object's field member. */
static const char *elem_text(const json_t *e, const char *field)
{
    const char *s = json_is_string(e)
                        ? json_string_value(e)
                        : json_string_value(json_object_get(e, field));
    return s && *s ? s : NULL;
}

/* ---- CSV ---------------------------------------------------------------- */

static const char *const csv_columns[] = {
    "type",     "pid",          "title",     "year",
    "doi",      "code",         "status",    "journal",
    "authors",  "institutions", "countries", "instruments",
    "keywords", "citations",    "abstract",  "json"};
#define CSV_NCOLS (sizeof csv_columns / sizeof csv_columns[0])

/* One cell (v may be NULL: empty), after a comma unless first. */
static void csv_cell(wr *w, const char *v, int first)
{
    if (!first)
        put(w, ",", 1);
    if (!v || !*v)
        return;
    int defuse = strchr("=+-@\t\r", v[0]) != NULL;
    int quote = strpbrk(v, ",\"\r\n") != NULL;
    if (quote)
        put(w, "\"", 1);
    if (defuse)
        put(w, "'", 1);
    for (const char *p = v; *p;) {
        const char *q = strchr(p, '"');
        if (!q) {
            puts_(w, p);
            break;
        }
        put(w, p, (size_t)(q - p) + 1);
        put(w, "\"", 1); /* the quote doubled */
        p = q + 1;
    }
    if (quote)
        put(w, "\"", 1);
}

/* The names (field of objects, or strings) of list key joined with "; "
 * into b; distinct only when unique (first appearance kept). */
static ps_status csv_join(ps_buf *b, const json_t *hit, const char *key,
                          const char *field, int unique)
{
    const json_t *arr = json_object_get(hit, key);
    size_t i;
    json_t *e;
    ps_buf_reset(b);
    json_array_foreach (arr, i, e) {
        const char *s = elem_text(e, field);
        if (!s)
            continue;
        int seen = 0;
        for (size_t k = 0; unique && k < i && !seen; k++) {
            const char *t = elem_text(json_array_get(arr, k), field);
            seen = t && strcmp(t, s) == 0;
        }
        if (seen)
            continue;
        ps_status rc = ps_buf_printf(b, "%s%s", b->len ? "; " : "", s);
        if (rc != PS_OK)
            return rc;
    }
    return PS_OK;
}

static ps_status csv_record(const json_t *hit, wr *w)
{
    char nb[32];
    ps_buf tmp;
    ps_buf_init(&tmp, 0);
    ps_status rc = PS_OK;
    for (size_t c = 0; c < CSV_NCOLS && rc == PS_OK; c++) {
        const char *col = csv_columns[c];
        const char *v = NULL;
        if (strcmp(col, "type") == 0) {
            v = type_of(hit);
        } else if (strcmp(col, "authors") == 0) {
            rc = csv_join(&tmp, hit, "authors", "name", 0);
            v = tmp.data;
        } else if (strcmp(col, "institutions") == 0) {
            rc = csv_join(&tmp, hit, "institutions", "name", 1);
            v = tmp.data;
        } else if (strcmp(col, "countries") == 0) {
            rc = csv_join(&tmp, hit, "institutions", "country", 1);
            v = tmp.data;
        } else if (strcmp(col, "instruments") == 0) {
            rc = csv_join(&tmp, hit, "instruments", "name", 1);
            v = tmp.data;
        } else if (strcmp(col, "keywords") == 0) {
            rc = csv_join(&tmp, hit, "keywords", NULL, 0);
            v = tmp.data;
        } else if (strcmp(col, "abstract") == 0) {
            v = abstract_of(hit);
        } else {
            v = text_of(hit, col, nb);
        }
        if (rc == PS_OK)
            csv_cell(w, v, c == 0);
    }
    ps_buf_free(&tmp);
    if (rc != PS_OK && w->rc == PS_OK)
        w->rc = rc;
    put(w, "\r\n", 2);
    return w->rc;
}

/* ---- BibTeX ------------------------------------------------------------- */

/* TeX text: specials escaped, control characters as spaces. */
static void bib_text(wr *w, const char *s)
{
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        switch (c) {
        case '&':
        case '%':
        case '$':
        case '#':
        case '_': {
            char e[2] = {'\\', (char)c};
            put(w, e, 2);
            break;
        }
        case '{': puts_(w, "\\textbraceleft{}"); break;
        case '}': puts_(w, "\\textbraceright{}"); break;
        case '~': puts_(w, "\\textasciitilde{}"); break;
        case '^': puts_(w, "\\textasciicircum{}"); break;
        case '\\': puts_(w, "\\textbackslash{}"); break;
        default:
            if (c < 0x20 || c == 0x7f)
                put(w, " ", 1);
            else
                put(w, p, 1);
        }
    }
}

/* A verbatim field (doi, url): what would unbalance or break it
 * %-encoded. */
static void bib_verbatim(wr *w, const char *s)
{
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= 0x20 || c == 0x7f || c == '{' || c == '}' || c == '\\' ||
            c == '"') {
            char e[4];
            snprintf(e, sizeof e, "%%%02X", c);
            put(w, e, 3);
        } else {
            put(w, p, 1);
        }
    }
}

static void bib_field(wr *w, const char *name, const char *v, int verbatim)
{
    if (!v || !*v)
        return;
    put(w, ",\n  ", 4);
    puts_(w, name);
    put(w, " = {", 4);
    if (verbatim)
        bib_verbatim(w, v);
    else
        bib_text(w, v);
    put(w, "}", 1);
}

/* Does name hold the word "and" (which BibTeX would split on)? */
static int has_and(const char *name)
{
    for (const char *p = name; (p = strstr(p, "and")) != NULL; p += 3) {
        int before = p == name || p[-1] == ' ';
        int after = p[3] == ' ' || p[3] == '\0';
        if (before && after)
            return 1;
    }
    return 0;
}

/* The key's first part: the first author's family name folded to ASCII
 * letters, else the record's type. */
static void bib_key_name(const json_t *hit, char *out, size_t size)
{
    const char *first =
        elem_text(json_array_get(json_object_get(hit, "authors"), 0), "name");
    char key[96];
    out[0] = '\0';
    if (first && ps_match_name_key(key, sizeof key, first, NULL, NULL)) {
        key[strcspn(key, "|")] = '\0';
        snprintf(out, size, "%.24s", key);
    }
    if (!out[0]) {
        const char *t = type_of(hit);
        size_t k = 0;
        for (const char *p = t ? t : "record"; *p && k + 1 < size && k < 24;
             p++)
            if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))
                out[k++] = *p;
        out[k] = '\0';
        if (!k)
            snprintf(out, size, "record");
    }
}

/* The names (field of objects, or strings) of list key joined with sep
 * into b, unescaped. */
static ps_status bib_names(ps_buf *b, const json_t *hit, const char *key,
                           const char *field, const char *sep)
{
    size_t i;
    json_t *e;
    ps_buf_reset(b);
    json_array_foreach (json_object_get(hit, key), i, e) {
        const char *s = elem_text(e, field);
        if (!s)
            continue;
        ps_status rc = ps_buf_printf(b, "%s%s", b->len ? sep : "", s);
        if (rc != PS_OK)
            return rc;
    }
    return PS_OK;
}

static ps_status bib_record(const json_t *hit, size_t index, wr *w)
{
    char nb[32], keyname[32];
    const char *type = type_of(hit);
    const char *journal = str_of(hit, "journal");
    const char *year = text_of(hit, "year", nb);
    int is_pub = type && strcmp(type, "publication") == 0;
    int is_prop = type && strcmp(type, "proposal") == 0;
    int is_data = type && strcmp(type, "dataset") == 0;
    const char *entry = is_pub && journal ? "article"
                        : is_prop         ? "techreport"
                        : is_data         ? "dataset"
                                          : "misc";
    bib_key_name(hit, keyname, sizeof keyname);
    char head[128];
    snprintf(head, sizeof head, "@%s{%s%s-%zu", entry, keyname,
             year ? year : "nd", index + 1);
    puts_(w, head);
    bib_field(w, "title", str_of(hit, "title"), 0);

    /* Authors: " and " between names; a name that holds "and" braced. */
    size_t i;
    json_t *e;
    int na = 0;
    json_array_foreach (json_object_get(hit, "authors"), i, e) {
        const char *name = elem_text(e, "name");
        if (!name)
            continue;
        puts_(w, na++ ? " and " : ",\n  author = {");
        if (has_and(name))
            put(w, "{", 1);
        bib_text(w, name);
        if (has_and(name))
            put(w, "}", 1);
    }
    if (na)
        put(w, "}", 1);

    if (is_pub && journal)
        bib_field(w, "journal", journal, 0);
    if (is_prop) {
        const char *inst = elem_text(
            json_array_get(json_object_get(hit, "institutions"), 0), "name");
        bib_field(w, "institution", inst, 0);
        bib_field(w, "type", "Proposal", 0);
        bib_field(w, "number", str_of(hit, "code"), 0);
    }
    bib_field(w, "year", year, 0);
    bib_field(w, "doi", str_of(hit, "doi"), 1);
    ps_buf tmp;
    ps_buf_init(&tmp, 0);
    ps_status rc = bib_names(&tmp, hit, "keywords", NULL, ", ");
    if (rc == PS_OK)
        bib_field(w, "keywords", tmp.data, 0);
    bib_field(w, "abstract", abstract_of(hit), 0);
    /* A note: a proposal's status, the instruments. */
    if (rc == PS_OK)
        rc = bib_names(&tmp, hit, "instruments", "name", ", ");
    if (rc == PS_OK && (tmp.len || str_of(hit, "status"))) {
        char *instr = ps_buf_detach(&tmp);
        const char *status = str_of(hit, "status");
        rc = ps_buf_printf(
            &tmp, "%s%s%s%s%s", status ? "Status: " : "", status ? status : "",
            status && instr && *instr ? ". " : "",
            instr && *instr ? "Instruments: " : "", instr ? instr : "");
        ps_free(instr);
        if (rc == PS_OK)
            bib_field(w, "note", tmp.data, 0);
    }
    ps_buf_free(&tmp);
    bib_field(w, "url", str_of(hit, "json"), 1);
    if (rc != PS_OK && w->rc == PS_OK)
        w->rc = rc;
    puts_(w, "\n}\n\n");
    return w->rc;
}

/* ---- RIS ----------------------------------------------------------------- */

/* One "TAG  - value" line; line breaks and other control characters in
 * value become spaces, blanks at the ends go. Nothing for an empty
 * value. */
static void ris_line(wr *w, const char *tag, const char *v)
{
    if (!v)
        return;
    while (*v == ' ' || (unsigned char)*v < 0x20)
        if (!*v++)
            return;
    size_t n = strlen(v);
    while (n && ((unsigned char)v[n - 1] <= 0x20))
        n--;
    if (!n)
        return;
    puts_(w, tag);
    put(w, "  - ", 4);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        put(w, c < 0x20 || c == 0x7f ? " " : v + i, 1);
    }
    put(w, "\r\n", 2);
}

static void ris_list(wr *w, const char *tag, const json_t *hit, const char *key,
                     const char *field)
{
    size_t i;
    json_t *e;
    json_array_foreach (json_object_get(hit, key), i, e)
        ris_line(w, tag, elem_text(e, field));
}

static ps_status ris_record(const json_t *hit, wr *w)
{
    char nb[32];
    const char *type = type_of(hit);
    const char *journal = str_of(hit, "journal");
    int is_pub = type && strcmp(type, "publication") == 0;
    int is_data = type && strcmp(type, "dataset") == 0;
    ris_line(w, "TY", is_pub && journal ? "JOUR" : is_data ? "DATA" : "GEN");
    ris_line(w, "TI", str_of(hit, "title"));
    ris_list(w, "AU", hit, "authors", "name");
    ris_line(w, "PY", text_of(hit, "year", nb));
    ris_line(w, "JO", journal);
    ris_line(w, "DO", str_of(hit, "doi"));
    ris_list(w, "KW", hit, "keywords", NULL);
    ris_line(w, "AB", abstract_of(hit));
    if (type && strcmp(type, "proposal") == 0)
        ris_line(w, "M1", str_of(hit, "code"));
    const char *status = str_of(hit, "status");
    if (status) {
        char note[96];
        snprintf(note, sizeof note, "Status: %.80s", status);
        ris_line(w, "N1", note);
    }
    size_t i;
    json_t *e;
    json_array_foreach (json_object_get(hit, "instruments"), i, e) {
        const char *name = elem_text(e, "name");
        if (!name)
            continue;
        char note[160];
        snprintf(note, sizeof note, "Instrument: %.140s", name);
        ris_line(w, "N1", note);
    }
    ris_line(w, "UR", str_of(hit, "json"));
    ris_line(w, "ID", str_of(hit, "pid"));
    puts_(w, "ER  - \r\n\r\n");
    return w->rc;
}

/* ---- the API --------------------------------------------------------------
 */

static const struct {
    const char *name, *content_type, *extension;
} formats[] = {
    [PSI_EXPORT_CSV] = {"csv", "text/csv; charset=utf-8", "csv"},
    [PSI_EXPORT_BIBTEX] = {"bibtex", "application/x-bibtex", "bib"},
    [PSI_EXPORT_RIS] = {"ris", "application/x-research-info-systems", "ris"},
    [PSI_EXPORT_JSON] = {"json", "application/json", "json"},
};
#define NFORMATS (sizeof formats / sizeof formats[0])

static int format_ok(psi_export_format f) { return (unsigned)f < NFORMATS; }

int psi_export_format_parse(const char *name, psi_export_format *out)
{
    for (size_t i = 0; name && i < NFORMATS; i++)
        if (strcasecmp(name, formats[i].name) == 0) {
            *out = (psi_export_format)i;
            return 0;
        }
    return -1;
}

const char *psi_export_content_type(psi_export_format f)
{
    return format_ok(f) ? formats[f].content_type : "application/octet-stream";
}

const char *psi_export_extension(psi_export_format f)
{
    return format_ok(f) ? formats[f].extension : "bin";
}

ps_status psi_export_begin(psi_export_format f, ps_buf *out, ps_err *err)
{
    if (!format_ok(f) || !out)
        return ps_err_set(err, PS_ERR_INVALID, "bad export format or buffer");
    wr w = {out, PS_OK};
    size_t start = out->len;
    if (f == PSI_EXPORT_CSV) {
        for (size_t c = 0; c < CSV_NCOLS; c++)
            csv_cell(&w, csv_columns[c], c == 0);
        put(&w, "\r\n", 2);
    } else if (f == PSI_EXPORT_JSON) {
        put(&w, "[", 1);
    }
    return wr_end(&w, start, err);
}

ps_status psi_export_record(psi_export_format f, const json_t *hit,
                            size_t index, ps_buf *out, ps_err *err)
{
    if (!format_ok(f) || !out)
        return ps_err_set(err, PS_ERR_INVALID, "bad export format or buffer");
    if (!json_is_object(hit))
        return ps_err_set(err, PS_ERR_INVALID, "a hit to export is an object");
    wr w = {out, PS_OK};
    size_t start = out->len;
    switch (f) {
    case PSI_EXPORT_CSV: csv_record(hit, &w); break;
    case PSI_EXPORT_BIBTEX: bib_record(hit, index, &w); break;
    case PSI_EXPORT_RIS: ris_record(hit, &w); break;
    case PSI_EXPORT_JSON: {
        char *text = json_dumps(hit, JSON_COMPACT | JSON_REAL_PRECISION(16));
        if (!text) {
            w.rc = PS_ERR_NOMEM;
            break;
        }
        if (index)
            put(&w, ",", 1);
        puts_(&w, text);
        free(text);
        break;
    }
    }
    return wr_end(&w, start, err);
}

ps_status psi_export_end(psi_export_format f, ps_buf *out, ps_err *err)
{
    if (!format_ok(f) || !out)
        return ps_err_set(err, PS_ERR_INVALID, "bad export format or buffer");
    wr w = {out, PS_OK};
    size_t start = out->len;
    if (f == PSI_EXPORT_JSON)
        put(&w, "]\n", 2);
    return wr_end(&w, start, err);
}
