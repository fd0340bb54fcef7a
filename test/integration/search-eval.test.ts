/**
 * `fieldscope eval search` on the project's labelled set (demo/search-eval), with the bundled
 * random-weight test model, on the SQLite store and on the schema-validating Qdrant double: the
 * CI gate for search quality (fused recall@3 ≥ 0.9), and the situations of issue 11 as named
 * queries of the set. On this model the dense signals carry no meaning, so these hold only if
 * lexical, identifier and near-copy evidence win the fusion.
 *
 * Also: a bad set is refused line by line with exit code 2 before anything is ingested.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SEARCH_SET, runSearchEvalCommand, type SearchEvalReport } from '../../src/cli/eval-search.js';
import { describeWithQdrantSchema, startFakeQdrant, type FakeQdrant } from '../helpers/fake-qdrant.js';
import { TINY_MODEL_DIR } from '../helpers/server.js';

const userDataDir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-search-eval-user-'));
const env = { CLIP_MODEL: TINY_MODEL_DIR, DATA_DIR: userDataDir, CLIP_TEXT_THREADS: '1', CLIP_IMAGE_THREADS: '1', LOG_LEVEL: 'error' };

function sink() {
  let text = '';
  return { stream: { write: (chunk: string) => ((text += chunk), true), isTTY: false }, text: () => text };
}

async function run(args: string[], extraEnv: Record<string, string> = {}) {
  const out = sink();
  const err = sink();
  const code = await runSearchEvalCommand(args, { stdout: out.stream, stderr: err.stream, env: { ...env, ...extraEnv } });
  return { code, stdout: out.text(), stderr: err.text() };
}

afterAll(() => rmSync(userDataDir, { recursive: true, force: true }));

function rankOf(report: SearchEvalReport, id: string): number | null {
  const outcome = report.outcomes.find((o) => o.id === id);
  if (!outcome) throw new Error(`query ${id} is not in the set`);
  return outcome.rank;
}

function expectIssueSituations(report: SearchEvalReport): void {
  // The only page with these words (a Markdown fault-code page) was 5th; the HTML SOP 4th.
  expect(rankOf(report, 'kw-01')).toBe(1);
  expect(rankOf(report, 'kw-02')).toBe(1);
  // An exact part number wins.
  expect(rankOf(report, 'id-01')).toBe(1);
  // A WebP re-encode of a reference photo returns that photo first.
  expect(rankOf(report, 'img-03')).toBe(1);
  expect(rankOf(report, 'img-06')).toBe(1);
  // The scanned work order's own image, and its JPEG re-encode, find the image-only page first
  // (layout signature: the test model scores every page render alike, and the page's difference hash is uninformative).
  expect(rankOf(report, 'img-13')).toBe(1);
  expect(rankOf(report, 'img-14')).toBe(1);
}

describe('fieldscope eval search on SQLite', () => {
  let report: SearchEvalReport;
  let stderr: string;
  beforeAll(async () => {
    const result = await run(['--json', '--min-recall3', '0.9']);
    stderr = result.stderr;
    expect(result.code, result.stderr).toBe(0);
    report = JSON.parse(result.stdout) as SearchEvalReport;
  }, 180_000);

  it('measures the project set: every query, both splits, fused and per signal', () => {
    expect(report.set).toBe(DEFAULT_SEARCH_SET);
    expect(report.model.isTestModel).toBe(true);
    expect(report.queries).toBeGreaterThanOrEqual(50);
    expect(report.metrics.tune.fused!.queries + report.metrics.heldout.fused!.queries).toBe(report.queries);
    expect(Object.keys(report.metrics.all.signals).sort()).toEqual(['CROSS_MODAL', 'IDENTIFIER', 'KEYWORD', 'SEMANTIC', 'VISUAL']);
    expect(stderr).not.toMatch(/below/);
  });

  it('ranks an expected target in the fused top 3 for at least 90% of the queries, held-out half included', () => {
    expect(report.metrics.all.fused!.recall[3]).toBeGreaterThanOrEqual(0.9);
    expect(report.metrics.heldout.fused!.recall[3]).toBeGreaterThanOrEqual(0.85);
    expect(report.misses.length).toBe(report.outcomes.filter((o) => o.rank === null || o.rank > 3).length);
  });

  it('puts the strongest evidence first in the situations of issue 11', () => {
    expectIssueSituations(report);
  });

  it('fuses better than reciprocal-rank fusion did on the same lists', async () => {
    const rrf = await run(['--json', '--fusion', 'rrf']);
    expect(rrf.code, rrf.stderr).toBe(0);
    const baseline = JSON.parse(rrf.stdout) as SearchEvalReport;
    expect(baseline.fusion).toBe('rrf');
    // The per-signal lists are the same; only the fusion differs.
    expect(baseline.metrics.all.signals.KEYWORD).toEqual(report.metrics.all.signals.KEYWORD);
    expect(report.metrics.all.fused!.recall[3]).toBeGreaterThan(baseline.metrics.all.fused!.recall[3] + 0.2);
    // Situations of issue 11 that rank-only fusion still gets wrong on these lists: the page
    // holding the exact words is not first, and a near-copy photo is not in the top 3. (kw-01 was
    // the example until the KEYWORD list became exact BM25 over every term: RRF now ranks it first too.)
    expect(rankOf(baseline, 'kw-02') ?? 11).toBeGreaterThan(1);
    expect(rankOf(baseline, 'img-06') ?? 11).toBeGreaterThan(3);
  }, 180_000);
});

describeWithQdrantSchema('fieldscope eval search on Qdrant (the schema-validating double)', () => {
  let qdrant: FakeQdrant;
  beforeAll(async () => {
    qdrant = await startFakeQdrant();
  });
  afterAll(async () => {
    await qdrant.close();
  });

  it('gives the same fused figures as SQLite, in a throwaway collection it deletes afterwards', async () => {
    const result = await run(['--json', '--store', 'qdrant', '--min-recall3', '0.9'], { QDRANT_URL: qdrant.url });
    expect(result.code, result.stderr).toBe(0);
    expect(qdrant.schemaErrors).toEqual([]);
    const report = JSON.parse(result.stdout) as SearchEvalReport;
    expect(report.store).toBe('qdrant');
    expect(report.metrics.all.fused!.recall[3]).toBeGreaterThanOrEqual(0.9);
    expectIssueSituations(report);
    expect([...qdrant.engine.collections.keys()].filter((name) => name.includes('eval_'))).toEqual([]);
    // Each search was ONE Query API request (a batch of one query per signal), never a request per signal.
    const batches = qdrant.requests.filter((r) => r.operation === 'query_batch_points');
    expect(batches).toHaveLength(report.queries);
    expect(qdrant.requests.filter((r) => r.operation === 'query_points_groups')).toHaveLength(0);
    const sizes = batches.map((r) => ((r.body as { searches: unknown[] }).searches ?? []).length);
    // text: chunks, images, BM25 (+ identifiers); image: images, chunks, and hash bands (informative hash) or layout bands (a mostly white image),
    // or both for an image near the boundary (page-layout.ts queryNearCopyKeys); both text and image: all of them.
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(3);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(8);
    // Layout lookups (the scan queries) bring back keys only; the 4 KB signatures of near keys come in a get_points request.
    const searches = batches.flatMap((r) => (r.body as { searches: { with_payload?: unknown }[] }).searches);
    expect(searches.filter((q) => JSON.stringify(q.with_payload) === '["image_layout_key"]').length).toBeGreaterThan(0);
    expect(searches.some((q) => JSON.stringify(q.with_payload ?? []).includes('"image_layout"'))).toBe(false);
    expect(qdrant.requests.filter((r) => r.operation === 'get_points').length).toBeGreaterThan(0);
  }, 240_000);
});

describe('fieldscope eval search refuses a bad set', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-bad-set-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lists every bad line with its number and exits 2 without ingesting anything', async () => {
    writeFileSync(path.join(dir, 'corpus.json'), JSON.stringify({ documents: ['missing.pdf', 'manual.md'], photos: [] }));
    writeFileSync(path.join(dir, 'manual.md'), '# Manual\n\nSome text.\n');
    writeFileSync(
      path.join(dir, 'queries.jsonl'),
      [
        '{"id":"a","split":"tune","text":"text","expect":["manual.md#1"]}',
        '{"id":"a","split":"tune","text":"again","expect":["manual.md"]}',
        'not json',
        '{"id":"b","split":"later","text":"x","expect":["manual.md"]}',
        '{"id":"c","split":"tune","expect":["manual.md"]}',
        '{"id":"d","split":"tune","text":"x","expect":["nowhere.pdf#2"]}',
        '{"id":"e","split":"tune","image":"gone.jpg","expect":["manual.md#0"]}',
      ].join('\n'),
    );
    const { code, stdout, stderr } = await run([dir]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('document "missing.pdf" does not exist');
    expect(stderr).toContain('line 2: id "a" is already used on line 1');
    expect(stderr).toContain('line 3: not JSON');
    expect(stderr).toMatch(/line 4: "split"/);
    expect(stderr).toContain('line 5: a query needs "text", "image" or both');
    expect(stderr).toContain('line 6: label "nowhere.pdf#2": "nowhere.pdf" is not a file of corpus.json');
    expect(stderr).toContain('line 7: label "manual.md#0": the page after # must be a whole number from 1');
    expect(stderr).toContain('line 7: image "gone.jpg" does not exist');
  });

  it('checks page labels against the ingested document and exits 2', async () => {
    writeFileSync(path.join(dir, 'corpus.json'), JSON.stringify({ documents: ['manual.md'], photos: [] }));
    writeFileSync(path.join(dir, 'queries.jsonl'), '{"id":"a","split":"tune","text":"some text","expect":["manual.md#7"]}\n');
    const { code, stderr } = await run([dir]);
    expect(code).toBe(2);
    expect(stderr).toContain('line 1: label "manual.md#7": "manual.md" has 1 page(s)');
  });

  it('refuses bad options with exit code 2', async () => {
    expect((await run(['--store', 'elastic'])).code).toBe(2);
    expect((await run(['--fusion', 'borda'])).code).toBe(2);
    expect((await run(['--min-recall3', '2'])).code).toBe(2);
  });

  it('exits 3 when fused recall@3 is below --min-recall3', async () => {
    const docs = ['manual.md', 'other.md', 'third.md', 'fourth.md'];
    for (const doc of docs.slice(1)) writeFileSync(path.join(dir, doc), `# ${doc}\n\nWords about gaskets in ${doc}.\n`);
    writeFileSync(path.join(dir, 'corpus.json'), JSON.stringify({ documents: docs, photos: [] }));
    // Four relevant documents: at most three of them fit in a top 3, so recall@3 is at most 0.75.
    writeFileSync(path.join(dir, 'queries.jsonl'), `${JSON.stringify({ id: 'a', split: 'tune', text: 'gaskets', expect: docs })}\n`);
    const { code, stdout, stderr } = await run([dir, '--min-recall3', '0.8']);
    expect(code, stderr).toBe(3);
    expect(stdout).toContain('FUSED');
    expect(stderr).toContain('below --min-recall3 0.8');
  });
});
