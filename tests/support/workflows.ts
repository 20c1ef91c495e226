/** What GET /workflows/{id} answers, as the tests read it (the gateway's WorkflowView schema). */
export interface StepView {
  path: string;
  task_id: string;
  worker: 'node' | 'r';
  task: string;
  queue: string;
  state: string;
  error: string | null;
}

export interface WorkflowView {
  workflow_id: string;
  state: string;
  done: number;
  total: number;
  result: unknown;
  error: string | null;
  steps: StepView[];
}
