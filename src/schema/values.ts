import type {
  EnvironmentDef,
  PortDef,
  Scalar,
  ServiceDef,
  ServiceOverrideDef,
  StackFile,
  VariableDef,
} from './types.js';

/** How a value is written into an env file and read back by compose. */
export function scalarText(value: Scalar): string {
  return typeof value === 'string' ? value : String(value);
}

/**
 * The non-secret variable values of one environment, as compose will see them: declared defaults,
 * then the environment's GPU profile, then the environment's own values.
 */
export function environmentValues(file: StackFile, env: EnvironmentDef): Map<string, string> {
  const values = new Map<string, string>();
  for (const [name, def] of Object.entries(file.variables)) {
    if (def.default !== undefined && def.type !== 'secret') values.set(name, scalarText(def.default));
  }
  const profile = file.gpuProfiles[env.gpu.profile];
  for (const [name, value] of Object.entries(profile?.variables ?? {})) values.set(name, scalarText(value));
  for (const [name, value] of Object.entries(env.variables ?? {})) values.set(name, scalarText(value));
  return values;
}

/** Control characters a process environment or a dotenv line cannot hold (tab and line breaks can be escaped). */
// eslint-disable-next-line no-control-regex
const UNREPRESENTABLE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/u;

/** Why a value does not fit its variable's declaration, or undefined when it fits. */
export function checkVariableValue(def: VariableDef, value: Scalar): string | undefined {
  switch (def.type) {
    case 'boolean':
      if (typeof value !== 'boolean') return `must be true or false, not ${JSON.stringify(value)}`;
      break;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value))
        return `must be an integer, not ${JSON.stringify(value)}`;
      break;
    case 'float':
      if (typeof value !== 'number') return `must be a number, not ${JSON.stringify(value)}`;
      break;
    case 'string':
      if (typeof value !== 'string') return `must be a string, not ${JSON.stringify(value)} (quote it)`;
      break;
    case 'secret':
      return 'is a secret: stackctl generates it; it may not be given a value here';
  }
  if (typeof value === 'number') {
    if (def.minimum !== undefined && value < def.minimum)
      return `${value} is below the minimum ${def.minimum}`;
    if (def.exclusiveMinimum !== undefined && value <= def.exclusiveMinimum)
      return `${value} must be above ${def.exclusiveMinimum}`;
    if (def.maximum !== undefined && value > def.maximum)
      return `${value} is above the maximum ${def.maximum}`;
  }
  if (def.allowed && !def.allowed.some((allowed) => allowed === value))
    return `${JSON.stringify(value)} is not one of ${def.allowed.map((a) => JSON.stringify(a)).join(', ')}`;
  if (typeof value === 'string') {
    const control = UNREPRESENTABLE.exec(value)?.[0];
    if (control !== undefined)
      return `contains the control character U+${(control.codePointAt(0) ?? 0).toString(16).padStart(4, '0').toUpperCase()}, which no env file can carry`;
  }
  if (def.pattern !== undefined && typeof value === 'string' && isValidRegex(def.pattern)) {
    if (!new RegExp(def.pattern).test(value)) return `${JSON.stringify(value)} does not match ${def.pattern}`;
  }
  return undefined;
}

export function isValidRegex(pattern: string): boolean {
  try {
    new RegExp(pattern);
    return true;
  } catch {
    return false;
  }
}

/** A service's compose definition with one environment's override applied (maps merge, the rest replaces). */
export function applyOverride(service: ServiceDef, override: ServiceOverrideDef | undefined): ServiceDef {
  if (!override) return service;
  const { publishPorts, ...composeKeys } = override;
  const merged = deepMerge(service, composeKeys) as ServiceDef;
  if (publishPorts === false) delete merged.ports;
  return merged;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function deepMerge(base: unknown, patch: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(patch)) return patch === undefined ? base : patch;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) out[key] = deepMerge(base[key], value);
  return out;
}

/** A published port after interpolation. */
export interface ParsedPort {
  readonly hostIp: string;
  /** First and last host port; undefined when compose picks one (no published port). */
  readonly hostPorts: readonly [number, number] | undefined;
  readonly containerPort: string;
  readonly protocol: 'tcp' | 'udp';
}

/** The container side of a port entry, before interpolation (it must be a literal). */
export function containerSide(port: PortDef): string {
  if (typeof port === 'number') return String(port);
  if (typeof port === 'object') return String(port.target);
  const parts = splitOutsideBraces(port.replace(/\/(tcp|udp)$/, ''));
  return parts[parts.length - 1] ?? '';
}

/** Splits on ":" except inside ${...}, where ":-" and ":?" belong to the reference. */
export function splitOutsideBraces(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const char = text[i] ?? '';
    if (char === '$' && text[i + 1] === '{') depth++;
    else if (char === '}' && depth > 0) depth--;
    if (char === ':' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += char;
  }
  parts.push(current);
  return parts;
}

/** Parses an interpolated short-syntax port ("127.0.0.1:5432:5432/tcp") or a long-syntax one. */
export function parsePort(port: PortDef, interpolateText: (text: string) => string): ParsedPort | string {
  if (typeof port === 'number')
    return { hostIp: '', hostPorts: undefined, containerPort: String(port), protocol: 'tcp' };
  if (typeof port === 'object') {
    const published = port.published === undefined ? undefined : interpolateText(String(port.published));
    const range = published === undefined || published === '' ? undefined : parseRange(published);
    if (range === null) return `published port "${published}" is not a port number`;
    return {
      hostIp: port.host_ip === undefined ? '' : interpolateText(port.host_ip),
      hostPorts: range,
      containerPort: String(port.target),
      protocol: port.protocol ?? 'tcp',
    };
  }
  const text = interpolateText(port);
  const protocolMatch = /\/(tcp|udp)$/.exec(text);
  const body = protocolMatch ? text.slice(0, protocolMatch.index) : text;
  const ipv6 = /^\[([^\]]+)\]:(.*)$/.exec(body);
  const parts = ipv6 ? [ipv6[1] ?? '', ...(ipv6[2] ?? '').split(':')] : body.split(':');
  if (parts.length > 3 || parts.some((part, i) => part === '' && i === parts.length - 1)) {
    return `"${text}" is not HOST_IP:HOST_PORT:CONTAINER_PORT`;
  }
  const containerPort = parts[parts.length - 1] ?? '';
  if (parseRange(containerPort) === null) return `container port "${containerPort}" is not a port number`;
  const hostText = parts.length >= 2 ? (parts[parts.length - 2] ?? '') : '';
  const hostPorts = hostText === '' ? undefined : parseRange(hostText);
  if (hostPorts === null) return `host port "${hostText}" is not a port number`;
  return {
    hostIp: parts.length === 3 ? (parts[0] ?? '') : '',
    hostPorts,
    containerPort,
    protocol: (protocolMatch?.[1] as 'tcp' | 'udp' | undefined) ?? 'tcp',
  };
}

function parseRange(text: string): readonly [number, number] | null {
  const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  if (!match) return null;
  const first = Number(match[1]);
  const last = match[2] === undefined ? first : Number(match[2]);
  if (first < 1 || last > 65535 || last < first) return null;
  return [first, last];
}

/** Names a service depends on, whichever compose form depends_on uses. */
export function dependencyNames(service: ServiceDef): string[] {
  const deps = service.depends_on;
  if (deps === undefined) return [];
  return Array.isArray(deps) ? deps : Object.keys(deps);
}
