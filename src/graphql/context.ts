import type { Logger } from 'pino';
import type { AuditReader } from '../audit/audit-log.js';
import type { Principal } from '../auth/api-keys.js';
import type { HealthService } from '../server/health.js';
import type { TenantServices } from '../server/core.js';

/**
 * Services a resolver may use: the caller's tenant's (see src/tenancy/tenant-spaces.ts) plus
 * health. Nothing here can reach another tenant's data.
 */
export interface Services extends TenantServices {
  health: HealthService;
  /** The caller's tenant's part of the audit log. */
  audit: AuditReader;
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
