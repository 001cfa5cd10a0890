/*
 * buf.c: the growable buffer with a ceiling (curl's dynbuf idea). Everything
 * read from outside is accumulated here, so one place enforces the maximum
 * size: appending past buf->max fails with PS_ERR_TOOBIG and leaves the
 * buffer as it was. The data stays NUL-terminated.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void ps_buf_init(ps_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

static ps_status grow(ps_buf *b, size_t need)
{
    if (b->max && need > b->max)
        return PS_ERR_TOOBIG;
    if (need + 1 <= b->cap)
        return PS_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need + 1)
        cap = cap > ((size_t)-1) / 2 ? need + 1 : cap * 2;
    char *p = ps_realloc(b->data, cap);
    if (!p)
        return PS_ERR_NOMEM;
    b->data = p;
    b->cap = cap;
    return PS_OK;
}

ps_status ps_buf_append(ps_buf *b, const void *data, size_t len)
{
    if (len > ((size_t)-1) - b->len - 1)
        return PS_ERR_TOOBIG;
    ps_status st = grow(b, b->len + len);
    if (st != PS_OK)
        return st;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return PS_OK;
}

ps_status ps_buf_puts(ps_buf *b, const char *s)
{
    return ps_buf_append(b, s, strlen(s));
}

ps_status ps_buf_printf(ps_buf *b, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        va_end(ap2);
        return PS_ERR_INTERNAL;
    }
    ps_status st = grow(b, b->len + (size_t)n);
    if (st == PS_OK) {
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
    return st;
}

void ps_buf_reset(ps_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void ps_buf_free(ps_buf *b)
{
    ps_free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *ps_buf_detach(ps_buf *b)
{
    if (!b->data && grow(b, 0) != PS_OK)
        return NULL;
    if (b->len == 0)
        b->data[0] = '\0';
    char *p = b->data;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

ps_status ps_buf_read_file(ps_buf *b, const char *path, ps_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return ps_err_set(err, errno == ENOENT ? PS_ERR_NOTFOUND : PS_ERR_IO,
                          "%s: %s", path, strerror(errno));
    size_t had = b->len;
    char chunk[65536];
    ps_status st = PS_OK;
    while (st == PS_OK) {
        size_t n = fread(chunk, 1, sizeof chunk, f);
        if (n == 0)
            break;
        st = ps_buf_append(b, chunk, n);
    }
    int ioerr = st == PS_OK && ferror(f);
    fclose(f);
    if (st == PS_OK && !ioerr)
        return PS_OK;
    b->len = had;
    if (b->data)
        b->data[had] = '\0';
    if (ioerr)
        return ps_err_set(err, PS_ERR_IO, "%s: read error", path);
    if (st == PS_ERR_TOOBIG)
        return ps_err_set(err, st, "%s: larger than %zu bytes", path, b->max);
    return ps_err_set(err, st, "%s: %s", path, ps_status_str(st));
}
