/**
 * Where each step of a workflow goes in its graph, from the steps' paths alone (`chain.1`,
 * `chain.2.group.0`, `chord.header.3`, `chord.body`): a chain runs left to right, a group's members
 * stack top to bottom, a chord is its header (a group) followed by its body. Edges join what runs
 * after what: the ends of one chain member to the starts of the next, a chord's header to its body.
 * Pure (no DOM), so it is tested on its own.
 */

interface StepNode {
  kind: 'step';
  index: number;
}
interface Container {
  kind: 'chain' | 'group' | 'chord';
  /** Members by their position; for a chord: header members by number, and `body`. */
  members: Map<string, TreeNode>;
}
type TreeNode = StepNode | Container;

export interface PlacedStep {
  /** Index into the steps given. */
  index: number;
  column: number;
  row: number;
}

export interface Layout {
  steps: PlacedStep[];
  /** Pairs of step indexes: `from` runs before `to`. */
  edges: { from: number; to: number }[];
  columns: number;
  rows: number;
}

/** Splits a path into (container, member) pairs: `chain.2.group.0` → chain 2, group 0. */
function parsePath(path: string): { kind: Container['kind']; member: string }[] | null {
  const parts = path === '' ? [] : path.split('.');
  const pairs: { kind: Container['kind']; member: string }[] = [];
  for (let i = 0; i < parts.length;) {
    const part = parts[i];
    if (part === 'chain' || part === 'group') {
      const member = parts[i + 1];
      if (member === undefined || !/^\d+$/.test(member)) return null;
      pairs.push({ kind: part, member });
      i += 2;
    } else if (part === 'chord') {
      const which = parts[i + 1];
      if (which === 'body') {
        pairs.push({ kind: 'chord', member: 'body' });
        i += 2;
      } else if (which === 'header' && /^\d+$/.test(parts[i + 2] ?? '')) {
        pairs.push({ kind: 'chord', member: `h${parts[i + 2]}` });
        i += 3;
      } else return null;
    } else return null;
  }
  return pairs;
}

function buildTree(paths: readonly string[]): TreeNode | null {
  // The canvas hangs under one member of a holder, so the root is filled like any member.
  const holder: Container = { kind: 'group', members: new Map() };
  for (const [index, path] of paths.entries()) {
    const pairs = parsePath(path);
    if (pairs === null) return null;
    let parent = holder;
    let key = 'root';
    for (const { kind, member } of pairs) {
      const existing = parent.members.get(key) ?? { kind, members: new Map<string, TreeNode>() };
      if (existing.kind !== kind) return null; // two steps disagree about what holds them
      parent.members.set(key, existing);
      parent = existing;
      key = member;
    }
    if (parent.members.has(key)) return null;
    parent.members.set(key, { kind: 'step', index });
  }
  return holder.members.get('root') ?? null;
}

/** Members in run order: numeric positions ascending; a chord's header members, then its body. */
function ordered(container: Container): TreeNode[] {
  const keys = [...container.members.keys()];
  const position = (key: string) => (key === 'body' ? Number.MAX_SAFE_INTEGER : Number(key.replace(/^h/, '')));
  return keys.sort((a, b) => position(a) - position(b)).map((key) => container.members.get(key)!);
}

interface Placed {
  width: number;
  height: number;
  /** Steps that start this part / that end it (edges attach to them). */
  entries: number[];
  exits: number[];
}

export function layoutWorkflow(paths: readonly string[]): Layout {
  const tree = buildTree(paths);
  const steps: PlacedStep[] = [];
  const edges: Layout['edges'] = [];
  if (tree === null) {
    // Paths this layout does not know: show the steps in one column rather than nothing.
    paths.forEach((_, index) => steps.push({ index, column: 0, row: index }));
    return { steps, edges, columns: paths.length > 0 ? 1 : 0, rows: paths.length };
  }

  const inSequence = (parts: TreeNode[], column: number, row: number): Placed => {
    let width = 0;
    let height = 0;
    let previous: Placed | null = null;
    let first: Placed | null = null;
    for (const part of parts) {
      const placed = place(part, column + width, row);
      if (previous) for (const from of previous.exits) for (const to of placed.entries) edges.push({ from, to });
      first ??= placed;
      previous = placed;
      width += placed.width;
      height = Math.max(height, placed.height);
    }
    return { width, height, entries: first?.entries ?? [], exits: previous?.exits ?? [] };
  };

  const inParallel = (parts: TreeNode[], column: number, row: number): Placed => {
    let width = 0;
    let height = 0;
    const entries: number[] = [];
    const exits: number[] = [];
    for (const part of parts) {
      const placed = place(part, column, row + height);
      entries.push(...placed.entries);
      exits.push(...placed.exits);
      width = Math.max(width, placed.width);
      height += placed.height;
    }
    return { width, height, entries, exits };
  };

  function place(node: TreeNode, column: number, row: number): Placed {
    if (node.kind === 'step') {
      steps.push({ index: node.index, column, row });
      return { width: 1, height: 1, entries: [node.index], exits: [node.index] };
    }
    const members = ordered(node);
    if (node.kind === 'chain') return inSequence(members, column, row);
    if (node.kind === 'group') return inParallel(members, column, row);
    const body = node.members.get('body');
    const header = members.filter((member) => member !== body);
    const headerNode: Container = { kind: 'group', members: new Map(header.map((m, i) => [String(i), m])) };
    return inSequence(body ? [headerNode, body] : [headerNode], column, row);
  }

  const whole = place(tree, 0, 0);
  steps.sort((a, b) => a.index - b.index);
  return { steps, edges, columns: whole.width, rows: whole.height };
}
