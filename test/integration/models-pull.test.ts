import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runModelsCommand } from '../../src/cli/models.js';
import { pullModel, type PullProgressEvent } from '../../src/models/download.js';
import { ModelChecksumError, ModelDownloadAbortedError, ModelDownloadError, ModelError, ModelUnverifiedError } from '../../src/models/errors.js';
import { MODEL_MARKER_FILE, parseManifest, type ModelManifest } from '../../src/models/manifest.js';

// ---------------------------------------------------------------------------------------------------------
// A real HTTP server on 127.0.0.1:0 serving generated files under /mirror/, with Range support and switches
// for the failure modes under test.

interface RequestRecord {
  path: string;
  range: string | undefined;
  status: number;
  bytesSent: number;
}

interface MirrorBehaviour {
  /** Answer 200 with the whole file even when a Range is asked for. */
  ignoreRange: boolean;
  /** path → bytes to send on the first request for it before dropping the connection. */
  dropAfter: Map<string, number>;
  /** path → bytes to send before stalling forever (the connection stays open). */
  stallAfter: Map<string, number>;
  /** path → bytes served instead of the real file. */
  override: Map<string, Buffer>;
}

interface Mirror {
  baseUrl: string;
  requests: RequestRecord[];
  behaviour: MirrorBehaviour;
  files: Map<string, Buffer>;
  close(): Promise<void>;
}

async function startMirror(files: Map<string, Buffer>): Promise<Mirror> {
  const requests: RequestRecord[] = [];
  const behaviour: MirrorBehaviour = { ignoreRange: false, dropAfter: new Map(), stallAfter: new Map(), override: new Map() };
  const dropped = new Set<string>();

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const filePath = decodeURIComponent(url.pathname.replace(/^\/mirror\//, ''));
    const range = typeof req.headers.range === 'string' ? req.headers.range : undefined;
    const record: RequestRecord = { path: filePath, range, status: 0, bytesSent: 0 };
    requests.push(record);

    const body = behaviour.override.get(filePath) ?? files.get(filePath);
    if (!url.pathname.startsWith('/mirror/') || body === undefined) {
      record.status = 404;
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }

    let start = 0;
    let status = 200;
    const headers: Record<string, string | number> = { 'content-type': 'application/octet-stream', 'accept-ranges': 'bytes' };
    const m = range === undefined ? null : /^bytes=(\d+)-$/.exec(range);
    if (m && !behaviour.ignoreRange) {
      start = Number(m[1]);
      if (start >= body.length) {
        record.status = 416;
        res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
        return;
      }
      status = 206;
      headers['content-range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
    }
    const slice = body.subarray(start);
    headers['content-length'] = slice.length;
    record.status = status;
    res.writeHead(status, headers);

    const drop = behaviour.dropAfter.get(filePath);
    if (drop !== undefined && !dropped.has(filePath)) {
      dropped.add(filePath);
      record.bytesSent = Math.min(drop, slice.length);
      res.write(slice.subarray(0, drop), () => setTimeout(() => res.destroy(), 50));
      return;
    }
    const stall = behaviour.stallAfter.get(filePath);
    if (stall !== undefined) {
      record.bytesSent = Math.min(stall, slice.length);
      res.write(slice.subarray(0, stall));
      return; // never ends
    }
    record.bytesSent = slice.length;
    res.end(slice);
  };

  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/mirror/`,
    requests,
    behaviour,
    files,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Generated model files. The vision model comes last so a resumed pull transfers nothing but its remainder.

const VISION = 'onnx/vision_model.onnx';
const TEXT = 'onnx/text_model.onnx';
const VISION_SIZE = 2_000_000;

function generateFiles(): Map<string, Buffer> {
  return new Map<string, Buffer>([
    ['config.json', Buffer.from(JSON.stringify({ model_type: 'clip', projection_dim: 512 }))],
    ['preprocessor_config.json', Buffer.from(JSON.stringify({ crop_size: 224, do_normalize: true }))],
    ['tokenizer.json', randomBytes(50_000)],
    [TEXT, randomBytes(300_000)],
    [VISION, randomBytes(VISION_SIZE)],
  ]);
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function buildManifest(files: Map<string, Buffer>, name = 'test-clip'): ModelManifest {
  return parseManifest(
    {
      name,
      description: 'generated for tests',
      embeddingDim: 512,
      source: {
        repo: 'example/test-clip',
        revision: 'a'.repeat(40),
        baseUrl: 'https://models.invalid/never-used/',
      },
      files: [...files].map(([p, data]) => ({ path: p, size: data.length, sha256: sha256(data) })),
      vision: { file: VISION, input: 'pixel_values', output: 'image_embeds' },
      text: { file: TEXT, inputIds: 'input_ids', attentionMask: 'attention_mask', output: 'text_embeds', fixedLength: null, padId: null },
      tokenizer: 'tokenizer.json',
      preprocessor: 'preprocessor_config.json',
    },
    'test manifest',
  );
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'));
  }
  return out.sort();
}

async function catchError(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the promise to reject');
}

// ---------------------------------------------------------------------------------------------------------

describe('pullModel against a local HTTP mirror', () => {
  let mirror: Mirror;
  let files: Map<string, Buffer>;
  let manifest: ModelManifest;
  let modelsDir: string;
  let modelDir: string;

  beforeEach(async () => {
    files = generateFiles();
    mirror = await startMirror(files);
    manifest = buildManifest(files);
    modelsDir = await mkdtemp(path.join(tmpdir(), 'fieldscope-pull-'));
    modelDir = path.join(modelsDir, manifest.name);
  });

  afterEach(async () => {
    await mirror.close();
    await rm(modelsDir, { recursive: true, force: true });
  });

  const fast = { retries: 0, retryDelayMs: 10 } as const;

  it('downloads every file, verifies it, renames it into place and writes the manifest last', async () => {
    const markerPath = path.join(modelDir, MODEL_MARKER_FILE);
    const markerSeenBeforeLastFile: boolean[] = [];
    const events: PullProgressEvent[] = [];

    const result = await pullModel(manifest, {
      modelsDir,
      baseUrl: mirror.baseUrl,
      ...fast,
      onProgress: (e) => {
        events.push(e);
        if (e.type === 'done') markerSeenBeforeLastFile.push(existsSync(markerPath));
      },
    });

    expect(markerSeenBeforeLastFile).toEqual(manifest.files.map(() => false));
    expect(result.dir).toBe(modelDir);
    expect(result.files.map((f) => [f.path, f.status, f.verified])).toEqual(manifest.files.map((f) => [f.path, 'downloaded', true]));
    expect(result.bytesTransferred).toBe([...files.values()].reduce((n, b) => n + b.length, 0));

    // Exactly the manifest's files plus the marker: no .part, no lock, no temp file left behind.
    expect(await listFiles(modelDir)).toEqual([...manifest.files.map((f) => f.path), MODEL_MARKER_FILE].sort());
    for (const [p, data] of files) expect((await readFile(path.join(modelDir, p))).equals(data)).toBe(true);

    const marker: unknown = JSON.parse(await readFile(markerPath, 'utf8'));
    expect(parseManifest(marker)).toEqual(manifest);
    const markerTime = (await stat(markerPath)).mtimeMs;
    for (const f of manifest.files) expect((await stat(path.join(modelDir, f.path))).mtimeMs).toBeLessThanOrEqual(markerTime);

    expect(mirror.requests.every((r) => r.range === undefined && r.status === 200)).toBe(true);
    expect(events.filter((e) => e.type === 'progress').length).toBeGreaterThan(0);
  });

  it('resumes an interrupted transfer with a Range request and transfers only the remainder', async () => {
    mirror.behaviour.dropAfter.set(VISION, 700_000);

    const first = await catchError(pullModel(manifest, { modelsDir, baseUrl: mirror.baseUrl, ...fast }));
    expect(first).toBeInstanceOf(ModelDownloadError);
    expect((first as ModelDownloadError).code).toBe('MODEL_DOWNLOAD_FAILED');
    expect((first as ModelDownloadError).retriable).toBe(true);
    expect((first as ModelDownloadError).message).toContain(VISION);

    const partPath = path.join(modelDir, `${VISION}.part`);
    const partSize = (await stat(partPath)).size;
    expect(partSize).toBeGreaterThan(0);
    expect(partSize).toBeLessThanOrEqual(700_000);
    expect(existsSync(path.join(modelDir, VISION))).toBe(false);
    expect(existsSync(path.join(modelDir, MODEL_MARKER_FILE))).toBe(false);

    const before = mirror.requests.length;
    const second = await pullModel(manifest, { modelsDir, baseUrl: mirror.baseUrl, ...fast });

    const secondRequests = mirror.requests.slice(before);
    expect(secondRequests).toEqual([{ path: VISION, range: `bytes=${partSize}-`, status: 206, bytesSent: VISION_SIZE - partSize }]);
    expect(second.bytesTransferred).toBe(VISION_SIZE - partSize);
    const vision = second.files.find((f) => f.path === VISION);
    expect(vision?.status).toBe('resumed');
    expect(vision?.bytesTransferred).toBe(VISION_SIZE - partSize);
    expect(second.files.filter((f) => f.path !== VISION).every((f) => f.status === 'skipped')).toBe(true);

    expect((await readFile(path.join(modelDir, VISION))).equals(files.get(VISION) ?? Buffer.alloc(0))).toBe(true);
    expect(existsSync(partPath)).toBe(false);
    expect(existsSync(path.join(modelDir, MODEL_MARKER_FILE))).toBe(true);
  });

  it('retries by itself, resuming from the part, when retries are allowed', async () => {
    mirror.behaviour.dropAfter.set(VISION, 500_000);
    const retries: PullProgressEvent[] = [];

    const result = await pullModel(manifest, {
      modelsDir,
      baseUrl: mirror.baseUrl,
      retries: 2,
      retryDelayMs: 10,
      onProgress: (e) => {
        if (e.type === 'retry') retries.push(e);
      },
    });

    expect(retries).toHaveLength(1);
    const visionRequests = mirror.requests.filter((r) => r.path === VISION);
    expect(visionRequests).toHaveLength(2);
    expect(visionRequests[1]?.range).toMatch(/^bytes=\d+-$/);
    expect(visionRequests[1]?.status).toBe(206);
    expect(result.files.find((f) => f.path === VISION)?.status).toBe('resumed');
    expect((await readFile(path.join(modelDir, VISION))).equals(files.get(VISION) ?? Buffer.alloc(0))).toBe(true);
  });

  it('restarts cleanly when the server ignores Range and answers 200', async () => {
    mirror.behaviour.dropAfter.set(VISION, 600_000);
    await catchError(pullModel(manifest, { modelsDir, baseUrl: mirror.baseUrl, ...fast }));
    expect((await stat(path.join(modelDir, `${VISION}.part`))).size).toBeGreaterThan(0);

    mirror.behaviour.ignoreRange = true;
    const restarts: string[] = [];
    const before = mirror.requests.length;
    const result = await pullModel(manifest, {
      modelsDir,
      baseUrl: mirror.baseUrl,
      ...fast,
      onProgress: (e) => {
        if (e.type === 'restart') restarts.push(e.reason);
      },
    });

    const [request] = mirror.requests.slice(before);
    expect(request?.range).toMatch(/^bytes=\d+-$/);
    expect(request?.status).toBe(200);
    expect(restarts).toHaveLength(1);
    expect(restarts[0]).toContain('ignored the Range');
    const vision = result.files.find((f) => f.path === VISION);
    expect(vision?.status).toBe('downloaded');
    expect(vision?.bytesTransferred).toBe(VISION_SIZE);
    expect((await readFile(path.join(modelDir, VISION))).equals(files.get(VISION) ?? Buffer.alloc(0))).toBe(true);
    expect(existsSync(path.join(modelDir, `${VISION}.part`))).toBe(false);
  });

  it('fails a checksum mismatch with a stable code, deletes the part and installs nothing', async () => {
    const tampered = Buffer.from(files.get(VISION) ?? Buffer.alloc(0));
    tampered[12345] = (tampered[12345] ?? 0) ^ 0xff;
    mirror.behaviour.override.set(VISION, tampered);

    const err = await catchError(pullModel(manifest, { modelsDir, baseUrl: mirror.baseUrl, retries: 3, retryDelayMs: 10 }));
    expect(err).toBeInstanceOf(ModelChecksumError);
    const e = err as ModelChecksumError;
    expect(e.code).toBe('MODEL_CHECKSUM_MISMATCH');
    expect(e.expected).toBe(sha256(files.get(VISION) ?? Buffer.alloc(0)));
    expect(e.actual).toBe(sha256(tampered));
    expect(e.message).toContain(VISION);
    expect(e.message).toContain(e.expected);
    expect(e.message).toContain(e.actual);

    expect(existsSync(path.join(modelDir, VISION))).toBe(false);
    expect(existsSync(path.join(modelDir, `${VISION}.part`))).toBe(false);
    expect(existsSync(path.join(modelDir, MODEL_MARKER_FILE))).toBe(false);
    expect(mirror.requests.filter((r) => r.path === VISION)).toHaveLength(1); // not retried
  });

  it('fails a 404 with a message naming the URL, without retrying', async () => {
    mirror.files.delete(TEXT);

    const err = await catchError(pullModel(manifest, { modelsDir, baseUrl: mirror.baseUrl, retries: 3, retryDelayMs: 10 }));
    expect(err).toBeInstanceOf(ModelDownloadError);
    const e = err as ModelDownloadError;
    expect(e.code).toBe('MODEL_DOWNLOAD_FAILED');
    expect(e.status).toBe(404);
    expect(e.url).toBe(`${mirror.baseUrl}onnx/text_model.onnx`);
    expect(e.message).toContain(`${mirror.baseUrl}onnx/text_model.onnx`);
    expect(e.message).toContain('404');
    expect(mirror.requests.filter((r) => r.path === TEXT)).toHaveLength(1);
    expect(existsSync(path.join(modelDir, MODEL_MARKER_FILE))).toBe(false);
  });

  it('does not download files that are already installed', async () => {
    await pullModel(manifest, { modelsDir, baseUrl: mirror.baseUrl, ...fast });
    const before = mirror.requests.length;

    const again = await pullModel(manifest, { modelsDir, baseUrl: mirror.baseUrl, ...fast });

    expect(mirror.requests.length).toBe(before);
    expect(again.files.every((f) => f.status === 'skipped' && f.bytesTransferred === 0 && f.verified)).toBe(true);
    expect(again.bytesTransferred).toBe(0);
    expect(existsSync(path.join(modelDir, MODEL_MARKER_FILE))).toBe(true);
  });

  it('downloads again an installed file whose bytes were damaged', async () => {
    await pullModel(manifest, { modelsDir, baseUrl: mirror.baseUrl, ...fast });
    const textPath = path.join(modelDir, TEXT);
    const damaged = await readFile(textPath);
    damaged[0] = (damaged[0] ?? 0) ^ 0xff;
    await writeFile(textPath, damaged);
    const before = mirror.requests.length;

    const again = await pullModel(manifest, { modelsDir, baseUrl: mirror.baseUrl, ...fast });

    expect(mirror.requests.slice(before).map((r) => r.path)).toEqual([TEXT]);
    expect(again.files.find((f) => f.path === TEXT)?.status).toBe('downloaded');
    expect((await readFile(textPath)).equals(files.get(TEXT) ?? Buffer.alloc(0))).toBe(true);
  });

  it('finishes a complete .part without a request, and accepts a 416 for a part that is already whole', async () => {
    // A complete part left behind (e.g. killed before the rename): verified locally, no request.
    await mkdir(path.join(modelDir, 'onnx'), { recursive: true });
    await writeFile(path.join(modelDir, `${VISION}.part`), files.get(VISION) ?? Buffer.alloc(0));
    // A whole part of a file whose size the manifest does not pin: the resume gets 416 bytes */size.
    const unsized = parseManifest({
      ...manifest,
      files: manifest.files.map((f) => (f.path === TEXT ? { ...f, size: null } : f)),
    });
    await writeFile(path.join(modelDir, `${TEXT}.part`), files.get(TEXT) ?? Buffer.alloc(0));

    const result = await pullModel(unsized, { modelsDir, baseUrl: mirror.baseUrl, ...fast });

    expect(mirror.requests.filter((r) => r.path === VISION)).toHaveLength(0);
    expect(mirror.requests.filter((r) => r.path === TEXT).map((r) => r.status)).toEqual([416]);
    expect(result.files.find((f) => f.path === VISION)?.status).toBe('resumed');
    expect(result.files.find((f) => f.path === TEXT)?.status).toBe('resumed');
    expect(await listFiles(modelDir)).toEqual([...manifest.files.map((f) => f.path), MODEL_MARKER_FILE].sort());
  });

  it('refuses files without a pinned sha256 unless allowUnverified is set', async () => {
    const unpinned = parseManifest({
      ...manifest,
      files: manifest.files.map((f) => (f.path === 'tokenizer.json' ? { ...f, sha256: null } : f)),
    });

    const err = await catchError(pullModel(unpinned, { modelsDir, baseUrl: mirror.baseUrl, ...fast }));
    expect(err).toBeInstanceOf(ModelUnverifiedError);
    expect((err as ModelError).code).toBe('MODEL_UNVERIFIED');
    expect((err as ModelError).message).toContain('tokenizer.json');
    expect(mirror.requests).toHaveLength(0);

    const result = await pullModel(unpinned, { modelsDir, baseUrl: mirror.baseUrl, allowUnverified: true, ...fast });
    const tokenizer = result.files.find((f) => f.path === 'tokenizer.json');
    expect(tokenizer?.verified).toBe(false);
    expect(tokenizer?.sha256).toBe(sha256(files.get('tokenizer.json') ?? Buffer.alloc(0)));
    expect(result.files.filter((f) => f.path !== 'tokenizer.json').every((f) => f.verified)).toBe(true);
  });

  it('times out a stalled response and keeps the part for a later resume', async () => {
    mirror.behaviour.stallAfter.set(VISION, 300_000);

    const err = await catchError(pullModel(manifest, { modelsDir, baseUrl: mirror.baseUrl, idleTimeoutMs: 300, ...fast }));
    expect(err).toBeInstanceOf(ModelDownloadError);
    expect((err as ModelDownloadError).code).toBe('MODEL_DOWNLOAD_FAILED');
    expect((err as ModelDownloadError).message).toMatch(/Timed out after 300 ms waiting for data/);
    expect((await stat(path.join(modelDir, `${VISION}.part`))).size).toBeGreaterThan(0);
  });

  it('stops on abort with MODEL_DOWNLOAD_ABORTED and keeps the part', async () => {
    mirror.behaviour.stallAfter.set(VISION, 300_000);
    const controller = new AbortController();

    const pending = pullModel(manifest, {
      modelsDir,
      baseUrl: mirror.baseUrl,
      signal: controller.signal,
      ...fast,
      onProgress: (e) => {
        if (e.type === 'progress' && e.file === VISION) controller.abort();
      },
    });
    const err = await catchError(pending);
    expect(err).toBeInstanceOf(ModelDownloadAbortedError);
    expect((err as ModelError).code).toBe('MODEL_DOWNLOAD_ABORTED');
    expect(existsSync(path.join(modelDir, `${VISION}.part`))).toBe(true);
    expect(existsSync(path.join(modelDir, '.fieldscope-pull.lock'))).toBe(false);
  });

  it('runs through the CLI: `models pull <manifest.json> --dir --base-url` prints plain progress and a summary', async () => {
    const manifestPath = path.join(modelsDir, 'test-clip.json');
    await writeFile(manifestPath, JSON.stringify(manifest));
    let stdout = '';
    let stderr = '';
    const io = {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s), isTTY: false },
      env: {},
      signal: new AbortController().signal,
    };

    const code = await runModelsCommand(['pull', manifestPath, '--dir', modelsDir, '--base-url', mirror.baseUrl], io);

    expect(code).toBe(0);
    expect(stdout).toContain(`Pulled test-clip into ${modelDir}`);
    for (const f of manifest.files) expect(stdout).toMatch(new RegExp(`downloaded .*${f.path.replace('.', '\\.')}`));
    expect(stderr).not.toContain('\r');
    expect(existsSync(path.join(modelDir, MODEL_MARKER_FILE))).toBe(true);

    mirror.files.delete(VISION);
    await rm(modelDir, { recursive: true });
    stderr = '';
    const failed = await runModelsCommand(['pull', manifestPath, '--dir', modelsDir, '--base-url', mirror.baseUrl], io);
    expect(failed).toBe(1);
    expect(stderr).toContain('error [MODEL_DOWNLOAD_FAILED]: HTTP 404');
    expect(stderr).toContain(`${mirror.baseUrl}onnx/vision_model.onnx`);
  });
});
