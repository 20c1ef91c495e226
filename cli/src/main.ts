/** The process around the switchyard command: real streams, the environment, Ctrl-C, the exit code. */
import { runCli } from './cli.js';

const interrupt = new AbortController();
process.on('SIGINT', () => {
  // The first Ctrl-C ends a wait or a tail cleanly; a second one leaves at once.
  if (interrupt.signal.aborted) process.exit(130);
  interrupt.abort(new Error('interrupted'));
});

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const sink = (stream: NodeJS.WriteStream) => ({
  write: (text: string) => void stream.write(text),
  isTTY: stream.isTTY === true,
  get columns() {
    return stream.columns;
  },
});

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: sink(process.stdout),
  stderr: sink(process.stderr),
  env: process.env,
  readStdin,
  interrupt: interrupt.signal,
});
