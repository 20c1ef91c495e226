/**
 * The API key, when the gateway has keys on: asked for once, checked against the API, and kept in
 * sessionStorage, so it lasts while the tab is open and is gone when it closes (never localStorage,
 * never a cookie the browser would send by itself).
 */
import { ApiError, type Api } from './api.js';
import { h } from './dom.js';

const STORAGE_KEY = 'switchyard.apiKey';

export const session = {
  key(): string | null {
    return sessionStorage.getItem(STORAGE_KEY);
  },
  remember(key: string): void {
    sessionStorage.setItem(STORAGE_KEY, key);
  },
  forget(): void {
    sessionStorage.removeItem(STORAGE_KEY);
  },
};

/**
 * Shows the key form in `root` and resolves once a key the API accepts was entered (a wrong one is
 * refused with the gateway's message and the form stays).
 */
export function askForKey(root: HTMLElement, api: Api, reason: string): Promise<void> {
  return new Promise((resolve) => {
    const input = h('input', {
      id: 'api-key',
      type: 'password',
      name: 'api-key',
      autocomplete: 'off',
      required: true,
      minlength: 16,
      'aria-describedby': 'api-key-help',
    });
    const message = h('p', { class: 'error', role: 'alert', id: 'api-key-error' });
    const submit = h('button', { type: 'submit' }, 'Use this key');
    const form = h(
      'form',
      { class: 'key-form', 'aria-labelledby': 'api-key-title' },
      h('h2', { id: 'api-key-title' }, 'API key needed'),
      h('p', { id: 'api-key-help' }, reason),
      h('label', { for: 'api-key' }, 'API key'),
      input,
      submit,
      message,
      h('p', { class: 'hint' }, 'The key is kept in this tab only (sessionStorage) and forgotten when the tab closes.'),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const key = input.value.trim();
      submit.disabled = true;
      message.textContent = '';
      session.remember(key);
      api
        .get('/queues')
        .then(() => resolve())
        .catch((error: unknown) => {
          session.forget();
          message.textContent =
            error instanceof ApiError && error.status === 401
              ? `The gateway refused this key: ${error.message}`
              : `Could not check the key: ${error instanceof Error ? error.message : String(error)}`;
          submit.disabled = false;
          input.select();
        });
    });
    root.replaceChildren(form);
    input.focus();
  });
}
