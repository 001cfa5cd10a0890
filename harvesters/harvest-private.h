/*
 * harvest-private.h: what the harvest driver (harvest.c) and the source
 * implementations (pan.c, ...) share: the run context with its batching of
 * store writes, counting and rejection bookkeeping, and the entry point of
 * each source type. Not part of the public API (harvest.h is).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef PS_HARVEST_PRIVATE_H
#define PS_HARVEST_PRIVATE_H

#include "harvest.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

typedef struct psi_run {
    ps_store *st;
    const ps_harvest_source *src;
    const ps_harvest_opts *opts;
    int64_t source_id;
    int64_t run_id;
    ps_run_counts counts;  /* committed so far */
    ps_run_counts pending; /* in the open transaction */
    size_t in_batch;       /* records written in the open transaction */
    int complete;          /* the source listed everything it has */
    int incomplete;        /* it listed fewer records than it counts */
    char rejects[384];     /* the first reasons for rejected records */
    char notes[256];       /* other things the run's message must say */
    ps_http *http;
    const char *phase;
    int64_t phase_done, phase_total;
    int64_t started_ms;    /* wall clock at the start of the run */
    int64_t last_fetch_ns; /* when the last request started (rate limit) */
    long min_interval_ms;  /* between request starts: the rate limit, and
                              what X-Rate-Limit-* headers announced */
    int txn;               /* a write transaction is open */
    int64_t requests;      /* requests made in this run */
    int64_t bytes;         /* response bytes received in this run */
} psi_run;

/* Called by sources after each record: counts the put result and commits
 * the transaction every opts->batch records. */
ps_status psi_run_record(psi_run *run, ps_put_result result, ps_err *err);
/* A record that could not be used: counted, the reason kept (the first
 * few), and the stored version of (kind, remote_id) kept alive (kind
 * PS_KIND_NONE when the record's kind is not known: any kind). */
ps_status psi_run_reject(psi_run *run, ps_kind kind, const char *remote_id,
                         const char *reason, ps_err *err);
/* Commit the open transaction (end of a page) and report progress. */
ps_status psi_run_flush(psi_run *run, ps_err *err);
/* Before the source waits (on its workers): commit the open transaction
 * and report progress, so other sources can write meanwhile; resume opens
 * a new one before the next write. */
ps_status psi_run_idle(psi_run *run, ps_err *err);
ps_status psi_run_resume(psi_run *run, ps_err *err);
/* Add a note to the run's message (e.g. why nothing was deleted). */
void psi_run_note(psi_run *run, const char *note);
/* Has the caller asked to stop? */
int psi_run_cancelled(const psi_run *run);
/* Pause delay_ms between requests (returns non-zero if cancelled). */
int psi_run_pause(psi_run *run);

/* ---- the shared helpers of every source type ------------------------- */

/* The value of the source's type option key, or NULL when not set. */
const char *psi_opt(const psi_run *run, const char *key);
/* A whole-number option: *out gets it, or dflt when not set. A value that
 * is not a number in [lo, hi] is PS_ERR_INVALID naming the option. */
ps_status psi_opt_long(const psi_run *run, const char *key, long dflt, long lo,
                       long hi, long *out, ps_err *err);

/* GET (or, with post non-NULL, POST) url, politely: waits for the source's
 * rate limit (requests_per_minute, delay_ms, and what the source announced
 * in X-Rate-Limit-Limit / X-Rate-Limit-Interval), retries transient
 * failures with backoff and jitter (ps_http), counts the request and its
 * bytes. Errors name the source. resp is to be freed with
 * ps_http_response_free in every case. */
ps_status psi_run_fetch(psi_run *run, const char *url, const ps_http_body *post,
                        ps_http_response *resp, ps_err *err);

/* Checkpoints: the resume state of a source (a resumption token, a cursor,
 * the date of the last complete harvest), kept in the store. get:
 * *value_out is NULL when unset, else freed with ps_free. set writes the
 * value (NULL clears it) in the open transaction and commits that
 * transaction, so the checkpoint and the records of the page it follows
 * are stored together or not at all: a run killed at any moment resumes
 * from the last page it committed. */
ps_status psi_state_get(psi_run *run, const char *key, char **value_out,
                        ps_err *err);
ps_status psi_run_checkpoint(psi_run *run, const char *key, const char *value,
                             ps_err *err);
/* The same for several keys at once (keys[i] = values[i], n pairs). */
ps_status psi_run_checkpoint_n(psi_run *run, const char *const *keys,
                               const char *const *values, size_t n,
                               ps_err *err);

/* The source says (kind, remote_id) was deleted: its provenance goes and,
 * when no other source has the record, it becomes a tombstone (counted as
 * deleted). Unknown records are fine. */
ps_status psi_run_delete(psi_run *run, ps_kind kind, const char *remote_id,
                         ps_err *err);
/* The same when the source does not say what kind of record it deletes
 * (an OAI header): each of kinds[0..n) is tried; one deletion counted. */
ps_status psi_run_delete_any(psi_run *run, const ps_kind *kinds, size_t n,
                             const char *remote_id, ps_err *err);

/* A harvested typed link from the record (src_kind, src_id) to the record
 * with pid dst_pid (resolved when that record arrives). */
ps_status psi_run_link(psi_run *run, const char *type, ps_kind src_kind,
                       int64_t src_id, ps_kind dst_kind, const char *dst_pid,
                       ps_err *err);

/* The PDFs of a harvested publication pub_id: every URL of urls[0..n)
 * that looks like a PDF (its media type, when the source gives one, is
 * application/pdf; else the path ends in .pdf) is kept for a pdf source
 * with `publications = yes` to fetch. types may be NULL. */
ps_status psi_run_pdf_links(psi_run *run, int64_t pub_id,
                            const char *const *urls, const char *const *types,
                            size_t n, ps_err *err);

/* ISO 8601 UTC of ms since the epoch: "2024-05-01T12:00:00Z" (day_only:
 * "2024-05-01"); buf holds at least 32 bytes. */
void psi_iso_time(int64_t ms, int day_only, char *buf, size_t size);

/* ---- mapping helpers ----------------------------------------------------
 * Strings made while mapping one record (dates as text, ids printed from
 * numbers...), kept until the record is stored and freed together. keep
 * takes ownership of s; a NULL s (allocation failed) sets nomem. */
typedef struct psi_strs {
    char **s;
    size_t n, cap;
    int nomem;
} psi_strs;
const char *psi_strs_keep(psi_strs *b, char *s);
void psi_strs_free(psi_strs *b);
/* A JSON member that is a non-empty string, else NULL. */
const char *psi_json_nonempty(const json_t *o, const char *key);
/* A non-empty string member, or an integer member as text (ids are
 * numbers in some sources); NULL otherwise. */
const char *psi_json_str_or_num(const json_t *o, const char *key, psi_strs *b);

/* The pids of the datasets the store links to the proposal pid (a JSON
 * array of {id, pid}; *out NULL when the proposal is not stored yet), for
 * sources that name the proposal on the dataset (SciCat, ICAT): rewriting
 * the proposal with them keeps the links its datasets made. */
ps_status psi_proposal_datasets(psi_run *run, const char *pid, json_t **out,
                                ps_err *err);
/* A date member in ms, PS_TIME_NONE when absent; one that is not a date
 * is noted in the run's message (naming the record id) and absent. */
int64_t psi_json_date(psi_run *run, const json_t *o, const char *key,
                      const char *id);
/* A DOI as "10.x/y": s without a resolver or scheme prefix (https://doi.org/,
 * dx.doi.org, doi:, info:doi/, urn:doi:, in any case) and leading blanks;
 * NULL when what is left is not a DOI. Points into s. */
const char *psi_doi_bare(const char *s);

/* ---- XML (xml.c) ----------------------------------------------------------
 * Parse an XML body (network and entity expansion off): PS_ERR_PARSE with
 * the first error and `what` (the URL) when it is not well-formed. Free
 * with xmlFreeDoc. Elements are matched by local name in any letter case,
 * whatever their namespace. */
ps_status psi_xml_parse(const char *body, size_t len, const char *what,
                        xmlDoc **out, ps_err *err);
int psi_xml_is(const xmlNode *n, const char *local);
/* n itself or its first following sibling element called local (NULL:
 * any element). */
xmlNode *psi_xml_next(xmlNode *n, const char *local);
/* The first child element of parent called local. */
xmlNode *psi_xml_child(xmlNode *parent, const char *local);
/* Down a path of child names: {"metadata", "resource", NULL}. */
xmlNode *psi_xml_path(xmlNode *n, const char *const *locals);
/* Trimmed text content (NULL when empty) and attribute values (NULL when
 * absent), freed with ps_free. */
char *psi_xml_text(const xmlNode *n);
char *psi_xml_attr(const xmlNode *n, const char *name);
/* The element and its content as XML text (ps_free), e.g. to keep a
 * record as received; *len_out gets its length. */
char *psi_xml_serialise(xmlNode *n, size_t *len_out);

/* ---- DataCite (datacite-map.c): the crosswalk of the datacite and oai-pmh
 * sources. xml_to_json: a DataCite XML <resource> (kernel 2.2, 3, 4; or a
 * wrapper holding one) as the REST API's `attributes` object (new
 * reference in *attrs_out). put: map attributes into the store (pid = the
 * DOI; remote_id NULL: the DOI), links included; it calls psi_run_record,
 * or psi_run_reject for a record without DOI or title. raw/raw_len: the
 * record's bytes as received (NULL: attrs is kept). kind: the entity the
 * attributes become (dataset, publication or instrument). */
ps_status psi_datacite_xml_to_json(xmlNode *resource, json_t **attrs_out,
                                   ps_err *err);
ps_status psi_datacite_put(psi_run *run, const char *remote_id,
                           const json_t *attrs, const char *raw, size_t raw_len,
                           ps_err *err);
ps_kind psi_datacite_kind(const json_t *attrs);

/* Source types. Each fetches everything, writing through psi_run_*; it sets
 * run->complete when the source listed all of its records. */
ps_status psi_harvest_pan(psi_run *run, ps_err *err);
ps_status psi_harvest_datacite(psi_run *run, ps_err *err);
extern const ps_harvest_option psi_datacite_options[]; /* datacite.c */
ps_status psi_harvest_scicat(psi_run *run, ps_err *err);
ps_status psi_harvest_icat(psi_run *run, ps_err *err);
extern const ps_harvest_option psi_scicat_options[], psi_icat_options[];
ps_status psi_harvest_crossref(psi_run *run, ps_err *err);
extern const ps_harvest_option psi_crossref_options[]; /* crossref.c */
ps_status psi_harvest_oai(psi_run *run, ps_err *err);
extern const ps_harvest_option psi_oai_options[]; /* oai.c */
/* invenio.c: InvenioRDM / Zenodo / Invenio v3 and the Materials Cloud
 * Archive, with their option tables. */
ps_status psi_harvest_invenio(psi_run *run, ps_err *err);
ps_status psi_harvest_materialscloud(psi_run *run, ps_err *err);
extern const ps_harvest_option psi_invenio_options[];
extern const ps_harvest_option psi_materialscloud_options[];
/* pdf-source.c: publication PDFs from a folder, a list of URLs, or the PDF
 * links of harvested publications. */
ps_status psi_harvest_pdf(psi_run *run, ps_err *err);
extern const ps_harvest_option psi_pdf_options[];

#endif /* PS_HARVEST_PRIVATE_H */
