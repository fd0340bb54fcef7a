/**
 * The test model is never mistaken for a real one (issue 13, item 2): every GraphQL response says
 * `extensions.testModel`, `health` carries the flag and the reason, GET /ready says `degraded`,
 * identifyPart is never confident on it, and production refuses to start on it unless told.
 * The "real model" side is the same weights copied to another folder (not the bundled test model).
 */
import { cpSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { TEST_MODEL_REASON } from '../../src/server/health.js';
import { quadrantImage } from '../helpers/images.js';
import { spawnServer } from '../helpers/process.js';
import { gql, gqlUpload, startTestServer, TINY_MODEL_DIR } from '../helpers/server.js';

const HEALTH = '{ health { status testModel reasons model { isTestModel } } }';
const SEARCH = 'query { search(text: "pump seal", limit: 3) { hits { score } } }';
const ASK = 'query { ask(question: "How do I replace the seal?") { text } }';
const CAPTION = 'query Caption($image: Upload!) { caption(image: $image) { text } }';
const IDENTIFY = 'query Identify($image: Upload!) { identifyPart(image: $image, candidates: ["gate valve"]) { confident candidates { label score } } }';

type Running = Awaited<ReturnType<typeof startTestServer>>;

async function everyOperation(url: string, photo: Uint8Array) {
  return {
    health: await gql<{ health: { status: string; testModel: boolean; reasons: string[]; model: { isTestModel: boolean } } }>(url, HEALTH),
    search: await gql(url, SEARCH),
    ask: await gql(url, ASK),
    caption: await gqlUpload(url, CAPTION, { image: { bytes: photo } }),
    identify: await gqlUpload<{ identifyPart: { confident: boolean; candidates: { label: string; score: number }[] } }>(url, IDENTIFY, { image: { bytes: photo } }),
  };
}

describe('on the bundled test model and on a real model folder', () => {
  let onTest: Running;
  let onReal: Running;
  let photo: Uint8Array;
  beforeAll(async () => {
    const realDir = path.join(mkdtempSync(path.join(os.tmpdir(), 'fieldscope-real-')), 'my-clip');
    cpSync(TINY_MODEL_DIR, realDir, { recursive: true });
    [onTest, onReal] = [await startTestServer({ LOAD_DEMO: 'false' }), await startTestServer({ LOAD_DEMO: 'false', CLIP_MODEL: realDir })];
    photo = await (await quadrantImage(320, 240)).jpeg().toBuffer();
  });
  afterAll(async () => {
    await onTest?.close();
    await onReal?.close();
  });

  it('every search, ask, caption, identify and health response carries extensions.testModel', async () => {
    const [test, real] = [await everyOperation(onTest.url, photo), await everyOperation(onReal.url, photo)];
    for (const [name, res] of Object.entries(test)) {
      expect(res.errors, name).toBeUndefined();
      expect((res as { extensions?: { testModel?: unknown } }).extensions?.testModel, name).toBe(true);
    }
    for (const [name, res] of Object.entries(real)) {
      expect(res.errors, name).toBeUndefined();
      expect((res as { extensions?: { testModel?: unknown } }).extensions?.testModel, name).toBe(false);
    }
  });

  it('every askStream event over WebSocket carries extensions.testModel', async () => {
    const events = async (url: string) => {
      const client = createClient({ url: `${url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
      try {
        const out: { extensions?: unknown }[] = [];
        await new Promise<void>((resolve, reject) => {
          client.subscribe({ query: 'subscription { askStream(question: "How do I replace the seal?") { __typename } }' }, { next: (e) => void out.push(e), error: reject, complete: resolve });
        });
        return out;
      } finally {
        await client.dispose();
      }
    };
    const [test, real] = [await events(onTest.url), await events(onReal.url)];
    expect(test.length).toBeGreaterThan(0);
    expect(test.every((e) => (e.extensions as { testModel?: unknown } | undefined)?.testModel === true)).toBe(true);
    expect(real.length).toBeGreaterThan(0);
    expect(real.every((e) => (e.extensions as { testModel?: unknown } | undefined)?.testModel === false)).toBe(true);
  });

  it('health says testModel with the reason; a real model has none', async () => {
    expect((await gql(onTest.url, HEALTH)).data).toEqual({ health: { status: 'ok', testModel: true, reasons: [TEST_MODEL_REASON], model: { isTestModel: true } } });
    expect((await gql(onReal.url, HEALTH)).data).toEqual({ health: { status: 'ok', testModel: false, reasons: [], model: { isTestModel: false } } });
  });

  it('GET /ready serves (200) but says degraded, with the reason, on the test model', async () => {
    const test = await fetch(`${onTest.url}/ready`);
    expect(test.status).toBe(200);
    expect(await test.json()).toMatchObject({ status: 'degraded', testModel: true, reasons: [TEST_MODEL_REASON] });
    const real = await fetch(`${onReal.url}/ready`);
    expect(real.status).toBe(200);
    expect(await real.json()).toMatchObject({ status: 'ok', testModel: false, reasons: [] });
  });

  it('identifyPart is never confident on the test model, even with a single candidate at probability 1', async () => {
    const test = (await gqlUpload<{ identifyPart: { confident: boolean; candidates: { score: number }[] } }>(onTest.url, IDENTIFY, { image: { bytes: photo } })).data!.identifyPart;
    expect(test.candidates[0]!.score).toBeCloseTo(1, 6);
    expect(test.confident).toBe(false);
    const real = (await gqlUpload<{ identifyPart: { confident: boolean } }>(onReal.url, IDENTIFY, { image: { bytes: photo } })).data!.identifyPart;
    expect(real.confident).toBe(true);
  });
});

describe('NODE_ENV=production on the test model', () => {
  const dataDir = () => mkdtempSync(path.join(os.tmpdir(), 'fieldscope-prod-'));

  it('refuses to start, saying why and what to set', async () => {
    const proc = spawnServer({ NODE_ENV: 'production', CLIP_MODEL: TINY_MODEL_DIR, DATA_DIR: dataDir(), LOAD_DEMO: 'false' });
    expect(await proc.exited).toBe(1);
    expect(proc.stderr()).toMatch(/TEST model.*CLIP_ALLOW_TEST_MODEL=true/s);
  });

  it('starts with CLIP_ALLOW_TEST_MODEL=true, and /ready says degraded', async () => {
    const proc = spawnServer({ NODE_ENV: 'production', CLIP_MODEL: TINY_MODEL_DIR, CLIP_ALLOW_TEST_MODEL: 'true', DATA_DIR: dataDir(), LOAD_DEMO: 'false' });
    try {
      const url = await proc.listening;
      expect(await (await fetch(`${url}/ready`)).json()).toMatchObject({ status: 'degraded', testModel: true });
    } finally {
      proc.child.kill('SIGTERM');
      await proc.exited;
    }
  });
});
