/*
 * scicat.c: the "scicat" source: a SciCat catalogue's public REST API
 * (scicat-backend-next, v3 routes, or the v4 public datasets route with
 * api_version = 4). It pages through instruments, proposals, published
 * datasets (with their files from the OrigDatablocks and their samples,
 * fetched once per page of datasets) and registered published data (DOIs),
 * with skip/limit ordered by a stable key, and maps every record into the
 * store: Instrument -> instrument, Proposal -> proposal, Dataset ->
 * dataset (scientificMetadata {key:{value,unit}} -> parameters, which the
 * store converts to SI), PublishedData -> publication citing its datasets.
 * A dataset's proposal becomes a dataset-of-proposal link.
 *
 * Incremental: a run after a complete listing asks only for records with
 * updatedAt after the "since" checkpoint. Resumable: after every page the
 * "resume" checkpoint (phase, next skip, the last order key seen, when the
 * listing started) is committed with the page's records; a rerun continues
 * there, and starts the phase again if the listing shifted under it. SciCat
 * announces no deletions, so only a full listing made in one run lets the
 * driver sweep (tombstone) what is no longer listed.
 * docs/harvesting.md (section `type = scicat`) has the crosswalk, field by
 * field. SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "harvest-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PER_RECORD 10000 /* files, parameters, members of one record */
#define OVERLAP_MS 300000    /* the next "since" starts 5 min early */
#define PANET "http://purl.org/pan-science/PaNET/"

typedef enum {
    PH_INSTRUMENTS,
    PH_PROPOSALS,
    PH_DATASETS,
    PH_PUBLISHED,
    PH_END
} sc_phase;

static const char *const phase_names[] = {"instruments", "proposals",
                                          "datasets", "publisheddata"};
static const char *const v3_routes[] = {"Instruments", "Proposals", "Datasets",
                                        "PublishedData"};
/* The key each listing is ordered by, and the record's own id. */
static const char *const order_keys[] = {"pid", "proposalId", "creationTime",
                                         "doi"};
static const char *const id_keys[] = {"pid", "proposalId", "pid", "doi"};
static const ps_kind phase_kinds[] = {PS_KIND_INSTRUMENT, PS_KIND_PROPOSAL,
                                      PS_KIND_DATASET, PS_KIND_PUBLICATION};

typedef struct sc_ctx {
    psi_run *run;
    char *base; /* the site, without a trailing /api... */
    int v4;
    const char *facility;
    const char *since; /* updatedAt lower bound, NULL: a full listing */
    char started[32];  /* when this listing started (ISO) */
    long limit;
} sc_ctx;

/* ---- small helpers --------------------------------------------------------
 */

/* Add the message of a SciCat error body ({"message"} or
 * {"error":{"message"}}) to err. */
static void add_upstream_message(const ps_http_response *resp, ps_err *err)
{
    json_t *j =
        resp->body ? json_loadb(resp->body, resp->body_len, 0, NULL) : NULL;
    const char *m = ps_json_str(j, "message");
    if (!m)
        m = ps_json_str(json_object_get(j, "error"), "message");
    if (m && err)
        ps_err_prefix(err, "%.200s", m);
    json_decref(j);
}

/* GET url and parse its JSON array into *out. */
static ps_status fetch_array(sc_ctx *c, const char *url, json_t **out,
                             ps_err *err)
{
    ps_http_response resp;
    *out = NULL;
    ps_status rc = psi_run_fetch(c->run, url, NULL, &resp, err);
    if (rc == PS_ERR_UPSTREAM)
        add_upstream_message(&resp, err);
    if (rc == PS_OK) {
        json_error_t je;
        json_t *j = json_loadb(resp.body, resp.body_len, 0, &je);
        if (!j)
            rc = ps_err_set(err, PS_ERR_UPSTREAM,
                            "source %s: %s answered something that is not "
                            "JSON (%s at byte %d)",
                            c->run->src->name, url, je.text, je.position);
        else if (!json_is_array(j)) {
            rc = ps_err_set(err, PS_ERR_UPSTREAM,
                            "source %s: %s answered a JSON %s, not the array "
                            "of records of a SciCat API (is the url the "
                            "site, e.g. https://scicat.example.org?)",
                            c->run->src->name, url,
                            json_is_object(j) ? "object" : "value");
            json_decref(j);
        } else
            *out = j;
    }
    ps_http_response_free(&resp);
    return rc;
}

/* ---- URLs -----------------------------------------------------------------
 */

static char *encoded_url(const sc_ctx *c, const char *route, const char *filter)
{
    char *enc = ps_pct_encode(filter);
    char *url =
        enc ? ps_asprintf("%s/api/%s?filter=%s", c->base, route, enc) : NULL;
    ps_free(enc);
    return url;
}

/* The page of phase at skip: the filter's text is built in one fixed form
 * (docs/harvesting.md (section `type = scicat`) shows it). */
static char *page_url(const sc_ctx *c, sc_phase ph, long skip)
{
    char where[256] = "";
    char route[64];
    if (ph == PH_DATASETS && c->v4)
        snprintf(route, sizeof route, "v4/datasets/public");
    else
        snprintf(route, sizeof route, "v3/%s", v3_routes[ph]);
    if (ph == PH_DATASETS && !c->v4)
        snprintf(where, sizeof where, "\"isPublished\":true");
    if (ph == PH_PUBLISHED)
        snprintf(where, sizeof where, "\"status\":\"registered\"");
    if (c->since)
        snprintf(where + strlen(where), sizeof where - strlen(where),
                 "%s\"updatedAt\":{\"%s\":\"%s\"}", where[0] ? "," : "",
                 c->v4 && ph == PH_DATASETS ? "$gt" : "gt", c->since);
    char *filter = ps_asprintf(
        "{%s%s%s\"limits\":{\"limit\":%ld,\"skip\":%ld,\"order\":\"%s:asc\"}}",
        where[0] ? "\"where\":{" : "", where, where[0] ? "}," : "", c->limit,
        skip, order_keys[ph]);
    if (!filter)
        return NULL;
    char *url = encoded_url(c, route, filter);
    ps_free(filter);
    return url;
}

/* {"where":{"KEY":{"inq":[ids...]}}} over route. */
static char *inq_url(const sc_ctx *c, const char *route, const char *key,
                     json_t *ids)
{
    char *list = json_dumps(ids, JSON_COMPACT);
    char *filter =
        list ? ps_asprintf("{\"where\":{\"%s\":{\"inq\":%s}}}", key, list)
             : NULL;
    char *url = filter ? encoded_url(c, route, filter) : NULL;
    free(list);
    ps_free(filter);
    return url;
}

/* ---- mapping --------------------------------------------------------------
 */

static ps_status put_instrument(sc_ctx *c, json_t *rec, const ps_prov *prov,
                                ps_put_result *res, ps_err *err)
{
    ps_instrument_in in = {0};
    in.pid = prov->remote_id;
    in.name = psi_json_nonempty(rec, "name");
    if (!in.name)
        in.name = psi_json_nonempty(rec, "uniqueName");
    in.facility = c->facility;
    in.vis = PS_VIS_PUBLIC;
    if (!in.name)
        return ps_err_set(err, PS_ERR_INVALID, "instrument %s has no name",
                          in.pid);
    return ps_store_put_instrument(c->run->st, prov, &in, res, NULL, err);
}

/* A person of this source without ORCID: "<source>:<email or name>". */
static const char *local_person(sc_ctx *c, psi_strs *b, const char *email,
                                const char *name)
{
    return psi_strs_keep(
        b, ps_asprintf("%s:%s", c->run->src->name, email ? email : name));
}

static ps_status put_proposal(sc_ctx *c, json_t *rec, const ps_prov *prov,
                              ps_put_result *res, ps_err *err)
{
    psi_run *run = c->run;
    ps_document_in in = {0};
    ps_member_in members[2];
    psi_strs b = {0};
    json_t *known = NULL;
    const char **dpids = NULL;
    memset(members, 0, sizeof members);
    in.kind = PS_KIND_PROPOSAL;
    in.pid = prov->remote_id;
    in.code = prov->remote_id;
    in.type = psi_json_nonempty(rec, "type");
    in.title = psi_json_nonempty(rec, "title");
    in.summary = psi_json_nonempty(rec, "abstract");
    in.start_ms = psi_json_date(run, rec, "startTime", in.pid);
    in.end_ms = psi_json_date(run, rec, "endTime", in.pid);
    in.release_ms = PS_TIME_NONE;
    in.vis = PS_VIS_PUBLIC;
    /* Without startTime/endTime: the span of the measurement periods. */
    json_t *periods = json_object_get(rec, "MeasurementPeriodList");
    size_t i;
    json_t *p;
    json_array_foreach (periods, i, p) {
        int64_t s = psi_json_date(run, p, "start", in.pid);
        int64_t e = psi_json_date(run, p, "end", in.pid);
        if (s != PS_TIME_NONE &&
            (in.start_ms == PS_TIME_NONE || s < in.start_ms))
            in.start_ms = s;
        if (e != PS_TIME_NONE && (in.end_ms == PS_TIME_NONE || e > in.end_ms))
            in.end_ms = e;
    }
    /* The principal investigator, then the proposer when another person. */
    static const char *const who[2][4] = {
        {"pi_firstname", "pi_lastname", "pi_email", "principal investigator"},
        {"firstname", "lastname", "email", "main proposer"}};
    for (int k = 0; k < 2; k++) {
        const char *first = psi_json_nonempty(rec, who[k][0]);
        const char *last = psi_json_nonempty(rec, who[k][1]);
        const char *email = psi_json_nonempty(rec, who[k][2]);
        if (email && !strchr(email, '@'))
            email = NULL;
        if (!last && !email)
            continue;
        const char *full =
            first && last ? psi_strs_keep(&b, ps_asprintf("%s %s", first, last))
            : last        ? last
                          : email;
        if (k == 1 && in.nmembers == 1 && full && members[0].person.full_name &&
            strcmp(full, members[0].person.full_name) == 0)
            continue;
        ps_member_in *m = &members[in.nmembers++];
        m->role = who[k][3];
        m->person.given_name = first;
        m->person.family_name = last;
        m->person.full_name = full;
        m->person.pid = local_person(c, &b, email, full);
    }
    in.members = members;
    ps_status rc = psi_proposal_datasets(run, in.pid, &known, err);
    if (rc == PS_OK && json_array_size(known)) {
        dpids = ps_calloc(json_array_size(known), sizeof *dpids);
        if (!dpids)
            b.nomem = 1;
        json_array_foreach (known, i, p)
            if (dpids && ps_json_str(p, "pid"))
                dpids[in.ndatasets++] = ps_json_str(p, "pid");
        in.dataset_pids = dpids;
    }
    if (rc == PS_OK && b.nomem)
        rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    if (rc == PS_OK && !in.title)
        rc =
            ps_err_set(err, PS_ERR_INVALID, "proposal %s has no title", in.pid);
    if (rc == PS_OK)
        rc = ps_store_put_document(run->st, prov, &in, res, NULL, err);
    ps_free(dpids);
    json_decref(known);
    psi_strs_free(&b);
    return rc;
}

/* Strings of member key (an array) or key1 (one string), up to max. */
static size_t ids_of(const json_t *rec, const char *key1, const char *keyn,
                     const char **out, size_t max)
{
    size_t n = 0;
    const char *one = psi_json_nonempty(rec, key1);
    if (one)
        out[n++] = one;
    json_t *arr = json_object_get(rec, keyn);
    size_t i;
    json_t *x;
    json_array_foreach (arr, i, x) {
        if (n < max && json_is_string(x) && *json_string_value(x))
            out[n++] = json_string_value(x);
    }
    return n;
}

typedef struct dataset_page {
    json_t *files;   /* datasetId -> [dataFileList entries] */
    json_t *samples; /* sampleId -> Sample */
} dataset_page;

static ps_status put_dataset(sc_ctx *c, json_t *rec, const ps_prov *prov,
                             const dataset_page *pg, ps_put_result *res,
                             int64_t *id_out, ps_err *err)
{
    psi_run *run = c->run;
    ps_dataset_in in = {0};
    psi_strs b = {0};
    ps_param_in *params = NULL;
    ps_file_in *files = NULL;
    ps_technique_in *techs = NULL;
    const char **keywords = NULL;
    ps_sample_in samples[16];
    const char *ids[16];
    ps_status rc = PS_OK;
    in.pid = prov->remote_id;
    in.title = psi_json_nonempty(rec, "datasetName");
    in.description = psi_json_nonempty(rec, "description");
    in.created_ms = psi_json_date(run, rec, "creationTime", in.pid);
    double size;
    in.size = ps_json_num(rec, "size", &size) == 0 && size >= 0 && size < 9e18
                  ? (int64_t)size
                  : -1;
    const char *inst[1];
    if (ids_of(rec, "instrumentId", "instrumentIds", inst, 1))
        in.instrument_pid = inst[0];
    in.vis =
        ps_json_bool(rec, "isPublished", 0) ? PS_VIS_PUBLIC : PS_VIS_RESTRICTED;

    /* keywords */
    json_t *kw = json_object_get(rec, "keywords");
    size_t i, nkw = json_array_size(kw);
    json_t *x;
    if (nkw > MAX_PER_RECORD)
        nkw = MAX_PER_RECORD;
    if (nkw)
        keywords = ps_calloc(nkw, sizeof *keywords);
    if (nkw && !keywords)
        goto nomem;
    json_array_foreach (kw, i, x) {
        if (in.nkeywords < nkw && json_is_string(x))
            keywords[in.nkeywords++] = json_string_value(x);
    }
    in.keywords = keywords;

    /* scientificMetadata {key: {value, unit}} or {key: value} */
    json_t *sm = json_object_get(rec, "scientificMetadata");
    size_t nsm = json_object_size(sm);
    if (nsm > MAX_PER_RECORD)
        nsm = MAX_PER_RECORD;
    if (nsm)
        params = ps_calloc(nsm, sizeof *params);
    if (nsm && !params)
        goto nomem;
    const char *key;
    json_object_foreach (sm, key, x) {
        if (in.nparams >= nsm)
            break;
        json_t *v = json_is_object(x) ? json_object_get(x, "value") : x;
        ps_param_in *o = &params[in.nparams];
        o->name = key;
        o->unit = json_is_object(x) ? psi_json_nonempty(x, "unit") : NULL;
        if (json_is_number(v)) {
            o->is_num = 1;
            o->num = json_number_value(v);
        } else if (json_is_string(v)) {
            o->text = json_string_value(v);
        } else if (json_is_boolean(v)) {
            o->text = json_is_true(v) ? "true" : "false";
        } else {
            continue; /* nested objects, arrays, null */
        }
        in.nparams++;
    }
    in.params = params;

    /* techniques [{pid, name}] */
    json_t *tech = json_object_get(rec, "techniques");
    size_t ntech = json_array_size(tech);
    if (ntech > 64)
        ntech = 64;
    if (ntech)
        techs = ps_calloc(ntech, sizeof *techs);
    if (ntech && !techs)
        goto nomem;
    json_array_foreach (tech, i, x) {
        const char *tpid = psi_json_nonempty(x, "pid");
        const char *name = psi_json_nonempty(x, "name");
        if (in.ntechniques >= ntech || (!tpid && !name))
            continue;
        ps_technique_in *o = &techs[in.ntechniques++];
        o->pid = tpid ? tpid : name;
        o->name = name;
        if (tpid && ps_str_startswith(tpid, PANET))
            o->panet_iri = tpid;
        else if (tpid && ps_str_startswith(tpid, "PaNET"))
            o->panet_iri = psi_strs_keep(&b, ps_asprintf(PANET "%s", tpid));
    }
    in.techniques = techs;

    /* samples: the ids, named from the page's Sample records */
    size_t nids = ids_of(rec, "sampleId", "sampleIds", ids, 16);
    for (i = 0; i < nids; i++) {
        json_t *s = json_object_get(pg->samples, ids[i]);
        samples[i].pid = ids[i];
        samples[i].name = psi_json_nonempty(s, "name");
        samples[i].description = psi_json_nonempty(s, "description");
    }
    in.samples = samples;
    in.nsamples = nids;

    /* files: the dataFileList of the dataset's OrigDatablocks */
    json_t *fl = json_object_get(pg->files, in.pid);
    size_t nf = json_array_size(fl);
    if (nf > MAX_PER_RECORD) {
        char note[160];
        snprintf(note, sizeof note, "dataset %.80s: %zu files, kept %d", in.pid,
                 nf, MAX_PER_RECORD);
        psi_run_note(run, note);
        nf = MAX_PER_RECORD;
    }
    if (nf)
        files = ps_calloc(nf, sizeof *files);
    if (nf && !files)
        goto nomem;
    json_array_foreach (fl, i, x) {
        const char *path = psi_json_nonempty(x, "path");
        if (in.nfiles >= nf || !path)
            continue;
        ps_file_in *o = &files[in.nfiles++];
        const char *slash = strrchr(path, '/');
        o->name = slash && slash[1] ? slash + 1 : path;
        o->path = path;
        o->size = ps_json_num(x, "size", &size) == 0 && size >= 0 && size < 9e18
                      ? (int64_t)size
                      : -1;
        const char *chk = psi_json_nonempty(x, "chk");
        const char *alg = psi_json_nonempty(x, "chkAlg");
        o->checksum = chk && alg
                          ? psi_strs_keep(&b, ps_asprintf("%s:%s", alg, chk))
                          : chk;
    }
    in.files = files;

    if (b.nomem)
        goto nomem;
    if (!in.title)
        rc = ps_err_set(err, PS_ERR_INVALID, "dataset %s has no datasetName",
                        in.pid);
    else
        rc = ps_store_put_dataset(run->st, prov, &in, res, id_out, err);
    goto out;
nomem:
    rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
out:
    ps_free(params);
    ps_free(files);
    ps_free(techs);
    ps_free(keywords);
    psi_strs_free(&b);
    return rc;
}

static ps_status put_published(sc_ctx *c, json_t *rec, const ps_prov *prov,
                               ps_put_result *res, ps_err *err)
{
    ps_document_in in = {0};
    ps_member_in *members = NULL;
    const char **dpids = NULL;
    psi_strs b = {0};
    ps_status rc = PS_OK;
    in.kind = PS_KIND_PUBLICATION;
    in.pid = prov->remote_id;
    in.doi = psi_doi_bare(prov->remote_id);
    in.type = "data publication";
    in.title = psi_json_nonempty(rec, "title");
    in.summary = psi_json_nonempty(rec, "abstract");
    if (!in.summary)
        in.summary = psi_json_nonempty(rec, "dataDescription");
    in.start_ms = in.end_ms = PS_TIME_NONE;
    in.release_ms = psi_json_date(c->run, rec, "registeredTime", in.pid);
    double year;
    if (ps_json_num(rec, "publicationYear", &year) == 0 && year > 0 &&
        year < 10000)
        in.year = (int)year;
    in.vis = PS_VIS_PUBLIC;
    /* creators: names only ("al." of "et al." is no person) */
    json_t *cr = json_object_get(rec, "creator");
    size_t i, n = json_array_size(cr);
    json_t *x;
    if (n > MAX_PER_RECORD)
        n = MAX_PER_RECORD;
    if (n)
        members = ps_calloc(n, sizeof *members);
    if (n && !members)
        b.nomem = 1;
    json_array_foreach (cr, i, x) {
        const char *name = json_string_value(x);
        if (!members || in.nmembers >= n || !name || !*name ||
            strcmp(name, "al.") == 0 || strcmp(name, "et al.") == 0)
            continue;
        ps_member_in *m = &members[in.nmembers++];
        m->role = "author";
        m->person.full_name = name;
        m->person.pid = local_person(c, &b, NULL, name);
    }
    in.members = members;
    json_t *pa = json_object_get(rec, "pidArray");
    n = json_array_size(pa);
    if (n > MAX_PER_RECORD)
        n = MAX_PER_RECORD;
    if (n)
        dpids = ps_calloc(n, sizeof *dpids);
    if (n && !dpids)
        b.nomem = 1;
    json_array_foreach (pa, i, x) {
        if (dpids && in.ndatasets < n && json_is_string(x))
            dpids[in.ndatasets++] = json_string_value(x);
    }
    in.dataset_pids = dpids;
    if (b.nomem)
        rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    else if (!in.title)
        rc = ps_err_set(err, PS_ERR_INVALID, "published data %s has no title",
                        in.pid);
    else
        rc = ps_store_put_document(c->run->st, prov, &in, res, NULL, err);
    ps_free(members);
    ps_free(dpids);
    psi_strs_free(&b);
    return rc;
}

/* Map and store one record; a record that cannot be used is rejected and
 * the run goes on. */
static ps_status put_record(sc_ctx *c, sc_phase ph, json_t *rec,
                            const dataset_page *pg, ps_err *err)
{
    psi_run *run = c->run;
    char why[300];
    psi_strs b = {0};
    const char *id =
        json_is_object(rec) ? psi_json_str_or_num(rec, id_keys[ph], &b) : NULL;
    if (ph == PH_DATASETS && !id)
        id = psi_json_str_or_num(rec, "_id", &b);
    if (!id || !*id) {
        snprintf(why, sizeof why, "%s: a record without %s", phase_names[ph],
                 id_keys[ph]);
        int nomem = b.nomem;
        psi_strs_free(&b);
        return nomem ? ps_err_set(err, PS_ERR_NOMEM, "out of memory")
                     : psi_run_reject(run, phase_kinds[ph], NULL, why, err);
    }
    const char *pid =
        ph == PH_PUBLISHED && psi_doi_bare(id) ? psi_doi_bare(id) : id;
    ps_prov prov = {run->source_id, pid, rec, 0, run->run_id, NULL, 0};
    ps_put_result res = PS_PUT_UNCHANGED;
    ps_err e = PS_ERR_INIT;
    int64_t rid = 0;
    ps_status rc;
    switch (ph) {
    case PH_INSTRUMENTS: rc = put_instrument(c, rec, &prov, &res, &e); break;
    case PH_PROPOSALS: rc = put_proposal(c, rec, &prov, &res, &e); break;
    case PH_DATASETS:
        rc = put_dataset(c, rec, &prov, pg, &res, &rid, &e);
        break;
    default: rc = put_published(c, rec, &prov, &res, &e); break;
    }
    if (rc == PS_ERR_INVALID) {
        rc = psi_run_reject(run, phase_kinds[ph], pid, e.msg, err);
    } else if (rc != PS_OK) {
        if (err)
            *err = e;
    } else {
        rc = psi_run_record(run, res, err);
        /* the dataset's proposal(s) */
        const char *props[8];
        size_t np = ph == PH_DATASETS
                        ? ids_of(rec, "proposalId", "proposalIds", props, 8)
                        : 0;
        for (size_t i = 0; rc == PS_OK && i < np; i++)
            rc = psi_run_link(run, "dataset-of-proposal", PS_KIND_DATASET, rid,
                              PS_KIND_PROPOSAL, props[i], err);
    }
    psi_strs_free(&b);
    return rc;
}

/* ---- a page of datasets: its files and samples ----------------------------
 */

static ps_status fetch_page_extras(sc_ctx *c, json_t *page, dataset_page *pg,
                                   ps_err *err)
{
    json_t *dids = json_array(), *sids = json_array();
    ps_status rc = PS_OK;
    size_t i;
    json_t *rec;
    pg->files = json_object();
    pg->samples = json_object();
    if (!dids || !sids || !pg->files || !pg->samples)
        rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    json_array_foreach (page, i, rec) {
        const char *pid = psi_json_nonempty(rec, "pid");
        if (!pid)
            pid = psi_json_nonempty(rec, "_id");
        if (pid && rc == PS_OK)
            json_array_append_new(dids, json_string(pid));
        const char *s[16];
        size_t n = ids_of(rec, "sampleId", "sampleIds", s, 16);
        for (size_t k = 0; k < n && rc == PS_OK; k++) {
            size_t j;
            json_t *y;
            int seen = 0;
            json_array_foreach (sids, j, y)
                seen |= strcmp(json_string_value(y), s[k]) == 0;
            if (!seen)
                json_array_append_new(sids, json_string(s[k]));
        }
    }
    if (rc == PS_OK && json_array_size(dids)) {
        char *url = inq_url(c, "v3/OrigDatablocks", "datasetId", dids);
        json_t *blocks = NULL;
        rc = url ? fetch_array(c, url, &blocks, err)
                 : ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        json_t *b;
        json_array_foreach (blocks, i, b) {
            const char *did = psi_json_nonempty(b, "datasetId");
            json_t *list = json_object_get(b, "dataFileList");
            if (!did || !json_is_array(list))
                continue;
            json_t *have = json_object_get(pg->files, did);
            if (!have) {
                have = json_array();
                json_object_set_new(pg->files, did, have);
            }
            const char *alg = psi_json_nonempty(b, "chkAlg");
            size_t j;
            json_t *f;
            json_array_foreach (list, j, f) {
                if (json_array_size(have) > MAX_PER_RECORD)
                    break;
                if (alg && !json_object_get(f, "chkAlg")) {
                    json_t *copy = json_copy(f);
                    json_object_set_new(copy, "chkAlg", json_string(alg));
                    json_array_append_new(have, copy);
                } else {
                    json_array_append(have, f);
                }
            }
        }
        json_decref(blocks);
        ps_free(url);
    }
    if (rc == PS_OK && json_array_size(sids)) {
        if (psi_run_pause(c->run))
            rc = ps_err_set(err, PS_ERR_CANCELLED, "harvest of %s cancelled",
                            c->run->src->name);
        char *url =
            rc == PS_OK ? inq_url(c, "v3/Samples", "sampleId", sids) : NULL;
        json_t *list = NULL;
        if (rc == PS_OK)
            rc = url ? fetch_array(c, url, &list, err)
                     : ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        json_t *s;
        json_array_foreach (list, i, s) {
            const char *sid = psi_json_nonempty(s, "sampleId");
            if (!sid)
                sid = psi_json_nonempty(s, "_id");
            if (sid)
                json_object_set(pg->samples, sid, s);
        }
        json_decref(list);
        ps_free(url);
    }
    json_decref(dids);
    json_decref(sids);
    return rc;
}

/* ---- the listing ----------------------------------------------------------
 */

/* The resume checkpoint: where the listing goes on. */
static ps_status save_resume(sc_ctx *c, sc_phase ph, long skip, const char *key,
                             ps_err *err)
{
    json_t *r = json_pack("{s:s, s:i, s:s, s:s?, s:s?}", "phase",
                          phase_names[ph], "skip", (json_int_t)skip, "started",
                          c->started, "since", c->since, "key", key);
    char *text = r ? json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(r);
    if (!text)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    ps_status rc = psi_run_checkpoint(c->run, "resume", text, err);
    free(text);
    return rc;
}

/* One phase, from skip; *key holds the last order key seen (ps_free). */
static ps_status list_phase(sc_ctx *c, sc_phase ph, long skip, char **key,
                            ps_err *err)
{
    psi_run *run = c->run;
    ps_status rc = PS_OK;
    int check_key = skip > 0 && *key;
    run->phase = phase_names[ph];
    run->phase_done = 0;
    run->phase_total = -1;
    for (;;) {
        if (psi_run_cancelled(run))
            return ps_err_set(err, PS_ERR_CANCELLED, "harvest of %s cancelled",
                              run->src->name);
        char *url = page_url(c, ph, skip);
        json_t *page = NULL;
        rc = url ? fetch_array(c, url, &page, err)
                 : ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        ps_free(url);
        if (rc != PS_OK)
            return rc;
        size_t n = json_array_size(page);
        /* Resumed: the page must go on from the key seen last, else the
         * listing shifted under us and the phase starts again. */
        const char *first =
            n ? psi_json_nonempty(json_array_get(page, 0), order_keys[ph])
              : NULL;
        if (check_key && first && strcmp(first, *key) < 0) {
            char note[200];
            snprintf(note, sizeof note,
                     "%s: the listing changed since the checkpoint, so it "
                     "started again",
                     phase_names[ph]);
            psi_run_note(run, note);
            json_decref(page);
            skip = 0;
            check_key = 0;
            continue;
        }
        check_key = 0;
        dataset_page pg = {NULL, NULL};
        if (ph == PH_DATASETS && n) {
            if (psi_run_pause(run))
                rc = ps_err_set(err, PS_ERR_CANCELLED,
                                "harvest of %s cancelled", run->src->name);
            if (rc == PS_OK)
                rc = fetch_page_extras(c, page, &pg, err);
        }
        size_t i;
        json_t *rec;
        json_array_foreach (page, i, rec) {
            if (rc != PS_OK)
                break;
            rc = put_record(c, ph, rec, &pg, err);
            const char *k = psi_json_nonempty(rec, order_keys[ph]);
            if (k) {
                ps_free(*key);
                *key = ps_strdup(k);
            }
        }
        json_decref(pg.files);
        json_decref(pg.samples);
        json_decref(page);
        if (rc != PS_OK)
            return rc;
        if (n == 0)
            return PS_OK;
        skip += (long)n;
        rc = save_resume(c, ph, skip, *key, err);
        if (rc == PS_OK && psi_run_pause(run))
            rc = ps_err_set(err, PS_ERR_CANCELLED, "harvest of %s cancelled",
                            run->src->name);
        if (rc != PS_OK)
            return rc;
    }
}

static int phase_of(const char *name)
{
    for (int i = 0; i < PH_END; i++)
        if (name && strcmp(name, phase_names[i]) == 0)
            return i;
    return -1;
}

ps_status psi_harvest_scicat(psi_run *run, ps_err *err)
{
    sc_ctx c;
    memset(&c, 0, sizeof c);
    c.run = run;
    const char *url = run->src->url;
    if (!ps_str_startswith(url, "http://") &&
        !ps_str_startswith(url, "https://"))
        return ps_err_set(err, PS_ERR_INVALID,
                          "source %s: url \"%s\" is not http(s)://",
                          run->src->name, url);
    long version;
    ps_status rc = psi_opt_long(run, "api_version", 3, 3, 4, &version, err);
    if (rc != PS_OK)
        return rc;
    c.v4 = version == 4;
    c.facility = psi_opt(run, "facility");
    c.limit = run->src->page_size > 0 ? run->src->page_size : 100;
    /* The site: the url without a trailing / or /api[/v3|/v4]. */
    size_t n = strlen(url);
    while (n && url[n - 1] == '/')
        n--;
    if (n >= 7 && (strncmp(url + n - 7, "/api/v3", 7) == 0 ||
                   strncmp(url + n - 7, "/api/v4", 7) == 0))
        n -= 7;
    else if (n >= 4 && strncmp(url + n - 4, "/api", 4) == 0)
        n -= 4;
    c.base = ps_strndup(url, n);
    char *since = NULL, *resume = NULL, *key = NULL;
    json_t *r = NULL;
    if (!c.base)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    rc = psi_state_get(run, "since", &since, err);
    if (rc == PS_OK)
        rc = psi_state_get(run, "resume", &resume, err);
    int ph = PH_INSTRUMENTS;
    long skip = 0;
    int resumed = 0;
    if (rc == PS_OK && resume) {
        r = json_loads(resume, 0, NULL);
        int p = phase_of(ps_json_str(r, "phase"));
        json_t *sk = json_object_get(r, "skip");
        const char *started = ps_json_str(r, "started");
        if (p >= 0 && json_is_integer(sk) && json_integer_value(sk) >= 0 &&
            started && strlen(started) < sizeof c.started) {
            ph = p;
            skip = (long)json_integer_value(sk);
            snprintf(c.started, sizeof c.started, "%s", started);
            c.since = ps_json_str(r, "since");
            key = ps_strdup(ps_json_str(r, "key"));
            resumed = 1;
        } else {
            psi_run_note(run, "the resume checkpoint was unreadable, so the "
                              "listing started again");
        }
    }
    if (!resumed) {
        c.since = since;
        psi_iso_time(run->started_ms, 0, c.started, sizeof c.started);
    }
    for (; rc == PS_OK && ph < PH_END; ph++) {
        rc = list_phase(&c, (sc_phase)ph, skip, &key, err);
        skip = 0;
        ps_free(key);
        key = NULL;
        if (rc == PS_OK && ph + 1 < PH_END)
            rc = save_resume(&c, (sc_phase)(ph + 1), 0, NULL, err);
    }
    if (rc == PS_OK) {
        int64_t started_ms = 0;
        ps_time_parse(c.started, &started_ms);
        char next[32];
        psi_iso_time(started_ms - OVERLAP_MS, 0, next, sizeof next);
        const char *keys[] = {"since", "resume"};
        const char *values[] = {next, NULL};
        rc = psi_run_checkpoint_n(run, keys, values, 2, err);
        /* Only a full listing made in this one run lists everything. */
        if (rc == PS_OK && !c.since && !resumed)
            run->complete = 1;
        else if (rc == PS_OK && !c.since)
            psi_run_note(run, "a full listing resumed from an earlier run: "
                              "nothing was deleted");
    }
    ps_free(key);
    json_decref(r);
    ps_free(since);
    ps_free(resume);
    ps_free(c.base);
    return rc;
}

const ps_harvest_option psi_scicat_options[] = {
    {"api_version", "3 (the /api/v3 routes, the default) or 4 (datasets from "
                    "/api/v4/datasets/public)"},
    {"facility", "the facility name given to the instruments (SciCat's "
                 "instrument records have none)"},
    {NULL, NULL}};
