/*
 * static.c: the dashboard's files, served at / from the dashboard
 * directory. Only plain files under that directory are served: no hidden
 * files, no "..", no symbolic links out of it; "/" is index.html. Files are
 * sent straight from their descriptor (no copy in memory).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "query-private.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct {
    const char *ext;
    const char *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".woff2", "font/woff2"},
    {".map", "application/json; charset=utf-8"},
    {".txt", "text/plain; charset=utf-8"},
};

static const char *type_of(const char *path)
{
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (ps_str_endswith(path, types[i].ext))
            return types[i].type;
    return "application/octet-stream";
}

/* Is rel (decoded, relative, '/'-separated) a path we may serve? Every
 * component must be a plain name: not empty, not "." or "..", not hidden
 * (leading '.'), no backslash or NUL. Checked on the decoded path, so an
 * encoded "%2F..%2F" is a ".." like any other. */
static int safe_relative(const char *rel)
{
    const char *p = rel;
    for (;;) {
        size_t n = strcspn(p, "/");
        if (n == 0 || p[0] == '.' || memchr(p, '\\', n))
            return 0;
        if (!p[n])
            return 1;
        p += n + 1;
    }
}

/* Is real (a resolved path) dir itself or inside it? */
static int inside(const char *dir, const char *real)
{
    size_t n = strlen(dir);
    return strncmp(real, dir, n) == 0 && (real[n] == '/' || real[n] == '\0');
}

int psi_h_static(psi_req *req, psi_ctx *ctx, const psi_match *m, psi_resp *resp)
{
    (void)ctx;
    const ps_server *srv = req->srv;
    /* Under the API prefix, an unknown path is an unknown endpoint. */
    int under_api = srv->napi_seg > 0 && req->nseg >= srv->napi_seg;
    for (size_t i = 0; under_api && i < srv->napi_seg; i++)
        under_api = strcmp(req->seg[i], srv->api_seg[i]) == 0;
    if (under_api)
        return psi_error(resp, 404, NULL,
                         "no such endpoint: %s (GET %s lists them)", req->path,
                         srv->api_prefix);
    if (!srv->dashboard_dir)
        return psi_error(resp, 404, NULL,
                         "no dashboard is configured; the API is under %s",
                         srv->api_prefix);
    const char *rel = m->file && *m->file ? m->file : "index.html";
    /* Refuse anything that could leave the directory or show hidden files;
     * then, after symbolic links are resolved, anything outside it. */
    if (!safe_relative(rel))
        return psi_error(resp, 404, NULL, "no such file: /%s", rel);
    char *path = ps_asprintf("%s/%s", srv->dashboard_dir, rel);
    if (!path)
        return psi_error(resp, 500, NULL, "out of memory");
    char real[PATH_MAX];
    struct stat sb;
    int ok = realpath(path, real) != NULL && inside(srv->dashboard_dir, real) &&
             stat(real, &sb) == 0;
    if (ok && S_ISDIR(sb.st_mode)) {
        ps_free(path);
        path = ps_asprintf("%s/index.html", real);
        ok = path && realpath(path, real) != NULL &&
             inside(srv->dashboard_dir, real) && stat(real, &sb) == 0;
    }
    ps_free(path);
    if (!ok || !S_ISREG(sb.st_mode))
        return psi_error(resp, 404, NULL, "no such file: /%s", rel);
    int fd = open(real, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return psi_error(resp, 404, NULL, "cannot read /%s: %s", rel,
                         strerror(errno));
    resp->fd = fd;
    resp->fd_size = (uint64_t)sb.st_size;
    resp->content_type = type_of(real);
    /* Revalidate every time: an upgraded server must not run old scripts. */
    resp->cache_control = "no-cache";
    return 200;
}
