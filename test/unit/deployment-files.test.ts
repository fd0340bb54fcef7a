/**
 * docker-compose.yml, deploy/nginx.conf, .env.example and the Dockerfile, checked where no Docker
 * engine runs: the compose file is parsed as YAML and its essentials asserted (every image pinned;
 * Qdrant, Postgres and MinIO with persistent volumes, credentials from the env file and health
 * checks; two app replicas built from the Dockerfile, configured for all three, behind nginx; the
 * language model behind a profile), every setting the app is given must be one src/config.ts reads,
 * the app's environment is run through the real configuration loader, and the Dockerfile is read
 * for its stages, user, health check and the files it copies. `docker compose config` and a real
 * build still have to be run where Docker is.
 */
import { existsSync, readFileSync } from 'node:fs';
import { BlockList } from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig, SETTING_NAMES } from '../../src/config.js';
import { REPO_ROOT } from '../helpers/shared.js';

interface Service {
  image?: string;
  command?: string[] | string;
  entrypoint?: string[] | string;
  deploy?: { replicas?: number };
  build?: { context: string; dockerfile: string };
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: { test: string[] | string };
  profiles?: string[];
  ports?: string[];
  networks?: Record<string, { ipv4_address?: string }>;
}
interface Compose {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
  networks?: Record<string, { ipam?: { config?: { subnet?: string }[] } }>;
}

const composeText = readFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8');
const compose = parse(composeText) as Compose;
const dockerfile = readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');

/** Compose interpolation with the defaults (`${X:-d}` → d, `${X:?msg}` → a stand-in, `$$` → `$`). */
function interpolate(value: string): string {
  return value
    .replace(/\$\{([A-Z_][A-Z0-9_]*)(?::-([^}]*)|:\?[^}]*)?\}/g, (_, _name: string, fallback: string | undefined) => fallback ?? 'set-by-the-operator-in-env')
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

  it('pins every image to a version', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.build) continue;
      expect(service.image, name).toMatch(/^[a-z0-9./-]+:(v?\d+\.\d+(\.\d+)?|RELEASE\.\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z)$/);
    }
  });

  it('runs Postgres and MinIO with persistent volumes, credentials from the env file and health checks', () => {
    const postgres = compose.services.postgres!;
    expect(postgres.volumes).toContain('postgres-data:/var/lib/postgresql/data');
    expect(postgres.environment?.POSTGRES_PASSWORD).toMatch(/^\$\{POSTGRES_PASSWORD:\?.+\}$/);
    expect(JSON.stringify(postgres.healthcheck?.test)).toContain('pg_isready');
    const minio = compose.services.minio!;
    expect(minio.volumes).toContain('minio-data:/data');
    expect(minio.environment?.MINIO_ROOT_PASSWORD).toMatch(/^\$\{MINIO_ROOT_PASSWORD:\?.+\}$/);
    expect(JSON.stringify(minio.healthcheck?.test)).toContain('ready');
    for (const volume of ['postgres-data', 'minio-data']) expect(Object.keys(compose.volumes)).toContain(volume);
    // The bucket and the app's own user are made once, before the app starts, by MinIO's own `mc`.
    const init = compose.services['minio-init']!;
    expect(init.image).toBe(minio.image);
    expect(init.depends_on).toEqual({ minio: { condition: 'service_healthy' } });
    const script = String(init.command);
    expect(script).toContain('mc mb --ignore-existing "fs/$$S3_BUCKET"');
    expect(script).toContain('mc admin user add fs "$$S3_ACCESS_KEY_ID" "$$S3_SECRET_ACCESS_KEY"');
  });

  it('runs two app replicas from the Dockerfile, on Qdrant, Postgres and MinIO, started once they are up', () => {
    const app = compose.services.app!;
    expect(app.build).toEqual({ context: '.', dockerfile: 'Dockerfile' });
    expect(app.deploy?.replicas).toBe(2);
    expect(app.depends_on).toEqual({
      qdrant: { condition: 'service_healthy' },
      postgres: { condition: 'service_healthy' },
      'minio-init': { condition: 'service_completed_successfully' },
    });
    const env = app.environment!;
    expect(env.VECTOR_STORE).toBe('qdrant');
    expect(env.HOST).toBe('0.0.0.0');
    expect(env.QDRANT_URL).toBe('http://qdrant:6333');
    expect(env.QDRANT_API_KEY).toBe(compose.services.qdrant!.environment!.QDRANT__SERVICE__API_KEY);
    const pg = compose.services.postgres!.environment!;
    expect(env.DATABASE_URL).toBe(`postgres://${pg.POSTGRES_USER}:${pg.POSTGRES_PASSWORD}@postgres:5432/${pg.POSTGRES_DB}`);
    expect(env.S3_ENDPOINT).toBe('http://minio:9000');
    const init = compose.services['minio-init']!.environment!;
    for (const key of ['S3_BUCKET', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY']) expect(env[key], key).toBe(init[key]);
    // Signed file URLs made on one replica verify on the other.
    expect(env.FILE_URL_SECRET).toMatch(/^\$\{FILE_URL_SECRET:\?.+\}$/);
    // Replicas share no folder for state: only the model files (read-only in use) are on a shared volume.
    expect(env.DATA_DIR).toBe('/data');
    expect(app.volumes).toEqual(['app-shared:/shared']);
    expect(env.MODELS_DIR).toBe('/shared/models');
    // Two replicas cannot share a host port: only the load balancer publishes one.
    expect(app.ports).toBeUndefined();
    const published = Object.entries(compose.services).filter(([, s]) => s.ports).map(([name]) => name);
    expect(published).toEqual(['proxy']);
  });

  it('makes the replicas believe X-Forwarded-For from nginx only, at its fixed address in the compose subnet', () => {
    const proxyIp = interpolate(compose.services.proxy!.networks?.default?.ipv4_address ?? '');
    const subnet = interpolate(compose.networks?.default?.ipam?.config?.[0]?.subnet ?? '');
    expect(proxyIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const trust = loadConfig({ TRUST_PROXY: interpolate(compose.services.app!.environment!.TRUST_PROXY ?? '') }).http.trustProxy;
    expect(trust).toEqual({ kind: 'addresses', addresses: [proxyIp] });
    const [base = '', bits = ''] = subnet.split('/');
    const composeSubnet = new BlockList();
    composeSubnet.addSubnet(base, Number(bits));
    expect(composeSubnet.check(proxyIp), `${proxyIp} in ${subnet}`).toBe(true);
    // nginx appends the peer it saw to X-Forwarded-For (the entry the app reads), and passes the scheme and WebSocket upgrades.
    const conf = readFileSync(path.join(REPO_ROOT, 'deploy', 'nginx.conf'), 'utf8');
    expect(conf).toMatch(/proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;/);
    expect(conf).toMatch(/proxy_set_header X-Forwarded-Proto \$scheme;/);
  });

  it('gives the app only settings that src/config.ts reads', () => {
    const unknown = Object.keys(compose.services.app!.environment!).filter((name) => !SETTING_NAMES.includes(name));
    expect(unknown).toEqual([]);
  });

  it('balances over the replicas with a pinned nginx, WebSocket and large uploads included', () => {
    const proxy = compose.services.proxy!;
    expect(proxy.image).toMatch(/^nginx:\d+\.\d+\.\d+$/);
    const mount = proxy.volumes?.find((v) => v.endsWith(':/etc/nginx/nginx.conf:ro'));
    expect(mount).toBeDefined();
    const conf = readFileSync(path.join(REPO_ROOT, mount!.split(':')[0]!), 'utf8');
    expect(conf).toMatch(/resolver 127\.0\.0\.11\b/);
    expect(conf).toContain('http://app:4000');
    expect(conf).toMatch(/proxy_set_header Upgrade \$http_upgrade;/);
    expect(conf).toMatch(/proxy_set_header Connection \$connection_upgrade;/);
    const listen = /listen (\d+);/.exec(conf)?.[1];
    expect(proxy.ports).toEqual([`\${FIELDSCOPE_PORT:-4000}:${listen}`]);
    // The body limit lets the app's own document limit apply (it answers PAYLOAD_TOO_LARGE in GraphQL's shape).
    const bodyMb = Number(/client_max_body_size (\d+)m;/.exec(conf)?.[1]);
    expect(bodyMb * 1024 * 1024).toBeGreaterThan(loadConfig({}).limits.maxDocumentBytes);
    // Ingest runs up to its deadline; the proxy must not cut it first.
    const readSeconds = Number(/proxy_read_timeout (\d+)s;/.exec(conf)?.[1]);
    expect(readSeconds * 1000).toBeGreaterThan(loadConfig({}).timeouts.ingestMs);
  });

  it('takes every credential from the env file, and .env.example holds no secret', () => {
    const secrets = ['QDRANT_API_KEY', 'POSTGRES_PASSWORD', 'MINIO_ROOT_PASSWORD', 'S3_SECRET_ACCESS_KEY', 'FILE_URL_SECRET'];
    const example = readFileSync(path.join(REPO_ROOT, '.env.example'), 'utf8');
    const values = new Map([...example.matchAll(/^([A-Z_][A-Z0-9_]*)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
    for (const name of secrets) {
      expect(values.get(name), `${name} in .env.example`).toBe('');
      expect(composeText, name).toMatch(new RegExp(`\\$\\{${name}:\\?`));
    }
    // Every variable compose needs without a default is named in .env.example.
    const required = new Set([...composeText.matchAll(/\$\{([A-Z_][A-Z0-9_]*):\?/g)].map((m) => m[1]!));
    for (const name of required) expect(values.has(name), `${name} in .env.example`).toBe(true);
    expect(readFileSync(path.join(REPO_ROOT, '.gitignore'), 'utf8').split('\n')).toContain('.env');
  });

  it('gives the app an environment the configuration accepts', () => {
    const env = Object.fromEntries(Object.entries(compose.services.app!.environment!).map(([k, v]) => [k, interpolate(String(v))]));
    const config = loadConfig(env);
    expect(config.http.host).toBe('0.0.0.0');
    expect(config.http.port).toBe(4000);
    expect(config.dataDir).toBe('/data');
    expect(config.store.kind).toBe('qdrant');
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
