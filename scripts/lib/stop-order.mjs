// The order the local stack stops in, shared by start.mjs and by its reaper (reaper.mjs, which does
// the same when start.mjs itself was killed): first the gateway and the workers together, each
// asked with its stop signal to finish or hand back its running tasks within its grace, then Redis,
// which they need to hand tasks back. A process that outlives its allowance is killed with its
// whole process group (the R service's task children too).
import { setTimeout as sleep } from 'node:timers/promises';

/** Stages in stopping order. */
export const STAGES = ['services', 'redis'];

/** How long Redis may take to write its append-only file and exit. */
const REDIS_STOP_MS = 10_000;
/** After a SIGKILL, how long to wait for the exit to be seen. */
const KILLED_WAIT_MS = 5_000;

/** What a service's grace lets it use, plus room to hand tasks back and disconnect. */
export function stopAllowanceMs(stage, graceMs) {
  return stage === 'redis' ? REDIS_STOP_MS : graceMs + 10_000;
}

function signalGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone already
  }
}

async function exitedWithin(member, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (member.hasExited()) return true;
    await sleep(50);
  }
  return member.hasExited();
}

/**
 * Stops `members` ({ name, pid, stage, stopSignal, hasExited() }) stage by stage. `say` tells the
 * user what happens; resolves once every member has exited or been killed.
 */
export async function stopInOrder(members, { graceMs, say }) {
  for (const stage of STAGES) {
    const group = members.filter((member) => member.stage === stage && !member.hasExited());
    await Promise.all(
      group.map(async (member) => {
        try {
          process.kill(member.pid, member.stopSignal);
        } catch {
          // exited just now
        }
        const allowanceMs = stopAllowanceMs(stage, graceMs);
        if (await exitedWithin(member, allowanceMs)) {
          say(`${member.name} stopped`);
        } else {
          say(`${member.name} did not stop within ${allowanceMs / 1000} s: killing it`);
          signalGroup(member.pid, 'SIGKILL');
          await exitedWithin(member, KILLED_WAIT_MS);
        }
        // Anything of its group still left (a task child of the R service) goes with it.
        signalGroup(member.pid, 'SIGKILL');
      }),
    );
  }
}
