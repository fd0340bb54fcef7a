/**
 * Prometheus metrics (served at /metrics). One registry per process, built in the composition
 * root and handed to whoever records; tests build their own.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Stages of work whose latency we track separately (label values of fieldscope_stage_seconds). */
export type Stage = 'decode_image' | 'tokenize' | 'queue_wait_image' | 'queue_wait_text' | 'infer_image' | 'infer_text';

export interface StageObserver {
  observeStage(stage: Stage, seconds: number): void;
  countCache(kind: 'text' | 'image', hit: boolean): void;
}

export class Metrics implements StageObserver {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly graphqlDuration: Histogram<'operation' | 'outcome'>;
  readonly stageDuration: Histogram<'stage'>;
  readonly batchSize: Histogram<'encoder'>;
  readonly cacheLookups: Counter<'kind' | 'result'>;
  readonly queueDepth: Gauge<'encoder'>;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'fieldscope_' });
    const latency = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
    this.httpDuration = new Histogram({
      name: 'fieldscope_http_request_duration_seconds',
      help: 'HTTP request latency by route and status.',
      labelNames: ['method', 'route', 'status'],
      buckets: latency,
      registers: [this.registry],
    });
    this.graphqlDuration = new Histogram({
      name: 'fieldscope_graphql_operation_duration_seconds',
      help: 'GraphQL operation latency by operation name and outcome.',
      labelNames: ['operation', 'outcome'],
      buckets: latency,
      registers: [this.registry],
    });
    this.stageDuration = new Histogram({
      name: 'fieldscope_stage_duration_seconds',
      help: 'Latency of each processing stage (decode, tokenize, queue wait, inference).',
      labelNames: ['stage'],
      buckets: latency,
      registers: [this.registry],
    });
    this.batchSize = new Histogram({
      name: 'fieldscope_encoder_batch_size',
      help: 'Items per inference batch.',
      labelNames: ['encoder'],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128],
      registers: [this.registry],
    });
    this.cacheLookups = new Counter({
      name: 'fieldscope_embedding_cache_lookups_total',
      help: 'Embedding cache lookups by kind and result.',
      labelNames: ['kind', 'result'],
      registers: [this.registry],
    });
    this.queueDepth = new Gauge({
      name: 'fieldscope_encoder_queue_depth',
      help: 'Items waiting for inference.',
      labelNames: ['encoder'],
      registers: [this.registry],
    });
  }

  observeStage(stage: Stage, seconds: number): void {
    this.stageDuration.observe({ stage }, seconds);
  }

  countCache(kind: 'text' | 'image', hit: boolean): void {
    this.cacheLookups.inc({ kind, result: hit ? 'hit' : 'miss' });
  }
}

/** For code paths (and tests) that do not record metrics. */
export const noopStageObserver: StageObserver = {
  observeStage: () => undefined,
  countCache: () => undefined,
};
