/*
 * xapian-private.hh: the C++-only side of the Xapian shim. It defines the
 * real structs behind the opaque handles of xapian-shim.h (each one holds
 * Xapian objects by value; Xapian's classes are reference-counted handles
 * themselves) and declares the one helper that turns the exception being
 * handled into a ps_status. Only the C++ files of indexer/ include it; no
 * .c file ever sees a C++ type (house style, rule 10).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef PS_XAPIAN_PRIVATE_HH
#define PS_XAPIAN_PRIVATE_HH

#ifndef __cplusplus
#error "xapian-private.hh is C++ only; C code uses xapian-shim.h"
#endif

#include "xapian-shim.h"

#include <xapian.h>

#include <string>

/* An open database. db is the read view used for every query; for a
 * writable handle it shares its internals with wdb, which is empty (default
 * constructed) for read handles. */
struct ps_xdb {
    Xapian::Database db;
    Xapian::WritableDatabase wdb;
    bool writable = false;
};

/* A document being built. tg indexes text into doc (set_document shares
 * doc's internals) and keeps the term position counter, which each
 * ps_xdoc_index_text call advances by 100 before indexing. */
struct ps_xdoc {
    Xapian::Document doc;
    Xapian::TermGenerator tg;
};

/* A match set kept for snippets (ps_xsearch_opts.snippets). The MSet holds
 * the Enquire's internals (the query, the statistics and the database)
 * that MSet::snippet reads; the key maker is kept beside it because the
 * Enquire keeps a pointer to the one it sorted with. */
struct ps_xmset {
    Xapian::MultiValueKeyMaker keymaker;
    Xapian::MSet mset;
};

/* A node of a query tree. */
struct ps_xquery {
    Xapian::Query q;
};

/* term as the shim stores it: terms longer than Xapian's limit are cut
 * and followed by a hash (see ps_xterm_make). */
std::string psi_xterm_shaped(const char *term);

/* Classify the exception currently being handled; call it only inside a
 * catch block (it rethrows with `throw;`). Fills err (may be NULL) with the
 * code and a message, and returns the code:
 *   Xapian::DatabaseLockError      -> PS_ERR_BUSY
 *   Xapian::DatabaseModifiedError  -> PS_ERR_RETRY
 *   Xapian::DatabaseCorruptError,
 *   Xapian::DatabaseVersionError   -> PS_ERR_CORRUPT
 *   Xapian::DatabaseNotFoundError  -> PS_ERR_NOTFOUND
 *   Xapian::QueryParserError       -> PS_ERR_PARSE
 *   any other Xapian::Error        -> PS_ERR_INDEX
 *   std::bad_alloc                 -> PS_ERR_NOMEM
 *   anything else                  -> PS_ERR_INTERNAL
 * Xapian errors carry "<type>: <message>" (plus the system error text when
 * there is one) in err->msg. Never throws. */
ps_status psi_xapian_error(ps_err *err) noexcept;

#endif /* PS_XAPIAN_PRIVATE_HH */
