import type { Rule } from './context.js';

/** Host folders whose mount hands a container the Docker socket inside them. */
const SOCKET_FOLDERS = new Set(['/var/run', '/run', '/var/run/', '/run/']);

/** Whether a volume entry (compose short syntax) mounts the Docker socket, itself or in its folder. */
export function mountsDockerSocket(mount: string): boolean {
  const source = mount.split(':')[0] ?? '';
  return source.endsWith('docker.sock') || SOCKET_FOLDERS.has(source);
}

/** Warnings for what gives containers power over the host. */
export const checkHardening: Rule = ({ file, report }) => {
  for (const [name, service] of Object.entries(file.services)) {
    const socketMounts = (service.volumes ?? []).flatMap((mount, i) =>
      mountsDockerSocket(mount) ? [i] : [],
    );
    if (service.hostAccess === undefined)
      for (const i of socketMounts)
        report({
          path: ['services', name, 'volumes', i],
          severity: 'warning',
          message: `"${name}" mounts the Docker socket, which gives it root on the host`,
          hint: `read container logs from /var/lib/docker/containers read-only instead, or say why it needs the host with hostAccess: <reason>`,
        });
    else if (socketMounts.length === 0)
      report({
        path: ['services', name, 'hostAccess'],
        severity: 'warning',
        message: `"${name}" says why it needs the host (hostAccess) but mounts no Docker socket`,
        hint: 'remove hostAccess',
      });
    if (service.kind === 'job' && service.restart !== undefined && service.restart !== 'no') {
      report({
        path: ['services', name, 'restart'],
        message: `job "${name}" has restart: ${service.restart}, so it would run again after it finishes`,
        hint: 'remove restart from jobs; stackctl runs them once',
      });
    }
  }
};
