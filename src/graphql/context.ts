import type { Logger } from 'pino';
import type { EmbeddingService } from '../embedding/embedding-service.js';
import type { HealthService } from '../server/health.js';

/** Services every resolver may use. Built once at start-up; the per-request context only refers to them. */
export interface Services {
  embeddings: EmbeddingService;
  health: HealthService;
}

export interface GraphQLContext {
  services: Services;
  limits: { maxUploadBytes: number };
  logger: Logger;
}
