/*
 * test_collection.c: unit tests of the store's collections (store.h,
 * "collections"): creating with name and description checks and the
 * ceiling on their number, listing and reading with counts and items,
 * adding (unknown and hidden records, duplicates, notes, the per-call and
 * per-collection ceilings), removing, the member walk the search uses,
 * deleted and restricted records left out of reads, and deleting.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "check.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char dir[256];
static int64_t src, run_id;

static void add_doc(ps_store *st, ps_kind kind, const char *pid,
                    ps_visibility vis)
{
    ps_document_in d = {0};
    d.kind = kind;
    d.pid = pid;
    d.title = pid;
    d.type = kind == PS_KIND_PUBLICATION ? "article" : "proposal";
    d.start_ms = d.end_ms = d.release_ms = PS_TIME_NONE;
    d.vis = vis;
    json_t *raw = json_pack("{s:s}", "pid", pid);
    ps_prov prov = {src, pid, raw, 0, run_id, NULL, 0};
    ps_err err = PS_ERR_INIT;
    check(ps_store_put_document(st, &prov, &d, NULL, NULL, &err) == PS_OK,
          "document %s: %s", pid, err.msg);
    json_decref(raw);
}

static void add_dataset(ps_store *st, const char *pid)
{
    ps_dataset_in d = {0};
    d.pid = pid;
    d.title = "A dataset";
    d.created_ms = PS_TIME_NONE;
    d.size = -1;
    json_t *raw = json_pack("{s:s}", "pid", pid);
    ps_prov prov = {src, pid, raw, 0, run_id, NULL, 0};
    ps_err err = PS_ERR_INIT;
    check(ps_store_put_dataset(st, &prov, &d, NULL, NULL, &err) == PS_OK,
          "dataset %s: %s", pid, err.msg);
    json_decref(raw);
}

struct walk {
    char seen[512];
    int n, stop_after;
};

static int on_member(void *payload, ps_kind kind, int64_t id, const char *pid)
{
    struct walk *w = payload;
    size_t len = strlen(w->seen);
    snprintf(w->seen + len, sizeof w->seen - len, "%s%s:%s", len ? " " : "",
             ps_kind_name(kind), pid);
    (void)id;
    w->n++;
    return w->stop_after && w->n >= w->stop_after;
}

static const char *pid_of(json_t *o)
{
    return json_string_value(json_object_get(o, "pid"));
}

/* The item of g with this pid, or NULL. */
static json_t *item_of(json_t *g, const char *pid)
{
    size_t i;
    json_t *it;
    json_array_foreach (json_object_get(g, "items"), i, it)
        if (strcmp(pid_of(it), pid) == 0)
            return it;
    return NULL;
}

static int64_t count_of(json_t *o)
{
    return json_integer_value(json_object_get(o, "count"));
}

static void test_collections(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/c.db", dir);
    ps_store_opts o = PS_STORE_OPTS_INIT;
    o.create = 1;
    ps_store *st = NULL;
    ps_err err = PS_ERR_INIT;
    check_fatal(ps_store_open(&st, path, &o, &err) == PS_OK, "open: %s",
                err.msg);
    check(ps_store_source_ensure(st, "t", "pan", "file:///t", &src, &err) ==
              PS_OK,
          "source");
    check(ps_store_run_begin(st, src, &run_id, &err) == PS_OK, "run");
    add_doc(st, PS_KIND_PUBLICATION, "pub/1", PS_VIS_PUBLIC);
    add_doc(st, PS_KIND_PUBLICATION, "pub/2", PS_VIS_PUBLIC);
    add_doc(st, PS_KIND_PROPOSAL, "prop/1", PS_VIS_PUBLIC);
    add_doc(st, PS_KIND_PROPOSAL, "prop/secret", PS_VIS_RESTRICTED);
    add_dataset(st, "ds/1");

    /* Creating: names and descriptions are checked. */
    json_t *c = NULL;
    check(ps_store_collection_create(st, &c, "", NULL, &err) ==
                  PS_ERR_INVALID &&
              !c,
          "empty name");
    check(ps_store_collection_create(st, &c, NULL, NULL, &err) ==
              PS_ERR_INVALID,
          "no name");
    check(ps_store_collection_create(st, &c, "   ", NULL, &err) ==
              PS_ERR_INVALID,
          "blank name");
    check(ps_store_collection_create(st, &c, "a\tb", NULL, &err) ==
              PS_ERR_INVALID,
          "control character in a name");
    check(ps_store_collection_create(st, &c, "caf\xe9", NULL, &err) ==
              PS_ERR_INVALID,
          "name not UTF-8");
    char big[4100];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    big[PS_COLLECTION_NAME_MAX + 1] = '\0';
    check(ps_store_collection_create(st, &c, big, NULL, &err) == PS_ERR_INVALID,
          "name of 201 bytes");
    check(strstr(err.msg, "at most 200 bytes") != NULL, "message: %s", err.msg);
    big[PS_COLLECTION_NAME_MAX] = '\0';
    check(ps_store_collection_create(st, &c, big, NULL, &err) == PS_OK,
          "name of 200 bytes: %s", err.msg);
    check(ps_store_collection_delete(st, pid_of(c), &err) == PS_OK,
          "delete it");
    json_decref(c);
    memset(big, 'x', sizeof big - 1);
    big[PS_COLLECTION_DESC_MAX + 1] = '\0';
    check(ps_store_collection_create(st, &c, "n", big, &err) == PS_ERR_INVALID,
          "description of 4001 bytes");
    check(ps_store_collection_create(st, &c, "n", "a\001", &err) ==
              PS_ERR_INVALID,
          "control character in a description");

    check(ps_store_collection_create(st, &c, "Spin ice papers",
                                     "For the\nreport", &err) == PS_OK,
          "create: %s", err.msg);
    const char *pid = pid_of(c);
    check(pid && strncmp(pid, "c-", 2) == 0 && strlen(pid) == 14 &&
              strspn(pid + 2, "0123456789abcdef") == 12,
          "url-safe generated pid: %s", pid ? pid : "(null)");
    check(count_of(c) == 0, "empty");
    check_str(json_string_value(json_object_get(c, "description")),
              "For the\nreport");
    check(json_is_string(json_object_get(c, "created_at")), "created_at");
    char cpid[32];
    snprintf(cpid, sizeof cpid, "%s", pid);
    json_decref(c);

    /* Adding: unknown, hidden, duplicate; notes. */
    ps_collection_item items[] = {
        {PS_KIND_PUBLICATION, "pub/1", "key paper"},
        {PS_KIND_PROPOSAL, "prop/1", NULL},
        {PS_KIND_DATASET, "ds/1", NULL},
        {PS_KIND_PUBLICATION, "pub/1", NULL},    /* twice */
        {PS_KIND_PROPOSAL, "pub/2", NULL},       /* wrong type */
        {PS_KIND_PUBLICATION, "nope", NULL},     /* no such record */
        {PS_KIND_PROPOSAL, "prop/secret", NULL}, /* restricted */
    };
    size_t n = sizeof items / sizeof items[0];
    unsigned char unknown[7];
    ps_collection_counts k;
    int64_t now = ps_now_ms();
    check(ps_store_collection_add(st, &k, cpid, items, n, now, unknown, &err) ==
              PS_OK,
          "add: %s", err.msg);
    check(k.done == 3 && k.already == 1 && k.unknown == 3,
          "added %lld, already %lld, unknown %lld", (long long)k.done,
          (long long)k.already, (long long)k.unknown);
    check(!unknown[0] && !unknown[3] && unknown[4] && unknown[5] && unknown[6],
          "unknown flags");
    check(ps_store_collection_add(st, &k, cpid, items, n, now, NULL, &err) ==
              PS_OK,
          "add again");
    check(k.done == 0 && k.already == 4 && k.unknown == 3, "all there already");
    /* Without a time, restricted records can be collected (the CLI's
     * view); the reads with a time leave them out. */
    check(ps_store_collection_add(st, &k, cpid, items + 6, 1, 0, NULL, &err) ==
                  PS_OK &&
              k.done == 1,
          "add restricted without now");
    check(ps_store_collection_add(st, &k, "c-none", items, 1, now, NULL,
                                  &err) == PS_ERR_NOTFOUND,
          "add to an unknown collection");
    ps_collection_item bad = {PS_KIND_PERSON, "x", NULL};
    check(ps_store_collection_add(st, &k, cpid, &bad, 1, now, NULL, &err) ==
              PS_ERR_INVALID,
          "a person is not collectable");
    ps_collection_item nopid = {PS_KIND_DATASET, NULL, NULL};
    check(ps_store_collection_add(st, &k, cpid, &nopid, 1, now, NULL, &err) ==
              PS_ERR_INVALID,
          "an item needs a pid");
    ps_collection_item longnote = {PS_KIND_DATASET, "ds/1", big};
    big[PS_COLLECTION_NOTE_MAX + 1] = '\0';
    check(ps_store_collection_add(st, &k, cpid, &longnote, 1, now, NULL,
                                  &err) == PS_ERR_INVALID,
          "a note of 1001 bytes");
    ps_collection_item *many =
        calloc(PS_COLLECTION_BATCH_MAX + 1, sizeof *many);
    check_fatal(many != NULL, "calloc");
    for (size_t i = 0; i <= PS_COLLECTION_BATCH_MAX; i++) {
        many[i].kind = PS_KIND_DATASET;
        many[i].pid = "ds/none";
    }
    check(ps_store_collection_add(st, &k, cpid, many,
                                  PS_COLLECTION_BATCH_MAX + 1, now, NULL,
                                  &err) == PS_ERR_INVALID,
          "10,001 items at once");
    check(ps_store_collection_add(st, &k, cpid, many, PS_COLLECTION_BATCH_MAX,
                                  now, NULL, &err) == PS_OK &&
              k.unknown == PS_COLLECTION_BATCH_MAX,
          "10,000 unknown items at once: %s", err.msg);
    free(many);

    /* Reading: the restricted one is left out with a time. */
    json_t *g = NULL;
    check(ps_store_collection_get(st, &g, cpid, now, 100, 0, &err) == PS_OK,
          "get: %s", err.msg);
    check(count_of(g) == 3, "count %lld", (long long)count_of(g));
    json_t *its = json_object_get(g, "items");
    check(json_array_size(its) == 3, "3 items");
    /* Added together: by type (proposal, dataset, publication), then pid. */
    check_str(pid_of(json_array_get(its, 0)), "prop/1");
    check_str(pid_of(json_array_get(its, 1)), "ds/1");
    json_t *first = json_array_get(its, 2);
    check_str(json_string_value(json_object_get(first, "type")), "publication");
    check_str(pid_of(first), "pub/1");
    check_str(json_string_value(json_object_get(first, "title")), "pub/1");
    check_str(json_string_value(json_object_get(first, "note")), "key paper");
    check(json_is_string(json_object_get(first, "added_at")), "added_at");
    json_decref(g);
    check(ps_store_collection_get(st, &g, cpid, 0, 100, 0, &err) == PS_OK &&
              count_of(g) == 4,
          "without a time: 4");
    json_decref(g);
    check(ps_store_collection_get(st, &g, cpid, now, 1, 1, &err) == PS_OK &&
              json_array_size(json_object_get(g, "items")) == 1 &&
              count_of(g) == 3,
          "a page of items");
    check_str(pid_of(json_array_get(json_object_get(g, "items"), 0)), "ds/1");
    json_decref(g);
    check(ps_store_collection_get(st, &g, cpid, now, 0, 0, &err) == PS_OK &&
              !json_object_get(g, "items"),
          "no items with limit 0");
    json_decref(g);
    check(ps_store_collection_get(st, &g, "c-none", now, 1, 0, &err) ==
                  PS_ERR_NOTFOUND &&
              !g,
          "get unknown");
    check(ps_store_collection_get(st, &g, cpid, now, -1, 0, &err) ==
              PS_ERR_INVALID,
          "negative limit");
    /* A note given again replaces the old one. */
    ps_collection_item renote = {PS_KIND_PUBLICATION, "pub/1", "reread"};
    check(ps_store_collection_add(st, &k, cpid, &renote, 1, now, NULL, &err) ==
                  PS_OK &&
              k.already == 1,
          "renote");
    check(ps_store_collection_get(st, &g, cpid, now, 10, 0, &err) == PS_OK,
          "get");
    check_str(json_string_value(json_object_get(item_of(g, "pub/1"), "note")),
              "reread");
    json_decref(g);

    /* The member walk: every live member, by kind then pid. */
    struct walk w = {"", 0, 0};
    check(ps_store_collection_members(st, cpid, on_member, &w, &err) == PS_OK,
          "members: %s", err.msg);
    check_str(w.seen, "proposal:prop/1 proposal:prop/secret dataset:ds/1 "
                      "publication:pub/1");
    struct walk w1 = {"", 0, 1};
    check(ps_store_collection_members(st, cpid, on_member, &w1, &err) ==
                  PS_OK &&
              w1.n == 1,
          "the walk stops when asked");
    check(ps_store_collection_members(st, "c-none", on_member, &w, &err) ==
              PS_ERR_NOTFOUND,
          "members of an unknown collection");
    check(ps_store_collection_members(st, cpid, NULL, &w, &err) ==
              PS_ERR_INVALID,
          "no callback");

    /* A second collection; the list, most recently changed first. */
    json_t *c2 = NULL;
    check(ps_store_collection_create(st, &c2, "Other", NULL, &err) == PS_OK,
          "create 2");
    check(json_is_null(json_object_get(c2, "description")),
          "no description: null");
    json_t *list = NULL;
    check(ps_store_collection_list(st, &list, now, &err) == PS_OK, "list");
    check(json_array_size(list) == 2, "two collections");
    check_str(pid_of(json_array_get(list, 0)), pid_of(c2));
    check(count_of(json_array_get(list, 1)) == 3, "count in the list");
    json_decref(list);

    /* Removing. */
    ps_collection_item rm[] = {
        {PS_KIND_DATASET, "ds/1", NULL},
        {PS_KIND_DATASET, "ds/1", NULL},
        {PS_KIND_PUBLICATION, "pub/2", NULL},
        {PS_KIND_PUBLICATION, "nope", NULL},
        {PS_KIND_PROPOSAL, "prop/secret", NULL},
    };
    unsigned char unk[5];
    check(ps_store_collection_remove(st, &k, cpid, rm, 5, now, unk, &err) ==
              PS_OK,
          "remove: %s", err.msg);
    check(k.done == 2 && k.already == 2 && k.unknown == 1,
          "removed %lld, absent %lld, unknown %lld", (long long)k.done,
          (long long)k.already, (long long)k.unknown);
    check(unk[3] && !unk[4], "unknown flags");
    check(ps_store_collection_remove(st, &k, cpid, rm + 4, 1, now, unk, &err) ==
                  PS_OK &&
              k.unknown == 1,
          "a hidden non-member is unknown");

    /* A deleted record leaves the reads, not the collection. */
    ps_err e2 = PS_ERR_INIT;
    int64_t pub1 = 0;
    check(ps_store_find_pid(st, PS_KIND_PUBLICATION, "pub/1", &pub1, &e2) ==
              PS_OK,
          "find pub/1");
    int gone = 0;
    check(ps_store_delete(st, src, PS_KIND_PUBLICATION, "pub/1", &gone, &e2) ==
                  PS_OK &&
              gone,
          "delete pub/1: %s", e2.msg);
    check(ps_store_collection_get(st, &g, cpid, now, 10, 0, &err) == PS_OK &&
              count_of(g) == 1,
          "deleted record left out: %lld", (long long)count_of(g));
    json_decref(g);

    /* Deleting. */
    check(ps_store_collection_delete(st, cpid, &err) == PS_OK, "delete");
    check(ps_store_collection_delete(st, cpid, &err) == PS_ERR_NOTFOUND,
          "delete twice");
    check(ps_store_collection_get(st, &g, cpid, now, 1, 0, &err) ==
              PS_ERR_NOTFOUND,
          "gone");
    json_decref(c2);
    ps_store_close(st);
}

/* The ceiling on the number of collections. */
static void test_ceiling(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/many.db", dir);
    ps_store_opts o = PS_STORE_OPTS_INIT;
    o.create = 1;
    ps_store *st = NULL;
    ps_err err = PS_ERR_INIT;
    check_fatal(ps_store_open(&st, path, &o, &err) == PS_OK, "open: %s",
                err.msg);
    check(ps_store_begin(st, &err) == PS_OK, "begin");
    int ok = 1;
    for (int i = 0; i < PS_COLLECTIONS_MAX && ok; i++) {
        json_t *c = NULL;
        ok = ps_store_collection_create(st, &c, "n", NULL, &err) == PS_OK;
        json_decref(c);
    }
    check(ok, "1000 collections: %s", err.msg);
    json_t *c = NULL;
    check(ps_store_collection_create(st, &c, "n", NULL, &err) ==
                  PS_ERR_TOOBIG &&
              !c,
          "the 1001st");
    check(strstr(err.msg, "delete one first") != NULL, "message: %s", err.msg);
    check(ps_store_commit(st, &err) == PS_OK, "commit");
    ps_store_close(st);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/ps-coll-XXXXXX", tmp ? tmp : "/tmp");
    check_fatal(mkdtemp(dir) != NULL, "temp dir");
    test_collections();
    test_ceiling();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return check_report();
}
