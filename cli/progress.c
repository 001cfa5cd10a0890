/*
 * progress.c: the progress display of long commands (harvest, index). On a
 * terminal one line is redrawn in place with a bar, the count, the rate and
 * the time left; when stderr is a file or a pipe (CI logs, cron), a plain
 * line is written every five seconds instead, so logs stay readable. A
 * board holds several such lines (the sources of a parallel harvest), each
 * updated from its own thread and redrawn together.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "cli.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void ps_progress_init(ps_progress *p, int quiet)
{
    memset(p, 0, sizeof *p);
    p->enabled = !quiet;
    p->tty = isatty(2);
    p->t0_ns = ps_mono_ns();
}

static void human(int64_t n, char *out, size_t size)
{
    if (n >= 10000000)
        snprintf(out, size, "%.1fM", (double)n / 1e6);
    else if (n >= 100000)
        snprintf(out, size, "%lldk", (long long)(n / 1000));
    else
        snprintf(out, size, "%lld", (long long)n);
}

static void render(const ps_progress *p, int64_t now, const char *label,
                   int64_t done, int64_t total, const char *extra, char *line,
                   size_t size);

void ps_progress_update(ps_progress *p, const char *label, int64_t done,
                        int64_t total, const char *extra)
{
    if (!p->enabled)
        return;
    int64_t now = ps_mono_ns();
    if (strcmp(label, p->label) != 0) {
        if (p->drawn && p->tty)
            fputc('\n', stderr);
        snprintf(p->label, sizeof p->label, "%s", label);
        p->t0_ns = now;
        p->last_ns = 0;
        p->drawn = 0;
    }
    int final = total >= 0 && done >= total;
    int64_t gap = p->tty ? 100000000LL : 5000000000LL;
    if (p->last_ns && now - p->last_ns < gap && !final)
        return;
    p->last_ns = now;
    char line[256];
    render(p, now, label, done, total, extra, line, sizeof line);
    if (p->tty)
        fprintf(stderr, "\r\033[K%s", line);
    else
        fprintf(stderr, "%s\n", line);
    fflush(stderr);
    p->drawn = 1;
    p->last_done = done;
}

/* The line of p for done of total (bar, counts, rate, time left). */
static void render(const ps_progress *p, int64_t now, const char *label,
                   int64_t done, int64_t total, const char *extra, char *line,
                   size_t size)
{
    double secs = (double)(now - p->t0_ns) / 1e9;
    double rate = secs > 0 ? (double)done / secs : 0;
    char d[16], t[16], bar[32] = "";
    human(done, d, sizeof d);
    if (total >= 0) {
        human(total, t, sizeof t);
        int pct = total ? (int)(100.0 * (double)done / (double)total) : 100;
        if (pct > 100)
            pct = 100;
        int fill = pct / 5;
        for (int i = 0; i < 20; i++)
            bar[i] = i < fill ? '=' : (i == fill ? '>' : ' ');
        bar[20] = '\0';
        double eta = rate > 0 ? (double)(total - done) / rate : 0;
        snprintf(line, size, "%s [%s] %3d%% %s/%s  %.0f/s  ETA %d:%02d%s%s",
                 label, bar, pct, d, t, rate, (int)eta / 60, (int)eta % 60,
                 extra ? "  " : "", extra ? extra : "");
    } else {
        snprintf(line, size, "%s %s  %.0f/s%s%s", label, d, rate,
                 extra ? "  " : "", extra ? extra : "");
    }
}

void ps_progress_end(ps_progress *p)
{
    if (p->enabled && p->drawn && p->tty)
        fputc('\n', stderr);
    p->drawn = 0;
    p->label[0] = '\0';
}

/* ---- a board of lines ---------------------------------------------------- */

struct ps_progress_board {
    pthread_mutex_t mu;
    int enabled, tty;
    size_t n;
    ps_progress *slots;
    char (*lines)[256];
    size_t drawn; /* lines of the block on screen */
    int64_t last_ns;
};

ps_progress_board *ps_progress_board_new(size_t nslots, int quiet)
{
    ps_progress_board *b = ps_calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->slots = ps_calloc(nslots ? nslots : 1, sizeof *b->slots);
    b->lines = ps_calloc(nslots ? nslots : 1, sizeof *b->lines);
    if (!b->slots || !b->lines) {
        ps_free(b->slots);
        ps_free(b->lines);
        ps_free(b);
        return NULL;
    }
    pthread_mutex_init(&b->mu, NULL);
    b->n = nslots;
    b->enabled = !quiet;
    b->tty = isatty(2);
    for (size_t i = 0; i < nslots; i++)
        ps_progress_init(&b->slots[i], quiet);
    return b;
}

static void board_draw(ps_progress_board *b)
{
    if (b->drawn)
        fprintf(stderr, "\033[%zuA", b->drawn);
    b->drawn = 0;
    for (size_t i = 0; i < b->n; i++) {
        if (!b->lines[i][0] && !b->drawn)
            continue; /* nothing yet above: keep the block short */
        fprintf(stderr, "\r\033[K%s\n", b->lines[i]);
        b->drawn++;
    }
    fflush(stderr);
}

void ps_progress_board_update(ps_progress_board *b, size_t slot,
                              const char *label, int64_t done, int64_t total,
                              const char *extra)
{
    if (!b || !b->enabled || slot >= b->n)
        return;
    pthread_mutex_lock(&b->mu);
    ps_progress *p = &b->slots[slot];
    int64_t now = ps_mono_ns();
    if (strcmp(label, p->label) != 0) {
        snprintf(p->label, sizeof p->label, "%s", label);
        p->t0_ns = now;
        p->last_ns = 0;
    }
    int final = total >= 0 && done >= total;
    render(p, now, label, done, total, extra, b->lines[slot],
           sizeof b->lines[slot]);
    if (b->tty) {
        if (final || !b->last_ns || now - b->last_ns >= 100000000LL) {
            b->last_ns = now;
            board_draw(b);
        }
    } else if (final || !p->last_ns || now - p->last_ns >= 5000000000LL) {
        p->last_ns = now;
        fprintf(stderr, "%s\n", b->lines[slot]);
        fflush(stderr);
    }
    pthread_mutex_unlock(&b->mu);
}

void ps_progress_board_free(ps_progress_board *b)
{
    if (!b)
        return;
    if (b->enabled && b->tty && b->drawn)
        board_draw(b); /* the last state of every line */
    pthread_mutex_destroy(&b->mu);
    ps_free(b->slots);
    ps_free(b->lines);
    ps_free(b);
}
