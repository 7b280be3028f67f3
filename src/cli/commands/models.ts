import { InvalidArgumentError, Option, type Command } from 'commander';
import type { CommandContext } from '../context.js';
import { examples } from '../help.js';
import type { ModelsFitFlags, ModelsPullFlags } from '../actions/models.js';
import type { ModelsListFlags, ModelsRemoveFlags } from '../actions/model-cache.js';
import type { ModelsSwitchFlags } from '../actions/model-switch.js';

export function registerModels(program: Command, context: () => CommandContext): void {
  const models = program
    .command('models')
    .description('the model vLLM serves: will it fit the GPUs, and with how much context')
    .addHelpText(
      'after',
      examples([
        ['stackctl models fit --env production', "the environment's model on this host's GPUs"],
        ['stackctl models fit Qwen/Qwen2.5-7B-Instruct --vram 24 --gpus 2 --tp 2', 'plan for another host'],
        ['stackctl models pull --env production', 'download it into the cache volume vLLM reads'],
      ]),
    );

  models
    .command('fit')
    .description(
      "plan vLLM's GPU memory from the model's config.json and safetensors headers (never the weights)",
    )
    .argument(
      '[model]',
      "a folder (config.json and *.safetensors), a hub id (org/name[@revision]), or the environment's model",
    )
    .option('-e, --env <env>', "take vLLM's settings (and the model) from this environment's vLLM service")
    .option('-s, --schema <path>', 'stack file')
    .option('--gpus <n>', 'GPUs to plan for (the first N found, or N of --vram)', positiveInteger)
    .option('--vram <GiB>', 'plan for GPUs of this size instead of asking nvidia-smi', positiveNumber)
    .option('--tp <n>', 'tensor-parallel size', positiveInteger)
    .option('--max-model-len <n>', 'longest context vLLM accepts', positiveInteger)
    .option('--gpu-memory-utilization <f>', 'share of each GPU vLLM may claim (0-1)', fraction)
    .addOption(new Option('--kv-dtype <dtype>', 'KV cache element type').choices(['auto', 'fp8']))
    .option('--json', 'print the plan as JSON')
    .addHelpText(
      'after',
      examples([
        ['stackctl models fit --env production', "production's model and settings on this host"],
        ['stackctl models fit ./models/my-model --max-model-len 32768', 'a downloaded folder'],
        [
          'stackctl models fit meta-llama/Llama-3.1-8B-Instruct --vram 24 --json',
          'headers only, by range requests',
        ],
      ]) +
        "\nHF_ENDPOINT names a hub mirror; HF_TOKEN (or the environment's stored HF_TOKEN) opens gated models." +
        '\nExit 0 it fits, 3 it will not start (the fix is printed), 2 bad input.\n',
    )
    .action(async (model: string | undefined, flags: ModelsFitFlags) => {
      const { modelsFitAction } = await import('../actions/models.js');
      await modelsFitAction(model, flags, context());
    });

  registerModelsPull(models, context);
  registerModelsCache(models, context);
  registerModelsSwitch(models, context);
}

function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1)
    throw new InvalidArgumentError(`expected a whole number of at least 1, got ${value}`);
  return parsed;
}

function positiveNumber(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0)
    throw new InvalidArgumentError(`expected a positive number, got ${value}`);
  return parsed;
}

function fraction(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0 || parsed > 1)
    throw new InvalidArgumentError(`expected a share between 0 and 1, got ${value}`);
  return parsed;
}

function registerModelsPull(models: Command, context: () => CommandContext): void {
  models
    .command('pull')
    .description("download the environment's model into the cache volume vLLM reads, checked and resumable")
    .argument('[model]', "a hub id (org/name[@revision]); the environment's VLLM_MODEL when left out")
    .requiredOption('-e, --env <env>', 'the environment whose vLLM cache volume receives it')
    .option('-s, --schema <path>', 'stack file')
    .option('--json', 'print what was pulled as JSON')
    .addHelpText(
      'after',
      examples([
        ['stackctl models pull --env production', "production's model, before its first start"],
        ['stackctl models pull Qwen/Qwen2.5-7B-Instruct@main --env development', 'another model or revision'],
      ]) +
        '\nAn interrupted pull (Ctrl-C, a dropped network, a killed process) resumes where it stopped.' +
        '\nA gated model needs a token: stackctl secrets set ENV HF_TOKEN < token.txt (stdin only).\n',
    )
    .action(async (model: string | undefined, flags: ModelsPullFlags) => {
      const { modelsPullAction } = await import('../actions/models.js');
      await modelsPullAction(model, flags, context());
    });
}

function registerModelsCache(models: Command, context: () => CommandContext): void {
  models
    .command('list')
    .description(
      'the models in the vLLM cache volumes: size, revisions, whether complete, which environment serves them',
    )
    .option('-e, --env <env>', 'one environment (default: every environment that runs vLLM)')
    .option('-s, --schema <path>', 'stack file')
    .option('--json', 'print [{"env", "volume", "exists", "models": [...]}]')
    .addHelpText(
      'after',
      examples([
        ['stackctl models list', 'every cache volume'],
        ['stackctl models list --env production --json', 'one, as JSON'],
      ]),
    )
    .action(async (flags: ModelsListFlags) => {
      const { modelsListAction } = await import('../actions/model-cache.js');
      await modelsListAction(flags, context());
    });

  models
    .command('remove')
    .description(
      "remove a model from an environment's vLLM cache volume (asked first; never the one it serves)",
    )
    .argument('<model>', 'org/name')
    .requiredOption('-e, --env <env>', 'the environment whose cache volume holds it')
    .option('-y, --yes', 'do not ask')
    .option('-s, --schema <path>', 'stack file')
    .addHelpText(
      'after',
      examples([
        ['stackctl models remove Qwen/Qwen2.5-7B-Instruct --env development', 'asks, then removes'],
      ]) + '\nExit 0 removed, 2 not there, 4 refused (served by the environment, or not confirmed).\n',
    )
    .action(async (model: string, flags: ModelsRemoveFlags) => {
      const { modelsRemoveAction } = await import('../actions/model-cache.js');
      await modelsRemoveAction(model, flags, context());
    });
}

function registerModelsSwitch(models: Command, context: () => CommandContext): void {
  models
    .command('switch')
    .description(
      'serve another model: fit checked, pulled, set in the schema, vLLM and what depends on it restarted',
    )
    .argument('<env>', 'environment')
    .argument('<model>', 'a hub id (org/name[@revision]) or a folder the service mounts (/models/NAME)')
    .option('--max-model-len <n>', 'set the longest context too', positiveInteger)
    .option('--timeout <duration>', 'give up waiting for the services after this long', '10m')
    .option('-s, --schema <path>', 'stack file')
    .option('--json', 'print {"from", "to", "restarted", "variables"}')
    .addHelpText(
      'after',
      examples([
        ['stackctl models switch production Qwen/Qwen2.5-7B-Instruct', 'check, pull, switch, restart vLLM'],
        ['stackctl models switch development org/model --max-model-len 16384', 'with a shorter context'],
      ]) +
        "\nThe model is set in the schema's environment variables (VLLM_MODEL), never in generated files." +
        '\nWhen the new model does not come up, the previous schema is put back and vLLM started on it again.' +
        '\nExit 0 switched, 1 it did not come up (back on the previous model), 3 it will not fit, 4 locked.\n',
    )
    .action(async (env: string, model: string, flags: ModelsSwitchFlags) => {
      const { modelsSwitchAction } = await import('../actions/model-switch.js');
      await modelsSwitchAction(env, model, flags, context());
    });
}
