/** How a task of one worker kind is handed over: queued by the gateway, or given to the R service. */
import type { Submission, WorkerKind } from '@switchyard/shared';

export interface SubmitBackend {
  readonly kind: WorkerKind;
  /** Accepts `submission` as task `taskId` (its queue already resolved), or throws a SwitchyardError. */
  submit(taskId: string, submission: Submission): Promise<void>;
}
