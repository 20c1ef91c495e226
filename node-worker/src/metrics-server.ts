/**
 * Serves a Node worker's metrics (metrics.ts) at GET /metrics on METRICS_HOST:METRICS_PORT, its only
 * route: the worker has no other HTTP side. Off unless METRICS_PORT is set.
 */
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

/** Listens, or rejects with a message that says which setting to change. */
export async function startMetricsServer(registry: Registry, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://worker').pathname;
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          error: {
            code: 'route_not_found',
            message: `No route ${req.method} ${path}; this port serves GET /metrics`,
          },
        }),
      );
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res
        .writeHead(405, { allow: 'GET, HEAD', 'content-type': 'application/json' })
        .end(
          JSON.stringify({ error: { code: 'method_not_allowed', message: `/metrics answers GET, not ${req.method}` } }),
        );
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(req.method === 'HEAD' ? '' : text),
      (error: unknown) =>
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${String(error)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    const refused = (error: NodeJS.ErrnoException) =>
      reject(
        new Error(
          error.code === 'EADDRINUSE'
            ? `port ${port} on ${host} is already in use; set METRICS_PORT to another`
            : `cannot listen on ${host}:${port}: ${error.message}`,
        ),
      );
    server.once('error', refused);
    server.listen(port, host, () => {
      server.off('error', refused);
      resolve();
    });
  });
  return server;
}
