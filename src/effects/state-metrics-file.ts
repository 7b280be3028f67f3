// The textfile the node exporter reads stackctl's own metrics from: .stackctl/metrics/<env>.prom,
// readable by the exporter's unprivileged user (it holds no secret: dates only), written whole.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureDirectory, writeFileAtomic } from './files.js';
import { stateDirectory } from './state.js';

export function stateMetricsFolder(root: string): string {
  return join(stateDirectory(root), 'metrics');
}

export function stateMetricsPath(root: string, environment: string): string {
  return join(stateMetricsFolder(root), `${environment}.prom`);
}

export async function readStateMetrics(root: string, environment: string): Promise<string> {
  return readFile(stateMetricsPath(root, environment), 'utf8').catch(() => '');
}

export async function writeStateMetrics(root: string, environment: string, text: string): Promise<void> {
  await ensureDirectory(stateMetricsFolder(root), 0o755);
  await writeFileAtomic(stateMetricsPath(root, environment), text, { mode: 0o644 });
}
