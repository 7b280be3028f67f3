// The manifest of a backup set: written last, so a set without one is not a backup.
import { array, literal, number, object, optional, string, type infer as Infer } from 'zod/mini';

export const MANIFEST_FILE = 'manifest.json';

export const ArtifactSchema = object({
  service: string(),
  type: string(),
  file: string(),
  bytes: number(),
  sha256: string(),
  volume: optional(string()),
  encrypted: optional(literal(true)),
});
export type Artifact = Infer<typeof ArtifactSchema>;

export const ManifestSchema = object({
  version: literal(1),
  id: string(),
  environment: string(),
  project: string(),
  tier: string(),
  created: string(),
  stackctl: string(),
  schemaHash: string(),
  artifacts: array(ArtifactSchema),
});
export type BackupManifest = Infer<typeof ManifestSchema>;

/** A manifest's text, or undefined when it is not one (a torn or foreign file). */
export function parseManifest(text: string): BackupManifest | undefined {
  try {
    const parsed = ManifestSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** The services a set holds, each once, in artifact order. */
export function manifestServices(manifest: BackupManifest): string[] {
  return [...new Set(manifest.artifacts.map((artifact) => artifact.service))];
}

export function manifestBytes(manifest: BackupManifest): number {
  return manifest.artifacts.reduce((sum, artifact) => sum + artifact.bytes, 0);
}
