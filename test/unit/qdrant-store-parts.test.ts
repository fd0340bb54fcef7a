/**
 * The pure parts of the Qdrant store: BM25 sparse vectors, search filters, point ids, retry
 * classification, and start-up retries of the store factory.
 */
import { QdrantClientResourceExhaustedError, QdrantClientTimeoutError } from '@qdrant/js-client-rest';
import { describe, expect, it } from 'vitest';
import { UnavailableError } from '../../src/errors.js';
import { createKnowledgeStore, initStoreWithRetry } from '../../src/store/create-store.js';
import type { KnowledgeStore } from '../../src/store/knowledge-store.js';
import { pointIds, uuidV5 } from '../../src/store/qdrant/point-ids.js';
import { searchFilterConditions } from '../../src/store/qdrant/qdrant-filter.js';
import { QdrantKnowledgeStore } from '../../src/store/qdrant/qdrant-knowledge-store.js';
import { backoffMs, callWithRetry, classifyQdrantError } from '../../src/store/qdrant/qdrant-retry.js';
import { documentSparseVector, lexicalTerms, querySparseVector, stem, termId } from '../../src/store/qdrant/sparse-bm25.js';
import { SqliteKnowledgeStore } from '../../src/store/sqlite/sqlite-knowledge-store.js';
import { VectorSizeMismatchError } from '../../src/store/store-errors.js';

describe('BM25 sparse vectors', () => {
  it('keeps part numbers whole and in pieces, folds case and accents, stems plurals', () => {
    expect(lexicalTerms('Order 4471-B for the Pumps, café')).toEqual(['order', '4471-b', '4471', 'b', 'for', 'the', 'pump', 'cafe']);
    expect(stem('batteries')).toBe('battery');
    expect(stem('valves')).toBe('valve');
    expect(stem('glass')).toBe('glass');
    expect(stem('draining')).toBe('drain');
  });

  it('term ids are a fixed 31-bit hash (changing it means re-ingesting every collection)', () => {
    // FNV-1a 32 (values from an independent implementation), top bit cleared.
    expect([termId(''), termId('pump'), termId('4471-b')]).toEqual([18652613, 321874795, 2043311070]);
    for (const t of ['a', 'zzzz', 'ünïcode']) expect(termId(t)).toBeLessThan(2 ** 31);
  });

  it('document vectors: sorted unique indices, saturating term frequency, shorter pages weigh more', () => {
    const v = documentSparseVector('pump pump pump seal')!;
    expect(v.indices).toEqual([...v.indices].sort((a, b) => a - b));
    expect(new Set(v.indices).size).toBe(v.indices.length);
    const weight = (vec: { indices: number[]; values: number[] }, term: string) => vec.values[vec.indices.indexOf(termId(term))]!;
    expect(weight(v, 'pump')).toBeGreaterThan(weight(v, 'seal'));
    expect(weight(v, 'pump')).toBeLessThan(3 * weight(v, 'seal'));
    const long = documentSparseVector(`seal ${'filler '.repeat(500)}`)!;
    expect(weight(long, 'seal')).toBeLessThan(weight(v, 'seal'));
    expect(documentSparseVector('  -- ')).toBeNull();
  });

  it('query vectors: weight 1 per distinct term, stopwords dropped unless nothing else is left', () => {
    const q = querySparseVector('How do I replace the pumps?')!;
    expect(q.words).toEqual(['replace', 'pumps']);
    expect(q.vector.indices).toEqual([termId('replace'), termId('pump')].sort((a, b) => a - b));
    expect(q.vector.values).toEqual([1, 1]);
    expect(querySparseVector('the')!.words).toEqual(['the']);
    expect(querySparseVector('"*" AND( \u0000')!.words).toEqual(['and']);
    expect(querySparseVector('-- ()')).toBeNull();
  });
});

describe('search filters', () => {
  it('become conditions inside the query; empty lists match nothing; bad filters are INVALID_FILTER', () => {
    expect(searchFilterConditions(undefined)).toEqual([]);
    expect(searchFilterConditions({ documentIds: ['a', 'a', 'b'], kinds: ['pdf'], metadata: { site: 'north', line: 1, ok: true, gone: null } })).toEqual([
      { key: 'document_id', match: { any: ['a', 'b'] } },
      { key: 'kind', match: { any: ['pdf'] } },
      { key: 'metadata_terms', match: { value: '["site","north"]' } },
      { key: 'metadata_terms', match: { value: '["line",1]' } },
      { key: 'metadata_terms', match: { value: '["ok",true]' } },
      { key: 'metadata_terms', match: { value: '["gone",null]' } },
    ]);
    expect(searchFilterConditions({ documentIds: [] })).toBe('nothing');
    expect(searchFilterConditions({ kinds: [] })).toBe('nothing');
    expect(() => searchFilterConditions({ metadata: { 'a"b': 1 } })).toThrow(expect.objectContaining({ code: 'INVALID_FILTER' }));
    expect(() => searchFilterConditions({ metadata: { x: [1] } })).toThrow(expect.objectContaining({ code: 'INVALID_FILTER' }));
  });
});

describe('point ids', () => {
  it('are stable version-5 UUIDs that separate tenants and records', () => {
    // RFC 9562 UUIDv5 (value from Python's uuid.uuid5 with the same namespace and name).
    expect(pointIds.page('t', 'doc', 1)).toBe('f11b66b3-f301-5c6f-8789-88d8631bda60');
    expect(uuidV5('a', 'b')).not.toBe(uuidV5('a', 'b', ''));
    expect(pointIds.page('t1', 'doc', 1)).not.toBe(pointIds.page('t2', 'doc', 1));
    expect(pointIds.pageChunk('t', 'doc', 1, 0)).not.toBe(pointIds.pageChunk('t', 'doc', 10, 0));
    expect(pointIds.documentRecord('t', 'hash')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('retries', () => {
  const policy = { maxRetries: 3, baseDelayMs: 100, maxDelayMs: 1000, maxRetryAfterMs: 10_000 };
  const target = { url: 'http://q:6333', collection: 'c', operation: 'query_points', timeoutMs: 500 };

  it('retry 429/5xx/timeouts/connection failures, not other 4xx', () => {
    expect(classifyQdrantError(new QdrantClientResourceExhaustedError('x', '3'), 1)).toMatchObject({ retryable: true, status: 429, retryAfterMs: 3000 });
    expect(classifyQdrantError(new QdrantClientTimeoutError('x'), 500)).toMatchObject({ retryable: true, timedOut: true, reason: 'no answer within 500 ms' });
    expect(classifyQdrantError({ status: 503, data: { status: { error: 'busy' } } }, 1)).toMatchObject({ retryable: true, status: 503, reason: 'busy' });
    expect(classifyQdrantError({ status: 400, data: { status: { error: 'Wrong input' } } }, 1)).toMatchObject({ retryable: false, status: 400 });
    expect(classifyQdrantError(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }), 1)).toMatchObject({ retryable: true, reason: 'connection failed (ECONNREFUSED)' });
    expect(classifyQdrantError(new RangeError('bug'), 1)).toMatchObject({ retryable: false });
  });

  it('back off exponentially with jitter, capped, waiting at least the retry-after', async () => {
    expect(backoffMs(policy, 0, () => 0)).toBe(50);
    expect(backoffMs(policy, 0, () => 1)).toBe(100);
    expect(backoffMs(policy, 10, () => 1)).toBe(1000);
    const waits: number[] = [];
    let calls = 0;
    const result = await callWithRetry(
      target,
      policy,
      async () => {
        calls += 1;
        if (calls === 1) throw new QdrantClientResourceExhaustedError('limited', '2');
        if (calls === 2) throw { status: 502, statusText: 'Bad Gateway' };
        return 'ok';
      },
      async (ms) => void waits.push(ms),
    );
    expect(result).toBe('ok');
    expect(waits[0]).toBeGreaterThanOrEqual(2000);
    expect(waits[1]).toBeLessThanOrEqual(200);
  });

  it('a request that timed out is retried once, other failures maxRetries times', async () => {
    const run = async (fail: (call: number) => unknown) => {
      let calls = 0;
      const error = await callWithRetry(
        target,
        policy,
        async () => {
          throw fail(++calls);
        },
        async () => {},
      ).catch((e: unknown) => e);
      return { calls, error };
    };
    const hanging = await run(() => new QdrantClientTimeoutError('x'));
    expect(hanging.calls).toBe(2);
    expect(hanging.error).toMatchObject({ code: 'QDRANT_UNAVAILABLE', details: { attempts: 2 } });
    expect((hanging.error as Error).message).toMatch(/no answer within 500 ms \(a request that timed out is retried only once\); gave up after 2 attempts/);
    const failing = await run(() => ({ status: 503, statusText: 'Service Unavailable' }));
    expect(failing.calls).toBe(1 + policy.maxRetries);
    expect(failing.error).toMatchObject({ code: 'QDRANT_UNAVAILABLE', details: { attempts: 4, status: 503 } });
    // One timeout among 5xx answers leaves the other retries: 503, timeout, 503, 503 (the last allowed).
    const mixed = await run((call) => (call === 2 ? new QdrantClientTimeoutError('x') : { status: 503 }));
    expect(mixed.calls).toBe(1 + policy.maxRetries);
    // With no retries at all, a timeout is not retried either.
    const none = await callWithRetry(target, { ...policy, maxRetries: 0 }, async () => {
      throw new QdrantClientTimeoutError('x');
    }).catch((e: unknown) => e);
    expect(none).toMatchObject({ details: { attempts: 1 } });
  });

  it('a programming error is not retried and stays itself', async () => {
    let calls = 0;
    const bug = new RangeError('bug');
    await expect(
      callWithRetry(target, policy, async () => {
        calls += 1;
        throw bug;
      }),
    ).rejects.toBe(bug);
    expect(calls).toBe(1);
  });
});

describe('createKnowledgeStore and initStoreWithRetry', () => {
  it('builds the configured store without I/O', () => {
    expect(createKnowledgeStore({ kind: 'sqlite', dataDir: '/nonexistent', dim: 8, modelId: 'm' })).toBeInstanceOf(SqliteKnowledgeStore);
    const q = createKnowledgeStore({ kind: 'qdrant', dataDir: '/nonexistent', dim: 8, modelId: 'm', qdrant: { url: 'http://127.0.0.1:1', collectionPrefix: 'x_' } });
    expect(q).toBeInstanceOf(QdrantKnowledgeStore);
    expect(() => createKnowledgeStore({ kind: 'qdrant', dataDir: '/x', dim: 8, modelId: 'm' })).toThrow(/QDRANT_URL/);
  });

  function flaky(failures: Error[]): KnowledgeStore {
    return { init: async () => {
      const next = failures.shift();
      if (next) throw next;
    } } as KnowledgeStore;
  }

  it('retries an unreachable store with growing waits, reporting each attempt', async () => {
    const waits: number[] = [];
    const reported: number[] = [];
    await initStoreWithRetry(flaky([new UnavailableError('down'), new UnavailableError('down'), new UnavailableError('down')]), {
      initialDelayMs: 100,
      maxDelayMs: 250,
      sleep: async (ms) => void waits.push(ms),
      onRetry: (_e, attempt) => reported.push(attempt),
    });
    expect(waits).toEqual([100, 200, 250]);
    expect(reported).toEqual([1, 2, 3]);
  });

  it('fails at once on a configuration error (waiting cannot fix it)', async () => {
    const mismatch = new VectorSizeMismatchError('q', 512, 768);
    await expect(initStoreWithRetry(flaky([mismatch]), { sleep: async () => {} })).rejects.toBe(mismatch);
  });
});
