import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { containerIdOfCgroup } from '../../src/host/cgroup.js';
import { usageBetween } from '../../src/host/docker-stats.js';
import { parseSmiProcesses, parseSmiUsage } from '../../src/host/nvidia-smi/usage.js';
import { metricValues } from '../../src/host/prometheus-text.js';
import {
  applyKey,
  INITIAL_UI,
  renderTop,
  replicaName,
  type LogLine,
  type TopKey,
  type TopRow,
  type TopSnapshot,
  type TopUi,
} from '../../src/plan/top.js';
import { HOST_FIXTURES, REPO_ROOT } from '../helpers/paths.js';

const smi = (name: string): string => readFileSync(join(HOST_FIXTURES, 'nvidia-smi', name), 'utf8');

function row(service: string, stack: string, extra: Partial<TopRow> = {}): TopRow {
  return {
    environment: 'dev',
    stack,
    service,
    container: `proj-dev-${service}-1`,
    id: `${service}-id`,
    state: 'running',
    health: 'healthy',
    healthReason: undefined,
    restarts: 0,
    cpuPercent: 1.5,
    memoryBytes: 300 * 1024 * 1024,
    memoryLimitBytes: 4096 * 1024 * 1024,
    gpuMemoryMiB: null,
    ...extra,
  };
}

const snapshot: TopSnapshot = {
  title: 'stackctl top · proj · dev',
  at: new Date('2026-12-07T10:00:00Z'),
  rows: [
    row('postgres', 'core'),
    row('vllm', 'inference', { gpuMemoryMiB: 70123, cpuPercent: 95.25 }),
    row('litellm', 'inference', {
      health: 'unhealthy',
      healthReason: 'exit 1: connection refused to vllm:8000, retrying in a very long sentence that goes on',
      restarts: 4,
    }),
    row('redis', 'core', { state: 'exited', cpuPercent: null, memoryBytes: null, memoryLimitBytes: null }),
  ],
  gpus: parseSmiUsage(smi('smi-table-2x3090-driver560-01.txt')),
  nvlinks: ['GPU0-GPU1 NV4'],
  kvCache: [{ service: 'proj-dev-vllm-1', percent: 37.5 }],
  notes: [],
};

const logs: LogLine[] = [
  {
    container: 'proj-dev-postgres-1',
    service: 'postgres',
    text: 'database system is ready to accept connections',
  },
  { container: 'proj-dev-litellm-1', service: 'litellm', text: 'ERROR: cannot reach vllm' },
  { container: 'proj-dev-vllm-1', service: 'vllm', text: 'INFO: Avg prompt throughput: 12.0 tokens/s' },
];

const key = (sequence: string, name?: string, ctrl = false): TopKey => ({ name, sequence, ctrl });

describe('the top screen', () => {
  for (const [columns, rows] of [
    [60, 20],
    [100, 30],
    [200, 50],
    [60, 8],
  ] as const)
    it(`fills exactly ${String(rows)} lines of at most ${String(columns)} columns`, () => {
      const screen = renderTop(snapshot, logs, INITIAL_UI, { columns, rows });
      expect(screen).toHaveLength(rows);
      for (const line of screen) expect([...line].length).toBeLessThanOrEqual(columns);
      expect(screen[0]).toContain('stackctl top');
      expect(screen[screen.length - 1]).toMatch(/^↑↓ choose/);
    });

  it('groups by stack, shows the reason of what is not healthy, GPUs, NVLink and the KV cache', () => {
    const screen = renderTop(snapshot, logs, INITIAL_UI, { columns: 120, rows: 30 }).join('\n');
    expect(screen).toMatch(/^core$/m);
    expect(screen).toMatch(/^inference$/m);
    expect(screen.indexOf('postgres-1')).toBeLessThan(screen.indexOf('inference'));
    expect(screen).toContain('    unhealthy: exit 1: connection refused to vllm:8000');
    expect(screen).toMatch(/vllm-1\s+running\s+healthy\s+0\s+95\.3\s+300\/4096\s+70123/);
    expect(screen).toMatch(/redis-1\s+exited\s+healthy\s+0\s+-\s+-\s+-/);
    expect(screen).toContain('GPU0 NVIDIA GeForce RTX 3090  util 0%  mem 2/24576 MiB  30°C  30 W');
    expect(screen).toContain('NVLink: GPU0-GPU1 NV4');
    expect(screen).toContain('proj-dev-vllm-1: KV cache 37.5% used');
  });

  it('drops the least needed columns at 60 columns but keeps state, health, CPU and memory', () => {
    const header = renderTop(snapshot, logs, INITIAL_UI, { columns: 60, rows: 20 }).find((line) =>
      line.startsWith('SERVICE'),
    );
    expect(header).toMatch(/STATE\s+HEALTH\s+CPU%\s+MEM MiB/);
    expect(header).not.toContain('RESTARTS');
  });

  it('keeps the selected row on screen when the table is taller than the room', () => {
    const many: TopSnapshot = {
      ...snapshot,
      gpus: undefined,
      nvlinks: [],
      kvCache: [],
      rows: Array.from({ length: 30 }, (_, i) => row(`svc${String(i).padStart(2, '0')}`, 'ai')),
    };
    const screen = renderTop(many, logs, { ...INITIAL_UI, selected: 25 }, { columns: 80, rows: 20 });
    expect(screen.some((line) => line.startsWith('> svc25-1'))).toBe(true);
    expect(screen.some((line) => line.includes('svc00-1'))).toBe(false);
  });

  it('filters the logs by a regular expression and by service, and says when a filter does not compile', () => {
    const filtered = renderTop(
      snapshot,
      logs,
      { ...INITIAL_UI, filter: 'error|ready' },
      { columns: 100, rows: 30 },
    );
    expect(filtered.join('\n')).toContain('litellm-1  | ERROR: cannot reach vllm');
    expect(filtered.join('\n')).toContain('postgres-1 | database system is ready');
    expect(filtered.join('\n')).not.toContain('Avg prompt throughput');
    const one = renderTop(snapshot, logs, { ...INITIAL_UI, logsOf: 'vllm' }, { columns: 100, rows: 30 }).join(
      '\n',
    );
    expect(one).toContain('vllm-1 | INFO: Avg prompt');
    expect(one).not.toContain('ERROR');
    const bad = renderTop(snapshot, logs, { ...INITIAL_UI, filter: '(' }, { columns: 100, rows: 30 }).join(
      '\n',
    );
    expect(bad).toContain('filter /(/ is not valid');
  });

  it('names a replica by service and number', () => {
    expect(replicaName('multimodal-development-retrieval-proxy-2', 'retrieval-proxy')).toBe(
      'retrieval-proxy-2',
    );
  });
});

describe('keys', () => {
  const rows = snapshot.rows;
  const press = (ui: TopUi, ...keys: TopKey[]): { ui: TopUi; action?: unknown } => {
    let state: { ui: TopUi; action?: unknown } = { ui };
    for (const pressed of keys) state = applyKey(state.ui, pressed, rows);
    return state;
  };

  it('moves the selection within the rows', () => {
    expect(press(INITIAL_UI, key('', 'up')).ui.selected).toBe(0);
    expect(
      press(INITIAL_UI, key('j', 'j'), key('j', 'j'), key('j', 'j'), key('j', 'j'), key('j', 'j')).ui
        .selected,
    ).toBe(3);
  });

  it('restarts the selected service only after y, naming its environment', () => {
    // Ordered: core (postgres, redis), then inference (litellm, vllm).
    const asked = press(INITIAL_UI, key('j', 'j'), key('j', 'j'), key('r', 'r'));
    expect(asked.ui.confirmRestart).toBe('litellm');
    expect(applyKey(asked.ui, key('y', 'y'), rows).action).toEqual({
      kind: 'restart',
      environment: 'dev',
      service: 'litellm',
    });
    const declined = applyKey(asked.ui, key('n', 'n'), rows);
    expect(declined.action).toBeUndefined();
    expect(declined.ui.message).toBe('litellm not restarted');
  });

  it('types a filter, applies it on Enter, cancels on Escape, refuses one that does not compile', () => {
    const typed = press(
      INITIAL_UI,
      key('/'),
      key('e', 'e'),
      key('r', 'r'),
      key('x', 'x'),
      key('', 'backspace'),
    );
    expect(typed.ui.typing).toBe('er');
    expect(applyKey(typed.ui, key('\r', 'return'), rows).ui).toMatchObject({
      filter: 'er',
      typing: undefined,
    });
    expect(applyKey(typed.ui, key('', 'escape'), rows).ui).toMatchObject({ filter: '', typing: undefined });
    const broken = press(INITIAL_UI, key('/'), key('[', undefined), key('\r', 'return'));
    expect(broken.ui.typing).toBe('[');
    expect(broken.ui.message).toMatch(/^not a regular expression/);
  });

  it('quits with 0 on q and 130 on Ctrl-C; toggles logs, commands and help', () => {
    expect(applyKey(INITIAL_UI, key('q', 'q'), rows).action).toEqual({ kind: 'quit', code: 0 });
    expect(applyKey(INITIAL_UI, key('\u0003', 'c', true), rows).action).toEqual({ kind: 'quit', code: 130 });
    const logsOf = press(INITIAL_UI, key('l', 'l')).ui;
    expect(logsOf.logsOf).toBe('postgres');
    expect(press(logsOf, key('l', 'l')).ui.logsOf).toBeUndefined();
    expect(press(INITIAL_UI, key('d', 'd')).ui.commands).toBe(true);
    expect(press(INITIAL_UI, key('?')).ui.help).toBe(true);
  });
});

describe('what top reads from the host', () => {
  it("reads every card's use and every process's GPU memory from real nvidia-smi tables", () => {
    expect(parseSmiUsage(smi('smi-table-1xk80-driver450-01.txt'))).toEqual([
      {
        index: 0,
        name: 'Tesla K80',
        utilizationPercent: 0,
        memoryUsedMiB: 10764,
        memoryTotalMiB: 11441,
        temperatureC: 52,
        powerW: 71,
      },
    ]);
    expect(parseSmiProcesses(smi('smi-table-1xk80-driver450-01.txt'))).toEqual([
      { gpu: 0, pid: 15973, name: 'python', memoryMiB: 10759 },
    ]);
    // Driver 375 has no GI/CI columns.
    expect(parseSmiProcesses(smi('smi-table-4xk80-driver375-01.txt'))).toEqual([
      { gpu: 0, pid: 1959, name: '/usr/lib/xorg/Xorg', memoryMiB: 15 },
    ]);
    expect(parseSmiUsage(smi('smi-table-4xk80-driver375-01.txt'))).toHaveLength(4);
    // MIG: no utilisation figure; no processes.
    expect(parseSmiUsage(smi('smi-table-1xh100-mig-4-instances-driver590-01.txt'))[0]).toMatchObject({
      utilizationPercent: null,
      memoryUsedMiB: 59,
    });
    expect(parseSmiProcesses(smi('smi-table-1xh100-mig-4-instances-driver590-01.txt'))).toEqual([]);
    // WDDM reports no per-process memory.
    expect(
      parseSmiProcesses(smi('smi-table-1x2080s-windows-610-wddm-kmd-umd-01.txt')).every(
        (p) => p.memoryMiB === null,
      ),
    ).toBe(true);
    const eight = parseSmiUsage(smi('smi-table-8xh100-sxm-driver565-01.txt'));
    expect(eight.map((gpu) => gpu.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(eight.every((gpu) => gpu.temperatureC !== null && gpu.powerW !== null)).toBe(true);
  });

  it('maps a process to its container from a real /proc/<pid>/cgroup', () => {
    const text = readFileSync(
      join(HOST_FIXTURES, 'proc', 'cgroup-v1-docker-container-process-01.txt'),
      'utf8',
    );
    expect(containerIdOfCgroup(text)).toBe(
      '7724539622fc2272e2f70a0f42ea34ef97f2786ad1cfb90c941ed3eb7837309f',
    );
    expect(containerIdOfCgroup('0::/user.slice/user-1000.slice/session-2.scope\n')).toBeUndefined();
  });

  it('reads a metric from real exposition text', () => {
    const text = readFileSync(
      join(REPO_ROOT, 'test', 'fixtures', 'exporters', 'node-exporter-1.5.0.txt'),
      'utf8',
    );
    expect(metricValues(text, 'node_load1')).toEqual([1.43]);
    expect(metricValues(text, 'node_load')).toEqual([]);
    expect(metricValues(text, 'node_cpu_seconds_total').length).toBeGreaterThan(1);
  });

  it('computes CPU use between two single-sample stats answers', () => {
    const sample = (total: number, system: number): unknown => ({
      cpu_stats: { cpu_usage: { total_usage: total }, system_cpu_usage: system, online_cpus: 2 },
      memory_stats: { usage: 100, limit: 1000, stats: { total_inactive_file: 40 } },
    });
    expect(usageBetween(sample(1000, 10_000), sample(1500, 11_000))).toEqual({
      cpuPercent: 100,
      memoryBytes: 60,
      memoryLimitBytes: 1000,
    });
    expect(usageBetween(undefined, sample(1500, 11_000)).cpuPercent).toBeNull();
  });
});
