/**
 * Who may call what. Checked once per operation on its top-level fields, before anything runs.
 * A field missing from the table is admin-only, so a new operation is closed until it is listed.
 */
import type { Role } from './api-keys.js';

const RANK: Record<Role, number> = { technician: 1, agent: 2, admin: 3 };

/** The least role that may call each top-level field. */
export const FIELD_ROLES: Record<string, Role> = {
  // technician: search, ask, identify, caption, embeddings, own feedback
  health: 'technician',
  me: 'technician',
  embedText: 'technician',
  embedImage: 'technician',
  embedImages: 'technician',
  readText: 'technician',
  search: 'technician',
  document: 'technician',
  documents: 'technician',
  photo: 'technician',
  ask: 'technician',
  askStream: 'technician',
  caption: 'technician',
  identifyPart: 'technician',
  tagImage: 'technician',
  similarPhotos: 'technician',
  confirmPart: 'technician',
  undoFeedback: 'technician',
  __typename: 'technician',
  // agent: that plus the review queue
  reviewQueue: 'agent',
  claimReview: 'agent',
  resolveReview: 'agent',
  // admin: ingest, delete, keys, audit
  ingestDocument: 'admin',
  ingestPhoto: 'admin',
  deleteDocument: 'admin',
  deletePhoto: 'admin',
  auditLog: 'admin',
  __schema: 'technician',
  __type: 'technician',
};

export function mayCall(role: Role, field: string): boolean {
  const needed = FIELD_ROLES[field] ?? 'admin';
  return RANK[role] >= RANK[needed];
}

export function atLeast(role: Role, needed: Role): boolean {
  return RANK[role] >= RANK[needed];
}
