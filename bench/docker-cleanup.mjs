// Removes every container, network and volume a benchmark made: those with its project's label, and
// any network compose made under the project's name without one (a `default` network).
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
  const unlabelled = execFileSync('docker', ['network', 'ls', '--format', '{{.Name}}'], { encoding: 'utf8' })
    .split('\n')
    .filter((name) => name.startsWith(`${project}-`) && name.endsWith('_default'));
  if (unlabelled.length > 0) execFileSync('docker', ['network', 'rm', ...unlabelled], { stdio: 'ignore' });
}
