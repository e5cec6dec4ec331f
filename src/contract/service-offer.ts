import { mayTake, type ApprovalRules } from '../core/authority.js';
import type { StartAction } from './kinds.js';
import type { Viewer } from './release-view.js';

export interface StartOffer {
  /** What this caller may start now (their authority allows it): the buttons to show. */
  readonly starts: StartAction[];
  /** What their authority keeps from them, with the core's reason. */
  readonly withheld: { action: StartAction; why: string }[];
}

/**
 * What `viewer` may start on a service, by core/authority.ts, as the API would check it: an expedited
 * release needs the right to start and the right to expedite. `nobody` (an unauthenticated read) is
 * offered nothing; `everyone` (a view shown to many) offers a plain start and leaves the check to the click.
 */
export function offeredStarts(service: string, rules: ApprovalRules, viewer: Viewer): StartOffer {
  if (viewer === 'nobody') return { starts: [], withheld: [] };
  if (viewer === 'everyone') return { starts: ['start'], withheld: [] };
  const offer: StartOffer = { starts: [], withheld: [] };
  const start = mayTake(rules, 'start', viewer);
  if (!start.ok) {
    offer.withheld.push({ action: 'start', why: `${start.message} (service ${service})` });
    return offer;
  }
  offer.starts.push('start');
  const expedite = mayTake(rules, 'expedite', viewer);
  if (expedite.ok) offer.starts.push('expedite');
  else offer.withheld.push({ action: 'expedite', why: `${expedite.message} (service ${service})` });
  return offer;
}
