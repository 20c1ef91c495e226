// Runs README's flows against a deployed gateway, as a user would with curl, and fails loudly when one
// does not end as README says. For any deployment with the worker groups of docker-compose.yml and
// k8s/ (node on `default`, a dedicated node group on `cpu` where TASK_ROUTES sends factorial and
// matmul, R on `default`): the compose stack (smoke-compose.sh runs it), or minikube behind
// `kubectl port-forward` (docs/minikube.md).
//   GATEWAY_URL=http://127.0.0.1:9000 node scripts/deploy/smoke-flows.mjs
//   SMOKE_API_KEY=<key>   when the gateway has API_KEYS
// Plus README's controls: priority with a countdown, Idempotency-Key, cancel of a running task of
// each kind, pause and resume of the cpu queue (resumed again whatever happens).
// Plain Node (fetch), no dependencies. Prints one line per flow, then what /queues and /workers
// show; exit 0 when all is as expected.
/* global AbortSignal */

const GATEWAY_URL = (process.env.GATEWAY_URL ?? 'http://127.0.0.1:9000').replace(/\/$/, '');
const TIMEOUT_MS = Number(process.env.SMOKE_FLOW_TIMEOUT_MS ?? 60_000);
const API_KEY = process.env.SMOKE_API_KEY ?? '';

// Every flow also says the queue its record must show: routed by TASK_ROUTES, else `default`.
const FLOWS = [
  // The seed's flow on both workers: PROGRESS steps, then SUCCESS with the total as result.
  { worker: 'node', body: { total: 3 }, result: 3, progress: true, queue: 'default' },
  { worker: 'r', body: { total: 3 }, result: 3, progress: true, queue: 'default' },
  { worker: 'node', body: { task: 'add', args: [4, 6] }, result: 10, queue: 'default' },
  // The dedicated group: TASK_ROUTES sends these to `cpu`, which only the cpu workers take.
  { worker: 'node', body: { task: 'factorial', args: [20] }, result: '2432902008176640000', queue: 'cpu' },
  {
    worker: 'node',
    body: { task: 'matmul', args: [2, 3] },
    check: (r) => Array.isArray(r) && r.length === 2 && r.every((row) => row.length === 2),
    queue: 'cpu',
  },
  {
    worker: 'r',
    body: { task: 'summary_stats', args: [[1, 2, 3, 4, 100]] },
    check: (r) => r.n === 5 && r.max === 100,
    queue: 'default',
  },
  {
    worker: 'r',
    body: { task: 'lm_fit', args: [[2.1, 3.9, 6.2, 7.8, 10.1], { x: [1, 2, 3, 4, 5] }] },
    check: (r) => r.n === 5 && r.r_squared > 0.99,
    queue: 'default',
  },
];

// The worker groups the deployment runs: `<kind>:<queue>` served by live workers.
const GROUPS = ['node:default', 'node:cpu', 'r:default'];

async function call(method, path, body, extraHeaders = {}) {
  const headers = { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...extraHeaders };
  if (API_KEY) headers['x-api-key'] = API_KEY;
  const response = await fetch(`${GATEWAY_URL}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text, headers: response.headers };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Submits a task; its id. */
async function submit(worker, body, name, headers) {
  const accepted = await call('POST', `/${worker}/execute`, body, headers);
  if (accepted.status !== 202 || accepted.json?.status !== 'created') {
    throw new Error(`${name}: execute answered ${accepted.status} ${accepted.text}`);
  }
  return accepted.json.task_id;
}

/** Collects until `done(record)` holds; the record. */
async function collectUntil(worker, taskId, name, done) {
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    const collected = await call('GET', `/${worker}/collect?task_id=${encodeURIComponent(taskId)}`);
    if (collected.status !== 200) throw new Error(`${name}: collect answered ${collected.status} ${collected.text}`);
    if (done(collected.json)) return collected.json;
    if (Date.now() > deadline) throw new Error(`${name}: still ${collected.json.state} after ${TIMEOUT_MS} ms`);
    await sleep(100);
  }
}

async function runFlow(flow) {
  const name = `${flow.worker} ${flow.body.task ?? 'long_task'} ${JSON.stringify(flow.body.args ?? flow.body)}`;
  const accepted = await call('POST', `/${flow.worker}/execute`, flow.body);
  if (accepted.status !== 202 || accepted.json?.status !== 'created') {
    throw new Error(`${name}: execute answered ${accepted.status} ${accepted.text}`);
  }
  const taskId = accepted.json.task_id;
  const states = new Set();
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    const collected = await call('GET', `/${flow.worker}/collect?task_id=${encodeURIComponent(taskId)}`);
    if (collected.status !== 200) throw new Error(`${name}: collect answered ${collected.status} ${collected.text}`);
    const record = collected.json;
    states.add(record.state);
    if (record.state === 'FAILURE') throw new Error(`${name}: FAILURE ${record.error}`);
    if (record.queue !== flow.queue) throw new Error(`${name}: in queue ${record.queue}, not ${flow.queue}`);
    if (record.state === 'SUCCESS') {
      const ok = flow.check ? flow.check(record.result) : JSON.stringify(record.result) === JSON.stringify(flow.result);
      if (!ok) throw new Error(`${name}: SUCCESS with unexpected result ${JSON.stringify(record.result)}`);
      if (flow.progress && !states.has('PROGRESS')) throw new Error(`${name}: never reported PROGRESS`);
      return `${name}: ${[...states].join(' -> ')} on queue ${record.queue}, result ${JSON.stringify(record.result)} (task ${taskId})`;
    }
    if (Date.now() > deadline) throw new Error(`${name}: still ${record.state} after ${TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const ready = await call('GET', '/readyz');
if (ready.status !== 200) {
  process.stderr.write(`gateway at ${GATEWAY_URL} is not ready: ${ready.status} ${ready.text}\n`);
  process.exit(1);
}
/** /queues and /workers: every group's queue is listed with consumers, and its workers take only from it. */
async function checkGroups() {
  const queues = await call('GET', '/queues');
  if (queues.status !== 200 || !Array.isArray(queues.json?.queues)) {
    throw new Error(`/queues answered ${queues.status} ${queues.text}`);
  }
  const workers = await call('GET', '/workers');
  if (workers.status !== 200 || !Array.isArray(workers.json?.workers)) {
    throw new Error(`/workers answered ${workers.status} ${workers.text}`);
  }
  const lines = [];
  for (const group of GROUPS) {
    const [kind, name] = group.split(':');
    const queue = queues.json.queues.find((q) => q.kind === kind && q.name === name);
    if (!queue) throw new Error(`/queues does not list ${group}`);
    if (!(queue.consumers >= 1)) throw new Error(`/queues: ${group} has ${queue.consumers} consumers`);
    const serving = workers.json.workers.filter((w) => w.kind === kind && w.queues.includes(name));
    if (serving.length !== queue.consumers) {
      throw new Error(
        `/workers shows ${serving.length} ${kind} workers on ${name}, /queues ${queue.consumers} consumers`,
      );
    }
    lines.push(
      `${group}: ${queue.consumers} consumers (${serving.map((w) => `${w.host}:${w.pid}`).join(', ')}), waiting ${queue.waiting}, dead ${queue.dead}`,
    );
  }
  // A dedicated group: the cpu workers take nothing else, and no default worker takes cpu.
  for (const worker of workers.json.workers.filter((w) => w.kind === 'node')) {
    const queues = [...worker.queues].sort().join(',');
    if (queues !== 'cpu' && queues !== 'default') {
      throw new Error(`/workers: node worker ${worker.id} takes ${queues}, not one group's queue`);
    }
  }
  return lines;
}

// README's options, cancellation and idempotency, and pause/resume of a queue.
const CONTROLS = [
  async function delayedWithPriority() {
    const name = 'node add with priority 9 and countdown 1 s';
    const id = await submit('node', { task: 'add', args: [1, 2], options: { priority: 9, countdown: 1 } }, name);
    const record = await collectUntil('node', id, name, (r) => ['SUCCESS', 'FAILURE'].includes(r.state));
    if (record.state !== 'SUCCESS' || record.result !== 3) throw new Error(`${name}: ${record.state} ${record.error}`);
    if (record.priority !== 9 || record.eta === null)
      throw new Error(`${name}: priority ${record.priority}, eta ${record.eta}`);
    // The deployment's own clocks (this machine's may differ): eta a second after creation, no start before it.
    const [created, eta, started] = [record.created_at, record.eta, record.started_at].map((t) => Date.parse(t));
    if (!(eta - created >= 900 && started >= eta - 50)) {
      throw new Error(`${name}: created ${record.created_at}, eta ${record.eta}, started ${record.started_at}`);
    }
    return `${name}: eta ${record.eta}, started ${record.started_at}, result 3 (task ${id})`;
  },
  async function idempotencyKey() {
    const name = 'node Idempotency-Key';
    const key = { 'idempotency-key': `smoke-${Date.now()}-${Math.random().toString(36).slice(2)}` };
    const first = await call('POST', '/node/execute', { total: 1 }, key);
    const again = await call('POST', '/node/execute', { total: 1 }, key);
    if (first.status !== 202 || again.status !== 202 || again.json?.task_id !== first.json?.task_id) {
      throw new Error(`${name}: ${first.status} ${first.text}, then ${again.status} ${again.text}`);
    }
    if (again.headers.get('idempotent-replayed') !== 'true') throw new Error(`${name}: no Idempotent-Replayed: true`);
    const other = await call('POST', '/node/execute', { total: 2 }, key);
    if (other.status !== 409) throw new Error(`${name}: a different request with the key answered ${other.status}`);
    return `${name}: the same task ${first.json.task_id} again (Idempotent-Replayed), 409 for a different request`;
  },
  ...['node', 'r'].map(
    (worker) =>
      async function cancelRunning() {
        const name = `${worker} cancel of a running long_task`;
        const id = await submit(worker, { total: 60 }, name);
        await collectUntil(worker, id, name, (r) => r.state === 'STARTED' || r.state === 'PROGRESS');
        const cancelled = await call('POST', `/${worker}/cancel`, { task_id: id });
        if (cancelled.status !== 202 && cancelled.status !== 200) {
          throw new Error(`${name}: cancel answered ${cancelled.status} ${cancelled.text}`);
        }
        const record = await collectUntil(worker, id, name, (r) => ['SUCCESS', 'FAILURE', 'REVOKED'].includes(r.state));
        if (record.state !== 'REVOKED') throw new Error(`${name}: ended ${record.state}, not REVOKED`);
        return `${name}: cancel ${cancelled.status}, then REVOKED "${record.status}" at step ${record.current} (task ${id})`;
      },
  ),
  async function pauseAndResume() {
    const name = 'pause and resume of node:cpu';
    const paused = await call('POST', '/queues/node/cpu/pause');
    if (paused.status !== 200 || paused.json?.paused !== true)
      throw new Error(`${name}: pause answered ${paused.status} ${paused.text}`);
    // Resumed whatever happens: a paused queue left behind would hold up every later cpu task.
    const whilePaused = (async () => {
      const taskId = await submit('node', { task: 'factorial', args: [10] }, name);
      await sleep(1_500);
      const waiting = await collectUntil('node', taskId, name, () => true);
      if (waiting.state !== 'PENDING') throw new Error(`${name}: ${waiting.state} while its queue is paused`);
      return taskId;
    })();
    await whilePaused.catch(() => {});
    const resumed = await call('POST', '/queues/node/cpu/resume');
    if (resumed.status !== 200 || resumed.json?.paused !== false)
      throw new Error(`${name}: resume answered ${resumed.status} ${resumed.text}`);
    const id = await whilePaused;
    const record = await collectUntil('node', id, name, (r) => ['SUCCESS', 'FAILURE'].includes(r.state));
    if (record.state !== 'SUCCESS' || record.result !== '3628800')
      throw new Error(`${name}: ${record.state} ${record.error}`);
    return `${name}: PENDING while paused, SUCCESS after resume (task ${id})`;
  },
];

const results = await Promise.allSettled(FLOWS.map(runFlow));
results.push(...(await Promise.allSettled(CONTROLS.map((control) => control()))));
results.push(...(await Promise.allSettled([checkGroups()])));
let failed = 0;
for (const result of results) {
  if (result.status === 'fulfilled') {
    for (const line of [result.value].flat()) process.stdout.write(`ok   ${line}\n`);
  } else {
    failed++;
    process.stdout.write(`FAIL ${result.reason instanceof Error ? result.reason.message : String(result.reason)}\n`);
  }
}
// Not in the "N passed, N failed" form, which CI reads as the test suite's closing line.
process.stdout.write(
  failed === 0 ? `all ${results.length} checks succeeded\n` : `${failed} of ${results.length} checks failed\n`,
);
process.exit(failed === 0 ? 0 : 1);
