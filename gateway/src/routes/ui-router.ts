/**
 * The dashboard at /ui: the static files `dashboard/build.mjs` wrote (UI_DIR), and /ui/config.json,
 * which tells the page what the gateway's settings mean for it. Mounted before authentication: the
 * page must load to ask for a key, and it holds no data; every call it makes goes to the API, with
 * the key. When the files were never built, /ui answers 503 with a page saying how to build them.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { Router, type Response } from 'express';

export interface UiOptions {
  /** Folder of the built dashboard (UI_DIR); empty or absent: DEFAULT_UI_DIR. */
  dir?: string;
  /** UI_READ_ONLY: the page shows no action buttons. */
  readOnly?: boolean;
  /** Whether the API needs a key: the page then asks for one. */
  apiKeyRequired: boolean;
}

/** dashboard/dist of the repository (or image) this gateway runs from: gateway/src or gateway/dist are two levels down. */
export const DEFAULT_UI_DIR = fileURLToPath(new URL('../../../dashboard/dist', import.meta.url));

/** What the page reads at start; the same names as the settings, so operators recognise them. */
export interface UiConfig {
  read_only: boolean;
  api_key_required: boolean;
}

/**
 * Only files of this origin, and no inline script or style: the page builds its DOM with
 * createElement and sets styles through the CSSOM, which this policy allows.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

function secure(res: Response): void {
  res.set('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  res.set('X-Content-Type-Options', 'nosniff');
  // The page has buttons that act (cancel, requeue): no other site may frame it to click them.
  res.set('X-Frame-Options', 'DENY');
}

function notBuiltPage(dir: string): string {
  const escaped = dir.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Switchyard dashboard not built</title></head>
<body><h1>The dashboard has not been built</h1>
<p>The gateway serves the dashboard from <code>${escaped}</code>, which holds no <code>index.html</code>.</p>
<p>Build it with <code>npm run build -w @switchyard/dashboard</code> (<code>npm start</code> does this), or set
<code>UI_DIR</code> to the folder that holds the built files. The API works without it; see <a href="/docs">/docs</a>.</p>
</body></html>
`;
}

export function createUiRouter(options: UiOptions): Router {
  const dir = options.dir || DEFAULT_UI_DIR;
  const config: UiConfig = { read_only: options.readOnly ?? false, api_key_required: options.apiKeyRequired };
  const router = Router();

  router.use((req, res, next) => {
    secure(res);
    // The page's files are linked relatively (./app.js), so the page must be at /ui/, not /ui.
    if (req.originalUrl === '/ui' || req.originalUrl.startsWith('/ui?')) {
      return res.redirect(301, `/ui/${req.originalUrl.slice(3)}`);
    }
    next();
  });

  router.get('/config.json', (_req, res) => {
    res.set('Cache-Control', 'no-store');
    res.json(config);
  });

  router.use((_req, res, next) => {
    // Checked on each request, so a build after the gateway started is picked up without a restart.
    if (existsSync(join(dir, 'index.html'))) return next();
    res.status(503).set('Retry-After', '30').type('html').send(notBuiltPage(dir));
  });

  router.use(
    express.static(dir, {
      index: 'index.html',
      // Asset names do not change between builds: the browser asks again (and gets 304 when unchanged).
      cacheControl: true,
      maxAge: 0,
    }),
  );

  router.use((req, res) => {
    res.status(404).type('text').send(`No dashboard file ${req.path}; the dashboard is at /ui/\n`);
  });

  return router;
}
