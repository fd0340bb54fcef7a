// @ts-check
/**
 * Puts threads under Linux's SCHED_IDLE scheduling policy: they run only on a core that no
 * normal thread wants, and a normal thread that wakes up takes their core at once.
 *
 * Why not only nice: a niced thread still holds its core for a slice after a normal thread wakes
 * (EEVDF protects the running thread's slice), and a text query wakes its ORT pool thread at every
 * parallel operator, dozens of times per query, so slices add up. A SCHED_IDLE thread is preempted
 * on wakeup without that protection, and a core running only SCHED_IDLE threads counts as idle when
 * the kernel places a waking thread. Lowering a thread to SCHED_IDLE needs no privilege.
 *
 * Why `chrt`: Node has no binding for sched_setscheduler, and a native addon or an FFI package
 * for one system call would be a compiled dependency to maintain. `chrt` (util-linux, present on
 * every glibc distribution's base image) does exactly this call for a thread id. It runs once per
 * worker, on the worker thread before its session exists, so ORT's pool threads inherit the
 * policy. Where it is missing or fails, the threads keep their nice value (CLIP_IMAGE_NICE) and
 * the worker reports the policy it got.
 *
 * Not for threads other work shares: libvips's decode threads serve every sharp user in the
 * process, and under SCHED_IDLE those would stall whenever other processes keep the cores busy.
 *
 * Plain JavaScript (checked by tsc via @ts-check) because onnx-worker.js, which runs under plain
 * node as well as tsx, imports it.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';

/** The kernel's number for SCHED_IDLE (field 41 of /proc/…/stat). */
export const SCHED_IDLE = 5;

/** Field 41 (scheduling policy) of a /proc/…/task/TID/stat line; the comm field may hold spaces, so count after its ')'. */
/** @param {string} stat */
export function policyOfStat(stat) {
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[38]);
}

/**
 * The policy of one of this process's threads, or null when it cannot be read.
 * @param {number | string} tid
 * @returns {number | null}
 */
export function threadPolicy(tid) {
  try {
    return policyOfStat(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

/** This thread's kernel thread id (Linux), or null elsewhere. @returns {number | null} */
export function currentThreadId() {
  try {
    // "/proc/thread-self" links to "PID/task/TID".
    return Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    return null;
  }
}

/** @param {number | string} tid */
const chrtArgs = (tid) => ['--idle', '-p', '0', String(tid)];

/**
 * Puts thread `tid` of this process under SCHED_IDLE, blocking the calling thread for the time
 * `chrt` takes (a few ms: call it from a worker thread or at start-up). True when the thread now
 * runs SCHED_IDLE.
 * @param {number} tid
 * @returns {boolean}
 */
export function setIdlePolicySync(tid) {
  if (process.platform !== 'linux') return false;
  try {
    execFileSync('chrt', chrtArgs(tid), { stdio: 'ignore', timeout: 5000 });
  } catch {
    return false;
  }
  return threadPolicy(tid) === SCHED_IDLE;
}
