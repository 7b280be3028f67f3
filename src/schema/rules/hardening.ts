import type { Rule } from './context.js';

/** Warnings for what gives containers power over the host. */
export const checkHardening: Rule = ({ file, report }) => {
  for (const [name, service] of Object.entries(file.services)) {
    (service.volumes ?? []).forEach((mount, i) => {
      if (mount.split(':')[0]?.endsWith('docker.sock')) {
        report({
          path: ['services', name, 'volumes', i],
          severity: 'warning',
          message: `"${name}" mounts the Docker socket, which gives it root on the host`,
          hint: 'read container logs from /var/lib/docker/containers read-only instead',
        });
      }
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
