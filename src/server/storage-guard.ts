/**
 * Mutations fail closed while storage is failing (the policy is written down in
 * src/storage/storage-health.ts). In the schema, like the role checks of operation-guard.ts, so
 * it holds for every transport: each mutation root field first asks whether the disk takes
 * writes, and a storage failure while it runs is recorded and answered as STORAGE_FULL, never
 * as an internal error.
 *
 * The same holds for the audit log on the scale deployment (Postgres, DATABASE_URL): while it is
 * known to be unreachable, a mutation is refused before it runs with UNAVAILABLE and `retryAfterMs`
 * (the code requests that need records answer), so a change that needs no records (ingestDocument:
 * Qdrant and object storage) cannot run unaudited. Reads still run; their entries go to the log.
 */
import { MapperKind, mapSchema } from '@graphql-tools/utils';
import { defaultFieldResolver, type GraphQLSchema } from 'graphql';
import type { AuditStore } from '../audit/audit-store.js';
import { DatabaseCorruptError, StorageFullError, type StorageHealth } from '../storage/storage-health.js';

export function guardWrites(schema: GraphQLSchema, storage: StorageHealth, audit: Pick<AuditStore, 'assertRecording'>): GraphQLSchema {
  return mapSchema(schema, {
    [MapperKind.MUTATION_ROOT_FIELD]: (field, fieldName) => {
      const inner = field.resolve ?? defaultFieldResolver;
      return {
        ...field,
        resolve: async (source, args, context, info) => {
          await storage.assertWritable();
          await audit.assertRecording?.();
          try {
            return await inner(source, args, context, info);
          } catch (error) {
            const failure = storage.noteFailure(error, fieldName);
            if (failure === null) throw error;
            if (failure.kind === 'damage') throw new DatabaseCorruptError(`${fieldName} failed: the knowledge base is damaged; an operator must restore it (the server log says which file and how).`, { cause: error });
            throw new StorageFullError(`${fieldName} could not be stored: ${failure.cause}. Nothing was changed; reads still work. Try again once space is freed.`, { cause: error });
          }
        },
      };
    },
  });
}
