/**
 * Structured logs: one JSON object per line on stdout, with the service name, and the task id on every
 * line about a task (pass `task_id` in the fields).
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const SEVERITY: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export function createLogger(
  service: string,
  level: LogLevel = 'info',
  write: (line: string) => void = (line) => process.stdout.write(line + '\n'),
): Logger {
  const threshold = SEVERITY[level];
  const log =
    (lvl: LogLevel) =>
    (msg: string, fields: Record<string, unknown> = {}) => {
      if (SEVERITY[lvl] < threshold) return;
      write(JSON.stringify({ time: new Date().toISOString(), level: lvl, service, msg, ...fields }, errorReplacer));
    };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

/** Errors serialise to their name and message; stacks only for unexpected errors, under `stack`. */
function errorReplacer(_key: string, value: unknown): unknown {
  return value instanceof Error ? { name: value.name, message: value.message } : value;
}

/** A logger that drops everything (tests that do not look at logs). */
export const silentLogger: Logger = createLogger('silent', 'error', () => {});
