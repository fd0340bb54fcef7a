import type { Logger } from 'pino';
import type { AnswerService } from '../answer/answer-service.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Principal } from '../auth/api-keys.js';
import type { EmbeddingService } from '../embedding/embedding-service.js';
import type { IdentifyService } from '../identify/identify-service.js';
import type { IngestService } from '../ingest/ingest-service.js';
import type { SearchService } from '../search/search-service.js';
import type { KnowledgeStore } from '../store/knowledge-store.js';
import type { HealthService } from '../server/health.js';

/** Services every resolver may use. Built once at start-up; the per-request context only refers to them. */
export interface Services {
  embeddings: EmbeddingService;
  health: HealthService;
  ingest: IngestService;
  search: SearchService;
  answers: AnswerService;
  identify: IdentifyService;
  /** Read access for document/page/photo queries. */
  store: KnowledgeStore;
  audit: AuditLog;
}

export interface GraphQLContext {
  services: Services;
  limits: { maxUploadBytes: number; maxDocumentBytes: number };
  logger: Logger;
  /** Who is calling, for feedback and review records ("anonymous" while the server runs without API keys). */
  actor: string;
  principal: Principal;
  /** URL of a stored file for this caller (signed when the server has API keys). */
  fileUrl: (key: string) => string;
}
