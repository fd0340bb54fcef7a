/**
 * The web console (console/ at the repository root): its page, and its script and style bundled
 * by esbuild from the TypeScript sources when first asked for, kept in memory for the life of the
 * process. Building at run time (esbuild is a dependency of tsx, which already runs this server)
 * means no build output in git, no build step to forget after `npm ci`, and a bundle that cannot be
 * stale; the cost is one build of ~0.1–0.5 s on the first page load.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const CONSOLE_DIR = fileURLToPath(new URL('../../console/', import.meta.url));

export interface ConsoleAsset {
  contentType: string;
  body: string;
}

/**
 * The console page's Content-Security-Policy: its own script and style files only (no inline
 * code), images from this server (page thumbnails, photos) and from blob: (the photo being sent),
 * requests and the answer WebSocket to this origin only.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

let built: Promise<Map<string, ConsoleAsset>> | null = null;

async function build(): Promise<Map<string, ConsoleAsset>> {
  const { build: esbuild } = await import('esbuild');
  const result = await esbuild({
    entryPoints: { app: `${CONSOLE_DIR}src/main.tsx` },
    bundle: true,
    write: false,
    outdir: '/console',
    format: 'esm',
    target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
    minify: true,
    sourcemap: false,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const assets = new Map<string, ConsoleAsset>();
  for (const file of result.outputFiles) {
    const name = file.path.slice(file.path.lastIndexOf('/') + 1);
    assets.set(name, { contentType: name.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8', body: file.text });
  }
  assets.set('index.html', { contentType: 'text/html; charset=utf-8', body: readFileSync(`${CONSOLE_DIR}index.html`, 'utf8') });
  return assets;
}

/** The console's files by name (index.html, app.js, app.css); built once per process. */
export function consoleAssets(): Promise<Map<string, ConsoleAsset>> {
  built ??= build().catch((error: unknown) => {
    built = null; // a failed build (sources being edited) is tried again on the next request
    throw error;
  });
  return built;
}
