/**
 * Idempotency-Key (Stripe's rule): the first request with a key starts a task; a repeat of the same
 * request with the same key gets that task's id back (header Idempotent-Replayed), and the same key
 * with a different request is refused with 409. Keys are scoped per caller and per worker kind, and
 * kept RESULT_TTL_SECONDS.
 *
 * The key is claimed (SET NX) before the task is submitted, first for a short while only: if this
 * gateway dies between claiming and submitting, the claim lapses and a retry starts the task, instead
 * of a key that points at nothing for a day. Once the task is accepted the claim is kept for the TTL.
 */
import { createHash, randomUUID } from 'node:crypto';
import { SwitchyardError, type KeyLayout, type RecordReader, type Redis, type WorkerKind } from '@switchyard/shared';

/** How long a claim lives before its task is accepted. */
const PENDING_CLAIM_SECONDS = 60;

export interface IdempotentOutcome {
  taskId: string;
  /** True when an earlier request with this key started the task: nothing new was started. */
  replayed: boolean;
}

function digest(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** JSON with object keys sorted, so that two equal requests written differently digest alike. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner !== null && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : inner,
  );
}

export function createIdempotency(redis: Redis, keys: KeyLayout, reader: RecordReader, ttlSeconds: number) {
  return {
    /**
     * Runs `start(id)` once per (kind, caller, key), `id` a new task (or workflow) id; `request` is
     * what the caller asked, as validated. Without a key it just starts a new one.
     */
    async once(
      kind: WorkerKind | 'workflow',
      caller: string,
      idempotencyKey: string | undefined,
      request: unknown,
      start: (taskId: string) => Promise<void>,
      exists: (id: string) => Promise<boolean> = async (id) => (await reader.read(id)) !== null,
    ): Promise<IdempotentOutcome> {
      const taskId = randomUUID();
      if (idempotencyKey === undefined) {
        await start(taskId);
        return { taskId, replayed: false };
      }
      const key = keys.idempotency(digest(`${kind}\0${caller}\0${idempotencyKey}`));
      const requestDigest = digest(canonicalJson(request));
      const claim = `${taskId} ${requestDigest}`;
      if ((await redis.set(key, claim, 'EX', PENDING_CLAIM_SECONDS, 'NX')) === null) {
        return replay(await redis.get(key), requestDigest, exists);
      }
      try {
        await start(taskId);
      } catch (error) {
        await redis.del(key).catch(() => 0);
        throw error;
      }
      await redis.expire(key, ttlSeconds).catch(() => 0);
      return { taskId, replayed: false };
    },
  };

  async function replay(
    stored: string | null,
    requestDigest: string,
    exists: (id: string) => Promise<boolean>,
  ): Promise<IdempotentOutcome> {
    const [earlierId, earlierDigest] = (stored ?? '').split(' ');
    if (!earlierId || !earlierDigest) throw inProgress();
    if (earlierDigest !== requestDigest) {
      throw new SwitchyardError(
        'idempotency_conflict',
        'This Idempotency-Key was already used with a different request; use a new key for a new task',
      );
    }
    if (!(await exists(earlierId))) throw inProgress();
    return { taskId: earlierId, replayed: true };
  }
}

function inProgress(): SwitchyardError {
  return new SwitchyardError(
    'idempotency_conflict',
    'A request with this Idempotency-Key is still being processed; retry shortly',
    { retryAfterSeconds: 1 },
  );
}

export type Idempotency = ReturnType<typeof createIdempotency>;
