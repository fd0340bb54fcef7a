/**
 * The Postgres schema of the shared records, as numbered migrations (applied once each, in order,
 * recorded in `fieldscope_migrations`; see PostgresDatabase.init). Never edit a released
 * migration: add the next one.
 *
 * Every table carries `tenant`, part of every key, and every query filters on it: tenants share
 * the tables, never rows. Times are ISO-8601 text, as in the SQLite stores, so both round-trip
 * the same strings and sort the same way.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'identify records and audit log',
    sql: `
CREATE TABLE identifications (
  tenant text NOT NULL, id text NOT NULL, photo_id text, image_vector bytea NOT NULL, candidates jsonb NOT NULL,
  confident boolean NOT NULL, created_at text NOT NULL,
  PRIMARY KEY (tenant, id)
);
CREATE INDEX identifications_created ON identifications (tenant, created_at);

CREATE TABLE feedback (
  tenant text NOT NULL, id text NOT NULL, label text NOT NULL, photo_id text, identification_id text,
  image_vector bytea NOT NULL, given_by text NOT NULL, created_at text NOT NULL, undone_at text,
  PRIMARY KEY (tenant, id)
);
CREATE INDEX feedback_active ON feedback (tenant, created_at, id) WHERE undone_at IS NULL;

CREATE TABLE review_items (
  seq bigserial NOT NULL, tenant text NOT NULL, id text NOT NULL, kind text NOT NULL, status text NOT NULL,
  identification_id text, photo_id text, reason text NOT NULL, created_at text NOT NULL,
  claimed_by text, claimed_at text, resolved_by text, resolved_at text, resolution_label text, resolution_note text, feedback_id text,
  PRIMARY KEY (tenant, id)
);
CREATE INDEX review_items_order ON review_items (tenant, seq);
CREATE INDEX review_items_status ON review_items (tenant, status, seq);

CREATE TABLE photo_hashes (
  tenant text NOT NULL, photo_id text NOT NULL, hash text NOT NULL, duplicate_of text,
  PRIMARY KEY (tenant, photo_id)
);

-- The audit log: seq numbers each tenant's entries 1, 2, 3 … (audit_counters hands them out
-- under a row lock, in the inserting transaction, so a rolled-back insert leaves no gap).
CREATE TABLE audit_entries (
  tenant text NOT NULL, seq bigint NOT NULL, at text NOT NULL, key_name text NOT NULL, role text NOT NULL,
  operation text NOT NULL, operation_name text, outcome text NOT NULL, query text,
  document_ids jsonb NOT NULL, photo_ids jsonb NOT NULL, duration_ms integer NOT NULL,
  PRIMARY KEY (tenant, seq)
);
CREATE INDEX audit_entries_key ON audit_entries (tenant, key_name, seq);
CREATE TABLE audit_counters (tenant text PRIMARY KEY, last_seq bigint NOT NULL);

-- Append-only, enforced by the database itself, whoever connects.
CREATE FUNCTION fieldscope_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the audit log is append-only';
END
$$;
CREATE TRIGGER audit_entries_no_change BEFORE UPDATE OR DELETE ON audit_entries FOR EACH ROW EXECUTE FUNCTION fieldscope_audit_append_only();
CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries FOR EACH STATEMENT EXECUTE FUNCTION fieldscope_audit_append_only();
`,
  },
  {
    version: 2,
    name: 'audit entries record the client address',
    sql: `ALTER TABLE audit_entries ADD COLUMN client_address text;`,
  },
  {
    version: 3,
    name: 'rate-limit buckets shared by replicas',
    // One row per client (key:<name> or ip:<address>) seen within a refill period (postgres-rate-buckets.ts).
    sql: `CREATE TABLE rate_buckets (key text PRIMARY KEY, tokens double precision NOT NULL, updated_at timestamptz NOT NULL);`,
  },
];
