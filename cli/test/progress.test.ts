/** What the progress display writes: a bar redrawn with \r on a terminal, plain lines elsewhere. */
import { describe, expect, it } from 'vitest';
import { ProgressDisplay, renderBar } from '../src/progress.js';

function sink(isTTY: boolean, columns = 80) {
  const written: string[] = [];
  return { written, isTTY, columns, write: (text: string) => void written.push(text) };
}

const step = (current: number, state = 'PROGRESS') => ({ state, current, total: 4, status: `Step ${current} of 4` });

describe('ProgressDisplay', () => {
  it('on a terminal redraws one line with \\r, clears its tail, and ends it once', () => {
    const terminal = sink(true);
    const display = new ProgressDisplay(terminal);
    display.update(step(1));
    display.update(step(1)); // nothing changed: nothing written
    display.update({ ...step(4), state: 'SUCCESS', status: 'Task completed!' });
    display.finish();
    expect(terminal.written).toEqual([
      `\r[${'#'.repeat(8)}${'-'.repeat(22)}]  25%  1/4  PROGRESS  Step 1 of 4\x1b[K`,
      `\r[${'#'.repeat(30)}] 100%  4/4  SUCCESS  Task completed!\x1b[K`,
      '\n',
    ]);
  });

  it('elsewhere writes one plain line per change, without carriage returns', () => {
    const pipe = sink(false);
    const display = new ProgressDisplay(pipe);
    display.update(step(0, 'PENDING'));
    display.update(step(2));
    display.update(step(2));
    display.finish();
    expect(pipe.written).toEqual(['PENDING 0/4 (0%) Step 0 of 4\n', 'PROGRESS 2/4 (50%) Step 2 of 4\n']);
  });

  it('cuts the bar to the terminal width so a redraw never wraps', () => {
    const bar = renderBar({ state: 'PROGRESS', current: 1, total: 3, status: 'x'.repeat(200) }, 60);
    expect(bar.length).toBeLessThan(60);
    expect(bar.endsWith('…')).toBe(true);
  });
  it('draws the whole bar on a terminal that says it has 0 columns (a pty opened without a size)', () => {
    expect(renderBar({ state: 'PROGRESS', current: 1, total: 2, status: 'Step 1 of 2' }, 0)).toBe(
      '[###############---------------]  50%  1/2  PROGRESS  Step 1 of 2',
    );
  });
});
