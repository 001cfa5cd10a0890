/*
 * crossref.c: the "crossref" source: the Crossref REST API's /works list
 * (api.crossref.org, or any server answering the same JSON). It pages with
 * deep-paging cursors (cursor=* then message.next-cursor, rows = page_size
 * up to Crossref's 1000), filters by the source's options (a raw filter
 * string, prefix, member, funder, a query, a select list) and, once a
 * listing has completed, harvests incrementally with from-index-date: the
 * day the last complete listing started. The operator's contact goes in the
 * mailto= parameter (and, by the core, in the User-Agent): Crossref's
 * polite pool. The rate Crossref announces in X-Rate-Limit-Limit /
 * X-Rate-Limit-Interval and 429 back-offs are obeyed by psi_run_fetch.
 *
 * Each work becomes a publication (or a dataset when its type is
 * "dataset") whose pid is its DOI: title and subtitle, authors and editors
 * in order with ORCID and affiliations (ROR when given), journal,
 * year, release date, abstract without its JATS markup, subjects as
 * keywords, licence, type; references with a DOI and relation{} entries
 * with a DOI become links. docs/harvesting.md (section `type = crossref`) has
 * the crosswalk field by field, with what is kept only in the raw record and
 * why.
 *
 * Checkpoints: "resume" (the cursor of the next page, only when cursors are
 * positional: see resumable()), "listing_started" (the day the current
 * listing began) and "since" (the day the last complete listing began). A
 * cursor Crossref no longer knows (HTTP 400 or 404) restarts the listing
 * from "since". This file is not the fetching (harvest.c) nor the store.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "harvest-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CROSSREF_MAX_ROWS 1000 /* Crossref's ceiling on rows */
#define MAX_PER_WORK 10000     /* authors, references, relations, subjects */
#define MAX_RESTARTS 2         /* listings restarted after a stale cursor */

const ps_harvest_option psi_crossref_options[] = {
    {"filter", "raw Crossref filter, e.g. prefix:10.1107,type:journal-article"},
    {"prefix", "DOI prefix(es), comma-separated: prefix:... filters"},
    {"member", "Crossref member id(s), comma-separated: member:... filters"},
    {"funder", "funder DOI(s), comma-separated: funder:... filters"},
    {"query", "free-text query= of the /works list"},
    {"select", "fields to ask for (select=); DOI and title are always added"},
    {NULL, NULL}};

/* DOI prefixes of facility data (ILL, ESRF, Materials Cloud): a work
 * pointing at one points at a dataset. */
static const char *const data_prefixes[] = {"10.5291/", "10.15151/",
                                            "10.24435/", NULL};

/* ---- small helpers ------------------------------------------------------ */

static int is_data_doi(const char *doi)
{
    for (size_t i = 0; data_prefixes[i]; i++)
        if (ps_str_startswith(doi, data_prefixes[i]))
            return 1;
    return 0;
}

/* The first element of a string array member, or NULL (empty strings are
 * NULL). */
static const char *first_str(const json_t *o, const char *key)
{
    json_t *v = json_array_get(json_object_get(o, key), 0);
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    return s && *s ? s : NULL;
}

/* Append to b; *bad is set when memory runs out. */
static void app(ps_buf *b, const void *data, size_t len, int *bad)
{
    if (ps_buf_append(b, data, len) != PS_OK)
        *bad = 1;
}

/* Append the UTF-8 encoding of code point cp. */
static void put_utf8(ps_buf *b, unsigned long cp, int *bad)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    app(b, u, n, bad);
}

/* Decode the XML entity at s (s[0] == '&') into b; returns the bytes it
 * took, or 0 when it is not an entity (the '&' is then kept as is). */
static size_t put_entity(ps_buf *b, const char *s, int *bad)
{
    static const struct {
        const char *name;
        char c;
    } named[] = {{"&lt;", '<'},   {"&gt;", '>'},    {"&amp;", '&'},
                 {"&quot;", '"'}, {"&apos;", '\''}, {NULL, 0}};
    for (size_t i = 0; named[i].name; i++)
        if (ps_str_startswith(s, named[i].name)) {
            app(b, &named[i].c, 1, bad);
            return strlen(named[i].name);
        }
    if (s[1] != '#')
        return 0;
    int hex = s[2] == 'x' || s[2] == 'X';
    const char *p = s + (hex ? 3 : 2);
    char *end;
    unsigned long cp = strtoul(p, &end, hex ? 16 : 10);
    if (end == p || *end != ';' || end - p > 8 || cp == 0 || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    put_utf8(b, cp, bad);
    return (size_t)(end - s) + 1;
}

/* Is the tag starting at s (after '<' and an optional '/') one whose end
 * separates words (a paragraph, a section, a title, a list item)? */
static int block_tag(const char *s)
{
    static const char *const blocks[] = {"p",    "sec",   "title", "list-item",
                                         "list", "break", "br",    NULL};
    if (*s == '/')
        s++;
    const char *colon = strchr(s, ':');
    const char *gt = strchr(s, '>');
    if (colon && gt && colon < gt)
        s = colon + 1;
    size_t n = strcspn(s, " \t\r\n/>");
    for (size_t i = 0; blocks[i]; i++)
        if (strlen(blocks[i]) == n && strncasecmp(s, blocks[i], n) == 0)
            return 1;
    return 0;
}

/* Text without markup: JATS (or HTML) tags removed, the content of
 * <jats:title> elements dropped (the "Abstract" heading), entities
 * decoded, white space collapsed. A '<' that does not open a tag stays.
 * Returns a new string (ps_free), NULL when nothing is left or out of
 * memory (then a title is missing: the work is rejected, not lost for
 * good, since the next listing sees it again). */
static char *strip_markup(const char *s)
{
    ps_buf b;
    ps_buf_init(&b, 0);
    int in_title = 0, space = 0, bad = 0;
    for (const char *p = s; *p;) {
        if (*p == '<' &&
            (p[1] == '/' || p[1] == '!' || p[1] == '?' ||
             (p[1] >= 'a' && p[1] <= 'z') || (p[1] >= 'A' && p[1] <= 'Z'))) {
            const char *gt = strchr(p, '>');
            if (!gt)
                break; /* an unclosed tag: drop the rest */
            const char *name = p[1] == '/' ? p + 2 : p + 1;
            const char *colon = memchr(name, ':', (size_t)(gt - name));
            const char *local = colon ? colon + 1 : name;
            if (strncasecmp(local, "title", 5) == 0 &&
                strchr(" \t\r\n/>", local[5]))
                in_title = p[1] != '/' && gt[-1] != '/';
            if (block_tag(p + 1))
                space = 1;
            p = gt + 1;
            continue;
        }
        if (in_title) {
            p++;
            continue;
        }
        if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
            space = 1;
            p++;
            continue;
        }
        if (space && b.len)
            app(&b, " ", 1, &bad);
        space = 0;
        size_t took = *p == '&' ? put_entity(&b, p, &bad) : 0;
        if (!took) {
            app(&b, p, 1, &bad);
            took = 1;
        }
        p += took;
    }
    if (!b.len || bad) {
        ps_buf_free(&b);
        return NULL;
    }
    return ps_buf_detach(&b);
}

/* A Crossref date object ({"date-parts":[[2018,4,1]]}) as "2018-04-01"
 * (or "2018-04", "2018") into buf; *year gets the year. 0 when the date
 * has parts, 1 when it has none ([[]] or [[null]]: no date), -1 when they
 * are not numbers in range. */
static int date_text(const json_t *d, char *buf, size_t size, int *year)
{
    json_t *parts = json_array_get(json_object_get(d, "date-parts"), 0);
    size_t n = json_array_size(parts);
    long v[3] = {0, 0, 0};
    *year = 0;
    if (!n || json_is_null(json_array_get(parts, 0)))
        return 1;
    if (n > 3)
        n = 3;
    for (size_t i = 0; i < n; i++) {
        json_t *x = json_array_get(parts, i);
        if (json_is_integer(x))
            v[i] = (long)json_integer_value(x);
        else if (json_is_string(x))
            v[i] = strtol(json_string_value(x), NULL, 10);
        else
            return -1;
    }
    if (v[0] < 1 || v[0] > 9999 || (n > 1 && (v[1] < 1 || v[1] > 12)) ||
        (n > 2 && (v[2] < 1 || v[2] > 31)))
        return -1;
    *year = (int)v[0];
    if (n == 1)
        snprintf(buf, size, "%04ld", v[0]);
    else if (n == 2)
        snprintf(buf, size, "%04ld-%02ld", v[0], v[1]);
    else
        snprintf(buf, size, "%04ld-%02ld-%02ld", v[0], v[1], v[2]);
    return 0;
}

/* ---- mapping one work --------------------------------------------------- */

/* Everything a mapped work borrows or owns until it is stored. */
typedef struct work {
    ps_member_in *members;
    size_t nmembers;
    const char **keywords;
    size_t nkeywords;
    psi_strs owned; /* strings the work's fields point into */
    int nomem;
} work;

static void work_free(work *w)
{
    ps_free(w->members);
    ps_free(w->keywords);
    psi_strs_free(&w->owned);
    memset(w, 0, sizeof *w);
}

/* Keep s (allocated) until the work is stored; NULL stays NULL. */
static const char *own(work *w, char *s)
{
    if (!s)
        return NULL;
    const char *kept = psi_strs_keep(&w->owned, s);
    w->nomem |= w->owned.nomem;
    return kept;
}

/* The same for a string that cannot be NULL unless memory ran out (from
 * ps_asprintf). */
static const char *own_new(work *w, char *s)
{
    if (!s)
        w->nomem = 1;
    return own(w, s);
}

/* The 16-character ORCID iD of an ORCID value ("http://orcid.org/0000-
 * 0002-4869-9338" or the bare iD), NULL when it is not one. */
static const char *orcid_bare(const char *s)
{
    if (!s)
        return NULL;
    const char *slash = strrchr(s, '/');
    const char *id = slash ? slash + 1 : s;
    if (strlen(id) != 19)
        return NULL;
    for (int i = 0; i < 19; i++) {
        char c = id[i];
        int ok = (i == 4 || i == 9 || i == 14)
                     ? c == '-'
                     : (c >= '0' && c <= '9') || (i == 18 && c == 'X');
        if (!ok)
            return NULL;
    }
    return id;
}

/* Affiliation aff of a contributor: its name, and its ROR IRI when its
 * id[] has one. 0 when it has no name. */
static int map_affiliation(work *w, const json_t *aff, ps_institution_in *inst)
{
    const char *name = ps_json_str(aff, "name");
    if (!name || !*name)
        return 0;
    inst->name = name;
    size_t i;
    json_t *id;
    json_array_foreach (json_object_get(aff, "id"), i, id) {
        const char *type = ps_json_str(id, "id-type");
        const char *v = ps_json_str(id, "id");
        if (!type || !v || strcasecmp(type, "ROR") != 0)
            continue;
        const char *slash = strrchr(v, '/');
        const char *bare = slash ? slash + 1 : v;
        if (*bare)
            inst->pid = own_new(w, ps_asprintf("https://ror.org/%s", bare));
        break;
    }
    return 1;
}

/* The members a contributor gives: one per affiliation (a PaN member is a
 * person with one affiliation), or one without affiliation. */
static size_t member_rows(const json_t *p)
{
    size_t n = json_array_size(json_object_get(p, "affiliation"));
    return n ? n : 1;
}

/* Authors then editors, in the order Crossref lists them, except that
 * authors whose sequence is "first" come first; a contributor with several
 * affiliations is one member per affiliation, as in DataCite's crosswalk. */
static void map_members(psi_run *run, const json_t *rec, const char *doi,
                        work *w)
{
    static const char *const lists[] = {"author", "editor"};
    static const char *const roles[] = {"author", "editor"};
    size_t total = 0, i;
    json_t *p;
    for (size_t l = 0; l < 2; l++)
        json_array_foreach (json_object_get(rec, lists[l]), i, p)
            total += member_rows(p);
    if (!total)
        return;
    if (total > MAX_PER_WORK) {
        char note[200];
        snprintf(note, sizeof note,
                 "%s: %zu contributors and affiliations, only the first %d "
                 "kept",
                 doi, total, MAX_PER_WORK);
        psi_run_note(run, note);
        total = MAX_PER_WORK;
    }
    w->members = ps_calloc(total, sizeof *w->members);
    if (!w->members) {
        w->nomem = 1;
        return;
    }
    /* Passes: authors with sequence "first", the other authors, editors. */
    for (size_t pass = 0; pass < 3; pass++) {
        size_t l = pass < 2 ? 0 : 1;
        json_array_foreach (json_object_get(rec, lists[l]), i, p) {
            if (!json_is_object(p))
                continue;
            const char *seq = ps_json_str(p, "sequence");
            int first = l == 0 && seq && strcmp(seq, "first") == 0;
            if ((pass == 0 && !first) || (pass == 1 && first))
                continue;
            const char *given = ps_json_str(p, "given");
            const char *family = ps_json_str(p, "family");
            const char *name = ps_json_str(p, "name"); /* organisations */
            const char *orcid = orcid_bare(ps_json_str(p, "ORCID"));
            if (!family && !name)
                continue;
            ps_person_in person = {0};
            person.given_name = given;
            person.family_name = family;
            /* "Family, Given", as DataCite names creators. */
            person.full_name =
                family
                    ? (given ? own_new(w, ps_asprintf("%s, %s", family, given))
                             : family)
                    : name;
            person.orcid = orcid;
            person.pid =
                orcid ? own_new(w, ps_asprintf("https://orcid.org/%s", orcid))
                      : own_new(w, ps_asprintf("crossref:%s#%s-%zu", doi,
                                               roles[l], i + 1));
            json_t *affs = json_object_get(p, "affiliation");
            size_t naff = json_array_size(affs), added = 0;
            /* One member per named affiliation; one without affiliation
             * when none has a name. */
            for (size_t k = 0; k <= naff; k++) {
                if (k == naff && added)
                    break;
                if (w->nmembers >= total)
                    return;
                ps_member_in *m = &w->members[w->nmembers];
                if (k < naff && !map_affiliation(w, json_array_get(affs, k),
                                                 &m->institution))
                    continue;
                m->role = roles[l];
                m->person = person;
                w->nmembers++;
                added++;
            }
        }
    }
}

static void map_keywords(psi_run *run, const json_t *rec, const char *doi,
                         work *w)
{
    json_t *arr = json_object_get(rec, "subject");
    size_t n = json_array_size(arr);
    if (!n)
        return;
    if (n > MAX_PER_WORK) {
        char note[160];
        snprintf(note, sizeof note, "%s: %zu subjects, only the first %d kept",
                 doi, n, MAX_PER_WORK);
        psi_run_note(run, note);
        n = MAX_PER_WORK;
    }
    w->keywords = ps_calloc(n, sizeof *w->keywords);
    if (!w->keywords) {
        w->nomem = 1;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(arr, i);
        if (json_is_string(s) && *json_string_value(s))
            w->keywords[w->nkeywords++] = json_string_value(s);
    }
}

/* The release date: published, else published-online, published-print,
 * issued. A date that is not one is a note, never a failure. */
static int64_t release_of(psi_run *run, const json_t *rec, const char *doi)
{
    static const char *const keys[] = {"published", "published-online",
                                       "published-print", "issued", NULL};
    for (size_t i = 0; keys[i]; i++) {
        json_t *d = json_object_get(rec, keys[i]);
        char text[32];
        int year;
        if (!d)
            continue;
        int r = date_text(d, text, sizeof text, &year);
        int64_t ms;
        if (r == 0 && ps_time_parse(text, &ms) == PS_OK)
            return ms;
        if (r < 0) {
            char note[160];
            snprintf(note, sizeof note, "%s: %s is not a date", doi, keys[i]);
            psi_run_note(run, note);
        }
    }
    return PS_TIME_NONE;
}

static int year_of(const json_t *rec)
{
    static const char *const keys[] = {"issued", "published", "published-print",
                                       "published-online", NULL};
    for (size_t i = 0; keys[i]; i++) {
        char text[32];
        int year;
        if (date_text(json_object_get(rec, keys[i]), text, sizeof text,
                      &year) == 0)
            return year;
    }
    return 0;
}

/* One link from the work to the DOI target (a dataset when its prefix is
 * a facility data prefix), plus publication-cites-data when a publication
 * cites, references or is supplemented by a dataset. */
static ps_status link_to(psi_run *run, const char *type, ps_kind kind,
                         int64_t id, const char *target, ps_err *err)
{
    const char *doi = psi_doi_bare(target);
    if (!doi)
        return PS_OK;
    int data = is_data_doi(doi);
    ps_kind dst = data ? PS_KIND_DATASET : PS_KIND_PUBLICATION;
    ps_status rc = psi_run_link(run, type, kind, id, dst, doi, err);
    if (rc == PS_OK && data && kind == PS_KIND_PUBLICATION &&
        (strcmp(type, "cites") == 0 || strcmp(type, "references") == 0 ||
         strcmp(type, "is-supplemented-by") == 0))
        rc = psi_run_link(run, "publication-cites-data", kind, id, dst, doi,
                          err);
    return rc;
}

/* A link the store refuses (PS_ERR_INVALID: a target it cannot take) is a
 * note, not a reason to reject the work already stored. */
static ps_status link_ok(psi_run *run, const char *doi, ps_status rc,
                         ps_err *err)
{
    if (rc != PS_ERR_INVALID)
        return rc;
    char note[300];
    snprintf(note, sizeof note, "%s: a link was refused: %s", doi,
             err ? err->msg : "invalid");
    psi_run_note(run, note);
    ps_err_clear(err);
    return PS_OK;
}

/* reference[] entries with a DOI ("cites") and relation{} entries whose
 * id-type is doi (the relation's own name). */
static ps_status map_links(psi_run *run, const json_t *rec, const char *doi,
                           ps_kind kind, int64_t id, ps_err *err)
{
    ps_status rc = PS_OK;
    size_t i;
    json_t *x;
    json_t *refs = json_object_get(rec, "reference");
    if (json_array_size(refs) > MAX_PER_WORK) {
        char note[160];
        snprintf(note, sizeof note,
                 "%s: %zu references, only the first %d "
                 "linked",
                 doi, json_array_size(refs), MAX_PER_WORK);
        psi_run_note(run, note);
    }
    json_array_foreach (refs, i, x) {
        if (i >= MAX_PER_WORK || rc != PS_OK)
            break;
        rc = link_to(run, "cites", kind, id, ps_json_str(x, "DOI"), err);
        rc = link_ok(run, doi, rc, err);
    }
    const char *key;
    json_t *list;
    size_t n = 0;
    json_object_foreach (json_object_get(rec, "relation"), key, list) {
        json_array_foreach (list, i, x) {
            const char *type = ps_json_str(x, "id-type");
            if (rc != PS_OK || n >= MAX_PER_WORK)
                break;
            if (!type || strcasecmp(type, "doi") != 0)
                continue;
            n++;
            rc = link_to(run, key, kind, id, ps_json_str(x, "id"), err);
            rc = link_ok(run, doi, rc, err);
        }
    }
    return rc;
}

/* Map and store one work. A work that cannot be used is rejected (counted,
 * its DOI and the reason kept) and the harvest goes on; store failures end
 * the run. */
/* The work's full-text links (link[]: URL, content-type) that are PDFs. */
static ps_status pdf_links(psi_run *run, const json_t *rec, int64_t id,
                           ps_err *err)
{
    json_t *links = json_object_get(rec, "link");
    const char *urls[64], *types[64];
    size_t n = 0, i;
    json_t *x;
    json_array_foreach (links, i, x) {
        if (n == 64)
            break;
        urls[n] = psi_json_nonempty(x, "URL");
        types[n++] = psi_json_nonempty(x, "content-type");
    }
    return psi_run_pdf_links(run, id, urls, types, n, err);
}

static ps_status put_work(psi_run *run, json_t *rec, ps_err *err)
{
    char why[300];
    if (!json_is_object(rec))
        return psi_run_reject(run, PS_KIND_PUBLICATION, NULL,
                              "a work that is not a JSON object", err);
    const char *doi = psi_doi_bare(ps_json_str(rec, "DOI"));
    const char *title = first_str(rec, "title");
    const char *type = ps_json_str(rec, "type");
    ps_kind kind = type && strcmp(type, "dataset") == 0 ? PS_KIND_DATASET
                                                        : PS_KIND_PUBLICATION;
    if (!doi) {
        snprintf(why, sizeof why, "a work without a DOI (title \"%.80s\")",
                 title ? title : "");
        return psi_run_reject(run, kind, NULL, why, err);
    }
    work w = {0};
    char *doicopy = ps_strdup(doi); /* rec's strings stay rec's */
    char *clean_title = title ? strip_markup(title) : NULL;
    const char *sub = first_str(rec, "subtitle");
    char *clean_sub = sub ? strip_markup(sub) : NULL;
    if (!doicopy) {
        ps_free(clean_title);
        ps_free(clean_sub);
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    own(&w, doicopy);
    own(&w, clean_title);
    own(&w, clean_sub);
    if (w.nomem) {
        work_free(&w);
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    if (!clean_title) {
        snprintf(why, sizeof why, "work %.200s has no title", doicopy);
        work_free(&w);
        return psi_run_reject(run, kind, doi, why, err);
    }
    const char *full_title =
        clean_sub ? own_new(&w, ps_asprintf("%s: %s", clean_title, clean_sub))
                  : clean_title;
    const char *abstract = ps_json_str(rec, "abstract");
    const char *summary = abstract ? own(&w, strip_markup(abstract)) : NULL;
    const char *license =
        ps_json_str(json_array_get(json_object_get(rec, "license"), 0), "URL");
    map_keywords(run, rec, doicopy, &w);

    ps_prov prov = {run->source_id, doicopy, rec, 0, run->run_id, NULL, 0};
    ps_put_result res = PS_PUT_UNCHANGED;
    int64_t id = 0;
    ps_err e = PS_ERR_INIT;
    ps_status rc;
    if (kind == PS_KIND_DATASET) {
        /* Datasets have no members in the PaN model: the authors stay in
         * the raw record. */
        ps_dataset_in in = {0};
        in.pid = doicopy;
        in.doi = doicopy;
        in.title = full_title;
        in.description = summary;
        in.created_ms = release_of(run, rec, doicopy);
        in.size = -1;
        in.vis = PS_VIS_PUBLIC;
        in.keywords = w.keywords;
        in.nkeywords = w.nkeywords;
        rc = w.nomem ? ps_err_set(&e, PS_ERR_NOMEM, "out of memory")
                     : ps_store_put_dataset(run->st, &prov, &in, &res, &id, &e);
    } else {
        map_members(run, rec, doicopy, &w);
        ps_document_in in = {0};
        in.kind = PS_KIND_PUBLICATION;
        in.pid = doicopy;
        in.doi = doicopy;
        in.type = type;
        in.title = full_title;
        in.summary = summary;
        in.license = license;
        in.journal = first_str(rec, "container-title");
        in.volume = psi_json_nonempty(rec, "volume");
        in.issue = psi_json_nonempty(rec, "issue");
        in.pages = psi_json_nonempty(rec, "page");
        in.publisher = psi_json_nonempty(rec, "publisher");
        in.url = psi_json_nonempty(rec, "URL");
        json_t *cited = json_object_get(rec, "is-referenced-by-count");
        if (json_is_integer(cited) && json_integer_value(cited) >= 0) {
            in.citation_count = json_integer_value(cited);
            in.citation_known = 1;
        }
        in.year = year_of(rec);
        in.start_ms = in.end_ms = PS_TIME_NONE;
        in.release_ms = release_of(run, rec, doicopy);
        in.vis = PS_VIS_PUBLIC;
        in.keywords = w.keywords;
        in.nkeywords = w.nkeywords;
        in.members = w.members;
        in.nmembers = w.nmembers;
        rc = w.nomem
                 ? ps_err_set(&e, PS_ERR_NOMEM, "out of memory")
                 : ps_store_put_document(run->st, &prov, &in, &res, &id, &e);
    }
    /* Links go in the transaction of their work: an unchanged work had
     * them written with it (a store commit holds both or neither). */
    if (rc == PS_OK && res != PS_PUT_UNCHANGED)
        rc = map_links(run, rec, doicopy, kind, id, &e);
    /* PDF links also for unchanged works: a store that predates them
     * learns them on the next harvest (one lookup when known). */
    if (rc == PS_OK && kind == PS_KIND_PUBLICATION)
        rc = pdf_links(run, rec, id, &e);
    if (rc == PS_ERR_INVALID)
        rc = psi_run_reject(run, kind, doicopy, e.msg, err);
    else if (rc != PS_OK && err)
        *err = e;
    else if (rc == PS_OK)
        rc = psi_run_record(run, res, err);
    work_free(&w);
    return rc;
}

/* ---- the listing -------------------------------------------------------- */

/* The URL of the /works list up to its query string: url itself when it
 * already ends in /works (e.g. .../prefixes/10.1107/works), else url +
 * "/works". */
static char *works_base(const char *url)
{
    size_t n = strlen(url);
    while (n && url[n - 1] == '/')
        n--;
    if (n >= 6 && strncmp(url + n - 6, "/works", 6) == 0)
        return ps_strndup(url, n);
    return ps_asprintf("%.*s/works", (int)n, url);
}

/* Append ",name:value" for each comma-separated value of option key. */
static ps_status add_filter_list(psi_run *run, ps_buf *f, const char *key,
                                 const char *name)
{
    const char *v = psi_opt(run, key);
    ps_status rc = PS_OK;
    while (v && *v && rc == PS_OK) {
        size_t n = strcspn(v, ",");
        const char *s = v;
        size_t len = n;
        while (len && *s == ' ') {
            s++;
            len--;
        }
        while (len && s[len - 1] == ' ')
            len--;
        if (len)
            rc = ps_buf_printf(f, "%s%s:%.*s", f->len ? "," : "", name,
                               (int)len, s);
        v += n;
        if (*v == ',')
            v++;
    }
    return rc;
}

/* Append "&name=<encoded value>" when value is not empty. */
static ps_status add_param(ps_buf *q, const char *name, const char *value)
{
    if (!value || !*value)
        return PS_OK;
    char *enc = ps_pct_encode(value);
    if (!enc)
        return PS_ERR_NOMEM;
    ps_status rc = ps_buf_printf(q, "&%s=%s", name, enc);
    ps_free(enc);
    return rc;
}

/* The query string of the listing without its cursor: rows, filter (the
 * options' filters and from-index-date:since ANDed), query, select,
 * mailto. A new string (ps_free) or NULL when out of memory. */
static char *listing_query(psi_run *run, long rows, const char *since)
{
    ps_buf f, q;
    ps_buf_init(&f, 0);
    ps_buf_init(&q, 0);
    const char *raw = psi_opt(run, "filter");
    ps_status rc = ps_buf_printf(&q, "rows=%ld", rows);
    if (rc == PS_OK && raw && *raw)
        rc = ps_buf_puts(&f, raw);
    if (rc == PS_OK)
        rc = add_filter_list(run, &f, "prefix", "prefix");
    if (rc == PS_OK)
        rc = add_filter_list(run, &f, "member", "member");
    if (rc == PS_OK)
        rc = add_filter_list(run, &f, "funder", "funder");
    if (rc == PS_OK && since)
        rc = ps_buf_printf(&f, "%sfrom-index-date:%s", f.len ? "," : "", since);
    if (rc == PS_OK && f.len)
        rc = add_param(&q, "filter", f.data);
    if (rc == PS_OK)
        rc = add_param(&q, "query", psi_opt(run, "query"));
    const char *sel = psi_opt(run, "select");
    if (rc == PS_OK && sel && *sel) {
        /* A work without DOI or title is rejected: always ask for them. */
        char *full =
            ps_asprintf("%s%s%s", sel, strstr(sel, "DOI") ? "" : ",DOI",
                        strstr(sel, "title") ? "" : ",title");
        rc = full ? add_param(&q, "select", full) : PS_ERR_NOMEM;
        ps_free(full);
    }
    if (rc == PS_OK)
        rc = add_param(&q, "mailto", run->src->contact);
    ps_buf_free(&f);
    if (rc != PS_OK) {
        ps_buf_free(&q);
        return NULL;
    }
    return ps_buf_detach(&q);
}

/* What Crossref said about a refused request: the first message of its
 * validation-failure body, if it has one. */
static void crossref_complaint(const ps_http_response *resp, char *out,
                               size_t size)
{
    out[0] = '\0';
    json_t *j =
        resp->body ? json_loadb(resp->body, resp->body_len, 0, NULL) : NULL;
    json_t *m = json_object_get(j, "message");
    const char *text = json_is_string(m)
                           ? json_string_value(m)
                           : ps_json_str(json_array_get(m, 0), "message");
    if (text)
        snprintf(out, size, ": %s", text);
    json_decref(j);
}

/* One page: the works stored, *n_out their number, *next_out the next
 * cursor (a new string, NULL when Crossref gave none). When repeat_of is
 * not NULL and the page's first DOI equals it, nothing is stored and
 * *repeat is set; *first_out gets a copy of the first DOI (or NULL). */
static ps_status read_page(psi_run *run, const char *what,
                           const ps_http_response *resp, size_t *n_out,
                           char **next_out, const char *repeat_of, int *repeat,
                           char **first_out, ps_err *err)
{
    json_error_t je;
    *n_out = 0;
    *next_out = NULL;
    *repeat = 0;
    *first_out = NULL;
    json_t *j = json_loadb(resp->body, resp->body_len, 0, &je);
    if (!j)
        return ps_err_set(err, PS_ERR_UPSTREAM,
                          "source %s: %s is not JSON (line %d: %s)",
                          run->src->name, what, je.line, je.text);
    json_t *msg = json_object_get(j, "message");
    json_t *items = json_object_get(msg, "items");
    const char *status = ps_json_str(j, "status");
    if ((status && strcmp(status, "ok") != 0) || !json_is_object(msg) ||
        !json_is_array(items)) {
        json_decref(j);
        return ps_err_set(err, PS_ERR_UPSTREAM,
                          "source %s: %s is not a Crossref work list "
                          "(status \"%s\", no message.items)",
                          run->src->name, what, status ? status : "");
    }
    double total;
    if (ps_json_num(msg, "total-results", &total) == 0 && total >= 0 &&
        total < 9e18)
        run->phase_total = (int64_t)total;
    const char *next = ps_json_str(msg, "next-cursor");
    const char *first = ps_json_str(json_array_get(items, 0), "DOI");
    if (repeat_of && first && strcmp(first, repeat_of) == 0) {
        *repeat = 1;
        json_decref(j);
        return PS_OK;
    }
    if (first) {
        *first_out = ps_strdup(first);
        if (!*first_out) {
            json_decref(j);
            return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        }
    }
    ps_status rc = PS_OK;
    size_t i;
    json_t *rec;
    json_array_foreach (items, i, rec) {
        rc = put_work(run, rec, err);
        if (rc == PS_OK && psi_run_cancelled(run))
            rc = ps_err_set(err, PS_ERR_CANCELLED, "harvest of %s cancelled",
                            run->src->name);
        if (rc != PS_OK)
            break;
    }
    *n_out = json_array_size(items);
    if (rc == PS_OK && next && *next) {
        *next_out = ps_strdup(next);
        if (!*next_out)
            rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    json_decref(j);
    return rc;
}

/* The fetch's messages name the URL, which is mostly the listing's query:
 * it crowds the reason out of the message (which may even be cut inside
 * the URL). Name the page instead; the URL is in the server's log. */
static void shorten_message(ps_err *err, const char *url, const char *what,
                            long status)
{
    if (!err)
        return;
    size_t n = strlen(url) < 48 ? strlen(url) : 48;
    char head[49];
    memcpy(head, url, n);
    head[n] = '\0';
    char *at = strstr(err->msg, head);
    if (!at)
        return;
    char tail[96] = "";
    if (status) /* the message was "<url>: HTTP <status>", maybe cut */
        snprintf(tail, sizeof tail, ": HTTP %ld", status);
    else if (strncmp(at, url, strlen(url)) == 0)
        snprintf(tail, sizeof tail, "%s", at + strlen(url));
    char out[sizeof err->msg];
    snprintf(out, sizeof out, "%.*s%s%s", (int)(at - err->msg), err->msg, what,
             tail);
    snprintf(err->msg, sizeof err->msg, "%s", out);
}

/* Can a listing be resumed from this cursor in a later run? Solr-style
 * cursors name a position (each page's next-cursor differs from the one
 * sent) and can; a scroll-style cursor stays the same while the server's
 * scroll moves on, so the page after the last committed one may already
 * be consumed: such a listing restarts from "since" instead. */
static int resumable(const char *sent, const char *next)
{
    return strcmp(sent, "*") != 0 && strcmp(sent, next) != 0;
}

ps_status psi_harvest_crossref(psi_run *run, ps_err *err)
{
    const char *url = run->src->url;
    if (!ps_str_startswith(url, "http://") &&
        !ps_str_startswith(url, "https://"))
        return ps_err_set(err, PS_ERR_INVALID,
                          "source %s: url \"%s\" is not http(s):// (e.g. "
                          "https://api.crossref.org)",
                          run->src->name, url);
    long rows = run->src->page_size > 0 ? run->src->page_size : 500;
    if (rows > CROSSREF_MAX_ROWS) {
        psi_run_note(run, "page_size above Crossref's 1000 rows: 1000 used");
        rows = CROSSREF_MAX_ROWS;
    }
    char *since = NULL, *resume = NULL, *started = NULL;
    char *base = works_base(url), *query = NULL, *cursor = NULL;
    ps_status rc =
        base ? PS_OK : ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    if (rc == PS_OK)
        rc = psi_state_get(run, "since", &since, err);
    if (rc == PS_OK)
        rc = psi_state_get(run, "resume", &resume, err);
    if (rc == PS_OK)
        rc = psi_state_get(run, "listing_started", &started, err);
    char today[32];
    psi_iso_time(run->started_ms, 1, today, sizeof today);
    if (rc == PS_OK && (!resume || !started)) {
        ps_free(started);
        started = ps_strdup(today);
        if (!started)
            rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    run->phase = "works";
    run->phase_total = -1;
    if (rc == PS_OK)
        query = listing_query(run, rows, since);
    if (rc == PS_OK && !query)
        rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    if (rc == PS_OK) {
        cursor = ps_strdup(resume ? resume : "*");
        if (!cursor)
            rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    /* A listing that starts here without a since is everything the query
     * selects: the sweep may then tombstone what it no longer lists. */
    int full = !since && !resume;
    int trusted = resume != NULL; /* the cursor came from a checkpoint */
    int restarts = 0, npage = 0;
    char *prev_first = NULL; /* the first DOI of the page before */
    while (rc == PS_OK) {
        if (psi_run_cancelled(run)) {
            rc = ps_err_set(err, PS_ERR_CANCELLED, "harvest of %s cancelled",
                            run->src->name);
            break;
        }
        char *enc = ps_pct_encode(cursor);
        char *page =
            enc ? ps_asprintf("%s?%s&cursor=%s", base, query, enc) : NULL;
        ps_free(enc);
        if (!page) {
            rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
            break;
        }
        char what[64];
        npage++;
        snprintf(what, sizeof what, "the /works page %d%s", npage,
                 trusted && npage == 1 ? " (resumed)" : "");
        ps_http_response resp;
        rc = psi_run_fetch(run, page, NULL, &resp, err);
        if (rc != PS_OK && strcmp(cursor, "*") != 0 &&
            (resp.status == 400 || resp.status == 404) &&
            restarts < MAX_RESTARTS) {
            /* Crossref forgot the cursor (it expires after minutes of
             * disuse): list again from the last complete listing. */
            char note[160];
            snprintf(note, sizeof note,
                     "cursor refused (HTTP %ld): listing restarted from %s",
                     resp.status, since ? since : "the beginning");
            psi_run_note(run, note);
            ps_err_clear(err);
            ps_http_response_free(&resp);
            ps_free(page);
            restarts++;
            npage = 0;
            ps_free(prev_first);
            prev_first = NULL;
            const char *keys[] = {"resume", "listing_started"};
            const char *vals[] = {NULL, today};
            rc = psi_run_checkpoint_n(run, keys, vals, 2, err);
            ps_free(started);
            started = ps_strdup(today);
            ps_free(cursor);
            cursor = ps_strdup("*");
            if (rc == PS_OK && (!started || !cursor))
                rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
            full = !since;
            trusted = 0;
            run->phase_done = 0;
            continue;
        }
        if (rc != PS_OK) {
            if (resp.status == 400) {
                char why[200];
                crossref_complaint(&resp, why, sizeof why);
                ps_err_set(err, PS_ERR_UPSTREAM,
                           "source %s: Crossref refused %s (HTTP 400%s); "
                           "check the filter, query and select options",
                           run->src->name, what, why);
            } else {
                shorten_message(err, page, what, resp.status);
            }
            ps_http_response_free(&resp);
            ps_free(page);
            break;
        }
        size_t n = 0;
        char *next = NULL, *first = NULL;
        int repeat = 0;
        rc = read_page(run, what, &resp, &n, &next, prev_first, &repeat, &first,
                       err);
        ps_http_response_free(&resp);
        ps_free(page);
        ps_free(prev_first);
        prev_first = first;
        if (rc == PS_OK && repeat)
            rc = ps_err_set(err, PS_ERR_UPSTREAM,
                            "source %s: %s repeats the page before it (the "
                            "server does not move its cursor on)",
                            run->src->name, what);
        if (rc != PS_OK) {
            ps_free(next);
            break;
        }
        if (n == 0 || n < (size_t)rows || !next) {
            /* The end of the listing: the next run starts from the day
             * this listing started (from-index-date is inclusive, so
             * what changed that day is fetched again: harmless). */
            const char *keys[] = {"since", "resume", "listing_started"};
            const char *vals[] = {started, NULL, NULL};
            rc = psi_run_checkpoint_n(run, keys, vals, 3, err);
            if (rc == PS_OK && full)
                run->complete = 1;
            ps_free(next);
            break;
        }
        if (resumable(cursor, next))
            trusted = 1;
        else if (strcmp(cursor, "*") != 0)
            trusted = 0;
        const char *keys[] = {"resume", "listing_started"};
        const char *vals[] = {trusted ? next : NULL, started};
        rc = psi_run_checkpoint_n(run, keys, vals, 2, err);
        ps_free(cursor);
        cursor = next;
    }
    ps_free(prev_first);
    ps_free(cursor);
    ps_free(query);
    ps_free(base);
    ps_free(since);
    ps_free(resume);
    ps_free(started);
    return rc;
}
