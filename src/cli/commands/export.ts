import { Option, type Command } from 'commander';
import { GPU_MODES } from '../../plan/gpu-layout.js';
import type { CommandContext } from '../context.js';
import { examples } from '../help.js';
import type { ExportK8sFlags, ExportSwarmFlags } from '../actions/export.js';

export function registerExport(program: Command, context: () => CommandContext): void {
  const group = program
    .command('export')
    .description('write what runs an environment on a cluster: a swarm stack file, Kubernetes manifests')
    .addHelpText(
      'after',
      examples([
        ['stackctl export swarm production --out prod.yml', 'a stack file for docker stack deploy'],
        ['stackctl export k8s production --out k8s', 'a Kustomize base and overlays/production'],
      ]) + '\nSee docs/clusters.md for what carries over to Swarm and Kubernetes, and what does not.\n',
    );

  group
    .command('swarm')
    .description('write the stack file for `docker stack deploy` (no secret value in it); deploys nothing')
    .argument('<env>', 'environment name')
    .option('-o, --out <file>', 'where to write it (default: <env>.swarm.yml)')
    .option('--force', 'replace a file at --out that stackctl did not write')
    .addOption(new Option('--gpu <mode>', 'GPU layout to export').choices(GPU_MODES))
    .option(
      '--no-overlay',
      'leave compose/local.override.yml out (it is read by default, and the output says so)',
    )
    .option(
      '--registry <host/namespace>',
      'tag the images built from source for this registry (the push commands are listed)',
    )
    .option('-s, --schema <path>', 'stack file')
    .option('--json', 'print {"file", "secrets", "fromEnvironment", "gpu", "overlay", "push", "notes"}')
    .addHelpText(
      'after',
      examples([
        ['stackctl export swarm production --out prod.yml', 'then: docker stack deploy -c prod.yml'],
        ['stackctl start production --swarm', 'or let stackctl deploy it, in dependency order, and wait'],
      ]),
    )
    .action(async (env: string, flags: ExportSwarmFlags) => {
      const { exportSwarmAction } = await import('../actions/export.js');
      await exportSwarmAction(env, flags, context());
    });

  group
    .command('k8s')
    .description('write Kubernetes manifests as a Kustomize base and an overlay for the environment')
    .argument('<env>', 'environment name')
    .option('-o, --out <dir>', 'folder to write into (default: k8s)')
    .addOption(new Option('--gpu <mode>', 'GPU layout to export').choices(GPU_MODES))
    .option(
      '--external-secrets <store>',
      'reference secrets through an ExternalSecret of this SecretStore (no values written)',
    )
    .option('--cluster-store', 'the --external-secrets store is a ClusterSecretStore')
    .option(
      '--no-overlay',
      'leave compose/local.override.yml out (it is read by default, and the output says so)',
    )
    .option(
      '--registry <host/namespace>',
      'tag the images built from source for this registry (the push commands are listed)',
    )
    .option(
      '--gpu-sharing <n>',
      "share each GPU n ways (NVIDIA time-slicing): writes the device plugin's config in cluster/",
    )
    .option('-s, --schema <path>', 'stack file')
    .option('--json', 'print {"namespace", "folder", "apply", "files", "gpu", "overlay", "push", "notes"}')
    .addHelpText(
      'after',
      examples([
        ['stackctl export k8s production --out k8s', 'then: kubectl apply -k k8s/overlays/production'],
        [
          'stackctl export k8s staging --external-secrets vault',
          'secrets from an external store, no values on disk',
        ],
        [
          'stackctl export k8s production --registry registry.example.com/multimodal',
          'built services tagged for your registry, push commands listed',
        ],
        ['stackctl export k8s production --gpu-sharing 4', 'four pods per GPU (time-slicing)'],
      ]) + '\nWithout --external-secrets the overlay holds secret.yaml (mode 0600, its folder 0700).\n',
    )
    .action(async (env: string, flags: ExportK8sFlags) => {
      const { exportK8sAction } = await import('../actions/export.js');
      await exportK8sAction(env, flags, context());
    });
}
