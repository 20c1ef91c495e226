/**
 * Progress of a task (or a workflow's steps) on stderr, so stdout keeps only the result. On a
 * terminal one bar is redrawn in place with \r; elsewhere (a pipe, a log file) each change is one
 * plain line, so nothing fills a log with carriage returns.
 */

export interface ProgressSink {
  write(text: string): void;
  isTTY: boolean;
  /** Terminal width, when known. */
  columns?: number;
}

export interface ProgressState {
  state: string;
  current: number;
  total: number;
  status: string;
}

const BAR_WIDTH = 30;
/** ESC [ K: clear from the cursor to the end of the line, so a shorter redraw leaves no tail behind. */
const CLEAR_TO_END = '\x1b[K';

export function percentOf(current: number, total: number): number {
  if (total <= 0) return 0;
  return Math.max(0, Math.min(100, Math.floor((current / total) * 100)));
}

/** `[###############---------------]  50%  15/30  PROGRESS  Step 15 of 30`, cut to `columns`. */
export function renderBar(progress: ProgressState, terminalColumns = 80): string {
  // A terminal that does not know its size (a pty opened without one says 0 columns) gets the usual 80.
  const columns = terminalColumns > 0 ? terminalColumns : 80;
  const percent = percentOf(progress.current, progress.total);
  const filled = Math.round((percent / 100) * BAR_WIDTH);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`;
  const line = `${bar} ${String(percent).padStart(3)}%  ${progress.current}/${progress.total}  ${progress.state}  ${progress.status}`;
  // A line wider than the terminal wraps, and \r then redraws only its last row.
  return line.length < columns ? line : line.slice(0, Math.max(0, columns - 2)) + '…';
}

/** One plain line per change: `PROGRESS 15/30 (50%) Step 15 of 30`. */
export function renderLine(progress: ProgressState): string {
  const percent = percentOf(progress.current, progress.total);
  const status = progress.status === '' ? '' : ` ${progress.status}`;
  return `${progress.state} ${progress.current}/${progress.total} (${percent}%)${status}`;
}

export class ProgressDisplay {
  private drawn = false;
  private last = '';

  constructor(private readonly sink: ProgressSink) {}

  update(progress: ProgressState): void {
    if (this.sink.isTTY) {
      const bar = renderBar(progress, this.sink.columns);
      if (bar === this.last) return;
      this.last = bar;
      this.sink.write(`\r${bar}${CLEAR_TO_END}`);
      this.drawn = true;
      return;
    }
    const line = renderLine(progress);
    if (line === this.last) return;
    this.last = line;
    this.sink.write(`${line}\n`);
  }

  /** Ends the bar's line, so what follows starts on a fresh one. */
  finish(): void {
    if (this.drawn) this.sink.write('\n');
    this.drawn = false;
  }
}
