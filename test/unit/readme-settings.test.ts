/**
 * The README's settings tables are the operator's reference: every variable src/config.ts reads has
 * a row of its own (first cell) in a well-formed Markdown table, with the default config.ts applies.
 * Found by an outsider's read: QDRANT_MAX_RETRY_WAIT_MS was only mentioned inside another row, and a
 * blank line split the scale table so its DATABASE_* rows rendered as a stray paragraph.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SETTING_NAMES, settingDefaults } from '../../src/config.js';
import { REPO_ROOT } from '../helpers/shared.js';

const lines = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8').split('\n');
const isRow = (line: string) => line.trimStart().startsWith('|');
const isDelimiter = (line: string) => /^\s*\|(\s*:?-{3,}:?\s*\|)+\s*$/.test(line);

/** Body rows of real tables only: a header, a delimiter row, then contiguous rows. */
function tableRows(): { line: number; cells: string[] }[] {
  const rows: { line: number; cells: string[] }[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!isRow(lines[i]!) || !isDelimiter(lines[i + 1] ?? '')) continue;
    let j = i + 2;
    for (; j < lines.length && isRow(lines[j]!); j++) rows.push({ line: j + 1, cells: lines[j]!.split('|').slice(1, -1).map((c) => c.trim()) });
    i = j;
  }
  return rows;
}

/** Lines that look like table rows but belong to no table (a blank line cut them off their header). */
function strayRows(): number[] {
  const inTables = new Set(tableRows().map((r) => r.line));
  return lines.flatMap((line, i) => (isRow(line) && !isDelimiter(line) && !inTables.has(i + 1) && !isDelimiter(lines[i + 1] ?? '') ? [i + 1] : []));
}

describe('README settings tables', () => {
  it('has no table rows cut off from their table', () => {
    expect(strayRows()).toEqual([]);
  });

  it('gives every setting config.ts reads a row of its own', () => {
    const documented = new Set(tableRows().flatMap((r) => [...r.cells[0]!.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]!)));
    expect(SETTING_NAMES.filter((name) => !documented.has(name))).toEqual([]);
  });

  it('states the defaults config.ts applies to the named and on/off settings', () => {
    const defaults = settingDefaults();
    const wrong: string[] = [];
    for (const row of tableRows()) {
      const names = [...row.cells[0]!.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]!);
      const first = /^`([^`]+)`/.exec(row.cells[1] ?? '')?.[1];
      if (names.length !== 1 || first === undefined) continue;
      const actual = defaults[names[0]!];
      if ((typeof actual === 'string' || typeof actual === 'boolean') && String(actual) !== first) wrong.push(`${names[0]}: README ${first}, config.ts ${String(actual)}`);
    }
    expect(wrong).toEqual([]);
  });

  it('states the defaults config.ts applies to the numeric settings', () => {
    const defaults = settingDefaults();
    const wrong: string[] = [];
    for (const row of tableRows()) {
      const names = [...row.cells[0]!.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]!);
      const values = [...(row.cells[1] ?? '').matchAll(/`(-?\d+(?:\.\d+)?)`/g)].map((m) => m[1]!);
      // A row naming several settings lists their defaults in the same order.
      if (names.length === 0 || values.length !== names.length) continue;
      names.forEach((name, i) => {
        const actual = defaults[name];
        if (typeof actual === 'number' && actual !== Number(values[i])) wrong.push(`${name}: README ${values[i]}, config.ts ${actual}`);
      });
    }
    expect(wrong).toEqual([]);
  });
});
