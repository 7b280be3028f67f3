// The manifest of a backup set: written last, so a set without one is not a backup.
import { array, literal, number, object, optional, regex, string, type infer as Infer } from 'zod/mini';

export const MANIFEST_FILE = 'manifest.json';

// A manifest is read from a tier anyone with write access could have filled: its names become
// paths and terminal output, so each is a plain name (no path separator, no control character).
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const name = () => string().check(regex(NAME));

export const ArtifactSchema = object({
  service: name(),
  type: name(),
  /** A file of the set's own folder: never a path. */
  file: string().check(regex(/^(?!\.\.?$)[A-Za-z0-9._-]{1,255}$/)),
  bytes: number(),
  sha256: string(),
  volume: optional(name()),
  encrypted: optional(literal(true)),
});
export type Artifact = Infer<typeof ArtifactSchema>;

export const ManifestSchema = object({
  version: literal(1),
  id: name(),
  environment: name(),
  project: name(),
  tier: name(),
  created: string().check(regex(/^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/)),
  stackctl: name(),
  schemaHash: string().check(regex(/^[A-Za-z0-9:_-]{0,128}$/)),
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
