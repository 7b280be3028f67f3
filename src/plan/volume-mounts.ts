// The named volume a service mounts at a path, read from compose's effective configuration (the
// user's overlay included): its key, its name on the engine and its labels, so a command that
// writes into it without the service (a model pull, a load test's results) finds the same volume
// and creates it as compose would. Pure.

export interface NamedVolumeMount {
  /** The volume's key in the compose file. */
  readonly volumeKey: string;
  /** Its name on the engine. */
  readonly volumeName: string;
  readonly volumeLabels: Readonly<Record<string, string>>;
  /** Where the service mounts it. */
  readonly target: string;
}

type Json = Record<string, unknown>;

/** The deepest named volume `service` mounts at or above `path`; undefined when none. */
export function namedVolumeAt(
  document: unknown,
  service: string,
  path: string,
): NamedVolumeMount | undefined {
  const definition = serviceOf(document, service);
  if (!definition) return undefined;
  const wanted = trimSlash(path);
  const mounts = Array.isArray(definition['volumes']) ? definition['volumes'].filter(isObject) : [];
  const mount = mounts
    .filter((entry) => entry['type'] === 'volume' && typeof entry['source'] === 'string')
    .map((entry) => ({ source: String(entry['source']), target: trimSlash(stringOf(entry['target']) ?? '') }))
    .filter((entry) => wanted === entry.target || wanted.startsWith(`${entry.target}/`))
    .sort((a, b) => b.target.length - a.target.length)[0];
  if (!mount) return undefined;
  const volumes = isObject(document) && isObject(document['volumes']) ? document['volumes'] : {};
  const entry = volumes[mount.source];
  const volume: Json = isObject(entry) ? entry : {};
  const labels = isObject(volume['labels']) ? volume['labels'] : {};
  return {
    volumeKey: mount.source,
    volumeName: stringOf(volume['name']) ?? mount.source,
    volumeLabels: Object.fromEntries(
      Object.entries(labels).filter((pair): pair is [string, string] => typeof pair[1] === 'string'),
    ),
    target: mount.target,
  };
}

/** A service's definition in compose's effective configuration. */
export function serviceOf(document: unknown, service: string): Json | undefined {
  if (!isObject(document) || !isObject(document['services'])) return undefined;
  const definition = document['services'][service];
  return isObject(definition) ? definition : undefined;
}

export function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function trimSlash(path: string): string {
  return path.replace(/\/+$/, '');
}

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
