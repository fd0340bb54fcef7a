/**
 * Readiness facts shared by GET /ready and the GraphQL `health` query.
 */
import path from 'node:path';
import type { ClipEncoder, ModelInfo } from '../clip/clip-encoder.js';
import type { DependencyProbe } from '../core/backends.js';
import type { StorageHealth, StorageStatus } from '../storage/storage-health.js';
import type { KnowledgeStore, StoreStatus } from '../store/knowledge-store.js';

export const TEST_MODEL_REASON =
  'running on the bundled TEST model (random weights): every embedding, search result, answer, caption and identification is meaningless. Install a real model (`fieldscope models pull clip-vit-b32`) and set CLIP_MODEL.';

/**
 * A store location fit for anyone who can reach /ready: a file's name without the server's
 * directories (an absolute path tells an attacker about the host), a URL without credentials.
 */
export function publicLocation(location: string): string {
  if (path.isAbsolute(location)) return path.basename(location);
  return location.replace(/\/\/[^/@\s]*@/, '//');
}

export interface HealthReport {
  /** Whether requests are served: ok; degraded (model or store down, see `reasons`); shutting_down. */
  status: 'ok' | 'degraded' | 'shutting_down';
  /** Why results cannot be trusted or requests cannot be served, one sentence each (empty: none). */
  reasons: string[];
  /** True on the bundled test model (the same flag as `extensions.testModel` on every GraphQL response). */
  testModel: boolean;
  model: ModelInfo;
  store: StoreStatus;
  /** Whether the data disk takes writes; when it does not, the report is degraded (/ready 503) with the cause. */
  storage: StorageStatus;
}

export class HealthService {
  private shuttingDown = false;

  constructor(
    private readonly encoder: ClipEncoder,
    private readonly store: Pick<KnowledgeStore, 'storeStatus'>,
    private readonly storage: Pick<StorageHealth, 'status'> | null = null,
    private readonly dependencies: readonly DependencyProbe[] = [],
  ) {}

  markShuttingDown(): void {
    this.shuttingDown = true;
  }

  get testModel(): boolean {
    return this.encoder.model.isTestModel;
  }

  async report(): Promise<HealthReport> {
    const store = await this.store.storeStatus();
    const storage = this.storage ? await this.storage.status() : { writable: true, cause: null, since: null };
    const reasons: string[] = [];
    if (this.shuttingDown) reasons.push('shutting down');
    if (!this.encoder.ready) reasons.push('the CLIP encoder is not ready (a worker is down or still loading)');
    if (!store.ready) reasons.push(`the ${store.kind} store is not ready${store.problem ? `: ${store.problem}` : ''}`);
    for (const dependency of this.dependencies) {
      const problem = await dependency.problem();
      if (problem) reasons.push(`${dependency.name} is not ready: ${problem}`);
    }
    if (!storage.writable) reasons.push(`the data disk takes no writes: ${storage.cause ?? 'unknown cause'} (reads are served, changes are refused with STORAGE_FULL)`);
    const status = this.shuttingDown ? 'shutting_down' : reasons.length === 0 ? 'ok' : 'degraded';
    if (this.testModel) reasons.push(TEST_MODEL_REASON);
    return { status, reasons, testModel: this.testModel, model: this.encoder.model, store: { ...store, location: publicLocation(store.location) }, storage };
  }

  /**
   * GET /ready: 503 unless requests are served. Serving on the test model answers 200 but says
   * `degraded` with the reason, so a dashboard or a curl never shows a bare `ok` for it.
   */
  async readiness(): Promise<{ httpStatus: number; body: HealthReport }> {
    const report = await this.report();
    const body = report.testModel && report.status === 'ok' ? { ...report, status: 'degraded' as const } : report;
    return { httpStatus: report.status === 'ok' ? 200 : 503, body };
  }
}
