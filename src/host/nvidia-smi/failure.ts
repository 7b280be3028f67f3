import { cleanLines } from '../text.js';

export type NvidiaSmiFailureKind =
  | 'driver-unreachable'
  | 'driver-library-mismatch'
  | 'no-devices'
  | 'device-handle'
  | 'unsupported-option'
  | 'unknown';

export interface NvidiaSmiFailure {
  readonly kind: NvidiaSmiFailureKind;
  /** nvidia-smi's own words, trimmed, lines joined with "; ". */
  readonly message: string;
  readonly fix: string;
}

const FIXES: Record<NvidiaSmiFailureKind, string> = {
  'driver-unreachable':
    'install or load the NVIDIA driver (check `lsmod | grep nvidia`); inside a container, run it with the NVIDIA runtime',
  'driver-library-mismatch':
    'the driver was upgraded but the old kernel module is still loaded: reboot, or reload the nvidia modules',
  'no-devices':
    'no GPU is visible: check the card is seated and powered, and that Above-4G decoding/ReBAR is on',
  'device-handle':
    'a GPU is in a state the driver cannot use (TCC/WDDM mode, fallen off the bus): check `dmesg`',
  'unsupported-option': 'this nvidia-smi does not support the command; update the NVIDIA driver',
  unknown: 'run nvidia-smi by hand to see what is wrong with the driver',
};

/** Explains why nvidia-smi failed, from what it printed (stdout and stderr together). */
export function classifyNvidiaSmiFailure(output: string): NvidiaSmiFailure {
  const lines = cleanLines(output)
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const message = lines.join('; ') || 'nvidia-smi failed without a message';
  return { kind: kindOf(output), message, fix: FIXES[kindOf(output)] };
}

function kindOf(output: string): NvidiaSmiFailureKind {
  if (/couldn't communicate with the NVIDIA driver/i.test(output)) return 'driver-unreachable';
  if (/Driver\/library version mismatch/i.test(output)) return 'driver-library-mismatch';
  if (/Unable to determine the device handle/i.test(output)) return 'device-handle';
  if (/No devices were found/i.test(output)) return 'no-devices';
  if (/missing its value|must be used in conjunction|Invalid combination|unrecognized option/i.test(output)) {
    return 'unsupported-option';
  }
  return 'unknown';
}
