/**
 * The switchyard command end to end: the bin run as a child process against a real stack (gateway
 * with API keys on, a Node worker, a real redis-server), checking what a person sees on stdout and
 * stderr and the exit code a script gets; and the progress bar in a real terminal (tmux).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SwitchyardClient } from '@switchyard/client';
import { freePort } from '../../tests/support/redis-server.js';
import { useStack } from '../../tests/support/stack.js';
import { waitFor } from '../../tests/support/wait.js';
import { BIN, openTerminal, outputOf, runSwitchyard, startSwitchyard } from './support/cli-process.js';

const API_KEY = 'cli-e2e-key-0123456789abcdef0123';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const ctx = useStack({
  label: 'cli',
  nodeWorkers: 1,
  env: { LONG_TASK_STEP_MS: '100', WORKER_CONCURRENCY: '4', CPU_THREADS: '1', API_KEYS: API_KEY },
});

const env = () => ({ SWITCHYARD_URL: ctx.stack.baseUrl, SWITCHYARD_API_KEY: API_KEY });
const switchyard = (...args: string[]) => runSwitchyard(args, env());
const client = () => new SwitchyardClient({ url: ctx.stack.baseUrl, apiKey: API_KEY });

const scratch = mkdtempSync(join(tmpdir(), 'switchyard-cli-'));
const file = (name: string, text: string) => {
  const path = join(scratch, name);
  writeFileSync(path, text);
  return path;
};

describe('switchyard run, submit, status, cancel', () => {
  it('run node add 4 6 prints 10 and nothing else, exit 0', async () => {
    expect(await switchyard('run', 'node', 'add', '4', '6')).toEqual({ code: 0, stdout: '10\n', stderr: '' });
  });

  it('reads arguments as a shell user types them: negative and decimal numbers, JSON objects', async () => {
    expect((await switchyard('run', 'node', 'add', '-4', '6.5')).stdout).toBe('2.5\n');
    const fit = JSON.stringify({ coefficients: { '(Intercept)': 1, x: 2 }, r_squared: 0.99, n: 5 });
    expect((await switchyard('run', 'node', 'fit_report', fit)).stdout).toBe('y = 2·x + 1 (R² 0.99, n = 5)\n');
    const matrix = await switchyard('run', 'node', 'matmul', '2', '3', '--json');
    expect(JSON.parse(matrix.stdout)).toMatchObject({ state: 'SUCCESS', task: 'matmul', args: [2, 3] });
  });

  it('submit --wait off a terminal prints one plain progress line per change on stderr, the result on stdout', async () => {
    const { code, stdout, stderr } = await switchyard('submit', 'node', 'long_task', '3', '--wait');
    expect(code).toBe(0);
    expect(stdout).toBe('3\n');
    expect(stderr).not.toContain('\r');
    const lines = stderr.trim().split('\n');
    expect(lines[0]).toMatch(/^task [0-9a-f-]{36}$/);
    expect(lines).toContain('PROGRESS 3/3 (100%) Step 3 of 3');
    expect(lines.at(-1)).toBe('SUCCESS 3/3 (100%) Task completed!');
  });

  it('submit prints the id; status shows the record, --json the gateway JSON', async () => {
    const submitted = await switchyard('submit', 'node', 'factorial', '10', '--priority', '7');
    expect(submitted.code).toBe(0);
    const id = submitted.stdout.trim();
    expect(id).toMatch(UUID);
    await client().wait(id);
    const status = await switchyard('status', id);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`task      ${id}  (node factorial)`);
    expect(status.stdout).toMatch(/^state\s+SUCCESS {2}1\/1/m);
    expect(status.stdout).toMatch(/^result\s+3628800$/m);
    expect(status.stdout).toMatch(/^queue\s+default {2}\(priority 7\)$/m);
    const json = await switchyard('status', id, '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({ task_id: id, state: 'SUCCESS', result: '3628800', priority: 7 });
  });

  it('a task that fails exits 1 and says why', async () => {
    const failed = await switchyard('run', 'node', 'long_task', '30', '--time-limit', '0.3', '--max-attempts', '1');
    expect(failed.code).toBe(1);
    expect(failed.stdout).toBe('');
    expect(failed.stderr).toMatch(/^node task long_task \([0-9a-f-]{36}\) failed: .*time limit/im);
  });

  it('cancel revokes a delayed task at once, and stops a running one (its waiter exits 1)', async () => {
    const delayed = (await switchyard('submit', 'node', 'add', '1', '2', '--countdown', '60')).stdout.trim();
    expect(await switchyard('cancel', delayed)).toMatchObject({ code: 0, stdout: `${delayed} cancelled (REVOKED)\n` });

    const waiter = startSwitchyard(['submit', 'node', 'long_task', '100', '--wait'], env());
    await waitFor(() => /^PROGRESS /m.test(outputOf(waiter).stderr), {
      timeoutMs: 20_000,
      what: 'the task to progress',
    });
    const id = /^task (\S+)$/m.exec(outputOf(waiter).stderr)?.[1] ?? '';
    const cancelled = await switchyard('cancel', id);
    expect(cancelled).toMatchObject({
      code: 0,
      stdout: `${id} is running: its worker is stopping it (see switchyard status ${id})\n`,
    });
    await waitFor(() => waiter.exitCode !== null, { timeoutMs: 20_000, what: 'the waiter to exit' });
    expect(waiter.exitCode).toBe(1);
    expect(outputOf(waiter).stdout).toBe('');
    expect(outputOf(waiter).stderr).toMatch(/^REVOKED \d+\/100 /m);
    expect(outputOf(waiter).stderr).toContain(`node task long_task (${id}) was cancelled`);

    const again = await switchyard('cancel', id);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/^switchyard cancel: .*finished/m);
  });
});

describe('switchyard usage errors and unreachable gateways', () => {
  it('an unknown task lists the known ones, exit 2', async () => {
    const result = await switchyard('run', 'node', 'no_such_task', '1');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^switchyard run: unknown node task "no_such_task"; known node tasks: long_task, add, factorial, matmul, make_dataset, fit_report$/m,
    );
    expect(result.stderr).toContain('Run "switchyard run --help" for usage.');
  });

  it('bad arguments, options and commands are usage errors (exit 2) that say what is wrong', async () => {
    const cases: [string[], RegExp][] = [
      [['run', 'node'], /the task name is missing/],
      [['run', 'java', 'add'], /the worker kind must be node or r; got "java"/],
      [['run', 'node', 'add', 'x', '1'], /args\.0 must be a number/],
      [['run', 'node', 'add', '[1,', '1'], /argument 1 \(\[1,\) is not valid JSON/],
      [['run', 'node', 'add', '1', '2', '--bogus'], /Unknown option '--bogus'/],
      [
        ['submit', 'node', 'add', '1', '2', '--priority', '12'],
        /--priority must be a whole number between 0 and 9; got "12"/,
      ],
      [['status'], /the task id is missing/],
      [['status', 'not-an-id'], /id must be a task id as returned by execute/],
      [['frobnicate'], /unknown command "frobnicate"\. Commands: submit, run, status/],
      [['tail', '--kind', 'python'], /--kind must be node or r/],
      [['run', 'node', 'add', '1', '2', '--url', 'ftp://x'], /--url must be an http:\/\/ or https:\/\/ URL/],
    ];
    for (const [args, message] of cases) {
      const result = await switchyard(...args);
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      expect(result.stderr, args.join(' ')).toMatch(message);
    }
  }, 90_000);

  it('a gateway that is not there: "cannot reach the gateway at URL", exit 3', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const result = await runSwitchyard(['run', 'node', 'add', '1', '2'], { SWITCHYARD_URL: url });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(
      new RegExp(`^switchyard run: cannot reach the gateway at ${url}: .*ECONNREFUSED`, 'm'),
    );
    expect(result.stderr).toContain('Point at it with --url or SWITCHYARD_URL');
  });

  it('no API key or a wrong one: exit 3 naming SWITCHYARD_API_KEY; --api-key and --url win over the environment', async () => {
    const none = await runSwitchyard(['queues'], { SWITCHYARD_URL: ctx.stack.baseUrl });
    expect(none.code).toBe(3);
    expect(none.stderr).toMatch(/An API key is required/);
    expect(none.stderr).toMatch(/Set SWITCHYARD_API_KEY or pass --api-key/);
    const wrong = { SWITCHYARD_URL: 'http://127.0.0.1:1', SWITCHYARD_API_KEY: 'wrong-key-0123456789abcdef' };
    const overridden = await runSwitchyard(
      ['run', 'node', 'add', '2', '2', '--url', ctx.stack.baseUrl, '--api-key', API_KEY],
      wrong,
    );
    expect(overridden).toMatchObject({ code: 0, stdout: '4\n' });
  });

  it('--help for every command, exit 0; no command at all prints the overview, exit 2', async () => {
    const overview = await switchyard('--help');
    expect(overview.code).toBe(0);
    for (const command of [
      'submit',
      'run',
      'status',
      'cancel',
      'queues',
      'workers',
      'dead-letters',
      'tail',
      'workflow',
    ]) {
      expect(overview.stdout).toMatch(new RegExp(`^  ${command} +\\S`, 'm'));
      const help = await switchyard(command, '--help');
      expect({ command, code: help.code }).toEqual({ command, code: 0 });
      expect(help.stdout).toMatch(new RegExp(`^Usage: switchyard ${command}`));
      expect(help.stdout).toContain('--api-key KEY');
    }
    expect((await switchyard('help', 'tail')).stdout).toMatch(/^Usage: switchyard tail/);
    expect((await switchyard()).code).toBe(2);
  }, 90_000);

  it('npx switchyard from the repository runs the bin', async () => {
    const { spawnSync } = await import('node:child_process');
    const result = spawnSync('npx', ['--no-install', 'switchyard', '--help'], {
      cwd: join(BIN, '../../..'),
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
      timeout: 30_000,
    });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^Usage: switchyard COMMAND/);
  });
  it('runs from the TypeScript sources before a build (SWITCHYARD_CLI_FROM_SOURCE=1 takes that path)', async () => {
    const result = await runSwitchyard(['run', 'node', 'add', '4', '6'], { ...env(), SWITCHYARD_CLI_FROM_SOURCE: '1' });
    expect(result).toMatchObject({ code: 0, stdout: '10\n' });
  });
});

describe('switchyard queues, workers, dead-letters, tail, workflow', () => {
  it('queues and workers show tables (and JSON with --json)', async () => {
    await client().run('node', 'add', [1, 1]);
    const queues = await switchyard('queues');
    expect(queues.code).toBe(0);
    expect(queues.stdout).toMatch(/^KIND +QUEUE +WAITING +ACTIVE +DELAYED +DEAD +PAUSED +CONSUMERS$/m);
    expect(queues.stdout).toMatch(/^node +default +\d+ +\d+ +\d+ +\d+ +no +1$/m);
    const queuesJson = JSON.parse((await switchyard('queues', '--json')).stdout) as { kind: string; name: string }[];
    expect(queuesJson).toContainEqual(expect.objectContaining({ kind: 'node', name: 'default' }));

    const workers = await switchyard('workers');
    expect(workers.stdout).toMatch(/^ID +KIND +HOST +PID +QUEUES +RUNNING +HEARTBEAT$/m);
    const worker = ctx.stack.workers[0]!;
    expect(workers.stdout).toMatch(
      new RegExp(`^\\S+ +node +\\S+ +${worker.process.pid} +default +\\d+/4 +\\d+ s ago$`, 'm'),
    );
  });

  it('dead-letters lists a task that failed every attempt, and --requeue runs it again', async () => {
    const c = client();
    const id = await c.submit('node', 'long_task', [30], { time_limit_ms: 200, max_attempts: 1 });
    const failed = await c.wait(id);
    expect(failed.state).toBe('FAILURE');
    const list = await switchyard('dead-letters', '--kind', 'node', '--queue', 'default');
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^ID +KIND +QUEUE +TASK +ATTEMPTS +FAILED +ERROR$/m);
    expect(list.stdout).toMatch(new RegExp(`^${id} +node +default +long_task +1/1 +\\d+ s ago +.*time limit`, 'mi'));

    const requeued = await switchyard('dead-letters', '--requeue', id);
    expect(requeued).toMatchObject({ code: 0, stdout: `${id} requeued: it waits in its queue again\n` });
    // It ran again: a later start than its first run's.
    await waitFor(
      async () => {
        const record = await c.get(id);
        return record.started_at !== null && record.started_at > (failed.started_at ?? '');
      },
      { timeoutMs: 15_000, what: 'the requeued task to start again' },
    );
  });

  it('tail prints one line per event of the queue until Ctrl-C, then exits 0', async () => {
    const tail = startSwitchyard(['tail', '--queue', 'default', '--kind', 'node'], env());
    await waitFor(() => outputOf(tail).stderr.includes('Watching queue default of node'), {
      timeoutMs: 20_000,
      what: 'tail to start',
    });
    await new Promise((resolve) => setTimeout(resolve, 500)); // the stream is open once the gateway has it
    const id = await client().submit('node', 'long_task', [2]);
    await waitFor(() => outputOf(tail).stdout.includes(`${id}  long_task  SUCCESS`), {
      timeoutMs: 20_000,
      what: 'the SUCCESS line',
    });
    const lines = outputOf(tail)
      .stdout.split('\n')
      .filter((line) => line.includes(id));
    expect(
      lines.some((line) =>
        /^\d\d:\d\d:\d\d\.\d{3} {2}node\/default {2}[0-9a-f-]{36} {2}long_task {2}PROGRESS {2}1\/2 {2}Step 1 of 2$/.test(
          line,
        ),
      ),
    ).toBe(true);
    expect(lines.at(-1)).toMatch(/ {2}SUCCESS {2}2\/2 {2}Task completed!$/);
    tail.kill('SIGINT');
    await waitFor(() => tail.exitCode !== null, { what: 'tail to exit' });
    expect(tail.exitCode).toBe(0);
  });

  it('workflow FILE --wait prints the result; bad JSON and bad canvases are usage errors', async () => {
    const group = file(
      'group.json',
      JSON.stringify({
        group: [
          { worker: 'node', task: 'add', args: [1, 2] },
          { worker: 'node', task: 'add', args: [3, 4] },
        ],
      }),
    );
    const waited = await switchyard('workflow', group, '--wait');
    expect(waited.code).toBe(0);
    expect(JSON.parse(waited.stdout)).toEqual([3, 7]);
    expect(waited.stderr).toMatch(/^workflow [0-9a-f-]{36}$/m);
    expect(waited.stderr).toContain('SUCCESS 2/2 (100%)');

    const submitted = await switchyard('workflow', group);
    expect(submitted.stdout.trim()).toMatch(UUID);
    const fromStdin = await runSwitchyard(['workflow', '-', '--wait', '--json'], env(), {
      input: JSON.stringify({
        chain: [
          { worker: 'node', task: 'add', args: [1, 2] },
          { worker: 'node', task: 'add', args: [10] },
        ],
      }),
    });
    expect(JSON.parse(fromStdin.stdout)).toMatchObject({ state: 'SUCCESS', result: 13 });

    const failing = file(
      'failing.json',
      JSON.stringify({
        chain: [{ worker: 'node', task: 'long_task', args: [30], options: { time_limit_ms: 200, max_attempts: 1 } }],
      }),
    );
    const failed = await switchyard('workflow', failing, '--wait');
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/^workflow [0-9a-f-]{36} failed: /m);

    const notJson = await switchyard('workflow', file('broken.json', '{"chain": ['));
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toMatch(/broken\.json is not valid JSON/);
    const badCanvas = await switchyard(
      'workflow',
      file('bad.json', JSON.stringify({ chain: [{ worker: 'node', task: 'nope' }] })),
    );
    expect(badCanvas.code).toBe(2);
    expect(badCanvas.stderr).toMatch(/chain\.0\.task/);
    const missing = await switchyard('workflow', join(scratch, `${randomUUID()}.json`));
    expect(missing).toMatchObject({ code: 2 });
    expect(missing.stderr).toMatch(/cannot read .*ENOENT/);
  }, 60_000);
});

describe('the progress bar in a real terminal', () => {
  const terminals: { stop(): void }[] = [];
  afterAll(() => terminals.forEach((t) => t.stop()));

  it('submit node long_task 30 --wait redraws one bar in place as it advances, ends at 100% and prints the result', async () => {
    const terminal = openTerminal([process.execPath, BIN, 'submit', 'node', 'long_task', '30', '--wait'], env());
    terminals.push(terminal);
    const percents = new Set<number>();
    let screen: string[] = [];
    await waitFor(
      () => {
        screen = terminal.screen();
        for (const row of screen) {
          const bar = /^\[[#-]{30}\] +(\d+)% {2}\d+\/30 {2}\w+/.exec(row);
          if (bar) percents.add(Number(bar[1]));
        }
        return screen.some((row) => row.startsWith('EXIT:'));
      },
      { timeoutMs: 30_000, intervalMs: 50, what: 'the command to finish in the terminal' },
    );
    const seen = [...percents];
    // It advanced: several partial states were on the screen before the end.
    expect(seen.filter((p) => p > 0 && p < 100).length).toBeGreaterThanOrEqual(3);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    const bars = screen.filter((row) => row.startsWith('['));
    expect(bars).toEqual([`[${'#'.repeat(30)}] 100%  30/30  SUCCESS  Task completed!`]); // one line, redrawn in place
    const rows = screen.filter((row) => row !== '');
    const barRow = rows.indexOf(bars[0]!);
    expect(rows[barRow - 1]).toMatch(/^task [0-9a-f-]{36}$/);
    expect(rows.slice(barRow + 1, barRow + 3)).toEqual(['30', 'EXIT:0']);
  }, 60_000);
});
