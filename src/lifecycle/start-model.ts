// A start's model step: vLLM's model goes into its cache volume before the service starts, so the
// health budget measures vLLM, not the network. What a pull (or an earlier start) put there is
// recorded, so a start with the model in place asks nothing of the hub or the volume.
import { readPulledModel } from '../effects/state.js';
import { volumeExists } from '../effects/volume-shell.js';
import type { EnvironmentModel } from '../model/environment.js';
import { hfCacheMountOf } from '../plan/hf-cache.js';
import { vllmSettingsOf } from '../plan/vllm-settings.js';
import { bytesText, transferLine } from '../ui/transfer.js';
import { fillCache, hubModelId, recordPull } from './model-pull.js';
import type { ResolvedRun } from './run.js';
import type { StartIo, StartView } from './start-types.js';

export async function pullBeforeStart(
  run: ResolvedRun,
  model: EnvironmentModel,
  services: readonly string[],
  readEffective: (model: EnvironmentModel) => Promise<unknown>,
  io: StartIo,
  view: StartView,
): Promise<void> {
  const vllm = vllmSettingsOf(model);
  if (!vllm || !services.includes(vllm.service)) return;
  const id = hubModelId(vllm.model ?? '');
  if (!id) return;
  const mount = hfCacheMountOf(await readEffective(model), vllm.service);
  if (!mount) return;
  const recorded = await readPulledModel(run.stack.root, run.envName);
  if (
    recorded?.repo === id.repo &&
    recorded.revision === id.revision &&
    recorded.volume === mount.volumeName &&
    (await volumeExists(mount.volumeName, io))
  )
    return;
  const later = `pull it first: stackctl models pull --env ${run.envName}`;
  if (io.env['HF_HUB_OFFLINE'] === '1') {
    view.note(`⚠ ${id.repo} was not pulled (HF_HUB_OFFLINE=1): vLLM will look for it in its cache; ${later}`);
    return;
  }
  const progress = view.progress(`Pulling ${id.repo} into ${mount.volumeName} before vLLM starts`);
  const started = Date.now();
  let lastDraw = 0;
  try {
    const context = {
      model,
      service: vllm.service,
      vllmModel: vllm.model,
      served: id.repo,
      hfToken: run.store?.secrets['HF_TOKEN']?.value,
      mount,
    };
    const outcome = await fillCache(context, id, io, {
      planned: () => undefined,
      progress: ({ file, doneBytes, totalBytes }) => {
        const now = Date.now();
        if (now - lastDraw < 100) return;
        lastDraw = now;
        progress?.update(
          `Pulling ${id.repo}: ${file} ${transferLine({ doneBytes, totalBytes, elapsedMs: now - started })}`,
        );
      },
      fileDone: () => undefined,
      retrying: (file, reason) => view.note(`⚠ ${file}: ${reason}; resuming`),
    });
    await recordPull(run.stack.root, run.envName, outcome);
    if (outcome.downloadedBytes > 0)
      view.note(
        `Pulled ${id.repo}@${outcome.sha.slice(0, 12)} (${bytesText(outcome.downloadedBytes)}) before vLLM starts`,
      );
  } catch (error) {
    if (io.signal.aborted) throw error;
    view.note(
      `⚠ ${id.repo} could not be pulled (${(error as Error).message}): vLLM will download it itself, inside its health wait; ${later}`,
    );
  } finally {
    progress?.stop();
  }
}
