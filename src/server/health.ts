/**
 * Readiness facts shared by GET /ready and the GraphQL `health` query.
 */
import type { ClipEncoder, ModelInfo } from '../clip/clip-encoder.js';
import type { KnowledgeStore, StoreStatus } from '../store/knowledge-store.js';

export interface HealthReport {
  status: 'ok' | 'degraded' | 'shutting_down';
  model: ModelInfo;
  store: StoreStatus;
}

export class HealthService {
  private shuttingDown = false;

  constructor(
    private readonly encoder: ClipEncoder,
    private readonly store: Pick<KnowledgeStore, 'storeStatus'>,
  ) {}

  markShuttingDown(): void {
    this.shuttingDown = true;
  }

  async report(): Promise<HealthReport> {
    const store = await this.store.storeStatus();
    const status = this.shuttingDown ? 'shutting_down' : this.encoder.ready && store.ready ? 'ok' : 'degraded';
    return { status, model: this.encoder.model, store };
  }
}
