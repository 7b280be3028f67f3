// The original mounted sql/init.sql into postgres:16-alpine, which has no pgvector: its first start
// aborted on CREATE EXTENSION vector. The import keeps the script and runs it on an image that has
// what it creates (the pgvector project's build of the same PostgreSQL major version). Pure.
import { createdExtensions } from '../host/sql-extensions.js';
import type { StackFile } from '../schema/types.js';
import type { ReportEntry } from './report.js';

const INIT_FOLDER = '/docker-entrypoint-initdb.d/';

/** The relative bind-mount sources of the schema's services (what the project itself must hold). */
export function projectMountSources(file: StackFile): string[] {
  const sources = new Set<string>();
  for (const service of Object.values(file.services))
    for (const mount of service.volumes ?? []) {
      const source = mount.split(':')[0] ?? '';
      if (source.startsWith('./') && !source.includes('${')) sources.add(source.slice(2));
    }
  return [...sources].sort();
}

/** Services whose init script creates `vector` on the official postgres image move to pgvector's. */
export function pgvectorForInitScripts(
  file: StackFile,
  scripts: ReadonlyMap<string, string>,
  schemaPath: string,
): ReportEntry[] {
  const report: ReportEntry[] = [];
  for (const [name, service] of Object.entries(file.services)) {
    const major = /^(?:docker\.io\/)?(?:library\/)?postgres:(\d+)/.exec(service.image ?? '')?.[1];
    if (major === undefined) continue;
    for (const mount of service.volumes ?? []) {
      const [source = '', target = ''] = mount.split(':');
      if (!target.startsWith(INIT_FOLDER)) continue;
      const text = scripts.get(source.replace(/^\.\//, ''));
      if (text === undefined || !createdExtensions(text).includes('vector')) continue;
      const before = service.image ?? '';
      service.image = `pgvector/pgvector:pg${major}`;
      report.push({
        severity: 'warning',
        file: schemaPath,
        line: 1,
        message: `${name} ran ${before}, which has no pgvector, while ${source} creates the vector extension: its first start stopped there`,
        action: `now ${service.image} (PostgreSQL ${major} with pgvector); preflight checks the image has what the script creates`,
      });
      break;
    }
  }
  return report;
}
