/*
 * fuzz_filter.c: the libFuzzer target of the PaN filter language
 * (query/filter.c). Each input is the text of a ?filter= (and, the same
 * text, of a /count ?where=): it is parsed for Datasets, Documents and
 * Instruments, and whatever parses is evaluated against fixed records shaped
 * like the rendered PaN reference data: the top-level where against the
 * model's records, every include scope's where against its relation's own
 * records and against the related records a rendered parent embeds (array
 * fields, nulls and all), technique scopes also dataset-wide as the
 * renderer judges them (query/techniques.c, with no ontology loaded).
 * A 400 (PS_ERR_INVALID) is a fine answer; a crash, a sanitizer report, a
 * leak, a hang or a broken contract (another status, a result left behind
 * on failure, an empty message, a match that is not 0 or 1) is a bug, and
 * the contract checks abort so that libFuzzer reports them.
 *
 * Not a test of what the answers are (tests/unit/test_filter.c does that).
 * Built and run by tests/fuzz/CMakeLists.txt (CTest: fuzz.filter).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "query-private.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Records per model, as the API renders them: the reference data's (the
 * first Dataset and Document carry their relations, as with include), plus
 * a few with the odd values real catalogues hold (numbers as strings,
 * nulls, arrays where a scalar is expected, missing fields). */
static const char *const dataset_records[] = {
    "{\"pid\":\"20.500.12269/panosc-dataset1\",\"title\":\"PaNOSC Test "
    "Dataset 1\",\"isPublic\":true,\"creationDate\":\"2020-05-05T15:01:02."
    "341Z\",\"size\":930,\"instrumentId\":\"20.500.12269/0f98fcf2-7bd7-430e-"
    "ad20-d47031ca8f71\",\"score\":0.5,"
    "\"techniques\":[{\"pid\":\"20.500.12269/panosc-tech1\",\"name\":\"small-"
    "angle neutron scattering\",\"panetId\":\"http://purl.org/pan-science/"
    "PaNET/PaNET01189\"},{\"pid\":\"t2\",\"name\":\"x-ray diffraction\","
    "\"panetId\":null}],"
    "\"parameters\":[{\"id\":1,\"name\":\"photon_energy\",\"value\":930,"
    "\"unit\":\"eV\",\"datasetId\":\"20.500.12269/panosc-dataset1\"},{\"id\":"
    "2,\"name\":\"sample_temperature\",\"value\":\"7.3e3\",\"unit\":\"K\"},{"
    "\"id\":3,\"name\":\"chemical_formula\",\"value\":\"Cu\",\"unit\":\"\"}],"
    "\"files\":[{\"id\":1,\"name\":\"panosc-file1.hdf\",\"path\":\"/data/"
    "file1.hdf\",\"size\":1048576}],"
    "\"samples\":[{\"pid\":\"20.500.12269/panosc-sample1\",\"name\":\"solid "
    "copper cylinder\",\"description\":null}],"
    "\"instrument\":{\"pid\":\"20.500.12269/0f98fcf2-7bd7-430e-ad20-"
    "d47031ca8f71\",\"name\":\"LoKI\",\"facility\":\"ESS\"},"
    "\"documents\":[{\"pid\":\"10.5072/panosc-document2\",\"type\":"
    "\"proposal\",\"keywords\":[\"copper\"]}]}",
    "{\"pid\":\"10.5291/ILL-DATA.8-01-418\",\"title\":\"Copper under "
    "pressure (SANS, 20 K)\",\"isPublic\":\"true\",\"creationDate\":\"2019-"
    "12-31T23:59:59+01:00\",\"size\":\"1.5e9\",\"instrumentId\":\"10.5291/"
    "ILL-INSTRUMENT.D22\",\"keywords\":[\"copper\",\"SANS\"],\"techniques\":"
    "[],\"parameters\":[]}",
    "{\"pid\":\"d3\",\"title\":[\"two\",\"titles\"],\"isPublic\":false,"
    "\"creationDate\":null,\"size\":-1e300,\"instrumentId\":12,\"techniques\":"
    "[{\"name\":[\"SANS\",null]},{},7],\"instrument\":null}",
    "{}", NULL};
static const char *const document_records[] = {
    "{\"pid\":\"10.5072/panosc-document2\",\"isPublic\":true,\"type\":"
    "\"proposal\",\"title\":\"PaNOSC Test Proposal\",\"summary\":\"Neutron "
    "study of copper\",\"doi\":\"10.5072/panosc-document2\",\"startDate\":"
    "\"2020-01-01\",\"endDate\":\"2020-06-30T12:00:00Z\",\"releaseDate\":"
    "\"2023-01-01T00:00:00.000Z\",\"license\":\"CC-BY-4.0\",\"keywords\":["
    "\"copper\",\"neutrons\",\"\"],\"score\":1,"
    "\"members\":[{\"id\":1,\"role\":\"principal investigator\",\"person\":{"
    "\"id\":\"panosc-person1\",\"fullName\":\"James Chadwick\"},"
    "\"affiliation\":{\"id\":1,\"name\":\"ESS\",\"country\":\"Sweden\"}},{"
    "\"id\":2,\"role\":\"co-proposer\",\"person\":null}],"
    "\"parameters\":[{\"id\":3,\"name\":\"wavelength\",\"value\":1050.5,"
    "\"unit\":\"nm\"}],"
    "\"datasets\":[{\"pid\":\"20.500.12269/panosc-dataset1\",\"title\":"
    "\"PaNOSC Test Dataset 1\",\"techniques\":[{\"pid\":\"t2\",\"name\":"
    "\"x-ray diffraction\"}],\"instrument\":{\"name\":\"LoKI\"}}]}",
    "{\"pid\":\"p2\",\"type\":\"publication\",\"title\":\"\",\"keywords\":"
    "[],\"startDate\":\"not a date\",\"releaseDate\":1588690862341}",
    NULL};
static const char *const instrument_records[] = {
    "{\"pid\":\"20.500.12269/0f98fcf2-7bd7-430e-ad20-d47031ca8f71\","
    "\"name\":\"LoKI\",\"facility\":\"ESS\",\"datasets\":[{\"pid\":\"20.500."
    "12269/panosc-dataset1\",\"title\":\"PaNOSC Test Dataset 1\","
    "\"documents\":[{\"pid\":\"10.5072/panosc-document2\"}]}]}",
    "{\"pid\":\"10.5291/ILL-INSTRUMENT.D22\",\"name\":\"D22\",\"facility\":"
    "\"ILL\",\"score\":\"0.25\"}",
    NULL};
static const char *const file_records[] = {
    "{\"id\":1,\"name\":\"panosc-file1.hdf\",\"path\":\"/data/2020/file1."
    "hdf\",\"size\":1048576,\"datasetId\":\"20.500.12269/panosc-dataset1\"}",
    NULL};
static const char *const parameter_records[] = {
    "{\"id\":1,\"name\":\"chemical_formula\",\"value\":\"Cu\",\"unit\":\"\","
    "\"datasetId\":\"20.500.12269/panosc-dataset1\"}",
    "{\"id\":2,\"name\":\"photon_energy\",\"value\":930,\"unit\":\"eV\","
    "\"datasetId\":\"20.500.12269/panosc-dataset1\"}",
    "{\"id\":3,\"name\":\"wavelength\",\"value\":\"1050.5\",\"unit\":\"nm\","
    "\"documentId\":\"10.5072/panosc-document2\"}",
    NULL};
static const char *const sample_records[] = {
    "{\"pid\":\"20.500.12269/panosc-sample1\",\"name\":\"solid copper "
    "cylinder\",\"description\":\"Cu, 99.9%\"}",
    NULL};
static const char *const technique_records[] = {
    "{\"pid\":\"20.500.12269/panosc-tech1\",\"name\":\"small-angle neutron "
    "scattering\",\"panetId\":\"http://purl.org/pan-science/PaNET/"
    "PaNET01189\"}",
    NULL};
static const char *const member_records[] = {
    "{\"id\":1,\"role\":\"principal investigator\",\"documentId\":\"10.5072/"
    "panosc-document1\",\"personId\":\"panosc-person1\",\"affiliationId\":1}",
    NULL};
static const char *const person_records[] = {
    "{\"id\":\"panosc-person1\",\"fullName\":\"James Chadwick\",\"orcid\":"
    "\"0000-0002-1825-0097\",\"firstName\":\"James\",\"lastName\":"
    "\"Chadwick\"}",
    NULL};
static const char *const affiliation_records[] = {
    "{\"id\":1,\"name\":\"ESS\",\"address\":\"Odarsl\\u00f6vsv\\u00e4gen "
    "113\",\"city\":\"Lund\",\"country\":\"Sweden\"}",
    NULL};

/* Indexed by ps_pan_model. */
static const char *const *const record_texts[] = {
    [PS_PAN_DATASET] = dataset_records,
    [PS_PAN_DOCUMENT] = document_records,
    [PS_PAN_INSTRUMENT] = instrument_records,
    [PS_PAN_FILE] = file_records,
    [PS_PAN_PARAMETER] = parameter_records,
    [PS_PAN_SAMPLE] = sample_records,
    [PS_PAN_TECHNIQUE] = technique_records,
    [PS_PAN_MEMBER] = member_records,
    [PS_PAN_PERSON] = person_records,
    [PS_PAN_AFFILIATION] = affiliation_records,
};
#define NMODELS (sizeof record_texts / sizeof record_texts[0])
#define MAX_RECORDS 8

/* Parsed once, kept for the whole run (still reachable: not a leak). */
static json_t *records[NMODELS][MAX_RECORDS + 1];
static json_t *no_rows; /* [] */

static void fail(const char *what, ps_pan_model model, const char *text)
{
    fprintf(stderr, "fuzz_filter: %s (model %d, input %s)\n", what, (int)model,
            text);
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    no_rows = json_array();
    if (!no_rows)
        abort();
    for (size_t m = 0; m < NMODELS; m++) {
        for (size_t i = 0; record_texts[m][i]; i++) {
            json_error_t je;
            if (i >= MAX_RECORDS) {
                fprintf(stderr, "fuzz_filter: too many records\n");
                abort();
            }
            records[m][i] = json_loads(record_texts[m][i], 0, &je);
            if (!records[m][i]) {
                fprintf(stderr, "fuzz_filter: record %zu/%zu: %s\n", m, i,
                        je.text);
                abort();
            }
        }
    }
    return 0;
}

static void check_verdict(int r, const char *what, ps_pan_model model,
                          const char *text)
{
    if (r != 0 && r != 1) {
        fprintf(stderr, "fuzz_filter: %s returned %d\n", what, r);
        fail("a verdict that is neither 0 nor 1", model, text);
    }
}

static void match_all(const ps_where *w, ps_pan_model model, const char *text)
{
    for (size_t i = 0; records[model][i]; i++)
        check_verdict(ps_where_match(w, model, records[model][i]),
                      "ps_where_match", model, text);
}

static void match_includes(const ps_pan_include *incs, size_t n,
                           const json_t *parent, const char *text);

/* One include against one rendered parent, as the renderer applies it:
 * technique scopes judge the dataset's rows as a whole (techniques.c),
 * other scopes each related record (an array of them, or one object); the
 * nested includes then apply to each related record. */
static void match_related(const ps_pan_include *inc, const json_t *parent,
                          const char *text)
{
    const json_t *rel = json_object_get(parent, inc->relation);
    if (inc->model == PS_PAN_TECHNIQUE) {
        json_t *shown = json_array();
        if (!shown)
            abort();
        check_verdict(psi_techniques_select(inc->where,
                                            json_is_array(rel) ? rel : no_rows,
                                            shown),
                      "psi_techniques_select", inc->model, text);
        json_decref(shown);
    }
    if (json_is_object(rel)) {
        check_verdict(ps_where_match(inc->where, inc->model, rel),
                      "ps_where_match", inc->model, text);
        match_includes(inc->includes, inc->nincludes, rel, text);
    } else if (json_is_array(rel)) {
        size_t i;
        const json_t *child;
        json_array_foreach (rel, i, child) {
            check_verdict(ps_where_match(inc->where, inc->model, child),
                          "ps_where_match", inc->model, text);
            match_includes(inc->includes, inc->nincludes, child, text);
        }
    }
}

/* Every include: against the related model's own records, and against
 * what parent (a rendered record, or NULL at the top) embeds. */
static void match_includes(const ps_pan_include *incs, size_t n,
                           const json_t *parent, const char *text)
{
    for (size_t i = 0; i < n; i++) {
        if (!incs[i].relation || (size_t)incs[i].model >= NMODELS)
            fail("include without relation or model", incs[i].model, text);
        if (parent) {
            match_related(&incs[i], parent, text);
        } else {
            match_all(incs[i].where, incs[i].model, text);
            match_includes(incs[i].includes, incs[i].nincludes, NULL, text);
        }
    }
}

/* A refusal must be a 400 with a message, and leave nothing behind. */
static void check_refusal(ps_status rc, const ps_err *err, const void *out,
                          ps_pan_model model, const char *text)
{
    if (rc != PS_ERR_INVALID)
        fail("a refusal that is not PS_ERR_INVALID", model, text);
    if (out)
        fail("a result left behind on failure", model, text);
    if (err->code != rc || !memchr(err->msg, '\0', sizeof err->msg) ||
        !err->msg[0])
        fail("a refusal without a message", model, text);
}

static void fuzz_model(ps_pan_model model, const char *text)
{
    ps_err err = PS_ERR_INIT;
    ps_pan_filter *f = NULL;
    ps_status rc = ps_pan_filter_parse(model, text, &f, &err);
    if (rc == PS_OK) {
        if (!f || f->model != model)
            fail("a parsed filter that is missing or of another model", model,
                 text);
        match_all(f->where, model, text);
        match_includes(f->includes, f->nincludes, NULL, text);
        for (size_t i = 0; records[model][i]; i++)
            match_includes(f->includes, f->nincludes, records[model][i], text);
    } else {
        check_refusal(rc, &err, f, model, text);
    }
    ps_pan_filter_free(f);

    ps_err_clear(&err);
    ps_where *w = NULL;
    rc = ps_pan_where_parse(model, text, &w, &err);
    if (rc == PS_OK)
        match_all(w, model, text);
    else
        check_refusal(rc, &err, w, model, text);
    ps_where_free(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The server hands the parser a NUL-terminated query string. */
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    fuzz_model(PS_PAN_DATASET, text);
    fuzz_model(PS_PAN_DOCUMENT, text);
    fuzz_model(PS_PAN_INSTRUMENT, text);
    free(text);
    return 0;
}
