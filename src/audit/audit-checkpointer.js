// @ts-check
/**
 * Worker thread that checkpoints the audit log's WAL (sqlite-audit-store.ts says why).
 *
 * The appending connection on the main thread never checkpoints (wal_autocheckpoint = 0), and
 * with synchronous = NORMAL a WAL commit does not fsync: the checkpoint is where the log's fsyncs
 * happen (WAL, then the database file). Left to SQLite's automatic checkpoint they ran on the
 * main thread every ~1000 WAL pages, stalling every request in flight for 5-17 ms when the disk
 * was busy. Here they run on this thread's own connection, every `intervalMs` while entries
 * arrive, so each entry is on disk within about that long.
 *
 * Plain JavaScript (checked by tsc via @ts-check): a worker is started from a file path, and the
 * same file must run under tsx, vitest and plain node.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const port = parentPort;
if (!port) throw new Error('audit-checkpointer must run as a worker thread');

/** @type {{ file: string, intervalMs: number }} */
const options = workerData;

/** @type {Database.Database} */
let db;
try {
  db = new Database(options.file);
  db.pragma('busy_timeout = 5000');
} catch (error) {
  port.postMessage({ kind: 'load-failed', message: error instanceof Error ? error.message : String(error) });
  throw error;
}

/** PASSIVE: copies what it can without waiting for (or blocking) the writer. Returns frames in the WAL. */
function checkpoint() {
  const [row] = /** @type {{ busy: number, log: number, checkpointed: number }[]} */ (db.pragma('wal_checkpoint(PASSIVE)'));
  return row?.log ?? 0;
}

let lastVersion = -1;
const timer = setInterval(() => {
  try {
    // data_version changes when another connection (the appender) has committed since we last looked.
    const version = /** @type {number} */ (db.pragma('data_version', { simple: true }));
    if (version === lastVersion) return;
    lastVersion = version;
    checkpoint();
    port.postMessage({ kind: 'checkpointed' });
  } catch (error) {
    port.postMessage({ kind: 'error', message: error instanceof Error ? error.message : String(error) });
  }
}, options.intervalMs);

port.on('message', (/** @type {{ kind: string }} */ msg) => {
  if (msg.kind !== 'stop') return;
  clearInterval(timer);
  try {
    checkpoint();
  } catch {
    // the closing connection on the main thread checkpoints too
  }
  db.close();
  port.postMessage({ kind: 'stopped' });
  port.close();
});

port.postMessage({ kind: 'ready' });
