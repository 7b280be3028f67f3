// Rotations made while an environment was down, applied by start as soon as their service is ready.
import type Docker from 'dockerode';
import { StackctlError } from '../errors.js';
import {
  applyInService,
  credentialOpens,
  liveRotation,
  readPendingRotations,
  runningContainer,
  writePendingRotations,
} from '../effects/rotation.js';
import type { EnvironmentModel } from '../model/environment.js';
import { interpolate } from '../schema/interpolate.js';
import type { StackFile } from '../schema/types.js';
import type { PreparedGeneration } from './generation.js';
import type { StartIo, StartView } from './start-types.js';

/**
 * Rotations made while the environment was down (a database role's password): applied as soon as
 * the service that keeps them is ready, before anything that waits for it starts.
 */
export class PendingRotations {
  private pending: Awaited<ReturnType<typeof readPendingRotations>> = [];

  constructor(
    private readonly root: string,
    private readonly file: StackFile,
    private readonly model: EnvironmentModel,
    private readonly prepared: PreparedGeneration,
    private readonly docker: Docker,
    private readonly io: StartIo,
    private readonly view: StartView,
  ) {}

  async load(): Promise<void> {
    this.pending = await readPendingRotations(this.root, this.model.name);
  }

  /** Credential checks under way: the start is not reported done before they are. */
  private readonly checks: Promise<void>[] = [];

  /**
   * Checks, beside the start (off its critical path), that each credential the store holds for a
   * service that keeps it in its data (a database role's password) still opens it: a config
   * restore or a hand edit can leave a value the database never had.
   */
  checkFor(service: string, onFailure: (error: StackctlError) => void): void {
    const store = this.prepared.stores.get(this.model.name);
    for (const [name, def] of Object.entries(this.file.variables)) {
      if (def.type !== 'secret' || def.rotation?.service !== service) continue;
      const role =
        def.rotation.role === undefined ? undefined : interpolate(def.rotation.role, this.model.values).value;
      const rotation = liveRotation(name, def.rotation, role);
      const value = store?.secrets[name]?.value;
      if (rotation === undefined || value === undefined) continue;
      this.checks.push(
        (async () => {
          const container = await runningContainer(this.docker, this.model.project, service);
          if (container === undefined) return;
          const opens = await credentialOpens(container, rotation, value, this.io.env, this.io.signal);
          if (opens === false)
            onFailure(
              new StackctlError(
                'E_RUNTIME',
                `${name} in the secret store does not open ${service}${role === undefined ? '' : ` (role ${role})`}: ${service} uses another value`,
                {
                  hint: `put the value ${service} uses back (printf %s "$VALUE" | stackctl secrets set ${this.model.name} ${name} --replace); a config restore keeps the values it did not use in .stackctl/restored-secrets/ or .stackctl/replaced-secrets/`,
                },
              ),
            );
        })().catch(() => undefined),
      );
    }
  }

  async settled(): Promise<void> {
    await Promise.all(this.checks);
  }

  async applyFor(service: string): Promise<void> {
    for (const rotation of this.pending.filter((entry) => entry.service === service)) {
      const container = await runningContainer(this.docker, this.model.project, rotation.service);
      const next = this.prepared.stores.get(this.model.name)?.secrets[rotation.name]?.value;
      if (container === undefined || next === undefined) continue;
      await applyInService(container, rotation, { previous: '', next }, this.io.env, this.io.signal);
      this.view.note(`Applied the rotated ${rotation.name} in ${rotation.service}`);
      this.pending = this.pending.filter((entry) => entry !== rotation);
      await writePendingRotations(this.root, this.model.name, this.pending);
    }
  }
}
