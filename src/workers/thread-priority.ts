/**
 * Lowers the OS priority of this process's threads that carry a given name (Linux), such as
 * libvips's "libvips worker" threads that sharp decodes images on.
 *
 * Why: a text query's inference uses both cores (2 intra-op threads) and waits at every parallel
 * section for its slower thread, so any thread at the server's own priority that holds a core
 * slows the query down. Image inference already runs niced (CLIP_IMAGE_NICE, set by each ONNX
 * worker on itself), but libvips creates its worker threads itself, at the priority of whatever
 * thread started them (the process's), so image decodes competed with text queries as equals. On
 * Linux nice is per thread and `setpriority` accepts a thread id, and lowering a priority needs no
 * privilege, so the threads are reniced from outside, by name.
 */
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

/** Field 19 (nice) of /proc/self/task/TID/stat; the comm field may hold spaces, so count after its ')'. */
function niceOf(stat: string): number {
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

/**
 * Sets every thread named `name` to the process's nice value + `delta` (at most 19) where it runs
 * at a higher priority than that. Returns how many threads it lowered. Best effort: elsewhere than
 * Linux, or without /proc, it does nothing.
 */
export function lowerThreadPriority(name: string, delta: number): number {
  if (delta <= 0 || process.platform !== 'linux') return 0;
  let lowered = 0;
  try {
    const base = os.getPriority(process.pid);
    const target = Math.min(19, base + delta);
    for (const tid of readdirSync('/proc/self/task')) {
      try {
        if (readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() !== name) continue;
        if (niceOf(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')) >= target) continue;
        os.setPriority(Number(tid), target);
        lowered++;
      } catch {
        // the thread ended meanwhile, or may not be changed: leave it
      }
    }
  } catch {
    // no /proc
  }
  return lowered;
}

/** `lowerThreadPriority` at most once per `intervalMs` (threads come and go with the work). */
export function throttledLowerThreadPriority(name: string, delta: number, intervalMs = 1000): () => void {
  let last = Number.NEGATIVE_INFINITY;
  return () => {
    const now = performance.now();
    if (now - last < intervalMs) return;
    last = now;
    lowerThreadPriority(name, delta);
  };
}
