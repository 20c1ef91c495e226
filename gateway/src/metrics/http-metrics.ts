/**
 * What the gateway's HTTP side did: requests by method, route template and status, and how long
 * they took. Counted when the response ends (or the client goes away), so every request is counted
 * once, whichever router or error handler answered it.
 */
import type { NextFunction, Request, Response } from 'express';
import { Counter, Histogram, type Registry } from 'prom-client';
import { routeLabel, type PathMatch } from './route-label.js';

/** Seconds; from a cache hit (a few ms) to an R service that is slow to accept (R_REQUEST_TIMEOUT_MS). */
const LATENCY_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createHttpMetrics(registry: Registry, match: (path: string) => PathMatch | undefined) {
  const requests = new Counter({
    name: 'switchyard_http_requests_total',
    help: 'HTTP requests the gateway answered, by method, route template and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'switchyard_http_request_duration_seconds',
    help: 'Time from a request arriving to its response ending, by method and route template (event streams excluded: they last as long as the client listens).',
    labelNames: ['method', 'route'] as const,
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [registry],
  });

  /** Express middleware: mount it before every router. */
  return function countRequests(req: Request, res: Response, next: NextFunction): void {
    const started = process.hrtime.bigint();
    res.once('close', () => {
      const labels = { method: req.method, route: routeLabel(req, match) };
      requests.inc({ ...labels, status: String(res.statusCode) });
      const streamed = String(res.getHeader('content-type') ?? '').startsWith('text/event-stream');
      if (!streamed) latency.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  };
}
