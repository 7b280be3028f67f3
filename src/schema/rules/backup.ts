import { CronExpressionParser } from 'cron-parser';
import { didYouMean } from '../suggest.js';
import type { Rule } from './context.js';

/** The backup section holds together: tiers, keys, policies and schedules name what exists. */
export const checkBackup: Rule = ({ file, report }) => {
  const secrets = Object.entries(file.variables)
    .filter(([, def]) => def.type === 'secret')
    .map(([name]) => name);
  for (const [name, service] of Object.entries(file.services)) {
    // The keys a service's backup reads from the secret store must be secret variables.
    for (const field of ['secretKey', 'apiKey', 'password'] as const) {
      const variable = service.backup?.[field];
      if (variable !== undefined && !secrets.includes(variable))
        report({
          path: ['services', name, 'backup', field],
          message: `"${variable}" is not a secret variable`,
          hint:
            didYouMean(variable, secrets, 'secret variables') ||
            'declare it under variables with type: secret',
        });
    }
    const accessKey = service.backup?.accessKey;
    if (accessKey !== undefined && !file.variables[accessKey])
      report({
        path: ['services', name, 'backup', 'accessKey'],
        message: `unknown variable "${accessKey}"`,
        hint: didYouMean(accessKey, Object.keys(file.variables)) || 'declare it under variables',
      });
  }
  const backup = file.backup;
  if (!backup) return;
  const tiers = Object.keys(backup.tiers);
  const tierRef = (path: (string | number)[], name: string): void => {
    if (!backup.tiers[name])
      report({
        path,
        message: `unknown backup tier "${name}"`,
        hint: didYouMean(name, tiers, 'tiers') || 'declare it under backup.tiers',
      });
  };
  tierRef(['backup', 'defaultTier'], backup.defaultTier);
  if (backup.encryptionKey !== undefined && !secrets.includes(backup.encryptionKey))
    report({
      path: ['backup', 'encryptionKey'],
      message: `"${backup.encryptionKey}" is not a secret variable`,
      hint:
        didYouMean(backup.encryptionKey, secrets, 'secret variables') ||
        'declare it under variables with type: secret and a secretType',
    });
  for (const [name, tier] of Object.entries(backup.tiers)) {
    if (tier.type !== 's3') continue;
    for (const [key, variable] of Object.entries(tier.credentials))
      if (file.variables[variable])
        report({
          path: ['backup', 'tiers', name, 'credentials', key],
          message: `${variable} is a schema variable, so stackctl would generate it; S3 keys are issued by the bucket's owner`,
          hint: `use a name no variable has; store the key with: stackctl secrets set ENV ${variable}`,
        });
  }
  const environments = Object.keys(file.environments);
  for (const [envName, policy] of Object.entries(backup.retention ?? {})) {
    const env = file.environments[envName];
    if (!env) {
      report({
        path: ['backup', 'retention', envName],
        at: 'key',
        message: `unknown environment "${envName}"`,
        hint: didYouMean(envName, environments, 'environments') || 'declare it under environments',
      });
      continue;
    }
    if (policy.tier !== undefined) tierRef(['backup', 'retention', envName, 'tier'], policy.tier);
    for (const service of Object.keys(policy.services ?? {}))
      if (!env.services.includes(service))
        report({
          path: ['backup', 'retention', envName, 'services', service],
          at: 'key',
          message: `${envName} runs no service "${service}"`,
          hint:
            didYouMean(service, env.services, 'its services') ||
            `services of ${envName}: ${env.services.join(', ')}`,
        });
    if (policy.schedule !== undefined) {
      const fields = policy.schedule.trim().split(/\s+/).length;
      let problem: string | undefined =
        fields === 5
          ? undefined
          : `it has ${fields} fields, a schedule has 5 (minute hour day month weekday)`;
      if (problem === undefined) {
        try {
          CronExpressionParser.parse(policy.schedule, { strict: false });
        } catch (error) {
          problem = (error as Error).message;
        }
      }
      if (problem !== undefined)
        report({
          path: ['backup', 'retention', envName, 'schedule'],
          message: `"${policy.schedule}" is not a cron schedule: ${problem}`,
          hint: "five fields, e.g. '0 2 * * *' (02:00 every day) or '0 1 * * 0' (Sundays at 01:00)",
        });
    }
  }
};

/** Stores that keep their own files in a data folder: by image name, where, and the kind to give it. */
const LIVE_STORES: readonly {
  readonly image: RegExp;
  readonly store: string;
  readonly kind: string;
  readonly how: string;
  /** The store's data folder: its default, or the one a command-line flag names. */
  readonly dataPath: (command: readonly string[]) => string;
}[] = [
  {
    image: /prometheus|thanos/,
    store: "Prometheus' TSDB",
    kind: 'metrics',
    how: 'its retention flags (--storage.tsdb.retention.time)',
    dataPath: (command) =>
      command.map((part) => /^--storage\.tsdb\.path=(.+)$/.exec(part)?.[1]).find(Boolean) ?? '/prometheus',
  },
  {
    image: /elasticsearch|opensearch/,
    store: 'search index segments',
    kind: 'index',
    how: 'deleting whole indices (or an ILM policy) through its API',
    dataPath: () => '/usr/share/elasticsearch/data',
  },
  {
    image: /logstash/,
    store: "Logstash's persistent queue",
    kind: 'queue',
    how: 'nothing: it empties itself',
    dataPath: () => '/usr/share/logstash/data',
  },
];

const within = (path: string, folder: string): boolean =>
  path === folder || path.startsWith(folder.endsWith('/') ? folder : `${folder}/`);

/**
 * Retention expires files by age in logs and test-results volumes: a live store's data folder
 * marked so would lose pieces of it (TSDB blocks, index segments, queue pages) and be corrupted.
 * Refused where a retention policy covers an environment that runs the store.
 */
export const checkLiveStoreKinds: Rule = ({ file, environments, report }) => {
  const policies = file.backup?.retention ?? {};
  for (const [name, service] of Object.entries(file.services)) {
    const store = LIVE_STORES.find((candidate) => candidate.image.test(service.image ?? ''));
    if (!store) continue;
    const covered = [...environments].some(
      ([env, def]) => policies[env] !== undefined && def.services.includes(name),
    );
    if (!covered) continue;
    const command = Array.isArray(service.command) ? service.command.map(String) : [];
    const dataPath = store.dataPath(command);
    (service.volumes ?? []).forEach((mount, index) => {
      const [volume = '', target = ''] = mount.split(':');
      const kind = file.volumes[volume]?.data;
      if (
        (kind === 'logs' || kind === 'test-results') &&
        (within(dataPath, target) || within(target, dataPath))
      )
        report({
          path: ['volumes', volume, 'data'],
          message: `${volume} is data: ${kind}, but ${name} keeps ${store.store} there (services.${name}.volumes[${index}]): retention would delete files inside a live store`,
          hint: `mark it data: ${store.kind}; ${name} expires its own data by ${store.how}`,
        });
    });
  }
};
