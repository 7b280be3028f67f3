// The environment's secrets on a cluster: a Secret with the values, or an ExternalSecret that has the
// cluster read them from a store (external-secrets.io), no value written.
import type { EnvironmentModel } from '../../model/environment.js';
import { secretName, type Manifest } from './manifest.js';
import { compareText } from '../../text.js';

export interface SecretStoreRef {
  readonly store: string;
  readonly kind: 'SecretStore' | 'ClusterSecretStore';
}

export function secretManifest(model: EnvironmentModel, secrets: ReadonlyMap<string, string>): Manifest {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: secretName(model) },
    type: 'Opaque',
    data: Object.fromEntries(
      [...secrets]
        .sort(([a], [b]) => compareText(a, b))
        .map(([name, value]) => [name, Buffer.from(value, 'utf8').toString('base64')]),
    ),
  };
}

export function externalSecret(
  model: EnvironmentModel,
  secrets: ReadonlyMap<string, string>,
  store: SecretStoreRef,
): Manifest {
  return {
    apiVersion: 'external-secrets.io/v1beta1',
    kind: 'ExternalSecret',
    metadata: { name: secretName(model) },
    spec: {
      refreshInterval: '1h',
      secretStoreRef: { name: store.store, kind: store.kind },
      target: { name: secretName(model), creationPolicy: 'Owner' },
      data: [...secrets.keys()].sort().map((variable) => ({
        secretKey: variable,
        remoteRef: { key: `${model.project}/${variable}` },
      })),
    },
  };
}
