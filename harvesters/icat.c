/*
 * icat.c: the "icat" source: an ICAT server's REST API (icat.server's
 * /icat/session and /icat/entityManager). It logs in (the anon plugin by
 * default, or db/ldap/simple with a user name and password from the
 * configuration, never logged), then pages through Instrument,
 * Investigation, Dataset and DataPublication with JPQL queries ordered by
 * id: "WHERE x.id > LAST ... ORDER BY x.id INCLUDE ... LIMIT 0, N", so the
 * last id seen is the whole resume state. Related entities come with the
 * record through INCLUDE (facility, users and roles, instruments, keywords,
 * parameters and their types, datafiles, sample, techniques, the data
 * publication's creators and datasets).
 *
 * Crosswalk (docs/harvesting.md (section `type = icat`) has the table):
 * Instrument -> instrument; Investigation -> proposal (pid: its DOI, else
 * icat:<facility>/investigation/<name>/<visitId>) with members and roles;
 * Dataset -> dataset with files, sample, parameters (converted to SI by
 * the store) and techniques, linked to its investigation; DataPublication
 * -> publication citing its datasets.
 *
 * Incremental: after a complete listing, a run asks only for entities whose
 * modTime is after the "since" checkpoint. An expired session (ICAT's
 * SESSION error) logs in again once and goes on; ICAT's own errors
 * ({"code","message"} with a 4xx) become a clear message. ICAT announces no
 * deletions: only a full listing made in one run lets the driver sweep.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "harvest-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_PER_RECORD 10000  /* files, parameters, members of one record */
#define MAX_ENTITIES 10000    /* ICAT's maxEntities: the largest page */
#define OVERLAP_MS 86400000LL /* ICAT compares modTime in its own zone */
#define MAX_RELOGINS 20       /* session renewals in one run */
#define PANET "http://purl.org/pan-science/PaNET/"

typedef enum {
    IP_INSTRUMENTS,
    IP_INVESTIGATIONS,
    IP_DATASETS,
    IP_PUBLICATIONS,
    IP_END
} ic_phase;

static const char *const phase_names[] = {"instruments", "investigations",
                                          "datasets", "datapublications"};
static const char *const entities[] = {"Instrument", "Investigation", "Dataset",
                                       "DataPublication"};
static const ps_kind phase_kinds[] = {PS_KIND_INSTRUMENT, PS_KIND_PROPOSAL,
                                      PS_KIND_DATASET, PS_KIND_PUBLICATION};

typedef struct ic_ctx {
    psi_run *run;
    char *base;        /* the server, without a trailing / or /icat */
    char *session;     /* the session id */
    long version;      /* the ICAT schema: 4, 5 or 6 */
    const char *since; /* "yyyy-mm-dd hh:mm:ss" modTime bound, or NULL */
    char started[32];
    long limit;
    int relogins;
} ic_ctx;

/* ---- small helpers --------------------------------------------------------
 */

/* ICAT writes DOIs as "DOI:10.x/y" (python-icat's dumps) or plain, and
 * test catalogues use made-up prefixes ("DOI:00.0815/..."): after an
 * explicit "DOI:" anything goes. */
static const char *icat_doi(const char *s)
{
    const char *d = psi_doi_bare(s);
    if (d || !s)
        return d;
    return strncasecmp(s, "doi:", 4) == 0 && s[4] ? s + 4 : NULL;
}

static long long id_of(const json_t *o)
{
    json_t *v = json_object_get(o, "id");
    return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

static const char *facility_of(ic_ctx *c, const json_t *o)
{
    const char *f = psi_json_nonempty(json_object_get(o, "facility"), "name");
    return f ? f : c->run->src->name;
}

/* A size member (fileSize) in bytes, -1 when absent or absurd. */
static int64_t bytes_of(const json_t *o, const char *key)
{
    double v;
    if (ps_json_num(o, key, &v) != 0 || !(v >= 0) || v >= 9e18)
        return -1;
    return (int64_t)v;
}

/* "Principal Investigator" -> "principal investigator". */
static const char *lower_role(psi_strs *b, const char *role)
{
    char *r = ps_strdup(role);
    if (r)
        ps_str_lower(r, (size_t)-1);
    return psi_strs_keep(b, r);
}

/* ---- talking to ICAT ------------------------------------------------------
 */

/* The ICAT error of a failed answer ({"code","message"}) into err. Returns
 * 1 if it says the session is gone. */
static int icat_error(ic_ctx *c, const ps_http_response *resp, ps_err *err)
{
    json_t *j =
        resp->body ? json_loadb(resp->body, resp->body_len, 0, NULL) : NULL;
    const char *code = ps_json_str(j, "code");
    const char *msg = ps_json_str(j, "message");
    int session = code && strcmp(code, "SESSION") == 0;
    if (!session && msg && resp->status == 403 && strstr(msg, "ession") &&
        strstr(msg, "not found"))
        session = 1;
    if (code || msg)
        ps_err_set(err, PS_ERR_UPSTREAM,
                   "source %s: ICAT answered HTTP %ld %s: %.300s",
                   c->run->src->name, resp->status, code ? code : "error",
                   msg ? msg : "");
    json_decref(j);
    return session;
}

static ps_status login(ic_ctx *c, ps_err *err)
{
    psi_run *run = c->run;
    const char *plugin = psi_opt(run, "plugin");
    const char *user = psi_opt(run, "username");
    const char *pass = psi_opt(run, "password");
    if (!plugin)
        plugin = "anon";
    json_t *cred = json_array();
    if (user)
        json_array_append_new(cred, json_pack("{s:s}", "username", user));
    if (pass)
        json_array_append_new(cred, json_pack("{s:s}", "password", pass));
    json_t *req =
        json_pack("{s:s, s:o}", "plugin", plugin, "credentials", cred);
    char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;
    char *enc = text ? ps_pct_encode(text) : NULL;
    char *form = enc ? ps_asprintf("json=%s", enc) : NULL;
    char *url = ps_asprintf("%s/icat/session", c->base);
    json_decref(req);
    if (text) {
        memset(text, 0, strlen(text)); /* the password */
        free(text);
    }
    if (enc) {
        memset(enc, 0, strlen(enc));
        ps_free(enc);
    }
    ps_status rc = PS_OK;
    if (!form || !url)
        rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    ps_http_response resp;
    memset(&resp, 0, sizeof resp);
    if (rc == PS_OK) {
        ps_http_body body = {form, strlen(form), NULL};
        rc = psi_run_fetch(run, url, &body, &resp, err);
        if (rc == PS_ERR_UPSTREAM)
            icat_error(c, &resp, err);
        if (rc != PS_OK)
            ps_err_prefix(err, "logging in with the %s plugin", plugin);
    }
    if (rc == PS_OK) {
        json_t *j = json_loadb(resp.body, resp.body_len, 0, NULL);
        const char *sid = ps_json_str(j, "sessionId");
        if (!sid)
            rc = ps_err_set(err, PS_ERR_UPSTREAM,
                            "source %s: %s did not answer a sessionId (is "
                            "the url an ICAT server?)",
                            run->src->name, url);
        else {
            ps_free(c->session);
            c->session = ps_strdup(sid);
            if (!c->session)
                rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        }
        json_decref(j);
    }
    if (form) {
        memset(form, 0, strlen(form));
        ps_free(form);
    }
    ps_http_response_free(&resp);
    ps_free(url);
    return rc;
}

/* Run one JPQL query; *out gets the answer, an array. */
static ps_status query(ic_ctx *c, const char *jpql, json_t **out, ps_err *err)
{
    psi_run *run = c->run;
    *out = NULL;
    char *q = ps_pct_encode(jpql);
    if (!q)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    ps_status rc = PS_OK;
    for (int attempt = 0;; attempt++) {
        char *sid = ps_pct_encode(c->session);
        char *url =
            sid ? ps_asprintf("%s/icat/entityManager?sessionId=%s&query=%s",
                              c->base, sid, q)
                : NULL;
        ps_free(sid);
        if (!url) {
            rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
            break;
        }
        ps_http_response resp;
        rc = psi_run_fetch(run, url, NULL, &resp, err);
        ps_free(url);
        int expired = rc == PS_ERR_UPSTREAM && icat_error(c, &resp, err);
        if (rc == PS_OK) {
            json_error_t je;
            json_t *j = json_loadb(resp.body, resp.body_len, 0, &je);
            if (!j || !json_is_array(j)) {
                rc = ps_err_set(err, PS_ERR_UPSTREAM,
                                "source %s: ICAT answered %s to %.200s",
                                run->src->name,
                                j ? "JSON that is not an array"
                                  : "something that is not JSON",
                                jpql);
                json_decref(j);
            } else {
                *out = j;
            }
        }
        ps_http_response_free(&resp);
        if (!expired || attempt > 0 || c->relogins >= MAX_RELOGINS)
            break;
        /* The session expired: log in again, once, and ask again. */
        c->relogins++;
        psi_run_note(run, "the ICAT session expired: logged in again");
        rc = login(c, err);
        if (rc != PS_OK)
            break;
    }
    ps_free(q);
    return rc;
}

/* The JPQL of a page: entities after id last. */
static char *page_jpql(const ic_ctx *c, ic_phase ph, long long last)
{
    char include[512];
    switch (ph) {
    case IP_INSTRUMENTS: snprintf(include, sizeof include, "x.facility"); break;
    case IP_INVESTIGATIONS:
        snprintf(include, sizeof include,
                 "x.facility, x.investigationUsers.user, "
                 "x.investigationInstruments.instrument, x.keywords, "
                 "x.parameters.type");
        break;
    case IP_DATASETS:
        snprintf(include, sizeof include,
                 "x.investigation.facility, "
                 "x.investigation.investigationInstruments.instrument, "
                 "x.datafiles, x.sample, x.parameters.type%s",
                 c->version >= 5 ? ", x.datasetInstruments.instrument, "
                                   "x.datasetTechniques.technique"
                                 : "");
        break;
    default:
        snprintf(include, sizeof include,
                 "x.facility, x.users.affiliations, x.subjects, "
                 "x.relatedItems, x.content.dataCollectionDatasets.dataset");
        break;
    }
    char since[64] = "";
    if (c->since)
        snprintf(since, sizeof since, " AND x.modTime > {ts %s}", c->since);
    return ps_asprintf("SELECT x FROM %s x WHERE x.id > %lld%s ORDER BY x.id "
                       "INCLUDE %s LIMIT 0, %ld",
                       entities[ph], last, since, include, c->limit);
}

/* ---- pids ------------------------------------------------------------------
 */

static const char *instrument_pid(const char *facility, const json_t *inst,
                                  psi_strs *b)
{
    const char *pid = psi_json_nonempty(inst, "pid");
    if (pid)
        return icat_doi(pid) ? icat_doi(pid) : pid;
    if (id_of(inst) < 0)
        return NULL;
    return psi_strs_keep(
        b, ps_asprintf("icat:%s/instrument/%lld", facility, id_of(inst)));
}

static const char *investigation_pid(const char *facility, const json_t *inv,
                                     psi_strs *b)
{
    const char *doi = icat_doi(psi_json_nonempty(inv, "doi"));
    const char *name = psi_json_nonempty(inv, "name");
    if (doi)
        return doi;
    if (!name)
        return NULL;
    const char *visit = psi_json_nonempty(inv, "visitId");
    return psi_strs_keep(b, ps_asprintf("icat:%s/investigation/%s/%s", facility,
                                        name, visit ? visit : ""));
}

static const char *dataset_pid(const char *facility, const json_t *ds,
                               psi_strs *b)
{
    const char *doi = icat_doi(psi_json_nonempty(ds, "doi"));
    if (doi)
        return doi;
    if (id_of(ds) < 0)
        return NULL;
    return psi_strs_keep(
        b, ps_asprintf("icat:%s/dataset/%lld", facility, id_of(ds)));
}

/* ---- mapping --------------------------------------------------------------
 */

/* parameters[{type:{name,units,unitsFullName}, numericValue, stringValue,
 * dateTimeValue}] into a new array (*out, ps_free). */
static size_t map_params(const json_t *rec, ps_param_in **out, psi_strs *b)
{
    json_t *arr = json_object_get(rec, "parameters");
    size_t n = json_array_size(arr), k = 0, i;
    json_t *p;
    *out = NULL;
    if (n > MAX_PER_RECORD)
        n = MAX_PER_RECORD;
    if (!n)
        return 0;
    *out = ps_calloc(n, sizeof **out);
    if (!*out) {
        b->nomem = 1;
        return 0;
    }
    json_array_foreach (arr, i, p) {
        json_t *type = json_object_get(p, "type");
        const char *name = psi_json_nonempty(type, "name");
        if (k >= n || !name)
            continue;
        ps_param_in *o = &(*out)[k];
        const char *units = psi_json_nonempty(type, "units");
        const char *full = psi_json_nonempty(type, "unitsFullName");
        if (units && (strcmp(units, "N/A") == 0 || strcmp(units, "none") == 0))
            units = NULL;
        /* "C" is coulomb to udunits: ICAT sites mean Celsius and say so. */
        if (units && full &&
            (strcmp(units, "C") == 0 || strcmp(units, "F") == 0))
            units = full;
        o->name = name;
        o->unit = units;
        json_t *num = json_object_get(p, "numericValue");
        if (json_is_number(num)) {
            o->is_num = 1;
            o->num = json_number_value(num);
        } else if (psi_json_nonempty(p, "stringValue")) {
            o->text = psi_json_nonempty(p, "stringValue");
        } else if (psi_json_nonempty(p, "dateTimeValue")) {
            o->text = psi_json_nonempty(p, "dateTimeValue");
        } else {
            continue;
        }
        k++;
    }
    return k;
}

static ps_status put_instrument(ic_ctx *c, json_t *rec, const ps_prov *prov,
                                ps_put_result *res, ps_err *err)
{
    ps_instrument_in in = {0};
    in.pid = prov->remote_id;
    in.name = psi_json_nonempty(rec, "name");
    if (!in.name)
        in.name = psi_json_nonempty(rec, "fullName");
    in.facility = facility_of(c, rec);
    in.vis = PS_VIS_PUBLIC;
    if (!in.name)
        return ps_err_set(err, PS_ERR_INVALID, "instrument %s has no name",
                          in.pid);
    return ps_store_put_instrument(c->run->st, prov, &in, res, NULL, err);
}

static ps_status put_investigation(ic_ctx *c, json_t *rec, const ps_prov *prov,
                                   ps_put_result *res, ps_err *err)
{
    psi_run *run = c->run;
    ps_document_in in = {0};
    psi_strs b = {0};
    ps_member_in *members = NULL;
    const char **keywords = NULL, **dpids = NULL;
    ps_param_in *params = NULL;
    json_t *known = NULL, *x;
    size_t i;
    in.kind = PS_KIND_PROPOSAL;
    in.pid = prov->remote_id;
    in.doi = icat_doi(psi_json_nonempty(rec, "doi"));
    in.code = psi_json_nonempty(rec, "name");
    in.type = psi_json_nonempty(json_object_get(rec, "type"), "name");
    in.title = psi_json_nonempty(rec, "title");
    in.summary = psi_json_nonempty(rec, "summary");
    in.start_ms = psi_json_date(run, rec, "startDate", in.pid);
    in.end_ms = psi_json_date(run, rec, "endDate", in.pid);
    in.release_ms = psi_json_date(run, rec, "releaseDate", in.pid);
    in.vis = PS_VIS_PUBLIC;
    if (in.release_ms != PS_TIME_NONE && in.release_ms > ps_now_ms()) {
        in.vis = PS_VIS_EMBARGOED;
        in.embargo_until_ms = in.release_ms;
    }
    json_t *users = json_object_get(rec, "investigationUsers");
    size_t n = json_array_size(users);
    if (n > MAX_PER_RECORD)
        n = MAX_PER_RECORD;
    if (n)
        members = ps_calloc(n, sizeof *members);
    if (n && !members)
        b.nomem = 1;
    json_array_foreach (users, i, x) {
        json_t *u = json_object_get(x, "user");
        if (!members || in.nmembers >= n || !json_is_object(u))
            continue;
        ps_member_in *m = &members[in.nmembers++];
        const char *role = psi_json_nonempty(x, "role");
        m->role = role ? lower_role(&b, role) : "member";
        const char *orcid = psi_json_nonempty(u, "orcidId");
        const char *login = psi_json_nonempty(u, "name");
        m->person.orcid = orcid;
        m->person.full_name = psi_json_nonempty(u, "fullName");
        m->person.given_name = psi_json_nonempty(u, "givenName");
        m->person.family_name = psi_json_nonempty(u, "familyName");
        if (orcid)
            m->person.pid =
                psi_strs_keep(&b, ps_asprintf("https://orcid.org/%s", orcid));
        else if (login)
            m->person.pid =
                psi_strs_keep(&b, ps_asprintf("%s:%s", run->src->name, login));
        if (!m->person.full_name)
            m->person.full_name = login;
        m->institution.name = psi_json_nonempty(u, "affiliation");
    }
    in.members = members;
    json_t *kw = json_object_get(rec, "keywords");
    n = json_array_size(kw);
    if (n > MAX_PER_RECORD)
        n = MAX_PER_RECORD;
    if (n)
        keywords = ps_calloc(n, sizeof *keywords);
    if (n && !keywords)
        b.nomem = 1;
    json_array_foreach (kw, i, x) {
        if (keywords && in.nkeywords < n && psi_json_nonempty(x, "name"))
            keywords[in.nkeywords++] = psi_json_nonempty(x, "name");
    }
    in.keywords = keywords;
    in.nparams = map_params(rec, &params, &b);
    in.params = params;
    ps_status rc = psi_proposal_datasets(run, in.pid, &known, err);
    if (rc == PS_OK && json_array_size(known)) {
        dpids = ps_calloc(json_array_size(known), sizeof *dpids);
        if (!dpids)
            b.nomem = 1;
        json_array_foreach (known, i, x)
            if (dpids && ps_json_str(x, "pid"))
                dpids[in.ndatasets++] = ps_json_str(x, "pid");
        in.dataset_pids = dpids;
    }
    if (rc == PS_OK && b.nomem)
        rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    else if (rc == PS_OK && !in.title)
        rc = ps_err_set(err, PS_ERR_INVALID, "investigation %s has no title",
                        in.pid);
    else if (rc == PS_OK)
        rc = ps_store_put_document(run->st, prov, &in, res, NULL, err);
    json_decref(known);
    ps_free(members);
    ps_free(keywords);
    ps_free(dpids);
    ps_free(params);
    psi_strs_free(&b);
    return rc;
}

/* A checksum with its algorithm guessed from its length (ICAT keeps none):
 * 8 hex digits crc32, 32 md5, 40 sha1, 64 sha256. */
static const char *checksum_of(const json_t *f, psi_strs *b)
{
    const char *chk = psi_json_nonempty(f, "checksum");
    if (!chk || strchr(chk, ':'))
        return chk;
    size_t n = strlen(chk);
    const char *alg = n == 8    ? "crc32"
                      : n == 32 ? "md5"
                      : n == 40 ? "sha1"
                      : n == 64 ? "sha256"
                                : NULL;
    return alg ? psi_strs_keep(b, ps_asprintf("%s:%s", alg, chk)) : chk;
}

static ps_status put_dataset(ic_ctx *c, json_t *rec, const ps_prov *prov,
                             ps_put_result *res, int64_t *id_out, ps_err *err)
{
    psi_run *run = c->run;
    ps_dataset_in in = {0};
    psi_strs b = {0};
    ps_file_in *files = NULL;
    ps_param_in *params = NULL;
    ps_technique_in *techs = NULL;
    ps_sample_in sample = {0};
    json_t *x;
    size_t i;
    json_t *inv = json_object_get(rec, "investigation");
    const char *facility = facility_of(c, inv);
    in.pid = prov->remote_id;
    in.title = psi_json_nonempty(rec, "name");
    in.description = psi_json_nonempty(rec, "description");
    in.doi = icat_doi(psi_json_nonempty(rec, "doi"));
    in.created_ms = psi_json_date(run, rec, "startDate", in.pid);
    if (in.created_ms == PS_TIME_NONE)
        in.created_ms = psi_json_date(run, rec, "createTime", in.pid);
    in.vis = PS_VIS_PUBLIC;
    in.size = bytes_of(rec, "fileSize");
    /* The instrument: the dataset's own (ICAT 5+), else the
     * investigation's. */
    json_t *di = json_object_get(rec, "datasetInstruments");
    json_t *ii = json_object_get(inv, "investigationInstruments");
    json_t *inst = json_object_get(json_array_get(di, 0), "instrument");
    if (!inst)
        inst = json_object_get(json_array_get(ii, 0), "instrument");
    if (json_is_object(inst))
        in.instrument_pid = instrument_pid(
            json_object_get(inst, "facility") ? facility_of(c, inst) : facility,
            inst, &b);
    /* files */
    json_t *df = json_object_get(rec, "datafiles");
    size_t n = json_array_size(df);
    if (n > MAX_PER_RECORD) {
        char note[160];
        snprintf(note, sizeof note, "dataset %.80s: %zu files, kept %d", in.pid,
                 n, MAX_PER_RECORD);
        psi_run_note(run, note);
        n = MAX_PER_RECORD;
    }
    if (n)
        files = ps_calloc(n, sizeof *files);
    if (n && !files)
        b.nomem = 1;
    int64_t total = 0;
    json_array_foreach (df, i, x) {
        const char *name = psi_json_nonempty(x, "name");
        if (!files || in.nfiles >= n || !name)
            continue;
        ps_file_in *o = &files[in.nfiles++];
        o->name = name;
        o->path = psi_json_nonempty(x, "location");
        o->size = bytes_of(x, "fileSize");
        o->checksum = checksum_of(x, &b);
        total += o->size > 0 ? o->size : 0;
    }
    in.files = files;
    if (in.size < 0 && in.nfiles)
        in.size = total;
    /* sample */
    json_t *s = json_object_get(rec, "sample");
    if (json_is_object(s)) {
        sample.pid = psi_json_nonempty(s, "pid");
        if (!sample.pid && id_of(s) >= 0)
            sample.pid = psi_strs_keep(
                &b, ps_asprintf("icat:%s/sample/%lld", facility, id_of(s)));
        sample.name = psi_json_nonempty(s, "name");
        if (sample.pid) {
            in.samples = &sample;
            in.nsamples = 1;
        }
    }
    in.nparams = map_params(rec, &params, &b);
    in.params = params;
    /* techniques (ICAT 5+): pid "PaNET:PaNET01217" or a PaNET IRI */
    json_t *dt = json_object_get(rec, "datasetTechniques");
    n = json_array_size(dt);
    if (n > 64)
        n = 64;
    if (n)
        techs = ps_calloc(n, sizeof *techs);
    if (n && !techs)
        b.nomem = 1;
    json_array_foreach (dt, i, x) {
        json_t *t = json_object_get(x, "technique");
        const char *tpid = psi_json_nonempty(t, "pid");
        const char *name = psi_json_nonempty(t, "name");
        if (!techs || in.ntechniques >= n || (!tpid && !name))
            continue;
        ps_technique_in *o = &techs[in.ntechniques++];
        o->pid = tpid ? tpid : name;
        o->name = name;
        const char *local =
            tpid && ps_str_startswith(tpid, "PaNET:") ? tpid + 6 : tpid;
        if (local && ps_str_startswith(local, PANET))
            o->panet_iri = local;
        else if (local && ps_str_startswith(local, "PaNET"))
            o->panet_iri = psi_strs_keep(&b, ps_asprintf(PANET "%s", local));
    }
    in.techniques = techs;
    ps_status rc;
    if (b.nomem)
        rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    else if (!in.title)
        rc = ps_err_set(err, PS_ERR_INVALID, "dataset %s has no name", in.pid);
    else
        rc = ps_store_put_dataset(run->st, prov, &in, res, id_out, err);
    ps_free(files);
    ps_free(params);
    ps_free(techs);
    psi_strs_free(&b);
    return rc;
}

/* "IsCitedBy" -> "is-cited-by". */
static const char *kebab(psi_strs *b, const char *s)
{
    ps_buf out;
    ps_buf_init(&out, 128);
    for (const char *p = s; *p; p++) {
        char ch = *p;
        if (ch >= 'A' && ch <= 'Z') {
            if (p != s && ps_buf_append(&out, "-", 1) != PS_OK)
                break;
            ch = (char)(ch - 'A' + 'a');
        }
        if (ps_buf_append(&out, &ch, 1) != PS_OK)
            break;
    }
    return psi_strs_keep(b, ps_buf_detach(&out));
}

static ps_status put_publication(ic_ctx *c, json_t *rec, const ps_prov *prov,
                                 ps_put_result *res, ps_err *err)
{
    psi_run *run = c->run;
    ps_document_in in = {0};
    psi_strs b = {0};
    ps_member_in *members = NULL;
    const char **keywords = NULL, **dpids = NULL;
    json_t *x;
    size_t i;
    const char *facility = facility_of(c, rec);
    in.kind = PS_KIND_PUBLICATION;
    in.pid = prov->remote_id;
    in.doi = icat_doi(psi_json_nonempty(rec, "pid"));
    in.type = "data publication";
    in.title = psi_json_nonempty(rec, "title");
    in.summary = psi_json_nonempty(rec, "description");
    in.start_ms = in.end_ms = PS_TIME_NONE;
    in.release_ms = psi_json_date(run, rec, "publicationDate", in.pid);
    if (in.release_ms != PS_TIME_NONE) {
        char y[32];
        psi_iso_time(in.release_ms, 1, y, sizeof y);
        in.year = (int)strtol(y, NULL, 10);
    }
    in.vis = PS_VIS_PUBLIC;
    /* creators and contributors, in their order */
    json_t *users = json_object_get(rec, "users");
    size_t n = json_array_size(users);
    if (n > MAX_PER_RECORD)
        n = MAX_PER_RECORD;
    if (n)
        members = ps_calloc(n, sizeof *members);
    if (n && !members)
        b.nomem = 1;
    for (size_t pass = 0; members && pass < n; pass++) {
        /* selection by orderKey: the smallest not yet taken */
        json_t *best = NULL;
        json_array_foreach (users, i, x) {
            if (json_object_get(x, "_taken"))
                continue;
            const char *k = ps_json_str(x, "orderKey");
            const char *bk = best ? ps_json_str(best, "orderKey") : NULL;
            if (!best || (k && (!bk || strcmp(k, bk) < 0)))
                best = x;
        }
        if (!best)
            break;
        json_object_set_new(best, "_taken", json_true());
        ps_member_in *m = &members[in.nmembers++];
        const char *type = psi_json_nonempty(best, "contributorType");
        m->role =
            !type || strcmp(type, "Creator") == 0 ? "author" : kebab(&b, type);
        const char *orcid = psi_json_nonempty(best, "orcidId");
        m->person.orcid = orcid;
        m->person.full_name = psi_json_nonempty(best, "fullName");
        m->person.given_name = psi_json_nonempty(best, "givenName");
        m->person.family_name = psi_json_nonempty(best, "familyName");
        if (orcid)
            m->person.pid =
                psi_strs_keep(&b, ps_asprintf("https://orcid.org/%s", orcid));
        else if (m->person.full_name)
            m->person.pid = psi_strs_keep(
                &b, ps_asprintf("%s:%s", run->src->name, m->person.full_name));
        json_t *aff = json_array_get(json_object_get(best, "affiliations"), 0);
        m->institution.name = psi_json_nonempty(aff, "fullReference");
        if (!m->institution.name)
            m->institution.name = psi_json_nonempty(aff, "name");
        const char *ror = psi_json_nonempty(aff, "pid");
        if (ror && ps_str_startswith(ror, "ROR:"))
            m->institution.pid =
                psi_strs_keep(&b, ps_asprintf("https://ror.org/%s", ror + 4));
    }
    json_array_foreach (users, i, x)
        json_object_del(x, "_taken");
    in.members = members;
    json_t *subj = json_object_get(rec, "subjects");
    n = json_array_size(subj);
    if (n > MAX_PER_RECORD)
        n = MAX_PER_RECORD;
    if (n)
        keywords = ps_calloc(n, sizeof *keywords);
    if (n && !keywords)
        b.nomem = 1;
    json_array_foreach (subj, i, x) {
        if (keywords && in.nkeywords < n && psi_json_nonempty(x, "name"))
            keywords[in.nkeywords++] = psi_json_nonempty(x, "name");
    }
    in.keywords = keywords;
    json_t *cds = json_object_get(json_object_get(rec, "content"),
                                  "dataCollectionDatasets");
    n = json_array_size(cds);
    if (n > MAX_PER_RECORD)
        n = MAX_PER_RECORD;
    if (n)
        dpids = ps_calloc(n, sizeof *dpids);
    if (n && !dpids)
        b.nomem = 1;
    json_array_foreach (cds, i, x) {
        const char *dp =
            dataset_pid(facility, json_object_get(x, "dataset"), &b);
        if (dpids && in.ndatasets < n && dp)
            dpids[in.ndatasets++] = dp;
    }
    in.dataset_pids = dpids;
    int64_t id = 0;
    ps_status rc;
    if (b.nomem)
        rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    else if (!in.title)
        rc = ps_err_set(err, PS_ERR_INVALID, "data publication %s has no title",
                        in.pid);
    else
        rc = ps_store_put_document(run->st, prov, &in, res, &id, err);
    /* related items with a DOI become links */
    json_array_foreach (json_object_get(rec, "relatedItems"), i, x) {
        const char *doi = icat_doi(psi_json_nonempty(x, "identifier"));
        const char *rel = psi_json_nonempty(x, "relationType");
        const char *type = rel ? kebab(&b, rel) : NULL;
        if (rc != PS_OK || !doi || !type ||
            !ps_str_startswith(psi_json_nonempty(x, "identifier"), "DOI:"))
            continue;
        const char *rt = psi_json_nonempty(x, "relatedItemType");
        ps_kind kind = rt && strcmp(rt, "Dataset") == 0 ? PS_KIND_DATASET
                                                        : PS_KIND_PUBLICATION;
        rc = psi_run_link(run, type, PS_KIND_PUBLICATION, id, kind, doi, err);
    }
    ps_free(members);
    ps_free(keywords);
    ps_free(dpids);
    psi_strs_free(&b);
    return rc;
}

/* Map and store one entity; one that cannot be used is rejected. */
static ps_status put_record(ic_ctx *c, ic_phase ph, json_t *rec, ps_err *err)
{
    psi_run *run = c->run;
    psi_strs b = {0};
    char why[300];
    const char *pid = NULL;
    const char *facility = facility_of(c, rec);
    if (json_is_object(rec) && id_of(rec) >= 0) {
        switch (ph) {
        case IP_INSTRUMENTS: pid = instrument_pid(facility, rec, &b); break;
        case IP_INVESTIGATIONS:
            pid = investigation_pid(facility, rec, &b);
            break;
        case IP_DATASETS:
            pid = dataset_pid(
                facility_of(c, json_object_get(rec, "investigation")), rec, &b);
            break;
        default: {
            const char *p = psi_json_nonempty(rec, "pid");
            pid = icat_doi(p);
            if (!pid)
                pid = psi_strs_keep(&b,
                                    ps_asprintf("icat:%s/datapublication/%lld",
                                                facility, id_of(rec)));
        } break;
        }
    }
    if (!pid) {
        int nomem = b.nomem;
        snprintf(why, sizeof why, "%s: an entity without id%s", entities[ph],
                 ph == IP_INVESTIGATIONS ? " or name" : "");
        psi_strs_free(&b);
        return nomem ? ps_err_set(err, PS_ERR_NOMEM, "out of memory")
                     : psi_run_reject(run, phase_kinds[ph], NULL, why, err);
    }
    ps_prov prov = {run->source_id, pid, rec, 0, run->run_id, NULL, 0};
    ps_put_result res = PS_PUT_UNCHANGED;
    ps_err e = PS_ERR_INIT;
    int64_t rid = 0;
    ps_status rc;
    switch (ph) {
    case IP_INSTRUMENTS: rc = put_instrument(c, rec, &prov, &res, &e); break;
    case IP_INVESTIGATIONS:
        rc = put_investigation(c, rec, &prov, &res, &e);
        break;
    case IP_DATASETS: rc = put_dataset(c, rec, &prov, &res, &rid, &e); break;
    default: rc = put_publication(c, rec, &prov, &res, &e); break;
    }
    if (rc == PS_ERR_INVALID) {
        rc = psi_run_reject(run, phase_kinds[ph], pid, e.msg, err);
    } else if (rc != PS_OK) {
        if (err)
            *err = e;
    } else {
        rc = psi_run_record(run, res, err);
        json_t *inv = json_object_get(rec, "investigation");
        const char *ppid = ph == IP_DATASETS && json_is_object(inv)
                               ? investigation_pid(facility_of(c, inv), inv, &b)
                               : NULL;
        if (rc == PS_OK && ppid)
            rc = psi_run_link(run, "dataset-of-proposal", PS_KIND_DATASET, rid,
                              PS_KIND_PROPOSAL, ppid, err);
    }
    psi_strs_free(&b);
    return rc;
}

/* ---- the listing ----------------------------------------------------------
 */

static ps_status save_resume(ic_ctx *c, ic_phase ph, long long last,
                             ps_err *err)
{
    json_t *r =
        json_pack("{s:s, s:I, s:s, s:s?}", "phase", phase_names[ph], "last",
                  (json_int_t)last, "started", c->started, "since", c->since);
    char *text = r ? json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(r);
    if (!text)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    ps_status rc = psi_run_checkpoint(c->run, "resume", text, err);
    free(text);
    return rc;
}

static ps_status list_phase(ic_ctx *c, ic_phase ph, long long last, ps_err *err)
{
    psi_run *run = c->run;
    run->phase = phase_names[ph];
    run->phase_done = 0;
    run->phase_total = -1;
    for (;;) {
        if (psi_run_cancelled(run))
            return ps_err_set(err, PS_ERR_CANCELLED, "harvest of %s cancelled",
                              run->src->name);
        char *jpql = page_jpql(c, ph, last);
        json_t *page = NULL;
        ps_status rc = jpql ? query(c, jpql, &page, err)
                            : ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        ps_free(jpql);
        if (rc != PS_OK)
            return rc;
        size_t n = json_array_size(page), i;
        json_t *item;
        json_array_foreach (page, i, item) {
            /* {"Dataset": {...}} */
            json_t *rec = json_object_get(item, entities[ph]);
            long long id = id_of(rec);
            rc = put_record(c, ph, rec ? rec : item, err);
            if (rc != PS_OK)
                break;
            if (id > last)
                last = id;
        }
        json_decref(page);
        if (rc == PS_OK && n)
            rc = save_resume(c, ph, last, err);
        if (rc != PS_OK || n < (size_t)c->limit)
            return rc;
        if (psi_run_pause(run))
            return ps_err_set(err, PS_ERR_CANCELLED, "harvest of %s cancelled",
                              run->src->name);
    }
}

static int phase_of(const char *name)
{
    for (int i = 0; i < IP_END; i++)
        if (name && strcmp(name, phase_names[i]) == 0)
            return i;
    return -1;
}

ps_status psi_harvest_icat(psi_run *run, ps_err *err)
{
    ic_ctx c;
    memset(&c, 0, sizeof c);
    c.run = run;
    const char *url = run->src->url;
    if (!ps_str_startswith(url, "http://") &&
        !ps_str_startswith(url, "https://"))
        return ps_err_set(err, PS_ERR_INVALID,
                          "source %s: url \"%s\" is not http(s)://",
                          run->src->name, url);
    ps_status rc = psi_opt_long(run, "icat_version", 6, 4, 6, &c.version, err);
    if (rc != PS_OK)
        return rc;
    const char *plugin = psi_opt(run, "plugin");
    if (plugin && strcmp(plugin, "anon") != 0 &&
        (!psi_opt(run, "username") || !psi_opt(run, "password")))
        return ps_err_set(err, PS_ERR_INVALID,
                          "source %s: plugin %s needs username and password",
                          run->src->name, plugin);
    c.limit = run->src->page_size > 0 ? run->src->page_size : 100;
    if (c.limit > MAX_ENTITIES)
        c.limit = MAX_ENTITIES;
    size_t n = strlen(url);
    while (n && url[n - 1] == '/')
        n--;
    if (n >= 5 && strncmp(url + n - 5, "/icat", 5) == 0)
        n -= 5;
    c.base = ps_strndup(url, n);
    if (!c.base)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    char *since = NULL, *resume = NULL;
    json_t *r = NULL;
    rc = psi_state_get(run, "since", &since, err);
    if (rc == PS_OK)
        rc = psi_state_get(run, "resume", &resume, err);
    int ph = IP_INSTRUMENTS, resumed = 0;
    long long last = 0;
    if (rc == PS_OK && resume) {
        r = json_loads(resume, 0, NULL);
        int p = phase_of(ps_json_str(r, "phase"));
        json_t *l = json_object_get(r, "last");
        const char *started = ps_json_str(r, "started");
        if (p >= 0 && json_is_integer(l) && started &&
            strlen(started) < sizeof c.started) {
            ph = p;
            last = (long long)json_integer_value(l);
            snprintf(c.started, sizeof c.started, "%s", started);
            c.since = ps_json_str(r, "since");
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
    if (rc == PS_OK)
        rc = login(&c, err);
    for (; rc == PS_OK && ph < IP_END; ph++) {
        if (ph == IP_PUBLICATIONS && c.version < 6)
            break;
        rc = list_phase(&c, (ic_phase)ph, last, err);
        last = 0;
        if (rc == PS_OK && ph + 1 < IP_END)
            rc = save_resume(&c, (ic_phase)(ph + 1), 0, err);
    }
    if (rc == PS_OK) {
        /* the next run: modTime after the start less a day ("yyyy-mm-dd
         * hh:mm:ss", as ICAT's {ts} literal wants it) */
        int64_t started_ms = 0;
        ps_time_parse(c.started, &started_ms);
        char next[32];
        psi_iso_time(started_ms - OVERLAP_MS, 0, next, sizeof next);
        next[10] = ' ';
        next[19] = '\0';
        const char *keys[] = {"since", "resume"};
        const char *values[] = {next, NULL};
        rc = psi_run_checkpoint_n(run, keys, values, 2, err);
        if (rc == PS_OK && !c.since && !resumed)
            run->complete = 1;
        else if (rc == PS_OK && !c.since)
            psi_run_note(run, "a full listing resumed from an earlier run: "
                              "nothing was deleted");
    }
    json_decref(r);
    ps_free(since);
    ps_free(resume);
    ps_free(c.session);
    ps_free(c.base);
    return rc;
}

const ps_harvest_option psi_icat_options[] = {
    {"plugin", "the ICAT authenticator to log in with (default anon)"},
    {"username", "the user name for the db, ldap or simple plugin"},
    {"password", "the password for the db, ldap or simple plugin (never "
                 "logged)"},
    {"icat_version", "the ICAT schema: 6 (default: DataPublication), 5 "
                     "(datasetTechniques, datasetInstruments) or 4"},
    {NULL, NULL}};
