/*
 * config.c: pansift's configuration. Every setting is declared once in the
 * table `settings` below (section, key, type, default as text, bounds,
 * target field, help), Redis static_configs[] style: the defaults, the INI
 * parser, the environment and command-line overrides, the `pansift init`
 * template and the dump all walk that one table, so a setting cannot exist in
 * one of them and not in the others. The file is read with libinih through
 * our own line reader, which counts lines (for messages), strips leading
 * whitespace (so indentation is allowed and Python-style continuation lines
 * are not), rejects over-long lines instead of letting libinih split them, and
 * parses section headers itself (so empty and duplicate sections are seen).
 * Parsing stops at the first error. This file only reads configuration; it
 * does not act on it, and it prints nothing except where a FILE* is given.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "config.h"
#include "harvest.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

static const char *const log_levels[] = {"error", "warn", "info", "debug",
                                         NULL};

/* ---- the table ---------------------------------------------------------- */

typedef enum {
    SEC_PANSIFT,
    SEC_SERVER,
    SEC_INDEX,
    SEC_HARVEST,
    SEC_FEDERATION,
    SEC_SOURCE,   /* [source NAME]; fields live in ps_config_source */
    SEC_PROVIDER, /* [provider NAME]; fields live in ps_config_provider */
    NSECTIONS
} section_kind;

static const char *const section_names[NSECTIONS] = {
    "pansift",    "server", "index",   "harvest",
    "federation", "source", "provider"};

#define KNOWN_SECTIONS                                                         \
    "[pansift], [server], [index], [harvest], [federation], [source NAME], "   \
    "[provider NAME]"

typedef enum {
    T_STRING,  /* char *; optional extra check */
    T_PATH,    /* char *; no control characters; min 1 = must not be empty */
    T_URL,     /* char *; http://, https:// or file:// */
    T_LISTEN,  /* char *; ADDR:PORT */
    T_ENUM,    /* char *; one of `choices`, stored in the list's spelling */
    T_INT,     /* long; plain integer */
    T_BYTES,   /* long; bytes, suffixes K, M, G (1024-based) */
    T_MS,      /* long; milliseconds, suffixes ms, s, min, h */
    T_SECONDS, /* long; seconds, suffixes ms, s, min, h (whole seconds) */
    T_BOOL     /* int; true/false, yes/no, on/off, 1/0 */
} setting_type;

/* A check for T_STRING values: NULL when fine, else "expected ..." text. */
typedef const char *(*string_check)(const char *value);

typedef struct setting {
    section_kind section;
    const char *key;
    setting_type type;
    const char *dflt; /* as it would be written in the file; NULL: none */
    int64_t min, max; /* numbers: bounds; T_PATH: min 1 = non-empty */
    size_t offset;    /* in ps_config, or ps_config_source for SEC_SOURCE */
    const char *help;
    const char *const *choices; /* T_ENUM */
    string_check check;         /* T_STRING */
    int required;               /* SEC_SOURCE: the section needs this key */
    const char *inherit;        /* SEC_SOURCE: [harvest] key used if absent */
} setting;

static const char *check_api_prefix(const char *v);
static const char *check_cors_origin(const char *v);
static const char *check_admin_token(const char *v);
static const char *check_user_agent(const char *v);
static const char *check_contact(const char *v);
static const char *check_weight(const char *v);
static const char *check_headers(const char *v);

#define CFG(field) offsetof(ps_config, field)
#define SRC(field) offsetof(ps_config_source, field)
#define PRV(field) offsetof(ps_config_provider, field)
#define KEY(sec, k, t, d, lo, hi, off)                                         \
    .section = (sec), .key = (k), .type = (t), .dflt = (d), .min = (lo),       \
    .max = (hi), .offset = (off)

/* Bounds shared by [harvest] and the [source NAME] keys that inherit from it,
 * so that an inherited value always satisfies the source's own bounds. */
#define TIMEOUT_MIN 100
#define TIMEOUT_MAX 86400000
#define CONNECT_TIMEOUT_MIN 100
#define CONNECT_TIMEOUT_MAX 600000
#define RETRIES_MAX 20
#define RESPONSE_MIN 1024
#define RESPONSE_MAX INT64_C(4294967296)

static const setting settings[] = {
    /* [pansift] */
    {KEY(SEC_PANSIFT, "data_dir", T_PATH, "data", 1, 0, CFG(data_dir)),
     .help = "Directory of the store, the index and harvested files"},
    {KEY(SEC_PANSIFT, "log_level", T_ENUM, "info", 0, 0, CFG(log_level)),
     .help = "Least important messages logged", .choices = log_levels},

    /* [server] */
    {KEY(SEC_SERVER, "listen", T_LISTEN, "127.0.0.1:8080", 0, 0, CFG(listen)),
     .help = "Address the HTTP server binds; port 0 picks a free port"},
    {KEY(SEC_SERVER, "threads", T_INT, "0", 0, 256, CFG(threads)),
     .help = "Worker threads; 0 = one per CPU core"},
    {KEY(SEC_SERVER, "api_prefix", T_STRING, "/api", 0, 0, CFG(api_prefix)),
     .help = "URL path of the API; starts with '/', no trailing '/'",
     .check = check_api_prefix},
    {KEY(SEC_SERVER, "max_url_bytes", T_BYTES, "16384", 1024, 1048576,
         CFG(max_url_bytes)),
     .help = "Longest request URL; longer ones get 414"},
    {KEY(SEC_SERVER, "max_header_bytes", T_BYTES, "32768", 4096, 1048576,
         CFG(max_header_bytes)),
     .help = "Memory per connection for request headers; more gets 431"},
    {KEY(SEC_SERVER, "max_body_bytes", T_BYTES, "1048576", 0, 1073741824,
         CFG(max_body_bytes)),
     .help = "Largest request body; larger ones get 413; 0 = no body"},
    {KEY(SEC_SERVER, "connection_limit", T_INT, "1024", 1, 100000,
         CFG(connection_limit)),
     .help = "Most simultaneous client connections"},
    {KEY(SEC_SERVER, "connection_timeout_s", T_SECONDS, "30", 1, 3600,
         CFG(connection_timeout_s)),
     .help = "Idle keep-alive connections are closed after this"},
    {KEY(SEC_SERVER, "access_log", T_BOOL, "true", 0, 0, CFG(access_log)),
     .help = "Log one line per request on stderr"},
    {KEY(SEC_SERVER, "dashboard_dir", T_PATH, "", 0, 0, CFG(dashboard_dir)),
     .help = "Web dashboard served at /; empty = the one installed"},
    {KEY(SEC_SERVER, "cors_origin", T_STRING, "*", 0, 0, CFG(cors_origin)),
     .help = "Access-Control-Allow-Origin: '*' or one origin",
     .check = check_cors_origin},
    {KEY(SEC_SERVER, "index_refresh_ms", T_MS, "500", 0, 3600000,
         CFG(index_refresh_ms)),
     .help = "How often the server's indexer polls the store; 0 = off"},
    {KEY(SEC_SERVER, "max_results", T_INT, "100000", 1, 10000000,
         CFG(max_results)),
     .help = "Most records in one answer (limit is capped to it)"},
    {KEY(SEC_SERVER, "query_timeout_ms", T_MS, "10000", 0, 3600000,
         CFG(query_timeout_ms)),
     .help = "A query still running after this gets 503; 0 = no limit"},
    {KEY(SEC_SERVER, "admin_token", T_STRING, "", 0, 0, CFG(admin_token)),
     .help = "Secret that writes (POST, DELETE: match review, collections) "
             "must send as 'Authorization: Bearer TOKEN'; empty = no check",
     .check = check_admin_token},

    /* [index] */
    {KEY(SEC_INDEX, "batch", T_INT, "1000", 1, 1000000, CFG(index_batch)),
     .help = "Changes applied per Xapian commit"},
    {KEY(SEC_INDEX, "rebuild_workers", T_INT, "0", 0, 64, CFG(rebuild_workers)),
     .help = "Parallel shard writers for a rebuild; 0 = one per CPU core"},

    /* [harvest]: also the defaults of the [source NAME] keys that inherit */
    {KEY(SEC_HARVEST, "user_agent", T_STRING,
         "pansift/0.1 (+https://github.com/pansift/pansift)", 0, 0,
         CFG(user_agent)),
     .help = "User-Agent header sent to sources", .check = check_user_agent},
    {KEY(SEC_HARVEST, "timeout_ms", T_MS, "60000", TIMEOUT_MIN, TIMEOUT_MAX,
         CFG(harvest_timeout_ms)),
     .help = "Time limit of one request, whole transfer"},
    {KEY(SEC_HARVEST, "connect_timeout_ms", T_MS, "10000", CONNECT_TIMEOUT_MIN,
         CONNECT_TIMEOUT_MAX, CFG(harvest_connect_timeout_ms)),
     .help = "Time limit for connecting to a source"},
    {KEY(SEC_HARVEST, "retries", T_INT, "4", 0, RETRIES_MAX,
         CFG(harvest_retries)),
     .help = "Extra attempts after a transient failure (timeout, 429, 5xx)"},
    {KEY(SEC_HARVEST, "max_response_bytes", T_BYTES, "67108864", RESPONSE_MIN,
         RESPONSE_MAX, CFG(harvest_max_response_bytes)),
     .help = "Largest response body accepted from a source"},
    {KEY(SEC_HARVEST, "batch", T_INT, "1000", 1, 100000, CFG(harvest_batch)),
     .help = "Records written per store transaction"},
    {KEY(SEC_HARVEST, "contact", T_STRING, "", 0, 0, CFG(contact)),
     .help = "Operator's e-mail, sent in the User-Agent (polite pools)",
     .check = check_contact},
    {KEY(SEC_HARVEST, "parallel", T_INT, "4", 1, 64, CFG(harvest_parallel)),
     .help = "Sources harvested at the same time"},

    /* [source NAME] */
    {KEY(SEC_SOURCE, "type", T_ENUM, NULL, 0, 0, SRC(type)),
     .help = "Kind of API the source speaks", .choices = ps_harvest_type_names,
     .required = 1},
    {KEY(SEC_SOURCE, "url", T_URL, NULL, 0, 0, SRC(url)),
     .help = "Base URL of the source's API (file:// for a local copy)",
     .required = 1},
    {KEY(SEC_SOURCE, "enabled", T_BOOL, "true", 0, 0, SRC(enabled)),
     .help = "Harvested by `pansift harvest` when no source is named"},
    {KEY(SEC_SOURCE, "page_size", T_INT, "500", 1, 100000, SRC(page_size)),
     .help = "Records per request"},
    {KEY(SEC_SOURCE, "timeout_ms", T_MS, NULL, TIMEOUT_MIN, TIMEOUT_MAX,
         SRC(timeout_ms)),
     .help = "Time limit of one request, whole transfer",
     .inherit = "timeout_ms"},
    {KEY(SEC_SOURCE, "connect_timeout_ms", T_MS, NULL, CONNECT_TIMEOUT_MIN,
         CONNECT_TIMEOUT_MAX, SRC(connect_timeout_ms)),
     .help = "Time limit for connecting to the source",
     .inherit = "connect_timeout_ms"},
    {KEY(SEC_SOURCE, "retries", T_INT, NULL, 0, RETRIES_MAX, SRC(retries)),
     .help = "Extra attempts after a transient failure", .inherit = "retries"},
    {KEY(SEC_SOURCE, "delay_ms", T_MS, "0", 0, 600000, SRC(delay_ms)),
     .help = "Pause between requests, to be polite to the source"},
    {KEY(SEC_SOURCE, "max_response_bytes", T_BYTES, NULL, RESPONSE_MIN,
         RESPONSE_MAX, SRC(max_response_bytes)),
     .help = "Largest response body accepted from the source",
     .inherit = "max_response_bytes"},
    {KEY(SEC_SOURCE, "user_agent", T_STRING, NULL, 0, 0, SRC(user_agent)),
     .help = "User-Agent header sent to the source", .check = check_user_agent,
     .inherit = "user_agent"},
    {KEY(SEC_SOURCE, "requests_per_minute", T_INT, "0", 0, 600000,
         SRC(requests_per_minute)),
     .help = "Most requests per minute to the source; 0 = no limit"},
    {KEY(SEC_SOURCE, "contact", T_STRING, NULL, 0, 0, SRC(contact)),
     .help = "Operator's e-mail for this source", .check = check_contact,
     .inherit = "contact"},

    /* [federation] */
    {KEY(SEC_FEDERATION, "local", T_BOOL, "true", 0, 0, CFG(federation_local)),
     .help = "With [provider NAME] sections: the local index is a provider "
             "too"},
    {KEY(SEC_FEDERATION, "deadline_ms", T_MS, "5000", 100, 600000,
         CFG(federation_deadline_ms)),
     .help = "Time limit of a whole federated request"},
    {KEY(SEC_FEDERATION, "default_limit", T_INT, "100", 1, 100000,
         CFG(federation_default_limit)),
     .help = "Limit of a federated find whose filter has none"},
    {KEY(SEC_FEDERATION, "max_window", T_INT, "1000", 1, 100000,
         CFG(federation_max_window)),
     .help = "Largest skip + limit of a federated find (each provider is "
             "asked for that many)"},
    {KEY(SEC_FEDERATION, "cache_ttl_ms", T_MS, "30000", 0, 86400000,
         CFG(federation_cache_ttl_ms)),
     .help = "Identical federated requests within this time are answered "
             "from the cache; 0 = no cache"},
    {KEY(SEC_FEDERATION, "cache_entries", T_INT, "1000", 1, 1000000,
         CFG(federation_cache_entries)),
     .help = "Most answers in the federation's cache"},
    {KEY(SEC_FEDERATION, "cache_bytes", T_BYTES, "67108864", 1024,
         INT64_C(17179869184), CFG(federation_cache_bytes)),
     .help = "Most bytes in the federation's cache"},
    {KEY(SEC_FEDERATION, "breaker_failures", T_INT, "3", 1, 1000,
         CFG(federation_breaker_failures)),
     .help = "Failures in a row that make the federation skip a provider"},
    {KEY(SEC_FEDERATION, "breaker_cooldown_ms", T_MS, "30000", 10, 86400000,
         CFG(federation_breaker_cooldown_ms)),
     .help = "How long a failing provider is skipped before it is tried "
             "again"},

    /* [provider NAME] */
    {KEY(SEC_PROVIDER, "url", T_URL, NULL, 0, 0, PRV(url)),
     .help = "The provider's PaN API base, http(s)://", .required = 1},
    {KEY(SEC_PROVIDER, "timeout", T_MS, "5000", 10, 600000, PRV(timeout_ms)),
     .help = "Time limit of the provider's answer"},
    {KEY(SEC_PROVIDER, "weight", T_STRING, "1", 0, 0, PRV(weight)),
     .help = "Multiplies the provider's normalised scores",
     .check = check_weight},
    {KEY(SEC_PROVIDER, "headers", T_STRING, "", 0, 0, PRV(headers)),
     .help = "Request headers, 'Name: value' separated by '|'",
     .check = check_headers},
    {KEY(SEC_PROVIDER, "enabled", T_BOOL, "true", 0, 0, PRV(enabled)),
     .help = "Asked by the federation"},
};

#define NSETTINGS (sizeof settings / sizeof settings[0])

/* Environment variables, applied by ps_config_apply_env. */
static const struct {
    const char *var, *section, *key;
} env_settings[] = {
    {"PANSIFT_DATA_DIR", "pansift", "data_dir"},
    {"PANSIFT_LISTEN", "server", "listen"},
    {"PANSIFT_LOG_LEVEL", "pansift", "log_level"},
};

/* Longest NAME in [source NAME]. */
#define SOURCE_NAME_MAX 64

/* Inherited numbers hold this until the end of the file is reached. */
#define UNSET_LONG LONG_MIN

/* ---- table helpers ------------------------------------------------------ */

static int is_string_type(setting_type t)
{
    return t == T_STRING || t == T_PATH || t == T_URL || t == T_LISTEN ||
           t == T_ENUM;
}

static int is_long_type(setting_type t)
{
    return t == T_INT || t == T_BYTES || t == T_MS || t == T_SECONDS;
}

static char **str_field(void *base, const setting *s)
{
    return (char **)(void *)((char *)base + s->offset);
}

static long *long_field(void *base, const setting *s)
{
    return (long *)(void *)((char *)base + s->offset);
}

static int *int_field(void *base, const setting *s)
{
    return (int *)(void *)((char *)base + s->offset);
}

/* Read-only access, for const configurations. */
static const char *get_str(const void *base, const setting *s)
{
    return *(char *const *)(const void *)((const char *)base + s->offset);
}

static long get_long(const void *base, const setting *s)
{
    return *(const long *)(const void *)((const char *)base + s->offset);
}

static int get_int(const void *base, const setting *s)
{
    return *(const int *)(const void *)((const char *)base + s->offset);
}

static const setting *find_setting(section_kind sec, const char *key)
{
    for (size_t i = 0; i < NSETTINGS; i++)
        if (settings[i].section == sec && strcmp(settings[i].key, key) == 0)
            return &settings[i];
    return NULL;
}

/* "listen, threads, ..." for an unknown-key message. */
static void known_keys(section_kind sec, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < NSETTINGS && len < size; i++) {
        if (settings[i].section != sec)
            continue;
        int n = snprintf(buf + len, size - len, "%s%s", len ? ", " : "",
                         settings[i].key);
        if (n < 0)
            break;
        len += (size_t)n;
    }
}

/* Section name for messages: "server" or "source esrf". */
static void section_label(section_kind sec, const ps_config_source *src,
                          char *buf, size_t size)
{
    if (sec == SEC_SOURCE && src)
        snprintf(buf, size, "source %s", src->name ? src->name : "?");
    else if (sec == SEC_PROVIDER && src)
        snprintf(buf, size, "provider %s",
                 ((const ps_config_provider *)(const void *)src)->name);
    else
        snprintf(buf, size, "%s", section_names[sec]);
}

/* ---- value checks --------------------------------------------------------
 * Each returns NULL when the value is fine, else the "expected ..." part of
 * the message. */

static int has_control_chars(const char *v)
{
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 1;
    return 0;
}

static const char *check_api_prefix(const char *v)
{
    static const char *const why =
        "expected a URL path such as /api: starting with '/', not ending with "
        "'/', letters, digits and -._~/ only";
    size_t n = strlen(v);
    if (n < 2 || v[0] != '/' || v[n - 1] == '/' || strstr(v, "//"))
        return why;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || strchr("-._~/", c)))
            return why;
    }
    return NULL;
}

static const char *check_cors_origin(const char *v)
{
    static const char *const why =
        "expected '*' or one origin such as https://example.org (scheme, "
        "host and optional port, no path)";
    if (strcmp(v, "*") == 0)
        return NULL;
    const char *host = NULL;
    if (strncasecmp(v, "http://", 7) == 0)
        host = v + 7;
    else if (strncasecmp(v, "https://", 8) == 0)
        host = v + 8;
    if (!host || !*host || *host == ':' || strchr(host, '/') ||
        has_control_chars(v) || strchr(v, ' '))
        return why;
    return NULL;
}

static const char *check_admin_token(const char *v)
{
    size_t n = strlen(v);
    if (n == 0)
        return NULL;
    if (n < 16 || n > 256)
        return "expected empty or 16 to 256 characters";
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f)
            return "expected printable ASCII characters without spaces";
    return NULL;
}

static const char *check_user_agent(const char *v)
{
    if (!*v)
        return "expected a non-empty User-Agent";
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p < 0x20 || *p > 0x7e)
            return "expected printable ASCII characters only";
    return NULL;
}

static const char *check_weight(const char *v)
{
    char *end = NULL;
    double w = strtod(v, &end);
    if (!*v || !end || *end || !(w > 0) || w > 1000)
        return "expected a positive number up to 1000, such as 1 or 0.5";
    return NULL;
}

static const char *check_headers(const char *v)
{
    if (has_control_chars(v) || strlen(v) > 4096)
        return "expected printable text of at most 4096 bytes";
    const char *p = v;
    while (*p) {
        const char *bar = strchr(p, '|');
        const char *end = bar ? bar : p + strlen(p);
        while (p < end && *p == ' ')
            p++;
        if (p < end) {
            const char *colon = memchr(p, ':', (size_t)(end - p));
            if (!colon || colon == p)
                return "expected 'Name: value' pairs separated by '|'";
            for (const char *c = p; c < colon; c++)
                if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_')
                    return "expected header names of letters, digits and '-'";
        }
        p = bar ? bar + 1 : end;
    }
    return NULL;
}

static const char *check_contact(const char *v)
{
    if (!*v)
        return NULL; /* none */
    const char *at = strchr(v, '@');
    if (!at || at == v || !strchr(at, '.') || strchr(v, ' ') ||
        has_control_chars(v))
        return "expected an e-mail address (e.g. data@facility.eu)";
    return NULL;
}

static int valid_url(const char *v)
{
    const char *rest = NULL;
    if (strncasecmp(v, "http://", 7) == 0)
        rest = v + 7;
    else if (strncasecmp(v, "https://", 8) == 0)
        rest = v + 8;
    if (rest)
        return *rest && *rest != '/' && !has_control_chars(v) &&
               !strchr(v, ' ');
    if (strncasecmp(v, "file://", 7) == 0)
        return v[7] != '\0' && !has_control_chars(v);
    return 0;
}

/* ADDR:PORT where ADDR is an IPv4 dotted quad, "localhost" or [IPv6]. */
static int valid_listen(const char *v)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *port;
    size_t n;
    if (v[0] == '[') {
        const char *close = strchr(v, ']');
        if (!close || close[1] != ':')
            return 0;
        n = (size_t)(close - v - 1);
        if (n == 0 || n >= sizeof host)
            return 0;
        memcpy(host, v + 1, n);
        host[n] = '\0';
        struct in6_addr a6;
        if (inet_pton(AF_INET6, host, &a6) != 1)
            return 0;
        port = close + 2;
    } else {
        const char *colon = strrchr(v, ':');
        if (!colon)
            return 0;
        n = (size_t)(colon - v);
        if (n == 0 || n >= sizeof host)
            return 0;
        memcpy(host, v, n);
        host[n] = '\0';
        struct in_addr a4;
        if (strcmp(host, "localhost") != 0 &&
            inet_pton(AF_INET, host, &a4) != 1)
            return 0;
        port = colon + 1;
    }
    size_t digits = strlen(port);
    if (digits == 0 || digits > 5)
        return 0;
    long p = 0;
    for (size_t i = 0; i < digits; i++) {
        if (port[i] < '0' || port[i] > '9')
            return 0;
        p = p * 10 + (port[i] - '0');
    }
    return p <= 65535;
}

/* ---- numbers with units ------------------------------------------------- */

typedef struct unit {
    const char *suffix;
    int64_t factor;
} unit;

static const unit byte_units[] = {{"", 1},
                                  {"k", INT64_C(1) << 10},
                                  {"kib", INT64_C(1) << 10},
                                  {"m", INT64_C(1) << 20},
                                  {"mib", INT64_C(1) << 20},
                                  {"g", INT64_C(1) << 30},
                                  {"gib", INT64_C(1) << 30},
                                  {NULL, 0}};

/* Factors in milliseconds; the empty suffix is filled in per type. */
static const unit time_units[] = {
    {"ms", 1}, {"s", 1000}, {"min", 60000}, {"h", 3600000}, {NULL, 0}};

/* Parse "<integer>[ ]<suffix>" into value * factor / divisor, exactly.
 * plain is the factor of a number without a suffix. 0 on success. */
static int parse_scaled(const char *text, const unit *units, int64_t plain,
                        int64_t divisor, int64_t *out)
{
    char num[24];
    size_t i = 0;
    if (text[i] == '+' || text[i] == '-')
        i++;
    while (text[i] >= '0' && text[i] <= '9')
        i++;
    if (i == 0 || i >= sizeof num)
        return -1;
    memcpy(num, text, i);
    num[i] = '\0';
    int64_t v;
    if (ps_parse_i64(num, &v) != 0)
        return -1;
    const char *suffix = text + i;
    while (*suffix == ' ' || *suffix == '\t')
        suffix++;
    int64_t factor = 0;
    if (!*suffix) {
        factor = plain;
    } else {
        for (const unit *u = units; u->suffix; u++) {
            if (*u->suffix && strcasecmp(suffix, u->suffix) == 0) {
                factor = u->factor;
                break;
            }
        }
    }
    if (factor == 0)
        return -1;
    if (v > INT64_MAX / factor || v < INT64_MIN / factor)
        return -1;
    v *= factor;
    if (v % divisor != 0)
        return -1;
    *out = v / divisor;
    return 0;
}

/* ---- parsing one value -------------------------------------------------- */

typedef struct parsed {
    char *s; /* string types: owned copy */
    long l;  /* number types */
    int b;   /* T_BOOL */
} parsed;

/* What a valid value of s looks like, for messages. */
static void describe_expected(const setting *s, char *why, size_t size)
{
    long long lo = (long long)s->min, hi = (long long)s->max;
    switch (s->type) {
    case T_INT:
        snprintf(why, size, "expected an integer between %lld and %lld", lo,
                 hi);
        break;
    case T_BYTES:
        snprintf(why, size,
                 "expected a size between %lld and %lld bytes (suffixes K, M, "
                 "G allowed)",
                 lo, hi);
        break;
    case T_MS:
        snprintf(why, size,
                 "expected a duration between %lld and %lld ms (a whole "
                 "number of ms, or with a unit: ms, s, min, h)",
                 lo, hi);
        break;
    case T_SECONDS:
        snprintf(why, size,
                 "expected a duration between %lld and %lld s (a whole "
                 "number of seconds, or with a unit: s, min, h)",
                 lo, hi);
        break;
    case T_BOOL:
        snprintf(why, size,
                 "expected a boolean (true/false, yes/no, on/off, 1/0)");
        break;
    case T_ENUM: {
        size_t len = (size_t)snprintf(why, size, "expected one of ");
        for (size_t i = 0; s->choices[i] && len < size; i++)
            len += (size_t)snprintf(why + len, size - len, "%s%s",
                                    i ? ", " : "", s->choices[i]);
        break;
    }
    case T_LISTEN:
        snprintf(why, size,
                 "not a valid ADDR:PORT (port 0..65535; ADDR an IPv4 "
                 "address, [IPv6 address] or localhost)");
        break;
    case T_URL:
        snprintf(why, size,
                 "expected a URL starting with http://, https:// or file://");
        break;
    case T_PATH:
        snprintf(why, size, "expected a%s path without control characters",
                 s->min >= 1 ? " non-empty" : "");
        break;
    case T_STRING: snprintf(why, size, "expected a string"); break;
    }
}

/* Validate text against s into *out. PS_ERR_CONFIG with the "expected ..."
 * text in why, or PS_ERR_NOMEM; nothing is allocated on failure. */
static ps_status parse_value(const setting *s, const char *text, parsed *out,
                             char *why, size_t whysize)
{
    static const char *const yes[] = {"true", "yes", "on", "1", NULL};
    static const char *const no[] = {"false", "no", "off", "0", NULL};
    const char *canonical = text;
    int64_t v = 0;
    int ok = 0;

    memset(out, 0, sizeof *out);
    switch (s->type) {
    case T_STRING: {
        const char *bad = s->check ? s->check(text) : NULL;
        if (bad) {
            snprintf(why, whysize, "%s", bad);
            return PS_ERR_CONFIG;
        }
        ok = 1;
        break;
    }
    case T_PATH: ok = !has_control_chars(text) && (s->min < 1 || *text); break;
    case T_URL: ok = valid_url(text); break;
    case T_LISTEN: ok = valid_listen(text); break;
    case T_ENUM:
        for (size_t i = 0; s->choices[i]; i++) {
            if (strcasecmp(text, s->choices[i]) == 0) {
                canonical = s->choices[i];
                ok = 1;
                break;
            }
        }
        break;
    case T_INT: ok = ps_parse_i64(text, &v) == 0; break;
    case T_BYTES: ok = parse_scaled(text, byte_units, 1, 1, &v) == 0; break;
    case T_MS: ok = parse_scaled(text, time_units, 1, 1, &v) == 0; break;
    case T_SECONDS:
        ok = parse_scaled(text, time_units, 1000, 1000, &v) == 0;
        break;
    case T_BOOL:
        for (size_t i = 0; yes[i]; i++) {
            if (strcasecmp(text, yes[i]) == 0) {
                out->b = 1;
                ok = 1;
            } else if (strcasecmp(text, no[i]) == 0) {
                out->b = 0;
                ok = 1;
            }
        }
        break;
    }
    if (ok && is_long_type(s->type))
        ok = v >= s->min && v <= s->max && v >= LONG_MIN && v <= LONG_MAX;
    if (!ok) {
        describe_expected(s, why, whysize);
        return PS_ERR_CONFIG;
    }
    if (is_long_type(s->type))
        out->l = (long)v;
    if (is_string_type(s->type)) {
        out->s = ps_strdup(canonical);
        if (!out->s)
            return PS_ERR_NOMEM;
    }
    return PS_OK;
}

/* Move *v into the field of base; returns the string it replaced (the caller
 * frees it), NULL for other types. */
static char *store_value(void *base, const setting *s, parsed *v)
{
    char *old = NULL;
    if (is_string_type(s->type)) {
        old = *str_field(base, s);
        *str_field(base, s) = v->s;
        v->s = NULL;
    } else if (is_long_type(s->type)) {
        *long_field(base, s) = v->l;
    } else {
        *int_field(base, s) = v->b;
    }
    return old;
}

/* Parse and store in one step (defaults, the file). */
static ps_status set_value(void *base, const setting *s, const char *text,
                           char *why, size_t whysize)
{
    parsed v;
    ps_status st = parse_value(s, text, &v, why, whysize);
    if (st != PS_OK)
        return st;
    ps_free(store_value(base, s, &v));
    return PS_OK;
}

/* Copy the [harvest] value of the key source setting s inherits. */
static ps_status inherit_value(ps_config_source *src, const ps_config *cfg,
                               const setting *s)
{
    const setting *h = find_setting(SEC_HARVEST, s->inherit);
    if (is_string_type(s->type)) {
        char *copy = ps_strdup(get_str(cfg, h));
        if (!copy)
            return PS_ERR_NOMEM;
        ps_free(*str_field(src, s));
        *str_field(src, s) = copy;
    } else {
        *long_field(src, s) = get_long(cfg, h);
    }
    return PS_OK;
}

/* ---- defaults and sources ----------------------------------------------- */

static void free_fields(void *base, section_kind sec)
{
    for (size_t i = 0; i < NSETTINGS; i++) {
        if (settings[i].section == sec && is_string_type(settings[i].type)) {
            ps_free(*str_field(base, &settings[i]));
            *str_field(base, &settings[i]) = NULL;
        }
    }
}

void ps_config_free(ps_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->nsources; i++) {
        free_fields(&cfg->sources[i], SEC_SOURCE);
        ps_free(cfg->sources[i].name);
        for (size_t j = 0; j < 2 * cfg->sources[i].noptions; j++)
            ps_free(cfg->sources[i].options[j]);
        ps_free(cfg->sources[i].options);
        ps_free(cfg->sources[i].option_lines);
    }
    ps_free(cfg->sources);
    for (size_t i = 0; i < cfg->nproviders; i++) {
        free_fields(&cfg->providers[i], SEC_PROVIDER);
        ps_free(cfg->providers[i].name);
    }
    ps_free(cfg->providers);
    for (int sec = 0; sec < SEC_SOURCE; sec++)
        free_fields(cfg, (section_kind)sec);
    ps_free(cfg->path);
    memset(cfg, 0, sizeof *cfg);
}

/* Set every setting of section sec that has a default. */
static ps_status apply_defaults(void *base, section_kind sec, ps_err *err)
{
    char why[160];
    for (size_t i = 0; i < NSETTINGS; i++) {
        const setting *s = &settings[i];
        if (s->section != sec || !s->dflt)
            continue;
        ps_status st = set_value(base, s, s->dflt, why, sizeof why);
        if (st == PS_ERR_NOMEM)
            return ps_err_set(err, st,
                              "out of memory setting up the "
                              "configuration");
        if (st != PS_OK)
            return ps_err_set(err, PS_ERR_INTERNAL,
                              "bad built-in default [%s] %s = '%s': %s",
                              section_names[sec], s->key, s->dflt, why);
    }
    return PS_OK;
}

ps_status ps_config_defaults(ps_config *cfg, ps_err *err)
{
    if (!cfg)
        return ps_err_set(err, PS_ERR_INVALID,
                          "ps_config_defaults: cfg is "
                          "NULL");
    memset(cfg, 0, sizeof *cfg);
    for (int sec = 0; sec < SEC_SOURCE; sec++) {
        ps_status st = apply_defaults(cfg, (section_kind)sec, err);
        if (st != PS_OK) {
            ps_config_free(cfg);
            return st;
        }
    }
    return PS_OK;
}

/* Append a source named name with its defaults; inherited keys are left
 * unset (NULL / UNSET_LONG) until the end of the file. */
static ps_status add_source(ps_config *cfg, const char *name, int line,
                            ps_config_source **out, ps_err *err)
{
    ps_config_source *grown =
        ps_realloc(cfg->sources, (cfg->nsources + 1) * sizeof *cfg->sources);
    if (!grown)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    cfg->sources = grown;
    ps_config_source *src = &cfg->sources[cfg->nsources++];
    memset(src, 0, sizeof *src);
    src->line = line;
    for (size_t i = 0; i < NSETTINGS; i++)
        if (settings[i].section == SEC_SOURCE && settings[i].inherit &&
            is_long_type(settings[i].type))
            *long_field(src, &settings[i]) = UNSET_LONG;
    src->name = ps_strdup(name);
    if (!src->name)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    ps_status st = apply_defaults(src, SEC_SOURCE, err);
    if (st != PS_OK)
        return st;
    *out = src;
    return PS_OK;
}

/* Fill what each source left to [harvest]. */
static ps_status resolve_inheritance(ps_config *cfg)
{
    for (size_t i = 0; i < cfg->nsources; i++) {
        ps_config_source *src = &cfg->sources[i];
        for (size_t j = 0; j < NSETTINGS; j++) {
            const setting *s = &settings[j];
            if (s->section != SEC_SOURCE || !s->inherit)
                continue;
            int unset = is_string_type(s->type)
                            ? *str_field(src, s) == NULL
                            : *long_field(src, s) == UNSET_LONG;
            if (unset && inherit_value(src, cfg, s) != PS_OK)
                return PS_ERR_NOMEM;
        }
    }
    return PS_OK;
}

/* Index of the source called name, or cfg->nsources. */
static size_t source_index(const ps_config *cfg, const char *name)
{
    size_t i = 0;
    while (i < cfg->nsources &&
           !(cfg->sources[i].name && strcmp(cfg->sources[i].name, name) == 0))
        i++;
    return i;
}

static int valid_source_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > SOURCE_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

/* ---- reading the file --------------------------------------------------- */

typedef struct parse_ctx {
    ps_config *cfg;
    const char *path;
    FILE *fp;
    int line;         /* lines read so far = the line being parsed */
    ps_err err;       /* the first error */
    int err_at;       /* line being read when it was found (0: none) */
    int io_errno;     /* errno of a read error */
    int section;      /* section_kind of the current section, -1 before any */
    size_t src;       /* index of the current source */
    size_t prov;      /* index of the current provider */
    int section_line; /* line of the current section's header */
    int seen[SEC_SOURCE];    /* header line of each fixed section */
    int key_line[NSETTINGS]; /* where each key of this section was set */
} parse_ctx;

static void ctx_fail(parse_ctx *ctx, ps_status code, int line, const char *fmt,
                     ...) __attribute__((format(printf, 4, 5)));

/* Record the first error as "FILE:LINE: message". */
static void ctx_fail(parse_ctx *ctx, ps_status code, int line, const char *fmt,
                     ...)
{
    char msg[256];
    va_list ap;
    if (ctx->err_at)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ctx->err_at = ctx->line > 0 ? ctx->line : 1;
    if (line > 0)
        ps_err_set(&ctx->err, code, "%s:%d: %s", ctx->path, line, msg);
    else
        ps_err_set(&ctx->err, code, "%s: %s", ctx->path, msg);
}

static ps_config_source *ctx_source(parse_ctx *ctx)
{
    return ctx->section == SEC_SOURCE ? &ctx->cfg->sources[ctx->src] : NULL;
}

static ps_config_provider *ctx_provider(parse_ctx *ctx)
{
    return ctx->section == SEC_PROVIDER ? &ctx->cfg->providers[ctx->prov]
                                        : NULL;
}

/* A [provider NAME] section ends: it needs an http(s) url. */
static void end_provider(parse_ctx *ctx)
{
    const ps_config_provider *p = ctx_provider(ctx);
    if (!p->url)
        ctx_fail(ctx, PS_ERR_CONFIG, ctx->section_line,
                 "[provider %s] has no url (the provider's PaN API base, "
                 "e.g. https://icatplus.esrf.fr/api)",
                 p->name);
    else if (strncasecmp(p->url, "http://", 7) != 0 &&
             strncasecmp(p->url, "https://", 8) != 0)
        ctx_fail(ctx, PS_ERR_CONFIG, ctx->section_line,
                 "[provider %s] url = '%.80s': expected an http:// or "
                 "https:// URL",
                 p->name, p->url);
}

/* The current section ends: a source must have its required keys. */
static void end_section(parse_ctx *ctx)
{
    if (ctx->section == SEC_PROVIDER) {
        end_provider(ctx);
        return;
    }
    if (ctx->section != SEC_SOURCE)
        return;
    for (size_t i = 0; i < NSETTINGS; i++) {
        const setting *s = &settings[i];
        if (s->section == SEC_SOURCE && s->required && !ctx->key_line[i]) {
            ctx_fail(ctx, PS_ERR_CONFIG, ctx->section_line,
                     "[source %s] has no %s (every source needs type and "
                     "url)",
                     ctx_source(ctx)->name, s->key);
            return;
        }
    }
    /* The keys beyond the common ones must be options of the type. */
    const ps_config_source *src = ctx_source(ctx);
    const ps_harvest_option *opts = ps_harvest_type_options(src->type);
    for (size_t i = 0; i < src->noptions; i++) {
        const char *key = src->options[2 * i];
        const ps_harvest_option *o = opts;
        while (o && o->key && strcmp(o->key, key) != 0)
            o++;
        if (o && o->key)
            continue;
        char keys[400] = "", common[200];
        for (o = opts; o && o->key; o++)
            snprintf(keys + strlen(keys), sizeof keys - strlen(keys), "%s%s",
                     keys[0] ? ", " : "", o->key);
        known_keys(SEC_SOURCE, common, sizeof common);
        ctx_fail(ctx, PS_ERR_CONFIG, src->option_lines[i],
                 "unknown key '%s' in [source %s] (known keys: %s; of type "
                 "%s: %s)",
                 key, src->name, common, src->type, keys[0] ? keys : "none");
        return;
    }
}

/* A key of a [source NAME] section that is not a common one: kept as an
 * option of the source's type, checked when the section ends (the type
 * may come later in the section). 0 on error (set in ctx). */
static int add_source_option(parse_ctx *ctx, ps_config_source *src,
                             const char *name, const char *value)
{
    for (size_t i = 0; i < src->noptions; i++) {
        if (strcmp(src->options[2 * i], name) == 0) {
            ctx_fail(ctx, PS_ERR_CONFIG, ctx->line,
                     "[source %s] %s is set twice; keep one", src->name, name);
            return 0;
        }
    }
    if (strlen(value) > 4096 || has_control_chars(value)) {
        ctx_fail(ctx, PS_ERR_CONFIG, ctx->line,
                 "[source %s] %s: expected printable text of at most 4096 "
                 "bytes",
                 src->name, name);
        return 0;
    }
    char **grown =
        ps_realloc(src->options, (2 * src->noptions + 3) * sizeof *grown);
    if (!grown) {
        ctx_fail(ctx, PS_ERR_NOMEM, 0, "out of memory reading the config");
        return 0;
    }
    src->options = grown;
    int *lines =
        ps_realloc(src->option_lines, (src->noptions + 1) * sizeof *lines);
    if (!lines) {
        ctx_fail(ctx, PS_ERR_NOMEM, 0, "out of memory reading the config");
        return 0;
    }
    src->option_lines = lines;
    lines[src->noptions] = ctx->line;
    grown[2 * src->noptions] = ps_strdup(name);
    grown[2 * src->noptions + 1] = ps_strdup(value);
    grown[2 * src->noptions + 2] = NULL;
    src->noptions++;
    if (!grown[2 * src->noptions - 2] || !grown[2 * src->noptions - 1]) {
        ctx_fail(ctx, PS_ERR_NOMEM, 0, "out of memory reading the config");
        return 0;
    }
    return 1;
}

const char *ps_config_source_option(const ps_config_source *src,
                                    const char *key)
{
    for (size_t i = 0; src && i < src->noptions; i++)
        if (strcmp(src->options[2 * i], key) == 0)
            return src->options[2 * i + 1];
    return NULL;
}

static int is_blank(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A "[...]" line (text starts after the '['). Returns 0 to hand the line to
 * libinih, which reports it as a syntax error (no ']'); 1 when handled,
 * successfully or not. */
static int begin_section(parse_ctx *ctx, char *text)
{
    /* Find ']' the way libinih does: a ';' after whitespace starts a
     * comment. */
    char *end = text;
    int was_space = 0;
    while (*end && *end != ']' && !(was_space && *end == ';')) {
        was_space = is_blank((unsigned char)*end);
        end++;
    }
    if (*end != ']')
        return 0;
    for (const char *p = end + 1; *p && *p != ';' && *p != '#'; p++) {
        if (!is_blank((unsigned char)*p)) {
            ctx_fail(ctx, PS_ERR_CONFIG, ctx->line,
                     "syntax error (text after ']' of a section header)");
            return 1;
        }
    }
    while (text < end && is_blank((unsigned char)*text))
        text++;
    while (end > text && is_blank((unsigned char)end[-1]))
        end--;
    *end = '\0';

    end_section(ctx);
    if (ctx->err_at)
        return 1;
    memset(ctx->key_line, 0, sizeof ctx->key_line);
    ctx->section_line = ctx->line;

    for (int sec = 0; sec < SEC_SOURCE; sec++) {
        if (strcmp(text, section_names[sec]) != 0)
            continue;
        if (ctx->seen[sec]) {
            ctx_fail(ctx, PS_ERR_CONFIG, ctx->line,
                     "[%s] appears twice (lines %d and %d); merge them", text,
                     ctx->seen[sec], ctx->line);
            return 1;
        }
        ctx->seen[sec] = ctx->line;
        ctx->section = sec;
        return 1;
    }

    if (strncmp(text, "source", 6) == 0 &&
        (text[6] == '\0' || is_blank((unsigned char)text[6]))) {
        const char *name = text + 6;
        while (is_blank((unsigned char)*name))
            name++;
        if (!valid_source_name(name)) {
            ctx_fail(ctx, PS_ERR_CONFIG, ctx->line,
                     "bad section [%s]: expected [source NAME] with NAME of "
                     "1 to %d letters, digits, '_', '.' or '-'",
                     text, SOURCE_NAME_MAX);
            return 1;
        }
        const ps_config_source *dup = ps_config_source_find(ctx->cfg, name);
        if (dup) {
            ctx_fail(ctx, PS_ERR_CONFIG, ctx->line,
                     "duplicate [source %s] (lines %d and %d); source names "
                     "must be unique",
                     name, dup->line, ctx->line);
            return 1;
        }
        ps_config_source *src;
        ps_err e = PS_ERR_INIT;
        if (add_source(ctx->cfg, name, ctx->line, &src, &e) != PS_OK) {
            ctx_fail(ctx, e.code, 0, "%s", e.msg);
            return 1;
        }
        ctx->section = SEC_SOURCE;
        ctx->src = ctx->cfg->nsources - 1;
        return 1;
    }

    if (strncmp(text, "provider", 8) == 0 &&
        (text[8] == '\0' || is_blank((unsigned char)text[8]))) {
        const char *name = text + 8;
        while (is_blank((unsigned char)*name))
            name++;
        if (!valid_source_name(name) || strcmp(name, "local") == 0) {
            ctx_fail(ctx, PS_ERR_CONFIG, ctx->line,
                     "bad section [%s]: expected [provider NAME] with NAME of "
                     "1 to %d letters, digits, '_', '.' or '-' (not 'local', "
                     "the name of the local index)",
                     text, SOURCE_NAME_MAX);
            return 1;
        }
        for (size_t i = 0; i < ctx->cfg->nproviders; i++) {
            if (strcmp(ctx->cfg->providers[i].name, name) == 0) {
                ctx_fail(ctx, PS_ERR_CONFIG, ctx->line,
                         "duplicate [provider %s] (lines %d and %d); provider "
                         "names must be unique",
                         name, ctx->cfg->providers[i].line, ctx->line);
                return 1;
            }
        }
        ps_config_provider *grown = ps_realloc(
            ctx->cfg->providers, (ctx->cfg->nproviders + 1) * sizeof *grown);
        if (!grown) {
            ctx_fail(ctx, PS_ERR_NOMEM, 0, "out of memory reading the config");
            return 1;
        }
        ctx->cfg->providers = grown;
        ps_config_provider *p = &grown[ctx->cfg->nproviders++];
        memset(p, 0, sizeof *p);
        p->line = ctx->line;
        p->name = ps_strdup(name);
        ps_err e = PS_ERR_INIT;
        if (!p->name || apply_defaults(p, SEC_PROVIDER, &e) != PS_OK) {
            ctx_fail(ctx, PS_ERR_NOMEM, 0, "out of memory reading the config");
            return 1;
        }
        ctx->section = SEC_PROVIDER;
        ctx->prov = ctx->cfg->nproviders - 1;
        return 1;
    }

    ctx_fail(ctx, PS_ERR_CONFIG, ctx->line,
             "unknown section [%s] (known: " KNOWN_SECTIONS ")", text);
    return 1;
}

/* libinih's line reader: one line of the file per call, into str (num
 * bytes). Returns NULL at the end of the file or once an error is recorded,
 * which ends the parse. */
static char *read_line(char *str, int num, void *stream)
{
    parse_ctx *ctx = stream;
    if (ctx->err_at)
        return NULL;
    if (!fgets(str, num, ctx->fp)) {
        if (ferror(ctx->fp)) {
            ctx->io_errno = errno;
            ctx_fail(ctx, PS_ERR_IO, 0, "read error");
        }
        return NULL;
    }
    ctx->line++;
    size_t len = strlen(str);
    if (num > 1 && len == (size_t)num - 1 && str[len - 1] != '\n') {
        int c = getc(ctx->fp);
        if (c != EOF) {
            ctx_fail(ctx, PS_ERR_CONFIG, ctx->line,
                     "line too long (at most %d characters)", num - 2);
            return NULL;
        }
    }
    /* Drop a UTF-8 byte order mark, then leading whitespace. */
    size_t skip = 0;
    if (ctx->line == 1 && len >= 3 && memcmp(str, "\xEF\xBB\xBF", 3) == 0)
        skip = 3;
    while (skip < len && is_blank((unsigned char)str[skip]) &&
           str[skip] != '\n')
        skip++;
    if (skip) {
        memmove(str, str + skip, len - skip + 1);
        len -= skip;
    }
    if (str[0] == '[' && begin_section(ctx, str + 1)) {
        if (ctx->err_at)
            return NULL;
        str[0] = '\0'; /* handled here; libinih sees a blank line */
    }
    return str;
}

/* libinih's handler: one key = value of the current section. */
static int handle_pair(void *user, const char *section, const char *name,
                       const char *value)
{
    parse_ctx *ctx = user;
    char label[SOURCE_NAME_MAX + 16], why[200];
    (void)section; /* ours is tracked by begin_section */

    if (ctx->err_at)
        return 0;
    if (!value)
        value = "";
    if (ctx->section < 0) {
        ctx_fail(ctx, PS_ERR_CONFIG, ctx->line,
                 "key '%s' is outside any section; put it under one "
                 "of " KNOWN_SECTIONS,
                 name);
        return 0;
    }
    ps_config_source *src = ctx_source(ctx);
    ps_config_provider *prov = ctx_provider(ctx);
    section_label((section_kind)ctx->section,
                  prov ? (const ps_config_source *)(const void *)prov : src,
                  label, sizeof label);
    const setting *s = find_setting((section_kind)ctx->section, name);
    if (!s && src)
        return add_source_option(ctx, src, name, value);
    if (!s) {
        char keys[200];
        known_keys((section_kind)ctx->section, keys, sizeof keys);
        ctx_fail(ctx, PS_ERR_CONFIG, ctx->line,
                 "unknown key '%s' in [%s] (known keys: %s)", name, label,
                 keys);
        return 0;
    }
    size_t idx = (size_t)(s - settings);
    if (ctx->key_line[idx]) {
        /* Last-wins would silently hide one of the two: refuse. */
        ctx_fail(ctx, PS_ERR_CONFIG, ctx->line,
                 "[%s] %s is set twice (lines %d and %d); keep one", label,
                 name, ctx->key_line[idx], ctx->line);
        return 0;
    }
    ctx->key_line[idx] = ctx->line;
    void *base = src ? (void *)src : prov ? (void *)prov : (void *)ctx->cfg;
    ps_status st = set_value(base, s, value, why, sizeof why);
    if (st == PS_ERR_NOMEM) {
        ctx_fail(ctx, st, 0, "out of memory reading the config");
        return 0;
    }
    if (st != PS_OK) {
        ctx_fail(ctx, st, ctx->line, "[%s] %s = '%.80s': %s", label, name,
                 value, why);
        return 0;
    }
    return 1;
}

ps_status ps_config_load(ps_config *cfg, const char *path, ps_err *err)
{
    if (!cfg)
        return ps_err_set(err, PS_ERR_INVALID, "ps_config_load: cfg is NULL");
    memset(cfg, 0, sizeof *cfg);
    if (!path)
        return ps_err_set(err, PS_ERR_INVALID, "ps_config_load: path is NULL");

    FILE *fp = fopen(path, "r");
    if (!fp)
        return ps_err_set(err, PS_ERR_IO,
                          "cannot read config %s: %s; pass --config with an "
                          "existing file or run `pansift init` to create one",
                          path, strerror(errno));

    ps_status st = ps_config_defaults(cfg, err);
    if (st == PS_OK) {
        cfg->path = ps_strdup(path);
        if (!cfg->path)
            st = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    if (st != PS_OK) {
        fclose(fp);
        ps_config_free(cfg);
        return st;
    }

    parse_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.cfg = cfg;
    ctx.path = path;
    ctx.fp = fp;
    ctx.section = -1;
    int rc = ini_parse_stream(read_line, &ctx, handle_pair, &ctx);
    if (!ctx.err_at && rc == 0)
        end_section(&ctx);
    fclose(fp);

    if (ctx.err_at && ctx.err.code == PS_ERR_IO) {
        st = ps_err_set(err, PS_ERR_IO,
                        "cannot read config %s: %s; pass --config with an "
                        "existing file or run `pansift init` to create one",
                        path, strerror(ctx.io_errno));
    } else if (ctx.err_at && ctx.err.code == PS_ERR_NOMEM) {
        st = ctx.err.code;
        if (err)
            *err = ctx.err;
    } else if (rc == -2) {
        st = ps_err_set(err, PS_ERR_NOMEM, "%s: out of memory", path);
    } else if (rc > 0 && (!ctx.err_at || rc < ctx.err_at)) {
        st = ps_err_set(err, PS_ERR_CONFIG,
                        "%s:%d: syntax error (expected 'key = value' or "
                        "'[section]')",
                        path, rc);
    } else if (ctx.err_at) {
        st = ctx.err.code;
        if (err)
            *err = ctx.err;
    } else if (resolve_inheritance(cfg) != PS_OK) {
        st = ps_err_set(err, PS_ERR_NOMEM, "%s: out of memory", path);
    }
    if (st != PS_OK)
        ps_config_free(cfg);
    return st;
}

/* ---- overrides ---------------------------------------------------------- */

static int values_equal(const void *a, const void *b, const setting *sa,
                        const setting *sb)
{
    if (is_string_type(sa->type)) {
        const char *x = get_str(a, sa), *y = get_str(b, sb);
        return x && y && strcmp(x, y) == 0;
    }
    return get_long(a, sa) == get_long(b, sb);
}

ps_status ps_config_set(ps_config *cfg, const char *section, const char *key,
                        const char *value, const char *origin, ps_err *err)
{
    char label[SOURCE_NAME_MAX + 16], why[200];
    if (!cfg || !section || !key || !value)
        return ps_err_set(err, PS_ERR_INVALID, "ps_config_set: NULL argument");

    int sec = -1;
    ps_config_source *src = NULL;
    for (int i = 0; i < SEC_SOURCE; i++)
        if (strcmp(section, section_names[i]) == 0)
            sec = i;
    if (sec < 0 && strncmp(section, "source ", 7) == 0) {
        const char *name = section + 7;
        while (*name == ' ')
            name++;
        size_t idx = source_index(cfg, name);
        if (idx == cfg->nsources)
            return ps_err_set(err, PS_ERR_CONFIG,
                              "%s: no [source %s] in the configuration",
                              origin ? origin : "override", name);
        src = &cfg->sources[idx];
        sec = SEC_SOURCE;
    }
    if (sec < 0)
        return ps_err_set(err, PS_ERR_CONFIG,
                          "%s: unknown section [%s] (known: " KNOWN_SECTIONS
                          ")",
                          origin ? origin : "override", section);
    section_label((section_kind)sec, src, label, sizeof label);
    char where[SOURCE_NAME_MAX + 64];
    if (origin)
        snprintf(where, sizeof where, "%s", origin);
    else
        snprintf(where, sizeof where, "[%s] %s", label, key);

    const setting *s = find_setting((section_kind)sec, key);
    if (!s) {
        char keys[200];
        known_keys((section_kind)sec, keys, sizeof keys);
        return ps_err_set(err, PS_ERR_CONFIG,
                          "%s: unknown key '%s' in [%s] (known keys: %s)",
                          where, key, label, keys);
    }

    parsed v;
    ps_status st = parse_value(s, value, &v, why, sizeof why);
    if (st == PS_ERR_NOMEM)
        return ps_err_set(err, st, "%s: out of memory", where);
    if (st != PS_OK)
        return ps_err_set(err, st, "%s: '%.80s': %s", where, value, why);

    void *base = src ? (void *)src : (void *)cfg;
    if (sec != SEC_HARVEST) {
        ps_free(store_value(base, s, &v));
        return PS_OK;
    }

    /* A [harvest] key: sources whose value equals the old [harvest] value
     * (they inherited it, or chose the same) follow the new one. The old
     * value is kept in a scratch ps_config while the sources are compared. */
    ps_config old;
    memset(&old, 0, sizeof old);
    if (is_string_type(s->type))
        *str_field(&old, s) = store_value(cfg, s, &v);
    else {
        *long_field(&old, s) = *long_field(cfg, s);
        store_value(cfg, s, &v);
    }
    for (size_t i = 0; i < cfg->nsources && st == PS_OK; i++) {
        for (size_t j = 0; j < NSETTINGS; j++) {
            const setting *t = &settings[j];
            if (t->section != SEC_SOURCE || !t->inherit ||
                strcmp(t->inherit, s->key) != 0)
                continue;
            if (!values_equal(&cfg->sources[i], &old, t, s))
                continue;
            if (inherit_value(&cfg->sources[i], cfg, t) != PS_OK) {
                st = ps_err_set(err, PS_ERR_NOMEM, "%s: out of memory", where);
                break;
            }
        }
    }
    if (is_string_type(s->type))
        ps_free(*str_field(&old, s));
    return st;
}

ps_status ps_config_apply_env(ps_config *cfg, ps_err *err)
{
    if (!cfg)
        return ps_err_set(err, PS_ERR_INVALID,
                          "ps_config_apply_env: cfg is NULL");
    for (size_t i = 0; i < sizeof env_settings / sizeof env_settings[0]; i++) {
        const char *value = getenv(env_settings[i].var);
        if (!value || !*value) /* unset or empty: no override */
            continue;
        ps_status st =
            ps_config_set(cfg, env_settings[i].section, env_settings[i].key,
                          value, env_settings[i].var, err);
        if (st != PS_OK)
            return st;
    }
    return PS_OK;
}

const ps_config_source *ps_config_source_find(const ps_config *cfg,
                                              const char *name)
{
    if (!cfg || !name)
        return NULL;
    size_t i = source_index(cfg, name);
    return i < cfg->nsources ? &cfg->sources[i] : NULL;
}

/* ---- writing ------------------------------------------------------------ */

/* "integer 0..256", "bytes 1024..1048576", ... for the template (and the
 * type column of docs/configuration.md). */
static void describe_type(const setting *s, char *buf, size_t size)
{
    long long lo = (long long)s->min, hi = (long long)s->max;
    switch (s->type) {
    case T_INT: snprintf(buf, size, "integer %lld..%lld", lo, hi); break;
    case T_BYTES: snprintf(buf, size, "bytes %lld..%lld", lo, hi); break;
    case T_MS: snprintf(buf, size, "ms %lld..%lld", lo, hi); break;
    case T_SECONDS: snprintf(buf, size, "seconds %lld..%lld", lo, hi); break;
    case T_BOOL: snprintf(buf, size, "boolean"); break;
    case T_ENUM: {
        size_t len = (size_t)snprintf(buf, size, "one of ");
        for (size_t i = 0; s->choices[i] && len < size; i++)
            len += (size_t)snprintf(buf + len, size - len, "%s%s",
                                    i ? ", " : "", s->choices[i]);
        break;
    }
    case T_LISTEN: snprintf(buf, size, "ADDR:PORT"); break;
    case T_URL: snprintf(buf, size, "URL"); break;
    case T_PATH: snprintf(buf, size, "path"); break;
    case T_STRING: snprintf(buf, size, "string"); break;
    }
}

/* Write text as "; " comment lines of at most 79 columns. No line starts
 * with '[', so that uncommenting a line never yields a section header. */
static void write_comment(FILE *out, const char *text)
{
    const size_t width = 79 - 2;
    while (*text) {
        size_t n = strlen(text);
        if (n > width) {
            n = width;
            while (n > 0 && (text[n] != ' ' || text[n + 1] == '['))
                n--;
            if (n == 0) /* one long word: do not break it */
                n = strcspn(text, " ");
        }
        fprintf(out, "; %.*s\n", (int)n, text);
        text += n;
        while (*text == ' ')
            text++;
    }
}

/* "; <help> (<type>; default <value>)", wrapped. */
static void write_setting_help(FILE *out, const setting *s)
{
    char type[160], text[512];
    describe_type(s, type, sizeof type);
    if (s->required)
        snprintf(text, sizeof text, "%s (%s; required)", s->help, type);
    else if (s->inherit)
        snprintf(text, sizeof text, "%s (%s; default: [harvest] %s)", s->help,
                 type, s->inherit);
    else if (s->dflt && !*s->dflt)
        snprintf(text, sizeof text, "%s (%s; default empty)", s->help, type);
    else
        snprintf(text, sizeof text, "%s (%s; default %s)", s->help, type,
                 s->dflt);
    write_comment(out, text);
}

/* A commented example of a repeated section ([source esrf], [provider
 * esrf]): its settings with their help and an example value. */
static void write_example_section(FILE *out, section_kind sec,
                                  const char *comment)
{
    fputc('\n', out);
    write_comment(out, comment);
    fprintf(out, "; [%s esrf]\n", section_names[sec]);
    for (size_t i = 0, n = 0; i < NSETTINGS; i++) {
        const setting *s = &settings[i];
        if (s->section != sec)
            continue;
        if (n++)
            fputs(";\n", out);
        write_setting_help(out, s);
        const char *example = s->dflt;
        if (strcmp(s->key, "type") == 0)
            example = "pan";
        else if (strcmp(s->key, "url") == 0)
            example = "https://icatplus.esrf.fr/api";
        else if (s->inherit)
            example = find_setting(SEC_HARVEST, s->inherit)->dflt;
        fprintf(out, "; %s =%s%s\n", s->key, *example ? " " : "", example);
    }
}

ps_status ps_config_write_template(FILE *out, ps_err *err)
{
    if (!out)
        return ps_err_set(err, PS_ERR_INVALID,
                          "ps_config_write_template: out is NULL");
    write_comment(out, "pansift configuration (INI), written by `pansift "
                       "init`.");
    write_comment(out, "Every setting is shown with its default, commented "
                       "out: remove the semicolon in front of a setting to "
                       "change it. A key may appear once per section; "
                       "unknown sections and keys are errors.");
    write_comment(out, "Precedence: built-in defaults < this file < "
                       "environment (PANSIFT_DATA_DIR, PANSIFT_LISTEN, "
                       "PANSIFT_LOG_LEVEL) < command line.");
    write_comment(out, "Sizes take K, M, G suffixes (1024-based); durations "
                       "take ms, s, min, h.");
    for (int sec = 0; sec < SEC_SOURCE; sec++) {
        fprintf(out, "\n[%s]\n", section_names[sec]);
        for (size_t i = 0, n = 0; i < NSETTINGS; i++) {
            const setting *s = &settings[i];
            if (s->section != (section_kind)sec)
                continue;
            if (n++)
                fputc('\n', out);
            write_setting_help(out, s);
            fprintf(out, "; %s =%s%s\n", s->key, *s->dflt ? " " : "", s->dflt);
        }
    }
    write_example_section(out, SEC_SOURCE,
                          "One [source NAME] section per source to harvest; "
                          "NAME is letters, digits, '_', '.', '-'. Keys left "
                          "out take the [harvest] values.");
    write_example_section(out, SEC_PROVIDER,
                          "One [provider NAME] section per PaN search API to "
                          "federate (docs/federation.md); with none, the API "
                          "answers from the local index only.");
    if (fflush(out) != 0 || ferror(out))
        return ps_err_set(err, PS_ERR_IO,
                          "cannot write the configuration template: %s",
                          strerror(errno));
    return PS_OK;
}

static void dump_fields(FILE *out, const void *base, section_kind sec)
{
    for (size_t i = 0; i < NSETTINGS; i++) {
        const setting *s = &settings[i];
        if (s->section != sec)
            continue;
        if (is_string_type(s->type)) {
            const char *v = get_str(base, s);
            fprintf(out, "%s = %s\n", s->key, v ? v : "");
        } else if (is_long_type(s->type)) {
            fprintf(out, "%s = %ld\n", s->key, get_long(base, s));
        } else {
            fprintf(out, "%s = %s\n", s->key,
                    get_int(base, s) ? "true" : "false");
        }
    }
}

void ps_config_dump(const ps_config *cfg, FILE *out)
{
    if (!cfg || !out)
        return;
    if (cfg->path)
        fprintf(out,
                "; effective configuration: defaults, %s, environment, "
                "command line\n",
                cfg->path);
    else
        fputs("; effective configuration: defaults, environment, command "
              "line\n",
              out);
    for (int sec = 0; sec < SEC_SOURCE; sec++) {
        fprintf(out, "\n[%s]\n", section_names[sec]);
        dump_fields(out, cfg, (section_kind)sec);
    }
    for (size_t i = 0; i < cfg->nsources; i++) {
        fprintf(out, "\n[source %s]\n", cfg->sources[i].name);
        dump_fields(out, &cfg->sources[i], SEC_SOURCE);
    }
    for (size_t i = 0; i < cfg->nproviders; i++) {
        fprintf(out, "\n[provider %s]\n", cfg->providers[i].name);
        dump_fields(out, &cfg->providers[i], SEC_PROVIDER);
    }
}
