import { describe, expect, it } from 'vitest';
import { createKeyLayout } from '../src/keys.js';

/** Redis Cluster's hash slot of a key: CRC16 of its `{tag}` if it has one, else of the whole key. */
function hashTag(key: string): string {
  const open = key.indexOf('{');
  const close = key.indexOf('}', open + 1);
  return open >= 0 && close > open + 1 ? key.slice(open + 1, close) : key;
}

describe('createKeyLayout', () => {
  it('builds every key under the prefix', () => {
    const keys = createKeyLayout('sy');
    const q = keys.queue('node', 'cpu');
    expect([q.wait, q.delayed, q.leases, q.dead]).toEqual([
      'sy:{node:cpu}:wait',
      'sy:{node:cpu}:delayed',
      'sy:{node:cpu}:leases',
      'sy:{node:cpu}:dead',
    ]);
    expect(q.job('id1')).toBe(q.jobPrefix + 'id1');
    expect(keys.locator('id1')).toBe('sy:locator:id1');
  });

  it('puts every key of one queue, records and jobs included, under one Redis Cluster hash tag', () => {
    const q = createKeyLayout('sy').queue('r', 'models');
    const all = [q.wait, q.delayed, q.leases, q.dead, q.paused, q.seq, q.marker, q.task('t1'), q.job('t1')];
    expect(new Set(all.map(hashTag))).toEqual(new Set(['r:models']));
    const other = createKeyLayout('sy').queue('node', 'models');
    expect(hashTag(other.wait)).not.toBe(hashTag(q.wait));
  });

  it.each(['', 'a:b', 'a b', 'x'.repeat(65)])('rejects the prefix %j', (prefix) => {
    expect(() => createKeyLayout(prefix)).toThrow(/key prefix must be/);
  });

  it.each(['', 'a:b', '{x}', 'a b', 'x'.repeat(65)])('rejects the queue name %j', (name) => {
    expect(() => createKeyLayout('sy').queue('node', name)).toThrow(/queue name must be/);
  });
});
