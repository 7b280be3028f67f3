// Test reports in the testing environment (the schema's testReports): verify --allure puts its
// results into the volume the Allure service reads them from (through a helper on that volume, so
// the testing environment need not run), and test-report says where the report is served and
// what of an environment's checks is in it.
import { VOLUME_MOUNT, openVolumeShell, type VolumeShell } from '../effects/volume-shell.js';
import { projectContainers } from '../effects/containers.js';
import { StackctlError } from '../errors.js';
import { COMPOSE_LABELS, LABELS } from '../labels.js';
import type { LoadedStack } from '../model/stack.js';
import { namedVolumeAt } from '../plan/volume-mounts.js';
import type { TestReportsDef } from '../schema/types.js';
import { openComposeSession, type ComposeSession } from './compose-session.js';

interface Io {
  readonly env: NodeJS.ProcessEnv;
  readonly signal: AbortSignal;
  readonly cwd: string;
}

interface ResultsVolume {
  readonly reports: TestReportsDef;
  readonly session: ComposeSession;
  readonly volume: string;
  readonly shell: VolumeShell;
  /** The results folder inside the helper. */
  readonly folder: string;
}

export function testReportsOf(stack: LoadedStack): TestReportsDef {
  const reports = stack.file.testReports;
  if (!reports)
    throw new StackctlError('E_USAGE', 'the schema declares no test reports', {
      hint: 'add testReports: (the Allure service, its environment, the results path) to the schema, or give verify --allure DIR',
    });
  return reports;
}

async function openResults(stack: LoadedStack, io: Io): Promise<ResultsVolume> {
  const reports = testReportsOf(stack);
  const session = await openComposeSession(stack, reports.environment, io);
  const mount = namedVolumeAt(session.document, reports.service, reports.resultsPath);
  if (!mount)
    throw new StackctlError(
      'E_USAGE',
      `${reports.service} of ${reports.environment} mounts no volume at ${reports.resultsPath}`,
      { hint: `mount its results volume there (volumes: ['allure_results:${reports.resultsPath}'])` },
    );
  const shell = await openVolumeShell(
    mount.volumeName,
    session.imageOf(reports.service),
    {
      volume: {
        ...mount.volumeLabels,
        [COMPOSE_LABELS.project]: session.model.project,
        [COMPOSE_LABELS.volume]: mount.volumeKey,
      },
      helper: {
        [LABELS.project]: stack.file.project.name,
        [LABELS.environment]: reports.environment,
        [LABELS.stack]: 'test-reports',
      },
    },
    io,
  );
  const inside = reports.resultsPath.slice(mount.target.length).replace(/^\/+/, '');
  return {
    reports,
    session,
    volume: mount.volumeName,
    shell,
    folder: inside === '' ? VOLUME_MOUNT : `${VOLUME_MOUNT}/${inside}`,
  };
}

const WRITE = 'set -e; mkdir -p "$1"; cat > "$1/.$2.part"; mv -f "$1/.$2.part" "$1/$2"';
const READ = 'for f in "$1"/*-result.json; do [ -f "$f" ] || continue; tr -d "\\n" < "$f"; echo; done';

/** Writes result files into the testing environment's results volume; returns the volume's name. */
export async function writeTestResults(
  stack: LoadedStack,
  files: readonly { readonly file: string; readonly content: string }[],
  io: Io,
): Promise<string> {
  const results = await openResults(stack, io);
  try {
    for (const file of files) {
      const written = await results.shell.run(WRITE, [results.folder, file.file], async (write) =>
        write(Buffer.from(file.content)),
      );
      if (written.exitCode !== 0)
        throw new StackctlError(
          'E_RUNTIME',
          `cannot write ${file.file} into ${results.volume}: ${written.stderr.trim()}`,
          {
            hint: 'check that the volume is writable',
          },
        );
    }
    return results.volume;
  } finally {
    await results.shell.close();
  }
}

export interface TestReport {
  /** The environment that serves the report. */
  readonly environment: string;
  readonly service: string;
  /** Where a browser on this host opens it; undefined when its port is not published. */
  readonly url: string | undefined;
  readonly running: boolean;
  readonly volume: string;
  /** The results of the environment asked about, by status, and when the newest finished. */
  readonly results: {
    readonly total: number;
    readonly byStatus: Readonly<Record<string, number>>;
    readonly latest: string | undefined;
  };
}

export async function readTestReport(stack: LoadedStack, envName: string, io: Io): Promise<TestReport> {
  const results = await openResults(stack, io);
  let lines: string[];
  try {
    const read = await results.shell.run(READ, [results.folder]);
    lines = read.stdout.split('\n').filter((line) => line.trim() !== '');
  } finally {
    await results.shell.close();
  }
  const byStatus: Record<string, number> = {};
  let total = 0;
  let latest = 0;
  for (const line of lines) {
    let result: { status?: string; stop?: number; labels?: { name?: string; value?: string }[] };
    try {
      result = JSON.parse(line) as typeof result;
    } catch {
      continue;
    }
    if (!result.labels?.some((label) => label.name === 'suite' && label.value === envName)) continue;
    total++;
    const status = result.status ?? 'unknown';
    byStatus[status] = (byStatus[status] ?? 0) + 1;
    latest = Math.max(latest, result.stop ?? 0);
  }
  const { reports, session } = results;
  const report = session.model.services.find((service) => service.name === reports.report.service);
  const published = report?.ports.find(
    (port) => Number(port.containerPort.split('/')[0]) === reports.report.port,
  );
  const host =
    published?.hostIp === undefined || published.hostIp === '' || published.hostIp === '0.0.0.0'
      ? '127.0.0.1'
      : published.hostIp;
  const url =
    published?.hostPorts === undefined
      ? undefined
      : `http://${host.includes(':') ? `[${host}]` : host}:${String(published.hostPorts[0])}${reports.report.path}`;
  const running = (
    await projectContainers(session.docker, session.model.project, reports.report.service)
  ).some((container) => container.status === 'running');
  return {
    environment: reports.environment,
    service: reports.report.service,
    url,
    running,
    volume: results.volume,
    results: { total, byStatus, latest: latest === 0 ? undefined : new Date(latest).toISOString() },
  };
}
