/*
 * test_config.c: unit tests of cli/config.c, the configuration table and its
 * INI reader. Covers the built-in defaults, a complete file (every section,
 * two sources, [harvest] inheritance in either order), one case per kind of
 * error (code, file name, line and key in the message), the environment and
 * command-line overrides, value syntax (addresses, sizes, durations,
 * booleans), the `pansift init` template and the dump (both re-read as
 * valid files), and an allocation-failure loop over every fallible call.
 * Files are written to a fresh temporary directory that is removed at the end.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "check.h"
#include "config.h"
#include "harvest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *tmpdir;

#define check_contains(haystack, needle)                                       \
    do {                                                                       \
        const char *check_h_ = (haystack), *check_n_ = (needle);               \
        check(check_h_ &&strstr(check_h_, check_n_) != NULL,                   \
              "\"%s\" does not contain \"%s\"",                                \
              check_h_ ? check_h_ : "(null)", check_n_);                       \
    } while (0)

/* check_fatal evaluates its condition twice, so calls go through this. */
#define require_ok(call, errp)                                                 \
    do {                                                                       \
        ps_status require_st_ = (call);                                        \
        check_fatal(require_st_ == PS_OK, "%s", (errp)->msg);                  \
    } while (0)

/* A path in the temporary directory (a few live at once). */
static const char *tmp_path(const char *name)
{
    static char paths[8][512];
    static int next = 0;
    char *p = paths[next];
    next = (next + 1) % 8;
    snprintf(p, sizeof paths[0], "%s/%s", tmpdir, name);
    return p;
}

static const char *write_file(const char *name, const char *text)
{
    const char *path = tmp_path(name);
    FILE *f = fopen(path, "w");
    check_fatal(f != NULL, "cannot create %s", path);
    fputs(text, f);
    fclose(f);
    return path;
}

/* ps_config_dump into a malloc'd string, without its first (comment) line. */
static char *dump_string(const ps_config *cfg)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    check_fatal(f != NULL, "open_memstream");
    ps_config_dump(cfg, f);
    fclose(f);
    char *nl = strchr(text, '\n');
    if (nl)
        memmove(text, nl + 1, strlen(nl + 1) + 1);
    return text;
}

static int cfg_is_zero(const ps_config *cfg)
{
    static const ps_config zero;
    return memcmp(cfg, &zero, sizeof zero) == 0;
}

/* ---- defaults ----------------------------------------------------------- */

static void test_defaults(void)
{
    ps_config cfg;
    ps_err err = PS_ERR_INIT;
    require_ok(ps_config_defaults(&cfg, &err), &err);
    check(cfg.path == NULL, "no path");
    check_str(cfg.data_dir, "data");
    check_str(cfg.log_level, "info");
    check_str(cfg.listen, "127.0.0.1:8080");
    check(cfg.threads == 0, "threads %ld", cfg.threads);
    check_str(cfg.api_prefix, "/api");
    check(cfg.max_url_bytes == 16384, "%ld", cfg.max_url_bytes);
    check(cfg.max_header_bytes == 32768, "%ld", cfg.max_header_bytes);
    check(cfg.max_body_bytes == 1048576, "%ld", cfg.max_body_bytes);
    check(cfg.connection_limit == 1024, "%ld", cfg.connection_limit);
    check(cfg.connection_timeout_s == 30, "%ld", cfg.connection_timeout_s);
    check(cfg.access_log == 1, "%d", cfg.access_log);
    check_str(cfg.dashboard_dir, "");
    check_str(cfg.cors_origin, "*");
    check(cfg.index_refresh_ms == 500, "%ld", cfg.index_refresh_ms);
    check(cfg.index_batch == 1000, "%ld", cfg.index_batch);
    check(cfg.rebuild_workers == 0, "%ld", cfg.rebuild_workers);
    check_str(cfg.user_agent,
              "pansift/0.1 (+https://github.com/pansift/pansift)");
    check(cfg.harvest_timeout_ms == 60000, "%ld", cfg.harvest_timeout_ms);
    check(cfg.harvest_connect_timeout_ms == 10000, "%ld",
          cfg.harvest_connect_timeout_ms);
    check(cfg.harvest_retries == 4, "%ld", cfg.harvest_retries);
    check(cfg.harvest_max_response_bytes == 67108864L, "%ld",
          cfg.harvest_max_response_bytes);
    check(cfg.harvest_batch == 1000, "%ld", cfg.harvest_batch);
    check(cfg.sources == NULL && cfg.nsources == 0, "no sources");
    check(ps_config_source_find(&cfg, "esrf") == NULL, "no source");
    ps_config_free(&cfg);
    check(cfg_is_zero(&cfg), "freed config is zeroed");
    ps_config_free(&cfg); /* twice is fine */
    ps_config_free(NULL);

    check(ps_config_defaults(NULL, &err) == PS_ERR_INVALID, "NULL cfg");
    check(ps_config_defaults(NULL, NULL) == PS_ERR_INVALID, "NULL err ok");
    check(ps_config_source_find(NULL, "x") == NULL, "NULL cfg");
    check(ps_config_source_find(&cfg, NULL) == NULL, "NULL name");
    check(ps_harvest_type_names[0] &&
              strcmp(ps_harvest_type_names[0], "pan") == 0,
          "pan is known");
}

/* ---- a complete file ---------------------------------------------------- */

static const char full_ini[] =
    "; pansift test configuration\n"
    "# hash comments too\n"
    "[pansift]\n"
    "data_dir = /var/lib/pansift\n"
    "log_level = DEBUG\n"
    "\n"
    "[source esrf]\n"
    "type = pan\n"
    "url = https://icatplus.esrf.fr/api\n"
    "page_size = 200\n"
    "timeout_ms = 2min\n"
    "user_agent = esrf-harvester/1.0\n"
    "delay_ms = 1s\n"
    "\n"
    "[server]\n"
    "listen = [::1]:9090\n"
    "threads = 8\n"
    "api_prefix = /v1/api\n"
    "max_url_bytes = 8K\n"
    "max_header_bytes = 64KiB\n"
    "max_body_bytes = 2M\n"
    "connection_limit = 50\n"
    "connection_timeout_s = 2min\n"
    "access_log = off\n"
    "dashboard_dir = /usr/share/pansift/dashboard\n"
    "cors_origin = https://example.org\n"
    "index_refresh_ms = 0\n"
    "\n"
    "  [index]     ; indented header, inline comment\n"
    "    batch = 5000\n"
    "    rebuild_workers = 4\n"
    "\n"
    "[source ill.local-copy_2]\n"
    "type = pan\n"
    "url = file:///srv/ill/dump\n"
    "enabled = no\n"
    "\n"
    "[harvest]\n"
    "user_agent = test-agent/2 (+mailto:ops@example.org)\n"
    "timeout_ms = 30s\n"
    "connect_timeout_ms = 5000\n"
    "retries = 2\n"
    "max_response_bytes = 1G\n"
    "batch = 250 ; inline comment\n";

static void check_full(const ps_config *cfg)
{
    check_str(cfg->data_dir, "/var/lib/pansift");
    check_str(cfg->log_level, "debug");
    check_str(cfg->listen, "[::1]:9090");
    check(cfg->threads == 8, "%ld", cfg->threads);
    check_str(cfg->api_prefix, "/v1/api");
    check(cfg->max_url_bytes == 8192, "%ld", cfg->max_url_bytes);
    check(cfg->max_header_bytes == 65536, "%ld", cfg->max_header_bytes);
    check(cfg->max_body_bytes == 2097152, "%ld", cfg->max_body_bytes);
    check(cfg->connection_limit == 50, "%ld", cfg->connection_limit);
    check(cfg->connection_timeout_s == 120, "%ld", cfg->connection_timeout_s);
    check(cfg->access_log == 0, "%d", cfg->access_log);
    check_str(cfg->dashboard_dir, "/usr/share/pansift/dashboard");
    check_str(cfg->cors_origin, "https://example.org");
    check(cfg->index_refresh_ms == 0, "%ld", cfg->index_refresh_ms);
    check(cfg->index_batch == 5000, "%ld", cfg->index_batch);
    check(cfg->rebuild_workers == 4, "%ld", cfg->rebuild_workers);
    check_str(cfg->user_agent, "test-agent/2 (+mailto:ops@example.org)");
    check(cfg->harvest_timeout_ms == 30000, "%ld", cfg->harvest_timeout_ms);
    check(cfg->harvest_connect_timeout_ms == 5000, "%ld",
          cfg->harvest_connect_timeout_ms);
    check(cfg->harvest_retries == 2, "%ld", cfg->harvest_retries);
    check(cfg->harvest_max_response_bytes == 1073741824L, "%ld",
          cfg->harvest_max_response_bytes);
    check(cfg->harvest_batch == 250, "%ld", cfg->harvest_batch);

    check_fatal(cfg->nsources == 2, "%zu sources", cfg->nsources);
    const ps_config_source *a = ps_config_source_find(cfg, "esrf");
    const ps_config_source *b = ps_config_source_find(cfg, "ill.local-copy_2");
    check_fatal(a == &cfg->sources[0] && b == &cfg->sources[1],
                "sources in file order");
    check(ps_config_source_find(cfg, "ESRF") == NULL, "names are exact");
    check_str(a->name, "esrf");
    check_str(a->type, "pan");
    check_str(a->url, "https://icatplus.esrf.fr/api");
    check(a->enabled == 1, "enabled by default");
    check(a->page_size == 200, "%ld", a->page_size);
    check(a->timeout_ms == 120000, "own timeout %ld", a->timeout_ms);
    check_str(a->user_agent, "esrf-harvester/1.0");
    check(a->delay_ms == 1000, "%ld", a->delay_ms);
    /* Not set in [source esrf]: from [harvest], which comes later. */
    check(a->connect_timeout_ms == 5000, "%ld", a->connect_timeout_ms);
    check(a->retries == 2, "%ld", a->retries);
    check(a->max_response_bytes == 1073741824L, "%ld", a->max_response_bytes);

    check_str(b->type, "pan");
    check_str(b->url, "file:///srv/ill/dump");
    check(b->enabled == 0, "disabled");
    check(b->page_size == 500, "%ld", b->page_size);
    check(b->delay_ms == 0, "%ld", b->delay_ms);
    check(b->timeout_ms == 30000, "%ld", b->timeout_ms);
    check(b->connect_timeout_ms == 5000, "%ld", b->connect_timeout_ms);
    check(b->retries == 2, "%ld", b->retries);
    check(b->max_response_bytes == 1073741824L, "%ld", b->max_response_bytes);
    check_str(b->user_agent, "test-agent/2 (+mailto:ops@example.org)");
    check(b->user_agent != cfg->user_agent, "sources own their strings");
}

static void test_full_file(void)
{
    ps_config cfg;
    ps_err err = PS_ERR_INIT;
    const char *path = write_file("full.ini", full_ini);
    require_ok(ps_config_load(&cfg, path, &err), &err);
    check_str(cfg.path, path);
    check_full(&cfg);
    check(cfg.sources[0].line == 7, "line %d", cfg.sources[0].line);
    check(cfg.sources[1].line == 33, "line %d", cfg.sources[1].line);

    /* The dump is a valid file that reads back the same. */
    char *dump = dump_string(&cfg);
    const char *path2 = write_file("dump.ini", dump);
    ps_config again;
    require_ok(ps_config_load(&again, path2, &err), &err);
    check_full(&again);
    char *dump2 = dump_string(&again);
    check_str(dump, dump2);
    check_contains(dump, "[source esrf]\ntype = pan\n");
    check_contains(dump, "max_body_bytes = 2097152\n");
    free(dump);
    free(dump2);
    ps_config_free(&again);
    ps_config_free(&cfg);

    /* [harvest] before the sources works the same. */
    const char *before = "[harvest]\n"
                         "timeout_ms = 1234\n"
                         "user_agent = early/1\n"
                         "[source a]\n"
                         "type = pan\n"
                         "url = http://a.example/api\n"
                         "[source b]\n"
                         "type = pan\n"
                         "url = http://b.example/api\n"
                         "timeout_ms = 999\n";
    path = write_file("before.ini", before);
    require_ok(ps_config_load(&cfg, path, &err), &err);
    check(cfg.sources[0].timeout_ms == 1234, "%ld", cfg.sources[0].timeout_ms);
    check_str(cfg.sources[0].user_agent, "early/1");
    check(cfg.sources[1].timeout_ms == 999, "%ld", cfg.sources[1].timeout_ms);
    check(cfg.sources[1].retries == 4, "%ld", cfg.sources[1].retries);
    check_str(cfg.listen, "127.0.0.1:8080");
    ps_config_free(&cfg);

    /* An empty file, a BOM, CRLF line ends, a last line without '\n'. */
    path = write_file("empty.ini", "");
    check(ps_config_load(&cfg, path, &err) == PS_OK, "%s", err.msg);
    check_str(cfg.data_dir, "data");
    ps_config_free(&cfg);
    path = write_file("crlf.ini", "\xEF\xBB\xBF[server]\r\nthreads = 3\r\n"
                                  "\r\n[pansift]\r\nlog_level = warn");
    check(ps_config_load(&cfg, path, &err) == PS_OK, "%s", err.msg);
    check(cfg.threads == 3, "%ld", cfg.threads);
    check_str(cfg.log_level, "warn");
    ps_config_free(&cfg);
    /* Empty sections are fine. */
    path = write_file("sections.ini", "[pansift]\n[server]\n[index]\n"
                                      "[harvest]\n");
    check(ps_config_load(&cfg, path, &err) == PS_OK, "%s", err.msg);
    ps_config_free(&cfg);

    check(ps_config_load(NULL, path, &err) == PS_ERR_INVALID, "NULL cfg");
    check(ps_config_load(&cfg, NULL, &err) == PS_ERR_INVALID, "NULL path");
    check(cfg_is_zero(&cfg), "zeroed");
}

/* ---- errors ------------------------------------------------------------- */

typedef struct error_case {
    const char *text;
    int line;          /* expected FILE:LINE; 0: none */
    const char *want1; /* substrings of the message */
    const char *want2;
} error_case;

static const error_case error_cases[] = {
    {"[provider esrf]\ntimeout = 100\n\n[server]\nthreads = 1\n", 1,
     "[provider esrf] has no url", "icatplus"},
    {"[provider esrf]\nurl = file:///srv/x\n", 1, "[provider esrf] url",
     "http:// or https://"},
    {"[provider local]\nurl = http://a/api\n", 1,
     "bad section [provider local]", "not 'local'"},
    {"[provider a]\nurl = http://a/api\n[provider a]\nurl = http://b/api\n", 3,
     "duplicate [provider a]", "lines 1 and 3"},
    {"[provider a]\nurl = http://a/api\nweight = -1\n", 3,
     "[provider a] weight = '-1'", "positive number"},
    {"[provider a]\nurl = http://a/api\nheaders = no colon here\n", 3,
     "[provider a] headers", "'Name: value'"},
    {"[provider a]\nurl = http://a/api\ntype = pan\n", 3,
     "unknown key 'type' in [provider a]", "url, timeout"},
    {"[federation]\ndeadline_ms = 5\n", 2, "[federation] deadline_ms", "100"},
    {"[pansift]\n[servre]\nlisten = 1.2.3.4:80\n", 2,
     "unknown section [servre]", "[source NAME]"},
    {"[source esrf]\ntype = pan\nurl = http://a/\n\n[source esrf]\n"
     "type = pan\nurl = http://b/\n",
     5, "duplicate [source esrf]", "lines 1 and 5"},
    {"[source esrf]\ntype = pan\n\n[server]\nthreads = 1\n", 1,
     "[source esrf] has no url", "type and url"},
    {"[server]\n[source last]\nurl = https://x.example\n", 2,
     "[source last] has no type", NULL},
    {"[pansift]\nlog_level = loud\n", 2, "[pansift] log_level = 'loud'",
     "expected one of error, warn, info, "
     "debug"},
    {"[server]\nlisten = 1.2.3.4:99999\n", 2,
     "[server] listen = '1.2.3.4:99999'", "port 0..65535"},
    {"[server]\n\nthreads = 300\n", 3, "[server] threads = '300'",
     "expected an integer between 0 and 256"},
    {"[server]\nthreads = abc\n", 2,
     "[server] threads = 'abc': expected an integer between 0 and 256", NULL},
    {"[server]\nlisten = 1.2.3.4:80\nfoo = 1\n", 3,
     "unknown key 'foo' in [server]", "(known keys: listen, threads, "},
    {"[source x]\ntype = pan\nurl = http://x/\npagesize = 1\n", 4,
     "unknown key 'pagesize' in [source x]", "page_size"},
    /* a type's own option on another type names both lists */
    {"[source x]\nurl = http://x/\nset = physics\ntype = pan\n", 3,
     "unknown key 'set' in [source x]", "of type pan: none"},
    {"[source x]\ntype = oai-pmh\nurl = http://x/\nset = a\nset = b\n", 5,
     "[source x] set is set twice", NULL},
    {"[harvest]\ncontact = nobody\n", 2, "[harvest] contact = 'nobody'",
     "expected an e-mail address"},
    {"[source x]\ntype = crossref\nurl = http://x/\nrequests_per_minute = "
     "-1\n",
     4, "[source x] requests_per_minute = '-1'", "between 0 and 600000"},
    {"[server]\nthreads = 1\naccess_log = yes\nthreads = 2\n", 4,
     "[server] threads is set twice", "lines 2 and 4"},
    {"[server]\nthreads = 1\nthis is not ini\n", 3, "syntax error",
     "expected 'key = value' or '[section]'"},
    {"[server\nthreads = 1\n", 1, "syntax error", NULL},
    {"[server] junk\n", 1, "syntax error", NULL},
    {"[server]\nthreads = 1\n    continued\n", 3, "syntax error", NULL},
    {"threads = 1\n[server]\n", 1, "key 'threads' is outside any section",
     NULL},
    {"[server]\nthreads = 1\n[index]\n[server]\n", 4, "[server] appears twice",
     "lines 1 and 4"},
    {"[source bad/name]\n", 1, "bad section [source bad/name]", NULL},
    {"[source]\n", 1, "bad section [source]", NULL},
    {"[source x]\ntype = pan\nurl = ftp://x.example/\n", 3,
     "[source x] url = 'ftp://x.example/'", "http://, https:// or file://"},
    {"[source x]\ntype = oai\nurl = http://x/\n", 2, "[source x] type = 'oai'",
     "expected one of pan"},
    {"[source x]\ntype = pan\nurl = http://x/\npage_size = 0\n", 4,
     "[source x] page_size = '0'", "between 1 and 100000"},
    {"[server]\naccess_log = maybe\n", 2, "[server] access_log = 'maybe'",
     "true/false"},
    {"[server]\napi_prefix = /api/\n", 2, "[server] api_prefix = '/api/'",
     "not ending with '/'"},
    {"[server]\napi_prefix = api\n", 2, "[server] api_prefix", NULL},
    {"[server]\ncors_origin = https://x.org/path\n", 2, "[server] cors_origin",
     "one origin"},
    {"[server]\nadmin_token = short\n", 2, "[server] admin_token",
     "16 to 256 characters"},
    {"[server]\nadmin_token = sixteen chars and more\n", 2,
     "[server] admin_token", "without spaces"},
    {"[server]\nconnection_timeout_s = 1500ms\n", 2,
     "[server] connection_timeout_s = '1500ms'", "whole number of seconds"},
    {"[server]\nmax_body_bytes = 2G\n", 2, "[server] max_body_bytes = '2G'",
     "between 0 and 1073741824 bytes"},
    {"[server]\nmax_url_bytes = 16X\n", 2, "[server] max_url_bytes = '16X'",
     "suffixes K, M, G"},
    {"[harvest]\ntimeout_ms = 5 weeks\n", 2, "[harvest] timeout_ms", "ms"},
    {"[harvest]\nuser_agent =\n", 2, "[harvest] user_agent = ''", "non-empty"},
    {"[pansift]\ndata_dir =\n", 2, "[pansift] data_dir = ''", "non-empty"},
    /* The first of several errors is the one reported. */
    {"[server]\nthreads = -1\nlisten = nope\n[bogus]\n", 2,
     "[server] threads = '-1'", NULL},
    {"[server]\nbad line\nthreads = x\n", 2, "syntax error", NULL},
};

static void test_errors(void)
{
    for (size_t i = 0; i < sizeof error_cases / sizeof error_cases[0]; i++) {
        const error_case *c = &error_cases[i];
        ps_config cfg;
        ps_err err = PS_ERR_INIT;
        char name[32], where[600];
        snprintf(name, sizeof name, "error%zu.ini", i);
        const char *path = write_file(name, c->text);
        ps_status st = ps_config_load(&cfg, path, &err);
        check(st == PS_ERR_CONFIG, "case %zu: status %d (%s)", i, (int)st,
              err.msg);
        check(err.code == PS_ERR_CONFIG, "case %zu: err.code", i);
        snprintf(where, sizeof where, "%s:%d: ", path, c->line);
        check(strncmp(err.msg, where, strlen(where)) == 0,
              "case %zu: \"%s\" does not start with \"%s\"", i, err.msg, where);
        check_contains(err.msg, c->want1);
        if (c->want2)
            check_contains(err.msg, c->want2);
        check(cfg_is_zero(&cfg), "case %zu: cfg zeroed after an error", i);
    }

    /* A line longer than libinih's buffer is refused, not split. */
    char longline[400];
    snprintf(longline, sizeof longline, "[pansift]\ndata_dir = /%0300d\n", 0);
    ps_config cfg;
    ps_err err = PS_ERR_INIT;
    const char *path = write_file("long.ini", longline);
    check(ps_config_load(&cfg, path, &err) == PS_ERR_CONFIG, "%s", err.msg);
    check_contains(err.msg, ":2: line too long");

    /* A line just under the limit is fine. */
    snprintf(longline, sizeof longline, "[pansift]\ndata_dir = /%0186d\n", 0);
    path = write_file("long2.ini", longline);
    check(ps_config_load(&cfg, path, &err) == PS_OK, "%s", err.msg);
    check(cfg.data_dir && strlen(cfg.data_dir) == 187, "long path");
    ps_config_free(&cfg);

    /* Missing file. */
    path = tmp_path("does-not-exist.ini");
    check(ps_config_load(&cfg, path, &err) == PS_ERR_IO, "%s", err.msg);
    check_contains(err.msg, "cannot read config ");
    check_contains(err.msg, path);
    check_contains(err.msg, "No such file");
    check_contains(err.msg, "pansift init");
    check(cfg_is_zero(&cfg), "zeroed");

    /* A directory opens but cannot be read. */
    path = tmp_path("adir.ini");
    int rc = mkdir(path, 0700);
    check_fatal(rc == 0, "mkdir %s", path);
    check(ps_config_load(&cfg, path, &err) == PS_ERR_IO, "%s", err.msg);
    check_contains(err.msg, path);
    check(cfg_is_zero(&cfg), "zeroed");
}

/* ---- overrides ---------------------------------------------------------- */

static void test_env(void)
{
    ps_config cfg;
    ps_err err = PS_ERR_INIT;
    require_ok(ps_config_defaults(&cfg, &err), &err);

    unsetenv("PANSIFT_DATA_DIR");
    unsetenv("PANSIFT_LISTEN");
    unsetenv("PANSIFT_LOG_LEVEL");
    check(ps_config_apply_env(&cfg, &err) == PS_OK, "%s", err.msg);
    check_str(cfg.data_dir, "data");

    setenv("PANSIFT_DATA_DIR", "/srv/pansift", 1);
    setenv("PANSIFT_LISTEN", "[::]:0", 1);
    setenv("PANSIFT_LOG_LEVEL", "Warn", 1);
    check(ps_config_apply_env(&cfg, &err) == PS_OK, "%s", err.msg);
    check_str(cfg.data_dir, "/srv/pansift");
    check_str(cfg.listen, "[::]:0");
    check_str(cfg.log_level, "warn");

    /* Empty means unset. */
    setenv("PANSIFT_DATA_DIR", "", 1);
    check(ps_config_apply_env(&cfg, &err) == PS_OK, "%s", err.msg);
    check_str(cfg.data_dir, "/srv/pansift");

    setenv("PANSIFT_LISTEN", "1.2.3.4:99999", 1);
    check(ps_config_apply_env(&cfg, &err) == PS_ERR_CONFIG, "bad listen");
    check_contains(err.msg, "PANSIFT_LISTEN: '1.2.3.4:99999': ");
    check_contains(err.msg, "port 0..65535");
    check_str(cfg.listen, "[::]:0"); /* unchanged */

    unsetenv("PANSIFT_LISTEN");
    setenv("PANSIFT_LOG_LEVEL", "verbose", 1);
    check(ps_config_apply_env(&cfg, &err) == PS_ERR_CONFIG, "bad level");
    check_contains(err.msg, "PANSIFT_LOG_LEVEL: 'verbose'");
    unsetenv("PANSIFT_LOG_LEVEL");
    unsetenv("PANSIFT_DATA_DIR");
    check(ps_config_apply_env(NULL, &err) == PS_ERR_INVALID, "NULL cfg");
    ps_config_free(&cfg);
}

/* Set [section] key = value; returns the status. */
static ps_status set1(ps_config *cfg, const char *section, const char *key,
                      const char *value, ps_err *err)
{
    return ps_config_set(cfg, section, key, value, "--test", err);
}

static void test_set(void)
{
    ps_config cfg;
    ps_err err = PS_ERR_INIT;
    const char *path =
        write_file("set.ini", "[source own]\ntype = pan\n"
                              "url = http://own.example/\n"
                              "user_agent = own/1\ntimeout_ms = 777\n"
                              "[source inherits]\ntype = pan\n"
                              "url = http://inh.example/\n");
    require_ok(ps_config_load(&cfg, path, &err), &err);

    check(ps_config_set(&cfg, "server", "listen", "1.2.3.4:99999", "--listen",
                        &err) == PS_ERR_CONFIG,
          "bad port");
    check_contains(err.msg, "--listen: '1.2.3.4:99999': ");
    check_contains(err.msg, "not a valid ADDR:PORT");
    check_str(cfg.listen, "127.0.0.1:8080");
    check(ps_config_set(&cfg, "server", "listen", "localhost:0", "--listen",
                        &err) == PS_OK,
          "%s", err.msg);
    check_str(cfg.listen, "localhost:0");

    /* Without an origin the message names the setting. */
    check(ps_config_set(&cfg, "server", "threads", "many", NULL, &err) ==
              PS_ERR_CONFIG,
          "bad threads");
    check_contains(err.msg, "[server] threads: 'many': expected an integer");

    check(set1(&cfg, "server", "nope", "1", &err) == PS_ERR_CONFIG, "key");
    check_contains(err.msg, "--test: unknown key 'nope' in [server]");
    check(set1(&cfg, "serve", "threads", "1", &err) == PS_ERR_CONFIG, "sec");
    check_contains(err.msg, "unknown section [serve]");
    check(set1(&cfg, "source", "url", "http://x/", &err) == PS_ERR_CONFIG,
          "source without name");
    check(set1(&cfg, "source nope", "url", "http://x/", &err) == PS_ERR_CONFIG,
          "unknown source");
    check_contains(err.msg, "no [source nope]");
    check(ps_config_set(NULL, "server", "threads", "1", NULL, &err) ==
              PS_ERR_INVALID,
          "NULL cfg");
    check(ps_config_set(&cfg, NULL, "threads", "1", NULL, &err) ==
              PS_ERR_INVALID,
          "NULL section");
    check(ps_config_set(&cfg, "server", NULL, "1", NULL, &err) ==
              PS_ERR_INVALID,
          "NULL key");
    check(ps_config_set(&cfg, "server", "threads", NULL, NULL, &err) ==
              PS_ERR_INVALID,
          "NULL value");

    /* A source key. */
    check(set1(&cfg, "source own", "page_size", "42", &err) == PS_OK, "%s",
          err.msg);
    check(cfg.sources[0].page_size == 42, "%ld", cfg.sources[0].page_size);
    check(set1(&cfg, "source own", "page_size", "0", &err) == PS_ERR_CONFIG,
          "range");
    check_contains(err.msg, "--test: '0': expected an integer between 1");
    check(cfg.sources[0].page_size == 42, "unchanged");

    /* A [harvest] override reaches the sources that inherited the value. */
    check(set1(&cfg, "harvest", "user_agent", "cli/9", &err) == PS_OK, "%s",
          err.msg);
    check_str(cfg.user_agent, "cli/9");
    check_str(cfg.sources[0].user_agent, "own/1");
    check_str(cfg.sources[1].user_agent, "cli/9");
    check(set1(&cfg, "harvest", "timeout_ms", "3s", &err) == PS_OK, "%s",
          err.msg);
    check(cfg.harvest_timeout_ms == 3000, "%ld", cfg.harvest_timeout_ms);
    check(cfg.sources[0].timeout_ms == 777, "%ld", cfg.sources[0].timeout_ms);
    check(cfg.sources[1].timeout_ms == 3000, "%ld", cfg.sources[1].timeout_ms);
    check(set1(&cfg, "harvest", "user_agent", "bad\tagent", &err) ==
              PS_ERR_CONFIG,
          "control character");
    check_str(cfg.sources[1].user_agent, "cli/9");
    ps_config_free(&cfg);
}

/* ---- value syntax ------------------------------------------------------- */

static void test_values(void)
{
    static const char *const good_listen[] = {
        "127.0.0.1:8080", "0.0.0.0:0",         "localhost:65535",   "[::1]:80",
        "[::]:8080",      "[2001:db8::1]:443", "255.255.255.255:1", NULL};
    static const char *const bad_listen[] = {"1.2.3.4",
                                             "1.2.3.4:",
                                             ":80",
                                             "1.2.3:80",
                                             "256.1.1.1:80",
                                             "example.com:80",
                                             "::1:80",
                                             "[::1]80",
                                             "[zz]:80",
                                             "[::1]:",
                                             "1.2.3.4:-1",
                                             "1.2.3.4:+80",
                                             "1.2.3.4:655350",
                                             "1.2.3.4:65536",
                                             "01.2.3.4:80",
                                             "1.2.3.4:80 ",
                                             "[]:80",
                                             "",
                                             NULL};
    static const struct {
        const char *section, *key, *text;
        long want;
    } numbers[] = {{"server", "max_body_bytes", "0", 0},
                   {"server", "max_body_bytes", "1k", 1024},
                   {"server", "max_body_bytes", "3 MiB", 3145728},
                   {"server", "max_body_bytes", "1G", 1073741824L},
                   {"server", "max_body_bytes", "+5", 5},
                   {"harvest", "max_response_bytes", "4G", 4294967296L},
                   {"server", "index_refresh_ms", "250ms", 250},
                   {"server", "index_refresh_ms", "2s", 2000},
                   {"server", "index_refresh_ms", "1min", 60000},
                   {"server", "index_refresh_ms", "1h", 3600000},
                   {"server", "connection_timeout_s", "1h", 3600},
                   {"server", "connection_timeout_s", "2000ms", 2},
                   {"server", "connection_timeout_s", "45", 45},
                   {"server", "threads", "256", 256},
                   {NULL, NULL, NULL, 0}};
    static const struct {
        const char *section, *key, *text;
    } bad_numbers[] = {{"server", "max_body_bytes", "-1"},
                       {"server", "max_body_bytes", "1T"},
                       {"server", "max_body_bytes", "1.5M"},
                       {"server", "max_body_bytes", "K"},
                       {"server", "max_body_bytes", "99999999999999999999"},
                       {"server", "max_body_bytes", "9999999999G"},
                       {"harvest", "max_response_bytes", "5G"},
                       {"server", "index_refresh_ms", "2d"},
                       {"server", "index_refresh_ms", "2 hours"},
                       {"server", "connection_timeout_s", "0"},
                       {"server", "threads", "257"},
                       {"server", "threads", "1K"},
                       {"server", "threads", "0x10"},
                       {"server", "threads", ""},
                       {"server", "threads", "1 "},
                       {NULL, NULL, NULL}};

    ps_config cfg;
    ps_err err = PS_ERR_INIT;
    require_ok(ps_config_defaults(&cfg, &err), &err);
    for (size_t i = 0; good_listen[i]; i++) {
        check(set1(&cfg, "server", "listen", good_listen[i], &err) == PS_OK,
              "'%s': %s", good_listen[i], err.msg);
        check_str(cfg.listen, good_listen[i]);
    }
    for (size_t i = 0; bad_listen[i]; i++)
        check(set1(&cfg, "server", "listen", bad_listen[i], &err) ==
                  PS_ERR_CONFIG,
              "'%s' accepted", bad_listen[i]);

    for (size_t i = 0; numbers[i].section; i++) {
        check(set1(&cfg, numbers[i].section, numbers[i].key, numbers[i].text,
                   &err) == PS_OK,
              "%s = %s: %s", numbers[i].key, numbers[i].text, err.msg);
        long got = 0;
        if (strcmp(numbers[i].key, "max_body_bytes") == 0)
            got = cfg.max_body_bytes;
        else if (strcmp(numbers[i].key, "max_response_bytes") == 0)
            got = cfg.harvest_max_response_bytes;
        else if (strcmp(numbers[i].key, "index_refresh_ms") == 0)
            got = cfg.index_refresh_ms;
        else if (strcmp(numbers[i].key, "connection_timeout_s") == 0)
            got = cfg.connection_timeout_s;
        else if (strcmp(numbers[i].key, "threads") == 0)
            got = cfg.threads;
        check(got == numbers[i].want, "%s = %s gave %ld, not %ld",
              numbers[i].key, numbers[i].text, got, numbers[i].want);
    }
    for (size_t i = 0; bad_numbers[i].section; i++)
        check(set1(&cfg, bad_numbers[i].section, bad_numbers[i].key,
                   bad_numbers[i].text, &err) == PS_ERR_CONFIG,
              "%s = '%s' accepted", bad_numbers[i].key, bad_numbers[i].text);

    static const char *const truthy[] = {"true", "YES", "On", "1", NULL};
    static const char *const falsy[] = {"false", "No", "OFF", "0", NULL};
    for (size_t i = 0; truthy[i]; i++) {
        check(set1(&cfg, "server", "access_log", falsy[i], &err) == PS_OK, "%s",
              falsy[i]);
        check(cfg.access_log == 0, "%s", falsy[i]);
        check(set1(&cfg, "server", "access_log", truthy[i], &err) == PS_OK,
              "%s", truthy[i]);
        check(cfg.access_log == 1, "%s", truthy[i]);
    }
    check(set1(&cfg, "server", "access_log", "2", &err) == PS_ERR_CONFIG,
          "2 is not a boolean");

    check(set1(&cfg, "server", "cors_origin", "http://localhost:3000", &err) ==
              PS_OK,
          "%s", err.msg);
    check(set1(&cfg, "server", "cors_origin", "", &err) == PS_ERR_CONFIG,
          "empty origin");
    check(set1(&cfg, "server", "admin_token", "0123456789abcdef", &err) ==
              PS_OK,
          "%s", err.msg);
    check_str(cfg.admin_token, "0123456789abcdef");
    check(set1(&cfg, "server", "admin_token", "", &err) == PS_OK,
          "an empty token turns the check off");
    check(set1(&cfg, "server", "api_prefix", "/", &err) == PS_ERR_CONFIG,
          "/ alone");
    check(set1(&cfg, "server", "api_prefix", "/a//b", &err) == PS_ERR_CONFIG,
          "//");
    check(set1(&cfg, "server", "api_prefix", "/pansift/v1", &err) == PS_OK,
          "%s", err.msg);
    check(set1(&cfg, "server", "dashboard_dir", "", &err) == PS_OK,
          "empty dashboard_dir means the default: %s", err.msg);
    check(set1(&cfg, "pansift", "data_dir", "a\nb", &err) == PS_ERR_CONFIG,
          "control character in a path");
    check(set1(&cfg, "pansift", "log_level", "ERROR", &err) == PS_OK, "%s",
          err.msg);
    check_str(cfg.log_level, "error");
    ps_config_free(&cfg);

    static const char *const good_urls[] = {"http://x",
                                            "https://icatplus.esrf.fr/api",
                                            "HTTPS://X.ORG/a?b=c",
                                            "file:///tmp/dump",
                                            "http://[::1]:8080/api",
                                            NULL};
    static const char *const bad_urls[] = {
        "",        "ftp://x", "http://",    "https:///path",
        "file://", "x.org",   "http://a b", "http://a\tb",
        NULL};
    for (int good = 1; good >= 0; good--) {
        const char *const *urls = good ? good_urls : bad_urls;
        for (size_t i = 0; urls[i]; i++) {
            char text[256];
            snprintf(text, sizeof text, "[source s]\ntype = pan\nurl = %s\n",
                     urls[i]);
            const char *path = write_file("url.ini", text);
            ps_status st = ps_config_load(&cfg, path, &err);
            check(good ? st == PS_OK : st == PS_ERR_CONFIG, "url '%s': %s",
                  urls[i], err.msg);
            ps_config_free(&cfg);
        }
    }
}

/* ---- template ----------------------------------------------------------- */

/* Remove "; " from the lines of the template that hold a setting or a
 * section header, as a user would. */
static char *uncomment(const char *text)
{
    size_t n = strlen(text);
    char *out = malloc(n + 1);
    check_fatal(out != NULL, "malloc");
    size_t j = 0;
    const char *line = text;
    while (*line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) + 1 : strlen(line);
        size_t skip = 0;
        if (strncmp(line, "; ", 2) == 0) {
            const char *p = line + 2;
            size_t k = 0;
            while ((p[k] >= 'a' && p[k] <= 'z') || p[k] == '_')
                k++;
            if (p[0] == '[' || (k > 0 && strncmp(p + k, " =", 2) == 0))
                skip = 2;
        }
        memcpy(out + j, line + skip, len - skip);
        j += len - skip;
        line += len;
    }
    out[j] = '\0';
    return out;
}

static void test_template(void)
{
    char *text = NULL;
    size_t len = 0;
    ps_err err = PS_ERR_INIT;
    FILE *f = open_memstream(&text, &len);
    check_fatal(f != NULL, "open_memstream");
    check(ps_config_write_template(f, &err) == PS_OK, "%s", err.msg);
    fclose(f);
    check(ps_config_write_template(NULL, &err) == PS_ERR_INVALID, "NULL");

    check_contains(text, "[server]\n");
    check_contains(text, "; listen = 127.0.0.1:8080\n");
    check_contains(text, "; dashboard_dir =\n");
    check_contains(text, "(integer 0..256; default 0)\n; threads = 0\n");
    for (const char *p = text; *p;) {
        size_t n = strcspn(p, "\n");
        check(n <= 79, "long line: %.*s", (int)n, p);
        p += p[n] ? n + 1 : n;
    }
    check_contains(text, "; [source esrf]\n; ");
    check_contains(text, "; type = pan\n");
    check_contains(text, "; url = https://icatplus.esrf.fr/api\n");
    check_contains(text, "default: [harvest]");
    check(strstr(text, "\n; [harvest]") == NULL, "no comment line starts "
                                                 "with '['");

    /* As written (everything commented out): the defaults. */
    ps_config cfg, dflt;
    const char *path = write_file("template.ini", text);
    require_ok(ps_config_load(&cfg, path, &err), &err);
    require_ok(ps_config_defaults(&dflt, &err), &err);
    char *d1 = dump_string(&cfg), *d2 = dump_string(&dflt);
    check_str(d1, d2);
    free(d1);
    ps_config_free(&cfg);

    /* Uncommented: still valid, the same values, plus the example source. */
    char *on = uncomment(text);
    check_contains(on, "\nlisten = 127.0.0.1:8080\n");
    check_contains(on, "\n[source esrf]\n");
    check_contains(on, "\ntype = pan\n");
    path = write_file("template-on.ini", on);
    require_ok(ps_config_load(&cfg, path, &err), &err);
    check(cfg.nsources == 1, "%zu sources", cfg.nsources);
    const ps_config_source *src = ps_config_source_find(&cfg, "esrf");
    check_fatal(src != NULL, "example source");
    check_str(src->url, "https://icatplus.esrf.fr/api");
    check(src->timeout_ms == cfg.harvest_timeout_ms, "%ld", src->timeout_ms);
    check(cfg.nproviders == 1 &&
              strcmp(cfg.providers[0].url, "https://icatplus.esrf.fr/api") == 0,
          "the example provider");
    size_t nprov = cfg.nproviders;
    cfg.nsources = 0; /* compare the fixed sections only */
    cfg.nproviders = 0;
    d1 = dump_string(&cfg);
    cfg.nsources = 1;
    cfg.nproviders = nprov;
    check_str(d1, d2);
    free(d1);
    free(d2);
    ps_config_free(&cfg);
    ps_config_free(&dflt);
    free(on);
    free(text);
}

/* ---- docs/configuration.md ---------------------------------------------- */

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    check_fatal(m != NULL, "open_memstream");
    char chunk[4096];
    size_t n;
    for (n = fread(chunk, 1, sizeof chunk, f); n > 0;
         n = fread(chunk, 1, sizeof chunk, f))
        fwrite(chunk, 1, n, m);
    fclose(m);
    fclose(f);
    return text;
}

/* The line of doc that starts with prefix, as a new string, or NULL. */
static char *doc_row(const char *doc, const char *prefix)
{
    for (const char *p = doc; *p;) {
        size_t n = strcspn(p, "\n");
        if (strncmp(p, prefix, strlen(prefix)) == 0) {
            char *row = malloc(n + 1);
            check_fatal(row != NULL, "malloc");
            memcpy(row, p, n);
            row[n] = '\0';
            return row;
        }
        p += p[n] ? n + 1 : n;
    }
    return NULL;
}

/* Every setting of the template has a row in the settings table of the
 * documentation with the same type, bounds and default; the example file
 * of the documentation is valid. */
static void test_doc(void)
{
    const char *src = getenv("PS_SOURCE_DIR");
    char path[600];
    snprintf(path, sizeof path, "%s/docs/configuration.md", src ? src : ".");
    char *doc = read_text(path);
    if (!doc && !src) {
        printf("skipping the documentation check: set PS_SOURCE_DIR\n");
        return;
    }
    check_fatal(doc != NULL, "cannot read %s", path);

    char *tpl = NULL;
    size_t tpllen = 0;
    ps_err err = PS_ERR_INIT;
    FILE *f = open_memstream(&tpl, &tpllen);
    check_fatal(f != NULL, "open_memstream");
    ps_status st = ps_config_write_template(f, &err);
    fclose(f);
    check_fatal(st == PS_OK, "%s", err.msg);

    char section[64] = "", help[1024] = "";
    int rows = 0;
    for (const char *p = tpl; *p;) {
        size_t n = strcspn(p, "\n");
        char line[256];
        snprintf(line, sizeof line, "%.*s", (int)n, p);
        p += p[n] ? n + 1 : n;

        size_t k = 0;
        while (line[2 + k] && ((line[2 + k] >= 'a' && line[2 + k] <= 'z') ||
                               line[2 + k] == '_'))
            k++;
        if (line[0] == '[') {
            snprintf(section, sizeof section, "%.*s", (int)(strlen(line) - 2),
                     line + 1);
            help[0] = '\0';
        } else if (strcmp(line, "; [source esrf]") == 0) {
            snprintf(section, sizeof section, "source NAME");
            help[0] = '\0';
        } else if (strcmp(line, "; [provider esrf]") == 0) {
            snprintf(section, sizeof section, "provider NAME");
            help[0] = '\0';
        } else if (section[0] && strncmp(line, "; ", 2) == 0 && k > 0 &&
                   strncmp(line + 2 + k, " =", 2) == 0) {
            /* "; key = value" after "; help (type; default ...)" */
            char key[64], prefix[128], want[512];
            snprintf(key, sizeof key, "%.*s", (int)k, line + 2);
            const char *value = line + 2 + k + 2;
            if (*value == ' ')
                value++;
            char *end = NULL;
            for (char *q = strstr(help, "; default"); q;
                 q = strstr(q + 1, "; default"))
                end = q;
            if (!end)
                end = strstr(help, "; required)");
            check_fatal(end != NULL, "no default in '%s'", help);
            char *open = end;
            while (open > help && strncmp(open, " (", 2) != 0)
                open--;
            snprintf(prefix, sizeof prefix, "| [%s] | `%s` |", section, key);
            char *row = doc_row(doc, prefix);
            check(row != NULL, "docs/configuration.md has no row '%s'", prefix);
            if (row) {
                snprintf(want, sizeof want, "| %.*s |", (int)(end - open - 2),
                         open + 2);
                check_contains(row, want);
                if (strncmp(end, "; required)", 11) == 0)
                    snprintf(want, sizeof want, "| required |");
                else if (strncmp(end, "; default: [harvest]", 20) == 0)
                    snprintf(want, sizeof want, "| [harvest] |");
                else if (!*value)
                    snprintf(want, sizeof want, "| (empty) |");
                else
                    snprintf(want, sizeof want, "| `%s` |", value);
                check_contains(row, want);
                free(row);
            }
            rows++;
            help[0] = '\0';
        } else if (section[0] && strncmp(line, "; ", 2) == 0) {
            size_t len = strlen(help);
            snprintf(help + len, sizeof help - len, "%s%s", len ? " " : "",
                     line + 2);
        } else {
            help[0] = '\0';
        }
    }
    check(rows == 53, "%d settings in the template", rows);

    /* Every row of the settings table is a setting of the template. */
    int doc_rows = 0;
    for (const char *p = strstr(doc, "\n| ["); p; p = strstr(p + 1, "\n| ["))
        doc_rows++;
    check(doc_rows == rows, "%d rows in the documentation, %d settings",
          doc_rows, rows);

    /* The example file. */
    const char *ini = strstr(doc, "```ini\n");
    check_fatal(ini != NULL, "no example in %s", path);
    ini += 7;
    const char *ini_end = strstr(ini, "```");
    check_fatal(ini_end != NULL, "unterminated example");
    char *example = malloc((size_t)(ini_end - ini) + 1);
    check_fatal(example != NULL, "malloc");
    memcpy(example, ini, (size_t)(ini_end - ini));
    example[ini_end - ini] = '\0';
    ps_config cfg;
    const char *expath = write_file("doc-example.ini", example);
    st = ps_config_load(&cfg, expath, &err);
    check(st == PS_OK, "the example of the documentation: %s", err.msg);
    if (st == PS_OK) {
        const ps_config_source *ill = ps_config_source_find(&cfg, "ill");
        check(cfg.nsources == 2 && ill, "two sources");
        check(ill && ill->timeout_ms == 120000 && ill->retries == 3 &&
                  !ill->enabled,
              "[source ill] as documented");
        check(cfg.sources[0].delay_ms == 500, "inline comment");
        ps_config_free(&cfg);
    }
    free(example);
    free(tpl);
    free(doc);
}

/* ---- allocation failures ------------------------------------------------ */

/* Run fn with the nth allocation failing, for n = 0, 1, ... until it
 * succeeds; every failure must be PS_ERR_NOMEM with cfg zeroed or intact. */
static void test_alloc_failures(void)
{
    const char *full = write_file("oom.ini", full_ini);
    const char *bad = write_file("oom-bad.ini", "[source a]\ntype = pan\n"
                                                "url = http://a/\n"
                                                "[server]\nthreads = 999\n");
    ps_config cfg;
    ps_err err;
    long n;
    ps_status st;

    for (n = 0;; n++) {
        ps_alloc_fail_after(n);
        st = ps_config_defaults(&cfg, &err);
        ps_alloc_fail_after(-1);
        if (st == PS_OK)
            break;
        check(st == PS_ERR_NOMEM, "defaults, n=%ld: %d", n, (int)st);
        check(cfg_is_zero(&cfg), "defaults, n=%ld: zeroed", n);
    }
    ps_config_free(&cfg);

    for (n = 0;; n++) {
        ps_alloc_fail_after(n);
        st = ps_config_load(&cfg, full, &err);
        ps_alloc_fail_after(-1);
        if (st == PS_OK)
            break;
        check(st == PS_ERR_NOMEM, "load, n=%ld: %d %s", n, (int)st, err.msg);
        check(cfg_is_zero(&cfg), "load, n=%ld: zeroed", n);
    }
    check(n > 20, "the loop went through the whole load (%ld)", n);
    check_full(&cfg);
    ps_config_free(&cfg);

    for (n = 0;; n++) {
        ps_alloc_fail_after(n);
        st = ps_config_load(&cfg, bad, &err);
        ps_alloc_fail_after(-1);
        if (st == PS_ERR_CONFIG)
            break;
        check(st == PS_ERR_NOMEM, "bad load, n=%ld: %d %s", n, (int)st,
              err.msg);
        check(cfg_is_zero(&cfg), "bad load, n=%ld: zeroed", n);
    }

    /* Overrides: on failure the config stays valid (freed below). */
    for (n = 0;; n++) {
        require_ok(ps_config_load(&cfg, full, &err), &err);
        setenv("PANSIFT_DATA_DIR", "/env/dir", 1);
        setenv("PANSIFT_LOG_LEVEL", "error", 1);
        ps_alloc_fail_after(n);
        st = ps_config_apply_env(&cfg, &err);
        if (st == PS_OK)
            st = ps_config_set(&cfg, "harvest", "user_agent", "oom/1",
                               "--user-agent", &err);
        ps_alloc_fail_after(-1);
        unsetenv("PANSIFT_DATA_DIR");
        unsetenv("PANSIFT_LOG_LEVEL");
        if (st == PS_OK) {
            check_str(cfg.data_dir, "/env/dir");
            check_str(cfg.sources[0].user_agent, "esrf-harvester/1.0");
            check_str(cfg.sources[1].user_agent, "oom/1");
            ps_config_free(&cfg);
            break;
        }
        check(st == PS_ERR_NOMEM, "overrides, n=%ld: %d", n, (int)st);
        check(cfg.data_dir && cfg.user_agent, "still valid");
        ps_config_free(&cfg);
    }
    ps_alloc_fail_after(-1);
}

/* Providers and [federation] as written. */
static void test_providers(void)
{
    ps_config cfg;
    ps_err err = PS_ERR_INIT;
    const char *path = write_file(
        "providers.ini",
        "[federation]\nlocal = false\ndeadline_ms = 2s\ncache_ttl_ms = 0\n"
        "[provider esrf]\nurl = https://icatplus.esrf.fr/api\ntimeout = 1500\n"
        "weight = 0.5\nheaders = Authorization: Bearer x | X-Facility: ESRF\n"
        "[provider ill]\nurl = http://127.0.0.1:9/api\nenabled = no\n");
    require_ok(ps_config_load(&cfg, path, &err), &err);
    check(cfg.federation_local == 0 && cfg.federation_deadline_ms == 2000 &&
              cfg.federation_cache_ttl_ms == 0 &&
              cfg.federation_breaker_failures == 3,
          "[federation] values");
    check(cfg.nproviders == 2, "%zu providers", cfg.nproviders);
    check_str(cfg.providers[0].name, "esrf");
    check(cfg.providers[0].timeout_ms == 1500 && cfg.providers[0].enabled,
          "esrf timeout");
    check_str(cfg.providers[0].weight, "0.5");
    check_str(cfg.providers[0].headers,
              "Authorization: Bearer x | X-Facility: ESRF");
    check(cfg.providers[1].timeout_ms == 5000 && !cfg.providers[1].enabled,
          "ill defaults, disabled");
    ps_config_free(&cfg);
}

int main(void)
{
    tmpdir = check_tmpdir("config");
    check_fatal(tmpdir != NULL, "cannot create a temporary directory");
    test_defaults();
    test_full_file();
    test_errors();
    test_providers();
    test_env();
    test_set();
    test_values();
    test_template();
    test_doc();
    test_alloc_failures();
    check_rmtree(tmpdir);
    return check_report();
}
