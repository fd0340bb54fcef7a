/**
 * First run: when the knowledge base is empty, load the demo knowledge base in demo/ (SOPs,
 * manuals and datasheets written for this project, some as PDF, plus reference photos), so a
 * newcomer can search something the moment the server is up. LOAD_DEMO=false turns it off.
 */
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { IngestService } from '../ingest/ingest-service.js';
import { ContentBlockedError } from '../moderation/errors.js';
import type { KnowledgeStore } from '../store/knowledge-store.js';

export const DEMO_DIR = fileURLToPath(new URL('../../demo/', import.meta.url));

interface PhotoCaption {
  caption: string;
  metadata?: Record<string, unknown>;
}

export async function loadDemoIfEmpty(store: KnowledgeStore, ingest: IngestService, logger: Logger, dir = DEMO_DIR): Promise<{ documents: number; photos: number } | null> {
  const existing = await store.listDocuments({ first: 1 });
  if (existing.totalCount > 0) return null;
  const docsDir = path.join(dir, 'docs');
  const photosDir = path.join(dir, 'photos');
  const docFiles = (await readdir(docsDir).catch(() => [] as string[])).sort();
  if (docFiles.length === 0) {
    logger.warn({ dir: docsDir }, 'demo knowledge base not found; starting empty');
    return null;
  }
  logger.info({ documents: docFiles.length }, 'empty knowledge base: loading the demo (LOAD_DEMO=false turns this off)');
  let documents = 0;
  for (const name of docFiles) {
    const { created } = await ingest.ingestDocument({ bytes: await readFile(path.join(docsDir, name)), filename: name, metadata: { source: 'demo' } });
    if (created) documents++;
  }
  const captions = JSON.parse(await readFile(path.join(photosDir, 'captions.json'), 'utf8').catch(() => '{}')) as Record<string, PhotoCaption | string>;
  let photos = 0;
  for (const name of (await readdir(photosDir).catch(() => [] as string[])).filter((f) => /\.(jpe?g|png|webp)$/i.test(f)).sort()) {
    const entry = captions[name];
    const caption = typeof entry === 'string' ? entry : (entry?.caption ?? null);
    const metadata = { source: 'demo', ...(typeof entry === 'object' && entry?.metadata ? entry.metadata : {}) };
    try {
      const { created } = await ingest.ingestPhoto({ bytes: await readFile(path.join(photosDir, name)), filename: name, caption, metadata });
      if (created) photos++;
    } catch (error) {
      if (!(error instanceof ContentBlockedError)) throw error;
      logger.warn({ photo: name, reason: error.message }, 'demo photo refused by the moderation policy');
    }
  }
  logger.info({ documents, photos }, 'demo knowledge base loaded');
  return { documents, photos };
}
