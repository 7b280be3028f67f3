import { cidrsOverlap, isPrivateCidr, parseCidr, subnetAt, type Cidr } from '../cidr.js';
import { dependencyNames } from '../values.js';
import type { Rule } from './context.js';

/** Every stack a stack depends on, directly or through others. */
export function stackClosure(
  stacks: Readonly<Record<string, { dependsOn?: string[] }>>,
  name: string,
): Set<string> {
  const seen = new Set<string>();
  const pending = [...(stacks[name]?.dependsOn ?? [])];
  while (pending.length > 0) {
    const next = pending.pop() ?? '';
    if (seen.has(next) || !stacks[next]) continue;
    seen.add(next);
    pending.push(...(stacks[next]?.dependsOn ?? []));
  }
  return seen;
}

/** Networks and address pools are private, large enough and disjoint; services can reach what they depend on. */
export const checkNetworks: Rule = ({ file, report }) => {
  const slots = new Map<number, string>();
  const networks = new Map<string, string>();
  for (const [name, stack] of Object.entries(file.stacks)) {
    // compose/gpu-*.yml and compose/local.override.yml are generated overlays and the user's file.
    if (
      stack.composeFile !== undefined &&
      (stack.composeFile.startsWith('gpu-') || stack.composeFile === 'local')
    ) {
      report({
        path: ['stacks', name, 'composeFile'],
        message: `composeFile "${stack.composeFile}" would clash with ${stack.composeFile === 'local' ? 'the user overlay' : 'a GPU overlay'}`,
        hint: 'name the file after the stack, e.g. composeFile: monitoring',
      });
    }
    const slotHolder = slots.get(stack.subnetSlot);
    if (slotHolder) {
      report({
        path: ['stacks', name, 'subnetSlot'],
        message: `subnetSlot ${stack.subnetSlot} is already used by stack "${slotHolder}"`,
        hint: 'give each stack its own slot',
      });
    } else slots.set(stack.subnetSlot, name);
    const networkHolder = networks.get(stack.network);
    if (networkHolder) {
      report({
        path: ['stacks', name, 'network'],
        message: `network "${stack.network}" is already used by stack "${networkHolder}"`,
        hint: 'give each stack its own network name',
      });
    } else networks.set(stack.network, name);
  }
  const highestSlot = Math.max(0, ...Object.values(file.stacks).map((stack) => stack.subnetSlot));

  const pools: { env: string; cidr: Cidr }[] = [];
  for (const [envName, env] of Object.entries(file.environments)) {
    const path = ['environments', envName, 'addressPool'];
    const parsed = parseCidr(env.addressPool);
    if (!parsed.ok) {
      report({ path, message: parsed.reason, hint: parsed.hint });
      continue;
    }
    const pool = parsed.cidr;
    if (!isPrivateCidr(pool)) {
      report({
        path,
        message: `${pool.text} is public address space, not RFC 1918 private`,
        hint: 'use a range inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16',
      });
    }
    if (!subnetAt(pool, highestSlot)) {
      const needed = 24 - Math.ceil(Math.log2(highestSlot + 1));
      report({
        path,
        message: `${pool.text} has no room for a /24 at subnetSlot ${highestSlot}`,
        hint: `use a /${needed} or larger pool`,
      });
    }
    const clash = pools.find((other) => cidrsOverlap(other.cidr, pool));
    if (clash) {
      report({
        path,
        message: `${pool.text} overlaps the address pool ${clash.cidr.text} of environment "${clash.env}"`,
        hint: 'give each environment its own pool so they can run side by side',
      });
    }
    pools.push({ env: envName, cidr: pool });
  }

  for (const [serviceName, service] of Object.entries(file.services)) {
    const own = service.stack;
    if (!file.stacks[own]) continue;
    const reachable = stackClosure(file.stacks, own);
    const depList = Array.isArray(service.depends_on);
    dependencyNames(service).forEach((dep, i) => {
      const target = file.services[dep];
      if (!target || target.stack === own || reachable.has(target.stack) || !file.stacks[target.stack])
        return;
      report({
        path: depList
          ? ['services', serviceName, 'depends_on', i]
          : ['services', serviceName, 'depends_on', dep],
        at: depList ? 'value' : 'key',
        message: `"${serviceName}" (stack ${own}) depends on "${dep}" (stack ${target.stack}), whose network it does not join`,
        hint: `add ${target.stack} to stacks.${own}.dependsOn`,
      });
    });
  }
};
