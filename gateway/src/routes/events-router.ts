/**
 * Live events as server-sent events (GET /tasks/{id}/events, /events, /workflows/{id}/events), a task
 * by id whatever its kind (GET /tasks/{id}), the tasks running now and those that changed lately
 * (GET /tasks/running, /tasks/recent), and the list of workflows (GET /workflows).
 */
import { Router, type Request } from 'express';
import {
  EventsQuery,
  RecentTasksQuery,
  RunningTasksQuery,
  TaskParams,
  WorkflowListQuery,
} from '../http/event-schemas.js';
import { validated } from '../http/validation.js';
import type { LiveEvents } from '../events/live-events.js';
import { openEventStream, type EventStream } from '../events/sse.js';
import type { TaskLists } from '../services/task-lists.js';
import type { RecordReader } from '@switchyard/shared';
import { SwitchyardError } from '@switchyard/shared';
import type { WorkflowService } from '../services/workflow-service.js';

const STREAM_ID = /^\d{1,20}-\d{1,20}$/;

/** The Last-Event-ID a reconnecting client sends; an id that is not a stream id is ignored. */
function lastEventIdOf(req: Request): string | undefined {
  const id = req.get('last-event-id')?.trim();
  return id !== undefined && STREAM_ID.test(id) ? id : undefined;
}

export function createEventsRouter(deps: {
  live: LiveEvents;
  lists: TaskLists;
  reader: RecordReader;
  workflows: WorkflowService;
  /** Every open event stream, ended together when the gateway stops. */
  open: Set<EventStream>;
}): Router {
  const { live, lists, reader, workflows, open } = deps;
  const router = Router();

  router.get(
    '/tasks/running',
    validated({ query: RunningTasksQuery }, async ({ query }, _req, res) => {
      res.json({ tasks: await lists.running(query) });
    }),
  );

  router.get(
    '/tasks/recent',
    validated({ query: RecentTasksQuery }, async ({ query }, _req, res) => {
      res.json({ tasks: await lists.recent(query) });
    }),
  );

  router.get(
    '/tasks/:id',
    validated({ params: TaskParams }, async ({ params }, _req, res) => {
      const record = await reader.read(params.id);
      if (record === null) {
        throw new SwitchyardError(
          'task_not_found',
          `No task with id ${params.id}: it never existed or its record expired`,
        );
      }
      res.json(record);
    }),
  );

  router.get(
    '/tasks/:id/events',
    validated({ params: TaskParams }, async ({ params }, req, res) => {
      await live.locateTask(params.id); // a 404 before the stream opens
      await live.taskEvents(params.id, lastEventIdOf(req), openEventStream(req, res, open));
    }),
  );

  router.get(
    '/events',
    validated({ query: EventsQuery }, async ({ query }, req, res) => {
      await live.queueEvents(query, lastEventIdOf(req), openEventStream(req, res, open));
    }),
  );

  router.get(
    '/workflows',
    validated({ query: WorkflowListQuery }, async ({ query }, _req, res) => {
      res.json({ workflows: await workflows.list(query.limit) });
    }),
  );

  router.get(
    '/workflows/:id/events',
    validated({ params: TaskParams }, async ({ params }, req, res) => {
      await workflows.view(params.id); // a 404 before the stream opens
      await live.workflowEvents(params.id, openEventStream(req, res, open));
    }),
  );

  return router;
}
