/**
 * The cells a failed task shows wherever failures are listed (recent failures, dead letters): when
 * it failed, the task, its kind and queue, its arguments, its attempts and its error in full.
 */
import type { TaskRecord } from '../api.js';
import { h, shortJson, taskLink } from '../dom.js';
import { timeElement } from '../format.js';

export function failedTaskCells(record: TaskRecord, attempts: string): HTMLTableCellElement[] {
  return [
    h('td', {}, timeElement(record.finished_at ?? record.updated_at)),
    h('td', {}, taskLink(record.task_id, record.task), h('div', { class: 'id muted' }, record.task_id.slice(0, 8))),
    h('td', {}, h('span', { class: `kind kind-${record.worker}` }, record.worker)),
    h('td', {}, record.queue),
    h('td', { class: 'args' }, h('code', {}, shortJson(record.args))),
    h('td', { class: 'number' }, attempts),
    h('td', { class: 'error-text' }, record.error ?? '(no error message)'),
  ];
}
