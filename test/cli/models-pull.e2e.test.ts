// stackctl models pull: from a hub on loopback into the environment's real vLLM cache volume (the
// service's image swapped for a test image through compose/local.override.yml, as a user would).
import { execa } from 'execa';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, stackctlCommand } from '../helpers/cli.js';
import { PATH_WITHOUT_NVIDIA_SMI } from '../helpers/fake-nvidia-smi.js';
import { startHub, type FakeHub } from '../helpers/hf-hub.js';
import { freePort, shippedProject, type TempProject } from '../helpers/project.js';
import { safetensorsFile } from '../helpers/safetensors.js';
import { inVolume as scriptInVolume } from '../helpers/one-off.js';
import { Terminal } from '../helpers/terminal.js';
import { removeByLabel } from '../helpers/stack-project.js';

const IMAGE = 'stackctl-test/busybox:1';
const TOKEN = 'hf_pulltokenwhichmustneverbeprinted42';
const name = `mpull${process.pid}`;
const volume = `${name}-development_vllm_cache`;
const modeltestVolume = `${name}-modeltest_vllm_cache`;
const repoDir = '/v/hub/models--stackctl--tiny';

let project: TempProject;
let hub: FakeHub;
let slowHub: FakeHub;
let flakyHub: FakeHub;
const weights = safetensorsFile([{ name: 'w', shape: [1024, 1024], dtype: 'F32' }], 7);
const files = {
  'config.json': Buffer.from('{"architectures": ["LlamaForCausalLM"], "hidden_size": 64}'),
  'tokenizer.json': Buffer.from('{"version": "1.0"}'),
  'model.safetensors': weights,
  'pytorch_model.bin': Buffer.from('not wanted when safetensors are there'),
};

/** A shell command run in the cache volume (the test image), its stdout. */
async function inVolume(script: string, inside = volume): Promise<string> {
  return scriptInVolume(inside, script);
}

const sha256 = (content: Buffer): string => createHash('sha256').update(content).digest('hex');

beforeAll(async () => {
  project = await shippedProject();
  const schemaPath = join(project.root, 'schemas', 'compose-schema.yaml');
  const schema = await readFile(schemaPath, 'utf8');
  await writeFile(
    schemaPath,
    schema
      .replace('name: multimodal\n', `name: ${name}\n`)
      .replace('default: microsoft/DialoGPT-medium', 'default: stackctl/tiny')
      .replace('addressPool: 10.30.0.0/20', 'addressPool: 10.251.0.0/20')
      // An environment of the model server alone, for a switch that restarts nothing else.
      .replace(
        '\n  staging:\n',
        '\n  modeltest:\n    description: The model server alone\n    gpu: { required: false, profile: cpu }\n    memoryMinimumGb: 1\n    addressPool: 10.251.32.0/20\n    services: [vllm]\n\n  staging:\n',
      ),
  );
  await mkdir(join(project.root, 'compose'), { recursive: true });
  // vLLM itself cannot run here: a test image that sleeps, healthy at once, stands in for it.
  await writeFile(
    join(project.root, 'compose', 'local.override.yml'),
    [
      'services:',
      '  vllm:',
      `    image: ${IMAGE}`,
      `    entrypoint: ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 1; done']`,
      '    command: !reset []',
      `    ports: !override ['127.0.0.1:${await freePort()}:8000']`,
      // Healthy unless it serves stackctl/broken: a model switch that never comes up.
      "    environment: { VLLM_MODEL: '${VLLM_MODEL}' }",
      `    healthcheck: { test: ['CMD-SHELL', 'test "$$VLLM_MODEL" != stackctl/broken'], interval: 1s, start_period: 0s }`,
      '',
    ].join('\n'),
  );
  hub = await startHub({
    'stackctl/tiny': { files },
    'stackctl/gated': { files, token: TOKEN },
    'stackctl/corrupt': { files, wrongChecksum: ['model.safetensors'] },
    'stackctl/broken': { files },
  });
  // The connection drops twice in the middle of the weights.
  flakyHub = await startHub(
    {
      'stackctl/flaky': {
        files: { 'config.json': files['config.json'], 'model.safetensors': randomBytes(3 * 2 ** 20) },
      },
    },
    { drop: { answers: 2, afterBytes: 2 ** 20 } },
  );
  // 4 MiB of weights at 512 KiB/s: about 8 seconds, long enough to watch and to kill.
  slowHub = await startHub(
    {
      'stackctl/slow': {
        files: { 'config.json': files['config.json'], 'model.safetensors': randomBytes(4 * 2 ** 20) },
      },
    },
    { bytesPerSecond: 512 * 1024 },
  );
});

afterAll(async () => {
  await hub?.close();
  await flakyHub?.close();
  await slowHub?.close();
  await removeByLabel(`io.stackctl.project=${name}`);
  await execa('docker', ['volume', 'rm', '-f', volume, modeltestVolume], { reject: false });
  await project?.remove();
});

describe('stackctl models pull', () => {
  it("fills the vLLM cache volume in huggingface_hub's layout, checked, and the second pull fetches nothing", async () => {
    const result = await runCli(['models', 'pull', '--env', 'development'], {
      cwd: project.root,
      env: { HF_ENDPOINT: hub.endpoint },
    });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(
      new RegExp(`✔ stackctl/tiny@${hub.sha.slice(0, 12)} is in volume ${volume}: 3 files downloaded`),
    );
    const blob = sha256(weights);
    expect(await inVolume(`readlink ${repoDir}/snapshots/${hub.sha}/model.safetensors`)).toBe(
      `../../blobs/${blob}`,
    );
    expect(
      await inVolume(`sha256sum ${repoDir}/snapshots/${hub.sha}/model.safetensors | cut -d' ' -f1`),
    ).toBe(blob);
    expect(await inVolume(`cat ${repoDir}/snapshots/${hub.sha}/config.json`)).toBe(
      files['config.json'].toString(),
    );
    expect(await inVolume(`cat ${repoDir}/refs/main`)).toBe(hub.sha);
    expect(await inVolume(`ls ${repoDir}/snapshots/${hub.sha} | sort | tr '\\n' ' '`)).toBe(
      'config.json model.safetensors tokenizer.json',
    );
    expect(await inVolume(`find ${repoDir} -name '*.incomplete' | wc -l`)).toBe('0');
    // compose adopts the volume stackctl created: its labels are compose's.
    const { stdout: labels } = await execa('docker', [
      'volume',
      'inspect',
      volume,
      '--format',
      '{{json .Labels}}',
    ]);
    expect(JSON.parse(labels)).toMatchObject({
      'com.docker.compose.project': `${name}-development`,
      'com.docker.compose.volume': 'vllm_cache',
    });

    hub.requests.length = 0;
    const again = await runCli(['models', 'pull', '--env', 'development', '--json'], {
      cwd: project.root,
      env: { HF_ENDPOINT: hub.endpoint },
    });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ downloadedBytes: 0, sha: hub.sha });
    expect(hub.requests.filter((r) => r.path.includes('/resolve/'))).toEqual([]);
    const { stdout: helpers } = await execa('docker', [
      'ps',
      '-aq',
      '--filter',
      `label=io.stackctl.project=${name}`,
    ]);
    expect(helpers.trim()).toBe('');
  });

  it('refuses a file whose bytes do not match the sha256 the hub lists, and keeps nothing of it', async () => {
    const result = await runCli(['models', 'pull', 'stackctl/corrupt', '--env', 'development'], {
      cwd: project.root,
      env: { HF_ENDPOINT: hub.endpoint },
    });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(
      /stackctl\/corrupt\/model\.safetensors does not match the hub's checksum .*refused, nothing of it kept/,
    );
    const dir = '/v/hub/models--stackctl--corrupt';
    expect(await inVolume(`ls ${dir}/blobs | wc -l; ls ${dir}/snapshots 2>/dev/null | wc -l`)).toBe('2\n0');
    expect(await inVolume(`find ${dir} -name '*.incomplete' | wc -l`)).toBe('0');
  });

  it('a gated model takes the stored token (stdin only), sent to the hub alone and never printed', async () => {
    const refused = await runCli(['models', 'pull', 'stackctl/gated', '--env', 'development'], {
      cwd: project.root,
      env: { HF_ENDPOINT: hub.endpoint },
    });
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/gated or private \(HTTP 401\)/);
    expect(refused.stderr).toMatch(/stackctl secrets set ENV HF_TOKEN/);

    const stored = await runCli(['secrets', 'set', 'development', 'HF_TOKEN'], {
      cwd: project.root,
      input: TOKEN,
    });
    expect(stored.exitCode, stored.stderr).toBe(0);
    hub.requests.length = 0;
    const pulled = await runCli(['models', 'pull', 'stackctl/gated', '--env', 'development'], {
      cwd: project.root,
      env: { HF_ENDPOINT: hub.endpoint },
    });
    expect(pulled.exitCode, pulled.stderr).toBe(0);
    expect(pulled.stdout + pulled.stderr).not.toContain(TOKEN);
    expect(
      hub.requests.filter((r) => r.origin === 'hub').every((r) => r.authorization === `Bearer ${TOKEN}`),
    ).toBe(true);
    expect(
      hub.requests.filter((r) => r.origin === 'storage').every((r) => r.authorization === undefined),
    ).toBe(true);
  });

  it('resumes in the same run when the connection drops mid-file, from the bytes it has', async () => {
    const result = await runCli(['models', 'pull', 'stackctl/flaky', '--env', 'development'], {
      cwd: project.root,
      env: { HF_ENDPOINT: flakyHub.endpoint },
    });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr.match(/⚠ model\.safetensors: .*; resuming/g)).toHaveLength(2);
    // Each retry asks from the bytes the volume holds: what arrived before the drop (the
    // connection's last bytes in flight may be lost with it, never written twice).
    const ranges = flakyHub.requests.filter((r) => r.origin === 'storage').map((r) => r.range);
    expect(ranges).toHaveLength(3);
    expect(ranges[0]).toBeUndefined();
    const starts = ranges.slice(1).map((range) => Number(/^bytes=(\d+)-$/.exec(range ?? '')?.[1]));
    expect(starts[0]).toBeGreaterThan(0);
    expect(starts[0]).toBeLessThanOrEqual(2 ** 20);
    expect(starts[1]).toBeGreaterThan(starts[0]!);
    expect(starts[1]).toBeLessThanOrEqual(starts[0]! + 2 ** 20);
    expect(await inVolume('find /v/hub/models--stackctl--flaky -name "*.incomplete" | wc -l')).toBe('0');
    expect(await inVolume('ls /v/hub/models--stackctl--flaky/snapshots/*/ | sort | tr "\\n" " "')).toBe(
      'config.json model.safetensors',
    );
  });

  it('resumes after kill -9 from the bytes already in the volume, and removes the helper the killed run left', async () => {
    const killed = execa(stackctlCommand(), ['models', 'pull', 'stackctl/slow', '--env', 'development'], {
      cwd: project.root,
      env: { HF_ENDPOINT: slowHub.endpoint, NO_COLOR: '1' },
      reject: false,
    });
    const deadline = Date.now() + 30_000;
    const received = () =>
      slowHub.requests.filter((r) => r.origin === 'storage').reduce((sum, r) => sum + r.bytes, 0);
    while (received() < 1.5 * 2 ** 20 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    killed.kill('SIGKILL');
    await killed;
    const partial = Number(await inVolume('stat -c %s /v/hub/models--stackctl--slow/blobs/*.incomplete'));
    expect(partial).toBeGreaterThan(2 ** 20);
    expect(partial).toBeLessThan(4 * 2 ** 20);

    slowHub.requests.length = 0;
    const resumed = await runCli(['models', 'pull', 'stackctl/slow', '--env', 'development'], {
      cwd: project.root,
      env: { HF_ENDPOINT: slowHub.endpoint },
    });
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    const ranges = slowHub.requests.filter((r) => r.origin === 'storage').map((r) => r.range);
    expect(ranges).toEqual([`bytes=${partial}-`]);
    const { stdout: helpers } = await execa('docker', [
      'ps',
      '-aq',
      '--filter',
      `label=io.stackctl.project=${name}`,
    ]);
    expect(helpers.trim()).toBe('');
    expect(await inVolume('find /v/hub/models--stackctl--slow -name "*.incomplete" | wc -l')).toBe('0');
  }, 60_000);

  it('shows bytes, rate and time left on a terminal, and Ctrl-C stops it with 130, resumable', async () => {
    await execa('docker', [
      'run',
      '--rm',
      '-v',
      `${volume}:/v`,
      IMAGE,
      'rm',
      '-rf',
      '/v/hub/models--stackctl--slow',
    ]);
    const terminal = await Terminal.open(
      [stackctlCommand(), 'models', 'pull', 'stackctl/slow', '--env', 'development'],
      {
        cwd: project.root,
        env: { HF_ENDPOINT: slowHub.endpoint },
        columns: 120,
      },
    );
    try {
      const screen = await terminal.waitFor(
        /\[#*\.*\] [\d.]+ (KiB|MiB) \/ 4\.00 MiB +[\d.]+ (KiB|MiB)\/s +ETA \d+s/,
      );
      expect(screen).toContain('model.safetensors');
      expect(screen).toMatch(/stackctl\/slow@[0-9a-f]{12}: 2 files, 0 already in the cache/);
      await terminal.send('C-c');
      expect(await terminal.exitCode(15_000)).toBe(130);
    } finally {
      await terminal.close();
    }
    const partial = Number(await inVolume('stat -c %s /v/hub/models--stackctl--slow/blobs/*.incomplete'));
    expect(partial).toBeGreaterThan(0);
    const { stdout: helpers } = await execa('docker', [
      'ps',
      '-aq',
      '--filter',
      `label=io.stackctl.project=${name}`,
    ]);
    expect(helpers.trim()).toBe('');
  }, 60_000);

  it('lists what the cache volume holds, and removes a model only when asked and not served', async () => {
    const listed = await runCli(['models', 'list', '--env', 'development', '--json'], { cwd: project.root });
    expect(listed.exitCode, listed.stderr).toBe(0);
    const [listing] = JSON.parse(listed.stdout) as {
      volume: string;
      exists: boolean;
      models: {
        repo: string;
        bytes: number;
        refs: Record<string, string>;
        partialFiles: number;
        inUse: boolean;
      }[];
    }[];
    expect(listing).toMatchObject({ volume, exists: true });
    const tiny = listing!.models.find((model) => model.repo === 'stackctl/tiny');
    expect(tiny).toEqual({
      repo: 'stackctl/tiny',
      bytes: files['config.json'].length + files['tokenizer.json'].length + weights.length,
      refs: { main: hub.sha },
      snapshots: [hub.sha],
      partialFiles: 0,
      inUse: true,
    });
    expect(listing!.models.find((model) => model.repo === 'stackctl/slow')?.partialFiles).toBe(1);
    expect(listing!.models.find((model) => model.repo === 'stackctl/gated')?.inUse).toBe(false);

    const table = await runCli(['models', 'list'], { cwd: project.root });
    expect(table.stdout).toMatch(
      /development +stackctl\/tiny +main=[0-9a-f]{12} +[\d.]+ MiB +complete +served/,
    );
    expect(table.stdout).toMatch(/development +stackctl\/slow .*partial \(1 file to resume\)/);

    const served = await runCli(['models', 'remove', 'stackctl/tiny', '--env', 'development', '--yes'], {
      cwd: project.root,
    });
    expect(served.exitCode).toBe(4);
    expect(served.stderr).toMatch(/development serves stackctl\/tiny \(VLLM_MODEL\): it stays in the cache/);
    const unasked = await runCli(['models', 'remove', 'stackctl/gated', '--env', 'development'], {
      cwd: project.root,
    });
    expect(unasked.exitCode).toBe(4);
    expect(unasked.stderr).toMatch(/refused without a terminal to confirm on/);
    expect(await inVolume('ls -d /v/hub/models--stackctl--gated')).toBe('/v/hub/models--stackctl--gated');
    const removed = await runCli(['models', 'remove', 'stackctl/gated', '--env', 'development', '--yes'], {
      cwd: project.root,
    });
    expect(removed.exitCode, removed.stderr).toBe(0);
    expect(removed.stdout).toMatch(/✔ removed stackctl\/gated \([\d.]+ MiB\)/);
    expect(await inVolume('ls /v/hub | tr "\\n" " "')).not.toContain('models--stackctl--gated');
    expect(await inVolume('ls -d /v/hub/models--stackctl--tiny')).toBe('/v/hub/models--stackctl--tiny');
    const absent = await runCli(['models', 'remove', 'stackctl/gated', '--env', 'development', '--yes'], {
      cwd: project.root,
    });
    expect(absent.exitCode).toBe(2);
    expect(absent.stderr).toMatch(/is not in development's cache volume/);
  }, 60_000);

  it('start pulls the model before vLLM starts, and a start with it in place asks the hub nothing', async () => {
    await inVolume(`rm -rf ${repoDir}`);
    await rm(join(project.root, '.stackctl', 'model-development.json'), { force: true });
    hub.requests.length = 0;
    const args = ['start', 'development', '--service', 'vllm', '--gpu', 'cpu', '--skip-preflight'];
    const started = await runCli(args, { cwd: project.root, env: { HF_ENDPOINT: hub.endpoint } });
    expect(started.exitCode, started.stderr).toBe(0);
    expect(started.stdout + started.stderr).toMatch(
      /Pulled stackctl\/tiny@[0-9a-f]{12} \([\d.]+ MiB\) before vLLM starts/,
    );
    expect(await inVolume(`cat ${repoDir}/refs/main`)).toBe(hub.sha);
    const record = JSON.parse(
      await readFile(join(project.root, '.stackctl', 'model-development.json'), 'utf8'),
    ) as Record<string, string>;
    expect(record).toMatchObject({ repo: 'stackctl/tiny', revision: 'main', sha: hub.sha, volume });

    expect((await runCli(['stop', 'development'], { cwd: project.root })).exitCode).toBe(0);
    hub.requests.length = 0;
    const again = await runCli(args, { cwd: project.root, env: { HF_ENDPOINT: hub.endpoint } });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(hub.requests).toEqual([]);
    expect(again.stdout + again.stderr).not.toMatch(/Pulled/);
  }, 120_000);

  it('a start whose model cannot be pulled says so and goes on: vLLM downloads it itself', async () => {
    await rm(join(project.root, '.stackctl', 'model-development.json'), { force: true });
    const result = await runCli(
      ['start', 'development', '--service', 'vllm', '--gpu', 'cpu', '--skip-preflight'],
      {
        cwd: project.root,
        env: { HF_ENDPOINT: 'http://127.0.0.1:9' },
      },
    );
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout + result.stderr).toMatch(
      /⚠ stackctl\/tiny could not be pulled \(cannot reach http:\/\/127\.0\.0\.1:9.*\): vLLM will download it itself, inside its health wait; pull it first: stackctl models pull --env development/,
    );
    expect((await runCli(['stop', 'development'], { cwd: project.root })).exitCode).toBe(0);
  }, 120_000);

  it('switch pulls the model, sets it in the schema and restarts vLLM; one that never comes up is rolled back', async () => {
    const schemaPath = join(project.root, 'schemas', 'compose-schema.yaml');
    // Each environment has its own store: the gated model needs the token in modeltest's too.
    const stored = await runCli(['secrets', 'set', 'modeltest', 'HF_TOKEN'], {
      cwd: project.root,
      input: TOKEN,
    });
    expect(stored.exitCode, stored.stderr).toBe(0);
    const switched = await runCli(['models', 'switch', 'modeltest', 'stackctl/gated'], {
      cwd: project.root,
      env: { HF_ENDPOINT: hub.endpoint, PATH: PATH_WITHOUT_NVIDIA_SMI },
    });
    expect(switched.exitCode, switched.stderr).toBe(0);
    expect(switched.stderr).toMatch(
      /whether stackctl\/gated fits the GPUs was not checked: .*nvidia-smi is not on PATH/,
    );
    expect(switched.stderr).toMatch(
      /Set VLLM_MODEL: stackctl\/gated in schemas\/compose-schema\.yaml \(environments\.modeltest\.variables\)/,
    );
    expect(switched.stdout).toMatch(
      /✔ modeltest serves stackctl\/gated \(was stackctl\/tiny\); restarted vllm$/,
    );
    const schema = await readFile(schemaPath, 'utf8');
    expect(schema).toContain('    services: [vllm]\n    variables:\n      VLLM_MODEL: stackctl/gated\n');
    expect(await inVolume(`cat /v/hub/models--stackctl--gated/refs/main`, modeltestVolume)).toBe(hub.sha);
    expect(await containerModel()).toBe('stackctl/gated');

    const broken = await runCli(['models', 'switch', 'modeltest', 'stackctl/broken', '--timeout', '8s'], {
      cwd: project.root,
      env: { HF_ENDPOINT: hub.endpoint, PATH: PATH_WITHOUT_NVIDIA_SMI },
    });
    expect(broken.exitCode).toBe(1);
    expect(broken.stderr).toMatch(/⚠ stackctl\/broken did not come up .*: putting the previous model back/);
    expect(broken.stderr).toMatch(/stackctl\/broken did not come up; modeltest is back on stackctl\/gated/);
    expect(await readFile(schemaPath, 'utf8')).toBe(schema);
    expect(await containerModel()).toBe('stackctl/gated');
    const status = await runCli(['status', 'modeltest', '--json'], { cwd: project.root });
    expect(status.stdout).toMatch(/"healthy"/);
    expect(status.stdout).not.toMatch(/"unhealthy"|"starting"/);
  }, 180_000);
});

/** VLLM_MODEL inside the running vLLM stand-in. */
async function containerModel(): Promise<string> {
  const { stdout } = await execa('docker', [
    'ps',
    '--filter',
    `label=com.docker.compose.project=${name}-modeltest`,
    '--filter',
    'label=com.docker.compose.service=vllm',
    '--format',
    '{{.ID}}',
  ]);
  const id = stdout.trim().split('\n')[0] ?? '';
  return (await execa('docker', ['exec', id, 'sh', '-c', 'echo "$VLLM_MODEL"'])).stdout.trim();
}
