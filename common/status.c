/*
 * status.c: the project's status texts, the caller-owned error struct and the
 * logger. Logging goes to stderr with a timestamp and a level; the threshold
 * is a plain global read before any argument is evaluated (see ps_log in
 * common.h). Nothing here allocates.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "common.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

const char *ps_status_str(ps_status status)
{
    switch (status) {
    case PS_OK: return "success";
    case PS_ERR_NOMEM: return "out of memory";
    case PS_ERR_INVALID: return "invalid input";
    case PS_ERR_NOTFOUND: return "not found";
    case PS_ERR_IO: return "input/output error";
    case PS_ERR_BUSY: return "busy (locked by another process)";
    case PS_ERR_TIMEOUT: return "timed out";
    case PS_ERR_PARSE: return "parse error";
    case PS_ERR_UPSTREAM: return "upstream service error";
    case PS_ERR_TOOBIG: return "too big";
    case PS_ERR_INDEX: return "index error";
    case PS_ERR_DB: return "store error";
    case PS_ERR_INTERNAL: return "internal error";
    case PS_ERR_CONFIG: return "configuration error";
    case PS_ERR_CORRUPT: return "damaged or foreign file";
    case PS_ERR_RETRY: return "transient error, retry";
    case PS_ERR_CANCELLED: return "cancelled";
    }
    return "unknown status";
}

ps_status ps_err_set(ps_err *err, ps_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

ps_status ps_err_prefix(ps_err *err, const char *fmt, ...)
{
    if (!err)
        return PS_ERR_INTERNAL;
    char head[256], old[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%s: %s", head, old);
    return err->code;
}

void ps_err_clear(ps_err *err)
{
    if (err) {
        err->code = PS_OK;
        err->msg[0] = '\0';
    }
}

int ps_log_threshold = PS_LOG_INFO;

void ps_log_set_level(ps_log_level level) { ps_log_threshold = (int)level; }

int ps_log_level_parse(const char *name)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++)
        if (name && strcasecmp(name, names[i]) == 0)
            return i;
    return -1;
}

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void ps_log_write(ps_log_level level, const char *fmt, ...)
{
    static const char *const tags[] = {"error", "warn", "info", "debug"};
    char stamp[32];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);

    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&log_lock);
    fprintf(stderr, "%s.%03ldZ %s: ", stamp, ts.tv_nsec / 1000000L,
            tags[level < 0 || level > 3 ? 0 : level]);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    pthread_mutex_unlock(&log_lock);
    va_end(ap);
}
