/**
 * A real browser for the dashboard tests: Debian's chromium driven by playwright-core (playwright's
 * own browser download cannot run here), with every console error, uncaught exception and failed
 * request of a page recorded, so a test can assert that a page logged none.
 */
import { mkdirSync } from 'node:fs';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { REPO_ROOT } from '../../../tests/support/services.js';

export const CHROMIUM = '/usr/bin/chromium';

export function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: apt-get install chromium (npm test installs it when run as root)`);
  }
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}

export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  /** Console errors, uncaught exceptions and failed requests, as "kind: text" lines. */
  problems: string[];
}

/** A fresh browser context (own sessionStorage) with one page whose problems are recorded. */
export async function openPage(browser: Browser): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
  page.on('requestfailed', (request) => {
    // A stream closed by the page when it leaves (or by its end) is not a failure.
    const failure = request.failure()?.errorText ?? '';
    if (failure.includes('ERR_ABORTED')) return;
    problems.push(`request failed: ${request.method()} ${request.url()} ${failure}`);
  });
  return { page, context, problems };
}

/**
 * Screenshots of the main pages for README: into docs/screenshots when UPDATE_SCREENSHOTS=1 or the
 * file is not there yet, else into a temporary folder, so an ordinary test run does not rewrite
 * committed images whose relative times ("3 s ago") differ every run.
 */
export async function screenshot(page: Page, name: string): Promise<string> {
  const committed = join(REPO_ROOT, 'docs/screenshots', `${name}.png`);
  const update = process.env.UPDATE_SCREENSHOTS === '1' || !existsSync(committed);
  const dir = update ? join(REPO_ROOT, 'docs/screenshots') : join(tmpdir(), 'switchyard-screenshots');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  return path;
}
