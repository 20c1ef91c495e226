/**
 * The gateway serving the dashboard at /ui, as real gateway processes: the built files with a
 * strict Content-Security-Policy, /ui/config.json telling the page about UI_READ_ONLY and API keys,
 * the page open without a key while the API still needs one, and a 503 page saying how to build
 * when UI_DIR holds no build.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../tests/support/redis-server.js';
import { startService } from '../../tests/support/services.js';
import { useDashboardStack } from './support/dashboard-stack.js';

const API_KEY = 'dashboard-route-test-key-0123456789';

describe('the gateway at /ui', () => {
  const ctx = useDashboardStack({ nodeWorkers: 0 });
  const emptyDir = mkdtempSync(join(tmpdir(), 'switchyard-ui-empty-'));
  afterAll(() => rmSync(emptyDir, { recursive: true, force: true }));

  it('serves the built page, its script and stylesheet, under a CSP without inline code', async () => {
    const page = await fetch(`${ctx.stack.baseUrl}/ui/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('content-security-policy')).not.toContain('unsafe-inline');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    const html = await page.text();
    expect(html).toContain('src="./app.js"');
    for (const [file, type] of [
      ['app.js', /javascript/],
      ['app.css', /^text\/css/],
    ] as const) {
      const response = await fetch(`${ctx.stack.baseUrl}/ui/${file}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(type);
      expect((await response.text()).length).toBeGreaterThan(1_000);
    }
  });

  it('redirects /ui to /ui/ so the relative links resolve', async () => {
    const response = await fetch(`${ctx.stack.baseUrl}/ui`, { redirect: 'manual' });
    expect(response.status).toBe(301);
    expect(response.headers.get('location')).toBe('/ui/');
  });

  it('answers 404 in plain words for a file the build does not have', async () => {
    const response = await fetch(`${ctx.stack.baseUrl}/ui/nothing-here.js`);
    expect(response.status).toBe(404);
    expect(await response.text()).toContain('No dashboard file /nothing-here.js');
  });

  it('tells the page about read-only mode and API keys in /ui/config.json', async () => {
    expect(await (await fetch(`${ctx.stack.baseUrl}/ui/config.json`)).json()).toEqual({
      read_only: false,
      api_key_required: false,
    });
    const readOnly = await ctx.startGateway({ UI_READ_ONLY: 'true', API_KEYS: API_KEY });
    expect(await (await fetch(`${readOnly}/ui/config.json`)).json()).toEqual({
      read_only: true,
      api_key_required: true,
    });
    // The page and its config load without a key (it must ask for one); the API still needs it.
    expect((await fetch(`${readOnly}/ui/`)).status).toBe(200);
    expect((await fetch(`${readOnly}/queues`)).status).toBe(401);
    expect((await fetch(`${readOnly}/queues`, { headers: { 'x-api-key': API_KEY } })).status).toBe(200);
    // Read-only is a UI setting: the API itself still takes actions from a caller with a key.
    const paused = await fetch(`${readOnly}/queues/node/default/pause`, {
      method: 'POST',
      headers: { 'x-api-key': API_KEY },
    });
    expect(paused.status).toBe(200);
  });

  it('answers 503 with a page saying how to build when UI_DIR holds no build', async () => {
    const unbuilt = await ctx.startGateway({ UI_DIR: emptyDir });
    const response = await fetch(`${unbuilt}/ui/`);
    expect(response.status).toBe(503);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const page = await response.text();
    expect(page).toContain('The dashboard has not been built');
    expect(page).toContain('npm run build -w @switchyard/dashboard');
    expect(page).toContain(emptyDir);
    // The rest of the gateway works without it.
    expect((await fetch(`${unbuilt}/readyz`)).status).toBe(200);
  });

  it('refuses a UI_READ_ONLY that is not true or false, naming the variable', async () => {
    const port = String(await freePort());
    const gateway = startService('gateway', { ...ctx.stack.env, HOST: '127.0.0.1', PORT: port, UI_READ_ONLY: 'yes' });
    expect(await gateway.exited).toBe(2);
    expect(gateway.output()).toContain('UI_READ_ONLY must be one of: true, false (got "yes")');
  });
});
