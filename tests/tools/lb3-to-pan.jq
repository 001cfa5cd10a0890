# lb3-to-pan.jq: turns a LoopBack 3 memory database (the JSON file the PaN
# reference implementation and the federated search service's test providers
# load, {"ids": ..., "models": {MODEL: {ID: "<record as a JSON string>"}}})
# into one collection of a PaN file:// catalogue, as the PaN search API
# answers the harvester's requests (docs/harvesting.md, "type = pan"):
#   --arg model Instruments   the instruments
#   --arg model Datasets      with parameters, files, samples, techniques, instrument
#   --arg model Documents     with members (person, affiliation), parameters, datasets
# Records come in pid order, relations in id order (as the reference answers
# them); the join tables (DatasetSample, DatasetTechnique, DocumentDataset)
# become the relations, and a dataset's documentId links it to its document
# as the provider fixtures do. Output: a JSON array, one record per line,
# the layout pansift-gencat writes. Run through lb3-to-pan.sh; it is not a
# general LoopBack exporter (no scopes, no hidden properties).
# SPDX-License-Identifier: GPL-2.0-or-later

def rows($m): [(.models[$m] // {})[] | fromjson];
def by_id: sort_by(.id);

. as $db
| ($db | rows("Instrument")) as $instruments
| ($db | rows("Dataset")) as $datasets
| ($db | rows("Parameter") | by_id) as $params
| ($db | rows("File") | by_id) as $files
| ($db | rows("Sample")) as $samples
| ($db | rows("Technique")) as $techniques
| ($db | rows("DatasetSample") | by_id) as $ds_samples
| ($db | rows("DatasetTechnique") | by_id) as $ds_techniques
| ($db | rows("DocumentDataset") | by_id) as $doc_datasets
| ($db | rows("Member") | by_id) as $members
| ($db | rows("Person")) as $persons
| ($db | rows("Affiliation")) as $affiliations
| def one($list; $key; $value): first($list[] | select(.[$key] == $value)) // empty;
  def dataset_full:
    .pid as $p
    | . + {parameters: [$params[] | select(.datasetId == $p)],
           files: [$files[] | select(.datasetId == $p)],
           samples: [$ds_samples[] | select(.datasetId == $p) | .sampleId as $s
                     | one($samples; "pid"; $s)],
           techniques: [$ds_techniques[] | select(.datasetId == $p) | .techniqueId as $t
                        | one($techniques; "pid"; $t)]}
    | if .instrumentId then .instrumentId as $i
        | (one($instruments; "pid"; $i)) as $inst | . + {instrument: $inst}
      else . end;
  def member_full:
    .personId as $pe | .affiliationId as $af
    | . + ({person: one($persons; "id"; $pe)} // {})
      + ({affiliation: one($affiliations; "id"; $af)} // {});
  def document_full:
    .pid as $p
    | ([$doc_datasets[] | select(.documentId == $p) | .datasetId]) as $joined
    | . + {members: [$members[] | select(.documentId == $p) | member_full],
           parameters: [$params[] | select(.documentId == $p)],
           datasets: [$datasets[] | select(.documentId == $p or (.pid | IN($joined[])))]};
  if $model == "Instruments" then $instruments | sort_by(.pid)
  elif $model == "Datasets" then $datasets | sort_by(.pid) | map(dataset_full)
  elif $model == "Documents" then $db | rows("Document") | sort_by(.pid) | map(document_full)
  else error("--arg model must be Instruments, Datasets or Documents, not \($model)")
  end
| "[\n" + (map(tojson) | join(",\n")) + "\n]"
