/*
 * datacite-map.c: the DataCite crosswalk, shared by the `datacite` source
 * (REST JSON:API) and the `oai-pmh` source (metadataPrefix oai_datacite and
 * datacite). Two steps:
 *   - psi_datacite_xml_to_json turns a DataCite XML <resource> (kernel 2.2,
 *     3 and 4; elements by local name in any case) into the shape of the
 *     REST API's `attributes` object, so there is one mapping only;
 *   - psi_datacite_put maps those attributes into the store: Dataset-like
 *     resource types become datasets, text-like ones publications,
 *     Instrument instruments; the DOI is the pid; related identifiers
 *     that are DOIs become typed links.
 * It does not fetch anything. docs/harvesting.md (section `type = datacite`)
 * has the crosswalk table with what is dropped and why.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "harvest-private.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* At most this many entries of one list (creators, subjects, related
 * identifiers...) of one record are read; more are dropped with a note. */
#define MAX_ITEMS 10000

/* ---- XML -> attributes -------------------------------------------------- */

/* Set o[key] to s (taken: freed here) when s is not NULL. */
static void set_own(json_t *o, const char *key, char *s)
{
    if (s)
        json_object_set_new(o, key, json_string(s));
    ps_free(s);
}

/* o[key] = the attribute attr of n, when present and not empty. */
static void set_attr(json_t *o, const char *key, const xmlNode *n,
                     const char *attr)
{
    char *v = psi_xml_attr(n, attr);
    if (v && !*v) {
        ps_free(v);
        v = NULL;
    }
    set_own(o, key, v);
}

/* An identifier of scheme ("ORCID", "ROR") as its IRI: a bare id gets the
 * resolver in front ("https://orcid.org/"); anything else stays. */
static char *scheme_iri(const char *scheme, char *value)
{
    const char *base = NULL;
    if (!value || !scheme)
        return value;
    if (strcasecmp(scheme, "ORCID") == 0)
        base = "https://orcid.org/";
    else if (strcasecmp(scheme, "ROR") == 0)
        base = "https://ror.org/";
    if (!base || strstr(value, "://"))
        return value;
    const char *bare = value;
    if (strncasecmp(bare, base + 8, strlen(base + 8)) == 0)
        bare += strlen(base + 8); /* "orcid.org/0000-..." */
    char *iri = ps_asprintf("%s%s", base, bare);
    ps_free(value);
    return iri;
}

/* {nameIdentifier, nameIdentifierScheme, schemeUri} of n. */
static json_t *name_identifier(const xmlNode *n)
{
    json_t *o = json_object();
    char *scheme = psi_xml_attr(n, "nameIdentifierScheme");
    char *v = scheme_iri(scheme, psi_xml_text(n));
    set_own(o, "nameIdentifier", v);
    set_own(o, "nameIdentifierScheme", scheme);
    set_attr(o, "schemeUri", n, "schemeURI");
    return o;
}

/* {name, affiliationIdentifier, affiliationIdentifierScheme, schemeUri}. */
static json_t *affiliation(const xmlNode *n)
{
    json_t *o = json_object();
    char *scheme = psi_xml_attr(n, "affiliationIdentifierScheme");
    char *id = psi_xml_attr(n, "affiliationIdentifier");
    set_own(o, "name", psi_xml_text(n));
    if (id && *id)
        set_own(o, "affiliationIdentifier", scheme_iri(scheme, id));
    else
        ps_free(id);
    set_own(o, "affiliationIdentifierScheme", scheme);
    set_attr(o, "schemeUri", n, "schemeURI");
    return o;
}

/* Append v to the array o[key], creating it. */
static void push(json_t *o, const char *key, json_t *v)
{
    json_t *a = json_object_get(o, key);
    if (!a) {
        a = json_array();
        json_object_set_new(o, key, a);
    }
    if (json_array_size(a) < MAX_ITEMS)
        json_array_append_new(a, v);
    else
        json_decref(v);
}

/* Finish a person object: a name from the given and family names when
 * there was no creatorName; empty lists as the REST API has them. */
static void person_done(json_t *p, json_t *list)
{
    if (!ps_json_str(p, "name")) {
        const char *g = ps_json_str(p, "givenName");
        const char *f = ps_json_str(p, "familyName");
        if (f)
            set_own(p, "name", g ? ps_asprintf("%s, %s", f, g) : ps_strdup(f));
    }
    if (!json_object_get(p, "nameIdentifiers"))
        json_object_set_new(p, "nameIdentifiers", json_array());
    if (!json_object_get(p, "affiliation"))
        json_object_set_new(p, "affiliation", json_array());
    if (ps_json_str(p, "name") && json_array_size(list) < MAX_ITEMS)
        json_array_append_new(list, p);
    else
        json_decref(p);
}

/* The creators (who = "creator") or contributors of r. A malformed
 * <creator> holding several creatorName elements (seen in the wild)
 * becomes several creators: each name starts a new person. */
static json_t *people(xmlNode *r, const char *wrapper, const char *who)
{
    char name_el[32];
    snprintf(name_el, sizeof name_el, "%sName", who);
    json_t *list = json_array();
    xmlNode *w = psi_xml_child(r, wrapper);
    for (xmlNode *c = psi_xml_child(w, who); c;
         c = psi_xml_next(c->next, who)) {
        json_t *p = json_object();
        char *ctype = psi_xml_attr(c, "contributorType");
        for (xmlNode *e = psi_xml_next(c->children, NULL); e;
             e = psi_xml_next(e->next, NULL)) {
            const char *field = psi_xml_is(e, name_el)        ? "name"
                                : psi_xml_is(e, "givenName")  ? "givenName"
                                : psi_xml_is(e, "familyName") ? "familyName"
                                                              : NULL;
            if (field && json_object_get(p, field)) {
                if (ctype)
                    json_object_set_new(p, "contributorType",
                                        json_string(ctype));
                person_done(p, list);
                p = json_object();
            }
            if (field && strcmp(field, "name") == 0) {
                set_own(p, "name", psi_xml_text(e));
                set_attr(p, "nameType", e, "nameType");
            } else if (field) {
                set_own(p, field, psi_xml_text(e));
            } else if (psi_xml_is(e, "nameIdentifier")) {
                push(p, "nameIdentifiers", name_identifier(e));
            } else if (psi_xml_is(e, "affiliation")) {
                push(p, "affiliation", affiliation(e));
            }
        }
        if (ctype)
            json_object_set_new(p, "contributorType", json_string(ctype));
        ps_free(ctype);
        person_done(p, list);
    }
    return list;
}

/* A list of objects from <wrapper><item .../>...</wrapper>: the item's
 * text under textkey (items without text are skipped), and each
 * attribute attrs[i] under keys[i]. */
static json_t *objects(xmlNode *r, const char *wrapper, const char *item,
                       const char *textkey, const char *const *attrs,
                       const char *const *keys)
{
    json_t *list = json_array();
    xmlNode *w = psi_xml_child(r, wrapper);
    for (xmlNode *c = psi_xml_child(w, item);
         c && json_array_size(list) < MAX_ITEMS;
         c = psi_xml_next(c->next, item)) {
        char *text = psi_xml_text(c);
        if (!text)
            continue;
        json_t *o = json_object();
        set_own(o, textkey, text);
        for (size_t i = 0; attrs[i]; i++)
            set_attr(o, keys[i], c, attrs[i]);
        json_array_append_new(list, o);
    }
    return list;
}

/* A list of strings from <wrapper><item>text</item>...</wrapper>. */
static json_t *strings(xmlNode *r, const char *wrapper, const char *item)
{
    json_t *list = json_array();
    xmlNode *w = psi_xml_child(r, wrapper);
    for (xmlNode *c = psi_xml_child(w, item);
         c && json_array_size(list) < MAX_ITEMS;
         c = psi_xml_next(c->next, item)) {
        char *text = psi_xml_text(c);
        if (text)
            json_array_append_new(list, json_string(text));
        ps_free(text);
    }
    return list;
}

/* The texts of n's child elements as an object (a point, a box), or n's
 * own text (kernel 3 writes "lat lon" as text). */
static json_t *children_or_text(xmlNode *n)
{
    xmlNode *c = psi_xml_child(n, NULL);
    if (!c) {
        char *t = psi_xml_text(n);
        json_t *s = t ? json_string(t) : NULL;
        ps_free(t);
        return s;
    }
    json_t *o = json_object();
    for (; c; c = psi_xml_next(c->next, NULL))
        set_own(o, (const char *)c->name, psi_xml_text(c));
    return o;
}

static json_t *geo_locations(xmlNode *r)
{
    json_t *list = json_array();
    xmlNode *w = psi_xml_child(r, "geoLocations");
    for (xmlNode *g = psi_xml_child(w, "geoLocation");
         g && json_array_size(list) < MAX_ITEMS;
         g = psi_xml_next(g->next, "geoLocation")) {
        json_t *o = json_object();
        set_own(o, "geoLocationPlace",
                psi_xml_text(psi_xml_child(g, "geoLocationPlace")));
        xmlNode *pt = psi_xml_child(g, "geoLocationPoint");
        xmlNode *box = psi_xml_child(g, "geoLocationBox");
        if (pt)
            json_object_set_new(o, "geoLocationPoint", children_or_text(pt));
        if (box)
            json_object_set_new(o, "geoLocationBox", children_or_text(box));
        json_array_append_new(list, o);
    }
    return list;
}

static json_t *funding(xmlNode *r)
{
    json_t *list = json_array();
    xmlNode *w = psi_xml_child(r, "fundingReferences");
    for (xmlNode *f = psi_xml_child(w, "fundingReference");
         f && json_array_size(list) < MAX_ITEMS;
         f = psi_xml_next(f->next, "fundingReference")) {
        json_t *o = json_object();
        xmlNode *id = psi_xml_child(f, "funderIdentifier");
        xmlNode *award = psi_xml_child(f, "awardNumber");
        set_own(o, "funderName", psi_xml_text(psi_xml_child(f, "funderName")));
        set_own(o, "funderIdentifier", psi_xml_text(id));
        set_attr(o, "funderIdentifierType", id, "funderIdentifierType");
        set_own(o, "awardNumber", psi_xml_text(award));
        set_attr(o, "awardUri", award, "awardURI");
        set_own(o, "awardTitle", psi_xml_text(psi_xml_child(f, "awardTitle")));
        json_array_append_new(list, o);
    }
    return list;
}

static json_t *related_items(xmlNode *r)
{
    static const char *const tattrs[] = {"titleType", "lang", NULL};
    static const char *const tkeys[] = {"titleType", "lang", NULL};
    static const char *const simple[] = {
        "publicationYear", "volume",    "issue", "firstPage",
        "lastPage",        "publisher", NULL};
    json_t *list = json_array();
    xmlNode *w = psi_xml_child(r, "relatedItems");
    for (xmlNode *it = psi_xml_child(w, "relatedItem");
         it && json_array_size(list) < MAX_ITEMS;
         it = psi_xml_next(it->next, "relatedItem")) {
        json_t *o = json_object();
        set_attr(o, "relatedItemType", it, "relatedItemType");
        set_attr(o, "relationType", it, "relationType");
        xmlNode *id = psi_xml_child(it, "relatedItemIdentifier");
        if (id) {
            json_t *ido = json_object();
            set_own(ido, "relatedItemIdentifier", psi_xml_text(id));
            set_attr(ido, "relatedItemIdentifierType", id,
                     "relatedItemIdentifierType");
            json_object_set_new(o, "relatedItemIdentifier", ido);
        }
        json_object_set_new(
            o, "titles",
            objects(it, "titles", "title", "title", tattrs, tkeys));
        for (size_t i = 0; simple[i]; i++)
            set_own(o, simple[i], psi_xml_text(psi_xml_child(it, simple[i])));
        json_array_append_new(list, o);
    }
    return list;
}

/* The <resource> element at or below n (an OAI <metadata> or
 * <oai_datacite><payload> wrapper), depth-first, a few levels down. */
static xmlNode *find_resource(xmlNode *n, int depth)
{
    if (!n || depth > 4)
        return NULL;
    if (psi_xml_is(n, "resource"))
        return n;
    for (xmlNode *c = psi_xml_child(n, NULL); c;
         c = psi_xml_next(c->next, NULL)) {
        xmlNode *r = find_resource(c, depth + 1);
        if (r)
            return r;
    }
    return NULL;
}

ps_status psi_datacite_xml_to_json(xmlNode *resource, json_t **attrs_out,
                                   ps_err *err)
{
    static const char *const title_a[] = {"titleType", "lang", NULL};
    static const char *const subject_a[] = {
        "subjectScheme",      "schemeURI", "valueURI",
        "classificationCode", "lang",      NULL};
    static const char *const subject_k[] = {
        "subjectScheme",      "schemeUri", "valueUri",
        "classificationCode", "lang",      NULL};
    static const char *const date_a[] = {"dateType", "dateInformation", NULL};
    static const char *const desc_a[] = {"descriptionType", "lang", NULL};
    static const char *const rights_a[] = {"rightsURI",
                                           "rightsIdentifier",
                                           "rightsIdentifierScheme",
                                           "schemeURI",
                                           "lang",
                                           NULL};
    static const char *const rights_k[] = {"rightsUri",
                                           "rightsIdentifier",
                                           "rightsIdentifierScheme",
                                           "schemeUri",
                                           "lang",
                                           NULL};
    static const char *const rel_a[] = {"relatedIdentifierType",
                                        "relationType",
                                        "resourceTypeGeneral",
                                        "relatedMetadataScheme",
                                        "schemeURI",
                                        "schemeType",
                                        NULL};
    static const char *const rel_k[] = {"relatedIdentifierType",
                                        "relationType",
                                        "resourceTypeGeneral",
                                        "relatedMetadataScheme",
                                        "schemeUri",
                                        "schemeType",
                                        NULL};
    static const char *const alt_a[] = {"alternateIdentifierType", NULL};
    static const char *const alt_k[] = {"identifierType", NULL};

    *attrs_out = NULL;
    xmlNode *r = find_resource(resource, 0);
    if (!r)
        return ps_err_set(
            err, PS_ERR_PARSE, "no DataCite <resource> element (found <%s>)",
            resource && resource->name ? (const char *)resource->name
                                       : "nothing");
    json_t *a = json_object();
    if (!a)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");

    /* The identifier: a DOI goes to doi, anything else (kernel 2.2 allows
     * only DOI, but providers send URNs and handles) to identifiers. */
    json_t *ids = json_array();
    xmlNode *idn = psi_xml_child(r, "identifier");
    char *idtext = psi_xml_text(idn);
    char *idtype = psi_xml_attr(idn, "identifierType");
    const char *doi = psi_doi_bare(idtext);
    if (doi && (!idtype || strcasecmp(idtype, "DOI") == 0)) {
        json_object_set_new(a, "doi", json_string(doi));
    } else if (idtext) {
        json_t *o = json_object();
        json_object_set_new(o, "identifier", json_string(idtext));
        if (idtype)
            json_object_set_new(o, "identifierType", json_string(idtype));
        json_array_append_new(ids, o);
    }
    ps_free(idtext);
    ps_free(idtype);
    json_t *alt = objects(r, "alternateIdentifiers", "alternateIdentifier",
                          "identifier", alt_a, alt_k);
    json_array_extend(ids, alt);
    json_decref(alt);
    json_object_set_new(a, "identifiers", ids);

    json_object_set_new(a, "creators", people(r, "creators", "creator"));
    json_object_set_new(
        a, "titles", objects(r, "titles", "title", "title", title_a, title_a));
    set_own(a, "publisher", psi_xml_text(psi_xml_child(r, "publisher")));
    char *year = psi_xml_text(psi_xml_child(r, "publicationYear"));
    int64_t y;
    if (year && ps_parse_i64(year, &y) == 0 && y > -10000 && y < 100000)
        json_object_set_new(a, "publicationYear", json_integer(y));
    else if (year)
        json_object_set_new(a, "publicationYear", json_string(year));
    ps_free(year);

    json_t *types = json_object();
    xmlNode *rt = psi_xml_child(r, "resourceType");
    set_attr(types, "resourceTypeGeneral", rt, "resourceTypeGeneral");
    set_own(types, "resourceType", psi_xml_text(rt));
    json_object_set_new(a, "types", types);

    json_object_set_new(
        a, "subjects",
        objects(r, "subjects", "subject", "subject", subject_a, subject_k));
    json_object_set_new(a, "contributors",
                        people(r, "contributors", "contributor"));
    json_object_set_new(a, "dates",
                        objects(r, "dates", "date", "date", date_a, date_a));
    set_own(a, "language", psi_xml_text(psi_xml_child(r, "language")));
    json_object_set_new(a, "relatedIdentifiers",
                        objects(r, "relatedIdentifiers", "relatedIdentifier",
                                "relatedIdentifier", rel_a, rel_k));
    json_object_set_new(a, "relatedItems", related_items(r));
    json_object_set_new(a, "sizes", strings(r, "sizes", "size"));
    json_object_set_new(a, "formats", strings(r, "formats", "format"));
    set_own(a, "version", psi_xml_text(psi_xml_child(r, "version")));
    json_object_set_new(
        a, "rightsList",
        objects(r, "rightsList", "rights", "rights", rights_a, rights_k));
    json_object_set_new(a, "descriptions",
                        objects(r, "descriptions", "description", "description",
                                desc_a, desc_a));
    json_object_set_new(a, "geoLocations", geo_locations(r));
    json_object_set_new(a, "fundingReferences", funding(r));
    if (r->ns && r->ns->href)
        json_object_set_new(a, "schemaVersion",
                            json_string((const char *)r->ns->href));
    *attrs_out = a;
    return PS_OK;
}

/* ---- attributes -> store ------------------------------------------------ */

/* Strings built for one record (psi_strs), freed together once it is
 * stored. */
/* A key of the REST API, or its kebab-case spelling in older JSON
 * ("publication-year", bolognese's fixtures). */
static json_t *get(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (v || !o)
        return v;
    char kebab[64];
    size_t k = 0;
    for (size_t i = 0; key[i] && k + 2 < sizeof kebab; i++) {
        if (isupper((unsigned char)key[i])) {
            kebab[k++] = '-';
            kebab[k++] = (char)tolower((unsigned char)key[i]);
        } else {
            kebab[k++] = key[i];
        }
    }
    kebab[k] = '\0';
    return json_object_get(o, kebab);
}

static const char *str(const json_t *o, const char *key)
{
    json_t *v = get(o, key);
    return json_is_string(v) && *json_string_value(v) ? json_string_value(v)
                                                      : NULL;
}

/* The kind of entity a resourceTypeGeneral becomes. */
static ps_kind kind_of(const char *rtg)
{
    static const char *const texts[] = {"Text",
                                        "JournalArticle",
                                        "Journal",
                                        "ConferencePaper",
                                        "ConferenceProceeding",
                                        "Preprint",
                                        "Report",
                                        "Book",
                                        "BookChapter",
                                        "Dissertation",
                                        "DataPaper",
                                        "PeerReview",
                                        "Standard",
                                        "OutputManagementPlan",
                                        "StudyRegistration",
                                        NULL};
    if (!rtg)
        return PS_KIND_DATASET;
    if (strcasecmp(rtg, "Instrument") == 0)
        return PS_KIND_INSTRUMENT;
    for (size_t i = 0; texts[i]; i++)
        if (strcasecmp(rtg, texts[i]) == 0)
            return PS_KIND_PUBLICATION;
    return PS_KIND_DATASET;
}

/* "IsCitedBy" -> "is-cited-by". */
static void kebab_case(const char *in, char *out, size_t size)
{
    size_t k = 0;
    for (size_t i = 0; in[i] && k + 2 < size; i++) {
        unsigned char c = (unsigned char)in[i];
        if (isupper(c)) {
            if (k)
                out[k++] = '-';
            out[k++] = (char)tolower(c);
        } else if (isalnum(c)) {
            out[k++] = (char)c;
        }
    }
    out[k] = '\0';
}

/* The main title: the first without a titleType, else the first. */
static const char *main_title(const json_t *a)
{
    json_t *titles = get(a, "titles");
    const char *first = NULL;
    size_t i;
    json_t *t;
    if (json_is_string(titles))
        return json_string_value(titles);
    json_array_foreach (titles, i, t) {
        const char *s =
            json_is_string(t) ? json_string_value(t) : str(t, "title");
        if (!s)
            continue;
        if (!first)
            first = s;
        if (!str(t, "titleType"))
            return s;
    }
    return first;
}

/* The abstract: the first description of type Abstract, else the first
 * of type Other or without a type. */
static const char *abstract_of(const json_t *a)
{
    json_t *descs = get(a, "descriptions");
    const char *other = NULL;
    size_t i;
    json_t *d;
    json_array_foreach (descs, i, d) {
        const char *s =
            json_is_string(d) ? json_string_value(d) : str(d, "description");
        const char *type = str(d, "descriptionType");
        json_t *arr = get(d, "description");
        if (!s && json_is_array(arr) && json_is_string(json_array_get(arr, 0)))
            s = json_string_value(json_array_get(arr, 0));
        if (!s)
            continue;
        if (type && strcasecmp(type, "Abstract") == 0)
            return s;
        if (!other && (!type || strcasecmp(type, "Other") == 0))
            other = s;
    }
    return other;
}

/* The first date of dateType type ("Issued"), in ms; PS_TIME_NONE when
 * there is none. A date that does not parse is noted once. Ranges
 * ("2019-01-01/2019-12-31") count from their start. */
static int64_t date_of(psi_run *run, const json_t *a, const char *type,
                       const char *doi)
{
    json_t *dates = get(a, "dates");
    size_t i;
    json_t *d;
    json_array_foreach (dates, i, d) {
        const char *t = str(d, "dateType");
        const char *v = str(d, "date");
        if (!t || !v || strcasecmp(t, type) != 0)
            continue;
        char buf[64];
        snprintf(buf, sizeof buf, "%s", v);
        char *slash = strchr(buf, '/');
        if (slash)
            *slash = '\0';
        int64_t ms;
        if (ps_time_parse(buf, &ms) == PS_OK)
            return ms;
        /* A bare year ("2016") or year-month. */
        int64_t year;
        char ymd[32];
        if (strlen(buf) == 4 && ps_parse_i64(buf, &year) == 0) {
            snprintf(ymd, sizeof ymd, "%s-01-01", buf);
            if (ps_time_parse(ymd, &ms) == PS_OK)
                return ms;
        } else if (strlen(buf) == 7 && buf[4] == '-') {
            snprintf(ymd, sizeof ymd, "%s-01", buf);
            if (ps_time_parse(ymd, &ms) == PS_OK)
                return ms;
        }
        char note[200];
        snprintf(note, sizeof note, "%.80s: %s date \"%.40s\" is not a date",
                 doi, type, v);
        psi_run_note(run, note);
        return PS_TIME_NONE;
    }
    return PS_TIME_NONE;
}

static int year_of(const json_t *a)
{
    json_t *y = get(a, "publicationYear");
    int64_t n = 0;
    if (json_is_integer(y))
        n = json_integer_value(y);
    else if (json_is_string(y) && ps_parse_i64(json_string_value(y), &n) != 0)
        n = 0;
    return n > 0 && n < 10000 ? (int)n : 0;
}

/* A size in bytes from "1024 bytes", "2.5 GB", "10 PB", "3 MiB"; -1 when
 * the text is not a size in bytes ("12 files", "Big"). */
static int64_t bytes_of(const char *s)
{
    static const struct {
        const char *unit;
        double factor;
    } units[] = {
        {"b", 1},           {"byte", 1},           {"bytes", 1},
        {"kb", 1e3},        {"mb", 1e6},           {"gb", 1e9},
        {"tb", 1e12},       {"pb", 1e15},          {"kib", 1024.0},
        {"mib", 1048576.0}, {"gib", 1073741824.0}, {"tib", 1099511627776.0}};
    char *end;
    double v = strtod(s, &end);
    if (end == s || !(v >= 0) || !isfinite(v))
        return -1;
    while (*end == ' ')
        end++;
    char unit[16];
    size_t k = 0;
    for (; end[k] && k + 1 < sizeof unit; k++)
        unit[k] = (char)tolower((unsigned char)end[k]);
    unit[k] = '\0';
    while (k && unit[k - 1] == ' ')
        unit[--k] = '\0';
    if (end[k] && strlen(end) >= sizeof unit)
        return -1;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(unit, units[i].unit) == 0) {
            double b = v * units[i].factor;
            return b < 9.2e18 ? (int64_t)b : -1;
        }
    return -1;
}

static int64_t size_of(const json_t *a)
{
    json_t *sizes = get(a, "sizes");
    size_t i;
    json_t *s;
    json_array_foreach (sizes, i, s) {
        int64_t b = json_is_string(s) ? bytes_of(json_string_value(s)) : -1;
        if (b >= 0)
            return b;
    }
    return -1;
}

/* The licence: the SPDX identifier when the rights give one, else the
 * rights URI, else the rights text (the first rights entry that has any). */
static const char *license_of(const json_t *a)
{
    json_t *list = get(a, "rightsList");
    size_t i;
    json_t *r;
    json_array_foreach (list, i, r) {
        const char *scheme = str(r, "rightsIdentifierScheme");
        const char *id = str(r, "rightsIdentifier");
        if (id && (!scheme || strcasecmp(scheme, "SPDX") == 0))
            return id;
    }
    json_array_foreach (list, i, r) {
        const char *v = str(r, "rightsUri");
        if (!v)
            v = str(r, "rights");
        if (v)
            return v;
    }
    return NULL;
}

/* Subjects as keywords (at most MAX_ITEMS). */
static const char **keywords_of(const json_t *a, size_t *n_out, psi_strs *m)
{
    json_t *subjects = get(a, "subjects");
    size_t n = json_array_size(subjects), k = 0, i;
    json_t *s;
    *n_out = 0;
    if (!n)
        return NULL;
    if (n > MAX_ITEMS)
        n = MAX_ITEMS;
    const char **kw = ps_calloc(n, sizeof *kw);
    if (!kw) {
        m->nomem = 1;
        return NULL;
    }
    json_array_foreach (subjects, i, s) {
        const char *v =
            json_is_string(s) ? json_string_value(s) : str(s, "subject");
        if (v && k < n)
            kw[k++] = v;
    }
    *n_out = k;
    return kw;
}

/* The bare ORCID ("0000-0002-8300-9443") of a person's name identifiers
 * (or of an "id"/"orcid" member, bolognese's shape), or NULL. */
static const char *orcid_of(const json_t *p)
{
    json_t *ids = get(p, "nameIdentifiers");
    size_t i;
    json_t *x;
    json_array_foreach (ids, i, x) {
        const char *v = str(x, "nameIdentifier");
        const char *scheme = str(x, "nameIdentifierScheme");
        if (v && ((scheme && strcasecmp(scheme, "ORCID") == 0) ||
                  strstr(v, "orcid.org/")))
            return strrchr(v, '/') ? strrchr(v, '/') + 1 : v;
    }
    const char *id = str(p, "id");
    if (!id)
        id = str(p, "orcid");
    if (id && (strstr(id, "orcid.org/") || strlen(id) == 19))
        return strrchr(id, '/') ? strrchr(id, '/') + 1 : id;
    return NULL;
}

/* The ROR IRI of an identifier value of scheme, or NULL. */
static const char *ror_of(const char *v, const char *scheme, psi_strs *m)
{
    if (!v)
        return NULL;
    if (strstr(v, "ror.org/"))
        return ps_str_startswith(v, "https://")
                   ? v
                   : psi_strs_keep(m, ps_asprintf("https://ror.org/%s",
                                                  strrchr(v, '/') + 1));
    if (scheme && strcasecmp(scheme, "ROR") == 0)
        return psi_strs_keep(m, ps_asprintf("https://ror.org/%s", v));
    return NULL;
}

/* A contributorType as a member role: "ContactPerson" -> "contact",
 * "ProjectLeader" -> "principal investigator", else its words in lower
 * case ("DataCurator" -> "data curator"). */
static const char *role_of(const char *ctype, psi_strs *m)
{
    if (!ctype)
        return "contributor";
    if (strcasecmp(ctype, "ContactPerson") == 0)
        return "contact";
    if (strcasecmp(ctype, "ProjectLeader") == 0)
        return "principal investigator";
    char buf[64];
    kebab_case(ctype, buf, sizeof buf);
    for (char *p = buf; *p; p++)
        if (*p == '-')
            *p = ' ';
    return psi_strs_keep(m, ps_strdup(buf));
}

typedef struct members {
    ps_member_in *v;
    size_t n, cap;
    int cut;
} members;

static ps_member_in *member_add(members *ms, psi_strs *m)
{
    if (ms->n >= MAX_ITEMS) {
        ms->cut = 1;
        return NULL;
    }
    if (ms->n == ms->cap) {
        size_t cap = ms->cap ? ms->cap * 2 : 16;
        ps_member_in *p = ps_realloc(ms->v, cap * sizeof *p);
        if (!p) {
            m->nomem = 1;
            return NULL;
        }
        ms->v = p;
        ms->cap = cap;
    }
    ps_member_in *o = &ms->v[ms->n++];
    memset(o, 0, sizeof *o);
    return o;
}

/* One member per affiliation of person p (one without an affiliation
 * when it has none); an organisation (nameType Organizational, or a ROR
 * name identifier) is a member with an institution and no person. pos
 * makes the local pid of persons without ORCID ("<source>:<doi>#<pos>"). */
static void add_people(psi_run *run, const json_t *list, const char *role_dflt,
                       const char *doi, const char *tag, members *ms,
                       psi_strs *m)
{
    size_t i;
    json_t *p;
    json_array_foreach (list, i, p) {
        const char *name = str(p, "name");
        const char *given = str(p, "givenName");
        const char *family = str(p, "familyName");
        const char *ntype = str(p, "nameType");
        const char *role =
            role_dflt ? role_dflt : role_of(str(p, "contributorType"), m);
        if (json_is_string(p))
            name = json_string_value(p);
        if (!name && family)
            name = given
                       ? psi_strs_keep(m, ps_asprintf("%s, %s", family, given))
                       : family;
        if (!name)
            continue;
        const char *org_ror = NULL;
        json_t *ids = get(p, "nameIdentifiers");
        size_t j;
        json_t *x;
        json_array_foreach (ids, j, x) {
            const char *r = ror_of(str(x, "nameIdentifier"),
                                   str(x, "nameIdentifierScheme"), m);
            if (r && !org_ror)
                org_ror = r;
        }
        int org = (ntype && strcasecmp(ntype, "Organizational") == 0) ||
                  (org_ror && !orcid_of(p));
        if (org) {
            ps_member_in *o = member_add(ms, m);
            if (!o)
                return;
            o->role = role;
            o->institution.name = name;
            o->institution.pid = org_ror;
            continue;
        }
        ps_person_in person = {0};
        const char *orcid = orcid_of(p);
        person.full_name = name;
        person.given_name = given;
        person.family_name = family;
        person.orcid = orcid;
        person.pid =
            orcid ? psi_strs_keep(m, ps_asprintf("https://orcid.org/%s", orcid))
                  : psi_strs_keep(m, ps_asprintf("%s:%s#%s%zu", run->src->name,
                                                 doi, tag, i + 1));
        json_t *affs = get(p, "affiliation");
        size_t naff = json_array_size(affs), added = 0;
        json_t *af;
        json_array_foreach (affs, j, af) {
            const char *aname =
                json_is_string(af) ? json_string_value(af) : str(af, "name");
            if (!aname)
                continue;
            ps_member_in *o = member_add(ms, m);
            if (!o)
                return;
            o->role = role;
            o->person = person;
            o->institution.name = aname;
            o->institution.pid =
                ror_of(str(af, "affiliationIdentifier"),
                       str(af, "affiliationIdentifierScheme"), m);
            added++;
        }
        if (!naff || !added) {
            ps_member_in *o = member_add(ms, m);
            if (!o)
                return;
            o->role = role;
            o->person = person;
        }
    }
}

/* Is pid a dataset by its DOI prefix (the facilities' data prefixes)? */
static int data_prefix(const char *pid)
{
    return ps_str_startswith(pid, "10.5291/") ||
           ps_str_startswith(pid, "10.15151/") ||
           ps_str_startswith(pid, "10.24435/");
}

/* A related identifier as a DOI (borrowed from the JSON), or NULL when it
 * is not one. */
static const char *related_doi(const json_t *r)
{
    const char *v = str(r, "relatedIdentifier");
    const char *type = str(r, "relatedIdentifierType");
    const char *bare = psi_doi_bare(v);
    if (!bare)
        return NULL;
    if (type && strcasecmp(type, "DOI") != 0 && strcasecmp(type, "URL") != 0)
        return NULL;
    return bare;
}

/* Does a publication's relationType to a dataset mean it uses the data? */
static int cites_data(const char *rel)
{
    return strcasecmp(rel, "Cites") == 0 ||
           strcasecmp(rel, "References") == 0 ||
           strcasecmp(rel, "IsSupplementedBy") == 0;
}

static ps_kind target_kind(const json_t *r, const char *pid)
{
    const char *rtg = str(r, "resourceTypeGeneral");
    if (rtg && strcasecmp(rtg, "Instrument") == 0)
        return PS_KIND_INSTRUMENT;
    if ((rtg && kind_of(rtg) == PS_KIND_DATASET) || data_prefix(pid))
        return PS_KIND_DATASET;
    return PS_KIND_PUBLICATION;
}

/* The links of record (kind, id): every related identifier that is a DOI,
 * typed by its relationType in kebab case. */
static ps_status put_links(psi_run *run, const json_t *a, ps_kind kind,
                           int64_t id, const char *self, ps_err *err)
{
    json_t *rels = get(a, "relatedIdentifiers");
    size_t i, n = 0;
    json_t *r;
    json_array_foreach (rels, i, r) {
        const char *rel = str(r, "relationType");
        const char *dst = related_doi(r);
        if (!rel || !dst || strcmp(dst, self) == 0)
            continue;
        if (++n > MAX_ITEMS) {
            psi_run_note(run, "more than 10000 related identifiers in a "
                              "record: the rest were dropped");
            break;
        }
        char type[64];
        kebab_case(rel, type, sizeof type);
        ps_status rc =
            psi_run_link(run, type, kind, id, target_kind(r, dst), dst, err);
        if (rc != PS_OK)
            return rc;
    }
    return PS_OK;
}

/* The pids of the datasets a publication cites (publication-cites-data,
 * which the store keeps in step with the record). */
static const char **cited_data(const json_t *a, const char *self, size_t *n_out,
                               psi_strs *m)
{
    json_t *rels = get(a, "relatedIdentifiers");
    size_t n = json_array_size(rels), k = 0, i;
    json_t *r;
    *n_out = 0;
    if (!n)
        return NULL;
    if (n > MAX_ITEMS)
        n = MAX_ITEMS;
    const char **out = ps_calloc(n, sizeof *out);
    if (!out) {
        m->nomem = 1;
        return NULL;
    }
    json_array_foreach (rels, i, r) {
        const char *rel = str(r, "relationType");
        const char *dst = related_doi(r);
        if (k < n && rel && dst && strcmp(dst, self) != 0 && cites_data(rel) &&
            target_kind(r, dst) == PS_KIND_DATASET)
            out[k++] = dst;
    }
    *n_out = k;
    return out;
}

/* The instrument a dataset was collected with: a related identifier of
 * type Instrument with relationType IsCollectedBy (kernel 4.5) or
 * IsCompiledBy. */
static const char *instrument_of(const json_t *a)
{
    json_t *rels = get(a, "relatedIdentifiers");
    size_t i;
    json_t *r;
    json_array_foreach (rels, i, r) {
        const char *rel = str(r, "relationType");
        const char *rtg = str(r, "resourceTypeGeneral");
        const char *dst = related_doi(r);
        if (dst && rel && rtg && strcasecmp(rtg, "Instrument") == 0 &&
            (strcasecmp(rel, "IsCollectedBy") == 0 ||
             strcasecmp(rel, "IsCompiledBy") == 0))
            return dst;
    }
    return NULL;
}

/* Embargo from the Available date: in the future -> embargoed until then. */
static void visibility_of(psi_run *run, const json_t *a, const char *doi,
                          ps_visibility *vis, int64_t *until)
{
    int64_t avail = date_of(run, a, "Available", doi);
    *vis = PS_VIS_PUBLIC;
    *until = 0;
    if (avail != PS_TIME_NONE && avail > ps_now_ms()) {
        *vis = PS_VIS_EMBARGOED;
        *until = avail;
    }
}

/* A publication's contentUrl entries that are PDFs, for the pdf source. */
static ps_status content_urls(psi_run *run, const json_t *attrs, int64_t id,
                              ps_err *err)
{
    json_t *arr = json_object_get(attrs, "contentUrl");
    const char *urls[64];
    size_t n = 0, i;
    json_t *x;
    if (json_is_string(arr))
        urls[n++] = json_string_value(arr);
    json_array_foreach (arr, i, x)
        if (n < 64 && json_is_string(x))
            urls[n++] = json_string_value(x);
    return psi_run_pdf_links(run, id, urls, NULL, n, err);
}

ps_status psi_datacite_put(psi_run *run, const char *remote_id,
                           const json_t *attrs, const char *raw, size_t raw_len,
                           ps_err *err)
{
    char why[300];
    json_t *types = get(attrs, "types");
    const char *rtg = str(types, "resourceTypeGeneral");
    ps_kind kind = kind_of(rtg);
    if (!json_is_object(attrs)) {
        snprintf(why, sizeof why, "%.120s: the record is not an object",
                 remote_id ? remote_id : "a DataCite record");
        return psi_run_reject(run, kind, remote_id, why, err);
    }
    const char *doi = psi_doi_bare(str(attrs, "doi"));
    if (!doi)
        doi = psi_doi_bare(str(attrs, "id"));
    if (!doi)
        doi = psi_doi_bare(remote_id);
    if (!doi) {
        snprintf(why, sizeof why, "%.120s: no DOI",
                 remote_id ? remote_id : "a DataCite record");
        return psi_run_reject(run, kind, remote_id, why, err);
    }
    const char *rid = remote_id ? remote_id : doi;
    const char *title = main_title(attrs);
    if (!title) {
        snprintf(why, sizeof why, "%.120s: no title", doi);
        return psi_run_reject(run, kind, rid, why, err);
    }

    psi_strs m = {0};
    members ms = {0};
    const char **kw = NULL, **cited = NULL;
    size_t nkw = 0, ncited = 0;
    ps_prov prov = {run->source_id, rid, attrs, 0, run->run_id, raw, raw_len};
    ps_put_result res = PS_PUT_UNCHANGED;
    int64_t id = 0;
    ps_err e = PS_ERR_INIT;
    ps_status rc;
    int64_t issued = date_of(run, attrs, "Issued", doi);
    int64_t created = date_of(run, attrs, "Created", doi);
    int year = year_of(attrs);

    if (kind == PS_KIND_INSTRUMENT) {
        ps_instrument_in in = {0};
        in.pid = doi;
        in.name = title;
        in.facility = str(attrs, "publisher");
        if (!in.facility && json_is_object(get(attrs, "publisher")))
            in.facility = str(get(attrs, "publisher"), "name");
        visibility_of(run, attrs, doi, &in.vis, &in.embargo_until_ms);
        rc = ps_store_put_instrument(run->st, &prov, &in, &res, &id, &e);
    } else if (kind == PS_KIND_DATASET) {
        ps_dataset_in in = {0};
        in.pid = doi;
        in.doi = doi;
        in.title = title;
        in.description = abstract_of(attrs);
        in.created_ms = created != PS_TIME_NONE ? created : issued;
        if (in.created_ms == PS_TIME_NONE && year) {
            char ymd[16];
            snprintf(ymd, sizeof ymd, "%04d-01-01", year);
            if (ps_time_parse(ymd, &in.created_ms) != PS_OK)
                in.created_ms = PS_TIME_NONE;
        }
        in.size = size_of(attrs);
        in.instrument_pid = instrument_of(attrs);
        visibility_of(run, attrs, doi, &in.vis, &in.embargo_until_ms);
        kw = keywords_of(attrs, &nkw, &m);
        in.keywords = kw;
        in.nkeywords = nkw;
        rc = m.nomem ? ps_err_set(&e, PS_ERR_NOMEM, "out of memory")
                     : ps_store_put_dataset(run->st, &prov, &in, &res, &id, &e);
    } else {
        ps_document_in in = {0};
        in.kind = PS_KIND_PUBLICATION;
        in.pid = doi;
        in.type = "publication";
        in.title = title;
        in.summary = abstract_of(attrs);
        in.doi = doi;
        in.license = license_of(attrs);
        in.start_ms = PS_TIME_NONE;
        in.end_ms = PS_TIME_NONE;
        in.release_ms = issued != PS_TIME_NONE ? issued : created;
        in.year = year;
        json_t *container = get(attrs, "container");
        in.journal = str(container, "title");
        visibility_of(run, attrs, doi, &in.vis, &in.embargo_until_ms);
        kw = keywords_of(attrs, &nkw, &m);
        in.keywords = kw;
        in.nkeywords = nkw;
        add_people(run, get(attrs, "creators"), "author", doi, "a", &ms, &m);
        add_people(run, get(attrs, "contributors"), NULL, doi, "c", &ms, &m);
        if (ms.cut)
            psi_run_note(run, "more than 10000 creators and contributors in a "
                              "record: the rest were dropped");
        in.members = ms.v;
        in.nmembers = ms.n;
        cited = cited_data(attrs, doi, &ncited, &m);
        in.dataset_pids = cited;
        in.ndatasets = ncited;
        rc = m.nomem
                 ? ps_err_set(&e, PS_ERR_NOMEM, "out of memory")
                 : ps_store_put_document(run->st, &prov, &in, &res, &id, &e);
    }

    if (rc == PS_ERR_INVALID) {
        rc = psi_run_reject(run, kind, rid, e.msg, err);
    } else if (rc != PS_OK) {
        if (err)
            *err = e;
    } else {
        if (res != PS_PUT_UNCHANGED)
            rc = put_links(run, attrs, kind, id, doi, err);
        if (rc == PS_OK && kind == PS_KIND_PUBLICATION)
            rc = content_urls(run, attrs, id, err);
        if (rc == PS_OK)
            rc = psi_run_record(run, res, err);
    }
    ps_free(kw);
    ps_free(cited);
    ps_free(ms.v);
    psi_strs_free(&m);
    return rc;
}

ps_kind psi_datacite_kind(const json_t *attrs)
{
    return kind_of(str(get(attrs, "types"), "resourceTypeGeneral"));
}
