import type { Logger } from 'pino';
import type { AuditReader } from '../audit/audit-store.js';
import type { Principal } from '../auth/api-keys.js';
import type { HealthService } from '../server/health.js';
import type { ReadTextService } from '../ocr/read-text-service.js';
import type { TenantServices } from '../core/create-core.js';
import type { OperationTrace } from '../server/operation-guard.js';

/**
 * Services a resolver may use: the caller's tenant's (see src/tenancy/tenant-spaces.ts) plus
 * health. Nothing here can reach another tenant's data.
 */
export interface Services extends TenantServices {
  health: HealthService;
  /** The caller's tenant's part of the audit log. */
  audit: AuditReader;
  /** readText (shared by every tenant: it reads the upload and stores nothing). */
  reading: ReadTextService;
}

export interface GraphQLContext {
  services: Services;
  limits: { maxUploadBytes: number; maxDocumentBytes: number; maxImagesBytes: number };
  logger: Logger;
  /** Who is calling, for feedback and review records ("anonymous" while the server runs without API keys). */
  actor: string;
  principal: Principal;
  /** URL of a stored file for this caller (signed when the server has API keys). */
  fileUrl: (key: string) => string;
  /**
   * Aborted at the operation's deadline, or when its client goes away (HTTP connection closed,
   * WebSocket closed or the subscription completed): pass it to services so the work stops and
   * nothing commits after it.
   */
  signal: AbortSignal;
  /** What the operation touched, for its audit entry (filled in by the guarded schema). */
  trace: OperationTrace;
  /** The caller's address for its audit entry (TRUST_PROXY applied); absent where no connection is known. */
  clientAddress?: string;
}
