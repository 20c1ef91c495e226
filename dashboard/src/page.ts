/**
 * What every page gets and gives back. A page renders into `root`, refreshes or listens while it is
 * shown, and returns a function that stops all of it (timers, event streams) when the route changes.
 */
import type { Api } from './api.js';
import { h } from './dom.js';

export interface PageContext {
  api: Api;
  root: HTMLElement;
  /** UI_READ_ONLY: no action buttons at all. */
  readOnly: boolean;
  /** Shows a message above the page (an API error, an action's outcome); null clears it. */
  notify(message: string | null, kind?: 'error' | 'info'): void;
}

export type Cleanup = () => void;
export type Page = (context: PageContext, params: string[]) => Cleanup;

/**
 * An action button, or nothing in read-only mode. While the action runs the button is disabled; its
 * failure is shown with the gateway's message.
 */
export function actionButton(
  context: PageContext,
  label: string,
  action: string,
  run: () => Promise<string | void>,
  attributes: Record<string, string> = {},
): HTMLButtonElement | null {
  if (context.readOnly) return null;
  const button = h(
    'button',
    { type: 'button', class: `action action-${action}`, 'data-action': action, ...attributes },
    label,
  );
  button.addEventListener('click', () => {
    button.disabled = true;
    run()
      .then((done) => {
        if (done) context.notify(done, 'info');
      })
      .catch((error: unknown) => context.notify(`${label} failed: ${messageOf(error)}`, 'error'))
      .finally(() => {
        button.disabled = false;
      });
  });
  return button;
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs `load` now and every `intervalMs` while the page is shown, never two at once; a failure is
 * shown and the next round tries again. Returns the stop function.
 */
export function refreshEvery(
  context: PageContext,
  intervalMs: number,
  what: string,
  load: () => Promise<void>,
): Cleanup {
  let stopped = false;
  let failing = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const round = async () => {
    try {
      await load();
      if (failing && !stopped) context.notify(null);
      failing = false;
    } catch (error) {
      failing = true;
      if (!stopped) context.notify(`Could not load ${what}: ${messageOf(error)}`, 'error');
    }
    if (!stopped) timer = setTimeout(() => void round(), intervalMs);
  };
  void round();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

export function pageHeading(title: string, ...extra: (Node | string | null)[]): HTMLElement {
  return h('header', { class: 'page-heading' }, h('h1', {}, title), ...extra);
}
