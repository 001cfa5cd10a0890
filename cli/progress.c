/*
 * progress.c: the progress display of long commands (harvest, index). On a
 * terminal one line is redrawn in place with a bar, the count, the rate and
 * the time left; when stderr is a file or a pipe (CI logs, cron), a plain
 * line is written every five seconds instead, so logs stay readable.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "cli.h"

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
    double secs = (double)(now - p->t0_ns) / 1e9;
    double rate = secs > 0 ? (double)done / secs : 0;
    char d[16], t[16], line[256], bar[32] = "";
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
        snprintf(line, sizeof line,
                 "%s [%s] %3d%% %s/%s  %.0f/s  ETA %d:%02d%s%s", label, bar,
                 pct, d, t, rate, (int)eta / 60, (int)eta % 60,
                 extra ? "  " : "", extra ? extra : "");
    } else {
        snprintf(line, sizeof line, "%s %s  %.0f/s%s%s", label, d, rate,
                 extra ? "  " : "", extra ? extra : "");
    }
    if (p->tty)
        fprintf(stderr, "\r\033[K%s", line);
    else
        fprintf(stderr, "%s\n", line);
    fflush(stderr);
    p->drawn = 1;
    p->last_done = done;
}

void ps_progress_end(ps_progress *p)
{
    if (p->enabled && p->drawn && p->tty)
        fputc('\n', stderr);
    p->drawn = 0;
    p->label[0] = '\0';
}
