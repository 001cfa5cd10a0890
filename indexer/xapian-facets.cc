/*
 * xapian-facets.cc: the two Xapian primitives behind exact facet counts
 * (query/facets.c). ps_xdb_match_docids collects the docids of every
 * document a query matches, through a match spy that only records the
 * docid (no value or document is read, so it costs the postlist walk,
 * about 95 ns a document, not the 80 ns per facet of a ValueCountMatchSpy);
 * ps_xdb_facet_table reads, once per index generation, every term of a
 * boolean prefix and its postings into a compact docid -> value-ids table
 * (CSR: offsets per docid, then the value ids) with which the caller counts
 * a match set's facet values in a few ns per document. It does not rank,
 * count or know what the facets mean. Also for the in-memory browsing of
 * query/facets.c: a term's postings ORed into a bitmap, a value slot as an
 * array of numbers, one document's data.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "xapian-private.hh"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <new>
#include <string>
#include <vector>

namespace
{

/* Records the docid of every document the matcher considers. */
class DocidSpy : public Xapian::MatchSpy
{
  public:
    std::vector<uint32_t> ids;
    void operator()(const Xapian::Document &doc, double) override
    {
        ids.push_back(doc.get_docid());
    }
};

} // namespace

ps_status ps_xdb_match_docids(ps_xdb *db, const ps_xquery *q, uint32_t **out,
                              size_t *n_out, ps_err *err)
{
    if (out)
        *out = nullptr;
    if (n_out)
        *n_out = 0;
    if (!db || !q || !out || !n_out)
        return ps_err_set(err, PS_ERR_INVALID,
                          "ps_xdb_match_docids: bad argument");
    try {
        Xapian::Enquire enq(db->db);
        enq.set_query(q->q);
        enq.set_weighting_scheme(Xapian::BoolWeight());
        enq.set_docid_order(Xapian::Enquire::ASCENDING);
        DocidSpy spy;
        enq.add_matchspy(&spy);
        Xapian::doccount all = db->db.get_doccount();
        enq.get_mset(0, 0, all ? all : 1);
        uint32_t *ids = static_cast<uint32_t *>(
            ps_malloc((spy.ids.size() ? spy.ids.size() : 1) * sizeof *ids));
        if (!ids)
            return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        if (!spy.ids.empty())
            memcpy(ids, spy.ids.data(), spy.ids.size() * sizeof *ids);
        *out = ids;
        *n_out = spy.ids.size();
        return PS_OK;
    } catch (...) {
        return psi_xapian_error(err);
    }
}

ps_status ps_xdb_facet_table(ps_xdb *db, const char *prefix, size_t max_values,
                             ps_xfacet_table **out, ps_err *err)
{
    if (out)
        *out = nullptr;
    if (!db || !prefix || !*prefix || !out)
        return ps_err_set(err, PS_ERR_INVALID,
                          "ps_xdb_facet_table: bad argument");
    ps_xfacet_table *t =
        static_cast<ps_xfacet_table *>(ps_calloc(1, sizeof *t));
    if (!t)
        return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
    try {
        size_t plen = strlen(prefix);
        Xapian::docid last = db->db.get_lastdocid();
        /* Postings per docid first (counts), then the CSR arrays. */
        std::vector<uint32_t> deg(static_cast<size_t>(last) + 2, 0);
        std::vector<std::string> names;
        for (Xapian::TermIterator ti = db->db.allterms_begin(prefix);
             ti != db->db.allterms_end(prefix); ++ti) {
            if (names.size() >= max_values)
                break;
            std::string term = *ti;
            names.push_back(term.substr(plen));
            for (Xapian::PostingIterator p = db->db.postlist_begin(term);
                 p != db->db.postlist_end(term); ++p)
                if (*p <= last)
                    deg[*p + 1]++;
        }
        for (size_t i = 1; i < deg.size(); i++)
            deg[i] += deg[i - 1];
        t->ndocs = static_cast<size_t>(last) + 1;
        t->nvalues = names.size();
        t->offsets =
            static_cast<uint32_t *>(ps_malloc(deg.size() * sizeof *t->offsets));
        t->values = static_cast<uint32_t *>(
            ps_malloc((deg.back() ? deg.back() : 1) * sizeof *t->values));
        t->names = static_cast<char **>(
            ps_calloc(names.size() ? names.size() : 1, sizeof *t->names));
        if (!t->offsets || !t->values || !t->names) {
            ps_xfacet_table_free(t);
            return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        }
        memcpy(t->offsets, deg.data(), deg.size() * sizeof *t->offsets);
        std::vector<uint32_t> fill(deg.begin(), deg.end() - 1);
        for (size_t v = 0; v < names.size(); v++) {
            t->names[v] = ps_strdup(names[v].c_str());
            if (!t->names[v]) {
                ps_xfacet_table_free(t);
                return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
            }
            std::string term = prefix + names[v];
            for (Xapian::PostingIterator p = db->db.postlist_begin(term);
                 p != db->db.postlist_end(term); ++p)
                if (*p <= last)
                    t->values[fill[*p]++] = static_cast<uint32_t>(v);
        }
        *out = t;
        return PS_OK;
    } catch (...) {
        ps_xfacet_table_free(t);
        return psi_xapian_error(err);
    }
}

void ps_xfacet_table_free(ps_xfacet_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; t->names && i < t->nvalues; i++)
        ps_free(t->names[i]);
    ps_free(t->names);
    ps_free(t->offsets);
    ps_free(t->values);
    ps_free(t);
}

ps_status ps_xdb_postings_or(ps_xdb *db, const char *term, uint64_t *bits,
                             size_t nbits, size_t *n_out, ps_err *err)
{
    if (n_out)
        *n_out = 0;
    if (!db || !term || !bits)
        return ps_err_set(err, PS_ERR_INVALID,
                          "ps_xdb_postings_or: bad argument");
    try {
        size_t n = 0;
        for (Xapian::PostingIterator p = db->db.postlist_begin(term);
             p != db->db.postlist_end(term); ++p) {
            size_t d = *p;
            if (d < nbits) {
                bits[d >> 6] |= UINT64_C(1) << (d & 63);
                n++;
            }
        }
        if (n_out)
            *n_out = n;
        return PS_OK;
    } catch (...) {
        return psi_xapian_error(err);
    }
}

ps_status ps_xdb_value_array(ps_xdb *db, unsigned slot, double *out, size_t n,
                             ps_err *err)
{
    if (!db || (!out && n))
        return ps_err_set(err, PS_ERR_INVALID,
                          "ps_xdb_value_array: bad argument");
    for (size_t i = 0; i < n; i++)
        out[i] = NAN;
    try {
        for (Xapian::ValueIterator v = db->db.valuestream_begin(slot);
             v != db->db.valuestream_end(slot); ++v) {
            size_t d = v.get_docid();
            if (d < n)
                out[d] = Xapian::sortable_unserialise(*v);
        }
        return PS_OK;
    } catch (...) {
        return psi_xapian_error(err);
    }
}

ps_status ps_xdb_doc_data(ps_xdb *db, uint32_t docid, char **out, ps_err *err)
{
    if (out)
        *out = nullptr;
    if (!db || !out || !docid)
        return ps_err_set(err, PS_ERR_INVALID, "ps_xdb_doc_data: bad argument");
    try {
        std::string data = db->db.get_document(docid).get_data();
        char *s = static_cast<char *>(ps_malloc(data.size() + 1));
        if (!s)
            return ps_err_set(err, PS_ERR_NOMEM, "out of memory");
        memcpy(s, data.data(), data.size());
        s[data.size()] = '\0';
        *out = s;
        return PS_OK;
    } catch (const Xapian::DocNotFoundError &) {
        return ps_err_set(err, PS_ERR_NOTFOUND, "no document %u", docid);
    } catch (...) {
        return psi_xapian_error(err);
    }
}

ps_status ps_xdb_identity(ps_xdb *db, char *out, size_t size, ps_err *err)
{
    if (!db || !out || !size)
        return ps_err_set(err, PS_ERR_INVALID, "ps_xdb_identity: bad argument");
    try {
        std::string id = db->db.get_uuid() + ":" +
                         std::to_string(db->db.get_revision()) + ":" +
                         std::to_string(db->db.get_lastdocid());
        snprintf(out, size, "%s", id.c_str());
        return PS_OK;
    } catch (...) {
        return psi_xapian_error(err);
    }
}
