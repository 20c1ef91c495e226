import { describe, expect, it } from 'vitest';
import { ConfigError, GatewayEnv, NodeWorkerEnv, loadConfig } from '../src/index.js';

describe('loadConfig', () => {
  it('fills every default when nothing is set', () => {
    expect(loadConfig(GatewayEnv, {})).toMatchObject({
      REDIS_URL: 'redis://127.0.0.1:6379',
      KEY_PREFIX: 'switchyard',
      RESULT_TTL_SECONDS: 86_400,
      PORT: 9000,
      R_SERVICE_URL: 'http://127.0.0.1:8000',
    });
    expect(loadConfig(NodeWorkerEnv, {})).toMatchObject({
      WORKER_CONCURRENCY: 10,
      LEASE_MS: 30_000,
      LONG_TASK_STEP_MS: 1_000,
    });
  });

  it('parses numbers and accepts rediss:// URLs', () => {
    const config = loadConfig(NodeWorkerEnv, {
      WORKER_CONCURRENCY: ' 50 ',
      REDIS_URL: 'rediss://:pw@redis.example:6380/2',
    });
    expect(config.WORKER_CONCURRENCY).toBe(50);
    expect(config.REDIS_URL).toBe('rediss://:pw@redis.example:6380/2');
  });

  it('names every bad variable, what it must be, and the value given', () => {
    const attempt = () => loadConfig(GatewayEnv, { PORT: 'abc', RESULT_TTL_SECONDS: '5', LOG_LEVEL: 'loud' });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/PORT must be a whole number between 1 and 65535 \(got "abc"\)/);
    expect(attempt).toThrow(/RESULT_TTL_SECONDS must be a whole number between 60 and 2592000/);
    expect(attempt).toThrow(/LOG_LEVEL must be one of: debug, info, warn, error/);
  });

  it('rejects a key prefix containing the separator', () => {
    expect(() => loadConfig(NodeWorkerEnv, { KEY_PREFIX: 'a:b' })).toThrow(/KEY_PREFIX/);
  });

  it('never echoes the Redis URL, which may carry a password', () => {
    expect(() => loadConfig(GatewayEnv, { REDIS_URL: 'http://:secret@host' })).toThrow(
      /REDIS_URL must be a URL starting with redis:\/\/ or rediss:\/\/$/,
    );
  });
});
