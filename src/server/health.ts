/**
 * Readiness facts shared by GET /ready and the GraphQL `health` query.
 */
import type { ClipEncoder, ModelInfo } from '../clip/clip-encoder.js';

export interface StoreInfo {
  kind: string;
  ready: boolean;
  location: string;
}

/** Anything that can report the state of the storage backend. */
export interface StoreStatusSource {
  storeStatus(): Promise<StoreInfo>;
}

export interface HealthReport {
  status: 'ok' | 'degraded' | 'shutting_down';
  model: ModelInfo;
  store: StoreInfo;
}

export class HealthService {
  private shuttingDown = false;

  constructor(
    private readonly encoder: ClipEncoder,
    private readonly store: StoreStatusSource,
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
