/*
 * time.c: clocks and ISO-8601 dates. PaN APIs exchange dates as JavaScript's
 * Date.toJSON() ("2020-05-05T15:01:02.341Z"); harvest sources send anything
 * from "2020" to "2020-05-05T15:01:02+02:00". Everything is converted to
 * milliseconds since the epoch (UTC) with a proleptic Gregorian calendar, so
 * no time zone database or locale is involved.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "common.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t ps_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t ps_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Days since 1970-01-01 of a civil date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static int days_in_month(int64_t y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 ? 28 + leap : dm[m - 1];
}

ps_status ps_time_parse(const char *s, int64_t *ms_out)
{
    if (!s)
        return PS_ERR_PARSE;
    const char *p = s;
    int year, mon = 1, day = 1, hh = 0, mm = 0, ss = 0, ms = 0;
    int neg = 0;
    if (*p == '-' || *p == '+') {
        neg = *p == '-';
        p++;
    }
    if (digits(&p, 4, &year))
        return PS_ERR_PARSE;
    if (*p == '-') {
        p++;
        if (digits(&p, 2, &mon) || mon < 1 || mon > 12)
            return PS_ERR_PARSE;
        if (*p == '-') {
            p++;
            if (digits(&p, 2, &day))
                return PS_ERR_PARSE;
        }
    }
    int64_t y = neg ? -year : year;
    if (day < 1 || day > days_in_month(y, mon))
        return PS_ERR_PARSE;
    int64_t offset_min = 0;
    if (*p == 'T' || *p == 't' || (*p == ' ' && p[1] >= '0' && p[1] <= '9')) {
        p++;
        if (digits(&p, 2, &hh) || hh > 24 || *p++ != ':' ||
            digits(&p, 2, &mm) || mm > 59)
            return PS_ERR_PARSE;
        if (*p == ':') {
            p++;
            if (digits(&p, 2, &ss) || ss > 60)
                return PS_ERR_PARSE;
            if (*p == '.' || *p == ',') {
                p++;
                int n = 0;
                int scale = 100;
                while (*p >= '0' && *p <= '9') {
                    if (n < 3) {
                        ms += (*p - '0') * scale;
                        scale /= 10;
                    }
                    n++;
                    p++;
                }
                if (n == 0)
                    return PS_ERR_PARSE;
            }
        }
        if (hh == 24 && (mm || ss || ms))
            return PS_ERR_PARSE;
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p == '-' ? -1 : 1, oh, om = 0;
            p++;
            if (digits(&p, 2, &oh) || oh > 23)
                return PS_ERR_PARSE;
            if (*p == ':')
                p++;
            if (*p && digits(&p, 2, &om))
                return PS_ERR_PARSE;
            offset_min = sign * (oh * 60 + om);
        }
    }
    if (*p)
        return PS_ERR_PARSE;
    int64_t days = days_from_civil(y, mon, day);
    int64_t secs = days * 86400 + hh * 3600 + mm * 60 + (ss > 59 ? 59 : ss) -
                   offset_min * 60;
    *ms_out = secs * 1000 + ms;
    return PS_OK;
}

char *ps_time_format(int64_t ms, char *buf)
{
    int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    int msec = (int)(ms - secs * 1000);
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int64_t rem = secs - days * 86400;
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999)
        snprintf(buf, PS_TIME_BUFSZ, "%+07lld-%02d-%02dT%02d:%02d:%02d.%03dZ",
                 (long long)y, m, d, (int)(rem / 3600), (int)(rem / 60 % 60),
                 (int)(rem % 60), msec);
    else
        snprintf(buf, PS_TIME_BUFSZ, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                 (int)y, m, d, (int)(rem / 3600), (int)(rem / 60 % 60),
                 (int)(rem % 60), msec);
    return buf;
}
