// Kubernetes probes from a compose healthcheck: the same test (an HTTP GET or a TCP connect where the
// command is only that, else the command itself), the same timings. start_period becomes a
// startupProbe that tries every start_interval (or interval) until the period and the retries are
// spent; liveness and readiness then run every interval.
import { durationMs } from '../../duration.js';
import { unescapeCompose } from '../compose-document.js';

export interface ProbeSet {
  readonly startupProbe?: Record<string, unknown>;
  readonly livenessProbe: Record<string, unknown>;
  readonly readinessProbe: Record<string, unknown>;
}

const LOCAL_HOSTS = '(?:localhost|127\\.0\\.0\\.1|0\\.0\\.0\\.0)';
const HTTP_CHECKS = [
  new RegExp(
    `^curl\\s+(?:-[a-zA-Z]+\\s+)*(?:--fail\\s+)?(?:-[a-zA-Z]+\\s+)*'?http://${LOCAL_HOSTS}(?::(\\d+))?(/[^\\s'"]*)?'?\\s*(?:\\|\\|\\s*exit 1)?$`,
  ),
  new RegExp(
    `^wget\\s+(?:-[a-zA-Z]+\\s+)*(?:-O\\s+\\S+\\s+)?(?:--spider\\s+)?(?:-[a-zA-Z]+\\s+)*'?http://${LOCAL_HOSTS}(?::(\\d+))?(/[^\\s'"]*)?'?\\s*(?:\\|\\|\\s*exit 1)?$`,
  ),
  new RegExp(
    `^python3? -c "import urllib\\.request; urllib\\.request\\.urlopen\\('http://${LOCAL_HOSTS}(?::(\\d+))?(/[^']*)?'(?:, timeout=\\d+)?\\)"$`,
  ),
];
const TCP_CHECK = new RegExp(`^nc\\s+-z\\s+(?:-w\\s*\\d+\\s+)?${LOCAL_HOSTS}\\s+(\\d+)$`);

/** The probe action a healthcheck's test amounts to. */
export function probeAction(test: readonly string[]): Record<string, unknown> | undefined {
  const [form, ...rest] = test.map(unescapeCompose);
  if (form === 'CMD-SHELL' || form === 'CMD') {
    const command = form === 'CMD-SHELL' ? (rest[0] ?? '').trim() : rest.join(' ');
    for (const pattern of HTTP_CHECKS) {
      const match = pattern.exec(command);
      if (match) return { httpGet: { path: match[2] ?? '/', port: Number(match[1] ?? 80) } };
    }
    const tcp = TCP_CHECK.exec(command);
    if (tcp) return { tcpSocket: { port: Number(tcp[1]) } };
    return { exec: { command: form === 'CMD-SHELL' ? ['/bin/sh', '-c', rest[0] ?? ''] : rest } };
  }
  return undefined;
}

export function probesFromHealthcheck(
  check: Readonly<Record<string, unknown>> | null | undefined,
): ProbeSet | undefined {
  if (!check || check['disable'] === true) return undefined;
  const test = Array.isArray(check['test'])
    ? (check['test'] as string[])
    : typeof check['test'] === 'string'
      ? ['CMD-SHELL', check['test']]
      : [];
  const action = probeAction(test);
  if (!action) return undefined;
  const seconds = (key: string, fallback: number): number => {
    const value = check[key];
    return typeof value === 'string' ? Math.max(1, Math.ceil(durationMs(value) / 1000)) : fallback;
  };
  const interval = seconds('interval', 30);
  const timeout = seconds('timeout', 30);
  const retries = typeof check['retries'] === 'number' ? check['retries'] : 3;
  const steady = { ...action, periodSeconds: interval, timeoutSeconds: timeout, failureThreshold: retries };
  const startPeriod =
    typeof check['start_period'] === 'string' ? durationMs(check['start_period']) / 1000 : 0;
  if (startPeriod <= 0) return { livenessProbe: steady, readinessProbe: steady };
  const startEvery = seconds('start_interval', interval);
  return {
    startupProbe: {
      ...action,
      periodSeconds: startEvery,
      timeoutSeconds: timeout,
      failureThreshold: Math.ceil(startPeriod / startEvery) + retries,
    },
    livenessProbe: steady,
    readinessProbe: steady,
  };
}
