/*
 * pan.c: the "pan" source: a PaN search API provider (the PaNOSC reference,
 * SciCat's, ICAT's DataGateway, ILL's, ESRF's ICAT+, another pansift), or a
 * directory on disk in the same format. It fetches Instruments, then
 * Datasets (with parameters, files, samples, techniques, instrument), then
 * Documents (with members and their person and affiliation, parameters,
 * datasets), page by page with limit/skip, and maps every record into the
 * store. Paging stops at the first short page; a provider that ignores limit
 * or skip is detected instead of being asked forever.
 *
 * A file:// URL names a directory with Instruments.json, Datasets.json and
 * Documents.json, each a JSON array of records as the API returns them
 * (pansift-gencat writes one record per line); records are read one at a
 * time, so catalogues of any size stream through in constant memory.
 *
 * Crosswalk (docs/harvesting.md has the table): Instrument -> instrument
 * and its facility; Dataset -> dataset (isPublic false -> restricted) with
 * files, samples, techniques (panetId -> PaNET IRI) and parameters (numbers
 * converted to SI by the store); Document -> proposal (type "proposal") or
 * publication (any other type), isPublic false -> restricted (whatever the
 * releaseDate: the provider opens the record); members -> person (by ORCID when
 * there is one) and institution; datasets -> dataset-of-proposal or
 * publication-cites-data links. The API's "score" is not kept.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "harvest-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RECORD_BYTES (64u << 20) /* one record read from a file */

static const char *const dataset_include =
    "[{\"relation\":\"parameters\"},{\"relation\":\"files\"},"
    "{\"relation\":\"samples\"},{\"relation\":\"techniques\"},"
    "{\"relation\":\"instrument\"}]";
static const char *const document_include =
    "[{\"relation\":\"members\",\"scope\":{\"include\":[{\"relation\":"
    "\"person\"},{\"relation\":\"affiliation\"}]}},{\"relation\":"
    "\"parameters\"},{\"relation\":\"datasets\"}]";

typedef enum { MODEL_INSTRUMENTS, MODEL_DATASETS, MODEL_DOCUMENTS } pan_model;
static const char *const model_names[] = {"Instruments", "Datasets",
                                          "Documents"};

/* ---- small JSON helpers ----------------------------------------------------
 */

/* A string member, or a number member turned into text (ids are numbers in
 * some providers); NULL otherwise. Numbers are written into buf. */
static const char *str_or_num(const json_t *o, const char *key, char *buf,
                              size_t size)
{
    json_t *v = json_object_get(o, key);
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(buf, size, "%lld", (long long)json_integer_value(v));
        return buf;
    }
    return NULL;
}

static int64_t date_of(const json_t *o, const char *key)
{
    int64_t ms;
    const char *s = ps_json_str(o, key);
    if (s && ps_time_parse(s, &ms) == PS_OK)
        return ms;
    return PS_TIME_NONE;
}

/* Visibility from isPublic. A provider's isPublic false is restricted
 * even when its releaseDate lies ahead: the provider decides when the
 * record opens (and says so in the record, which the next harvest sees);
 * opening it ourselves at releaseDate would publish what the provider may
 * still hold back (a prolonged embargo, a withdrawn release). */
static void visibility_of(const json_t *o, ps_visibility *vis, int64_t *until)
{
    *until = 0;
    *vis = ps_json_bool(o, "isPublic", 1) ? PS_VIS_PUBLIC : PS_VIS_RESTRICTED;
}

/* A size in bytes, -1 when absent, negative or beyond what an int64_t
 * holds (a JSON number may be 1e300: converting that is undefined). */
static int64_t size_of(const json_t *o)
{
    double size;
    if (ps_json_num(o, "size", &size) != 0 || !(size >= 0) || size >= 9.2e18)
        return -1;
    return (int64_t)size;
}

/* ---- mapping ---------------------------------------------------------------
 */

/* Everything a mapped record borrows or owns until it is stored. */
typedef struct mapped {
    ps_param_in *params;
    ps_file_in *files;
    ps_sample_in *samples;
    ps_technique_in *techs;
    ps_member_in *members;
    const char **keywords;
    const char **datasets;
    char **owned; /* strings built for this record */
    size_t nowned;
} mapped;

static void mapped_free(mapped *m)
{
    ps_free(m->params);
    ps_free(m->files);
    ps_free(m->samples);
    ps_free(m->techs);
    ps_free(m->members);
    ps_free(m->keywords);
    ps_free(m->datasets);
    for (size_t i = 0; i < m->nowned; i++)
        ps_free(m->owned[i]);
    ps_free(m->owned);
    memset(m, 0, sizeof *m);
}

/* Keep s (allocated) until the record is stored. NULL stays NULL. */
static const char *own(mapped *m, char *s, int *nomem)
{
    if (!s) {
        *nomem = 1;
        return NULL;
    }
    char **p = ps_realloc(m->owned, (m->nowned + 1) * sizeof *p);
    if (!p) {
        ps_free(s);
        *nomem = 1;
        return NULL;
    }
    m->owned = p;
    m->owned[m->nowned++] = s;
    return s;
}

static size_t arr_size(const json_t *o, const char *key)
{
    return json_array_size(json_object_get(o, key));
}

static int map_params(const json_t *rec, mapped *m, size_t *n_out)
{
    json_t *arr = json_object_get(rec, "parameters");
    size_t n = json_array_size(arr), k = 0;
    *n_out = 0;
    if (!n)
        return 0;
    m->params = ps_calloc(n, sizeof *m->params);
    if (!m->params)
        return -1;
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_array_get(arr, i);
        json_t *v = json_object_get(p, "value");
        const char *name = ps_json_str(p, "name");
        if (!name || !v)
            continue;
        ps_param_in *o = &m->params[k];
        o->name = name;
        o->unit = ps_json_str(p, "unit");
        if (json_is_number(v)) {
            o->is_num = 1;
            o->num = json_number_value(v);
        } else if (json_is_string(v)) {
            o->text = json_string_value(v);
        } else if (json_is_boolean(v)) {
            o->text = json_is_true(v) ? "true" : "false";
        } else {
            continue;
        }
        k++;
    }
    *n_out = k;
    return 0;
}

static int map_keywords(const json_t *rec, mapped *m, size_t *n_out)
{
    json_t *arr = json_object_get(rec, "keywords");
    size_t n = json_array_size(arr), k = 0;
    *n_out = 0;
    if (!n)
        return 0;
    m->keywords = ps_calloc(n, sizeof *m->keywords);
    if (!m->keywords)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (json_is_string(json_array_get(arr, i)))
            m->keywords[k++] = json_string_value(json_array_get(arr, i));
    *n_out = k;
    return 0;
}

/* What datasets and documents share: a title is required; parameters and
 * keywords are mapped into m. */
static ps_status map_common(const json_t *rec, const char *what,
                            const char *pid, const char *title, mapped *m,
                            const ps_param_in **params, size_t *nparams,
                            const char *const **keywords, size_t *nkeywords,
                            ps_err *err)
{
    if (!title)
        return ps_err_set(err, PS_ERR_INVALID, "%s %s has no title", what, pid);
    if (map_params(rec, m, nparams) || map_keywords(rec, m, nkeywords))
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    *params = m->params;
    *keywords = m->keywords;
    return PS_OK;
}

static ps_status put_instrument(psi_run *run, json_t *rec, const ps_prov *prov,
                                ps_put_result *res, ps_err *err)
{
    const char *pid = prov->remote_id;
    ps_instrument_in in = {0};
    in.pid = pid;
    in.name = ps_json_str(rec, "name");
    in.facility = ps_json_str(rec, "facility");
    visibility_of(rec, &in.vis, &in.embargo_until_ms);
    if (!in.name)
        return ps_err_set(err, PS_ERR_INVALID, "instrument %s has no name",
                          pid);
    return ps_store_put_instrument(run->st, prov, &in, res, NULL, err);
}

static ps_status put_dataset(psi_run *run, json_t *rec, const ps_prov *prov,
                             ps_put_result *res, ps_err *err)
{
    const char *pid = prov->remote_id;
    mapped m = {0};
    ps_dataset_in in = {0};
    ps_status rc = PS_OK;
    char buf[32];
    in.pid = pid;
    in.title = ps_json_str(rec, "title");
    in.description = ps_json_str(rec, "description");
    in.created_ms = date_of(rec, "creationDate");
    in.size = size_of(rec);
    in.instrument_pid = ps_json_str(rec, "instrumentId");
    if (!in.instrument_pid)
        in.instrument_pid =
            ps_json_str(json_object_get(rec, "instrument"), "pid");
    visibility_of(rec, &in.vis, &in.embargo_until_ms);
    rc = map_common(rec, "dataset", pid, in.title, &m, &in.params, &in.nparams,
                    &in.keywords, &in.nkeywords, err);
    if (rc != PS_OK)
        goto out;

    json_t *files = json_object_get(rec, "files");
    if (arr_size(rec, "files")) {
        m.files = ps_calloc(json_array_size(files), sizeof *m.files);
        if (!m.files)
            goto nomem;
        size_t i;
        json_t *f;
        json_array_foreach (files, i, f) {
            const char *name = ps_json_str(f, "name");
            if (!name)
                continue;
            ps_file_in *o = &m.files[in.nfiles++];
            o->name = name;
            o->path = ps_json_str(f, "path");
            o->size = size_of(f);
        }
    }
    json_t *samples = json_object_get(rec, "samples");
    if (arr_size(rec, "samples")) {
        m.samples = ps_calloc(json_array_size(samples), sizeof *m.samples);
        if (!m.samples)
            goto nomem;
        size_t i;
        json_t *x;
        json_array_foreach (samples, i, x) {
            const char *spid = str_or_num(x, "pid", buf, sizeof buf);
            if (!spid)
                continue;
            int nomem = 0;
            ps_sample_in *o = &m.samples[in.nsamples++];
            o->pid = spid == buf ? own(&m, ps_strdup(buf), &nomem) : spid;
            if (nomem)
                goto nomem;
            o->name = ps_json_str(x, "name");
            o->description = ps_json_str(x, "description");
        }
    }
    json_t *techs = json_object_get(rec, "techniques");
    if (arr_size(rec, "techniques")) {
        m.techs = ps_calloc(json_array_size(techs), sizeof *m.techs);
        if (!m.techs)
            goto nomem;
        size_t i;
        json_t *x;
        json_array_foreach (techs, i, x) {
            const char *tpid = ps_json_str(x, "pid");
            const char *iri = ps_json_str(x, "panetId");
            if (!iri && tpid &&
                ps_str_startswith(tpid, "http://purl.org/pan-science/PaNET/"))
                iri = tpid;
            if (!tpid && !iri)
                continue;
            ps_technique_in *o = &m.techs[in.ntechniques++];
            o->pid = tpid ? tpid : iri;
            o->name = ps_json_str(x, "name");
            o->panet_iri = iri;
        }
    }
    in.files = m.files;
    in.samples = m.samples;
    in.techniques = m.techs;
    rc = ps_store_put_dataset(run->st, prov, &in, res, NULL, err);
out:
    mapped_free(&m);
    return rc;
nomem:
    mapped_free(&m);
    return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
}

/* Person id: the ORCID IRI when there is one, else "<source>:<id>". */
static const char *person_pid(psi_run *run, const json_t *p, mapped *m,
                              int *nomem)
{
    char buf[32];
    const char *orcid = ps_json_str(p, "orcid");
    const char *id = str_or_num(p, "id", buf, sizeof buf);
    if (!orcid && id &&
        (ps_str_startswith(id, "https://orcid.org/") ||
         ps_str_startswith(id, "http://orcid.org/")))
        orcid = id;
    if (orcid) {
        const char *bare =
            strrchr(orcid, '/') ? strrchr(orcid, '/') + 1 : orcid;
        return own(m, ps_asprintf("https://orcid.org/%s", bare), nomem);
    }
    if (!id)
        return NULL;
    return own(m, ps_asprintf("%s:%s", run->src->name, id), nomem);
}

static ps_status put_document(psi_run *run, json_t *rec, const ps_prov *prov,
                              ps_put_result *res, ps_err *err)
{
    const char *pid = prov->remote_id;
    mapped m = {0};
    ps_document_in in = {0};
    ps_status rc = PS_OK;
    char buf[32];
    int nomem = 0;
    const char *type = ps_json_str(rec, "type");
    in.kind = type && strcmp(type, "proposal") == 0 ? PS_KIND_PROPOSAL
                                                    : PS_KIND_PUBLICATION;
    in.pid = pid;
    in.type = type;
    in.title = ps_json_str(rec, "title");
    in.summary = ps_json_str(rec, "summary");
    in.doi = ps_json_str(rec, "doi");
    in.license = ps_json_str(rec, "license");
    in.start_ms = date_of(rec, "startDate");
    in.end_ms = date_of(rec, "endDate");
    in.release_ms = date_of(rec, "releaseDate");
    /* Members beyond the PaN model, read when a provider sends them
     * (docs/harvesting.md): a proposal's code and status, a publication's
     * journal and citation count. */
    static const char *const statuses[] = {"submitted", "accepted",
                                           "refused",   "withdrawn",
                                           "scheduled", "completed"};
    const char *status = ps_json_str(rec, "status");
    for (size_t i = 0; status && i < sizeof statuses / sizeof *statuses; i++)
        if (in.kind == PS_KIND_PROPOSAL && strcmp(status, statuses[i]) == 0)
            in.status = statuses[i];
    if (in.kind == PS_KIND_PROPOSAL)
        in.code = ps_json_str(rec, "code");
    if (in.kind == PS_KIND_PUBLICATION) {
        in.journal = ps_json_str(rec, "journal");
        json_t *cites = json_object_get(rec, "citationCount");
        if (json_is_integer(cites) && json_integer_value(cites) >= 0) {
            in.citation_count = json_integer_value(cites);
            in.citation_known = 1;
        }
    }
    visibility_of(rec, &in.vis, &in.embargo_until_ms);
    rc = map_common(rec, "document", pid, in.title, &m, &in.params, &in.nparams,
                    &in.keywords, &in.nkeywords, err);
    if (rc != PS_OK)
        goto out;

    json_t *members = json_object_get(rec, "members");
    if (arr_size(rec, "members")) {
        m.members = ps_calloc(json_array_size(members), sizeof *m.members);
        if (!m.members)
            goto nomem;
        size_t i;
        json_t *x;
        json_array_foreach (members, i, x) {
            ps_member_in *o = &m.members[in.nmembers++];
            json_t *p = json_object_get(x, "person");
            json_t *a = json_object_get(x, "affiliation");
            o->role = ps_json_str(x, "role");
            if (json_is_object(p)) {
                o->person.pid = person_pid(run, p, &m, &nomem);
                o->person.full_name = ps_json_str(p, "fullName");
                o->person.given_name = ps_json_str(p, "firstName");
                o->person.family_name = ps_json_str(p, "lastName");
                o->person.orcid = ps_json_str(p, "orcid");
                if (!o->person.full_name && o->person.family_name) {
                    o->person.full_name =
                        o->person.given_name
                            ? own(&m,
                                  ps_asprintf("%s %s", o->person.given_name,
                                              o->person.family_name),
                                  &nomem)
                            : o->person.family_name;
                }
            }
            if (json_is_object(a) && ps_json_str(a, "name")) {
                o->institution.name = ps_json_str(a, "name");
                o->institution.address = ps_json_str(a, "address");
                o->institution.city = ps_json_str(a, "city");
                o->institution.country = ps_json_str(a, "country");
                const char *ror = ps_json_str(a, "ror");
                const char *aid = str_or_num(a, "id", buf, sizeof buf);
                if (!ror && aid && ps_str_startswith(aid, "https://ror.org/"))
                    ror = aid;
                o->institution.pid = ror;
            }
            if (nomem)
                goto nomem;
        }
    }
    json_t *datasets = json_object_get(rec, "datasets");
    if (arr_size(rec, "datasets")) {
        m.datasets = ps_calloc(json_array_size(datasets), sizeof *m.datasets);
        if (!m.datasets)
            goto nomem;
        size_t i;
        json_t *x;
        json_array_foreach (datasets, i, x) {
            const char *dpid = json_is_string(x) ? json_string_value(x)
                                                 : ps_json_str(x, "pid");
            if (dpid)
                m.datasets[in.ndatasets++] = dpid;
        }
    }
    in.members = m.members;
    in.dataset_pids = m.datasets;
    rc = ps_store_put_document(run->st, prov, &in, res, NULL, err);
out:
    mapped_free(&m);
    return rc;
nomem:
    mapped_free(&m);
    return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
}

/* Map and store one record of model. A record that cannot be used is
 * rejected (counted, reason kept) and the run goes on; store failures end
 * the run. */
static ps_status put_record(psi_run *run, pan_model model, json_t *rec,
                            const char *text, size_t len, ps_err *err)
{
    static const ps_kind kinds[] = {PS_KIND_INSTRUMENT, PS_KIND_DATASET,
                                    PS_KIND_PROPOSAL};
    char why[300];
    char buf[32];
    if (!json_is_object(rec)) {
        snprintf(why, sizeof why, "%s: a record that is not an object",
                 model_names[model]);
        return psi_run_reject(run, kinds[model], NULL, why, err);
    }
    const char *pid = str_or_num(rec, "pid", buf, sizeof buf);
    if (!pid || !*pid) {
        snprintf(why, sizeof why, "%s: a record without pid",
                 model_names[model]);
        return psi_run_reject(run, kinds[model], NULL, why, err);
    }
    char *pidcopy = ps_strdup(pid);
    if (!pidcopy)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    /* The provenance keeps the record's bytes as the source sent them. */
    ps_prov prov = {run->source_id, pidcopy, rec, 0, run->run_id, text, len};
    ps_put_result res = PS_PUT_UNCHANGED;
    ps_err e = PS_ERR_INIT;
    ps_status rc;
    switch (model) {
    case MODEL_INSTRUMENTS:
        rc = put_instrument(run, rec, &prov, &res, &e);
        break;
    case MODEL_DATASETS: rc = put_dataset(run, rec, &prov, &res, &e); break;
    default: rc = put_document(run, rec, &prov, &res, &e); break;
    }
    if (rc == PS_ERR_INVALID)
        rc = psi_run_reject(run, kinds[model], pidcopy, e.msg, err);
    else if (rc != PS_OK && err)
        *err = e;
    else if (rc == PS_OK)
        rc = psi_run_record(run, res, err);
    ps_free(pidcopy);
    return rc;
}

/* ---- HTTP helpers ----------------------------------------------------------
 */

static char *model_url(const char *base, const char *model, const char *suffix)
{
    size_t n = strlen(base);
    while (n && base[n - 1] == '/')
        n--;
    return ps_asprintf("%.*s/%s%s", (int)n, base, model, suffix);
}

/* GET base/Model/count: the total, or -1 if the provider does not say. */
static int64_t fetch_count(psi_run *run, pan_model model)
{
    char *url = model_url(run->src->url, model_names[model], "/count");
    ps_http_response resp;
    ps_err e = PS_ERR_INIT;
    int64_t n = -1;
    if (url && psi_run_fetch(run, url, NULL, &resp, &e) == PS_OK) {
        json_t *j = json_loadb(resp.body, resp.body_len, 0, NULL);
        double v;
        if (ps_json_num(j, "count", &v) == 0 && v >= 0)
            n = (int64_t)v;
        json_decref(j);
    }
    ps_http_response_free(&resp);
    ps_free(url);
    return n;
}

/* ---- reading arrays of records ---------------------------------------------
 */

/* Records of a JSON array, one at a time, from a file read in chunks or from
 * a page in memory. A small scanner finds where each element ends (tracking
 * nesting and strings), so each record is parsed on its own, the bytes the
 * source sent are kept as its provenance, and a file of any size streams
 * through in constant memory. */
typedef struct rec_reader {
    FILE *f; /* NULL: buf holds the whole input */
    char *buf;
    size_t len;   /* bytes in buf */
    size_t start; /* where the current record starts */
    size_t cap;
    int eof;
} rec_reader;

/* Make room and read more; the current record is kept. -1 on a record
 * larger than the ceiling or out of memory, 0 at end of input, else 1. */
static int refill(rec_reader *r)
{
    if (r->eof)
        return 0;
    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->len - r->start);
        r->len -= r->start;
        r->start = 0;
    }
    if (r->len == r->cap) {
        if (r->cap >= MAX_RECORD_BYTES)
            return -1;
        size_t cap = r->cap ? r->cap * 2 : 1u << 16;
        char *p = ps_realloc(r->buf, cap);
        if (!p)
            return -1;
        r->buf = p;
        r->cap = cap;
    }
    size_t n = fread(r->buf + r->len, 1, r->cap - r->len, r->f);
    if (n == 0) {
        r->eof = 1;
        return 0;
    }
    r->len += n;
    return 1;
}

/* The byte at offset i of the current record (reading more if needed), or
 * -1 at end of input, -2 on a ceiling/memory failure. */
static int byte_at(rec_reader *r, size_t i)
{
    while (r->start + i >= r->len) {
        int got = refill(r);
        if (got < 0)
            return -2;
        if (got == 0 && r->start + i >= r->len)
            return -1;
    }
    return (unsigned char)r->buf[r->start + i];
}

/* Skip white space; return the next byte (consumed) or -1/-2. */
static int next_token(rec_reader *r)
{
    for (;;) {
        int c = byte_at(r, 0);
        if (c < 0)
            return c;
        r->start++;
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t')
            return c;
    }
}

/* Length of the JSON value starting at the current position, or -1 (not a
 * complete value) / -2 (too big). */
static long value_length(rec_reader *r)
{
    int depth = 0, in_str = 0, esc = 0;
    for (size_t i = 0;; i++) {
        int c = byte_at(r, i);
        if (c < 0)
            return c == -2 ? -2
                           : (i > 0 && depth == 0 && !in_str ? (long)i : -1);
        if (in_str) {
            if (esc)
                esc = 0;
            else if (c == '\\')
                esc = 1;
            else if (c == '"')
                in_str = 0;
            continue;
        }
        if (c == '"')
            in_str = 1;
        else if (c == '{' || c == '[')
            depth++;
        else if (c == '}' || c == ']') {
            if (depth == 0)
                return (long)i; /* the end of the enclosing array */
            if (--depth == 0)
                return (long)i + 1;
        } else if (c == ',' && depth == 0)
            return (long)i;
    }
}

/* Store every record of the array in r. `what` names the input in
 * messages. *count gets the number of records read; if repeat_of is not
 * NULL and the first record's pid equals it, nothing is stored and *repeat
 * is set (a provider that ignores skip); *first_pid (may be NULL) gets a
 * copy of the first record's pid. PS_ERR_UPSTREAM when the input is not an
 * array ( *not_array: the first byte). */
static ps_status read_array(psi_run *run, pan_model model, rec_reader *r,
                            const char *what, size_t *count,
                            const char *repeat_of, int *repeat,
                            char **first_pid, int *not_array, ps_err *err)
{
    ps_status rc = PS_OK;
    *count = 0;
    *not_array = 0;
    int c = next_token(r);
    if (c != '[') {
        *not_array = c < 0 ? -1 : c;
        return ps_err_set(err, PS_ERR_UPSTREAM, "%s is not a JSON array", what);
    }
    for (;;) {
        c = next_token(r);
        if (c == ']' && *count == 0)
            break;
        if (c < 0) {
            rc = ps_err_set(err, c == -2 ? PS_ERR_TOOBIG : PS_ERR_UPSTREAM,
                            "%s: %s after record %zu", what,
                            c == -2 ? "a record larger than 64 MiB"
                                    : "the array is not closed",
                            *count);
            break;
        }
        r->start--; /* the token is the record's first byte */
        long n = value_length(r);
        if (n < 0) {
            rc = ps_err_set(err, n == -2 ? PS_ERR_TOOBIG : PS_ERR_UPSTREAM,
                            "%s: record %zu is %s", what, *count + 1,
                            n == -2 ? "larger than 64 MiB" : "cut short");
            break;
        }
        const char *text = r->buf + r->start;
        json_error_t je;
        json_t *rec = json_loadb(text, (size_t)n, 0, &je);
        r->start += (size_t)n;
        if (!rec) {
            rc = ps_err_set(err, PS_ERR_UPSTREAM, "%s: record %zu: %s", what,
                            *count + 1, je.text);
            break;
        }
        if (*count == 0) {
            char num[32];
            const char *pid = str_or_num(rec, "pid", num, sizeof num);
            if (repeat_of && pid && strcmp(pid, repeat_of) == 0) {
                json_decref(rec);
                *repeat = 1;
                return PS_OK;
            }
            if (first_pid && pid) {
                *first_pid = ps_strdup(pid);
                if (!*first_pid) {
                    json_decref(rec);
                    return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
                }
            }
        }
        rc = put_record(run, model, rec, text, (size_t)n, err);
        json_decref(rec);
        (*count)++;
        if (rc != PS_OK)
            break;
        if (psi_run_cancelled(run)) {
            rc = ps_err_set(err, PS_ERR_CANCELLED, "harvest of %s cancelled",
                            run->src->name);
            break;
        }
        c = next_token(r);
        if (c == ']')
            break;
        if (c != ',') {
            rc = ps_err_set(err, PS_ERR_UPSTREAM,
                            "%s: expected ',' or ']' after record %zu", what,
                            *count);
            break;
        }
    }
    return rc;
}

/* ---- fetching over HTTP ----------------------------------------------------
 */

static char *page_url(psi_run *run, pan_model model, long limit, long skip)
{
    json_t *filter = json_pack("{s:i, s:i}", "limit", (json_int_t)limit, "skip",
                               (json_int_t)skip);
    const char *inc = model == MODEL_DATASETS    ? dataset_include
                      : model == MODEL_DOCUMENTS ? document_include
                                                 : NULL;
    if (filter && inc)
        json_object_set_new(filter, "include", json_loads(inc, 0, NULL));
    char *text = filter ? json_dumps(filter, JSON_COMPACT) : NULL;
    char *enc = text ? ps_pct_encode(text) : NULL;
    char *suffix = enc ? ps_asprintf("?filter=%s", enc) : NULL;
    char *url =
        suffix ? model_url(run->src->url, model_names[model], suffix) : NULL;
    json_decref(filter);
    free(text);
    ps_free(enc);
    ps_free(suffix);
    return url;
}

/* Page through one model. Pages are requested until one comes back empty
 * (a provider may cap its pages below our limit: a short page is not the
 * last one), skip advancing by the records received. A provider that
 * answers the same first record again ignores skip: an error, unless it
 * also ignored limit and so sent everything at once. When the provider
 * gave a count and fewer records came, the run is not complete, and no
 * record is tombstoned. */
static ps_status harvest_http(psi_run *run, pan_model model, ps_err *err)
{
    long limit = run->src->page_size > 0 ? run->src->page_size : 500;
    long skip = 0;
    int sent_all = 0; /* the first page held more than we asked for */
    ps_status rc = PS_OK;
    char *prev_first = NULL;
    run->phase = model_names[model];
    run->phase_done = 0;
    run->phase_total = fetch_count(run, model);
    for (;;) {
        if (psi_run_cancelled(run)) {
            rc = ps_err_set(err, PS_ERR_CANCELLED, "harvest of %s cancelled",
                            run->src->name);
            break;
        }
        char *url = page_url(run, model, limit, skip);
        if (!url) {
            rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
            break;
        }
        ps_http_response resp;
        rc = psi_run_fetch(run, url, NULL, &resp, err);
        size_t n = 0;
        int repeat = 0, not_array = 0;
        char *first = NULL;
        if (rc == PS_OK) {
            rec_reader r = {NULL, resp.body,     resp.body_len,
                            0,    resp.body_len, 1};
            char what[600];
            snprintf(what, sizeof what, "source %s: %s", run->src->name, url);
            rc = read_array(run, model, &r, what, &n, skip ? prev_first : NULL,
                            &repeat, &first, &not_array, err);
            if (not_array == '{')
                ps_err_set(err, PS_ERR_UPSTREAM,
                           "source %s: %s answered a JSON object, not the "
                           "array of records of a PaN search API",
                           run->src->name, url);
            else if (not_array)
                ps_err_set(err, PS_ERR_UPSTREAM,
                           "source %s: %s answered something that is not "
                           "JSON (expected an array of records); is the url "
                           "a PaN search API base (e.g. https://host/api)?",
                           run->src->name, url);
        }
        ps_http_response_free(&resp);
        ps_free(url);
        if (rc == PS_OK && repeat) {
            ps_free(first);
            if (sent_all)
                break; /* it ignores limit and skip: page 1 was everything */
            rc = ps_err_set(err, PS_ERR_UPSTREAM,
                            "source %s: %s ignores skip (the page at skip "
                            "%ld repeats the first page); cannot page "
                            "through it",
                            run->src->name, model_names[model], skip);
            break;
        }
        if (rc == PS_OK)
            rc = psi_run_flush(run, err);
        ps_free(prev_first);
        prev_first = first;
        if (rc != PS_OK || n == 0)
            break;
        if (skip == 0 && n > (size_t)limit)
            sent_all = 1;
        skip += (long)n;
        /* The provider said how many there are: no need to ask for the
         * empty page after the last. */
        if (run->phase_total >= 0 && skip >= run->phase_total && !sent_all)
            break;
        if (psi_run_pause(run)) {
            rc = ps_err_set(err, PS_ERR_CANCELLED, "harvest of %s cancelled",
                            run->src->name);
            break;
        }
    }
    ps_free(prev_first);
    if (rc == PS_OK && run->phase_total >= 0 &&
        run->phase_done < run->phase_total) {
        run->incomplete = 1;
        char note[160];
        snprintf(note, sizeof note,
                 "%s: %lld of the %lld records the provider counts were "
                 "listed, so nothing was deleted",
                 model_names[model], (long long)run->phase_done,
                 (long long)run->phase_total);
        psi_run_note(run, note);
    }
    return rc;
}

/* ---- reading a directory ---------------------------------------------------
 */

static ps_status harvest_file(psi_run *run, const char *dir, pan_model model,
                              ps_err *err)
{
    char *path = ps_asprintf("%s/%s.json", dir, model_names[model]);
    if (!path)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    run->phase = model_names[model];
    run->phase_done = 0;
    run->phase_total = -1;
    ps_status rc = PS_OK;
    rec_reader r = {0};
    r.f = fopen(path, "r");
    if (!r.f) {
        rc = ps_err_set(err, errno == ENOENT ? PS_ERR_NOTFOUND : PS_ERR_IO,
                        "source %s: cannot read %s: %s (a file:// source is a "
                        "directory with Instruments.json, Datasets.json and "
                        "Documents.json)",
                        run->src->name, path, strerror(errno));
        ps_free(path);
        return rc;
    }
    char what[600];
    snprintf(what, sizeof what, "source %s: %s", run->src->name, path);
    size_t n = 0;
    int repeat = 0, not_array = 0;
    rc = read_array(run, model, &r, what, &n, NULL, &repeat, NULL, &not_array,
                    err);
    if (rc == PS_OK)
        rc = psi_run_flush(run, err);
    fclose(r.f);
    ps_free(r.buf);
    ps_free(path);
    return rc;
}

/* ---- the source ------------------------------------------------------------
 */

ps_status psi_harvest_pan(psi_run *run, ps_err *err)
{
    const char *url = run->src->url;
    int is_file = ps_str_startswith(url, "file://");
    if (!is_file && !ps_str_startswith(url, "http://") &&
        !ps_str_startswith(url, "https://"))
        return ps_err_set(err, PS_ERR_INVALID,
                          "source %s: url \"%s\" is neither http(s):// nor "
                          "file://",
                          run->src->name, url);
    const char *dir = NULL;
    char *decoded = NULL;
    if (is_file) {
        const char *p = url + 7;
        if (ps_str_startswith(p, "localhost/"))
            p += 9;
        decoded = ps_pct_decode(p, strlen(p));
        if (!decoded || decoded[0] != '/') {
            ps_free(decoded);
            return ps_err_set(
                err, PS_ERR_INVALID,
                "source %s: \"%s\" is not a file:///absolute/path",
                run->src->name, url);
        }
        dir = decoded;
    }
    ps_status rc = PS_OK;
    for (int m = MODEL_INSTRUMENTS; m <= MODEL_DOCUMENTS && rc == PS_OK; m++) {
        rc = is_file ? harvest_file(run, dir, (pan_model)m, err)
                     : harvest_http(run, (pan_model)m, err);
        if (rc == PS_OK && !is_file && m != MODEL_DOCUMENTS &&
            psi_run_pause(run))
            rc = ps_err_set(err, PS_ERR_CANCELLED, "harvest of %s cancelled",
                            run->src->name);
    }
    ps_free(decoded);
    if (rc == PS_OK && !run->incomplete)
        run->complete = 1;
    return rc;
}
