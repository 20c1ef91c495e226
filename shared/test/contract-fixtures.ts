/** What shared/contracts/*.json must contain, computed from the TypeScript sources of truth. */
import { codec } from '../src/codec.js';
import { HTTP_STATUS_BY_CODE } from '../src/errors.js';
import {
  DEFAULT_QUEUE,
  KEY_PREFIX_PATTERN,
  QUEUE_NAME_PATTERN,
  QUEUE_NAME_RULE,
  createKeyLayout,
} from '../src/keys.js';
import { luaDigest, luaScriptNames } from '../src/lua.js';
import { OPTION_LIMITS } from '../src/options.js';
import { LOCATOR_SLACK_SECONDS } from '../src/queue.js';
import { RUNTIME_BUCKETS_SECONDS } from '../src/task-metrics.js';
import { SCRIPT_CODES } from '../src/script-codes.js';
import { RECORD_FIELDS, TASK_STATES, TERMINAL_STATES, TaskRecord } from '../src/status.js';
import { encodeRecord } from '../src/stored-record.js';
import { TASK_CATALOGUE, TASK_LIMITS, WORKER_KINDS } from '../src/tasks.js';
import { RECORD_STATUS, TRANSITIONS } from '../src/transitions.js';
import { WORKER_HEARTBEAT } from '../src/workers.js';

const TASK_ID = '0b6f1c7e-3d2a-4e5f-8a9b-1c2d3e4f5a6b';

const base = {
  task_id: TASK_ID,
  worker: 'r',
  queue: 'default',
  priority: 5,
  workflow_id: null,
  parent_id: null,
  traceparent: null,
  task: 'long_task',
  args: [3],
  current: 0,
  total: 3,
  result: null,
  error: null,
  attempts: 0,
  max_attempts: 3,
  eta: null,
  expires_at: null,
  created_at: '2026-11-22T01:02:03.456Z',
  started_at: null,
  updated_at: '2026-11-22T01:02:03.456Z',
  finished_at: null,
};

/** Values chosen to cover every MessagePack form the records use, at the size boundaries. */
const VALUES: Record<string, unknown> = {
  pending_record: { ...base, state: 'PENDING', status: 'Pending...' },
  progress_record: {
    ...base,
    state: 'PROGRESS',
    current: 2,
    status: 'Step 2 of 3',
    attempts: 1,
    started_at: '2026-11-22T01:02:04.000Z',
    updated_at: '2026-11-22T01:02:06.000Z',
  },
  success_record: {
    ...base,
    worker: 'node',
    state: 'SUCCESS',
    current: 3,
    status: 'Task completed!',
    result: 3,
    attempts: 2,
    started_at: '2026-11-22T01:02:04.000Z',
    updated_at: '2026-11-22T01:02:07.000Z',
    finished_at: '2026-11-22T01:02:07.000Z',
  },
  failure_record: {
    ...base,
    task: 'lm_fit',
    args: [[1, 2, 3], { x: [1, 2, 3.5] }],
    total: 1,
    state: 'FAILURE',
    status: 'Task failed',
    error: '0 (non-NA) cases — ünïcödé ✓',
    attempts: 1,
    finished_at: '2026-11-22T01:02:07.000Z',
  },
  lm_fit_result: { coefficients: { '(Intercept)': 0.05, x: 1.99 }, r_squared: 0.998, adj_r_squared: 0.9973, n: 5 },
  integers: [0, 1, 127, 128, 255, 256, 65535, 65536, 4294967295, -1, -32, -33, -128, -129, -32768, -32769, -2147483648],
  floats: [0.5, -1.25, 3.141592653589793, 1e300, 4294967296, -2147483649, 9007199254740991],
  booleans_and_nil: [true, false, null],
  strings: ['', 'a', 'x'.repeat(31), 'y'.repeat(32), 'z'.repeat(255), 'w'.repeat(256), 'ünïcödé ✓ 🚀'],
  containers: {
    empty_array: [],
    empty_map: {},
    array16: Array.from({ length: 16 }, (_, i) => i),
    map16: Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${String(i).padStart(2, '0')}`, i])),
    nested: [
      [1, 2],
      [3, [4, { deep: 'yes' }]],
    ],
  },
};

function inFieldOrder(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(RECORD_FIELDS.map((field) => [field, record[field]]));
}

const NOW = '2026-11-22T01:02:09.000Z';
const pendingR = TRANSITIONS.pending(
  {
    task_id: TASK_ID,
    worker: 'r',
    queue: 'models',
    task: 'long_task',
    args: [3],
    options: { max_attempts: 3, expires_at: null, priority: 7, eta: '2026-11-22T01:02:05.000Z' },
  },
  '2026-11-22T01:02:03.456Z',
);
const pendingStep = TRANSITIONS.pending(
  {
    task_id: TASK_ID,
    worker: 'r',
    queue: 'default',
    task: 'summary_stats',
    args: [[1, 2, 3]],
    options: { max_attempts: 1, expires_at: null, priority: 5, eta: null },
    workflow_id: '5f0c2a1e-9b8d-4c7a-8e6f-1a2b3c4d5e6f',
    parent_id: '7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d',
    traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  },
  '2026-11-22T01:02:03.456Z',
);
const startedR = TRANSITIONS.started(pendingR, 1, '2026-11-22T01:02:05.000Z');
const progressR = TRANSITIONS.progress(startedR, 2, 3, 'Step 2 of 3', '2026-11-22T01:02:07.000Z');

/** Each transition applied to a record, with its arguments after the record; `now` is the last argument. */
const TRANSITION_CASES: { transition: keyof typeof TRANSITIONS; from: TaskRecord; args: unknown[] }[] = [
  { transition: 'started', from: pendingR, args: [1] },
  { transition: 'started', from: pendingStep, args: [1] },
  { transition: 'started', from: progressR, args: [2] },
  { transition: 'progress', from: startedR, args: [2, 3, 'Step 2 of 3'] },
  { transition: 'retrying', from: progressR, args: ['boom', 1, 1250] },
  { transition: 'succeeded', from: progressR, args: [{ n: 3, ok: true }] },
  { transition: 'failed', from: progressR, args: ['it broke (gave up after 3 attempts)'] },
  { transition: 'revoked', from: progressR, args: [RECORD_STATUS.cancelledRunning] },
  { transition: 'released', from: progressR, args: [] },
  { transition: 'requeued', from: TRANSITIONS.failed(progressR, 'it broke', NOW), args: [] },
];

function template(value: string): string {
  return value
    .replaceAll('sy-contract', '<prefix>')
    .replaceAll('kindx', '<kind>')
    .replaceAll('queuex', '<queue>')
    .replaceAll(TASK_ID, '<task_id>')
    .replaceAll('workerx', '<worker_id>')
    .replaceAll('workflowx', '<workflow_id>')
    .replaceAll('scopex', '<scope>');
}

export function contractFiles(): Record<string, unknown> {
  const prefix = 'sy-contract';
  const keys = createKeyLayout(prefix);
  const q = keys.queue('kindx', 'queuex');
  const kindNames = Object.fromEntries(WORKER_KINDS.map((kind) => [kind, Object.keys(TASK_CATALOGUE[kind])]));
  return {
    'key-layout.json': {
      description:
        'Every Redis key as shared/src/keys.ts builds it, as templates: replace <prefix>, <kind>, <queue>, <task_id>, <worker_id>, <workflow_id> and <scope>.',
      templates: {
        wait: template(q.wait),
        delayed: template(q.delayed),
        leases: template(q.leases),
        dead: template(q.dead),
        paused: template(q.paused),
        seq: template(q.seq),
        marker: template(q.marker),
        handoffs: template(q.handoffs),
        events: template(q.events),
        stats: template(q.stats),
        task: template(q.task(TASK_ID)),
        job: template(q.job(TASK_ID)),
        jobPrefix: template(q.jobPrefix),
        taskPrefix: template(q.taskPrefix),
        locator: template(keys.locator(TASK_ID)),
        queueSet: template(keys.queueSet),
        workerSet: template(keys.workerSet),
        worker: template(keys.worker('workerx')),
        cancelChannel: template(keys.cancelChannel('kindx')),
        wakeChannel: template(keys.wakeChannel('kindx')),
        handoffChannel: template(keys.handoffChannel),
        workflow: template(keys.workflow('workflowx')),
        workflowVersion: template(keys.workflowVersion('workflowx')),
        workflowEvents: template(keys.workflowEvents('workflowx')),
        recentWorkflows: template(keys.recentWorkflows),
        activeWorkflows: template(keys.activeWorkflows),
        idempotency: template(keys.idempotency('scopex')),
        rateLimitPrefix: template(keys.rateLimitPrefix),
        celeryTask: template(keys.celeryTask(TASK_ID)),
      },
      example: {
        prefix,
        kind: 'r',
        queue: 'models',
        task_id: TASK_ID,
        keys: {
          wait: keys.queue('r', 'models').wait,
          task: keys.queue('r', 'models').task(TASK_ID),
          locator: keys.locator(TASK_ID),
          cancelChannel: keys.cancelChannel('r'),
        },
      },
    },
    'tasks.json': {
      description: 'Task names each worker kind must implement, with their delivery defaults (shared/src/tasks.ts).',
      names: kindNames,
      defaults: Object.fromEntries(
        WORKER_KINDS.map((kind) => [
          kind,
          Object.fromEntries(Object.entries(TASK_CATALOGUE[kind]).map(([name, task]) => [name, task.defaults])),
        ]),
      ),
    },
    'rules.json': {
      description:
        'Facts every language must agree on, from the TypeScript sources: limits, patterns, states, record fields and statuses, error codes and their HTTP statuses, script return codes, worker heartbeat timings.',
      task_limits: TASK_LIMITS,
      option_limits: OPTION_LIMITS,
      key_prefix_pattern: KEY_PREFIX_PATTERN.source,
      queue_name_pattern: QUEUE_NAME_PATTERN.source,
      queue_name_rule: QUEUE_NAME_RULE,
      default_queue: DEFAULT_QUEUE,
      task_states: TASK_STATES,
      terminal_states: TERMINAL_STATES,
      record_fields: RECORD_FIELDS,
      record_status: RECORD_STATUS,
      http_status_by_code: HTTP_STATUS_BY_CODE,
      script_codes: SCRIPT_CODES,
      worker_heartbeat: WORKER_HEARTBEAT,
      locator_slack_seconds: LOCATOR_SLACK_SECONDS,
      runtime_buckets_seconds: RUNTIME_BUCKETS_SECONDS,
    },
    'status-vectors.json': {
      description:
        'MessagePack vectors: `msgpack_hex` is exactly what encoding `value` must produce, and decoding it must give `value` back. Whole numbers within 32 bits are ints, all other numbers float64, maps keep key order. A record vector also has `stored_hex`: the record as it is stored (shared/src/stored-record.ts: without task_id, without its null fields, and without updated_at while it equals created_at), which reads back as `value` given the task id.',
      vectors: Object.entries(VALUES).map(([name, value]) => {
        if (!name.endsWith('_record')) return { name, value, msgpack_hex: codec.encode(value).toString('hex') };
        const record = TaskRecord.parse(inFieldOrder(value as Record<string, unknown>));
        return {
          name,
          value: record,
          msgpack_hex: codec.encode(record).toString('hex'),
          stored_hex: encodeRecord(record).toString('hex'),
        };
      }),
    },
    'transition-vectors.json': {
      description:
        'Each record transition of shared/src/transitions.ts: `transition` applied to `from` with `args`, at time `now`, gives `to` (fields in record order; `to_stored_hex` its exact bytes as stored, without task_id, null fields and an updated_at equal to created_at).',
      now: NOW,
      vectors: TRANSITION_CASES.map(({ transition, from, args }) => {
        const apply = TRANSITIONS[transition] as (record: TaskRecord, ...rest: unknown[]) => TaskRecord;
        const to = apply(from, ...args, NOW);
        return { transition, from, args, to, to_stored_hex: encodeRecord(to).toString('hex') };
      }),
    },
    'lua-digests.json': {
      description:
        'SHA-1 of each script of shared/lua with its --@include lines expanded; every loader must produce exactly these scripts.',
      scripts: Object.fromEntries(luaScriptNames().map((name) => [name, luaDigest(name)])),
    },
  };
}
