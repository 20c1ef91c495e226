// The local stack's reaper: a small process start.mjs starts first, in a process group of its own,
// and tells (one JSON line on stdin each) which processes it started and which have exited. The
// services run in their own process groups so that a terminal's Ctrl-C reaches only start.mjs, which
// stops them in order; if start.mjs itself dies without doing so (SIGKILL, a crash), its end of the
// pipe closes and the reaper stops what is left, in the same order. `{"done":true}` means start.mjs
// stopped everything itself. Usage (from start.mjs only): node reaper.mjs <grace ms>
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { stopInOrder } from './stop-order.mjs';

const graceMs = Number(process.argv[2] ?? 25_000);
const members = new Map();
let done = false;

const say = (line) => {
  try {
    process.stderr.write(`[switchyard] ${line}\n`);
  } catch {
    // nobody is reading any more
  }
};

/** Alive and not a zombie (an orphan's zombie lingers where nothing reaps it). */
function alive(pid) {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true; // no /proc: trust kill(0)
  }
}

// A terminal's signals are for start.mjs; this process ends when its work is done.
for (const signal of ['SIGINT', 'SIGHUP', 'SIGTERM']) process.on(signal, () => {});

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const message = JSON.parse(line);
  if (message.started) members.set(message.started.pid, message.started);
  if (message.exited) members.delete(message.exited);
  if (message.done) done = true;
});
lines.on('close', async () => {
  const left = [...members.values()].filter((member) => alive(member.pid));
  if (!done && left.length > 0) {
    say(`start.mjs ended without stopping ${left.map((member) => member.name).join(', ')}: stopping them`);
    await stopInOrder(
      left.map((member) => ({ ...member, hasExited: () => !alive(member.pid) })),
      { graceMs, say },
    );
  }
  process.exit(0);
});
