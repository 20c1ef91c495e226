import { describe, expect, it } from 'vitest';
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
});
