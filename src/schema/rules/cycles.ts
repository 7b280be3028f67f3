import { dependencyNames } from '../values.js';
import type { Rule } from './context.js';

/** Finds one cycle per strongly connected loop, as the list of names from start back to start. */
export function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'visiting');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      const seen = state.get(next);
      if (seen === 'visiting') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (seen === undefined) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return cycles;
}

/** Stack dependencies and service depends_on have no cycles; each cycle is named in full. */
export const checkCycles: Rule = ({ file, report }) => {
  const stackGraph = new Map(
    Object.entries(file.stacks).map(([name, stack]) => [name, stack.dependsOn ?? []]),
  );
  for (const cycle of findCycles(stackGraph)) {
    const [first, second] = cycle;
    const index = (file.stacks[first ?? '']?.dependsOn ?? []).indexOf(second ?? '');
    report({
      path: ['stacks', first ?? '', 'dependsOn', index],
      message: `stack dependency cycle: ${cycle.join(' → ')}`,
      hint: 'remove one of these dependencies',
    });
  }
  const serviceGraph = new Map(
    Object.entries(file.services).map(([name, svc]) => [name, dependencyNames(svc)]),
  );
  for (const cycle of findCycles(serviceGraph)) {
    const [first, second] = cycle;
    const service = file.services[first ?? ''];
    const deps = service?.depends_on;
    const path = Array.isArray(deps)
      ? ['services', first ?? '', 'depends_on', deps.indexOf(second ?? '')]
      : ['services', first ?? '', 'depends_on', second ?? ''];
    report({
      path,
      at: Array.isArray(deps) ? 'value' : 'key',
      message: `service dependency cycle: ${cycle.join(' → ')}`,
      hint: 'remove one of these depends_on entries',
    });
  }
};
