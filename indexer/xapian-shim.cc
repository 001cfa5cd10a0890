/*
 * xapian-shim.cc: the implementation of xapian-shim.h, the only place where
 * pansift talks to Xapian. Each extern "C" function validates its
 * arguments, does its work inside one try block and turns any exception into
 * a ps_status through psi_xapian_error, so nothing is ever thrown into C.
 * Handles are allocated with new (std::nothrow) and freed with delete;
 * memory handed to callers (metadata values, hits, descriptions) comes from
 * ps_malloc so that they free it with ps_free. It holds no global mutable
 * state. It knows nothing of entities or the schema; index.c decides which
 * terms, values and text a record becomes.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "xapian-private.hh"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include <sys/stat.h>

/* ---- errors ------------------------------------------------------------- */

/* Fill err from a Xapian error: "<type>: <message> (<system error>)". */
static ps_status xapian_fail(ps_err *err, ps_status code,
                             const Xapian::Error &e) noexcept
{
    const char *sys = e.get_error_string();
    return ps_err_set(err, code, "%s: %s%s%s%s", e.get_type(),
                      e.get_msg().c_str(), sys && *sys ? " (" : "",
                      sys && *sys ? sys : "", sys && *sys ? ")" : "");
}

ps_status psi_xapian_error(ps_err *err) noexcept
{
    /* Called outside a handler, `throw;` would terminate the program. */
    if (!std::current_exception())
        return ps_err_set(err, PS_ERR_INTERNAL,
                          "psi_xapian_error called without an exception");
    try {
        throw;
    } catch (const Xapian::DatabaseLockError &e) {
        return xapian_fail(err, PS_ERR_BUSY, e);
    } catch (const Xapian::DatabaseModifiedError &e) {
        return xapian_fail(err, PS_ERR_RETRY, e);
    } catch (const Xapian::DatabaseCorruptError &e) {
        return xapian_fail(err, PS_ERR_CORRUPT, e);
    } catch (const Xapian::DatabaseVersionError &e) {
        return xapian_fail(err, PS_ERR_CORRUPT, e);
    } catch (const Xapian::DatabaseNotFoundError &e) {
        return xapian_fail(err, PS_ERR_NOTFOUND, e);
    } catch (const Xapian::QueryParserError &e) {
        return xapian_fail(err, PS_ERR_PARSE, e);
    } catch (const Xapian::Error &e) {
        return xapian_fail(err, PS_ERR_INDEX, e);
    } catch (const std::bad_alloc &) {
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    } catch (const std::exception &e) {
        return ps_err_set(err, PS_ERR_INTERNAL, "unexpected exception: %s",
                          e.what());
    } catch (...) {
        return ps_err_set(err, PS_ERR_INTERNAL, "unknown exception");
    }
}

/* ---- terms ----------------------------------------------------------------
 * Xapian (glass) rejects terms longer than 245 bytes. A longer term is cut
 * at 200 bytes and followed by '#' and the first 44 hex digits (176 bits) of
 * the SHA-256 of the whole term, which makes exactly 245 bytes. A shaped
 * term is at most 245 bytes, so shaping is idempotent: the shim shapes every
 * term it is given (document terms, id terms, query terms), and a term
 * already made by ps_xterm_make passes through unchanged. */
enum { TERM_MAX = 245, TERM_CUT = 200, TERM_HASH = TERM_MAX - TERM_CUT - 1 };

/* Write the shaped form of term[0..len) into out (TERM_MAX + 1 bytes),
 * NUL-terminated; return its length. */
static size_t shape_term(const char *term, size_t len, char *out)
{
    if (len <= TERM_MAX) {
        memcpy(out, term, len);
        out[len] = '\0';
        return len;
    }
    char hex[65];
    ps_sha256_hex(term, len, hex);
    memcpy(out, term, TERM_CUT);
    out[TERM_CUT] = '#';
    memcpy(out + TERM_CUT + 1, hex, TERM_HASH);
    out[TERM_MAX] = '\0';
    return TERM_MAX;
}

static std::string shaped(const char *term)
{
    char buf[TERM_MAX + 1];
    size_t n = shape_term(term, strlen(term), buf);
    return std::string(buf, n);
}

std::string psi_xterm_shaped(const char *term) { return shaped(term); }

char *ps_xterm_make(const char *term, char *out, size_t size)
{
    if (!out || size == 0)
        return out;
    char buf[TERM_MAX + 1];
    size_t n = shape_term(term ? term : "", term ? strlen(term) : 0, buf);
    /* A term cut short would be a different term: give "" instead. */
    if (n + 1 > size)
        n = 0;
    memcpy(out, buf, n);
    out[n] = '\0';
    return out;
}

size_t ps_xvalue_num(double v, char *out)
{
    if (!out)
        return 0;
    return Xapian::sortable_serialise_(v, out);
}

/* Records the docid of every document the matcher considers (the whole
 * match set, when check_at_least is the database's size). */
class DocidCollector : public Xapian::MatchSpy
{
  public:
    std::vector<uint32_t> ids;
    void operator()(const Xapian::Document &doc, double) override
    {
        ids.push_back(doc.get_docid());
    }
};

/* ---- databases ---------------------------------------------------------- */

ps_status ps_xdb_open(ps_xdb **out, const char *path, ps_xdb_mode mode,
                      unsigned flags, ps_err *err)
{
    if (out)
        *out = nullptr;
    if (!out || !path || !*path)
        return ps_err_set(err, PS_ERR_INVALID, "ps_xdb_open: no path");
    if (mode != PS_XDB_READ && mode != PS_XDB_WRITE && mode != PS_XDB_OVERWRITE)
        return ps_err_set(err, PS_ERR_INVALID, "ps_xdb_open: bad mode %d",
                          (int)mode);
    if (flags & ~(PS_XDB_BULK | PS_XDB_NO_TERMLIST))
        return ps_err_set(err, PS_ERR_INVALID, "ps_xdb_open: bad flags 0x%x",
                          flags);
    try {
        std::unique_ptr<ps_xdb> h(new (std::nothrow) ps_xdb);
        if (!h)
            return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        if (mode == PS_XDB_READ) {
            /* Say plainly that nothing is there, whatever Xapian would
             * call it. */
            struct stat st;
            if (stat(path, &st) != 0 && errno == ENOENT)
                return ps_err_set(err, PS_ERR_NOTFOUND,
                                  "no Xapian database at '%s'", path);
            h->db = Xapian::Database(path);
        } else {
            int xf = mode == PS_XDB_OVERWRITE ? Xapian::DB_CREATE_OR_OVERWRITE
                                              : Xapian::DB_CREATE_OR_OPEN;
            if (flags & PS_XDB_BULK)
                xf |= Xapian::DB_DANGEROUS | Xapian::DB_NO_SYNC;
            if (flags & PS_XDB_NO_TERMLIST)
                xf |= Xapian::DB_NO_TERMLIST;
            h->wdb = Xapian::WritableDatabase(path, xf);
            h->db = h->wdb;
            h->writable = true;
        }
        *out = h.release();
        return PS_OK;
    } catch (...) {
        return psi_xapian_error(err);
    }
}

void ps_xdb_close(ps_xdb *db)
{
    if (!db)
        return;
    /* close() commits a writer's pending changes and releases the lock;
     * there is nobody to report a failure to here (callers who care commit
     * first). */
    try {
        if (db->writable)
            db->wdb.close();
        db->db.close();
    } catch (...) {
    }
    delete db;
}

ps_status ps_xdb_reopen(ps_xdb *db, int *changed_out, ps_err *err)
{
    if (changed_out)
        *changed_out = 0;
    if (!db)
        return ps_err_set(err, PS_ERR_INVALID, "ps_xdb_reopen: no database");
    /* A writer always sees its own latest state. */
    if (db->writable)
        return PS_OK;
    try {
        /* reopen() only says the database "might" have changed; compare
         * revisions for an exact answer. */
        Xapian::rev before = db->db.get_revision();
        db->db.reopen();
        if (changed_out)
            *changed_out = db->db.get_revision() != before;
        return PS_OK;
    } catch (...) {
        return psi_xapian_error(err);
    }
}

uint64_t ps_xdb_revision(ps_xdb *db)
{
    if (!db)
        return 0;
    try {
        return db->db.get_revision();
    } catch (...) {
        return 0;
    }
}

/* Fail unless db is a writable handle. */
static ps_status need_writer(ps_xdb *db, const char *fn, ps_err *err)
{
    if (!db)
        return ps_err_set(err, PS_ERR_INVALID, "%s: no database", fn);
    if (!db->writable)
        return ps_err_set(err, PS_ERR_INVALID, "%s: database is read-only", fn);
    return PS_OK;
}

ps_status ps_xdb_commit(ps_xdb *db, ps_err *err)
{
    ps_status st = need_writer(db, "ps_xdb_commit", err);
    if (st)
        return st;
    try {
        db->wdb.commit();
        return PS_OK;
    } catch (...) {
        return psi_xapian_error(err);
    }
}

ps_status ps_xdb_set_metadata(ps_xdb *db, const char *key, const char *value,
                              ps_err *err)
{
    ps_status st = need_writer(db, "ps_xdb_set_metadata", err);
    if (st)
        return st;
    if (!key || !*key)
        return ps_err_set(err, PS_ERR_INVALID,
                          "ps_xdb_set_metadata: empty key");
    try {
        db->wdb.set_metadata(key, value ? value : "");
        return PS_OK;
    } catch (...) {
        return psi_xapian_error(err);
    }
}

ps_status ps_xdb_get_metadata(ps_xdb *db, const char *key, char **value_out,
                              ps_err *err)
{
    if (value_out)
        *value_out = nullptr;
    if (!db || !key || !*key || !value_out)
        return ps_err_set(err, PS_ERR_INVALID,
                          "ps_xdb_get_metadata: bad argument");
    try {
        std::string v = db->db.get_metadata(key);
        char *s = ps_strndup(v.data(), v.size());
        if (!s)
            return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        *value_out = s;
        return PS_OK;
    } catch (...) {
        return psi_xapian_error(err);
    }
}

ps_status ps_xdb_replace(ps_xdb *db, const char *idterm, ps_xdoc *doc,
                         ps_err *err)
{
    ps_status st = need_writer(db, "ps_xdb_replace", err);
    if (st)
        return st;
    if (!idterm || !*idterm || !doc)
        return ps_err_set(err, PS_ERR_INVALID, "ps_xdb_replace: bad argument");
    try {
        std::string id = shaped(idterm);
        doc->doc.add_boolean_term(id);
        db->wdb.replace_document(id, doc->doc);
        return PS_OK;
    } catch (...) {
        return psi_xapian_error(err);
    }
}

ps_status ps_xdb_add(ps_xdb *db, ps_xdoc *doc, ps_err *err)
{
    ps_status st = need_writer(db, "ps_xdb_add", err);
    if (st)
        return st;
    if (!doc)
        return ps_err_set(err, PS_ERR_INVALID, "ps_xdb_add: no document");
    try {
        db->wdb.add_document(doc->doc);
        return PS_OK;
    } catch (...) {
        return psi_xapian_error(err);
    }
}

ps_status ps_xdb_delete(ps_xdb *db, const char *idterm, ps_err *err)
{
    ps_status st = need_writer(db, "ps_xdb_delete", err);
    if (st)
        return st;
    if (!idterm || !*idterm)
        return ps_err_set(err, PS_ERR_INVALID, "ps_xdb_delete: empty term");
    try {
        db->wdb.delete_document(shaped(idterm));
        return PS_OK;
    } catch (...) {
        return psi_xapian_error(err);
    }
}

uint64_t ps_xdb_doccount(ps_xdb *db)
{
    if (!db)
        return 0;
    try {
        return db->db.get_doccount();
    } catch (...) {
        return 0;
    }
}

ps_status ps_xdb_termfreq(ps_xdb *db, const char *term, uint64_t *out,
                          ps_err *err)
{
    if (out)
        *out = 0;
    if (!db || !term || !*term || !out)
        return ps_err_set(err, PS_ERR_INVALID, "ps_xdb_termfreq: bad argument");
    try {
        *out = db->db.get_termfreq(shaped(term));
        return PS_OK;
    } catch (...) {
        return psi_xapian_error(err);
    }
}

ps_status ps_xdb_compact(const char *const *srcs, size_t n, const char *dst,
                         ps_err *err)
{
    if (!srcs || n == 0 || !dst || !*dst)
        return ps_err_set(err, PS_ERR_INVALID, "ps_xdb_compact: bad argument");
    for (size_t i = 0; i < n; i++)
        if (!srcs[i] || !*srcs[i])
            return ps_err_set(err, PS_ERR_INVALID,
                              "ps_xdb_compact: source %zu has no path", i);
    /* Xapian would happily write over an existing database. */
    struct stat st;
    if (lstat(dst, &st) == 0)
        return ps_err_set(err, PS_ERR_INVALID,
                          "ps_xdb_compact: '%s' already exists", dst);
    try {
        Xapian::Database combined;
        for (size_t i = 0; i < n; i++)
            combined.add_database(Xapian::Database(srcs[i]));
        /* Document ids are renumbered (each source gets an offset). FULL
         * rather than FULLER: the result may be updated later. */
        combined.compact(dst,
                         Xapian::DBCOMPACT_MULTIPASS | Xapian::Compactor::FULL);
        /* Metadata keys are merged, but when several sources have the same
         * key Xapian 1.4 keeps the tag that comes first in its merge heap,
         * which is not necessarily srcs[0]'s (seen with two sources, either
         * order, with or without MULTIPASS). So put srcs[0]'s values back.
         * Keys present only in other sources stay. */
        Xapian::Database first(srcs[0]);
        Xapian::WritableDatabase out(dst, Xapian::DB_OPEN);
        bool changed = false;
        for (Xapian::TermIterator it = first.metadata_keys_begin();
             it != first.metadata_keys_end(); ++it) {
            std::string value = first.get_metadata(*it);
            if (out.get_metadata(*it) != value) {
                out.set_metadata(*it, value);
                changed = true;
            }
        }
        if (changed)
            out.commit();
        out.close();
        return PS_OK;
    } catch (...) {
        return psi_xapian_error(err);
    }
}

/* ---- documents ---------------------------------------------------------- */

ps_xdoc *ps_xdoc_new(void)
{
    try {
        std::unique_ptr<ps_xdoc> d(new (std::nothrow) ps_xdoc);
        if (!d)
            return nullptr;
        d->tg.set_stemmer(Xapian::Stem("english"));
        d->tg.set_stemming_strategy(Xapian::TermGenerator::STEM_ALL);
        d->tg.set_document(d->doc);
        return d.release();
    } catch (...) {
        return nullptr;
    }
}

void ps_xdoc_free(ps_xdoc *doc) { delete doc; }

ps_status ps_xdoc_index_text(ps_xdoc *doc, const char *text, unsigned weight,
                             const char *prefix, ps_err *err)
{
    if (!doc || !text)
        return ps_err_set(err, PS_ERR_INVALID,
                          "ps_xdoc_index_text: bad argument");
    try {
        /* A gap of 100 positions keeps phrases inside one field. */
        doc->tg.increase_termpos(100);
        doc->tg.index_text(text, weight, prefix ? prefix : "");
        return PS_OK;
    } catch (...) {
        return psi_xapian_error(err);
    }
}

/* The length of the longest prefix of text[0..len) that is at most max
 * bytes and does not end inside a UTF-8 sequence. */
static size_t utf8_cut(const char *text, size_t len, size_t max)
{
    if (max == 0 || len <= max)
        return len;
    size_t n = max;
    /* Step back over continuation bytes (10xxxxxx) to a lead byte, which
     * then starts the first character left out. */
    while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
        n--;
    return n;
}

ps_status ps_xdoc_index_words(ps_xdoc *doc, const char *text, size_t len,
                              size_t max_bytes, unsigned weight,
                              const char *prefix, unsigned flags, ps_err *err)
{
    if (!doc || (!text && len) || (flags & ~PS_XWORDS_POSITIONS))
        return ps_err_set(err, PS_ERR_INVALID,
                          "ps_xdoc_index_words: bad argument");
    if (!len)
        return PS_OK;
    try {
        size_t n = utf8_cut(text, len, max_bytes);
        doc->tg.set_stemming_strategy(Xapian::TermGenerator::STEM_SOME);
        /* An iterator over the caller's bytes: no copy of a long text. */
        Xapian::Utf8Iterator words(text, n);
        if (flags & PS_XWORDS_POSITIONS) {
            doc->tg.increase_termpos(100);
            doc->tg.index_text(words, weight, prefix ? prefix : "");
        } else {
            doc->tg.index_text_without_positions(words, weight,
                                                 prefix ? prefix : "");
        }
        doc->tg.set_stemming_strategy(Xapian::TermGenerator::STEM_ALL);
        return PS_OK;
    } catch (...) {
        ps_status st = psi_xapian_error(err);
        try {
            doc->tg.set_stemming_strategy(Xapian::TermGenerator::STEM_ALL);
        } catch (...) {
        }
        return st;
    }
}

ps_status ps_xdoc_add_term(ps_xdoc *doc, const char *term, ps_err *err)
{
    if (!doc || !term || !*term)
        return ps_err_set(err, PS_ERR_INVALID,
                          "ps_xdoc_add_term: bad argument");
    try {
        doc->doc.add_boolean_term(shaped(term));
        return PS_OK;
    } catch (...) {
        return psi_xapian_error(err);
    }
}

ps_status ps_xdoc_add_wdf(ps_xdoc *doc, const char *term, unsigned wdf,
                          ps_err *err)
{
    if (!doc || !term || !*term || wdf == 0)
        return ps_err_set(err, PS_ERR_INVALID, "ps_xdoc_add_wdf: bad argument");
    try {
        doc->doc.add_term(shaped(term), wdf);
        return PS_OK;
    } catch (...) {
        return psi_xapian_error(err);
    }
}

ps_status ps_xdoc_set_value(ps_xdoc *doc, unsigned slot, const char *bytes,
                            size_t len, ps_err *err)
{
    if (!doc || (!bytes && len) || slot == Xapian::BAD_VALUENO)
        return ps_err_set(err, PS_ERR_INVALID,
                          "ps_xdoc_set_value: bad argument");
    try {
        doc->doc.add_value(slot, std::string(bytes ? bytes : "", len));
        return PS_OK;
    } catch (...) {
        return psi_xapian_error(err);
    }
}

ps_status ps_xdoc_set_value_num(ps_xdoc *doc, unsigned slot, double v,
                                ps_err *err)
{
    if (!doc || slot == Xapian::BAD_VALUENO)
        return ps_err_set(err, PS_ERR_INVALID,
                          "ps_xdoc_set_value_num: bad argument");
    try {
        doc->doc.add_value(slot, Xapian::sortable_serialise(v));
        return PS_OK;
    } catch (...) {
        return psi_xapian_error(err);
    }
}

ps_status ps_xdoc_set_data(ps_xdoc *doc, const char *data, size_t len,
                           ps_err *err)
{
    if (!doc || (!data && len))
        return ps_err_set(err, PS_ERR_INVALID,
                          "ps_xdoc_set_data: bad argument");
    try {
        doc->doc.set_data(std::string(data ? data : "", len));
        return PS_OK;
    } catch (...) {
        return psi_xapian_error(err);
    }
}

uint32_t ps_xunicode_lower(uint32_t ch)
{
    return (uint32_t)Xapian::Unicode::tolower((unsigned)ch);
}

/* ---- queries ------------------------------------------------------------ */

/* Fresh "everything" and "nothing" queries. Never copy
 * match_all() / MatchNothing: they are shared static objects
 * whose reference counts are not atomic in Xapian 1.4, so copying them from
 * two server threads at once corrupts them (a crash under concurrent
 * queries). An empty term matches every document; a default-constructed
 * query matches none. */
static Xapian::Query match_all() { return Xapian::Query(std::string()); }
static Xapian::Query match_nothing() { return Xapian::Query(); }

/* A new handle holding q, or NULL when out of memory. */
static ps_xquery *wrap(const Xapian::Query &q)
{
    ps_xquery *r = new (std::nothrow) ps_xquery;
    if (r)
        r->q = q;
    return r;
}

static void free_children(ps_xquery **children, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        delete children[i];
        children[i] = nullptr;
    }
}

/* Combine children with op (stealing them, whatever happens); with no
 * children the result is everything (empty_is_all) or nothing. */
static ps_xquery *combine(Xapian::Query::op op, ps_xquery **children, size_t n,
                          bool empty_is_all)
{
    try {
        if (!children)
            return n ? nullptr
                     : wrap(empty_is_all ? match_all() : match_nothing());
        for (size_t i = 0; i < n; i++)
            if (!children[i]) {
                free_children(children, n);
                return nullptr;
            }
        ps_xquery *r = nullptr;
        if (n == 0) {
            r = wrap(empty_is_all ? match_all() : match_nothing());
        } else {
            std::vector<Xapian::Query> v;
            v.reserve(n);
            for (size_t i = 0; i < n; i++)
                v.push_back(children[i]->q);
            r = wrap(Xapian::Query(op, v.begin(), v.end()));
        }
        free_children(children, n);
        return r;
    } catch (...) {
        free_children(children, n);
        return nullptr;
    }
}

ps_xquery *ps_xq_all(void)
{
    try {
        return wrap(match_all());
    } catch (...) {
        return nullptr;
    }
}

ps_xquery *ps_xq_none(void)
{
    try {
        return wrap(match_nothing());
    } catch (...) {
        return nullptr;
    }
}

ps_xquery *ps_xq_term(const char *term)
{
    try {
        /* No document has the empty term (ps_xdoc_add_term refuses it),
         * while Xapian would read Query("") as "match everything". */
        if (!term || !*term)
            return wrap(match_nothing());
        return wrap(Xapian::Query(Xapian::Query::OP_SCALE_WEIGHT,
                                  Xapian::Query(shaped(term)), 0.0));
    } catch (...) {
        return nullptr;
    }
}

ps_xquery *ps_xq_range(unsigned slot, const char *lo, size_t lo_len,
                       const char *hi, size_t hi_len)
{
    try {
        if (lo && hi)
            return wrap(Xapian::Query(Xapian::Query::OP_VALUE_RANGE, slot,
                                      std::string(lo, lo_len),
                                      std::string(hi, hi_len)));
        if (lo)
            return wrap(Xapian::Query(Xapian::Query::OP_VALUE_GE, slot,
                                      std::string(lo, lo_len)));
        if (hi)
            return wrap(Xapian::Query(Xapian::Query::OP_VALUE_LE, slot,
                                      std::string(hi, hi_len)));
        return wrap(match_all());
    } catch (...) {
        return nullptr;
    }
}

ps_xquery *ps_xq_and(ps_xquery **children, size_t n)
{
    return combine(Xapian::Query::OP_AND, children, n, true);
}

ps_xquery *ps_xq_or(ps_xquery **children, size_t n)
{
    return combine(Xapian::Query::OP_OR, children, n, false);
}

ps_xquery *ps_xq_and_not(ps_xquery *a, ps_xquery *b)
{
    ps_xquery *pair[2] = {a, b};
    return combine(Xapian::Query::OP_AND_NOT, pair, 2, false);
}

ps_xquery *ps_xq_filter(ps_xquery *a, ps_xquery *b)
{
    ps_xquery *pair[2] = {a, b};
    return combine(Xapian::Query::OP_FILTER, pair, 2, false);
}

/* True if s is empty or only ASCII white space. */
static bool blank(const char *s)
{
    for (; *s; s++)
        if (!strchr(" \t\r\n\f\v", *s))
            return false;
    return true;
}

ps_xquery *ps_xq_text(ps_xdb *db, const char *text, const char *prefix,
                      ps_err *err)
{
    if (!text) {
        ps_err_set(err, PS_ERR_INVALID, "ps_xq_text: no text");
        return nullptr;
    }
    try {
        if (blank(text)) {
            ps_xquery *r = wrap(match_all());
            if (!r)
                ps_err_set(err, PS_ERR_NOMEM, "out of memory");
            return r;
        }
        Xapian::QueryParser qp;
        /* Since Xapian 1.3.3 wildcards are expanded at search time against
         * the database searched; setting it does no harm. */
        if (db)
            qp.set_database(db->db);
        qp.set_stemmer(Xapian::Stem("english"));
        qp.set_stemming_strategy(Xapian::QueryParser::STEM_ALL);
        qp.set_default_op(Xapian::Query::OP_AND);
        unsigned flags = Xapian::QueryParser::FLAG_DEFAULT |
                         Xapian::QueryParser::FLAG_WILDCARD |
                         Xapian::QueryParser::FLAG_PHRASE |
                         Xapian::QueryParser::FLAG_BOOLEAN |
                         Xapian::QueryParser::FLAG_LOVEHATE |
                         Xapian::QueryParser::FLAG_PURE_NOT;
        ps_xquery *r = wrap(qp.parse_query(text, flags, prefix ? prefix : ""));
        if (!r)
            ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        return r;
    } catch (...) {
        psi_xapian_error(err);
        return nullptr;
    }
}

ps_xquery *ps_xq_words(ps_xdb *db, const char *text, const ps_xwords_opts *opts,
                       ps_err *err)
{
    static const ps_xwords_opts defaults = PS_XWORDS_OPTS_INIT;
    if (!opts)
        opts = &defaults;
    if (!text) {
        ps_err_set(err, PS_ERR_INVALID, "ps_xq_words: no text");
        return nullptr;
    }
    if (opts->version != PS_XWORDS_OPTS_VERSION ||
        (opts->boost_prefix && !(opts->boost > 0))) {
        ps_err_set(err, PS_ERR_INVALID, "ps_xq_words: bad options");
        return nullptr;
    }
    try {
        Xapian::QueryParser qp;
        if (db)
            qp.set_database(db->db);
        qp.set_stemmer(Xapian::Stem("english"));
        qp.set_stemming_strategy(Xapian::QueryParser::STEM_SOME);
        qp.set_default_op(Xapian::Query::OP_AND);
        /* A user's "a*" must not become a query of every term: keep the
         * most frequent ones, without an error. */
        qp.set_max_expansion(opts->max_expansion ? opts->max_expansion : 100,
                             Xapian::Query::WILDCARD_LIMIT_MOST_FREQUENT);
        /* No FLAG_PURE_NOT: it combines with Query::MatchAll, a shared
         * static whose reference count is not atomic (see match_all). */
        unsigned flags = Xapian::QueryParser::FLAG_DEFAULT |
                         Xapian::QueryParser::FLAG_WILDCARD;
        const char *prefix = opts->prefix ? opts->prefix : "";
        Xapian::Query q = qp.parse_query(text, flags, prefix);
        if (q.empty()) {
            ps_err_set(err, PS_ERR_INVALID, "no word to search for");
            return nullptr;
        }
        if (opts->boost_prefix) {
            Xapian::Query b = qp.parse_query(text, flags, opts->boost_prefix);
            if (!b.empty())
                q = Xapian::Query(Xapian::Query::OP_AND_MAYBE, q,
                                  Xapian::Query(Xapian::Query::OP_SCALE_WEIGHT,
                                                b, opts->boost));
        }
        ps_xquery *r = wrap(q);
        if (!r)
            ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        return r;
    } catch (...) {
        psi_xapian_error(err);
        return nullptr;
    }
}

ps_status ps_xq_leaf(ps_xdb *db, const char *text, const char *prefix,
                     ps_xleaf_kind kind, unsigned max_expansion,
                     ps_xquery **out, ps_err *err)
{
    if (out)
        *out = nullptr;
    if (!text || !out || (kind == PS_XLEAF_PREFIX && !db) ||
        (kind != PS_XLEAF_WORD && kind != PS_XLEAF_PHRASE &&
         kind != PS_XLEAF_PREFIX) ||
        (kind == PS_XLEAF_PHRASE && strchr(text, '"')))
        return ps_err_set(err, PS_ERR_INVALID, "ps_xq_leaf: bad argument");
    try {
        Xapian::QueryParser qp;
        if (db)
            qp.set_database(db->db);
        qp.set_stemmer(Xapian::Stem("english"));
        qp.set_stemming_strategy(Xapian::QueryParser::STEM_SOME);
        qp.set_default_op(Xapian::Query::OP_AND);
        qp.set_max_expansion(max_expansion ? max_expansion : 100,
                             Xapian::Query::WILDCARD_LIMIT_MOST_FREQUENT);
        std::string t(text);
        unsigned flags = 0;
        if (kind == PS_XLEAF_PHRASE) {
            t = "\"" + t + "\"";
            flags = Xapian::QueryParser::FLAG_PHRASE;
        } else if (kind == PS_XLEAF_PREFIX) {
            t += "*";
            flags = Xapian::QueryParser::FLAG_WILDCARD;
        }
        Xapian::Query q = qp.parse_query(t, flags, prefix ? prefix : "");
        if (q.empty())
            return PS_OK;
        *out = wrap(q);
        return *out ? PS_OK : ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    } catch (...) {
        return psi_xapian_error(err);
    }
}

ps_status ps_xq_term_span(ps_xdb *db, const char *prefix, int64_t lo,
                          int64_t hi, ps_xquery **out, ps_err *err)
{
    if (out)
        *out = nullptr;
    if (!db || !prefix || !*prefix || !out)
        return ps_err_set(err, PS_ERR_INVALID, "ps_xq_term_span: bad argument");
    try {
        std::vector<Xapian::Query> terms;
        size_t plen = strlen(prefix), seen = 0;
        for (Xapian::TermIterator t = db->db.allterms_begin(prefix);
             t != db->db.allterms_end(prefix); ++t) {
            if (++seen > PS_XQ_SPAN_MAX)
                return ps_err_set(err, PS_ERR_TOOBIG,
                                  "more than %d terms with prefix %s",
                                  PS_XQ_SPAN_MAX, prefix);
            std::string term = *t;
            const char *d = term.c_str() + plen;
            size_t n = term.size() - plen;
            if (!n || n > 18 || (d[0] == '0' && n > 1))
                continue;
            int64_t v = 0;
            bool digits = true;
            for (size_t i = 0; i < n && digits; i++) {
                digits = d[i] >= '0' && d[i] <= '9';
                v = v * 10 + (d[i] - '0');
            }
            if (digits && v >= lo && v <= hi)
                terms.emplace_back(Xapian::Query::OP_SCALE_WEIGHT,
                                   Xapian::Query(term), 0.0);
        }
        *out = wrap(terms.empty() ? match_nothing()
                                  : Xapian::Query(Xapian::Query::OP_OR,
                                                  terms.begin(), terms.end()));
        return *out ? PS_OK : ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    } catch (...) {
        return psi_xapian_error(err);
    }
}

ps_xquery *ps_xq_and_maybe(ps_xquery *a, ps_xquery *b, double scale)
{
    ps_xquery *r = nullptr;
    if (a && b && scale > 0) {
        try {
            r = wrap(Xapian::Query(
                Xapian::Query::OP_AND_MAYBE, a->q,
                Xapian::Query(Xapian::Query::OP_SCALE_WEIGHT, b->q, scale)));
        } catch (...) {
            r = nullptr;
        }
    }
    delete a;
    delete b;
    return r;
}

void ps_xq_free(ps_xquery *q) { delete q; }

char *ps_xq_describe(const ps_xquery *q)
{
    if (!q)
        return nullptr;
    try {
        std::string d = q->q.get_description();
        return ps_strndup(d.data(), d.size());
    } catch (...) {
        return nullptr;
    }
}

/* ---- search ------------------------------------------------------------- */

ps_status ps_xdb_search(ps_xdb *db, const ps_xquery *q,
                        const ps_xsearch_opts *opts, ps_xresult *out,
                        ps_err *err)
{
    static const ps_xsearch_opts defaults = PS_XSEARCH_OPTS_INIT;
    if (out)
        memset(out, 0, sizeof *out);
    if (!db || !q || !out)
        return ps_err_set(err, PS_ERR_INVALID, "ps_xdb_search: bad argument");
    if (!opts)
        opts = &defaults;
    /* Version 2 callers have no snippets field: never read it. */
    if (opts->version != PS_XSEARCH_OPTS_VERSION && opts->version != 2 &&
        opts->version != 3)
        return ps_err_set(err, PS_ERR_INVALID,
                          "ps_xdb_search: unknown options version %d",
                          opts->version);
    bool keep = opts->version >= 3 && opts->snippets;
    if (opts->nsort && !opts->sort)
        return ps_err_set(err, PS_ERR_INVALID, "ps_xdb_search: no sort keys");
    if (opts->nsort && opts->docid_order)
        return ps_err_set(err, PS_ERR_INVALID,
                          "ps_xdb_search: docid order and sort keys together");
    if (opts->relevance_first && (!opts->nsort || opts->docid_order))
        return ps_err_set(err, PS_ERR_INVALID,
                          "ps_xdb_search: relevance first needs sort keys");
    for (size_t i = 0; i < opts->nsort; i++)
        if (opts->sort[i].slot == Xapian::BAD_VALUENO)
            return ps_err_set(err, PS_ERR_INVALID,
                              "ps_xdb_search: bad sort slot");

    ps_xresult res;
    memset(&res, 0, sizeof res);
    try {
        /* Declared before the Enquire, which keeps a pointer to it; kept
         * with the match set when snippets are asked for. */
        std::unique_ptr<ps_xmset> kept;
        if (keep) {
            kept.reset(new (std::nothrow) ps_xmset);
            if (!kept)
                return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        }
        Xapian::MultiValueKeyMaker local_keymaker;
        Xapian::MultiValueKeyMaker &keymaker =
            kept ? kept->keymaker : local_keymaker;
        Xapian::Enquire enquire(db->db);
        enquire.set_query(q->q);
        if (opts->nsort) {
            for (size_t i = 0; i < opts->nsort; i++)
                keymaker.add_value(opts->sort[i].slot,
                                   opts->sort[i].descending != 0);
            /* Sort by key only (ties go by ascending docid, the default
             * docid order), or by relevance with ties by key. */
            if (opts->relevance_first)
                enquire.set_sort_by_relevance_then_key(&keymaker, false);
            else
                enquire.set_sort_by_key(&keymaker, false);
        } else if (opts->docid_order) {
            /* Every weight 0 and ties in docid order: the matcher can stop
             * as soon as it has offset + count documents. */
            enquire.set_weighting_scheme(Xapian::BoolWeight());
            enquire.set_docid_order(Xapian::Enquire::ASCENDING);
        }
        /* Xapian counts in 32 bits; nothing lies beyond doccount. */
        uint64_t total = db->db.get_doccount();
        Xapian::doccount first =
            (Xapian::doccount)std::min<uint64_t>(opts->offset, total);
        Xapian::doccount max =
            (Xapian::doccount)std::min<uint64_t>(opts->count, total);
        Xapian::doccount check =
            (Xapian::doccount)std::min<uint64_t>(opts->check_at_least, total);
        /* Every match's docid, seen by a spy while the page is ranked. */
        DocidCollector spy;
        bool all = opts->version >= 4 && opts->all_docids;
        if (all) {
            enquire.add_matchspy(&spy);
            check = (Xapian::doccount)(total ? total : 1);
        }
        Xapian::MSet mset = enquire.get_mset(first, max, check);
        if (all) {
            std::sort(spy.ids.begin(), spy.ids.end());
            res.docids = (uint32_t *)ps_malloc(
                (spy.ids.empty() ? 1 : spy.ids.size()) * sizeof *res.docids);
            if (!res.docids)
                return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
            if (!spy.ids.empty())
                memcpy(res.docids, spy.ids.data(),
                       spy.ids.size() * sizeof *res.docids);
            res.ndocids = spy.ids.size();
        }

        res.matches_lower = mset.get_matches_lower_bound();
        res.matches_estimated = mset.get_matches_estimated();
        res.matches_upper = mset.get_matches_upper_bound();
        res.max_weight = mset.get_max_attained();
        if (mset.size()) {
            res.hits = (ps_xhit *)ps_calloc(mset.size(), sizeof *res.hits);
            if (!res.hits)
                return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
            for (Xapian::MSetIterator it = mset.begin(); it != mset.end();
                 ++it) {
                Xapian::Document doc = it.get_document();
                std::string data = doc.get_data();
                ps_xhit *h = &res.hits[res.n];
                /* Copied by length: the data may hold NUL bytes. */
                h->data = (char *)ps_malloc(data.size() + 1);
                if (!h->data) {
                    ps_xresult_free(&res);
                    return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
                }
                memcpy(h->data, data.data(), data.size());
                h->data[data.size()] = '\0';
                h->data_len = data.size();
                h->docid = *it;
                h->weight = it.get_weight();
                res.n++;
                if (opts->key_slot >= 0) {
                    std::string key =
                        doc.get_value((Xapian::valueno)opts->key_slot);
                    h->key = (char *)ps_malloc(key.size() + 1);
                    if (!h->key) {
                        ps_xresult_free(&res);
                        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
                    }
                    memcpy(h->key, key.data(), key.size());
                    h->key[key.size()] = '\0';
                    h->key_len = key.size();
                }
            }
        }
        if (kept) {
            kept->mset = mset;
            res.mset = kept.release();
        }
        *out = res;
        return PS_OK;
    } catch (...) {
        ps_xresult_free(&res);
        return psi_xapian_error(err);
    }
}

void ps_xresult_free(ps_xresult *res)
{
    if (!res)
        return;
    for (size_t i = 0; i < res->n; i++) {
        ps_free(res->hits[i].data);
        ps_free(res->hits[i].key);
    }
    ps_free(res->hits);
    ps_free(res->docids);
    delete res->mset;
    memset(res, 0, sizeof *res);
}

ps_status ps_xresult_snippet(const ps_xresult *res, const char *text,
                             size_t len, const ps_xsnippet_opts *opts,
                             char **out, ps_err *err)
{
    static const ps_xsnippet_opts defaults = PS_XSNIPPET_OPTS_INIT;
    if (out)
        *out = nullptr;
    if (!opts)
        opts = &defaults;
    if (!res || !out || (!text && len))
        return ps_err_set(err, PS_ERR_INVALID,
                          "ps_xresult_snippet: bad argument");
    if (!res->mset)
        return ps_err_set(err, PS_ERR_INVALID,
                          "ps_xresult_snippet: the search kept no match set "
                          "(ps_xsearch_opts.snippets)");
    /* Without markers Xapian returns a short text as it is, unescaped. */
    if (opts->version != PS_XSNIPPET_OPTS_VERSION || opts->length == 0 ||
        !opts->hi_start || !*opts->hi_start || !opts->hi_end || !*opts->hi_end)
        return ps_err_set(err, PS_ERR_INVALID,
                          "ps_xresult_snippet: bad options");
    try {
        /* Not the background model alone: in a database of many
         * documents it gives ordinary words some weight, and the
         * non-exhaustive search then stops at the first window of such
         * words, before any match (an empty snippet for a text whose
         * matches come later). */
        unsigned flags = Xapian::MSet::SNIPPET_EMPTY_WITHOUT_MATCH;
        if (opts->exhaustive)
            flags |= Xapian::MSet::SNIPPET_EXHAUSTIVE |
                     Xapian::MSet::SNIPPET_BACKGROUND_MODEL;
        std::string s = res->mset->mset.snippet(
            std::string(text ? text : "", len), opts->length,
            Xapian::Stem("english"), flags, opts->hi_start, opts->hi_end,
            opts->omit ? opts->omit : "");
        char *r = ps_strndup(s.data(), s.size());
        if (!r)
            return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        *out = r;
        return PS_OK;
    } catch (...) {
        return psi_xapian_error(err);
    }
}
