// The ceiling for bench/gateway.ts: a bare node:http server that reads nothing from Redis and
// answers every POST with 202 and a fixed execute body, every GET with 200 and a fixed record, so
// the bench shows what one Node process on this machine serves at that moment beside the gateways.
//
//   node bench/peers/bare_http.mjs PORT
import { createServer } from 'node:http';

const accepted = JSON.stringify({ task_id: '00000000-0000-4000-8000-000000000000', status: 'created' });
const record = JSON.stringify({ state: 'SUCCESS', current: 1, total: 1, status: 'Task completed!', result: 1 });
const port = Number(process.argv[2]);

createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const post = req.method === 'POST';
    res.writeHead(post ? 202 : 200, { 'content-type': 'application/json' });
    res.end(post ? accepted : record);
  });
}).listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
