/**
 * How a status record is stored, in its STRING key and in its queue's event stream: MessagePack of
 * the record without `task_id` (the key and the stream entry's `task` field name it), without its
 * null fields, and without `updated_at` while it equals `created_at`. Most of a waiting task's
 * record is nulls (workflow, trace, result, error, eta, expiry and two timestamps), its id and a
 * repeated timestamp, about 160 bytes of each copy, and there are two copies (record and event).
 * Readers put them back, so every reader sees the whole TaskRecord, in
 * RECORD_FIELDS order. The R worker stores records the same way (r-worker/R/status_record.R),
 * checked byte for byte against the `stored` vectors of shared/contracts/status-vectors.json.
 * A record stored whole (before this form) reads back the same.
 */
import { codec } from './codec.js';
import { RECORD_FIELDS, type TaskRecord } from './status.js';

export function encodeRecord(record: TaskRecord): Buffer {
  const stored: Partial<Record<keyof TaskRecord, unknown>> = {};
  for (const field of RECORD_FIELDS) {
    const value = record[field];
    const impliedByOthers = field === 'task_id' || (field === 'updated_at' && value === record.created_at);
    if (!impliedByOthers && value !== null && value !== undefined) stored[field] = value;
  }
  return codec.encode(stored);
}

/**
 * The whole record stored as `bytes` for `taskId`. Unchecked (the writers are our own scripts);
 * readers that answer callers with it parse it with TaskRecord.
 */
export function decodeRecord(taskId: string, bytes: Buffer | Uint8Array): TaskRecord {
  const stored = codec.decode(bytes);
  const fields = typeof stored === 'object' && stored !== null ? stored : {};
  const record: Record<string, unknown> = {};
  for (const field of RECORD_FIELDS) {
    const value: unknown = field === 'task_id' ? taskId : Reflect.get(fields, field);
    record[field] = value ?? null;
  }
  record.updated_at ??= record.created_at;
  // The one place a stored record becomes typed: every field is there, filled from the stored map.
  return record as TaskRecord;
}
