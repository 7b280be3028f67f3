// stackctl top's data: the environment (or every environment of the project) as it is now, kept
// fresh by the caller once a second. A refresh costs one container list, one stats round (every
// running container asked at once) and one nvidia-smi call (its default table: every card and every
// process), plus vLLM's /metrics where a service exposes it. What changes rarely is asked only when
// it changes: restart counts when Docker reports a container (re)started, a healthcheck's output when
// a container's health turns, log streams when a container appears.
import { containerStats, listContainersByLabel, type ListedContainer } from '../effects/container-list.js';
import { lastHealthOutput } from '../effects/containers.js';
import { dockerClient, dockerConnection } from '../effects/docker.js';
import { readLogLines } from '../effects/log-stream.js';
import { nvidiaSmiRunner } from '../effects/nvidia-smi.js';
import { environmentRedactor } from '../effects/redaction.js';
import { usageBetween, type ResourceUsage } from '../host/docker-stats.js';
import { parseTopology } from '../host/nvidia-smi/topology.js';
import { parseSmiUsage } from '../host/nvidia-smi/usage.js';
import { metricValues } from '../host/prometheus-text.js';
import { COMPOSE_LABELS, LABELS } from '../labels.js';
import type { LoadedStack } from '../model/stack.js';
import type { LogLine, TopGpu, TopRow, TopSnapshot } from '../plan/top.js';
import { gpuMemoryByContainer } from './gpu-usage.js';

export interface TopRequest {
  /** One environment, or every environment of the project. */
  readonly envName: string | undefined;
}

export interface TopSource {
  /** The snapshot as of the last refresh (or part of one). */
  current(): TopSnapshot;
  /** The most recent log lines of every container followed, oldest first, secrets redacted. */
  logs(): readonly LogLine[];
  /** One refresh; `listed` is called as soon as the containers are known (before their stats). */
  refresh(listed: () => void): Promise<void>;
  /** Restarts every container of a service (of the environment the row belongs to). */
  restart(environment: string, service: string): Promise<string>;
  /** Called when a log line arrives or a container (re)starts, so the screen can redraw. */
  onChange(listener: () => void): void;
  close(): void;
}

interface Io {
  readonly env: NodeJS.ProcessEnv;
  readonly signal: AbortSignal;
}

const LOG_LINES = 1000;
// vLLM's KV cache use, as it names it before and after 0.10 (a ratio, 0 to 1).
const KV_CACHE_METRICS = ['vllm:gpu_cache_usage_perc', 'vllm:kv_cache_usage_perc'];

export async function openTop(stack: LoadedStack, request: TopRequest, io: Io): Promise<TopSource> {
  const smi = nvidiaSmiRunner({ env: io.env, signal: io.signal });
  const watch = new EnvironmentWatch(stack, request, io, smi);
  // The topology can take nvidia-smi a while on a big machine: the first screen does not wait for it.
  void readNvlinks(smi).then((links) => watch.setNvlinks(links));
  await watch.watchEvents();
  return watch;
}

/** The state top shows, and how each part of it is kept fresh. */
class EnvironmentWatch implements TopSource {
  private readonly projects: Map<string, string>;
  private readonly connection: ReturnType<typeof dockerConnection>;
  private readonly docker: ReturnType<typeof dockerClient>;
  private readonly title: string;
  private readonly listeners: (() => void)[] = [];
  private readonly lines: LogLine[] = [];
  private readonly followed = new Map<string, { destroy(): void }>();
  /**
   * The time of the last log line seen per container (Docker's RFC 3339 stamp): a stream opened
   * again after a restart starts at that second and skips what was already shown.
   */
  private readonly lastSeen = new Map<string, string>();
  private readonly restarts = new Map<string, number>();
  private readonly ttys = new Map<string, boolean>();
  private readonly reasons = new Map<string, { key: string; reason: string | undefined }>();
  private readonly redactors = new Map<string, Promise<(text: string) => string>>();
  private readonly notes: string[] = [];
  private listed: ListedContainer[] = [];
  private usage = new Map<string, ResourceUsage>();
  /** Each running container's last one-shot stats answer: CPU use is the difference to the next. */
  private samples = new Map<string, unknown>();
  private gpus: TopGpu[] | undefined;
  private gpuMemory = new Map<string, number>();
  private kvCache: { service: string; percent: number }[] = [];
  private events: (NodeJS.ReadableStream & { destroy(): void }) | undefined;
  private closed = false;
  private nvlinks: readonly string[] = [];

  constructor(
    private readonly stack: LoadedStack,
    private readonly request: TopRequest,
    private readonly io: Io,
    private readonly smi: ReturnType<typeof nvidiaSmiRunner>,
  ) {
    const project = stack.file.project.name;
    const environments =
      request.envName === undefined ? Object.keys(stack.file.environments) : [request.envName];
    this.projects = new Map(environments.map((env) => [`${project}-${env}`, env]));
    this.connection = dockerConnection(io.env);
    this.docker = dockerClient(io.env);
    this.title = `stackctl top · ${project}${request.envName === undefined ? '' : ` · ${request.envName}`}`;
  }

  current(): TopSnapshot {
    return {
      title: this.title,
      at: new Date(),
      rows: this.listed.map((container) => this.rowOf(container)),
      gpus: this.gpus,
      nvlinks: this.nvlinks,
      kvCache: this.kvCache,
      notes: [...this.notes],
    };
  }

  setNvlinks(links: readonly string[]): void {
    this.nvlinks = links;
    this.changed();
  }

  logs(): readonly LogLine[] {
    return this.lines;
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  async refresh(onListed: () => void): Promise<void> {
    const project = this.stack.file.project.name;
    const all = await listContainersByLabel(this.connection, [
      this.request.envName === undefined
        ? COMPOSE_LABELS.project
        : `${COMPOSE_LABELS.project}=${project}-${this.request.envName}`,
    ]);
    this.listed = all.filter(
      (container) =>
        container.labels[COMPOSE_LABELS.oneoff] !== 'True' && this.environmentOf(container) !== undefined,
    );
    onListed();
    const running = this.listed.filter((container) => container.state === 'running');
    const unseen = this.listed.filter((container) => !this.restarts.has(container.id));
    await Promise.all(unseen.map((container) => this.inspect(container.id)));
    for (const container of running) this.follow(container);
    const [answers] = await Promise.all([
      Promise.all(
        running.map((container) => containerStats(this.connection, container.id, { oneShot: true })),
      ),
      this.readGpus(),
      this.readKvCache(running),
      this.readHealthReasons(),
    ]);
    this.usage = new Map(
      running.map((container, i) => [container.id, usageBetween(this.samples.get(container.id), answers[i])]),
    );
    this.samples = new Map(running.map((container, i) => [container.id, answers[i]]));
  }

  async restart(environment: string, service: string): Promise<string> {
    const targets = this.listed.filter(
      (container) =>
        this.environmentOf(container) === environment && container.labels[COMPOSE_LABELS.service] === service,
    );
    if (targets.length === 0) return `${service} has no container to restart`;
    await Promise.all(targets.map((container) => this.docker.getContainer(container.id).restart({ t: 10 })));
    return `restarted ${service} (${String(targets.length)} container${targets.length === 1 ? '' : 's'})`;
  }

  close(): void {
    this.closed = true;
    this.events?.destroy();
    for (const stream of this.followed.values()) stream.destroy();
    this.followed.clear();
  }

  /** Docker tells when a container (re)starts: its restart count and log stream are renewed then. */
  async watchEvents(): Promise<void> {
    const events = (await this.docker.getEvents({
      filters: { type: ['container'], event: ['start'], label: [COMPOSE_LABELS.project] },
    })) as NodeJS.ReadableStream & { destroy(): void };
    this.events = events;
    let pending = '';
    events.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) this.started(line);
    });
    events.on('error', () => undefined);
  }

  private started(line: string): void {
    let id: string | undefined;
    try {
      id = (JSON.parse(line) as { id?: string }).id;
    } catch {
      return;
    }
    const container = this.listed.find((entry) => entry.id === id);
    if (id === undefined || !container) return;
    void this.inspect(id).then(() => {
      this.follow({ ...container, state: 'running' });
      this.changed();
    });
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }

  private environmentOf(container: ListedContainer): string | undefined {
    return this.projects.get(container.labels[COMPOSE_LABELS.project] ?? '');
  }

  private redactorOf(environment: string): Promise<(text: string) => string> {
    let redact = this.redactors.get(environment);
    if (!redact) {
      redact = environmentRedactor(this.docker, this.stack.root, this.stack.file, environment, []);
      this.redactors.set(environment, redact);
    }
    return redact;
  }

  /** Restart count and whether its logs are a TTY's: asked when a container is first seen or (re)starts. */
  private async inspect(id: string): Promise<void> {
    const info = await this.docker
      .getContainer(id)
      .inspect()
      .catch(() => undefined);
    if (!info) return;
    this.restarts.set(id, info.RestartCount);
    this.ttys.set(id, info.Config.Tty);
  }

  private follow(container: ListedContainer): void {
    if (this.followed.has(container.id) || container.state !== 'running' || this.closed) return;
    const environment = this.environmentOf(container) ?? '';
    const service = container.labels[COMPOSE_LABELS.service] ?? '';
    const holder = { destroy: (): void => undefined };
    this.followed.set(container.id, holder);
    void (async () => {
      const redact = await this.redactorOf(environment);
      const seen = this.lastSeen.get(container.id);
      const stream = (await this.docker.getContainer(container.id).logs({
        follow: true,
        stdout: true,
        stderr: true,
        timestamps: true,
        ...(seen === undefined ? { tail: 20 } : { since: Math.floor(Date.parse(seen) / 1000) }),
      })) as unknown as NodeJS.ReadableStream & { destroy(): void };
      holder.destroy = () => stream.destroy();
      if (this.closed) stream.destroy();
      await readLogLines(this.docker, stream, this.ttys.get(container.id) === true, (stamped) => {
        const space = stamped.indexOf(' ');
        const time = space > 0 ? stamped.slice(0, space) : '';
        const last = this.lastSeen.get(container.id);
        if (last !== undefined && time !== '' && time <= last) return;
        if (time !== '') this.lastSeen.set(container.id, time);
        const line = space > 0 ? stamped.slice(space + 1) : stamped;
        this.lines.push({ container: container.name, service, text: redact(line) });
        if (this.lines.length > LOG_LINES) this.lines.splice(0, this.lines.length - LOG_LINES);
        this.changed();
      });
    })()
      .catch(() => undefined)
      .finally(() => {
        if (this.followed.get(container.id) === holder) this.followed.delete(container.id);
      });
  }

  /** The last healthcheck output of a container whose health is not good, asked when that health changes. */
  private async readHealthReasons(): Promise<void> {
    await Promise.all(
      this.listed.map(async (container) => {
        const notWell = container.health === 'unhealthy' || container.health === 'starting';
        const key = `${container.state}/${container.health ?? ''}`;
        if (!notWell) {
          this.reasons.delete(container.id);
          return;
        }
        if (this.reasons.get(container.id)?.key === key) return;
        const output = await lastHealthOutput(this.docker, container.id).catch(() => undefined);
        const redact = await this.redactorOf(this.environmentOf(container) ?? '');
        this.reasons.set(container.id, {
          key,
          reason: output === undefined ? undefined : redact(output.trim()),
        });
      }),
    );
  }

  /** One nvidia-smi call: every card's use, and the GPU memory of each process mapped to its container. */
  private async readGpus(): Promise<void> {
    const result = await this.smi([]);
    if (!result.found) {
      this.gpus = undefined;
      return;
    }
    if (result.exitCode !== 0) {
      this.gpus = [];
      this.setNote('nvidia-smi', `nvidia-smi failed: ${result.output.trim().split('\n')[0] ?? ''}`);
      return;
    }
    this.setNote('nvidia-smi', undefined);
    this.gpus = parseSmiUsage(result.output);
    this.gpuMemory = await gpuMemoryByContainer(result.output);
  }

  private setNote(kind: string, text: string | undefined): void {
    const at = this.notes.findIndex((note) => note.startsWith(`${kind} `));
    if (at >= 0) this.notes.splice(at, 1);
    if (text !== undefined) this.notes.push(text);
  }

  /** vLLM's KV cache use from its /metrics, for each running container of a service that exposes them. */
  private async readKvCache(running: readonly ListedContainer[]): Promise<void> {
    const found: { service: string; percent: number }[] = [];
    await Promise.all(
      running.map(async (container) => {
        const service = container.labels[COMPOSE_LABELS.service] ?? '';
        const metrics = this.stack.file.services[service]?.metrics;
        const address = container.addresses[0];
        if (metrics?.exporter !== 'vllm' || address === undefined) return;
        const text = await fetch(`http://${address}:${String(metrics.port)}${metrics.path ?? '/metrics'}`, {
          signal: AbortSignal.any([this.io.signal, AbortSignal.timeout(800)]),
        })
          .then((response) => (response.ok ? response.text() : ''))
          .catch(() => '');
        for (const name of KV_CACHE_METRICS) {
          const values = metricValues(text, name);
          if (values.length === 0) continue;
          found.push({
            service: container.name,
            percent: (100 * values.reduce((sum, value) => sum + value, 0)) / values.length,
          });
          break;
        }
      }),
    );
    this.kvCache = found;
  }

  private rowOf(container: ListedContainer): TopRow {
    const use = this.usage.get(container.id);
    const running = container.state === 'running';
    return {
      environment: this.environmentOf(container) ?? '',
      stack: container.labels[LABELS.stack] ?? '',
      service: container.labels[COMPOSE_LABELS.service] ?? '',
      container: container.name,
      id: container.id,
      state: container.state,
      health: container.health ?? null,
      healthReason: this.reasons.get(container.id)?.reason,
      restarts: this.restarts.get(container.id) ?? null,
      cpuPercent: running ? (use?.cpuPercent ?? null) : null,
      memoryBytes: running ? (use?.memoryBytes ?? null) : null,
      memoryLimitBytes: running ? (use?.memoryLimitBytes ?? null) : null,
      gpuMemoryMiB: this.gpuMemory.get(container.id) ?? null,
    };
  }
}

/** NVLink connections between cards, from `nvidia-smi topo -m` once (they do not change while top runs). */
async function readNvlinks(smi: ReturnType<typeof nvidiaSmiRunner>): Promise<string[]> {
  const result = await smi(['topo', '-m']);
  if (!result.found || result.exitCode !== 0) return [];
  try {
    return parseTopology(result.output)
      .links.filter((link) => link.type === 'NV')
      .map((link) => `GPU${String(link.a)}-GPU${String(link.b)} NV${String(link.count ?? '')}`);
  } catch {
    return [];
  }
}
