/**
 * Composition root: build every dependency from the config, then listen. Nothing else starts anything.
 */
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:http';
import { OnnxClipEncoder } from '../clip/clip-encoder.js';
import { resolveModelFolder } from '../clip/model-files.js';
import type { Config } from '../config.js';
import { EmbeddingService } from '../embedding/embedding-service.js';
import { resolveModelChoice } from '../models/resolve-model.js';
import { createLogger } from '../observability/logger.js';
import { Metrics } from '../observability/metrics.js';
import { createApp } from './app.js';
import { dataDirStatus, HealthService } from './health.js';

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

export async function startServer(config: Config): Promise<RunningServer> {
  const logger = createLogger(config.logLevel);
  await mkdir(config.dataDir, { recursive: true });
  const metrics = new Metrics();

  const choice = await resolveModelChoice({
    clipModel: config.models.clipModel,
    modelsDir: config.models.dir,
    autoPull: config.models.autoPull,
    fallbackToTestModel: config.models.fallbackToTestModel,
    baseUrl: config.models.baseUrl,
    manifestsDir: config.models.manifestsDir,
    logger,
  });
  const spec = await resolveModelFolder(choice.dir, config.models.variant);
  const encoder = await OnnxClipEncoder.load(spec, {
    ...config.encoder,
    imageLimits: { maxBytes: config.limits.maxUploadBytes, maxPixels: config.limits.maxImagePixels },
    isTestModel: choice.isTestModel,
    observer: metrics,
    onBatch: (kind, size) => metrics.batchSize.observe({ encoder: kind }, size),
  });
  logger.info({ model: encoder.model, dir: spec.dir }, 'CLIP model loaded');

  const health = new HealthService(encoder, dataDirStatus(config.dataDir));
  const services = { embeddings: new EmbeddingService(encoder, config.limits), health };

  const httpServer = createServer();
  const { app, apollo } = await createApp({ config, services, metrics, logger, httpServer });
  httpServer.on('request', app);
  const queueGauge = setInterval(() => {
    const depth = encoder.queueDepth();
    metrics.queueDepth.set({ encoder: 'text' }, depth.text);
    metrics.queueDepth.set({ encoder: 'background_text' }, depth.backgroundText);
    metrics.queueDepth.set({ encoder: 'image' }, depth.image);
  }, 1000).unref();

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.http.port, config.http.host, () => resolve());
  });
  const address = httpServer.address();
  const port = typeof address === 'object' && address ? address.port : config.http.port;
  const url = `http://${config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host}:${port}`;
  logger.info({ url: `${url}/graphql`, explorer: `${url}/` }, 'Fieldscope is listening');

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      health.markShuttingDown();
      clearInterval(queueGauge);
      // Apollo's drain plugin stops new connections and waits for in-flight requests.
      await apollo.stop();
      await encoder.close();
      logger.info('Fieldscope stopped');
      logger.flush();
    })());
  return { url, close };
}

