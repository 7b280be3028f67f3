import { Document } from 'yaml';
import { LABELS } from '../labels.js';
import type { SecretStore } from './secrets.js';

/** k8s-secrets-<env>.yaml: a v1 Opaque Secret holding the environment's declared secrets, base64-encoded. */
export function renderKubernetesSecret(
  project: string,
  environment: string,
  secretNames: readonly string[],
  store: SecretStore,
  header: readonly string[],
): string {
  const data: Record<string, string> = {};
  for (const name of [...secretNames].sort()) {
    const value = store.secrets[name]?.value;
    if (value !== undefined) data[name] = Buffer.from(value, 'utf8').toString('base64');
  }
  const doc = new Document({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: `${project}-${environment}-secrets`,
      labels: {
        'app.kubernetes.io/name': project,
        'app.kubernetes.io/managed-by': 'stackctl',
        [LABELS.environment]: environment,
      },
    },
    type: 'Opaque',
    data,
  });
  return `${header.join('\n')}\n${doc.toString({ lineWidth: 0 })}`;
}
