/*
 * store-match.c: the publication↔proposal matcher (API in match.h, design
 * in docs/matching.md). For each publication to examine it gathers the
 * proposals that share evidence with it (hard: the proposal's code in a
 * PDF mention, a DOI of the proposal's data in a mention, a reference or a
 * harvested citation; soft: proposal members among the authors, the
 * proposal's instruments named in the paper, similar title and abstract),
 * applies the filters (paper not older than the proposal; two kinds of soft
 * evidence without a hard one), scores the pairs and upserts them as
 * `publication-from-proposal` links, leaving confirmed and rejected links
 * alone. Which publications to examine comes from the change feed since
 * the checkpoint in meta (`match_seq`). It is not a search engine: it only
 * looks at records that share a code, a DOI, a person or an instrument.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "match.h"
#include "store-private.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MATCH_TEXT_MAX (64 * 1024) /* bytes of a text the similarity reads */
#define MATCH_WORDS_MAX 4096       /* words of a text the similarity keeps */
#define MATCH_CANDS_MAX 4096       /* proposals considered per publication */
#define MATCH_KEY_MAX 96

/* ---- similarity ---------------------------------------------------------- */

static const char *const stop_words[] = {
    "about", "above", "after", "again",  "all",     "also",   "and",
    "any",   "are",   "been",  "being",  "both",    "but",    "can",
    "could", "did",   "does",  "during", "each",    "for",    "from",
    "had",   "has",   "have",  "here",   "how",     "into",   "its",
    "more",  "most",  "new",   "not",    "now",     "only",   "other",
    "our",   "out",   "over",  "same",   "should",  "some",   "such",
    "than",  "that",  "the",   "their",  "them",    "then",   "there",
    "these", "they",  "this",  "those",  "through", "under",  "using",
    "use",   "used",  "very",  "was",    "were",    "what",   "when",
    "where", "which", "while", "who",    "will",    "with",   "within",
    "would", "you",   "your",  "study",  "studies", "result", "results",
    "show",  "shown"};

static int is_stop(const char *w)
{
    for (size_t i = 0; i < sizeof stop_words / sizeof stop_words[0]; i++)
        if (strcmp(w, stop_words[i]) == 0)
            return 1;
    return 0;
}

/* A light suffix stripper (plural, -ing, -ed, -ly), enough to equate
 * "crystals" and "crystal", "measured" and "measure". */
static void stem(char *w)
{
    size_t n = strlen(w);
    static const char *const suf[] = {"ies", "ing", "ed", "es", "ly", "s"};
    for (size_t i = 0; i < sizeof suf / sizeof suf[0]; i++) {
        size_t k = strlen(suf[i]);
        if (n <= k + 3 || strcmp(w + n - k, suf[i]) != 0)
            continue;
        if (k == 1 && w[n - 2] == 's')
            return; /* "glass", "process" */
        if (strcmp(suf[i], "ies") == 0) {
            w[n - 3] = 'y';
            w[n - 2] = '\0';
        } else {
            w[n - k] = '\0';
        }
        return;
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted content words of text (each a ps_malloc'd string). */
static size_t words_of(const char *text, char ***out)
{
    *out = NULL;
    if (!text)
        return 0;
    char **w = ps_malloc(MATCH_WORDS_MAX * sizeof *w);
    if (!w)
        return 0;
    size_t n = 0, len = strnlen(text, MATCH_TEXT_MAX);
    char cur[40];
    size_t k = 0;
    for (size_t i = 0; i <= len && n < MATCH_WORDS_MAX; i++) {
        unsigned char c = i < len ? (unsigned char)text[i] : ' ';
        if (isalpha(c) && c < 128) {
            if (k < sizeof cur - 1)
                cur[k++] = (char)tolower(c);
            continue;
        }
        if (k >= 3) {
            cur[k] = '\0';
            if (!is_stop(cur)) {
                stem(cur);
                w[n] = ps_strdup(cur);
                if (w[n])
                    n++;
            }
        }
        k = 0;
    }
    qsort(w, n, sizeof *w, cmp_str);
    *out = w;
    return n;
}

static void words_free(char **w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ps_free(w[i]);
    ps_free(w);
}

double ps_match_similarity(const char *a, const char *b)
{
    char **wa, **wb;
    size_t na = words_of(a, &wa), nb = words_of(b, &wb);
    double dot = 0, qa = 0, qb = 0;
    size_t i = 0, j = 0;
    /* Walk both sorted lists run by run: term frequencies on the fly. */
    while (i < na || j < nb) {
        int c = i >= na ? 1 : j >= nb ? -1 : strcmp(wa[i], wb[j]);
        const char *t = c <= 0 ? wa[i] : wb[j];
        double fa = 0, fb = 0;
        while (i < na && strcmp(wa[i], t) == 0)
            fa++, i++;
        while (j < nb && strcmp(wb[j], t) == 0)
            fb++, j++;
        dot += fa * fb;
        qa += fa * fa;
        qb += fb * fb;
    }
    words_free(wa, na);
    words_free(wb, nb);
    if (qa == 0 || qb == 0)
        return 0;
    return dot / (sqrt(qa) * sqrt(qb));
}

/* ---- names --------------------------------------------------------------- */

/* Lower-case ASCII letter of the UTF-8 character at s (Latin-1 letters
 * folded: "é" → 'e'), 0 for anything else; *len_out bytes consumed. */
static char fold_char(const unsigned char *s, size_t *len_out)
{
    /* U+00C0..U+00FF, each to its base letter ('.' for none). */
    static const char latin1[] = "aaaaaaaceeeeiiiidnooooo.ouuuuy.s"
                                 "aaaaaaaceeeeiiiidnooooo.ouuuuy.y";
    *len_out = 1;
    if (s[0] < 128)
        return isalpha(s[0]) ? (char)tolower(s[0]) : 0;
    if (s[0] == 0xC3 && s[1] >= 0x80 && s[1] <= 0xBF) {
        *len_out = 2;
        char c = latin1[(s[1] - 0x80) + 0];
        return c == '.' ? 0 : c;
    }
    /* Other multi-byte characters are skipped whole. */
    size_t n = 1;
    while (s[n] >= 0x80 && s[n] < 0xC0)
        n++;
    *len_out = n;
    return 0;
}

static size_t fold_into(char *out, size_t size, const char *s, size_t len)
{
    size_t k = 0, i = 0;
    while (i < len && s[i]) {
        size_t step;
        char c = fold_char((const unsigned char *)s + i, &step);
        if (c && k + 1 < size)
            out[k++] = c;
        i += step;
    }
    out[k] = '\0';
    return k;
}

int ps_match_name_key(char *out, size_t size, const char *full,
                      const char *given, const char *family)
{
    char fam[MATCH_KEY_MAX], ini = 0;
    size_t nf = 0;
    if (size)
        out[0] = '\0';
    if (size < 4)
        return 0;
    const char *comma = full ? strchr(full, ',') : NULL;
    if (family && *family) {
        nf = fold_into(fam, sizeof fam, family, strlen(family));
    } else if (full && comma) {
        nf = fold_into(fam, sizeof fam, full, (size_t)(comma - full));
    } else if (full) {
        const char *end = full + strlen(full);
        while (end > full && end[-1] == ' ')
            end--;
        const char *b = end;
        while (b > full && b[-1] != ' ')
            b--;
        nf = fold_into(fam, sizeof fam, b, (size_t)(end - b));
    }
    const char *g = given && *given ? given : NULL;
    if (!g && full)
        g = comma ? comma + 1 : full;
    for (size_t i = 0; g && g[i] && !ini;) {
        size_t step;
        ini = fold_char((const unsigned char *)g + i, &step);
        i += step;
    }
    if (!nf || !ini || nf + 3 > size)
        return 0;
    memcpy(out, fam, nf);
    out[nf] = '|';
    out[nf + 1] = ini;
    out[nf + 2] = '\0';
    return 1;
}

/* ---- candidates ---------------------------------------------------------- */

static const char link_type[] = "publication-from-proposal";

struct cand {
    int64_t prop;
    json_t *ev;       /* evidence items found so far */
    int code, doi;    /* hard evidence */
    int members;      /* distinct authors found among the members */
    int by_orcid;     /* ... of which by ORCID or the same person record */
    int instr;        /* instrument mentions */
    double code_conf; /* best confidence of a code mention */
    double doi_score; /* best data-DOI score */
    int kept;         /* passed the filters and was written */
};

struct run {
    ps_store *st;
    const ps_match_opts *opts;
    ps_match_stats *stats;
    struct cand *c;
    size_t n, cap;
    int64_t *ours; /* change sequence numbers this run gave */
    size_t nours, capours;
};

static struct cand *cand_get(struct run *r, int64_t prop, ps_err *err)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->c[i].prop == prop)
            return &r->c[i];
    if (r->n >= MATCH_CANDS_MAX)
        return NULL; /* enough: the rest is ignored, not an error */
    if (r->n == r->cap) {
        size_t nc = r->cap ? r->cap * 2 : 16;
        struct cand *p = ps_realloc(r->c, nc * sizeof *p);
        if (!p) {
            ps_err_set(err, PS_ERR_NOMEM, "out of memory");
            return NULL;
        }
        r->c = p;
        r->cap = nc;
    }
    struct cand *c = &r->c[r->n];
    memset(c, 0, sizeof *c);
    c->prop = prop;
    c->ev = json_array();
    if (!c->ev) {
        ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        return NULL;
    }
    r->n++;
    return c;
}

static void cands_clear(struct run *r)
{
    for (size_t i = 0; i < r->n; i++)
        json_decref(r->c[i].ev);
    r->n = 0;
}

/* Append item to c's evidence unless an item of the same kind and value is
 * there already (a code named twice is one piece of evidence). Steals
 * item. Returns 1 when appended. */
static int ev_add(struct cand *c, json_t *item)
{
    const char *k = json_string_value(json_object_get(item, "kind"));
    const char *v = json_string_value(json_object_get(item, "value"));
    size_t i;
    json_t *e;
    json_array_foreach (c->ev, i, e) {
        const char *k2 = json_string_value(json_object_get(e, "kind"));
        const char *v2 = json_string_value(json_object_get(e, "value"));
        if (k && k2 && v && v2 && strcmp(k, k2) == 0 && strcmp(v, v2) == 0) {
            json_decref(item);
            return 0;
        }
    }
    json_array_append_new(c->ev, item);
    return 1;
}

static const char *col_text(sqlite3_stmt *s, int i)
{
    return (const char *)sqlite3_column_text(s, i);
}

static json_t *text_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* Hard: the proposal's code in a mention, facility consistent. */
static ps_status find_codes(struct run *r, int64_t pub, ps_err *err)
{
    static const char sql[] =
        "SELECT pr.id, m.value, m.section, m.context, "
        "coalesce(m.confidence, 0.5), m.facility FROM mention m JOIN proposal "
        "pr ON pr.id IN (SELECT id FROM proposal WHERE code = m.value UNION "
        "SELECT id FROM proposal WHERE pid = m.value AND code IS NULL) AND "
        "pr.deleted = 0 LEFT JOIN facility f ON "
        "f.id = pr.facility_id WHERE m.publication_id = ?1 AND m.kind = "
        "'proposal' AND (m.facility IS NULL OR f.id IS NULL OR m.facility = "
        "f.name COLLATE NOCASE OR m.facility = f.pid COLLATE NOCASE) ORDER BY "
        "pr.id, m.offset";
    ps_status status = PS_OK;
    ps_store *st = r->st;
    sqlite3_stmt *s;
    STMT(s, sql);
    sqlite3_bind_int64(s, 1, pub);
    int rc;
    for (;;) {
        rc = sqlite3_step(s);
        if (rc != SQLITE_ROW)
            break;
        struct cand *c = cand_get(r, sqlite3_column_int64(s, 0), err);
        if (!c) {
            if (err && err->code == PS_ERR_NOMEM)
                FAIL(PS_ERR_NOMEM);
            continue;
        }
        double conf = sqlite3_column_double(s, 4);
        json_t *it =
            json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:f}", "tier", "hard",
                      "kind", "proposal-code", "value", col_text(s, 1),
                      "facility", text_or_null(col_text(s, 5)), "section",
                      text_or_null(col_text(s, 2)), "context",
                      text_or_null(col_text(s, 3)), "confidence", conf);
        if (!it)
            FAIL(ps_err_set(err, PS_ERR_NOMEM, "out of memory"));
        ev_add(c, it);
        c->code++;
        if (conf > c->code_conf)
            c->code_conf = conf;
    }
    if (rc != SQLITE_DONE)
        status = psi_db_error(st, err, "matching proposal codes");
out:
    if (s)
        sqlite3_reset(s);
    return status;
}

/* Hard: a DOI of the proposal's data in a mention, a reference, or a
 * harvested citation of the dataset. */
static ps_status find_data_dois(struct run *r, int64_t pub, ps_err *err)
{
    static const char sql[] =
        "SELECT l.dst_id, coalesce(d.doi, x.doi), d.pid, x.via, x.section "
        "FROM (SELECT value "
        "AS doi, 'mention' AS via, section FROM mention WHERE publication_id "
        "= ?1 AND kind = 'data-doi' UNION SELECT doi, 'reference', "
        "'references' FROM publication_reference WHERE publication_id = ?1 "
        "AND doi IS NOT NULL) x JOIN dataset d ON d.id IN (SELECT id FROM "
        "dataset WHERE doi = x.doi COLLATE NOCASE UNION SELECT id FROM "
        "dataset WHERE pid = x.doi) AND d.deleted = 0 JOIN link l ON l.type = "
        "'dataset-of-proposal' AND l.src_kind = 4 AND l.src_id = d.id AND "
        "l.dst_kind = 3 AND l.dst_id IS NOT NULL "
        "UNION SELECT p.dst_id, coalesce(d.doi, d.pid), d.pid, 'citation', "
        "NULL FROM link c "
        "JOIN dataset d ON d.id = c.dst_id AND d.deleted = 0 JOIN link p ON "
        "p.type = 'dataset-of-proposal' AND p.src_kind = 4 AND p.src_id = "
        "d.id AND p.dst_kind = 3 AND p.dst_id IS NOT NULL WHERE c.type = "
        "'publication-cites-data' AND c.src_kind = 9 AND c.src_id = ?1 "
        "ORDER BY 1, 3, 4";
    ps_status status = PS_OK;
    ps_store *st = r->st;
    sqlite3_stmt *s;
    STMT(s, sql);
    sqlite3_bind_int64(s, 1, pub);
    int rc;
    for (;;) {
        rc = sqlite3_step(s);
        if (rc != SQLITE_ROW)
            break;
        struct cand *c = cand_get(r, sqlite3_column_int64(s, 0), err);
        if (!c) {
            if (err && err->code == PS_ERR_NOMEM)
                FAIL(PS_ERR_NOMEM);
            continue;
        }
        const char *via = col_text(s, 3);
        const char *doi = col_text(s, 1);
        json_t *it = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "tier", "hard",
                               "kind", "data-doi", "value", doi ? doi : "",
                               "dataset", col_text(s, 2), "via", via, "section",
                               text_or_null(col_text(s, 4)));
        if (!it)
            FAIL(ps_err_set(err, PS_ERR_NOMEM, "out of memory"));
        ev_add(c, it);
        c->doi++;
        double sc = strcmp(via, "citation") == 0 ? 0.95 : 0.98;
        if (sc > c->doi_score)
            c->doi_score = sc;
    }
    if (rc != SQLITE_DONE)
        status = psi_db_error(st, err, "matching data DOIs");
out:
    if (s)
        sqlite3_reset(s);
    return status;
}

/* Soft: the proposal's instruments (of its datasets) named in the paper. */
static ps_status find_instruments(struct run *r, int64_t pub, ps_err *err)
{
    static const char sql[] =
        "SELECT DISTINCT l.dst_id, i.name, m.section FROM mention m JOIN "
        "instrument i ON i.deleted = 0 AND (upper(i.name) = upper(m.value) OR "
        "upper(i.pid) = upper(m.value) OR i.id IN (SELECT instrument_id FROM "
        "instrument_name n WHERE upper(n.name) = upper(m.value))) JOIN "
        "dataset d ON (d.instrument_id = i.id OR (d.instrument_id IS NULL AND "
        "d.instrument_pid = i.pid)) AND d.deleted = 0 JOIN link l ON l.type = "
        "'dataset-of-proposal' AND l.src_kind = 4 AND l.src_id = d.id AND "
        "l.dst_kind = 3 AND l.dst_id IS NOT NULL WHERE m.publication_id = ?1 "
        "AND m.kind = 'instrument' AND (m.facility IS NULL OR i.facility_id "
        "IS NULL OR EXISTS (SELECT 1 FROM facility f WHERE f.id = "
        "i.facility_id AND (f.name = m.facility COLLATE NOCASE OR f.pid = "
        "m.facility COLLATE NOCASE))) ORDER BY 1, 2, 3";
    ps_status status = PS_OK;
    ps_store *st = r->st;
    sqlite3_stmt *s;
    STMT(s, sql);
    sqlite3_bind_int64(s, 1, pub);
    int rc;
    for (;;) {
        rc = sqlite3_step(s);
        if (rc != SQLITE_ROW)
            break;
        struct cand *c = cand_get(r, sqlite3_column_int64(s, 0), err);
        if (!c) {
            if (err && err->code == PS_ERR_NOMEM)
                FAIL(PS_ERR_NOMEM);
            continue;
        }
        json_t *it = json_pack("{s:s, s:s, s:s, s:o}", "tier", "soft", "kind",
                               "instrument", "value", col_text(s, 1), "section",
                               text_or_null(col_text(s, 2)));
        if (!it)
            FAIL(ps_err_set(err, PS_ERR_NOMEM, "out of memory"));
        if (ev_add(c, it))
            c->instr++;
    }
    if (rc != SQLITE_DONE)
        status = psi_db_error(st, err, "matching instruments");
out:
    if (s)
        sqlite3_reset(s);
    return status;
}

struct person {
    int64_t id;
    char *orcid, *name, *family;
    char key[MATCH_KEY_MAX];
};

static void people_free(struct person *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ps_free(p[i].orcid);
        ps_free(p[i].name);
        ps_free(p[i].family);
    }
    ps_free(p);
}

/* The family name of a person as written (copy to free): family, else
 * from full (before a comma, else the last word); NULL when none. */
static char *family_as_written(const char *full, const char *family)
{
    if (family && *family)
        return ps_strdup(family);
    if (!full)
        return NULL;
    const char *comma = strchr(full, ',');
    const char *b = full, *e = comma;
    if (!comma) {
        e = full + strlen(full);
        while (e > full && e[-1] == ' ')
            e--;
        b = e;
        while (b > full && b[-1] != ' ')
            b--;
    }
    if (e <= b)
        return NULL;
    char *out = ps_malloc((size_t)(e - b) + 1);
    if (out) {
        memcpy(out, b, (size_t)(e - b));
        out[e - b] = '\0';
    }
    return out;
}

/* Soft: authors among the proposal members, by ORCID (or the same person
 * record), else by normalised family name and initial when the ORCIDs do
 * not contradict. */
static ps_status find_members(struct run *r, int64_t pub, ps_err *err)
{
    static const char authors[] =
        "SELECT p.id, p.orcid, p.full_name, p.given_name, p.family_name FROM "
        "member m JOIN person p ON p.id = m.person_id WHERE m.doc_kind = 9 "
        "AND m.doc_id = ?1 ORDER BY m.position LIMIT 500";
    static const char members[] =
        "SELECT m.doc_id, p.id, p.orcid, p.full_name, p.given_name, "
        "p.family_name FROM member m JOIN person p ON p.id = m.person_id "
        "JOIN proposal pr ON pr.id = m.doc_id AND pr.deleted = 0 WHERE "
        "m.doc_kind = 3 AND m.person_id IN (SELECT ?1 UNION SELECT id FROM "
        "person WHERE orcid = ?2 UNION SELECT id FROM person WHERE "
        "family_name = ?3 COLLATE NOCASE UNION SELECT id FROM person WHERE "
        "family_name IS NULL AND (full_name LIKE '% ' || ?3 OR full_name LIKE "
        "?3 || ',%')) ORDER BY m.doc_id, p.id";
    ps_status status = PS_OK;
    ps_store *st = r->st;
    sqlite3_stmt *s = NULL;
    struct person *a = NULL;
    size_t na = 0;
    int rc;
    a = ps_malloc(500 * sizeof *a);
    if (!a)
        FAIL(ps_err_set(err, PS_ERR_NOMEM, "out of memory"));
    STMT(s, authors);
    sqlite3_bind_int64(s, 1, pub);
    for (;;) {
        rc = sqlite3_step(s);
        if (rc != SQLITE_ROW)
            break;
        struct person *p = &a[na];
        memset(p, 0, sizeof *p);
        p->id = sqlite3_column_int64(s, 0);
        p->orcid = ps_strdup(col_text(s, 1));
        p->name = ps_strdup(col_text(s, 2));
        ps_match_name_key(p->key, sizeof p->key, col_text(s, 2), col_text(s, 3),
                          col_text(s, 4));
        p->family = family_as_written(col_text(s, 2), col_text(s, 4));
        na++;
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        FAIL(psi_db_error(st, err, "reading authors"));
    for (size_t i = 0; i < na; i++) {
        /* The family name to look up, as written. */
        const char *fam = a[i].family;
        STMT(s, members);
        sqlite3_bind_int64(s, 1, a[i].id);
        psi_bind_text(s, 2, a[i].orcid);
        psi_bind_text(s, 3, fam && fam[0] ? fam : NULL);
        int64_t last_prop = 0;
        for (;;) {
            rc = sqlite3_step(s);
            if (rc != SQLITE_ROW)
                break;
            int64_t prop = sqlite3_column_int64(s, 0);
            int64_t pid = sqlite3_column_int64(s, 1);
            const char *orcid = col_text(s, 2);
            const char *by = NULL;
            if (pid == a[i].id ||
                (orcid && a[i].orcid && strcmp(orcid, a[i].orcid) == 0)) {
                by = "orcid";
            } else if (!(orcid && a[i].orcid) && a[i].key[0]) {
                char key[MATCH_KEY_MAX];
                if (ps_match_name_key(key, sizeof key, col_text(s, 3),
                                      col_text(s, 4), col_text(s, 5)) &&
                    strcmp(key, a[i].key) == 0)
                    by = "name";
            }
            if (!by || prop == last_prop)
                continue; /* one author counts once per proposal */
            last_prop = prop;
            struct cand *c = cand_get(r, prop, err);
            if (!c) {
                if (err && err->code == PS_ERR_NOMEM) {
                    sqlite3_reset(s);
                    FAIL(PS_ERR_NOMEM);
                }
                continue;
            }
            json_t *it =
                json_pack("{s:s, s:s, s:s, s:s, s:o}", "tier", "soft", "kind",
                          "member", "value", a[i].name ? a[i].name : "", "by",
                          by, "orcid", text_or_null(a[i].orcid));
            if (!it) {
                sqlite3_reset(s);
                FAIL(ps_err_set(err, PS_ERR_NOMEM, "out of memory"));
            }
            if (ev_add(c, it)) {
                c->members++;
                if (by[0] == 'o')
                    c->by_orcid++;
            }
        }
        sqlite3_reset(s);
        if (rc != SQLITE_DONE)
            FAIL(psi_db_error(st, err, "matching members"));
    }
out:
    people_free(a, na);
    return status;
}

/* ---- scoring and writing ------------------------------------------------- */

static int year_of_ms(int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return 0;
    return tm.tm_year + 1900;
}

static double round3(double x) { return floor(x * 1000 + 0.5) / 1000; }

/* The score of a pair (docs/matching.md "Score"). */
static double pair_score(const struct cand *c, double sim, int has_sim,
                         int soft_kinds)
{
    if (c->code || c->doi) {
        double h = 0;
        if (c->code)
            h = 0.90 + 0.08 * c->code_conf;
        if (c->doi && c->doi_score > h)
            h = c->doi_score;
        h += 0.005 * soft_kinds;
        return round3(h > 1.0 ? 1.0 : h);
    }
    double s = 0;
    if (c->members) {
        s += c->by_orcid ? 0.35 : 0.30;
        s += 0.05 * (c->members > 3 ? 2 : c->members - 1);
    }
    if (c->instr)
        s += 0.20;
    if (has_sim)
        s += 0.40 * sim;
    return round3(s > 0.85 ? 0.85 : s);
}

static ps_status touch_pair(struct run *r, int64_t pub, int64_t prop,
                            ps_err *err)
{
    ps_status status = PS_OK;
    int64_t ids[2][2] = {{PS_KIND_PUBLICATION, pub}, {PS_KIND_PROPOSAL, prop}};
    for (int i = 0; i < 2; i++) {
        if (!ids[i][1])
            continue;
        CHECK(psi_touch(r->st, (ps_kind)ids[i][0], ids[i][1], err));
        if (r->nours == r->capours) {
            size_t nc = r->capours ? r->capours * 2 : 256;
            int64_t *p = ps_realloc(r->ours, nc * sizeof *p);
            if (!p)
                FAIL(ps_err_set(err, PS_ERR_NOMEM, "out of memory"));
            r->ours = p;
            r->capours = nc;
        }
        r->ours[r->nours++] = r->st->seq;
    }
out:
    return status;
}

/* Write one kept pair: insert, update a candidate of ours, or leave a
 * judged (confirmed/rejected) or non-inferred link alone. */
static ps_status write_pair(struct run *r, int64_t pub, const char *pub_pid,
                            int64_t prop, const char *prop_pid, double score,
                            const char *evidence, ps_err *err)
{
    static const char find[] =
        "SELECT id, state, provenance, score, evidence FROM link WHERE type = "
        "?1 AND src_kind = 9 AND src_ref = ?2 AND dst_kind = 3 AND dst_ref = "
        "?3";
    static const char ins[] =
        "INSERT INTO link (type, src_kind, src_ref, src_id, dst_kind, "
        "dst_ref, dst_id, provenance, score, evidence, state, created_at, "
        "updated_at) VALUES (?1, 9, ?2, ?3, 3, ?4, ?5, 1, ?6, ?7, 0, ?8, ?8)";
    static const char upd[] =
        "UPDATE link SET score = ?2, evidence = ?3, src_id = ?4, dst_id = ?5, "
        "updated_at = ?6 WHERE id = ?1";
    ps_status status = PS_OK;
    ps_store *st = r->st;
    sqlite3_stmt *s;
    STMT(s, find);
    psi_bind_text(s, 1, link_type);
    psi_bind_text(s, 2, pub_pid);
    psi_bind_text(s, 3, prop_pid);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(s, 0);
        int state = sqlite3_column_int(s, 1);
        int prov = sqlite3_column_int(s, 2);
        double old = sqlite3_column_double(s, 3);
        const char *oev = col_text(s, 4);
        int same = old == score && oev && strcmp(oev, evidence) == 0;
        sqlite3_reset(s);
        if (state != PS_LINK_CANDIDATE || prov != PS_LINK_INFERRED) {
            r->stats->kept_judged++;
            goto out;
        }
        if (same) {
            r->stats->unchanged++;
            goto out;
        }
        STMT(s, upd);
        sqlite3_bind_int64(s, 1, id);
        sqlite3_bind_double(s, 2, score);
        psi_bind_text(s, 3, evidence);
        sqlite3_bind_int64(s, 4, pub);
        sqlite3_bind_int64(s, 5, prop);
        sqlite3_bind_int64(s, 6, ps_now_ms());
        CHECK(psi_step_done(st, s, err, "updating a match"));
        r->stats->updated++;
    } else if (rc == SQLITE_DONE) {
        sqlite3_reset(s);
        STMT(s, ins);
        psi_bind_text(s, 1, link_type);
        psi_bind_text(s, 2, pub_pid);
        sqlite3_bind_int64(s, 3, pub);
        psi_bind_text(s, 4, prop_pid);
        sqlite3_bind_int64(s, 5, prop);
        sqlite3_bind_double(s, 6, score);
        psi_bind_text(s, 7, evidence);
        sqlite3_bind_int64(s, 8, ps_now_ms());
        CHECK(psi_step_done(st, s, err, "writing a match"));
        r->stats->inserted++;
    } else {
        sqlite3_reset(s);
        FAIL(psi_db_error(st, err, "reading a match"));
    }
    CHECK(touch_pair(r, pub, prop, err));
out:
    return status;
}

/* Remove this publication's candidates of ours whose pair was not kept. */
static ps_status remove_stale(struct run *r, int64_t pub, ps_err *err)
{
    static const char sql[] =
        "SELECT id, coalesce(dst_id, 0) FROM link WHERE type = ?1 AND "
        "src_kind = 9 AND src_id = ?2 AND state = 0 AND provenance = 1 AND "
        "EXISTS (SELECT 1 FROM json_each(link.evidence) WHERE "
        "json_extract(value, '$.tier') IS NOT NULL)";
    static const char del[] = "DELETE FROM link WHERE id = ?1";
    ps_status status = PS_OK;
    ps_store *st = r->st;
    sqlite3_stmt *s;
    int64_t(*gone)[2] = NULL;
    size_t ng = 0, capg = 0;
    STMT(s, sql);
    psi_bind_text(s, 1, link_type);
    sqlite3_bind_int64(s, 2, pub);
    int rc;
    for (;;) {
        rc = sqlite3_step(s);
        if (rc != SQLITE_ROW)
            break;
        int64_t prop = sqlite3_column_int64(s, 1);
        int kept = 0;
        for (size_t i = 0; i < r->n && !kept; i++)
            kept = r->c[i].prop == prop && r->c[i].kept;
        if (kept)
            continue;
        if (ng == capg) {
            size_t nc = capg ? capg * 2 : 8;
            int64_t(*p)[2] = ps_realloc(gone, nc * sizeof *p);
            if (!p) {
                sqlite3_reset(s);
                FAIL(ps_err_set(err, PS_ERR_NOMEM, "out of memory"));
            }
            gone = p;
            capg = nc;
        }
        gone[ng][0] = sqlite3_column_int64(s, 0);
        gone[ng][1] = prop;
        ng++;
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        FAIL(psi_db_error(st, err, "reading matches"));
    for (size_t i = 0; i < ng; i++) {
        STMT(s, del);
        sqlite3_bind_int64(s, 1, gone[i][0]);
        CHECK(psi_step_done(st, s, err, "removing a match"));
        CHECK(touch_pair(r, pub, gone[i][1], err));
        r->stats->removed++;
    }
out:
    ps_free(gone);
    return status;
}

/* Examine publication pub: gather, filter, score, write, clean up. */
static ps_status match_publication(struct run *r, int64_t pub, ps_err *err)
{
    static const char pub_sql[] =
        "SELECT pid, deleted, coalesce(year, 0), published_at, title, "
        "abstract FROM publication WHERE id = ?1";
    static const char prop_sql[] =
        "SELECT pid, coalesce(start_at, submitted_at), title, summary FROM "
        "proposal WHERE id = ?1";
    ps_status status = PS_OK;
    ps_store *st = r->st;
    sqlite3_stmt *s;
    char *pub_pid = NULL, *pub_text = NULL;
    int pub_year = 0, deleted = 0;
    ps_buf b;
    ps_buf_init(&b, 2 * MATCH_TEXT_MAX + 2);
    cands_clear(r);
    STMT(s, pub_sql);
    sqlite3_bind_int64(s, 1, pub);
    if (sqlite3_step(s) != SQLITE_ROW) {
        sqlite3_reset(s);
        goto out; /* gone: nothing to do */
    }
    pub_pid = ps_strdup(col_text(s, 0));
    deleted = sqlite3_column_int(s, 1);
    pub_year = sqlite3_column_int(s, 2);
    if (!pub_year && sqlite3_column_type(s, 3) != SQLITE_NULL)
        pub_year = year_of_ms(sqlite3_column_int64(s, 3));
    for (int i = 4; i <= 5; i++) {
        const char *t = col_text(s, i);
        if (t) {
            ps_buf_append(&b, t, strnlen(t, MATCH_TEXT_MAX));
            ps_buf_puts(&b, " ");
        }
    }
    pub_text = ps_buf_detach(&b);
    sqlite3_reset(s);
    if (!pub_pid)
        FAIL(ps_err_set(err, PS_ERR_NOMEM, "out of memory"));
    r->stats->publications++;
    if (!deleted) {
        CHECK(find_codes(r, pub, err));
        CHECK(find_data_dois(r, pub, err));
        CHECK(find_instruments(r, pub, err));
        CHECK(find_members(r, pub, err));
    }
    for (size_t i = 0; i < r->n; i++) {
        struct cand *c = &r->c[i];
        STMT(s, prop_sql);
        sqlite3_bind_int64(s, 1, c->prop);
        if (sqlite3_step(s) != SQLITE_ROW) {
            sqlite3_reset(s);
            continue;
        }
        char *prop_pid = ps_strdup(col_text(s, 0));
        int prop_year = sqlite3_column_type(s, 1) == SQLITE_NULL
                            ? 0
                            : year_of_ms(sqlite3_column_int64(s, 1));
        ps_buf_reset(&b);
        for (int k = 2; k <= 3; k++) {
            const char *t = col_text(s, k);
            if (t) {
                ps_buf_append(&b, t, strnlen(t, MATCH_TEXT_MAX));
                ps_buf_puts(&b, " ");
            }
        }
        sqlite3_reset(s);
        if (!prop_pid)
            FAIL(ps_err_set(err, PS_ERR_NOMEM, "out of memory"));
        /* Filter 1: the paper is not older than the proposal. */
        if (pub_year && prop_year && pub_year < prop_year) {
            r->stats->filtered_year++;
            ps_free(prop_pid);
            continue;
        }
        double sim = ps_match_similarity(pub_text, b.data ? b.data : "");
        int has_sim = sim >= r->opts->min_similarity;
        if (has_sim) {
            json_t *it = json_pack("{s:s, s:s, s:f}", "tier", "soft", "kind",
                                   "similarity", "cosine", round3(sim));
            if (!it) {
                ps_free(prop_pid);
                FAIL(ps_err_set(err, PS_ERR_NOMEM, "out of memory"));
            }
            json_array_append_new(c->ev, it);
        }
        int soft = (c->members > 0) + (c->instr > 0) + has_sim;
        /* Filter 2: without hard evidence, two kinds of soft evidence. */
        if (!c->code && !c->doi && soft < 2) {
            r->stats->filtered_soft++;
            ps_free(prop_pid);
            continue;
        }
        double score = pair_score(c, sim, has_sim, soft);
        char *ev = json_dumps(c->ev, JSON_COMPACT | JSON_REAL_PRECISION(6));
        if (!ev) {
            ps_free(prop_pid);
            FAIL(ps_err_set(err, PS_ERR_NOMEM, "out of memory"));
        }
        status = write_pair(r, pub, pub_pid, c->prop, prop_pid, score, ev, err);
        free(ev);
        ps_free(prop_pid);
        if (status != PS_OK)
            goto out;
        c->kept = 1;
    }
    CHECK(remove_stale(r, pub, err));
out:
    ps_free(pub_pid);
    ps_free(pub_text);
    ps_buf_free(&b);
    return status;
}

/* ---- the run ------------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

struct idset {
    int64_t *v;
    size_t n, cap;
};

static ps_status idset_add(struct idset *s, int64_t id, ps_err *err)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 256;
        int64_t *p = ps_realloc(s->v, nc * sizeof *p);
        if (!p)
            return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        s->v = p;
        s->cap = nc;
    }
    s->v[s->n++] = id;
    return PS_OK;
}

static void idset_sort_unique(struct idset *s)
{
    if (!s->n)
        return;
    qsort(s->v, s->n, sizeof *s->v, cmp_i64);
    size_t k = 1;
    for (size_t i = 1; i < s->n; i++)
        if (s->v[i] != s->v[k - 1])
            s->v[k++] = s->v[i];
    s->n = k;
}

/* Run sql (bound to ?1 = arg when arg > 0, ?2 = lo, ?3 = hi otherwise
 * unused) and add column 0 of every row to set. */
static ps_status collect_ids(ps_store *st, const char *sql, int64_t a1,
                             int64_t a2, struct idset *set, ps_err *err)
{
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    STMT(s, sql);
    sqlite3_bind_int64(s, 1, a1);
    if (sqlite3_bind_parameter_count(s) >= 2)
        sqlite3_bind_int64(s, 2, a2);
    int rc;
    for (;;) {
        rc = sqlite3_step(s);
        if (rc != SQLITE_ROW)
            break;
        if (sqlite3_column_type(s, 0) == SQLITE_NULL)
            continue;
        status = idset_add(set, sqlite3_column_int64(s, 0), err);
        if (status != PS_OK)
            break;
    }
    sqlite3_reset(s);
    if (status == PS_OK && rc != SQLITE_DONE)
        status = psi_db_error(st, err, "finding records to match");
out:
    return status;
}

/* Publications that may share evidence with proposal ?1. */
static const char pubs_of_proposal[] =
    "SELECT m.publication_id FROM proposal pr JOIN mention m ON m.kind = "
    "'proposal' AND m.value = coalesce(pr.code, pr.pid) WHERE pr.id = ?1 "
    "UNION SELECT m.publication_id FROM link l JOIN dataset d ON d.id = "
    "l.src_id JOIN mention m ON m.kind = 'data-doi' AND m.value = "
    "coalesce(d.doi, d.pid) COLLATE NOCASE WHERE l.type = "
    "'dataset-of-proposal' AND l.src_kind = 4 "
    "AND l.dst_kind = 3 AND l.dst_id = ?1 "
    "UNION SELECT r.publication_id FROM link l JOIN dataset d ON d.id = "
    "l.src_id JOIN publication_reference r ON r.doi = coalesce(d.doi, "
    "d.pid) WHERE l.type = "
    "'dataset-of-proposal' AND l.src_kind = 4 AND l.dst_kind = 3 AND "
    "l.dst_id = ?1 "
    "UNION SELECT c.src_id FROM link l JOIN link c ON c.type = "
    "'publication-cites-data' AND c.src_kind = 9 AND c.dst_kind = 4 AND "
    "c.dst_id = l.src_id WHERE l.type = 'dataset-of-proposal' AND "
    "l.src_kind = 4 AND l.dst_kind = 3 AND l.dst_id = ?1 "
    "UNION SELECT a.doc_id FROM member m JOIN person p ON p.id = m.person_id "
    "JOIN person q ON q.id = p.id OR q.orcid = p.orcid OR q.family_name = "
    "p.family_name COLLATE NOCASE OR (q.family_name IS NULL AND (q.full_name "
    "LIKE '% ' || p.family_name OR q.full_name LIKE p.family_name || ',%' OR "
    "q.full_name = p.full_name COLLATE NOCASE)) JOIN member a ON a.person_id = "
    "q.id AND "
    "a.doc_kind = 9 WHERE m.doc_kind = 3 AND m.doc_id = ?1 "
    "UNION SELECT m.publication_id FROM link l JOIN dataset d ON d.id = "
    "l.src_id JOIN instrument i ON i.id = d.instrument_id OR i.pid = "
    "d.instrument_pid JOIN mention m ON m.kind = 'instrument' AND "
    "(upper(m.value) = upper(i.name) OR upper(m.value) = upper(i.pid)) "
    "WHERE l.type = 'dataset-of-proposal' AND l.src_kind = 4 AND l.dst_kind "
    "= 3 AND l.dst_id = ?1 "
    "UNION SELECT src_id FROM link WHERE type = 'publication-from-proposal' "
    "AND dst_kind = 3 AND dst_id = ?1";

/* The checkpoint after a run that started after lo and saw up to hi: the
 * highest sequence number such that every change above hi up to it is one
 * this run made (its own links), so the next run skips them but not what
 * another writer did meanwhile. */
static ps_status advance_checkpoint(struct run *r, int64_t hi, ps_err *err)
{
    static const char changes[] = "SELECT seq FROM change WHERE seq > ?1 "
                                  "ORDER BY seq";
    static const char set[] =
        "INSERT INTO meta (key, value) VALUES ('match_seq', ?1) ON CONFLICT "
        "(key) DO UPDATE SET value = excluded.value";
    ps_status status = PS_OK;
    ps_store *st = r->st;
    sqlite3_stmt *s;
    int64_t cp = hi;
    if (r->nours)
        qsort(r->ours, r->nours, sizeof *r->ours, cmp_i64);
    STMT(s, changes);
    sqlite3_bind_int64(s, 1, hi);
    while (sqlite3_step(s) == SQLITE_ROW) {
        int64_t q = sqlite3_column_int64(s, 0);
        if (!r->nours ||
            !bsearch(&q, r->ours, r->nours, sizeof *r->ours, cmp_i64))
            break;
        cp = q;
    }
    sqlite3_reset(s);
    STMT(s, set);
    sqlite3_bind_int64(s, 1, cp);
    CHECK(psi_step_done(st, s, err, "saving the match checkpoint"));
    r->stats->checkpoint = cp;
out:
    return status;
}

ps_status ps_match_run(ps_store *st, const ps_match_opts *opts_in,
                       ps_match_stats *stats_out, ps_err *err)
{
    static const char get_cp[] =
        "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'match_seq'";
    static const char changed[] =
        "SELECT rec_id FROM change WHERE kind = ?1 AND seq > ?2 AND seq <= ?3";
    static const char all_pubs[] =
        "SELECT id FROM publication WHERE ?1 = ?1 ORDER BY id";
    ps_match_opts opts = PS_MATCH_OPTS_INIT;
    ps_match_stats stats;
    struct run r;
    struct idset pubs = {0}, props = {0};
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    int64_t lo = 0, hi = 0;
    memset(&stats, 0, sizeof stats);
    memset(&r, 0, sizeof r);
    if (opts_in)
        opts = *opts_in;
    if (!st || opts.batch < 0 || opts.min_similarity < 0 ||
        opts.min_similarity > 1)
        FAIL(ps_err_set(err, PS_ERR_INVALID, "bad matcher options"));
    if (st->readonly)
        FAIL(ps_err_set(err, PS_ERR_INVALID, "the store is read-only"));
    if (!opts.batch)
        opts.batch = 200;
    if (opts.min_similarity == 0)
        opts.min_similarity = 0.25;
    r.st = st;
    r.opts = &opts;
    r.stats = &stats;

    /* What to look at: a read of the checkpoint and the change feed. */
    CHECK(ps_store_begin(st, err));
    STMT(s, get_cp);
    if (sqlite3_step(s) == SQLITE_ROW)
        lo = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    if (opts.full)
        lo = 0;
    CHECK(ps_store_max_seq(st, &hi, err));
    if (opts.full) {
        CHECK(collect_ids(st, all_pubs, 0, 0, &pubs, err));
    } else {
        STMT(s, changed);
        for (int k = 0; k < 2; k++) {
            struct idset *set = k ? &props : &pubs;
            sqlite3_bind_int(s, 1, k ? PS_KIND_PROPOSAL : PS_KIND_PUBLICATION);
            sqlite3_bind_int64(s, 2, lo);
            sqlite3_bind_int64(s, 3, hi);
            while (sqlite3_step(s) == SQLITE_ROW)
                CHECK(idset_add(set, sqlite3_column_int64(s, 0), err));
            sqlite3_reset(s);
        }
        for (size_t i = 0; i < props.n; i++)
            CHECK(collect_ids(st, pubs_of_proposal, props.v[i], 0, &pubs, err));
        stats.proposals = (int64_t)props.n;
    }
    CHECK(ps_store_commit(st, err));
    idset_sort_unique(&pubs);

    /* One transaction per batch. */
    for (size_t i = 0; i < pubs.n;) {
        if (opts.cancel && *opts.cancel)
            FAIL(ps_err_set(err, PS_ERR_CANCELLED, "interrupted"));
        CHECK(ps_store_begin(st, err));
        size_t end = i + (size_t)opts.batch;
        for (; i < pubs.n && i < end; i++)
            CHECK(match_publication(&r, pubs.v[i], err));
        if (i >= pubs.n)
            CHECK(advance_checkpoint(&r, hi, err));
        CHECK(ps_store_commit(st, err));
    }
    if (!pubs.n) {
        CHECK(ps_store_begin(st, err));
        CHECK(advance_checkpoint(&r, hi, err));
        CHECK(ps_store_commit(st, err));
    }
out:
    if (status != PS_OK && st)
        ps_store_rollback(st);
    cands_clear(&r);
    ps_free(r.c);
    ps_free(r.ours);
    ps_free(pubs.v);
    ps_free(props.v);
    if (stats_out)
        *stats_out = stats;
    return status;
}

/* ---- judging and listing ------------------------------------------------- */

ps_status ps_match_judge(ps_store *st, int64_t link_id, ps_link_state state,
                         ps_err *err)
{
    /* The provenance a state gives: staff's word, or back to where the
     * link came from. */
#define TARGET_PROV                                                            \
    "(CASE WHEN ?2 != 0 THEN 3 WHEN EXISTS (SELECT 1 FROM link_source a "      \
    "WHERE a.link_id = link.id) THEN 0 ELSE 1 END)"
    static const char sql[] =
        "UPDATE link SET state = ?2, provenance = " TARGET_PROV
        ", updated_at = ?3 WHERE id = ?1 AND type = "
        "'publication-from-proposal' AND (state != ?2 OR provenance != "
        "" TARGET_PROV ") RETURNING coalesce(src_id, 0), coalesce(dst_id, 0)";
#undef TARGET_PROV
    static const char exists[] = "SELECT id FROM link WHERE id = ?1 AND type = "
                                 "'publication-from-proposal'";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    int own = 0;
    if (!st || (state != PS_LINK_CANDIDATE && state != PS_LINK_CONFIRMED &&
                state != PS_LINK_REJECTED))
        return ps_err_set(err, PS_ERR_INVALID,
                          "a match is a candidate, confirmed or rejected");
    CHECK(psi_begin_maybe(st, &own, err));
    STMT(s, sql);
    sqlite3_bind_int64(s, 1, link_id);
    sqlite3_bind_int(s, 2, (int)state);
    sqlite3_bind_int64(s, 3, ps_now_ms());
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(s);
        if (rc != SQLITE_DONE)
            FAIL(psi_db_error(st, err, "judging a match"));
        /* Nothing changed: judged so already, or no such link. */
        int64_t found = 0;
        STMT(s, exists);
        sqlite3_bind_int64(s, 1, link_id);
        CHECK(psi_step_id(st, s, &found, err, "judging a match"));
        if (!found)
            FAIL(ps_err_set(err, PS_ERR_NOTFOUND,
                            "no publication-proposal match with id %lld",
                            (long long)link_id));
        goto out;
    }
    int64_t pub = sqlite3_column_int64(s, 0), prop = sqlite3_column_int64(s, 1);
    sqlite3_step(s);
    sqlite3_reset(s);
    if (pub)
        CHECK(psi_touch(st, PS_KIND_PUBLICATION, pub, err));
    if (prop)
        CHECK(psi_touch(st, PS_KIND_PROPOSAL, prop, err));
out:
    return psi_end(st, own, status, err);
}

ps_status ps_match_list(ps_store *st, int state, json_t **out, ps_err *err)
{
    static const char sql[] =
        "SELECT l.id, l.src_ref, l.dst_ref, pr.code, l.score, l.state, "
        "l.provenance, l.evidence FROM link l LEFT JOIN proposal pr ON pr.id "
        "= l.dst_id WHERE l.type = 'publication-from-proposal' AND (?1 < 0 OR "
        "l.state = ?1) ORDER BY l.score DESC, l.id";
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    json_t *arr = json_array();
    *out = NULL;
    if (!arr)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    STMT(s, sql);
    sqlite3_bind_int(s, 1, state);
    int rc;
    for (;;) {
        rc = sqlite3_step(s);
        if (rc != SQLITE_ROW)
            break;
        const char *evs = col_text(s, 7);
        json_t *ev = evs ? json_loads(evs, 0, NULL) : NULL;
        int hard = 0;
        size_t i;
        json_t *e;
        json_array_foreach (ev, i, e) {
            const char *t = json_string_value(json_object_get(e, "tier"));
            const char *k = json_string_value(json_object_get(e, "kind"));
            if ((t && strcmp(t, "hard") == 0) ||
                (k && strcmp(k, "cites-data-of-proposal") == 0))
                hard = 1;
        }
        json_t *o = json_pack(
            "{s:I, s:s, s:s, s:o, s:f, s:s, s:i, s:i, s:o}", "id",
            (json_int_t)sqlite3_column_int64(s, 0), "publication",
            col_text(s, 1), "proposal", col_text(s, 2), "code",
            text_or_null(col_text(s, 3)), "score", sqlite3_column_double(s, 4),
            "tier", hard ? "hard" : "soft", "state", sqlite3_column_int(s, 5),
            "provenance", sqlite3_column_int(s, 6), "evidence",
            ev ? ev : json_array());
        if (!o || json_array_append_new(arr, o) != 0) {
            sqlite3_reset(s);
            FAIL(ps_err_set(err, PS_ERR_NOMEM, "out of memory"));
        }
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        FAIL(psi_db_error(st, err, "listing matches"));
    *out = arr;
    arr = NULL;
out:
    json_decref(arr);
    return status;
}

/* ---- the review API's listing -------------------------------------------- */

static const char *const state_names[] = {"candidate", "confirmed", "rejected"};
static const char *const prov_names[] = {"harvested", "inferred", "user",
                                         "validated"};

const char *ps_match_state_name(int state)
{
    return state >= 0 && state <= 2 ? state_names[state] : NULL;
}

int ps_match_state_parse(const char *name)
{
    for (int i = 0; name && i <= 2; i++)
        if (strcmp(name, state_names[i]) == 0)
            return i;
    return -1;
}

/* Is the link's evidence hard (a tier "hard" item, or the harvest-time
 * inference from cited data)? 1 or 0, as SQL over link l. */
#define HARD_SQL                                                               \
    "(CASE WHEN json_valid(l.evidence) THEN EXISTS (SELECT 1 FROM "            \
    "json_each(l.evidence) WHERE json_extract(value, '$.tier') = 'hard' OR "   \
    "json_extract(value, '$.kind') = 'cites-data-of-proposal') ELSE 0 END)"
/* The public may see record x at ?4 (0: anything). */
#define SEEN_SQL(x)                                                            \
    "(" x ".id IS NULL OR (" x ".deleted = 0 AND (" x ".visibility = 0 OR "    \
    "(" x ".visibility = 1 AND " x ".embargo_until <= ?4))))"
/* The links q selects: ?1 state (-1 any), ?2 tier (-1 any), ?3 instrument
 * pid (NULL any), ?4 now (0: any visibility), ?7 link id (0: any). */
#define MATCH_FROM                                                             \
    " FROM link l LEFT JOIN publication u ON u.id = l.src_id LEFT JOIN "       \
    "proposal pr ON pr.id = l.dst_id WHERE l.type = "                          \
    "'publication-from-proposal' AND (?7 = 0 OR l.id = ?7) AND (?1 < 0 OR "    \
    "l.state = ?1) AND (?2 < 0 OR " HARD_SQL " = ?2) AND (?3 IS NULL OR "      \
    "EXISTS (SELECT 1 FROM link dl JOIN dataset d ON d.id = dl.src_id AND "    \
    "d.deleted = 0 WHERE dl.type = 'dataset-of-proposal' AND dl.src_kind = 4 " \
    "AND dl.dst_kind = 3 AND dl.dst_id = l.dst_id AND (d.instrument_pid = ?3 " \
    "OR d.instrument_id = (SELECT id FROM instrument WHERE pid = ?3)))) AND "  \
    "(?4 = 0 OR (" SEEN_SQL("u") " AND " SEEN_SQL("pr") "))"

/* The year of a time in ms (NULL stays NULL), as the index takes it. */
#define YEAR_SQL(ms)                                                           \
    "CAST(strftime('%Y', " ms " / 1000, 'unixepoch') AS INTEGER)"

static const char match_count_sql[] =
    "SELECT count(*) " MATCH_FROM " AND ?5 = ?5 AND ?6 = ?6";
#define PUB_YEAR                                                               \
    "coalesce(u.year, " YEAR_SQL("coalesce(u.published_at, u.start_at)") ")"
#define PROP_YEAR YEAR_SQL("coalesce(pr.start_at, pr.submitted_at)")
static const char match_page_sql[] =
    "SELECT l.id, l.score, l.state, l.provenance, l.evidence, " HARD_SQL
    ", l.src_ref, u.pid, u.title, u.doi, " PUB_YEAR ", l.dst_ref, pr.id, "
    "pr.pid, pr.code, pr.title, pr.status, l.created_at, "
    "l.updated_at, " PROP_YEAR MATCH_FROM
    " ORDER BY l.score DESC, l.id LIMIT ?5 OFFSET ?6";
/* A proposal's instruments: those of its live datasets. */
static const char match_instr_sql[] =
    "SELECT DISTINCT coalesce(i.pid, d.instrument_pid), i.name FROM link dl "
    "JOIN dataset d ON d.id = dl.src_id AND d.deleted = 0 LEFT JOIN "
    "instrument i ON i.id = d.instrument_id WHERE dl.type = "
    "'dataset-of-proposal' AND dl.src_kind = 4 AND dl.dst_kind = 3 AND "
    "dl.dst_id = ?1 AND coalesce(i.pid, d.instrument_pid) IS NOT NULL ORDER "
    "BY 1";

static void bind_query(sqlite3_stmt *s, const ps_match_query *q)
{
    sqlite3_bind_int(s, 1, q->state);
    sqlite3_bind_int(s, 2, q->tier);
    psi_bind_text(s, 3, q->instrument);
    sqlite3_bind_int64(s, 4, q->now_ms);
    sqlite3_bind_int64(s, 5, q->limit > 0 ? q->limit : -1);
    sqlite3_bind_int64(s, 6, q->skip);
    sqlite3_bind_int64(s, 7, q->id);
}

static void put_text(json_t *o, const char *key, sqlite3_stmt *s, int i)
{
    if (sqlite3_column_type(s, i) != SQLITE_NULL)
        json_object_set_new(o, key, json_string(col_text(s, i)));
}

static json_t *time_or_null(sqlite3_stmt *s, int i)
{
    char buf[PS_TIME_BUFSZ];
    if (sqlite3_column_type(s, i) == SQLITE_NULL)
        return json_null();
    return json_string(ps_time_format(sqlite3_column_int64(s, i), buf));
}

/* The instruments of proposal prop as [{"pid","name"}]. */
static ps_status proposal_instruments(ps_store *st, int64_t prop, json_t **out,
                                      ps_err *err)
{
    ps_status status = PS_OK;
    sqlite3_stmt *s;
    json_t *arr = json_array();
    *out = NULL;
    if (!arr)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    STMT(s, match_instr_sql);
    sqlite3_bind_int64(s, 1, prop);
    int rc;
    for (;;) {
        rc = sqlite3_step(s);
        if (rc != SQLITE_ROW)
            break;
        json_t *o = json_pack("{s:s, s:o}", "pid", col_text(s, 0), "name",
                              text_or_null(col_text(s, 1)));
        if (!o || json_array_append_new(arr, o) != 0) {
            sqlite3_reset(s);
            FAIL(ps_err_set(err, PS_ERR_NOMEM, "out of memory"));
        }
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        FAIL(psi_db_error(st, err, "reading a proposal's instruments"));
    *out = arr;
    arr = NULL;
out:
    json_decref(arr);
    return status;
}

/* The review API's object of the match row s is on (match_page_sql). The
 * proposal's instruments are read later (another statement). */
static json_t *match_row_json(sqlite3_stmt *s)
{
    const char *evs = col_text(s, 4);
    json_t *ev = evs ? json_loads(evs, 0, NULL) : NULL;
    if (!json_is_array(ev)) {
        json_decref(ev);
        ev = json_array();
    }
    json_t *pub = json_object(), *prop = json_object();
    if (pub) {
        json_object_set_new(pub, "pid",
                            json_string(sqlite3_column_type(s, 7) != SQLITE_NULL
                                            ? col_text(s, 7)
                                            : col_text(s, 6)));
        put_text(pub, "title", s, 8);
        put_text(pub, "doi", s, 9);
        if (sqlite3_column_type(s, 10) != SQLITE_NULL)
            json_object_set_new(pub, "year",
                                json_integer(sqlite3_column_int64(s, 10)));
    }
    if (prop) {
        json_object_set_new(
            prop, "pid",
            json_string(sqlite3_column_type(s, 13) != SQLITE_NULL
                            ? col_text(s, 13)
                            : col_text(s, 11)));
        put_text(prop, "code", s, 14);
        put_text(prop, "title", s, 15);
        put_text(prop, "status", s, 16);
        if (sqlite3_column_type(s, 19) != SQLITE_NULL)
            json_object_set_new(prop, "year",
                                json_integer(sqlite3_column_int64(s, 19)));
        json_object_set_new(prop, "instruments", json_array());
    }
    const char *state = ps_match_state_name(sqlite3_column_int(s, 2));
    int pv = sqlite3_column_int(s, 3);
    return json_pack("{s:I, s:o, s:o, s:f, s:s, s:s, s:s, s:o, s:o, s:o}", "id",
                     (json_int_t)sqlite3_column_int64(s, 0), "publication", pub,
                     "proposal", prop, "score", sqlite3_column_double(s, 1),
                     "tier", sqlite3_column_int(s, 5) ? "hard" : "soft",
                     "state", state ? state : "candidate", "provenance",
                     pv >= 0 && pv <= 3 ? prov_names[pv] : "inferred",
                     "evidence", ev, "created_at", time_or_null(s, 17),
                     "updated_at", time_or_null(s, 18));
}

ps_status ps_match_find(ps_store *st, json_t **out, const ps_match_query *q,
                        ps_err *err)
{
    ps_status status = PS_OK;
    sqlite3_stmt *s = NULL;
    json_t *res = NULL;
    int64_t(*props)[2] = NULL; /* (result index, proposal id) */
    size_t nprops = 0;
    int snap = 0;
    *out = NULL;
    if (!st || !q || q->version != PS_MATCH_QUERY_VERSION || q->state < -1 ||
        q->state > 2 || q->tier < -1 || q->tier > 1 || q->limit < 0 ||
        q->skip < 0 || q->id < 0)
        return ps_err_set(err, PS_ERR_INVALID, "bad match query");
    res = json_array();
    if (!res)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    if (!st->in_txn && !st->in_read) {
        ps_err e = PS_ERR_INIT;
        snap = ps_store_read_begin(st, &e) == PS_OK;
    }
    int64_t count = 0;
    STMT(s, match_count_sql);
    bind_query(s, q);
    CHECK(psi_step_id(st, s, &count, err, "counting matches"));
    STMT(s, match_page_sql);
    bind_query(s, q);
    size_t cap = 0;
    int rc;
    for (;;) {
        rc = sqlite3_step(s);
        if (rc != SQLITE_ROW)
            break;
        json_t *o = match_row_json(s);
        if (!o || json_array_append_new(res, o) != 0)
            FAIL(ps_err_set(err, PS_ERR_NOMEM, "out of memory"));
        if (sqlite3_column_type(s, 12) == SQLITE_NULL)
            continue;
        if (nprops == cap) {
            size_t nc = cap ? cap * 2 : 32;
            int64_t(*p)[2] = ps_realloc(props, nc * sizeof *props);
            if (!p)
                FAIL(ps_err_set(err, PS_ERR_NOMEM, "out of memory"));
            props = p;
            cap = nc;
        }
        props[nprops][0] = (int64_t)json_array_size(res) - 1;
        props[nprops][1] = sqlite3_column_int64(s, 12);
        nprops++;
    }
    if (rc != SQLITE_DONE)
        FAIL(psi_db_error(st, err, "listing matches"));
    sqlite3_reset(s);
    s = NULL;
    for (size_t i = 0; i < nprops; i++) {
        json_t *instr = NULL;
        CHECK(proposal_instruments(st, props[i][1], &instr, err));
        json_t *prop = json_object_get(json_array_get(res, (size_t)props[i][0]),
                                       "proposal");
        json_object_set_new(prop, "instruments", instr);
    }
    *out = json_pack("{s:I, s:o}", "count", (json_int_t)count, "results", res);
    res = NULL;
    if (!*out)
        FAIL(ps_err_set(err, PS_ERR_NOMEM, "out of memory"));
out:
    if (s)
        sqlite3_reset(s);
    if (snap)
        ps_store_read_end(st);
    ps_free(props);
    json_decref(res);
    return status;
}

ps_status ps_match_get(ps_store *st, json_t **out, int64_t link_id,
                       int64_t now_ms, ps_err *err)
{
    ps_match_query q = PS_MATCH_QUERY_INIT;
    json_t *all = NULL;
    *out = NULL;
    if (link_id <= 0)
        return ps_err_set(err, PS_ERR_NOTFOUND, "no match with id %lld",
                          (long long)link_id);
    q.id = link_id;
    q.now_ms = now_ms;
    ps_status rc = ps_match_find(st, &all, &q, err);
    if (rc != PS_OK)
        return rc;
    json_t *one = json_array_get(json_object_get(all, "results"), 0);
    if (!one) {
        json_decref(all);
        return ps_err_set(err, PS_ERR_NOTFOUND, "no match with id %lld",
                          (long long)link_id);
    }
    *out = json_incref(one);
    json_decref(all);
    return PS_OK;
}
