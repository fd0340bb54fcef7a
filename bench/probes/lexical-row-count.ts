/**
 * What `lexicalRowCount` (the store's "is this store large enough for the lexical worker?" check,
 * run on every lexical search) costs on a large store: it reads FTS5's own totals record (one
 * primary-key lookup), not a count(*). Opens the file read-only.
 *   npx tsx bench/probes/lexical-row-count.ts /tmp/fs-1m8k/fieldscope.db
 */
import os from 'node:os';
import Database from 'better-sqlite3';
import { lexicalRowCount } from '../../src/store/sqlite/lexical-top-k.js';

const file = process.argv[2] ?? '/tmp/fs-1m8k/fieldscope.db';
const db = new Database(file, { readonly: true, fileMustExist: true });
db.pragma('mmap_size = 1073741824');
console.log(`${file}: ${lexicalRowCount(db).toLocaleString('en')} indexed rows; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
const cpu = (from: NodeJS.CpuUsage): number => {
  const used = process.cpuUsage(from);
  return used.user + used.system;
};
for (let round = 0; round < 3; round++) {
  const n = 20_000;
  let from = process.cpuUsage();
  for (let i = 0; i < n; i++) lexicalRowCount(db);
  const each = cpu(from) / n;
  const stmt = db.prepare('SELECT block FROM lexical_data WHERE id = 1').pluck();
  from = process.cpuUsage();
  for (let i = 0; i < n; i++) stmt.get();
  const prepared = cpu(from) / n;
  console.log(`lexicalRowCount ${each.toFixed(2)} µs CPU per call; the same read prepared once ${prepared.toFixed(2)} µs`);
}
const from = process.cpuUsage();
const rows = db.prepare('SELECT count(*) FROM lexical_docsize').pluck().get() as number;
console.log(`for comparison, count(*) over lexical_docsize (${rows.toLocaleString('en')}): ${(cpu(from) / 1000).toFixed(1)} ms CPU`);
db.close();
