/**
 * The HTTP server: build the core from the config (src/core/create-core.ts, shared with the CLI),
 * read the API keys and open their tenants, load the demo on first run, then listen.
 */
import { createServer } from 'node:http';
import { ApiKeyRegistry } from '../auth/api-keys.js';
import type { Config } from '../config.js';
import { createCore } from '../core/create-core.js';
import { loadDemoIfEmpty } from '../demo/load-demo.js';
import { createLogger } from '../observability/logger.js';
import { Metrics } from '../observability/metrics.js';
import { sweepOrphanBlobs } from '../blob/orphan-sweep.js';
import { createApp } from './app.js';
import { sweepUploadTempDir, useAsProcessTempDir } from './upload-temp.js';

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Called when the server cannot go on (the store refused its configuration after start). */
  onFatal?: (error: unknown) => void;
  /**
   * This process is the server (main.ts): make UPLOAD_TMP_DIR the process's temp folder, so upload
   * buffers land where start-up sweeps them. Off for in-process servers (tests, tools).
   */
  ownProcessTempDir?: boolean;
}

export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  // Asynchronous: the per-request log line costs the request no write system call (flushed on exit and crash).
  const logger = createLogger(config.logLevel, undefined, { asyncStdout: true });
  // Before any request: whatever is in the upload temp folder was left by a process that died mid-upload.
  const swept = await sweepUploadTempDir(config.uploadTmpDir);
  if (swept.files > 0) logger.info({ dir: config.uploadTmpDir, files: swept.files, bytes: swept.bytes }, 'removed upload temp files left by an earlier run');
  if (options.ownProcessTempDir) useAsProcessTempDir(config.uploadTmpDir);
  const metrics = new Metrics();
  const core = await createCore(config, logger, metrics);
  const { encoder, home } = core;
  const httpServer = createServer();
  let built: Awaited<ReturnType<typeof createApp>>;
  try {
    // The demo goes to the `default` tenant only (the open server's); named tenants start empty.
    if (config.store.kind === 'sqlite' && config.loadDemo) await loadDemoIfEmpty(home.store, home.services.ingest, logger);
    const registry = config.auth.keysFile ? new ApiKeyRegistry(config.auth.keysFile) : null;
    if (!registry) logger.warn({ host: config.http.host }, 'No AUTH_KEYS_FILE: the server is open (every caller is admin of one tenant). Keep it on a trusted network or set AUTH_KEYS_FILE.');
    else {
      // Every known tenant's space now, so first requests are not slow.
      await core.openTenants(registry.tenants());
      logger.info({ tenants: registry.tenants() }, 'API keys loaded; tenants isolated');
    }
    built = await createApp({ config, core, registry, metrics, logger, httpServer });
  } catch (error) {
    await core.close();
    throw error;
  }
  const { app, apollo } = built;
  // A remote store opens in the background; the demo loads once it is there.
  if (config.store.kind !== 'sqlite') {
    core.storeReady.then(
      () => (config.loadDemo ? loadDemoIfEmpty(home.store, home.services.ingest, logger).then(() => undefined) : undefined),
      (error: unknown) => {
        logger.fatal({ err: error }, 'a store (Qdrant, Postgres) cannot be used with this configuration');
        options.onFatal?.(error);
      },
    ).catch((error: unknown) => logger.error({ err: error }, 'loading the demo knowledge base failed'));
  }
  httpServer.on('request', app);
  // Retention: at start-up, then hourly, in every open tenant space (every tenant of the keys
  // file is opened at start, and any other once it is used).
  const retention = async () => {
    if (config.retentionDays === 0) return;
    for (const space of await core.spaces.opened()) {
      const deleted = await space.services.identify.applyRetention(config.retentionDays);
      if (deleted > 0) logger.info({ tenant: space.tenant, deleted, retentionDays: config.retentionDays }, 'retention: deleted old query artefacts');
    }
  };
  // The start-up run waits for the stores: on the scale deployment the records database (DATABASE_URL)
  // connects in the background, and a run before that always failed (the next one came an hour later).
  const startupRetention = () => retention().catch((err: unknown) => logger.warn({ err }, 'retention at start-up skipped'));
  if (config.store.kind === 'sqlite') await startupRetention();
  else void core.storeReady.then(startupRetention, () => undefined);
  const retentionTimer = setInterval(() => void retention().catch((err: unknown) => logger.error({ err }, 'retention failed')), 3_600_000).unref();
  // The orphan-blob sweep (BLOB_SWEEP_INTERVAL_MS; off by default, `fieldscope blobs sweep` is the
  // operator's tool): unfinished adds older than INGEST_TIMEOUT_MS + BLOB_SWEEP_GRACE_MS, then
  // files no record refers to, older than BLOB_SWEEP_GRACE_MS, in every open
  // tenant space. One run at a time; safe on several replicas at once (src/blob/orphan-sweep.ts).
  let sweeping = false;
  const sweep = async () => {
    if (sweeping) return;
    sweeping = true;
    try {
      for (const space of await core.spaces.opened()) {
        const summary = await sweepOrphanBlobs({
          blobs: space.blobs,
          isReferenced: (key) => space.store.isBlobReferenced(key),
          graceMs: config.blobSweep.graceMs,
          removeUnfinished: (o) => space.store.removeUnfinishedAdds(o),
          ingestTimeoutMs: config.timeouts.ingestMs,
        });
        logger[summary.orphans > 0 || summary.unfinished > 0 || summary.failed > 0 ? 'info' : 'debug']({ tenant: space.tenant, ...summary }, 'blob sweep: removed unfinished adds and deleted files no record refers to');
      }
    } finally {
      sweeping = false;
    }
  };
  const sweepTimer = config.blobSweep.intervalMs > 0 ? setInterval(() => void sweep().catch((err: unknown) => logger.error({ err }, 'blob sweep failed')), config.blobSweep.intervalMs).unref() : null;
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
  logger.info({ url: `${url}/graphql`, console: `${url}/`, explorer: `${url}/explorer` }, 'Fieldscope is listening');

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      core.health.markShuttingDown();
      clearInterval(queueGauge);
      clearInterval(retentionTimer);
      if (sweepTimer) clearInterval(sweepTimer);
      // Apollo's drain plugin stops new connections and waits for in-flight requests.
      await apollo.stop();
      await core.close();
      logger.info('Fieldscope stopped');
      logger.flush();
    })());
  return { url, close };
}
