/*
 * export.h: the export formatters of a search's result set (private to the
 * query server; /api/search?format= uses them): CSV (RFC 4180, one header
 * row, cells that a spreadsheet would run as a formula defused), BibTeX,
 * RIS and JSON. Each works on the result objects of /api/search ("hits":
 * type, pid, title, doi, year, code, status, journal, authors, institutions,
 * instruments, keywords, citations, abstract or summary, json), one at a
 * time, so that a large export is written as it is read: begin, then record
 * for each hit, then end, all appending to one ps_buf (whose ceiling, if
 * any, gives PS_ERR_TOOBIG). Fields a hit lacks are left empty or out.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef PS_QUERY_EXPORT_H
#define PS_QUERY_EXPORT_H

#include "common.h"

#include <jansson.h>
#include <stddef.h>

typedef enum {
    PSI_EXPORT_CSV,
    PSI_EXPORT_BIBTEX,
    PSI_EXPORT_RIS,
    PSI_EXPORT_JSON
} psi_export_format;

/* The format called name ("csv", "bibtex", "ris", "json"; letter case
 * ignored) into *out: 0, or -1 (and *out untouched) for anything else. */
int psi_export_format_parse(const char *name, psi_export_format *out);
/* The Content-Type of a download in format f: "text/csv; charset=utf-8",
 * "application/x-bibtex", "application/x-research-info-systems",
 * "application/json" (static; "application/octet-stream" for a bad f). */
const char *psi_export_content_type(psi_export_format f);
/* The file name extension of format f, without the dot: "csv", "bib",
 * "ris", "json" (static; "bin" for a bad f). */
const char *psi_export_extension(psi_export_format f);

/* Start an export in format f: the CSV header row, JSON's "[". Appends to
 * out. Errors: PS_ERR_INVALID (bad format or NULL out), PS_ERR_NOMEM,
 * PS_ERR_TOOBIG (out's ceiling). */
ps_status psi_export_begin(psi_export_format f, ps_buf *out, ps_err *err);
/* Append hit (one result object of /api/search) as the index-th record of
 * the export (from 0: BibTeX keys and JSON commas use it). A hit that is
 * not an object is PS_ERR_INVALID. Other errors as psi_export_begin. */
ps_status psi_export_record(psi_export_format f, const json_t *hit,
                            size_t index, ps_buf *out, ps_err *err);
/* End the export (JSON's "]"). Errors as psi_export_begin. */
ps_status psi_export_end(psi_export_format f, ps_buf *out, ps_err *err);

#endif /* PS_QUERY_EXPORT_H */
