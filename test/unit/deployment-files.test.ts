/**
 * docker-compose.yml and the Dockerfile, checked where no Docker engine runs: the compose file is
 * parsed as YAML and its essentials asserted (pinned Qdrant with a persistent volume, an API key
 * and a health check; the app built from the Dockerfile and configured for Qdrant; the language
 * model behind a profile), the app's environment is run through the real configuration loader,
 * and the Dockerfile is read for its stages, user, health check and the files it copies.
 * `docker compose config` and a real build still have to be run where Docker is.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config.js';
import { REPO_ROOT } from '../helpers/shared.js';

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] | string };
  profiles?: string[];
  ports?: string[];
}
interface Compose {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
}

const composeText = readFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8');
const compose = parse(composeText) as Compose;
const dockerfile = readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');

/** Compose interpolation with the defaults (`${X:-d}` → d, `${X:?msg}` → a stand-in, `$$` → `$`). */
function interpolate(value: string): string {
  return value
    .replace(/\$\{([A-Z_][A-Z0-9_]*)(?::-([^}]*)|:\?[^}]*)?\}/g, (_, _name: string, fallback: string | undefined) => fallback ?? 'set-by-operator')
    .replace(/\$\$/g, '$');
}

describe('docker-compose.yml', () => {
  it('uses only interpolations compose understands', () => {
    const withoutEscapes = composeText.replace(/\$\$/g, '');
    for (const match of withoutEscapes.matchAll(/\$(\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*)?/g)) {
      expect(match[0], `"${match[0]}" in docker-compose.yml`).toMatch(/^\$\{[A-Z_][A-Z0-9_]*(?::-[^}]*|:\?[^}]+)?\}$/);
    }
  });

  it('runs a pinned Qdrant with persistent storage, an API key and a readiness health check', () => {
    const qdrant = compose.services.qdrant!;
    expect(qdrant.image).toMatch(/^qdrant\/qdrant:v1\.(1[5-9]|[2-9]\d)\.\d+$/);
    const storage = qdrant.volumes?.find((v) => v.endsWith(':/qdrant/storage'));
    expect(storage).toBeDefined();
    expect(Object.keys(compose.volumes)).toContain(storage!.split(':')[0]);
    expect(qdrant.environment?.QDRANT__SERVICE__API_KEY).toMatch(/^\$\{QDRANT_API_KEY:\?.+\}$/);
    expect(JSON.stringify(qdrant.healthcheck?.test)).toContain('/readyz');
  });

  it('builds the app from the Dockerfile, configured for Qdrant, started once Qdrant is healthy', () => {
    const app = compose.services.app!;
    expect(app.build).toEqual({ context: '.', dockerfile: 'Dockerfile' });
    expect(app.depends_on?.qdrant).toEqual({ condition: 'service_healthy' });
    const env = app.environment!;
    expect(env.VECTOR_STORE).toBe('qdrant');
    expect(env.HOST).toBe('0.0.0.0');
    expect(env.QDRANT_URL).toBe('http://qdrant:6333');
    expect(env.QDRANT_API_KEY).toBe(compose.services.qdrant!.environment!.QDRANT__SERVICE__API_KEY);
    expect(app.volumes?.some((v) => v.endsWith(':/data'))).toBe(true);
    expect(env.DATA_DIR).toBe('/data');
  });

  it('gives the app an environment the configuration accepts', () => {
    const env = Object.fromEntries(Object.entries(compose.services.app!.environment!).map(([k, v]) => [k, interpolate(String(v))]));
    const config = loadConfig(env);
    expect(config.http.host).toBe('0.0.0.0');
    expect(config.http.port).toBe(4000);
    expect(config.dataDir).toBe('/data');
    expect(config.llm.model).toBeUndefined();
    // The real model or a refusal to start: no fallback to random weights, none allowed in production.
    expect(config.env).toBe('production');
    expect(config.models.fallbackToTestModel).toBe(false);
    expect(config.models.allowTestModel).toBe(false);
    expect(config.models.clipModel).toBe('clip-vit-b32');
  });

  it('keeps the local language model behind the "llm" profile, pinned', () => {
    const ollama = compose.services.ollama!;
    expect(ollama.profiles).toEqual(['llm']);
    expect(ollama.image).toMatch(/^ollama\/ollama:\d+\.\d+\.\d+$/);
    for (const [name, service] of Object.entries(compose.services)) if (name !== 'ollama') expect(service.profiles, name).toBeUndefined();
  });
});

describe('Dockerfile', () => {
  const stages = dockerfile.split(/^FROM /m).slice(1);
  const runtime = stages[stages.length - 1]!;

  it('builds in one stage (with the toolchain for better-sqlite3, no CUDA download) and runs in another, as a non-root user', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const build = stages[0]!;
    expect(build).toMatch(/python3 make g\+\+/);
    // The image's npm 10 does not read package.json allowScripts: the package's own switch, set before npm ci.
    expect(build).toMatch(/^ENV ONNXRUNTIME_NODE_INSTALL=skip$/m);
    expect(build.indexOf('ONNXRUNTIME_NODE_INSTALL=skip')).toBeLessThan(build.indexOf('npm ci'));
    expect(build).toContain("require('better-sqlite3')");
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).not.toMatch(/g\+\+|build-essential/);
    expect(runtime).toMatch(/COPY --from=build .*node_modules/);
  });

  it('checks /health and starts the server so that SIGTERM reaches it', () => {
    expect(runtime).toMatch(/HEALTHCHECK[\s\S]*\/health/);
    expect(runtime).toMatch(/^CMD \["node", "--import", "tsx", "src\/main\.ts"\]$/m);
    expect(runtime).toMatch(/HOST=0\.0\.0\.0/);
  });

  it('copies only files that exist, and the build context leaves local state out', () => {
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(?:--\S+ )*(.+) \S+$/gm)].flatMap((m) => m[1]!.split(/\s+/));
    expect(sources).toEqual(expect.arrayContaining(['package-lock.json', 'src', 'schema', 'models']));
    expect(sources).not.toContain('.npmrc');
    for (const source of sources) expect(existsSync(path.join(REPO_ROOT, source)), source).toBe(true);
    const ignore = readFileSync(path.join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['node_modules', 'data', '.git', '.env']) expect(ignore).toContain(entry);
  });
});
