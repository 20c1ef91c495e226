/**
 * A few DOM builders instead of a framework: elements from tag, attributes and children, SVG
 * elements, and the pieces several pages share (progress bar, state badge, JSON block, tables).
 * Styles are set through the CSSOM (`style.width`), never as inline attributes: the page's
 * Content-Security-Policy forbids inline styles.
 */
import { isTerminal } from './api.js';

type Listener = (event: Event) => void;
export type Attributes = Record<string, string | number | boolean | null | undefined | Listener>;
export type Child = Node | string | number | null | undefined | false;

function apply(element: Element, attributes: Attributes, children: Child[]): void {
  for (const [name, value] of Object.entries(attributes)) {
    if (typeof value === 'function') element.addEventListener(name.replace(/^on/, '').toLowerCase(), value);
    else if (value === true) element.setAttribute(name, '');
    else if (value !== false && value !== null && value !== undefined) element.setAttribute(name, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  apply(element, attributes, children);
  return element;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG_NS, tag);
  apply(element, attributes, children);
  return element;
}

/** Replaces everything in `parent` with `children`. */
export function fill(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  apply(parent, {}, children);
}

/** How far a task is, 0-100: a SUCCESS is 100 whatever it reported. */
export function percentOf(record: { state: string; current: number; total: number }): number {
  if (record.state === 'SUCCESS') return 100;
  if (record.total <= 0) return 0;
  return Math.max(0, Math.min(100, Math.round((record.current / record.total) * 100)));
}

export interface ProgressBar {
  element: HTMLElement;
  update(record: { state: string; current: number; total: number; status?: string }): void;
}

/** A bar with role=progressbar, so a screen reader (and a test) reads its value. */
export function progressBar(taskId: string): ProgressBar {
  const fillBar = h('div', { class: 'bar-fill' });
  const label = h('span', { class: 'bar-label' });
  const element = h(
    'div',
    { class: 'bar', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, 'data-task-id': taskId },
    fillBar,
    label,
  );
  return {
    element,
    update(record) {
      const percent = percentOf(record);
      element.setAttribute('aria-valuenow', String(percent));
      element.dataset.state = record.state;
      fillBar.style.width = `${percent}%`;
      label.textContent = `${percent} %${record.total > 1 ? ` (${record.current}/${record.total})` : ''}`;
    },
  };
}

export function stateBadge(state: string): HTMLElement {
  return h(
    'span',
    { class: `badge state-${state}${isTerminal(state) ? ' terminal' : ''}`, 'data-state': state },
    state,
  );
}

/** JSON for reading: indented, in a scrollable block. */
export function jsonBlock(value: unknown): HTMLElement {
  return h('pre', { class: 'json' }, JSON.stringify(value, null, 2) ?? 'undefined');
}

/** A short one-line rendering of arguments for tables (the task page shows them whole). */
export function shortJson(value: unknown, max = 60): string {
  const text = JSON.stringify(value) ?? '';
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function table(headings: string[], rows: HTMLTableRowElement[], empty: string): HTMLElement {
  if (rows.length === 0) return h('p', { class: 'empty' }, empty);
  return h(
    'table',
    {},
    h('thead', {}, h('tr', {}, ...headings.map((heading) => h('th', { scope: 'col' }, heading)))),
    h('tbody', {}, ...rows),
  );
}

export function taskLink(taskId: string, text: string = taskId.slice(0, 8)): HTMLAnchorElement {
  return h('a', { href: `#/tasks/${encodeURIComponent(taskId)}`, class: 'task-link', title: taskId }, text);
}
