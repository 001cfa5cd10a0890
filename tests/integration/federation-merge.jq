# federation-merge.jq: the federation's merge as docs/federation.md states it,
# computed independently of pansift by integration.federation (federation.sh)
# from the providers' own full answers, so that every federated page can be
# checked against the order a single provider holding the union would give.
# Input:
#   {"providers": [{"name": "p1", "weight": 1, "records": [...]}, ...],  (config order)
#    "sort": {"kind": "query" | "title" | "name" | "order", "order": ["size ASC", ...]}}
# Output: the merged, de-duplicated order, one {"pid", "provider", "providers"}
# per record ("providers": every provider that served it, sorted).
#   query: normalised score (score / the provider's best score * weight), descending
#   title / name: that field in any letter case
#   order: the filter's order, field by field; numbers as numbers, other
#          values as text in any letter case, a missing value as the lowest
#          (first in ascending order, last in descending)
# Ties go by provider order, then by the provider's own order. Two records
# with the same pid, or the same DOI in any letter case, are one: the first
# in the merged order is kept.
# SPDX-License-Identifier: GPL-2.0-or-later

def lc: if type == "string" then ascii_downcase else . end;

# [{f: field, desc: bool}] from a LoopBack order ("f DIR" or a list of them).
def order_spec:
  (if type == "array" then . else [.] end)
  | map(split(" ") | map(select(. != ""))
        | {f: .[0], desc: (((.[1] // "ASC") | ascii_upcase) == "DESC")});

.sort as $sort
| [.providers | to_entries[] | .key as $i | .value as $p
   | ([$p.records[] | .score // 0] | max // 0) as $best
   | $p.records | to_entries[]
   | .value + {_p: $p.name, _i: $i, _pos: .key,
               _norm: (if $best > 0 then (.value.score // 0) / $best * ($p.weight // 1)
                       else 0 end)}] as $all
| (if $sort.kind == "order" then ($sort.order | order_spec) else [] end) as $spec
# per order field: every distinct present value's rank, ascending
| ([$spec[] | .f as $f
    | [$all[] | .[$f] | select(. != null) | lc] | unique
    | to_entries | map({key: (.value | tojson), value: .key}) | from_entries]) as $ranks
| def key:
    if $sort.kind == "query" then [-._norm]
    elif $sort.kind == "title" then [(.title // "") | lc]
    elif $sort.kind == "name" then [(.name // "") | lc]
    else . as $r
      | [range(0; $spec | length) as $k
         | $r[$spec[$k].f] as $v
         | if $v == null then (if $spec[$k].desc then [1, 0] else [-1, 0] end)
           else ($ranks[$k][$v | lc | tojson]) as $rank
           | [0, (if $spec[$k].desc then -$rank else $rank end)]
           end]
    end
    + [._i, ._pos];
  $all
| sort_by(key)
| reduce .[] as $r ({out: [], pid: {}, doi: {}};
    ($r.doi // null | if . == null then null else ascii_downcase end) as $doi
    | (if .pid[$r.pid] != null then .pid[$r.pid]
       elif $doi != null and .doi[$doi] != null then .doi[$doi]
       else null end) as $k
    | if $k != null then
        .out[$k].providers += [$r._p] | .pid[$r.pid] = $k
        | if $doi != null then .doi[$doi] = $k else . end
      else
        (.out | length) as $n
        | .out += [{pid: $r.pid, provider: $r._p, providers: [$r._p]}]
        | .pid[$r.pid] = $n
        | if $doi != null then .doi[$doi] = $n else . end
      end)
| .out
| map(.providers |= (unique))
