/*
 * invenio.c: the "invenio" and "materialscloud" sources. Both read the
 * records REST API of Invenio-based repositories (InvenioRDM, Zenodo, the
 * Materials Cloud Archive, legacy Invenio v3 portals such as CERN Open
 * Data): GET {url}/records?size=N&sort=S[&q=..&communities=..&type=..],
 * then links.next page after page. The next page's path and query are the
 * "resume" checkpoint, committed with the page's records; hits.total is the
 * run's phase total. A second run asks only for what changed:
 * q=updated:[SINCE TO *] from the "since" checkpoint (the start of the last
 * complete listing, less a margin for clock skew). With sort=updated-asc a
 * listing that reaches the end of the search window (about 10,000 hits in
 * Elasticsearch) without links.next goes on with a new query from the last
 * `updated` seen. A page URL the source rejects (HTTP 400/404/410/422, as
 * an expired Zenodo page) restarts the listing from "since" once.
 *
 * One record reader serves both types and the three record shapes met in
 * the wild: InvenioRDM (pids.doi, metadata.resource_type.id, creators with
 * person_or_org, files.entries, access), legacy Zenodo / Invenio v3
 * (metadata.doi, creators[{name,orcid,affiliation}], files[] or
 * metadata._files[], access_right) and CERN Open Data (metadata.abstract,
 * authors, type.primary, files[{uri,checksum,size}], relations). "invenio"
 * maps datasets to datasets and publications to publications (creators as
 * authors with ORCID and ROR affiliations); "materialscloud" maps every
 * entry to a dataset after the NFFA-Europe D8.5 crosswalk and, with
 * assets = per-file, one dataset per file linked to its entry.
 * docs/harvesting.md (sections `type = invenio`, `type = materialscloud`) have
 * the crosswalks field by field. SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "harvest-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Ceilings on what one record may make us build. */
#define MAX_FILES 10000
#define MAX_MEMBERS 10000
#define MAX_KEYWORDS 1000
#define MAX_LINKS 1000
/* Records updated this long before the last listing started are asked for
 * again: the source's clock and ours may disagree. */
#define SINCE_MARGIN_MS (15 * 60 * 1000)
/* Restarts of a listing whose page URL the source rejected, per run. */
#define MAX_RESTARTS 1
/* Continuations past the search window, per run (each one moves on). */
#define MAX_WINDOWS 10000

/* ---- options --------------------------------------------------------------
 */
const ps_harvest_option psi_invenio_options[] = {
    {"q", "search query (Elasticsearch query_string) restricting the "
          "listing; the incremental updated:[..] range is ANDed to it"},
    {"communities", "community (slug or id) whose records are listed"},
    {"type", "resource type filter (Zenodo: dataset, publication, ...)"},
    {"sort", "sort order of the listing (default updated-asc)"},
    {"max_page_size", "the source's largest page (default 25: anonymous "
                      "Zenodo); page_size is capped at it"},
    {"incremental", "yes (default): ask only for records updated since the "
                    "last complete listing; no: list everything each run"},
    {NULL, NULL}};

const ps_harvest_option psi_materialscloud_options[] = {
    {"q", "search query (Elasticsearch query_string) restricting the "
          "listing; the incremental updated:[..] range is ANDed to it"},
    {"communities", "community (slug or id) whose records are listed"},
    {"type", "resource type filter"},
    {"sort", "sort order of the listing (default oldest; the legacy "
             "Invenio v3 archive knows mostrecent)"},
    {"max_page_size", "the source's largest page (default 100); page_size "
                      "is capped at it"},
    {"incremental", "yes (default): ask only for records updated since the "
                    "last complete listing; no: list everything each run"},
    {"assets", "per-entry (default): one dataset per archive entry; "
               "per-file: one dataset per file, linked to its entry"},
    {NULL, NULL}};

/* ---- the run --------------------------------------------------------------
 */
typedef struct inv {
    psi_run *run;
    int mca;      /* the materialscloud type */
    int per_file; /* materialscloud assets = per-file */
    const char *sort;
    long size;
    char origin[256];     /* scheme://host[:port] of the configured url */
    char host[256];       /* host[:port], for pids of records without a DOI */
    char *base;           /* the configured url without trailing '/' */
    int64_t seen;         /* hits read in the current query chain */
    char max_updated[64]; /* the last hit's `updated` (sort updated-asc) */
    int date_noted;       /* a bad date was noted */
    int cut_noted;        /* a record cut at a ceiling was noted */
} inv;

/* ---- strings ----------------------------------------------------------------
 */

static int ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = *a >= 'A' && *a <= 'Z' ? (char)(*a + 32) : *a;
        char y = *b >= 'A' && *b <= 'Z' ? (char)(*b + 32) : *b;
        if (x != y)
            return 0;
    }
    return *a == *b;
}

static int istarts(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);
    if (strlen(s) < n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char x = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] + 32) : s[i];
        if (x != prefix[i])
            return 0;
    }
    return 1;
}

/* The text of an HTML fragment (a record's description): tags dropped,
 * line breaks for <br>, paragraphs and list items, the common entities
 * and numeric references decoded, runs of white space collapsed. A '<'
 * that does not start a tag is text ("p < 0.05"). The result is never
 * longer than the input. */
static void put_utf8(char *out, size_t *o, unsigned long cp)
{
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        cp = 0xFFFD;
    if (cp < 0x80) {
        out[(*o)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*o)++] = (char)(0xC0 | (cp >> 6));
        out[(*o)++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out[(*o)++] = (char)(0xE0 | (cp >> 12));
        out[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*o)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        out[(*o)++] = (char)(0xF0 | (cp >> 18));
        out[(*o)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*o)++] = (char)(0x80 | (cp & 0x3F));
    }
}

/* An entity at s ("&amp;", "&#233;"): its length, and its text into out
 * (at most the entity's own length); 0 when s is not one. */
static size_t entity(const char *s, char *out, size_t *o)
{
    static const struct {
        const char *name;
        const char *text;
    } named[] = {{"amp;", "&"},     {"lt;", "<"},    {"gt;", ">"},
                 {"quot;", "\""},   {"apos;", "'"},  {"nbsp;", " "},
                 {"#39;", "'"},     {"ndash;", "-"}, {"mdash;", "-"},
                 {"hellip;", "..."}};
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
        size_t n = strlen(named[i].name);
        if (strncmp(s + 1, named[i].name, n) == 0) {
            size_t t = strlen(named[i].text);
            memcpy(out + *o, named[i].text, t);
            *o += t;
            return n + 1;
        }
    }
    if (s[1] != '#')
        return 0;
    int hex = s[2] == 'x' || s[2] == 'X';
    const char *p = s + (hex ? 3 : 2);
    unsigned long cp = 0;
    size_t digits = 0;
    for (; digits < 7; p++, digits++) {
        int d = *p >= '0' && *p <= '9'          ? *p - '0'
                : hex && *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
                : hex && *p >= 'A' && *p <= 'F' ? *p - 'A' + 10
                                                : -1;
        if (d < 0)
            break;
        cp = cp * (hex ? 16 : 10) + (unsigned long)d;
    }
    /* The shortest reference ("&#9;") is 4 bytes, the longest UTF-8
     * sequence too: the output never outgrows the input. */
    if (!digits || *p != ';')
        return 0;
    put_utf8(out, o, cp);
    return (size_t)(p - s) + 1;
}

static int tag_is(const char *name, size_t n, const char *what)
{
    return strlen(what) == n && istarts(name, what);
}

static char *html_to_text(const char *in)
{
    static const char *const blocks[] = {
        "br", "p",  "div", "li", "ul",    "ol",         "h1",
        "h2", "h3", "h4",  "tr", "table", "blockquote", NULL};
    size_t len = strlen(in), o = 0;
    char *out = ps_malloc(len + 1);
    if (!out)
        return NULL;
    int space = 0, newline = 0;
    for (size_t i = 0; i < len;) {
        char c = in[i];
        if (c == '<' && (in[i + 1] == '/' || in[i + 1] == '!' ||
                         (in[i + 1] >= 'a' && in[i + 1] <= 'z') ||
                         (in[i + 1] >= 'A' && in[i + 1] <= 'Z'))) {
            const char *end = strchr(in + i, '>');
            if (!end)
                break; /* an unclosed tag: the rest is markup */
            int closing = in[i + 1] == '/';
            const char *name = in + i + 1 + closing;
            size_t n = strcspn(name, "> /\t\r\n");
            for (int b = 0; blocks[b]; b++)
                if (tag_is(name, n, blocks[b]))
                    newline = 1;
            i = (size_t)(end - in) + 1;
            const char *drop = tag_is(name, n, "script")  ? "</script"
                               : tag_is(name, n, "style") ? "</style"
                                                          : NULL;
            if (drop && !closing && end[-1] != '/') {
                /* A script or style element: its content is not text. */
                const char *close = strchr(in + i, '<');
                while (close && !istarts(close, drop))
                    close = strchr(close + 1, '<');
                i = close ? (size_t)(close - in) : len;
            }
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            space = 1;
            i++;
            continue;
        }
        if (o > 0 && newline) {
            out[o++] = '\n';
        } else if (o > 0 && space) {
            out[o++] = ' ';
        }
        space = newline = 0;
        size_t n = c == '&' ? entity(in + i, out, &o) : 0;
        if (n) {
            i += n;
        } else {
            out[o++] = c;
            i++;
        }
    }
    out[o] = '\0';
    return out;
}

/* "IsCitedBy" -> "is-cited-by"; DataCite's and InvenioRDM's lower-case
 * ids ("iscitedby") through the table of DataCite relation types. */
static const char *const relation_types[] = {"IsCitedBy",
                                             "Cites",
                                             "IsSupplementTo",
                                             "IsSupplementedBy",
                                             "IsContinuedBy",
                                             "Continues",
                                             "IsDescribedBy",
                                             "Describes",
                                             "HasMetadata",
                                             "IsMetadataFor",
                                             "HasVersion",
                                             "IsVersionOf",
                                             "IsNewVersionOf",
                                             "IsPreviousVersionOf",
                                             "IsPartOf",
                                             "HasPart",
                                             "IsPublishedIn",
                                             "IsReferencedBy",
                                             "References",
                                             "IsDocumentedBy",
                                             "Documents",
                                             "IsCompiledBy",
                                             "Compiles",
                                             "IsVariantFormOf",
                                             "IsOriginalFormOf",
                                             "IsIdenticalTo",
                                             "IsReviewedBy",
                                             "Reviews",
                                             "IsDerivedFrom",
                                             "IsSourceOf",
                                             "IsRequiredBy",
                                             "Requires",
                                             "IsObsoletedBy",
                                             "Obsoletes",
                                             "IsCollectedBy",
                                             "Collects",
                                             "IsTranslationOf",
                                             "HasTranslation",
                                             NULL};

static void relation_name(const char *rel, char *out, size_t size)
{
    const char *camel = rel;
    for (int i = 0; relation_types[i]; i++)
        if (ieq(rel, relation_types[i]))
            camel = relation_types[i];
    size_t o = 0;
    for (size_t i = 0; camel[i] && o + 2 < size; i++) {
        char c = camel[i];
        if (c >= 'A' && c <= 'Z') {
            if (o > 0 && out[o - 1] != '-')
                out[o++] = '-';
            c = (char)(c + 32);
        } else if (c == '_' || c == ' ') {
            c = '-';
        }
        out[o++] = c;
    }
    out[o] = '\0';
}

/* ---- licences ---------------------------------------------------------------
 */
static const char *const spdx_ids[] = {"CC-BY-4.0",
                                       "CC-BY-SA-4.0",
                                       "CC-BY-NC-4.0",
                                       "CC-BY-NC-SA-4.0",
                                       "CC-BY-ND-4.0",
                                       "CC-BY-NC-ND-4.0",
                                       "CC-BY-3.0",
                                       "CC-BY-SA-3.0",
                                       "CC-BY-NC-3.0",
                                       "CC-BY-NC-SA-3.0",
                                       "CC-BY-ND-3.0",
                                       "CC-BY-NC-ND-3.0",
                                       "CC-BY-2.5",
                                       "CC-BY-2.0",
                                       "CC0-1.0",
                                       "MIT",
                                       "Apache-2.0",
                                       "GPL-2.0-only",
                                       "GPL-2.0-or-later",
                                       "GPL-3.0-only",
                                       "GPL-3.0-or-later",
                                       "LGPL-2.1-only",
                                       "LGPL-2.1-or-later",
                                       "LGPL-3.0-only",
                                       "LGPL-3.0-or-later",
                                       "AGPL-3.0-only",
                                       "AGPL-3.0-or-later",
                                       "BSD-2-Clause",
                                       "BSD-3-Clause",
                                       "MPL-2.0",
                                       "ODbL-1.0",
                                       "ODC-By-1.0",
                                       "PDDL-1.0",
                                       "EUPL-1.2",
                                       "ISC",
                                       "Unlicense",
                                       NULL};

static const struct {
    const char *alias;
    const char *spdx;
} spdx_aliases[] = {{"cc-by", "CC-BY-4.0"},
                    {"cc-by-sa", "CC-BY-SA-4.0"},
                    {"cc-by-nc", "CC-BY-NC-4.0"},
                    {"cc-by-nc-sa", "CC-BY-NC-SA-4.0"},
                    {"cc-by-nd", "CC-BY-ND-4.0"},
                    {"cc-by-nc-nd", "CC-BY-NC-ND-4.0"},
                    {"cc-zero", "CC0-1.0"},
                    {"cc0", "CC0-1.0"},
                    {"gpl-2.0", "GPL-2.0-only"},
                    {"gpl-3.0", "GPL-3.0-only"},
                    {"lgpl-3.0", "LGPL-3.0-only"},
                    {"agpl-3.0", "AGPL-3.0-only"},
                    {"mit license", "MIT"},
                    {"apache license 2.0", "Apache-2.0"},
                    {"bsd-3", "BSD-3-Clause"},
                    {"bsd-2", "BSD-2-Clause"},
                    {NULL, NULL}};

/* A Creative Commons licence named by title or URL ("Creative Commons
 * Attribution 4.0 International", "https://creativecommons.org/licenses/
 * by-sa/4.0/"): its SPDX id into out, or 0. */
static int spdx_of_cc(const char *s, char *out, size_t size)
{
    char low[256];
    size_t n = 0;
    for (; s[n] && n + 1 < sizeof low; n++)
        low[n] = s[n] >= 'A' && s[n] <= 'Z' ? (char)(s[n] + 32) : s[n];
    low[n] = '\0';
    if (!strstr(low, "creative commons") && !strstr(low, "creativecommons"))
        return 0;
    if (strstr(low, "zero") || strstr(low, "cc0")) {
        snprintf(out, size, "CC0-1.0");
        return 1;
    }
    if (!strstr(low, "attribution") && !strstr(low, "/by"))
        return 0;
    const char *version = "4.0";
    static const char *const versions[] = {"4.0", "3.0", "2.5",
                                           "2.0", "1.0", NULL};
    for (int i = 0; versions[i]; i++)
        if (strstr(low, versions[i]))
            version = versions[i];
    int nc = strstr(low, "noncommercial") || strstr(low, "non-commercial") ||
             strstr(low, "by-nc");
    int sa = strstr(low, "sharealike") || strstr(low, "share-alike") ||
             strstr(low, "-sa/") || strstr(low, "-sa ");
    int nd = strstr(low, "noderivatives") || strstr(low, "noderivs") ||
             strstr(low, "no-derivatives") || strstr(low, "-nd/");
    snprintf(out, size, "CC-BY%s%s%s-%s", nc ? "-NC" : "", sa ? "-SA" : "",
             nd && !sa ? "-ND" : "", version);
    return 1;
}

/* The SPDX form of a licence id, title or URL; unknown ones as given. */
static const char *spdx_of(const char *s, psi_strs *a)
{
    if (!s || !*s)
        return NULL;
    for (int i = 0; spdx_ids[i]; i++)
        if (ieq(s, spdx_ids[i]))
            return spdx_ids[i];
    for (int i = 0; spdx_aliases[i].alias; i++)
        if (ieq(s, spdx_aliases[i].alias))
            return spdx_aliases[i].spdx;
    char cc[32];
    if (spdx_of_cc(s, cc, sizeof cc)) {
        for (int i = 0; spdx_ids[i]; i++)
            if (strcmp(cc, spdx_ids[i]) == 0)
                return spdx_ids[i];
        return psi_strs_keep(a, ps_strdup(cc));
    }
    return s;
}

/* The record's licence: InvenioRDM rights[].id (or title), legacy
 * license.id / license (string), CERN Open Data license.attribution. */
static const char *license_of(const json_t *md, psi_strs *a)
{
    json_t *rights = json_object_get(md, "rights");
    size_t i;
    json_t *r;
    json_array_foreach (rights, i, r) {
        const char *id = psi_json_nonempty(r, "id");
        json_t *title = json_object_get(r, "title");
        const char *t = json_is_string(title) ? json_string_value(title)
                                              : psi_json_nonempty(title, "en");
        const char *link = psi_json_nonempty(r, "link");
        if (id || t || link)
            return spdx_of(id ? id : t ? t : link, a);
    }
    json_t *lic = json_object_get(md, "license");
    if (json_is_string(lic))
        return spdx_of(json_string_value(lic), a);
    const char *id = psi_json_nonempty(lic, "id");
    if (!id)
        id = psi_json_nonempty(lic, "attribution");
    if (!id)
        id = psi_json_nonempty(lic, "title");
    if (!id)
        id = psi_json_nonempty(lic, "url");
    return spdx_of(id, a);
}

/* ---- dates ------------------------------------------------------------------
 */

/* ms of a date ("2020", "2020-05-01", "2020-05-01T10:00:00Z", and the first
 * end of an EDTF interval "2020-01/2020-03"); PS_TIME_NONE when absent or
 * unreadable (noted once per run). */
static int64_t date_ms(inv *ix, const char *s, const char *pid)
{
    if (!s || !*s)
        return PS_TIME_NONE;
    char buf[64];
    size_t n = strcspn(s, "/");
    if (n >= sizeof buf)
        n = sizeof buf - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    int64_t ms;
    if (ps_time_parse(buf, &ms) == PS_OK)
        return ms;
    if (!ix->date_noted) {
        char note[200];
        snprintf(note, sizeof note,
                 "record %.80s: unreadable date \"%.40s\" "
                 "left out",
                 pid, s);
        psi_run_note(ix->run, note);
        ix->date_noted = 1;
    }
    return PS_TIME_NONE;
}

/* The date of metadata.dates[] whose type is one of want ("collected",
 * "created"): InvenioRDM {date, type:{id}}, legacy {start, end, type}. */
static const char *dated(const json_t *md, const char *want)
{
    json_t *dates = json_object_get(md, "dates");
    size_t i;
    json_t *d;
    json_array_foreach (dates, i, d) {
        json_t *type = json_object_get(d, "type");
        const char *t = json_is_string(type) ? json_string_value(type)
                                             : psi_json_nonempty(type, "id");
        if (!t || !ieq(t, want))
            continue;
        const char *v = psi_json_nonempty(d, "date");
        if (!v)
            v = psi_json_nonempty(d, "start");
        if (!v)
            v = psi_json_nonempty(d, "end");
        if (v)
            return v;
    }
    return NULL;
}

/* The first of CERN Open Data's date_created (an array of years or a
 * string). */
static const char *date_created(const json_t *md)
{
    json_t *v = json_object_get(md, "date_created");
    if (json_is_array(v))
        v = json_array_get(v, 0);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* ---- the record's parts -----------------------------------------------------
 */

/* A checksum as the store keeps it: "md5:<lower-case hex>" for MD5 (also
 * when the source sent the bare 32 hex digits), others as given. */
static const char *checksum_of(const char *c, psi_strs *a)
{
    if (!c || !*c)
        return NULL;
    const char *hex = NULL;
    if (istarts(c, "md5:"))
        hex = c + 4;
    else if (strlen(c) == 32 && strspn(c, "0123456789abcdefABCDEF") == 32)
        hex = c;
    if (!hex)
        return c;
    char *s = ps_asprintf("md5:%s", hex);
    if (s)
        ps_str_lower(s, (size_t)-1);
    return psi_strs_keep(a, s);
}

static int64_t size_of(const json_t *o, const char *key)
{
    double v;
    if (ps_json_num(o, key, &v) != 0 || !(v >= 0) || v >= 9.2e18)
        return -1;
    return (int64_t)v;
}

typedef struct files {
    ps_file_in *v;
    size_t n, cap;
    int64_t total; /* sum of the known sizes, -1 when none is known */
    int cut;
} files;

static int add_file(files *f, const json_t *x, const char *key_name,
                    psi_strs *a)
{
    if (!json_is_object(x))
        return 0;
    if (f->n >= MAX_FILES) {
        f->cut = 1;
        return 0;
    }
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 8;
        ps_file_in *p = ps_realloc(f->v, cap * sizeof *p);
        if (!p)
            return -1;
        f->v = p;
        f->cap = cap;
    }
    const char *name = psi_json_nonempty(x, "key");
    if (!name)
        name = psi_json_nonempty(x, "filename");
    if (!name)
        name = key_name;
    const char *uri = psi_json_nonempty(x, "uri");
    if (!name && uri) {
        const char *slash = strrchr(uri, '/');
        name = slash && slash[1] ? slash + 1 : uri;
    }
    if (!name)
        return 0;
    ps_file_in *o = &f->v[f->n];
    memset(o, 0, sizeof *o);
    o->name = name;
    o->path = uri ? uri : name;
    o->size = size_of(x, "size");
    if (o->size < 0)
        o->size = size_of(x, "filesize");
    o->checksum = checksum_of(psi_json_nonempty(x, "checksum"), a);
    json_t *links = json_object_get(x, "links");
    o->url = psi_json_nonempty(links, "content");
    if (!o->url)
        o->url = psi_json_nonempty(links, "self");
    if (!o->url)
        o->url = psi_json_nonempty(links, "download");
    if (!o->url)
        o->url = uri;
    if (o->size >= 0)
        f->total = (f->total < 0 ? 0 : f->total) + o->size;
    f->n++;
    return 0;
}

/* Files of InvenioRDM (files.entries: an object keyed by file name, or an
 * array), legacy Zenodo (files[]), legacy Invenio v3 (metadata._files[])
 * and CERN Open Data (metadata.files[]). */
static int files_of(const json_t *hit, const json_t *md, files *f, psi_strs *a)
{
    f->total = -1;
    json_t *fe = json_object_get(hit, "files");
    json_t *list = NULL;
    if (json_is_object(fe)) {
        if (json_is_false(json_object_get(fe, "enabled")))
            return 0; /* a metadata-only record */
        json_t *entries = json_object_get(fe, "entries");
        if (json_is_object(entries)) {
            const char *k;
            json_t *x;
            json_object_foreach (entries, k, x)
                if (add_file(f, x, k, a) < 0)
                    return -1;
            return 0;
        }
        list = entries;
    } else if (json_is_array(fe)) {
        list = fe;
    }
    if (!list)
        list = json_object_get(md, "_files");
    if (!json_is_array(list))
        list = json_object_get(md, "files");
    size_t i;
    json_t *x;
    json_array_foreach (list, i, x)
        if (add_file(f, x, NULL, a) < 0)
            return -1;
    return 0;
}

static const char *const keyword_keys[] = {"keywords", "subjects", NULL};

static int keywords_of(const json_t *md, const char ***out, size_t *n_out)
{
    size_t n = 0, cap = 0;
    const char **v = NULL;
    for (int k = 0; keyword_keys[k]; k++) {
        json_t *arr = json_object_get(md, keyword_keys[k]);
        size_t i;
        json_t *x;
        json_array_foreach (arr, i, x) {
            const char *s = json_is_string(x) ? json_string_value(x)
                                              : psi_json_nonempty(x, "subject");
            if (!s)
                s = psi_json_nonempty(x, "term");
            if (!s || !*s || n >= MAX_KEYWORDS)
                continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 8;
                const char **p = ps_realloc(v, cap * sizeof *p);
                if (!p) {
                    ps_free(v);
                    return -1;
                }
                v = p;
            }
            v[n++] = s;
        }
    }
    *out = v;
    *n_out = n;
    return 0;
}

/* What the record is: InvenioRDM resource_type.id ("dataset",
 * "publication-article", "software"), legacy resource_type {type, subtype}
 * or CERN Open Data type.primary ("Dataset", "Documentation"). *doc_type
 * gets the publication type for publications ("article"). */
static ps_kind kind_of(const json_t *md, const char **type_out,
                       const char **doc_type, psi_strs *a)
{
    static const char *const text_types[] = {
        "poster",        "presentation", "lesson",  "thesis", "report",
        "documentation", "book",         "article", NULL};
    json_t *rt = json_object_get(md, "resource_type");
    const char *type = psi_json_nonempty(rt, "id");
    const char *sub = NULL;
    if (!type) {
        type = psi_json_nonempty(rt, "type");
        sub = psi_json_nonempty(rt, "subtype");
    }
    if (!type)
        type = psi_json_nonempty(json_object_get(md, "type"), "primary");
    if (!type && json_is_string(rt))
        type = json_string_value(rt);
    *type_out = type;
    *doc_type = NULL;
    if (!type)
        return PS_KIND_DATASET;
    if (istarts(type, "publication")) {
        const char *dash = strchr(type, '-');
        *doc_type = sub ? sub : dash && dash[1] ? dash + 1 : "publication";
        return PS_KIND_PUBLICATION;
    }
    for (int i = 0; text_types[i]; i++)
        if (ieq(type, text_types[i])) {
            char *low = ps_strdup(type);
            if (low)
                ps_str_lower(low, (size_t)-1);
            *doc_type = psi_strs_keep(a, low);
            return PS_KIND_PUBLICATION;
        }
    return PS_KIND_DATASET;
}

/* Visibility: InvenioRDM access.record other than "public" is restricted;
 * an active embargo (access.embargo {active, until}, legacy access_right
 * "embargoed" with embargo_date) makes the record embargoed until then. */
static void visibility_of(inv *ix, const json_t *hit, const json_t *md,
                          const char *pid, ps_visibility *vis, int64_t *until)
{
    *vis = PS_VIS_PUBLIC;
    *until = 0;
    json_t *access = json_object_get(hit, "access");
    const char *record = psi_json_nonempty(access, "record");
    json_t *emb = json_object_get(access, "embargo");
    const char *emb_until = NULL;
    if (json_is_object(emb) && json_is_true(json_object_get(emb, "active")))
        emb_until = psi_json_nonempty(emb, "until");
    const char *right = psi_json_nonempty(md, "access_right");
    if (!emb_until && right && ieq(right, "embargoed"))
        emb_until = psi_json_nonempty(md, "embargo_date");
    if (emb_until) {
        int64_t ms = date_ms(ix, emb_until, pid);
        if (ms != PS_TIME_NONE) {
            *vis = PS_VIS_EMBARGOED;
            *until = ms;
        }
    }
    if (record && !ieq(record, "public"))
        *vis = PS_VIS_RESTRICTED;
}

/* ---- creators -> members ----------------------------------------------------
 */
typedef struct members {
    ps_member_in *v;
    size_t n, cap;
    int cut;
} members;

static ps_member_in *add_member(members *m)
{
    if (m->n >= MAX_MEMBERS) {
        m->cut = 1;
        return NULL;
    }
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 8;
        ps_member_in *p = ps_realloc(m->v, cap * sizeof *p);
        if (!p)
            return NULL;
        m->v = p;
        m->cap = cap;
    }
    ps_member_in *o = &m->v[m->n++];
    memset(o, 0, sizeof *o);
    o->role = "author";
    return o;
}

static const char *orcid_bare(const char *s)
{
    if (!s || !*s)
        return NULL;
    const char *slash = strrchr(s, '/');
    return slash ? slash + 1 : s;
}

static const char *ror_iri(const char *s, psi_strs *a)
{
    if (!s || !*s)
        return NULL;
    while (*s == ' ')
        s++;
    if (istarts(s, "https://ror.org/"))
        return s;
    const char *slash = strrchr(s, '/');
    const char *id = slash ? slash + 1 : s;
    size_t n = strcspn(id, " ;");
    if (n == 0)
        return NULL;
    return psi_strs_keep(a, ps_asprintf("https://ror.org/%.*s", (int)n, id));
}

/* One member per (creator, affiliation); a creator without affiliation is
 * one member without institution. */
static int add_creator(inv *ix, members *m, const ps_person_in *person,
                       json_t *affs, const char *aff_text, const char *rorids,
                       psi_strs *a)
{
    size_t naff = json_array_size(affs);
    size_t made = 0;
    for (size_t i = 0; i < naff; i++) {
        json_t *x = json_array_get(affs, i);
        const char *name = json_is_string(x) ? json_string_value(x)
                                             : psi_json_nonempty(x, "name");
        if (!name)
            continue;
        ps_member_in *o = add_member(m);
        if (!o)
            return m->cut ? 0 : -1;
        if (person)
            o->person = *person;
        o->institution.name = name;
        o->institution.pid = ror_iri(psi_json_nonempty(x, "id"), a);
        made++;
    }
    if (!made && aff_text && *aff_text) {
        /* CERN Open Data: "A; B; C" with rorid "r1; r2; r3" alongside. */
        const char *p = aff_text, *r = rorids;
        while (*p) {
            size_t n = strcspn(p, ";");
            size_t rn = r ? strcspn(r, ";") : 0;
            while (n && p[n - 1] == ' ')
                n--;
            if (n) {
                ps_member_in *o = add_member(m);
                if (!o)
                    return m->cut ? 0 : -1;
                if (person)
                    o->person = *person;
                o->institution.name = psi_strs_keep(a, ps_strndup(p, n));
                o->institution.pid =
                    r && rn
                        ? psi_strs_keep(a, ps_asprintf("https://ror.org/%.*s",
                                                       (int)rn, r))
                        : NULL;
                made++;
            }
            p += strcspn(p, ";");
            while (*p == ';' || *p == ' ')
                p++;
            if (r) {
                r += strcspn(r, ";");
                while (*r == ';' || *r == ' ')
                    r++;
                if (!*r)
                    r = NULL;
            }
        }
    }
    if (!made && person) {
        ps_member_in *o = add_member(m);
        if (!o)
            return m->cut ? 0 : -1;
        o->person = *person;
    }
    (void)ix;
    return 0;
}

/* Creators of the three shapes: InvenioRDM creators[{person_or_org,
 * affiliations}], legacy creators[{name, orcid, affiliation}], CERN Open
 * Data authors[{name, orcid, affiliation, rorid}], legacy Materials Cloud
 * authors[{givennames, familyname, affiliations}]. */
static int creators_of(inv *ix, const json_t *md, members *m, psi_strs *a)
{
    json_t *list = json_object_get(md, "creators");
    if (!json_array_size(list))
        list = json_object_get(md, "authors");
    size_t i;
    json_t *c;
    json_array_foreach (list, i, c) {
        if (!json_is_object(c))
            continue;
        json_t *po = json_object_get(c, "person_or_org");
        const json_t *p = json_is_object(po) ? po : c;
        ps_person_in person = {0};
        person.given_name = psi_json_nonempty(p, "given_name");
        if (!person.given_name)
            person.given_name = psi_json_nonempty(p, "givennames");
        person.family_name = psi_json_nonempty(p, "family_name");
        if (!person.family_name)
            person.family_name = psi_json_nonempty(p, "familyname");
        person.full_name = psi_json_nonempty(p, "name");
        if (!person.full_name && person.family_name)
            person.full_name =
                person.given_name
                    ? psi_strs_keep(a, ps_asprintf("%s, %s", person.family_name,
                                                   person.given_name))
                    : person.family_name;
        const char *orcid = psi_json_nonempty(p, "orcid");
        const char *ror = NULL;
        json_t *ids = json_object_get(p, "identifiers");
        size_t k;
        json_t *id;
        json_array_foreach (ids, k, id) {
            const char *scheme = psi_json_nonempty(id, "scheme");
            const char *v = psi_json_nonempty(id, "identifier");
            if (scheme && v && ieq(scheme, "orcid"))
                orcid = v;
            else if (scheme && v && ieq(scheme, "ror"))
                ror = v;
        }
        const char *type = psi_json_nonempty(p, "type");
        json_t *affs = json_object_get(c, "affiliations");
        const char *aff_text = psi_json_nonempty(c, "affiliation");
        if (type && ieq(type, "organizational")) {
            /* An organisation as creator: a member with only an
             * institution. */
            if (!person.full_name)
                continue;
            ps_member_in *o = add_member(m);
            if (!o) {
                if (m->cut)
                    break;
                return -1;
            }
            o->institution.name = person.full_name;
            o->institution.pid = ror_iri(ror, a);
            continue;
        }
        if (!person.full_name)
            continue;
        orcid = orcid_bare(orcid);
        if (orcid) {
            person.orcid = orcid;
            person.pid =
                psi_strs_keep(a, ps_asprintf("https://orcid.org/%s", orcid));
        } else {
            person.pid =
                psi_strs_keep(a, ps_asprintf("%s:name:%s", ix->run->src->name,
                                             person.full_name));
        }
        if (add_creator(ix, m, &person, affs, aff_text,
                        psi_json_nonempty(c, "rorid"), a) < 0)
            return -1;
        if (m->cut)
            break;
    }
    return a->nomem ? -1 : 0;
}

/* ---- links ------------------------------------------------------------------
 */
static int facility_prefix(const char *doi)
{
    return ps_str_startswith(doi, "10.5291/") ||
           ps_str_startswith(doi, "10.15151/") ||
           ps_str_startswith(doi, "10.24435/");
}

static ps_status link_one(inv *ix, ps_kind src_kind, int64_t src_id,
                          const char *rel, const char *target, ps_kind dst_kind,
                          ps_err *err)
{
    char type[64];
    relation_name(rel, type, sizeof type);
    if (!type[0])
        return PS_OK;
    ps_status rc =
        psi_run_link(ix->run, type, src_kind, src_id, dst_kind, target, err);
    if (rc == PS_OK && src_kind == PS_KIND_PUBLICATION &&
        dst_kind == PS_KIND_DATASET &&
        (strcmp(type, "cites") == 0 || strcmp(type, "references") == 0 ||
         strcmp(type, "is-supplemented-by") == 0))
        rc = psi_run_link(ix->run, "publication-cites-data", src_kind, src_id,
                          dst_kind, target, err);
    return rc;
}

/* related_identifiers (InvenioRDM {identifier, scheme, relation_type{id},
 * resource_type{id}}, legacy {identifier, scheme, relation,
 * resource_type}), CERN Open Data relations[{type, doi, recid}] and legacy
 * Materials Cloud references[{doi}] as links of the record. */
/* A publication's files named *.pdf, for the pdf source (Zenodo's file
 * URLs end in /content, so the name decides). */
static ps_status pdf_files(psi_run *run, const files *f, int64_t id,
                           ps_err *err)
{
    static const char *const pdf_type = "application/pdf";
    const char *urls[64], *types[64];
    size_t n = 0;
    for (size_t i = 0; i < f->n && n < 64; i++) {
        const char *name = f->v[i].name;
        size_t len = name ? strlen(name) : 0;
        if (len > 4 && strcasecmp(name + len - 4, ".pdf") == 0) {
            urls[n] = f->v[i].url;
            types[n++] = pdf_type;
        }
    }
    return psi_run_pdf_links(run, id, urls, types, n, err);
}

static ps_status links_of(inv *ix, const json_t *md, const char *host,
                          ps_kind kind, int64_t id, ps_err *err)
{
    ps_status rc = PS_OK;
    size_t made = 0;
    json_t *rel = json_object_get(md, "related_identifiers");
    size_t i;
    json_t *r;
    json_array_foreach (rel, i, r) {
        if (made >= MAX_LINKS)
            break;
        const char *ident = psi_json_nonempty(r, "identifier");
        const char *scheme = psi_json_nonempty(r, "scheme");
        json_t *rt = json_object_get(r, "relation_type");
        const char *relation = json_is_string(rt) ? json_string_value(rt)
                                                  : psi_json_nonempty(rt, "id");
        if (!relation)
            relation = psi_json_nonempty(r, "relation");
        if (!ident || !relation)
            continue;
        const char *target = psi_doi_bare(ident);
        if (!target && scheme && ieq(scheme, "url"))
            target = ident;
        if (!target)
            continue; /* arXiv ids, ISBNs, PMIDs: nothing pansift holds */
        json_t *res = json_object_get(r, "resource_type");
        const char *rtype = json_is_string(res) ? json_string_value(res)
                                                : psi_json_nonempty(res, "id");
        if (!rtype)
            rtype = psi_json_nonempty(res, "type");
        ps_kind dst = rtype && istarts(rtype, "dataset") ? PS_KIND_DATASET
                      : rtype                            ? PS_KIND_PUBLICATION
                      : facility_prefix(target)          ? PS_KIND_DATASET
                                                         : PS_KIND_PUBLICATION;
        rc = link_one(ix, kind, id, relation, target, dst, err);
        if (rc != PS_OK)
            return rc;
        made++;
    }
    json_t *cern = json_object_get(md, "relations");
    json_array_foreach (cern, i, r) {
        if (made >= MAX_LINKS)
            break;
        const char *relation = psi_json_nonempty(r, "type");
        const char *target = psi_doi_bare(psi_json_nonempty(r, "doi"));
        psi_strs a = {0};
        const char *recid = psi_json_str_or_num(r, "recid", &a);
        char *own = NULL;
        if (!target && recid)
            target = own = ps_asprintf("%s:recid:%s", host, recid);
        psi_strs_free(&a);
        if (relation && target)
            rc = link_one(ix, kind, id, relation, target, PS_KIND_DATASET, err);
        ps_free(own);
        if (rc != PS_OK)
            return rc;
        made++;
    }
    json_t *refs = json_object_get(md, "references");
    json_array_foreach (refs, i, r) {
        if (made >= MAX_LINKS)
            break;
        const char *target = psi_doi_bare(psi_json_nonempty(r, "doi"));
        if (!target)
            continue;
        rc = link_one(ix, kind, id, "IsSupplementTo", target,
                      facility_prefix(target) ? PS_KIND_DATASET
                                              : PS_KIND_PUBLICATION,
                      err);
        if (rc != PS_OK)
            return rc;
        made++;
    }
    return rc;
}

static int split_origin(const char *url, char *origin, size_t osize, char *host,
                        size_t hsize);

/* ---- one record
 * ---------------------------------------------------------------
 */
typedef struct record {
    psi_strs a;
    files f;
    members m;
    const char **keywords;
    size_t nkeywords;
    ps_param_in params[2];
    size_t nparams;
} record;

static void record_free(record *r)
{
    psi_strs_free(&r->a);
    ps_free(r->f.v);
    ps_free(r->m.v);
    ps_free(r->keywords);
}

static void note_cut(inv *ix, const char *pid, const char *what)
{
    if (ix->cut_noted)
        return;
    char note[200];
    snprintf(note, sizeof note, "record %.80s: only the first %s kept", pid,
             what);
    psi_run_note(ix->run, note);
    ix->cut_noted = 1;
}

/* Store a put's outcome: counted, or the record rejected when the store
 * found it unusable. */
static ps_status after_put(inv *ix, ps_status rc, ps_put_result res,
                           ps_kind kind, const char *pid, ps_err *e,
                           ps_err *err)
{
    if (rc == PS_ERR_INVALID)
        return psi_run_reject(ix->run, kind, pid, e->msg, err);
    if (rc != PS_OK) {
        if (err)
            *err = *e;
        return rc;
    }
    return psi_run_record(ix->run, res, err);
}

static ps_status reject(inv *ix, ps_kind kind, const char *pid, const char *why,
                        const char *what, ps_err *err)
{
    char msg[300];
    snprintf(msg, sizeof msg, "record %s: %s", what ? what : "?", why);
    return psi_run_reject(ix->run, kind, pid, msg, err);
}

/* Map and store one search hit. */
static ps_status put_hit(inv *ix, json_t *hit, ps_err *err)
{
    psi_run *run = ix->run;
    record r;
    memset(&r, 0, sizeof r);
    ps_status rc = PS_OK;
    ps_err e = PS_ERR_INIT;
    json_t *md = json_object_get(hit, "metadata");
    const char *id = psi_json_str_or_num(hit, "id", &r.a);
    if (!id)
        id = psi_json_str_or_num(md, "recid", &r.a);
    if (!id)
        id = psi_json_str_or_num(md, "control_number", &r.a);
    if (!json_is_object(hit)) {
        rc = reject(ix, PS_KIND_DATASET, NULL, "not a JSON object", id, err);
        goto out;
    }
    const char *upd = psi_json_nonempty(hit, "updated");
    if (upd && strlen(upd) < sizeof ix->max_updated)
        snprintf(ix->max_updated, sizeof ix->max_updated, "%s", upd);
    if (!json_is_object(md)) {
        rc = reject(ix, PS_KIND_DATASET, id, "no metadata object", id, err);
        goto out;
    }
    /* The pid: the DOI, else the landing page, else host:recid:id. */
    const char *doi = psi_doi_bare(psi_json_nonempty(
        json_object_get(json_object_get(hit, "pids"), "doi"), "identifier"));
    if (!doi)
        doi = psi_doi_bare(psi_json_nonempty(md, "doi"));
    if (!doi)
        doi = psi_doi_bare(psi_json_nonempty(hit, "doi"));
    json_t *links = json_object_get(hit, "links");
    const char *pid = doi;
    if (!pid)
        pid = psi_json_nonempty(links, "self_html");
    if (!pid)
        pid = psi_json_nonempty(links, "html");
    /* The host of the record's own API link (links.self) is the
     * repository's public name; the configured url may be a mirror, a
     * proxy or a port that changes. */
    char host[256];
    const char *self = psi_json_nonempty(links, "self");
    char origin[256];
    if (!self ||
        split_origin(self, origin, sizeof origin, host, sizeof host) != 0)
        snprintf(host, sizeof host, "%s", ix->host);
    if (!pid && id)
        pid = psi_strs_keep(&r.a, ps_asprintf("%s:recid:%s", host, id));
    if (!pid) {
        rc = reject(ix, PS_KIND_DATASET, NULL, "no id and no DOI", NULL, err);
        goto out;
    }
    const char *type = NULL, *doc_type = NULL;
    ps_kind kind = kind_of(md, &type, &doc_type, &r.a);
    if (ix->mca)
        kind = PS_KIND_DATASET; /* archive entries are data */
    json_t *del = json_object_get(hit, "deletion_status");
    if (json_is_true(json_object_get(del, "is_deleted"))) {
        rc = psi_run_delete(run, kind, pid, err);
        goto out;
    }
    const char *title = psi_json_nonempty(md, "title");
    if (!title) {
        rc = reject(ix, kind, pid, "no title", pid, err);
        goto out;
    }
    const char *html = psi_json_nonempty(md, "description");
    if (!html)
        html =
            psi_json_nonempty(json_object_get(md, "abstract"), "description");
    const char *description =
        html ? psi_strs_keep(&r.a, html_to_text(html)) : NULL;
    const char *license = license_of(md, &r.a);
    ps_visibility vis;
    int64_t until;
    visibility_of(ix, hit, md, pid, &vis, &until);
    if (keywords_of(md, &r.keywords, &r.nkeywords) < 0 ||
        files_of(hit, md, &r.f, &r.a) < 0 || r.a.nomem) {
        rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (r.f.cut)
        note_cut(ix, pid, "10,000 files");
    ps_prov prov = {run->source_id, pid, hit, 0, run->run_id, NULL, 0};
    ps_put_result res = PS_PUT_UNCHANGED;
    int64_t rec_id = 0;

    if (kind == PS_KIND_PUBLICATION) {
        ps_document_in in = {0};
        if (creators_of(ix, md, &r.m, &r.a) < 0) {
            rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
            goto out;
        }
        if (r.m.cut)
            note_cut(ix, pid, "10,000 authors");
        in.kind = PS_KIND_PUBLICATION;
        in.pid = pid;
        in.type = doc_type;
        in.title = title;
        in.summary = description;
        in.doi = doi;
        in.license = license;
        const char *pub = psi_json_nonempty(md, "publication_date");
        if (!pub)
            pub = psi_json_nonempty(md, "date_published");
        in.start_ms = in.end_ms = PS_TIME_NONE;
        in.release_ms = date_ms(ix, pub, pid);
        if (pub && strlen(pub) >= 4 && strspn(pub, "0123456789") >= 4)
            in.year = (int)strtol(pub, NULL, 10);
        json_t *journal = json_object_get(md, "journal");
        if (!json_is_object(journal))
            journal = json_object_get(json_object_get(hit, "custom_fields"),
                                      "journal:journal");
        in.journal = psi_json_nonempty(journal, "title");
        in.vis = vis;
        in.embargo_until_ms = until;
        in.keywords = r.keywords;
        in.nkeywords = r.nkeywords;
        in.members = r.m.v;
        in.nmembers = r.m.n;
        rc = ps_store_put_document(run->st, &prov, &in, &res, &rec_id, &e);
        int stored = rc == PS_OK;
        rc = after_put(ix, rc, res, kind, pid, &e, err);
        if (rc == PS_OK && stored && res != PS_PUT_UNCHANGED)
            rc = links_of(ix, md, host, kind, rec_id, err);
        if (rc == PS_OK && stored && res != PS_PUT_UNCHANGED &&
            kind == PS_KIND_PUBLICATION)
            rc = pdf_files(run, &r.f, rec_id, err);
        goto out;
    }

    /* A dataset (or, per file, an entry and its files). */
    ps_dataset_in in = {0};
    in.pid = pid;
    in.title = title;
    in.description = description;
    in.doi = doi;
    const char *created = dated(md, "collected");
    if (!ix->mca && !created)
        created = dated(md, "created");
    if (!ix->mca && !created)
        created = date_created(md);
    if (!ix->mca && !created)
        created = psi_json_nonempty(md, "publication_date");
    if (!created)
        created = psi_json_nonempty(hit, "created");
    in.created_ms = date_ms(ix, created, pid);
    in.size = r.f.total;
    in.vis = vis;
    in.embargo_until_ms = until;
    in.keywords = r.keywords;
    in.nkeywords = r.nkeywords;
    if (license) {
        r.params[r.nparams].name = "license";
        r.params[r.nparams++].text = license;
    }
    if (type) {
        r.params[r.nparams].name = "resource_type";
        r.params[r.nparams++].text = type;
    }
    in.params = r.params;
    in.nparams = r.nparams;
    in.files = r.f.v;
    in.nfiles = ix->per_file ? 0 : r.f.n;
    rc = ps_store_put_dataset(run->st, &prov, &in, &res, &rec_id, &e);
    int stored = rc == PS_OK;
    rc = after_put(ix, rc, res, kind, pid, &e, err);
    if (rc == PS_OK && stored && res != PS_PUT_UNCHANGED)
        rc = links_of(ix, md, host, kind, rec_id, err);
    if (rc != PS_OK || !stored || !ix->per_file)
        goto out;

    /* assets = per-file: one dataset per file, part of the entry. The DOI
     * stays with the entry (the files would otherwise merge into it). */
    for (size_t i = 0; i < r.f.n && rc == PS_OK; i++) {
        const ps_file_in *f = &r.f.v[i];
        char *fpid = ps_asprintf("%s/%s", pid, f->name);
        char *ftitle = ps_asprintf("%s: %s", title, f->name);
        if (!fpid || !ftitle) {
            ps_free(fpid);
            ps_free(ftitle);
            rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
            break;
        }
        ps_dataset_in fin = in;
        fin.pid = fpid;
        fin.title = ftitle;
        fin.doi = NULL;
        fin.files = f;
        fin.nfiles = 1;
        fin.size = f->size;
        ps_prov fprov = prov;
        fprov.remote_id = fpid;
        int64_t fid = 0;
        ps_err fe = PS_ERR_INIT;
        res = PS_PUT_UNCHANGED;
        rc = ps_store_put_dataset(run->st, &fprov, &fin, &res, &fid, &fe);
        int fstored = rc == PS_OK;
        rc = after_put(ix, rc, res, PS_KIND_DATASET, fpid, &fe, err);
        if (rc == PS_OK && fstored && res != PS_PUT_UNCHANGED)
            rc = psi_run_link(run, "is-part-of", PS_KIND_DATASET, fid,
                              PS_KIND_DATASET, pid, err);
        ps_free(fpid);
        ps_free(ftitle);
    }
out:
    record_free(&r);
    return rc;
}

/* ---- paging
 * -------------------------------------------------------------------
 */

/* scheme://host[:port] and host[:port] of url. */
static int split_origin(const char *url, char *origin, size_t osize, char *host,
                        size_t hsize)
{
    const char *p = strstr(url, "://");
    if (!p)
        return -1;
    p += 3;
    size_t n = strcspn(p, "/?#");
    if (n == 0)
        return -1;
    snprintf(origin, osize, "%.*s", (int)(p - url + (ptrdiff_t)n), url);
    snprintf(host, hsize, "%.*s", (int)n, p);
    return 0;
}

/* The path and query of an absolute URL ("/api/records?page=2..."); a
 * relative one as it is. */
static const char *path_of(const char *url)
{
    const char *p = strstr(url, "://");
    if (!p)
        return url;
    p += 3;
    return p + strcspn(p, "/?#");
}

/* Append "&name=value" (value percent-encoded) to b. */
static ps_status add_param(ps_buf *b, const char *name, const char *value)
{
    char *enc = ps_pct_encode(value);
    if (!enc)
        return PS_ERR_NOMEM;
    ps_status rc = ps_buf_printf(b, "%s%s=%s", strchr(b->data, '?') ? "&" : "?",
                                 name, enc);
    ps_free(enc);
    return rc;
}

/* The first page's path and query: records of the configured query,
 * updated from `floor` on when floor is not NULL. */
static char *first_page(inv *ix, const char *floor)
{
    psi_run *run = ix->run;
    ps_buf b;
    ps_buf_init(&b, 0);
    const char *base = path_of(ix->base);
    ps_status rc =
        ps_buf_printf(&b, "%s%s", base,
                      ps_str_endswith(ix->base, "/records") ? "" : "/records");
    const char *q = psi_opt(run, "q");
    char *query = NULL;
    if (floor)
        query = q && *q ? ps_asprintf("(%s) AND updated:[%s TO *]", q, floor)
                        : ps_asprintf("updated:[%s TO *]", floor);
    else if (q && *q)
        query = ps_strdup(q);
    if (rc == PS_OK && (floor || (q && *q)) && !query)
        rc = PS_ERR_NOMEM;
    if (rc == PS_OK && query)
        rc = add_param(&b, "q", query);
    ps_free(query);
    char size[32];
    snprintf(size, sizeof size, "%ld", ix->size);
    if (rc == PS_OK)
        rc = add_param(&b, "size", size);
    if (rc == PS_OK)
        rc = add_param(&b, "sort", ix->sort);
    const char *comm = psi_opt(run, "communities");
    if (rc == PS_OK && comm && *comm)
        rc = add_param(&b, "communities", comm);
    const char *type = psi_opt(run, "type");
    if (rc == PS_OK && type && *type)
        rc = add_param(&b, "type", type);
    if (rc != PS_OK) {
        ps_buf_free(&b);
        return NULL;
    }
    return ps_buf_detach(&b);
}

/* hits.total: a number (Invenio v3, Zenodo) or {value, relation} (ES 7). */
static int64_t total_of(const json_t *hits)
{
    json_t *t = json_object_get(hits, "total");
    if (json_is_object(t))
        t = json_object_get(t, "value");
    return json_is_integer(t) ? (int64_t)json_integer_value(t) : -1;
}

/* Fetch one page (path and query on the configured origin) and parse it.
 * An answer that is not JSON is asked for once more before failing. */
static ps_status fetch_page(inv *ix, const char *path, json_t **out,
                            long *status, ps_err *err)
{
    psi_run *run = ix->run;
    *out = NULL;
    *status = 0;
    char *url = ps_asprintf("%s%s", ix->origin, path);
    if (!url)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    ps_status rc = PS_OK;
    for (int attempt = 0; attempt < 2; attempt++) {
        ps_http_response resp;
        rc = psi_run_fetch(run, url, NULL, &resp, err);
        *status = resp.status;
        if (rc == PS_OK) {
            json_error_t je;
            *out = json_loadb(resp.body, resp.body_len, 0, &je);
            if (!*out || !json_is_object(json_object_get(*out, "hits"))) {
                rc = ps_err_set(err, PS_ERR_UPSTREAM, "source %s: %s: %s",
                                run->src->name, url,
                                *out ? "not an Invenio search answer (no "
                                       "hits object)"
                                     : "the answer is not JSON");
                json_decref(*out);
                *out = NULL;
            }
        }
        ps_http_response_free(&resp);
        if (rc == PS_OK)
            ps_err_clear(err);
        if (rc != PS_ERR_UPSTREAM || *status != 200)
            break;
    }
    ps_free(url);
    return rc;
}

/* The value of query parameter name in path, or -1. */
static int64_t query_number(const char *path, const char *name)
{
    char key[32];
    snprintf(key, sizeof key, "%s=", name);
    size_t n = strlen(key);
    const char *q = strchr(path, '?');
    while (q) {
        q++;
        if (strncmp(q, key, n) == 0) {
            char *end;
            long long v = strtoll(q + n, &end, 10);
            return (*end == '&' || *end == '\0') && v >= 0 ? v : -1;
        }
        q = strchr(q, '&');
    }
    return -1;
}

/* Hits before the page at path: (page - 1) * size, or 0. */
static int64_t hits_before(const char *path)
{
    int64_t page = query_number(path, "page");
    int64_t size = query_number(path, "size");
    if (page < 1 || size < 1 || page > 1000000 || size > 1000000)
        return 0;
    return (page - 1) * size;
}

/* Checkpoint keys. */
static const char K_SINCE[] = "since";     /* start of the last complete
                                              listing, ISO 8601 */
static const char K_RESUME[] = "resume";   /* next page's path and query */
static const char K_LISTING[] = "listing"; /* start of the listing under
                                              way */

static ps_status harvest(psi_run *run, int mca, ps_err *err)
{
    inv ix;
    memset(&ix, 0, sizeof ix);
    ix.run = run;
    ix.mca = mca;
    const char *url = run->src->url;
    if (!ps_str_startswith(url, "http://") &&
        !ps_str_startswith(url, "https://"))
        return ps_err_set(err, PS_ERR_INVALID,
                          "source %s: url \"%s\" is not http(s)://",
                          run->src->name, url);
    if (split_origin(url, ix.origin, sizeof ix.origin, ix.host,
                     sizeof ix.host) != 0)
        return ps_err_set(err, PS_ERR_INVALID,
                          "source %s: url \"%s\" has no host", run->src->name,
                          url);
    long maxps = 0;
    ps_status rc = psi_opt_long(run, "max_page_size", mca ? 100 : 25, 1, 100000,
                                &maxps, err);
    if (rc != PS_OK)
        return rc;
    ix.size = run->src->page_size > 0 && run->src->page_size < maxps
                  ? run->src->page_size
                  : maxps;
    ix.sort = psi_opt(run, "sort");
    if (!ix.sort || !*ix.sort)
        ix.sort = mca ? "oldest" : "updated-asc";
    const char *incr = psi_opt(run, "incremental");
    int incremental = 1;
    if (incr &&
        (ieq(incr, "no") || ieq(incr, "false") || strcmp(incr, "0") == 0))
        incremental = 0;
    else if (incr && !ieq(incr, "yes") && !ieq(incr, "true") &&
             strcmp(incr, "1") != 0)
        return ps_err_set(err, PS_ERR_INVALID,
                          "source %s: incremental = \"%s\" is not yes or no",
                          run->src->name, incr);
    const char *assets = psi_opt(run, "assets");
    if (assets && strcmp(assets, "per-file") == 0)
        ix.per_file = 1;
    else if (assets && strcmp(assets, "per-entry") != 0)
        return ps_err_set(err, PS_ERR_INVALID,
                          "source %s: assets = \"%s\" is not per-file or "
                          "per-entry",
                          run->src->name, assets);
    size_t blen = strlen(url);
    while (blen && url[blen - 1] == '/')
        blen--;
    ix.base = ps_strndup(url, blen);
    if (!ix.base)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");

    char *since = NULL, *resume = NULL, *listing = NULL, *path = NULL;
    rc = psi_state_get(run, K_SINCE, &since, err);
    if (rc == PS_OK)
        rc = psi_state_get(run, K_RESUME, &resume, err);
    if (rc == PS_OK)
        rc = psi_state_get(run, K_LISTING, &listing, err);
    if (rc != PS_OK)
        goto out;
    if (!incremental) {
        ps_free(since);
        since = NULL;
    }
    char now[32];
    psi_iso_time(run->started_ms, 0, now, sizeof now);
    int resumed = resume != NULL && listing != NULL;
    if (!resumed) {
        ps_free(resume);
        ps_free(listing);
        resume = NULL;
        listing = ps_strdup(now);
        if (!listing) {
            rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
            goto out;
        }
    }
    path = resumed ? resume : first_page(&ix, since);
    resume = NULL;
    if (!path) {
        rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        goto out;
    }
    int full = !resumed && !since; /* may set run->complete at the end */
    /* A resumed chain has listed (page - 1) * size hits before this page
     * (Invenio's next links carry both), so its end is not mistaken for
     * the end of a search window. */
    if (resumed)
        ix.seen = hits_before(path);
    int restarts = 0, windows = 0;
    int64_t chain_total = -1; /* hits.total of the current query */
    char floor[64] = "";      /* the lower bound of the current query */
    run->phase = "records";
    run->phase_done = 0;
    run->phase_total = -1;

    for (int page = 1;; page++) {
        if (psi_run_cancelled(run)) {
            rc = ps_err_set(err, PS_ERR_CANCELLED, "harvest of %s cancelled",
                            run->src->name);
            break;
        }
        json_t *body = NULL;
        long status = 0;
        rc = fetch_page(&ix, path, &body, &status, err);
        if ((rc == PS_ERR_UPSTREAM || rc == PS_ERR_NOTFOUND) &&
            (status == 400 || status == 404 || status == 410 ||
             status == 422) &&
            (resumed || page > 1) && restarts < MAX_RESTARTS) {
            /* The source no longer takes this page (Zenodo answers 422
             * for a page past its window or a stale one): list again from
             * the last complete listing. Nothing is lost; pages already
             * stored come back unchanged. */
            char note[200];
            snprintf(note, sizeof note,
                     "the source refused a page (HTTP %ld): listing "
                     "restarted from %s",
                     status, since ? since : "the beginning");
            psi_run_note(run, note);
            restarts++;
            resumed = 0;
            full = 0; /* records of the failed chain may not be seen */
            ps_free(path);
            path = first_page(&ix, since);
            ix.seen = 0;
            chain_total = -1;
            floor[0] = '\0';
            rc = path ? psi_run_checkpoint(run, K_RESUME, NULL, err)
                      : ps_err_set(err, PS_ERR_NOMEM, "out of memory");
            if (rc != PS_OK)
                break;
            ps_err_clear(err);
            continue;
        }
        if (rc != PS_OK)
            break;
        json_t *hits = json_object_get(body, "hits");
        int64_t total = total_of(hits);
        if (chain_total < 0 && total >= 0) {
            chain_total = total;
            if (run->phase_total < 0)
                run->phase_total = total;
        }
        json_t *list = json_object_get(hits, "hits");
        size_t n = json_array_size(list);
        for (size_t i = 0; i < n && rc == PS_OK; i++) {
            rc = put_hit(&ix, json_array_get(list, i), err);
            ix.seen++;
        }
        const char *next =
            psi_json_nonempty(json_object_get(body, "links"), "next");
        char *next_path = NULL;
        if (rc == PS_OK && next && n > 0) {
            next_path = ps_strdup(path_of(next));
            if (!next_path)
                rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
            else if (strcmp(next_path, path) == 0)
                rc = ps_err_set(err, PS_ERR_UPSTREAM,
                                "source %s: links.next of %s is the page "
                                "itself",
                                run->src->name, path);
        }
        /* The end of the search window: with sort updated-asc the listing
         * goes on from the last `updated` seen (that record again). */
        if (rc == PS_OK && !next_path && n > 0 && chain_total > ix.seen &&
            strcmp(ix.sort, "updated-asc") == 0 && ix.max_updated[0] &&
            strcmp(ix.max_updated, floor) != 0 && windows < MAX_WINDOWS) {
            windows++;
            snprintf(floor, sizeof floor, "%s", ix.max_updated);
            next_path = first_page(&ix, floor);
            if (!next_path)
                rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
            ix.seen = 0;
            chain_total = -1;
        }
        json_decref(body);
        if (rc != PS_OK) {
            ps_free(next_path);
            break;
        }
        if (next_path) {
            const char *keys[2] = {K_RESUME, K_LISTING};
            const char *values[2] = {next_path, listing};
            rc = psi_run_checkpoint_n(run, keys, values, 2, err);
            ps_free(path);
            path = next_path;
            if (rc != PS_OK)
                break;
            continue;
        }
        /* The listing is complete. */
        if (chain_total > ix.seen && !resumed) {
            char note[200];
            snprintf(note, sizeof note,
                     "the source counted %lld records but listed %lld: the "
                     "next run lists them again",
                     (long long)chain_total, (long long)ix.seen);
            psi_run_note(run, note);
            const char *keys[2] = {K_RESUME, K_LISTING};
            const char *values[2] = {NULL, NULL};
            rc = psi_run_checkpoint_n(run, keys, values, 2, err);
            full = 0;
            break;
        }
        int64_t lms = 0;
        char sincebuf[32];
        if (ps_time_parse(listing, &lms) != PS_OK)
            lms = run->started_ms;
        psi_iso_time(lms - SINCE_MARGIN_MS, 0, sincebuf, sizeof sincebuf);
        const char *keys[3] = {K_SINCE, K_RESUME, K_LISTING};
        const char *values[3] = {sincebuf, NULL, NULL};
        rc = psi_run_checkpoint_n(run, keys, values, 3, err);
        if (rc == PS_OK && full)
            run->complete = 1;
        break;
    }
out:
    ps_free(since);
    ps_free(resume);
    ps_free(listing);
    ps_free(path);
    ps_free(ix.base);
    return rc;
}

ps_status psi_harvest_invenio(psi_run *run, ps_err *err)
{
    return harvest(run, 0, err);
}

ps_status psi_harvest_materialscloud(psi_run *run, ps_err *err)
{
    return harvest(run, 1, err);
}
