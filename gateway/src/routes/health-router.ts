/**
 * Liveness (the process answers) and readiness (Redis answers) for orchestrators and load balancers.
 * /readyz also says how many workers of each kind are alive (fresh heartbeat in the registry), but
 * readiness does not depend on them: with no worker the gateway still accepts tasks, which wait in
 * their queue until one starts.
 */
import { Router } from 'express';
import { SwitchyardError, WORKER_KINDS, listWorkers, type KeyLayout, type Redis } from '@switchyard/shared';

export function createHealthRouter({ redis, keys }: { redis: Redis; keys: KeyLayout }): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const [, workers] = await Promise.all([redis.ping(), listWorkers(redis, keys)]).catch((error: unknown) => {
      throw new SwitchyardError('redis_unavailable', 'Redis is unavailable', { cause: error });
    });
    const alive = Object.fromEntries(
      WORKER_KINDS.map((kind) => [kind, workers.filter((worker) => worker.kind === kind).length]),
    );
    res.json({ status: 'ready', workers: alive });
  });
  return router;
}
