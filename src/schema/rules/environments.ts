import { formatPath } from '../issue.js';
import { findVariableReferences, interpolate } from '../interpolate.js';
import { didYouMean } from '../suggest.js';
import {
  applyOverride,
  checkVariableValue,
  containerSide,
  dependencyNames,
  environmentValues,
  parsePort,
} from '../values.js';
import type { Rule } from './context.js';

/** The container side of a mapping is a literal, so a host-port variable never moves the port inside. */
export const checkContainerPorts: Rule = ({ file, report }) => {
  for (const [serviceName, service] of Object.entries(file.services)) {
    (service.ports ?? []).forEach((port, i) => {
      const inside = containerSide(port);
      if (findVariableReferences(inside).length > 0) {
        report({
          path: ['services', serviceName, 'ports', i],
          message: `container port "${inside}" uses a variable`,
          hint: 'write the port the service listens on inside the container as a number; variables belong on the host side',
        });
      }
    });
  }
};

/** Per environment: variable values fit, every dependency runs, and no host port is published twice. */
export const checkEnvironments: Rule = ({ file, environments, report }) => {
  for (const [envName, env] of environments) {
    const envPath = ['environments', envName];
    const project = `${file.project.name}-${envName}`;
    if (project.length > 63)
      report({
        path: envPath,
        at: 'key',
        severity: 'warning',
        message: `${project} (project-environment) is ${project.length} characters: too long for a Kubernetes namespace (63), so export k8s refuses it`,
        hint: 'shorten project.name or the environment name',
      });
    for (const [name, value] of Object.entries(env.variables ?? {})) {
      const def = file.variables[name];
      if (!def) {
        report({
          path: [...envPath, 'variables', name],
          at: 'key',
          message: `unknown variable "${name}"`,
          hint: didYouMean(name, Object.keys(file.variables)) || 'declare it under variables',
        });
        continue;
      }
      const problem = checkVariableValue(def, value);
      if (problem) {
        report({
          path: [...envPath, 'variables', name],
          message: `${name} ${problem}`,
          hint:
            def.type === 'secret' ? 'remove the value; stackctl generates secrets' : `see variables.${name}`,
        });
      }
    }

    const running = new Set(env.services);
    env.services.forEach((serviceName, i) => {
      const service = file.services[serviceName];
      if (!service) return;
      for (const dep of dependencyNames(service)) {
        if (file.services[dep] && !running.has(dep)) {
          report({
            path: [...envPath, 'services', i],
            message: `"${serviceName}" depends on "${dep}", which environment "${envName}" does not run`,
            hint: `add "${dep}" to ${formatPath([...envPath, 'services'])}`,
          });
        }
      }
    });

    const values = environmentValues(file, env);
    const published = new Map<string, { service: string; index: number }>();
    for (const serviceName of env.services) {
      const base = file.services[serviceName];
      if (!base) continue;
      const service = applyOverride(base, env.overrides?.[serviceName]);
      const replicas = service.deploy?.replicas ?? 1;
      (service.ports ?? []).forEach((port, index) => {
        const portPath = ['services', serviceName, 'ports', index];
        const { missing } = interpolate(JSON.stringify(port), values);
        if (missing.length > 0) return; // reported by the variables check
        const parsed = parsePort(port, (text) => interpolate(text, values).value);
        if (typeof parsed === 'string') {
          report({
            path: portPath,
            message: `in environment "${envName}": ${parsed}`,
            hint: 'write HOST_IP:HOST_PORT:CONTAINER_PORT',
          });
          return;
        }
        if (!parsed.hostPorts) return;
        const [first, last] = parsed.hostPorts;
        if (replicas > 1 && first === last) {
          const replicasPath = env.overrides?.[serviceName]?.deploy?.replicas
            ? [...envPath, 'overrides', serviceName, 'deploy', 'replicas']
            : portPath;
          report({
            path: replicasPath,
            message: `${replicas} replicas of "${serviceName}" cannot all bind host port ${first} in environment "${envName}"`,
            hint: `set publishPorts: false in ${formatPath([...envPath, 'overrides', serviceName])} and reach it through a proxy`,
          });
        }
        for (let hostPort = first; hostPort <= last; hostPort++) {
          const key = `${parsed.protocol}/${hostPort}`;
          const holder = published.get(key);
          if (holder && holder.service !== serviceName) {
            const variable = findVariableReferences(typeof port === 'string' ? port : JSON.stringify(port))
              .map((ref) => ref.name)
              .find((name) => name.endsWith('PORT'));
            report({
              path: portPath,
              message: `host port ${hostPort} is published twice in environment "${envName}": by "${holder.service}" and "${serviceName}"`,
              hint: variable
                ? `give ${variable} another value in ${formatPath([...envPath, 'variables'])}`
                : 'publish one of them on another host port',
            });
            break;
          }
          published.set(key, { service: serviceName, index });
        }
      });
    }
  }
};

/** GPU profiles are self-consistent and environments that need a GPU do not default to none. */
export const checkGpuProfiles: Rule = ({ file, environments, report }) => {
  for (const [name, profile] of Object.entries(file.gpuProfiles)) {
    const path = ['gpuProfiles', name];
    for (const [variable, value] of Object.entries(profile.variables)) {
      const def = file.variables[variable];
      if (!def) {
        report({
          path: [...path, 'variables', variable],
          at: 'key',
          message: `unknown variable "${variable}"`,
          hint: didYouMean(variable, Object.keys(file.variables)) || 'declare it under variables',
        });
        continue;
      }
      const problem = checkVariableValue(def, value);
      if (problem)
        report({
          path: [...path, 'variables', variable],
          message: `${variable} ${problem}`,
          hint: `see variables.${variable}`,
        });
    }
    const count = profile.variables['GPU_COUNT'];
    if (typeof count === 'number' && count !== profile.gpuCount) {
      report({
        path: [...path, 'variables', 'GPU_COUNT'],
        message: `GPU_COUNT ${count} differs from gpuCount ${profile.gpuCount}`,
        hint: 'make them equal',
      });
    }
    const devices = String(profile.variables['CUDA_VISIBLE_DEVICES'] ?? '');
    const deviceCount = devices.trim() === '' ? 0 : devices.split(',').length;
    if (deviceCount !== profile.gpuCount) {
      report({
        path: [...path, 'variables', 'CUDA_VISIBLE_DEVICES'],
        message: `CUDA_VISIBLE_DEVICES lists ${deviceCount} GPU(s) but gpuCount is ${profile.gpuCount}`,
        hint: 'list exactly gpuCount device indexes, comma-separated',
      });
    }
    const tensor = Number(profile.variables['VLLM_TENSOR_PARALLEL_SIZE'] ?? 1);
    const pipeline = Number(profile.variables['VLLM_PIPELINE_PARALLEL_SIZE'] ?? 1);
    if (tensor * pipeline > Math.max(1, profile.gpuCount)) {
      report({
        path: [...path, 'variables', 'VLLM_TENSOR_PARALLEL_SIZE'],
        message: `tensor × pipeline parallel size (${tensor * pipeline}) needs more GPUs than the profile's ${profile.gpuCount}`,
        hint: 'lower VLLM_TENSOR_PARALLEL_SIZE or raise gpuCount',
      });
    }
  }
  for (const [envName, env] of environments) {
    const profile = file.gpuProfiles[env.gpu.profile];
    if (env.gpu.required && profile && profile.gpuCount === 0) {
      report({
        path: ['environments', envName, 'gpu', 'profile'],
        message: `environment "${envName}" requires a GPU but its profile "${env.gpu.profile}" uses none`,
        hint: 'choose a GPU profile, or set gpu.required: false',
      });
    }
  }
};
