/**
 * The command line tells the truth (issue 13, item 5): --version, precise usage errors with exit
 * code 2, and a taken port named as such instead of a stack trace. Run as users run them.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnServer } from '../helpers/process.js';
import { TINY_MODEL_DIR } from '../helpers/server.js';
import { REPO_ROOT } from '../helpers/shared.js';

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'src', 'cli', 'main.ts'), ...args], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: os.tmpdir(), ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('fieldscope CLI', () => {
  it('--version prints the package version and exits 0', async () => {
    const { version } = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = await cli(['--version']);
    expect(r).toMatchObject({ code: 0, stdout: `fieldscope ${version}\n` });
  });

  it('keys add --role boss names the invalid role and the valid ones, exit 2; a missing option is named', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'fieldscope-keys-')), 'keys.json');
    const boss = await cli(['keys', 'add', '--name', 'anna', '--role', 'boss', '--file', file]);
    expect(boss.code).toBe(2);
    expect(boss.stderr).toBe('Invalid role "boss": the roles are technician, agent, admin.\n');
    const noName = await cli(['keys', 'add', '--role', 'admin', '--file', file]);
    expect(noName.code).toBe(2);
    expect(noName.stderr).toMatch(/^keys add needs --name NAME\.\n/);
    const unknown = await cli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^Unknown command "frobnicate"/);
  });
});

describe('npm start on a port that is taken', () => {
  let blocker: Server;
  let port: number;
  beforeAll(async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    port = (blocker.address() as { port: number }).port;
  });
  afterAll(() => {
    blocker.close();
  });

  it('says the port is in use and to set PORT, without a stack trace, and exits 1', async () => {
    const proc = spawnServer({ PORT: String(port), HOST: '127.0.0.1', CLIP_MODEL: TINY_MODEL_DIR, DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'fieldscope-port-')), LOAD_DEMO: 'false' });
    expect(await proc.exited).toBe(1);
    expect(proc.stderr()).toBe(`Fieldscope could not start: port ${port} is in use on 127.0.0.1: set PORT to a free port (or stop what is using it).\n`);
  });
});
