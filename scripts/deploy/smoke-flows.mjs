// Runs README's flows against a deployed gateway, as a user would with curl, and fails loudly when one
// does not end as README says. For any deployment: the compose stack (smoke-compose.sh runs it), or
// minikube behind `kubectl port-forward` (docs/minikube.md).
//   GATEWAY_URL=http://127.0.0.1:9000 node scripts/deploy/smoke-flows.mjs
// Plain Node (fetch), no dependencies. Prints one line per flow; exit 0 when all succeed.
/* global AbortSignal */

const GATEWAY_URL = (process.env.GATEWAY_URL ?? 'http://127.0.0.1:9000').replace(/\/$/, '');
const TIMEOUT_MS = Number(process.env.SMOKE_FLOW_TIMEOUT_MS ?? 60_000);

const FLOWS = [
  // The seed's flow on both workers: PROGRESS steps, then SUCCESS with the total as result.
  { worker: 'node', body: { total: 3 }, result: 3, progress: true },
  { worker: 'r', body: { total: 3 }, result: 3, progress: true },
  { worker: 'node', body: { task: 'add', args: [4, 6] }, result: 10 },
  { worker: 'node', body: { task: 'factorial', args: [20] }, result: '2432902008176640000' },
  { worker: 'r', body: { task: 'summary_stats', args: [[1, 2, 3, 4, 100]] }, check: (r) => r.n === 5 && r.max === 100 },
  {
    worker: 'r',
    body: { task: 'lm_fit', args: [[2.1, 3.9, 6.2, 7.8, 10.1], { x: [1, 2, 3, 4, 5] }] },
    check: (r) => r.n === 5 && r.r_squared > 0.99,
  },
];

async function call(method, path, body) {
  const response = await fetch(`${GATEWAY_URL}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
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
  return { status: response.status, json, text };
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
    if (record.state === 'SUCCESS') {
      const ok = flow.check ? flow.check(record.result) : JSON.stringify(record.result) === JSON.stringify(flow.result);
      if (!ok) throw new Error(`${name}: SUCCESS with unexpected result ${JSON.stringify(record.result)}`);
      if (flow.progress && !states.has('PROGRESS')) throw new Error(`${name}: never reported PROGRESS`);
      return `${name}: ${[...states].join(' -> ')}, result ${JSON.stringify(record.result)} (task ${taskId})`;
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
const results = await Promise.allSettled(FLOWS.map(runFlow));
let failed = 0;
for (const result of results) {
  if (result.status === 'fulfilled') process.stdout.write(`ok   ${result.value}\n`);
  else {
    failed++;
    process.stdout.write(`FAIL ${result.reason instanceof Error ? result.reason.message : String(result.reason)}\n`);
  }
}
// Not in the "N passed, N failed" form, which CI reads as the test suite's closing line.
process.stdout.write(
  failed === 0 ? `all ${results.length} flows succeeded\n` : `${failed} of ${results.length} flows failed\n`,
);
process.exit(failed === 0 ? 0 : 1);
