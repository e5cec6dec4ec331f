import { formatDuration } from '../core/duration.js';
import type { Step } from '../core/plan.js';

/**
 * A plan step as people read it, the same on every screen: "20%", "bake 5m", "analysis 10m",
 * "approval (after-first-step)", "finalize".
 * @example stepLabel({ type: 'bake', seconds: 300 }) // 'bake 5m'
 */
export function stepLabel(step: Step): string {
  switch (step.type) {
    case 'setWeight':
      return `${step.percent}%`;
    case 'bake':
    case 'analysis':
      return `${step.type} ${formatDuration(step.seconds)}`;
    case 'approval':
      return `approval (${step.label})`;
    case 'finalize':
      return 'finalize';
  }
}
