/**
 * Probe for issue 11 (follow-up): could a Qdrant search skip its second request (the scroll that
 * reads the records of the hits) by asking the query batch for the payload a hit shows?
 * Runs the server with the demo knowledge base on the fake Qdrant (test/helpers/fake-qdrant.ts;
 * the real server, real ONNX with the bundled tiny model), sends the text questions of
 * demo/search-eval/queries.jsonl, and for each search re-sends the two recorded requests:
 *   now:   the query batch as sent + the hit-records scroll as sent (response bytes of both);
 *   one:   the query batch with every query asking also for `text` and `thumbnail_key`, plus the
 *          document record each page candidate would have to carry (it lives on the document's
 *          point today, so one request needs it copied onto every page point).
 * Byte counts only: the fake's latency says nothing about a real Qdrant's.
 *
 *   npx tsx bench/probes/hit-payload.ts [--limit 10]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import path from 'node:path';
import { startFakeQdrant } from '../../test/helpers/fake-qdrant.js';
import { gql, startTestServer } from '../../test/helpers/server.js';
import { REPO_ROOT } from '../../test/helpers/shared.js';

const { values } = parseArgs({ options: { limit: { type: 'string', default: '10' } } });
const limit = Number(values.limit);

const fake = await startFakeQdrant();
const server = await startTestServer({ LOAD_DEMO: 'true', VECTOR_STORE: 'qdrant', QDRANT_URL: fake.url });
try {
  const deadline = Date.now() + 120_000;
  while ((await fetch(`${server.url}/ready`)).status !== 200) {
    if (Date.now() > deadline) throw new Error('the server never became ready');
    await new Promise((r) => setTimeout(r, 200));
  }
  // The demo loads in the background: wait until its documents are there.
  for (;;) {
    const res = await gql<{ documents: { totalCount: number } }>(server.url, '{ documents(first: 1) { totalCount } }');
    if ((res.data?.documents.totalCount ?? 0) >= 5) break;
    if (Date.now() > deadline) throw new Error('the demo never loaded');
    await new Promise((r) => setTimeout(r, 500));
  }
  await new Promise((r) => setTimeout(r, 3000));

  const post = async (p: string, body: unknown): Promise<{ bytes: number; json: { result: unknown } }> => {
    const res = await fetch(`${fake.url}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const text = await res.text();
    if (!res.ok) throw new Error(`${p}: ${res.status} ${text}`);
    return { bytes: Buffer.byteLength(text), json: JSON.parse(text) as { result: unknown } };
  };

  const lines = readFileSync(path.join(REPO_ROOT, 'demo/search-eval/queries.jsonl'), 'utf8').split('\n');
  const questions = lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { text?: string }).flatMap((q) => (q.text ? [q.text] : []));
  const rows: { batch: number; scroll: number; one: number; records: number; hits: number }[] = [];
  for (const text of questions) {
    fake.clearRequests();
    const res = await gql<{ search: { hits: unknown[] } }>(server.url, 'query($text: String, $limit: Int) { search(text: $text, limit: $limit) { hits { score } } }', { text, limit });
    const hits = res.data?.search.hits.length ?? 0;
    const batchReq = fake.requests.find((r) => r.operation === 'query_batch_points')!;
    const scrollReq = fake.requests.find((r) => r.operation === 'scroll_points')!;
    const batch = await post(batchReq.path, batchReq.body);
    const scroll = await post(scrollReq.path, scrollReq.body);
    const searches = (batchReq.body as { searches: { with_payload: string[] }[] }).searches.map((q) => ({ ...q, with_payload: [...new Set([...q.with_payload, 'text', 'thumbnail_key'])] }));
    const one = await post(batchReq.path, { searches });
    // The document record each page candidate would carry, sized from the scroll's document points.
    const recordBytes = new Map<string, number>();
    for (const p of (scroll.json.result as { points: { payload: { type: string; document_id?: string; record?: unknown } }[] }).points) {
      if (p.payload.type === 'document' && p.payload.document_id) recordBytes.set(p.payload.document_id, Buffer.byteLength(JSON.stringify({ record: p.payload.record })));
    }
    const typical = recordBytes.size > 0 ? [...recordBytes.values()].reduce((a, b) => a + b, 0) / recordBytes.size : 0;
    let records = 0;
    for (const list of one.json.result as { points: { payload: { type?: string; document_id?: string } }[] }[]) {
      for (const p of list.points) if (p.payload.document_id && p.payload.type !== 'photo') records += recordBytes.get(p.payload.document_id) ?? typical;
    }
    rows.push({ batch: batch.bytes, scroll: scroll.bytes, one: one.bytes, records: Math.round(records), hits });
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  console.log(`${rows.length} text searches on the demo, limit ${limit} (median hits ${median(rows.map((r) => r.hits))}); response bytes, median:`);
  console.log(`  now (2 requests): batch ${kib(median(rows.map((r) => r.batch)))} + hit records ${kib(median(rows.map((r) => r.scroll)))} = ${kib(median(rows.map((r) => r.batch + r.scroll)))}`);
  console.log(`  one request:      batch with page text + thumbnail ${kib(median(rows.map((r) => r.one)))} + a document record per page candidate ${kib(median(rows.map((r) => r.records)))} = ${kib(median(rows.map((r) => r.one + r.records)))}`);
} finally {
  await server.close();
  await fake.close();
}
