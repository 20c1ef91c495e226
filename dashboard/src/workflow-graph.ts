/**
 * A workflow's steps as an SVG graph (layout from workflow-layout.ts): one box per step with its
 * task, kind, state and progress, arrows for what runs after what. Boxes link to the step's task
 * page; `update` recolours a step when its event arrives, without redrawing the graph.
 */
import type { WorkflowStep } from './api.js';
import { percentOf, svg } from './dom.js';
import { layoutWorkflow } from './workflow-layout.js';

const BOX = { width: 168, height: 54 } as const;
const GAP = { x: 44, y: 16 } as const;
const PAD = 8;

export interface WorkflowGraph {
  element: SVGSVGElement;
  /** Shows a step's new state and progress (matched by task id); false if no step has that id. */
  update(step: Pick<WorkflowStep, 'task_id' | 'state' | 'current' | 'total'>): boolean;
}

export function workflowGraph(steps: readonly WorkflowStep[]): WorkflowGraph {
  const layout = layoutWorkflow(steps.map((step) => step.path));
  const width = PAD * 2 + layout.columns * BOX.width + Math.max(0, layout.columns - 1) * GAP.x;
  const height = PAD * 2 + layout.rows * BOX.height + Math.max(0, layout.rows - 1) * GAP.y;
  const element = svg('svg', {
    class: 'workflow-graph',
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: 'img',
    'aria-label': `Workflow of ${steps.length} steps`,
  });
  element.append(
    svg(
      'defs',
      {},
      svg(
        'marker',
        { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto' },
        svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrow-head' }),
      ),
    ),
  );
  const origin = (index: number) => {
    const placed = layout.steps[index];
    const column = placed?.column ?? 0;
    const row = placed?.row ?? 0;
    return { x: PAD + column * (BOX.width + GAP.x), y: PAD + row * (BOX.height + GAP.y) };
  };

  for (const edge of layout.edges) {
    const from = origin(edge.from);
    const to = origin(edge.to);
    const [x1, y1] = [from.x + BOX.width, from.y + BOX.height / 2];
    const [x2, y2] = [to.x, to.y + BOX.height / 2];
    const bend = (x2 - x1) / 2;
    element.append(
      svg('path', {
        class: 'edge',
        d: `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`,
        'marker-end': 'url(#arrow)',
      }),
    );
  }

  const boxes = new Map<string, { group: SVGGElement; state: SVGTextElement; progress: SVGRectElement }>();
  steps.forEach((step, index) => {
    const { x, y } = origin(index);
    const state = svg('text', { x: x + 8, y: y + 46, class: 'step-state' }, step.state);
    const progress = svg('rect', { x, y: y + BOX.height - 4, height: 4, width: 0, class: 'step-progress' });
    const group = svg(
      'g',
      {
        class: `step state-${step.state}`,
        'data-step': step.path,
        'data-task-id': step.task_id,
        'data-state': step.state,
      },
      svg(
        'title',
        {},
        `${step.path}: ${step.worker} ${step.task} (${step.task_id})${step.error ? `\n${step.error}` : ''}`,
      ),
      svg('rect', { x, y, width: BOX.width, height: BOX.height, rx: 6, class: 'step-box' }),
      progress,
      svg('text', { x: x + 8, y: y + 18, class: 'step-task' }, step.task),
      svg('text', { x: x + BOX.width - 8, y: y + 18, class: 'step-kind', 'text-anchor': 'end' }, step.worker),
      svg('text', { x: x + 8, y: y + 32, class: 'step-path' }, step.path),
      state,
    );
    const link = svg('a', { href: `#/tasks/${encodeURIComponent(step.task_id)}` }, group);
    element.append(link);
    boxes.set(step.task_id, { group, state, progress });
  });

  const update: WorkflowGraph['update'] = (step) => {
    const box = boxes.get(step.task_id);
    if (!box) return false;
    box.group.setAttribute('class', `step state-${step.state}`);
    box.group.dataset.state = step.state;
    box.state.textContent = step.state === 'PROGRESS' ? `PROGRESS ${percentOf(step)} %` : step.state;
    box.progress.setAttribute('width', String((BOX.width * percentOf(step)) / 100));
    return true;
  };
  steps.forEach(update);
  return { element, update };
}
