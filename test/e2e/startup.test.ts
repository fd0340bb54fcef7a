/**
 * Start-up and shutdown of the real process: broken model folders fail with a message naming
 * the file and the fix; a missing model falls back loudly; SIGTERM drains and exits 0.
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, readdirSync, statSync, truncateSync, unlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TINY_MODEL_DIR } from '../helpers/server.js';
import { spawnServer } from '../helpers/process.js';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'fieldscope-e2e-'));

function copyTinyModel(): string {
  const dir = path.join(tmp(), 'model');
  cpSync(TINY_MODEL_DIR, dir, { recursive: true });
  return dir;
}

async function health(url: string) {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ health { status model { id dim isTestModel } } }' }),
  });
  return ((await res.json()) as { data: { health: { status: string; model: { id: string; dim: number; isTestModel: boolean } } } }).data.health;
}

describe('start-up errors name the file and the fix', () => {
  it('a model folder with a missing tokenizer.json', async () => {
    const dir = copyTinyModel();
    unlinkSync(path.join(dir, 'tokenizer.json'));
    const proc = spawnServer({ CLIP_MODEL: dir, DATA_DIR: tmp() });
    expect(await proc.exited).toBe(1);
    expect(proc.stderr()).toContain('MODEL_LOAD_FAILED');
    expect(proc.stderr()).toContain(path.join(dir, 'tokenizer.json'));
    expect(proc.stderr()).toMatch(/missing.*models pull/s);
  });

  it('a model folder with a corrupt (truncated) vision model', async () => {
    const dir = copyTinyModel();
    const file = path.join(dir, 'onnx', 'vision_model.onnx');
    truncateSync(file, Math.floor(statSync(file).size / 2));
    const proc = spawnServer({ CLIP_MODEL: dir, DATA_DIR: tmp() });
    expect(await proc.exited).toBe(1);
    expect(proc.stderr()).toContain(file);
    expect(proc.stderr()).toMatch(/corrupt|incomplete/);
  });

  it('a DATA_DIR that cannot be a folder stops the server with a sentence naming the setting, not a stack trace', async () => {
    const file = path.join(tmp(), 'not-a-folder');
    writeFileSync(file, 'x');
    for (const [env, setting] of [
      [{ DATA_DIR: path.join(file, 'data') }, 'UPLOAD_TMP_DIR'], // DATA_DIR/tmp is met first
      [{ DATA_DIR: path.join(file, 'data'), UPLOAD_TMP_DIR: tmp() }, 'DATA_DIR'],
    ] as const) {
      const proc = spawnServer({ ...env, CLIP_MODEL: TINY_MODEL_DIR });
      expect(await proc.exited).toBe(1);
      expect(proc.stderr()).toContain(`INVALID_CONFIGURATION: ${setting} `);
      expect(proc.stderr()).toContain('a part of the path is a file, not a folder (ENOTDIR)');
      expect(proc.stderr()).not.toMatch(/\n\s+at /);
    }
  });

  it('an AUTH_KEYS_FILE that does not exist stops the server with the fix, not a stack trace', async () => {
    const keys = path.join(tmp(), 'keys.json');
    const proc = spawnServer({ AUTH_KEYS_FILE: keys, CLIP_MODEL: TINY_MODEL_DIR, DATA_DIR: tmp() });
    expect(await proc.exited).toBe(1);
    expect(proc.stderr()).toContain(`INVALID_CONFIGURATION: AUTH_KEYS_FILE ${keys} does not exist`);
    expect(proc.stderr()).toContain('fieldscope keys add');
    expect(proc.stderr()).not.toMatch(/\n\s+at /);
  });

  it('an invalid setting stops the server with the list of problems', async () => {
    const proc = spawnServer({ PORT: 'eighty', CLIP_MODEL: TINY_MODEL_DIR });
    expect(await proc.exited).toBe(78);
    expect(proc.stderr()).toContain('PORT');
  });
});

describe('model installation at start-up', () => {
  const servers: Server[] = [];
  afterAll(() => servers.forEach((s) => s.close()));

  it('when the configured model cannot be downloaded, runs the test model with a loud warning', async () => {
    // Port 9 on loopback: nothing listens there, so the download fails at once, as offline.
    const proc = spawnServer({ CLIP_MODEL: 'clip-vit-b32', DATA_DIR: tmp(), MODEL_BASE_URL: 'http://127.0.0.1:9/' });
    const url = await proc.listening;
    expect(proc.stdout()).toMatch(/RUNNING ON THE TEST MODEL.*MEANINGLESS/);
    expect(await health(url)).toMatchObject({ status: 'ok', model: { id: 'tiny-clip', isTestModel: true } });
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
  });

  it('with fallback off, a model that cannot be installed stops the server', async () => {
    const proc = spawnServer({ CLIP_MODEL: 'clip-vit-b32', DATA_DIR: tmp(), MODEL_BASE_URL: 'http://127.0.0.1:9/', CLIP_FALLBACK_TO_TEST_MODEL: 'false' });
    expect(await proc.exited).toBe(1);
    expect(proc.stderr()).toContain('clip-vit-b32');
  });

  it('pulls a manifest model from a mirror on first start, then runs it', async () => {
    // A mirror serving the tiny model's files, and a manifest that pins them.
    const files = readdirSync(TINY_MODEL_DIR, { recursive: true, withFileTypes: true })
      .filter((d) => d.isFile())
      .map((d) => path.relative(TINY_MODEL_DIR, path.join(d.parentPath, d.name)))
      .filter((f) => /\.(json|onnx)$/.test(f) && !f.includes('quantized') && f !== 'reference.json');
    const mirror = createServer((req, res) => {
      const rel = decodeURIComponent((req.url ?? '').replace(/^\/m\//, ''));
      if (!files.includes(rel)) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(readFileSync(path.join(TINY_MODEL_DIR, rel)));
    });
    servers.push(mirror);
    await new Promise<void>((r) => mirror.listen(0, '127.0.0.1', r));
    const port = (mirror.address() as { port: number }).port;
    const manifestsDir = tmp();
    const manifest = {
      name: 'mirrored-tiny',
      embeddingDim: 32,
      source: { repo: 'local/tiny', revision: 'a'.repeat(40), baseUrl: 'https://example.invalid/' },
      files: files.map((f) => {
        const bytes = readFileSync(path.join(TINY_MODEL_DIR, f));
        return { path: f, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
      }),
      vision: { file: 'onnx/vision_model.onnx', input: 'pixel_values', output: 'image_embeds' },
      text: { file: 'onnx/text_model.onnx', inputIds: 'input_ids', attentionMask: 'attention_mask', output: 'text_embeds', fixedLength: null, padId: null },
      tokenizer: 'tokenizer.json',
      preprocessor: 'preprocessor_config.json',
    };
    mkdirSync(manifestsDir, { recursive: true });
    writeFileSync(path.join(manifestsDir, 'mirrored-tiny.json'), JSON.stringify(manifest));
    const modelsDir = tmp();
    const env = { CLIP_MODEL: 'mirrored-tiny', DATA_DIR: tmp(), MODELS_DIR: modelsDir, MODEL_MANIFESTS_DIR: manifestsDir, MODEL_BASE_URL: `http://127.0.0.1:${port}/m/` };

    const first = spawnServer(env);
    const url = await first.listening;
    expect(await health(url)).toMatchObject({ status: 'ok', model: { id: 'mirrored-tiny', dim: 32, isTestModel: false } });
    expect(readdirSync(path.join(modelsDir, 'mirrored-tiny'))).toContain('fieldscope-model.json');
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    // Second start: installed, no download (the mirror is gone).
    mirror.close();
    const second = spawnServer({ ...env, CLIP_FALLBACK_TO_TEST_MODEL: 'false' });
    expect(await health(await second.listening)).toMatchObject({ model: { id: 'mirrored-tiny', isTestModel: false } });
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });
});

describe('graceful shutdown', () => {
  it('SIGTERM lets an in-flight request finish, then exits 0', async () => {
    const proc = spawnServer({ CLIP_MODEL: TINY_MODEL_DIR, DATA_DIR: tmp() });
    const url = await proc.listening;
    const inFlight = fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'query($t:[String!]!){ embedText(texts:$t){ dim } }', variables: { t: Array.from({ length: 200 }, (_, i) => `sentence ${i}`) } }),
    });
    await new Promise((r) => setTimeout(r, 20));
    proc.child.kill('SIGTERM');
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(((await res.json()) as { data: { embedText: unknown[] } }).data.embedText).toHaveLength(200);
    expect(await proc.exited).toBe(0);
    expect(proc.stdout()).toContain('Fieldscope stopped');
  });
});
