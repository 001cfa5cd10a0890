/*
 * gencat.c: pansift-gencat, a deterministic generator of realistic,
 * multi-facility photon and neutron (PaN) catalogues. It writes a directory
 * with Instruments.json, Datasets.json and Documents.json in the shape the
 * PaN search API returns (one record per line), which pansift's "pan"
 * harvester reads through a file:// URL. The README's first command uses it
 * to make the demo's sample catalogue, and the benchmarks use it for
 * catalogues of 10^4 to 10^6 datasets. Facilities, instruments, PaNET
 * techniques and affiliations are real; proposals, people (with valid ORCID
 * check digits), samples, datasets and publications (DataCite test prefix
 * 10.5072) are synthetic. Output depends only on --seed and --datasets (own
 * splitmix64 generator, no clock), and memory stays constant in N: records
 * are generated proposal by proposal and streamed to two files at once.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "common.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define PROG "pansift-gencat"
#define MAX_DATASETS 100000000LL
#define PATH_BUF 4096
#define WBUF_SIZE (1u << 18)
#define DAY_MS INT64_C(86400000)
#define MAX_DS_PER_PROPOSAL 15
#define MAX_MEMBERS 12

/* ---- random numbers: splitmix64 ----------------------------------------- */

typedef struct {
    uint64_t s;
} rng_t;

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static uint64_t rng_next(rng_t *r)
{
    r->s += UINT64_C(0x9e3779b97f4a7c15);
    return mix64(r->s);
}

/* Uniform in [0, n); 0 when n is 0. */
static uint32_t rng_below(rng_t *r, uint32_t n)
{
    return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

static double rng_unit(rng_t *r)
{
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

static double rng_range(rng_t *r, double a, double b)
{
    return a + (b - a) * rng_unit(r);
}

static double rng_logu(rng_t *r, double a, double b)
{
    return exp(log(a) + (log(b) - log(a)) * rng_unit(r));
}

static int rng_chance(rng_t *r, double p) { return rng_unit(r) < p; }

/* ---- buffered JSON writer -------------------------------------------------
 */

typedef struct {
    FILE *fp;
    char path[PATH_BUF];
    size_t len;
    int err; /* errno of the first failed write, 0 if none */
    long nrec;
    char buf[WBUF_SIZE];
} writer;

static void w_flush(writer *w)
{
    if (w->len > 0 && w->err == 0) {
        size_t n = fwrite(w->buf, 1, w->len, w->fp);
        if (n != w->len) {
            w->err = errno != 0 ? errno : EIO;
        }
    }
    w->len = 0;
}

static void w_mem(writer *w, const char *p, size_t n)
{
    if (n > WBUF_SIZE - w->len) {
        w_flush(w);
        if (n > WBUF_SIZE) {
            if (w->err == 0 && fwrite(p, 1, n, w->fp) != n) {
                w->err = errno != 0 ? errno : EIO;
            }
            return;
        }
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}

static void w_str(writer *w, const char *s) { w_mem(w, s, strlen(s)); }

static void w_ch(writer *w, char c)
{
    if (w->len >= WBUF_SIZE) {
        w_flush(w);
    }
    w->buf[w->len++] = c;
}

/* A JSON string: quotes, and escapes for '"', '\\' and control characters;
 * UTF-8 passes through. */
static void w_jstr(writer *w, const char *s)
{
    const char *run = s;
    w_ch(w, '"');
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        const char *esc = NULL;
        char ubuf[8];
        switch (c) {
        case 0x22: esc = "\\\""; break;
        case 0x5c: esc = "\\\\"; break;
        case 0x0a: esc = "\\n"; break;
        case 0x0d: esc = "\\r"; break;
        case 0x09: esc = "\\t"; break;
        default:
            if (c < 0x20) {
                snprintf(ubuf, sizeof(ubuf), "\\u%04x", (unsigned)c);
                esc = ubuf;
            }
            break;
        }
        if (esc == NULL) {
            continue;
        }
        w_mem(w, run, (size_t)(s - run));
        w_str(w, esc);
        run = s + 1;
    }
    w_mem(w, run, (size_t)(s - run));
    w_ch(w, '"');
}

static void w_u64(writer *w, uint64_t v)
{
    char tmp[24];
    size_t i = sizeof(tmp);
    do {
        tmp[--i] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v != 0);
    w_mem(w, tmp + i, sizeof(tmp) - i);
}

/* key is the literal prefix, e.g. ",\"title\":" */
static void w_kstr(writer *w, const char *key, const char *val)
{
    w_str(w, key);
    w_jstr(w, val);
}

static void w_ku64(writer *w, const char *key, uint64_t v)
{
    w_str(w, key);
    w_u64(w, v);
}

static void w_kbool(writer *w, const char *key, int v)
{
    w_str(w, key);
    w_str(w, v ? "true" : "false");
}

static void w_kdate(writer *w, const char *key, int64_t ms)
{
    char buf[PS_TIME_BUFSZ];
    w_str(w, key);
    w_jstr(w, ps_time_format(ms, buf));
}

static void w_open_array(writer *w)
{
    w_str(w, "[\n");
    w->nrec = 0;
}

/* Starts a record: "," and a newline after the previous one. */
static void w_record(writer *w)
{
    if (w->nrec > 0) {
        w_str(w, ",\n");
    }
    w->nrec++;
}

static void w_close_array(writer *w)
{
    if (w->nrec > 0) {
        w_ch(w, '\n');
    }
    w_str(w, "]\n");
}

/* ---- number formatting ----------------------------------------------------
 */

/* v with dec decimals, trailing zeros removed ("293.10" -> "293.1"). */
static void fmt_fixed(double v, int dec, char *buf, size_t n)
{
    size_t len;
    if (dec < 0) {
        dec = 0;
    }
    snprintf(buf, n, "%.*f", dec, v);
    if (strchr(buf, '.') != NULL) {
        len = strlen(buf);
        while (len > 0 && buf[len - 1] == '0') {
            buf[--len] = '\0';
        }
        if (len > 0 && buf[len - 1] == '.') {
            buf[--len] = '\0';
        }
    }
    if (strcmp(buf, "-0") == 0) {
        snprintf(buf, n, "0");
    }
}

/* v rounded to sig significant digits. */
static void fmt_sig(double v, int sig, char *buf, size_t n)
{
    int e, dec;
    if (v == 0.0) {
        snprintf(buf, n, "0");
        return;
    }
    e = (int)floor(log10(fabs(v)));
    dec = sig - 1 - e;
    if (dec < 0) {
        double q = pow(10.0, (double)-dec);
        v = round(v / q) * q;
        dec = 0;
    }
    fmt_fixed(v, dec, buf, n);
}

/* ---- calendar -------------------------------------------------------------
 */

static int64_t days_from_civil(int y, int m, int d)
{
    int64_t era;
    unsigned yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (unsigned)((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    int64_t era;
    unsigned doe, yoe, doy, mp;
    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)((int64_t)yoe + era * 400 + (*m <= 2));
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) {
        q--;
    }
    return q;
}

static int64_t add_years(int64_t ms, int years)
{
    int64_t day = floor_div(ms, DAY_MS);
    int64_t rem = ms - day * DAY_MS;
    int y, m, d;
    civil_from_days(day, &y, &m, &d);
    y += years;
    if (m == 2 && d == 29) {
        d = 28;
    }
    return days_from_civil(y, m, d) * DAY_MS + rem;
}

static void ms_ymd(int64_t ms, int *y, int *m, int *d)
{
    civil_from_days(floor_div(ms, DAY_MS), y, m, d);
}

/* ---- techniques (PaNET) ---------------------------------------------------
 */

enum {
    T_SANS,
    T_SAXS,
    T_WAXS,
    T_GISAXS,
    T_GISANS,
    T_MX,
    T_SSX,
    T_XRPD,
    T_NPD,
    T_NSCD,
    T_SCXRD,
    T_NR,
    T_PNR,
    T_XRR,
    T_INS,
    T_QENS,
    T_NSE,
    T_EXAFS,
    T_XANES,
    T_XAS,
    T_XES,
    T_XRF,
    T_PTYCHO,
    T_NANOTOMO,
    T_MICROCT,
    T_XPCS,
    T_CDI,
    T_PDF,
    T_XRD,
    NTECH
};

#define MK(t) (UINT64_C(1) << (t))

typedef struct {
    const char *id;   /* PaNET term */
    const char *name; /* its label */
    const char *abbr; /* used in dataset titles */
} technique_t;

static const technique_t TECH[NTECH] = {
    {"PaNET01189", "small angle neutron scattering", "SANS"},
    {"PaNET01188", "small angle x-ray scattering", "SAXS"},
    {"PaNET01191", "wide angle x-ray scattering", "WAXS"},
    {"PaNET01162", "grazing incidence small angle x-ray scattering", "GISAXS"},
    {"PaNET01276", "grazing incidence small angle neutron scattering",
     "GISANS"},
    {"PaNET01164", "macromolecular crystallography", "MX"},
    {"PaNET01169", "serial synchrotron crystallography", "SSX"},
    {"PaNET01101", "x-ray powder diffraction", "XRPD"},
    {"PaNET01100", "neutron powder diffraction", "NPD"},
    {"PaNET01236", "neutron single crystal diffraction",
     "Single-crystal neutron diffraction"},
    {"PaNET01102", "x-ray single crystal diffraction", "SCXRD"},
    {"PaNET01239", "neutron reflectometry", "NR"},
    {"PaNET01243", "polarized neutron reflectometry", "PNR"},
    {"PaNET01149", "x-ray reflectivity", "XRR"},
    {"PaNET01245", "inelastic neutron spectroscopy", "INS"},
    {"PaNET01299", "high resolution inelastic neutron scattering", "QENS"},
    {"PaNET01120", "quasielastic neutron spin echo scattering", "NSE"},
    {"PaNET01198", "extended x-ray absorption fine structure", "EXAFS"},
    {"PaNET01199", "x-ray absorption near edge structure", "XANES"},
    {"PaNET01196", "x-ray absorption spectroscopy", "XAS"},
    {"PaNET01200", "x-ray emission spectroscopy", "XES"},
    {"PaNET01177", "x-ray fluorescence", "XRF mapping"},
    {"PaNET01212", "ptychography", "Ptychography"},
    {"PaNET01213", "ptychographic nanotomography",
     "Ptychographic nanotomography"},
    {"PaNET01208", "x-ray microtomography", "Micro-CT"},
    {"PaNET01205", "x-ray photon correlation spectroscopy", "XPCS"},
    {"PaNET01174", "coherent diffraction imaging", "CDI"},
    {"PaNET01181", "pair distribution function", "PDF"},
    {"PaNET01216", "x-ray diffraction", "XRD"},
};

#define PANET_BASE "http://purl.org/pan-science/PaNET/"

/* ---- people: name lists by language ---------------------------------------
 */

enum {
    L_FR,
    L_EN,
    L_DE,
    L_SC,
    L_IT,
    L_ES,
    L_PL,
    L_CZ,
    L_NL,
    L_JA,
    L_ZH,
    L_IN,
    NLANG
};

static const char *const FR_F[] = {"Camille", "Léa",     "Chloé",  "Élodie",
                                   "Hélène",  "Margaux", "Amélie", "Cécile",
                                   "Gaëlle",  "Manon",   "Claire"};
static const char *const FR_M[] = {
    "Julien",  "Mathieu", "Sébastien", "Jérôme", "François", "Thomas",
    "Nicolas", "Antoine", "Benoît",    "Loïc",   "Aurélien"};
static const char *const FR_L[] = {
    "Martin",    "Bernard",  "Dubois",  "Lefèvre", "Moreau",  "Girard",
    "Rousseau",  "Fournier", "Lambert", "Bonnet",  "Mercier", "Faure",
    "Chevalier", "Gauthier", "Perrin",  "Leroy",   "Roux",    "Morel",
    "Fontaine",  "Duval",    "Bérenger"};
static const char *const EN_F[] = {"Emily",  "Charlotte", "Hannah",  "Rebecca",
                                   "Sarah",  "Laura",     "Eleanor", "Zoë",
                                   "Rachel", "Katherine", "Joanna"};
static const char *const EN_M[] = {
    "Oliver",      "James", "Thomas", "Daniel",  "Michael", "Matthew",
    "Christopher", "David", "Andrew", "William", "Samuel"};
static const char *const EN_L[] = {
    "Smith",   "Jones",    "Taylor", "Brown",   "Williams", "Wilson",
    "Evans",   "Roberts",  "Walker", "Wright",  "Thompson", "Hughes",
    "Edwards", "Green",    "Hall",   "Clarke",  "Harrison", "Mitchell",
    "O'Brien", "Campbell", "Murphy", "Anderson"};
static const char *const DE_F[] = {"Katrin", "Anja",   "Sabine", "Julia",
                                   "Lena",   "Andrea", "Ulrike", "Christina",
                                   "Miriam", "Dörte",  "Jana"};
static const char *const DE_M[] = {
    "Jürgen",     "Jörg",  "Stefan", "Matthias", "Tobias", "Felix",
    "Maximilian", "Björn", "Frank",  "Johannes", "Lukas"};
static const char *const DE_L[] = {
    "Müller", "Schmidt",  "Schneider", "Fischer", "Weber",   "Meyer",
    "Wagner", "Becker",   "Schäfer",   "Koch",    "Bauer",   "Richter",
    "Klein",  "Wolf",     "Schröder",  "Neumann", "Schwarz", "Zimmermann",
    "Krüger", "Hoffmann", "Weiß",      "Köhler"};
static const char *const SC_F[] = {"Freja",  "Astrid", "Ingrid", "Åsa",
                                   "Sigrid", "Mette",  "Maja",   "Elin",
                                   "Ebba",   "Linnéa", "Karin"};
static const char *const SC_M[] = {"Søren",  "Mads",   "Lars",  "Magnus",
                                   "Björn",  "Henrik", "Nils",  "Kristoffer",
                                   "Rasmus", "Jens",   "Anders"};
static const char *const SC_L[] = {
    "Jensen",   "Nielsen",    "Hansen",   "Andersson", "Johansson",
    "Karlsson", "Lindqvist",  "Pedersen", "Sørensen",  "Bergström",
    "Nyström",  "Lindström",  "Eriksson", "Holm",      "Dahl",
    "Larsen",   "Kristensen", "Åberg",    "Sjöberg",   "Mortensen",
    "Møller",   "Østergaard"};
static const char *const IT_F[] = {
    "Giulia", "Francesca", "Chiara", "Federica", "Elena",
    "Ilaria", "Valentina", "Sara",   "Beatrice", "Martina"};
static const char *const IT_M[] = {"Alessandro", "Lorenzo", "Matteo",  "Davide",
                                   "Marco",      "Niccolò", "Stefano", "Andrea",
                                   "Paolo",      "Tommaso", "Riccardo"};
static const char *const IT_L[] = {
    "Rossi",    "Russo",   "Ferrari", "Esposito", "Bianchi",  "Romano",
    "Colombo",  "Ricci",   "Marino",  "Greco",    "Bruno",    "Gallo",
    "Conti",    "De Luca", "Mancini", "Costa",    "Giordano", "Rizzo",
    "Lombardi", "Moretti", "Fabbri",  "Galli"};
static const char *const ES_F[] = {"María",  "Lucía",  "Sofía", "Marta",
                                   "Inés",   "Carmen", "Elena", "Nuria",
                                   "Begoña", "Paula",  "Ana"};
static const char *const ES_M[] = {"José",   "Alejandro", "Javier", "Pablo",
                                   "Andrés", "Raúl",      "Álvaro", "Sergio",
                                   "Jesús",  "Iñaki",     "Ramón"};
static const char *const ES_L[] = {
    "García",    "Fernández", "González", "Rodríguez", "López",   "Martínez",
    "Sánchez",   "Pérez",     "Gómez",    "Martín",    "Jiménez", "Ruiz",
    "Hernández", "Díaz",      "Moreno",   "Muñoz",     "Álvarez", "Romero",
    "Navarro",   "Ibáñez",    "Castaño",  "Núñez"};
static const char *const PL_F[] = {
    "Małgorzata", "Agnieszka",  "Katarzyna", "Joanna", "Magdalena",
    "Zofia",      "Aleksandra", "Ewa",       "Anna",   "Dorota"};
static const char *const PL_M[] = {
    "Łukasz", "Krzysztof", "Paweł",    "Tomasz", "Michał",
    "Piotr",  "Wojciech",  "Grzegorz", "Jakub",  "Bartłomiej"};
static const char *const PL_L[] = {
    "Kowalski",  "Wiśniewski", "Lewandowski", "Zieliński", "Szymański",
    "Dąbrowski", "Kozłowski",  "Nowak",       "Wójcik",    "Mazur",
    "Woźniak",   "Kaczmarek",  "Zając",       "Krawczyk"};
static const char *const PL_LF[] = {
    "Kowalska",  "Wiśniewska", "Lewandowska", "Zielińska", "Szymańska",
    "Dąbrowska", "Kozłowska",  "Nowak",       "Wójcik",    "Mazur",
    "Woźniak",   "Kaczmarek",  "Zając",       "Krawczyk"};
static const char *const CZ_F[] = {"Tereza", "Lucie",   "Kateřina", "Jana",
                                   "Petra",  "Markéta", "Barbora",  "Veronika",
                                   "Zuzana", "Eliška"};
static const char *const CZ_M[] = {"Jiří",    "Tomáš",  "Martin", "Jan",
                                   "Petr",    "Ondřej", "Lukáš",  "Jakub",
                                   "Vojtěch", "Michal"};
static const char *const CZ_L[] = {"Novák", "Svoboda",   "Novotný", "Dvořák",
                                   "Černý", "Procházka", "Kučera",  "Veselý",
                                   "Horák", "Němec",     "Král",    "Růžička"};
static const char *const CZ_LF[] = {
    "Nováková", "Svobodová", "Novotná",  "Dvořáková", "Černá",   "Procházková",
    "Kučerová", "Veselá",    "Horáková", "Němcová",   "Králová", "Růžičková"};
static const char *const NL_F[] = {"Sanne", "Lotte", "Femke", "Eline",
                                   "Anouk", "Ine",   "Lieve", "Marieke",
                                   "Noor",  "Fleur"};
static const char *const NL_M[] = {"Daan",   "Bram",   "Joost",  "Maarten",
                                   "Sander", "Pieter", "Wouter", "Koen",
                                   "Thijs",  "Jeroen", "Ruben"};
static const char *const NL_L[] = {
    "de Jong", "Jansen",  "de Vries", "van den Berg", "van Dijk",
    "Bakker",  "Visser",  "Smit",     "Meijer",       "de Boer",
    "Mulder",  "Peeters", "Janssens", "Maes",         "Jacobs",
    "Willems", "Claes",   "Goossens", "Wouters",      "Vermeulen"};
static const char *const JA_F[] = {"Aiko",  "Sakura", "Yui",  "Kaori",
                                   "Naoko", "Emi",    "Mayu", "Akiko",
                                   "Yōko",  "Haruka"};
static const char *const JA_M[] = {"Haruto",  "Kenji", "Takashi", "Hiroshi",
                                   "Daisuke", "Shōta", "Ryō",     "Takumi",
                                   "Kazuki",  "Yūta"};
static const char *const JA_L[] = {
    "Satō",    "Suzuki",   "Takahashi", "Tanaka",    "Watanabe",
    "Itō",     "Yamamoto", "Nakamura",  "Kobayashi", "Katō",
    "Yoshida", "Yamada",   "Sasaki",    "Yamaguchi", "Matsumoto",
    "Inoue",   "Kimura",   "Hayashi",   "Shimizu",   "Saitō"};
static const char *const ZH_F[] = {"Jing", "Yan",  "Fang", "Min", "Xin",
                                   "Ting", "Ying", "Hui",  "Lan", "Xue"};
static const char *const ZH_M[] = {"Wei",    "Xiaoming", "Jun", "Lei",
                                   "Yifan",  "Hao",      "Jie", "Qiang",
                                   "Zhiwei", "Tao"};
static const char *const ZH_L[] = {"Wang", "Li",    "Zhang", "Liu", "Chen",
                                   "Yang", "Huang", "Zhao",  "Wu",  "Zhou",
                                   "Xu",   "Sun",   "Ma",    "Zhu", "Hu",
                                   "Guo",  "He",    "Lin",   "Gao", "Luo"};
static const char *const IN_F[] = {"Priya", "Ananya", "Deepika", "Kavya",
                                   "Sneha", "Neha",   "Divya",   "Meera",
                                   "Pooja", "Lakshmi"};
static const char *const IN_M[] = {"Arjun",  "Rahul",  "Vikram",  "Rohan",
                                   "Aditya", "Sanjay", "Karthik", "Amit",
                                   "Suresh", "Nikhil"};
static const char *const IN_L[] = {
    "Sharma", "Patel",    "Gupta",  "Singh", "Kumar", "Reddy",      "Iyer",
    "Nair",   "Mehta",    "Rao",    "Joshi", "Das",   "Chatterjee", "Banerjee",
    "Menon",  "Krishnan", "Pillai", "Verma", "Bose",  "Agarwal"};

typedef struct {
    const char *const *f;
    size_t nf;
    const char *const *m;
    size_t nm;
    const char *const *last;
    const char *const *last_f; /* feminine surname forms, NULL if none */
    size_t nl;
} namegroup_t;

#define NG(F, M, L, LF)                                                        \
    {                                                                          \
        F, NELEM(F), M, NELEM(M), L, LF, NELEM(L)                              \
    }

static const namegroup_t NAMES[NLANG] = {
    NG(FR_F, FR_M, FR_L, NULL),  NG(EN_F, EN_M, EN_L, NULL),
    NG(DE_F, DE_M, DE_L, NULL),  NG(SC_F, SC_M, SC_L, NULL),
    NG(IT_F, IT_M, IT_L, NULL),  NG(ES_F, ES_M, ES_L, NULL),
    NG(PL_F, PL_M, PL_L, PL_LF), NG(CZ_F, CZ_M, CZ_L, CZ_LF),
    NG(NL_F, NL_M, NL_L, NULL),  NG(JA_F, JA_M, JA_L, NULL),
    NG(ZH_F, ZH_M, ZH_L, NULL),  NG(IN_F, IN_M, IN_L, NULL),
};

/* ---- facilities and affiliations ------------------------------------------
 */

enum {
    F_ILL,
    F_ESRF,
    F_DLS,
    F_ISIS,
    F_ESS,
    F_PSI,
    F_MAXIV,
    F_PETRA,
    F_SOLEIL,
    NFAC
};

typedef struct {
    const char *name;        /* the "facility" field */
    const char *dir;         /* in file paths */
    const char *inst_prefix; /* instrument pid prefix */
    const char *prop_prefix; /* proposal pid prefix */
    const char
        *ds_prefix;    /* "<x>:ds-<n>" dataset pids; NULL: "<proposal>/ds<k>" */
    uint32_t run_base; /* first run number */
} facility_t;

static const facility_t FAC[NFAC] = {
    {"ILL", "ill", "10.5291/ILL-INSTRUMENT.", "10.5291/ILL-DATA.", NULL,
     100000},
    {"ESRF", "esrf", "esrf:", "esrf:", "esrf", 1},
    {"Diamond", "diamond", "diamond:", "diamond:", "diamond", 100000},
    {"ISIS", "isis", "isis:", "10.5286/ISIS.E.", NULL, 10000},
    {"ESS", "ess", "ess:", "ess:", "ess", 1},
    {"PSI", "psi", "psi:", "psi:", "psi", 1000},
    {"MAX IV", "maxiv", "maxiv:", "maxiv:", "maxiv", 1},
    {"PETRA III", "petra3", "desy:", "desy:", "desy", 1},
    {"SOLEIL", "soleil", "soleil:", "soleil:", "soleil", 1},
};

typedef struct {
    const char *name;
    const char *address; /* NULL: omitted */
    const char *city;
    const char *country;
    int lang;
} affiliation_t;

/* The first NFAC entries are the facilities, in facility order. The
 * affiliation id is the index + 1. */
static const affiliation_t AFF[] = {
    {"Institut Laue-Langevin", "71 avenue des Martyrs", "Grenoble", "France",
     L_FR},
    {"European Synchrotron Radiation Facility", "71 avenue des Martyrs",
     "Grenoble", "France", L_FR},
    {"Diamond Light Source", "Harwell Science and Innovation Campus", "Didcot",
     "United Kingdom", L_EN},
    {"ISIS Neutron and Muon Source",
     "Rutherford Appleton Laboratory, Harwell Campus", "Didcot",
     "United Kingdom", L_EN},
    {"European Spallation Source", "Partikelgatan 2", "Lund", "Sweden", L_SC},
    {"Paul Scherrer Institut", "Forschungsstrasse 111", "Villigen",
     "Switzerland", L_DE},
    {"MAX IV Laboratory", "Fotongatan 2", "Lund", "Sweden", L_SC},
    {"Deutsches Elektronen-Synchrotron DESY", "Notkestraße 85", "Hamburg",
     "Germany", L_DE},
    {"Synchrotron SOLEIL", "L'Orme des Merisiers", "Saint-Aubin", "France",
     L_FR},
    {"Université Grenoble Alpes", NULL, "Grenoble", "France", L_FR},
    {"University of Oxford", NULL, "Oxford", "United Kingdom", L_EN},
    {"University of Cambridge", NULL, "Cambridge", "United Kingdom", L_EN},
    {"Lund University", NULL, "Lund", "Sweden", L_SC},
    {"Uppsala University", NULL, "Uppsala", "Sweden", L_SC},
    {"Chalmers University of Technology", NULL, "Gothenburg", "Sweden", L_SC},
    {"University of Copenhagen", NULL, "Copenhagen", "Denmark", L_SC},
    {"Technical University of Denmark", NULL, "Kongens Lyngby", "Denmark",
     L_SC},
    {"Aarhus University", NULL, "Aarhus", "Denmark", L_SC},
    {"ETH Zürich", NULL, "Zürich", "Switzerland", L_DE},
    {"École Polytechnique Fédérale de Lausanne", NULL, "Lausanne",
     "Switzerland", L_FR},
    {"Technische Universität München", NULL, "Garching", "Germany", L_DE},
    {"Universität Hamburg", NULL, "Hamburg", "Germany", L_DE},
    {"Forschungszentrum Jülich", NULL, "Jülich", "Germany", L_DE},
    {"Max Planck Institute for Solid State Research", NULL, "Stuttgart",
     "Germany", L_DE},
    {"Sapienza Università di Roma", NULL, "Rome", "Italy", L_IT},
    {"Politecnico di Milano", NULL, "Milan", "Italy", L_IT},
    {"Universidad Autónoma de Madrid", NULL, "Madrid", "Spain", L_ES},
    {"Universitat de Barcelona", NULL, "Barcelona", "Spain", L_ES},
    {"Charles University", NULL, "Prague", "Czechia", L_CZ},
    {"Jagiellonian University", NULL, "Kraków", "Poland", L_PL},
    {"University of Warsaw", NULL, "Warsaw", "Poland", L_PL},
    {"University of Tokyo", NULL, "Tokyo", "Japan", L_JA},
    {"Kyoto University", NULL, "Kyoto", "Japan", L_JA},
    {"Massachusetts Institute of Technology", NULL, "Cambridge",
     "United States", L_EN},
    {"University of California, Berkeley", NULL, "Berkeley", "United States",
     L_EN},
    {"KU Leuven", NULL, "Leuven", "Belgium", L_NL},
    {"Delft University of Technology", NULL, "Delft", "Netherlands", L_NL},
    {"University of Amsterdam", NULL, "Amsterdam", "Netherlands", L_NL},
    {"University of Vienna", NULL, "Vienna", "Austria", L_DE},
    {"Sorbonne Université", NULL, "Paris", "France", L_FR},
    {"Université Paris-Saclay", NULL, "Orsay", "France", L_FR},
    {"CNRS Institut Néel", NULL, "Grenoble", "France", L_FR},
    {"University of Manchester", NULL, "Manchester", "United Kingdom", L_EN},
    {"Imperial College London", NULL, "London", "United Kingdom", L_EN},
    {"University of Edinburgh", NULL, "Edinburgh", "United Kingdom", L_EN},
    {"Tsinghua University", NULL, "Beijing", "China", L_ZH},
    {"Indian Institute of Science", NULL, "Bengaluru", "India", L_IN},
};

#define NAFF ((uint32_t)NELEM(AFF))
#define NUNIV (NAFF - NFAC)

/* ---- instruments -----------------------------------------------------------
 */

typedef struct {
    int fac;
    const char *name;
    int neutron;
    int first_year; /* first year of user operation (2012 = before the range) */
    double weight;  /* relative share of proposals */
    uint64_t techs;
    double lo,
        hi; /* wavelength (angstrom) for neutrons, photon energy (keV) else */
    double dmin, dmax; /* sample-detector distance (m); 0 = not reported */
    double bmin, bmax; /* beam size (um) */
} instrument_t;

static const instrument_t INSTR[] = {
    {F_ILL, "D11", 1, 2012, 1.0, MK(T_SANS) | MK(T_GISANS), 4.5, 13.0, 1.2,
     39.0, 5000, 15000},
    {F_ILL, "D22", 1, 2012, 1.0, MK(T_SANS) | MK(T_GISANS), 4.5, 20.0, 1.4,
     17.6, 5000, 15000},
    {F_ILL, "D33", 1, 2012, 1.0, MK(T_SANS) | MK(T_GISANS), 4.5, 20.0, 1.2,
     12.8, 5000, 15000},
    {F_ILL, "IN5", 1, 2012, 1.0, MK(T_INS), 2.0, 12.0, 0, 0, 10000, 50000},
    {F_ILL, "IN16B", 1, 2013, 1.0, MK(T_QENS), 6.27, 6.27, 0, 0, 10000, 30000},
    {F_ILL, "IN15", 1, 2012, 0.6, MK(T_NSE), 6.0, 24.0, 0, 0, 5000, 30000},
    {F_ILL, "D20", 1, 2012, 1.0, MK(T_NPD), 0.82, 2.41, 0, 0, 5000, 40000},
    {F_ILL, "D19", 1, 2012, 0.8, MK(T_NSCD), 1.17, 2.42, 0, 0, 1000, 5000},
    {F_ILL, "SuperADAM", 1, 2012, 0.7, MK(T_NR) | MK(T_PNR), 4.4, 5.2, 0, 0,
     100, 1000},
    {F_ESRF, "ID01", 0, 2012, 1.0, MK(T_CDI) | MK(T_PTYCHO) | MK(T_XRD), 6.0,
     12.0, 0.5, 5.0, 0.05, 2.0},
    {F_ESRF, "ID02", 0, 2012, 1.0,
     MK(T_SAXS) | MK(T_WAXS) | MK(T_GISAXS) | MK(T_XPCS), 10.0, 20.0, 0.8, 31.0,
     20, 200},
    {F_ESRF, "ID10", 0, 2012, 0.7, MK(T_XRR) | MK(T_GISAXS) | MK(T_XPCS), 7.0,
     22.0, 0.5, 5.0, 10, 100},
    {F_ESRF, "ID13", 0, 2012, 0.8,
     MK(T_WAXS) | MK(T_SAXS) | MK(T_XRF) | MK(T_PTYCHO), 12.5, 15.0, 0.1, 1.0,
     0.1, 2.0},
    {F_ESRF, "ID16A", 0, 2014, 0.8,
     MK(T_PTYCHO) | MK(T_NANOTOMO) | MK(T_XRF) | MK(T_CDI), 17.0, 33.6, 0, 0,
     0.02, 0.1},
    {F_ESRF, "BM29", 0, 2012, 1.0, MK(T_SAXS), 7.0, 15.0, 2.8, 2.9, 100, 700},
    {F_ESRF, "ID23-1", 0, 2012, 1.0, MK(T_MX) | MK(T_SSX), 5.0, 20.0, 0.12, 0.8,
     10, 45},
    {F_ESRF, "ID26", 0, 2012, 0.8,
     MK(T_XES) | MK(T_XANES) | MK(T_EXAFS) | MK(T_XAS), 2.4, 27.0, 0, 0, 20,
     500},
    {F_DLS, "I03", 0, 2012, 1.0, MK(T_MX) | MK(T_SSX), 5.0, 25.0, 0.15, 0.8, 20,
     80},
    {F_DLS, "I04", 0, 2012, 1.0, MK(T_MX), 6.0, 18.0, 0.15, 0.8, 5, 100},
    {F_DLS, "I22", 0, 2012, 1.0, MK(T_SAXS) | MK(T_WAXS) | MK(T_GISAXS), 7.0,
     20.0, 1.9, 9.9, 100, 320},
    {F_DLS, "B21", 0, 2013, 0.9, MK(T_SAXS), 12.4, 13.0, 3.6, 3.8, 500, 1000},
    {F_DLS, "I15-1", 0, 2017, 0.8, MK(T_PDF) | MK(T_XRPD) | MK(T_XRD), 40.0,
     76.7, 0.2, 1.0, 20, 700},
    {F_DLS, "I20", 0, 2012, 0.8,
     MK(T_XES) | MK(T_XANES) | MK(T_EXAFS) | MK(T_XAS), 4.0, 34.0, 0, 0, 50,
     400},
    {F_DLS, "I19", 0, 2012, 0.6, MK(T_SCXRD), 5.0, 25.5, 0.1, 0.3, 20, 200},
    {F_DLS, "I13-2", 0, 2013, 0.6, MK(T_MICROCT), 8.0, 30.0, 0, 0, 500, 8000},
    {F_ISIS, "LARMOR", 1, 2015, 1.0, MK(T_SANS) | MK(T_GISANS), 0.9, 13.0, 4.1,
     4.1, 6000, 12000},
    {F_ISIS, "SANS2D", 1, 2012, 1.0, MK(T_SANS) | MK(T_GISANS), 1.75, 16.5, 2.0,
     12.0, 6000, 12000},
    {F_ISIS, "WISH", 1, 2012, 1.0, MK(T_NPD), 1.5, 10.0, 0, 0, 10000, 40000},
    {F_ISIS, "LET", 1, 2012, 1.0, MK(T_INS), 1.0, 15.0, 0, 0, 20000, 40000},
    {F_ISIS, "POLREF", 1, 2012, 0.8, MK(T_NR) | MK(T_PNR), 2.0, 15.0, 0, 0, 100,
     1000},
    {F_ESS, "LoKI", 1, 2024, 0.1, MK(T_SANS) | MK(T_GISANS), 2.0, 22.0, 1.0,
     10.0, 5000, 20000},
    {F_ESS, "ODIN", 1, 2024, 0.1, MK(T_NPD) | MK(T_SANS), 1.0, 10.0, 0, 0,
     10000, 100000},
    {F_ESS, "DREAM", 1, 2024, 0.1, MK(T_NPD), 0.8, 4.0, 0, 0, 5000, 20000},
    {F_ESS, "ESTIA", 1, 2024, 0.1, MK(T_NR) | MK(T_PNR), 4.0, 10.0, 0, 0, 100,
     1000},
    {F_PSI, "SANS-I", 1, 2012, 1.0, MK(T_SANS) | MK(T_GISANS), 4.5, 20.0, 1.4,
     20.0, 5000, 15000},
    {F_PSI, "cSAXS", 0, 2012, 1.0,
     MK(T_SAXS) | MK(T_WAXS) | MK(T_PTYCHO) | MK(T_NANOTOMO), 6.2, 19.2, 2.1,
     7.1, 1, 50},
    {F_PSI, "X06SA", 0, 2012, 1.0, MK(T_MX) | MK(T_SSX), 6.0, 17.5, 0.1, 0.8,
     10, 80},
    {F_MAXIV, "BioMAX", 0, 2017, 0.9, MK(T_MX) | MK(T_SSX), 5.0, 25.0, 0.12,
     0.8, 5, 50},
    {F_MAXIV, "CoSAXS", 0, 2020, 0.8, MK(T_SAXS) | MK(T_WAXS) | MK(T_XPCS), 4.0,
     20.0, 1.0, 15.0, 10, 200},
    {F_MAXIV, "NanoMAX", 0, 2017, 0.8,
     MK(T_PTYCHO) | MK(T_CDI) | MK(T_XRF) | MK(T_NANOTOMO) | MK(T_XRD), 5.0,
     28.0, 0.3, 5.0, 0.05, 0.5},
    {F_PETRA, "P10", 0, 2012, 1.0,
     MK(T_XPCS) | MK(T_CDI) | MK(T_PTYCHO) | MK(T_SAXS), 7.0, 20.0, 2.0, 21.0,
     1, 20},
    {F_PETRA, "P11", 0, 2013, 1.0, MK(T_MX) | MK(T_SSX), 5.5, 30.0, 0.12, 1.0,
     4, 200},
    {F_PETRA, "P21.2", 0, 2019, 0.8, MK(T_PDF) | MK(T_XRPD) | MK(T_XRD), 40.0,
     150.0, 0.3, 2.0, 2, 500},
    {F_SOLEIL, "SWING", 0, 2012, 1.0, MK(T_SAXS) | MK(T_WAXS) | MK(T_GISAXS),
     5.0, 16.0, 0.5, 6.5, 25, 450},
    {F_SOLEIL, "PROXIMA-1", 0, 2012, 1.0, MK(T_MX) | MK(T_SSX), 5.5, 15.5, 0.1,
     1.0, 10, 100},
};

#define NINSTR ((int)NELEM(INSTR))

static char instr_pid[NELEM(INSTR)][64];
static char instr_lower[NELEM(INSTR)][32];

/* ---- science topics -------------------------------------------------------
 */

enum { A_BIO, A_SOFT, A_CHEM, A_MAT, A_HARD, A_HERITAGE };

typedef struct {
    const char *name;    /* e.g. "LiFePO4 cathode powder" */
    const char *formula; /* NULL: no chemical formula parameter */
    const char *desc;
} sample_tpl_t;

typedef struct {
    const char *name; /* plural noun phrase, lower case */
    int area;
    uint64_t techs;
    double tmin, tmax; /* sample temperature range (K) */
    int magnetic, pressure;
    const char *aspects[3];
    const char *motivation[2];
    const char *keywords[5];
    sample_tpl_t samples[4]; /* unused entries have name NULL */
} topic_t;

static const topic_t TOPIC[] = {
    {"protein complexes",
     A_BIO,
     MK(T_MX) | MK(T_SSX) | MK(T_SAXS) | MK(T_SANS),
     277,
     298,
     0,
     0,
     {"conformational dynamics", "assembly mechanism", "ligand binding modes"},
     {"Large protein complexes carry out most cellular functions, yet their "
      "transient "
      "conformations remain poorly characterised.",
      "Understanding how protein complexes assemble is essential for "
      "structure-based drug "
      "design."},
     {"structural biology", "protein complexes", "drug discovery",
      "conformational change", "biophysics"},
     {{"lysozyme in D2O (50 mg/ml)", "C613H959N193O185S10",
       "Hen egg-white lysozyme dissolved in 50 mM sodium acetate buffer in "
       "D2O, pH 4.5."},
      {"human insulin crystals", "C257H383N65O77S6",
       "Recombinant human insulin crystallised in the cubic form from "
       "zinc-free solution."},
      {"photosystem II microcrystals", NULL,
       "Photosystem II microcrystals (10–20 µm) from Thermosynechococcus "
       "vestitus in MES "
       "buffer."},
      {"DNA polymerase–DNA complex crystals", NULL,
       "Co-crystals of a family B DNA polymerase bound to a primer–template "
       "duplex."}}},
    {"lithium-ion battery cathodes",
     A_CHEM,
     MK(T_XRPD) | MK(T_NPD) | MK(T_XAS) | MK(T_XANES) | MK(T_EXAFS) |
         MK(T_PDF) | MK(T_XRD) | MK(T_PTYCHO) | MK(T_MICROCT) | MK(T_NANOTOMO),
     293,
     333,
     0,
     0,
     {"structural evolution during cycling", "lithium diffusion pathways",
      "degradation mechanisms"},
     {"Capacity fade in high-energy cathodes limits the lifetime of "
      "lithium-ion batteries for "
      "electric vehicles.",
      "Next-generation cathode materials must combine high energy density with "
      "long cycle "
      "life."},
     {"energy storage", "lithium-ion batteries", "cathode materials",
      "operando", "electrochemistry"},
     {{"LiFePO4 cathode powder", "LiFePO4",
       "Carbon-coated olivine LiFePO4 powder, cycled 50 times at C/2 in a coin "
       "cell."},
      {"NMC811 cathode (LiNi0.8Mn0.1Co0.1O2)", "LiNi0.8Mn0.1Co0.1O2",
       "Calendered NMC811 composite electrode harvested from a pouch cell "
       "after formation."},
      {"LiCoO2 thin-film electrode", "LiCoO2",
       "Sputtered LiCoO2 film (200 nm) on a platinum current collector."},
      {"LiMn2O4 spinel powder", "LiMn2O4",
       "Spinel LiMn2O4 powder for operando cycling in a modified coin cell."}}},
    {"perovskite solar cells",
     A_MAT,
     MK(T_GISAXS) | MK(T_WAXS) | MK(T_XRD) | MK(T_XRPD) | MK(T_NPD) |
         MK(T_PDF) | MK(T_XRF) | MK(T_XANES) | MK(T_INS) | MK(T_QENS),
     100,
     400,
     0,
     0,
     {"phase stability", "crystallisation kinetics", "ion migration"},
     {"Metal halide perovskites have reached power conversion efficiencies "
      "above 25 %, but "
      "their operational stability is still insufficient.",
      "Lead halide perovskites combine strong light absorption with long "
      "carrier diffusion "
      "lengths."},
     {"photovoltaics", "halide perovskites", "thin films", "phase transitions",
      "stability"},
     {{"CsPbBr3 nanocrystal film", "CsPbBr3",
       "Spin-coated film of oleate-capped CsPbBr3 nanocrystals (10 nm) on "
       "glass."},
      {"MAPbI3 thin film on ITO", "CH3NH3PbI3",
       "Methylammonium lead iodide film, 400 nm, prepared by antisolvent spin "
       "coating."},
      {"FAPbI3 powder", "HC(NH2)2PbI3",
       "Black-phase formamidinium lead iodide powder, sealed under argon."},
      {NULL, NULL, NULL}}},
    {"magnetic skyrmions",
     A_HARD,
     MK(T_SANS) | MK(T_NSCD) | MK(T_PNR) | MK(T_NR) | MK(T_INS) | MK(T_CDI) |
         MK(T_PTYCHO),
     1.5,
     300,
     1,
     0,
     {"skyrmion lattice formation", "magnetic phase diagram",
      "spin-wave excitations"},
     {"Magnetic skyrmions are topologically protected spin textures that are "
      "promising for "
      "low-power spintronic memory.",
      "Chiral magnets host skyrmion lattices whose stability depends "
      "sensitively on "
      "temperature and magnetic field."},
     {"magnetism", "skyrmions", "chiral magnets", "topology", "spintronics"},
     {{"MnSi single crystal", "MnSi",
       "Czochralski-grown MnSi single crystal, oriented along [110], 5×5×3 "
       "mm³."},
      {"Cu2OSeO3 single crystal", "Cu2OSeO3",
       "Cu2OSeO3 single crystal grown by chemical vapour transport."},
      {"FeGe thin film", "FeGe", "Epitaxial B20 FeGe film, 60 nm, on Si(111)."},
      {"Co8Zn8Mn4 bulk crystal", "Co8Zn8Mn4",
       "β-Mn-type Co8Zn8Mn4 crystal hosting room-temperature skyrmions."}}},
    {"polymer micelles",
     A_SOFT,
     MK(T_SANS) | MK(T_SAXS) | MK(T_WAXS) | MK(T_NSE) | MK(T_NR) | MK(T_XPCS),
     283,
     353,
     0,
     0,
     {"self-assembly", "core–corona structure", "chain exchange kinetics"},
     {"Block copolymer micelles are used as nanocarriers for drug delivery and "
      "as templates "
      "for nanostructured materials.",
      "The exchange of chains between polymer micelles controls their response "
      "to "
      "temperature and solvent quality."},
     {"soft matter", "block copolymers", "self-assembly", "micelles",
      "drug delivery"},
     {{"Pluronic P123 micelles in D2O", "(C2H4O)20(C3H6O)70(C2H4O)20",
       "PEO–PPO–PEO triblock copolymer P123, 5 wt% in D2O."},
      {"PS-b-PEO micelles in DMF/water", NULL,
       "Polystyrene-block-poly(ethylene oxide), Mn = 20 kg/mol, 1 wt%."},
      {"deuterated polystyrene in cyclohexane", "(C8D8)n",
       "Deuterated polystyrene (Mw = 50 kg/mol) near the theta temperature."},
      {NULL, NULL, NULL}}},
    {"zeolite catalysts",
     A_CHEM,
     MK(T_XRPD) | MK(T_NPD) | MK(T_XAS) | MK(T_EXAFS) | MK(T_XANES) |
         MK(T_XES) | MK(T_PDF) | MK(T_INS),
     293,
     773,
     0,
     1,
     {"active site structure", "adsorption of probe molecules",
      "deactivation by coking"},
     {"Zeolites are the workhorse catalysts of oil refining and increasingly "
      "of biomass "
      "conversion.",
      "Copper-exchanged zeolites selectively convert methane to methanol, but "
      "the nature of "
      "the active copper species is debated."},
     {"heterogeneous catalysis", "zeolites", "porous materials", "in situ",
      "methane activation"},
     {{"H-ZSM-5 zeolite powder (Si/Al = 40)", "HAlSi40O82",
       "Commercial H-ZSM-5, calcined at 550 °C and pressed into "
       "self-supporting pellets."},
      {"Cu-SSZ-13 powder", "Cu0.5AlSi11O24",
       "Copper-exchanged chabazite (Cu/Al = 0.5) activated in O2 at 500 °C."},
      {"NaY zeolite with adsorbed benzene", "Na56Al56Si136O384",
       "Faujasite NaY loaded with deuterated benzene (C6D6), two molecules per "
       "supercage."},
      {NULL, NULL, NULL}}},
    {"cement hydration",
     A_MAT,
     MK(T_XRPD) | MK(T_NPD) | MK(T_SANS) | MK(T_SAXS) | MK(T_MICROCT) |
         MK(T_INS) | MK(T_QENS) | MK(T_NANOTOMO),
     278,
     353,
     0,
     0,
     {"early-age hydration kinetics", "nanostructure of the C-S-H gel",
      "water dynamics in the pore network"},
     {"Cement production accounts for about 8 % of global CO2 emissions, "
      "motivating "
      "low-clinker binders.",
      "The calcium silicate hydrate gel governs the strength and durability of "
      "concrete."},
     {"construction materials", "cement", "hydration", "porous media",
      "sustainability"},
     {{"tricalcium silicate paste (w/c = 0.4)", "Ca3SiO5",
       "Synthetic triclinic C3S mixed with D2O at a water-to-cement ratio of "
       "0.4."},
      {"limestone calcined clay cement paste", NULL,
       "LC3 paste cured for 28 days at 20 °C and 95 % relative humidity."},
      {"ettringite powder", "Ca6Al2(SO4)3(OH)12·26H2O",
       "Synthetic ettringite precipitated from solution and dried at 35 % "
       "relative "
       "humidity."},
      {NULL, NULL, NULL}}},
    {"archaeological ceramics",
     A_HERITAGE,
     MK(T_XRF) | MK(T_XRPD) | MK(T_MICROCT) | MK(T_XANES) | MK(T_NPD) |
         MK(T_XRD),
     293,
     298,
     0,
     0,
     {"firing technology", "pigment composition", "provenance"},
     {"Non-destructive analysis of ancient ceramics reveals how potters "
      "selected raw "
      "materials and controlled kiln atmospheres.",
      "The microstructure of glossy slips records the firing conditions used "
      "by ancient "
      "workshops."},
     {"cultural heritage", "archaeometry", "ceramics",
      "non-destructive analysis", "pigments"},
     {{"Roman terra sigillata sherd", NULL,
       "Fragment of a 1st-century terra sigillata bowl from La Graufesenque, "
       "on loan from "
       "the museum."},
      {"Attic black-gloss sherd", NULL,
       "Sherd of an Attic black-gloss kylix, 5th century BC."},
      {"Egyptian blue pigment", "CaCuSi4O10",
       "Egyptian blue particles sampled from a painted limestone fragment."},
      {NULL, NULL, NULL}}},
    {"lipid membranes",
     A_SOFT,
     MK(T_SANS) | MK(T_SAXS) | MK(T_WAXS) | MK(T_NR) | MK(T_XRR) |
         MK(T_GISAXS) | MK(T_GISANS) | MK(T_NSE) | MK(T_QENS),
     283,
     330,
     0,
     0,
     {"bilayer structure", "interaction with antimicrobial peptides",
      "lipid raft formation"},
     {"Cell membranes are dynamic assemblies of lipids and proteins whose "
      "organisation "
      "controls signalling and transport.",
      "Antimicrobial peptides disrupt bacterial membranes, offering an "
      "alternative to "
      "conventional antibiotics."},
     {"biological membranes", "lipids", "soft matter", "antimicrobial peptides",
      "biophysics"},
     {{"DMPC vesicles in D2O", "C36H72NO8P",
       "Unilamellar 1,2-dimyristoyl-sn-glycero-3-phosphocholine vesicles, 100 "
       "nm, 10 mg/ml."},
      {"POPC supported bilayer on silicon", "C42H82NO8P",
       "POPC bilayer deposited by vesicle fusion on a polished Si(111) block."},
      {"DPPC multilamellar stack", "C40H80NO8P",
       "Oriented DPPC multilayers on a glass substrate at 98 % relative "
       "humidity."},
      {NULL, NULL, NULL}}},
    {"high-entropy alloys",
     A_MAT,
     MK(T_NPD) | MK(T_XRPD) | MK(T_XRD) | MK(T_PDF) | MK(T_MICROCT) |
         MK(T_SANS) | MK(T_EXAFS),
     293,
     1273,
     0,
     0,
     {"deformation mechanisms", "phase stability at high temperature",
      "local chemical order"},
     {"High-entropy alloys combine several principal elements and show "
      "exceptional strength "
      "and ductility at cryogenic temperatures.",
      "The role of short-range chemical order in multi-principal-element "
      "alloys remains "
      "controversial."},
     {"metallurgy", "high-entropy alloys", "mechanical properties",
      "in situ loading", "phase transformations"},
     {{"CoCrFeMnNi (Cantor alloy) tensile bar", "CoCrFeMnNi",
       "Equiatomic Cantor alloy, homogenised at 1200 °C and machined into a "
       "dog-bone "
       "specimen."},
      {"AlCoCrFeNi2.1 eutectic alloy", "AlCoCrFeNi2.1",
       "Cast eutectic high-entropy alloy with a lamellar FCC/B2 "
       "microstructure."},
      {"TiZrHfNbTa refractory alloy", "TiZrHfNbTa",
       "Arc-melted refractory high-entropy alloy, cold rolled to 50 % "
       "reduction."},
      {NULL, NULL, NULL}}},
    {"metal-organic frameworks",
     A_CHEM,
     MK(T_XRPD) | MK(T_NPD) | MK(T_INS) | MK(T_PDF) | MK(T_SAXS) | MK(T_XAS) |
         MK(T_SCXRD),
     10,
     400,
     0,
     1,
     {"gas adsorption sites", "framework flexibility", "guest dynamics"},
     {"Metal-organic frameworks offer tunable pores for carbon capture and gas "
      "storage.",
      "Flexible frameworks can open and close their pores in response to guest "
      "molecules."},
     {"porous materials", "metal-organic frameworks", "gas adsorption",
      "carbon capture", "crystallography"},
     {{"ZIF-8 powder", "Zn(C4H5N2)2",
       "Zeolitic imidazolate framework ZIF-8, activated under vacuum at 150 "
       "°C."},
      {"HKUST-1 with adsorbed CO2", "Cu3(C9H3O6)2",
       "Activated HKUST-1 (Cu3(BTC)2) dosed with CO2 in a gas cell."},
      {"UiO-66 powder", "Zr6O4(OH)4(C8H4O4)6",
       "Zirconium terephthalate UiO-66 with controlled linker vacancies."},
      {NULL, NULL, NULL}}},
    {"quantum spin liquids",
     A_HARD,
     MK(T_INS) | MK(T_QENS) | MK(T_NPD) | MK(T_NSCD),
     0.05,
     300,
     1,
     0,
     {"magnetic excitation spectrum", "magnetic ground state",
      "spinon continuum"},
     {"Quantum spin liquids are exotic states of matter with long-range "
      "entanglement and "
      "fractionalised excitations.",
      "Frustrated magnets on kagome and honeycomb lattices are leading "
      "candidates for "
      "quantum spin liquid behaviour."},
     {"quantum magnetism", "frustration", "spin liquids",
      "magnetic excitations", "strongly correlated electrons"},
     {{"herbertsmithite single crystal", "ZnCu3(OH)6Cl2",
       "Deuterated herbertsmithite crystals co-aligned on aluminium plates."},
      {"α-RuCl3 single crystal", "RuCl3",
       "Vapour-grown α-RuCl3 crystals, co-aligned mosaic of 30 pieces."},
      {"Yb2Ti2O7 powder", "Yb2Ti2O7",
       "Stoichiometric Yb2Ti2O7 powder, 5 g, in a copper can."},
      {NULL, NULL, NULL}}},
    {"cuprate superconductors",
     A_HARD,
     MK(T_INS) | MK(T_NPD) | MK(T_NSCD) | MK(T_XRD) | MK(T_SANS) | MK(T_XAS),
     2,
     300,
     1,
     0,
     {"charge density wave order", "vortex lattice", "spin fluctuations"},
     {"Decades after their discovery, the mechanism of high-temperature "
      "superconductivity in "
      "the cuprates remains unresolved.",
      "Competing charge and spin orders are thought to shape the phase diagram "
      "of the "
      "cuprate superconductors."},
     {"superconductivity", "cuprates", "charge order",
      "strongly correlated electrons", "magnetism"},
     {{"YBa2Cu3O6.6 single crystal", "YBa2Cu3O6.6",
       "Detwinned ortho-II YBCO crystal, Tc = 61 K."},
      {"La1.875Sr0.125CuO4 crystal", "La1.875Sr0.125CuO4",
       "Travelling-solvent floating-zone grown LSCO crystal (x = 1/8)."},
      {"Bi2Sr2CaCu2O8+δ crystal", "Bi2Sr2CaCu2O8",
       "Optimally doped Bi-2212 crystal, Tc = 91 K."},
      {NULL, NULL, NULL}}},
    {"spintronic multilayers",
     A_HARD,
     MK(T_PNR) | MK(T_NR) | MK(T_XRR) | MK(T_GISANS) | MK(T_GISAXS) | MK(T_XAS),
     4,
     400,
     1,
     0,
     {"interfacial magnetism", "exchange bias", "magnetic depth profile"},
     {"Magnetic multilayers underpin hard-disk read heads and magnetic "
      "random-access memory.",
      "Interfaces between magnetic and non-magnetic layers give rise to "
      "emergent phenomena "
      "such as exchange bias."},
     {"thin films", "magnetism", "spintronics", "interfaces", "multilayers"},
     {{"[Fe/Cr]20 superlattice on MgO", NULL,
       "Epitaxial Fe(3 nm)/Cr(1 nm) superlattice, 20 repeats, on MgO(001)."},
      {"La0.7Sr0.3MnO3 film on SrTiO3", "La0.7Sr0.3MnO3",
       "Pulsed-laser-deposited LSMO film, 30 nm, on SrTiO3(001)."},
      {"CoFeB/MgO tunnel junction stack", NULL,
       "Sputtered CoFeB/MgO/CoFeB stack, annealed at 300 °C."},
      {NULL, NULL, NULL}}},
    {"hydrogen storage materials",
     A_CHEM,
     MK(T_NPD) | MK(T_INS) | MK(T_QENS) | MK(T_SANS) | MK(T_XRPD) | MK(T_PDF),
     20,
     600,
     0,
     1,
     {"hydrogen diffusion", "hydride formation", "vibrational dynamics"},
     {"Safe and compact storage of hydrogen is a key challenge for a "
      "hydrogen-based energy "
      "economy.",
      "Complex hydrides can store large amounts of hydrogen but release it "
      "only at high "
      "temperatures."},
     {"hydrogen storage", "metal hydrides", "energy materials", "diffusion",
      "in situ"},
     {{"MgH2 nanopowder", "MgH2",
       "Ball-milled MgH2 with 5 wt% Nb2O5 catalyst, handled in an argon "
       "glovebox."},
      {"LaNi5 hydride", "LaNi5H6",
       "LaNi5 ingot activated by hydrogen cycling and loaded to LaNi5H6."},
      {"Ti-doped NaAlH4", "NaAlH4",
       "Sodium alanate doped with 2 mol% TiCl3 by ball milling."},
      {NULL, NULL, NULL}}},
    {"pharmaceutical polymorphs",
     A_CHEM,
     MK(T_XRPD) | MK(T_PDF) | MK(T_SCXRD) | MK(T_SAXS) | MK(T_WAXS) |
         MK(T_MICROCT),
     100,
     450,
     0,
     0,
     {"polymorphic transformations", "crystallisation pathways",
      "amorphous stability"},
     {"Different polymorphs of a drug can differ in solubility and "
      "bioavailability, so "
      "controlling crystallisation is crucial.",
      "Amorphous formulations increase the solubility of poorly water-soluble "
      "drugs but tend "
      "to recrystallise."},
     {"pharmaceuticals", "polymorphism", "crystallisation", "amorphous solids",
      "formulation"},
     {{"paracetamol form II powder", "C8H9NO2",
       "Orthorhombic paracetamol obtained by melt crystallisation."},
      {"carbamazepine form III crystals", "C15H12N2O",
       "Commercial carbamazepine recrystallised from ethanol."},
      {"amorphous indomethacin", "C19H16ClNO4",
       "Melt-quenched indomethacin stored below its glass transition."},
      {NULL, NULL, NULL}}},
    {"colloidal glasses",
     A_SOFT,
     MK(T_XPCS) | MK(T_SAXS) | MK(T_SANS) | MK(T_NSE),
     278,
     330,
     0,
     0,
     {"slow dynamics", "ageing", "yielding under shear"},
     {"Dense colloidal suspensions are model systems for the glass transition.",
      "How soft glassy materials yield under shear matters for the processing "
      "of pastes, "
      "foods and cosmetics."},
     {"soft matter", "colloids", "glass transition", "rheology", "dynamics"},
     {{"silica nanoparticle suspension (φ = 0.4)", "SiO2",
       "Stöber silica spheres (radius 110 nm) dispersed in glycerol–water."},
      {"PNIPAM microgels in D2O", "(C6H11NO)n",
       "Thermoresponsive poly(N-isopropylacrylamide) microgels, 1 wt%."},
      {"PMMA colloids in decalin", "(C5H8O2)n",
       "Sterically stabilised PMMA spheres at a volume fraction of 0.58."},
      {NULL, NULL, NULL}}},
    {"semiconductor nanowires",
     A_MAT,
     MK(T_PTYCHO) | MK(T_CDI) | MK(T_XRD) | MK(T_XRF) | MK(T_NANOTOMO),
     293,
     773,
     0,
     0,
     {"strain distribution", "composition gradients", "defect structure"},
     {"Semiconductor nanowires enable novel optoelectronic devices whose "
      "performance depends "
      "on strain and composition at the nanoscale.",
      "Coherent X-ray imaging can map lattice strain inside single "
      "nanostructures "
      "non-destructively."},
     {"nanostructures", "semiconductors", "strain", "coherent imaging",
      "nanowires"},
     {{"InGaAs/GaAs core–shell nanowire", "In0.3Ga0.7As",
       "Single MOVPE-grown core–shell nanowire transferred onto a Si3N4 "
       "membrane."},
      {"SiGe nanowire", "Si0.7Ge0.3",
       "Vapour–liquid–solid grown SiGe nanowire, 80 nm diameter."},
      {"GaN nanowires on Si(111)", "GaN",
       "Self-assembled GaN nanowire ensemble grown by molecular beam epitaxy."},
      {NULL, NULL, NULL}}},
    {"bone and biominerals",
     A_BIO,
     MK(T_SAXS) | MK(T_WAXS) | MK(T_MICROCT) | MK(T_XRF) | MK(T_NANOTOMO) |
         MK(T_PTYCHO),
     293,
     310,
     0,
     0,
     {"mineral nanostructure", "collagen–mineral interface", "remodelling"},
     {"Bone is a hierarchical composite of collagen and mineral whose "
      "structure adapts to "
      "mechanical load.",
      "Biomineralising organisms control crystal growth with remarkable "
      "precision."},
     {"biomineralisation", "bone", "hierarchical materials", "imaging",
      "collagen"},
     {{"human trabecular bone biopsy", "Ca10(PO4)6(OH)2",
       "Iliac crest biopsy embedded in PMMA, 200 µm section."},
      {"nacre from Haliotis", "CaCO3",
       "Polished cross-section of abalone nacre."},
      {"zebrafish fin ray", NULL,
       "Fixed zebrafish caudal fin, 7 days post amputation."},
      {NULL, NULL, NULL}}},
    {"cellulose nanomaterials",
     A_SOFT,
     MK(T_SANS) | MK(T_SAXS) | MK(T_WAXS) | MK(T_NR) | MK(T_MICROCT) |
         MK(T_GISAXS),
     293,
     353,
     0,
     0,
     {"fibril aggregation", "swelling behaviour", "interaction with water"},
     {"Cellulose nanofibrils are renewable building blocks for sustainable "
      "packaging and "
      "composites.",
      "The hierarchical structure of wood cell walls controls their mechanical "
      "and "
      "hygroscopic properties."},
     {"biopolymers", "cellulose", "sustainable materials", "nanostructure",
      "hydrogels"},
     {{"cellulose nanofibril hydrogel", "(C6H10O5)n",
       "TEMPO-oxidised cellulose nanofibrils, 1 wt% in D2O."},
      {"spruce wood section", NULL,
       "Norway spruce latewood section, 100 µm thick, conditioned at 80 % "
       "relative humidity."},
      {"bacterial cellulose film", "(C6H10O5)n",
       "Freeze-dried bacterial cellulose pellicle from Komagataeibacter "
       "xylinus."},
      {NULL, NULL, NULL}}},
    {"water in confinement",
     A_SOFT,
     MK(T_QENS) | MK(T_INS) | MK(T_NSE) | MK(T_SANS) | MK(T_NPD),
     150,
     300,
     0,
     0,
     {"diffusion dynamics", "hydrogen-bond network", "freezing behaviour"},
     {"Water confined in nanopores behaves very differently from bulk water, "
      "with "
      "implications for geology, biology and fuel cells.",
      "Proton transport in hydrated membranes governs the efficiency of fuel "
      "cells."},
     {"water", "confinement", "diffusion", "fuel cells", "dynamics"},
     {{"water in MCM-41 (3 nm pores)", "H2O",
       "Mesoporous silica MCM-41 hydrated to full pore filling."},
      {"Nafion membrane hydrated with D2O", "D2O",
       "Nafion 117 membrane equilibrated at 95 % relative humidity."},
      {"water in Vycor glass", "H2O",
       "Porous Vycor glass (4 nm pores) at 50 % pore filling."},
      {NULL, NULL, NULL}}},
    {"supported metal catalysts",
     A_CHEM,
     MK(T_XAS) | MK(T_XANES) | MK(T_EXAFS) | MK(T_XES) | MK(T_XRD) | MK(T_PDF) |
         MK(T_SAXS) | MK(T_XRPD),
     293,
     873,
     0,
     1,
     {"oxidation state changes", "particle sintering",
      "metal–support interaction"},
     {"Supported metal nanoparticles catalyse reactions from exhaust treatment "
      "to fuel "
      "synthesis.",
      "The active state of a catalyst often exists only under reaction "
      "conditions."},
     {"heterogeneous catalysis", "nanoparticles", "operando", "spectroscopy",
      "CO2 conversion"},
     {{"Pt3Co nanoparticles on carbon", "Pt3Co",
       "Fuel-cell catalyst, 30 wt% Pt3Co on Vulcan carbon."},
      {"Au nanoparticles on CeO2", NULL,
       "Gold nanoparticles (3 nm) deposited on ceria rods."},
      {"Cu/ZnO/Al2O3 methanol catalyst", NULL,
       "Industrial methanol synthesis catalyst, reduced in H2 at 250 °C."},
      {NULL, NULL, NULL}}},
    {"metalloenzymes",
     A_BIO,
     MK(T_XES) | MK(T_XAS) | MK(T_XANES) | MK(T_EXAFS) | MK(T_SSX) | MK(T_MX),
     10,
     298,
     0,
     0,
     {"active site electronic structure", "catalytic intermediates",
      "cofactor assembly"},
     {"Metalloenzymes perform difficult chemical transformations such as "
      "nitrogen fixation "
      "under ambient conditions.",
      "Time-resolved studies can capture short-lived intermediates in "
      "enzymatic catalysis."},
     {"bioinorganic chemistry", "metalloenzymes", "enzymology", "time-resolved",
      "spectroscopy"},
     {{"[FeFe]-hydrogenase solution", NULL,
       "Anaerobically purified [FeFe]-hydrogenase, 1 mM, in HEPES buffer."},
      {"nitrogenase MoFe protein crystals", NULL,
       "MoFe protein from Azotobacter vinelandii crystallised under argon."},
      {"photosystem II membrane fragments", NULL,
       "PSII-enriched membrane fragments from spinach, frozen at 77 K."},
      {NULL, NULL, NULL}}},
};

#define NTOPIC ((uint32_t)NELEM(TOPIC))

static int topic_nsamples(const topic_t *t)
{
    int n = 0;
    while (n < 4 && t->samples[n].name != NULL) {
        n++;
    }
    return n;
}

/* ---- generator state -------------------------------------------------------
 */

typedef struct {
    rng_t rng;
    uint64_t seed;
    writer *wds, *wdoc;
    uint64_t n_target; /* datasets to write */
    uint64_t n_ds, n_prop, n_pub;
    uint64_t file_id, param_id, member_id, sample_id;
    uint32_t fac_seq[NFAC];
    uint32_t fac_run[NFAC];
    uint32_t pub_seq;
    uint32_t n_persons, n_staff, staff_per_fac, n_users;
} gen_t;

/* ---- people ----------------------------------------------------------------
 */

typedef struct {
    const char *first, *last;
    char orcid[24]; /* "0000-000X-XXXX-XXXX" */
    uint32_t aff;
} person_t;

/* ISO 7064 MOD 11-2 check character of 15 digits. */
static char orcid_check(const char *digits15)
{
    unsigned total = 0;
    for (int i = 0; i < 15; i++) {
        total = (total + (unsigned)(digits15[i] - '0')) * 2;
    }
    unsigned result = (12 - total % 11) % 11;
    return result == 10 ? 'X' : (char)('0' + result);
}

#define ORCID_SPACE 30000000u
#define ORCID_MULT                                                             \
    UINT64_C(7368787) /* coprime with ORCID_SPACE: a bijection                 \
                       */

static uint32_t group_aff(const gen_t *g, uint32_t group)
{
    return NFAC +
           (uint32_t)(mix64(g->seed ^ mix64(group * UINT64_C(2) + 0x5151)) %
                      NUNIV);
}

static uint32_t group_topic(const gen_t *g, uint32_t group)
{
    return (uint32_t)(mix64(g->seed ^ mix64(group * UINT64_C(2) + 0x7373)) %
                      NTOPIC);
}

/* Person idx, computed from the seed alone: persons 0 .. n_staff-1 are
 * facility staff (facility idx % NFAC), the rest users in research groups of
 * six sharing an affiliation. */
static void person_get(const gen_t *g, uint32_t idx, person_t *p)
{
    rng_t r = {mix64(g->seed ^ mix64((uint64_t)idx + UINT64_C(0x1234567)))};
    int home;
    if (idx < g->n_staff) {
        p->aff = idx % NFAC;
    } else {
        p->aff = group_aff(g, (idx - g->n_staff) / 6);
    }
    home = AFF[p->aff].lang;
    int lang = rng_chance(&r, 0.6) ? home : (int)rng_below(&r, NLANG);
    const namegroup_t *ng = &NAMES[lang];
    int female = rng_chance(&r, 0.45);
    /* consecutive surnames from a per-group (per-facility for staff) start,
     * so colleagues who share a language never share a surname */
    uint64_t team = idx < g->n_staff
                        ? (uint64_t)(idx % NFAC) + UINT64_C(0x5f00000000)
                        : (uint64_t)((idx - g->n_staff) / 6);
    uint32_t pos = idx < g->n_staff ? idx / NFAC : (idx - g->n_staff) % 6;
    uint32_t li =
        (uint32_t)((mix64(g->seed ^ mix64(team * 2 + 0x9191)) + pos) % ng->nl);
    if (female) {
        p->first = ng->f[rng_below(&r, (uint32_t)ng->nf)];
        p->last = ng->last_f != NULL ? ng->last_f[li] : ng->last[li];
    } else {
        p->first = ng->m[rng_below(&r, (uint32_t)ng->nm)];
        p->last = ng->last[li];
    }
    uint64_t off = mix64(g->seed ^ UINT64_C(0x0DC1D)) % ORCID_SPACE;
    uint32_t num = 10000000u +
                   (uint32_t)(((uint64_t)idx * ORCID_MULT + off) % ORCID_SPACE);
    char d[16];
    snprintf(d, sizeof(d), "0000000%08u", (unsigned)num);
    char c = orcid_check(d);
    snprintf(p->orcid, sizeof(p->orcid), "%.4s-%.4s-%.4s-%.3s%c", d, d + 4,
             d + 8, d + 12, c);
}

static void write_member(gen_t *g, writer *w, const char *role,
                         const char *docpid, uint32_t idx)
{
    person_t p;
    char iri[64], full[128];
    const affiliation_t *a;
    person_get(g, idx, &p);
    a = &AFF[p.aff];
    snprintf(iri, sizeof(iri), "https://orcid.org/%s", p.orcid);
    snprintf(full, sizeof(full), "%s %s", p.first, p.last);
    w_ku64(w, "{\"id\":", ++g->member_id);
    w_kstr(w, ",\"role\":", role);
    w_kstr(w, ",\"documentId\":", docpid);
    w_kstr(w, ",\"personId\":", iri);
    w_ku64(w, ",\"affiliationId\":", p.aff + 1);
    w_kstr(w, ",\"person\":{\"id\":", iri);
    w_kstr(w, ",\"fullName\":", full);
    w_kstr(w, ",\"firstName\":", p.first);
    w_kstr(w, ",\"lastName\":", p.last);
    w_kstr(w, ",\"orcid\":", p.orcid);
    w_ku64(w, "},\"affiliation\":{\"id\":", p.aff + 1);
    w_kstr(w, ",\"name\":", a->name);
    if (a->address != NULL) {
        w_kstr(w, ",\"address\":", a->address);
    }
    w_kstr(w, ",\"city\":", a->city);
    w_kstr(w, ",\"country\":", a->country);
    w_str(w, "}}");
}

/* ---- text helpers ----------------------------------------------------------
 */

static void cap_first(char *s)
{
    if (s[0] >= 'a' && s[0] <= 'z') {
        s[0] = (char)(s[0] - 'a' + 'A');
    }
}

static void sb_add(char *buf, size_t cap, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void sb_add(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
    va_list ap;
    int n;
    if (*len >= cap) {
        return;
    }
    va_start(ap, fmt);
    n = vsnprintf(buf + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    *len += (size_t)n;
    if (*len >= cap) {
        *len = cap - 1;
    }
}

static int pick_tech(rng_t *r, uint64_t mask)
{
    int cand[NTECH], n = 0;
    for (int t = 0; t < NTECH; t++) {
        if ((mask & MK(t)) != 0) {
            cand[n++] = t;
        }
    }
    return n > 0 ? cand[rng_below(r, (uint32_t)n)] : T_SAXS;
}

static void write_keywords(rng_t *r, writer *w, const topic_t *t, int tech)
{
    int order[5] = {0, 1, 2, 3, 4};
    int k = 2 + (int)rng_below(r, 4); /* plus the technique: 3..6 */
    for (int i = 4; i > 0; i--) {
        int j = (int)rng_below(r, (uint32_t)(i + 1));
        int tmp = order[i];
        order[i] = order[j];
        order[j] = tmp;
    }
    w_str(w, ",\"keywords\":[");
    w_jstr(w, TECH[tech].name);
    for (int i = 0; i < k; i++) {
        w_ch(w, ',');
        w_jstr(w, t->keywords[order[i]]);
    }
    w_ch(w, ']');
}

/* ---- proposals -------------------------------------------------------------
 */

enum { R_PI, R_CO, R_LC };

typedef struct {
    char pid[160];
    char title[320];
    int64_t created;
    int instr;
} ds_summary_t;

typedef struct {
    int fac, topic, ninstr, nsamples;
    int instr[2];
    int tpl[4]; /* sample templates */
    uint64_t sample_id[4];
    uint32_t person[MAX_MEMBERS];
    int role[MAX_MEMBERS];
    int npersons;
    int tech; /* main technique, for the text */
    int64_t start, end, release;
    int is_public, year, cycle, days;
    char code[64], pid[128];
    ds_summary_t ds[MAX_DS_PER_PROPOSAL];
    int nds;
} proposal_t;

static int has_person(const proposal_t *p, uint32_t idx)
{
    for (int i = 0; i < p->npersons; i++) {
        if (p->person[i] == idx) {
            return 1;
        }
    }
    return 0;
}

static void add_person(proposal_t *p, uint32_t idx, int role)
{
    if (p->npersons < MAX_MEMBERS && !has_person(p, idx)) {
        p->person[p->npersons] = idx;
        p->role[p->npersons] = role;
        p->npersons++;
    }
}

static uint32_t random_user(gen_t *g)
{
    return g->n_staff + rng_below(&g->rng, g->n_users);
}

static uint32_t group_member(gen_t *g, uint32_t pi)
{
    uint32_t grp = (pi - g->n_staff) / 6;
    uint32_t u = grp * 6 + rng_below(&g->rng, 6);
    if (u >= g->n_users) {
        u = rng_below(&g->rng, g->n_users);
    }
    return g->n_staff + u;
}

static int pick_instrument(gen_t *g, const topic_t *t)
{
    double total = 0.0, x;
    int last = -1;
    for (int i = 0; i < NINSTR; i++) {
        if ((INSTR[i].techs & t->techs) != 0) {
            total += INSTR[i].weight;
        }
    }
    x = rng_unit(&g->rng) * total;
    for (int i = 0; i < NINSTR; i++) {
        if ((INSTR[i].techs & t->techs) == 0) {
            continue;
        }
        last = i;
        x -= INSTR[i].weight;
        if (x < 0.0) {
            return i;
        }
    }
    return last >= 0 ? last : 0;
}

/* The proposal code in the facility's grammar. Every form embeds the
 * facility's sequence number s injectively, so codes never repeat. */
static void make_code(gen_t *g, proposal_t *p)
{
    rng_t *r = &g->rng;
    uint32_t s = g->fac_seq[p->fac]++;
    const topic_t *t = &TOPIC[p->topic];
    const instrument_t *in = &INSTR[p->instr[0]];
    size_t n = sizeof(p->code);
    switch (p->fac) {
    case F_ILL: {
        static const int college[] = {8, 9, 7, 1, 5, 1};
        uint32_t k = rng_below(r, 100);
        uint32_t num = s * 3 + rng_below(r, 3);
        int c = college[t->area];
        if (t->area == A_HARD) {
            c = rng_chance(r, 0.5) ? 4 : 5;
        }
        if (k < 80) {
            snprintf(p->code, n, "%d-%02u-%u", c, 1 + rng_below(r, 15),
                     100 + num);
        } else if (k < 88) {
            snprintf(p->code, n, "CRG-%u", 1000 + num);
        } else if (k < 93) {
            snprintf(p->code, n, "EASY-%u", 1000 + num);
        } else if (k < 97) {
            snprintf(p->code, n, "INTER-%u", 100 + num);
        } else {
            snprintf(p->code, n, "TEST-%u", 1000 + num);
        }
        break;
    }
    case F_ESRF: {
        static const char *const pre[] = {"LS", "SC", "CH", "MA", "HC", "HG"};
        const char *x = pre[t->area];
        uint32_t num = 1000 + s * 4 + rng_below(r, 4);
        if (t->area == A_BIO && (in->techs & (MK(T_MX) | MK(T_SSX))) != 0) {
            x = "MX";
        }
        if (rng_chance(r, 0.1)) {
            snprintf(p->code, n, "IH-%s-%u", x, num);
        } else {
            snprintf(p->code, n, "%s-%u", x, num);
        }
        break;
    }
    case F_DLS: {
        const char *x = "SM";
        uint32_t k = rng_below(r, 100);
        uint32_t num = 5000 + s * 40 + rng_below(r, 40);
        if ((in->techs & (MK(T_MX) | MK(T_SSX))) != 0) {
            x = "MX";
        } else if (k < 10) {
            x = "NT";
        } else if (k < 20) {
            x = "EE";
        } else if (k < 24) {
            x = "CM";
        }
        snprintf(p->code, n, "%s%u", x, num);
        break;
    }
    case F_ISIS:
        snprintf(p->code, n, "RB%02d%05u", p->year % 100,
                 s * 7 + rng_below(r, 7));
        break;
    case F_ESS:
        snprintf(p->code, n, "%04d%04u", p->year,
                 100 + s * 5 + rng_below(r, 5));
        break;
    case F_PSI:
        snprintf(p->code, n, "%04d%04u", p->year,
                 1000 + s * 9 + rng_below(r, 9));
        break;
    case F_MAXIV:
        snprintf(p->code, n, "%04d%04u", p->year,
                 2000 + s * 7 + rng_below(r, 7));
        break;
    case F_PETRA:
        snprintf(p->code, n, "I-%04d%04u", p->year,
                 10 + s * 6 + rng_below(r, 6));
        break;
    default:
        snprintf(p->code, n, "%04d%04u", p->year,
                 100 + s * 8 + rng_below(r, 8));
        break;
    }
    snprintf(p->pid, sizeof(p->pid), "%s%s", FAC[p->fac].prop_prefix, p->code);
}

static int64_t day_ms(int y, int m, int d)
{
    return days_from_civil(y, m, d) * DAY_MS;
}

static void plan_proposal(gen_t *g, proposal_t *p)
{
    rng_t *r = &g->rng;
    uint32_t pi = random_user(g);
    uint32_t grp = (pi - g->n_staff) / 6;
    const topic_t *t;
    const instrument_t *in;

    memset(p, 0, sizeof(*p));
    p->topic = rng_chance(r, 0.75) ? (int)group_topic(g, grp)
                                   : (int)rng_below(r, NTOPIC);
    t = &TOPIC[p->topic];
    p->instr[0] = pick_instrument(g, t);
    p->ninstr = 1;
    in = &INSTR[p->instr[0]];
    p->fac = in->fac;
    p->tech = pick_tech(r, in->techs & t->techs);

    /* dates: within user operation of the instrument, outside the ESRF-EBS
     * dark period */
    int64_t lo =
        days_from_civil(in->first_year > 2012 ? in->first_year : 2012, 1, 1);
    int64_t hi = days_from_civil(2025, 6, 30);
    int64_t day = lo;
    int64_t dark0 = days_from_civil(2018, 12, 10),
            dark1 = days_from_civil(2020, 8, 25);
    for (int tries = 0; tries < 16; tries++) {
        day = lo + (int64_t)rng_below(r, (uint32_t)(hi - lo + 1));
        if (p->fac != F_ESRF || day < dark0 || day > dark1) {
            break;
        }
    }
    p->start = day * DAY_MS + (int64_t)(7 + rng_below(r, 3)) * 3600000 +
               (int64_t)rng_below(r, 4) * 900000;
    p->days = 2 + (int)rng_below(r, 5);
    p->end = p->start + (int64_t)p->days * DAY_MS;
    p->release = add_years(p->end, 3);
    p->is_public = p->release <= day_ms(2026, 1, 1);
    int y, m, d;
    ms_ymd(p->start, &y, &m, &d);
    p->year = y;
    p->cycle = (m - 1) * 5 / 12 + 1;

    /* occasionally a second instrument of the same facility */
    if (rng_chance(r, 0.15)) {
        int cand[NELEM(INSTR)], nc = 0;
        for (int i = 0; i < NINSTR; i++) {
            if (i != p->instr[0] && INSTR[i].fac == p->fac &&
                (INSTR[i].techs & t->techs) != 0 &&
                INSTR[i].first_year <= p->year) {
                cand[nc++] = i;
            }
        }
        if (nc > 0) {
            p->instr[1] = cand[rng_below(r, (uint32_t)nc)];
            p->ninstr = 2;
        }
    }

    make_code(g, p);

    /* samples, shared by the proposal's datasets */
    int avail = topic_nsamples(t);
    int order[4] = {0, 1, 2, 3};
    for (int i = avail - 1; i > 0; i--) {
        int j = (int)rng_below(r, (uint32_t)(i + 1));
        int tmp = order[i];
        order[i] = order[j];
        order[j] = tmp;
    }
    p->nsamples = 1 + (int)rng_below(r, (uint32_t)(avail < 3 ? avail : 3));
    for (int i = 0; i < p->nsamples; i++) {
        p->tpl[i] = order[i];
        p->sample_id[i] = ++g->sample_id;
    }

    /* members: PI, co-proposers (mostly from the PI's group), local contact */
    add_person(p, pi, R_PI);
    int nco = (int)rng_below(r, 5);
    for (int i = 0; i < nco; i++) {
        uint32_t who =
            rng_chance(r, 0.7) ? group_member(g, pi) : random_user(g);
        add_person(p, who, R_CO);
    }
    uint32_t slot =
        ((uint32_t)p->instr[0] * 2 + rng_below(r, 2)) % g->staff_per_fac;
    add_person(p, (uint32_t)p->fac + NFAC * slot, R_LC);
}

/* ---- datasets --------------------------------------------------------------
 */

enum {
    P_TEMP,
    P_WL,
    P_ENERGY,
    P_PRESS,
    P_FIELD,
    P_EXPO,
    P_DIST,
    P_BEAM,
    P_FORMULA
};

static void write_param(gen_t *g, writer *w, int *first, const char *name,
                        const char *value, int value_is_string,
                        const char *unit, const char *owner_key,
                        const char *owner)
{
    if (!*first) {
        w_ch(w, ',');
    }
    *first = 0;
    w_ku64(w, "{\"id\":", ++g->param_id);
    w_kstr(w, ",\"name\":", name);
    w_str(w, ",\"value\":");
    if (value_is_string) {
        w_jstr(w, value);
    } else {
        w_str(w, value);
    }
    w_kstr(w, ",\"unit\":", unit);
    w_str(w, owner_key);
    w_jstr(w, owner);
    w_ch(w, '}');
}

static void gen_dataset(gen_t *g, proposal_t *p, int k, int nds)
{
    rng_t *r = &g->rng;
    writer *w = g->wds;
    const topic_t *t = &TOPIC[p->topic];
    int ii = p->ninstr == 2 && rng_chance(r, 0.4) ? p->instr[1] : p->instr[0];
    const instrument_t *in = &INSTR[ii];
    const facility_t *f = &FAC[in->fac];
    ds_summary_t *ds = &p->ds[k];
    char buf[512], num[48], temp_txt[48], field_txt[48];
    int first;

    g->n_ds++;
    if (f->ds_prefix != NULL) {
        snprintf(ds->pid, sizeof(ds->pid), "%s:ds-%" PRIu64, f->ds_prefix,
                 g->n_ds);
    } else {
        snprintf(ds->pid, sizeof(ds->pid), "%s/ds%d", p->pid, k + 1);
    }
    ds->instr = ii;
    ds->created = p->start + (int64_t)((double)(p->end - p->start) *
                                       ((double)k + rng_unit(r)) / (double)nds);

    /* techniques */
    uint64_t common = in->techs & t->techs;
    int tech0 = (ii == p->instr[0] && (in->techs & MK(p->tech)) != 0) &&
                        rng_chance(r, 0.7)
                    ? p->tech
                    : pick_tech(r, common != 0 ? common : in->techs);
    int tech1 = -1;
    if (rng_chance(r, 0.3)) {
        uint64_t rest = in->techs & ~MK(tech0);
        if ((rest & t->techs) != 0) {
            rest &= t->techs;
        }
        if (rest != 0) {
            tech1 = pick_tech(r, rest);
        }
    }

    /* samples */
    int s0 = (int)rng_below(r, (uint32_t)p->nsamples), s1 = -1;
    if (p->nsamples > 1 && rng_chance(r, 0.3)) {
        s1 = (s0 + 1 + (int)rng_below(r, (uint32_t)(p->nsamples - 1))) %
             p->nsamples;
    }
    const sample_tpl_t *st0 = &t->samples[p->tpl[s0]];
    const char *formula = st0->formula;
    if (formula == NULL && s1 >= 0) {
        formula = t->samples[p->tpl[s1]].formula;
    }

    /* parameters: temperature and wavelength or photon energy first, then a
     * random choice of the others that make sense here */
    int pool[8], np = 0, chosen[8], nchosen = 0;
    chosen[nchosen++] = P_TEMP;
    chosen[nchosen++] = in->neutron ? P_WL : P_ENERGY;
    pool[np++] = P_EXPO;
    if (in->dmax > 0) {
        pool[np++] = P_DIST;
    }
    pool[np++] = P_BEAM;
    if (t->pressure) {
        pool[np++] = P_PRESS;
    }
    if (t->magnetic) {
        pool[np++] = P_FIELD;
    }
    if (formula != NULL) {
        pool[np++] = P_FORMULA;
    }
    for (int i = np - 1; i > 0; i--) {
        int j = (int)rng_below(r, (uint32_t)(i + 1));
        int tmp = pool[i];
        pool[i] = pool[j];
        pool[j] = tmp;
    }
    int want = 2 + (int)rng_below(r, 4);
    for (int i = 0; i < np && nchosen < want; i++) {
        chosen[nchosen++] = pool[i];
    }
    if (rng_chance(r, 0.5)) {
        int tmp = chosen[0];
        chosen[0] = chosen[1];
        chosen[1] = tmp;
    }

    /* values, computed before the title that quotes them */
    char pval[8][48];
    const char *punit[8];
    const char *pname[8];
    int pstr[8];
    temp_txt[0] = '\0';
    field_txt[0] = '\0';
    for (int i = 0; i < nchosen; i++) {
        double v;
        pstr[i] = 0;
        switch (chosen[i]) {
        case P_TEMP:
            pname[i] = "sample_temperature";
            if ((tech0 == T_MX || tech0 == T_SSX) && rng_chance(r, 0.85)) {
                v = 100.0; /* cryo-cooled crystals */
            } else if (t->tmax >= 10 * t->tmin) {
                v = rng_logu(r, t->tmin, t->tmax); /* low-temperature physics */
            } else {
                v = rng_range(r, t->tmin, t->tmax);
            }
            if (v >= 250 && rng_chance(r, 0.3)) {
                fmt_fixed(round((v - 273.15) * 10) / 10, 1, pval[i],
                          sizeof(pval[i]));
                punit[i] = "celsius";
                snprintf(temp_txt, sizeof(temp_txt), "%s °C", pval[i]);
            } else {
                if (rng_chance(r, 0.5)) {
                    double q = v < 20 ? 0.5 : 5.0;
                    v = round(v / q) * q;
                    if (v < t->tmin) {
                        v = t->tmin;
                    }
                }
                fmt_fixed(v, v < 1 ? 3 : (v < 20 ? 2 : 1), pval[i],
                          sizeof(pval[i]));
                punit[i] = "K";
                snprintf(temp_txt, sizeof(temp_txt), "%s K", pval[i]);
            }
            break;
        case P_WL:
            pname[i] = "incident_wavelength";
            v = rng_range(r, in->lo, in->hi);
            if (rng_chance(r, 0.2)) {
                fmt_fixed(v / 10, 4, pval[i], sizeof(pval[i]));
                punit[i] = "nm";
            } else {
                fmt_fixed(v, 2, pval[i], sizeof(pval[i]));
                punit[i] = "angstrom";
            }
            break;
        case P_ENERGY:
            pname[i] = "incident_photon_energy";
            v = rng_range(r, in->lo, in->hi);
            if (rng_chance(r, 0.2)) {
                fmt_fixed(v * 1000, 1, pval[i], sizeof(pval[i]));
                punit[i] = "eV";
            } else {
                fmt_fixed(v, 3, pval[i], sizeof(pval[i]));
                punit[i] = "keV";
            }
            break;
        case P_PRESS: {
            uint32_t u = rng_below(r, 4);
            pname[i] = "sample_pressure";
            v = rng_logu(r, 0.01, 200.0);
            if (u == 0) {
                fmt_sig(v * 1e5, 3, pval[i], sizeof(pval[i]));
                punit[i] = "Pa";
            } else if (u == 1) {
                fmt_sig(v * 1e3, 3, pval[i], sizeof(pval[i]));
                punit[i] = "mbar";
            } else {
                fmt_sig(v, 3, pval[i], sizeof(pval[i]));
                punit[i] = "bar";
            }
            break;
        }
        case P_FIELD:
            pname[i] = "magnetic_field";
            v = rng_chance(r, 0.2) ? 0.0 : rng_range(r, 0.01, 12.0);
            fmt_fixed(v, 2, pval[i], sizeof(pval[i]));
            punit[i] = "T";
            snprintf(field_txt, sizeof(field_txt), "%s T", pval[i]);
            break;
        case P_EXPO:
            pname[i] = "exposure_time";
            v = rng_logu(r, 0.001, 600.0);
            fmt_sig(v, 3, pval[i], sizeof(pval[i]));
            punit[i] = "s";
            break;
        case P_DIST:
            pname[i] = "detector_distance";
            v = rng_range(r, in->dmin, in->dmax);
            if (rng_chance(r, 0.3)) {
                fmt_fixed(v * 1000, 0, pval[i], sizeof(pval[i]));
                punit[i] = "mm";
            } else {
                fmt_fixed(v, 3, pval[i], sizeof(pval[i]));
                punit[i] = "m";
            }
            break;
        case P_BEAM:
            pname[i] = "beam_size";
            v = rng_logu(r, in->bmin, in->bmax);
            if (v >= 1000 || (v >= 100 && rng_chance(r, 0.3))) {
                fmt_sig(v / 1000, 3, pval[i], sizeof(pval[i]));
                punit[i] = "mm";
            } else {
                fmt_sig(v, 3, pval[i], sizeof(pval[i]));
                punit[i] = "um";
            }
            break;
        default:
            pname[i] = "sample_chemical_formula";
            snprintf(pval[i], sizeof(pval[i]), "%s",
                     formula != NULL ? formula : "");
            punit[i] = "";
            pstr[i] = 1;
            break;
        }
    }

    /* run numbers and title */
    uint32_t nfiles = 1 + rng_below(r, 8);
    uint32_t run = f->run_base + g->fac_run[in->fac];
    g->fac_run[in->fac] += nfiles + rng_below(r, 25);
    if (field_txt[0] != '\0') {
        snprintf(ds->title, sizeof(ds->title), "%s of %s, %s, %s, run %u",
                 TECH[tech0].abbr, st0->name, temp_txt, field_txt,
                 (unsigned)run);
    } else {
        snprintf(ds->title, sizeof(ds->title), "%s of %s, %s, run %u",
                 TECH[tech0].abbr, st0->name, temp_txt, (unsigned)run);
    }

    uint64_t size = (uint64_t)rng_logu(r, 1e7, 5e11);

    w_record(w);
    w_kstr(w, "{\"pid\":", ds->pid);
    w_kstr(w, ",\"title\":", ds->title);
    w_kbool(w, ",\"isPublic\":", p->is_public);
    w_kdate(w, ",\"creationDate\":", ds->created);
    w_ku64(w, ",\"size\":", size);
    w_kstr(w, ",\"instrumentId\":", instr_pid[ii]);
    w_kstr(w, ",\"instrument\":{\"pid\":", instr_pid[ii]);
    w_kstr(w, ",\"name\":", in->name);
    w_kstr(w, ",\"facility\":", f->name);
    w_str(w, "}");

    /* files: sizes summing to the dataset size */
    double wsum = 0.0, wts[8];
    for (uint32_t i = 0; i < nfiles; i++) {
        wts[i] = 0.5 + rng_unit(r);
        wsum += wts[i];
    }
    snprintf(buf, sizeof(buf), "/data/%s/%d-%d/%s/raw", f->dir, p->year,
             p->cycle, p->code);
    int mx = tech0 == T_MX || tech0 == T_SSX;
    uint64_t left = size;
    w_str(w, ",\"files\":[");
    for (uint32_t i = 0; i < nfiles; i++) {
        char fname[96];
        uint64_t fs;
        if (i + 1 == nfiles) {
            fs = left;
        } else {
            fs = (uint64_t)((double)size * wts[i] / wsum);
            if (fs < 1) {
                fs = 1;
            }
            if (fs > left - (nfiles - 1 - i)) {
                fs = left - (nfiles - 1 - i);
            }
        }
        left -= fs;
        if (in->neutron) {
            if (in->fac == F_ILL) {
                snprintf(fname, sizeof(fname), "%06u.nxs", (unsigned)(run + i));
            } else if (in->fac == F_ISIS) {
                snprintf(fname, sizeof(fname), "%s%08u.nxs", in->name,
                         (unsigned)(run + i));
            } else {
                snprintf(fname, sizeof(fname), "run%06u.nxs",
                         (unsigned)(run + i));
            }
        } else if (mx) {
            if (in->fac == F_ESRF || in->fac == F_SOLEIL) {
                snprintf(fname, sizeof(fname), "image_%05u.cbf",
                         (unsigned)(i * 900 + 1));
            } else if (i == 0) {
                snprintf(fname, sizeof(fname), "xtal%u_master.h5",
                         (unsigned)(run % 1000));
            } else {
                snprintf(fname, sizeof(fname), "xtal%u_data_%06u.h5",
                         (unsigned)(run % 1000), (unsigned)i);
            }
        } else if (in->fac == F_DLS) {
            snprintf(fname, sizeof(fname), "%s-%06u.nxs", instr_lower[ii],
                     (unsigned)(run + i));
        } else {
            snprintf(fname, sizeof(fname), "scan_%04u.h5",
                     (unsigned)((run + i) % 10000));
        }
        if (i > 0) {
            w_ch(w, ',');
        }
        w_ku64(w, "{\"id\":", ++g->file_id);
        w_kstr(w, ",\"name\":", fname);
        w_kstr(w, ",\"path\":", buf);
        w_ku64(w, ",\"size\":", fs);
        w_kstr(w, ",\"datasetId\":", ds->pid);
        w_ch(w, '}');
    }
    w_ch(w, ']');

    w_str(w, ",\"samples\":[");
    for (int i = 0; i < 2; i++) {
        int si = i == 0 ? s0 : s1;
        if (si < 0) {
            continue;
        }
        const sample_tpl_t *st = &t->samples[p->tpl[si]];
        if (i > 0) {
            w_ch(w, ',');
        }
        snprintf(num, sizeof(num), "sample:%" PRIu64, p->sample_id[si]);
        w_kstr(w, "{\"pid\":", num);
        w_kstr(w, ",\"name\":", st->name);
        w_kstr(w, ",\"description\":", st->desc);
        w_ch(w, '}');
    }
    w_ch(w, ']');

    w_str(w, ",\"techniques\":[");
    for (int i = 0; i < 2; i++) {
        int te = i == 0 ? tech0 : tech1;
        if (te < 0) {
            continue;
        }
        if (i > 0) {
            w_ch(w, ',');
        }
        snprintf(buf, sizeof(buf), PANET_BASE "%s", TECH[te].id);
        w_kstr(w, "{\"pid\":", buf);
        w_kstr(w, ",\"name\":", TECH[te].name);
        w_kstr(w, ",\"panetId\":", buf);
        w_ch(w, '}');
    }
    w_ch(w, ']');

    w_str(w, ",\"parameters\":[");
    first = 1;
    for (int i = 0; i < nchosen; i++) {
        write_param(g, w, &first, pname[i], pval[i], pstr[i], punit[i],
                    ",\"datasetId\":", ds->pid);
    }
    w_str(w, "]}");
}

/* ---- documents -------------------------------------------------------------
 */

static void write_doc_datasets(writer *w, const proposal_t *p, const int *which,
                               int n)
{
    w_str(w, ",\"datasets\":[");
    for (int i = 0; i < n; i++) {
        const ds_summary_t *ds = &p->ds[which[i]];
        if (i > 0) {
            w_ch(w, ',');
        }
        w_kstr(w, "{\"pid\":", ds->pid);
        w_kstr(w, ",\"title\":", ds->title);
        w_kbool(w, ",\"isPublic\":", p->is_public);
        w_kdate(w, ",\"creationDate\":", ds->created);
        w_kstr(w, ",\"instrumentId\":", instr_pid[ds->instr]);
        w_ch(w, '}');
    }
    w_ch(w, ']');
}

static const char *const GENERIC[] = {
    "The experimental data will be combined with molecular dynamics "
    "simulations and density "
    "functional theory calculations.",
    "Preliminary laboratory measurements have demonstrated the feasibility of "
    "the experiment.",
    "A dedicated sample environment developed by our group will allow in situ "
    "measurements.",
    "The results will be published in a peer-reviewed journal and the data "
    "made openly "
    "available after the embargo period.",
    "Complementary laboratory X-ray and calorimetry data are already "
    "available.",
};

static void write_proposal(gen_t *g, proposal_t *p)
{
    rng_t *r = &g->rng;
    writer *w = g->wdoc;
    const topic_t *t = &TOPIC[p->topic];
    const char *aspect = t->aspects[rng_below(r, 3)];
    const char *sname = t->samples[p->tpl[0]].name;
    const char *tname = TECH[p->tech].name;
    const char *iname = INSTR[p->instr[0]].name;
    char title[512], summary[2048], tmin[32], tmax[32];
    size_t sl = 0;

    switch (rng_below(r, 5)) {
    case 0: snprintf(title, sizeof(title), "%s of %s", aspect, t->name); break;
    case 1:
        snprintf(title, sizeof(title), "Probing the %s of %s with %s", aspect,
                 t->name, tname);
        break;
    case 2:
        snprintf(title, sizeof(title), "In situ %s study of the %s in %s",
                 tname, aspect, t->name);
        break;
    case 3:
        snprintf(title, sizeof(title), "Resolving the %s of %s by %s", aspect,
                 sname, tname);
        break;
    default:
        snprintf(title, sizeof(title),
                 "Towards a microscopic understanding of the %s in %s", aspect,
                 t->name);
        break;
    }
    cap_first(title);

    sb_add(summary, sizeof(summary), &sl,
           "%s We propose to use %s on %s to determine the %s of %s.",
           t->motivation[rng_below(r, 2)], tname, iname, aspect, sname);
    int extra = (int)rng_below(r, 3);
    int g0 = (int)rng_below(r, (uint32_t)NELEM(GENERIC));
    for (int i = 0; i < extra; i++) {
        if (i == 0 && rng_chance(r, 0.4) && t->tmax - t->tmin > 10) {
            fmt_fixed(t->tmin, 2, tmin, sizeof(tmin));
            fmt_fixed(t->tmax, 2, tmax, sizeof(tmax));
            sb_add(summary, sizeof(summary), &sl,
                   " Measurements between %s K and %s K will allow us to "
                   "follow the %s in situ.",
                   tmin, tmax, aspect);
        } else {
            sb_add(summary, sizeof(summary), &sl, " %s",
                   GENERIC[(g0 + i) % (int)NELEM(GENERIC)]);
        }
    }

    g->n_prop++;
    w_record(w);
    w_kstr(w, "{\"pid\":", p->pid);
    w_kbool(w, ",\"isPublic\":", p->is_public);
    w_str(w, ",\"type\":\"proposal\"");
    /* Extension members pansift's pan source reads (docs/harvesting.md):
     * every generated proposal has data, so it was accepted. */
    w_str(w, ",\"status\":\"accepted\"");
    w_kstr(w, ",\"title\":", title);
    w_kstr(w, ",\"summary\":", summary);
    w_kdate(w, ",\"startDate\":", p->start);
    w_kdate(w, ",\"endDate\":", p->end);
    w_kdate(w, ",\"releaseDate\":", p->release);
    w_str(w, ",\"license\":\"CC-BY-4.0\"");
    write_keywords(r, w, t, p->tech);
    w_str(w, ",\"members\":[");
    for (int i = 0; i < p->npersons; i++) {
        static const char *const roles[] = {"principal investigator",
                                            "co-proposer", "local contact"};
        if (i > 0) {
            w_ch(w, ',');
        }
        write_member(g, w, roles[p->role[i]], p->pid, p->person[i]);
    }
    w_ch(w, ']');
    w_str(w, ",\"parameters\":[");
    {
        char v[32];
        int first = 1;
        snprintf(v, sizeof(v), "%d", p->days * 24);
        write_param(g, w, &first, "beamtime_allocated", v, 0, "h",
                    ",\"documentId\":", p->pid);
    }
    w_ch(w, ']');
    int all[MAX_DS_PER_PROPOSAL];
    for (int i = 0; i < p->nds; i++) {
        all[i] = i;
    }
    write_doc_datasets(w, p, all, p->nds);
    w_ch(w, '}');
}

static void write_publication(gen_t *g, proposal_t *p)
{
    rng_t *r = &g->rng;
    writer *w = g->wdoc;
    const topic_t *t = &TOPIC[p->topic];
    int64_t pub =
        (floor_div(p->end, DAY_MS) + 183 + (int64_t)rng_below(r, 731)) * DAY_MS;
    if (pub > day_ms(2025, 12, 31)) {
        return; /* not published yet */
    }
    const char *aspect = t->aspects[rng_below(r, 3)];
    const char *sname = t->samples[p->tpl[0]].name;
    const char *tname = TECH[p->tech].name;
    char title[512], summary[2048], pid[64], tcap[128];
    size_t sl = 0;

    snprintf(tcap, sizeof(tcap), "%s", tname);
    cap_first(tcap);
    switch (rng_below(r, 4)) {
    case 0:
        snprintf(title, sizeof(title), "%s in %s revealed by %s", aspect, sname,
                 tname);
        break;
    case 1:
        snprintf(title, sizeof(title), "Direct observation of the %s of %s",
                 aspect, t->name);
        break;
    case 2:
        snprintf(title, sizeof(title), "Unravelling the %s of %s with %s",
                 aspect, t->name, tname);
        break;
    default:
        snprintf(title, sizeof(title), "%s study of the %s in %s", tcap, aspect,
                 t->name);
        break;
    }
    cap_first(title);
    sb_add(
        summary, sizeof(summary), &sl,
        "%s Here we report %s measurements of %s carried out on %s at the %s.",
        t->motivation[rng_below(r, 2)], tname, sname, INSTR[p->instr[0]].name,
        AFF[p->fac].name);
    if (rng_chance(r, 0.5)) {
        sb_add(summary, sizeof(summary), &sl,
               " The data reveal a clear link between the %s and the "
               "macroscopic properties of "
               "%s.",
               aspect, t->name);
    } else {
        sb_add(summary, sizeof(summary), &sl,
               " Our results provide new insight into the %s of %s and suggest "
               "design rules "
               "for future studies.",
               aspect, t->name);
    }

    /* authors: co-proposers, a few others, maybe the local contact, the PI last
     */
    proposal_t au; /* reuses the person list helpers */
    au.npersons = 0;
    for (int i = 0; i < p->npersons; i++) {
        if (p->role[i] == R_CO) {
            add_person(&au, p->person[i], R_CO);
        }
    }
    for (int i = au.npersons - 1; i > 0; i--) {
        int j = (int)rng_below(r, (uint32_t)(i + 1));
        uint32_t tmp = au.person[i];
        au.person[i] = au.person[j];
        au.person[j] = tmp;
    }
    int others = (int)rng_below(r, 4);
    uint32_t pi = p->person[0];
    for (int i = 0; i < others; i++) {
        add_person(&au,
                   rng_chance(r, 0.5) ? group_member(g, pi) : random_user(g),
                   R_CO);
    }
    if (rng_chance(r, 0.6)) {
        add_person(&au, p->person[p->npersons - 1], R_CO);
    }
    add_person(&au, pi, R_CO);

    snprintf(pid, sizeof(pid), "10.5072/pansift.pub.%06u",
             (unsigned)(100000 + g->pub_seq * 9 + rng_below(r, 9)));
    g->pub_seq++;
    g->n_pub++;
    w_record(w);
    w_kstr(w, "{\"pid\":", pid);
    w_kbool(w, ",\"isPublic\":", 1);
    w_str(w, ",\"type\":\"publication\"");
    w_kstr(w, ",\"title\":", title);
    w_kstr(w, ",\"summary\":", summary);
    w_kstr(w, ",\"doi\":", pid);
    /* Journal and citations from the pid's hash, not the random stream, so
     * that the rest of the catalogue stays as it was. */
    {
        static const char *const journals[] = {
            "Physical Review B",
            "Journal of Applied Crystallography",
            "Nature Communications",
            "Physical Review Letters",
            "Journal of Physical Chemistry C",
            "Soft Matter",
            "Acta Crystallographica Section B"};
        uint32_t h = 2166136261u;
        for (const char *c = pid; *c; c++)
            h = (h ^ (unsigned char)*c) * 16777619u;
        w_kstr(w, ",\"journal\":", journals[h % NELEM(journals)]);
        w_ku64(w, ",\"citationCount\":", (h >> 8) % 60);
    }
    w_kdate(w, ",\"startDate\":", pub);
    w_kdate(w, ",\"endDate\":", pub);
    w_kdate(w, ",\"releaseDate\":", pub);
    w_str(w, ",\"license\":\"CC-BY-4.0\"");
    write_keywords(r, w, t, p->tech);
    w_str(w, ",\"members\":[");
    for (int i = 0; i < au.npersons; i++) {
        if (i > 0) {
            w_ch(w, ',');
        }
        write_member(g, w, "author", pid, au.person[i]);
    }
    w_str(w, "],\"parameters\":[]");
    /* 1 to 4 of the proposal's datasets, in order */
    int which[MAX_DS_PER_PROPOSAL], n = 0;
    int want = 1 + (int)rng_below(r, (uint32_t)(p->nds < 4 ? p->nds : 4));
    int start = (int)rng_below(r, (uint32_t)(p->nds - want + 1));
    for (int i = 0; i < want; i++) {
        which[n++] = start + i;
    }
    write_doc_datasets(w, p, which, n);
    w_ch(w, '}');
}

static void gen_proposal(gen_t *g)
{
    static proposal_t p; /* large; one at a time */
    rng_t *r = &g->rng;
    plan_proposal(g, &p);
    int nds = rng_chance(r, 0.9) ? 1 + (int)rng_below(r, 10)
                                 : 8 + (int)rng_below(r, 8);
    uint64_t left = g->n_target - g->n_ds;
    if ((uint64_t)nds > left) {
        nds = (int)left;
    }
    p.nds = nds;
    for (int k = 0; k < nds; k++) {
        gen_dataset(g, &p, k, nds);
    }
    write_proposal(g, &p);
    if (rng_chance(r, 0.4)) {
        write_publication(g, &p);
    }
}

/* ---- files and command line ------------------------------------------------
 */

static int make_dirs(const char *path)
{
    char buf[PATH_BUF];
    struct stat st;
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof(buf)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char save = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
                return -1;
            }
            buf[i] = save;
        }
    }
    if (stat(path, &st) != 0) {
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

static int w_open(writer *w, const char *dir, const char *name)
{
    int n = snprintf(w->path, sizeof(w->path), "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof(w->path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    w->fp = fopen(w->path, "wb");
    w->len = 0;
    w->err = 0;
    w->nrec = 0;
    return w->fp != NULL ? 0 : -1;
}

/* Flushes and closes; 0 or -1 with errno set. */
static int w_close(writer *w)
{
    int rc = 0;
    w_flush(w);
    if (w->fp != NULL && fclose(w->fp) != 0 && w->err == 0) {
        w->err = errno != 0 ? errno : EIO;
    }
    w->fp = NULL;
    if (w->err != 0) {
        errno = w->err;
        rc = -1;
    }
    return rc;
}

static void usage(FILE *fp)
{
    fprintf(
        fp,
        "usage: " PROG " --out DIR [--datasets N] [--seed S] [--quiet]\n"
        "\n"
        "Writes a synthetic, realistic multi-facility photon and neutron "
        "catalogue to\n"
        "DIR (created if missing): Instruments.json, Datasets.json and "
        "Documents.json,\n"
        "JSON arrays with one record per line, as pansift's PaN harvester "
        "reads them\n"
        "from a file:// URL. The same N and S always give byte-identical "
        "files.\n"
        "\n"
        "  --out DIR       output directory\n"
        "  --datasets N    number of datasets (default 2000, at most %lld)\n"
        "  --seed S        random seed, an unsigned integer (default 42)\n"
        "  --quiet         no summary line on stderr\n"
        "  --help          this text\n",
        MAX_DATASETS);
}

static int bad_args(const char *msg, const char *arg)
{
    fprintf(stderr, PROG ": %s%s%s%s (try --help)\n", msg,
            arg != NULL ? ", not '" : "", arg != NULL ? arg : "",
            arg != NULL ? "'" : "");
    return 2;
}

/* "--name VALUE" or "--name=VALUE": 1 and *val set, 0 if not this option,
 * -1 if the value is missing. */
#define EQUALS_SIGN 0x3d

static int opt_value(int argc, char **argv, int *i, const char *name,
                     const char **val)
{
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, n) != 0) {
        return 0;
    }
    if (a[n] == EQUALS_SIGN) {
        *val = a + n + 1;
        return 1;
    }
    if (a[n] != '\0') {
        return 0;
    }
    if (*i + 1 >= argc) {
        return -1;
    }
    *i += 1;
    *val = argv[*i];
    return 1;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end = NULL;
    unsigned long long v;
    if (s == NULL || *s < '0' || *s > '9') {
        return -1;
    }
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v > max) {
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

int main(int argc, char **argv)
{
    const char *out = NULL, *val = NULL;
    uint64_t n = 2000, seed = 42;
    int quiet = 0, rc;
    static writer w_inst, w_ds, w_doc;
    static gen_t g;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            quiet = 1;
            continue;
        }
        rc = opt_value(argc, argv, &i, "--out", &val);
        if (rc < 0) {
            return bad_args("--out needs a directory", NULL);
        }
        if (rc > 0) {
            if (val[0] == '\0') {
                return bad_args("--out needs a directory", NULL);
            }
            out = val;
            continue;
        }
        rc = opt_value(argc, argv, &i, "--datasets", &val);
        if (rc < 0) {
            return bad_args("--datasets needs a number", NULL);
        }
        if (rc > 0) {
            if (parse_u64(val, (uint64_t)MAX_DATASETS, &n) != 0) {
                return bad_args(
                    "--datasets wants an integer from 0 to 100000000", val);
            }
            continue;
        }
        rc = opt_value(argc, argv, &i, "--seed", &val);
        if (rc < 0) {
            return bad_args("--seed needs a number", NULL);
        }
        if (rc > 0) {
            if (parse_u64(val, UINT64_MAX, &seed) != 0) {
                return bad_args("--seed wants an unsigned 64-bit integer", val);
            }
            continue;
        }
        fprintf(stderr, PROG ": unknown argument '%s' (try --help)\n", a);
        return 2;
    }
    if (out == NULL) {
        return bad_args("missing --out DIR", NULL);
    }

    int64_t t0 = ps_mono_ns();
    if (make_dirs(out) != 0) {
        fprintf(stderr, PROG ": cannot create directory %s: %s\n", out,
                strerror(errno));
        return 1;
    }
    if (w_open(&w_inst, out, "Instruments.json") != 0 ||
        w_open(&w_ds, out, "Datasets.json") != 0 ||
        w_open(&w_doc, out, "Documents.json") != 0) {
        fprintf(stderr, PROG ": cannot write to %s: %s\n", out,
                strerror(errno));
        return 1;
    }

    /* fixed tables */
    for (int i = 0; i < NINSTR; i++) {
        snprintf(instr_pid[i], sizeof(instr_pid[i]), "%s%s",
                 FAC[INSTR[i].fac].inst_prefix, INSTR[i].name);
        snprintf(instr_lower[i], sizeof(instr_lower[i]), "%s", INSTR[i].name);
        for (char *c = instr_lower[i]; *c != '\0'; c++) {
            if (*c >= 'A' && *c <= 'Z') {
                *c = (char)(*c - 'A' + 'a');
            }
        }
    }

    g.seed = seed;
    g.rng.s = mix64(seed ^ UINT64_C(0x70616e73696674)); /* "pansift" */
    g.wds = &w_ds;
    g.wdoc = &w_doc;
    g.n_target = n;
    g.n_persons = n / 10 > 200 ? (uint32_t)(n / 10) : 200;
    g.staff_per_fac = g.n_persons / 40 > 5 ? g.n_persons / 40 : 5;
    g.n_staff = NFAC * g.staff_per_fac;
    g.n_users = g.n_persons - g.n_staff;

    w_open_array(&w_inst);
    for (int i = 0; i < NINSTR; i++) {
        w_record(&w_inst);
        w_kstr(&w_inst, "{\"pid\":", instr_pid[i]);
        w_kstr(&w_inst, ",\"name\":", INSTR[i].name);
        w_kstr(&w_inst, ",\"facility\":", FAC[INSTR[i].fac].name);
        w_ch(&w_inst, '}');
    }
    w_close_array(&w_inst);

    w_open_array(&w_ds);
    w_open_array(&w_doc);
    while (g.n_ds < g.n_target) {
        gen_proposal(&g);
        if (w_ds.err != 0 || w_doc.err != 0) {
            break;
        }
    }
    w_close_array(&w_ds);
    w_close_array(&w_doc);

    writer *all[3] = {&w_inst, &w_ds, &w_doc};
    int failed = 0;
    for (int i = 0; i < 3; i++) {
        if (w_close(all[i]) != 0 && !failed) {
            fprintf(stderr, PROG ": cannot write %s: %s\n", all[i]->path,
                    strerror(errno));
            failed = 1;
        }
    }
    if (failed) {
        return 1;
    }
    if (!quiet) {
        double secs = (double)(ps_mono_ns() - t0) / 1e9;
        fprintf(stderr,
                "wrote %" PRIu64 " datasets, %" PRIu64 " proposals, %" PRIu64
                " publications, %d instruments to %s in %.2f s\n",
                g.n_ds, g.n_prop, g.n_pub, NINSTR, out, secs);
    }
    return 0;
}
