/*
 * test_mentions.c: the mention matcher (harvesters/mentions.c) with the
 * tables that ship in share/mentions: proposal codes of each facility in
 * realistic sentences (offsets, context, confidence), the look-alikes that
 * must not be taken (page numbers, dates, grant numbers, ISBN, figures,
 * journal DOIs, postal codes), instruments with and without a cue, data
 * DOIs including one broken across a line end, and UTF-8-safe context.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "check.h"
#include "harvest.h"

static ps_mentions_matcher *m;

/* The mentions of kind in text (kind -1: all). */
static ps_mentions find(const char *text)
{
    ps_mentions out = {NULL, 0, 0};
    ps_err err = PS_ERR_INIT;
    ps_status st =
        ps_mentions_find(m, text, strlen(text), "acknowledgements", &out, &err);
    check(st == PS_OK, "find: %s", err.msg);
    return out;
}

static const ps_mention *first_of(const ps_mentions *a, ps_mention_kind kind)
{
    for (size_t i = 0; i < a->n; i++)
        if (a->items[i].kind == kind)
            return &a->items[i];
    return NULL;
}

static size_t count_of(const ps_mentions *a, ps_mention_kind kind)
{
    size_t n = 0;
    for (size_t i = 0; i < a->n; i++)
        n += a->items[i].kind == kind;
    return n;
}

/* text has exactly one proposal mention, value want of facility fac. */
static void want_code(const char *text, const char *want, const char *fac,
                      double min_conf)
{
    ps_mentions a = find(text);
    const ps_mention *x = first_of(&a, PS_MENTION_PROPOSAL);
    check(count_of(&a, PS_MENTION_PROPOSAL) == 1, "%zu codes in \"%s\"",
          count_of(&a, PS_MENTION_PROPOSAL), text);
    if (x) {
        check_str(x->value, want);
        check_str(x->facility, fac);
        check(x->confidence >= min_conf, "%s: confidence %.2f", want,
              x->confidence);
        check(strncmp(text + x->offset, want, strlen(want)) == 0 &&
                  x->length == strlen(want),
              "%s at %zu+%zu", want, x->offset, x->length);
        check(strncmp(x->context + x->context_at, want, strlen(want)) == 0,
              "context \"%s\"", x->context);
        check_str(x->section, "acknowledgements");
    }
    ps_mentions_clear(&a);
}

static void no_code(const char *text)
{
    ps_mentions a = find(text);
    const ps_mention *x = first_of(&a, PS_MENTION_PROPOSAL);
    check(!x, "\"%s\": took %s", text, x ? x->value : "");
    ps_mentions_clear(&a);
}

static void test_codes(void)
{
    want_code("Neutron data were collected at the ILL under proposal "
              "8-01-418 on D22.",
              "8-01-418", "ILL", 0.9);
    want_code("We thank the ILL for beamtime (experiment CRG-3064).",
              "CRG-3064", "ILL", 0.9);
    want_code("Test measurements (TEST-3346) were made on the instrument.",
              "TEST-3346", "ILL", 0.5);
    want_code("Data were measured at the ESRF (proposal MA-1234).", "MA-1234",
              "ESRF", 0.9);
    want_code("In-house research beamtime IH-CH-659 at ID31.", "IH-CH-659",
              "ESRF", 0.9);
    want_code("ESRF experiment HC-4567 is acknowledged.", "HC-4567", "ESRF",
              0.8);
    want_code("We thank Diamond Light Source for beamtime under proposal "
              "MX6638.",
              "MX6638", "Diamond", 0.9);
    want_code("the Diamond Light Source for access to beamline I12 "
              "(experiment EE9244-1) that contributed",
              "EE9244-1", "Diamond", 0.9);
    want_code("Experiments at the ISIS Neutron and Muon Source were "
              "supported by a beamtime allocation RB1234567 from STFC.",
              "RB1234567", "ISIS", 0.9);
    /* A bare pattern is taken, with a low confidence. */
    want_code("Samples for SM12345 were prepared in house.", "SM12345",
              "Diamond", 0.5);
}

static void test_not_codes(void)
{
    no_code("See Phys. Rev. B 93, 016005 (2016), pp. 8-01-418.");
    no_code("The samples were measured on 2015-01-18 and 2015-02-03.");
    no_code("This work was supported by grant 2016-05-123 of the Swedish "
            "Research Council.");
    no_code("Funded by the EPSRC (grant no. EP/K000-123) and the ILL.");
    no_code("Funded by the Swedish Research Council, grant no. 2015-01-418.");
    no_code("ISBN 978-3-16-148410-0, ISSN 2049-3630.");
    no_code("As shown in Fig. 3-2 and Eq. 4-12, the peak moves.");
    no_code("see https://doi.org/10.1103/PhysRevB.93.MA-1234 for details");
    no_code("Published as doi:10.1016/j.nima.2015.01.418 in 2015.");
    no_code("Paul Scherrer Institut, CH-5232 Villigen PSI, Switzerland.");
    no_code("supported by a grant (MT-11-CA-11420004-054) from the Forest "
            "Health Technology");
    no_code("phone +33 4 76 20 71 11, room 8-01-418a");
}

static void test_instruments(void)
{
    ps_mentions a = find("SANS measurements were made on D22 at the ILL and "
                         "the ThALES spectrometer.");
    check(count_of(&a, PS_MENTION_INSTRUMENT) == 2, "%zu instruments",
          count_of(&a, PS_MENTION_INSTRUMENT));
    const ps_mention *x = first_of(&a, PS_MENTION_INSTRUMENT);
    if (x) {
        check_str(x->value, "D22");
        check_str(x->facility, "ILL");
        check(x->offset == 31, "offset %zu", x->offset);
    }
    ps_mentions_clear(&a);

    /* Short names need a cue: none here. */
    a = find("We used D7 vitamin supplements and a GEM of a sample; EMU "
             "feathers.");
    check(count_of(&a, PS_MENTION_INSTRUMENT) == 0, "%zu instruments",
          count_of(&a, PS_MENTION_INSTRUMENT));
    ps_mentions_clear(&a);
    a = find("Polarised diffuse scattering on the D7 instrument.");
    check(count_of(&a, PS_MENTION_INSTRUMENT) == 1, "D7 with a cue");
    ps_mentions_clear(&a);

    /* Beamline families by pattern, near their facility or "beamline". */
    a = find("Crystals were screened at the beamlines id23.1 and ID 29 of "
             "the European Synchrotron Radiation Facility (ESRF).");
    check(count_of(&a, PS_MENTION_INSTRUMENT) == 2, "%zu beamlines",
          count_of(&a, PS_MENTION_INSTRUMENT));
    x = first_of(&a, PS_MENTION_INSTRUMENT);
    if (x)
        check_str(x->value, "ID23-1");
    check(count_of(&a, PS_MENTION_FACILITY) == 2, "%zu facilities",
          count_of(&a, PS_MENTION_FACILITY));
    ps_mentions_clear(&a);
    a = find("The ID12 gene and BM25 index were computed.");
    check(count_of(&a, PS_MENTION_INSTRUMENT) == 0, "no cue, no beamline");
    ps_mentions_clear(&a);

    /* Facility aliases that are ordinary words need a cue. */
    a = find("Diamond anvil cells were loaded; APS is thankful to the UGC.");
    check(count_of(&a, PS_MENTION_FACILITY) == 0, "%zu facilities",
          count_of(&a, PS_MENTION_FACILITY));
    ps_mentions_clear(&a);
    a = find("X-ray data were collected at Diamond on beamline I04-1.");
    x = first_of(&a, PS_MENTION_FACILITY);
    check(x && strcmp(x->value, "Diamond") == 0, "Diamond with a cue");
    x = first_of(&a, PS_MENTION_INSTRUMENT);
    check(x && strcmp(x->value, "I04-1") == 0, "I04-1");
    ps_mentions_clear(&a);

    /* The store's instruments are added at run time. */
    ps_err err = PS_ERR_INIT;
    check(ps_mentions_matcher_add_instrument(m, "ILL", "WASP", "", 0, &err) ==
              PS_OK,
          "%s", err.msg);
    a = find("Spin-echo data from WASP.");
    x = first_of(&a, PS_MENTION_INSTRUMENT);
    check(x && strcmp(x->facility, "ILL") == 0 && x->confidence < 0.9,
          "WASP bare");
    ps_mentions_clear(&a);
}

static void test_dois(void)
{
    ps_mentions a =
        find("Data are available at https://doi.org/10.5291/ILL-DATA.8-01-418 "
             "and 10.15151/ESRF-ES-123456789; code at 10.5281/zenodo.12345; "
             "the paper is 10.1103/PhysRevB.93.016005.");
    check(count_of(&a, PS_MENTION_DATA_DOI) == 2, "%zu data DOIs",
          count_of(&a, PS_MENTION_DATA_DOI));
    const ps_mention *x = first_of(&a, PS_MENTION_DATA_DOI);
    if (x) {
        check_str(x->value, "10.5291/ILL-DATA.8-01-418");
        check_str(x->facility, "ILL");
    }
    check(count_of(&a, PS_MENTION_PROPOSAL) == 0, "no code inside a DOI");
    check(count_of(&a, PS_MENTION_FACILITY) == 0, "no facility inside a DOI");
    ps_mentions_clear(&a);

    /* Broken by the PDF's line end: the matcher repairs it. The hyphen
     * stays when the code needs it, goes when it was a hyphenation. */
    const char *t1 = "doi:10.5291/ILL-DATA.8-01-\n418. We thank";
    a = find(t1);
    x = first_of(&a, PS_MENTION_DATA_DOI);
    check(x && strcmp(x->value, "10.5291/ILL-DATA.8-01-418") == 0,
          "repaired: %s", x ? x->value : "none");
    if (x)
        check(x->offset == 4 && x->length == strlen(t1) - 4 - 10,
              "span %zu+%zu", x->offset, x->length);
    ps_mentions_clear(&a);
    a = find("see 10.5291/ILL-DATA.TEST-33-\n46 and more");
    x = first_of(&a, PS_MENTION_DATA_DOI);
    check(x && strcmp(x->value, "10.5291/ILL-DATA.TEST-3346") == 0,
          "dehyphenated: %s", x ? x->value : "none");
    ps_mentions_clear(&a);
    a = find("see 10.5291/ILL-DATA.\n  5-24-600, which");
    x = first_of(&a, PS_MENTION_DATA_DOI);
    check(x && strcmp(x->value, "10.5291/ILL-DATA.5-24-600") == 0,
          "after the prefix: %s", x ? x->value : "none");
    ps_mentions_clear(&a);
}

static void test_context_utf8(void)
{
    /* 100 two-byte characters on each side: the context is cut inside
     * neither, and keeps at most 80 bytes either side. */
    char text[1024];
    size_t n = 0;
    for (int i = 0; i < 100; i++) {
        text[n++] = (char)0xC3;
        text[n++] = (char)0xA9; /* é */
    }
    const char *mid = " proposal MA-1234 ";
    memcpy(text + n, mid, strlen(mid));
    size_t at = n + 10;
    n += strlen(mid);
    text[n++] = 'x';
    for (int i = 0; i < 100; i++) {
        text[n++] = (char)0xE2;
        text[n++] = (char)0x82;
        text[n++] = (char)0xAC; /* € */
    }
    text[n] = '\0';
    ps_mentions a = find(text);
    const ps_mention *x = first_of(&a, PS_MENTION_PROPOSAL);
    check_fatal(x != NULL, "code in UTF-8 text");
    check(x->offset == at, "offset %zu, want %zu", x->offset, at);
    size_t cl = strlen(x->context);
    check(x->context_at <= PS_MENTIONS_CONTEXT &&
              cl - x->context_at - x->length <= PS_MENTIONS_CONTEXT,
          "context of %zu bytes", cl);
    check(((unsigned char)x->context[0] & 0xC0) != 0x80, "starts whole");
    /* The last byte of a whole € is 0xAC, and a whole one follows 'x'. */
    check((unsigned char)x->context[cl - 1] == 0xAC &&
              (cl - (x->context_at + x->length + 2)) % 3 == 0,
          "ends whole");
    ps_mentions_clear(&a);
}

static void test_errors(void)
{
    ps_mentions_matcher *bad = NULL;
    ps_err err = PS_ERR_INIT;
    check(ps_mentions_matcher_new(&bad, NULL, "ILL\t[1-9\tx\n", NULL, &err) ==
                  PS_ERR_PARSE &&
              strstr(err.msg, "line 1"),
          "bad pattern: %s", err.msg);
    check(!bad, "no matcher on failure");
    check(ps_mentions_matcher_load(&bad, "/nonexistent", &err) ==
              PS_ERR_NOTFOUND,
          "missing tables");
    ps_mentions a = {NULL, 0, 0};
    check(ps_mentions_find(m, "x", PS_MENTIONS_MAX_TEXT + 1, NULL, &a, &err) ==
              PS_ERR_TOOBIG,
          "ceiling on text");
    check(a.n == 0, "nothing on failure");
}

int main(void)
{
    const char *src = getenv("PS_SOURCE_DIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/share/mentions", src ? src : ".");
    ps_err err = PS_ERR_INIT;
    check_fatal(ps_mentions_matcher_load(&m, dir, &err) == PS_OK, "load: %s",
                err.msg);
    test_codes();
    test_not_codes();
    test_instruments();
    test_dois();
    test_context_utf8();
    test_errors();
    ps_mentions_matcher_free(m);
    return check_report();
}
