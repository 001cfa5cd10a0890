/*
 * xapian-score.cc: relevance scores inside Xapian's matcher (ps_xq_score).
 * The scores are the PaNOSC search-scoring service's (TF-IDuF weights,
 * cosine similarity; docs/relevance.md), computed from the posting lists
 * of the query's terms and the index statistics of the revision searched.
 *
 * For a term set, every document holding one of the terms gets its score
 * in one pass over the posting lists; the result (docids ascending, their
 * scores, and the best score of each block of 64 and of everything from a
 * block on) is kept in a cache of the database handle, keyed by the
 * database's uuid and revision and the term set, least recently used out
 * first. A PostingSource then hands the documents to the matcher in docid
 * order with their scores; once the matcher has its page and says what a
 * document needs to enter it (min_wt), whole blocks that cannot are
 * skipped, so a query asked again on an unchanged index costs about the
 * page, not the posting lists.
 *
 * Threads: a handle (and its cache) is used by one thread at a time, like
 * the handle itself. Nothing here throws into C: ps_xq_score catches, and
 * the matcher's exceptions reach ps_xdb_search, which catches.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "xapian-private.hh"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <list>
#include <new>
#include <unordered_map>
#include <utility>
#include <vector>

namespace
{

const size_t BLOCK = 64;
const size_t CACHE_BYTES = 64u << 20;
/* The service's QUERY_SINGLE_TERM_MAX_SCORE. */
const double SINGLE_TERM_MAX = 0.9;

/* What is scored: the unique terms (sorted, as the service's columns are)
 * with their counts in the query, and where N and the distinct counts
 * are. */
struct spec {
    std::vector<std::string> terms;
    std::vector<double> counts;
    size_t nquery = 0; /* terms in the query, repeats included */
    std::string corpus_term;
    Xapian::valueno distinct_slot = 0;

    std::string key() const
    {
        std::string k = corpus_term;
        k += '\0';
        k += std::to_string(distinct_slot);
        for (size_t i = 0; i < terms.size(); i++) {
            k += '\0';
            k += terms[i];
            k += '\0';
            k += std::to_string((unsigned long)counts[i]);
        }
        return k;
    }
};

/* The scores of one term set on one revision. */
struct entry {
    std::vector<Xapian::docid> did;
    std::vector<double> score;
    std::vector<double> block_max;  /* best score of block b */
    std::vector<double> suffix_max; /* best score of blocks b, b+1, ... */
    double max = 0;

    size_t bytes() const
    {
        return did.size() * (sizeof(Xapian::docid) + sizeof(double)) +
               block_max.size() * 2 * sizeof(double) + sizeof *this;
    }
};

double below_one() { return std::nextafter(1.0, 0.0); }

void finish_blocks(entry &e)
{
    size_t nb = (e.did.size() + BLOCK - 1) / BLOCK;
    e.block_max.assign(nb, 0);
    e.suffix_max.assign(nb, 0);
    for (size_t i = 0; i < e.did.size(); i++)
        e.block_max[i / BLOCK] = std::max(e.block_max[i / BLOCK], e.score[i]);
    double m = 0;
    for (size_t b = nb; b-- > 0;) {
        m = std::max(m, e.block_max[b]);
        e.suffix_max[b] = m;
    }
    e.max = nb ? e.suffix_max[0] : 0;
}

/* One term: 0.9 * w / max w with w = (wdf / distinct) * idf. */
void score_single(const Xapian::Database &db, const spec &s, double idf,
                  entry &e)
{
    const std::string &t = s.terms[0];
    Xapian::ValueIterator v = db.valuestream_begin(s.distinct_slot);
    Xapian::ValueIterator vend = db.valuestream_end(s.distinct_slot);
    double best = 0;
    for (Xapian::PostingIterator p = db.postlist_begin(t);
         p != db.postlist_end(t); ++p) {
        Xapian::docid did = *p;
        double distinct = 1;
        if (v != vend) {
            v.skip_to(did);
            if (v != vend && v.get_docid() == did)
                distinct = std::max(1.0, Xapian::sortable_unserialise(*v));
        }
        double w = (p.get_wdf() / distinct) * idf;
        e.did.push_back(did);
        e.score.push_back(w);
        best = std::max(best, w);
    }
    for (double &x : e.score)
        x = best > 0 ? SINGLE_TERM_MAX * x / best : 0;
}

/* Several terms: the cosine between the document's weights over the query
 * terms and the query's counts. Within a document the weights are
 * (wdf_t / distinct) * idf_t; distinct is common to all of them and the
 * cosine does not depend on a common factor, so it is left out. */
void score_cosine(const Xapian::Database &db, const spec &s,
                  const std::vector<double> &idf, entry &e)
{
    double qnorm = 0;
    for (double c : s.counts)
        qnorm += c * c;
    qnorm = std::sqrt(qnorm);
    struct cursor {
        Xapian::PostingIterator it, end;
        size_t term;
    };
    std::vector<cursor> cur;
    for (size_t i = 0; i < s.terms.size(); i++) {
        if (idf[i] <= 0)
            continue;
        cursor c{db.postlist_begin(s.terms[i]), db.postlist_end(s.terms[i]), i};
        if (c.it != c.end)
            cur.push_back(c);
    }
    const double top = below_one();
    while (!cur.empty()) {
        Xapian::docid did = *cur[0].it;
        for (size_t k = 1; k < cur.size(); k++)
            did = std::min(did, *cur[k].it);
        /* As scikit-learn's cosine_similarity does it: both vectors
         * normalised, then their dot product, in term order (the
         * service's columns). A document holding one term of the query
         * then scores exactly q_t / |q|, the same for all of them. */
        double norm = 0;
        for (size_t k = 0; k < cur.size(); k++)
            if (*cur[k].it == did) {
                double x = cur[k].it.get_wdf() * idf[cur[k].term];
                norm += x * x;
            }
        norm = std::sqrt(norm);
        double sc = 0;
        for (size_t k = 0; k < cur.size(); k++)
            if (*cur[k].it == did) {
                double x = cur[k].it.get_wdf() * idf[cur[k].term];
                sc += (x / norm) * (s.counts[cur[k].term] / qnorm);
            }
        e.did.push_back(did);
        e.score.push_back(sc < top ? sc : top);
        for (size_t k = 0; k < cur.size();) {
            if (*cur[k].it == did)
                ++cur[k].it;
            if (cur[k].it == cur[k].end)
                cur.erase(cur.begin() + (long)k);
            else
                k++;
        }
    }
}

std::shared_ptr<const entry> compute(const Xapian::Database &db, const spec &s)
{
    auto e = std::make_shared<entry>();
    Xapian::doccount n = db.get_termfreq(s.corpus_term);
    if (n == 0 || s.terms.empty()) {
        finish_blocks(*e);
        return e;
    }
    std::vector<double> idf(s.terms.size(), 0);
    size_t reserve = 0;
    for (size_t i = 0; i < s.terms.size(); i++) {
        Xapian::doccount nt = db.get_termfreq(s.terms[i]);
        if (nt)
            idf[i] = std::log10(1.0 + (double)n / (double)nt);
        reserve = std::max<size_t>(reserve, nt);
    }
    e->did.reserve(reserve);
    e->score.reserve(reserve);
    if (s.nquery == 1)
        score_single(db, s, idf[0], *e);
    else
        score_cosine(db, s, idf, *e);
    e->did.shrink_to_fit();
    e->score.shrink_to_fit();
    finish_blocks(*e);
    return e;
}

} // namespace

/* Per handle: entries of the current revision, least recently used
 * last. */
struct psi_score_cache {
    std::string uuid;
    Xapian::rev rev = 0;
    typedef std::pair<std::string, std::shared_ptr<const entry>> item;
    std::list<item> lru;
    std::unordered_map<std::string, std::list<item>::iterator> index;
    size_t bytes = 0;

    std::shared_ptr<const entry> get(const Xapian::Database &db, const spec &s)
    {
        std::string u = db.get_uuid();
        Xapian::rev r = db.get_revision();
        if (u != uuid || r != rev) {
            lru.clear();
            index.clear();
            bytes = 0;
            uuid = u;
            rev = r;
        }
        std::string k = s.key();
        auto hit = index.find(k);
        if (hit != index.end()) {
            lru.splice(lru.begin(), lru, hit->second);
            return hit->second->second;
        }
        std::shared_ptr<const entry> e = compute(db, s);
        size_t b = e->bytes() + k.size();
        if (b > CACHE_BYTES)
            return e;
        while (bytes + b > CACHE_BYTES && !lru.empty()) {
            bytes -= lru.back().second->bytes() + lru.back().first.size();
            index.erase(lru.back().first);
            lru.pop_back();
        }
        lru.emplace_front(k, e);
        index[k] = lru.begin();
        bytes += b;
        return e;
    }
};

namespace
{

/* The matcher's view of an entry. */
class score_source : public Xapian::PostingSource
{
    std::shared_ptr<psi_score_cache> cache;
    std::shared_ptr<const spec> what;
    bool tie_docid;
    std::shared_ptr<const entry> e;
    size_t pos = 0;
    bool started = false;

    /* Can a document of score s still enter the results? */
    bool weak(double s, double min_wt) const
    {
        return min_wt > 0 && (tie_docid ? s <= min_wt : s < min_wt);
    }

    /* Move forward from pos to the first document that can enter. */
    void settle(double min_wt)
    {
        size_t n = e->did.size();
        while (pos < n) {
            size_t b = pos / BLOCK;
            if (weak(e->suffix_max[b], min_wt)) {
                pos = n;
                break;
            }
            if (weak(e->block_max[b], min_wt)) {
                pos = (b + 1) * BLOCK;
                continue;
            }
            if (!weak(e->score[pos], min_wt))
                break;
            pos++;
        }
        if (pos < n && e->suffix_max[pos / BLOCK] < get_maxweight())
            set_maxweight(e->suffix_max[pos / BLOCK]);
    }

  public:
    score_source(std::shared_ptr<psi_score_cache> c,
                 std::shared_ptr<const spec> s, bool ties)
        : cache(std::move(c)), what(std::move(s)), tie_docid(ties)
    {
    }

    void init(const Xapian::Database &db) override
    {
        e = cache->get(db, *what);
        pos = 0;
        started = false;
        set_maxweight(e->max);
    }

    Xapian::doccount get_termfreq_min() const override
    {
        return (Xapian::doccount)e->did.size();
    }
    Xapian::doccount get_termfreq_est() const override
    {
        return (Xapian::doccount)e->did.size();
    }
    Xapian::doccount get_termfreq_max() const override
    {
        return (Xapian::doccount)e->did.size();
    }

    void next(double min_wt) override
    {
        if (started)
            pos++;
        started = true;
        settle(min_wt);
    }

    void skip_to(Xapian::docid did, double min_wt) override
    {
        started = true;
        size_t n = e->did.size();
        if (pos < n && e->did[pos] < did) {
            /* Gallop, then search: skip_to is mostly a short step. */
            size_t step = 1, lo = pos, hi = pos + 1;
            while (hi < n && e->did[hi] < did) {
                lo = hi;
                step *= 2;
                hi = std::min(n, hi + step);
            }
            pos = (size_t)(std::lower_bound(e->did.begin() + (long)lo,
                                            e->did.begin() + (long)hi, did) -
                           e->did.begin());
        }
        settle(min_wt);
    }

    bool check(Xapian::docid did, double min_wt) override
    {
        skip_to(did, min_wt);
        return true;
    }

    bool at_end() const override { return pos >= e->did.size(); }
    Xapian::docid get_docid() const override { return e->did[pos]; }
    double get_weight() const override { return e->score[pos]; }

    Xapian::PostingSource *clone() const override
    {
        return new score_source(cache, what, tie_docid);
    }

    std::string get_description() const override
    {
        std::string d = "pansift score(";
        for (size_t i = 0; i < what->terms.size(); i++)
            d += (i ? " " : "") + what->terms[i];
        return d + ")";
    }
};

} // namespace

ps_xquery *ps_xq_score(ps_xdb *db, const ps_xscore_opts *opts, ps_err *err)
{
    if (!db || !opts || opts->version != PS_XSCORE_OPTS_VERSION ||
        (opts->nterms && !opts->terms) || !opts->corpus_term ||
        !*opts->corpus_term) {
        ps_err_set(err, PS_ERR_INVALID, "ps_xq_score: bad argument");
        return nullptr;
    }
    for (size_t i = 0; i < opts->nterms; i++)
        if (!opts->terms[i] || !*opts->terms[i]) {
            ps_err_set(err, PS_ERR_INVALID, "ps_xq_score: empty term");
            return nullptr;
        }
    try {
        ps_xquery *r = new (std::nothrow) ps_xquery;
        if (!r) {
            ps_err_set(err, PS_ERR_NOMEM, "out of memory");
            return nullptr;
        }
        if (opts->nterms == 0) {
            r->q = Xapian::Query();
            return r;
        }
        std::unique_ptr<ps_xquery> guard(r);
        auto s = std::make_shared<spec>();
        std::vector<std::string> all;
        for (size_t i = 0; i < opts->nterms; i++)
            all.push_back(psi_xterm_shaped(opts->terms[i]));
        std::sort(all.begin(), all.end());
        for (const std::string &t : all) {
            if (!s->terms.empty() && s->terms.back() == t) {
                s->counts.back() += 1;
                continue;
            }
            s->terms.push_back(t);
            s->counts.push_back(1);
        }
        s->nquery = opts->nterms;
        s->corpus_term = psi_xterm_shaped(opts->corpus_term);
        s->distinct_slot = opts->distinct_slot;
        if (!db->score_cache)
            db->score_cache = std::make_shared<psi_score_cache>();
        score_source *src =
            new score_source(db->score_cache, s, opts->tie_docid != 0);
        r->q = Xapian::Query(src->release());
        return guard.release();
    } catch (...) {
        psi_xapian_error(err);
        return nullptr;
    }
}
