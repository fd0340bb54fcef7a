import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';

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
});
