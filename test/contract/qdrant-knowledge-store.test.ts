/**
 * The shared KnowledgeStore contract on the Qdrant store:
 * - always, against the fake Qdrant (a local HTTP server that validates every request against
 *   Qdrant's official OpenAPI schema and answers from a small in-memory implementation);
 * - against a REAL Qdrant when QDRANT_URL is set (`npm run test:qdrant`; QDRANT_API_KEY if the
 *   server wants one). Each store gets its own collection prefix, deleted afterwards.
 */
import { randomBytes } from 'node:crypto';
import { QdrantClient } from '@qdrant/js-client-rest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QdrantKnowledgeStore } from '../../src/store/qdrant/qdrant-knowledge-store.js';
import { describeWithQdrantSchema, startFakeQdrant, type FakeQdrant } from '../helpers/fake-qdrant.js';
import { CONTRACT_DIM, CONTRACT_MODEL_ID, defineKnowledgeStoreContract } from './knowledge-store.contract.js';

let serial = 0;
function uniquePrefix(): string {
  serial += 1;
  return `contract_${serial}_${randomBytes(3).toString('hex')}_`;
}

describeWithQdrantSchema('Qdrant store on the schema-checking fake Qdrant', () => {
  let fake: FakeQdrant;
  beforeAll(async () => {
    fake = await startFakeQdrant();
  });
  afterAll(async () => {
    await fake.close();
  });

  defineKnowledgeStoreContract('Qdrant (fake server)', async () => {
    const store = new QdrantKnowledgeStore({ url: fake.url, collectionPrefix: uniquePrefix(), dim: CONTRACT_DIM, modelId: CONTRACT_MODEL_ID, upsertBatchSize: 16 });
    await store.init();
    return {
      store,
      cleanup: async () => {
        await store.close();
        fake.engine.deleteCollection(store.collection);
      },
    };
  });

  describe('what the contract sent', () => {
    it('every request matched Qdrant’s schema, and every answer of the fake did too', () => {
      expect(fake.requests.length).toBeGreaterThan(100);
      expect(fake.schemaErrors).toEqual([]);
      expect(fake.responseErrors).toEqual([]);
    });
  });
});

const liveUrl = process.env.QDRANT_URL;
if (liveUrl) {
  const apiKey = process.env.QDRANT_API_KEY || undefined;
  const admin = new QdrantClient({ url: liveUrl, apiKey, checkCompatibility: false, timeout: 30_000 });
  defineKnowledgeStoreContract(`Qdrant (live server at ${liveUrl})`, async () => {
    const store = new QdrantKnowledgeStore({ url: liveUrl, apiKey, collectionPrefix: `fieldscope_test_${uniquePrefix()}`, dim: CONTRACT_DIM, modelId: CONTRACT_MODEL_ID, timeoutMs: 30_000 });
    await store.init();
    return {
      store,
      cleanup: async () => {
        await store.close();
        await admin.deleteCollection(store.collection);
      },
    };
  });
} else {
  describe.skip('Qdrant store on a live Qdrant (set QDRANT_URL, run `npm run test:qdrant`)', () => {
    it('runs the contract against a real server', () => {});
  });
}
