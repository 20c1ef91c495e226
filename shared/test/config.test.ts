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

  describe('Redis deployment', () => {
    it('is one server at REDIS_URL by default', () => {
      expect(loadConfig(NodeWorkerEnv, {}).redis).toEqual({ kind: 'single', url: 'redis://127.0.0.1:6379' });
      expect(loadConfig(GatewayEnv, { REDIS_URL: 'redis://:pw@h:7000/1' }).redis).toEqual({
        kind: 'single',
        url: 'redis://:pw@h:7000/1',
      });
    });

    it('is a cluster with REDIS_CLUSTER_NODES, its password in REDIS_PASSWORD', () => {
      const config = loadConfig(GatewayEnv, {
        REDIS_CLUSTER_NODES: ' 127.0.0.1:7000, redis-1.internal:7001,[::1]:7002 ',
        REDIS_PASSWORD: 's3cret',
      });
      expect(config.redis).toEqual({
        kind: 'cluster',
        nodes: [
          { host: '127.0.0.1', port: 7000 },
          { host: 'redis-1.internal', port: 7001 },
          { host: '::1', port: 7002 },
        ],
        password: 's3cret',
      });
    });

    it('is a sentinel-managed master with REDIS_SENTINELS and REDIS_SENTINEL_NAME', () => {
      const config = loadConfig(NodeWorkerEnv, {
        REDIS_SENTINELS: '10.0.0.1:26379,10.0.0.2:26379',
        REDIS_SENTINEL_NAME: 'switchyard',
        REDIS_USERNAME: 'app',
        REDIS_PASSWORD: 'pw',
        REDIS_SENTINEL_PASSWORD: 'spw',
      });
      expect(config.redis).toEqual({
        kind: 'sentinel',
        sentinels: [
          { host: '10.0.0.1', port: 26379 },
          { host: '10.0.0.2', port: 26379 },
        ],
        name: 'switchyard',
        username: 'app',
        password: 'pw',
        sentinelPassword: 'spw',
      });
    });

    it.each([
      [
        { REDIS_CLUSTER_NODES: '127.0.0.1:7000', REDIS_SENTINELS: '127.0.0.1:26379', REDIS_SENTINEL_NAME: 'm' },
        /REDIS_SENTINELS must not be set together with REDIS_CLUSTER_NODES: set one of REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS/,
      ],
      [
        { REDIS_URL: 'redis://127.0.0.1:6379', REDIS_CLUSTER_NODES: '127.0.0.1:7000' },
        /REDIS_CLUSTER_NODES must not be set together with REDIS_URL/,
      ],
      [
        { REDIS_CLUSTER_NODES: '127.0.0.1' },
        /REDIS_CLUSTER_NODES must be host:port pairs separated by commas \(got "127.0.0.1"\)/,
      ],
      [{ REDIS_SENTINELS: 'a:99999', REDIS_SENTINEL_NAME: 'm' }, /REDIS_SENTINELS must be host:port pairs/],
      [{ REDIS_SENTINELS: '127.0.0.1:26379' }, /REDIS_SENTINEL_NAME must be set with REDIS_SENTINELS/],
      [{ REDIS_SENTINEL_NAME: 'm' }, /REDIS_SENTINEL_NAME is read only with REDIS_SENTINELS/],
      [
        { REDIS_URL: 'redis://:one@h:6379', REDIS_PASSWORD: 'two' },
        /REDIS_PASSWORD differs from the password in REDIS_URL: give it in one place$/,
      ],
    ])('refuses %j', (env, message) => {
      expect(() => loadConfig(GatewayEnv, env)).toThrow(message);
      expect(() => loadConfig(NodeWorkerEnv, env)).toThrow(message);
    });

    it('puts REDIS_PASSWORD and REDIS_USERNAME into a REDIS_URL that names none (and accepts the same one twice)', () => {
      expect(loadConfig(GatewayEnv, { REDIS_PASSWORD: 'p@ss word' }).redis).toEqual({
        kind: 'single',
        url: 'redis://:p%40ss%20word@127.0.0.1:6379',
      });
      expect(loadConfig(NodeWorkerEnv, { REDIS_URL: 'redis://app@h:6379/2', REDIS_PASSWORD: 'pw' }).REDIS_URL).toBe(
        'redis://app:pw@h:6379/2',
      );
      expect(
        loadConfig(NodeWorkerEnv, { REDIS_URL: 'redis://:same@redis:6379/0', REDIS_PASSWORD: 'same' }).REDIS_URL,
      ).toBe('redis://:same@redis:6379/0');
    });

    it('never echoes the passwords', () => {
      const attempt = () =>
        loadConfig(GatewayEnv, {
          REDIS_URL: 'redis://:hunter1@h',
          REDIS_PASSWORD: 'hunter2',
          REDIS_SENTINEL_PASSWORD: 'hunter3',
        });
      expect(attempt).toThrow(/REDIS_PASSWORD differs from the password in REDIS_URL/);
      expect(attempt).toThrow(/REDIS_SENTINEL_PASSWORD is read only with REDIS_SENTINELS/);
      expect(attempt).not.toThrow(/hunter/);
    });
  });
});
