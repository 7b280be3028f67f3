// stackctl top's screen as data: from a snapshot of the environment (containers with their state,
// health, restarts and resources; the GPUs; vLLM's KV cache), the recent log lines and what the
// person has asked for (selection, filter, panes), the exact lines of a terminal of a given size.
// Pure: the terminal adapter only writes these lines.
import { compareText } from '../text.js';

export interface TopRow {
  readonly environment: string;
  readonly stack: string;
  readonly service: string;
  /** The container's name (<project>-<env>-<service>-<n>). */
  readonly container: string;
  readonly id: string;
  readonly state: string;
  readonly health: string | null;
  /** The last healthcheck output of a container that is not healthy. */
  readonly healthReason: string | undefined;
  readonly restarts: number | null;
  readonly cpuPercent: number | null;
  readonly memoryBytes: number | null;
  readonly memoryLimitBytes: number | null;
  /** GPU memory its processes hold (nvidia-smi's process table); null when none or unknown. */
  readonly gpuMemoryMiB: number | null;
}

export interface TopGpu {
  readonly index: number;
  readonly name: string;
  readonly utilizationPercent: number | null;
  readonly memoryUsedMiB: number | null;
  readonly memoryTotalMiB: number | null;
  readonly temperatureC: number | null;
  readonly powerW: number | null;
}

export interface TopSnapshot {
  readonly title: string;
  readonly at: Date;
  readonly rows: readonly TopRow[];
  /** Undefined when the host has no nvidia-smi. */
  readonly gpus: readonly TopGpu[] | undefined;
  /** NVLink connections between cards (GPU0-GPU1 NV12), from the topology read at start. */
  readonly nvlinks: readonly string[];
  readonly kvCache: readonly { readonly service: string; readonly percent: number }[];
  /** Why a part is missing (nvidia-smi failed...), one line each. */
  readonly notes: readonly string[];
}

export interface LogLine {
  readonly container: string;
  readonly service: string;
  readonly text: string;
}

export interface TopUi {
  /** Index into the visible rows. */
  readonly selected: number;
  /** The log filter as typed (a regular expression). */
  readonly filter: string;
  /** While typing a new filter: the text so far. */
  readonly typing: string | undefined;
  /** Logs of this service only. */
  readonly logsOf: string | undefined;
  /** The docker commands of the selected container instead of the log pane. */
  readonly commands: boolean;
  readonly help: boolean;
  /** Waiting for y/n before restarting this service. */
  readonly confirmRestart: string | undefined;
  readonly message: string | undefined;
}

export interface TopStyle {
  header(text: string): string;
  selected(text: string): string;
  bad(text: string): string;
  dim(text: string): string;
}

export const PLAIN_STYLE: TopStyle = {
  header: (text) => text,
  selected: (text) => text,
  bad: (text) => text,
  dim: (text) => text,
};

export const INITIAL_UI: TopUi = {
  selected: 0,
  filter: '',
  typing: undefined,
  logsOf: undefined,
  commands: false,
  help: false,
  confirmRestart: undefined,
  message: undefined,
};

/** The filter as a regular expression; undefined when empty, an Error when it does not compile. */
export function logFilter(text: string): RegExp | Error | undefined {
  if (text === '') return undefined;
  try {
    return new RegExp(text, 'i');
  } catch (error) {
    return error as Error;
  }
}

/** The log lines the pane shows: of the chosen service, matching the filter. */
export function visibleLogs(logs: readonly LogLine[], ui: TopUi): LogLine[] {
  const filter = logFilter(ui.filter);
  return logs.filter(
    (line) =>
      (ui.logsOf === undefined || line.service === ui.logsOf) &&
      (!(filter instanceof RegExp) || filter.test(line.text)),
  );
}

/** The rows in display order: by environment, then stack, then container name. */
export function orderedRows(rows: readonly TopRow[]): TopRow[] {
  return [...rows].sort(
    (a, b) =>
      compareText(a.environment, b.environment) ||
      compareText(a.stack, b.stack) ||
      compareText(a.container, b.container),
  );
}

/** What `docker` commands show and do what the screen does for a container. */
export function dockerCommands(row: TopRow, project: string): string[] {
  return [
    `docker ps -a --filter label=com.docker.compose.project=${project}`,
    `docker stats --no-stream ${row.container}`,
    `docker inspect --format '{{json .State.Health}}' ${row.container}`,
    `docker logs -f --tail 50 ${row.container}`,
    `docker restart ${row.container}`,
    'nvidia-smi',
  ];
}

interface Column {
  readonly title: string;
  readonly width: number;
  readonly right: boolean;
  readonly value: (row: TopRow) => string;
}

const MIB = 1024 * 1024;

function columnsFor(width: number, withGpu: boolean): Column[] {
  const mem = (row: TopRow): string =>
    row.memoryBytes === null ? '-' : String(Math.round(row.memoryBytes / MIB));
  const limit = (row: TopRow): string =>
    row.memoryBytes === null || row.memoryLimitBytes === null
      ? mem(row)
      : `${mem(row)}/${String(Math.round(row.memoryLimitBytes / MIB))}`;
  const all: (Column & { readonly drop: number })[] = [
    { title: 'STATE', width: 10, right: false, value: (row) => row.state, drop: 99 },
    { title: 'HEALTH', width: 9, right: false, value: (row) => row.health ?? '-', drop: 98 },
    {
      title: 'RESTARTS',
      width: 8,
      right: true,
      value: (row) => (row.restarts === null ? '-' : String(row.restarts)),
      drop: 2,
    },
    {
      title: 'CPU%',
      width: 6,
      right: true,
      value: (row) => (row.cpuPercent === null ? '-' : row.cpuPercent.toFixed(1)),
      drop: 97,
    },
    { title: 'MEM MiB', width: 7, right: true, value: mem, drop: 96 },
    { title: 'MEM/LIMIT MiB', width: 14, right: true, value: limit, drop: 1 },
    {
      title: 'GPU MiB',
      width: 7,
      right: true,
      value: (row) => (row.gpuMemoryMiB === null ? '-' : String(row.gpuMemoryMiB)),
      drop: 3,
    },
  ];
  let chosen = all.filter(
    (column) => column.title !== 'MEM/LIMIT MiB' && (withGpu || column.title !== 'GPU MiB'),
  );
  const wide = width >= 100;
  if (wide)
    chosen = chosen.map((column) =>
      column.title === 'MEM MiB' ? (all.find((c) => c.title === 'MEM/LIMIT MiB') ?? column) : column,
    );
  // The name column keeps at least 16 characters: drop the least needed columns until it does.
  const need = (columns: readonly Column[]): number =>
    columns.reduce((sum, column) => sum + column.width + 1, 0);
  const droppable = [...chosen].sort((a, b) => a.drop - b.drop);
  while (width - need(chosen) < 16 && droppable.length > 0) {
    const next = droppable.shift();
    chosen = chosen.filter((column) => column !== next);
  }
  return chosen;
}

function fit(text: string, width: number): string {
  if (width <= 0) return '';
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`;
}

function pad(text: string, width: number, right: boolean): string {
  const cut = fit(text, width);
  return right ? cut.padStart(width) : cut.padEnd(width);
}

/** The screen: exactly `rows` lines, none wider than `columns`. */
export function renderTop(
  snapshot: TopSnapshot,
  logs: readonly LogLine[],
  ui: TopUi,
  size: { readonly columns: number; readonly rows: number },
  style: TopStyle = PLAIN_STYLE,
): string[] {
  const width = Math.max(20, size.columns);
  const height = Math.max(8, size.rows);
  const line = (text: string): string => fit(text, width);
  const top: string[] = [];
  const running = snapshot.rows.filter((row) => row.state === 'running').length;
  top.push(
    style.header(
      line(
        `${snapshot.title} · ${snapshot.at.toISOString().slice(11, 19)} · ${String(snapshot.rows.length)} containers, ${String(running)} running · ? help`,
      ),
    ),
  );
  for (const gpu of snapshot.gpus ?? []) {
    const parts = [
      `GPU${String(gpu.index)} ${gpu.name}`,
      `util ${gpu.utilizationPercent === null ? '-' : `${String(gpu.utilizationPercent)}%`}`,
      `mem ${gpu.memoryUsedMiB === null ? '-' : String(gpu.memoryUsedMiB)}/${gpu.memoryTotalMiB === null ? '-' : String(gpu.memoryTotalMiB)} MiB`,
      gpu.temperatureC === null ? '' : `${String(gpu.temperatureC)}°C`,
      gpu.powerW === null ? '' : `${String(gpu.powerW)} W`,
    ];
    top.push(line(parts.filter(Boolean).join('  ')));
  }
  if (snapshot.nvlinks.length > 0) top.push(line(`NVLink: ${snapshot.nvlinks.join(', ')}`));
  for (const kv of snapshot.kvCache) top.push(line(`${kv.service}: KV cache ${kv.percent.toFixed(1)}% used`));
  for (const note of snapshot.notes) top.push(style.dim(line(note)));

  const withGpu = snapshot.gpus !== undefined && snapshot.gpus.length > 0;
  const columns = columnsFor(width, withGpu);
  const nameWidth = Math.max(8, width - columns.reduce((sum, column) => sum + column.width + 1, 0));
  const tableHeader = style.header(
    line(
      `${pad('SERVICE', nameWidth, false)} ${columns.map((c) => pad(c.title, c.width, c.right)).join(' ')}`,
    ),
  );

  // The table: a heading per environment/stack, a line per container, its health reason beneath.
  const ordered = orderedRows(snapshot.rows);
  const selected = Math.min(Math.max(0, ui.selected), Math.max(0, ordered.length - 1));
  const tableLines: { text: string; row: number | undefined }[] = [];
  let group = '';
  const multiEnv = new Set(ordered.map((row) => row.environment)).size > 1;
  ordered.forEach((row, index) => {
    const heading = multiEnv ? `${row.environment} / ${row.stack || '-'}` : row.stack || '-';
    if (heading !== group) {
      group = heading;
      tableLines.push({ text: style.dim(line(heading)), row: undefined });
    }
    const name = `${index === selected ? '>' : ' '} ${replicaName(row.container, row.service)}`;
    const text = line(
      `${pad(name, nameWidth, false)} ${columns.map((c) => pad(c.value(row), c.width, c.right)).join(' ')}`,
    );
    const notWell = row.state !== 'running' || (row.health !== null && row.health !== 'healthy');
    tableLines.push({
      text: index === selected ? style.selected(text) : notWell ? style.bad(text) : text,
      row: index,
    });
    if (notWell && row.healthReason !== undefined)
      tableLines.push({
        text: style.bad(line(`    ${row.health ?? row.state}: ${row.healthReason.replace(/\s+/g, ' ')}`)),
        row: index,
      });
  });
  if (ordered.length === 0)
    tableLines.push({ text: style.dim(line('  no container of this project runs')), row: undefined });

  // Room: the top, the table header, the table, a log title, at least 3 log lines, the status line.
  const fixed = top.length + 1 + 1 + 1;
  const minLogs = Math.min(5, Math.max(1, height - fixed - 4));
  const tableRoom = Math.max(1, height - fixed - minLogs);
  let first = 0;
  if (tableLines.length > tableRoom) {
    const at = tableLines.findIndex((entry) => entry.row === selected);
    first = Math.min(Math.max(0, at - Math.floor(tableRoom / 2)), tableLines.length - tableRoom);
  }
  const shownTable = tableLines.slice(first, first + tableRoom).map((entry) => entry.text);
  const logRoom = height - top.length - 1 - shownTable.length - 1;

  const pane = renderPane(ordered[selected], logs, ui, logRoom, line, width, style);
  const paneLines = pane.slice(0, Math.max(0, logRoom));
  while (paneLines.length < logRoom) paneLines.push('');

  const status =
    ui.typing !== undefined
      ? `/${ui.typing}_  (Enter applies, Esc cancels)`
      : ui.confirmRestart !== undefined
        ? `restart ${ui.confirmRestart}? y/n`
        : (ui.message ?? '↑↓ choose  r restart  l logs  / filter  d docker  ? help  q quit');
  const screen = [...top, tableHeader, ...shownTable, ...paneLines, line(status)];
  return screen
    .slice(0, height)
    .concat(Array.from({ length: Math.max(0, height - screen.length) }, () => ''));
}

/** Below the table: the help, the docker commands of the selected container, or the logs. */
function renderPane(
  selectedRow: TopRow | undefined,
  logs: readonly LogLine[],
  ui: TopUi,
  logRoom: number,
  line: (text: string) => string,
  width: number,
  style: TopStyle,
): string[] {
  const pane: string[] = [];
  if (ui.help) {
    pane.push(
      style.header(line('keys')),
      ...[
        '↑/↓ or k/j   choose a container',
        'r            restart its service (asks y/n)',
        'l            logs of its service only (again: all)',
        '/            filter the logs (a regular expression; Enter applies, Esc cancels)',
        'd            the docker commands for what this screen shows',
        'q, Ctrl-C    quit',
      ].map((text) => line(`  ${text}`)),
    );
  } else if (ui.commands && selectedRow) {
    const project = selectedRow.container.replace(new RegExp(`-${selectedRow.service}-\\d+$`), '');
    pane.push(
      style.header(line(`docker commands for ${selectedRow.container}`)),
      ...dockerCommands(selectedRow, project).map((text) => line(`  ${text}`)),
    );
  } else {
    const filter = logFilter(ui.filter);
    const title = [
      'logs',
      ui.logsOf === undefined ? 'all services' : ui.logsOf,
      ui.filter === ''
        ? ''
        : filter instanceof Error
          ? `filter /${ui.filter}/ is not valid`
          : `filter /${ui.filter}/`,
    ]
      .filter(Boolean)
      .join(' · ');
    pane.push(style.header(line(`── ${title} ${'─'.repeat(Math.max(0, width - title.length - 4))}`)));
    const shown = visibleLogs(logs, ui).slice(-Math.max(0, logRoom - 1));
    const names = shown.map((entry) => replicaName(entry.container, entry.service));
    const prefixWidth = Math.min(20, Math.max(0, ...names.map((name) => name.length)));
    shown.forEach((entry, i) => pane.push(line(`${(names[i] ?? '').padEnd(prefixWidth)} | ${entry.text}`)));
  }
  return pane;
}

/** web-1 for stackctl-development-web-1: the service and its replica number. */
export function replicaName(container: string, service: string): string {
  const at = container.lastIndexOf(`-${service}-`);
  return at >= 0 ? container.slice(at + 1) : container;
}

/** A key as the terminal reports it. */
export interface TopKey {
  readonly name: string | undefined;
  readonly sequence: string;
  readonly ctrl: boolean;
}

export type TopAction =
  | { readonly kind: 'quit'; readonly code: number }
  | { readonly kind: 'restart'; readonly environment: string; readonly service: string };

/** What a key does: the next state of the screen, and what to do, if anything. */
export function applyKey(
  ui: TopUi,
  key: TopKey,
  rows: readonly TopRow[],
): { readonly ui: TopUi; readonly action?: TopAction } {
  if (key.ctrl && key.name === 'c') return { ui, action: { kind: 'quit', code: 130 } };
  const ordered = orderedRows(rows);
  const row = ordered[Math.min(ui.selected, Math.max(0, ordered.length - 1))];
  const calm: TopUi = { ...ui, message: undefined };
  if (ui.typing !== undefined) {
    if (key.name === 'escape') return { ui: { ...calm, typing: undefined } };
    if (key.name === 'return' || key.name === 'enter') {
      const compiled = logFilter(ui.typing);
      return compiled instanceof Error
        ? { ui: { ...calm, message: `not a regular expression: ${compiled.message}` } }
        : { ui: { ...calm, typing: undefined, filter: ui.typing } };
    }
    if (key.name === 'backspace') return { ui: { ...calm, typing: ui.typing.slice(0, -1) } };
    if (!key.ctrl && key.sequence.length === 1 && key.sequence >= ' ')
      return { ui: { ...calm, typing: ui.typing + key.sequence } };
    return { ui };
  }
  if (ui.confirmRestart !== undefined) {
    if (key.sequence === 'y' && row)
      return {
        ui: { ...calm, confirmRestart: undefined, message: `restarting ${ui.confirmRestart}…` },
        action: { kind: 'restart', environment: row.environment, service: ui.confirmRestart },
      };
    return { ui: { ...calm, confirmRestart: undefined, message: `${ui.confirmRestart} not restarted` } };
  }
  // Named keys (up, escape) by name; characters as typed (readline names '/' nothing, 'Q' q).
  switch (key.name !== undefined && key.name.length > 1 ? key.name : key.sequence) {
    case 'q':
      return { ui, action: { kind: 'quit', code: 0 } };
    case 'up':
    case 'k':
      return { ui: { ...calm, selected: Math.max(0, Math.min(ui.selected, ordered.length - 1) - 1) } };
    case 'down':
    case 'j':
      return { ui: { ...calm, selected: Math.min(Math.max(0, ordered.length - 1), ui.selected + 1) } };
    case 'r':
      return row ? { ui: { ...calm, confirmRestart: row.service } } : { ui: calm };
    case 'l':
      return {
        ui: {
          ...calm,
          commands: false,
          help: false,
          logsOf: ui.logsOf === row?.service ? undefined : row?.service,
        },
      };
    case '/':
      return { ui: { ...calm, typing: ui.filter } };
    case 'd':
      return { ui: { ...calm, help: false, commands: !ui.commands } };
    case '?':
      return { ui: { ...calm, commands: false, help: !ui.help } };
    case 'escape':
      return { ui: { ...calm, commands: false, help: false } };
    default:
      return { ui };
  }
}
