// What particular workloads need of the host: Elasticsearch's vm.max_map_count, and shared memory
// for NCCL when vLLM runs tensor parallel.
import { walkStrings } from '../schema/rules/walk.js';
import { ELASTICSEARCH_MAX_MAP_COUNT, parseSize, pass, type Check, type PreflightInput } from './check.js';

export function workloadChecks({ model, facts }: PreflightInput): Check[] {
  const checks: Check[] = [];
  if (
    model.services.some(
      (service) => service.name === 'elasticsearch' || isElasticsearch(service.definition.image),
    )
  ) {
    const count = facts.maxMapCount;
    checks.push(
      count === undefined
        ? { id: 'host.max_map_count', status: 'warn', message: 'cannot read vm.max_map_count', fix: '' }
        : count >= ELASTICSEARCH_MAX_MAP_COUNT
          ? pass('host.max_map_count', `vm.max_map_count is ${count}`)
          : {
              id: 'host.max_map_count',
              status: 'fail',
              message: `vm.max_map_count is ${count}; Elasticsearch needs at least ${ELASTICSEARCH_MAX_MAP_COUNT}`,
              fix: `sudo sysctl -w vm.max_map_count=${ELASTICSEARCH_MAX_MAP_COUNT} (persist it in /etc/sysctl.d/99-elasticsearch.conf)`,
            },
    );
  }
  const tensorParallel = Number(model.values.get('VLLM_TENSOR_PARALLEL_SIZE') ?? 1);
  if (tensorParallel > 1) {
    for (const service of model.services.filter((s) => s.gpu && usesTensorParallelism(s.definition))) {
      const shm = parseSize(service.definition.shm_size);
      const ok = service.definition.ipc === 'host' || (shm !== undefined && shm >= 1024 ** 3);
      checks.push(
        ok
          ? pass(
              `${service.name}.shm`,
              `${service.name} shares memory for tensor parallelism ${tensorParallel}`,
            )
          : {
              id: `${service.name}.shm`,
              status: 'fail',
              message: `${service.name} runs tensor parallelism ${tensorParallel} with Docker's 64 MB /dev/shm: NCCL will fail`,
              fix: `set ipc: host (or shm_size: 16g) on services.${service.name}`,
            },
      );
    }
  }
  return checks;
}

function isElasticsearch(image: string | undefined): boolean {
  return image !== undefined && /elasticsearch/.test(image);
}

function usesTensorParallelism(definition: object): boolean {
  let found = false;
  walkStrings(definition, [], (text) => {
    if (text.includes('VLLM_TENSOR_PARALLEL_SIZE') || text.includes('--tensor-parallel-size')) found = true;
  });
  return found;
}
