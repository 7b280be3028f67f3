import {
  chooseScheduler,
  installSchedule,
  jobsOf,
  removeSchedule,
  unitFolder,
} from '../../lifecycle/schedule.js';
import { scheduleUnit, systemdUnits, withCrontabEntry } from '../../plan/schedule.js';
import { printJson, printLine, type CommandContext } from '../context.js';
import { loadStack, requireEnvironment } from '../load-stack.js';

export interface ScheduleFlags {
  cron?: boolean;
  json?: boolean;
  schema?: string;
}

export async function scheduleShowAction(
  envName: string | undefined,
  flags: ScheduleFlags,
  ctx: CommandContext,
): Promise<void> {
  const stack = await loadStack(flags.schema, ctx);
  const jobs = await jobsOf(stack, envName);
  const scheduler = await chooseScheduler(flags.cron === true, ctx.env, { orCron: true });
  const folder = scheduler === 'systemd' ? unitFolder(ctx.env) : '';
  if (flags.json === true) {
    printJson(ctx.stdout, {
      scheduler,
      jobs: jobs.map((job) => ({
        environment: job.environment,
        schedule: job.schedule,
        command: job.command,
        ...(scheduler === 'systemd' ? { units: systemdUnits(job, stack.root), folder: folder } : {}),
      })),
    });
    return;
  }
  if (jobs.length === 0) {
    printLine(ctx.stdout, `no schedule in the retention policy of ${envName ?? 'any environment'}`);
    return;
  }
  for (const job of jobs) {
    if (scheduler === 'systemd') {
      const units = systemdUnits(job, stack.root);
      printLine(ctx.stdout, `# ${folder}/${job.unit}.timer`);
      ctx.stdout.write(units.timer);
      printLine(ctx.stdout, `# ${folder}/${job.unit}.service`);
      ctx.stdout.write(units.service);
    } else {
      ctx.stdout.write(
        withCrontabEntry('', stack.file.project.name, job.environment, job, stack.root, stack.schemaPath),
      );
    }
  }
}

export async function scheduleInstallAction(
  envName: string | undefined,
  flags: ScheduleFlags,
  ctx: CommandContext,
): Promise<void> {
  const stack = await loadStack(flags.schema, ctx);
  const jobs = await jobsOf(stack, envName);
  if (jobs.length === 0) {
    printLine(
      ctx.stderr,
      `no schedule in the retention policy of ${envName ?? 'any environment'}: nothing installed`,
    );
    return;
  }
  const scheduler = await chooseScheduler(flags.cron === true, ctx.env);
  const written = await installSchedule(
    scheduler,
    stack.file.project.name,
    jobs,
    stack.root,
    stack.schemaPath,
    ctx.env,
  );
  if (flags.json === true)
    printJson(ctx.stdout, { scheduler, installed: jobs.map((job) => job.environment), written });
  else
    for (const job of jobs)
      printLine(
        ctx.stdout,
        ctx.colors.green(`✔ ${job.environment}: backups at "${job.schedule}" (${scheduler})`),
      );
}

export async function scheduleRemoveAction(
  envName: string | undefined,
  flags: ScheduleFlags,
  ctx: CommandContext,
): Promise<void> {
  const stack = await loadStack(flags.schema, ctx, { orRecorded: true });
  if (envName !== undefined) requireEnvironment(stack.file, envName);
  const environments = envName === undefined ? Object.keys(stack.file.environments) : [envName];
  // Every environment's entry, scheduled in the schema today or not: a schedule taken out of the
  // schema must still be removable.
  const targets = environments.map((environment) => ({
    environment,
    unit: scheduleUnit(stack.file.project.name, environment, stack.schemaPath),
  }));
  const scheduler = await chooseScheduler(flags.cron === true, ctx.env);
  const removed = await removeSchedule(
    scheduler,
    stack.file.project.name,
    targets,
    stack.root,
    stack.schemaPath,
    ctx.env,
  );
  if (flags.json === true) printJson(ctx.stdout, { scheduler, removed });
  else
    printLine(
      ctx.stdout,
      removed.length === 0 ? 'no scheduled backup was installed' : `✔ removed ${removed.join(', ')}`,
    );
}
