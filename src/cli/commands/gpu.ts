import { Command, Option } from 'commander';
import { GPU_MODES } from '../../plan/gpu-layout.js';
import type { CommandContext } from '../context.js';
import { examples } from '../help.js';

export function registerGpu(program: Command, context: () => CommandContext): void {
  const gpu = program
    .command('gpu')
    .description('detect GPUs, show their NVLink topology, and choose the GPU layout of an environment')
    .addHelpText(
      'after',
      examples([
        ['stackctl gpu detect', 'GPUs, memory, driver and links'],
        ['stackctl gpu topology --input topo.txt --json', 'parse a saved `nvidia-smi topo -m`'],
        ['stackctl gpu configure development', 'pick multi, single or cpu for this host'],
      ]),
    );

  gpu
    .command('detect')
    .description('list GPUs (index, model, memory, driver, CPU/NUMA affinity) and the links between them')
    .option('--json', 'print {"gpus": [...], "links": [...]}')
    .addHelpText(
      'after',
      examples([
        ['stackctl gpu detect', 'a table of GPUs and NVLink pairs'],
        ['stackctl gpu detect --json', 'the same, as JSON'],
      ]),
    )
    .action(async (flags: { json?: boolean }) => {
      const { gpuDetectAction } = await import('../actions/gpu.js');
      await gpuDetectAction(flags, context());
    });

  gpu
    .command('topology')
    .description('show the GPU/NIC connection matrix from `nvidia-smi topo -m`')
    .option('-i, --input <file>', 'parse a saved output instead of running nvidia-smi ("-" reads stdin)')
    .option('--json', 'print {"gpus": [...], "nics": [...], "links": [...]}')
    .addHelpText(
      'after',
      examples([
        ['stackctl gpu topology', 'run nvidia-smi topo -m and show the matrix'],
        ['nvidia-smi topo -m | stackctl gpu topology -i - --json', 'parse from stdin'],
      ]),
    )
    .action(async (flags: { input?: string; json?: boolean }) => {
      const { gpuTopologyAction } = await import('../actions/gpu.js');
      await gpuTopologyAction(flags, context());
    });

  gpu
    .command('configure')
    .description('choose the GPU layout of an environment for this host and record it for generate and start')
    .argument('<env>', 'environment name')
    .addArgument(
      new Command().createArgument('[mode]', 'auto, multi, single or cpu').choices(GPU_MODES).default('auto'),
    )
    .option('-s, --schema <path>', 'stack file')
    .option('--json', 'print the chosen layout as JSON')
    .addOption(new Option('--dry-run', 'show the choice without recording it'))
    .addHelpText(
      'after',
      examples([
        ['stackctl gpu configure development', 'multi with NVLink, else single, else cpu'],
        ['stackctl gpu configure production single', 'force one GPU'],
      ]),
    )
    .action(
      async (env: string, mode: string, flags: { schema?: string; json?: boolean; dryRun?: boolean }) => {
        const { gpuConfigureAction } = await import('../actions/gpu.js');
        await gpuConfigureAction(env, mode, flags, context());
      },
    );
}
