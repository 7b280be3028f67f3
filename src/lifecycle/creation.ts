import type Docker from 'dockerode';
import { imageIds, listServiceContainers, type ListedServiceContainer } from '../effects/containers.js';
import { readCreationRecord, writeCreationRecord } from '../effects/state.js';
import type { EffectiveService } from '../plan/effective.js';
import { creationKey, recordStep, stepUnchanged, type CreationRecord } from '../plan/reuse.js';
import type { CreateStep } from '../plan/start.js';

/** What compose resolved, for keying create steps: its configuration's digest and its version. */
export interface CreationBasis {
  readonly configDigest: string;
  readonly composeVersion: string;
  readonly effective: ReadonlyMap<string, EffectiveService>;
}

/**
 * Create steps compose would have nothing to do for are not run (a start after a stop then starts
 * its first containers without a compose process in the way); what compose left after each step
 * it did run is recorded in .stackctl/created-<env>.json.
 */
export class CreationLedger {
  private constructor(
    private readonly root: string,
    private readonly envName: string,
    private readonly docker: Docker,
    private readonly project: string,
    private readonly basis: CreationBasis | undefined,
    private record: CreationRecord,
  ) {}

  static async open(
    root: string,
    envName: string,
    docker: Docker,
    project: string,
    basis: CreationBasis | undefined,
  ): Promise<CreationLedger> {
    const record = basis ? await readCreationRecord(root, envName) : {};
    return new CreationLedger(root, envName, docker, project, basis, record);
  }

  /**
   * The project's containers when compose would leave this step's as they are; undefined when the
   * step must run (nothing recorded with this configuration, or the containers or images moved on).
   */
  async unchanged(step: CreateStep): Promise<ListedServiceContainer[] | undefined> {
    if (!this.basis) return undefined;
    const key = this.keyOf(step);
    if (!step.services.every((service) => this.record[service]?.key === key)) return undefined;
    const images = step.services.flatMap((service) => this.basis?.effective.get(service)?.image ?? []);
    const [listed, ids] = await Promise.all([
      listServiceContainers(this.docker, this.project),
      imageIds(this.docker, images),
    ]);
    return stepUnchanged(step, key, this.record, listed, this.basis.effective, ids) ? listed : undefined;
  }

  /** Records what compose left after running the step. */
  async ran(step: CreateStep, listed: readonly ListedServiceContainer[]): Promise<void> {
    if (!this.basis) return;
    this.record = recordStep(this.record, step, this.keyOf(step), listed);
    await writeCreationRecord(this.root, this.envName, this.record);
  }

  private keyOf(step: CreateStep): string {
    const basis = this.basis as CreationBasis;
    return creationKey(basis.configDigest, basis.composeVersion, step);
  }
}
