/**
 * What a tenant costs before it has data: opens N empty tenant spaces (SQLite knowledge store,
 * identify store, moderation prompts, scoped encoder) on one core and prints the RSS growth and
 * the time per open.
 *
 *   npm run bench:tenants -- [--tenants 100] [--model models/tiny-clip]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/observability/logger.js';
import { createCore } from '../src/core/create-core.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
const TENANTS = Number(arg('tenants', '100'));
const MODEL = arg('model', 'models/tiny-clip');

const dir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-tenants-'));
const core = await createCore(loadConfig({ DATA_DIR: dir, CLIP_MODEL: MODEL, LOG_LEVEL: 'silent', LOAD_DEMO: 'false' }), createLogger('silent'));
const gc = (globalThis as { gc?: () => void }).gc;
const rssMb = () => {
  gc?.();
  return process.memoryUsage().rss / 1048576;
};
const before = rssMb();
const started = performance.now();
for (let i = 0; i < TENANTS; i++) await core.spaces.get(`tenant-${i}`);
const msEach = (performance.now() - started) / TENANTS;
const grown = rssMb() - before;
await core.close();
rmSync(dir, { recursive: true, force: true });
console.log(`${TENANTS} empty tenant spaces, model ${MODEL}${gc ? '' : ' (run with node --expose-gc for steadier figures)'}`);
console.log(`RSS +${grown.toFixed(1)} MB (${(grown / TENANTS).toFixed(2)} MB per tenant), ${msEach.toFixed(1)} ms per open`);
