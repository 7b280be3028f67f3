// When vLLM's custom all-reduce should be turned off, judged from real topo -m and topo -p2p outputs.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseP2pMatrix } from '../../src/host/nvidia-smi/p2p.js';
import { parseTopology } from '../../src/host/nvidia-smi/topology.js';
import { customAllReduceCheck } from '../../src/preflight/all-reduce-check.js';
import { HOST_FIXTURES } from '../helpers/paths.js';

const read = (name: string) => readFile(join(HOST_FIXTURES, 'nvidia-smi', name), 'utf8');
const links = async (name: string) => parseTopology(await read(name)).links;
const p2p = async (name: string) => parseP2pMatrix(await read(name));

describe('customAllReduceCheck', () => {
  it('warns for two 3090s over PCIe with a P2P-patched driver (club-3090 issue 922), with the flag to add', async () => {
    const check = customAllReduceCheck({
      service: 'vllm',
      devices: [0, 1],
      links: await links('topo-2x3090-phb-tabs-01.txt'),
      p2p: await p2p('topo-p2p-2x3090-ok-patched-01.txt'),
      disabled: false,
    });
    expect(check).toMatchObject({ id: 'gpu.all-reduce.vllm', status: 'warn' });
    expect(check.message).toMatch(/GPU 0 and 1 reach each other over PCIe with peer-to-peer on/);
    expect(check.fix).toMatch(/--disable-custom-all-reduce/);
  });

  it('passes over NVLink, where peer-to-peer is off (vLLM falls back itself), and once the flag is set', async () => {
    const nvlink = customAllReduceCheck({
      service: 'vllm',
      devices: [0, 1],
      links: await links('topo-2x3090-nv4-01.txt'),
      p2p: undefined,
      disabled: false,
    });
    expect(nvlink).toMatchObject({ status: 'pass', message: expect.stringMatching(/over NVLink/) as string });
    const off = customAllReduceCheck({
      service: 'vllm',
      devices: [0, 1],
      links: await links('topo-2x3090-phb-spaces-01.txt'),
      p2p: await p2p('topo-p2p-2xl4-cns-01.txt'),
      disabled: false,
    });
    expect(off).toMatchObject({
      status: 'pass',
      message: expect.stringMatching(/no peer-to-peer over PCIe/) as string,
    });
    const disabled = customAllReduceCheck({
      service: 'vllm',
      devices: [0, 1],
      links: await links('topo-2x3090-phb-tabs-01.txt'),
      p2p: await p2p('topo-p2p-2x3090-ok-patched-01.txt'),
      disabled: true,
    });
    expect(disabled.status).toBe('pass');
  });

  it('warns when the peer-to-peer state of GPUs without NVLink cannot be read', async () => {
    const check = customAllReduceCheck({
      service: 'vllm',
      devices: [0, 1],
      links: await links('topo-2x3090-phb-spaces-01.txt'),
      p2p: undefined,
      disabled: false,
    });
    expect(check.status).toBe('warn');
    expect(check.message).toMatch(/could not be read \(nvidia-smi topo -p2p r\)/);
  });
});
