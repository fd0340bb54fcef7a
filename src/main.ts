/**
 * `npm start`: read the configuration, start the server, stop cleanly on SIGTERM/SIGINT.
 */
import { createServer } from 'node:net';
import { loadConfig, type Config } from './config.js';
import { isAppError } from './errors.js';
import { startServer, type RunningServer } from './server/start-server.js';

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(78); // EX_CONFIG
  }
  // Before the model loads (seconds): a taken port is the commonest start-up failure, and found
  // this late it surfaces as the WebSocket layer's stack trace.
  const portProblem = await probePort(config.http.host, config.http.port);
  if (portProblem) {
    console.error(`Fieldscope could not start: ${portProblem}`);
    process.exit(1);
  }
  let server: RunningServer | undefined;
  // A remote store (Postgres, Qdrant) can refuse the configuration (a wrong password) before
  // startServer has returned: the server is then stopped as soon as it exists.
  let fatal = false;
  const stopForGood = (running: RunningServer) => void running.close().finally(() => process.exit(1));
  try {
    server = await startServer(config, {
      // This process is the server: upload buffers go to UPLOAD_TMP_DIR, which start-up sweeps.
      ownProcessTempDir: true,
      onFatal: (error) => {
        console.error(`Fieldscope cannot go on: ${isAppError(error) ? `${error.code}: ` : ''}${error instanceof Error ? error.message : String(error)}`);
        fatal = true;
        if (server) stopForGood(server);
      },
    });
    if (fatal) return stopForGood(server);
  } catch (error) {
    const listenProblem = describeListenError(error, config.http.host, config.http.port);
    if (listenProblem) {
      console.error(`Fieldscope could not start: ${listenProblem}`);
      process.exit(1);
    }
    const message = isAppError(error) ? `${error.code}: ${error.message}` : isSystemError(error) ? `${error.message} (check the path and its permissions)` : error instanceof Error ? (error.stack ?? error.message) : String(error);
    console.error(`Fieldscope could not start.\n${message}`);
    process.exit(1);
  }
  const shutdown = (signal: string) => {
    const timer = setTimeout(() => {
      console.error(`Shutdown took longer than ${config.http.shutdownGraceMs} ms; exiting.`);
      process.exit(1);
    }, config.http.shutdownGraceMs).unref();
    void server!.close().then(
      () => {
        clearTimeout(timer);
        process.exit(0);
      },
      (error: unknown) => {
        console.error(`Error during shutdown after ${signal}:`, error);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

/** Why the server could not listen there, in words (null for other errors). */
function describeListenError(error: unknown, host: string, port: number): string | null {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'EADDRINUSE') return `port ${port} is in use on ${host}: set PORT to a free port (or stop what is using it).`;
  if (code === 'EACCES') return `port ${port} on ${host} needs privileges this user does not have: set PORT to 1024 or above.`;
  if (code === 'EADDRNOTAVAIL') return `${host} is not an address of this machine: set HOST (127.0.0.1, or 0.0.0.0 for every interface).`;
  return null;
}

/** A file-system or network error from Node (it names the call and the path): its message says it all, a stack would only bury it. */
function isSystemError(error: unknown): error is Error & { code: string; syscall: string } {
  return error instanceof Error && typeof (error as { code?: unknown }).code === 'string' && typeof (error as { syscall?: unknown }).syscall === 'string';
}

/** Listens on the port and lets go at once; a problem comes back as a sentence. Port 0 (any) needs no check. */
function probePort(host: string, port: number): Promise<string | null> {
  if (port === 0) return Promise.resolve(null);
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', (error) => resolve(describeListenError(error, host, port) ?? `cannot listen on ${host}:${port}: ${error.message}`));
    probe.listen(port, host, () => probe.close(() => resolve(null)));
  });
}

void main();
