import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { codec } from '../src/codec.js';
import { TaskRecord } from '../src/status.js';
import { decodeRecord, encodeRecord } from '../src/stored-record.js';
import { contractFiles } from './contract-fixtures.js';

const readContract = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../contracts/${name}`, import.meta.url), 'utf8'));

describe('shared/contracts', () => {
  for (const [name, expected] of Object.entries(contractFiles())) {
    it(`${name} matches the TypeScript sources (run npm run contracts -w @switchyard/shared if not)`, () => {
      expect(readContract(name)).toEqual(expected);
    });
  }

  const { vectors } = readContract('status-vectors.json') as {
    vectors: { name: string; value: unknown; msgpack_hex: string; stored_hex?: string }[];
  };

  for (const vector of vectors) {
    it(`codec encodes and decodes the ${vector.name} vector byte for byte`, () => {
      expect(codec.encode(vector.value).toString('hex')).toBe(vector.msgpack_hex);
      expect(codec.decode(Buffer.from(vector.msgpack_hex, 'hex'))).toEqual(vector.value);
    });
  }

  for (const vector of vectors.filter((v) => v.stored_hex !== undefined)) {
    it(`the ${vector.name} vector is stored without its task id, nulls and an unchanged updated_at, and reads back whole`, () => {
      const record = TaskRecord.parse(vector.value);
      const stored = encodeRecord(record);
      expect(stored.toString('hex')).toBe(vector.stored_hex);
      expect(Object.keys(codec.decode(stored) as object)).not.toContain('task_id');
      expect(Object.values(codec.decode(stored) as object)).not.toContain(null);
      expect('updated_at' in (codec.decode(stored) as object)).toBe(record.updated_at !== record.created_at);
      expect(decodeRecord(record.task_id, stored)).toEqual(vector.value);
      expect(Object.keys(decodeRecord(record.task_id, stored))).toEqual(Object.keys(record));
    });
  }

  it('a record stored whole, as before the stored form, reads back the same', () => {
    const record = TaskRecord.parse(vectors.find((v) => v.name === 'pending_record')!.value);
    expect(decodeRecord(record.task_id, codec.encode(record))).toEqual(record);
  });

  it('record vectors are valid status records', () => {
    for (const vector of vectors.filter((v) => v.name.endsWith('_record'))) {
      expect(TaskRecord.safeParse(vector.value).success, vector.name).toBe(true);
    }
  });
});
