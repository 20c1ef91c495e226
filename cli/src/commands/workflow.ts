/** `switchyard workflow FILE.json [--wait]`: submit a canvas, optionally follow its steps to the end. */
import { readFile } from 'node:fs/promises';
import type { WorkflowDefinition, WorkflowView } from '@switchyard/client';
import { EXIT, contextOf, type Context } from '../context.js';
import { formatResult } from '../format.js';
import { UsageError, parseCommand, secondsOption } from '../options.js';
import { ProgressDisplay } from '../progress.js';
import { GLOBAL_HELP, type Command } from './command.js';

async function readDefinition(file: string, context: Context): Promise<WorkflowDefinition> {
  let text: string;
  try {
    text = file === '-' ? await context.io.readStdin() : await readFile(file, 'utf8');
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new UsageError(`cannot read ${file}: ${reason}`, 'workflow');
  }
  try {
    // The gateway checks the canvas and names each problem by its path; here it only has to be JSON.
    return JSON.parse(text) as WorkflowDefinition;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new UsageError(`${file} is not valid JSON: ${reason}`, 'workflow');
  }
}

async function waitForWorkflow(context: Context, id: string, timeoutMs: number | undefined): Promise<number> {
  const display = context.json ? undefined : new ProgressDisplay(context.io.stderr);
  let latestStep = '';
  let workflow: WorkflowView;
  try {
    workflow = await context.client.waitWorkflow(id, {
      signal: context.io.interrupt,
      timeoutMs,
      onStep: (record) => {
        latestStep = `${record.worker} ${record.task} ${record.state}`;
      },
      onProgress: (view) =>
        display?.update({ state: view.state, current: view.done, total: view.total, status: latestStep }),
    });
  } catch (error) {
    display?.finish();
    if (context.io.interrupt.aborted) {
      context.err(`Stopped waiting; workflow ${id} goes on.`);
      return EXIT.interrupted;
    }
    throw error;
  }
  display?.finish();
  if (context.json) context.out(JSON.stringify(workflow, null, 2));
  if (workflow.state === 'SUCCESS') {
    if (!context.json) context.out(formatResult(workflow.result));
    return EXIT.ok;
  }
  context.err(`workflow ${id} ${workflow.state === 'REVOKED' ? 'was cancelled' : 'failed'}: ${workflow.error ?? ''}`);
  return EXIT.taskFailed;
}

export const workflowCommand: Command = {
  name: 'workflow',
  summary: 'submit a workflow (chain, group, chord) from a JSON file; --wait follows it',
  help: `Usage: switchyard workflow FILE.json [--wait] [--timeout S]

Submits the workflow canvas in FILE.json (- reads standard input) and prints its id. With --wait
it shows the steps done on stderr and prints the workflow's result.

  switchyard workflow pipeline.json --wait

where pipeline.json is, for example:
  {"chain": [{"worker": "node", "task": "make_dataset", "args": [50, 2, 1]},
             {"worker": "r", "task": "lm_fit"},
             {"worker": "node", "task": "fit_report"}]}

  --wait           wait for the workflow to finish
  --timeout S      stop waiting after S seconds (the workflow goes on)

Exit codes: 0 submitted (with --wait: succeeded), 1 it failed, was cancelled or did not finish
within --timeout, 2 usage error or the gateway refused the canvas, 3 the gateway cannot be reached.

${GLOBAL_HELP}`,
  async run(argv, io) {
    const command = 'workflow';
    const { values, positionals } = parseCommand(command, argv, {
      wait: { type: 'boolean', default: false },
      timeout: { type: 'string' },
    });
    const [file, ...extra] = positionals;
    if (file === undefined) throw new UsageError('the workflow file is missing', command);
    if (extra.length > 0) throw new UsageError(`one workflow file only; also got: ${extra.join(' ')}`, command);
    const timeout = secondsOption('timeout', values.timeout, command);
    const context = contextOf(values, io);
    const id = await context.client.workflow(await readDefinition(file, context));
    if (!values.wait) {
      context.out(context.json ? JSON.stringify({ workflow_id: id, status: 'created' }) : id);
      return EXIT.ok;
    }
    if (!context.json) context.err(`workflow ${id}`);
    return waitForWorkflow(context, id, timeout === undefined ? undefined : timeout * 1_000);
  },
};
