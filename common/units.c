/*
 * units.c: physical units through udunits2. Parameters are stored with their
 * value in SI (so range queries compare numbers without converting per row)
 * and PaN queries that name a unit are converted before comparison. The SI
 * form of a unit is udunits2's definition in base units with the numeric
 * factor and the offset removed ("eV" -> "m2.kg.s-2", "celsius" -> "K").
 * Names PaN clients use that udunits2 spells differently (deg, grad, hrs,
 * Wh, b and B as in mathjs) are mapped first. udunits2's parser is not
 * thread-safe, so one mutex guards it; converters are cached per unit name.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "common.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <udunits2.h>

#define CACHE_SIZE 128

struct unit_entry {
    char *name;    /* as given by the caller */
    ut_unit *unit; /* parsed */
    cv_converter *to_si;
    char si[64];
};

struct ps_units {
    pthread_mutex_t lock;
    ut_system *sys;
    struct unit_entry cache[CACHE_SIZE];
    int ncache;
    int next_evict;
};

static const struct {
    const char *from, *to;
} aliases[] = {
    {"deg", "degree"},
    {"degrees", "degree"},
    {"grad", "0.9 degree"},
    {"gradian", "0.9 degree"},
    {"hrs", "hour"},
    {"secs", "second"},
    {"mins", "minute"},
    {"Wh", "watt hour"},
    {"b", "bit"},
    {"bits", "bit"},
    {"B", "byte"},
    {"bytes", "byte"},
    {"kB", "1000 byte"},
    {"MB", "1e6 byte"},
    {"GB", "1e9 byte"},
    {"TB", "1e12 byte"},
    {"Angstrom", "angstrom"},
    {"A", "ampere"},
    {"angstroms", "angstrom"},
    {"Celsius", "celsius"},
    {"Fahrenheit", "fahrenheit"},
    {"Kelvin", "kelvin"},
};

/* udunits2 keeps global state (its parser, the maps from names to units)
 * that is not safe to touch from two threads at once, even through two
 * unit systems: the process shares one ps_units, opened by the first
 * caller and closed by the last, and every use takes its lock. */
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static ps_units *shared;
static int shared_refs;

ps_status ps_units_open(ps_units **out, ps_err *err)
{
    *out = NULL;
    pthread_mutex_lock(&shared_lock);
    if (shared) {
        shared_refs++;
        *out = shared;
        pthread_mutex_unlock(&shared_lock);
        return PS_OK;
    }
    ut_set_error_message_handler(ut_ignore);
    ps_units *u = ps_calloc(1, sizeof *u);
    if (!u) {
        pthread_mutex_unlock(&shared_lock);
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    u->sys = ut_read_xml(NULL);
    if (!u->sys) {
        ps_free(u);
        pthread_mutex_unlock(&shared_lock);
        return ps_err_set(err, PS_ERR_IO,
                          "cannot load the udunits2 unit database (install "
                          "libudunits2-data, or set UDUNITS2_XML_PATH)");
    }
    pthread_mutex_init(&u->lock, NULL);
    shared = u;
    shared_refs = 1;
    pthread_mutex_unlock(&shared_lock);
    *out = u;
    return PS_OK;
}

static void entry_clear(struct unit_entry *e)
{
    ps_free(e->name);
    if (e->to_si)
        cv_free(e->to_si);
    if (e->unit)
        ut_free(e->unit);
    memset(e, 0, sizeof *e);
}

void ps_units_close(ps_units *u)
{
    if (!u)
        return;
    pthread_mutex_lock(&shared_lock);
    int last = u == shared && --shared_refs == 0;
    if (last)
        shared = NULL;
    pthread_mutex_unlock(&shared_lock);
    if (!last)
        return;
    for (int i = 0; i < u->ncache; i++)
        entry_clear(&u->cache[i]);
    ut_free_system(u->sys);
    pthread_mutex_destroy(&u->lock);
    ps_free(u);
}

static ut_unit *parse_unit(ps_units *u, const char *name)
{
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcmp(name, aliases[i].from) == 0)
            return ut_parse(u->sys, aliases[i].to, UT_UTF8);
    return ut_parse(u->sys, name, UT_UTF8);
}

/* Base-unit expression of a unit: its definition without factor/offset. */
static int si_name(ut_unit *unit, char *out, size_t size)
{
    char def[256];
    int n = ut_format(unit, def, sizeof def, UT_ASCII | UT_DEFINITION);
    if (n < 0 || (size_t)n >= sizeof def)
        return -1;
    char *at = strstr(def, " @ ");
    if (at)
        *at = '\0';
    const char *p = def;
    /* Drop a leading numeric factor ("1.60217733e-19 m2.kg.s-2"). */
    char *space = strchr(def, ' ');
    double factor;
    if (space) {
        *space = '\0';
        if (ps_parse_double(def, &factor) == 0)
            p = space + 1;
        else
            *space = ' ';
    } else if (ps_parse_double(def, &factor) == 0) {
        p = "1";
    }
    if (strcmp(p, "1") == 0)
        p = "";
    if (strlen(p) >= size)
        return -1;
    memcpy(out, p, strlen(p) + 1);
    return 0;
}

/* Find or create the cache entry for name; lock held. */
static struct unit_entry *lookup(ps_units *u, const char *name, ps_err *err)
{
    for (int i = 0; i < u->ncache; i++)
        if (strcmp(u->cache[i].name, name) == 0)
            return &u->cache[i];
    ut_unit *unit = parse_unit(u, name);
    if (!unit) {
        ps_err_set(err, PS_ERR_INVALID, "unknown unit \"%s\"", name);
        return NULL;
    }
    struct unit_entry e = {0};
    e.unit = unit;
    e.name = ps_strdup(name);
    ut_unit *base = NULL;
    if (!e.name || si_name(unit, e.si, sizeof e.si) != 0) {
        entry_clear(&e);
        ps_err_set(err, PS_ERR_INVALID, "cannot express unit \"%s\" in SI",
                   name);
        return NULL;
    }
    base = e.si[0] ? ut_parse(u->sys, e.si, UT_ASCII)
                   : ut_get_dimensionless_unit_one(u->sys);
    e.to_si = base ? ut_get_converter(unit, base) : NULL;
    if (base && e.si[0])
        ut_free(base);
    if (!e.to_si) {
        entry_clear(&e);
        ps_err_set(err, PS_ERR_INVALID, "cannot convert unit \"%s\" to SI",
                   name);
        return NULL;
    }
    int slot;
    if (u->ncache < CACHE_SIZE) {
        slot = u->ncache++;
    } else {
        slot = u->next_evict;
        u->next_evict = (u->next_evict + 1) % CACHE_SIZE;
        entry_clear(&u->cache[slot]);
    }
    u->cache[slot] = e;
    return &u->cache[slot];
}

ps_status ps_units_to_si(ps_units *u, double value, const char *unit,
                         double *si_out, char *si_unit, size_t size,
                         ps_err *err)
{
    if (!unit || !*unit) {
        *si_out = value;
        if (size)
            si_unit[0] = '\0';
        return PS_OK;
    }
    pthread_mutex_lock(&u->lock);
    struct unit_entry *e = lookup(u, unit, err);
    ps_status st = PS_OK;
    if (!e) {
        st = err ? err->code : PS_ERR_INVALID;
    } else if (strlen(e->si) >= size) {
        st = ps_err_set(err, PS_ERR_TOOBIG, "SI unit name too long");
    } else {
        *si_out = cv_convert_double(e->to_si, value);
        memcpy(si_unit, e->si, strlen(e->si) + 1);
    }
    pthread_mutex_unlock(&u->lock);
    return st;
}

ps_status ps_units_convert(ps_units *u, double value, const char *from,
                           const char *to, double *out, ps_err *err)
{
    if (!from || !to)
        return ps_err_set(err, PS_ERR_INVALID, "missing unit");
    pthread_mutex_lock(&u->lock);
    ps_status st = PS_OK;
    struct unit_entry *a = lookup(u, from, err);
    struct unit_entry *b = a ? lookup(u, to, err) : NULL;
    /* lookup may evict; look a up again in case b's insertion reused it */
    if (a && b && strcmp(a->name, from) != 0)
        a = lookup(u, from, err);
    if (!a || !b) {
        st = err ? err->code : PS_ERR_INVALID;
    } else if (!ut_are_convertible(a->unit, b->unit)) {
        st = ps_err_set(err, PS_ERR_INVALID,
                        "unit \"%s\" cannot be converted to \"%s\" (%s vs %s)",
                        from, to, a->si[0] ? a->si : "dimensionless",
                        b->si[0] ? b->si : "dimensionless");
    } else {
        cv_converter *cv = ut_get_converter(a->unit, b->unit);
        if (!cv) {
            st = ps_err_set(err, PS_ERR_INVALID, "cannot convert %s to %s",
                            from, to);
        } else {
            *out = cv_convert_double(cv, value);
            cv_free(cv);
        }
    }
    pthread_mutex_unlock(&u->lock);
    return st;
}
