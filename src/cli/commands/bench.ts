import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { examples } from '../help.js';
import type { BenchCompareFlags, BenchFlags, BenchRunsFlags } from '../actions/bench.js';

/** Load tests against a running environment: bench ENV, bench compare A B, bench runs ENV. */
export function registerBench(program: Command, context: () => CommandContext): void {
  const bench = program
    .command('bench')
    .description('load-test a running environment (JMeter, or --llm) and compare runs')
    .addHelpText(
      'after',
      examples([
        ['stackctl bench staging', 'the default plan: the health of every routed service through nginx'],
        ['stackctl bench staging --llm', 'tokens/s and time to first token through LiteLLM'],
        ['stackctl bench compare baseline.json 20261207T113000Z-health', 'for CI: exit 1 when it got worse'],
      ]),
    );

  bench
    .command('run <env>', { isDefault: true })
    .description('run a load test plan against a running environment (the default: bench ENV)')
    .option('--plan <name|file>', 'a plan of the schema (health, chat, retrieval) or a .jmx file')
    .option('--users <n>', 'concurrent users (threads)', '10')
    .option('--duration <duration>', 'how long the load lasts', '60s')
    .option('--ramp <duration>', 'how long until every user runs', '10s')
    .option('--target <service|url>', "send the load here instead of the plan's target")
    .option(
      '--llm',
      'streamed chat completions from a built-in client: tokens/s, time to first token, inter-token latency',
    )
    .option('--prompt <text>', '--llm: what each request asks', 'Write a short paragraph about GPUs.')
    .option('--max-tokens <n>', '--llm: the most tokens each answer may have', '128')
    .option('-s, --schema <path>', 'stack file')
    .option('--json', 'print the summary as JSON')
    .addHelpText(
      'after',
      examples([
        ['stackctl bench production', 'the default plan (health of every routed service, through nginx)'],
        ['stackctl bench staging --plan chat --users 20 --duration 2m', 'chat completions through LiteLLM'],
        ['stackctl bench staging --plan ./my-plan.jmx --target nginx', 'a plan of your own'],
        ['stackctl bench production --llm --users 4', 'tokens/s and time to first token through LiteLLM'],
      ]) +
        "\nJMeter runs from the load-testing environment's image on the target's network (nothing is" +
        "\npublished); keys go to it on its standard input, never on a command line. Results, JMeter's log" +
        '\nand its HTML dashboard (JMeter 3.0 and later) stay in its results volume; the summary is kept in' +
        '\n.stackctl/bench/ENV/ for bench compare.' +
        '\nExit 0 every request succeeded, 1 some failed (the summary says which) or the test could not run,' +
        '\n2 bad usage, 130 interrupted.\n',
    )
    .action(async (env: string, flags: BenchFlags) => {
      const { benchAction } = await import('../actions/bench.js');
      await benchAction(env, flags, context());
    });

  bench
    .command('compare <before> <after>')
    .description('compare two load test runs per sampler; exit 1 when one got worse past the threshold')
    .option('--threshold <percent>', 'the most p95 may rise or throughput fall, in percent', '10')
    .option('--error-threshold <points>', 'the most the error rate may rise, in percentage points', '1')
    .option('--min-latency <ms>', 'latency changes below this are noise', '5')
    .option('-s, --schema <path>', 'stack file')
    .option('--json', 'print the comparison as JSON')
    .addHelpText(
      'after',
      examples([
        ['stackctl bench compare 20261207T101500Z-health 20261207T113000Z-health', 'two runs by id'],
        [
          'stackctl bench compare baseline.json .stackctl/bench/staging/20261207T113000Z-chat.json',
          'record files',
        ],
      ]) + '\nExit 0 no sampler got worse past the thresholds, 1 one did (for CI), 2 bad usage.\n',
    )
    .action(async (before: string, after: string, flags: BenchCompareFlags) => {
      const { benchCompareAction } = await import('../actions/bench.js');
      await benchCompareAction(before, after, flags, context());
    });

  bench
    .command('runs <env>')
    .description('list the load test runs recorded for an environment')
    .option('-s, --schema <path>', 'stack file')
    .option('--json', 'print them as JSON')
    .addHelpText(
      'after',
      examples([['stackctl bench runs staging', 'id, plan, requests, errors, p95 of each run']]),
    )
    .action(async (env: string, flags: BenchRunsFlags) => {
      const { benchRunsAction } = await import('../actions/bench.js');
      await benchRunsAction(env, flags, context());
    });
}
