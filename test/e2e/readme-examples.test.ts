/**
 * Every example in README.md runs as written (issue 13, item 4), so the front door cannot rot.
 *
 * The rule (stated in README.md, "Examples in this README are tested"): every fenced block tagged
 * `sh` or `js` is executed, in README order, against one real server started as `npm start` does
 * (127.0.0.1, a temporary DATA_DIR, the demo loaded, the bundled test model). Each command of an
 * `sh` block must exit 0 and print something, and JSON it prints must carry no GraphQL `errors`; a
 * `js` block runs as an ES module from the repo root and must exit 0 and print something.
 * `http://127.0.0.1:4000`, `ws://127.0.0.1:4000` and `localhost:4000` point at the test server;
 * placeholders such as `<document id>` are filled with real ids (PLACEHOLDERS below). A block that
 * cannot run here carries `<!-- readme-example: skip REASON -->` on the line before its fence.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnServer, type ServerProcess } from '../helpers/process.js';
import { gql, gqlUpload, TINY_MODEL_DIR } from '../helpers/server.js';
import { REPO_ROOT } from '../helpers/shared.js';

export interface ReadmeExample {
  /** 1-based line of the opening fence. */
  line: number;
  lang: 'sh' | 'js';
  code: string;
  /** The reason given in a skip marker, or null when the block runs. */
  skip: string | null;
}

const SKIP_MARKER = /^<!--\s*readme-example:\s*skip\s+(.*?)\s*-->$/;

/** The fenced `sh` and `js` blocks of a Markdown text, with their skip markers. Pure. */
export function extractExamples(markdown: string): ReadmeExample[] {
  const lines = markdown.split('\n');
  const out: ReadmeExample[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const end = lines.findIndex((l, j) => j > i && /^```\s*$/.test(l));
    if (end < 0) throw new Error(`README.md:${i + 1}: a code fence is never closed`);
    const lang = open[1]!;
    if (lang === 'sh' || lang === 'js') {
      let k = i - 1;
      while (k >= 0 && lines[k]!.trim() === '') k--;
      const marker = k >= 0 ? SKIP_MARKER.exec(lines[k]!.trim()) : null;
      out.push({ line: i + 1, lang, code: lines.slice(i + 1, end).join('\n'), skip: marker ? marker[1]! : null });
    }
    i = end;
  }
  return out;
}

/** One shell command per logical line (a trailing backslash continues it); comments and blanks dropped. */
export function shellCommands(code: string): string[] {
  const commands: string[] = [];
  let current = '';
  for (const line of code.split('\n')) {
    if (current === '' && (line.trim() === '' || line.trim().startsWith('#'))) continue;
    current += (current ? '\n' : '') + line;
    if (!line.endsWith('\\')) {
      commands.push(current);
      current = '';
    }
  }
  if (current) commands.push(current);
  return commands;
}

const README = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
const EXAMPLES = extractExamples(README);

describe('README examples: extraction', () => {
  it('finds the fenced sh/js blocks, with skip markers and their reasons', () => {
    const md = ['text', '```sh', 'echo hi \\', '  there', '# note', 'echo two', '```', '', '<!-- readme-example: skip needs Docker -->', '', '```js', 'x', '```', '```', 'diagram', '```'].join('\n');
    expect(extractExamples(md)).toEqual([
      { line: 2, lang: 'sh', code: 'echo hi \\\n  there\n# note\necho two', skip: null },
      { line: 11, lang: 'js', code: 'x', skip: 'needs Docker' },
    ]);
    expect(shellCommands('echo hi \\\n  there\n# note\necho two')).toEqual(['echo hi \\\n  there', 'echo two']);
  });

  it('README.md has runnable examples, and every skipped one says why', () => {
    expect(EXAMPLES.filter((e) => e.skip === null).length).toBeGreaterThanOrEqual(20);
    for (const e of EXAMPLES) if (e.skip !== null) expect(e.skip.length, `README.md:${e.line}`).toBeGreaterThan(8);
    // Sparingly: most blocks run.
    expect(EXAMPLES.filter((e) => e.skip !== null).length).toBeLessThan(EXAMPLES.length / 3);
  });
});

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; input?: string; timeoutMs: number }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** GraphQL errors in a command's output (curl prints one JSON response), or null. */
function graphqlErrors(stdout: string): string | null {
  const text = stdout.trim();
  if (!text.startsWith('{')) return null;
  try {
    const body = JSON.parse(text) as { errors?: unknown };
    return body.errors ? JSON.stringify(body.errors) : null;
  } catch {
    return null;
  }
}

describe('README examples: run against a real server with the demo', () => {
  let server: ServerProcess;
  let url: string;
  let workDir: string;
  let env: NodeJS.ProcessEnv;
  const placeholders = new Map<string, string>();

  beforeAll(async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-readme-data-'));
    // Commands run in a folder that mirrors the checkout (symlinks), so files they write
    // ($PWD/data/keys.json, say) land in a temporary folder, never in the checkout.
    workDir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-readme-cwd-'));
    for (const entry of readdirSync(REPO_ROOT)) if (!['data', '.data', '.git'].includes(entry)) symlinkSync(path.join(REPO_ROOT, entry), path.join(workDir, entry));
    const common = { CLIP_MODEL: TINY_MODEL_DIR, CLIP_TEXT_THREADS: '1', CLIP_IMAGE_THREADS: '1', RATE_LIMIT_PER_MINUTE: '0', DATA_DIR: dataDir };
    server = spawnServer({ ...common, HOST: '127.0.0.1', LOAD_DEMO: 'true', LOG_LEVEL: 'info' }); // info: spawnServer reads the URL from the 'listening' log line
    url = await server.listening;
    env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir(), ...common, LOG_LEVEL: 'warn', npm_config_update_notifier: 'false' };

    // Real ids for the placeholders, made the way a user would make them.
    const docs = await gql<{ documents: { totalCount: number; nodes: { id: string }[] } }>(url, '{ documents(first: 20) { totalCount nodes { id } } }');
    expect(docs.data?.documents.totalCount).toBeGreaterThanOrEqual(7);
    placeholders.set('<document id>', docs.data!.documents.nodes.at(-1)!.id);
    const photos = await gql<{ search: { hits: { photo: { id: string } | null }[] } }>(url, '{ search(text: "gauge", filter: { kinds: [PHOTO] }, limit: 5) { hits { photo { id } } } }');
    placeholders.set('<photo id>', photos.data!.search.hits.find((h) => h.photo)!.photo!.id);
    const valve = readFileSync(path.join(REPO_ROOT, 'demo', 'photos', 'valve-bv50.jpg'));
    const identify = async () => (await gqlUpload<{ identifyPart: { id: string } }>(url, 'query($image: Upload!) { identifyPart(image: $image) { id } }', { image: { bytes: valve } })).data!.identifyPart.id;
    placeholders.set('<identification id>', await identify());
    const feedback = await gql<{ confirmPart: { id: string } }>(url, 'mutation($id: ID!) { confirmPart(identificationId: $id, label: "BV-50 ball valve") { id } }', { id: await identify() });
    placeholders.set('<feedback id>', feedback.data!.confirmPart.id);
    // The test model is never confident, so every identification opened a review item.
    const queue = await gql<{ reviewQueue: { nodes: { id: string }[] } }>(url, '{ reviewQueue(status: OPEN, first: 1) { nodes { id } } }');
    placeholders.set('<review item id>', queue.data!.reviewQueue.nodes[0]!.id);
  }, 120_000);

  afterAll(async () => {
    server?.child.kill('SIGTERM');
    await server?.exited;
  });

  const localize = (code: string) => {
    const host = new URL(url).host;
    let out = code.replaceAll('http://127.0.0.1:4000', `http://${host}`).replaceAll('ws://127.0.0.1:4000', `ws://${host}`).replaceAll('localhost:4000', host);
    for (const [name, value] of placeholders) out = out.replaceAll(name, value);
    return out;
  };

  const runnable = EXAMPLES.filter((e) => e.skip === null);
  it.each(runnable.map((e) => [`README.md:${e.line} (${e.lang})`, e] as const))('%s', async (_name, example) => {
    const code = localize(example.code);
    expect(code, 'a placeholder without a value').not.toMatch(/<[a-z][a-z ]*>|…/);
    if (example.lang === 'js') {
      const r = await run(process.execPath, ['--input-type=module', '-'], { cwd: REPO_ROOT, env, input: code, timeoutMs: 60_000 });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim(), 'prints nothing').not.toBe('');
      expect(r.stdout).not.toMatch(/"errors"|Error:/);
      return;
    }
    // Each command reports its own exit code; the block shares one shell (exports carry on).
    const commands = shellCommands(code);
    const script = commands.map((c, i) => `${c}\nprintf '\\n@@@ %s %s\\n' ${i} $?`).join('\n');
    const r = await run('bash', ['-c', script], { cwd: workDir, env, timeoutMs: 240_000 });
    const parts = r.stdout.split(/\n@@@ (\d+) (\d+)\n/);
    commands.forEach((command, i) => {
      const at = parts.indexOf(String(i), 1);
      expect(at, `no result for: ${command}\n${r.stderr}`).toBeGreaterThan(0);
      const output = parts[at - 1]!;
      const status = Number(parts[at + 1]);
      expect(status, `exit status of: ${command}\n${output}\n${r.stderr}`).toBe(0);
      if (/^export [A-Z_]+=\S+$/.test(command.trim())) return;
      expect(output.trim(), `prints nothing: ${command}`).not.toBe('');
      expect(graphqlErrors(output), `GraphQL errors from: ${command}`).toBeNull();
    });
  }, 300_000);
});
