/** What shared/contracts/*.json must contain, computed from the TypeScript sources of truth. */
import { codec } from '../src/codec.js';
import { createKeyLayout } from '../src/keys.js';
import { NODE_TASKS, R_TASKS } from '../src/tasks.js';

const TASK_ID = '0b6f1c7e-3d2a-4e5f-8a9b-1c2d3e4f5a6b';

const base = {
  task_id: TASK_ID,
  worker: 'r',
  task: 'long_task',
  args: [3],
  current: 0,
  total: 3,
  result: null,
  error: null,
  attempts: 0,
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

export function contractFiles(): Record<string, unknown> {
  const prefix = 'sy-contract';
  const keys = createKeyLayout(prefix);
  return {
    'key-layout.json': {
      description: 'Every Redis key for prefix and task_id below, as shared/src/keys.ts builds it.',
      prefix,
      task_id: TASK_ID,
      keys: {
        task: keys.task(TASK_ID),
        job: keys.job(TASK_ID),
        jobPrefix: keys.jobPrefix,
        nodeQueue: keys.nodeQueue,
        nodeActive: keys.nodeActive,
        nodeLeases: keys.nodeLeases,
        nodeDelayed: keys.nodeDelayed,
        nodeDead: keys.nodeDead,
        nodeCancelChannel: keys.nodeCancelChannel,
        idempotency: keys.idempotency('scope'),
        rHeartbeat: keys.rHeartbeat(TASK_ID),
        rDead: keys.rDead,
        rRequest: keys.rRequest(TASK_ID),
      },
    },
    'tasks.json': {
      description: 'Task names each worker must implement (shared/src/tasks.ts).',
      node: Object.keys(NODE_TASKS),
      r: Object.keys(R_TASKS),
    },
    'status-vectors.json': {
      description:
        'MessagePack vectors: `msgpack_hex` is exactly what encoding `value` must produce, and decoding it must give `value` back. Whole numbers within 32 bits are ints, all other numbers float64, maps keep key order.',
      vectors: Object.entries(VALUES).map(([name, value]) => ({
        name,
        value,
        msgpack_hex: codec.encode(value).toString('hex'),
      })),
    },
  };
}
