/**
 * The server killed with SIGKILL in the middle of ingesting a large document, then restarted:
 * no partial document, and rerunning the ingest completes it.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnServer } from '../helpers/process.js';
import { TINY_MODEL_DIR } from '../helpers/server.js';

const INGEST = 'mutation($file: Upload!) { ingestDocument(file: $file) { id pageCount } }';

function bigManual(sections: number): Buffer {
  const parts = ['# Compressor C-900 Maintenance Manual'];
  for (let i = 1; i <= sections; i++) {
    parts.push(`## Procedure ${i}: inspect valve plate VP-${i}`, `Isolate the compressor, bleed the receiver, remove the head and inspect valve plate VP-${i} for carbon, cracks and wear. Replace gasket G-${i} and torque head bolts in sequence to ${20 + (i % 15)} Nm. Record the result in the log.`);
  }
  return Buffer.from(parts.join('\n\n'));
}

async function upload(url: string, bytes: Buffer) {
  const form = new FormData();
  form.append('operations', JSON.stringify({ query: INGEST, variables: { file: null } }));
  form.append('map', JSON.stringify({ 0: ['variables.file'] }));
  form.append('0', new Blob([bytes]), 'c900.md');
  return fetch(`${url}/graphql`, { method: 'POST', body: form, headers: { 'apollo-require-preflight': 'true' } });
}

async function documentCount(url: string): Promise<number> {
  const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ documents(first: 10) { totalCount } }' }) });
  return ((await res.json()) as { data: { documents: { totalCount: number } } }).data.documents.totalCount;
}

describe('crash during ingest', () => {
  it('SIGKILL mid-ingest leaves no partial document; rerunning completes it', async () => {
    const env = { CLIP_MODEL: TINY_MODEL_DIR, DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'fieldscope-crash-')), LOAD_DEMO: 'false' };
    const manual = bigManual(1500);

    const first = spawnServer(env);
    const url = await first.listening;
    let finished = false;
    const pending = upload(url, manual).then(
      () => (finished = true),
      () => 'connection dropped',
    );
    await new Promise((r) => setTimeout(r, 800));
    expect(finished).toBe(false); // still ingesting when killed
    first.child.kill('SIGKILL');
    await first.exited;
    await pending;

    const second = spawnServer(env);
    const url2 = await second.listening;
    expect(await documentCount(url2)).toBe(0);
    const res = await upload(url2, manual);
    const body = (await res.json()) as { data: { ingestDocument: { pageCount: number } } };
    expect(body.data.ingestDocument.pageCount).toBe(1500); // the bare H1 title is the document's title, not a page
    expect(await documentCount(url2)).toBe(1);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 120_000);
});
