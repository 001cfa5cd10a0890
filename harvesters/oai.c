/*
 * oai.c: the "oai-pmh" source: a repository that speaks OAI-PMH 2.0
 * (DSpace, EPrints, InvenioRDM/Zenodo, arXiv, SciCat's OAI provider...).
 * A run asks Identify first (granularity, deletedRecord,
 * earliestDatestamp), checks with ListSets that the configured set exists,
 * then pages through ListRecords with resumption tokens, checkpointing the
 * next token with each page's records so that a killed run resumes where it
 * stopped. A complete listing sets the "since" checkpoint to the largest
 * datestamp seen (at the granularity the repository announces); the next
 * run asks from= that date (the overlap is harmless: upserts are
 * idempotent). Deleted records (<header status="deleted">) become
 * tombstones. The OAI error codes are handled as the protocol means them:
 * noRecordsMatch is an empty harvest; badResumptionToken (and Zenodo's HTTP
 * 422 for an expired token) restarts the listing from the checkpointed
 * since; every other code fails the run naming the code and its message. A
 * page that is not well-formed XML is fetched once more, then the run fails
 * with its URL (the checkpoint lets the next run resume). Broken providers
 * (lower-cased element names, invalid datestamps) are read with a note in
 * the run's message.
 *
 * Metadata formats (option metadata_prefix): oai_dc (the crosswalk below),
 * arXiv (arXiv's own format) and oai_datacite / datacite (handed to the
 * DataCite crosswalk of datacite-map). docs/harvesting.md (section `type =
 * oai-pmh`) has the crosswalk tables. SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "harvest-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_PER_RECORD 10000 /* authors, subjects, relations of one record */
#define MAX_RESTARTS 3       /* listing restarts after rejected tokens */
#define MAX_SET_PAGES 200    /* ListSets pages read looking for the set */
#define MAX_STAMP_NOTES 2    /* invalid datestamps named in the notes */

typedef enum { FMT_DC, FMT_ARXIV, FMT_DATACITE } oai_format;

typedef struct oai_ctx {
    psi_run *run;
    const char *prefix; /* metadataPrefix */
    oai_format fmt;
    const char *set;   /* NULL: the whole repository */
    char until[32];    /* "" when not set */
    int day;           /* the repository's granularity is YYYY-MM-DD */
    int64_t max_stamp; /* largest datestamp seen, PS_TIME_NONE */
    int64_t started;   /* responseDate of the listing's first page: the
                          repository's clock when the listing began */
    int bad_stamps;    /* invalid datestamps met */
    int case_noted;    /* the wrong-case note was made */
    char *body;        /* the page being read, as received */
    size_t body_len;
    size_t scan; /* where the next <record> is looked for in body */
    int raw_ok;  /* body is UTF-8: records can be kept as received */
} oai_ctx;

const ps_harvest_option psi_oai_options[] = {
    {"metadata_prefix", "oai_dc (default), oai_datacite, datacite or arXiv"},
    {"set", "harvest only this setSpec (checked with ListSets)"},
    {"from", "lower datestamp bound of the first run (later runs: the "
             "checkpoint)"},
    {"until", "upper datestamp bound of every run"},
    {NULL, NULL}};

/* ---- small helpers -------------------------------------------------------
 */

/* A date option or checkpoint at the repository's granularity into buf
 * (32 bytes); -1 when it is not a date. */
static int format_stamp(const oai_ctx *c, const char *s, char *buf)
{
    int64_t ms;
    if (ps_time_parse(s, &ms) != PS_OK)
        return -1;
    psi_iso_time(ms, c->day, buf, 32);
    return 0;
}

/* base + "?" or "&" + the query. */
static char *oai_url(const psi_run *run, const char *query)
{
    const char *base = run->src->url;
    return ps_asprintf("%s%c%s", base, strchr(base, '?') ? '&' : '?', query);
}

/* The first element called local in n's subtree (n included), depth
 * first, at most depth levels down. */
static xmlNode *find_deep(xmlNode *n, const char *local, int depth)
{
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (psi_xml_is(n, local))
            return n;
        if (depth > 0) {
            xmlNode *hit = find_deep(n->children, local, depth - 1);
            if (hit)
                return hit;
        }
    }
    return NULL;
}

/* Element names are matched in any case; say once when a provider sends
 * them in the wrong one (SciCat's lower-cased <listrecords>). */
static void note_case(oai_ctx *c, const xmlNode *n, const char *expected)
{
    if (c->case_noted || !n || strcmp((const char *)n->name, expected) == 0)
        return;
    c->case_noted = 1;
    char note[128];
    snprintf(note, sizeof note,
             "element names in the wrong case (<%.40s>), read anyway",
             (const char *)n->name);
    psi_run_note(c->run, note);
}

/* The OAI errors of a response: "code (message), ..." into buf; *norec /
 * *badtoken say whether those codes were among them. Returns how many
 * <error> elements there were. */
static int oai_errors(xmlNode *root, char *buf, size_t size, int *norec,
                      int *badtoken)
{
    int n = 0;
    size_t used = 0;
    buf[0] = '\0';
    *norec = *badtoken = 0;
    for (xmlNode *e = psi_xml_child(root, "error"); e;
         e = psi_xml_next(e->next, "error")) {
        char *code = psi_xml_attr(e, "code");
        char *msg = psi_xml_text(e);
        const char *cs = code ? code : "(no code)";
        if (strcmp(cs, "noRecordsMatch") == 0)
            *norec = 1;
        else if (strcmp(cs, "badResumptionToken") == 0)
            *badtoken = 1;
        if (used + 4 < size) {
            int w = snprintf(buf + used, size - used, "%s%s%s%.160s%s",
                             n ? ", " : "", cs, msg ? " (" : "", msg ? msg : "",
                             msg ? ")" : "");
            used += w > 0 ? (size_t)w : 0;
            if (used >= size)
                used = size - 1;
        }
        ps_free(code);
        ps_free(msg);
        n++;
    }
    return n;
}

/* GET url and parse it. A body that is not well-formed XML, or not an
 * OAI-PMH response, is fetched once more; a second bad body fails with
 * PS_ERR_PARSE naming the URL. *http_status gets the status of a failed
 * fetch (e.g. 422). */
static ps_status fetch_xml(oai_ctx *c, const char *url, xmlDoc **doc_out,
                           long *http_status, ps_err *err)
{
    psi_run *run = c->run;
    *doc_out = NULL;
    *http_status = 0;
    for (int attempt = 0;; attempt++) {
        ps_http_response resp;
        ps_status rc = psi_run_fetch(run, url, NULL, &resp, err);
        *http_status = resp.status;
        if (rc != PS_OK) {
            ps_http_response_free(&resp);
            return rc;
        }
        xmlDoc *doc = NULL;
        rc = psi_xml_parse(resp.body, resp.body_len, url, &doc, err);
        if (rc == PS_OK) {
            /* Keep the bytes: records are stored as they were received. */
            ps_free(c->body);
            c->body = resp.body;
            c->body_len = resp.body_len;
            c->scan = 0;
            c->raw_ok = !doc->encoding ||
                        strcasecmp((const char *)doc->encoding, "UTF-8") == 0;
            resp.body = NULL;
        }
        ps_http_response_free(&resp);
        if (rc == PS_OK && !psi_xml_is(xmlDocGetRootElement(doc), "OAI-PMH")) {
            rc = ps_err_set(err, PS_ERR_PARSE,
                            "%s: not an OAI-PMH response (root <%.40s>)", url,
                            (const char *)xmlDocGetRootElement(doc)->name);
            xmlFreeDoc(doc);
            doc = NULL;
        }
        if (rc == PS_OK) {
            note_case(c, xmlDocGetRootElement(doc), "OAI-PMH");
            *doc_out = doc;
            return PS_OK;
        }
        if (rc != PS_ERR_PARSE || attempt >= 1) {
            ps_err_prefix(err, "source %s (fetched twice)", run->src->name);
            return rc;
        }
    }
}

/* ---- Identify and ListSets --------------------------------------------
 */

static ps_status identify(oai_ctx *c, ps_err *err)
{
    psi_run *run = c->run;
    char *url = oai_url(run, "verb=Identify");
    if (!url)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    xmlDoc *doc = NULL;
    long status;
    ps_status rc = fetch_xml(c, url, &doc, &status, err);
    if (rc != PS_OK) {
        ps_free(url);
        return rc;
    }
    xmlNode *root = xmlDocGetRootElement(doc);
    char errs[400];
    int norec, badtoken;
    if (oai_errors(root, errs, sizeof errs, &norec, &badtoken)) {
        rc = ps_err_set(err, PS_ERR_UPSTREAM,
                        "source %s: Identify failed: %s (%s)", run->src->name,
                        errs, url);
        goto out;
    }
    /* Some providers wrap the answer in another element: look deeper. */
    xmlNode *id = find_deep(root->children, "Identify", 3);
    char *gran = psi_xml_text(psi_xml_child(id, "granularity"));
    char *deleted = psi_xml_text(psi_xml_child(id, "deletedRecord"));
    char *earliest = psi_xml_text(psi_xml_child(id, "earliestDatestamp"));
    char note[160];
    c->day = 1; /* the granularity every repository must support */
    if (!id) {
        psi_run_note(run, "Identify has no <Identify>: day granularity");
    } else if (gran && strcasecmp(gran, "YYYY-MM-DDThh:mm:ssZ") == 0) {
        c->day = 0;
    } else if (!gran || strcasecmp(gran, "YYYY-MM-DD") != 0) {
        snprintf(note, sizeof note,
                 "unknown granularity \"%.40s\": YYYY-MM-DD used",
                 gran ? gran : "");
        psi_run_note(run, note);
    }
    int64_t ms;
    if (id && (!earliest || ps_time_parse(earliest, &ms) != PS_OK)) {
        snprintf(note, sizeof note, "invalid earliestDatestamp \"%.40s\"",
                 earliest ? earliest : "");
        psi_run_note(run, note);
    }
    if (id && deleted && strcasecmp(deleted, "no") != 0 &&
        strcasecmp(deleted, "transient") != 0 &&
        strcasecmp(deleted, "persistent") != 0) {
        snprintf(note, sizeof note, "unknown deletedRecord \"%.40s\"", deleted);
        psi_run_note(run, note);
    }
    ps_free(gran);
    ps_free(deleted);
    ps_free(earliest);
out:
    xmlFreeDoc(doc);
    ps_free(url);
    return rc;
}

/* Is the configured set one the repository lists? */
static ps_status check_set(oai_ctx *c, ps_err *err)
{
    psi_run *run = c->run;
    char *url = oai_url(run, "verb=ListSets");
    ps_status rc = PS_OK;
    int found = 0;
    long nsets = 0;
    for (int page = 0; url && page < MAX_SET_PAGES && !found; page++) {
        xmlDoc *doc = NULL;
        long status;
        rc = fetch_xml(c, url, &doc, &status, err);
        if (rc != PS_OK)
            break;
        xmlNode *root = xmlDocGetRootElement(doc);
        char errs[400];
        int norec, badtoken;
        if (oai_errors(root, errs, sizeof errs, &norec, &badtoken)) {
            rc = ps_err_set(err, PS_ERR_UPSTREAM,
                            "source %s: set = %s, but ListSets answered %s "
                            "(%s)",
                            run->src->name, c->set, errs, url);
            xmlFreeDoc(doc);
            break;
        }
        xmlNode *sets = psi_xml_child(root, "ListSets");
        for (xmlNode *s = psi_xml_child(sets, "set"); s && !found;
             s = psi_xml_next(s->next, "set")) {
            char *spec = psi_xml_text(psi_xml_child(s, "setSpec"));
            found = spec && strcmp(spec, c->set) == 0;
            nsets++;
            ps_free(spec);
        }
        char *token = psi_xml_text(psi_xml_child(sets, "resumptionToken"));
        xmlFreeDoc(doc);
        ps_free(url);
        url = NULL;
        if (token && !found) {
            char *enc = ps_pct_encode(token);
            char *q = enc ? ps_asprintf("verb=ListSets&resumptionToken=%s", enc)
                          : NULL;
            url = q ? oai_url(run, q) : NULL;
            ps_free(q);
            ps_free(enc);
            if (!url)
                rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        }
        ps_free(token);
        if (rc != PS_OK)
            break;
    }
    ps_free(url);
    if (rc == PS_OK && !found)
        rc = ps_err_set(err, PS_ERR_INVALID,
                        "source %s: set = %s is not one of the %ld sets the "
                        "repository lists",
                        run->src->name, c->set, nsets);
    return rc;
}

/* ---- mapping ------------------------------------------------------------
 */

/* Strings of one record, owned, with the per-record ceiling. */
typedef struct strlist {
    char **v;
    size_t n, cap;
    int cut; /* values beyond MAX_PER_RECORD were dropped */
} strlist;

/* Take s (NULL is ignored); -1 when out of memory. */
static int strlist_add(strlist *l, char *s)
{
    if (!s)
        return 0;
    if (l->n >= MAX_PER_RECORD) {
        l->cut = 1;
        ps_free(s);
        return 0;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        char **p = ps_realloc(l->v, cap * sizeof *p);
        if (!p) {
            ps_free(s);
            return -1;
        }
        l->v = p;
        l->cap = cap;
    }
    l->v[l->n++] = s;
    return 0;
}

static void strlist_free(strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        ps_free(l->v[i]);
    ps_free(l->v);
    memset(l, 0, sizeof *l);
}

/* Facility data prefixes: a DOI under them names a dataset. */
static ps_kind kind_of_doi(const char *doi)
{
    if (ps_str_startswith(doi, "10.5291/") ||
        ps_str_startswith(doi, "10.15151/") ||
        ps_str_startswith(doi, "10.24435/"))
        return PS_KIND_DATASET;
    return PS_KIND_PUBLICATION;
}

/* dc:type "Dataset" in any case, also as the last segment of a
 * vocabulary term ("info:eu-repo/semantics/dataset"). */
static int is_dataset_type(const char *t)
{
    const char *slash = strrchr(t, '/');
    const char *colon = strrchr(t, ':');
    const char *last = slash > colon ? slash + 1 : colon ? colon + 1 : t;
    return strcasecmp(last, "dataset") == 0;
}

/* Collapse runs of white space (arXiv wraps titles) in place. */
static void squeeze_space(char *s)
{
    char *o = s;
    int space = 0;
    for (const char *p = s; *p; p++) {
        if (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') {
            space = 1;
            continue;
        }
        if (space && o != s)
            *o++ = ' ';
        space = 0;
        *o++ = *p;
    }
    *o = '\0';
}

static int year_of(int64_t ms)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    if (ms == PS_TIME_NONE || !gmtime_r(&secs, &tm))
        return 0;
    return tm.tm_year + 1900;
}

/* What a crosswalk produced: a document or a dataset with the strings it
 * borrows. */
typedef struct oai_mapped {
    int dataset;
    ps_document_in doc;
    ps_dataset_in ds;
    ps_member_in *members;
    ps_param_in params[2];
    strlist keep; /* strings built for this record */
    strlist titles, creators, contributors, subjects, descriptions, dates,
        identifiers, types, rights, relations, publishers, languages;
} oai_mapped;

static void mapped_free(oai_mapped *m)
{
    strlist *lists[] = {&m->keep,         &m->titles,      &m->creators,
                        &m->contributors, &m->subjects,    &m->descriptions,
                        &m->dates,        &m->identifiers, &m->types,
                        &m->rights,       &m->relations,   &m->publishers,
                        &m->languages};
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
        strlist_free(lists[i]);
    ps_free(m->members);
}

/* Is s among the first n values of l? */
static int in_list(const strlist *l, size_t n, const char *s)
{
    for (size_t i = 0; i < n && i < l->n; i++)
        if (strcmp(l->v[i], s) == 0)
            return 1;
    return 0;
}

/* Join list with sep into a string kept by m; NULL when empty. */
static const char *joined(oai_mapped *m, const strlist *l, const char *sep,
                          int *nomem)
{
    if (l->n == 0)
        return NULL;
    if (l->n == 1)
        return l->v[0];
    ps_buf b;
    ps_buf_init(&b, 0);
    for (size_t i = 0; i < l->n; i++) {
        if (in_list(l, i, l->v[i]))
            continue; /* DSpace repeats descriptions */
        if ((i && ps_buf_puts(&b, sep) != PS_OK) ||
            ps_buf_puts(&b, l->v[i]) != PS_OK)
            *nomem = 1;
    }
    char *s = ps_buf_detach(&b);
    if (!s || strlist_add(&m->keep, s) != 0) {
        *nomem = 1;
        return NULL;
    }
    return s;
}

/* Members (role) from names: a person per name, pid "<source>:<name>"
 * (oai_dc names carry no identifier). Names in skip (the creators, which
 * DSpace repeats as contributors) are left out. */
static int add_members(oai_mapped *m, const psi_run *run, const strlist *l,
                       const strlist *skip, const char *role, size_t *n)
{
    for (size_t i = 0; i < l->n && *n < MAX_PER_RECORD; i++) {
        if (skip && in_list(skip, skip->n, l->v[i]))
            continue;
        char *pid = ps_asprintf("%s:%s", run->src->name, l->v[i]);
        if (!pid || strlist_add(&m->keep, pid) != 0)
            return -1;
        ps_member_in *o = &m->members[(*n)++];
        o->role = role;
        o->person.pid = pid;
        o->person.full_name = l->v[i];
    }
    return 0;
}

/* oai_dc: read the elements of <oai_dc:dc> into lists. */
static int read_dc(xmlNode *dc, oai_mapped *m)
{
    static const char *const names[] = {
        "title",       "creator",  "contributor", "subject",
        "description", "date",     "identifier",  "type",
        "rights",      "relation", "publisher",   "language"};
    strlist *lists[] = {&m->titles,      &m->creators,     &m->contributors,
                        &m->subjects,    &m->descriptions, &m->dates,
                        &m->identifiers, &m->types,        &m->rights,
                        &m->relations,   &m->publishers,   &m->languages};
    for (xmlNode *e = psi_xml_next(dc->children, NULL); e;
         e = psi_xml_next(e->next, NULL)) {
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            if (psi_xml_is(e, names[i])) {
                if (strlist_add(lists[i], psi_xml_text(e)) != 0)
                    return -1;
                break;
            }
        }
    }
    return 0;
}

/* Fill m from an oai_dc record (remote_id: its OAI identifier). */
static int map_dc(const psi_run *run, xmlNode *dc, const char *remote_id,
                  oai_mapped *m)
{
    if (read_dc(dc, m) != 0)
        return -1;
    int nomem = 0;
    const char *doi = NULL;
    for (size_t i = 0; i < m->identifiers.n && !doi; i++)
        doi = psi_doi_bare(m->identifiers.v[i]);
    for (size_t i = 0; i < m->types.n && !m->dataset; i++)
        m->dataset = is_dataset_type(m->types.v[i]);
    int64_t date = PS_TIME_NONE;
    for (size_t i = 0; i < m->dates.n && date == PS_TIME_NONE; i++)
        if (ps_time_parse(m->dates.v[i], &date) != PS_OK)
            date = PS_TIME_NONE;
    const char *pid = doi ? doi : remote_id;
    const char *title = m->titles.n ? m->titles.v[0] : NULL;
    const char *summary = joined(m, &m->descriptions, "\n\n", &nomem);
    size_t np = 0;
    if (m->publishers.n)
        m->params[np++] =
            (ps_param_in){"publisher", m->publishers.v[0], 0, 0, NULL};
    if (m->languages.n)
        m->params[np++] =
            (ps_param_in){"language", m->languages.v[0], 0, 0, NULL};
    if (m->dataset) {
        /* A dataset has no members in the PaN model: creators are
         * dropped. */
        ps_dataset_in *d = &m->ds;
        d->pid = pid;
        d->title = title;
        d->description = summary;
        d->doi = doi;
        d->created_ms = date;
        d->size = -1;
        d->vis = PS_VIS_PUBLIC;
        d->keywords = (const char *const *)m->subjects.v;
        d->nkeywords = m->subjects.n;
        d->params = m->params;
        d->nparams = np;
        return nomem ? -1 : 0;
    }
    ps_document_in *d = &m->doc;
    d->kind = PS_KIND_PUBLICATION;
    d->pid = pid;
    d->type = m->types.n ? m->types.v[0] : "publication";
    d->title = title;
    d->summary = summary;
    d->doi = doi;
    d->license = m->rights.n ? m->rights.v[0] : NULL;
    d->start_ms = d->end_ms = PS_TIME_NONE;
    d->release_ms = date;
    d->year = year_of(date);
    d->vis = PS_VIS_PUBLIC;
    d->keywords = (const char *const *)m->subjects.v;
    d->nkeywords = m->subjects.n;
    d->params = m->params;
    d->nparams = np;
    size_t nmem = m->creators.n + m->contributors.n;
    if (nmem) {
        m->members = ps_calloc(nmem, sizeof *m->members);
        if (!m->members)
            return -1;
        size_t n = 0;
        if (add_members(m, run, &m->creators, NULL, "author", &n) != 0 ||
            add_members(m, run, &m->contributors, &m->creators, "contributor",
                        &n) != 0)
            return -1;
        d->members = m->members;
        d->nmembers = n;
    }
    return nomem ? -1 : 0;
}

/* arXiv's own format (metadataPrefix=arXiv). */
static int map_arxiv(const psi_run *run, xmlNode *ax, const char *remote_id,
                     oai_mapped *m)
{
    (void)run;
    char *doi = psi_xml_text(psi_xml_child(ax, "doi"));
    char *title = psi_xml_text(psi_xml_child(ax, "title"));
    char *abstract = psi_xml_text(psi_xml_child(ax, "abstract"));
    char *created = psi_xml_text(psi_xml_child(ax, "created"));
    char *license = psi_xml_text(psi_xml_child(ax, "license"));
    char *journal = psi_xml_text(psi_xml_child(ax, "journal-ref"));
    char *cats = psi_xml_text(psi_xml_child(ax, "categories"));
    if (strlist_add(&m->keep, doi) || strlist_add(&m->keep, title) ||
        strlist_add(&m->keep, abstract) || strlist_add(&m->keep, created) ||
        strlist_add(&m->keep, license) || strlist_add(&m->keep, journal))
        return -1;
    if (title)
        squeeze_space(title);
    /* Categories are space-separated ("cs.DM math.CO"). */
    for (char *p = cats; p && *p;) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, " ");
        if (n && strlist_add(&m->subjects, ps_strndup(p, n)) != 0) {
            ps_free(cats);
            return -1;
        }
        p += n;
    }
    ps_free(cats);
    xmlNode *authors = psi_xml_child(ax, "authors");
    size_t na = 0;
    for (xmlNode *a = psi_xml_child(authors, "author"); a;
         a = psi_xml_next(a->next, "author"))
        na++;
    if (na > MAX_PER_RECORD)
        na = MAX_PER_RECORD;
    ps_document_in *d = &m->doc;
    if (na) {
        m->members = ps_calloc(na, sizeof *m->members);
        if (!m->members)
            return -1;
    }
    size_t n = 0;
    for (xmlNode *a = psi_xml_child(authors, "author"); a && n < na;
         a = psi_xml_next(a->next, "author")) {
        char *family = psi_xml_text(psi_xml_child(a, "keyname"));
        char *given = psi_xml_text(psi_xml_child(a, "forenames"));
        char *aff = psi_xml_text(psi_xml_child(a, "affiliation"));
        char *full = family ? given ? ps_asprintf("%s %s", given, family)
                                    : ps_strdup(family)
                            : NULL;
        char *pid = full ? ps_asprintf("%s:%s", run->src->name, full) : NULL;
        if (strlist_add(&m->keep, family) || strlist_add(&m->keep, given) ||
            strlist_add(&m->keep, aff) || strlist_add(&m->keep, full) ||
            strlist_add(&m->keep, pid))
            return -1;
        if (!full)
            continue;
        ps_member_in *o = &m->members[n++];
        o->role = "author";
        o->person.pid = pid;
        o->person.full_name = full;
        o->person.given_name = given;
        o->person.family_name = family;
        o->institution.name = aff;
    }
    int64_t date = PS_TIME_NONE;
    if (created && ps_time_parse(created, &date) != PS_OK)
        date = PS_TIME_NONE;
    d->kind = PS_KIND_PUBLICATION;
    d->doi = psi_doi_bare(doi);
    d->pid = d->doi ? d->doi : remote_id;
    d->type = "preprint";
    d->title = title;
    d->summary = abstract;
    d->license = license;
    d->journal = journal;
    d->start_ms = d->end_ms = PS_TIME_NONE;
    d->release_ms = date;
    d->year = year_of(date);
    d->vis = PS_VIS_PUBLIC;
    d->keywords = (const char *const *)m->subjects.v;
    d->nkeywords = m->subjects.n;
    d->members = m->members;
    d->nmembers = n;
    return 0;
}

/* ---- records ------------------------------------------------------------
 */

/* The repository deleted id: its record goes (a tombstone unless another
 * source has it). The header does not say which kind of record it was, so
 * every kind the format maps to is tried; the run counts one deletion. */
static ps_status delete_record(oai_ctx *c, const char *id, ps_err *err)
{
    static const ps_kind dc_kinds[] = {PS_KIND_DATASET, PS_KIND_PUBLICATION};
    static const ps_kind dcite_kinds[] = {PS_KIND_DATASET, PS_KIND_INSTRUMENT,
                                          PS_KIND_PUBLICATION};
    psi_run *run = c->run;
    const ps_kind *kinds = c->fmt == FMT_DATACITE ? dcite_kinds : dc_kinds;
    size_t n = c->fmt == FMT_DATACITE ? 3 : 2;
    return psi_run_delete_any(run, kinds, n, id, err);
}

/* oai_datacite / datacite: the <resource> (or the <oai_datacite> wrapper
 * holding it) goes through the DataCite crosswalk, which stores the record
 * (the DOI is the pid, the OAI identifier the remote id) or rejects it. */
static ps_status put_datacite(oai_ctx *c, xmlNode *meta, const char *id,
                              const char *raw, size_t raw_len, ps_err *err)
{
    json_t *attrs = NULL;
    ps_err e = PS_ERR_INIT;
    ps_status rc = psi_datacite_xml_to_json(meta, &attrs, &e);
    if (rc == PS_ERR_NOMEM) {
        if (err)
            *err = e;
        return rc;
    }
    if (rc != PS_OK) {
        char why[300];
        snprintf(why, sizeof why, "%.120s: %s", id, e.msg);
        return psi_run_reject(c->run, PS_KIND_NONE, id, why, err);
    }
    rc = psi_datacite_put(c->run, id, attrs, raw, raw_len, err);
    json_decref(attrs);
    return rc;
}

/* Map and store one mapped record; links from dc:relation DOIs. */
static ps_status put_mapped(oai_ctx *c, oai_mapped *m, const char *id,
                            const char *raw, size_t raw_len, ps_err *err)
{
    psi_run *run = c->run;
    ps_prov prov = {run->source_id, id, NULL, 0, run->run_id, raw, raw_len};
    ps_put_result res = PS_PUT_UNCHANGED;
    int64_t rid = 0;
    ps_err e = PS_ERR_INIT;
    ps_kind kind = m->dataset ? PS_KIND_DATASET : PS_KIND_PUBLICATION;
    ps_status rc =
        m->dataset
            ? ps_store_put_dataset(run->st, &prov, &m->ds, &res, &rid, &e)
            : ps_store_put_document(run->st, &prov, &m->doc, &res, &rid, &e);
    if (rc == PS_ERR_INVALID)
        return psi_run_reject(run, kind, id, e.msg, err);
    if (rc != PS_OK) {
        if (err)
            *err = e;
        return rc;
    }
    for (size_t i = 0; i < m->relations.n; i++) {
        const char *doi = psi_doi_bare(m->relations.v[i]);
        if (!doi)
            continue;
        rc = psi_run_link(run, "is-related-to", kind, rid, kind_of_doi(doi),
                          doi, err);
        if (rc != PS_OK)
            return rc;
    }
    if (m->creators.cut || m->subjects.cut || m->relations.cut) {
        char note[160];
        snprintf(note, sizeof note, "%.80s: cut at %d values per field", id,
                 MAX_PER_RECORD);
        psi_run_note(run, note);
    }
    return psi_run_record(run, res, err);
}

static void note_stamp(oai_ctx *c, const char *id, const char *stamp)
{
    if (c->bad_stamps++ >= MAX_STAMP_NOTES)
        return;
    char note[160];
    snprintf(note, sizeof note, "invalid datestamp \"%.32s\" (%.60s)",
             stamp ? stamp : "", id);
    psi_run_note(c->run, note);
}

/* The name of the tag at p (just after '<' or "</"), without its
 * namespace prefix, and the whole qualified name's length. */
static const char *tag_name(const char *p, const char *end, size_t *qlen,
                            size_t *len)
{
    const char *q = p, *name = p;
    while (q < end && *q != '>' && *q != '/' && *q != ' ' && *q != '\t' &&
           *q != '\n' && *q != '\r') {
        if (*q == ':')
            name = q + 1;
        q++;
    }
    *qlen = (size_t)(q - p);
    *len = (size_t)(q - name);
    return name;
}

/* From p, the next element called local (any prefix, any case): its '<'
 * and qualified name; NULL when there is none before end. */
static const char *next_tag(const char *p, const char *end, const char *local,
                            const char **qname, size_t *qlen)
{
    size_t want = strlen(local), len;
    for (; p < end; p++) {
        p = memchr(p, '<', (size_t)(end - p));
        if (!p)
            return NULL;
        const char *name = tag_name(p + 1, end, qlen, &len);
        if (len == want && strncasecmp(name, local, want) == 0) {
            *qname = p + 1;
            return p;
        }
    }
    return NULL;
}

/* The end (after '>') of the element that opens at open with the
 * qualified name qname, nested elements of the same name included; NULL
 * when the page ends first. */
static const char *element_end(const char *open, const char *end,
                               const char *qname, size_t qlen)
{
    int depth = 0;
    for (const char *p = open; p < end; p++) {
        p = memchr(p, '<', (size_t)(end - p));
        if (!p)
            return NULL;
        int closing = p + 1 < end && p[1] == '/';
        const char *t = p + 1 + closing;
        size_t tq, tl;
        tag_name(t, end, &tq, &tl);
        if (tq != qlen || strncasecmp(t, qname, qlen) != 0)
            continue;
        const char *gt = memchr(t, '>', (size_t)(end - t));
        if (!gt)
            return NULL;
        if (closing)
            depth--;
        else if (gt[-1] != '/')
            depth++;
        if (depth <= 0)
            return gt + 1;
        p = gt;
    }
    return NULL;
}

/* Is the first <identifier> of [p, end) exactly id (white space around
 * it allowed)? */
static int first_identifier_is(const char *p, const char *end, const char *id)
{
    const char *qname;
    size_t qlen, n = strlen(id);
    const char *t = next_tag(p, end, "identifier", &qname, &qlen);
    const char *gt = t ? memchr(t, '>', (size_t)(end - t)) : NULL;
    if (!gt)
        return 0;
    for (p = gt + 1;
         p < end && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r'); p++)
        ;
    if ((size_t)(end - p) < n || memcmp(p, id, n) != 0)
        return 0;
    for (p += n;
         p < end && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r'); p++)
        ;
    return p < end && *p == '<';
}

/* The bytes of the record whose header identifier is id, as received (so
 * that the provenance keeps them exactly, and without the cost of
 * serialising the tree again). Records are read in page order, so the
 * search goes on from the last one found; records skipped on the way
 * (deleted, rejected) are passed over. NULL when it is not found (an
 * identifier with entities, a non-UTF-8 page): the caller then serialises
 * the parsed element. */
static const char *record_bytes(oai_ctx *c, const char *id, size_t *len_out)
{
    const char *end = c->body + c->body_len;
    if (!c->body || !c->raw_ok)
        return NULL;
    for (const char *p = c->body + c->scan; p < end;) {
        const char *qname;
        size_t qlen;
        const char *open = next_tag(p, end, "record", &qname, &qlen);
        const char *stop = open ? element_end(open, end, qname, qlen) : NULL;
        if (!stop)
            return NULL;
        if (first_identifier_is(open, stop, id)) {
            c->scan = (size_t)(stop - c->body);
            *len_out = (size_t)(stop - open);
            return open;
        }
        p = stop;
    }
    return NULL;
}

static ps_status put_record(oai_ctx *c, xmlNode *rec, ps_err *err)
{
    psi_run *run = c->run;
    xmlNode *header = psi_xml_child(rec, "header");
    char *id = psi_xml_text(psi_xml_child(header, "identifier"));
    char *stamp = psi_xml_text(psi_xml_child(header, "datestamp"));
    char *status = psi_xml_attr(header, "status");
    ps_status rc = PS_OK;
    char why[200];
    if (!id) {
        snprintf(why, sizeof why, "a%s record without identifier",
                 status ? " deleted" : "");
        rc = psi_run_reject(run, PS_KIND_PUBLICATION, NULL, why, err);
        goto out;
    }
    int64_t ms;
    if (stamp && ps_time_parse(stamp, &ms) == PS_OK) {
        if (c->max_stamp == PS_TIME_NONE || ms > c->max_stamp)
            c->max_stamp = ms;
    } else {
        note_stamp(c, id, stamp);
    }
    if (status && strcasecmp(status, "deleted") == 0) {
        rc = delete_record(c, id, err);
        goto out;
    }
    xmlNode *meta = psi_xml_next(psi_xml_child(rec, "metadata")
                                     ? psi_xml_child(rec, "metadata")->children
                                     : NULL,
                                 NULL);
    if (!meta) {
        snprintf(why, sizeof why, "%.120s: no metadata", id);
        rc = psi_run_reject(run, PS_KIND_NONE, id, why, err);
        goto out;
    }
    size_t raw_len = 0;
    char *own_raw = NULL;
    const char *raw = record_bytes(c, id, &raw_len);
    if (!raw) {
        own_raw = psi_xml_serialise(rec, &raw_len);
        raw = own_raw;
    }
    if (!raw) {
        rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (c->fmt == FMT_DATACITE) {
        rc = put_datacite(c, meta, id, raw, raw_len, err);
        ps_free(own_raw);
        goto out;
    }
    oai_mapped m;
    memset(&m, 0, sizeof m);
    int bad = c->fmt == FMT_ARXIV ? map_arxiv(run, meta, id, &m)
                                  : map_dc(run, meta, id, &m);
    if (bad)
        rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    else
        rc = put_mapped(c, &m, id, raw, raw_len, err);
    mapped_free(&m);
    ps_free(own_raw);
out:
    ps_free(id);
    ps_free(stamp);
    ps_free(status);
    return rc;
}

/* ---- ListRecords --------------------------------------------------------
 */

static char *list_url(oai_ctx *c, const char *token, const char *from)
{
    ps_buf b;
    ps_buf_init(&b, 0);
    ps_status rc = ps_buf_puts(&b, "verb=ListRecords");
    const char *keys[] = {"resumptionToken", "metadataPrefix", "set", "from",
                          "until"};
    const char *vals[] = {token, token ? NULL : c->prefix,
                          token ? NULL : c->set, token ? NULL : from,
                          token || !c->until[0] ? NULL : c->until};
    for (size_t i = 0; i < 5 && rc == PS_OK; i++) {
        if (!vals[i] || !vals[i][0])
            continue;
        char *enc = ps_pct_encode(vals[i]);
        rc = enc ? ps_buf_printf(&b, "&%s=%s", keys[i], enc) : PS_ERR_NOMEM;
        ps_free(enc);
    }
    char *q = ps_buf_detach(&b);
    char *url = rc == PS_OK && q ? oai_url(c->run, q) : NULL;
    ps_free(q);
    return url;
}

/* Outcome of one ListRecords page. */
typedef enum { PAGE_NEXT, PAGE_END, PAGE_RESTART } page_outcome;

static ps_status list_page(oai_ctx *c, const char *url, int with_token,
                           page_outcome *out, char **next_out, ps_err *err)
{
    psi_run *run = c->run;
    *next_out = NULL;
    *out = PAGE_END;
    xmlDoc *doc = NULL;
    long status = 0;
    ps_err e = PS_ERR_INIT;
    ps_status rc = fetch_xml(c, url, &doc, &status, &e);
    if (rc == PS_ERR_UPSTREAM && with_token && status == 422) {
        /* Zenodo answers an expired token with HTTP 422. */
        psi_run_note(run, "resumption token expired (HTTP 422): restarted");
        *out = PAGE_RESTART;
        return PS_OK;
    }
    if (rc != PS_OK) {
        if (err)
            *err = e;
        return rc;
    }
    xmlNode *root = xmlDocGetRootElement(doc);
    if (!with_token) {
        char *rd = psi_xml_text(psi_xml_child(root, "responseDate"));
        int64_t when;
        if (rd && ps_time_parse(rd, &when) == PS_OK)
            c->started = when;
        ps_free(rd);
    }
    char errs[400];
    int norec, badtoken;
    int nerr = oai_errors(root, errs, sizeof errs, &norec, &badtoken);
    if (nerr) {
        if (badtoken && with_token) {
            psi_run_note(run, "badResumptionToken: listing restarted");
            *out = PAGE_RESTART;
        } else if (norec && nerr == 1) {
            *out = PAGE_END; /* an empty listing, not a failure */
        } else {
            rc = ps_err_set(err, PS_ERR_UPSTREAM,
                            "source %s: the repository answered %s (%s)",
                            run->src->name, errs, url);
        }
        xmlFreeDoc(doc);
        return rc;
    }
    xmlNode *list = psi_xml_child(root, "ListRecords");
    if (!list) {
        xmlFreeDoc(doc);
        return ps_err_set(err, PS_ERR_PARSE,
                          "source %s: no <ListRecords> and no <error> in %s",
                          run->src->name, url);
    }
    note_case(c, list, "ListRecords");
    for (xmlNode *r = psi_xml_child(list, "record"); r && rc == PS_OK;
         r = psi_xml_next(r->next, "record"))
        rc = put_record(c, r, err);
    xmlNode *tok = psi_xml_child(list, "resumptionToken");
    if (rc == PS_OK && tok) {
        char *size = psi_xml_attr(tok, "completeListSize");
        int64_t n;
        if (size && ps_parse_i64(size, &n) == 0 && n >= 0)
            run->phase_total = n;
        ps_free(size);
        *next_out = psi_xml_text(tok);
    }
    *out = *next_out ? PAGE_NEXT : PAGE_END;
    xmlFreeDoc(doc);
    return rc;
}

/* Read a checkpoint key; NULL when unset. */
static ps_status state(psi_run *run, const char *key, char **out, ps_err *err)
{
    *out = NULL;
    return psi_state_get(run, key, out, err);
}

ps_status psi_harvest_oai(psi_run *run, ps_err *err)
{
    oai_ctx c;
    memset(&c, 0, sizeof c);
    c.run = run;
    c.max_stamp = PS_TIME_NONE;
    c.started = PS_TIME_NONE;
    c.prefix = psi_opt(run, "metadata_prefix");
    if (!c.prefix)
        c.prefix = "oai_dc";
    if (strcmp(c.prefix, "oai_dc") == 0)
        c.fmt = FMT_DC;
    else if (strcmp(c.prefix, "arXiv") == 0)
        c.fmt = FMT_ARXIV;
    else if (strcmp(c.prefix, "oai_datacite") == 0 ||
             strcmp(c.prefix, "datacite") == 0)
        c.fmt = FMT_DATACITE;
    else
        return ps_err_set(err, PS_ERR_INVALID,
                          "source %s: metadata_prefix = \"%s\" is not one of "
                          "oai_dc, oai_datacite, datacite, arXiv",
                          run->src->name, c.prefix);
    c.set = psi_opt(run, "set");
    if (c.set && !c.set[0])
        c.set = NULL;
    const char *opt_from = psi_opt(run, "from");
    const char *opt_until = psi_opt(run, "until");
    int64_t ms;
    if ((opt_from && ps_time_parse(opt_from, &ms) != PS_OK) ||
        (opt_until && ps_time_parse(opt_until, &ms) != PS_OK))
        return ps_err_set(err, PS_ERR_INVALID,
                          "source %s: from / until must be dates "
                          "(YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ)",
                          run->src->name);
    run->phase = "records";
    run->phase_total = -1;

    ps_status rc = identify(&c, err);
    if (rc != PS_OK) {
        ps_free(c.body);
        return rc;
    }
    if (opt_until)
        format_stamp(&c, opt_until, c.until);

    char *token = NULL, *since = NULL, *lmax = NULL, *lstart = NULL;
    char *next = NULL, *url = NULL;
    rc = state(run, "resume", &token, err);
    if (rc == PS_OK)
        rc = state(run, "since", &since, err);
    if (rc == PS_OK)
        rc = state(run, "listing_max", &lmax, err);
    if (rc == PS_OK)
        rc = state(run, "listing_started", &lstart, err);
    if (rc != PS_OK)
        goto out;
    /* The listing's lower bound: the checkpointed since, else the from
     * option, at the repository's granularity. */
    char from[32] = "";
    if (since && format_stamp(&c, since, from) != 0) {
        psi_run_note(run, "checkpoint since is not a date: full listing");
        from[0] = '\0';
    } else if (!since && opt_from) {
        format_stamp(&c, opt_from, from);
    }
    int resumed = token != NULL;
    if (resumed && lmax && ps_time_parse(lmax, &ms) == PS_OK)
        c.max_stamp = ms;
    if (resumed && lstart && ps_time_parse(lstart, &ms) == PS_OK)
        c.started = ms;
    if (!resumed && c.set) {
        rc = check_set(&c, err);
        if (rc != PS_OK)
            goto out;
    }
    for (int restarts = 0;;) {
        url = list_url(&c, token, from);
        if (!url) {
            rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
            goto out;
        }
        page_outcome what;
        rc = list_page(&c, url, token != NULL, &what, &next, err);
        ps_free(url);
        url = NULL;
        if (rc != PS_OK)
            goto out;
        if (what == PAGE_RESTART) {
            if (++restarts > MAX_RESTARTS) {
                rc = ps_err_set(err, PS_ERR_UPSTREAM,
                                "source %s: resumption tokens rejected %d "
                                "times in a row (no page in between)",
                                run->src->name, restarts);
                goto out;
            }
            ps_free(token);
            token = NULL;
            resumed = 0;
            c.started = PS_TIME_NONE;
            continue;
        }
        if (what == PAGE_END)
            break;
        restarts = 0; /* a page went through: count rejections in a row */
        char stamp[32] = "", begun[32] = "";
        if (c.max_stamp != PS_TIME_NONE)
            psi_iso_time(c.max_stamp, 0, stamp, sizeof stamp);
        if (c.started != PS_TIME_NONE)
            psi_iso_time(c.started, 0, begun, sizeof begun);
        const char *keys[] = {"resume", "listing_max", "listing_started"};
        const char *vals[] = {next, stamp[0] ? stamp : NULL,
                              begun[0] ? begun : NULL};
        rc = psi_run_checkpoint_n(run, keys, vals, 3, err);
        if (rc != PS_OK)
            goto out;
        ps_free(token);
        token = next;
        next = NULL;
    }
    /* The listing is complete. The next one starts from the largest
     * datestamp seen (or the earlier since when nothing newer came), but
     * never after the repository's clock when this listing began (the
     * responseDate of its first page): a record changed or deleted while
     * the listing ran has a datestamp after that, even when a record
     * listed later carries a larger one. */
    char stamp[32] = "";
    int64_t old;
    if (since && ps_time_parse(since, &old) == PS_OK &&
        (c.max_stamp == PS_TIME_NONE || old > c.max_stamp))
        c.max_stamp = old;
    if (c.started != PS_TIME_NONE &&
        (c.max_stamp == PS_TIME_NONE || c.started < c.max_stamp))
        c.max_stamp = c.started;
    if (c.max_stamp != PS_TIME_NONE)
        psi_iso_time(c.max_stamp, c.day, stamp, sizeof stamp);
    const char *keys[] = {"since", "resume", "listing_max", "listing_started"};
    const char *vals[] = {stamp[0] ? stamp : since, NULL, NULL, NULL};
    rc = psi_run_checkpoint_n(run, keys, vals, 4, err);
    /* Only a listing of everything, done within this run, may let the
     * sweep tombstone what it did not list; an empty one (noRecordsMatch
     * on a full listing) never does. */
    if (rc == PS_OK && !resumed && !from[0] && !c.until[0] &&
        run->phase_done > 0)
        run->complete = 1;
out:
    ps_free(next);
    ps_free(token);
    ps_free(since);
    ps_free(lmax);
    ps_free(lstart);
    ps_free(c.body);
    return rc;
}
