import { Option, type Command } from 'commander';
import { GPU_MODES } from '../../plan/gpu-layout.js';
import type { CommandContext } from '../context.js';
import { collect, examples } from '../help.js';
import type { StartFlags } from '../actions/start.js';
import type { LogsFlags, StopFlags } from '../actions/lifecycle.js';
import type { TopFlags } from '../actions/top.js';
import type { StatusFlags } from '../actions/status.js';

function startOptions(command: Command): Command {
  return command
    .option('--stack <name>', 'only this stack (repeatable); its dependencies start too', collect, [])
    .option('--service <name>', 'only this service (repeatable); its dependencies start too', collect, [])
    .addOption(new Option('--gpu <mode>', 'GPU layout for this run').choices(GPU_MODES))
    .option('--timeout <duration>', 'give up waiting after this long (e.g. 90s, 10m)', '10m')
    .option('--no-wait', 'start and return without waiting for health')
    .option(
      '--settle <duration>',
      'how long every service must stay up after the last became ready (0s: do not watch)',
      '3s',
    )
    .option('--skip-preflight', 'do not check the host first (a warning says so)')
    .option(
      '--skip-check <id>',
      'run preflight but report this check (paths.ai-agents) or group (paths) as skipped (repeatable)',
      collect,
      [],
    )
    .option('--dry-run', 'print the plan (files, compose commands, waits) and change nothing')
    .option('-s, --schema <path>', 'stack file')
    .option('--json', 'print only a final JSON document')
    .option(
      '--swarm',
      'deploy as a Docker Swarm stack (docker stack deploy) on the swarm this engine manages',
    )
    .option('-y, --yes', 'first-run: confirm the wipe without asking (required without a terminal)');
}

export function registerLifecycle(program: Command, context: () => CommandContext): void {
  startOptions(
    program
      .command('start')
      .description(
        'preflight, generate, start an environment (each service once what it waits for is ready), and wait until it is healthy',
      )
      .argument('[env]', 'environment name (without one: the list of environments)'),
  )
    .addHelpText(
      'after',
      examples([
        ['stackctl start development', 'everything, healthy, or a precise reason why not'],
        ['stackctl start staging --stack core', 'only the core stack'],
        ['stackctl start testing --dry-run', 'show the plan and budgets'],
        ['stackctl start first-run --yes', 'wipe development, new secrets, start it'],
        [
          'stackctl start production --swarm',
          'as a swarm stack, each service deployed once what it needs is ready',
        ],
      ]) +
        '\nExit 0 healthy, 1 a service failed or timed out (the stack is left running), 2 bad input, 3 preflight failed, 4 locked.\n',
    )
    .action(async (env: string | undefined, flags: StartFlags) => {
      const ctx = context();
      if (env === undefined) {
        const { whichEnvironment } = await import('../load-stack.js');
        throw await whichEnvironment(flags.schema, ctx, 'start');
      }
      // compose's configuration is read while the rest of stackctl loads (see config-prefetch.ts).
      // Only the prefetch is imported first: --help and the other commands do not load it.
      if (flags.dryRun !== true && flags.swarm !== true) {
        const { prefetchStartConfig } = await import('../../lifecycle/start-prefetch.js');
        await prefetchStartConfig(flags.schema, env, ctx);
      }
      const { startOrFirstRun } = await import('../actions/first-run.js');
      await startOrFirstRun(env, flags, ctx);
    });

  program
    .command('stop')
    .description('stop an environment, dependents first, independent parts side by side (nothing is removed)')
    .argument('[env]', 'environment name (or --all)')
    .option('-a, --all', 'every environment of the project')
    .option('--stack <name>', 'only this stack (repeatable)', collect, [])
    .option(
      '-t, --timeout <seconds>',
      'seconds each container gets to stop before it is killed (default: its own)',
    )
    .option('-s, --schema <path>', 'stack file')
    .option(
      '--json',
      'print {"environment", "stopped": [names], "containers": [{"name", "service", "seconds", "exitCode", "killed"}]}',
    )
    .addHelpText(
      'after',
      examples([
        ['stackctl stop development', 'stop everything'],
        ['stackctl stop development --stack ui', 'only the UIs'],
        ['stackctl stop development -t 60', 'give slow databases a minute to shut down'],
        ['stackctl stop --all', 'every environment of the project'],
      ]) +
        '\nEach container gets its stop signal (SIGTERM), then is killed after its grace period: the report names each one killed and why.\n',
    )
    .action(async (env: string | undefined, flags: StopFlags) => {
      const { stopAction } = await import('../actions/lifecycle.js');
      await stopAction(env, flags, context());
    });

  registerRestartAndStatus(program, context);
}

function registerRestartAndStatus(program: Command, context: () => CommandContext): void {
  startOptions(
    program
      .command('restart')
      .description('stop, then start again and wait for health')
      .argument('<env>', 'environment name'),
  )
    .addHelpText(
      'after',
      examples([['stackctl restart staging --service litellm', 'one service (after a secret rotation)']]),
    )
    .action(async (env: string, flags: StartFlags) => {
      const { restartAction } = await import('../actions/lifecycle.js');
      await restartAction(env, flags, context());
    });

  program
    .command('status')
    .description('containers of one or every environment: service, state, health, ports, uptime')
    .argument('[env]', 'environment name (default: all)')
    .option('--stack <name>', 'only this stack (repeatable)', collect, [])
    .option('-r, --resources', 'CPU and memory (MiB) of each container: one stats round, about a second more')
    .option('-s, --schema <path>', 'stack file')
    .option(
      '--json',
      'print {"containers": [{"environment", "stack", "service", "state", "health", "ports", "urls", ...}]} (with -r: cpuPercent, memoryBytes, memoryLimitBytes)',
    )
    .addHelpText(
      'after',
      examples([
        ['stackctl status', 'every environment, a summary line each, and the URLs to open'],
        ['stackctl status staging --json', 'one, as JSON'],
        ['stackctl status development --stack inference', 'one stack'],
        ['stackctl status production -r', 'with CPU and memory per container'],
      ]),
    )
    .action(async (env: string | undefined, flags: StatusFlags) => {
      const { statusAction } = await import('../actions/status.js');
      await statusAction(env, flags, context());
    });

  program
    .command('top')
    .description(
      'a live view: services by stack with health, restarts, CPU, memory and GPU; GPUs; logs of all services',
    )
    .argument('[env]', 'environment name (default: every environment of the project)')
    .option('--interval <seconds>', 'how often it refreshes', '1')
    .option('-s, --schema <path>', 'stack file')
    .addHelpText(
      'after',
      examples([
        ['stackctl top development', 'one environment'],
        ['stackctl top', 'every environment of the project'],
      ]) +
        '\nKeys: ↑/↓ choose, r restart its service (y/n), l its logs only, / filter the logs (a regular' +
        '\nexpression), d the docker commands behind the screen, ? help, q quit.' +
        '\nEach refresh asks Docker for one container list and one stats round, and nvidia-smi once.' +
        '\nExit 0 on q, 130 on Ctrl-C or a signal; 2 when not on a terminal (use stackctl status -r).\n',
    )
    .action(async (env: string | undefined, flags: TopFlags) => {
      const { topAction } = await import('../actions/top.js');
      await topAction(env, flags, context());
    });

  program
    .command('logs')
    .description(
      'logs of a service (all replicas) or of every service, prefixed per container, secret values redacted',
    )
    .argument('<env>', 'environment name')
    .argument('[service]', 'service name (default: every service)')
    .option('-f, --follow', 'keep printing new lines until Ctrl-C')
    .option('--stack <name>', 'only the services of this stack (repeatable)', collect, [])
    .option('--tail <lines>', 'lines from the end of each container, or "all"', '100')
    .option('--since <when>', 'only lines since a duration ago (10m, 1h30m) or a date (2026-12-01T09:00:00Z)')
    .option('-t, --timestamps', 'show when each line was written')
    .option('-s, --schema <path>', 'stack file')
    .addHelpText(
      'after',
      examples([
        ['stackctl logs development litellm -f', 'follow LiteLLM'],
        ['stackctl logs staging postgres --tail 20', 'the last 20 lines'],
        ['stackctl logs production --since 10m -t', 'every service, the last ten minutes, with times'],
        ['stackctl logs development --stack inference -f', 'the inference stack'],
      ]),
    )
    .action(async (env: string, service: string | undefined, flags: LogsFlags) => {
      const { logsAction } = await import('../actions/lifecycle.js');
      await logsAction(env, service, flags, context());
    });
}
