/*
 * test_match.c: unit tests of the publication↔proposal matcher
 * (store/store-match.c): name keys and text similarity, then a small store
 * with one case per tier and filter (a code in the acknowledgements, a data
 * DOI in the references, one kind of soft evidence, two kinds, a paper
 * older than its proposal), staff judgements that later runs respect, and
 * incremental runs that look only at what changed.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "check.h"
#include "match.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[256];
static int64_t src, run_id;

static json_t *raw_of(const char *pid)
{
    return json_pack("{s:s}", "pid", pid);
}

static int64_t ms_of_year(int year)
{
    /* 1 July of year, close enough for a year filter. */
    return ((int64_t)(year - 1970) * 36525 / 100 + 181) * 86400000LL;
}

static void add_dataset(ps_store *st, const char *pid, const char *doi,
                        const char *instrument)
{
    ps_dataset_in d = {0};
    d.pid = pid;
    d.title = pid;
    d.doi = doi;
    d.created_ms = PS_TIME_NONE;
    d.size = -1;
    d.instrument_pid = instrument;
    json_t *raw = raw_of(pid);
    ps_prov prov = {src, pid, raw, 0, run_id, NULL, 0};
    ps_err err = PS_ERR_INIT;
    check(ps_store_put_dataset(st, &prov, &d, NULL, NULL, &err) == PS_OK,
          "dataset %s: %s", pid, err.msg);
    json_decref(raw);
}

static int64_t add_doc(ps_store *st, ps_kind kind, const char *pid,
                       const char *code, const char *title, int year,
                       const ps_member_in *m, size_t nm, const char *ds)
{
    ps_document_in d = {0};
    d.kind = kind;
    d.pid = pid;
    d.code = code;
    d.title = title;
    d.type = kind == PS_KIND_PUBLICATION ? "article" : "proposal";
    d.start_ms = d.end_ms = d.release_ms = PS_TIME_NONE;
    if (kind == PS_KIND_PROPOSAL)
        d.start_ms = ms_of_year(year);
    else
        d.year = year;
    d.members = m;
    d.nmembers = nm;
    const char *dss[1] = {ds};
    d.dataset_pids = dss;
    d.ndatasets = ds ? 1 : 0;
    json_t *raw = json_pack("{s:s, s:s}", "pid", pid, "title", title);
    ps_prov prov = {src, pid, raw, 0, run_id, NULL, 0};
    ps_err err = PS_ERR_INIT;
    int64_t id = 0;
    check(ps_store_put_document(st, &prov, &d, NULL, &id, &err) == PS_OK,
          "document %s: %s", pid, err.msg);
    json_decref(raw);
    return id;
}

static void set_text(ps_store *st, int64_t pub, const char *sha,
                     const ps_mention_in *m, size_t nm,
                     const ps_reference_in *r, size_t nr)
{
    ps_pub_text_in t = {0};
    t.sha256 = sha;
    t.full_text = "text";
    t.acknowledgements = "ack";
    t.mentions = m;
    t.nmentions = nm;
    t.refs = r;
    t.nrefs = nr;
    ps_err err = PS_ERR_INIT;
    check(ps_store_put_publication_text(st, pub, &t, NULL, &err) == PS_OK,
          "text: %s", err.msg);
}

static ps_member_in person(const char *pid, const char *full, const char *given,
                           const char *family, const char *orcid)
{
    ps_member_in m;
    memset(&m, 0, sizeof m);
    m.role = "author";
    m.person.pid = pid;
    m.person.full_name = full;
    m.person.given_name = given;
    m.person.family_name = family;
    m.person.orcid = orcid;
    return m;
}

/* The link between publication pub and proposal prop as listed, or NULL
 * (borrowed from list). */
static json_t *find_link(json_t *list, const char *pub, const char *prop)
{
    size_t i;
    json_t *o;
    json_array_foreach (list, i, o) {
        if (strcmp(json_string_value(json_object_get(o, "publication")), pub) ==
                0 &&
            strcmp(json_string_value(json_object_get(o, "proposal")), prop) ==
                0)
            return o;
    }
    return NULL;
}

static json_t *all_links(ps_store *st)
{
    json_t *l = NULL;
    ps_err err = PS_ERR_INIT;
    check(ps_match_list(st, -1, &l, &err) == PS_OK, "list: %s", err.msg);
    return l;
}

static int64_t pub_seq(ps_store *st, int64_t id)
{
    json_t *o = NULL;
    if (ps_store_load(st, PS_KIND_PUBLICATION, id, 0, &o, NULL) != PS_OK)
        return -1;
    int64_t seq = json_integer_value(json_object_get(o, "seq"));
    json_decref(o);
    return seq;
}

static void test_helpers(void)
{
    char k[96];
    check(ps_match_name_key(k, sizeof k, "Marie Curie", NULL, NULL) &&
              strcmp(k, "curie|m") == 0,
          "full name: %s", k);
    check(ps_match_name_key(k, sizeof k, "Curie, Marie", NULL, NULL) &&
              strcmp(k, "curie|m") == 0,
          "inverted name: %s", k);
    check(ps_match_name_key(k, sizeof k, "x", "Élodie", "Müller-Brandt") &&
              strcmp(k, "mullerbrandt|e") == 0,
          "accents and hyphens folded: %s", k);
    check(!ps_match_name_key(k, sizeof k, NULL, NULL, "Curie") && !k[0],
          "no initial, no key");
    check(!ps_match_name_key(k, 3, "Marie Curie", NULL, NULL),
          "too small a buffer");
    double same = ps_match_similarity("Magnetic order in crystals",
                                      "magnetic ordering of a crystal");
    check(same > 0.99, "stemmed words match: %f", same);
    double none = ps_match_similarity("Magnetic order", "protein folding");
    check(none == 0, "unrelated: %f", none);
    check(ps_match_similarity(NULL, "x") == 0, "NULL text");
    check(ps_match_similarity("the and with", "the and with") == 0,
          "stop words only");
}

/* The number of results of a match query, and its count. */
static size_t find_n(ps_store *st, const ps_match_query *q, int64_t *count)
{
    json_t *o = NULL;
    ps_err err = PS_ERR_INIT;
    check(ps_match_find(st, &o, q, &err) == PS_OK, "find: %s", err.msg);
    *count = json_integer_value(json_object_get(o, "count"));
    size_t n = json_array_size(json_object_get(o, "results"));
    json_decref(o);
    return n;
}

/* The review API's listing and judging (after test_matcher's runs: A-p1
 * rejected, D-p4 confirmed, B-p2 and C-p3 candidates). */
static void test_review(ps_store *st, int64_t pub_d)
{
    ps_err err = PS_ERR_INIT;
    ps_match_query q = PS_MATCH_QUERY_INIT;
    int64_t count = 0;
    check(find_n(st, &q, &count) == 4 && count == 4, "all: %lld",
          (long long)count);
    q.state = PS_LINK_CANDIDATE;
    check(find_n(st, &q, &count) == 2 && count == 2, "candidates: %lld",
          (long long)count);
    q.state = -1;
    q.tier = 1;
    check(find_n(st, &q, &count) == 2 && count == 2, "hard: %lld",
          (long long)count);
    q.tier = 0;
    check(find_n(st, &q, &count) == 2 && count == 2, "soft: %lld",
          (long long)count);
    q.tier = -1;
    q.instrument = "ill/d7";
    check(find_n(st, &q, &count) == 2 && count == 2, "of D7: %lld",
          (long long)count);
    q.instrument = "nowhere";
    check(find_n(st, &q, &count) == 0 && count == 0, "of no instrument");
    q.instrument = NULL;
    q.limit = 1;
    q.skip = 1;
    check(find_n(st, &q, &count) == 1 && count == 4, "a page: count %lld",
          (long long)count);
    q.skip = 4;
    check(find_n(st, &q, &count) == 0 && count == 4, "past the end");
    q.limit = -1;
    json_t *o = NULL;
    check(ps_match_find(st, &o, &q, &err) == PS_ERR_INVALID && !o, "bad query");
    check(ps_match_find(st, &o, NULL, &err) == PS_ERR_INVALID, "no query");

    /* One match, as the review page shows it. */
    json_t *l = all_links(st);
    json_t *ld = find_link(l, "pubD", "p4");
    int64_t id_d = ld ? json_integer_value(json_object_get(ld, "id")) : 0;
    json_decref(l);
    check(ps_match_get(st, &o, id_d, 0, &err) == PS_OK, "get: %s", err.msg);
    json_t *pub = json_object_get(o, "publication");
    json_t *prop = json_object_get(o, "proposal");
    check_str(json_string_value(json_object_get(pub, "pid")), "pubD");
    check_str(json_string_value(json_object_get(pub, "title")),
              "Diffuse scattering");
    check(json_integer_value(json_object_get(pub, "year")) == 2019, "year");
    check_str(json_string_value(json_object_get(prop, "code")), "7-77-777");
    check(json_integer_value(json_object_get(prop, "year")) == 2015,
          "the proposal's year, from its start");
    json_t *in = json_array_get(json_object_get(prop, "instruments"), 0);
    check_str(json_string_value(json_object_get(in, "pid")), "ill/d7");
    check_str(json_string_value(json_object_get(in, "name")), "D7");
    check_str(json_string_value(json_object_get(o, "state")), "confirmed");
    check_str(json_string_value(json_object_get(o, "provenance")), "validated");
    check_str(json_string_value(json_object_get(o, "tier")), "soft");
    check(json_array_size(json_object_get(o, "evidence")) >= 2, "evidence");
    check(json_is_string(json_object_get(o, "updated_at")), "updated_at");
    json_decref(o);
    check(ps_match_get(st, &o, 99999, 0, &err) == PS_ERR_NOTFOUND && !o,
          "get unknown");
    check(ps_match_get(st, &o, 0, 0, &err) == PS_ERR_NOTFOUND, "get 0");

    /* Undoing a judgement: a candidate the matcher manages again; the
     * index hears of it once. */
    int64_t seq0 = pub_seq(st, pub_d);
    check(ps_match_judge(st, id_d, PS_LINK_CANDIDATE, &err) == PS_OK,
          "back to candidate: %s", err.msg);
    int64_t seq1 = pub_seq(st, pub_d);
    check(seq1 > seq0, "judging bumps the publication's seq");
    check(ps_match_get(st, &o, id_d, 0, &err) == PS_OK, "get again");
    check_str(json_string_value(json_object_get(o, "state")), "candidate");
    check_str(json_string_value(json_object_get(o, "provenance")), "inferred");
    json_decref(o);
    check(ps_match_judge(st, id_d, PS_LINK_CANDIDATE, &err) == PS_OK,
          "the same judgement again");
    check(pub_seq(st, pub_d) == seq1, "an unchanged judgement changes no seq");
    check(ps_match_judge(st, 99999, PS_LINK_CANDIDATE, &err) == PS_ERR_NOTFOUND,
          "unknown link, unchanged-looking judgement");
    check_str(ps_match_state_name(2), "rejected");
    check(ps_match_state_name(3) == NULL, "no state 3");
    check(ps_match_state_parse("confirmed") == 1, "parse confirmed");
    check(ps_match_state_parse("maybe") == -1, "parse maybe");
    check(ps_match_state_parse(NULL) == -1, "parse NULL");
}

static void test_matcher(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/match.db", dir);
    ps_store_opts o = PS_STORE_OPTS_INIT;
    o.create = 1;
    ps_store *st = NULL;
    ps_err err = PS_ERR_INIT;
    check_fatal(ps_store_open(&st, path, &o, &err) == PS_OK, "open: %s",
                err.msg);
    check(ps_store_source_ensure(st, "t", "pan", "file:///t", &src, &err) ==
              PS_OK,
          "source");
    check(ps_store_run_begin(st, src, &run_id, &err) == PS_OK, "run");

    ps_instrument_in ins = {"ill/d7", "D7", "ILL", PS_VIS_PUBLIC, 0};
    json_t *iraw = raw_of("ill/d7");
    ps_prov iprov = {src, "ill/d7", iraw, 0, run_id, NULL, 0};
    check(ps_store_put_instrument(st, &iprov, &ins, NULL, NULL, &err) == PS_OK,
          "instrument: %s", err.msg);
    json_decref(iraw);
    add_dataset(st, "ds/1", "10.5291/ILL-DATA.8-01-418", "ill/d7");
    add_dataset(st, "ds/2", "10.5291/ILL-DATA.5-21-1000", NULL);
    add_dataset(st, "ds/4", NULL, "ill/d7");

    ps_member_in curie = person("orcid:c", "Marie Curie", "Marie", "Curie",
                                "0000-0001-0000-0001");
    ps_member_in bragg =
        person("loc:bragg", "William Bragg", "William", "Bragg", NULL);
    ps_member_in bragg2 =
        person("loc:bragg2", "Lawrence Bragg", "Lawrence", "Bragg", NULL);
    ps_member_in bragg_pub =
        person("pub:bragg", "W. Bragg", "W.", "Bragg", NULL);
    add_doc(st, PS_KIND_PROPOSAL, "p1", "8-01-418", "Spin ice dynamics", 2015,
            &curie, 1, "ds/1");
    add_doc(st, PS_KIND_PROPOSAL, "p2", "5-21-1000", "Water in clay", 2015,
            NULL, 0, "ds/2");
    add_doc(st, PS_KIND_PROPOSAL, "p3", "9-99-999", "Protein folding", 2015,
            &curie, 1, NULL);
    add_doc(st, PS_KIND_PROPOSAL, "p4", "7-77-777",
            "Polarised diffuse scattering", 2015, &bragg, 1, "ds/4");
    add_doc(st, PS_KIND_PROPOSAL, "p5", "6-66-666", "Late proposal", 2020, NULL,
            0, NULL);
    ps_store_resolve(st, NULL, &err);

    /* A: code in the acknowledgements (hard). */
    int64_t a = add_doc(st, PS_KIND_PUBLICATION, "pubA", NULL, "Monopoles",
                        2017, NULL, 0, NULL);
    ps_mention_in ma = {"proposal",
                        "8-01-418",
                        "ILL",
                        "8-01-418",
                        "acknowledgements",
                        10,
                        8,
                        "ILL proposal 8-01-418",
                        13,
                        0.9};
    set_text(st, a, "sha-a", &ma, 1, NULL, 0);
    /* B: a data DOI of p2 in its references (hard). */
    int64_t b = add_doc(st, PS_KIND_PUBLICATION, "pubB", NULL, "Clay", 2018,
                        NULL, 0, NULL);
    ps_reference_in rb = {"10.5291/ill-data.5-21-1000", "raw"};
    set_text(st, b, "sha-b", NULL, 0, &rb, 1);
    /* C: one shared member with p3 (ORCID) only: soft, one kind. */
    int64_t c = add_doc(st, PS_KIND_PUBLICATION, "pubC", NULL,
                        "Unrelated metallurgy", 2018, &curie, 1, NULL);
    (void)c;
    /* D: a member by name and the instrument D7 of p4: two kinds. The
     * other Bragg (different initial) is not a match. */
    ps_member_in dauth[2] = {bragg_pub, bragg2};
    int64_t d = add_doc(st, PS_KIND_PUBLICATION, "pubD", NULL,
                        "Diffuse scattering", 2019, dauth, 1, NULL);
    ps_mention_in md = {"instrument",       "D7", "ILL", "D7", "text", 5, 2,
                        "on D7 at the ILL", 3,    0.8};
    set_text(st, d, "sha-d", &md, 1, NULL, 0);
    /* E: p5's code, but the paper (2018) is older than p5 (2020). */
    int64_t e = add_doc(st, PS_KIND_PUBLICATION, "pubE", NULL, "Early", 2018,
                        NULL, 0, NULL);
    ps_mention_in me = {
        "proposal", "6-66-666", NULL,       "6-66-666", "acknowledgements",
        0,          8,          "6-66-666", 0,          0.9};
    set_text(st, e, "sha-e", &me, 1, NULL, 0);
    /* F: a grant number that looks like a code of no proposal. */
    int64_t f = add_doc(st, PS_KIND_PUBLICATION, "pubF", NULL, "Grant", 2018,
                        NULL, 0, NULL);
    ps_mention_in mf = {"proposal", "1-23-456", NULL, "1-23-456",
                        "funding",  0,          8,    "grant 1-23-456",
                        6,          0.5};
    set_text(st, f, "sha-f", &mf, 1, NULL, 0);

    int64_t seq_a = pub_seq(st, a);
    ps_match_stats s;
    check(ps_match_run(st, NULL, &s, &err) == PS_OK, "run: %s", err.msg);
    check(s.inserted == 3, "three links: %lld", (long long)s.inserted);
    check(s.filtered_year == 1, "one older paper: %lld",
          (long long)s.filtered_year);
    check(s.filtered_soft >= 1, "soft with one kind filtered");
    check(pub_seq(st, a) > seq_a, "the link gave the publication a new seq");

    json_t *l = all_links(st);
    json_t *la = find_link(l, "pubA", "p1");
    check(la && strcmp(json_string_value(json_object_get(la, "tier")),
                       "hard") == 0,
          "A-p1 hard");
    check(la && json_real_value(json_object_get(la, "score")) >= 0.9,
          "hard score high");
    json_t *ev = la ? json_array_get(json_object_get(la, "evidence"), 0) : NULL;
    check(ev && strcmp(json_string_value(json_object_get(ev, "kind")),
                       "proposal-code") == 0,
          "evidence names the code");
    json_t *lb = find_link(l, "pubB", "p2");
    check(lb && strcmp(json_string_value(json_object_get(lb, "tier")),
                       "hard") == 0,
          "B-p2 hard by data DOI");
    check(!find_link(l, "pubC", "p3"), "one soft kind is not enough");
    json_t *ld = find_link(l, "pubD", "p4");
    check(ld && strcmp(json_string_value(json_object_get(ld, "tier")),
                       "soft") == 0,
          "D-p4 soft with two kinds");
    check(ld && json_real_value(json_object_get(ld, "score")) < 0.9,
          "soft score below hard");
    check(!find_link(l, "pubE", "p5"), "older paper filtered");
    check(!find_link(l, "pubF", "p1") && json_array_size(l) == 3,
          "no link from a grant number");
    int64_t id_a = la ? json_integer_value(json_object_get(la, "id")) : 0;
    int64_t id_d = ld ? json_integer_value(json_object_get(ld, "id")) : 0;
    json_decref(l);

    /* Nothing changed: the next run looks at nothing. */
    check(ps_match_run(st, NULL, &s, &err) == PS_OK, "rerun: %s", err.msg);
    check(s.publications == 0, "incremental: nothing changed, %lld looked at",
          (long long)s.publications);

    /* Judgements. */
    check(ps_match_judge(st, id_a, PS_LINK_REJECTED, &err) == PS_OK,
          "reject: %s", err.msg);
    check(ps_match_judge(st, id_d, PS_LINK_CONFIRMED, &err) == PS_OK,
          "confirm: %s", err.msg);
    check(ps_match_judge(st, 99999, PS_LINK_CONFIRMED, &err) == PS_ERR_NOTFOUND,
          "unknown link");
    check(ps_match_judge(st, id_a, (ps_link_state)7, &err) == PS_ERR_INVALID,
          "bad state");
    /* A's text changes (the code twice now), D loses its instrument. */
    ps_mention_in ma2[2] = {ma, ma};
    ma2[1].section = "text";
    set_text(st, a, "sha-a2", ma2, 2, NULL, 0);
    set_text(st, d, "sha-d2", NULL, 0, NULL, 0);
    check(ps_match_run(st, NULL, &s, &err) == PS_OK, "run 3: %s", err.msg);
    /* A and D changed; judging touched p1 and p4, and p1 brings C (a
     * member of p1 among its authors) back too. */
    check(s.publications == 3 && s.proposals == 2,
          "incremental: changed records only, %lld publications, %lld "
          "proposals",
          (long long)s.publications, (long long)s.proposals);
    check(s.inserted == 0, "rejected link not re-created");
    l = all_links(st);
    la = find_link(l, "pubA", "p1");
    check(la && json_integer_value(json_object_get(la, "state")) == 2,
          "rejected stays rejected");
    ld = find_link(l, "pubD", "p4");
    check(ld && json_integer_value(json_object_get(ld, "state")) == 1 &&
              json_integer_value(json_object_get(ld, "provenance")) == 3,
          "confirmed stays confirmed (validated)");
    json_decref(l);

    /* A full run changes nothing either; harvest-time inference leaves
     * matcher links alone. */
    ps_match_opts mo = PS_MATCH_OPTS_INIT;
    mo.full = 1;
    check(ps_match_run(st, &mo, &s, &err) == PS_OK, "full: %s", err.msg);
    check(s.publications == 6 && s.inserted == 0 && s.removed == 0,
          "full run: %lld looked at, %lld new, %lld removed",
          (long long)s.publications, (long long)s.inserted,
          (long long)s.removed);
    check(ps_store_resolve(st, NULL, &err) == PS_OK, "resolve");
    l = all_links(st);
    check(find_link(l, "pubB", "p2") != NULL, "resolve keeps matcher links");
    json_decref(l);

    /* A proposal that changes brings its publications back. */
    add_doc(st, PS_KIND_PROPOSAL, "p3", "9-99-999", "Unrelated metallurgy",
            2015, &curie, 1, NULL);
    check(ps_match_run(st, NULL, &s, &err) == PS_OK, "run 5: %s", err.msg);
    check(s.proposals == 1 && s.publications == 1 && s.inserted == 1,
          "changed proposal: %lld proposals, %lld pubs, %lld new",
          (long long)s.proposals, (long long)s.publications,
          (long long)s.inserted);
    mo.min_similarity = 2;
    check(ps_match_run(st, &mo, &s, &err) == PS_ERR_INVALID, "bad options");
    test_review(st, d);
    ps_store_close(st);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/ps-match-XXXXXX", tmp ? tmp : "/tmp");
    check_fatal(mkdtemp(dir) != NULL, "temp dir");
    test_helpers();
    test_matcher();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return check_report();
}
