import { posix } from 'node:path';
import { BEATS_PORT } from '../generated-ports.js';
import { didYouMean } from '../suggest.js';
import type { Rule } from './context.js';
import { stackClosure } from './networks.js';

/**
 * Generated config files, routes and metrics hold together: upstreams exist, every route of an
 * environment is reachable from its nginx, no two routes share a path, no two files a name.
 */
export const checkConfigFiles: Rule = ({ file, environments, report }) => {
  const services = Object.keys(file.services);
  const routes = new Map<string, string>();
  for (const [name, service] of Object.entries(file.services)) {
    const path = service.route?.path;
    if (path !== undefined) {
      const holder = routes.get(path);
      if (holder)
        report({
          path: ['services', name, 'route', 'path'],
          message: `route ${path} is already service "${holder}"'s`,
          hint: 'give each routed service its own path prefix',
        });
      else routes.set(path, name);
    }
    const names = new Map<string, number>();
    (service.configFiles ?? []).forEach((config, i) => {
      if (config.target.split('/').some((segment) => segment === '.' || segment === '..'))
        report({
          path: ['services', name, 'configFiles', i, 'target'],
          message: `target ${config.target} has a "." or ".." segment`,
          hint: 'write the absolute path the file is mounted at, without . or ..',
        });
      const base = posix.basename(config.target);
      const earlier = names.get(base);
      if (earlier !== undefined)
        report({
          path: ['services', name, 'configFiles', i, 'target'],
          message: `configFiles[${earlier}] already generates a file named ${base} for "${name}"`,
          hint: 'mount each generated file at a target with its own file name',
        });
      else names.set(base, i);
      if (
        config.generate === 'prometheus-rules' &&
        !(service.configFiles ?? []).some((other) => other.generate === 'prometheus')
      )
        report({
          path: ['services', name, 'configFiles', i, 'generate'],
          message: `"${name}" generates alert rules but no prometheus.yml that loads them`,
          hint: 'add { generate: prometheus, target: ... } to the same service',
        });
      const upstream = config.upstream;
      if (upstream === undefined) return;
      const target = file.services[upstream.service];
      if (!target) {
        report({
          path: ['services', name, 'configFiles', i, 'upstream', 'service'],
          message: `unknown service "${upstream.service}"`,
          hint: didYouMean(upstream.service, services) || 'declare it under services',
        });
        return;
      }
      const feedsLogstash = (target.configFiles ?? []).some((other) => other.generate === 'logstash');
      if (config.generate === 'filebeat' && feedsLogstash && upstream.port !== BEATS_PORT)
        report({
          path: ['services', name, 'configFiles', i, 'upstream', 'port'],
          message: `${upstream.service}'s generated pipeline listens for Beats on ${BEATS_PORT}, not ${upstream.port}`,
          hint: `set port: ${BEATS_PORT}`,
        });
    });
  }

  for (const [envName, env] of environments) {
    const running = env.services.filter((name) => file.services[name]);
    for (const owner of running) {
      const def = file.services[owner];
      if (!def) continue;
      (def.configFiles ?? []).forEach((config, i) => {
        const upstream = config.upstream?.service;
        if (upstream !== undefined && file.services[upstream] && !running.includes(upstream))
          report({
            path: ['environments', envName, 'services'],
            severity: 'warning',
            message: `${owner}'s ${config.generate} config in ${envName} points at ${upstream}, which ${envName} does not run`,
            hint: `add ${upstream} to ${envName}'s services, or expect ${owner} to have nothing to send to`,
          });
        if (config.generate !== 'nginx') return;
        const reachable = new Set([def.stack, ...stackClosure(file.stacks, def.stack)]);
        for (const routed of running) {
          const stack = file.services[routed]?.stack ?? '';
          if (file.services[routed]?.route === undefined || reachable.has(stack)) continue;
          report({
            path: ['services', owner, 'configFiles', i],
            message: `${owner} routes to ${routed} in ${envName}, but stack "${def.stack}" cannot reach stack "${stack}"`,
            hint: `add ${stack} to stacks.${def.stack}.dependsOn, or move the route`,
          });
        }
      });
    }
  }
};
