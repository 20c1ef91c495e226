/**
 * The OpenAPI entries of the live-event routes and the task and workflow lists, from the schemas that
 * validate them (http/event-schemas.ts).
 */
import type { OpenAPIRegistry, RouteConfig } from '@asteasolutions/zod-to-openapi';
import { TaskRecord } from '@switchyard/shared';
import { z } from 'zod';
import {
  EventsQuery,
  RecentTasksQuery,
  RunningTasksQuery,
  TaskList,
  TaskParams,
  WorkflowList,
  WorkflowListQuery,
} from '../http/event-schemas.js';
import { ErrorResponse, WorkflowParams } from '../http/schemas.js';

const errorReply = (description: string) => ({
  description,
  content: { 'application/json': { schema: ErrorResponse } },
});
const json = (schema: z.ZodType, description: string) => ({ description, content: { 'application/json': { schema } } });
const eventStream = (description: string) => ({
  description,
  content: { 'text/event-stream': { schema: z.string().meta({ description: 'id/event/data blocks; data is JSON' }) } },
});

const LAST_EVENT_ID = z.object({
  'Last-Event-ID': z
    .string()
    .optional()
    .meta({ description: 'Sent by a reconnecting EventSource: the events after this id are replayed.' }),
});

const EVENT_FORMAT =
  "Each event: `id:` its stream id, `event:` the record's state (PENDING, STARTED, PROGRESS, RETRY, SUCCESS, FAILURE, " +
  'REVOKED), `data:` the task record as JSON (as collect returns it). Lines starting with `:` keep the stream open. ' +
  'With API keys on, a browser EventSource, which cannot send headers, may pass its key as `?api_key=`.';

export function registerEventRoutes(registry: OpenAPIRegistry, common: RouteConfig['responses']) {
  const unavailable = errorReply('Redis is unavailable');
  const tags = ['Live events and lists'];
  registry.registerPath({
    method: 'get',
    path: '/tasks/{id}/events',
    tags,
    summary: "A task's live events (server-sent events), any worker kind",
    description:
      `First the current record, then every change; the stream ends after the terminal state. ${EVENT_FORMAT} ` +
      'A reconnect with Last-Event-ID replays what came after it and still ends with the terminal state.',
    request: { params: TaskParams, headers: LAST_EVENT_ID },
    responses: {
      200: eventStream('The events, until the task ends'),
      404: errorReply('No such task, or its record expired'),
      422: errorReply('id is not a task id'),
      ...common,
      503: unavailable,
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/events',
    tags,
    summary: 'Live events of every task of the chosen queues (server-sent events)',
    description:
      `${EVENT_FORMAT} The stream does not end by itself; queues created while it is open join it. Ids are per queue: ` +
      'after a reconnect with Last-Event-ID an event of the same millisecond may come twice, none is missed.',
    request: { query: EventsQuery, headers: LAST_EVENT_ID },
    responses: {
      200: eventStream('The events'),
      422: errorReply('kind or queue is not valid'),
      ...common,
      503: unavailable,
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/workflows/{id}/events',
    tags,
    summary: "A workflow's live events (server-sent events)",
    description:
      '`event: workflow` with the workflow as GET /workflows/{id} shows it, at once and after each change, and the ' +
      "steps' task events (event name = the step's state); the stream ends once the workflow has ended. A reconnect " +
      'starts again with the current workflow.',
    request: { params: WorkflowParams },
    responses: {
      200: eventStream('The events, until the workflow ends'),
      404: errorReply('No such workflow, or it expired'),
      422: errorReply('id is not a UUID'),
      ...common,
      503: unavailable,
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/tasks/{id}',
    tags,
    summary: 'A task record by id, whatever its worker kind',
    request: { params: TaskParams },
    responses: {
      200: json(TaskRecord, 'The record'),
      404: errorReply('No such task, or its record expired'),
      422: errorReply('id is not a task id'),
      ...common,
      503: unavailable,
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/tasks/running',
    tags,
    summary: 'Tasks a worker holds now, the longest-running first',
    request: { query: RunningTasksQuery },
    responses: {
      200: json(TaskList, 'The tasks'),
      422: errorReply('A filter is not valid'),
      ...common,
      503: unavailable,
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/tasks/recent',
    tags,
    summary: 'Tasks whose latest change put them in a state (default FAILURE), newest first',
    description: "Read from the queues' event streams (about the last 10,000 changes of each queue).",
    request: { query: RecentTasksQuery },
    responses: {
      200: json(TaskList, 'The tasks'),
      422: errorReply('A filter is not valid'),
      ...common,
      503: unavailable,
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/workflows',
    tags: ['Workflows'],
    summary: 'Unfinished workflows and those that ended lately, most recently changed first',
    request: { query: WorkflowListQuery },
    responses: {
      200: json(WorkflowList, 'The workflows, without their steps'),
      422: errorReply('limit is not valid'),
      ...common,
      503: unavailable,
    },
  });
}
