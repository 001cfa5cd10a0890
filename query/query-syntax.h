/*
 * query-syntax.h: the query language of GET /api/search, the syntax users
 * know from PUMA and Elasticsearch (docs/api/search.md): words joined by
 * AND, `+word` required, `-word` / `NOT word` excluded, `a | b` / `a OR b`,
 * `"a phrase"`, `word*` prefixes, `( )` grouping, `field:value` and
 * `field:"a phrase"` for title, author, instrument, facility, technique,
 * doi and year, and year ranges `year:[2015 TO 2020]` (`{ }` exclusive,
 * `*` open). ps_qs_parse reads a query into a small tree held in a
 * caller-owned struct (no allocation); a malformed query gives a message
 * and the position (a 0-based character offset) of the fault, with a
 * caret excerpt, for the 400 the server answers. Turning the tree into a
 * Xapian query is search.c's business: this file knows no index.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef PS_QUERY_SYNTAX_H
#define PS_QUERY_SYNTAX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Ceilings: bytes of query text, nesting of ( ), words/phrases/terms. */
#define PS_QS_INPUT_MAX 1024
#define PS_QS_DEPTH_MAX 32
#define PS_QS_TERMS_MAX 64
#define PS_QS_NODES_MAX (4 * PS_QS_TERMS_MAX)

typedef enum {
    PS_QS_WORD,   /* text: one word as typed (may hold punctuation) */
    PS_QS_PHRASE, /* text: the words between the quotes */
    PS_QS_PREFIX, /* text: the word before the '*' */
    PS_QS_RANGE,  /* lo..hi (year) */
    PS_QS_AND,    /* children: all (those with neg set: none) */
    PS_QS_OR      /* children: any (never neg) */
} ps_qs_kind;

typedef enum {
    PS_QS_ANY = 0, /* no field: all the searchable text */
    PS_QS_TITLE,
    PS_QS_AUTHOR,
    PS_QS_INSTRUMENT,
    PS_QS_FACILITY,
    PS_QS_TECHNIQUE,
    PS_QS_DOI,
    PS_QS_YEAR
} ps_qs_field;

typedef struct ps_qs_node {
    ps_qs_kind kind;
    ps_qs_field field;
    int neg;          /* excluded (-x, NOT x): only as a child of AND */
    size_t pos;       /* byte offset of the node's start in the query */
    const char *text; /* WORD, PHRASE, PREFIX: NUL-terminated, in ps_qs */
    int64_t lo, hi;   /* RANGE: inclusive bounds (open: INT64_MIN/MAX) */
    int first, next;  /* first child, next sibling: node indexes, -1 */
} ps_qs_node;

typedef struct ps_qs {
    ps_qs_node nodes[PS_QS_NODES_MAX];
    size_t n;
    int root; /* index of the root node */
    size_t nterms;
    char text[2 * PS_QS_INPUT_MAX + 2 * PS_QS_TERMS_MAX];
    size_t used;
} ps_qs;

typedef struct ps_qs_error {
    size_t offset;     /* 0-based character (code point) offset */
    size_t byte;       /* the same, in bytes */
    char msg[256];     /* what is wrong, without the position */
    char excerpt[256]; /* the query around it, "\n", spaces and '^' */
} ps_qs_error;

/* Parse q (NUL-terminated UTF-8) into out. 0 on success; -1 with e filled
 * (the query is malformed or over a ceiling). */
int ps_qs_parse(const char *q, ps_qs *out, ps_qs_error *e);

/* The name of a field as typed ("title", ...; "" for PS_QS_ANY). */
const char *ps_qs_field_name(ps_qs_field f);

/* The tree as text, for tests and logs: (AND a -b (OR c d)) "p q"
 * title:x pre* year:[2015 TO 2020]. Returns the length it needed; out is
 * always NUL-terminated when size > 0. */
size_t ps_qs_describe(const ps_qs *qs, char *out, size_t size);

#ifdef __cplusplus
}
#endif
#endif /* PS_QUERY_SYNTAX_H */
