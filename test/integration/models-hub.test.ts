/**
 * Model downloads follow the Hugging Face conventions (issue 13, item 7), against real HTTP
 * servers on 127.0.0.1: HF_ENDPOINT as a mirror of huggingface.co, HF_TOKEN sent there and only
 * there, files already in the HF_HOME hub cache copied instead of downloaded, and a name that
 * does not resolve failing at once instead of being retried.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { hubAuthorization, hubCachePath, pullModel, sourceBaseUrl, type PullProgressEvent } from '../../src/models/download.js';
import { ModelDownloadError } from '../../src/models/errors.js';
import { parseManifest, type ModelManifest } from '../../src/models/manifest.js';

const REVISION = 'b'.repeat(40);
const REPO = 'example/tiny-clip';
const FILES = new Map<string, Buffer>([
  ['config.json', Buffer.from(JSON.stringify({ projection_dim: 32 }))],
  ['preprocessor_config.json', Buffer.from('{}')],
  ['tokenizer.json', randomBytes(2000)],
  ['onnx/text_model.onnx', randomBytes(5000)],
  ['onnx/vision_model.onnx', randomBytes(8000)],
]);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function manifest(baseUrl = `https://huggingface.co/${REPO}/resolve/${REVISION}/`): ModelManifest {
  return parseManifest(
    {
      name: 'hub-test',
      embeddingDim: 32,
      source: { repo: REPO, revision: REVISION, baseUrl },
      files: [...FILES].map(([p, data]) => ({ path: p, size: data.length, sha256: sha256(data) })),
      vision: { file: 'onnx/vision_model.onnx', input: 'pixel_values', output: 'image_embeds' },
      text: { file: 'onnx/text_model.onnx', inputIds: 'input_ids', attentionMask: 'attention_mask', output: 'text_embeds', fixedLength: null, padId: null },
      tokenizer: 'tokenizer.json',
      preprocessor: 'preprocessor_config.json',
    },
    'test manifest',
  );
}

/** Serves FILES under /<repo>/resolve/<revision>/ like the Hugging Face hub, recording what it was sent. */
async function startHub(): Promise<{ url: string; requests: { path: string; authorization: string | undefined }[]; server: Server }> {
  const requests: { path: string; authorization: string | undefined }[] = [];
  const prefix = `/${REPO}/resolve/${REVISION}/`;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push({ path: url.pathname, authorization: req.headers.authorization });
    const body = url.pathname.startsWith(prefix) ? FILES.get(decodeURIComponent(url.pathname.slice(prefix.length))) : undefined;
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-length': body.length, 'content-type': 'application/octet-stream' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, server };
}

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});
const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'fieldscope-hub-'));

describe('Hugging Face conventions', () => {
  it('reads HF_ENDPOINT, HF_TOKEN, HF_HOME and HF_HUB_CACHE in the one configuration', () => {
    const base = { HOME: '/home/u' };
    expect(loadConfig({ ...base, HF_HOME: '/srv/hf' }).models.hub).toEqual({ endpoint: undefined, token: undefined, cacheDir: '/srv/hf/hub' });
    expect(loadConfig({ ...base, HF_HUB_CACHE: '/cache/hub', HF_ENDPOINT: 'https://hf-mirror.example', HF_TOKEN: 'hf_x' }).models.hub).toEqual({
      endpoint: 'https://hf-mirror.example',
      token: 'hf_x',
      cacheDir: '/cache/hub',
    });
    expect(loadConfig(base).models.hub.cacheDir).toBe(path.join(os.homedir(), '.cache', 'huggingface', 'hub'));
    expect(() => loadConfig({ HF_ENDPOINT: 'not a url' })).toThrow(/HF_ENDPOINT/);
  });

  it('maps sources and tokens: the endpoint replaces huggingface.co only, an explicit mirror wins, the token goes to Hugging Face hosts only', () => {
    const hf = `https://huggingface.co/${REPO}/resolve/${REVISION}/`;
    expect(sourceBaseUrl(hf, undefined, 'https://hf-mirror.example/')).toBe(`https://hf-mirror.example/${REPO}/resolve/${REVISION}/`);
    expect(sourceBaseUrl(hf, 'http://mirror.internal/clip/', 'https://hf-mirror.example')).toBe('http://mirror.internal/clip/');
    expect(sourceBaseUrl('https://models.example/x/', undefined, 'https://hf-mirror.example')).toBe('https://models.example/x/');
    expect(sourceBaseUrl('https://huggingface.com.evil.example/x/', undefined, 'https://hf-mirror.example')).toBe('https://huggingface.com.evil.example/x/');
    const hub = { token: 'hf_secret', endpoint: 'https://hf-mirror.example' };
    expect(hubAuthorization(hf, hub)).toBe('Bearer hf_secret');
    expect(hubAuthorization('https://hf-mirror.example/x/', hub)).toBe('Bearer hf_secret');
    expect(hubAuthorization('http://mirror.internal/clip/', hub)).toBeNull();
    expect(hubAuthorization(hf, {})).toBeNull();
    expect(hubCachePath('/c/hub', REPO, REVISION, 'onnx/a.onnx')).toBe(`/c/hub/models--example--tiny-clip/snapshots/${REVISION}/onnx/a.onnx`);
  });

  it('pulls from HF_ENDPOINT with the HF_TOKEN; an explicit mirror never receives the token', async () => {
    const hub = await startHub();
    servers.push(hub.server);
    const result = await pullModel(manifest(), { modelsDir: tmp(), hub: { endpoint: hub.url, token: 'hf_secret' }, retries: 0 });
    expect(result.files.map((f) => f.status)).toEqual(Array(FILES.size).fill('downloaded'));
    expect(readFileSync(path.join(result.dir, 'onnx', 'vision_model.onnx'))).toEqual(FILES.get('onnx/vision_model.onnx'));
    expect(hub.requests.map((r) => r.authorization)).toEqual(Array(FILES.size).fill('Bearer hf_secret'));
    expect(hub.requests[0]!.path).toBe(`/${REPO}/resolve/${REVISION}/config.json`);

    const mirror = await startHub();
    servers.push(mirror.server);
    await pullModel(manifest(), { modelsDir: tmp(), baseUrl: `${mirror.url}/${REPO}/resolve/${REVISION}/`, hub: { token: 'hf_secret' }, retries: 0 });
    expect(mirror.requests).toHaveLength(FILES.size);
    expect(mirror.requests.every((r) => r.authorization === undefined)).toBe(true);
  });

  it('copies files the hub cache already holds at the pinned revision (checked), and downloads the rest', async () => {
    const hub = await startHub();
    servers.push(hub.server);
    const cacheDir = tmp();
    const put = (file: string, bytes: Buffer) => {
      const p = hubCachePath(cacheDir, REPO, REVISION, file);
      mkdirSync(path.dirname(p), { recursive: true });
      writeFileSync(p, bytes);
    };
    put('onnx/vision_model.onnx', FILES.get('onnx/vision_model.onnx')!);
    put('onnx/text_model.onnx', FILES.get('onnx/text_model.onnx')!);
    put('tokenizer.json', randomBytes(FILES.get('tokenizer.json')!.length)); // same size, wrong bytes: not trusted
    const result = await pullModel(manifest(), { modelsDir: tmp(), hub: { endpoint: hub.url, cacheDir }, retries: 0 });
    const status = Object.fromEntries(result.files.map((f) => [f.path, f.status]));
    expect(status).toEqual({ 'config.json': 'downloaded', 'preprocessor_config.json': 'downloaded', 'tokenizer.json': 'downloaded', 'onnx/text_model.onnx': 'cached', 'onnx/vision_model.onnx': 'cached' });
    expect(hub.requests.map((r) => r.path.split('/').pop())).toEqual(['config.json', 'preprocessor_config.json', 'tokenizer.json']);
    for (const [file, bytes] of FILES) expect(readFileSync(path.join(result.dir, ...file.split('/'))), file).toEqual(bytes);
  });

  it('a host name that does not resolve fails at once, without retries', async () => {
    const events: PullProgressEvent[] = [];
    const started = Date.now();
    const error = await pullModel(manifest('https://no-such-host.invalid/x/'), { modelsDir: tmp(), retries: 3, retryDelayMs: 2000, onProgress: (e) => events.push(e) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelDownloadError);
    expect((error as ModelDownloadError).retriable).toBe(false);
    expect((error as Error).message).toMatch(/Cannot resolve no-such-host\.invalid \((ENOTFOUND|EAI_AGAIN)\).*HF_ENDPOINT or MODEL_BASE_URL/);
    expect(events.filter((e) => e.type === 'retry')).toEqual([]);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
