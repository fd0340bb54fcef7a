/**
 * Issue 14: image decodes (sharp's libvips worker threads) ran at the server's own priority, level
 * with the text worker, so under image load they took cores from text queries while image
 * inference yielded them (CLIP_IMAGE_NICE). After a decode, libvips's threads run at the image
 * nice value too. Linux only: nice is per thread there.
 */
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OnnxClipEncoder } from '../../src/clip/clip-encoder.js';
import { lowerThreadPriority } from '../../src/workers/thread-priority.js';
import { loadEncoder } from '../helpers/encoder.js';
import { jpeg } from '../helpers/images.js';
import { TINY_MODEL_DIR } from '../helpers/server.js';

/** Nice value of each thread of this process named `name`. */
function nicesOf(name: string): number[] {
  const out: number[] = [];
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      if (readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() !== name) continue;
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      out.push(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
    } catch {
      // ended meanwhile
    }
  }
  return out;
}

describe.runIf(process.platform === 'linux')('image decode priority', () => {
  const IMAGE_NICE = 7;
  let encoder: OnnxClipEncoder;
  beforeAll(async () => {
    encoder = await loadEncoder(TINY_MODEL_DIR, { imageNice: IMAGE_NICE, cacheSize: 0 });
  });
  afterAll(async () => {
    await encoder?.close();
  });

  it("runs libvips's decode threads at CLIP_IMAGE_NICE once images have been decoded", async () => {
    const base = os.getPriority(process.pid);
    await encoder.embedImages([await jpeg(1200, 900)]);
    const nices = nicesOf('libvips worker');
    expect(nices.length).toBeGreaterThan(0);
    for (const nice of nices) expect(nice).toBeGreaterThanOrEqual(Math.min(19, base + IMAGE_NICE));
  });

  it('lowers only the named threads, never raises a priority, and does nothing for a delta of 0', () => {
    const mainBefore = os.getPriority(process.pid);
    expect(lowerThreadPriority('no such thread', 5)).toBe(0);
    expect(lowerThreadPriority('libvips worker', 0)).toBe(0);
    // Already at base + 7: asking for base + 3 leaves them there.
    expect(lowerThreadPriority('libvips worker', 3)).toBe(0);
    expect(Math.min(...nicesOf('libvips worker'))).toBeGreaterThanOrEqual(Math.min(19, mainBefore + IMAGE_NICE));
    expect(os.getPriority(process.pid)).toBe(mainBefore);
  });
});
