/**
 * The dashboard's entry: reads /ui/config.json (read-only? keys on?), asks for an API key when the
 * gateway needs one, then shows the page the URL's hash names (#/queues, #/tasks/{id}, ...). Pages
 * come and go with the hash; each stops its timers and streams when it goes.
 */
import { createApi } from './api.js';
import { fill, h } from './dom.js';
import type { Cleanup, Page, PageContext } from './page.js';
import { deadLettersPage } from './pages/dead-letters.js';
import { failuresPage } from './pages/failures.js';
import { queuesPage } from './pages/queues.js';
import { runningPage } from './pages/running.js';
import { taskPage } from './pages/task.js';
import { workersPage } from './pages/workers.js';
import { workflowPage, workflowsPage } from './pages/workflows.js';
import { askForKey, session } from './session.js';

interface UiConfig {
  read_only: boolean;
  api_key_required: boolean;
}

/** The menu, in order; `match` also claims the detail pages under a menu entry. */
const MENU = [
  { hash: '#/queues', label: 'Queues', page: queuesPage },
  { hash: '#/workers', label: 'Workers', page: workersPage },
  { hash: '#/running', label: 'Running', page: runningPage },
  { hash: '#/failures', label: 'Failures', page: failuresPage },
  { hash: '#/dead-letters', label: 'Dead letters', page: deadLettersPage },
  { hash: '#/workflows', label: 'Workflows', page: workflowsPage },
] as const;

/** The page for a hash, with its parameters (`#/tasks/abc` → taskPage, ['abc']). */
function route(hash: string): { page: Page; params: string[]; menu: string } {
  const parts = hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const [section = '', id] = parts;
  if (section === 'tasks' && id) return { page: taskPage, params: [id], menu: '#/running' };
  if (section === 'workflows' && id) return { page: workflowPage, params: [id], menu: '#/workflows' };
  const entry = MENU.find((item) => item.hash === `#/${section}`) ?? MENU[0];
  return { page: entry.page, params: [], menu: entry.hash };
}

async function loadConfig(): Promise<UiConfig> {
  const response = await fetch('./config.json', { headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`config.json answered HTTP ${response.status}`);
  return (await response.json()) as UiConfig;
}

async function start(): Promise<void> {
  const main = document.getElementById('main');
  const nav = document.getElementById('nav');
  const notice = document.getElementById('notice');
  const badges = document.getElementById('badges');
  if (!main || !nav || !notice || !badges) throw new Error('index.html lacks #main, #nav, #notice or #badges');

  const config = await loadConfig();
  let cleanup: Cleanup = () => {};
  let keyPrompt: Promise<void> | null = null;

  const notify: PageContext['notify'] = (message, kind = 'error') => {
    notice.hidden = message === null;
    notice.className = `notice ${kind}`;
    notice.textContent = message ?? '';
  };

  const api = createApi('..', session.key, () => {
    // The key was refused (wrong, or withdrawn from API_KEYS): forget it and ask again.
    if (!config.api_key_required || keyPrompt) return;
    session.forget();
    cleanup();
    cleanup = () => {};
    void needKey('The gateway refused the key this tab had; enter a valid one.');
  });

  const render = () => {
    cleanup();
    notify(null);
    const { page, params, menu } = route(location.hash);
    for (const link of nav.querySelectorAll('a')) {
      if (link.getAttribute('href') === menu) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
    document.title = 'Switchyard';
    cleanup = page({ api, root: main, readOnly: config.read_only, notify }, params);
  };

  const needKey = async (reason: string) => {
    keyPrompt = askForKey(main, api, reason);
    await keyPrompt;
    keyPrompt = null;
    showBadges();
    render();
  };

  const showBadges = () => {
    const forget = h('button', { type: 'button', class: 'link', 'data-role': 'forget-key' }, 'Forget key');
    forget.addEventListener('click', () => {
      session.forget();
      cleanup();
      cleanup = () => {};
      showBadges();
      void needKey('Enter an API key (API_KEYS of the gateway).');
    });
    fill(
      badges,
      config.read_only
        ? h('span', { class: 'badge read-only', title: 'UI_READ_ONLY=true: no actions' }, 'read-only')
        : null,
      config.api_key_required && session.key() !== null ? forget : null,
    );
  };

  fill(nav, ...MENU.map((item) => h('a', { href: item.hash }, item.label)));
  window.addEventListener('hashchange', () => {
    if (!keyPrompt) render();
  });
  showBadges();
  if (config.api_key_required && session.key() === null) {
    await needKey('This gateway has API keys on. Enter one to see its queues and tasks.');
  } else render();
}

start().catch((error: unknown) => {
  const main = document.getElementById('main');
  if (main) fill(main, h('p', { class: 'notice error' }, `The dashboard could not start: ${String(error)}`));
});
