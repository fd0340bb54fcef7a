import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { modelNameForVariant } from '../../src/models/resolve-model.js';

describe('loadConfig', () => {
  it('has safe defaults: port 4000 on loopback, data under ./data, the real CLIP model', () => {
    const c = loadConfig({});
    expect(c.http).toMatchObject({ port: 4000, host: '127.0.0.1' });
    expect(c.dataDir).toMatch(/data$/);
    expect(c.models.dir).toBe(`${c.dataDir}/models`);
    expect(c.models.clipModel).toBe('clip-vit-b32');
  });

  it('reads every documented setting', () => {
    const c = loadConfig({ PORT: '8080', HOST: '0.0.0.0', DATA_DIR: '/srv/fs', CLIP_MODEL: './m', CLIP_IMAGE_NICE: '0', MAX_UPLOAD_BYTES: '1000', CLIP_AUTO_PULL: 'false' });
    expect(c.http.port).toBe(8080);
    expect(c.dataDir).toBe('/srv/fs');
    expect(c.models).toMatchObject({ clipModel: './m', autoPull: false, dir: '/srv/fs/models' });
    expect(c.encoder.imageNice).toBe(0);
    expect(c.limits.maxUploadBytes).toBe(1000);
  });

  it('a whole-number setting that is not one says what is wanted and what it got, whatever the mistake', () => {
    for (const value of ['abc', '1.5', '0x10', '1e3', '-1', '70000']) {
      expect(() => loadConfig({ PORT: value }), value).toThrow(`PORT: must be a whole number from 0 to 65535; got `);
    }
    expect(() => loadConfig({ PORT: 'abc' })).toThrow('got "abc"');
    // Every problem at once, each on its own line.
    const both = () => loadConfig({ MAX_UPLOAD_FILES: '0', CLIP_IMAGE_NICE: '20' });
    expect(both).toThrow('\n  MAX_UPLOAD_FILES: must be a whole number from 1 to 1000; got 0');
    expect(both).toThrow('\n  CLIP_IMAGE_NICE: must be a whole number from 0 to 19; got 20');
    expect(loadConfig({ PORT: ' 8080 ' }).http.port).toBe(8080);
  });

  it('CLIP_IMAGE_SCHED_IDLE: on by default, off with false', () => {
    expect(loadConfig({}).encoder.imageSchedIdle).toBe(true);
    expect(loadConfig({ CLIP_IMAGE_SCHED_IDLE: 'false' }).encoder.imageSchedIdle).toBe(false);
  });

  it('NEAR_COPY_HASH_DISTANCE: 6 bits by default, for search and duplicate links; 0..7 whole bits or a clear refusal', () => {
    expect(loadConfig({}).search.maxHashDistance).toBe(6);
    const c = loadConfig({ NEAR_COPY_HASH_DISTANCE: '3' });
    expect([c.search.maxHashDistance, c.identify.maxHashDistance]).toEqual([3, 3]);
    expect(() => loadConfig({ NEAR_COPY_HASH_DISTANCE: '8' })).toThrow(/NEAR_COPY_HASH_DISTANCE: must be from 0 to 7: the hash index finds copies within 7 bits/);
    expect(() => loadConfig({ NEAR_COPY_HASH_DISTANCE: '2.5' })).toThrow(/NEAR_COPY_HASH_DISTANCE: must be a whole number of bits/);
    expect(() => loadConfig({ NEAR_COPY_HASH_DISTANCE: '-1' })).toThrow(ConfigError);
  });

  it('CLIP_DTYPE=q8 picks the int8 files (the quantized variant), fp32 by default; it may not disagree with CLIP_MODEL_VARIANT', () => {
    expect(loadConfig({}).models.variant).toBe('fp32');
    expect(loadConfig({ CLIP_DTYPE: 'q8' }).models.variant).toBe('quantized');
    expect(loadConfig({ CLIP_DTYPE: 'fp32', CLIP_MODEL_VARIANT: 'fp32' }).models.variant).toBe('fp32');
    expect(loadConfig({ CLIP_MODEL_VARIANT: 'quantized' }).models.variant).toBe('quantized');
    expect(() => loadConfig({ CLIP_DTYPE: 'q8', CLIP_MODEL_VARIANT: 'fp32' })).toThrow(/CLIP_DTYPE=q8 and CLIP_MODEL_VARIANT=fp32 disagree/);
    expect(() => loadConfig({ CLIP_DTYPE: 'int4' })).toThrow(ConfigError);
    // A manifest name at q8 means its -quantized manifest; a folder path is read as it is.
    expect(modelNameForVariant('clip-vit-b32', 'quantized')).toBe('clip-vit-b32-quantized');
    expect(modelNameForVariant('clip-vit-b32-quantized', 'quantized')).toBe('clip-vit-b32-quantized');
    expect(modelNameForVariant('clip-vit-b32', 'fp32')).toBe('clip-vit-b32');
    expect(modelNameForVariant('./models/my-clip', 'quantized')).toBe('./models/my-clip');
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ PORT: '' }).http.port).toBe(4000);
  });

  it('reports every invalid setting at once, by name', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', CLIP_IMAGE_NICE: '40', LOG_LEVEL: 'loud' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('PORT');
    expect(message).toContain('CLIP_IMAGE_NICE');
    expect(message).toContain('LOG_LEVEL');
  });

  it('S3 settings: files in the bucket when S3_BUCKET is set; path style by default with an endpoint', () => {
    expect(loadConfig({}).blobs).toEqual({ kind: 'disk' });
    const minio = loadConfig({ S3_BUCKET: 'files', S3_ENDPOINT: 'http://minio:9000', S3_ACCESS_KEY_ID: 'id', S3_SECRET_ACCESS_KEY: 'secret' }).blobs;
    expect(minio).toEqual({
      kind: 's3',
      s3: { bucket: 'files', endpoint: 'http://minio:9000', region: 'us-east-1', accessKeyId: 'id', secretAccessKey: 'secret', forcePathStyle: true, timeoutMs: 10_000, maxSockets: 256 },
    });
    const aws = loadConfig({ S3_BUCKET: 'files', S3_REGION: 'eu-west-1' }).blobs;
    expect(aws).toMatchObject({ kind: 's3', s3: { endpoint: undefined, region: 'eu-west-1', forcePathStyle: false, accessKeyId: undefined } });
    expect(loadConfig({ S3_BUCKET: 'files', S3_ENDPOINT: 'http://minio:9000', S3_FORCE_PATH_STYLE: 'false' }).blobs).toMatchObject({ s3: { forcePathStyle: false } });
  });

  it('S3 settings that cannot work are refused by name, without echoing the secret', () => {
    const refused = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as Error).message;
      }
      throw new Error('accepted');
    };
    expect(refused({ S3_ENDPOINT: 'http://minio:9000' })).toMatch(/S3_BUCKET: required/);
    const half = refused({ S3_BUCKET: 'files', S3_SECRET_ACCESS_KEY: 'do-not-echo-me' });
    expect(half).toMatch(/S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY: set both or neither/);
    expect(half).not.toContain('do-not-echo-me');
    expect(refused({ S3_BUCKET: 'Not_A_Bucket' })).toMatch(/S3_BUCKET/);
  });

  it('reads DATABASE_URL and the pool settings; a bad DATABASE_URL is reported without repeating it (it may hold a password)', () => {
    expect(loadConfig({}).database).toBeUndefined();
    const c = loadConfig({ DATABASE_URL: 'postgres://fs:s3cret@db:5432/fieldscope', DATABASE_POOL_SIZE: '4' });
    expect(c.database).toEqual({ url: 'postgres://fs:s3cret@db:5432/fieldscope', poolSize: 4, connectTimeoutMs: 5000, statementTimeoutMs: 30_000 });
    for (const bad of ['mysql://fs:s3cret-pw@db/x', 'fs:s3cret-pw@db']) {
      let message = '';
      try {
        loadConfig({ DATABASE_URL: bad });
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toContain('DATABASE_URL');
      expect(message).not.toContain('s3cret-pw');
    }
  });
});
