/**
 * The workflow engine: a canvas compiled into a flat list of nodes (chain, group, step; a chord is a
 * chain of its header group and its body), and the pure functions that move it along. Every change is
 * computed here and written with a compare-and-set (store.ts), so advancers on many processes may
 * race: each change is applied once, and applying a step's outcome twice changes nothing.
 *
 * A node gets an input when it starts: a step puts it in front of its args (unless pass_result is
 * false); a chain hands it to its first member and each member's result to the next; a group hands it
 * to every member and ends with the list of their results.
 */
import type { StepSpec, Canvas } from './canvas.js';
import type { TaskRecord } from '../status.js';

export type NodeKind = 'step' | 'chain' | 'group';
/** waiting → ready (its input is known) → queued (released to its queue) → done | failed | revoked. */
export type NodeStatus = 'waiting' | 'ready' | 'queued' | 'done' | 'failed' | 'revoked';
export type WorkflowState = 'PENDING' | 'STARTED' | 'SUCCESS' | 'FAILURE' | 'REVOKED';

export interface WorkflowNode {
  kind: NodeKind;
  /** Where it is in the canvas, e.g. `chain.1.group.0`. */
  path: string;
  parent: number | null;
  children: number[];
  status: NodeStatus;
  /** Present once it started: what it received (`value` absent: nothing). */
  input?: { value?: unknown };
  result?: unknown;
  error?: string;
  /** Steps only. */
  step?: StepSpec & { task_id: string; queue: string; parent_id: string | null };
}

export interface Workflow {
  workflow_id: string;
  state: WorkflowState;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
  result: unknown;
  error: string | null;
  nodes: WorkflowNode[];
}

const TERMINAL: readonly NodeStatus[] = ['done', 'failed', 'revoked'];
export const isNodeFinished = (node: WorkflowNode) => TERMINAL.includes(node.status);
export const isWorkflowFinished = (workflow: Workflow) =>
  workflow.state === 'SUCCESS' || workflow.state === 'FAILURE' || workflow.state === 'REVOKED';

/** Compiles a canvas; `route` gives a step its queue, `newId` its task id. */
export function compileWorkflow(
  workflowId: string,
  canvas: Canvas,
  route: (step: StepSpec) => string,
  newId: () => string,
  now: string,
): Workflow {
  const nodes: WorkflowNode[] = [];
  /** Adds `canvas` under `parent`; `follows` is the last step before it (its parent_id). Returns [index, its last step's id]. */
  const add = (item: Canvas, path: string, parent: number | null, follows: string | null): [number, string | null] => {
    const index = nodes.length;
    if ('chain' in item || 'group' in item || 'chord' in item) {
      const kind: NodeKind = 'group' in item ? 'group' : 'chain';
      nodes.push({ kind, path, parent, children: [], status: 'waiting' });
      let last = follows;
      if ('chain' in item) {
        item.chain.forEach((member, i) => {
          const [child, end] = add(member, `${path}${path ? '.' : ''}chain.${i}`, index, last);
          nodes[index]!.children.push(child);
          last = end;
        });
      } else if ('group' in item) {
        for (const [i, member] of item.group.entries()) {
          const [child, end] = add(member, `${path}${path ? '.' : ''}group.${i}`, index, follows);
          nodes[index]!.children.push(child);
          last = end;
        }
      } else {
        const base = `${path}${path ? '.' : ''}chord`;
        const [header, end] = add({ group: item.chord.header }, `${base}.header`, index, follows);
        nodes[header]!.path = `${base}.header`;
        nodes[index]!.children.push(header);
        const [body, bodyEnd] = add(item.chord.body, `${base}.body`, index, end);
        nodes[index]!.children.push(body);
        last = bodyEnd;
      }
      return [index, last];
    }
    const taskId = newId();
    nodes.push({
      kind: 'step',
      path,
      parent,
      children: [],
      status: 'waiting',
      step: { ...item, task_id: taskId, queue: route(item), parent_id: follows },
    });
    return [index, taskId];
  };
  add(canvas, '', null, null);
  // A group compiled from a chord header was given a `group.i` path for its members: name them as the caller did.
  for (const node of nodes) node.path = node.path.replace(/chord\.header\.group\./g, 'chord.header.');
  const workflow: Workflow = {
    workflow_id: workflowId,
    state: 'PENDING',
    created_at: now,
    updated_at: now,
    finished_at: null,
    result: null,
    error: null,
    nodes,
  };
  startNode(workflow, 0, {});
  return workflow;
}

function startNode(workflow: Workflow, index: number, input: { value?: unknown }): void {
  const node = workflow.nodes[index]!;
  if (node.status !== 'waiting') return;
  node.input = input;
  if (node.kind === 'step') {
    node.status = 'ready';
    return;
  }
  node.status = 'queued';
  if (node.kind === 'chain') startNode(workflow, node.children[0]!, input);
  else for (const child of node.children) startNode(workflow, child, input);
}

/** The node ended with `result`; what follows it starts. */
function completeNode(workflow: Workflow, index: number, status: 'done' | 'failed', result: unknown): void {
  const node = workflow.nodes[index]!;
  node.status = status;
  node.result = result;
  if (node.parent === null) {
    workflow.state = 'SUCCESS';
    workflow.result = result;
    workflow.finished_at = workflow.updated_at;
    return;
  }
  const parent = workflow.nodes[node.parent]!;
  if (parent.kind === 'chain') {
    const position = parent.children.indexOf(index);
    const next = parent.children[position + 1];
    if (next === undefined) completeNode(workflow, node.parent, 'done', result);
    else startNode(workflow, next, { value: result });
    return;
  }
  const members = parent.children.map((child) => workflow.nodes[child]!);
  if (members.every(isNodeFinished))
    completeNode(
      workflow,
      node.parent,
      'done',
      members.map((m) => m.result),
    );
}

/** Step ids that must be released to their queues now (ready), with the arguments they run with. */
export function readySteps(workflow: Workflow): { index: number; args: unknown[] }[] {
  if (isWorkflowFinished(workflow)) return [];
  return workflow.nodes.flatMap((node, index) => {
    if (node.status !== 'ready' || !node.step) return [];
    const receives = node.step.pass_result && node.input !== undefined && 'value' in node.input;
    return [{ index, args: receives ? [node.input!.value, ...node.step.args] : node.step.args }];
  });
}

/** Steps not finished: what a failed or cancelled workflow must revoke. */
export function unfinishedSteps(workflow: Workflow): number[] {
  return workflow.nodes.flatMap((node, index) => (node.step && !isNodeFinished(node) ? [index] : []));
}

export function stepIndexOf(workflow: Workflow, taskId: string): number {
  return workflow.nodes.findIndex((node) => node.step?.task_id === taskId);
}

/**
 * Applies a step's terminal record. Returns false when it changes nothing (applied before, or the
 * workflow has ended), so a hand-off processed twice is harmless.
 */
export function applyStepOutcome(workflow: Workflow, index: number, record: TaskRecord, now: string): boolean {
  const node = workflow.nodes[index];
  if (!node?.step || isNodeFinished(node) || isWorkflowFinished(workflow)) return false;
  workflow.updated_at = now;
  if (workflow.state === 'PENDING') workflow.state = 'STARTED';
  if (record.state === 'SUCCESS') {
    completeNode(workflow, index, 'done', record.result);
    return true;
  }
  const what = `step ${node.path} (${node.step.worker} ${node.step.task}, task ${node.step.task_id})`;
  const error =
    record.state === 'REVOKED' ? `${what} was cancelled` : `${what} failed: ${record.error ?? 'unknown error'}`;
  if (record.state === 'FAILURE' && node.step.on_failure === 'continue') {
    node.error = record.error ?? 'unknown error';
    completeNode(workflow, index, 'failed', { error: node.error, task_id: node.step.task_id });
    return true;
  }
  node.status = record.state === 'REVOKED' ? 'revoked' : 'failed';
  node.error = record.error ?? error;
  workflow.state = record.state === 'REVOKED' ? 'REVOKED' : 'FAILURE';
  workflow.error = error;
  workflow.finished_at = now;
  return true;
}

/** Marks released steps as queued; false when none was still ready. */
export function markQueued(workflow: Workflow, indexes: readonly number[], now: string): boolean {
  let changed = false;
  for (const index of indexes) {
    const node = workflow.nodes[index];
    if (node?.status === 'ready') {
      node.status = 'queued';
      changed = true;
    }
  }
  if (changed) {
    workflow.updated_at = now;
    if (workflow.state === 'PENDING') workflow.state = 'STARTED';
  }
  return changed;
}

/** Marks revoked steps; false when none changed. */
export function markRevoked(workflow: Workflow, indexes: readonly number[], now: string): boolean {
  let changed = false;
  for (const index of indexes) {
    const node = workflow.nodes[index];
    if (node?.step && !isNodeFinished(node)) {
      node.status = 'revoked';
      changed = true;
    }
  }
  if (changed) workflow.updated_at = now;
  return changed;
}

/** Cancels the workflow (POST /workflows/{id}/cancel); false when it has ended already. */
export function cancelWorkflow(workflow: Workflow, now: string): boolean {
  if (isWorkflowFinished(workflow)) return false;
  workflow.state = 'REVOKED';
  workflow.error = 'the workflow was cancelled';
  workflow.updated_at = now;
  workflow.finished_at = now;
  return true;
}
