// Images on the engine by reference and by ID: what a reference names now, a reference put back on
// an exact image (rollback by ID, never by pulling a tag again), and stackctl's own keep-tags.
import type Docker from 'dockerode';
import { dockerStatusCode } from './docker.js';

export interface ImageIdentity {
  /** The image ID (sha256 of its configuration): what a container runs. */
  readonly id: string;
  /** Registry digests (name@sha256:...) it was pulled or pushed as; empty for a local build. */
  readonly repoDigests: readonly string[];
}

/** What a reference names on the engine now; undefined when nothing. */
export async function imageIdentity(docker: Docker, reference: string): Promise<ImageIdentity | undefined> {
  try {
    const info = await docker.getImage(reference).inspect();
    return { id: info.Id, repoDigests: info.RepoDigests ?? [] };
  } catch (error) {
    if (dockerStatusCode(error) === 404) return undefined;
    throw error;
  }
}

/** Points `reference` (name[:tag]) at the image with this ID. */
export async function tagImage(docker: Docker, id: string, reference: string): Promise<void> {
  const { repo, tag } = splitReference(reference);
  await docker.getImage(id).tag({ repo, tag });
}

/** Removes a tag (never the image another tag or a container still holds). */
export async function untagImage(docker: Docker, reference: string): Promise<void> {
  try {
    await docker.getImage(reference).remove({ noprune: false });
  } catch (error) {
    const code = dockerStatusCode(error);
    if (code === 404 || code === 409) return;
    throw error;
  }
}

/** The tags of images whose repository is `repository` (stackctl's keep-tags of one environment). */
export async function tagsOf(docker: Docker, repository: string): Promise<string[]> {
  const images = await docker.listImages({ filters: { reference: [`${repository}:*`] } });
  return images.flatMap((image) => image.RepoTags ?? []).filter((tag) => tag.startsWith(`${repository}:`));
}

/** name[:tag] as the engine's tag call takes it; a registry port is not a tag. */
export function splitReference(reference: string): { repo: string; tag: string } {
  const slash = reference.lastIndexOf('/');
  const colon = reference.lastIndexOf(':');
  if (colon > slash) return { repo: reference.slice(0, colon), tag: reference.slice(colon + 1) };
  return { repo: reference, tag: 'latest' };
}
