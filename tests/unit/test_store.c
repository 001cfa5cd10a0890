/*
 * test_store.c: unit tests of the store. What users rely on: a harvested
 * record is stored with its provenance; harvesting it again changes nothing;
 * a changed record gets a new sequence number and replaces its children; a
 * record no source lists any more becomes a tombstone; documents harvested
 * before their datasets are linked once the datasets arrive; parameters get
 * SI values; a damaged or foreign file is refused with a clear message and
 * left untouched; a link two sources assert stays until both withdraw it;
 * a store upgraded from schema 1 keeps its links and gains an identity;
 * one DOI from several sources is one record, written by the source of
 * highest precedence;
 * allocation failures come back as PS_ERR_NOMEM.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "check.h"
#include "store.h"

#include <sqlite3.h>

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];

static ps_store *open_store(const char *name, int create)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    ps_store_opts o = PS_STORE_OPTS_INIT;
    o.create = create;
    ps_store *st = NULL;
    ps_err err = PS_ERR_INIT;
    ps_status rc = ps_store_open(&st, path, &o, &err);
    check(rc == PS_OK, "open %s: %s", path, err.msg);
    return st;
}

static json_t *raw_of(const char *pid, const char *title)
{
    return json_pack("{s:s, s:s}", "pid", pid, "title", title);
}

static int64_t seq_of(ps_store *st, ps_kind kind, int64_t id)
{
    json_t *o = NULL;
    if (ps_store_load(st, kind, id, 0, &o, NULL) != PS_OK)
        return -1;
    int64_t seq = json_integer_value(json_object_get(o, "seq"));
    json_decref(o);
    return seq;
}

static void test_open_errors(void)
{
    ps_err err = PS_ERR_INIT;
    ps_store *st = NULL;
    char path[512];
    ps_store_opts o = PS_STORE_OPTS_INIT;

    snprintf(path, sizeof path, "%s/missing.db", dir);
    check(ps_store_open(&st, path, &o, &err) == PS_ERR_NOTFOUND,
          "missing store is NOTFOUND");
    check(strstr(err.msg, "pansift init") != NULL, "says what to do: %s",
          err.msg);

    /* A file that is not SQLite at all. */
    snprintf(path, sizeof path, "%s/garbage.db", dir);
    FILE *f = fopen(path, "w");
    for (int i = 0; i < 2000; i++)
        fputs("this is not a database ", f);
    fclose(f);
    struct stat before, after;
    stat(path, &before);
    check(ps_store_open(&st, path, &o, &err) == PS_ERR_CORRUPT,
          "garbage is CORRUPT: %s", err.msg);
    check(strstr(err.msg, "garbage.db") != NULL, "names the file: %s", err.msg);
    stat(path, &after);
    check(before.st_size == after.st_size, "garbage file left untouched");

    /* A store written by a newer pansift is refused and left as it is. */
    snprintf(path, sizeof path, "%s/newer.db", dir);
    o.create = 1;
    check(ps_store_open(&st, path, &o, &err) == PS_OK, "create newer.db");
    ps_store_close(st);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "sqlite3 '%s' 'PRAGMA user_version = 99;'", path);
    if (system(cmd) == 0) {
        check(ps_store_open(&st, path, &o, &err) == PS_ERR_INVALID,
              "newer schema refused");
        check(strstr(err.msg, "upgrade pansift") != NULL, "advice: %s",
              err.msg);
        snprintf(cmd, sizeof cmd,
                 "test \"$(sqlite3 '%s' 'PRAGMA user_version')\" = 99", path);
        check(system(cmd) == 0, "version left as it was");
    }
    o.create = 0;

    /* A SQLite file that is not ours. */
    snprintf(path, sizeof path, "%s/foreign.db", dir);
    snprintf(cmd, sizeof cmd,
             "sqlite3 '%s' 'CREATE TABLE t (x); INSERT INTO t VALUES (1);'",
             path);
    if (system(cmd) == 0) {
        o.create = 1;
        check(ps_store_open(&st, path, &o, &err) == PS_ERR_CORRUPT,
              "foreign SQLite file refused: %s", err.msg);
        check(strstr(err.msg, "not a pansift store") != NULL, "%s", err.msg);
    }
}

static void test_upserts(void)
{
    ps_err err = PS_ERR_INIT;
    ps_store *st = open_store("store.db", 1);
    check_fatal(st != NULL, "store opens");
    check(ps_store_schema_version(st) == ps_store_schema_latest(),
          "schema migrated to %d", ps_store_schema_latest());

    int64_t src = 0, src2 = 0, run = 0;
    check(ps_store_source_ensure(st, "ess", "pan", "file:///x", &src, &err) ==
              PS_OK,
          "source: %s", err.msg);
    check(ps_store_source_ensure(st, "other", "pan", "file:///y", &src2,
                                 &err) == PS_OK,
          "source 2");
    int64_t again = 0;
    ps_store_source_ensure(st, "ess", "pan", "file:///x", &again, &err);
    check(again == src, "source ensure is idempotent");
    check(ps_store_run_begin(st, src, &run, &err) == PS_OK, "run begins");

    /* Instrument, then a dataset on it. */
    json_t *iraw = json_pack("{s:s,s:s,s:s}", "pid", "ins/1", "name", "LoKI",
                             "facility", "ESS");
    ps_instrument_in ins = {"ins/1", "LoKI", "ESS", PS_VIS_PUBLIC, 0};
    ps_prov iprov = {src, "ins/1", iraw, 0, run};
    ps_put_result res;
    int64_t iid = 0;
    check(ps_store_put_instrument(st, &iprov, &ins, &res, &iid, &err) == PS_OK,
          "put instrument: %s", err.msg);
    check(res == PS_PUT_INSERTED, "instrument inserted");

    ps_param_in params[] = {
        {"photon_energy", "930", 930, 1, "eV"},
        {"temperature", "20", 20, 1, "celsius"},
        {"chemical_formula", "Cu", 0, 0, ""},
        {"mystery", "3", 3, 1, "furlongs per fortnight squared"},
    };
    ps_file_in files[] = {{"f1.hdf", "/data", 100, NULL, NULL},
                          {"f2.hdf", NULL, -1, NULL, NULL}};
    ps_sample_in samples[] = {{"s/1", "copper cylinder", "solid"}};
    ps_technique_in techs[] = {
        {"t/1", "small angle neutron scattering",
         "http://purl.org/pan-science/PaNET/PaNET01189"}};
    const char *kw[] = {"neutrons", "copper"};
    ps_dataset_in ds = {0};
    ds.pid = "ds/1";
    ds.title = "Copper under neutrons";
    ds.created_ms = 1588690862341LL;
    ds.size = 12345;
    ds.instrument_pid = "ins/1";
    ds.vis = PS_VIS_PUBLIC;
    ds.keywords = kw;
    ds.nkeywords = 2;
    ds.params = params;
    ds.nparams = 4;
    ds.files = files;
    ds.nfiles = 2;
    ds.samples = samples;
    ds.nsamples = 1;
    ds.techniques = techs;
    ds.ntechniques = 1;
    json_t *draw = raw_of("ds/1", "Copper under neutrons");
    ps_prov dprov = {src, "ds/1", draw, 0, run};
    int64_t did = 0;
    check(ps_store_put_dataset(st, &dprov, &ds, &res, &did, &err) == PS_OK,
          "put dataset: %s", err.msg);
    check(res == PS_PUT_INSERTED, "dataset inserted");
    int64_t seq1 = seq_of(st, PS_KIND_DATASET, did);
    check(seq1 > 0, "dataset has a sequence number");

    /* Same raw record again: nothing changes. */
    int64_t maxseq_before = 0, maxseq_after = 0;
    ps_store_max_seq(st, &maxseq_before, NULL);
    check(ps_store_put_dataset(st, &dprov, &ds, &res, &did, &err) == PS_OK,
          "put again");
    check(res == PS_PUT_UNCHANGED, "unchanged on re-harvest");
    ps_store_max_seq(st, &maxseq_after, NULL);
    check(maxseq_before == maxseq_after, "no new sequence number");
    check(seq_of(st, PS_KIND_DATASET, did) == seq1, "seq unchanged");

    /* Load it back. */
    json_t *o = NULL;
    check(ps_store_load(st, PS_KIND_DATASET, did, PS_LOAD_ALL, &o, &err) ==
              PS_OK,
          "load: %s", err.msg);
    check_str(json_string_value(json_object_get(o, "title")),
              "Copper under neutrons");
    check(json_integer_value(json_object_get(o, "created")) == 1588690862341LL,
          "created kept");
    check_str(ps_json_str(json_object_get(o, "instrument"), "name"), "LoKI");
    check_str(ps_json_str(json_object_get(o, "instrument"), "facility"), "ESS");
    json_t *ps = json_object_get(o, "parameters");
    check(json_array_size(ps) == 4, "4 parameters");
    json_t *pe = json_array_get(ps, 0);
    check(json_is_integer(json_object_get(pe, "value")) &&
              json_integer_value(json_object_get(pe, "value")) == 930,
          "numeric value comes back as a number");
    double si = json_real_value(json_object_get(pe, "value_si"));
    check(si > 1.48e-16 && si < 1.50e-16, "930 eV in SI J: %g", si);
    check_str(ps_json_str(pe, "unit_si"), "m2.kg.s-2");
    json_t *temp = json_array_get(ps, 1);
    double k = json_real_value(json_object_get(temp, "value_si"));
    check(k > 293.14 && k < 293.16, "20 celsius = 293.15 K: %g", k);
    json_t *cu = json_array_get(ps, 2);
    check(json_is_string(json_object_get(cu, "value")),
          "string value stays a string");
    check(json_object_get(json_array_get(ps, 3), "value_si") == NULL,
          "unknown unit: no SI value, parameter kept");
    check(json_array_size(json_object_get(o, "files")) == 2, "2 files");
    check(json_integer_value(json_object_get(
              json_array_get(json_object_get(o, "files"), 0), "size")) == 100,
          "file size");
    check(json_array_size(json_object_get(o, "samples")) == 1, "1 sample");
    check_str(ps_json_str(json_array_get(json_object_get(o, "techniques"), 0),
                          "panet_iri"),
              "http://purl.org/pan-science/PaNET/PaNET01189");
    check(json_array_size(json_object_get(o, "keywords")) == 2, "keywords");
    json_decref(o);

    /* A changed record: new sequence number, children replaced. */
    json_decref(draw);
    draw = raw_of("ds/1", "Copper under neutrons, again");
    dprov.raw = draw;
    ds.title = "Copper under neutrons, again";
    ds.nfiles = 1;
    check(ps_store_put_dataset(st, &dprov, &ds, &res, &did, &err) == PS_OK,
          "update");
    check(res == PS_PUT_UPDATED, "updated");
    check(seq_of(st, PS_KIND_DATASET, did) > seq1, "new seq after update");
    ps_store_load(st, PS_KIND_DATASET, did, PS_LOAD_FILES, &o, &err);
    check(json_array_size(json_object_get(o, "files")) == 1,
          "files replaced, not appended");
    json_decref(o);

    /* Documents: a proposal naming ds/1 and a dataset not yet harvested, and
     * a publication citing both. */
    ps_member_in members[] = {
        {"principal investigator",
         {"https://orcid.org/0000-0002-1825-0097", "Josiah Carberry", "Josiah",
          "Carberry", "0000-0002-1825-0097"},
         {NULL, "Brown University", NULL, "Providence", "United States"}},
        {"owner",
         {NULL, NULL, NULL, NULL, NULL},
         {NULL, NULL, NULL, NULL, NULL}},
    };
    const char *prop_ds[] = {"ds/1", "ds/2"};
    ps_document_in prop = {0};
    prop.kind = PS_KIND_PROPOSAL;
    prop.pid = "prop/1";
    prop.code = "8-01-418";
    prop.title = "Copper cylinders";
    prop.start_ms = prop.end_ms = prop.release_ms = PS_TIME_NONE;
    prop.members = members;
    prop.nmembers = 2;
    prop.dataset_pids = prop_ds;
    prop.ndatasets = 2;
    json_t *praw = raw_of("prop/1", "Copper cylinders");
    ps_prov pprov = {src, "prop/1", praw, 0, run};
    int64_t pid_id = 0;
    check(ps_store_put_document(st, &pprov, &prop, &res, &pid_id, &err) ==
              PS_OK,
          "put proposal: %s", err.msg);
    const char *pub_ds[] = {"ds/2"};
    ps_document_in pub = {0};
    pub.kind = PS_KIND_PUBLICATION;
    pub.pid = "10.5072/pub.1";
    pub.type = "publication";
    pub.title = "Results on copper";
    pub.start_ms = pub.end_ms = pub.release_ms = PS_TIME_NONE;
    pub.dataset_pids = pub_ds;
    pub.ndatasets = 1;
    json_t *uraw = raw_of("10.5072/pub.1", "Results on copper");
    ps_prov uprov = {src, "10.5072/pub.1", uraw, 0, run};
    int64_t pub_id = 0;
    check(ps_store_put_document(st, &uprov, &pub, &res, &pub_id, &err) == PS_OK,
          "put publication: %s", err.msg);

    ps_store_load(st, PS_KIND_PROPOSAL, pid_id, PS_LOAD_ALL, &o, &err);
    check(json_array_size(json_object_get(o, "datasets")) == 1,
          "only the harvested dataset is linked so far");
    json_t *m0 = json_array_get(json_object_get(o, "members"), 0);
    check_str(ps_json_str(json_object_get(m0, "person"), "full_name"),
              "Josiah Carberry");
    check_str(ps_json_str(json_object_get(m0, "institution"), "city"),
              "Providence");
    check(json_object_get(json_array_get(json_object_get(o, "members"), 1),
                          "person") == NULL,
          "member without person kept");
    json_decref(o);

    /* ds/2 arrives: both links resolve, and resolve infers that the
     * publication came from the proposal. */
    ds.pid = "ds/2";
    ds.title = "Second copper run";
    json_t *d2raw = raw_of("ds/2", "Second copper run");
    ps_prov d2prov = {src, "ds/2", d2raw, 0, run};
    int64_t d2 = 0;
    check(ps_store_put_dataset(st, &d2prov, &ds, &res, &d2, &err) == PS_OK,
          "put ds/2");
    int64_t resolved = 0;
    check(ps_store_resolve(st, &resolved, &err) == PS_OK, "resolve: %s",
          err.msg);
    ps_store_load(st, PS_KIND_PROPOSAL, pid_id, PS_LOAD_ALL, &o, &err);
    check(json_array_size(json_object_get(o, "datasets")) == 2,
          "both datasets linked after they arrived");
    check(json_array_size(json_object_get(o, "publications")) == 1,
          "publication inferred from the proposal");
    json_decref(o);
    ps_store_load(st, PS_KIND_DATASET, d2, PS_LOAD_DOCUMENTS, &o, &err);
    check(json_array_size(json_object_get(o, "documents")) == 2,
          "ds/2 knows its proposal and its publication");
    json_decref(o);
    ps_store_load(st, PS_KIND_PUBLICATION, pub_id, PS_LOAD_DOCUMENTS, &o, &err);
    json_t *pr = json_array_get(json_object_get(o, "proposals"), 0);
    check_str(ps_json_str(pr, "code"), "8-01-418");
    json_decref(o);

    /* The same pid from a second source: one record, two provenances. */
    ps_prov other = {src2, "remote-17", draw, 0, 0};
    ds.pid = "ds/1";
    ds.title = "Copper under neutrons, again";
    int64_t same = 0;
    check(ps_store_put_dataset(st, &other, &ds, &res, &same, &err) == PS_OK,
          "second source");
    check(same == did, "same pid is the same entity");

    /* Sweep: a complete run that saw only ins/1 and ds/1 (plus documents)
     * deletes ds/2; ds/1 stays (seen), and the second source keeps it alive
     * anyway. */
    ps_store_run_finish(st, run, PS_RUN_OK, NULL, NULL, &err);
    int64_t run2 = 0;
    ps_store_run_begin(st, src, &run2, &err);
    iprov.run_id = dprov.run_id = pprov.run_id = uprov.run_id = run2;
    ps_store_put_instrument(st, &iprov, &ins, &res, NULL, &err);
    check(res == PS_PUT_UNCHANGED, "instrument unchanged on run 2");
    ps_store_put_dataset(st, &dprov, &ds, &res, NULL, &err);
    ps_store_put_document(st, &pprov, &prop, &res, NULL, &err);
    ps_store_put_document(st, &uprov, &pub, &res, NULL, &err);
    int64_t swept = 0;
    check(ps_store_sweep(st, src, run2, &swept, &err) == PS_OK, "sweep: %s",
          err.msg);
    check(swept == 1, "one tombstone (ds/2), got %lld", (long long)swept);
    int64_t found = 0;
    check(ps_store_find_pid(st, PS_KIND_DATASET, "ds/2", &found, &err) ==
              PS_ERR_NOTFOUND,
          "tombstoned dataset is not found by pid");
    ps_store_load(st, PS_KIND_DATASET, d2, 0, &o, &err);
    check(json_is_true(json_object_get(o, "deleted")), "ds/2 is a tombstone");
    json_decref(o);

    /* The inference publication-from-proposal rested on ds/2 alone: with
     * ds/2 deleted, it goes. */
    check(ps_store_resolve(st, &resolved, &err) == PS_OK, "resolve: %s",
          err.msg);
    ps_store_load(st, PS_KIND_PROPOSAL, pid_id, PS_LOAD_ALL, &o, &err);
    check(json_array_size(json_object_get(o, "publications")) == 0,
          "an inference without evidence is removed");
    json_decref(o);

    /* Explicit deletion by the second source of ds/1 keeps it (the first
     * source still lists it). */
    int deleted = -1;
    check(ps_store_delete(st, src2, PS_KIND_DATASET, "remote-17", &deleted,
                          &err) == PS_OK,
          "delete");
    check(deleted == 0, "still provided by another source");

    /* Counts, pages and the change feed. */
    int64_t n = 0;
    ps_store_count(st, PS_KIND_DATASET, 0, &n, &err);
    check(n == 1, "1 live dataset");
    ps_store_row rows[4];
    size_t nrows = 0;
    check(ps_store_page(st, PS_KIND_DATASET, NULL, PS_KIND_NONE, 0, ps_now_ms(),
                        rows, 4, &nrows, &err) == PS_OK,
          "page");
    check(nrows == 1 && strcmp(rows[0].pid, "ds/1") == 0, "page has ds/1");
    ps_store_rows_free(rows, nrows);
    ps_change ch[64];
    size_t nch = 0;
    check(ps_store_changes(st, 0, ch, 64, &nch, &err) == PS_OK, "changes");
    int ds2_seen = 0;
    for (size_t i = 0; i < nch; i++) {
        check(i == 0 || ch[i].seq > ch[i - 1].seq, "changes in seq order");
        if (ch[i].kind == PS_KIND_DATASET && ch[i].id == d2)
            ds2_seen++;
    }
    check(ds2_seen == 1, "one feed row per record (ds/2: %d)", ds2_seen);

    json_t *stats = NULL;
    check(ps_store_stats(st, &stats, &err) == PS_OK, "stats: %s", err.msg);
    check(json_integer_value(json_object_get(json_object_get(stats, "entities"),
                                             "dataset")) == 1,
          "stats live datasets");
    check(json_integer_value(json_object_get(
              json_object_get(stats, "tombstones"), "dataset")) == 1,
          "stats tombstones");
    check(json_array_size(json_object_get(stats, "sources")) == 2, "2 sources");
    json_decref(stats);

    /* Visibility. */
    check(ps_visible(PS_VIS_PUBLIC, 0, 5), "public is visible");
    check(!ps_visible(PS_VIS_EMBARGOED, 10, 5), "embargo not over");
    check(ps_visible(PS_VIS_EMBARGOED, 10, 10), "embargo over");
    check(!ps_visible(PS_VIS_RESTRICTED, 0, 5), "restricted is hidden");

    /* Invalid input says what is missing and writes nothing. */
    ps_dataset_in bad = {0};
    bad.title = "no pid";
    check(ps_store_put_dataset(st, &dprov, &bad, &res, NULL, &err) ==
              PS_ERR_INVALID,
          "dataset without pid rejected");
    check(strstr(err.msg, "pid") != NULL, "message names the pid: %s", err.msg);

    json_decref(iraw);
    json_decref(draw);
    json_decref(d2raw);
    json_decref(praw);
    json_decref(uraw);
    ps_store_close(st);

    /* Read-only reopen sees the data. */
    char path[512];
    snprintf(path, sizeof path, "%s/store.db", dir);
    ps_store_opts ro = PS_STORE_OPTS_INIT;
    ro.readonly = 1;
    check(ps_store_open(&st, path, &ro, &err) == PS_OK, "read-only open: %s",
          err.msg);
    check(ps_store_find_pid(st, PS_KIND_INSTRUMENT, "ins/1", &found, &err) ==
              PS_OK,
          "instrument found read-only");
    ps_store_close(st);
}

/* Run SQL on a closed store file behind the store's back (to age it or to
 * plant a fault). */
static void exec_on_file(const char *name, const char *sql)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    sqlite3 *db = NULL;
    check_fatal(sqlite3_open(path, &db) == SQLITE_OK, "sqlite open %s", path);
    check(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK, "%s: %s", sql,
          sqlite3_errmsg(db));
    sqlite3_close(db);
}

/* The number of datasets the proposal prop/x links, as the API shows. */
static size_t linked_datasets(ps_store *st, int64_t prop)
{
    json_t *o = NULL;
    if (ps_store_load(st, PS_KIND_PROPOSAL, prop, PS_LOAD_ALL, &o, NULL) !=
        PS_OK)
        return (size_t)-1;
    size_t n = json_array_size(json_object_get(o, "datasets"));
    json_decref(o);
    return n;
}

static ps_put_result put_prop(ps_store *st, int64_t src, const char *title,
                              const char **dpids, size_t n, int64_t *id)
{
    ps_document_in d = {0};
    d.kind = PS_KIND_PROPOSAL;
    d.pid = "prop/x";
    d.title = title;
    d.start_ms = d.end_ms = d.release_ms = PS_TIME_NONE;
    d.dataset_pids = dpids;
    d.ndatasets = n;
    json_t *raw = raw_of("prop/x", title);
    ps_prov prov = {src, "prop/x", raw, 0, 0};
    ps_put_result res = PS_PUT_UNCHANGED;
    ps_err err = PS_ERR_INIT;
    check(ps_store_put_document(st, &prov, &d, &res, id, &err) == PS_OK,
          "put prop/x: %s", err.msg);
    json_decref(raw);
    return res;
}

/* Two sources assert links of one proposal: each withdraws only its own. */
static void test_links_per_source(void)
{
    ps_err err = PS_ERR_INIT;
    ps_store *st = open_store("links.db", 1);
    check_fatal(st != NULL, "store opens");
    int64_t a = 0, b = 0, prop = 0;
    ps_store_source_ensure(st, "a", "pan", NULL, &a, &err);
    ps_store_source_ensure(st, "b", "pan", NULL, &b, &err);
    const char *pids[] = {"ds/a", "ds/b"};
    for (int i = 0; i < 2; i++) {
        ps_dataset_in ds = {0};
        ds.pid = pids[i];
        ds.title = pids[i];
        ds.created_ms = PS_TIME_NONE;
        ds.size = -1;
        json_t *raw = raw_of(pids[i], pids[i]);
        ps_prov prov = {a, pids[i], raw, 0, 0};
        check(ps_store_put_dataset(st, &prov, &ds, NULL, NULL, &err) == PS_OK,
              "put %s: %s", pids[i], err.msg);
        json_decref(raw);
    }
    put_prop(st, a, "X from a", pids, 2, &prop);
    put_prop(st, b, "X from b", pids, 1, &prop);
    check(linked_datasets(st, prop) == 2, "both links");

    /* a no longer lists any dataset: ds/a stays (b says so), ds/b goes. */
    put_prop(st, a, "X from a, no datasets", NULL, 0, &prop);
    check(linked_datasets(st, prop) == 1,
          "the link b asserts survives a's withdrawal: %zu",
          linked_datasets(st, prop));

    /* b drops the proposal: the record stays (a has it), b's link goes,
     * and a's unchanged bytes still rewrite the record (its content may
     * have been b's). */
    int deleted = -1;
    check(ps_store_delete(st, b, PS_KIND_PROPOSAL, "prop/x", &deleted, &err) ==
              PS_OK,
          "b deletes: %s", err.msg);
    check(deleted == 0, "a still provides prop/x");
    check(linked_datasets(st, prop) == 0, "b's link left with b");
    check(put_prop(st, a, "X from a, no datasets", NULL, 0, &prop) ==
              PS_PUT_UPDATED,
          "same bytes from the remaining source rewrite the record");
    check(put_prop(st, a, "X from a, no datasets", NULL, 0, &prop) ==
              PS_PUT_UNCHANGED,
          "and then are unchanged again");
    put_prop(st, a, "X from a again", pids, 1, &prop);
    check(linked_datasets(st, prop) == 1, "a links ds/a again");
    ps_store_close(st);

    /* Take the file back to schema 1 (no link_source, no store_id, no
     * technique tables, no DOI indexes or source precedence, no PDF tables), as
     * pansift 0.1 left it; opening migrates and keeps a's assertion. */
    exec_on_file(
        "links.db",
        "DROP TABLE link_source; DROP TABLE technique_closure; "
        "DROP TABLE technique_term_name; DROP TABLE technique_term; "
        "DELETE FROM meta WHERE key = 'store_id'; "
        "DROP INDEX dataset_doi_nocase; DROP INDEX proposal_doi_nocase; "
        "DROP INDEX publication_doi_nocase; "
        "ALTER TABLE source DROP COLUMN precedence; "
        "DROP TABLE mention; DROP TABLE pdf_file; DROP TABLE pdf_link; "
        "ALTER TABLE publication DROP COLUMN funding; "
        "ALTER TABLE publication DROP COLUMN text_sha256; "
        "PRAGMA user_version = 1;");
    st = open_store("links.db", 0);
    check_fatal(st != NULL, "schema 1 store opens");
    check(ps_store_schema_version(st) == ps_store_schema_latest(),
          "migrated to %d", ps_store_schema_latest());
    check(strlen(ps_store_id(st)) == 32, "gained an id: %s", ps_store_id(st));
    check(linked_datasets(st, prop) == 1, "link kept by the migration");
    put_prop(st, a, "X from a, finally none", NULL, 0, &prop);
    check(linked_datasets(st, prop) == 0,
          "the migrated link is a's to withdraw");

    /* A publication with the proposal's pid: paging Documents one row at
     * a time yields both, proposal first. */
    ps_document_in pub = {0};
    pub.kind = PS_KIND_PUBLICATION;
    pub.pid = "prop/x";
    pub.title = "The paper with the proposal's DOI";
    pub.start_ms = pub.end_ms = pub.release_ms = PS_TIME_NONE;
    json_t *raw = raw_of("prop/x", "paper");
    ps_prov prov = {a, "paper/x", raw, 0, 0};
    check(ps_store_put_document(st, &prov, &pub, NULL, NULL, &err) == PS_OK,
          "put the publication: %s", err.msg);
    json_decref(raw);
    ps_store_row row;
    size_t nrow = 0;
    char *after = NULL;
    ps_kind after_kind = PS_KIND_NONE;
    ps_kind seen[4];
    size_t nseen = 0;
    while (nseen < 4 &&
           ps_store_page(st, PS_KIND_NONE, after, after_kind, 0, 0, &row, 1,
                         &nrow, &err) == PS_OK &&
           nrow == 1) {
        seen[nseen++] = row.kind;
        ps_free(after);
        after = row.pid;
        after_kind = row.kind;
    }
    ps_free(after);
    check(nseen == 2 && seen[0] == PS_KIND_PROPOSAL &&
              seen[1] == PS_KIND_PUBLICATION,
          "both documents with one pid, one per page (%zu)", nseen);
    ps_store_close(st);
}

/* A record that fails half-way inside a batch leaves nothing behind: the
 * batch goes on and commits without a trace of it. The failure is real:
 * a trigger refuses a file row, after the dataset row was written. */
static ps_put_result put_pub(ps_store *st, int64_t src, const char *pid,
                             const char *doi, const char *title, int64_t *id)
{
    ps_document_in d = {0};
    d.kind = PS_KIND_PUBLICATION;
    d.pid = pid;
    d.doi = doi;
    d.title = title;
    d.start_ms = d.end_ms = d.release_ms = PS_TIME_NONE;
    json_t *raw = raw_of(pid, title);
    ps_prov prov = {src, pid, raw, 0, 0};
    ps_put_result res = PS_PUT_UNCHANGED;
    ps_err err = PS_ERR_INIT;
    check(ps_store_put_document(st, &prov, &d, &res, id, &err) == PS_OK,
          "put %s: %s", pid, err.msg);
    json_decref(raw);
    return res;
}

static char *title_of(ps_store *st, int64_t id)
{
    json_t *rec = NULL;
    ps_err err = PS_ERR_INIT;
    if (ps_store_load(st, PS_KIND_PUBLICATION, id, 0, &rec, &err) != PS_OK)
        return NULL;
    char *t = ps_strdup(json_string_value(json_object_get(rec, "title")));
    json_decref(rec);
    return t;
}

/* The same DOI from an OAI feed (pid = OAI identifier) and from Crossref
 * (pid = the DOI, another letter case) is one publication; Crossref ranks
 * higher, so its title wins whichever arrives last, the OAI copy stays as
 * provenance, and a link naming the DOI finds the record. */
static void test_doi_identity(void)
{
    ps_err err = PS_ERR_INIT;
    ps_store *st = open_store("doi.db", 1);
    check_fatal(st != NULL, "store opens");
    int64_t oai = 0, cr = 0, id1 = 0, id2 = 0, id3 = 0, ds = 0;
    ps_store_source_ensure(st, "repo", "oai-pmh", NULL, &oai, &err);
    ps_store_source_ensure(st, "cr", "crossref", NULL, &cr, &err);
    check(ps_store_source_set_precedence(st, oai, 50, &err) == PS_OK &&
              ps_store_source_set_precedence(st, cr, 70, &err) == PS_OK,
          "ranked: %s", err.msg);
    check(put_pub(st, oai, "oai:repo:1", "10.1234/ABC", "from the feed",
                  &id1) == PS_PUT_INSERTED,
          "the feed's copy is new");
    check(put_pub(st, cr, "10.1234/abc", "10.1234/abc", "from crossref",
                  &id2) == PS_PUT_UPDATED,
          "crossref's copy updates the same record");
    check(id1 == id2, "one entity for one DOI (%lld, %lld)", (long long)id1,
          (long long)id2);
    check(put_pub(st, oai, "oai:repo:1", "10.1234/ABC", "feed, changed",
                  &id3) == PS_PUT_UPDATED,
          "the lower-ranked source's copy changes (its links are put "
          "again)...");
    check(id3 == id1, "and still points at the record");
    char *t = title_of(st, id1);
    check(t && strcmp(t, "from crossref") == 0, "title is crossref's: %s",
          t ? t : "(none)");
    ps_free(t);
    check(put_pub(st, oai, "oai:repo:1", "10.1234/ABC", "feed, changed",
                  &id3) == PS_PUT_UNCHANGED,
          "the deferred copy is idempotent");
    int64_t n = 0;
    check(ps_store_count(st, PS_KIND_PUBLICATION, 0, &n, &err) == PS_OK &&
              n == 1,
          "one publication, not two (%lld)", (long long)n);
    /* A dataset whose link names the DOI in upper case: resolved. */
    ps_dataset_in d = {0};
    d.pid = "ds/1";
    d.title = "data";
    d.created_ms = PS_TIME_NONE;
    d.size = -1;
    json_t *raw = raw_of("ds/1", "data");
    ps_prov prov = {oai, "ds/1", raw, 0, 0};
    check(ps_store_put_dataset(st, &prov, &d, NULL, &ds, &err) == PS_OK,
          "dataset: %s", err.msg);
    json_decref(raw);
    ps_link_in l = {"publication-cites-data", PS_KIND_DATASET, ds,
                    PS_KIND_PUBLICATION, "10.1234/ABC"};
    l.source_id = oai;
    l.score = 1;
    check(ps_store_put_link(st, &l, NULL, &err) == PS_OK, "link: %s", err.msg);
    ps_store_close(st);
    char path[512];
    snprintf(path, sizeof path, "%s/doi.db", dir);
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    check_fatal(sqlite3_open(path, &db) == SQLITE_OK, "sqlite open");
    check(sqlite3_prepare_v2(db, "SELECT dst_id FROM link", -1, &q, NULL) ==
                  SQLITE_OK &&
              sqlite3_step(q) == SQLITE_ROW &&
              sqlite3_column_int64(q, 0) == id1,
          "the link found the publication by its DOI");
    sqlite3_finalize(q);
    sqlite3_close(db);
}

/* A PDF's text lands on the publication whatever source wrote the
 * metadata, and stays when Crossref (higher precedence) rewrites it; the
 * same PDF again writes nothing; mentions and references come back with
 * the record; the ledger finds a PDF by location and by content hash. */
static void test_publication_text(void)
{
    ps_err err = PS_ERR_INIT;
    ps_store *st = open_store("text.db", 1);
    check_fatal(st != NULL, "store opens");
    int64_t pdf = 0, cr = 0, id = 0, id2 = 0;
    ps_store_source_ensure(st, "papers", "pdf", NULL, &pdf, &err);
    ps_store_source_ensure(st, "cr", "crossref", NULL, &cr, &err);
    ps_store_source_set_precedence(st, pdf, 30, &err);
    ps_store_source_set_precedence(st, cr, 70, &err);
    put_pub(st, pdf, "10.5555/x1", "10.5555/x1", "title from the pdf", &id);
    ps_mention_in m = {"proposal",
                       "8-01-418",
                       "ILL",
                       "8-01-418",
                       "acknowledgements",
                       12,
                       8,
                       "ILL (proposal 8-01-418)",
                       15,
                       0.9};
    ps_reference_in r = {"10.5291/ill-data.8-01-418", "[1] ILL data"};
    ps_pub_text_in t = {"aa11",
                        "full text here",
                        "We thank the ILL.",
                        "Funded by X.",
                        &m,
                        1,
                        &r,
                        1};
    int changed = 0;
    check(ps_store_put_publication_text(st, id, &t, &changed, &err) == PS_OK &&
              changed,
          "text stored: %s", err.msg);
    int64_t seq = seq_of(st, PS_KIND_PUBLICATION, id);
    check(ps_store_put_publication_text(st, id, &t, &changed, &err) == PS_OK &&
              !changed,
          "the same PDF writes nothing");
    check(seq_of(st, PS_KIND_PUBLICATION, id) == seq, "no new sequence");
    put_pub(st, cr, "10.5555/x1", "10.5555/x1", "title from crossref", &id2);
    check(id2 == id, "one record");
    json_t *rec = NULL;
    check(ps_store_load(st, PS_KIND_PUBLICATION, id,
                        PS_LOAD_TEXT | PS_LOAD_MENTIONS, &rec, &err) == PS_OK,
          "load: %s", err.msg);
    check(strcmp(json_string_value(json_object_get(rec, "title")),
                 "title from crossref") == 0,
          "crossref's title");
    check(json_is_string(json_object_get(rec, "full_text")) &&
              strcmp(json_string_value(json_object_get(rec, "full_text")),
                     "full text here") == 0,
          "the PDF's text survives crossref's write");
    json_t *ms = json_object_get(rec, "mentions");
    check(json_array_size(ms) == 1 &&
              strcmp(ps_json_str(json_array_get(ms, 0), "value"), "8-01-418") ==
                  0 &&
              json_integer_value(
                  json_object_get(json_array_get(ms, 0), "offset")) == 12,
          "the mention with its offset");
    check(json_array_size(json_object_get(rec, "references")) == 1,
          "the reference");
    json_decref(rec);
    check(ps_store_load(st, PS_KIND_PUBLICATION, id, 0, &rec, &err) == PS_OK &&
              !json_object_get(rec, "full_text"),
          "no text without PS_LOAD_TEXT");
    json_decref(rec);

    ps_pdf_file f = {"/papers/a.pdf",  "aa11", 100, 5, 3,
                     PS_PDF_EXTRACTED, NULL,   id};
    check(ps_store_pdf_file_put(st, pdf, 7, &f, &err) == PS_OK, "ledger: %s",
          err.msg);
    ps_pdf_file g;
    int found = 0;
    check(ps_store_pdf_file_get(st, pdf, "/papers/a.pdf", &g, &found, &err) ==
                  PS_OK &&
              found && g.size == 100 && g.mtime == 5 &&
              g.publication_id == id && strcmp(g.sha256, "aa11") == 0,
          "ledger row read back");
    ps_pdf_file_clear(&g);
    int64_t by_source = 0;
    check(ps_store_pdf_by_hash(st, "aa11", &g, &by_source, &found, &err) ==
                  PS_OK &&
              found && g.publication_id == id && by_source == pdf &&
              g.state == PS_PDF_EXTRACTED &&
              strcmp(g.location, "/papers/a.pdf") == 0,
          "found by content hash");
    ps_pdf_file_clear(&g);
    int64_t gone = 0;
    check(ps_store_pdf_file_sweep(st, pdf, 8, &gone, &err) == PS_OK &&
              gone == 1,
          "a location run 8 did not see is forgotten");
    ps_store_close(st);
}

static int64_t count_links(ps_store *st, const char *type)
{
    (void)st;
    char path[512];
    snprintf(path, sizeof path, "%s/relink.db", dir);
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    int64_t n = -1;
    if (sqlite3_open(path, &db) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT count(*) FROM link WHERE type = ?1", -1,
                           &q, NULL) == SQLITE_OK) {
        sqlite3_bind_text(q, 1, type, -1, SQLITE_STATIC);
        if (sqlite3_step(q) == SQLITE_ROW)
            n = sqlite3_column_int64(q, 0);
    }
    sqlite3_finalize(q);
    sqlite3_close(db);
    return n;
}

static void put_rel(ps_store *st, int64_t src, int64_t id, const char *type,
                    const char *dst)
{
    ps_err err = PS_ERR_INIT;
    ps_link_in l = {type, PS_KIND_PUBLICATION, id, PS_KIND_PUBLICATION, dst};
    l.source_id = src;
    l.score = 1;
    l.state = PS_LINK_CONFIRMED;
    check(ps_store_put_link(st, &l, NULL, &err) == PS_OK, "link %s: %s", type,
          err.msg);
}

/* A relation the source no longer gives goes when the source rewrites the
 * record; one another source also asserts stays. */
static void test_links_withdrawn(void)
{
    ps_err err = PS_ERR_INIT;
    ps_store *st = open_store("relink.db", 1);
    check_fatal(st != NULL, "store opens");
    int64_t a = 0, b = 0, id = 0, idb = 0;
    ps_store_source_ensure(st, "a", "crossref", NULL, &a, &err);
    ps_store_source_ensure(st, "b", "datacite", NULL, &b, &err);
    put_pub(st, a, "10.1/p", "10.1/p", "paper", &id);
    put_rel(st, a, id, "cites", "10.1/x");
    put_rel(st, a, id, "is-supplemented-by", "10.1/y");
    put_pub(st, b, "10.1/p", "10.1/p", "paper", &idb);
    put_rel(st, b, idb, "is-supplemented-by", "10.1/y");
    check(count_links(st, "cites") == 1 &&
              count_links(st, "is-supplemented-by") == 1,
          "two links");
    /* a's new version cites nothing and is supplemented by nothing */
    check(put_pub(st, a, "10.1/p", "10.1/p", "paper, corrected", &id) ==
              PS_PUT_UPDATED,
          "a rewrites the paper");
    check(count_links(st, "cites") == 0, "a's dropped citation is gone");
    check(count_links(st, "is-supplemented-by") == 1,
          "the relation b still asserts stays");
    /* b says the paper is gone: its relation goes with its copy; the
     * paper stays (a holds it). */
    int deleted = -1;
    check(ps_store_delete(st, b, PS_KIND_PUBLICATION, "10.1/p", &deleted,
                          &err) == PS_OK &&
              deleted == 0,
          "b deletes its copy: %s", err.msg);
    check(count_links(st, "is-supplemented-by") == 0,
          "b's relation left with b's copy");
    ps_store_close(st);
}

static void test_record_atomic(void)
{
    ps_err err = PS_ERR_INIT;
    ps_store *st = open_store("atomic.db", 1);
    check_fatal(st != NULL, "store opens");
    ps_store_close(st);
    exec_on_file("atomic.db",
                 "CREATE TRIGGER poison BEFORE INSERT ON file WHEN NEW.name = "
                 "'poison' BEGIN SELECT RAISE(ABORT, 'poisoned file'); END");
    st = open_store("atomic.db", 0);
    check_fatal(st != NULL, "store reopens");

    int64_t src = 0;
    ps_store_source_ensure(st, "s", "pan", NULL, &src, &err);
    ps_file_in files[] = {{"f1.hdf", "/data", 100, NULL, NULL},
                          {"poison", NULL, -1, NULL, NULL}};
    ps_param_in params[] = {{"temperature", "20", 20, 1, "celsius"}};
    const char *pids[] = {"ds/bad", "ds/good"};
    check_fatal(ps_store_begin(st, &err) == PS_OK, "begin");
    for (int i = 0; i < 2; i++) {
        ps_dataset_in ds = {0};
        ds.pid = pids[i];
        ds.title = pids[i];
        ds.created_ms = PS_TIME_NONE;
        ds.size = -1;
        ds.params = params;
        ds.nparams = 1;
        ds.files = files;
        ds.nfiles = i == 0 ? 2 : 1;
        json_t *raw = raw_of(pids[i], pids[i]);
        ps_prov prov = {src, pids[i], raw, 0, 0};
        ps_status rc = ps_store_put_dataset(st, &prov, &ds, NULL, NULL, &err);
        check(i == 0 ? rc != PS_OK && strstr(err.msg, "poisoned") : rc == PS_OK,
              "%s: %s", pids[i], err.msg);
        json_decref(raw);
    }
    int64_t id = 0;
    check(ps_store_find_pid(st, PS_KIND_DATASET, "ds/bad", &id, NULL) ==
              PS_ERR_NOTFOUND,
          "the failed record left no dataset row in the batch");
    check(ps_store_commit(st, &err) == PS_OK, "the batch commits: %s", err.msg);
    check(ps_store_find_pid(st, PS_KIND_DATASET, "ds/good", &id, &err) == PS_OK,
          "the good record is stored");
    int64_t n = 0;
    ps_store_count(st, PS_KIND_DATASET, 0, &n, &err);
    check(n == 1, "one dataset, got %lld", (long long)n);
    ps_change ch[16];
    size_t nch = 0;
    ps_store_changes(st, 0, ch, 16, &nch, &err);
    check(nch == 1 && ch[0].kind == PS_KIND_DATASET && ch[0].id == id,
          "one change: the good record (%zu)", nch);
    ps_store_close(st);
}

/* Allocation failures: every failure point returns NOMEM and leaks
 * nothing (ASan checks the leaks). */
static void test_nomem(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/nomem.db", dir);
    int ok = 0;
    for (long n = 0; n < 200 && !ok; n++) {
        unlink(path);
        ps_err err = PS_ERR_INIT;
        ps_store *st = NULL;
        ps_store_opts o = PS_STORE_OPTS_INIT;
        o.create = 1;
        ps_alloc_fail_after(n);
        ps_status rc = ps_store_open(&st, path, &o, &err);
        if (rc == PS_OK) {
            int64_t src = 0;
            rc = ps_store_source_ensure(st, "s", "pan", NULL, &src, &err);
            json_t *raw = raw_of("x", "y");
            ps_dataset_in ds = {0};
            ds.pid = "x";
            ds.title = "y";
            ds.created_ms = PS_TIME_NONE;
            ds.size = -1;
            ps_prov prov = {src, "x", raw, 0, 0};
            if (rc == PS_OK)
                rc = ps_store_put_dataset(st, &prov, &ds, NULL, NULL, &err);
            json_decref(raw);
            ok = rc == PS_OK;
            ps_store_close(st);
        }
        ps_alloc_fail_after(-1);
        check(rc == PS_OK || rc == PS_ERR_NOMEM,
              "allocation failure %ld gives NOMEM, got %s (%s)", n,
              ps_status_str(rc), err.msg);
    }
    check(ok, "eventually succeeds");
}

int main(void)
{
    char *d = check_tmpdir("store");
    check_fatal(d != NULL, "temp dir");
    snprintf(dir, sizeof dir, "%s", d);
    test_open_errors();
    test_upserts();
    test_links_per_source();
    test_doi_identity();
    test_links_withdrawn();
    test_publication_text();
    test_record_atomic();
    test_nomem();
    check_rmtree(dir);
    return check_report();
}
