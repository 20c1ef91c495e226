/**
 * The `route` label of the request metrics: the route's template (`/queues/{kind}/{name}`), never
 * the raw path, so task ids and queue names do not become label values and the number of series
 * stays bounded by the number of routes.
 */
import type { Request } from 'express';

export interface PathMatch {
  /** The OpenAPI path template, e.g. `/workflows/{id}/cancel`. */
  template: string;
  /** The methods the document lists for it, upper case. */
  methods: string[];
}

/**
 * Matches request paths against the paths of an OpenAPI document (a `{param}` part matches any one
 * segment). Where two templates match, the one with fewer parameters wins, so a literal route such
 * as `/tasks/running` is not taken for `/tasks/{task_id}`.
 */
export function openApiPathMatcher(document: {
  paths?: Record<string, object | undefined>;
}): (path: string) => PathMatch | undefined {
  const routes = Object.entries(document.paths ?? {})
    .map(([template, operations]) => ({
      template,
      parameters: (template.match(/\{[^}]+\}/g) ?? []).length,
      pattern: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`),
      methods: Object.keys(operations ?? {}).map((method) => method.toUpperCase()),
    }))
    .sort((a, b) => a.parameters - b.parameters);
  return (path) => {
    const route = routes.find((candidate) => candidate.pattern.test(path));
    return route && { template: route.template, methods: route.methods };
  };
}

/** Label for requests that matched no route (404s of unknown paths): one value, whatever the path. */
export const UNMATCHED_ROUTE = 'unmatched';

/** Routes of the gateway outside the OpenAPI document, named even when refused before routing (401). */
const UNDOCUMENTED_ROUTES = new Set(['/metrics', '/openapi.json']);

/**
 * The template of the route that answered `req`, read once the response is done: the documented
 * template, or one of the few fixed routes outside the document; else the Express route (a route outside the document, written in its `{param}` form);
 * else the mount point of the middleware that answered (static files under /docs or /ui); else
 * UNMATCHED_ROUTE.
 */
export function routeLabel(req: Request, match: (path: string) => PathMatch | undefined): string {
  const documented = match(req.path);
  if (documented) return documented.template;
  if (UNDOCUMENTED_ROUTES.has(req.path)) return req.path;
  const routePath: unknown = req.route?.path;
  if (typeof routePath === 'string') return `${req.baseUrl}${routePath}`.replace(/:(\w+)/g, '{$1}');
  if (req.baseUrl !== '') return req.baseUrl;
  return UNMATCHED_ROUTE;
}
