// The floor of any Express 5 gateway for bench/gateway.ts: the same fixed answers as bare_http.mjs
// (202 and a fixed execute body for every POST, 200 and a fixed record for every GET), but answered
// by an Express app with one route per case and nothing else, so the bench shows what Express's own
// per-request machinery costs beside the bare node:http server and the gateway.
//
//   node bench/peers/bare_express.mjs PORT
import express from 'express';

const accepted = { task_id: '00000000-0000-4000-8000-000000000000', status: 'created' };
const record = { state: 'SUCCESS', current: 1, total: 1, status: 'Task completed!', result: 1 };
const app = express();
app.set('etag', false); // as the gateway
app.post('/{*path}', (_req, res) => {
  res.status(202).json(accepted);
});
app.get('/{*path}', (_req, res) => {
  res.json(record);
});
app.listen(Number(process.argv[2]), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
