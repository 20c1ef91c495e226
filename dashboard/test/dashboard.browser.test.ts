/**
 * The dashboard in a real browser (Debian's chromium driven by playwright-core) against a real
 * stack: redis-server, two Node workers and gateways serving a dashboard built for this run. What a
 * user would see: a long_task's bar moving to 100 %, a task's events arriving, cancel, pause and
 * resume, a dead letter requeued, a workflow's graph changing state, read-only mode without
 * actions, API-key mode asking for a key; and no page logging a console error (checked after every
 * test). Screenshots of the main pages go to docs/screenshots (see support/browser.ts).
 */
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../tests/support/wait.js';
import { launchBrowser, openPage, screenshot, type WatchedPage } from './support/browser.js';
import { useDashboardStack } from './support/dashboard-stack.js';

const API_KEY = 'dashboard-browser-test-key-0123456789';
/** Short long_task steps: a bar has several values to show within a second or two. */
const STEP_MS = 250;

/**
 * `held`: a queue the tests pause before submitting, so a page is open before its task starts and
 * sees every event live, however slowly the browser starts on a busy machine.
 */
const ctx = useDashboardStack({ env: { LONG_TASK_STEP_MS: String(STEP_MS), QUEUES: 'default,pausable,held' } });
let browser: Browser;
let opened: WatchedPage[] = [];
/** Gateways on the same Redis and prefix: one with UI_READ_ONLY=true, one with API keys on. */
const gateways = { readOnly: '', keyed: '' };

beforeAll(async () => {
  [browser, gateways.readOnly, gateways.keyed] = await Promise.all([
    launchBrowser(),
    ctx.startGateway({ UI_READ_ONLY: 'true' }),
    ctx.startGateway({ API_KEYS: API_KEY }),
  ]);
}, 60_000);
afterAll(async () => {
  await browser?.close();
});
afterEach(async () => {
  const problems = opened.flatMap((watched) => watched.problems);
  await Promise.all(opened.map((watched) => watched.context.close()));
  opened = [];
  // Every page of every test: nothing in the console, no uncaught exception, no failed request.
  expect(problems).toEqual([]);
});

async function open(hash: string, baseUrl = ctx.stack.baseUrl): Promise<WatchedPage> {
  const watched = await openPage(browser);
  opened.push(watched);
  await watched.page.goto(`${baseUrl}/ui/${hash}`);
  return watched;
}

interface Accepted {
  task_id: string;
}

async function call<T>(method: string, path: string, body?: unknown, baseUrl = ctx.stack.baseUrl): Promise<T> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const parsed: unknown = await response.json();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(parsed)}`);
  return parsed as T;
}

const submit = (body: unknown) => call<Accepted>('POST', '/node/execute', body).then((a) => a.task_id);
const collect = (taskId: string) => call<{ state: string; finished_at: string | null }>('GET', `/tasks/${taskId}`);

async function attribute(locator: Locator, name: string): Promise<string | null> {
  return (await locator.count()) > 0 ? locator.first().getAttribute(name) : null;
}

/** Waits (bounded) until `locator`'s attribute `name` is `value`; a timeout says what it was instead. */
async function untilAttribute(locator: Locator, name: string, value: string, timeoutMs = 20_000): Promise<void> {
  const seen: (string | null)[] = [];
  await waitFor(
    async () => {
      const now = await attribute(locator, name);
      if (seen.at(-1) !== now) seen.push(now);
      return now === value || null;
    },
    { timeoutMs, intervalMs: 50, what: `${String(locator)} ${name}=${value}` },
  ).catch((error: unknown) => {
    throw new Error(`${String(error)} (it was: ${seen.join(' → ')})`, { cause: error });
  });
}

async function untilText(locator: Locator, pattern: RegExp, timeoutMs = 20_000): Promise<void> {
  let last = '';
  await waitFor(
    async () => {
      if ((await locator.count()) === 0) return null;
      last = await locator.first().innerText();
      return pattern.test(last) || null;
    },
    { timeoutMs, intervalMs: 50, what: `${String(locator)} to read ${String(pattern)}` },
  ).catch((error: unknown) => {
    throw new Error(`${String(error)} (it read: ${JSON.stringify(last)})`, { cause: error });
  });
}

/** A task that fails every attempt: a 1 ms time limit stops long_task, and max_attempts 1 gives it up at once. */
async function deadLetter(): Promise<string> {
  const taskId = await submit({ task: 'long_task', args: [3], options: { time_limit_ms: 1, max_attempts: 1 } });
  await waitFor(async () => (await collect(taskId)).state === 'FAILURE', { what: `${taskId} to fail` });
  return taskId;
}

/** A task that succeeds, awaited. */
async function success(): Promise<string> {
  const taskId = await submit({ task: 'add', args: [1, 2] });
  await waitFor(async () => (await collect(taskId)).state === 'SUCCESS', { what: `${taskId} to succeed` });
  return taskId;
}

const hold = () => call('POST', '/queues/node/held/pause');
const release = () => call('POST', '/queues/node/held/resume');

/**
 * Records in the page every value the progress bars take (a MutationObserver, so none is missed
 * however slow the test's own polling is); `progressSeen` reads them for one task.
 */
async function recordProgress(page: Page): Promise<void> {
  await page.evaluate(`(() => {
    window.progressSeen = [];
    new MutationObserver((changes) => {
      for (const change of changes) {
        const bar = change.target;
        window.progressSeen.push([bar.getAttribute('data-task-id'), Number(bar.getAttribute('aria-valuenow'))]);
      }
    }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['aria-valuenow'] });
  })()`);
}

async function progressSeen(page: Page, taskId: string): Promise<number[]> {
  const seen: unknown = await page.evaluate('window.progressSeen');
  if (!Array.isArray(seen)) return [];
  const values = seen.flatMap((entry: unknown) =>
    Array.isArray(entry) && entry[0] === taskId && typeof entry[1] === 'number' ? [entry[1]] : [],
  );
  return values.filter((value, i) => value !== values[i - 1]); // each value once per change
}

const bar = (page: Page, taskId: string) => page.locator(`[role=progressbar][data-task-id="${taskId}"]`);

describe('the dashboard in a browser', () => {
  it("shows a long_task's progress bar on the running page moving step by step to 100 %", async () => {
    const { page } = await open('#/running');
    await page.locator('.connection[data-connected=true]').waitFor();
    await recordProgress(page);
    const taskId = await submit({ task: 'long_task', args: [8] });
    await untilAttribute(bar(page, taskId), 'aria-valuenow', '100');
    // It moved through every step, in order, and ended full (after a 0 % if it showed STARTED first).
    const seen = await progressSeen(page, taskId);
    expect(seen.filter((value) => value > 0)).toEqual([13, 25, 38, 50, 63, 75, 88, 100]);
    expect(seen.slice(0, -8)).toEqual(seen.length > 8 ? [0] : []);
    await untilAttribute(page.locator(`tr[data-task-id="${taskId}"]`), 'data-state', 'SUCCESS');
    expect(await bar(page, taskId).innerText()).toBe('100 % (8/8)');
  }, 40_000);

  it("shows a task's arguments, attempts, timings and record, and its events as they arrive", async () => {
    await hold();
    const taskId = await submit({ task: 'long_task', args: [12], queue: 'held' });
    const { page } = await open(`#/tasks/${taskId}`);
    const events = page.locator('ol.events li');
    await untilAttribute(events.first(), 'data-state', 'PENDING');
    expect(await page.locator('[data-fact=Started]').innerText()).toBe('–');
    await release();
    await waitFor(async () => (await events.count()) >= 6 || null, { what: 'the first steps', timeoutMs: 20_000 });
    await screenshot(page, 'task');
    await untilAttribute(events.last(), 'data-state', 'SUCCESS', 30_000);
    const texts = await events.allInnerTexts();
    // Every step arrived as its own event, in order, between PENDING and SUCCESS.
    const steps = texts.flatMap((text) => /PROGRESS (\d+)\/12 Step \1 of 12/.exec(text)?.[1] ?? []).map(Number);
    expect(steps).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(texts[0]).toMatch(/PENDING/);
    expect(texts.at(-1)).toMatch(/SUCCESS 12\/12/);
    expect(await page.locator('[data-fact=Attempts]').innerText()).toBe('1 of 3');
    expect(await page.locator('[data-fact=Queue]').innerText()).toBe('held');
    expect(await page.locator('[data-fact=Ran]').innerText()).toMatch(/^\d+(\.\d+)? s$/);
    expect(await page.locator('pre.json').first().innerText()).toBe('[\n  12\n]');
    expect(await page.locator('details.record pre').textContent()).toContain(`"task_id": "${taskId}"`);
    // Ended: no cancel button any more.
    expect(await page.locator('[data-action=cancel]').count()).toBe(0);
  }, 40_000);

  it('cancels a running task from the running page: the worker stops it and it shows REVOKED', async () => {
    const taskId = await submit({ task: 'long_task', args: [400] });
    const { page } = await open('#/running');
    await untilAttribute(page.locator(`tr[data-task-id="${taskId}"]`), 'data-state', 'PROGRESS');
    await page.locator(`button[data-action=cancel][data-task-id="${taskId}"]`).click();
    await untilText(page.locator('#notice'), /Cancel sent to long_task/);
    await untilAttribute(page.locator(`tr[data-task-id="${taskId}"]`), 'data-state', 'REVOKED');
    expect((await collect(taskId)).state).toBe('REVOKED');
  }, 40_000);

  it('pauses a queue (its tasks wait) and resumes it (they run) from the queues page', async () => {
    const { page } = await open('#/queues');
    const row = page.locator('tr[data-queue="node:pausable"]');
    await row.locator('button[data-action=pause]').click();
    await untilText(row.locator('[data-field=paused]'), /paused/);
    expect((await call<{ paused: boolean }>('GET', '/queues/node/pausable')).paused).toBe(true);

    const taskId = await submit({ task: 'add', args: [2, 3], queue: 'pausable' });
    await untilText(row.locator('[data-field=waiting]'), /^1$/);
    expect((await collect(taskId)).state).toBe('PENDING');

    await row.locator('button[data-action=resume]').click();
    await waitFor(async () => (await collect(taskId)).state === 'SUCCESS', { what: 'the resumed task to run' });
    await untilText(row.locator('[data-field=paused]'), /running/);
    await untilText(row.locator('[data-field=waiting]'), /^0$/);
  }, 40_000);

  it('lists a task that failed every attempt with its error, and requeues it from the dead letters', async () => {
    const taskId = await deadLetter();
    const first = await collect(taskId);

    const failures = await open('#/failures');
    const failedRow = failures.page.locator(`tr[data-task-id="${taskId}"]`);
    await untilText(failedRow.locator('.error-text'), /time limit exceeded \(1 ms\)/);
    await screenshot(failures.page, 'failures');

    const { page } = await open('#/dead-letters');
    const row = page.locator(`tr[data-task-id="${taskId}"]`);
    await untilText(row.locator('.error-text'), /time limit exceeded \(1 ms\)/);
    await screenshot(page, 'dead-letters');
    await row.locator('button[data-action=requeue]').click();
    await untilText(page.locator('#notice'), /Requeued long_task/);
    // It ran again (a new terminal record) and, failing again, is a dead letter again.
    await waitFor(
      async () => {
        const again = await collect(taskId);
        return (again.state === 'FAILURE' && again.finished_at !== first.finished_at) || null;
      },
      { what: 'the requeued task to run again' },
    );
    const dead = await call<{ tasks: { task_id: string }[] }>('GET', '/node/dead-letters');
    expect(dead.tasks.map((task) => task.task_id)).toContain(taskId);
    await row.waitFor({ timeout: 15_000 });
  }, 40_000);

  it('draws a workflow as a step graph whose states change as its steps run, and cancels one', async () => {
    await hold();
    const { workflow_id: workflowId } = await call<{ workflow_id: string }>('POST', '/workflows', {
      chain: [
        { worker: 'node', task: 'long_task', args: [8], queue: 'held' },
        {
          group: [
            { worker: 'node', task: 'add', args: [1] },
            { worker: 'node', task: 'add', args: [2] },
          ],
        },
      ],
    });
    const { page } = await open(`#/workflows/${workflowId}`);
    const step = (path: string) => page.locator(`g.step[data-step="${path}"]`);
    await untilAttribute(step('chain.0'), 'data-state', 'PENDING');
    await release();
    await untilAttribute(step('chain.0'), 'data-state', 'PROGRESS');
    await screenshot(page, 'workflow');
    await untilAttribute(step('chain.1.group.1'), 'data-state', 'SUCCESS');
    await untilAttribute(step('chain.1.group.0'), 'data-state', 'SUCCESS');
    await untilText(page.locator('.page-heading .badge'), /^SUCCESS$/);
    expect(await page.locator('svg.workflow-graph path.edge').count()).toBe(2);
    expect(await page.locator('pre.json').innerText()).toMatch(/9,\s*10/);

    const list = await open('#/workflows');
    await untilText(list.page.locator(`tr[data-workflow-id="${workflowId}"]`), /SUCCESS\s+3 \/ 3/);

    const { workflow_id: longId } = await call<{ workflow_id: string }>('POST', '/workflows', {
      chain: [
        { worker: 'node', task: 'long_task', args: [400] },
        { worker: 'node', task: 'add', args: [1] },
      ],
    });
    await page.goto(`${ctx.stack.baseUrl}/ui/#/workflows/${longId}`);
    await untilAttribute(step('chain.0'), 'data-state', 'PROGRESS');
    await page.locator('button[data-action=cancel-workflow]').click();
    await untilText(page.locator('.page-heading .badge'), /^REVOKED$/);
    await untilAttribute(step('chain.0'), 'data-state', 'REVOKED');
  }, 60_000);

  it('shows the queues with their figures and throughput, and the workers with what they run', async () => {
    await Promise.all([success(), success(), deadLetter()]);
    // A few tasks running, so the screenshots show a busy stack.
    const running = await Promise.all([300, 200, 400].map((total) => submit({ task: 'long_task', args: [total] })));
    const queues = await open('#/queues');
    const row = queues.page.locator('tr[data-queue="node:default"]');
    await untilText(row.locator('[data-field=consumers]'), /^2$/);
    await untilText(row.locator('[data-field=active]'), /^[1-9]/);
    // The tasks above ended in this queue this minute.
    const chart = row.locator('svg.throughput');
    expect(Number(await chart.getAttribute('data-succeeded'))).toBeGreaterThan(0);
    expect(Number(await chart.getAttribute('data-failed'))).toBeGreaterThan(0);
    await screenshot(queues.page, 'queues');

    const workers = await open('#/workers');
    const rows = workers.page.locator('tr[data-worker]');
    await waitFor(async () => (await rows.count()) === 2 || null, { what: 'two workers' });
    expect(await rows.first().innerText()).toMatch(/default, pausable/);
    await workers.page
      .locator('[data-field=running]', { hasText: /^[1-9]\d* \/ 10/ })
      .first()
      .waitFor();
    await screenshot(workers.page, 'workers');

    const runningPage = await open('#/running');
    for (const taskId of running) {
      await untilAttribute(runningPage.page.locator(`tr[data-task-id="${taskId}"]`), 'data-state', 'PROGRESS');
    }
    await screenshot(runningPage.page, 'running');
    await Promise.all(running.map((taskId) => call('POST', '/node/cancel', { task_id: taskId })));
  }, 40_000);

  it('hides every action in read-only mode, where the same pages show them otherwise', async () => {
    const taskId = await submit({ task: 'long_task', args: [400] });
    const failed = await deadLetter();
    const { workflow_id: workflowId } = await call<{ workflow_id: string }>('POST', '/workflows', {
      chain: [
        { worker: 'node', task: 'long_task', args: [400] },
        { worker: 'node', task: 'add', args: [1] },
      ],
    });
    // Each page with what it must have shown before its actions would be there.
    const pages = [
      { hash: '#/queues', ready: 'tr[data-queue="node:default"]' },
      { hash: '#/running', ready: `tr[data-task-id="${taskId}"]` },
      { hash: '#/dead-letters', ready: `tr[data-task-id="${failed}"]` },
      { hash: `#/tasks/${taskId}`, ready: 'ol.events li' },
      { hash: `#/workflows/${workflowId}`, ready: 'g.step[data-state=PROGRESS]' },
    ];
    // One tab on each gateway, going from page to page as a user would.
    const [viewer, operator] = [await open('#/queues', gateways.readOnly), await open('#/queues')];
    for (const { hash, ready } of pages) {
      await viewer.page.goto(`${gateways.readOnly}/ui/${hash}`);
      await viewer.page.locator(ready).first().waitFor();
      expect(await viewer.page.locator('.badge.read-only').innerText()).toBe('read-only');
      expect(await viewer.page.locator('[data-action]').count(), hash).toBe(0);
      expect(await viewer.page.getByRole('button', { name: /cancel|pause|resume|requeue/i }).count(), hash).toBe(0);

      await operator.page.goto(`${ctx.stack.baseUrl}/ui/${hash}`);
      await operator.page.locator(ready).first().waitFor();
      await waitFor(async () => (await operator.page.locator('[data-action]').count()) > 0 || null, {
        what: `the actions of ${hash} outside read-only mode`,
      });
    }
    await call('POST', '/node/cancel', { task_id: taskId });
    await call('POST', `/workflows/${workflowId}/cancel`);
  }, 60_000);

  it('with API keys on, asks for a key, refuses a wrong one, and keeps a right one for the tab only', async () => {
    const keyed = gateways.keyed;
    const watched = await open('#/running', keyed);
    const { page, context } = watched;
    await page.locator('#api-key').waitFor();
    expect(await page.locator('.key-form h2').innerText()).toBe('API key needed');
    expect(await page.locator('table').count()).toBe(0);

    await page.locator('#api-key').fill('not-the-key-0123456789');
    await page.getByRole('button', { name: 'Use this key' }).click();
    await untilText(page.locator('#api-key-error'), /refused this key: The API key is not valid/);
    // The browser logs the refused check (401) itself; that one is expected, nothing else.
    expect(watched.problems).toEqual([expect.stringMatching(/status of 401/)]);
    watched.problems.length = 0;

    await page.locator('#api-key').fill(API_KEY);
    await page.getByRole('button', { name: 'Use this key' }).click();
    // The running page, live: its event stream carries the key as ?api_key (EventSource sends no headers).
    await page.locator('.connection[data-connected=true]').waitFor();
    const taskId = await submit({ task: 'long_task', args: [4] });
    await untilAttribute(bar(page, taskId), 'aria-valuenow', '100');

    expect(await page.evaluate("sessionStorage.getItem('switchyard.apiKey')")).toBe(API_KEY);
    expect(await page.evaluate('localStorage.length')).toBe(0);
    expect(await context.cookies()).toEqual([]);
    // A reload keeps the tab's session; another tab (a new browser context) asks again.
    await page.reload();
    await page.locator('.connection[data-connected=true]').waitFor();
    expect(await page.locator('#api-key').count()).toBe(0);
    const other = await open('#/queues', keyed);
    await other.page.locator('#api-key').waitFor();

    // Forgetting the key asks for it again.
    await page.locator('[data-role=forget-key]').click();
    await page.locator('#api-key').waitFor();
    expect(await page.evaluate("sessionStorage.getItem('switchyard.apiKey')")).toBeNull();
  }, 40_000);

  it("says in the gateway's words when a task or workflow id names nothing", async () => {
    const unknown = '00000000-0000-4000-8000-000000000000';
    const watched = await open(`#/tasks/${unknown}`);
    await untilText(watched.page.locator('#notice'), new RegExp(`Could not load task ${unknown}: No task with id`));
    await watched.page.goto(`${ctx.stack.baseUrl}/ui/#/workflows/${unknown}`);
    await untilText(
      watched.page.locator('#notice'),
      new RegExp(`Could not load workflow ${unknown}: No workflow with id`),
    );
    // The browser itself logs each 404 (the refused stream, then the GET that says why); nothing else.
    expect(watched.problems.length).toBeGreaterThan(0);
    expect(watched.problems.filter((problem) => !/status of 404/.test(problem))).toEqual([]);
    watched.problems.length = 0;
  }, 40_000);

  it('opens every page from the menu without a console error', async () => {
    const [taskId] = await Promise.all([success(), deadLetter()]);
    const { workflow_id: workflowId } = await call<{ workflow_id: string }>('POST', '/workflows', {
      chain: [{ worker: 'node', task: 'add', args: [1, 1] }],
    });
    const { page } = await open('#/queues');
    for (const [label, ready] of [
      ['Queues', 'tr[data-queue]'],
      ['Workers', 'tr[data-worker]'],
      ['Running', '.connection[data-connected=true]'],
      ['Failures', 'tr[data-task-id]'],
      ['Dead letters', 'tr[data-task-id]'],
      ['Workflows', 'tr[data-workflow-id]'],
    ] as const) {
      await page.getByRole('link', { name: label, exact: true }).click();
      await page.locator(ready).first().waitFor();
      expect(await page.locator('nav a[aria-current=page]').innerText()).toBe(label);
    }
    await page.goto(`${ctx.stack.baseUrl}/ui/#/tasks/${taskId}`);
    await untilText(page.locator('.page-heading .badge'), /^SUCCESS$/);
    await page.goto(`${ctx.stack.baseUrl}/ui/#/workflows/${workflowId}`);
    await untilText(page.locator('.page-heading .badge'), /^SUCCESS$/);
    expect(await page.locator('#notice').isHidden()).toBe(true);
  }, 40_000);
});
