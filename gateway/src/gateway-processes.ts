/**
 * GATEWAY_PROCESSES > 1: this process becomes the primary of Node's cluster and forks that many
 * gateway processes, which share the listening port (the primary hands connections out in turn). The
 * gateways hold no state, so any of them answers any request alike. The primary serves nothing itself:
 * it passes SIGTERM/SIGINT on and exits once every gateway has stopped; a gateway that ends on its own
 * (a crash, a port in use) takes the others down, and the primary exits with its code, so whatever
 * supervises the gateway (npm start, Kubernetes) sees one failure, not a half-sized gateway.
 */
import cluster from 'node:cluster';
import type { Logger } from '@switchyard/shared';

export function runGatewayProcesses(count: number, logger: Logger): void {
  let stopping = false;
  let exitCode = 0;
  const stopAll = (signal: NodeJS.Signals) => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
  };
  cluster.on('exit', (worker, code, signal) => {
    if (!stopping) {
      stopping = true;
      exitCode = code === 0 || code === null ? 1 : code;
      logger.error('a gateway process ended; stopping the others', { pid: worker.process.pid, code, signal });
      stopAll('SIGTERM');
    }
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(exitCode);
  });
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping the gateway processes', { signal });
    stopAll(signal);
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  for (let i = 0; i < count; i++) cluster.fork();
  logger.info('gateway processes started', { processes: count });
}
