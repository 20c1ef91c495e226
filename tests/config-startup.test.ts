import { once } from 'node:events';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort } from './support/redis-server.js';
import { startService } from './support/services.js';

describe('start-up configuration check', () => {
  it.each(['gateway', 'node-worker'] as const)('%s exits with status 2 naming a bad variable', async (name) => {
    const service = startService(name, { REDIS_URL: 'redis://127.0.0.1:1', LEASE_MS: 'soon', PORT: '70000' });
    const code = await service.exited;
    expect(code).toBe(2);
    expect(service.output()).toMatch(
      name === 'gateway' ? /PORT must be a whole number/ : /LEASE_MS must be a whole number/,
    );
    expect(service.output()).not.toMatch(/at .*\.ts:\d+/); // a message, not a stack trace
  });

  it('the gateway on a port already in use exits with status 2 saying which and what moves it', async () => {
    const port = await freePort();
    const squatter = createServer().listen(port, '127.0.0.1');
    await once(squatter, 'listening');
    try {
      const service = startService('gateway', {
        REDIS_URL: 'redis://127.0.0.1:1',
        HOST: '127.0.0.1',
        PORT: String(port),
      });
      expect(await service.exited).toBe(2);
      expect(service.output()).toContain(
        `gateway: cannot listen: port ${port} on 127.0.0.1 is already in use; set PORT to another`,
      );
      expect(service.output()).not.toMatch(/at .*\.ts:\d+/);
    } finally {
      squatter.close();
    }
  });
});
