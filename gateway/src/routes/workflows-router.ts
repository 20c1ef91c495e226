/**
 * Workflows across worker kinds: POST /workflows (a canvas of chains, groups and chords),
 * GET /workflows/{id} (its state and every step's), POST /workflows/{id}/cancel.
 */
import { Router } from 'express';
import { SwitchyardError, parseCanvas, type Canvas } from '@switchyard/shared';
import { IdempotencyKeyHeader } from '../http/headers.js';
import { WorkflowParams } from '../http/schemas.js';
import { validated, type Parser } from '../http/validation.js';
import type { WorkflowService } from '../services/workflow-service.js';

/** The canvas, checked by parseCanvas: a problem answers 422 naming its path, like any field. */
const canvasBody: Parser<Canvas> = {
  safeParse(input) {
    const parsed = parseCanvas(input);
    if ('problems' in parsed) {
      const summary = parsed.problems.map((p) => `${p.field} ${p.message}`).join('; ');
      throw new SwitchyardError('validation_failed', `Invalid workflow: ${summary}`, { fields: parsed.problems });
    }
    return { success: true, data: parsed.canvas };
  },
};

export function createWorkflowsRouter(workflows: WorkflowService): Router {
  const router = Router();

  router.post(
    '/workflows',
    validated({ headers: { 'Idempotency-Key': IdempotencyKeyHeader }, body: canvasBody }, async (input, _req, res) => {
      const { taskId, replayed } = await workflows.submit(
        input.body,
        res.locals.caller,
        input.headers['Idempotency-Key'],
      );
      if (replayed) res.set('Idempotent-Replayed', 'true');
      res.status(202).json({ workflow_id: taskId, status: 'created' });
    }),
  );

  router.get(
    '/workflows/:id',
    validated({ params: WorkflowParams }, async ({ params }, _req, res) => {
      res.json(await workflows.view(params.id));
    }),
  );

  router.post(
    '/workflows/:id/cancel',
    validated({ params: WorkflowParams }, async ({ params }, _req, res) => {
      res.json(await workflows.cancel(params.id));
    }),
  );

  return router;
}
