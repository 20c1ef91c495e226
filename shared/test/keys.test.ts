import { describe, expect, it } from 'vitest';
import { createKeyLayout } from '../src/keys.js';

describe('createKeyLayout', () => {
  it('builds every key under the prefix', () => {
    const keys = createKeyLayout('sy');
    expect(keys.task('id1')).toBe('sy:task:id1');
    expect(keys.job('id1')).toBe(keys.jobPrefix + 'id1');
    expect([keys.nodeQueue, keys.nodeActive, keys.nodeLeases]).toEqual([
      'sy:node:queue',
      'sy:node:active',
      'sy:node:leases',
    ]);
  });

  it.each(['', 'a:b', 'a b', 'x'.repeat(65)])('rejects the prefix %j', (prefix) => {
    expect(() => createKeyLayout(prefix)).toThrow(/key prefix must be/);
  });
});
