/**
 * `npm start`: read the configuration, start the server, stop cleanly on SIGTERM/SIGINT.
 */
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
  let server: RunningServer;
  try {
    server = await startServer(config, {
      onFatal: (error) => {
        console.error(`Fieldscope cannot go on: ${isAppError(error) ? `${error.code}: ` : ''}${error instanceof Error ? error.message : String(error)}`);
        void server.close().finally(() => process.exit(1));
      },
    });
  } catch (error) {
    const message = isAppError(error) ? `${error.code}: ${error.message}` : error instanceof Error ? (error.stack ?? error.message) : String(error);
    console.error(`Fieldscope could not start.\n${message}`);
    process.exit(1);
  }
  const shutdown = (signal: string) => {
    const timer = setTimeout(() => {
      console.error(`Shutdown took longer than ${config.http.shutdownGraceMs} ms; exiting.`);
      process.exit(1);
    }, config.http.shutdownGraceMs).unref();
    void server.close().then(
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

void main();
