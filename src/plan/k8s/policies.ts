// NetworkPolicies that allow exactly the traffic the stack networks allow.
import { LABELS } from '../../labels.js';
import type { EnvironmentModel } from '../../model/environment.js';
import { stackClosure } from '../../schema/rules/networks.js';
import type { StackFile } from '../../schema/types.js';
import { dnsLabel, type Manifest } from './manifest.js';
import { portRange } from './ports.js';

/**
 * Traffic as the stack networks allow it: a stack's network joins its services and those of every
 * stack that depends on it, and they reach each other; nothing else reaches a pod, except the ports
 * compose publishes on an address other hosts reach (from anywhere, as such a port is).
 */
export function networkPolicies(
  file: StackFile,
  model: EnvironmentModel,
  services: readonly string[],
): Manifest[] {
  const stacks = [
    ...new Set(
      model.services.filter((service) => services.includes(service.name)).map((service) => service.stack),
    ),
  ];
  const policies: Manifest[] = [
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'default-deny-ingress' },
      spec: { podSelector: {}, policyTypes: ['Ingress'] },
    },
  ];
  for (const network of model.networks) {
    const members = stacks.filter(
      (stack) => stack === network.stack || stackClosure(file.stacks, stack).has(network.stack),
    );
    if (members.length === 0) continue;
    const selector = { matchExpressions: [{ key: LABELS.stack, operator: 'In', values: members }] };
    policies.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: `network-${dnsLabel(network.name)}` },
      spec: {
        podSelector: selector,
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ podSelector: selector }] }],
      },
    });
  }
  for (const service of model.services) {
    if (!services.includes(service.name)) continue;
    // Ports published on loopback reach the host only: on a cluster, kubectl port-forward.
    const published = service.ports.filter(
      (port) => port.hostPorts !== undefined && !/^(127\.|::1$|localhost$)/.test(port.hostIp),
    );
    if (published.length === 0) continue;
    policies.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: `published-${service.name}` },
      spec: {
        podSelector: { matchLabels: { 'app.kubernetes.io/name': service.name } },
        policyTypes: ['Ingress'],
        ingress: [
          {
            ports: published.flatMap((port) =>
              portRange(port.containerPort).map((number) => ({
                port: number,
                protocol: port.protocol.toUpperCase(),
              })),
            ),
          },
        ],
      },
    });
  }
  return policies;
}
