import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The SDL files in schema/, in a stable order (the API contract lives there, not in code). */
export function loadTypeDefs(): string[] {
  const dir = fileURLToPath(new URL('../../schema/', import.meta.url));
  return readdirSync(dir)
    .filter((f) => f.endsWith('.graphql'))
    .sort((a, b) => (a === 'common.graphql' ? -1 : b === 'common.graphql' ? 1 : a.localeCompare(b)))
    .map((f) => readFileSync(dir + f, 'utf8'));
}
