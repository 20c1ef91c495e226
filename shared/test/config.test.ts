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

  it('reads QUEUES in order of preference and TASK_ROUTES per kind', () => {
    expect(loadConfig(NodeWorkerEnv, {}).QUEUES).toEqual(['default']);
    expect(loadConfig(NodeWorkerEnv, { QUEUES: ' cpu, default ' }).QUEUES).toEqual(['cpu', 'default']);
    const routes = loadConfig(GatewayEnv, {
      TASK_ROUTES: 'factorial=cpu, long_task=slow, r:lm_fit=models',
    }).TASK_ROUTES;
    expect(routes).toEqual({
      node: { factorial: 'cpu', long_task: 'slow' },
      r: { long_task: 'slow', lm_fit: 'models' },
    });
  });

  it.each([
    [{ QUEUES: '' }, NodeWorkerEnv, /QUEUES must name at least one queue/],
    [{ QUEUES: 'a,a' }, NodeWorkerEnv, /QUEUES must not name a queue twice/],
    [{ QUEUES: 'a:b' }, NodeWorkerEnv, /QUEUES each queue name must be 1-64 letters/],
    [{ TASK_ROUTES: 'factorial' }, GatewayEnv, /TASK_ROUTES must be task=queue pairs/],
    [{ TASK_ROUTES: 'nope=cpu' }, GatewayEnv, /TASK_ROUTES "nope=cpu" names no task/],
    [{ TASK_ROUTES: 'r:add=cpu' }, GatewayEnv, /names no task of kind r/],
    [{ TASK_ROUTES: 'add=a b' }, GatewayEnv, /queue of "add=a b" must be 1-64/],
    [{ R_SERVICE_TOKEN: 'short' }, GatewayEnv, /R_SERVICE_TOKEN must be 32-256 printable characters without spaces$/],
  ])('names a bad %j', (env, schema, message) => {
    expect(() => loadConfig(schema, env)).toThrow(message);
  });
});
