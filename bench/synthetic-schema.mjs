// A valid stack file with N services (for scaling benchmarks): the minimal test schema plus N API
// services spread over the two stacks, each with a published port, a healthcheck and a dependency.
import { readFileSync } from 'node:fs';

const minimal = readFileSync(new URL('../test/fixtures/schemas/minimal.yaml', import.meta.url), 'utf8');

export function syntheticSchema(count) {
  const variables = [];
  const services = [];
  const names = [];
  for (let i = 0; i < count; i++) {
    const name = `svc-${String(i).padStart(4, '0')}`;
    names.push(name);
    variables.push(
      `  SVC_${i}_PORT: { type: integer, description: Host port of ${name}, default: ${20000 + i}, minimum: 1, maximum: 65535 }`,
    );
    services.push(
      [
        `  ${name}:`,
        `    stack: app`,
        `    image: example/${name}:1.0`,
        `    environment:`,
        `      DATABASE_URL: postgresql://\${POSTGRES_USER}:\${POSTGRES_PASSWORD}@postgres:5432/app`,
        `      LOG_LEVEL: info`,
        `    ports: ['\${BIND_ADDRESS}:\${SVC_${i}_PORT}:8080']`,
        `    depends_on:`,
        `      postgres: { condition: service_healthy }`,
        `    healthcheck:`,
        `      template: standard`,
        `      test: ['CMD-SHELL', 'wget -q --spider http://localhost:8080/health']`,
      ].join('\n'),
    );
  }
  return minimal
    .replace('gpuProfiles:', `${variables.join('\n')}\ngpuProfiles:`)
    .replace('environments:', `${services.join('\n')}\nenvironments:`)
    .replaceAll('services: [postgres, api]', `services: [postgres, api, ${names.join(', ')}]`);
}
