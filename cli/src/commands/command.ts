import type { Io } from '../context.js';

export interface Command {
  name: string;
  /** One line for `switchyard --help`. */
  summary: string;
  /** The whole of `switchyard <name> --help`. */
  help: string;
  /** Runs with the arguments after the command name; resolves with the exit code. */
  run(argv: string[], io: Io): Promise<number>;
}

/** Options every command takes, for the end of each help text. */
export const GLOBAL_HELP = `Options for every command:
  --url URL        the gateway (default $SWITCHYARD_URL, else http://127.0.0.1:9000)
  --api-key KEY    when the gateway has API_KEYS set (default $SWITCHYARD_API_KEY)
  --json           print the gateway's JSON instead of text, for scripts
  -h, --help       this help`;
