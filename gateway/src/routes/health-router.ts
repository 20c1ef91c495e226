/** Liveness (the process answers) and readiness (Redis answers) for orchestrators and load balancers. */
import { Router } from 'express';
import { SwitchyardError } from '@switchyard/shared';

export function createHealthRouter(pingRedis: () => Promise<unknown>): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    try {
      await pingRedis();
    } catch (error) {
      throw new SwitchyardError('redis_unavailable', 'Redis is unavailable', { cause: error });
    }
    res.json({ status: 'ready' });
  });
  return router;
}
