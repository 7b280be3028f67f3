// The raw stack document, as schemas/compose-schema.json allows it. Only the validator and
// resolveModel read this type; everything downstream reads the resolved Model.

export type Scalar = string | number | boolean;
export type StringOrList = string | string[];

export interface HealthcheckTiming {
  interval?: string;
  timeout?: string;
  retries?: number;
  start_period?: string;
  start_interval?: string;
}

export interface HealthcheckTemplateDef extends HealthcheckTiming {
  description?: string;
  interval: string;
  timeout: string;
  retries: number;
}

export interface SecretTypeDef {
  description?: string;
  length: number;
  rotationDays: number;
  alphabet?: 'alphanumeric' | 'hex';
}

export type VariableType = 'string' | 'integer' | 'float' | 'boolean' | 'secret';

export interface VariableDef {
  type: VariableType;
  description: string;
  default?: Scalar;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  allowed?: Scalar[];
  pattern?: string;
  secretType?: string;
  prefix?: string;
  rotation?: RotationDef;
  fromRetention?: 'metricsDays';
}

/** How `secrets rotate` applies a new value a service keeps in its data (a database role's password). */
export interface RotationDef {
  method: 'postgres' | 'redis' | 'manual';
  service?: string;
  role?: string;
  steps?: string;
}

export interface GpuProfileDef {
  description: string;
  gpuCount: number;
  variables: Record<string, Scalar>;
}

export interface StackDef {
  description: string;
  network: string;
  composeFile?: string;
  subnetSlot: number;
  dependsOn?: string[];
}

export type DataKind =
  'db' | 'cache' | 'models' | 'logs' | 'test-results' | 'app' | 'metrics' | 'index' | 'queue';

export interface VolumeDef {
  description?: string;
  data: DataKind;
}

export interface PortLong {
  target: number;
  published?: string | number;
  host_ip?: string;
  protocol?: 'tcp' | 'udp';
}

export type PortDef = string | number | PortLong;

export interface HealthcheckDef extends HealthcheckTiming {
  template?: string;
  test?: StringOrList;
  disable?: boolean;
}

export interface ResourcesDef {
  memory?: string;
  cpus?: number | string;
}

export interface DeployDef {
  replicas?: number;
  resources?: { limits?: ResourcesDef; reservations?: ResourcesDef };
}

export type DependsOnDef =
  | string[]
  | Record<
      string,
      {
        condition?: 'service_started' | 'service_healthy' | 'service_completed_successfully';
        restart?: boolean;
        required?: boolean;
      }
    >;

/** A path prefix of the environment's nginx that reaches every replica of a service. */
export interface RouteDef {
  path: string;
  port: number;
  websocket?: boolean;
  /** The health route under the prefix (default /health). */
  health?: string;
}

export type MetricsExporter =
  'generic' | 'node' | 'cadvisor' | 'postgres' | 'redis' | 'dcgm' | 'vllm' | 'prometheus' | 'grafana';

export interface MetricsDef {
  port: number;
  path?: string;
  exporter?: MetricsExporter;
}

/** One end-to-end check of a running service (`verify:`): exactly one of http, tcp, command. */
export interface VerifyCheckDef {
  name?: string;
  timeout?: string;
  http?: {
    port: number;
    path?: string;
    method?: 'GET' | 'HEAD' | 'POST';
    headers?: Record<string, string>;
    body?: string;
    status?: number;
    contains?: string;
  };
  tcp?: { port: number };
  command?: string[];
  contains?: string;
}

export type ConfigGenerator =
  | 'nginx'
  | 'litellm'
  | 'prometheus'
  | 'prometheus-rules'
  | 'grafana-datasources'
  | 'grafana-dashboards'
  | 'grafana-dashboard'
  | 'logstash'
  | 'filebeat';

/** A config file stackctl generates per environment and mounts into the service read-only. */
export interface ConfigFileDef {
  generate: ConfigGenerator;
  target: string;
  upstream?: { service: string; port: number };
}

/** How a service's data is backed up (schema `services.<name>.backup`). */
export interface ServiceBackupDef {
  method: 'postgres' | 'redis' | 'qdrant' | 's3' | 'volume' | 'none';
  database?: string;
  user?: string;
  password?: string;
  url?: string;
  apiKey?: string;
  accessKey?: string;
  secretKey?: string;
}

export type BackupTierDef =
  | { type: 'local'; path?: string }
  | { type: 'remote'; path: string }
  | {
      type: 's3';
      bucket: string;
      prefix?: string;
      endpoint?: string;
      region?: string;
      forcePathStyle?: boolean;
      timeoutSeconds?: number;
      credentials: { accessKeyId: string; secretAccessKey: string };
    };

export interface RetentionPolicyDef {
  days: number;
  services?: Record<string, number>;
  schedule?: string;
  tier?: string;
  logsDays?: number;
  allowStop?: boolean;
  indexDays?: number;
  metricsDays?: number;
}

export interface BackupDef {
  tiers: Record<string, BackupTierDef>;
  defaultTier: string;
  encryptionKey?: string;
  retention?: Record<string, RetentionPolicyDef>;
}

export interface ServiceDef {
  description?: string;
  stack: string;
  kind?: 'service' | 'job';
  /** true reserves the profile's GPUs; 'monitor' sees every GPU of the host and reserves none. */
  gpu?: boolean | 'monitor';
  image?: string;
  build?: string | { context: string; dockerfile?: string; args?: Record<string, Scalar>; target?: string };
  command?: StringOrList;
  entrypoint?: StringOrList;
  environment?: Record<string, Scalar>;
  ports?: PortDef[];
  expose?: (string | number)[];
  volumes?: string[];
  depends_on?: DependsOnDef;
  healthcheck?: HealthcheckDef;
  deploy?: DeployDef;
  restart?: string;
  shm_size?: string | number;
  ipc?: string;
  route?: RouteDef;
  metrics?: MetricsDef;
  configFiles?: ConfigFileDef[];
  backup?: ServiceBackupDef;
  indexRetention?: { url: string; pattern?: string };
  verify?: VerifyCheckDef[];
  /** Environment key -> the variable the image reads a file path from (POSTGRES_PASSWORD_FILE). */
  secretFiles?: Record<string, string>;
  /** Why the service may control the host (it mounts the Docker socket): validate then does not warn. */
  hostAccess?: string;
  [composeKey: string]: unknown;
}

export interface ServiceOverrideDef {
  image?: string;
  command?: StringOrList;
  environment?: Record<string, Scalar>;
  deploy?: DeployDef;
  healthcheck?: HealthcheckDef;
  shm_size?: string | number;
  ipc?: string;
  publishPorts?: boolean;
}

export interface EnvironmentDef {
  description: string;
  gpu: { required: boolean; profile: string; fallback?: string };
  memoryMinimumGb: number;
  diskMinimumGb?: number;
  addressPool: string;
  healthcheckTemplate?: string;
  services: string[];
  variables?: Record<string, Scalar>;
  overrides?: Record<string, ServiceOverrideDef>;
  /** Schema volume → an existing Docker volume this environment mounts (never created or removed). */
  externalVolumes?: Record<string, string>;
}

export interface FirstRunDef {
  description?: string;
  environment: string;
  regenerateSecrets?: boolean;
}

/** Where a load test sends its requests. */
export interface LoadTargetDef {
  service: string;
  via?: string;
  port?: number;
}

export interface LoadPlanDef {
  file: string;
  description?: string;
  target: LoadTargetDef;
  properties?: Record<string, string | number | boolean>;
  /** JMeter property -> a secret of the target environment's store. */
  secrets?: Record<string, string>;
}

export interface LoadTestsDef {
  description?: string;
  environment: string;
  service: string;
  folder: string;
  defaultPlan?: string;
  plans: Record<string, LoadPlanDef>;
  llm?: { target: LoadTargetDef; path: string; model: string; key?: string };
}

/** Where verify --allure writes, and where the report is served. */
export interface TestReportsDef {
  description?: string;
  environment: string;
  service: string;
  resultsPath: string;
  report: { service: string; port: number; path: string };
}

export interface StackFile {
  version: 1;
  project: { name: string; description?: string; restartPolicy?: string };
  healthcheckTemplates: Record<string, HealthcheckTemplateDef>;
  secretTypes: Record<string, SecretTypeDef>;
  variables: Record<string, VariableDef>;
  gpuProfiles: Record<string, GpuProfileDef>;
  stacks: Record<string, StackDef>;
  volumes: Record<string, VolumeDef>;
  services: Record<string, ServiceDef>;
  environments: Record<string, EnvironmentDef>;
  firstRun?: FirstRunDef;
  loadTests?: LoadTestsDef;
  testReports?: TestReportsDef;
  backup?: BackupDef;
}
