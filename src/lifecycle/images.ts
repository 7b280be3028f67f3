// `stackctl pull` and `stackctl build`: new images for an environment's services through compose,
// and what changed, per service, by image ID and registry digest (old and new). Nothing running is
// touched: containers keep their image until a start or an upgrade recreates them.
import { projectContainers } from '../effects/containers.js';
import { exists } from '../effects/files.js';
import { imageIdentity, type ImageIdentity } from '../effects/images.js';
import { StackctlError } from '../errors.js';
import type { LoadedStack } from '../model/stack.js';
import type { EffectiveService } from '../plan/effective.js';
import { openComposeSession, type ComposeSession, type ComposeSessionIo } from './compose-session.js';

export type ImageAction = 'pull' | 'build';

export interface ImagesRequest {
  readonly envName: string;
  /** The services named; every service the action applies to when empty. */
  readonly services: readonly string[];
  /** build: ignore the build cache. */
  readonly noCache: boolean;
}

export interface ImagesView {
  /** The services the action runs for, before it starts. */
  begin(action: ImageAction, services: readonly string[]): void;
  /** A line compose printed (layers, bytes, build steps), redacted. */
  line(text: string): void;
}

export interface ImageChange {
  readonly service: string;
  readonly reference: string;
  /** What the reference named before, and after. */
  readonly before: ImageIdentity | undefined;
  readonly after: ImageIdentity | undefined;
  /** The reference names another image now. */
  readonly changed: boolean;
  /** The image the service's container runs (it keeps running it until recreated). */
  readonly running: string | undefined;
}

export interface ImagesOutcome {
  readonly action: ImageAction;
  readonly environment: string;
  readonly changes: readonly ImageChange[];
}

export async function pullImages(
  stack: LoadedStack,
  request: ImagesRequest,
  io: ComposeSessionIo,
  view: ImagesView,
): Promise<ImagesOutcome> {
  const session = await openComposeSession(stack, request.envName, io);
  return fetchImages(session, 'pull', request, view);
}

export async function buildImages(
  stack: LoadedStack,
  request: ImagesRequest,
  io: ComposeSessionIo,
  view: ImagesView,
): Promise<ImagesOutcome> {
  const session = await openComposeSession(stack, request.envName, io);
  return fetchImages(session, 'build', request, view);
}

/** Pulls or builds the services' images in an open session; the changes by image ID. */
export async function fetchImages(
  session: ComposeSession,
  action: ImageAction,
  request: Pick<ImagesRequest, 'services' | 'noCache'>,
  view: ImagesView,
): Promise<ImagesOutcome> {
  const services = servicesFor(session, action, request.services);
  if (action === 'build') await requireContexts(session, services);
  const before = await identities(session, services);
  view.begin(action, services);
  if (services.length > 0) {
    const args =
      action === 'pull'
        ? ['pull', '--ignore-buildable', ...services]
        : ['build', ...(request.noCache ? ['--no-cache'] : []), ...services];
    const result = await session.compose(args, { onLine: (line) => view.line(line) });
    if (result.exitCode !== 0)
      throw new StackctlError('E_RUNTIME', `docker compose ${action} failed: ${lastLine(result.output)}`, {
        hint:
          action === 'pull'
            ? 'is the registry reachable, and the image name right? (nothing running was changed)'
            : 'fix the build error above (nothing running was changed)',
      });
  }
  const after = await identities(session, services);
  const changes: ImageChange[] = [];
  for (const service of services) {
    const [container] = await projectContainers(session.docker, session.model.project, service);
    const old = before.get(service);
    const now = after.get(service);
    changes.push({
      service,
      reference: session.imageOf(service),
      before: old,
      after: now,
      changed: old?.id !== now?.id,
      running: container?.image,
    });
  }
  return { action, environment: session.model.name, changes };
}

/** The services of the environment an action applies to: named ones are checked. */
function servicesFor(session: ComposeSession, action: ImageAction, named: readonly string[]): string[] {
  const applies = (service: string): boolean => {
    const effective = session.effective.get(service);
    if (!effective) return false;
    return action === 'build' ? effective.build : isPulled(effective);
  };
  for (const service of named) {
    if (!session.effective.has(service))
      throw new StackctlError('E_USAGE', `${session.model.name} runs no service ${service}`, {
        hint: `its services: ${[...session.effective.keys()].join(', ')}`,
      });
    if (!applies(service))
      throw new StackctlError(
        'E_USAGE',
        action === 'build'
          ? `${service} is not built from source (it has no build:)`
          : `${service} is not pulled (it is built from source, or its pull_policy says never)`,
        {
          hint:
            action === 'build'
              ? `pull it: stackctl pull ${session.model.name} --service ${service}`
              : `build it: stackctl build ${session.model.name} --service ${service}`,
        },
      );
  }
  return named.length > 0 ? [...named] : [...session.effective.keys()].filter(applies);
}

/** Pulled from a registry: an image, no build, and a pull policy that allows pulling. */
export function isPulled(service: EffectiveService): boolean {
  return (
    service.image !== undefined &&
    !service.build &&
    service.pullPolicy !== 'never' &&
    service.pullPolicy !== 'build'
  );
}

async function requireContexts(session: ComposeSession, services: readonly string[]): Promise<void> {
  for (const service of services) {
    const context = session.effective.get(service)?.buildContext;
    if (context === undefined || /^[a-z]+:\/\//.test(context) || (await exists(context))) continue;
    throw new StackctlError('E_USAGE', `${context}: build context of ${service} is missing`, {
      hint: `clone the service's code there, or give ${service} an image in compose/local.override.yml (image: NAME, and build: !reset null)`,
    });
  }
}

async function identities(
  session: ComposeSession,
  services: readonly string[],
): Promise<Map<string, ImageIdentity | undefined>> {
  const out = new Map<string, ImageIdentity | undefined>();
  for (const service of services)
    out.set(service, await imageIdentity(session.docker, session.imageOf(service)));
  return out;
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? 'no output';
}
