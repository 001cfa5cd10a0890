/*
 * store-schema.c: the store's schema as an ordered list of migrations.
 * Migration N brings a file from user_version N-1 to N; ps_store_open runs
 * the missing ones, each in its own transaction, so a file is always at a
 * whole version. Never edit a migration that has shipped: append a new one.
 *
 * Conventions: times are INTEGER milliseconds since the epoch (UTC); every
 * top-level entity has pid (its persistent identifier, unique), seq (its
 * latest change sequence number), deleted/deleted_at (the tombstone),
 * visibility (0 public, 1 embargoed until embargo_until, 2 restricted) and
 * created_at/updated_at (when the store first/last wrote it). Where a record
 * came from is in provenance (one row per source and remote id).
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "store-private.h"

#define PSI_COMMON_COLUMNS                                                     \
    "  seq INTEGER NOT NULL DEFAULT 0,\n"                                      \
    "  deleted INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),\n"        \
    "  deleted_at INTEGER,\n"                                                  \
    "  visibility INTEGER NOT NULL DEFAULT 0 CHECK (visibility IN (0, 1, "     \
    "2)),\n"                                                                   \
    "  embargo_until INTEGER,\n"                                               \
    "  created_at INTEGER NOT NULL,\n"                                         \
    "  updated_at INTEGER NOT NULL\n"

static const char migration_1[] =
    /* Store identity and bookkeeping. */
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;\n"
    "INSERT INTO meta (key, value) VALUES ('application', 'pansift'),\n"
    "  ('created_at', CAST((julianday('now') - 2440587.5) * 86400000 AS "
    "INTEGER));\n"

    /* Harvest sources, their runs and their checkpoints. */
    "CREATE TABLE source (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  name TEXT NOT NULL UNIQUE,\n"
    "  type TEXT NOT NULL,\n"
    "  url TEXT,\n"
    "  created_at INTEGER NOT NULL,\n"
    "  updated_at INTEGER NOT NULL\n"
    ");\n"
    "CREATE TABLE harvest_run (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  source_id INTEGER NOT NULL REFERENCES source (id) ON DELETE CASCADE,\n"
    "  started_at INTEGER NOT NULL,\n"
    "  finished_at INTEGER,\n"
    "  state INTEGER NOT NULL DEFAULT 0 CHECK (state BETWEEN 0 AND 4),\n"
    "  seen INTEGER NOT NULL DEFAULT 0,\n"
    "  inserted INTEGER NOT NULL DEFAULT 0,\n"
    "  updated INTEGER NOT NULL DEFAULT 0,\n"
    "  unchanged INTEGER NOT NULL DEFAULT 0,\n"
    "  deleted INTEGER NOT NULL DEFAULT 0,\n"
    "  rejected INTEGER NOT NULL DEFAULT 0,\n"
    "  message TEXT\n"
    ");\n"
    "CREATE INDEX harvest_run_source ON harvest_run (source_id, id);\n"
    "CREATE TABLE source_state (\n"
    "  source_id INTEGER NOT NULL REFERENCES source (id) ON DELETE CASCADE,\n"
    "  key TEXT NOT NULL,\n"
    "  value TEXT,\n"
    "  updated_at INTEGER NOT NULL,\n"
    "  PRIMARY KEY (source_id, key)\n"
    ") WITHOUT ROWID;\n"

    /* The change feed: one row per record at its latest sequence number. */
    "CREATE TABLE change (\n"
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,\n"
    "  kind INTEGER NOT NULL,\n"
    "  rec_id INTEGER NOT NULL,\n"
    "  UNIQUE (kind, rec_id)\n"
    ");\n"

    /* Who said what: one row per (source, kind, remote id). */
    "CREATE TABLE provenance (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  kind INTEGER NOT NULL,\n"
    "  rec_id INTEGER NOT NULL,\n"
    "  source_id INTEGER NOT NULL REFERENCES source (id) ON DELETE CASCADE,\n"
    "  remote_id TEXT NOT NULL,\n"
    "  raw_hash TEXT NOT NULL,\n"
    "  raw TEXT,\n"
    "  first_harvested_at INTEGER NOT NULL,\n"
    "  harvested_at INTEGER NOT NULL,\n"
    "  last_run INTEGER,\n"
    "  UNIQUE (source_id, kind, remote_id)\n"
    ");\n"
    "CREATE INDEX provenance_rec ON provenance (kind, rec_id);\n"
    "CREATE INDEX provenance_run ON provenance (source_id, last_run);\n"

    /* Facilities and instruments (with the history of their names). */
    "CREATE TABLE facility (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  pid TEXT NOT NULL UNIQUE,\n"
    "  name TEXT NOT NULL,\n"
    "  full_name TEXT,\n"
    "  country TEXT,\n"
    "  ror TEXT,\n"
    "  url TEXT,\n" PSI_COMMON_COLUMNS ");\n"
    "CREATE TABLE instrument (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  pid TEXT NOT NULL UNIQUE,\n"
    "  name TEXT NOT NULL,\n"
    "  facility_id INTEGER REFERENCES facility (id),\n"
    "  kind TEXT,\n"
    "  description TEXT,\n"
    "  url TEXT,\n" PSI_COMMON_COLUMNS ");\n"
    "CREATE INDEX instrument_facility ON instrument (facility_id);\n"
    "CREATE TABLE instrument_name (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  instrument_id INTEGER NOT NULL REFERENCES instrument (id) ON DELETE "
    "CASCADE,\n"
    "  name TEXT NOT NULL,\n"
    "  valid_from INTEGER,\n"
    "  valid_to INTEGER,\n"
    "  UNIQUE (instrument_id, name)\n"
    ");\n"

    /* People and institutions. */
    "CREATE TABLE institution (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  pid TEXT NOT NULL UNIQUE,\n"
    "  name TEXT NOT NULL,\n"
    "  ror TEXT,\n"
    "  country TEXT,\n"
    "  country_code TEXT,\n"
    "  city TEXT,\n"
    "  address TEXT,\n"
    "  kind TEXT CHECK (kind IN ('university', 'government', 'company',\n"
    "    'facility', 'nonprofit', 'other')),\n" PSI_COMMON_COLUMNS ");\n"
    "CREATE TABLE person (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  pid TEXT NOT NULL UNIQUE,\n"
    "  full_name TEXT NOT NULL,\n"
    "  given_name TEXT,\n"
    "  family_name TEXT,\n"
    "  orcid TEXT,\n" PSI_COMMON_COLUMNS ");\n"
    "CREATE INDEX person_orcid ON person (orcid) WHERE orcid IS NOT NULL;\n"

    /* Proposals (experiments applied for) and publications: the PaN API's
     * Documents. */
    "CREATE TABLE proposal (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  pid TEXT NOT NULL UNIQUE,\n"
    "  code TEXT,\n"
    "  title TEXT NOT NULL,\n"
    "  summary TEXT,\n"
    "  doi TEXT,\n"
    "  type TEXT,\n"
    "  cycle TEXT,\n"
    "  status TEXT CHECK (status IN ('submitted', 'accepted', 'refused',\n"
    "    'withdrawn', 'scheduled', 'completed')),\n"
    "  facility_id INTEGER REFERENCES facility (id),\n"
    "  submitted_at INTEGER,\n"
    "  start_at INTEGER,\n"
    "  end_at INTEGER,\n"
    "  release_at INTEGER,\n"
    "  license TEXT,\n"
    "  keywords TEXT,\n" PSI_COMMON_COLUMNS ");\n"
    "CREATE INDEX proposal_code ON proposal (code);\n"
    "CREATE TABLE publication (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  pid TEXT NOT NULL UNIQUE,\n"
    "  doi TEXT,\n"
    "  type TEXT,\n"
    "  title TEXT NOT NULL,\n"
    "  abstract TEXT,\n"
    "  journal TEXT,\n"
    "  volume TEXT,\n"
    "  issue TEXT,\n"
    "  pages TEXT,\n"
    "  publisher TEXT,\n"
    "  year INTEGER,\n"
    "  published_at INTEGER,\n"
    "  start_at INTEGER,\n"
    "  end_at INTEGER,\n"
    "  release_at INTEGER,\n"
    "  license TEXT,\n"
    "  keywords TEXT,\n"
    "  full_text TEXT,\n"
    "  acknowledgements TEXT,\n"
    "  citation_count INTEGER,\n"
    "  url TEXT,\n" PSI_COMMON_COLUMNS ");\n"
    "CREATE INDEX publication_doi ON publication (doi);\n"
    "CREATE TABLE publication_reference (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  publication_id INTEGER NOT NULL REFERENCES publication (id) ON DELETE "
    "CASCADE,\n"
    "  position INTEGER NOT NULL,\n"
    "  doi TEXT,\n"
    "  raw TEXT\n"
    ");\n"
    "CREATE INDEX publication_reference_pub ON publication_reference "
    "(publication_id);\n"
    "CREATE INDEX publication_reference_doi ON publication_reference (doi);\n"
    /* Proposal team members and publication authors. */
    "CREATE TABLE member (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  doc_kind INTEGER NOT NULL CHECK (doc_kind IN (3, 9)),\n"
    "  doc_id INTEGER NOT NULL,\n"
    "  position INTEGER NOT NULL,\n"
    "  role TEXT,\n"
    "  person_id INTEGER REFERENCES person (id),\n"
    "  institution_id INTEGER REFERENCES institution (id)\n"
    ");\n"
    "CREATE INDEX member_doc ON member (doc_kind, doc_id);\n"
    "CREATE INDEX member_person ON member (person_id);\n"
    "CREATE INDEX member_institution ON member (institution_id);\n"

    /* Datasets with their files, samples, techniques and parameters. */
    "CREATE TABLE dataset (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  pid TEXT NOT NULL UNIQUE,\n"
    "  title TEXT NOT NULL,\n"
    "  description TEXT,\n"
    "  doi TEXT,\n"
    "  created INTEGER,\n"
    "  size INTEGER,\n"
    "  instrument_pid TEXT,\n"
    "  instrument_id INTEGER REFERENCES instrument (id),\n"
    "  keywords TEXT,\n" PSI_COMMON_COLUMNS ");\n"
    "CREATE INDEX dataset_instrument ON dataset (instrument_id);\n"
    "CREATE INDEX dataset_unresolved_instrument ON dataset (instrument_pid)\n"
    "  WHERE instrument_id IS NULL AND instrument_pid IS NOT NULL;\n"
    "CREATE TABLE file (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  dataset_id INTEGER NOT NULL REFERENCES dataset (id) ON DELETE CASCADE,\n"
    "  position INTEGER NOT NULL,\n"
    "  name TEXT NOT NULL,\n"
    "  path TEXT,\n"
    "  size INTEGER,\n"
    "  checksum TEXT,\n"
    "  url TEXT\n"
    ");\n"
    "CREATE INDEX file_dataset ON file (dataset_id);\n"
    "CREATE TABLE sample (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  pid TEXT NOT NULL UNIQUE,\n"
    "  name TEXT NOT NULL,\n"
    "  description TEXT,\n"
    "  formula TEXT,\n"
    "  created_at INTEGER NOT NULL,\n"
    "  updated_at INTEGER NOT NULL\n"
    ");\n"
    "CREATE TABLE dataset_sample (\n"
    "  dataset_id INTEGER NOT NULL REFERENCES dataset (id) ON DELETE CASCADE,\n"
    "  sample_id INTEGER NOT NULL REFERENCES sample (id),\n"
    "  position INTEGER NOT NULL,\n"
    "  PRIMARY KEY (dataset_id, sample_id)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX dataset_sample_sample ON dataset_sample (sample_id);\n"
    "CREATE TABLE technique (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  pid TEXT NOT NULL UNIQUE,\n"
    "  name TEXT NOT NULL,\n"
    "  panet_iri TEXT,\n"
    "  synonyms TEXT,\n"
    "  created_at INTEGER NOT NULL,\n"
    "  updated_at INTEGER NOT NULL\n"
    ");\n"
    "CREATE INDEX technique_panet ON technique (panet_iri);\n"
    "CREATE TABLE dataset_technique (\n"
    "  dataset_id INTEGER NOT NULL REFERENCES dataset (id) ON DELETE CASCADE,\n"
    "  technique_id INTEGER NOT NULL REFERENCES technique (id),\n"
    "  position INTEGER NOT NULL,\n"
    "  PRIMARY KEY (dataset_id, technique_id)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX dataset_technique_technique ON dataset_technique "
    "(technique_id);\n"
    /* A parameter belongs to a dataset (4), a proposal (3) or a publication
     * (9). value_num is set when the value is a number; value_si/unit_si
     * when the unit is known (udunits2), so ranges compare in SI. */
    "CREATE TABLE parameter (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  owner_kind INTEGER NOT NULL CHECK (owner_kind IN (3, 4, 9)),\n"
    "  owner_id INTEGER NOT NULL,\n"
    "  position INTEGER NOT NULL,\n"
    "  name TEXT NOT NULL,\n"
    "  value_text TEXT,\n"
    "  value_num REAL,\n"
    "  is_numeric INTEGER NOT NULL DEFAULT 0,\n"
    "  unit TEXT,\n"
    "  value_si REAL,\n"
    "  unit_si TEXT\n"
    ");\n"
    "CREATE INDEX parameter_owner ON parameter (owner_kind, owner_id);\n"
    "CREATE INDEX parameter_si ON parameter (name, unit_si, value_si);\n"

    /* Typed links between entities, with provenance, score, evidence and
     * state. Either end may name a record not yet in the store (ref = its
     * pid, id NULL) until ps_store_resolve finds it. */
    "CREATE TABLE link (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  type TEXT NOT NULL,\n"
    "  src_kind INTEGER NOT NULL,\n"
    "  src_ref TEXT NOT NULL,\n"
    "  src_id INTEGER,\n"
    "  dst_kind INTEGER NOT NULL,\n"
    "  dst_ref TEXT NOT NULL,\n"
    "  dst_id INTEGER,\n"
    "  provenance INTEGER NOT NULL DEFAULT 0 CHECK (provenance BETWEEN 0 AND "
    "3),\n"
    "  source_id INTEGER REFERENCES source (id) ON DELETE SET NULL,\n"
    "  score REAL NOT NULL DEFAULT 1.0,\n"
    "  evidence TEXT,\n"
    "  state INTEGER NOT NULL DEFAULT 0 CHECK (state BETWEEN 0 AND 2),\n"
    "  created_at INTEGER NOT NULL,\n"
    "  updated_at INTEGER NOT NULL,\n"
    "  UNIQUE (type, src_kind, src_ref, dst_kind, dst_ref)\n"
    ");\n"
    "CREATE INDEX link_src ON link (src_kind, src_id, type);\n"
    "CREATE INDEX link_dst ON link (dst_kind, dst_id, type);\n"
    "CREATE INDEX link_unresolved_src ON link (src_kind, src_ref) WHERE src_id "
    "IS NULL;\n"
    "CREATE INDEX link_unresolved_dst ON link (dst_kind, dst_ref) WHERE dst_id "
    "IS NULL;\n"

    /* Users' collections of documents. */
    "CREATE TABLE collection (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  pid TEXT NOT NULL UNIQUE,\n"
    "  name TEXT NOT NULL,\n"
    "  description TEXT,\n"
    "  owner TEXT,\n" PSI_COMMON_COLUMNS ");\n"
    "CREATE TABLE collection_item (\n"
    "  collection_id INTEGER NOT NULL REFERENCES collection (id) ON DELETE "
    "CASCADE,\n"
    "  kind INTEGER NOT NULL,\n"
    "  rec_id INTEGER NOT NULL,\n"
    "  added_at INTEGER NOT NULL,\n"
    "  note TEXT,\n"
    "  PRIMARY KEY (collection_id, kind, rec_id)\n"
    ") WITHOUT ROWID;\n";

/* Migration 2: a store knows who it is (an index records the store_id it
 * was built from and refuses any other store), and a harvested link
 * remembers every source that asserted it, so one source dropping a link
 * leaves the link another source still asserts. */
static const char migration_2[] =
    "INSERT OR IGNORE INTO meta (key, value) VALUES ('store_id',\n"
    "  lower(hex(randomblob(16))));\n"
    "CREATE TABLE link_source (\n"
    "  link_id INTEGER NOT NULL REFERENCES link (id) ON DELETE CASCADE,\n"
    "  source_id INTEGER NOT NULL REFERENCES source (id) ON DELETE CASCADE,\n"
    "  PRIMARY KEY (link_id, source_id)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX link_source_source ON link_source (source_id);\n"
    "INSERT INTO link_source (link_id, source_id)\n"
    "  SELECT id, source_id FROM link WHERE provenance = 0 AND source_id IS "
    "NOT NULL;\n";

/* Migration 3: the technique ontology (PaNET): its terms with their names
 * (label and synonyms, for lookups by name), and the transitive closure of
 * its hierarchy (every (ancestor, descendant) pair, a term being its own
 * ancestor), so that "this technique or any narrower one" is one indexed
 * lookup, never a walk. Specifiers are the vocabulary techniques are
 * defined with (probes, processes), not techniques: a name that is both
 * ("small angle scattering") means the technique. Replaced as a whole by
 * each import. */
static const char migration_3[] =
    "CREATE TABLE technique_term (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  iri TEXT NOT NULL UNIQUE,\n"
    "  label TEXT NOT NULL,\n"
    "  synonyms TEXT,\n"
    "  definition TEXT,\n"
    "  specifier INTEGER NOT NULL DEFAULT 0\n"
    ");\n"
    "CREATE TABLE technique_term_name (\n"
    "  name TEXT NOT NULL COLLATE NOCASE,\n"
    "  term_id INTEGER NOT NULL REFERENCES technique_term (id) ON DELETE "
    "CASCADE,\n"
    "  PRIMARY KEY (name, term_id)\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE technique_closure (\n"
    "  ancestor_id INTEGER NOT NULL REFERENCES technique_term (id) ON DELETE "
    "CASCADE,\n"
    "  descendant_id INTEGER NOT NULL REFERENCES technique_term (id) ON "
    "DELETE CASCADE,\n"
    "  PRIMARY KEY (ancestor_id, descendant_id)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX technique_term_name_term ON technique_term_name "
    "(term_id);\n"
    "CREATE INDEX technique_closure_descendant ON technique_closure "
    "(descendant_id);\n";

/* Migration 4: one entity per DOI whatever the source (records are found
 * by DOI, in any letter case, when their pid is new), and each source's
 * precedence: when several sources hold the same record, the one ranked
 * highest writes its fields (docs/harvesting.md). */
static const char migration_4[] =
    "ALTER TABLE source ADD COLUMN precedence INTEGER NOT NULL DEFAULT 50;\n"
    "CREATE INDEX dataset_doi_nocase ON dataset (doi COLLATE NOCASE) WHERE doi "
    "IS "
    "NOT NULL;\n"
    "CREATE INDEX proposal_doi_nocase ON proposal (doi COLLATE NOCASE) WHERE "
    "doi IS "
    "NOT NULL;\n"
    "CREATE INDEX publication_doi_nocase ON publication (doi COLLATE NOCASE) "
    "WHERE "
    "doi IS NOT NULL;\n";

/* Migration 5: what publication PDFs give (issue 5). A publication keeps the
 * text of its PDF (full text, acknowledgements, funding) whatever source
 * wrote its metadata; mention rows say where in that text a facility, an
 * instrument, a proposal code or a data DOI was named (section, byte offset,
 * the text around it), for the matcher to use as evidence. pdf_file is the
 * pdf source's ledger: one row per location (a file or a URL) with the
 * content hash it had, so an unchanged PDF is never fetched or read twice
 * and the same bytes at two locations are extracted once. pdf_link: PDF
 * URLs that harvested records (Crossref, DataCite, Invenio) give for a
 * publication, for a pdf source with `publications = yes` to fetch. */
static const char migration_5[] =
    "ALTER TABLE publication ADD COLUMN funding TEXT;\n"
    "ALTER TABLE publication ADD COLUMN text_sha256 TEXT;\n"
    "CREATE TABLE mention (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  publication_id INTEGER NOT NULL REFERENCES publication (id) ON DELETE "
    "CASCADE,\n"
    "  kind TEXT NOT NULL,\n"
    "  value TEXT NOT NULL,\n"
    "  facility TEXT,\n"
    "  matched TEXT,\n"
    "  section TEXT,\n"
    "  offset INTEGER NOT NULL,\n"
    "  length INTEGER NOT NULL,\n"
    "  context TEXT,\n"
    "  context_at INTEGER,\n"
    "  confidence REAL\n"
    ");\n"
    "CREATE INDEX mention_publication ON mention (publication_id);\n"
    "CREATE INDEX mention_value ON mention (kind, value);\n"
    "CREATE TABLE pdf_file (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  source_id INTEGER NOT NULL REFERENCES source (id) ON DELETE CASCADE,\n"
    "  location TEXT NOT NULL,\n"
    "  sha256 TEXT,\n"
    "  size INTEGER,\n"
    "  mtime INTEGER,\n"
    "  pages INTEGER,\n"
    "  state INTEGER NOT NULL,\n"
    "  message TEXT,\n"
    "  publication_id INTEGER REFERENCES publication (id) ON DELETE SET "
    "NULL,\n"
    "  extracted_at INTEGER,\n"
    "  last_run INTEGER,\n"
    "  UNIQUE (source_id, location)\n"
    ");\n"
    "CREATE INDEX pdf_file_sha256 ON pdf_file (sha256);\n"
    "CREATE TABLE pdf_link (\n"
    "  publication_id INTEGER NOT NULL REFERENCES publication (id) ON DELETE "
    "CASCADE,\n"
    "  url TEXT NOT NULL,\n"
    "  source_id INTEGER REFERENCES source (id) ON DELETE CASCADE,\n"
    "  PRIMARY KEY (publication_id, url)\n"
    ") WITHOUT ROWID;\n";

const char *const psi_migrations[] = {migration_1, migration_2, migration_3,
                                      migration_4, migration_5};
const int psi_nmigrations =
    (int)(sizeof psi_migrations / sizeof psi_migrations[0]);
