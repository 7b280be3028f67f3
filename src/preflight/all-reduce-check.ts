// vLLM's custom all-reduce with tensor parallelism: fast over NVLink, a known source of wrong
// results where two consumer GPUs reach each other over PCIe only because a patched driver turned
// peer-to-peer on (the 3090 P2P patch). Judged from `topo -m` (the links) and `topo -p2p r`.
import type { P2pCell } from '../host/nvidia-smi/p2p.js';
import type { GpuLink } from '../host/nvidia-smi/topology.js';
import type { Check } from './check.js';

export interface AllReduceFacts {
  readonly service: string;
  /** The GPUs vLLM splits the model across. */
  readonly devices: readonly number[];
  readonly links: readonly GpuLink[];
  /** Undefined when `nvidia-smi topo -p2p r` could not be read. */
  readonly p2p: readonly P2pCell[] | undefined;
  /** The service's command already says --disable-custom-all-reduce. */
  readonly disabled: boolean;
}

export function customAllReduceCheck(facts: AllReduceFacts): Check {
  const id = `gpu.all-reduce.${facts.service}`;
  const gpus = (pair: { a: number; b: number }): string => `GPU ${pair.a} and ${pair.b}`;
  if (facts.disabled)
    return {
      id,
      status: 'pass',
      message: `${facts.service}: custom all-reduce is off (--disable-custom-all-reduce)`,
      fix: '',
    };
  const pairs = facts.devices.flatMap((a, i) =>
    facts.devices.slice(i + 1).map((b) => ({ a: Math.min(a, b), b: Math.max(a, b) })),
  );
  const overPcie = pairs.filter(
    (pair) =>
      !facts.links.some(
        (link) =>
          link.type === 'NV' && Math.min(link.a, link.b) === pair.a && Math.max(link.a, link.b) === pair.b,
      ),
  );
  if (overPcie.length === 0)
    return {
      id,
      status: 'pass',
      message: `${facts.service}: custom all-reduce runs over NVLink between every GPU it uses`,
      fix: '',
    };
  const fix = `add --disable-custom-all-reduce to ${facts.service}'s command (an override of the environment), or join the GPUs with NVLink`;
  if (facts.p2p === undefined)
    return {
      id,
      status: 'warn',
      message: `${facts.service}: ${overPcie.map(gpus).join(', ')} share no NVLink and their peer-to-peer state could not be read (nvidia-smi topo -p2p r)`,
      fix,
    };
  const patched = overPcie.filter((pair) =>
    facts.p2p?.some((cell) => cell.a === pair.a && cell.b === pair.b && cell.status === 'OK'),
  );
  if (patched.length === 0)
    return {
      id,
      status: 'pass',
      message: `${facts.service}: ${overPcie.map(gpus).join(', ')} have no peer-to-peer over PCIe: vLLM turns its custom all-reduce off by itself`,
      fix: '',
    };
  return {
    id,
    status: 'warn',
    message: `${facts.service}: ${patched.map(gpus).join(', ')} reach each other over PCIe with peer-to-peer on (a patched driver on consumer GPUs): vLLM's custom all-reduce is a known source of wrong results there`,
    fix,
  };
}
