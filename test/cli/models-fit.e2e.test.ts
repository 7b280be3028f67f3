// stackctl models fit: a model folder or a hub (a local one on loopback), real nvidia-smi output
// of the seeds' dual RTX 3090 through a fake nvidia-smi, and the environment's vLLM settings.
import { execa } from 'execa';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { fakeNvidiaSmiEnv, PATH_WITHOUT_NVIDIA_SMI } from '../helpers/fake-nvidia-smi.js';
import { startHub, type FakeHub } from '../helpers/hf-hub.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { shippedProject, type TempProject } from '../helpers/project.js';
import { decoderTensors, safetensorsHeader, tensorBytes, type TensorSpec } from '../helpers/safetensors.js';

const LLAMA_CONFIG = join(
  REPO_ROOT,
  'test',
  'fixtures',
  'vllm',
  'models',
  'llama-3.1-8b-instruct',
  'config.json',
);
const TOKEN = 'hf_testtokenthatmustneverbeprinted0123';

let project: TempProject;
let hub: FakeHub;
let smi: Record<string, string>;
let llamaBytes: number;
let projectName = '';
const composeProject = (): string => `${projectName}-production`;

/** Llama-3.1-8B-Instruct as four header-only shards and their index, as the hub lays it out. */
async function llamaFiles(): Promise<Record<string, Buffer>> {
  const configText = await readFile(LLAMA_CONFIG, 'utf8');
  const tensors = decoderTensors(JSON.parse(configText) as Record<string, unknown>);
  llamaBytes = tensorBytes(tensors);
  const shards: TensorSpec[][] = [[], [], [], []];
  tensors.forEach((tensor, i) => shards[Math.floor((i * 4) / tensors.length)]!.push(tensor));
  const files: Record<string, Buffer> = { 'config.json': Buffer.from(configText) };
  const weightMap: Record<string, string> = {};
  shards.forEach((shard, i) => {
    const name = `model-0000${i + 1}-of-00004.safetensors`;
    files[name] = safetensorsHeader(shard);
    for (const tensor of shard) weightMap[tensor.name] = name;
  });
  files['model.safetensors.index.json'] = Buffer.from(
    JSON.stringify({ metadata: { total_size: llamaBytes }, weight_map: weightMap }),
  );
  return files;
}

beforeAll(async () => {
  project = await shippedProject();
  const files = await llamaFiles();
  const folder = join(project.root, 'models', 'llama-3.1-8b');
  await mkdir(folder, { recursive: true });
  for (const [name, content] of Object.entries(files)) await writeFile(join(folder, name), content);
  // The environment serves the downloaded folder (the vLLM service mounts ./models at /models).
  const schemaPath = join(project.root, 'schemas', 'compose-schema.yaml');
  const schema = await readFile(schemaPath, 'utf8');
  projectName = /^project:\n {2}name: (.+)$/m.exec(schema)?.[1] ?? '';
  expect(projectName).not.toBe('');
  await writeFile(
    schemaPath,
    schema.replace('default: microsoft/DialoGPT-medium', 'default: /models/llama-3.1-8b'),
  );
  hub = await startHub({
    'meta-llama/Llama-3.1-8B-Instruct': { files, token: TOKEN },
    'stackctl/llama-public': { files },
  });
  smi = await fakeNvidiaSmiEnv({ other: 'smi-table-2x3090-driver560-01.txt' });
});

afterAll(async () => {
  await hub?.close();
  await project?.remove();
});

describe('stackctl models fit', () => {
  it('plans a hub model from its headers alone (range requests), on GPUs described by --vram', async () => {
    hub.requests.length = 0;
    const result = await runCli(
      [
        'models',
        'fit',
        'stackctl/llama-public',
        '--vram',
        '24',
        '--gpus',
        '1',
        '--max-model-len',
        '16384',
        '--json',
      ],
      { cwd: project.root, env: { HF_ENDPOINT: hub.endpoint, PATH: PATH_WITHOUT_NVIDIA_SMI } },
    );
    expect(result.exitCode, result.stderr).toBe(0);
    const plan = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(plan).toMatchObject({
      model: 'stackctl/llama-public',
      revision: hub.sha,
      fits: true,
      verdict: 'fits',
      tensorParallel: 1,
      maxModelLen: 16384,
      weightsBytes: llamaBytes,
      kvBytesPerToken: 131_072,
      fix: {},
    });
    const perGpu = plan['perGpu'] as Record<string, number>;
    for (const key of ['totalGiB', 'budgetGiB', 'weightsGiB', 'runtimeGiB', 'kvCacheGiB'])
      expect(typeof perGpu[key]).toBe('number');
    expect(perGpu['totalGiB']).toBeCloseTo(23.58, 2);
    const kvTokens = plan['kvTokens'] as number;
    expect(kvTokens % 16).toBe(0);
    expect(Math.abs(kvTokens - (perGpu['kvCacheGiB']! * 2 ** 30) / 131_072)).toBeLessThan(0.01 * kvTokens);
    // Only headers crossed the wire: every shard request was a small byte range.
    const shardRequests = hub.requests.filter((r) => r.path.endsWith('.safetensors'));
    expect(shardRequests.length).toBeGreaterThan(0);
    for (const request of shardRequests.filter((r) => r.origin === 'storage')) {
      expect(request.range).toMatch(/^bytes=\d+-\d+$/);
      expect(request.bytes).toBeLessThan(100_000);
    }
  });

  it('sends the token to the hub only, never to the storage it redirects to, and never prints it', async () => {
    hub.requests.length = 0;
    const refused = await runCli(['models', 'fit', 'meta-llama/Llama-3.1-8B-Instruct', '--vram', '24'], {
      cwd: project.root,
      env: { HF_ENDPOINT: hub.endpoint, PATH: PATH_WITHOUT_NVIDIA_SMI },
    });
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/gated or private \(HTTP 401\): a Hugging Face token is needed/);
    expect(refused.stderr).toMatch(/stackctl secrets set HF_TOKEN/);

    hub.requests.length = 0;
    const allowed = await runCli(
      [
        'models',
        'fit',
        'meta-llama/Llama-3.1-8B-Instruct',
        '--vram',
        '24',
        '--max-model-len',
        '8192',
        '--json',
      ],
      {
        cwd: project.root,
        env: { HF_ENDPOINT: hub.endpoint, HF_TOKEN: TOKEN, PATH: PATH_WITHOUT_NVIDIA_SMI },
      },
    );
    expect(allowed.exitCode, allowed.stderr).toBe(0);
    expect(`${allowed.stdout}${allowed.stderr}`).not.toContain(TOKEN);
    const toHub = hub.requests.filter((r) => r.origin === 'hub');
    const toStorage = hub.requests.filter((r) => r.origin === 'storage');
    expect(toStorage.length).toBeGreaterThan(0);
    expect(toHub.every((r) => r.authorization === `Bearer ${TOKEN}`)).toBe(true);
    expect(toStorage.every((r) => r.authorization === undefined)).toBe(true);
  });

  it("takes the environment's model and settings and this host's GPUs; exit 3 with the variable to set when it will not start", async () => {
    const result = await runCli(
      [
        'models',
        'fit',
        '--env',
        'production',
        '--tp',
        '1',
        '--max-model-len',
        '29000',
        '--gpu-memory-utilization',
        '0.9',
      ],
      { cwd: project.root, env: { ...smi } },
    );
    expect(result.exitCode, result.stderr).toBe(3);
    expect(result.stdout).toContain(
      '/models/llama-3.1-8b: LlamaForCausalLM, 14.96 GiB of weights in 4 files',
    );
    expect(result.stdout).toMatch(/vLLM V0: tensor parallel 1, max-model-len 29000/);
    expect(result.stdout).toMatch(
      /GPU 0 NVIDIA GeForce RTX 3090: 23\.58 GiB; budget 21\.22 = weights 14\.96/,
    );
    expect(result.stdout).toContain('✖ will not start');
    expect(result.stdout).toMatch(/max-model-len 29000 is more than the \d+ tokens the KV cache holds/);
    expect(result.stdout).toMatch(
      /fix: VLLM_GPU_MEMORY_UTILIZATION=0\.9\d \(--gpu-memory-utilization 0\.9\d\)/,
    );
    expect(result.stdout).toMatch(
      /or: .*--kv-cache-dtype fp8.*VLLM_MAX_MODEL_LEN=\d+ \(--max-model-len \d+\)/,
    );
  });

  it('fits across both cards at tensor parallel 2 (the production profile), judged per card', async () => {
    const result = await runCli(
      ['models', 'fit', '--env', 'production', '--max-model-len', '29000', '--json'],
      {
        cwd: project.root,
        env: { ...smi },
      },
    );
    expect(result.exitCode, result.stderr).toBe(0);
    const plan = JSON.parse(result.stdout) as {
      gpus: { index: number; weightsGiB: number }[];
      tensorParallel: number;
    };
    expect(plan.tensorParallel).toBe(2);
    expect(plan.gpus.map((gpu) => gpu.index)).toEqual([0, 1]);
    expect(plan.gpus[0]!.weightsGiB).toBeCloseTo(14.96 / 2, 1);
  });

  it('names what is wrong with a folder that is not a model, and a model that is not there', async () => {
    const empty = join(project.root, 'not-a-model');
    await mkdir(empty, { recursive: true });
    await writeFile(join(empty, 'config.json'), await readFile(LLAMA_CONFIG));
    const noWeights = await runCli(['models', 'fit', empty, '--vram', '24'], { cwd: project.root });
    expect(noWeights.exitCode).toBe(2);
    expect(noWeights.stderr).toMatch(/has no \*\.safetensors/);
    const missing = await runCli(['models', 'fit', 'nobody/nothing', '--vram', '24'], {
      cwd: project.root,
      env: { HF_ENDPOINT: hub.endpoint },
    });
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/was not found on http:\/\/127\.0\.0\.1/);
    const noGpu = await runCli(['models', 'fit', 'stackctl/llama-public'], {
      cwd: project.root,
      env: { HF_ENDPOINT: hub.endpoint, PATH: PATH_WITHOUT_NVIDIA_SMI },
    });
    expect(noGpu.exitCode).toBe(2);
    expect(noGpu.stderr).toMatch(/nvidia-smi is not on PATH/);
    expect(noGpu.stderr).toMatch(/--vram 24 --gpus 2/);
  });

  it('preflight and start run the same check on the GPUs the layout uses, and stop before anything starts', async () => {
    const gpuHost = await fakeNvidiaSmiEnv({
      query: 'query-gpu-csv-4xa100-index-name-memtotal-cc-driver-01.txt',
      topo: 'topo-2x3090-nv4-01.txt',
      other: 'smi-table-2x3090-driver560-01.txt',
    });
    const fits = await runCli(['preflight', 'production', '--json'], { cwd: project.root, env: gpuHost });
    const report = JSON.parse(fits.stdout) as { checks: { id: string; status: string; message: string }[] };
    const fit = report.checks.find((check) => check.id === 'model-fit.vllm');
    expect(fit?.status).toBe('pass');
    expect(fit?.message).toMatch(/^vllm: \/models\/llama-3\.1-8b fits: [\d.]+ GiB of KV cache per GPU/);

    // A context longer than the model was built for: vLLM would refuse it after the download.
    const schemaPath = join(project.root, 'schemas', 'compose-schema.yaml');
    const schema = await readFile(schemaPath, 'utf8');
    await writeFile(schemaPath, schema.replace(/(VLLM_MAX_MODEL_LEN: \{[^}]*default: )1024/, '$1200000'));
    try {
      const refused = await runCli(['preflight', 'production'], { cwd: project.root, env: gpuHost });
      expect(refused.exitCode).toBe(3);
      expect(refused.stdout).toMatch(
        /✖ model-fit\.vllm +vllm: \/models\/llama-3\.1-8b will not start: max-model-len 200000 is longer than the 131072 tokens/,
      );
      expect(refused.stdout).toContain("fix: set VLLM_MAX_MODEL_LEN: 131072 in the environment's variables");
      const started = await runCli(['start', 'production'], { cwd: project.root, env: gpuHost });
      expect(started.exitCode).toBe(3);
      expect(started.stdout + started.stderr).toMatch(/model-fit\.vllm/);
      const { stdout } = await execa('docker', [
        'ps',
        '-aq',
        '--filter',
        `label=com.docker.compose.project=${composeProject()}`,
      ]);
      expect(stdout.trim()).toBe('');
    } finally {
      await writeFile(schemaPath, schema);
    }
  });

  it('says when vLLM should not use its custom all-reduce: two 3090s over PCIe with a P2P-patched driver', async () => {
    const patched = await fakeNvidiaSmiEnv({
      query: 'query-gpu-csv-4xa100-index-name-memtotal-cc-driver-01.txt',
      topo: 'topo-2x3090-phb-tabs-01.txt',
      p2p: 'topo-p2p-2x3090-ok-patched-01.txt',
      other: 'smi-table-2x3090-driver560-01.txt',
    });
    const result = await runCli(['preflight', 'production', '--gpu', 'multi', '--json'], {
      cwd: project.root,
      env: patched,
    });
    const report = JSON.parse(result.stdout) as {
      checks: { id: string; status: string; message: string; fix: string }[];
    };
    const check = report.checks.find((entry) => entry.id === 'gpu.all-reduce.vllm');
    expect(check).toMatchObject({
      status: 'warn',
      fix: expect.stringMatching(/--disable-custom-all-reduce/) as string,
    });
    expect(check?.message).toMatch(/GPU 0 and 1 reach each other over PCIe with peer-to-peer on/);
  });
});
