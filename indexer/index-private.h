/*
 * index-private.h: what the indexer's C files share: building a Xapian
 * document from a store entity (index-schema.c) and the store load flags
 * each kind needs for it. Not part of the public API (index.h is).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef PS_INDEX_PRIVATE_H
#define PS_INDEX_PRIVATE_H

#include "index.h"

/* Metadata key holding the last applied store sequence number. */
#define PSI_META_LAST_SEQ "pansift.last_seq"
/* Metadata key holding the index schema version (bump when documents
 * change shape: an index of another version needs `index --rebuild`). */
#define PSI_META_SCHEMA "pansift.index_schema"
/* The store_id (ps_store_id) of the store the index was built from. */
#define PSI_META_STORE_ID "pansift.store_id"
#define PSI_INDEX_SCHEMA "10"

/* Is kind one the index holds? */
int psi_index_kind(ps_kind kind);
/* ps_store_load flags needed to build the document of kind. */
unsigned psi_index_load_flags(ps_kind kind);
/* Build the Xapian document of a live entity (JSON from ps_store_load).
 * ordered: the rebuild is writing it in pid order (it gets the
 * PS_IDX_TERM_ORDERED term, else PS_IDX_TERM_UNORDERED). *out is owned by the
 * caller (ps_xdoc_free). */
ps_status psi_index_build_doc(ps_kind kind, const json_t *ent, int ordered,
                              ps_xdoc **out, ps_err *err);

#endif /* PS_INDEX_PRIVATE_H */
