/** The workflow graph's layout, from step paths alone, for each canvas shape the gateway reports. */
import { describe, expect, it } from 'vitest';
import { layoutWorkflow } from '../src/workflow-layout.js';

/** The layout as `path@column,row` strings and `from→to` path pairs: easy to read in a failure. */
function shown(paths: string[]) {
  const layout = layoutWorkflow(paths);
  return {
    at: layout.steps.map((step) => `${paths[step.index]}@${step.column},${step.row}`),
    edges: layout.edges.map((edge) => `${paths[edge.from]}→${paths[edge.to]}`).sort(),
    size: [layout.columns, layout.rows],
  };
}

describe('layoutWorkflow', () => {
  it('puts a chain left to right, each step joined to the next', () => {
    expect(shown(['chain.0', 'chain.1', 'chain.2'])).toEqual({
      at: ['chain.0@0,0', 'chain.1@1,0', 'chain.2@2,0'],
      edges: ['chain.0→chain.1', 'chain.1→chain.2'],
      size: [3, 1],
    });
  });

  it('stacks a group top to bottom, with no edges between its members', () => {
    expect(shown(['group.0', 'group.1', 'group.2'])).toEqual({
      at: ['group.0@0,0', 'group.1@0,1', 'group.2@0,2'],
      edges: [],
      size: [1, 3],
    });
  });

  it('draws a chord as its header members, each joined to the body', () => {
    expect(shown(['chord.header.0', 'chord.header.1', 'chord.body'])).toEqual({
      at: ['chord.header.0@0,0', 'chord.header.1@0,1', 'chord.body@1,0'],
      edges: ['chord.header.0→chord.body', 'chord.header.1→chord.body'],
      size: [2, 2],
    });
  });

  it('nests: a chain into a group of chains, then a last step after every branch', () => {
    const paths = [
      'chain.0',
      'chain.1.group.0.chain.0',
      'chain.1.group.0.chain.1',
      'chain.1.group.1.chain.0',
      'chain.1.group.1.chain.1',
      'chain.1.group.1.chain.2',
      'chain.2',
    ];
    expect(shown(paths)).toEqual({
      at: [
        'chain.0@0,0',
        'chain.1.group.0.chain.0@1,0',
        'chain.1.group.0.chain.1@2,0',
        'chain.1.group.1.chain.0@1,1',
        'chain.1.group.1.chain.1@2,1',
        'chain.1.group.1.chain.2@3,1',
        'chain.2@4,0',
      ],
      edges: [
        'chain.0→chain.1.group.0.chain.0',
        'chain.0→chain.1.group.1.chain.0',
        'chain.1.group.0.chain.0→chain.1.group.0.chain.1',
        'chain.1.group.0.chain.1→chain.2',
        'chain.1.group.1.chain.0→chain.1.group.1.chain.1',
        'chain.1.group.1.chain.1→chain.1.group.1.chain.2',
        'chain.1.group.1.chain.2→chain.2',
      ],
      size: [5, 2],
    });
  });

  it('orders members by number, not as text (chain.10 after chain.9)', () => {
    const paths = Array.from({ length: 11 }, (_, i) => `chain.${i}`).reverse();
    const layout = layoutWorkflow(paths);
    const columnOf = (path: string) => layout.steps.find((step) => paths[step.index] === path)?.column;
    expect(columnOf('chain.9')).toBe(9);
    expect(columnOf('chain.10')).toBe(10);
  });

  it('shows paths it does not understand in one column instead of failing', () => {
    expect(shown(['chain.0', 'loop.1'])).toEqual({ at: ['chain.0@0,0', 'loop.1@0,1'], edges: [], size: [1, 2] });
  });
});
