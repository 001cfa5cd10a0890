/*
 * xapian-score.cc: relevance scores inside Xapian's matcher (ps_xq_score).
 * The scores are the PaNOSC search-scoring service's (TF-IDuF weights,
 * cosine similarity; docs/relevance.md), computed from the posting lists
 * of the query's terms and the index statistics of the revision searched.
 *
 * For a term set, every document holding one of the terms gets its score
 * in one pass over the posting lists; the result (docids ascending, their
 * scores, and the best score of each block of 64 and of everything from a
 * block on) is kept in a cache of the process (128 MiB), keyed by the
 * database's uuid and revision and the term set, least recently used out
 * first. A PostingSource then hands the documents to the matcher in docid
 * order with their scores; once the matcher has its page and says what a
 * document needs to enter it (min_wt), whole blocks that cannot are
 * skipped, so a query asked again on an unchanged index costs about the
 * page, not the posting lists.
 *
 * Threads: the cache is shared by every thread (a mutex guards it; an
 * entry never changes once made). Nothing here throws into C: ps_xq_score
 * catches, and the matcher's exceptions reach ps_xdb_search, which catches.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "xapian-private.hh"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <list>
#include <memory>
#include <mutex>
#include <new>
#include <unordered_map>
#include <utility>
#include <vector>

namespace
{

const size_t BLOCK = 64;
const size_t CACHE_BYTES = 128u << 20;
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
    std::string distinct_term;

    std::string key() const
    {
        std::string k = corpus_term;
        k += '\0';
        k += distinct_term;
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
    Xapian::PostingIterator d = db.postlist_begin(s.distinct_term);
    Xapian::PostingIterator dend = db.postlist_end(s.distinct_term);
    double best = 0;
    for (Xapian::PostingIterator p = db.postlist_begin(t);
         p != db.postlist_end(t); ++p) {
        Xapian::docid did = *p;
        double distinct = 1;
        if (d != dend && *d < did)
            d.skip_to(did);
        if (d != dend && *d == did)
            distinct = std::max<Xapian::termcount>(1, d.get_wdf());
        double w = (p.get_wdf() / distinct) * idf;
        e.did.push_back(did);
        e.score.push_back(w);
        best = std::max(best, w);
    }
    for (double &x : e.score)
        x = best > 0 ? SINGLE_TERM_MAX * x / best : 0;
}

/* The cosine of a document's counts (wdf per query term, 0 if absent):
 * as scikit-learn's cosine_similarity computes it, both vectors
 * normalised, then their dot product, in term order (the service's
 * columns). A document holding one term of the query then scores exactly
 * q_t / |q|, the same for all of them. */
double cosine(const std::vector<unsigned> &wdf, const std::vector<double> &idf,
              const std::vector<double> &qn)
{
    double norm = 0;
    for (size_t t = 0; t < wdf.size(); t++)
        if (wdf[t]) {
            double x = wdf[t] * idf[t];
            norm += x * x;
        }
    norm = std::sqrt(norm);
    double sc = 0;
    for (size_t t = 0; t < wdf.size(); t++)
        if (wdf[t])
            sc += (wdf[t] * idf[t] / norm) * qn[t];
    return std::min(sc, below_one());
}

/* Several terms: the cosine between the document's weights over the query
 * terms and the query's counts. Within a document the weights are
 * (wdf_t / distinct) * idf_t; distinct is common to all of them and the
 * cosine does not depend on a common factor, so it is left out. The score
 * depends only on the document's counts, and few patterns of counts
 * occur: scores are remembered by pattern (up to 8 terms of counts below
 * 255, in a small direct-mapped table). */
void score_cosine(const Xapian::Database &db, const spec &s,
                  const std::vector<double> &idf, entry &e)
{
    double qnorm = 0;
    for (double c : s.counts)
        qnorm += c * c;
    qnorm = std::sqrt(qnorm);
    std::vector<double> qn(s.counts.size());
    for (size_t i = 0; i < qn.size(); i++)
        qn[i] = s.counts[i] / qnorm;
    /* The posting lists merged by docid; each cursor keeps its current
     * docid and count (the iterator's accessors are not inlined). */
    struct cursor {
        Xapian::PostingIterator it, end;
        size_t term;
        unsigned rank; /* place in the pattern */
        Xapian::docid did;
        unsigned wdf;
    };
    std::vector<cursor> cur;
    for (size_t i = 0; i < s.terms.size(); i++) {
        if (idf[i] <= 0)
            continue;
        cursor c{db.postlist_begin(s.terms[i]),
                 db.postlist_end(s.terms[i]),
                 i,
                 (unsigned)cur.size(),
                 0,
                 0};
        if (c.it == c.end)
            continue;
        c.did = *c.it;
        c.wdf = c.it.get_wdf();
        cur.push_back(c);
    }
    const bool memo = cur.size() <= 8;
    struct slot {
        uint64_t key;
        double score;
    };
    std::vector<slot> table(memo ? 4096 : 0, slot{~(uint64_t)0, 0});
    std::vector<unsigned> wdf(s.terms.size(), 0);
    while (!cur.empty()) {
        Xapian::docid did = cur[0].did;
        for (size_t k = 1; k < cur.size(); k++)
            did = std::min(did, cur[k].did);
        /* The pattern: 8 bits per cursor. Counts are below 255, so a key
         * is never all ones, the empty slots' key. */
        uint64_t key = 0;
        bool small = memo;
        for (size_t k = 0; k < cur.size(); k++) {
            const cursor &c = cur[k];
            if (c.did != did)
                continue;
            wdf[c.term] = c.wdf;
            small = small && c.wdf < 255;
            key |= (uint64_t)(c.wdf & 0xff) << (8 * (c.rank & 7));
        }
        double sc;
        if (small) {
            slot &sl = table[(key * 0x9e3779b97f4a7c15ull) >> 52];
            if (sl.key != key) {
                sl.key = key;
                sl.score = cosine(wdf, idf, qn);
            }
            sc = sl.score;
        } else {
            sc = cosine(wdf, idf, qn);
        }
        e.did.push_back(did);
        e.score.push_back(sc);
        for (size_t k = 0; k < cur.size();) {
            cursor &c = cur[k];
            if (c.did == did) {
                wdf[c.term] = 0;
                ++c.it;
                if (c.it == c.end) {
                    cur.erase(cur.begin() + (long)k);
                    continue;
                }
                c.did = *c.it;
                c.wdf = c.it.get_wdf();
            }
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
        reserve += nt;
    }
    /* The union is at most the sum and at most the database. */
    reserve = std::min<size_t>(reserve, db.get_doccount());
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

namespace
{

/* The process's scores, most recently used first, keyed by database uuid,
 * revision and term set (entries of older revisions age out). The lock is
 * held to look up and insert, never while scores are computed: two
 * threads missing the same entry at once both compute it, and the first
 * inserted wins. */
struct score_cache {
    std::mutex lock;
    typedef std::pair<std::string, std::shared_ptr<const entry>> item;
    std::list<item> lru;
    std::unordered_map<std::string, std::list<item>::iterator> index;
    size_t bytes = 0;
};

score_cache &the_cache()
{
    static score_cache c;
    return c;
}

std::shared_ptr<const entry> cached_scores(const Xapian::Database &db,
                                           const spec &s)
{
    std::string k = db.get_uuid();
    k += '\0';
    k += std::to_string((unsigned long long)db.get_revision());
    k += '\0';
    k += s.key();
    score_cache &c = the_cache();
    {
        std::lock_guard<std::mutex> g(c.lock);
        auto hit = c.index.find(k);
        if (hit != c.index.end()) {
            c.lru.splice(c.lru.begin(), c.lru, hit->second);
            return hit->second->second;
        }
    }
    std::shared_ptr<const entry> e = compute(db, s);
    size_t b = e->bytes() + k.size();
    if (b > CACHE_BYTES)
        return e;
    std::lock_guard<std::mutex> g(c.lock);
    auto hit = c.index.find(k);
    if (hit != c.index.end())
        return hit->second->second;
    while (c.bytes + b > CACHE_BYTES && !c.lru.empty()) {
        c.bytes -= c.lru.back().second->bytes() + c.lru.back().first.size();
        c.index.erase(c.lru.back().first);
        c.lru.pop_back();
    }
    c.lru.emplace_front(k, e);
    c.index[k] = c.lru.begin();
    c.bytes += b;
    return e;
}

} // namespace

namespace
{

/* The matcher's view of an entry. */
class score_source : public Xapian::PostingSource
{
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
    score_source(std::shared_ptr<const spec> s, bool ties)
        : what(std::move(s)), tie_docid(ties)
    {
    }

    void init(const Xapian::Database &db) override
    {
        e = cached_scores(db, *what);
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
        return new score_source(what, tie_docid);
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

ps_xquery *ps_xq_score(const ps_xscore_opts *opts, ps_err *err)
{
    if (!opts || opts->version != PS_XSCORE_OPTS_VERSION ||
        (opts->nterms && !opts->terms) || !opts->corpus_term ||
        !*opts->corpus_term || !opts->distinct_term || !*opts->distinct_term) {
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
        s->distinct_term = psi_xterm_shaped(opts->distinct_term);
        score_source *src = new score_source(s, opts->tie_docid != 0);
        r->q = Xapian::Query(src->release());
        return guard.release();
    } catch (...) {
        psi_xapian_error(err);
        return nullptr;
    }
}
