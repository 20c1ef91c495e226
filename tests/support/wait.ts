/** Polling with a deadline: every wait in the suite is bounded. */
import { setTimeout as sleep } from 'node:timers/promises';

export async function waitFor<T>(
  check: () => Promise<T | false | null | undefined> | T | false | null | undefined,
  {
    timeoutMs = 10_000,
    intervalMs = 25,
    what = 'condition',
  }: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== false && value !== null && value !== undefined) return value;
    } catch (error) {
      lastError = error;
      if (error instanceof Error && error.message.includes('exited early')) throw error;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}
