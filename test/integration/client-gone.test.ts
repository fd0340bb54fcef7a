/**
 * A client that goes away mid-operation is the client's doing, not a server failure: the
 * operation stops with the stable code CLIENT_CLOSED_REQUEST, and the server logs no
 * "unexpected error" with a stack for it (operators alert on those). Real server process on
 * 127.0.0.1, a real multipart ingest of a long PDF cut off by the client.
 */
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePdf } from '../helpers/documents.js';
import { spawnServer, type ServerProcess } from '../helpers/process.js';
import { gql, TINY_MODEL_DIR } from '../helpers/server.js';

describe('a client closing the connection mid-operation', () => {
  let proc: ServerProcess;
  let graphqlUrl: string;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-client-gone-'));
  beforeAll(async () => {
    proc = spawnServer({ DATA_DIR: dataDir, CLIP_MODEL: TINY_MODEL_DIR });
    graphqlUrl = `${await proc.listening}/graphql`;
  }, 60_000);
  afterAll(async () => {
    proc?.child.kill('SIGTERM');
    await proc?.exited;
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('ends the ingest with CLIENT_CLOSED_REQUEST (audited as such), stores nothing, server healthy', async () => {
    const pages = Array.from({ length: 150 }, (_, i) => [`Page ${i + 1} of the long manual`, 'Check the seal and the impeller.']);
    const pdf = Buffer.from(await makePdf(pages, 'Long manual'));
    const boundary = 'xxBOUNDARYxx';
    const body = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n` +
          JSON.stringify({ query: 'mutation($file: Upload!){ ingestDocument(file:$file){ id } }', variables: { file: null } }) +
          `\r\n--${boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n{"0":["variables.file"]}\r\n` +
          `--${boundary}\r\nContent-Disposition: form-data; name="0"; filename="long.pdf"\r\nContent-Type: application/pdf\r\n\r\n`,
      ),
      pdf,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const url = new URL(graphqlUrl);
    await new Promise<void>((resolve) => {
      const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'apollo-require-preflight': 'true', 'content-length': body.length } });
      req.on('error', () => resolve());
      req.on('close', () => resolve());
      req.end(body);
      // Gone while the PDF is being read.
      setTimeout(() => req.destroy(), 400);
    });

    // The server logs the ingest's end (the worker stopping) shortly after the client left.
    const ended = () => /ingestDocument|closed the connection|CLIENT_CLOSED_REQUEST/.test(proc.stdout());
    for (let i = 0; i < 50 && !ended(); i++) await new Promise((r) => setTimeout(r, 200));
    await new Promise((r) => setTimeout(r, 1000));
    const lines = proc.stdout().split('\n').filter((l) => l.includes('"level":50'));
    expect(lines.filter((l) => l.includes('closed the connection'))).toEqual([]);
    type Audit = { auditLog: { nodes: { operation: string; outcome: string }[] } };
    const audit = await gql<Audit>(graphqlUrl, '{ auditLog(first: 100) { nodes { operation outcome } } }');
    expect(audit.data?.auditLog.nodes.filter((n) => n.outcome === 'INTERNAL_SERVER_ERROR')).toEqual([]);
    const docs = await gql<{ documents: { totalCount: number } }>(graphqlUrl, '{ documents(first: 1) { totalCount } }');
    expect(docs.data?.documents.totalCount).toBe(0);
    const health = await fetch(new URL('/health', graphqlUrl));
    expect(health.status).toBe(200);
  }, 120_000);
});
