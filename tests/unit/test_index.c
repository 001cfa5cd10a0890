/*
 * test_index.c: unit tests of the indexer. What users rely on: the index
 * holds exactly the live records of the store (no missing, no duplicate
 * document) after incremental updates, deletions and rebuilds; it remembers
 * how far it got, so an interrupted update resumes; embargoed and
 * restricted records are indexed but only what the public may see now
 * matches the visibility query; one writer at a time, with a message that
 * says who holds the lock; readers follow a rebuild's swap. And the free
 * text of the search endpoint: a publication's PDF text (written through
 * ps_store_put_publication_text) is found by its words, stems, phrases and
 * wildcards, with exclusions; a title hit ranks above a body hit; the
 * snippets mark the words and escape HTML; what the public may not see is
 * not found; new text is found after the next update.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "check.h"
#include "index.h"
#include "store.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char dir[256], store_path[300];
static int64_t src;

static void put_dataset(ps_store *st, int i, ps_visibility vis, int64_t until)
{
    char pid[32], title[64];
    snprintf(pid, sizeof pid, "ds/%04d", i);
    snprintf(title, sizeof title, "Neutron scattering of sample %d", i);
    json_t *raw = json_pack("{s:s, s:s, s:i}", "pid", pid, "title", title,
                            "vis", (int)vis);
    ps_dataset_in in = {0};
    in.pid = pid;
    in.title = title;
    in.created_ms = 1600000000000LL + i * 86400000LL;
    in.size = i * 1000;
    in.instrument_pid = i % 2 ? "ins/odd" : "ins/even";
    in.vis = vis;
    in.embargo_until_ms = until;
    ps_prov prov = {src, pid, raw, 0, 0};
    ps_err err = PS_ERR_INIT;
    check(ps_store_put_dataset(st, &prov, &in, NULL, NULL, &err) == PS_OK,
          "put %s: %s", pid, err.msg);
    json_decref(raw);
}

static uint64_t count(ps_index *idx, ps_xquery *q)
{
    ps_xsearch_opts o = PS_XSEARCH_OPTS_INIT;
    o.count = 0;
    o.check_at_least = UINT64_MAX;
    ps_xresult r;
    ps_err err = PS_ERR_INIT;
    uint64_t n = 0;
    if (ps_xdb_search(ps_index_xdb(idx), q, &o, &r, &err) == PS_OK) {
        n = r.matches_lower;
        ps_xresult_free(&r);
    } else {
        check(0, "search: %s", err.msg);
    }
    ps_xq_free(q);
    return n;
}

static uint64_t visible_datasets(ps_index *idx, int64_t now)
{
    ps_xquery *kids[2] = {ps_xq_term(PS_IDX_TERM_GROUP "dataset"),
                          ps_index_visible_query(now)};
    return count(idx, ps_xq_and(kids, 2));
}

/* ---- free text for the search endpoint ---------------------------------- */

static int64_t put_pub(ps_store *st, const char *pid, const char *title,
                       const char *summary, ps_visibility vis)
{
    json_t *raw = json_pack("{s:s, s:s}", "pid", pid, "title", title);
    ps_document_in in = {0};
    in.kind = PS_KIND_PUBLICATION;
    in.pid = pid;
    in.title = title;
    in.summary = summary;
    in.doi = pid;
    in.year = 2021;
    in.start_ms = in.end_ms = in.release_ms = PS_TIME_NONE;
    in.vis = vis;
    ps_prov prov = {src, pid, raw, 0, 0};
    ps_err err = PS_ERR_INIT;
    int64_t id = 0;
    check(ps_store_put_document(st, &prov, &in, NULL, &id, &err) == PS_OK,
          "put %s: %s", pid, err.msg);
    json_decref(raw);
    return id;
}

static void put_text(ps_store *st, int64_t id, const char *sha,
                     const char *text)
{
    ps_pub_text_in t = {0};
    t.sha256 = sha;
    t.full_text = text;
    ps_err err = PS_ERR_INIT;
    int changed = 0;
    check(ps_store_put_publication_text(st, id, &t, &changed, &err) == PS_OK &&
              changed,
          "text of %lld: %s", (long long)id, err.msg);
}

/* One search as the endpoint makes it: the words over what the public may
 * see now. Writes the data ("u:ID") of the hits, best first, into names,
 * and keeps the result (with its match set) in *res for snippets. */
static const char *find(ps_index *idx, const char *words, const char *prefix,
                        ps_xresult *res)
{
    static char names[256];
    ps_err err = PS_ERR_INIT;
    ps_xwords_opts wo = PS_XWORDS_OPTS_INIT;
    wo.prefix = prefix;
    wo.boost_prefix = PS_IDX_TEXT_TITLE;
    ps_xquery *w = ps_xq_words(ps_index_xdb(idx), words, &wo, &err);
    check(w != NULL, "parse '%s': %s", words, err.msg);
    ps_xquery *q = ps_xq_filter(w, ps_index_visible_query(ps_now_ms()));
    ps_xsearch_opts o = PS_XSEARCH_OPTS_INIT;
    o.count = 20;
    o.check_at_least = UINT64_MAX;
    o.snippets = 1;
    names[0] = '\0';
    memset(res, 0, sizeof *res);
    if (ps_xdb_search(ps_index_xdb(idx), q, &o, res, &err) != PS_OK) {
        check(0, "search '%s': %s", words, err.msg);
        ps_xq_free(q);
        return "(error)";
    }
    ps_xq_free(q);
    for (size_t i = 0; i < res->n; i++)
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                 i ? "," : "", res->hits[i].data);
    return names;
}

/* The snippet of text for res (a new string to free). */
static char *snip(ps_xresult *res, const char *text)
{
    ps_err err = PS_ERR_INIT;
    char *s = NULL;
    check(ps_xresult_snippet(res, text, strlen(text), NULL, &s, &err) == PS_OK,
          "snippet: %s", err.msg);
    return s ? s : ps_strdup("(error)");
}

static void test_search_text(void)
{
    ps_err err = PS_ERR_INIT;
    char *d = check_tmpdir("index-text");
    check_fatal(d != NULL, "temp dir");
    char tdir[256], tstore[300];
    snprintf(tdir, sizeof tdir, "%s", d);
    snprintf(tstore, sizeof tstore, "%s/store.db", tdir);
    ps_store_opts so = PS_STORE_OPTS_INIT;
    so.create = 1;
    ps_store *st = NULL;
    check_fatal(ps_store_open(&st, tstore, &so, &err) == PS_OK, "store");
    check_fatal(ps_index_create(tdir, ps_store_id(st), &err) == PS_OK,
                "create: %s", err.msg);
    ps_store_source_ensure(st, "s", "pan", NULL, &src, &err);

    static const char body1[] =
        "Introduction. The crystal was grown from the melt and measured on "
        "D22 during our beamtime. <script>alert(1)</script> & co.\n\f"
        "Acknowledgements. We thank the ILL for beamtime (proposal "
        "8-01-418).";
    int64_t u1 = put_pub(st, "10.1/u1", "Magnetic order in thin films",
                         "A study of magnetism in films.", PS_VIS_PUBLIC);
    int64_t u2 = put_pub(st, "10.1/u2", "Crystals of lysozyme",
                         "Protein crystallography.", PS_VIS_PUBLIC);
    int64_t u3 = put_pub(st, "10.1/u3", "Secret crystal structure",
                         "Not for the public.", PS_VIS_RESTRICTED);
    int64_t u4 = put_pub(st, "10.1/u4", "A paper without its PDF yet", NULL,
                         PS_VIS_PUBLIC);
    put_text(st, u1, "sha-1", body1);
    put_text(st, u2, "sha-2", "Nothing of note here about magnets.");
    put_text(st, u3, "sha-3", "Hidden crystals and a secret beamtime.");
    (void)u4;

    ps_index *idx = NULL;
    check_fatal(ps_index_open(&idx, tdir, 1, &err) == PS_OK, "open: %s",
                err.msg);
    ps_index_opts o = PS_INDEX_OPTS_INIT;
    ps_index_stats stats;
    check(ps_index_update(idx, st, &o, &stats, &err) == PS_OK, "update: %s",
          err.msg);
    char want[64];
    ps_xresult res;

    /* A word only in the body of u1's PDF, and its snippet. */
    snprintf(want, sizeof want, "u:%lld", (long long)u1);
    check_str(find(idx, "beamtime", "", &res), want);
    char *s = snip(&res, body1);
    check(strstr(s, "<mark>beamtime</mark>") != NULL, "marked: %s", s);
    ps_free(s);
    ps_xresult_free(&res);

    /* "crystals" finds "crystal" (the stem), and u2's title hit ranks
     * above u1's body hit; u3 is restricted. */
    snprintf(want, sizeof want, "u:%lld,u:%lld", (long long)u2, (long long)u1);
    check_str(find(idx, "crystals", "", &res), want);
    s = snip(&res, body1);
    check(strstr(s, "<mark>crystal</mark> was grown") != NULL,
          "the stem is marked: %s", s);
    ps_free(s);
    s = snip(&res, "Crystals of lysozyme");
    check_str(s, "<mark>Crystals</mark> of lysozyme");
    ps_free(s);
    s = snip(&res, "A study of magnetism in films.");
    check_str(s, "");
    ps_free(s);
    ps_xresult_free(&res);

    /* Titles alone (the S field). */
    snprintf(want, sizeof want, "u:%lld", (long long)u2);
    check_str(find(idx, "crystals", PS_IDX_TEXT_TITLE, &res), want);
    ps_xresult_free(&res);

    /* Phrases, exclusions, wildcards, OR. */
    snprintf(want, sizeof want, "u:%lld", (long long)u1);
    check_str(find(idx, "\"grown from the melt\"", "", &res), want);
    s = snip(&res, body1);
    check(strstr(s, "<mark>grown from the melt</mark>") != NULL,
          "the phrase is marked: %s", s);
    ps_free(s);
    ps_xresult_free(&res);
    check_str(find(idx, "\"melt the from grown\"", "", &res), "");
    ps_xresult_free(&res);
    check_str(find(idx, "crystals -lysozyme", "", &res), want);
    ps_xresult_free(&res);
    check_str(find(idx, "beamt*", "", &res), want);
    s = snip(&res, body1);
    check(strstr(s, "<mark>beamtime</mark>") != NULL, "wildcard marked: %s", s);
    ps_free(s);
    ps_xresult_free(&res);
    snprintf(want, sizeof want, "u:%lld,u:%lld", (long long)u1, (long long)u2);
    check_str(find(idx, "magnetism OR magnets", "", &res), want);
    ps_xresult_free(&res);

    /* HTML in the text comes out escaped. */
    snprintf(want, sizeof want, "u:%lld", (long long)u1);
    check_str(find(idx, "alert", "", &res), want);
    s = snip(&res, body1);
    check(
        strstr(s, "&lt;script&gt;<mark>alert</mark>(1)&lt;/script&gt; &amp;") !=
                NULL &&
            !strstr(s, "<script>"),
        "escaped: %s", s);
    ps_free(s);
    ps_xresult_free(&res);

    /* The restricted publication is indexed, but not found. */
    check_str(find(idx, "secret", "", &res), "");
    ps_xresult_free(&res);
    check(count(idx, ps_xq_words(ps_index_xdb(idx), "secret", NULL, &err)) == 1,
          "in the index all the same");

    /* New text is found after the next update, the old one is not. */
    check_str(find(idx, "zeolite", "", &res), "");
    ps_xresult_free(&res);
    put_text(st, u4, "sha-4", "Zeolites adsorb water.");
    put_text(st, u1, "sha-1b", "A new version of the paper.");
    check(ps_index_update(idx, st, &o, &stats, &err) == PS_OK &&
              stats.applied == 2,
          "update after new text: %s", err.msg);
    snprintf(want, sizeof want, "u:%lld", (long long)u4);
    check_str(find(idx, "zeolite", "", &res), want);
    ps_xresult_free(&res);
    check_str(find(idx, "beamtime", "", &res), "");
    ps_xresult_free(&res);

    /* Long texts: at most PS_IDX_TEXT_MAX bytes of one are indexed, and
     * an update commits part of a batch once it holds 8 MiB of text. */
    size_t big = PS_IDX_TEXT_MAX + (1u << 20);
    char *longtext = ps_malloc(big + 1);
    check_fatal(longtext != NULL, "memory");
    for (size_t i = 0; i < big; i++)
        longtext[i] = "lorem ipsum "[i % 12];
    memcpy(longtext, "zzfirst ", 8);
    memcpy(longtext + big - 8, " zzlast ", 8);
    longtext[big] = '\0';
    int64_t u5 = put_pub(st, "10.1/u5", "Long", NULL, PS_VIS_PUBLIC);
    int64_t u6 = put_pub(st, "10.1/u6", "Long too", NULL, PS_VIS_PUBLIC);
    put_text(st, u5, "sha-5", longtext);
    longtext[big / 4 * 3] = '\0'; /* 5 + 3.75 MiB: over 8 MiB */
    put_text(st, u6, "sha-6", longtext);
    ps_free(longtext);
    put_pub(st, "10.1/u7", "After the long ones", NULL, PS_VIS_PUBLIC);
    check(ps_index_update(idx, st, &o, &stats, &err) == PS_OK &&
              stats.applied == 3,
          "update with long texts: %s", err.msg);
    /* Both, the shorter text first. */
    snprintf(want, sizeof want, "u:%lld,u:%lld", (long long)u6, (long long)u5);
    check_str(find(idx, "zzfirst", "", &res), want);
    ps_xresult_free(&res);
    check_str(find(idx, "zzlast", "", &res), "");
    ps_xresult_free(&res);
    int64_t maxseq = 0, last = 0;
    ps_store_max_seq(st, &maxseq, &err);
    ps_index_last_seq(idx, &last, &err);
    check(last == maxseq, "at the store's last change");

    /* A rebuild indexes the same text. */
    snprintf(want, sizeof want, "u:%lld", (long long)u4);
    ps_store_close(st);
    o.workers = 2;
    check(ps_index_rebuild(idx, tstore, &o, &stats, &err) == PS_OK,
          "rebuild: %s", err.msg);
    check_str(find(idx, "zeolite", "", &res), want);
    ps_xresult_free(&res);
    ps_index_close(idx);
    check_rmtree(tdir);
}

int main(void)
{
    ps_err err = PS_ERR_INIT;
    char *d = check_tmpdir("index");
    check_fatal(d != NULL, "temp dir");
    snprintf(dir, sizeof dir, "%s", d);
    snprintf(store_path, sizeof store_path, "%s/store.db", dir);

    ps_index *idx = NULL;
    check(ps_index_open(&idx, dir, 0, &err) == PS_ERR_NOTFOUND, "no index yet");
    check(strstr(err.msg, "pansift init") != NULL, "says what to do: %s",
          err.msg);

    ps_store_opts so = PS_STORE_OPTS_INIT;
    so.create = 1;
    ps_store *st = NULL;
    check_fatal(ps_store_open(&st, store_path, &so, &err) == PS_OK, "store");
    check_fatal(ps_index_create(dir, ps_store_id(st), &err) == PS_OK,
                "create: %s", err.msg);
    check(ps_index_create(dir, ps_store_id(st), &err) == PS_OK,
          "create is idempotent");
    ps_store_source_ensure(st, "s", "pan", NULL, &src, &err);

    int64_t now = ps_now_ms();
    ps_store_begin(st, &err);
    for (int i = 0; i < 300; i++)
        put_dataset(st, i, PS_VIS_PUBLIC, 0);
    put_dataset(st, 300, PS_VIS_EMBARGOED, now + 3600000); /* future */
    put_dataset(st, 301, PS_VIS_EMBARGOED, now - 3600000); /* over */
    put_dataset(st, 302, PS_VIS_RESTRICTED, 0);
    ps_store_commit(st, &err);

    check_fatal(ps_index_open(&idx, dir, 1, &err) == PS_OK, "open writable: %s",
                err.msg);
    ps_index *other = NULL;
    check(ps_index_open(&other, dir, 1, &err) == PS_ERR_BUSY,
          "a second writer is refused");
    check(strstr(err.msg, "pid") != NULL && strstr(err.msg, "serve") != NULL,
          "message says who and what to do: %s", err.msg);

    /* An update cancelled after its first commit leaves a consistent index
     * that the next update completes. */
    volatile int cancel = 1;
    ps_index_opts o = PS_INDEX_OPTS_INIT;
    o.batch = 100;
    o.cancel = &cancel;
    ps_index_stats stats;
    check(ps_index_update(idx, st, &o, &stats, &err) == PS_ERR_CANCELLED,
          "cancelled update");
    int64_t last = 0;
    ps_index_last_seq(idx, &last, &err);
    check(last == 100 && ps_index_doccount(idx) == 100,
          "stopped after one batch: at %lld with %llu docs", (long long)last,
          (unsigned long long)ps_index_doccount(idx));
    cancel = 0;
    check(ps_index_update(idx, st, &o, &stats, &err) == PS_OK, "update: %s",
          err.msg);
    int64_t maxseq = 0;
    ps_store_max_seq(st, &maxseq, &err);
    ps_index_last_seq(idx, &last, &err);
    check(last == maxseq, "index at the store's last change");
    check(ps_index_doccount(idx) == 303, "every record once: %llu",
          (unsigned long long)ps_index_doccount(idx));
    check(visible_datasets(idx, now) == 301, "public + expired embargo: %llu",
          (unsigned long long)visible_datasets(idx, now));
    check(visible_datasets(idx, now + 7200000) == 302,
          "the embargo ends without reindexing");
    int64_t fast = 0;
    check(ps_index_count_visible(idx, "dataset", now, &fast, &err) == PS_OK &&
              fast == 301,
          "O(1) count agrees with the visibility query: %lld", (long long)fast);
    check(ps_index_count_visible(idx, "dataset", now + 7200000, &fast, &err) ==
                  PS_OK &&
              fast == 302,
          "O(1) count follows the embargo's end");
    check(count(idx, ps_xq_term("XI:ins/odd")) == 151, "instrument term");
    char term[300];
    check(count(idx, ps_xq_term(
                         ps_xterm_make("XP:ds/0042", term, sizeof term))) == 1,
          "pid term");

    /* A changed and a deleted record. */
    put_dataset(st, 7, PS_VIS_RESTRICTED, 0);
    int deleted = 0;
    ps_store_delete(st, src, PS_KIND_DATASET, "ds/0008", &deleted, &err);
    check(deleted == 1, "tombstone written");
    o.cancel = NULL;
    check(ps_index_update(idx, st, &o, &stats, &err) == PS_OK, "update 2");
    check(stats.applied == 2 && stats.deleted == 1,
          "2 changes, 1 deletion: "
          "%lld/%lld",
          (long long)stats.applied, (long long)stats.deleted);
    check(ps_index_doccount(idx) == 302, "deleted record gone");
    check(visible_datasets(idx, now) == 299, "restricted record hidden");
    check(ps_index_update(idx, st, &o, &stats, &err) == PS_OK &&
              stats.applied == 0,
          "nothing to do");

    /* A reader, then a rebuild in parallel shards: same contents, new
     * generation, the reader follows the swap. */
    ps_index *reader = NULL;
    check_fatal(ps_index_open(&reader, dir, 0, &err) == PS_OK, "reader");
    char before[128];
    char link[300];
    snprintf(link, sizeof link, "%s/index", dir);
    ssize_t n = readlink(link, before, sizeof before - 1);
    before[n > 0 ? n : 0] = '\0';
    o.workers = 3;
    ps_store_close(st);
    check(ps_index_rebuild(idx, store_path, &o, &stats, &err) == PS_OK,
          "rebuild: %s", err.msg);
    char after[128];
    n = readlink(link, after, sizeof after - 1);
    after[n > 0 ? n : 0] = '\0';
    check(strcmp(before, after) != 0, "new generation %s -> %s", before, after);
    check(ps_index_doccount(idx) == 302, "rebuild has every live record: %llu",
          (unsigned long long)ps_index_doccount(idx));
    check(visible_datasets(idx, now) == 299, "same visibility after rebuild");
    ps_index_last_seq(idx, &last, &err);
    check(last == maxseq + 2, "rebuild records the sequence number");
    int changed = 0;
    check(ps_index_refresh(reader, &changed, &err) == PS_OK && changed,
          "reader follows the swap");
    check(ps_index_doccount(reader) == 302, "reader sees the new generation");
    ps_index_close(reader);

    /* A second rebuild keeps one previous generation, prunes the rest. */
    check(ps_index_rebuild(idx, store_path, &o, &stats, &err) == PS_OK,
          "rebuild 2");
    /* After a rebuild, updates and deletions still find their documents
     * (no duplicate, nothing left behind). */
    check_fatal(ps_store_open(&st, store_path, &so, &err) == PS_OK, "store");
    put_dataset(st, 11, PS_VIS_PUBLIC, 0);
    json_t *raw11 = json_pack("{s:s}", "pid", "ds/0011");
    ps_dataset_in in11 = {0};
    in11.pid = "ds/0011";
    in11.title = "Retitled after the rebuild";
    in11.created_ms = PS_TIME_NONE;
    in11.size = -1;
    ps_prov prov11 = {src, "ds/0011", raw11, 0, 0};
    check(ps_store_put_dataset(st, &prov11, &in11, NULL, NULL, &err) == PS_OK,
          "change a rebuilt record");
    json_decref(raw11);
    ps_store_delete(st, src, PS_KIND_DATASET, "ds/0012", &deleted, &err);
    o.workers = 0;
    check(ps_index_update(idx, st, &o, &stats, &err) == PS_OK,
          "update after rebuild: %s", err.msg);
    check(ps_index_doccount(idx) == 301,
          "a changed record replaces its rebuilt document, a deleted one "
          "removes it: %llu",
          (unsigned long long)ps_index_doccount(idx));
    ps_store_close(st);

    char genpath[400];
    snprintf(genpath, sizeof genpath, "%s/%s", dir, before);
    check(access(genpath, F_OK) != 0, "oldest generation removed");
    snprintf(genpath, sizeof genpath, "%s/%s", dir, after);
    check(access(genpath, F_OK) == 0, "previous generation kept for readers");
    ps_index_close(idx);

    /* A link pointing somewhere else is refused with advice. */
    unlink(link);
    if (symlink("/etc", link) == 0) {
        check(ps_index_open(&idx, dir, 0, &err) == PS_ERR_CORRUPT,
              "foreign link refused");
        check(strstr(err.msg, "--rebuild") != NULL, "%s", err.msg);
    }
    ps_index_close(NULL);

    /* Whatever the state of the index, a rebuild makes a generation with a
     * number never used, and the index is tied to its store. */
    char newest[128];
    check(ps_index_open_rebuilt(&idx, dir, store_path, &o, &stats, &err) ==
              PS_OK,
          "rebuild over a broken link: %s", err.msg);
    n = readlink(link, newest, sizeof newest - 1);
    newest[n > 0 ? n : 0] = '\0';
    check(strcmp(newest, after) > 0 && strlen(newest) >= strlen(after),
          "fresh generation %s after %s", newest, after);
    check(ps_index_doccount(idx) == 301, "rebuilt from the store: %llu",
          (unsigned long long)ps_index_doccount(idx));
    char other_path[400];
    snprintf(other_path, sizeof other_path, "%s/other.db", dir);
    ps_store *st2 = NULL;
    check_fatal(ps_store_open(&st2, other_path, &so, &err) == PS_OK,
                "other store");
    check(strcmp(ps_store_id(st2), "") != 0 && strlen(ps_store_id(st2)) == 32,
          "a store has a 32-digit id: %s", ps_store_id(st2));
    check(ps_index_check_store(idx, st2, &err) == PS_ERR_CORRUPT &&
              strstr(err.msg, "another store") && strstr(err.msg, "--rebuild"),
          "an index refuses another store: %s", err.msg);
    check(ps_index_update(idx, st2, &o, &stats, &err) == PS_ERR_CORRUPT,
          "an update from another store is refused");
    check(ps_index_doccount(idx) == 301, "and changes nothing");
    ps_store_close(st2);
    ps_index_close(idx);
    check_rmtree(dir);
    test_search_text();
    return check_report();
}
