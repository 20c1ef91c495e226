/**
 * The switchyard command: finds the command, runs it, and turns every error into a message a person
 * understands and an exit code a script can test (see EXIT in context.ts).
 */
import {
  GatewayError,
  GatewayUnreachableError,
  SwitchyardClientError,
  TaskFailedError,
  WaitTimeoutError,
} from '@switchyard/client';
import { EXIT, type Io } from './context.js';
import { GLOBAL_HELP, type Command } from './commands/command.js';
import { deadLettersCommand, queuesCommand, tailCommand, workersCommand } from './commands/inspect.js';
import { cancelCommand, runCommand, statusCommand, submitCommand } from './commands/tasks.js';
import { workflowCommand } from './commands/workflow.js';
import { UsageError } from './options.js';

export const COMMANDS: readonly Command[] = [
  submitCommand,
  runCommand,
  statusCommand,
  cancelCommand,
  queuesCommand,
  workersCommand,
  deadLettersCommand,
  tailCommand,
  workflowCommand,
];

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `Usage: switchyard COMMAND [ARGS...] [options]

Submit tasks to a Switchyard gateway, wait for them with a progress bar, and look at its queues,
workers and dead letters.

Commands:
${lines.join('\n')}

  switchyard run node add 4 6                 prints 10
  switchyard submit node long_task 30 --wait  draws a progress bar, prints 30
  switchyard COMMAND --help                   more about one command

Exit codes: 0 success, 1 the task failed, 2 usage error, 3 the gateway cannot be reached or failed.

${GLOBAL_HELP}`;
}

/** --help or -h before a `--`: the command's help instead of running it. */
function asksForHelp(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).some((arg) => arg === '--help' || arg === '-h');
}

export async function runCli(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  const say = (text: string) => io.stderr.write(`${text}\n`);
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    io.stdout.write(`${topic?.help ?? overview()}\n`);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    say(`switchyard: unknown command "${name}". Commands: ${COMMANDS.map((c) => c.name).join(', ')}.`);
    say('Run "switchyard --help" for usage.');
    return EXIT.usage;
  }
  if (asksForHelp(rest)) {
    io.stdout.write(`${command.help}\n`);
    return EXIT.ok;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    const { message, exitCode } = explain(error);
    say(`switchyard ${command.name}: ${message}`);
    if (error instanceof UsageError) say(`Run "switchyard ${error.command ?? command.name} --help" for usage.`);
    return exitCode;
  }
}

/** What went wrong, in words, and the exit code it deserves. */
export function explain(error: unknown): { message: string; exitCode: number } {
  if (error instanceof UsageError) return { message: error.message, exitCode: EXIT.usage };
  if (error instanceof GatewayUnreachableError) {
    return {
      message: `${error.message}\nIs the gateway running (npm start)? Point at it with --url or SWITCHYARD_URL.`,
      exitCode: EXIT.gateway,
    };
  }
  if (error instanceof GatewayError) {
    if (error.status === 401) {
      return {
        message: `${error.message}\nSet SWITCHYARD_API_KEY or pass --api-key with one of the gateway's API_KEYS.`,
        exitCode: EXIT.gateway,
      };
    }
    // 4xx: the request was wrong (bad argument, no such task); 429 and 5xx: the gateway could not serve it.
    const refused = error.status >= 400 && error.status < 500 && error.status !== 429;
    if (refused) return { message: error.message, exitCode: EXIT.usage };
    return { message: `the gateway answered ${error.status}: ${error.message}`, exitCode: EXIT.gateway };
  }
  if (error instanceof WaitTimeoutError) {
    return { message: `${error.message}; it goes on (switchyard status ${error.id})`, exitCode: EXIT.taskFailed };
  }
  if (error instanceof TaskFailedError) return { message: error.message, exitCode: EXIT.taskFailed };
  if (error instanceof SwitchyardClientError) return { message: error.message, exitCode: EXIT.gateway };
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return { message: `unexpected error: ${message}`, exitCode: EXIT.taskFailed };
}
