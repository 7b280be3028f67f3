import { didYouMean } from '../suggest.js';
import { dependencyNames } from '../values.js';
import type { Rule } from './context.js';

/** Every name the file refers to (stacks, services, templates, profiles, volumes) exists. */
export const checkReferences: Rule = ({ file, environments, report }) => {
  const stacks = Object.keys(file.stacks);
  const services = Object.keys(file.services);
  const templates = Object.keys(file.healthcheckTemplates);
  const profiles = Object.keys(file.gpuProfiles);
  const volumes = Object.keys(file.volumes);
  const secretTypes = Object.keys(file.secretTypes);

  const unknown = (path: (string | number)[], what: string, name: string, known: string[]) =>
    report({
      path,
      message: `unknown ${what} "${name}"`,
      hint: didYouMean(name, known) || `declare it first`,
    });

  for (const [stackName, stack] of Object.entries(file.stacks)) {
    (stack.dependsOn ?? []).forEach((dep, i) => {
      if (!file.stacks[dep]) unknown(['stacks', stackName, 'dependsOn', i], 'stack', dep, stacks);
    });
  }
  for (const [name, def] of Object.entries(file.variables)) {
    if (def.secretType !== undefined && !file.secretTypes[def.secretType])
      unknown(['variables', name, 'secretType'], 'secret type', def.secretType, secretTypes);
    const holder = def.rotation?.service;
    if (holder !== undefined && !file.services[holder])
      unknown(['variables', name, 'rotation', 'service'], 'service', holder, services);
  }
  // A service no environment runs is dead weight, and compose treats a service without profiles as
  // always active; imported schemas often have some. (All environments, whatever --env says.)
  const run = new Set(Object.values(file.environments).flatMap((env) => env.services));
  for (const serviceName of services) {
    if (run.has(serviceName)) continue;
    report({
      path: ['services', serviceName],
      at: 'key',
      severity: 'warning',
      message: `service "${serviceName}" is in no environment`,
      hint: "add it to an environment's services, or remove it",
    });
  }
  for (const [serviceName, service] of Object.entries(file.services)) {
    if (!file.stacks[service.stack])
      unknown(['services', serviceName, 'stack'], 'stack', service.stack, stacks);
    const depList = Array.isArray(service.depends_on);
    dependencyNames(service).forEach((dep, i) => {
      if (file.services[dep]) return;
      const path = depList
        ? ['services', serviceName, 'depends_on', i]
        : ['services', serviceName, 'depends_on', dep];
      report({
        path,
        at: depList ? 'value' : 'key',
        message: `unknown service "${dep}"`,
        hint: didYouMean(dep, services) || 'declare it under services',
      });
    });
    const template = service.healthcheck?.template;
    if (template !== undefined && !file.healthcheckTemplates[template])
      unknown(
        ['services', serviceName, 'healthcheck', 'template'],
        'healthcheck template',
        template,
        templates,
      );
    (service.volumes ?? []).forEach((mount, i) => {
      const source = mount.split(':')[0] ?? '';
      const isNamed = source !== '' && !/[/.~$]/.test(source[0] ?? '') && !source.includes('/');
      if (isNamed && mount.includes(':') && !file.volumes[source])
        unknown(['services', serviceName, 'volumes', i], 'volume', source, volumes);
    });
  }
  for (const [envName, env] of environments) {
    env.services.forEach((name, i) => {
      if (!file.services[name]) unknown(['environments', envName, 'services', i], 'service', name, services);
    });
    if (!file.gpuProfiles[env.gpu.profile])
      unknown(['environments', envName, 'gpu', 'profile'], 'GPU profile', env.gpu.profile, profiles);
    if (env.gpu.fallback !== undefined && !file.gpuProfiles[env.gpu.fallback])
      unknown(['environments', envName, 'gpu', 'fallback'], 'GPU profile', env.gpu.fallback, profiles);
    if (env.healthcheckTemplate !== undefined && !file.healthcheckTemplates[env.healthcheckTemplate])
      unknown(
        ['environments', envName, 'healthcheckTemplate'],
        'healthcheck template',
        env.healthcheckTemplate,
        templates,
      );
    for (const [serviceName, override] of Object.entries(env.overrides ?? {})) {
      const path = ['environments', envName, 'overrides', serviceName];
      if (!file.services[serviceName]) {
        report({
          path,
          at: 'key',
          message: `override for unknown service "${serviceName}"`,
          hint: didYouMean(serviceName, services) || 'remove it',
        });
      } else if (!env.services.includes(serviceName)) {
        report({
          path,
          at: 'key',
          message: `override for "${serviceName}", which environment "${envName}" does not run`,
          hint: `add "${serviceName}" to environments.${envName}.services or remove the override`,
        });
      }
      const template = override.healthcheck?.template;
      if (template !== undefined && !file.healthcheckTemplates[template])
        unknown([...path, 'healthcheck', 'template'], 'healthcheck template', template, templates);
    }
  }
  if (file.firstRun && !file.environments[file.firstRun.environment])
    unknown(
      ['firstRun', 'environment'],
      'environment',
      file.firstRun.environment,
      Object.keys(file.environments),
    );
};
