/**
 * Numbered schema migrations of the SQLite knowledge store, recorded in `PRAGMA user_version`.
 * Each runs in its own IMMEDIATE transaction together with the version bump, so a crash
 * mid-migration leaves the previous version, and two processes opening one file at once run
 * each migration exactly once. Never edit a released migration: append a new one.
 */
import type Database from 'better-sqlite3';
import { StoreSchemaTooNewError } from '../store-errors.js';

/** The lexical index's tokenizer (migration 1); lexical-top-k.ts tokenizes with it too. Never change it in place. */
export const LEXICAL_TOKENIZE = 'porter unicode61 remove_diacritics 2';

export interface Migration {
  version: number;
  description: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'documents, photos, targets (pages and photos), chunks, vectors and 1-bit codes, identifiers, FTS5',
    sql: `
      -- Store-wide facts: vector size and model (checked at every start), quantization centres.
      CREATE TABLE meta (
        key TEXT PRIMARY KEY NOT NULL,
        value ANY
      ) STRICT;

      CREATE TABLE documents (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        title TEXT NOT NULL,
        kind TEXT NOT NULL,
        mime_type TEXT NOT NULL,
        content_hash TEXT NOT NULL UNIQUE,
        byte_size INTEGER NOT NULL,
        page_count INTEGER NOT NULL,
        metadata TEXT NOT NULL CHECK (json_valid(metadata)),
        blob_key TEXT NOT NULL,
        created_at TEXT NOT NULL,
        -- created_at as epoch ms: ISO strings of different precision do not sort as text.
        created_ms INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX documents_newest ON documents (created_ms DESC, id DESC);
      CREATE INDEX documents_blob ON documents (blob_key);

      CREATE TABLE photos (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        caption TEXT,
        metadata TEXT NOT NULL CHECK (json_valid(metadata)),
        content_hash TEXT NOT NULL UNIQUE,
        mime_type TEXT NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        blob_key TEXT NOT NULL,
        created_at TEXT NOT NULL
      ) STRICT;
      CREATE INDEX photos_blob ON photos (blob_key);

      -- What a hit points at: a page of a document, or a photo (a photo is one "page" of its
      -- own). Chunks, image vectors, identifiers and the lexical index all hang off a target,
      -- and deleting a document or photo cascades through it.
      CREATE TABLE targets (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        document_seq INTEGER REFERENCES documents (seq) ON DELETE CASCADE,
        page_number INTEGER,
        photo_seq INTEGER REFERENCES photos (seq) ON DELETE CASCADE,
        -- The document's kind, or 'photo': kind filters without a join.
        source_kind TEXT NOT NULL,
        -- Page text or photo caption ('' when none): what BM25 reads.
        text TEXT NOT NULL,
        thumbnail_key TEXT,
        CHECK ((document_seq IS NOT NULL AND page_number >= 1 AND photo_seq IS NULL)
            OR (photo_seq IS NOT NULL AND document_seq IS NULL AND page_number IS NULL))
      ) STRICT;
      CREATE UNIQUE INDEX targets_page ON targets (document_seq, page_number);
      CREATE UNIQUE INDEX targets_photo ON targets (photo_seq);
      CREATE INDEX targets_thumbnail ON targets (thumbnail_key) WHERE thumbnail_key IS NOT NULL;

      CREATE TABLE chunks (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        target_id INTEGER NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
        ordinal INTEGER NOT NULL,
        text TEXT NOT NULL
      ) STRICT;
      CREATE INDEX chunks_target ON chunks (target_id);

      -- L2-normalised float32 vectors (exact scores), and 1-bit codes relative to the space's
      -- centre (the in-memory coarse pass; kept apart so loading them reads ~80 bytes a row).
      CREATE TABLE chunk_vectors (
        chunk_id INTEGER PRIMARY KEY REFERENCES chunks (id) ON DELETE CASCADE,
        vector BLOB NOT NULL
      ) STRICT;
      CREATE TABLE chunk_codes (
        chunk_id INTEGER PRIMARY KEY REFERENCES chunks (id) ON DELETE CASCADE,
        target_id INTEGER NOT NULL,
        code BLOB NOT NULL
      ) STRICT;
      CREATE TABLE image_vectors (
        target_id INTEGER PRIMARY KEY REFERENCES targets (id) ON DELETE CASCADE,
        vector BLOB NOT NULL
      ) STRICT;
      CREATE TABLE image_codes (
        target_id INTEGER PRIMARY KEY REFERENCES targets (id) ON DELETE CASCADE,
        code BLOB NOT NULL
      ) STRICT;

      -- Identifiers by normalised key (normalizeIdentifier), with the spelling found.
      CREATE TABLE identifiers (
        key TEXT NOT NULL,
        target_id INTEGER NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
        display TEXT NOT NULL,
        PRIMARY KEY (key, target_id)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX identifiers_target ON identifiers (target_id);

      -- BM25 over targets.text (external content: the text is stored once), kept in step by
      -- triggers, which also fire for rows removed by ON DELETE CASCADE.
      CREATE VIRTUAL TABLE lexical USING fts5 (
        text,
        content = 'targets',
        content_rowid = 'id',
        tokenize = '${LEXICAL_TOKENIZE}'
      );
      CREATE TRIGGER targets_lexical_insert AFTER INSERT ON targets BEGIN
        INSERT INTO lexical (rowid, text) VALUES (new.id, new.text);
      END;
      CREATE TRIGGER targets_lexical_delete AFTER DELETE ON targets BEGIN
        INSERT INTO lexical (lexical, rowid, text) VALUES ('delete', old.id, old.text);
      END;
      CREATE TRIGGER targets_lexical_update AFTER UPDATE OF text ON targets BEGIN
        INSERT INTO lexical (lexical, rowid, text) VALUES ('delete', old.id, old.text);
        INSERT INTO lexical (rowid, text) VALUES (new.id, new.text);
      END;
    `,
  },
  {
    version: 2,
    description: 'difference hashes of page renders and photos, banded for near-copy lookups',
    sql: `
      -- Difference hashes (64 bits, 16 hex digits) of page renders and photos, with the hash cut
      -- into eight 8-bit bands, each indexed: any hash within 7 bits of a query agrees with it on
      -- at least one band, so a near-copy lookup reads a few index ranges, never every hash
      -- (multi-index hashing; see identify/perceptual-hash.ts).
      CREATE TABLE image_hashes (
        target_id INTEGER PRIMARY KEY REFERENCES targets (id) ON DELETE CASCADE,
        hash TEXT NOT NULL,
        b0 INTEGER NOT NULL, b1 INTEGER NOT NULL, b2 INTEGER NOT NULL, b3 INTEGER NOT NULL,
        b4 INTEGER NOT NULL, b5 INTEGER NOT NULL, b6 INTEGER NOT NULL, b7 INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX image_hashes_b0 ON image_hashes (b0);
      CREATE INDEX image_hashes_b1 ON image_hashes (b1);
      CREATE INDEX image_hashes_b2 ON image_hashes (b2);
      CREATE INDEX image_hashes_b3 ON image_hashes (b3);
      CREATE INDEX image_hashes_b4 ON image_hashes (b4);
      CREATE INDEX image_hashes_b5 ON image_hashes (b5);
      CREATE INDEX image_hashes_b6 ON image_hashes (b6);
      CREATE INDEX image_hashes_b7 ON image_hashes (b7);
    `,
  },
  {
    version: 3,
    description: 'what was read on photos (OCR and codes) and where page text came from (file, OCR, none)',
    sql: `
      -- The photo's ReadText as JSON (text, identifiers, regions, codes); NULL: nothing was read.
      ALTER TABLE photos ADD COLUMN read_text TEXT CHECK (read_text IS NULL OR json_valid(read_text));
      -- A page's text source: 'file', 'ocr' or 'none' (NULL for photo targets). Pages stored
      -- before OCR existed got their text from the file, or have none.
      ALTER TABLE targets ADD COLUMN text_source TEXT CHECK (text_source IS NULL OR text_source IN ('file', 'ocr', 'none'));
      UPDATE targets SET text_source = CASE WHEN trim(text) = '' THEN 'none' ELSE 'file' END WHERE document_seq IS NOT NULL;
    `,
  },
  {
    version: 4,
    description: 'layout signatures of mostly white page renders and photos, SimHash-keyed in bands',
    sql: `
      -- Layout signatures (64×64 greyscale, 4,096 bytes) of images whose difference hash is
      -- uninformative (pages of text, scans), with a 64-bit SimHash key cut into eight indexed
      -- 8-bit bands for the lookup, as for image_hashes (see identify/page-layout.ts).
      CREATE TABLE image_layouts (
        target_id INTEGER PRIMARY KEY REFERENCES targets (id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        signature BLOB NOT NULL,
        b0 INTEGER NOT NULL, b1 INTEGER NOT NULL, b2 INTEGER NOT NULL, b3 INTEGER NOT NULL,
        b4 INTEGER NOT NULL, b5 INTEGER NOT NULL, b6 INTEGER NOT NULL, b7 INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX image_layouts_b0 ON image_layouts (b0);
      CREATE INDEX image_layouts_b1 ON image_layouts (b1);
      CREATE INDEX image_layouts_b2 ON image_layouts (b2);
      CREATE INDEX image_layouts_b3 ON image_layouts (b3);
      CREATE INDEX image_layouts_b4 ON image_layouts (b4);
      CREATE INDEX image_layouts_b5 ON image_layouts (b5);
      CREATE INDEX image_layouts_b6 ON image_layouts (b6);
      CREATE INDEX image_layouts_b7 ON image_layouts (b7);
    `,
  },
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

function userVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Brings the schema to the latest version; returns the versions applied (empty when current). */
export function runMigrations(db: Database.Database, file: string): number[] {
  const applied: number[] = [];
  const found = userVersion(db);
  if (found > LATEST_SCHEMA_VERSION) throw new StoreSchemaTooNewError(file, found, LATEST_SCHEMA_VERSION);
  for (const migration of MIGRATIONS) {
    if (migration.version <= found) continue;
    db.transaction(() => {
      // Re-read under the write lock: another process may have migrated meanwhile.
      if (userVersion(db) >= migration.version) return;
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
      applied.push(migration.version);
    }).immediate();
  }
  return applied;
}
