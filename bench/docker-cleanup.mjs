// Removes every container, network and volume a benchmark made: those with its project's label.
import { execFileSync } from 'node:child_process';

export function removeProjectResources(project) {
  for (const kind of [
    ['ps', '-aq'],
    ['network', 'ls', '-q'],
    ['volume', 'ls', '-q'],
  ]) {
    const ids = execFileSync('docker', [...kind, '--filter', `label=io.stackctl.project=${project}`], {
      encoding: 'utf8',
    })
      .split('\n')
      .filter(Boolean);
    if (ids.length === 0) continue;
    const remove = kind[0] === 'ps' ? ['rm', '-f'] : [kind[0], 'rm'];
    execFileSync('docker', [...remove, ...ids], { stdio: 'ignore' });
  }
}
