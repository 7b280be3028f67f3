import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HOST_FIXTURES } from './paths.js';

/** What the fake prints: real outputs from test/fixtures/host/nvidia-smi, per command. */
export interface FakeNvidiaSmi {
  /** Output of `--query-gpu=...`. */
  readonly query?: string;
  readonly queryExit?: number;
  /** Output of `topo -m`. */
  readonly topo?: string;
  readonly topoExit?: number;
  /** Output of `topo -p2p r` (nothing, exit 0, when not given). */
  readonly p2p?: string;
  /** Output for any other arguments. */
  readonly other?: string;
  readonly otherExit?: number;
}

const SCRIPT = `#!/bin/sh
# Fake nvidia-smi for tests: prints a real, saved nvidia-smi output chosen by its arguments.
case "$1" in
  --query-gpu=*) file="$FAKE_SMI_QUERY"; code="$FAKE_SMI_QUERY_EXIT" ;;
  topo) if [ "$2" = "-p2p" ]; then file="$FAKE_SMI_P2P"; code=0; else file="$FAKE_SMI_TOPO"; code="$FAKE_SMI_TOPO_EXIT"; fi ;;
  *) file="$FAKE_SMI_OTHER"; code="$FAKE_SMI_OTHER_EXIT" ;;
esac
[ -n "$FAKE_SMI_LOG" ] && echo "$*" >> "$FAKE_SMI_LOG"
[ -n "$file" ] && cat "$file"
exit "\${code:-0}"
`;

let binDir: Promise<string> | undefined;

async function createBinDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'stackctl-fake-smi-'));
  await writeFile(join(dir, 'nvidia-smi'), SCRIPT);
  await chmod(join(dir, 'nvidia-smi'), 0o755);
  return dir;
}

/** Environment variables that put the fake first on PATH with these outputs. */
export async function fakeNvidiaSmiEnv(fake: FakeNvidiaSmi): Promise<Record<string, string>> {
  binDir ??= createBinDir();
  const fixture = (name: string | undefined): string =>
    name === undefined ? '' : join(HOST_FIXTURES, 'nvidia-smi', name);
  return {
    PATH: `${await binDir}:${process.env['PATH'] ?? ''}`,
    FAKE_SMI_QUERY: fixture(fake.query),
    FAKE_SMI_QUERY_EXIT: String(fake.queryExit ?? 0),
    FAKE_SMI_TOPO: fixture(fake.topo),
    FAKE_SMI_TOPO_EXIT: String(fake.topoExit ?? 0),
    FAKE_SMI_P2P: fixture(fake.p2p),
    FAKE_SMI_OTHER: fixture(fake.other),
    FAKE_SMI_OTHER_EXIT: String(fake.otherExit ?? 0),
  };
}

/** A PATH without any nvidia-smi: the system folders only. */
export const PATH_WITHOUT_NVIDIA_SMI = '/usr/local/bin:/usr/bin:/bin';
