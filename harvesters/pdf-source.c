/*
 * pdf-source.c: the `pdf` source type. It turns publication PDFs into
 * publication records: the PDFs of a folder (url = file:///dir, walked
 * recursively), of a list of PDF URLs (url = http(s)://..., one per line),
 * and with `publications = yes` the PDF links that harvested records
 * (Crossref, DataCite, Invenio) gave for their publications.
 *
 * Each PDF is read once: the ledger (store-pdf.c) keeps every location's
 * size, modification time and content hash, so an unchanged file is not
 * read again, a URL is fetched once, and the same bytes at another
 * location are not extracted twice. Extraction runs in parallel (`jobs`
 * threads, one per core by default), each PDF in a forked child with a
 * time limit (ps_pdf_extract_file_guarded); this thread fetches, hashes,
 * and writes the results to the store in one transaction per batch.
 *
 * A PDF becomes a publication by its DOI (the one of its publication link,
 * else the DOI printed on it, else its content hash): when Crossref or
 * DataCite already hold that DOI their metadata wins (the pdf source ranks
 * lowest) and the PDF adds what they lack: the full text, the
 * acknowledgements and funding, the references and the mentions of
 * facilities, instruments, proposal codes and data DOIs (mentions.c), each
 * with its section, offset and context. A PDF that cannot be read is a
 * per-file error in the run's message; the run goes on.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "harvest-private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#ifndef PS_DEFAULT_MENTIONS_DIR
#define PS_DEFAULT_MENTIONS_DIR "share/mentions"
#endif

const ps_harvest_option psi_pdf_options[] = {
    {"jobs", "PDFs extracted at once (default: one per core)"},
    {"timeout", "milliseconds one PDF may take to extract (30000)"},
    {"max_pages", "pages read per PDF (500)"},
    {"max_text", "bytes of text kept per PDF (4194304)"},
    {"max_file", "bytes a PDF file may have (268435456)"},
    {"publications", "yes: also the PDF links of harvested publications"},
    {"mentions", "folder of facilities.tsv, proposal-codes.tsv and "
                 "instruments.tsv (share/mentions)"},
    {"proposal_codes", "a proposal-codes.tsv of your own grammars"},
    {NULL, NULL}};

#define PDF_MAX_LOCATIONS 1000000 /* PDFs listed per run */
#define PDF_MAX_DEPTH 32          /* folder depth walked */
#define PDF_MAX_LIST_LINE 4096    /* bytes per line of a URL list */

/* ---- what to read ------------------------------------------------------- */

typedef struct pdf_item {
    char *location; /* a path or a URL */
    char *pub_pid;  /* the publication a PDF link belongs to, or NULL */
    int is_url;
} pdf_item;

typedef struct pdf_list {
    pdf_item *v;
    size_t n, cap;
    int truncated;
} pdf_list;

static ps_status list_add(pdf_list *l, const char *loc, const char *pub_pid,
                          int is_url, ps_err *err)
{
    if (l->n >= PDF_MAX_LOCATIONS) {
        l->truncated = 1;
        return PS_OK;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        pdf_item *v = ps_realloc(l->v, cap * sizeof *v);
        if (!v)
            return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        l->v = v;
        l->cap = cap;
    }
    pdf_item *it = &l->v[l->n];
    it->location = ps_strdup(loc);
    it->pub_pid = pub_pid ? ps_strdup(pub_pid) : NULL;
    it->is_url = is_url;
    if (!it->location || (pub_pid && !it->pub_pid)) {
        ps_free(it->location);
        ps_free(it->pub_pid);
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    l->n++;
    return PS_OK;
}

static void list_free(pdf_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        ps_free(l->v[i].location);
        ps_free(l->v[i].pub_pid);
    }
    ps_free(l->v);
    memset(l, 0, sizeof *l);
}

static int is_pdf_name(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && strcasecmp(name + n - 4, ".pdf") == 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The folders a walk has entered (device and inode): a symbolic link
 * back up the tree is entered once. */
typedef struct walk_seen {
    struct {
        dev_t dev;
        ino_t ino;
    } * v;
    size_t n, cap;
} walk_seen;

/* 1 when dir was entered before, else records it (-1: out of memory). */
static int walk_entered(walk_seen *w, const struct stat *sb)
{
    for (size_t i = 0; i < w->n; i++)
        if (w->v[i].dev == sb->st_dev && w->v[i].ino == sb->st_ino)
            return 1;
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 64;
        void *v = ps_realloc(w->v, cap * sizeof *w->v);
        if (!v)
            return -1;
        w->v = v;
        w->cap = cap;
    }
    w->v[w->n].dev = sb->st_dev;
    w->v[w->n].ino = sb->st_ino;
    w->n++;
    return 0;
}

/* The PDFs under dir, in name order, hidden entries left out; each folder
 * once however links lead to it. */
static ps_status walk(psi_run *run, const char *dir, int depth, pdf_list *l,
                      walk_seen *seen, ps_err *err)
{
    struct stat self;
    if (stat(dir, &self) == 0) {
        int e = walk_entered(seen, &self);
        if (e < 0)
            return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        if (e)
            return PS_OK;
    }
    if (l->truncated)
        return PS_OK;
    if (psi_run_cancelled(run))
        return ps_err_set(err, PS_ERR_CANCELLED, "harvest of %s cancelled",
                          run->src->name);
    if (depth > PDF_MAX_DEPTH) {
        psi_run_note(run, "folders nested deeper than 32 levels skipped");
        return PS_OK;
    }
    DIR *d = opendir(dir);
    if (!d) {
        if (depth == 0)
            return ps_err_set(err,
                              errno == ENOENT ? PS_ERR_NOTFOUND : PS_ERR_IO,
                              "source %s: cannot open the folder %s: %s",
                              run->src->name, dir, strerror(errno));
        char note[160];
        snprintf(note, sizeof note, "cannot open %.100s: %s", dir,
                 strerror(errno));
        psi_run_note(run, note);
        return PS_OK;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    ps_status rc = PS_OK;
    while (rc == PS_OK) {
        struct dirent *e = readdir(d);
        if (!e)
            break;
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            char **p = ps_realloc(names, nc * sizeof *p);
            if (!p) {
                rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
                break;
            }
            names = p;
            cap = nc;
        }
        names[n] = ps_asprintf("%s/%s", dir, e->d_name);
        if (!names[n])
            rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        else
            n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n && rc == PS_OK; i++) {
        struct stat sb;
        if (stat(names[i], &sb) != 0)
            continue;
        if (S_ISDIR(sb.st_mode))
            rc = walk(run, names[i], depth + 1, l, seen, err);
        else if (S_ISREG(sb.st_mode) && is_pdf_name(names[i]))
            rc = list_add(l, names[i], NULL, 0, err);
    }
    for (size_t i = 0; i < n; i++)
        ps_free(names[i]);
    ps_free(names);
    return rc;
}

/* url's local path: file:///a/b and file://localhost/a/b are /a/b. */
static const char *file_path(const char *url)
{
    const char *p = url + 7;
    if (strncasecmp(p, "localhost/", 10) == 0)
        p += 9;
    return p;
}

/* A URL of the list as an absolute http(s) URL: as it is, or relative to
 * the list's own URL ("/pdf/a.pdf", "a.pdf"). NULL for anything else. */
static char *resolve_url(const char *base, const char *ref)
{
    if (strncasecmp(ref, "http://", 7) == 0 ||
        strncasecmp(ref, "https://", 8) == 0)
        return ps_strdup(ref);
    if (strstr(ref, "://") || strncasecmp(ref, "mailto:", 7) == 0 ||
        strncasecmp(ref, "file:", 5) == 0)
        return NULL;
    const char *host = strstr(base, "://");
    if (!host)
        return NULL;
    host += 3;
    const char *path = strchr(host, '/');
    if (ref[0] == '/' || !path)
        return ps_asprintf("%.*s%s%s",
                           (int)((path ? path : host + strlen(host)) - base),
                           base, ref[0] == '/' ? "" : "/", ref);
    const char *q = strpbrk(path, "?#");
    const char *end = q ? q : path + strlen(path);
    const char *slash = path;
    for (const char *c = path; c < end; c++)
        if (*c == '/')
            slash = c;
    return ps_asprintf("%.*s/%s", (int)(slash - base), base, ref);
}

/* A list of PDF URLs, one per line (blank lines and # comments skipped),
 * absolute or relative to the list's URL. */
static ps_status list_urls(psi_run *run, pdf_list *l, ps_err *err)
{
    ps_http_response resp = {0};
    ps_status rc = psi_run_fetch(run, run->src->url, NULL, &resp, err);
    size_t skipped = 0;
    const char *p = resp.body,
               *end = resp.body ? resp.body + resp.body_len : NULL;
    while (rc == PS_OK && p && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        while (p < eol && (*p == ' ' || *p == '\t'))
            p++;
        const char *q = eol;
        while (q > p && (q[-1] == ' ' || q[-1] == '\t' || q[-1] == '\r'))
            q--;
        size_t len = (size_t)(q - p);
        if (len && *p != '#') {
            char line[PDF_MAX_LIST_LINE];
            if (len < sizeof line) {
                memcpy(line, p, len);
                line[len] = '\0';
                char *abs = resolve_url(run->src->url, line);
                if (abs)
                    rc = list_add(l, abs, NULL, 1, err);
                else
                    skipped++;
                ps_free(abs);
            } else {
                skipped++;
            }
        }
        p = nl ? nl + 1 : end;
    }
    ps_http_response_free(&resp);
    if (skipped) {
        char note[128];
        snprintf(note, sizeof note,
                 "%zu line(s) of the list are not http(s) URLs: skipped",
                 skipped);
        psi_run_note(run, note);
    }
    return rc;
}

typedef struct links_ctx {
    pdf_list *l;
    ps_err *err;
    ps_status rc;
} links_ctx;

static int on_link(void *ctx, const char *pid, const char *doi, const char *url)
{
    links_ctx *c = ctx;
    (void)doi;
    if (!url || (strncasecmp(url, "http://", 7) != 0 &&
                 strncasecmp(url, "https://", 8) != 0))
        return 0;
    c->rc = list_add(c->l, url, pid, 1, c->err);
    return c->rc != PS_OK;
}

/* ---- the extraction workers --------------------------------------------- */

typedef struct pdf_job {
    const pdf_item *item;
    char *path; /* the file extracted: the item's, or a downloaded copy */
    int temp;   /* path is a temporary file to remove */
    char sha[65];
    int64_t size, mtime;
    ps_status rc;
    char msg[256];
    ps_pdf_doc *doc;
    struct pdf_job *next;
} pdf_job;

typedef struct pdf_pool {
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    pdf_job *queue, *queue_tail, *finished, *finished_tail;
    int stop;
    ps_pdf_opts opts;
    long timeout_ms;
    const char *exe;
    pthread_t *threads;
    int nthreads;
} pdf_pool;

/* Pipes and spawns are made one at a time, so that no child inherits the
 * pipe of another extraction (which would then wait for that child too). */
static pthread_mutex_t spawn_mu = PTHREAD_MUTEX_INITIALIZER;

static int cloexec_pipe(int fd[2])
{
    if (pipe(fd) != 0)
        return -1;
    fcntl(fd[0], F_SETFD, FD_CLOEXEC);
    fcntl(fd[1], F_SETFD, FD_CLOEXEC);
    return 0;
}

/* Read what is ready on fd into b (at most max bytes in all; more is
 * dropped and *over set). Returns 0 at end of file. */
static int read_some(int fd, ps_buf *b, int *over)
{
    char chunk[65536];
    ssize_t got = read(fd, chunk, sizeof chunk);
    if (got < 0)
        return errno == EINTR || errno == EAGAIN ? 1 : 0;
    if (got == 0)
        return 0;
    if (!*over && ps_buf_append(b, chunk, (size_t)got) != PS_OK)
        *over = 1;
    return 1;
}

/* A worker's extractor: `exe pdf-extract --batch` (cli/pdf.c), kept
 * running from PDF to PDF; started again after it failed or was killed. */
typedef struct extractor {
    pid_t pid; /* 0: not running */
    int in, out;
    ps_buf buf; /* what it wrote past the last answer */
} extractor;

static void extractor_stop(extractor *x)
{
    if (!x->pid)
        return;
    close(x->in);
    close(x->out);
    kill(x->pid, SIGKILL);
    while (waitpid(x->pid, NULL, 0) < 0 && errno == EINTR)
        ;
    ps_buf_free(&x->buf);
    x->pid = 0;
}

static int extractor_start(extractor *x, const pdf_pool *p)
{
    char a_timeout[32], a_pages[32], a_text[32];
    snprintf(a_timeout, sizeof a_timeout, "%ld", p->timeout_ms);
    snprintf(a_pages, sizeof a_pages, "%d", p->opts.max_pages);
    snprintf(a_text, sizeof a_text, "%zu", p->opts.max_text_bytes);
    char *argv[] = {
        (char *)p->exe, "--quiet", "--config",    "/dev/null", "pdf-extract",
        "--timeout",    a_timeout, "--max-pages", a_pages,     "--max-text",
        a_text,         "--batch", NULL};
    int pi[2] = {-1, -1}, po[2] = {-1, -1};
    pthread_mutex_lock(&spawn_mu);
    int ok = cloexec_pipe(pi) == 0 && cloexec_pipe(po) == 0;
    posix_spawn_file_actions_t fa;
    if (ok && posix_spawn_file_actions_init(&fa) == 0) {
        posix_spawn_file_actions_adddup2(&fa, pi[0], 0);
        posix_spawn_file_actions_adddup2(&fa, po[1], 1);
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
        int sp = posix_spawn(&x->pid, p->exe, &fa, NULL, argv, environ);
        ok = sp == 0;
        if (sp)
            errno = sp;
        posix_spawn_file_actions_destroy(&fa);
    } else {
        ok = 0;
    }
    pthread_mutex_unlock(&spawn_mu);
    if (pi[0] >= 0)
        close(pi[0]);
    if (po[1] >= 0)
        close(po[1]);
    if (!ok) {
        if (pi[1] >= 0)
            close(pi[1]);
        if (po[0] >= 0)
            close(po[0]);
        x->pid = 0;
        return -1;
    }
    x->in = pi[1];
    x->out = po[0];
    ps_buf_init(&x->buf, p->opts.max_text_bytes * 2 + ((size_t)8 << 20));
    return 0;
}

/* The PDF at path (one without line breaks: the protocol is one path per
 * line) through the worker's extractor; the result goes to j. */
static void extractor_run(extractor *x, const pdf_pool *p, const char *path,
                          pdf_job *j)
{
    if (!x->pid && extractor_start(x, p) != 0) {
        j->rc = PS_ERR_IO;
        snprintf(j->msg, sizeof j->msg, "cannot start %s: %s", p->exe,
                 strerror(errno));
        return;
    }
    size_t len = strlen(path), put = 0;
    char *line = ps_asprintf("%s\n", path);
    while (line && put <= len) {
        ssize_t w = write(x->in, line + put, len + 1 - put);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        put += (size_t)w;
    }
    ps_free(line);
    int64_t deadline = ps_mono_ns() / 1000000 + p->timeout_ms + 5000;
    int over = 0;
    char *nl = NULL;
    size_t scanned = 0; /* bytes of buf known to hold no line end */
    while (put == len + 1 && !over) {
        nl = x->buf.data
                 ? memchr(x->buf.data + scanned, '\n', x->buf.len - scanned)
                 : NULL;
        if (nl)
            break;
        scanned = x->buf.len;
        int64_t left = deadline - ps_mono_ns() / 1000000;
        if (left <= 0)
            break;
        struct pollfd fd = {x->out, POLLIN, 0};
        int n = poll(&fd, 1, (int)(left > 1000 ? 1000 : left));
        if (n < 0 && errno != EINTR)
            break;
        if (n > 0 && !read_some(x->out, &x->buf, &over))
            break; /* it ended */
    }
    if (!nl) {
        j->rc = over                                 ? PS_ERR_TOOBIG
                : ps_mono_ns() / 1000000 >= deadline ? PS_ERR_TIMEOUT
                                                     : PS_ERR_INTERNAL;
        snprintf(j->msg, sizeof j->msg, "%s",
                 over ? "the extraction's result is larger than its ceiling"
                 : put == len + 1 ? "the extractor stopped answering"
                                  : "the extractor is gone");
        if (!over && put == len + 1 && ps_mono_ns() / 1000000 >= deadline)
            snprintf(j->msg, sizeof j->msg, "timed out after %ld ms",
                     p->timeout_ms);
        extractor_stop(x);
        return;
    }
    size_t used = (size_t)(nl - x->buf.data) + 1;
    json_error_t je;
    json_t *ans = json_loadb(x->buf.data, used - 1, 0, &je);
    memmove(x->buf.data, x->buf.data + used, x->buf.len - used);
    x->buf.len -= used;
    json_t *doc = json_object_get(ans, "doc");
    const char *e = json_string_value(json_object_get(ans, "error"));
    ps_err err = PS_ERR_INIT;
    if (doc) {
        j->rc = ps_pdf_doc_from_json(doc, &j->doc, &err);
        if (j->rc != PS_OK)
            snprintf(j->msg, sizeof j->msg, "%s", err.msg);
    } else {
        json_t *code = json_object_get(ans, "code");
        j->rc = json_is_integer(code) && json_integer_value(code) > 0
                    ? (ps_status)json_integer_value(code)
                    : PS_ERR_INTERNAL;
        snprintf(j->msg, sizeof j->msg, "%s",
                 e ? e : "the extractor's answer is not readable");
    }
    json_decref(ans);
}

/* A path with a line break reaches the extractor through a symbolic link
 * with a plain name, in a folder of its own. */
static void extractor_run_any(extractor *x, const pdf_pool *p, pdf_job *j)
{
    if (!strpbrk(j->path, "\r\n")) {
        extractor_run(x, p, j->path, j);
        return;
    }
    const char *tmp = getenv("TMPDIR");
    char *dir =
        ps_asprintf("%s/pansift-pdf.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    char *link = NULL;
    if (dir && mkdtemp(dir)) {
        link = ps_asprintf("%s/file.pdf", dir);
        if (link && symlink(j->path, link) == 0) {
            extractor_run(x, p, link, j);
        } else {
            ps_free(link);
            link = NULL;
        }
    }
    if (!link) {
        j->rc = PS_ERR_IO;
        snprintf(j->msg, sizeof j->msg,
                 "cannot make a temporary link to the file: %s",
                 strerror(errno));
    } else {
        unlink(link);
    }
    if (dir)
        rmdir(dir);
    ps_free(link);
    ps_free(dir);
}

static void *pool_main(void *arg)
{
    pdf_pool *p = arg;
    extractor x;
    memset(&x, 0, sizeof x);
    /* Writing to an extractor that died is EPIPE here, not a SIGPIPE that
     * ends the program. */
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (!p->queue && !p->stop)
            pthread_cond_wait(&p->work, &p->mu);
        pdf_job *j = p->queue;
        if (!j) {
            pthread_mutex_unlock(&p->mu);
            extractor_stop(&x);
            return NULL;
        }
        p->queue = j->next;
        if (!p->queue)
            p->queue_tail = NULL;
        pthread_mutex_unlock(&p->mu);

        extractor_run_any(&x, p, j);
        j->next = NULL;
        pthread_mutex_lock(&p->mu);
        if (p->finished_tail)
            p->finished_tail->next = j;
        else
            p->finished = j;
        p->finished_tail = j;
        pthread_cond_signal(&p->done);
        pthread_mutex_unlock(&p->mu);
    }
}

static void pool_push(pdf_pool *p, pdf_job *j)
{
    j->next = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->queue_tail)
        p->queue_tail->next = j;
    else
        p->queue = j;
    p->queue_tail = j;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->mu);
}

/* The finished jobs (waiting for one when wait is set). */
static pdf_job *pool_take(pdf_pool *p, int wait)
{
    pthread_mutex_lock(&p->mu);
    while (wait && !p->finished)
        pthread_cond_wait(&p->done, &p->mu);
    pdf_job *j = p->finished;
    p->finished = p->finished_tail = NULL;
    pthread_mutex_unlock(&p->mu);
    return j;
}

static void job_free(pdf_job *j)
{
    if (!j)
        return;
    if (j->temp && j->path)
        unlink(j->path);
    ps_free(j->path);
    ps_pdf_doc_free(j->doc);
    ps_free(j);
}

/* ---- a run --------------------------------------------------------------- */

typedef struct pdf_run {
    psi_run *run;
    ps_mentions_matcher *matcher;
    pdf_pool pool;
    long jobs;
    size_t max_file;
    /* content hashes dispatched in this run: the same bytes twice in one
     * run are extracted once (open addressing over the first 16 hex
     * digits; full strings compared) */
    char (*seen)[65];
    size_t seen_cap, seen_n;
    int64_t duplicates, no_text;
    /* copies of a PDF dispatched in the same run, for a second pass */
    const pdf_item **deferred;
    size_t ndeferred, capdeferred;
    int allow_defer;
} pdf_run;

static int seen_add(pdf_run *r, const char *sha)
{
    if (r->seen_n * 2 >= r->seen_cap) {
        size_t cap = r->seen_cap ? r->seen_cap * 2 : 1024;
        char(*v)[65] = ps_calloc(cap, sizeof *v);
        if (!v)
            return -1;
        for (size_t i = 0; i < r->seen_cap; i++) {
            if (!r->seen[i][0])
                continue;
            char head[17];
            memcpy(head, r->seen[i], 16);
            head[16] = '\0';
            size_t h = (size_t)strtoull(head, NULL, 16) % cap;
            while (v[h][0])
                h = (h + 1) % cap;
            memcpy(v[h], r->seen[i], 65);
        }
        ps_free(r->seen);
        r->seen = v;
        r->seen_cap = cap;
    }
    char head[17];
    memcpy(head, sha, 16);
    head[16] = '\0';
    size_t h = (size_t)strtoull(head, NULL, 16) % r->seen_cap;
    while (r->seen[h][0]) {
        if (strcmp(r->seen[h], sha) == 0)
            return 0;
        h = (h + 1) % r->seen_cap;
    }
    memcpy(r->seen[h], sha, 65);
    r->seen_n++;
    return 1;
}

/* Read a whole file, up to max bytes. */
static ps_status read_all(const char *path, size_t max, char **out,
                          size_t *len_out, ps_err *err)
{
    ps_buf b;
    ps_buf_init(&b, max);
    *out = NULL;
    *len_out = 0;
    ps_status rc = ps_buf_read_file(&b, path, err);
    if (rc != PS_OK) {
        ps_buf_free(&b);
        return rc;
    }
    *len_out = b.len;
    *out = ps_buf_detach(&b);
    return *out ? PS_OK : ps_err_set(err, PS_ERR_NOMEM, "out of memory");
}

/* The PDF a message is about: its file name, or its URL. */
static const char *short_name(const char *loc)
{
    if (strncasecmp(loc, "http", 4) == 0)
        return loc;
    const char *s = strrchr(loc, '/');
    return s ? s + 1 : loc;
}

static ps_status reject(pdf_run *r, const pdf_item *it, const char *why,
                        ps_err *err)
{
    char reason[400];
    snprintf(reason, sizeof reason, "%.160s: %.200s", short_name(it->location),
             why);
    return psi_run_reject(r->run, PS_KIND_PUBLICATION, it->location, reason,
                          err);
}

/* The location's bytes are those already read: nothing to do but keep the
 * record (and the ledger row) alive. A PDF that could not be read is
 * reported again, with the reason it had. */
static ps_status keep(pdf_run *r, const pdf_item *it, const ps_pdf_file *f,
                      ps_err *err)
{
    psi_run *run = r->run;
    ps_status rc =
        ps_store_pdf_file_put(run->st, run->source_id, run->run_id, f, err);
    if (rc == PS_OK && f->state != PS_PDF_EXTRACTED)
        return reject(r, it, f->message ? f->message : "could not be read",
                      err);
    if (rc == PS_OK)
        rc = ps_store_mark_seen(run->st, run->source_id, PS_KIND_PUBLICATION,
                                it->location, run->run_id, err);
    if (rc == PS_OK)
        rc = psi_run_record(run, PS_PUT_UNCHANGED, err);
    return rc;
}

/* A location whose bytes another location already gave (a copy, a renamed
 * or moved file, another pdf source): the publication that location made
 * gets this location's provenance too, so it lives while either does; a
 * PDF that could not be read is reported with the same reason.
 * *handled_out is 0 when the other location left nothing to share (its
 * record is gone): the caller extracts this one. */
static ps_status share(pdf_run *r, const pdf_item *it, const pdf_job *j,
                       int *handled_out, ps_err *err)
{
    psi_run *run = r->run;
    ps_pdf_file m;
    int64_t msrc = 0;
    int found = 0, copied = 0;
    *handled_out = 0;
    ps_status rc =
        ps_store_pdf_by_hash(run->st, j->sha, &m, &msrc, &found, err);
    if (rc != PS_OK || !found)
        return rc;
    ps_pdf_file f = {it->location, j->sha,  j->size,   j->mtime,
                     m.pages,      m.state, m.message, 0};
    if (m.state == PS_PDF_EXTRACTED && m.publication_id) {
        rc = ps_store_pdf_share(run->st, msrc, m.location, run->source_id,
                                it->location, run->run_id, &copied, err);
        if (rc == PS_OK && copied) {
            f.publication_id = m.publication_id;
            f.message = "the same content as another PDF";
            rc = ps_store_pdf_file_put(run->st, run->source_id, run->run_id, &f,
                                       err);
            if (rc == PS_OK)
                rc = psi_run_record(run, PS_PUT_UNCHANGED, err);
            r->duplicates++;
            *handled_out = 1;
        }
    } else if (m.state != PS_PDF_EXTRACTED) {
        rc = keep(r, it, &f, err); /* the same failure, reported */
        *handled_out = 1;
    }
    ps_pdf_file_clear(&m);
    return rc;
}

static ps_status defer(pdf_run *r, const pdf_item *it, ps_err *err)
{
    if (r->ndeferred == r->capdeferred) {
        size_t cap = r->capdeferred ? r->capdeferred * 2 : 16;
        const pdf_item **v = ps_realloc(r->deferred, cap * sizeof *v);
        if (!v)
            return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        r->deferred = v;
        r->capdeferred = cap;
    }
    r->deferred[r->ndeferred++] = it;
    return PS_OK;
}

/* Prepare one item: skip it when unchanged, else hand it to a worker
 * (*job_out). Per-file failures are rejections, not errors. */
static ps_status prepare(pdf_run *r, const pdf_item *it, pdf_job **job_out,
                         ps_err *err)
{
    psi_run *run = r->run;
    ps_pdf_file old;
    int found = 0;
    *job_out = NULL;
    ps_status rc = ps_store_pdf_file_get(run->st, run->source_id, it->location,
                                         &old, &found, err);
    if (rc != PS_OK)
        return rc;
    pdf_job *j = ps_calloc(1, sizeof *j);
    char *data = NULL;
    size_t len = 0;
    if (!j) {
        ps_pdf_file_clear(&old);
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    }
    j->item = it;
    if (!it->is_url) {
        struct stat sb;
        if (stat(it->location, &sb) != 0) {
            rc = reject(r, it, strerror(errno), err);
            goto done;
        }
        j->size = (int64_t)sb.st_size;
        j->mtime = (int64_t)sb.st_mtime;
        if (found && old.sha256 && old.size == j->size &&
            old.mtime == j->mtime) {
            rc = keep(r, it, &old, err);
            goto done;
        }
        ps_err e = PS_ERR_INIT;
        if (read_all(it->location, r->max_file, &data, &len, &e) != PS_OK) {
            rc = reject(r, it, e.msg, err);
            goto done;
        }
        j->path = ps_strdup(it->location);
    } else {
        if (found && old.sha256) {
            rc = keep(r, it, &old, err); /* fetched once */
            goto done;
        }
        ps_http_response resp = {0};
        ps_err e = PS_ERR_INIT;
        ps_status frc = psi_run_fetch(run, it->location, NULL, &resp, &e);
        if (frc == PS_ERR_CANCELLED || frc == PS_ERR_NOMEM) {
            ps_http_response_free(&resp);
            rc = ps_err_set(err, frc, "%s", e.msg);
            goto done;
        }
        if (frc != PS_OK) {
            ps_http_response_free(&resp);
            rc = reject(r, it, e.msg, err);
            goto done;
        }
        data = resp.body;
        len = resp.body_len;
        resp.body = NULL;
        ps_http_response_free(&resp);
        j->size = (int64_t)len;
        const char *tmp = getenv("TMPDIR");
        char *path =
            ps_asprintf("%s/pansift-pdf.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        int fd = path ? mkstemp(path) : -1;
        size_t put = 0;
        while (fd >= 0 && put < len) {
            ssize_t w = write(fd, data + put, len - put);
            if (w <= 0 && errno != EINTR)
                break;
            if (w > 0)
                put += (size_t)w;
        }
        if (fd >= 0)
            close(fd);
        if (fd < 0 || put < len) {
            if (fd >= 0)
                unlink(path);
            ps_free(path);
            rc = ps_err_set(err, PS_ERR_IO,
                            "cannot write a temporary file for %s: %s",
                            it->location, strerror(errno));
            goto done;
        }
        j->path = path;
        j->temp = 1;
    }
    if (!j->path) {
        rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        goto done;
    }
    ps_sha256_hex(data, len, j->sha);
    if (found && old.sha256 && strcmp(old.sha256, j->sha) == 0) {
        /* Touched, not changed. */
        old.size = j->size;
        old.mtime = j->mtime;
        rc = keep(r, it, &old, err);
        goto done;
    }
    int handled = 0;
    rc = share(r, it, j, &handled, err);
    if (rc != PS_OK || handled)
        goto done;
    /* The same bytes twice in this run: the second waits for the first's
     * record (the second pass shares it). */
    int fresh = seen_add(r, j->sha);
    if (fresh < 0) {
        rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (!fresh && r->allow_defer) {
        rc = defer(r, it, err);
        goto done;
    }
    ps_free(data);
    ps_pdf_file_clear(&old);
    *job_out = j;
    return PS_OK;
done:
    ps_free(data);
    ps_pdf_file_clear(&old);
    job_free(j);
    return rc;
}

/* ---- from an extraction to the store ------------------------------------ */

typedef struct found_mentions {
    ps_mentions all;
    ps_mention_in *in;
    size_t n;
    char **matched; /* owned copies of the matched text */
    int cut;        /* the ceiling of mentions was reached */
} found_mentions;

/* Mentions in the acknowledgements, funding, each reference ("reference:N")
 * and the full text ("text"); in the full text only those not already found
 * in one of the others (the sections are part of it). */
static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "kind:value" of a mention, for the sorted set of those already found. */
static char *mention_key(const ps_mention *m)
{
    return ps_asprintf("%d:%s", (int)m->kind, m->value);
}

/* One section's mentions; past the ceiling of mentions (or of text) the
 * section is left out and *cut set: the PDF keeps what was found. */
static ps_status find_in(pdf_run *r, const char *text, size_t len,
                         const char *section, found_mentions *fm, ps_err *err)
{
    if (!text || fm->cut)
        return PS_OK;
    ps_status rc =
        ps_mentions_find(r->matcher, text, len, section, &fm->all, err);
    if (rc == PS_ERR_TOOBIG) {
        fm->cut = 1;
        rc = PS_OK;
    }
    return rc;
}

static ps_status find_mentions(pdf_run *r, const ps_pdf_doc *d,
                               found_mentions *fm, ps_err *err)
{
    memset(fm, 0, sizeof *fm);
    ps_status rc =
        find_in(r, d->acknowledgements,
                d->acknowledgements ? strlen(d->acknowledgements) : 0,
                "acknowledgements", fm, err);
    if (rc == PS_OK)
        rc = find_in(r, d->funding, d->funding ? strlen(d->funding) : 0,
                     "funding", fm, err);
    for (size_t i = 0; rc == PS_OK && i < d->nrefs; i++) {
        char section[32];
        snprintf(section, sizeof section, "reference:%zu", i);
        rc = find_in(r, d->refs[i].text,
                     d->refs[i].text ? strlen(d->refs[i].text) : 0, section, fm,
                     err);
    }
    size_t before = fm->all.n;
    if (rc == PS_OK)
        rc = find_in(r, d->text, d->text_len, "text", fm, err);
    if (rc != PS_OK)
        return rc;
    /* The sections are part of the full text: a mention they have is not
     * repeated under "text" (a sorted set of kind:value, binary search). */
    char **keys = ps_calloc(before ? before : 1, sizeof *keys);
    fm->in = ps_calloc(fm->all.n ? fm->all.n : 1, sizeof *fm->in);
    fm->matched = ps_calloc(fm->all.n ? fm->all.n : 1, sizeof *fm->matched);
    int nomem = !keys || !fm->in || !fm->matched;
    for (size_t i = 0; !nomem && i < before; i++) {
        keys[i] = mention_key(&fm->all.items[i]);
        nomem = !keys[i];
    }
    if (!nomem && before)
        qsort(keys, before, sizeof *keys, cmp_key);
    for (size_t i = 0; !nomem && i < fm->all.n; i++) {
        const ps_mention *m = &fm->all.items[i];
        if (i >= before && before) {
            char *k = mention_key(m);
            if (!k) {
                nomem = 1;
                break;
            }
            int dup = bsearch(&k, keys, before, sizeof *keys, cmp_key) != NULL;
            ps_free(k);
            if (dup)
                continue;
        }
        const char *src = NULL;
        if (strcmp(m->section, "acknowledgements") == 0)
            src = d->acknowledgements;
        else if (strcmp(m->section, "funding") == 0)
            src = d->funding;
        else if (strcmp(m->section, "text") == 0)
            src = d->text;
        else
            src = d->refs[strtoul(m->section + 10, NULL, 10)].text;
        ps_mention_in *x = &fm->in[fm->n];
        x->kind = ps_mention_kind_str(m->kind);
        x->value = m->value;
        x->facility = m->facility;
        x->section = m->section;
        x->offset = (int64_t)m->offset;
        x->length = (int64_t)m->length;
        x->context = m->context;
        x->context_at = (int64_t)m->context_at;
        x->confidence = m->confidence;
        fm->matched[fm->n] = ps_strndup(src + m->offset, m->length);
        x->matched = fm->matched[fm->n];
        fm->n++;
    }
    for (size_t i = 0; keys && i < before; i++)
        ps_free(keys[i]);
    ps_free(keys);
    return nomem ? ps_err_set(err, PS_ERR_NOMEM, "out of memory") : PS_OK;
}

static void found_mentions_free(found_mentions *fm)
{
    for (size_t i = 0; fm->matched && i < fm->n; i++)
        ps_free(fm->matched[i]);
    ps_free(fm->matched);
    ps_free(fm->in);
    ps_mentions_clear(&fm->all);
}

/* The title of a stored publication (a PDF that has none of its own can
 * still add its text to a known record). */
static char *stored_title(ps_store *st, const char *pid)
{
    int64_t id = 0;
    json_t *o = NULL;
    if (!pid ||
        ps_store_find_pid(st, PS_KIND_PUBLICATION, pid, &id, NULL) != PS_OK ||
        ps_store_load(st, PS_KIND_PUBLICATION, id, 0, &o, NULL) != PS_OK)
        return NULL;
    const char *t = ps_json_str(o, "title");
    char *s = t ? ps_strdup(t) : NULL;
    json_decref(o);
    return s;
}

/* The metadata the PDF gives, as the provenance's raw record: its hash
 * decides whether the record changed. */
static json_t *raw_record(const pdf_job *j, const ps_pdf_doc *d)
{
    json_t *o = json_object();
    json_t *authors = json_array();
    json_t *kw = json_array();
    if (!o || !authors || !kw) {
        json_decref(o);
        json_decref(authors);
        json_decref(kw);
        return NULL;
    }
    for (size_t i = 0; i < d->nauthors; i++)
        json_array_append_new(authors, json_string(d->authors[i]));
    for (size_t i = 0; i < d->nkeywords; i++)
        json_array_append_new(kw, json_string(d->keywords[i]));
    json_object_set_new(o, "sha256", json_string(j->sha));
    json_object_set_new(o, "location", json_string(j->item->location));
    if (d->title)
        json_object_set_new(o, "title", json_string(d->title));
    json_object_set_new(o, "authors", authors);
    if (d->doi)
        json_object_set_new(o, "doi", json_string(d->doi));
    if (d->abstract)
        json_object_set_new(o, "abstract", json_string(d->abstract));
    json_object_set_new(o, "keywords", kw);
    if (d->year)
        json_object_set_new(o, "year", json_integer(d->year));
    json_object_set_new(o, "pages", json_integer(d->pages));
    return o;
}

/* Links the PDF's references make: a data DOI of a facility prefix is a
 * cited dataset, any other DOI a referenced publication (as Crossref's
 * reference lists are read). */
static ps_status put_links(pdf_run *r, int64_t id, const ps_pdf_doc *d,
                           const found_mentions *fm, ps_err *err)
{
    ps_status rc = PS_OK;
    for (size_t i = 0; i < fm->n && rc == PS_OK; i++) {
        const ps_mention_in *m = &fm->in[i];
        if (strcmp(m->kind, "data-doi") != 0)
            continue;
        rc = psi_run_link(r->run, "publication-cites-data", PS_KIND_PUBLICATION,
                          id, PS_KIND_DATASET, m->value, err);
    }
    for (size_t i = 0; i < d->nrefs && rc == PS_OK; i++) {
        const char *doi = d->refs[i].doi;
        if (!doi || (d->doi && strcasecmp(doi, d->doi) == 0))
            continue;
        int data = 0;
        for (size_t k = 0; k < fm->n && !data; k++)
            data = strcmp(fm->in[k].kind, "data-doi") == 0 &&
                   strcasecmp(fm->in[k].value, doi) == 0;
        if (!data)
            rc = psi_run_link(r->run, "references", PS_KIND_PUBLICATION, id,
                              PS_KIND_PUBLICATION, doi, err);
    }
    /* A target the store cannot take is not worth failing the PDF. */
    return rc == PS_ERR_INVALID ? PS_OK : rc;
}

/* A failure the same bytes will always have (the PDF is damaged,
 * encrypted, too large): kept in the ledger and reported on every run until
 * the file changes. Any other (a time limit, the extractor process, memory)
 * is of the moment: reported, and the PDF is read again on the next run. */
static int lasting_failure(ps_status rc)
{
    return rc == PS_ERR_PARSE || rc == PS_ERR_INVALID || rc == PS_ERR_TOOBIG;
}

static ps_status store_result(pdf_run *r, pdf_job *j, ps_err *err)
{
    psi_run *run = r->run;
    const pdf_item *it = j->item;
    ps_pdf_file f = {it->location,  j->sha, j->size, j->mtime, 0,
                     PS_PDF_FAILED, NULL,   0};
    if (j->rc != PS_OK) {
        /* The extractor names the file it read: the rejection names the
         * PDF already (and a download's file is a temporary one). */
        const char *msg = j->msg;
        size_t plen = strlen(j->path);
        if (strncmp(msg, j->path, plen) == 0 &&
            strncmp(msg + plen, ": ", 2) == 0)
            msg += plen + 2;
        f.message = msg;
        ps_status rc = PS_OK;
        if (lasting_failure(j->rc))
            rc = ps_store_pdf_file_put(run->st, run->source_id, run->run_id, &f,
                                       err);
        return rc == PS_OK ? reject(r, it, msg, err) : rc;
    }
    const ps_pdf_doc *d = j->doc;
    f.pages = d->pages;
    if (d->warnings & PS_PDF_WARN_NO_TEXT) {
        f.state = PS_PDF_NO_TEXT;
        f.message = "no text: a scanned or image-only PDF";
        r->no_text++;
        ps_status rc = ps_store_pdf_file_put(run->st, run->source_id,
                                             run->run_id, &f, err);
        return rc == PS_OK ? reject(r, it, f.message, err) : rc;
    }

    char *pid_own = NULL, *title_own = NULL;
    const char *pid = it->pub_pid ? it->pub_pid : d->doi;
    if (!pid)
        pid = pid_own = ps_asprintf("pdf:sha256:%s", j->sha);
    const char *title = d->title;
    if (!title)
        title = title_own = stored_title(run->st, pid);
    ps_status rc = PS_OK;
    json_t *raw = NULL;
    ps_member_in *members = NULL;
    char **person_pids = NULL;
    found_mentions fm;
    memset(&fm, 0, sizeof fm);
    if (!pid) {
        rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (!title) {
        f.message = "no title found, and no stored publication with its DOI";
        rc = ps_store_pdf_file_put(run->st, run->source_id, run->run_id, &f,
                                   err);
        if (rc == PS_OK)
            rc = reject(r, it, f.message, err);
        goto out;
    }
    raw = raw_record(j, d);
    members = ps_calloc(d->nauthors ? d->nauthors : 1, sizeof *members);
    person_pids = ps_calloc(d->nauthors ? d->nauthors : 1, sizeof *person_pids);
    if (!raw || !members || !person_pids) {
        rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < d->nauthors; i++) {
        person_pids[i] = ps_asprintf("pdf:%s#author-%zu", pid, i + 1);
        if (!person_pids[i]) {
            rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
            goto out;
        }
        members[i].role = "author";
        members[i].person.pid = person_pids[i];
        members[i].person.full_name = d->authors[i];
    }
    ps_document_in in = {0};
    in.kind = PS_KIND_PUBLICATION;
    in.pid = pid;
    in.title = title;
    in.summary = d->abstract;
    in.doi = d->doi;
    in.year = d->year;
    in.start_ms = in.end_ms = in.release_ms = PS_TIME_NONE;
    in.vis = PS_VIS_PUBLIC;
    in.keywords = (const char *const *)d->keywords;
    in.nkeywords = d->nkeywords;
    in.members = members;
    in.nmembers = d->nauthors;
    in.url = it->is_url ? it->location : NULL;
    ps_prov prov = {run->source_id, it->location, raw, 0, run->run_id, NULL, 0};
    ps_put_result result = PS_PUT_UNCHANGED;
    int64_t id = 0;
    rc = ps_store_put_document(run->st, &prov, &in, &result, &id, err);
    if (rc == PS_ERR_INVALID) {
        char why[256];
        snprintf(why, sizeof why, "%s", err ? err->msg : "invalid record");
        rc = ps_store_pdf_file_put(run->st, run->source_id, run->run_id, &f,
                                   err);
        if (rc == PS_OK)
            rc = reject(r, it, why, err);
        goto out;
    }
    if (rc != PS_OK)
        goto out;
    rc = find_mentions(r, d, &fm, err);
    if (rc == PS_OK && fm.cut) {
        char note[200];
        snprintf(note, sizeof note,
                 "%.120s: more mentions than can be kept, only the first",
                 short_name(it->location));
        psi_run_note(run, note);
    }
    ps_reference_in *refs = NULL;
    if (rc == PS_OK && d->nrefs) {
        refs = ps_calloc(d->nrefs, sizeof *refs);
        if (!refs)
            rc = ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        for (size_t i = 0; refs && i < d->nrefs; i++) {
            refs[i].doi = d->refs[i].doi;
            refs[i].raw = d->refs[i].text;
        }
    }
    if (rc == PS_OK) {
        ps_pub_text_in t = {j->sha,     d->text, d->acknowledgements,
                            d->funding, fm.in,   fm.n,
                            refs,       d->nrefs};
        int changed = 0;
        rc = ps_store_put_publication_text(run->st, id, &t, &changed, err);
        if (rc == PS_OK && changed && result == PS_PUT_UNCHANGED)
            result = PS_PUT_UPDATED;
    }
    ps_free(refs);
    if (rc == PS_OK && result != PS_PUT_UNCHANGED)
        rc = put_links(r, id, d, &fm, err);
    if (rc == PS_OK) {
        f.state = PS_PDF_EXTRACTED;
        f.publication_id = id;
        rc = ps_store_pdf_file_put(run->st, run->source_id, run->run_id, &f,
                                   err);
    }
    if (rc == PS_OK)
        rc = psi_run_record(run, result, err);
out:
    found_mentions_free(&fm);
    for (size_t i = 0; person_pids && i < d->nauthors; i++)
        ps_free(person_pids[i]);
    ps_free(person_pids);
    ps_free(members);
    json_decref(raw);
    ps_free(pid_own);
    ps_free(title_own);
    return rc;
}

/* ---- set-up ------------------------------------------------------------- */

typedef struct instr_ctx {
    ps_mentions_matcher *m;
    size_t added;
} instr_ctx;

/* A name that is long and has a digit (ID23-1, BM01) names the instrument
 * wherever it appears; a short or ordinary one (D22, WISH, Merlin) only near
 * a cue, as in instruments.tsv. */
static int needs_cue(const char *name)
{
    int digit = 0;
    for (const char *p = name; *p; p++)
        digit |= *p >= '0' && *p <= '9';
    return !(digit && strlen(name) >= 4);
}

static int on_instrument(void *ctx, const char *facility, const char *name,
                         const char *aliases)
{
    instr_ctx *c = ctx;
    if (!name || !*name)
        return 0;
    if (ps_mentions_matcher_add_instrument(c->m, facility ? facility : "", name,
                                           aliases, needs_cue(name),
                                           NULL) == PS_OK)
        c->added++;
    return 0;
}

static ps_status parse_options(pdf_run *r, ps_err *err)
{
    psi_run *run = r->run;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    long v;
    ps_status rc =
        psi_opt_long(run, "jobs", ncpu > 0 ? ncpu : 1, 1, 256, &r->jobs, err);
    if (rc == PS_OK)
        rc = psi_opt_long(run, "timeout", 30000, 100, 3600000,
                          &r->pool.timeout_ms, err);
    if (rc == PS_OK)
        rc = psi_opt_long(run, "max_pages", 500, 1, 1000000, &v, err);
    if (rc == PS_OK) {
        r->pool.opts = (ps_pdf_opts)PS_PDF_OPTS_INIT;
        r->pool.opts.max_pages = (int)v;
        rc = psi_opt_long(run, "max_text", 4L << 20, 4096, 32L << 20, &v, err);
    }
    if (rc == PS_OK) {
        r->pool.opts.max_text_bytes = (size_t)v;
        rc = psi_opt_long(run, "max_file", 256L << 20, 1024, 512L << 20, &v,
                          err);
    }
    if (rc == PS_OK)
        r->max_file = (size_t)v;
    const char *pubs = psi_opt(run, "publications");
    if (rc == PS_OK && pubs && strcmp(pubs, "yes") != 0 &&
        strcmp(pubs, "no") != 0 && strcmp(pubs, "true") != 0 &&
        strcmp(pubs, "false") != 0)
        rc = ps_err_set(err, PS_ERR_INVALID,
                        "source %s: publications = \"%s\": use yes or no",
                        run->src->name, pubs);
    return rc;
}

static ps_status list_all(pdf_run *r, pdf_list *l, ps_err *err)
{
    psi_run *run = r->run;
    const char *url = run->src->url;
    ps_status rc = PS_OK;
    if (url && strncasecmp(url, "file://", 7) == 0) {
        const char *path = file_path(url);
        struct stat sb;
        if (stat(path, &sb) != 0)
            return ps_err_set(err,
                              errno == ENOENT ? PS_ERR_NOTFOUND : PS_ERR_IO,
                              "source %s: %s: %s (url = file:// and an "
                              "absolute path to a folder or a PDF)",
                              run->src->name, path, strerror(errno));
        if (S_ISDIR(sb.st_mode)) {
            walk_seen seen = {0};
            rc = walk(run, path, 0, l, &seen, err);
            ps_free(seen.v);
        } else
            rc = list_add(l, path, NULL, 0, err);
    } else if (url) {
        rc = list_urls(run, l, err);
    }
    const char *pubs = psi_opt(run, "publications");
    if (rc == PS_OK && pubs &&
        (strcmp(pubs, "yes") == 0 || strcmp(pubs, "true") == 0)) {
        links_ctx c = {l, err, PS_OK};
        rc = ps_store_pdf_links(run->st, on_link, &c, err);
        if (rc == PS_OK)
            rc = c.rc;
    }
    return rc;
}

static ps_status pool_start(pdf_run *r, ps_err *err)
{
    pdf_pool *p = &r->pool;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    p->threads = ps_calloc((size_t)r->jobs, sizeof *p->threads);
    if (!p->threads)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    for (long i = 0; i < r->jobs; i++) {
        if (pthread_create(&p->threads[i], NULL, pool_main, p) != 0)
            break;
        p->nthreads++;
    }
    if (!p->nthreads)
        return ps_err_set(err, PS_ERR_INTERNAL,
                          "cannot start an extraction thread");
    return PS_OK;
}

static void pool_stop(pdf_run *r)
{
    pdf_pool *p = &r->pool;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    ps_free(p->threads);
    for (pdf_job *j = p->queue, *n; j; j = n) {
        n = j->next;
        job_free(j);
    }
    for (pdf_job *j = p->finished, *n; j; j = n) {
        n = j->next;
        job_free(j);
    }
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->mu);
}

/* Store the finished jobs of the list; *inflight counts down. */
static ps_status drain(pdf_run *r, pdf_job *j, size_t *inflight, ps_err *err)
{
    ps_status rc = PS_OK;
    for (pdf_job *n; j; j = n) {
        n = j->next;
        if (rc == PS_OK) {
            rc = store_result(r, j, err);
            if (rc != PS_OK && err) {
                char why[sizeof err->msg];
                snprintf(why, sizeof why, "%s", err->msg);
                ps_err_set(err, rc, "%s: %s", short_name(j->item->location),
                           why);
            }
        }
        job_free(j);
        (*inflight)--;
    }
    return rc;
}

/* Read items (items[0..n), or the pointed-to ptrs[0..n)): prepare each in
 * this thread, extract on the workers (at most two per worker waiting),
 * store the results here as they come. Returns when all are stored. */
static ps_status run_items(pdf_run *r, const pdf_item *items,
                           const pdf_item *const *ptrs, size_t n, ps_err *err)
{
    psi_run *run = r->run;
    ps_status rc = PS_OK;
    size_t next = 0, inflight = 0;
    size_t cap = (size_t)r->pool.nthreads * 2;
    while (rc == PS_OK && (next < n || inflight)) {
        if (r->pool.nthreads)
            rc = drain(r, pool_take(&r->pool, 0), &inflight, err);
        if (rc != PS_OK || (next == n && !inflight))
            break;
        if (psi_run_cancelled(run)) {
            rc = ps_err_set(err, PS_ERR_CANCELLED, "harvest of %s cancelled",
                            run->src->name);
            break;
        }
        if (next < n && (inflight < cap || !r->pool.nthreads)) {
            pdf_job *j = NULL;
            const pdf_item *it = items ? &items[next] : ptrs[next];
            next++;
            rc = prepare(r, it, &j, err);
            if (rc == PS_OK && j && r->pool.nthreads) {
                pool_push(&r->pool, j);
                inflight++;
            } else if (rc == PS_OK && j) {
                ps_err e = PS_ERR_INIT;
                j->rc = ps_pdf_extract_file_guarded(
                    j->path, &r->pool.opts, r->pool.timeout_ms, &j->doc, &e);
                if (j->rc != PS_OK)
                    snprintf(j->msg, sizeof j->msg, "%s", e.msg);
                rc = store_result(r, j, err);
                job_free(j);
            }
            continue;
        }
        /* Every worker busy: let other sources write while we wait. */
        rc = psi_run_idle(run, err);
        pdf_job *done = rc == PS_OK ? pool_take(&r->pool, 1) : NULL;
        if (rc == PS_OK)
            rc = psi_run_resume(run, err);
        ps_status drc = drain(r, done, &inflight, err);
        if (rc == PS_OK)
            rc = drc;
    }
    /* On an error, wait for what the workers still hold (they are bounded
     * by the time limit) so that nothing refers to the items any more. */
    while (inflight && r->pool.nthreads) {
        pdf_job *done = pool_take(&r->pool, 1);
        for (pdf_job *x; done; done = x) {
            x = done->next;
            job_free(done);
            inflight--;
        }
    }
    return rc;
}

ps_status psi_harvest_pdf(psi_run *run, ps_err *err)
{
    pdf_run r;
    pdf_list l = {0};
    memset(&r, 0, sizeof r);
    r.run = run;
    ps_status rc = parse_options(&r, err);
    if (rc != PS_OK)
        return rc;
    const char *dir = psi_opt(run, "mentions");
    rc = ps_mentions_matcher_load_with(&r.matcher,
                                       dir ? dir : PS_DEFAULT_MENTIONS_DIR,
                                       psi_opt(run, "proposal_codes"), err);
    if (rc != PS_OK) {
        char why[256];
        snprintf(why, sizeof why, "%s", err ? err->msg : "cannot load");
        const char *codes = psi_opt(run, "proposal_codes");
        return ps_err_set(err, rc, "source %s: the mention tables (%s%s%s): %s",
                          run->src->name, dir ? dir : PS_DEFAULT_MENTIONS_DIR,
                          codes ? ", proposal_codes = " : "",
                          codes ? codes : "", why);
    }
    instr_ctx ic = {r.matcher, 0};
    rc = ps_store_instrument_names(run->st, on_instrument, &ic, err);
    if (rc == PS_OK) {
        run->phase = "Listing PDFs";
        rc = list_all(&r, &l, err);
    }
    if (rc != PS_OK) {
        ps_mentions_matcher_free(r.matcher);
        list_free(&l);
        return rc;
    }
    run->phase = "PDFs";
    run->phase_done = 0;
    run->phase_total = (int64_t)l.n;
    /* Without the executable to run, one PDF at a time in a forked child of
     * this thread (no worker threads to fork beside). */
    r.pool.exe = run->opts->exe;
    if (r.pool.exe)
        rc = pool_start(&r, err);
    /* First every listed PDF, then the copies of PDFs that were still
     * being extracted when their copy came up. */
    r.allow_defer = 1;
    if (rc == PS_OK)
        rc = run_items(&r, l.v, NULL, l.n, err);
    r.allow_defer = 0;
    if (rc == PS_OK && r.ndeferred)
        rc = run_items(&r, NULL, r.deferred, r.ndeferred, err);
    if (r.pool.threads)
        pool_stop(&r);
    if (rc == PS_OK) {
        char note[160];
        if (r.duplicates) {
            snprintf(note, sizeof note,
                     "%lld PDF(s) with the same content as another, read once",
                     (long long)r.duplicates);
            psi_run_note(run, note);
        }
        if (l.truncated) {
            snprintf(note, sizeof note,
                     "only the first %d PDFs were read: nothing was deleted",
                     PDF_MAX_LOCATIONS);
            psi_run_note(run, note);
        } else {
            /* Every location was listed: the ones gone are forgotten. */
            run->complete = 1;
            rc = ps_store_pdf_file_sweep(run->st, run->source_id, run->run_id,
                                         NULL, err);
        }
    }
    ps_mentions_matcher_free(r.matcher);
    ps_free(r.seen);
    ps_free(r.deferred);
    list_free(&l);
    return rc;
}
