/*
 * store-bench.c: the store's insert throughput, net of JSON parsing and of
 * HTTP. It creates a fresh store, makes datasets in memory shaped like the
 * ones pansift-gencat writes (a title, 4 files, 3 parameters with units, 1-2
 * samples, 1-2 PaNET techniques, an instrument) and puts them with
 * ps_store_put_dataset in transactions of --batch records, as the harvester
 * does. Only the store calls are timed (put, begin, commit); making the
 * records is not. Phases: instruments, datasets inserted, the same datasets
 * put again unchanged (the idempotent path of a re-harvest). Afterwards it
 * counts the rows of every table, so "rows/s" says how much SQLite really
 * wrote. One summary line per phase, then one JSON line with every figure.
 *
 * The provenance's raw record: by default (--raw full) every put carries a
 * PaN-shaped json_t of the record, as the harvester passes the record it
 * received; the store serialises it, hashes it (SHA-256) and keeps it, and
 * that is part of the cost of a harvest. --raw none passes NULL (the store
 * then hashes the pid only) to show what that part costs.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "common.h"
#include "store.h"

#include <errno.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NFILES 4
#define NPARAMS 3
#define NINSTR_USED 60 /* instruments the datasets point at */

typedef struct opts {
    int64_t records;
    int64_t batch;
    int64_t instruments;
    uint64_t seed;
    const char *dir;
    int raw; /* 1: PaN-shaped raw record; 0: NULL */
    int keep;
} opts;

/* ---- a small deterministic generator ------------------------------------ */

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rnd(rng *r)
{
    r->s = mix64(r->s);
    return r->s;
}

static int64_t rnd_in(rng *r, int64_t lo, int64_t hi) /* [lo, hi) */
{
    return lo + (int64_t)(rnd(r) % (uint64_t)(hi - lo));
}

static const char *const facilities[] = {
    "ILL",    "ESRF",    "ISIS",    "PSI",  "DESY", "MAXIV",
    "SOLEIL", "ELETTRA", "DIAMOND", "ALBA", "HZB",  "ESS"};
#define NFAC (sizeof facilities / sizeof facilities[0])

static const struct technique {
    const char *iri, *name, *abbrev;
} techniques[] = {
    {"http://purl.org/pan-science/PaNET/PaNET01188",
     "small angle neutron scattering", "SANS"},
    {"http://purl.org/pan-science/PaNET/PaNET01245",
     "inelastic neutron spectroscopy", "INS"},
    {"http://purl.org/pan-science/PaNET/PaNET01127",
     "small angle x-ray scattering", "SAXS"},
    {"http://purl.org/pan-science/PaNET/PaNET01102", "x-ray diffraction",
     "XRD"},
    {"http://purl.org/pan-science/PaNET/PaNET01196",
     "x-ray absorption spectroscopy", "XAS"},
    {"http://purl.org/pan-science/PaNET/PaNET01217",
     "neutron powder diffraction", "NPD"},
    {"http://purl.org/pan-science/PaNET/PaNET01048", "neutron reflectometry",
     "NR"},
    {"http://purl.org/pan-science/PaNET/PaNET01094", "x-ray tomography", "XCT"},
    {"http://purl.org/pan-science/PaNET/PaNET01160",
     "quasielastic neutron scattering", "QENS"},
    {"http://purl.org/pan-science/PaNET/PaNET01134",
     "x-ray photoelectron spectroscopy", "XPS"},
};
#define NTECH (sizeof techniques / sizeof techniques[0])

static const char *const materials[] = {"CsPbBr3 nanocrystal film",
                                        "MAPbI3 thin film",
                                        "lysozyme solution",
                                        "micellar surfactant",
                                        "lithium iron phosphate cathode",
                                        "graphene oxide",
                                        "zeolite ZSM-5",
                                        "magnetite nanoparticles",
                                        "block copolymer melt",
                                        "cement paste",
                                        "protein crystal",
                                        "spin ice Ho2Ti2O7",
                                        "NbSe2 single crystal",
                                        "hydrogel network",
                                        "battery electrolyte",
                                        "perovskite oxide LaMnO3",
                                        "metal organic framework",
                                        "cellulose nanofibres",
                                        "steel weld",
                                        "archaeological bronze"};
#define NMAT (sizeof materials / sizeof materials[0])

/* One record's storage: the strings the ps_*_in structs point into. */
typedef struct record {
    char pid[96], title[160], instr[64];
    char fname[NFILES][32], fpath[96];
    char spid[2][24], sname[2][64];
    ps_file_in files[NFILES];
    ps_param_in params[NPARAMS];
    ps_sample_in samples[2];
    ps_technique_in techs[2];
    ps_dataset_in in;
} record;

static void instrument_pid(char *buf, size_t size, int64_t i)
{
    snprintf(buf, size, "10.5291/BENCH-INSTRUMENT.%s.I%lld",
             facilities[(size_t)i % NFAC], (long long)i);
}

/* Record i, always the same for the same (seed, i). */
static void make_record(record *r, uint64_t seed, int64_t i)
{
    rng g = {mix64(seed ^ ((uint64_t)i * 0x2545f4914f6cdd1dull))};
    memset(r, 0, sizeof *r);
    int64_t prop = i / 12 + 1000;
    int64_t instr = rnd_in(&g, 0, NINSTR_USED);
    const char *fac = facilities[(size_t)instr % NFAC];
    const struct technique *t0 = &techniques[rnd(&g) % NTECH];
    const char *mat = materials[rnd(&g) % NMAT];
    int64_t temp = rnd_in(&g, 2, 400);
    int64_t run = 100000 + i * 7;
    int64_t year = rnd_in(&g, 2010, 2026);
    snprintf(r->pid, sizeof r->pid, "10.5291/BENCH-DATA.%s-%lld/ds%lld", fac,
             (long long)prop, (long long)i);
    snprintf(r->title, sizeof r->title, "%s of %s, %lld K, run %lld",
             t0->abbrev, mat, (long long)temp, (long long)run);
    instrument_pid(r->instr, sizeof r->instr, instr);
    snprintf(r->fpath, sizeof r->fpath, "/data/%s/%lld-%lld/P%lld/raw", fac,
             (long long)year, (long long)rnd_in(&g, 1, 3), (long long)prop);
    int64_t total = 0;
    for (int k = 0; k < NFILES; k++) {
        snprintf(r->fname[k], sizeof r->fname[k], "%lld.nxs",
                 (long long)(run + k));
        r->files[k].name = r->fname[k];
        r->files[k].path = r->fpath;
        r->files[k].size = rnd_in(&g, 1000000, 80000000);
        total += r->files[k].size;
    }
    r->params[0] =
        (ps_param_in){"sample_temperature", NULL, (double)temp, 1, "K"};
    r->params[1] =
        (ps_param_in){"incident_wavelength", NULL,
                      (double)rnd_in(&g, 5, 200) / 10.0, 1, "angstrom"};
    r->params[2] = (ps_param_in){"exposure_time", NULL,
                                 (double)rnd_in(&g, 10, 36000) / 100.0, 1, "s"};
    size_t ns = 1 + (size_t)(rnd(&g) % 2);
    for (size_t k = 0; k < ns; k++) {
        int64_t s = rnd_in(&g, 0, 400);
        snprintf(r->spid[k], sizeof r->spid[k], "sample:%lld", (long long)s);
        snprintf(r->sname[k], sizeof r->sname[k], "%s #%lld",
                 materials[(size_t)s % NMAT], (long long)s);
        r->samples[k] = (ps_sample_in){r->spid[k], r->sname[k], NULL};
    }
    size_t nt = 1 + (size_t)(rnd(&g) % 2);
    r->techs[0] = (ps_technique_in){t0->iri, t0->name, t0->iri};
    if (nt == 2) {
        const struct technique *t1 =
            &techniques[(size_t)(t0 - techniques + 1) % NTECH];
        r->techs[1] = (ps_technique_in){t1->iri, t1->name, t1->iri};
    }
    ps_dataset_in *in = &r->in;
    in->pid = r->pid;
    in->title = r->title;
    in->created_ms =
        (year - 1970) * 31556952000LL + rnd_in(&g, 0, 31556952000LL);
    in->size = total;
    in->instrument_pid = r->instr;
    in->vis = rnd(&g) % 10 == 0 ? PS_VIS_RESTRICTED : PS_VIS_PUBLIC;
    in->params = r->params;
    in->nparams = NPARAMS;
    in->files = r->files;
    in->nfiles = NFILES;
    in->samples = r->samples;
    in->nsamples = ns;
    in->techniques = r->techs;
    in->ntechniques = nt;
}

/* The record as a PaN provider would have sent it (what the harvester
 * passes as the provenance's raw record). */
static json_t *raw_of(const record *r)
{
    const ps_dataset_in *in = &r->in;
    char date[PS_TIME_BUFSZ];
    ps_time_format(in->created_ms, date);
    json_t *o = json_object();
    json_object_set_new(o, "pid", json_string(in->pid));
    json_object_set_new(o, "title", json_string(in->title));
    json_object_set_new(o, "isPublic", json_boolean(in->vis == PS_VIS_PUBLIC));
    json_object_set_new(o, "creationDate", json_string(date));
    json_object_set_new(o, "size", json_integer(in->size));
    json_object_set_new(o, "instrumentId", json_string(in->instrument_pid));
    json_t *a = json_array();
    for (size_t k = 0; k < in->nfiles; k++)
        json_array_append_new(
            a,
            json_pack("{s:I,s:s,s:s,s:I,s:s}", "id", (json_int_t)k + 1, "name",
                      in->files[k].name, "path", in->files[k].path, "size",
                      (json_int_t)in->files[k].size, "datasetId", in->pid));
    json_object_set_new(o, "files", a);
    a = json_array();
    for (size_t k = 0; k < in->nsamples; k++)
        json_array_append_new(a,
                              json_pack("{s:s,s:s}", "pid", in->samples[k].pid,
                                        "name", in->samples[k].name));
    json_object_set_new(o, "samples", a);
    a = json_array();
    for (size_t k = 0; k < in->ntechniques; k++)
        json_array_append_new(a, json_pack("{s:s,s:s,s:s}", "pid",
                                           in->techniques[k].pid, "name",
                                           in->techniques[k].name, "panetId",
                                           in->techniques[k].panet_iri));
    json_object_set_new(o, "techniques", a);
    a = json_array();
    for (size_t k = 0; k < in->nparams; k++)
        json_array_append_new(
            a, json_pack("{s:I,s:s,s:f,s:s,s:s}", "id", (json_int_t)k + 1,
                         "name", in->params[k].name, "value", in->params[k].num,
                         "unit", in->params[k].unit, "datasetId", in->pid));
    json_object_set_new(o, "parameters", a);
    return o;
}

/* ---- counting rows ------------------------------------------------------ */

/* Rows of every table of the store file (a separate read-only connection);
 * -1 on error. */
static int64_t count_rows(const char *path, json_t *per_table)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *tables = NULL;
    int64_t total = 0;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "store-bench: cannot open %s: %s\n", path,
                db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return -1;
    }
    if (sqlite3_prepare_v2(
            db,
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%' ORDER BY name",
            -1, &tables, NULL) != SQLITE_OK) {
        total = -1;
        goto out;
    }
    for (;;) {
        int rc = sqlite3_step(tables);
        if (rc != SQLITE_ROW)
            break;
        const char *name = (const char *)sqlite3_column_text(tables, 0);
        char *sql = sqlite3_mprintf("SELECT count(*) FROM \"%w\"", name);
        sqlite3_stmt *c = NULL;
        int64_t n = -1;
        if (sql && sqlite3_prepare_v2(db, sql, -1, &c, NULL) == SQLITE_OK &&
            sqlite3_step(c) == SQLITE_ROW)
            n = sqlite3_column_int64(c, 0);
        sqlite3_finalize(c);
        sqlite3_free(sql);
        if (n < 0) {
            total = -1;
            break;
        }
        if (per_table)
            json_object_set_new(per_table, name, json_integer(n));
        total += n;
    }
out:
    if (total < 0)
        fprintf(stderr, "store-bench: counting rows: %s\n", sqlite3_errmsg(db));
    sqlite3_finalize(tables);
    sqlite3_close(db);
    return total;
}

static int64_t file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (int64_t)sb.st_size : 0;
}

/* ---- the phases --------------------------------------------------------- */

typedef struct phase {
    const char *name;
    int64_t n; /* records put */
    int64_t inserted, updated, unchanged;
    double store_s; /* time inside the store calls */
    double wall_s;  /* including making the records */
} phase;

static double secs(int64_t ns) { return (double)ns / 1e9; }

static int fail(const char *what, const ps_err *err)
{
    fprintf(stderr, "store-bench: %s: %s\n", what, err->msg);
    return -1;
}

static void count_result(phase *p, ps_put_result r)
{
    if (r == PS_PUT_INSERTED)
        p->inserted++;
    else if (r == PS_PUT_UPDATED)
        p->updated++;
    else
        p->unchanged++;
}

static int put_instruments(ps_store *st, const opts *o, int64_t source_id,
                           int64_t run_id, phase *p)
{
    ps_err err = PS_ERR_INIT;
    int64_t t_store = 0, t0 = ps_mono_ns();
    for (int64_t i = 0; i < o->instruments; i += o->batch) {
        int64_t t = ps_mono_ns();
        if (ps_store_begin(st, &err) != PS_OK)
            return fail("begin", &err);
        t_store += ps_mono_ns() - t;
        for (int64_t k = i; k < i + o->batch && k < o->instruments; k++) {
            char pid[64], name[32];
            instrument_pid(pid, sizeof pid, k);
            snprintf(name, sizeof name, "I%lld", (long long)k);
            const char *fac = facilities[(size_t)k % NFAC];
            json_t *raw = o->raw ? json_pack("{s:s,s:s,s:s}", "pid", pid,
                                             "name", name, "facility", fac)
                                 : NULL;
            ps_instrument_in in = {pid, name, fac, PS_VIS_PUBLIC, 0};
            ps_prov prov = {source_id, pid, raw, 0, run_id};
            ps_put_result r;
            t = ps_mono_ns();
            ps_status rc =
                ps_store_put_instrument(st, &prov, &in, &r, NULL, &err);
            t_store += ps_mono_ns() - t;
            json_decref(raw);
            if (rc != PS_OK)
                return fail("ps_store_put_instrument", &err);
            count_result(p, r);
            p->n++;
        }
        t = ps_mono_ns();
        if (ps_store_commit(st, &err) != PS_OK)
            return fail("commit", &err);
        t_store += ps_mono_ns() - t;
    }
    p->store_s = secs(t_store);
    p->wall_s = secs(ps_mono_ns() - t0);
    return 0;
}

static int put_datasets(ps_store *st, const opts *o, int64_t source_id,
                        int64_t run_id, phase *p)
{
    ps_err err = PS_ERR_INIT;
    record *r = ps_malloc(sizeof *r);
    if (!r) {
        fprintf(stderr, "store-bench: out of memory\n");
        return -1;
    }
    int64_t t_store = 0, t0 = ps_mono_ns();
    int status = 0;
    for (int64_t i = 0; i < o->records && status == 0; i += o->batch) {
        int64_t t = ps_mono_ns();
        if (ps_store_begin(st, &err) != PS_OK) {
            status = fail("begin", &err);
            break;
        }
        t_store += ps_mono_ns() - t;
        for (int64_t k = i; k < i + o->batch && k < o->records; k++) {
            make_record(r, o->seed, k);
            json_t *raw = o->raw ? raw_of(r) : NULL;
            ps_prov prov = {source_id, r->pid, raw, 0, run_id};
            ps_put_result res;
            t = ps_mono_ns();
            ps_status rc =
                ps_store_put_dataset(st, &prov, &r->in, &res, NULL, &err);
            t_store += ps_mono_ns() - t;
            json_decref(raw);
            if (rc != PS_OK) {
                status = fail("ps_store_put_dataset", &err);
                break;
            }
            count_result(p, res);
            p->n++;
        }
        if (status != 0)
            break;
        t = ps_mono_ns();
        if (ps_store_commit(st, &err) != PS_OK) {
            status = fail("commit", &err);
            break;
        }
        t_store += ps_mono_ns() - t;
    }
    if (status != 0)
        ps_store_rollback(st);
    ps_free(r);
    p->store_s = secs(t_store);
    p->wall_s = secs(ps_mono_ns() - t0);
    return status;
}

static int run_phase(ps_store *st, const opts *o, int64_t source_id, phase *p,
                     int instruments)
{
    ps_err err = PS_ERR_INIT;
    int64_t run_id = 0;
    if (ps_store_run_begin(st, source_id, &run_id, &err) != PS_OK)
        return fail("ps_store_run_begin", &err);
    int rc = instruments ? put_instruments(st, o, source_id, run_id, p)
                         : put_datasets(st, o, source_id, run_id, p);
    ps_run_counts c = {p->n, p->inserted, p->updated, p->unchanged, 0, 0};
    if (ps_store_run_finish(st, run_id, rc == 0 ? PS_RUN_OK : PS_RUN_FAILED, &c,
                            NULL, &err) != PS_OK)
        return fail("ps_store_run_finish", &err);
    return rc;
}

static void print_phase(const phase *p, int64_t rows)
{
    double rps = p->store_s > 0 ? (double)p->n / p->store_s : 0.0;
    printf("%-12s %9lld records in %7.2f s (store calls; %.2f s wall): "
           "%9.0f records/s",
           p->name, (long long)p->n, p->store_s, p->wall_s, rps);
    if (rows >= 0)
        printf(", %lld rows, %.0f rows/s", (long long)rows,
               p->store_s > 0 ? (double)rows / p->store_s : 0.0);
    printf("  [+%lld ~%lld =%lld]\n", (long long)p->inserted,
           (long long)p->updated, (long long)p->unchanged);
}

static json_t *phase_json(const phase *p, int64_t rows)
{
    json_t *o = json_pack(
        "{s:I,s:f,s:f,s:f,s:I,s:I,s:I}", "records", (json_int_t)p->n, "seconds",
        p->store_s, "wall_seconds", p->wall_s, "records_per_s",
        p->store_s > 0 ? (double)p->n / p->store_s : 0.0, "inserted",
        (json_int_t)p->inserted, "updated", (json_int_t)p->updated, "unchanged",
        (json_int_t)p->unchanged);
    if (rows >= 0) {
        json_object_set_new(o, "rows", json_integer(rows));
        json_object_set_new(
            o, "rows_per_s",
            json_real(p->store_s > 0 ? (double)rows / p->store_s : 0.0));
    }
    return o;
}

/* ---- main
 * --------------------------------------------------------------------------------
 */

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: store-bench [--records N] [--batch B] [--instruments M]\n"
        "                   [--dir DIR] [--raw full|none] [--seed S] "
        "[--keep]\n\n"
        "Store insert throughput net of JSON parsing: puts N datasets "
        "(default\n"
        "100000) shaped like pansift-gencat's into a fresh store in DIR "
        "(default: a\n"
        "new directory under $TMPDIR or /tmp, removed afterwards unless "
        "--keep), in\n"
        "transactions of B records (default 1000), then puts them again "
        "unchanged.\n"
        "M instruments (default 2000) are put first. --raw none passes no raw\n"
        "record to the store (it then hashes the pid only).\n");
}

static int parse_num(const char *s, int64_t min, int64_t *out)
{
    int64_t v;
    if (!s || ps_parse_i64(s, &v) != 0 || v < min)
        return -1;
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv, opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int64_t n;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(a, "--keep") == 0) {
            o->keep = 1;
            continue;
        } else if (!v) {
            fprintf(stderr,
                    "store-bench: %s: missing value or unknown option\n", a);
            return -1;
        } else if (strcmp(a, "--records") == 0 && parse_num(v, 1, &n) == 0) {
            o->records = n;
        } else if (strcmp(a, "--batch") == 0 && parse_num(v, 1, &n) == 0) {
            o->batch = n;
        } else if (strcmp(a, "--instruments") == 0 &&
                   parse_num(v, NINSTR_USED, &n) == 0) {
            o->instruments = n;
        } else if (strcmp(a, "--seed") == 0 && parse_num(v, 0, &n) == 0) {
            o->seed = (uint64_t)n;
        } else if (strcmp(a, "--dir") == 0) {
            o->dir = v;
        } else if (strcmp(a, "--raw") == 0 &&
                   (strcmp(v, "full") == 0 || strcmp(v, "none") == 0)) {
            o->raw = strcmp(v, "full") == 0;
        } else {
            fprintf(stderr,
                    "store-bench: bad option or value: %s %s (see --help)\n", a,
                    v);
            return -1;
        }
        i++;
    }
    return 0;
}

int main(int argc, char **argv)
{
    opts o = {100000, 1000, 2000, 42, NULL, 1, 0};
    if (parse_args(argc, argv, &o) != 0)
        return 2;
    ps_log_set_level(PS_LOG_WARN);

    char tmpl[512];
    char *dir = NULL;
    int made_dir = 0;
    if (o.dir) {
        if (mkdir(o.dir, 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "store-bench: cannot create %s: %s\n", o.dir,
                    strerror(errno));
            return 1;
        }
        dir = ps_strdup(o.dir);
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(tmpl, sizeof tmpl, "%s/pansift-store-bench-XXXXXX",
                 tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(tmpl)) {
            fprintf(stderr, "store-bench: mkdtemp %s: %s\n", tmpl,
                    strerror(errno));
            return 1;
        }
        dir = ps_strdup(tmpl);
        made_dir = 1;
    }
    char *path = ps_asprintf("%s/store.db", dir);
    char *wal = ps_asprintf("%s/store.db-wal", dir);
    char *shm = ps_asprintf("%s/store.db-shm", dir);
    if (!dir || !path || !wal || !shm) {
        fprintf(stderr, "store-bench: out of memory\n");
        return 1;
    }
    if (access(path, F_OK) == 0) {
        fprintf(stderr, "store-bench: %s exists; give an empty --dir\n", path);
        return 1;
    }

    int status = 1;
    ps_err err = PS_ERR_INIT;
    ps_store *st = NULL;
    ps_store_opts so = PS_STORE_OPTS_INIT;
    so.create = 1;
    int64_t source_id = 0;
    phase pi = {"instruments", 0, 0, 0, 0, 0, 0};
    phase pd = {"insert", 0, 0, 0, 0, 0, 0};
    phase pr = {"re-put", 0, 0, 0, 0, 0, 0};
    int64_t rows0 = -1, rows1 = -1, rows2 = -1, rows3 = -1;
    json_t *tables = json_object();

    printf("store-bench: %lld datasets, batch %lld, raw %s, store %s\n",
           (long long)o.records, (long long)o.batch, o.raw ? "full" : "none",
           path);
    if (ps_store_open(&st, path, &so, &err) != PS_OK) {
        fail("ps_store_open", &err);
        goto out;
    }
    if (ps_store_source_ensure(st, "bench", "pan", "file:///bench", &source_id,
                               &err) != PS_OK) {
        fail("ps_store_source_ensure", &err);
        goto out;
    }
    rows0 = count_rows(path, NULL);
    if (run_phase(st, &o, source_id, &pi, 1) != 0)
        goto out;
    rows1 = count_rows(path, NULL);
    print_phase(&pi, rows1 >= 0 && rows0 >= 0 ? rows1 - rows0 : -1);
    if (run_phase(st, &o, source_id, &pd, 0) != 0)
        goto out;
    rows2 = count_rows(path, NULL);
    print_phase(&pd, rows2 >= 0 && rows1 >= 0 ? rows2 - rows1 : -1);
    if (run_phase(st, &o, source_id, &pr, 0) != 0)
        goto out;
    rows3 = count_rows(path, tables);
    print_phase(&pr, -1);
    if (rows3 >= 0 && rows2 >= 0 && rows3 - rows2 != 1)
        fprintf(stderr,
                "store-bench: WARNING: putting unchanged records added "
                "%lld rows (expected 1: the harvest run)\n",
                (long long)(rows3 - rows2 - 1));
    if (pr.unchanged != pr.n)
        fprintf(stderr,
                "store-bench: WARNING: %lld of %lld re-put records were "
                "not reported unchanged (the idempotent path did not "
                "hold)\n",
                (long long)(pr.n - pr.unchanged), (long long)pr.n);
    status = 0;

out:
    ps_store_close(st);
    st = NULL;
    int64_t bytes = file_size(path) + file_size(wal);
    if (status == 0) {
        printf("store file: %.1f MB (%.0f bytes/dataset); rows per table:",
               (double)bytes / 1e6, (double)bytes / (double)o.records);
        const char *k;
        json_t *v;
        json_object_foreach (tables, k, v) {
            if (json_integer_value(v))
                printf(" %s %lld", k, (long long)json_integer_value(v));
        }
        printf("\n");
        json_t *res = json_pack(
            "{s:s,s:I,s:I,s:s,s:o,s:o,s:o,s:I,s:o}", "bench", "store",
            "records", (json_int_t)o.records, "batch", (json_int_t)o.batch,
            "raw", o.raw ? "full" : "none", "instruments",
            phase_json(&pi, rows1 >= 0 && rows0 >= 0 ? rows1 - rows0 : -1),
            "insert",
            phase_json(&pd, rows2 >= 0 && rows1 >= 0 ? rows2 - rows1 : -1),
            "reput", phase_json(&pr, -1), "store_bytes", (json_int_t)bytes,
            "tables", tables);
        tables = NULL;
        char *line = json_dumps(res, JSON_COMPACT | JSON_REAL_PRECISION(6));
        if (line)
            printf("%s\n", line);
        free(line);
        json_decref(res);
    }
    json_decref(tables);
    if (!o.keep) {
        unlink(path);
        unlink(wal);
        unlink(shm);
        if (made_dir)
            rmdir(dir);
    } else {
        printf("kept %s\n", path);
    }
    ps_free(path);
    ps_free(wal);
    ps_free(shm);
    ps_free(dir);
    return status;
}
