/**
 * Issue 14: text queries under image load. With CLIP_IMAGE_SCHED_IDLE the image path runs under
 * Linux's SCHED_IDLE policy, so a waking text thread takes its core at once instead of waiting
 * out a niced thread's slice: the image worker thread and the ORT pool threads it creates, and the
 * background text worker. The text worker keeps the normal policy, and so do libvips's decode
 * threads (niced only: every sharp user in the process shares them).
 * Read from what the kernel says: field 41 (policy) of /proc/self/task/TID/stat.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { OnnxClipEncoder } from '../../src/clip/clip-encoder.js';
import { SCHED_IDLE, policyOfStat } from '../../src/workers/sched-idle.js';
import { loadEncoder } from '../helpers/encoder.js';
import { jpeg } from '../helpers/images.js';
import { TINY_MODEL_DIR } from '../helpers/server.js';

const SCHED_OTHER = 0;

/** Scheduling policy of each thread of this process named `name`. */
function policiesOf(name: string): number[] {
  const out: number[] = [];
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      if (readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() !== name) continue;
      out.push(policyOfStat(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')));
    } catch {
      // ended meanwhile
    }
  }
  return out;
}

let encoder: OnnxClipEncoder | undefined;
afterEach(async () => {
  await encoder?.close();
  encoder = undefined;
});

const options = { imageNice: 5, imageThreads: 2, textThreads: 2, backgroundTextWorker: true, cacheSize: 0 };

describe.runIf(process.platform === 'linux')('image path under SCHED_IDLE', () => {
  it('runs the image worker with its ORT pool threads and the background text worker under SCHED_IDLE, the text worker and the decode threads not', async () => {
    encoder = await loadEncoder(TINY_MODEL_DIR, { ...options, imageSchedIdle: true });
    // Worker thread plus one intra-op pool thread each (2 threads), named after the worker.
    const vision = policiesOf('clip-vision-0');
    expect(vision.length).toBeGreaterThanOrEqual(2);
    expect(vision.every((p) => p === SCHED_IDLE)).toBe(true);
    const background = policiesOf('clip-text-bg');
    expect(background.length).toBeGreaterThanOrEqual(2);
    expect(background.every((p) => p === SCHED_IDLE)).toBe(true);
    const text = policiesOf('clip-text');
    expect(text.length).toBeGreaterThanOrEqual(2);
    expect(text.every((p) => p === SCHED_OTHER)).toBe(true);

    // libvips starts its decode threads at the first decode.
    expect(await encoder.embedImages([await jpeg(1200, 900)])).toHaveLength(1);
    const decoders = policiesOf('libvips worker');
    expect(decoders.length).toBeGreaterThan(0);
    expect(decoders.every((p) => p === SCHED_OTHER)).toBe(true);
    // The main thread (HTTP, GraphQL) keeps the normal policy.
    expect(policyOfStat(readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8'))).toBe(SCHED_OTHER);
  });

  it('leaves every thread under the normal policy when turned off (nice only)', async () => {
    encoder = await loadEncoder(TINY_MODEL_DIR, { ...options, imageSchedIdle: false });
    await encoder.embedImages([await jpeg(640, 480)]);
    for (const name of ['clip-vision-0', 'clip-text-bg', 'clip-text']) {
      const policies = policiesOf(name);
      expect(policies.length).toBeGreaterThanOrEqual(2);
      expect(policies.every((p) => p === SCHED_OTHER)).toBe(true);
    }
  });
});
