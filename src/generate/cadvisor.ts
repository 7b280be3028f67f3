// cAdvisor as the environment's Prometheus reads it: only this environment's containers (by the
// compose project label cAdvisor copies onto each series), named by their compose service and
// stackctl stack. The labels come from cAdvisor's --whitelisted_container_labels, which writes a
// container label as container_label_<name with every other character as _>. Pure.
import { COMPOSE_LABELS, LABELS } from '../labels.js';

/** The label a container's compose service is kept under. */
export const CONTAINER_SERVICE_LABEL = 'container_service';
/** The label a container's stackctl stack is kept under. */
export const CONTAINER_STACK_LABEL = 'container_stack';

/** The container labels cAdvisor must be told to keep (--whitelisted_container_labels). */
export const CADVISOR_CONTAINER_LABELS = [COMPOSE_LABELS.project, COMPOSE_LABELS.service, LABELS.stack];

/** How cAdvisor names a container label on its series. */
export function cadvisorLabel(containerLabel: string): string {
  return `container_label_${containerLabel.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** metric_relabel_configs of a cAdvisor scrape job for one compose project. */
export function cadvisorRelabeling(composeProject: string): Record<string, unknown>[] {
  return [
    // Other projects' containers (and the host's own cgroups) are not this environment's.
    {
      source_labels: [cadvisorLabel(COMPOSE_LABELS.project)],
      regex: escapeRegex(composeProject),
      action: 'keep',
    },
    {
      source_labels: [cadvisorLabel(COMPOSE_LABELS.service)],
      target_label: CONTAINER_SERVICE_LABEL,
    },
    { source_labels: [cadvisorLabel(LABELS.stack)], target_label: CONTAINER_STACK_LABEL },
    { regex: 'container_label_.*', action: 'labeldrop' },
  ];
}
