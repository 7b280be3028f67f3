/** A port a container publishes on the host. */
export interface PublishedPort {
  readonly hostIp: string;
  readonly hostPort: number;
  readonly containerPort: number;
}

/** How a client reaches a container port, by what listens there (well-known ports of the stack). */
const SCHEMES: Readonly<Record<number, string>> = {
  5432: 'postgres',
  6379: 'redis',
  6334: 'grpc',
  50051: 'grpc',
  9200: 'http',
  5044: 'tcp',
  11211: 'tcp',
};

/** The URLs a person opens for these published ports: localhost for loopback and every address. */
export function publishedUrls(ports: readonly PublishedPort[]): string[] {
  const out = new Set<string>();
  for (const port of ports) {
    if (port.hostIp === '::') continue;
    const host =
      port.hostIp === '' || port.hostIp === '0.0.0.0' || port.hostIp === '127.0.0.1'
        ? 'localhost'
        : port.hostIp;
    out.add(`${SCHEMES[port.containerPort] ?? 'http'}://${host}:${port.hostPort}`);
  }
  return [...out].sort();
}
