/*
 * test_datacite_map.c: unit tests of the DataCite crosswalk
 * (harvesters/datacite-map.c), which the datacite and oai-pmh sources
 * share. What they rely on: every DataCite XML record of the shared corpus
 * (the kernel-4 examples and bolognese's fixtures, kernels 2.2 to 4.6)
 * converts into the REST API's attributes shape, and a file that is not
 * DataCite (or not well-formed) is refused cleanly; field values come out as
 * the REST API has them (ORCID and ROR as IRIs, publicationYear a number, a
 * malformed creator split into its persons, a missing creator list empty);
 * putting the attributes into a store makes a dataset, a publication (authors
 * with ORCID and ROR affiliations, a licence from the rights, the data it
 * cites) or an instrument, and rejects a record without DOI or title.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "check.h"
#include "harvest-private.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char corpus[512];

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf)
        buf[n] = '\0';
    *len = buf ? (size_t)n : 0;
    return buf;
}

/* The attributes of the XML file rel (under the corpus), or NULL. */
static json_t *convert(const char *rel, ps_status *rc_out)
{
    char path[1024];
    size_t len;
    snprintf(path, sizeof path, "%s/%s", corpus, rel);
    char *body = slurp(path, &len);
    check(body != NULL, "read %s", path);
    if (!body)
        return NULL;
    xmlDoc *doc = NULL;
    json_t *attrs = NULL;
    ps_err err = PS_ERR_INIT;
    ps_status rc = psi_xml_parse(body, len, rel, &doc, &err);
    if (rc == PS_OK)
        rc = psi_datacite_xml_to_json(xmlDocGetRootElement(doc), &attrs, &err);
    if (rc_out)
        *rc_out = rc;
    if (doc)
        xmlFreeDoc(doc);
    free(body);
    return attrs;
}

/* attrs[key][i][key2] as a string. */
static const char *at(json_t *attrs, const char *key, size_t i,
                      const char *key2)
{
    return ps_json_str(json_array_get(json_object_get(attrs, key), i), key2);
}

static void test_fields(void)
{
    json_t *a = convert("kernel-4/all-fields-v4.4.xml", NULL);
    check_fatal(a != NULL, "all-fields converts");
    check_str(ps_json_str(a, "doi"), "10.21399/test-data");
    check_str(at(a, "titles", 0, "title"), "Test Metadata");
    check_str(at(a, "titles", 2, "lang"), "eo");
    check_str(at(a, "titles", 1, "titleType"), "Subtitle");
    json_t *c0 = json_array_get(json_object_get(a, "creators"), 0);
    check_str(ps_json_str(c0, "name"), "Anne Raugh");
    check_str(ps_json_str(c0, "nameType"), "Personal");
    check_str(ps_json_str(c0, "familyName"), "Raugh");
    json_t *id0 = json_array_get(json_object_get(c0, "nameIdentifiers"), 0);
    check_str(ps_json_str(id0, "nameIdentifier"),
              "https://orcid.org/0000-0002-8300-9443");
    check_str(ps_json_str(id0, "nameIdentifierScheme"), "ORCID");
    check_str(ps_json_str(id0, "schemeUri"), "https://orcid.org");
    check_str(ps_json_str(json_object_get(a, "types"), "resourceTypeGeneral"),
              "Dataset");
    check(json_integer_value(json_object_get(a, "publicationYear")) == 2020,
          "publicationYear is the number 2020");
    check_str(ps_json_str(a, "publisher"), "Publisher's Name");
    check_str(at(a, "subjects", 2, "valueUri"),
              "http://astrothesaurus.org/uat/90");
    json_t *ctb = json_array_get(json_object_get(a, "contributors"), 2);
    check_str(ps_json_str(ctb, "contributorType"), "HostingInstitution");
    json_t *aff = json_array_get(json_object_get(ctb, "affiliation"), 0);
    check_str(ps_json_str(aff, "affiliationIdentifier"),
              "https://ror.org/047s2c258");
    check_str(ps_json_str(aff, "name"), "University of Maryland, College Park");
    check_str(at(a, "dates", 0, "dateType"), "Available");
    check_str(at(a, "dates", 0, "date"), "2020-04-01");
    check_str(at(a, "relatedIdentifiers", 0, "relatedIdentifier"),
              "10.21399/not-real");
    check_str(at(a, "relatedIdentifiers", 0, "relationType"), "Cites");
    check_str(at(a, "relatedIdentifiers", 1, "relatedIdentifierType"), "URL");
    check(json_array_size(json_object_get(a, "sizes")) == 3, "3 sizes");
    check_str(
        json_string_value(json_array_get(json_object_get(a, "formats"), 0)),
        "text/plain");
    check_str(at(a, "rightsList", 2, "rightsUri"), "urn:rights:identifier");
    check_str(at(a, "descriptions", 0, "descriptionType"), "Abstract");
    check_str(at(a, "fundingReferences", 1, "funderIdentifier"),
              "10.13039/100000104");
    check_str(at(a, "fundingReferences", 0, "awardNumber"), "00001");
    check_str(at(a, "identifiers", 0, "identifier"), "Alternate ID 1");
    check_str(at(a, "geoLocations", 0, "geoLocationPlace"), "Frederick, MD");
    check_str(ps_json_str(a, "version"), "-1.0");
    check_str(ps_json_str(a, "schemaVersion"),
              "http://datacite.org/schema/kernel-4");
    json_decref(a);

    /* ROR as bare ids, http:// IRIs and nameIdentifiers of organisations. */
    a = convert("bolognese/datacite-example-ROR-nameIdentifiers.xml", NULL);
    check_fatal(a != NULL, "ROR example converts");
    c0 = json_array_get(json_object_get(a, "creators"), 0);
    aff = json_array_get(json_object_get(c0, "affiliation"), 0);
    check_str(ps_json_str(aff, "affiliationIdentifier"),
              "https://ror.org/05bp8ka77");
    check_str(ps_json_str(aff, "name"), "Metadata Game Changers");
    json_t *c1 = json_array_get(json_object_get(a, "creators"), 1);
    check_str(at(c1, "nameIdentifiers", 0, "nameIdentifier"),
              "https://orcid.org/0000-0001-9998-0114");
    json_decref(a);

    /* One <creator> holding three names: three creators. */
    a = convert("bolognese/datacite_malformed_creator.xml", NULL);
    check_fatal(a != NULL, "malformed creator converts");
    json_t *cr = json_object_get(a, "creators");
    check(json_array_size(cr) == 3, "3 creators, got %zu", json_array_size(cr));
    check_str(at(a, "creators", 1, "name"), "Oražem, Miha");
    check_str(at(a, "creators", 2, "givenName"), "Viljem");
    json_decref(a);

    a = convert("bolognese/datacite_missing_creator.xml", NULL);
    check_fatal(a != NULL, "missing creator converts");
    check(json_array_size(json_object_get(a, "creators")) == 0, "no creators");
    check_str(ps_json_str(a, "doi"), "10.5438/4K3M-NYVG");
    json_decref(a);

    /* Kernel 2.2. */
    a = convert("bolognese/datacite-metadata-sample-complicated-v2.2.xml",
                NULL);
    check_fatal(a != NULL, "kernel 2.2 converts");
    check(ps_json_str(a, "doi") != NULL, "kernel 2.2 has a DOI");
    check(json_array_size(json_object_get(a, "creators")) > 0,
          "kernel 2.2 has creators");
    json_decref(a);

    ps_status rc = PS_OK;
    a = convert("bolognese/crossref.xml", &rc);
    check(a == NULL && rc == PS_ERR_PARSE,
          "a Crossref record is not DataCite (rc %d)", (int)rc);
    json_decref(a);
}

/* A harvest run writing into st, as the driver sets it up. */
static void run_init(psi_run *run, ps_store *st, ps_harvest_source *src,
                     ps_harvest_opts *opts)
{
    ps_err err = PS_ERR_INIT;
    memset(run, 0, sizeof *run);
    memset(src, 0, sizeof *src);
    src->name = "dc";
    src->type = "datacite";
    src->url = "http://localhost/";
    run->st = st;
    run->src = src;
    run->opts = opts;
    check_fatal(ps_store_source_ensure(st, "dc", "datacite", src->url,
                                       &run->source_id, &err) == PS_OK,
                "%s", err.msg);
    check_fatal(ps_store_run_begin(st, run->source_id, &run->run_id, &err) ==
                    PS_OK,
                "%s", err.msg);
    check_fatal(ps_store_begin(st, &err) == PS_OK, "%s", err.msg);
    run->txn = 1; /* as the harvest driver leaves it */
}

static void test_corpus(ps_store *st)
{
    const char *dirs[] = {"kernel-4", "bolognese"};
    ps_harvest_source src;
    ps_harvest_opts opts = PS_HARVEST_OPTS_INIT;
    psi_run run;
    ps_err err = PS_ERR_INIT;
    size_t converted = 0, refused = 0;
    run_init(&run, st, &src, &opts);
    for (size_t d = 0; d < 2; d++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", corpus, dirs[d]);
        DIR *dir = opendir(path);
        check_fatal(dir != NULL, "open %s", path);
        for (struct dirent *e = readdir(dir); e; e = readdir(dir)) {
            if (!ps_str_endswith(e->d_name, ".xml"))
                continue;
            char rel[600];
            snprintf(rel, sizeof rel, "%s/%s", dirs[d], e->d_name);
            ps_status rc = PS_OK;
            json_t *a = convert(rel, &rc);
            /* Crossref records, and one fixture that is not well-formed
             * XML (<issue>1</volume>), are refused cleanly. */
            if (ps_str_startswith(e->d_name, "crossref") ||
                strcmp(e->d_name, "datacite-example-relateditems.xml") == 0) {
                check(!a && rc == PS_ERR_PARSE, "%s refused", rel);
                refused++;
                continue;
            }
            check(a != NULL, "%s converts (rc %d)", rel, (int)rc);
            if (!a)
                continue;
            converted++;
            check(ps_json_str(a, "doi") != NULL, "%s has a DOI", rel);
            check(json_array_size(json_object_get(a, "titles")) > 0,
                  "%s has titles", rel);
            char *raw = json_dumps(a, JSON_COMPACT);
            rc = psi_datacite_put(&run, NULL, a, raw, strlen(raw), &err);
            check(rc == PS_OK, "%s stored: %s", rel, err.msg);
            free(raw);
            json_decref(a);
        }
        closedir(dir);
    }
    check_fatal(psi_run_flush(&run, &err) == PS_OK, "%s", err.msg);
    ps_store_rollback(st);
    printf("%zu DataCite records converted, %zu other XML refused; "
           "%lld stored (%lld new), %lld rejected\n",
           converted, refused, (long long)run.counts.seen,
           (long long)run.counts.inserted, (long long)run.counts.rejected);
    check(converted >= 75, "the corpus has 77 DataCite XML records, got %zu",
          converted);
    check(run.counts.seen == (int64_t)converted, "every record counted");
    check(run.counts.rejected == 0, "nothing rejected: %s", run.rejects);

    /* A dataset: all-fields (size "10 PB", Available 2020-04-01). */
    int64_t id;
    json_t *ent = NULL;
    check_fatal(ps_store_find_pid(st, PS_KIND_DATASET, "10.21399/test-data",
                                  &id, &err) == PS_OK,
                "all-fields is a dataset: %s", err.msg);
    check(ps_store_load(st, PS_KIND_DATASET, id, PS_LOAD_ALL, &ent, &err) ==
              PS_OK,
          "%s", err.msg);
    check_str(ps_json_str(ent, "doi"), "10.21399/test-data");
    check_str(ps_json_str(ent, "title"), "Test Metadata");
    check(json_integer_value(json_object_get(ent, "size")) ==
              10000000000000000LL,
          "size 10 PB in bytes");
    check(strstr(ps_json_str(ent, "description"), "This is test metadata") !=
              NULL,
          "abstract as description");
    json_decref(ent);

    /* A publication with ORCID authors and ROR affiliations. */
    check_fatal(ps_store_find_pid(st, PS_KIND_PUBLICATION, "10.48321/D1Z60Q",
                                  &id, &err) == PS_OK,
                "ROR example is a publication: %s", err.msg);
    check(ps_store_load(st, PS_KIND_PUBLICATION, id, PS_LOAD_ALL, &ent, &err) ==
              PS_OK,
          "%s", err.msg);
    check_str(ps_json_str(ent, "type"), "publication");
    json_t *members = json_object_get(ent, "members");
    json_t *m0 = json_array_get(members, 0);
    check_str(ps_json_str(m0, "role"), "author");
    json_t *person = json_object_get(m0, "person");
    check_str(ps_json_str(person, "pid"),
              "https://orcid.org/0000-0001-9998-0117");
    check_str(ps_json_str(person, "orcid"), "0000-0001-9998-0117");
    json_t *inst = json_object_get(m0, "institution");
    check_str(ps_json_str(inst, "pid"), "https://ror.org/05bp8ka77");
    /* The second affiliation (GRID) is a second member of the same
     * person. */
    json_t *m1 = json_array_get(members, 1);
    check_str(ps_json_str(json_object_get(m1, "person"), "pid"),
              "https://orcid.org/0000-0001-9998-0117");
    check_str(ps_json_str(json_object_get(m1, "institution"), "name"),
              "Wesleyan University");
    json_decref(ent);

    /* An instrument. */
    check(ps_store_find_pid(st, PS_KIND_INSTRUMENT, "10.82433/08QF-EE96", &id,
                            &err) == PS_OK,
          "the instrument example is an instrument: %s", err.msg);
}

/* Attributes built by hand: links, the licence, the data a publication
 * cites, rejections. */
static void test_put(ps_store *st)
{
    ps_harvest_source src;
    ps_harvest_opts opts = PS_HARVEST_OPTS_INIT;
    psi_run run;
    ps_err err = PS_ERR_INIT;
    run_init(&run, st, &src, &opts);
    json_t *pub = json_loads(
        "{\"doi\":\"10.9999/paper.1\",\"titles\":[{\"title\":\"A paper\"}],"
        "\"types\":{\"resourceTypeGeneral\":\"JournalArticle\"},"
        "\"publicationYear\":2021,\"container\":{\"title\":\"J. Neutron\"},"
        "\"creators\":[{\"name\":\"Doe, Jane\",\"givenName\":\"Jane\","
        "\"familyName\":\"Doe\",\"affiliation\":[\"ILL\"]},"
        "{\"name\":\"ESRF\",\"nameType\":\"Organizational\"}],"
        "\"contributors\":[{\"name\":\"Roe, Rick\",\"contributorType\":"
        "\"ContactPerson\",\"nameIdentifiers\":[{\"nameIdentifier\":"
        "\"0000-0001-2345-6789\",\"nameIdentifierScheme\":\"ORCID\"}]}],"
        "\"rightsList\":[{\"rights\":\"Creative Commons Attribution 4.0\","
        "\"rightsUri\":\"https://creativecommons.org/licenses/by/4.0\","
        "\"rightsIdentifier\":\"cc-by-4.0\",\"rightsIdentifierScheme\":"
        "\"SPDX\"}],\"dates\":[{\"date\":\"2021-03-04\",\"dateType\":"
        "\"Issued\"},{\"date\":\"not a date\",\"dateType\":\"Created\"}],"
        "\"descriptions\":[{\"description\":\"Series\",\"descriptionType\":"
        "\"SeriesInformation\"},{\"description\":\"The abstract\","
        "\"descriptionType\":\"Abstract\"}],"
        "\"subjects\":[{\"subject\":\"neutrons\"},{\"subject\":\"magnets\"}],"
        "\"relatedIdentifiers\":[{\"relatedIdentifier\":\"10.5291/ILL-DATA.1\","
        "\"relatedIdentifierType\":\"DOI\",\"relationType\":\"References\"},"
        "{\"relatedIdentifier\":\"https://doi.org/10.9999/other\","
        "\"relatedIdentifierType\":\"URL\",\"relationType\":\"IsCitedBy\"},"
        "{\"relatedIdentifier\":\"arXiv:1234.5678\",\"relatedIdentifierType\":"
        "\"arXiv\",\"relationType\":\"IsVariantFormOf\"}]}",
        0, NULL);
    check_fatal(pub != NULL, "pub JSON");
    check(psi_datacite_put(&run, "10.9999/PAPER.1", pub, NULL, 0, &err) ==
              PS_OK,
          "%s", err.msg);
    json_t *data = json_loads(
        "{\"doi\":\"10.5291/ILL-DATA.1\",\"titles\":[{\"title\":\"Data\"}],"
        "\"types\":{\"resourceTypeGeneral\":\"Dataset\"},"
        "\"sizes\":[\"12 files\",\"2.5 GB\"],\"publicationYear\":\"2019\","
        "\"dates\":[{\"date\":\"2999-01-01\",\"dateType\":\"Available\"}],"
        "\"relatedIdentifiers\":[{\"relatedIdentifier\":\"10.82433/instr\","
        "\"relatedIdentifierType\":\"DOI\",\"relationType\":\"IsCollectedBy\","
        "\"resourceTypeGeneral\":\"Instrument\"}]}",
        0, NULL);
    check(psi_datacite_put(&run, NULL, data, NULL, 0, &err) == PS_OK, "%s",
          err.msg);
    json_t *bad = json_loads("{\"titles\":[{\"title\":\"No DOI\"}]}", 0, NULL);
    check(psi_datacite_put(&run, "rec-7", bad, NULL, 0, &err) == PS_OK, "%s",
          err.msg);
    json_t *notitle =
        json_loads("{\"doi\":\"10.9999/x\",\"titles\":[]}", 0, NULL);
    check(psi_datacite_put(&run, NULL, notitle, NULL, 0, &err) == PS_OK, "%s",
          err.msg);
    check_fatal(psi_run_flush(&run, &err) == PS_OK, "%s", err.msg);
    ps_store_rollback(st);
    check(run.counts.inserted == 2, "2 inserted, got %lld",
          (long long)run.counts.inserted);
    check(run.counts.rejected == 2, "2 rejected, got %lld",
          (long long)run.counts.rejected);
    check(strstr(run.rejects, "rec-7: no DOI") != NULL, "%s", run.rejects);
    check(strstr(run.rejects, "10.9999/x: no title") != NULL, "%s",
          run.rejects);
    check(strstr(run.notes, "not a date") != NULL, "bad date noted: %s",
          run.notes);
    ps_store_resolve(st, NULL, &err);

    int64_t id;
    json_t *ent = NULL;
    check_fatal(ps_store_find_pid(st, PS_KIND_PUBLICATION, "10.9999/paper.1",
                                  &id, &err) == PS_OK,
                "%s", err.msg);
    check(ps_store_load(st, PS_KIND_PUBLICATION, id, PS_LOAD_ALL, &ent, &err) ==
              PS_OK,
          "%s", err.msg);
    check_str(ps_json_str(ent, "license"), "cc-by-4.0");
    check_str(ps_json_str(ent, "summary"), "The abstract");
    check_str(ps_json_str(ent, "journal"), "J. Neutron");
    check(json_integer_value(json_object_get(ent, "year")) == 2021, "year");
    check(json_array_size(json_object_get(ent, "keywords")) == 2, "keywords");
    json_t *members = json_object_get(ent, "members");
    check(json_array_size(members) == 3, "3 members, got %zu",
          json_array_size(members));
    json_t *m0 = json_array_get(members, 0);
    check_str(ps_json_str(json_object_get(m0, "person"), "pid"),
              "dc:10.9999/paper.1#a1");
    check_str(ps_json_str(json_object_get(m0, "institution"), "name"), "ILL");
    json_t *m1 = json_array_get(members, 1);
    check(json_object_get(m1, "person") == NULL, "an organisation author");
    check_str(ps_json_str(json_object_get(m1, "institution"), "name"), "ESRF");
    json_t *m2 = json_array_get(members, 2);
    check_str(ps_json_str(m2, "role"), "contact");
    check_str(ps_json_str(json_object_get(m2, "person"), "pid"),
              "https://orcid.org/0000-0001-2345-6789");
    json_t *ds = json_object_get(ent, "datasets");
    check(json_array_size(ds) == 1, "cites one dataset, got %zu",
          json_array_size(ds));
    json_decref(ent);

    check_fatal(ps_store_find_pid(st, PS_KIND_DATASET, "10.5291/ILL-DATA.1",
                                  &id, &err) == PS_OK,
                "%s", err.msg);
    check(ps_store_load(st, PS_KIND_DATASET, id, PS_LOAD_ALL, &ent, &err) ==
              PS_OK,
          "%s", err.msg);
    check(json_integer_value(json_object_get(ent, "size")) == 2500000000LL,
          "2.5 GB");
    check_str(ps_json_str(ent, "visibility"), "embargoed");
    check_str(ps_json_str(ent, "instrument_pid"), "10.82433/instr");
    check(json_integer_value(json_object_get(ent, "created")) ==
              1546300800000LL,
          "created from publicationYear 2019");
    json_decref(ent);
    json_decref(pub);
    json_decref(data);
    json_decref(bad);
    json_decref(notitle);
}

/* test_datacite_map --dump FILE...: each DataCite XML file's attributes
 * as one line of compact JSON (files that do not convert are skipped): the
 * integration test builds REST answers from the corpus with it. */
static int dump(int argc, char **argv)
{
    ps_harvest_global_init();
    snprintf(corpus, sizeof corpus, "/");
    for (int i = 2; i < argc; i++) {
        ps_status rc = PS_OK;
        json_t *a = convert(argv[i], &rc);
        char *text = a ? json_dumps(a, JSON_COMPACT) : NULL;
        if (text)
            printf("%s\n", text);
        free(text);
        json_decref(a);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--dump") == 0)
        return dump(argc, argv);
    const char *srcdir = getenv("PS_SOURCE_DIR");
    snprintf(corpus, sizeof corpus, "%s/../shared/corpus/datacite",
             srcdir ? srcdir : "..");
    DIR *d = opendir(corpus);
    if (!d) {
        printf("skipping: no corpus at %s\n", corpus);
        return 0;
    }
    closedir(d);
    ps_harvest_global_init();
    test_fields();

    char *tmp = check_tmpdir("datacite");
    check_fatal(tmp != NULL, "temp dir");
    char dir[256], path[300];
    snprintf(dir, sizeof dir, "%s", tmp);
    snprintf(path, sizeof path, "%s/store.db", dir);
    ps_store *st = NULL;
    ps_store_opts o = PS_STORE_OPTS_INIT;
    o.create = 1;
    ps_err err = PS_ERR_INIT;
    check_fatal(ps_store_open(&st, path, &o, &err) == PS_OK, "%s", err.msg);
    test_corpus(st);
    test_put(st);
    ps_store_close(st);
    check_rmtree(dir);
    return check_report();
}
