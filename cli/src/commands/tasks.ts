/** The task commands: submit (optionally waiting with a progress bar), run, status and cancel. */
import { GatewayError, type SubmitOptions, type TaskRecord } from '@switchyard/client';
import { EXIT, contextOf, type Context } from '../context.js';
import { formatRecord, formatResult } from '../format.js';
import {
  UsageError,
  kindOf,
  parseCommand,
  parseTaskArgument,
  secondsOption,
  wholeNumberOption,
  type Kind,
} from '../options.js';
import { ProgressDisplay } from '../progress.js';
import { GLOBAL_HELP, type Command } from './command.js';

const SUBMIT_OPTIONS = {
  queue: { type: 'string' },
  priority: { type: 'string' },
  countdown: { type: 'string' },
  'max-attempts': { type: 'string' },
  'time-limit': { type: 'string' },
  wait: { type: 'boolean', default: false },
  timeout: { type: 'string' },
} as const;

const TASK_ARGUMENTS_HELP = `Task arguments: numbers are numbers (4, -2.5), [..] and {..} are JSON, "quoted" is a JSON
string, true/false/null are JSON, anything else is passed as a string.`;

const SUBMIT_HELP_OPTIONS = `  --queue NAME       the queue (default: the gateway's route for the task, else default)
  --priority N       0-9, 9 runs first (default 5)
  --countdown S      run no earlier than S seconds from now
  --max-attempts N   attempts before a failing task is given up
  --time-limit S     fail the task if it runs longer than S seconds
  --timeout S        stop waiting after S seconds (the task goes on)`;

interface TaskCommandLine {
  kind: Kind;
  task: string;
  args: unknown[];
  options: SubmitOptions;
  timeoutMs: number | undefined;
}

function millisecondsOf(seconds: number | undefined): number | undefined {
  return seconds === undefined ? undefined : Math.round(seconds * 1_000);
}

function taskCommandLine(command: string, argv: string[]) {
  const { values, positionals } = parseCommand(command, argv, SUBMIT_OPTIONS);
  const [kindText, task, ...argTexts] = positionals;
  const kind = kindOf(kindText, command);
  if (task === undefined) throw new UsageError('the task name is missing, e.g. add or long_task', command);
  const options: SubmitOptions = {
    queue: values.queue,
    priority: wholeNumberOption('priority', values.priority, { min: 0, max: 9 }, command),
    countdown: secondsOption('countdown', values.countdown, command),
    max_attempts: wholeNumberOption('max-attempts', values['max-attempts'], { min: 1, max: 10 }, command),
    time_limit_ms: millisecondsOf(secondsOption('time-limit', values['time-limit'], command)),
  };
  const line: TaskCommandLine = {
    kind,
    task,
    args: argTexts.map((text, i) => parseTaskArgument(text, i + 1, command)),
    options: Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)),
    timeoutMs: millisecondsOf(secondsOption('timeout', values.timeout, command)),
  };
  return { line, values };
}

/** Submits with the task name and arguments exactly as typed: the gateway checks them and says what is wrong. */
async function submitTask(context: Context, line: TaskCommandLine, command: string): Promise<string> {
  try {
    return await context.client.submitUntyped(line.kind, line.task, line.args, line.options);
  } catch (error) {
    const known = unknownTaskList(error);
    if (known === undefined) throw error;
    throw new UsageError(`unknown ${line.kind} task "${line.task}"; known ${line.kind} tasks: ${known}`, command);
  }
}

/** The gateway names the known tasks when `task` is not one of them: "must be one of: long_task, add, …". */
function unknownTaskList(error: unknown): string | undefined {
  if (!(error instanceof GatewayError)) return undefined;
  const problem = error.fields.find((f) => f.field === 'task');
  return problem?.message.match(/^must be one of: (.+)$/)?.[1];
}

/**
 * Waits for the task, drawing its progress on stderr when `showProgress`; prints the result (or the
 * record with --json) on stdout and returns the exit code.
 */
export async function waitAndReport(
  context: Context,
  id: string,
  options: { timeoutMs: number | undefined; showProgress: boolean },
): Promise<number> {
  const display = options.showProgress ? new ProgressDisplay(context.io.stderr) : undefined;
  let record: TaskRecord;
  try {
    record = await context.client.wait(id, {
      onProgress: (update) => display?.update(update),
      signal: context.io.interrupt,
      timeoutMs: options.timeoutMs,
    });
  } catch (error) {
    display?.finish();
    if (context.io.interrupt.aborted) {
      context.err(`Stopped waiting; task ${id} goes on (switchyard status ${id}).`);
      return EXIT.interrupted;
    }
    throw error;
  }
  display?.finish();
  return reportFinal(context, record);
}

function reportFinal(context: Context, record: TaskRecord): number {
  if (context.json) context.out(JSON.stringify(record, null, 2));
  if (record.state === 'SUCCESS') {
    if (!context.json) context.out(formatResult(record.result));
    return EXIT.ok;
  }
  const what = `${record.worker} task ${record.task} (${record.task_id})`;
  context.err(
    record.state === 'REVOKED' ? `${what} was cancelled` : `${what} failed: ${record.error ?? 'no error recorded'}`,
  );
  return EXIT.taskFailed;
}

export const submitCommand: Command = {
  name: 'submit',
  summary: 'submit a task; with --wait, show its progress and print its result',
  help: `Usage: switchyard submit KIND TASK [ARGS...] [--wait] [options]

Submits TASK to the KIND (node or r) workers and prints its id. With --wait it then shows the
task's progress on stderr (a bar redrawn in place on a terminal, one line per change otherwise)
and prints the result on stdout.

  switchyard submit node long_task 30 --wait
  switchyard submit r summary_stats '[1,2,3,4,100]' --queue stats
  id=$(switchyard submit node factorial 20)

${TASK_ARGUMENTS_HELP}

  --wait             wait for the task to finish
${SUBMIT_HELP_OPTIONS}

Exit codes: 0 submitted (with --wait: succeeded), 1 the task failed or was cancelled, 2 usage error
or the gateway refused the task, 3 the gateway cannot be reached or failed.

${GLOBAL_HELP}`,
  async run(argv, io) {
    const { line, values } = taskCommandLine('submit', argv);
    const context = contextOf(values, io);
    const id = await submitTask(context, line, 'submit');
    if (!values.wait) {
      context.out(context.json ? JSON.stringify({ task_id: id, status: 'created' }) : id);
      return EXIT.ok;
    }
    if (!context.json) context.err(`task ${id}`);
    return waitAndReport(context, id, { timeoutMs: line.timeoutMs, showProgress: !context.json });
  },
};

export const runCommand: Command = {
  name: 'run',
  summary: 'submit a task, wait for it, print its result',
  help: `Usage: switchyard run KIND TASK [ARGS...] [options]

Submits TASK to the KIND (node or r) workers, waits, and prints only its result: \`switchyard run
node add 4 6\` prints 10. On a terminal a progress bar is drawn on stderr while it runs.

  switchyard run node add 4 6
  switchyard run node factorial 30
  switchyard run r lm_fit '[2.1,3.9,6.2]' '{"x":[1,2,3]}'

${TASK_ARGUMENTS_HELP}

${SUBMIT_HELP_OPTIONS}

Exit codes: 0 succeeded, 1 the task failed, was cancelled or did not finish within --timeout,
2 usage error or the gateway refused the task, 3 the gateway cannot be reached or failed.

${GLOBAL_HELP}`,
  async run(argv, io) {
    const { line, values } = taskCommandLine('run', argv);
    const context = contextOf(values, io);
    const id = await submitTask(context, line, 'run');
    return waitAndReport(context, id, { timeoutMs: line.timeoutMs, showProgress: !context.json && io.stderr.isTTY });
  },
};

export const statusCommand: Command = {
  name: 'status',
  summary: "show a task's record (state, progress, result, error, attempts, times)",
  help: `Usage: switchyard status ID

Shows the task's record, whatever its kind: state, progress, result or error, attempts and times.

  switchyard status 7d1c8a5e-2f43-4c1b-9a57-0d0c2b6f3e11
  switchyard status "$id" --json | jq .state

Exit codes: 0 shown (whatever the task's state), 2 no such task, 3 the gateway cannot be reached.

${GLOBAL_HELP}`,
  async run(argv, io) {
    const { values, positionals } = parseCommand('status', argv, {});
    const id = onlyId('status', positionals);
    const context = contextOf(values, io);
    const record = await context.client.get(id);
    context.out(context.json ? JSON.stringify(record, null, 2) : formatRecord(record));
    return EXIT.ok;
  },
};

export const cancelCommand: Command = {
  name: 'cancel',
  summary: 'cancel a task (waiting: REVOKED at once; running: its worker stops it)',
  help: `Usage: switchyard cancel ID

Cancels the task, whatever its kind. A task that has not started is REVOKED at once; a running
one is stopped by its worker, which records REVOKED.

  switchyard cancel 7d1c8a5e-2f43-4c1b-9a57-0d0c2b6f3e11

Exit codes: 0 cancelled or being cancelled, 2 no such task or it has already finished, 3 the
gateway cannot be reached.

${GLOBAL_HELP}`,
  async run(argv, io) {
    const { values, positionals } = parseCommand('cancel', argv, {});
    const id = onlyId('cancel', positionals);
    const context = contextOf(values, io);
    const outcome = await context.client.cancel(id);
    if (context.json) context.out(JSON.stringify(outcome.outcome === 'revoked' ? outcome.record : outcome));
    else if (outcome.outcome === 'revoked') context.out(`${id} cancelled (REVOKED)`);
    else context.out(`${id} is running: its worker is stopping it (see switchyard status ${id})`);
    return EXIT.ok;
  },
};

export function onlyId(command: string, positionals: string[]): string {
  const [id, ...extra] = positionals;
  if (id === undefined) throw new UsageError('the task id is missing', command);
  if (extra.length > 0) throw new UsageError(`one task id only; also got: ${extra.join(' ')}`, command);
  return id;
}
