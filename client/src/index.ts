/**
 * @switchyard/client: a typed client for the Switchyard gateway on fetch alone.
 *
 *     const client = new SwitchyardClient({ url: 'http://127.0.0.1:9000' });
 *     await client.run('node', 'add', [4, 6]); // 10
 */
export { SwitchyardClient, DEFAULT_GATEWAY_URL } from './client.js';
export type {
  CancelOutcome,
  SwitchyardClientOptions,
  WaitOptions,
  WorkflowEvent,
  WorkflowWaitOptions,
} from './client.js';
export {
  GatewayError,
  GatewayUnreachableError,
  SwitchyardClientError,
  TaskFailedError,
  WaitTimeoutError,
  type FieldProblem,
} from './errors.js';
export { EventStreamParser, readEventStream, type ServerSentEvent } from './sse.js';
export type * from './types.js';
