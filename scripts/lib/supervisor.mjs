// Runs the local stack's processes: each in a process group of its own (so a terminal's Ctrl-C
// reaches only start.mjs, which stops them in order: see stop-order.mjs), its output prefixed with
// its name, restarted with backoff when it exits on its own, except after exit status 2 (a setting
// it refused: restarting cannot help). Knows when each is up, from a probe or a line it prints.
// Every process is announced to the reaper (reaper.mjs), which stops them if start.mjs dies.
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { stopInOrder } from './stop-order.mjs';

const REAPER = fileURLToPath(new URL('./reaper.mjs', import.meta.url));
/** How long a probe is tried after a (re)start before the service counts as not coming up. */
const READY_PROBE_MS = 10 * 60_000;

/**
 * `say` prints a [switchyard] line; `onRefused(service)` is called when a service exits with status
 * 2. `graceMs` is the services' SHUTDOWN_GRACE_MS.
 */
export function createSupervisor({ cwd, say, graceMs, onRefused }) {
  const reaper = spawn(process.execPath, [REAPER, String(graceMs)], {
    detached: true,
    stdio: ['pipe', 'ignore', 'inherit'],
  });
  reaper.unref();
  const tellReaper = (message) => reaper.stdin.write(`${JSON.stringify(message)}\n`);
  const services = [];
  let stopping = false;

  /**
   * Starts a service: `stage` 'services' or 'redis' (stopped last); `stopSignal` asks it to stop
   * gracefully; it is up once `readyLine` matches a line it printed or `readyProbe()` resolves true.
   */
  function supervise({ name, command, args, env, stage = 'services', stopSignal = 'SIGTERM', readyLine, readyProbe }) {
    const service = { name, stage, stopSignal, child: null, restarts: 0, ready: false, launches: 0, onReady: [] };
    const becameReady = () => {
      if (service.ready) return;
      service.ready = true;
      if (service.launches > 1) say(`${name} is up again`);
      for (const resolve of service.onReady.splice(0)) resolve();
    };
    const launch = () => {
      const startedAt = Date.now();
      service.ready = false;
      service.launches += 1;
      const child = spawn(command, args, {
        cwd,
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      service.child = child;
      if (child.pid !== undefined) tellReaper({ started: { pid: child.pid, name, stage, stopSignal } });
      for (const stream of [child.stdout, child.stderr]) {
        let partial = '';
        stream.on('data', (chunk) => {
          const lines = (partial + chunk.toString()).split('\n');
          partial = lines.pop() ?? '';
          for (const line of lines) {
            process.stdout.write(`${name.padEnd(13)}| ${line}\n`);
            if (readyLine?.test(line) && service.child === child) becameReady();
          }
        });
      }
      if (readyProbe) void probeUntilReady(child);
      child.on('error', (error) => say(`${name} could not start: ${error.message}`));
      child.on('exit', (code, signal) => {
        if (child.pid !== undefined) tellReaper({ exited: child.pid });
        service.child = null;
        service.ready = false;
        if (stopping) return;
        if (code === 2) {
          say(`${name} refused its configuration (exit status 2, see its message above): stopping everything`);
          onRefused(service);
          return;
        }
        service.restarts = Date.now() - startedAt > 30_000 ? 0 : service.restarts + 1;
        const delay = Math.min(1_000 * 2 ** service.restarts, 30_000);
        say(`${name} exited (${signal ?? `code ${code}`}); restarting in ${delay / 1000} s`);
        setTimeout(() => !stopping && launch(), delay);
      });
    };
    const probeUntilReady = async (child) => {
      const deadline = Date.now() + READY_PROBE_MS;
      while (service.child === child && !stopping && Date.now() < deadline) {
        if (await readyProbe().catch(() => false)) {
          if (service.child === child) becameReady();
          return;
        }
        await sleep(200);
      }
    };
    services.push(service);
    launch();
    return service;
  }

  /** Resolves once `service` is up (now or later); never rejects. */
  const whenReady = (service) => (service.ready ? Promise.resolve() : new Promise((r) => service.onReady.push(r)));

  /** Stops every service in order (stop-order.mjs) and the reaper; resolves when all have exited. */
  async function stopAll() {
    stopping = true;
    const members = services.flatMap(({ child, name, stage, stopSignal }) =>
      child?.pid === undefined
        ? []
        : [
            {
              name,
              pid: child.pid,
              stage,
              stopSignal,
              hasExited: () => child.exitCode !== null || child.signalCode !== null,
            },
          ],
    );
    await stopInOrder(members, { graceMs, say });
    tellReaper({ done: true });
    reaper.stdin.end();
  }

  return { supervise, whenReady, stopAll, services, isStopping: () => stopping };
}
