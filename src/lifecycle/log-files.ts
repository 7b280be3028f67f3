// Expired files in the volumes that hold logs and test results: found, and removed, by a one-off
// container of the service's own image with the service's volumes, never by touching the host.
import type Docker from 'dockerode';
import type { EnvironmentModel } from '../model/environment.js';
import { namedVolumeMounts } from '../plan/backup.js';
import type { StackFile } from '../schema/types.js';
import { projectContainers } from '../effects/containers.js';
import { runHelper, type ExecContext } from '../effects/backup/services.js';

const EXPIRING_KINDS = new Set(['logs', 'test-results']);

export interface ExpiredFiles {
  readonly service: string;
  readonly volume: string;
  readonly container: string;
  readonly image: string;
  readonly labels: { project: string; environment: string; composeProject: string };
  /** Paths inside the container. */
  readonly files: readonly string[];
}

export interface LogFilesContext extends ExecContext {
  readonly docker: Docker;
}

/** Files older than `days` (as of `now`) in every logs or test-results volume of the environment. */
export async function expiredLogFiles(
  file: StackFile,
  model: EnvironmentModel,
  days: number,
  now: Date,
  ctx: LogFilesContext,
): Promise<ExpiredFiles[]> {
  // find measures age from the real clock: a --now in the future shortens the age asked for.
  const minutes = Math.max(0, Math.round(days * 1440 - (now.getTime() - Date.now()) / 60_000));
  const out: ExpiredFiles[] = [];
  const labels = { project: file.project.name, environment: model.name, composeProject: model.project };
  for (const service of model.services) {
    const mounts = namedVolumeMounts(file, service).filter((mount) =>
      EXPIRING_KINDS.has(file.volumes[mount.volume]?.data ?? ''),
    );
    if (mounts.length === 0) continue;
    const [container] = await projectContainers(ctx.docker, model.project, service.name);
    if (!container) continue; // no container, so no volume content to expire
    for (const mount of mounts) {
      const listed = await runHelper(
        container.id,
        container.image,
        'find "$1" -type f -mmin +"$2"',
        [mount.target, String(minutes)],
        labels,
        ctx,
      );
      const files = listed.split('\n').filter(Boolean).sort();
      if (files.length > 0)
        out.push({
          service: service.name,
          volume: mount.volume,
          container: container.id,
          image: container.image,
          labels,
          files,
        });
    }
  }
  return out;
}

/** Removes exactly the files listed (what the preview showed), in batches. */
export async function removeLogFiles(entry: ExpiredFiles, ctx: ExecContext): Promise<void> {
  for (let i = 0; i < entry.files.length; i += 200) {
    await runHelper(
      entry.container,
      entry.image,
      'for f in "$@"; do rm -f -- "$f"; done',
      entry.files.slice(i, i + 200),
      entry.labels,
      ctx,
    );
  }
}
