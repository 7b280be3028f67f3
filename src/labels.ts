// Labels on Docker resources: those stackctl writes through the generated compose files, and those
// compose writes itself. The generators that write them and the Docker adapters that find resources
// by them both read the names from here.

export const LABELS = {
  project: 'io.stackctl.project',
  environment: 'io.stackctl.environment',
  stack: 'io.stackctl.stack',
  kind: 'io.stackctl.kind',
  data: 'io.stackctl.data',
} as const;

export const COMPOSE_LABELS = {
  project: 'com.docker.compose.project',
  service: 'com.docker.compose.service',
  volume: 'com.docker.compose.volume',
  oneoff: 'com.docker.compose.oneoff',
} as const;

/** What `docker stack deploy` puts on a stack's services, networks, secrets and configs. */
export const SWARM_LABELS = {
  namespace: 'com.docker.stack.namespace',
} as const;
