/**
 * A type test, checked by `tsc` in `npm test`: the routes of the state machine cover exactly the
 * actions `decide` returns. If an `Action` variant were added without routing it, the record
 * below would not compile; the `@ts-expect-error` lines prove that (tsc fails if they stop failing).
 */
import type { Action, ActionType } from '../../src/core/decide.js';
import { ROUTES, type StateName } from '../../src/workflow/protocol.js';

// Today every action type is routed.
export const routed: Record<ActionType, StateName> = ROUTES;

// A made-up action, `teleport`, added to the union without a route: does not compile.
type ActionWithTeleport = Action | { readonly type: 'teleport'; readonly to: string };
// @ts-expect-error 'teleport' is missing from ROUTES
export const unrouted: Record<ActionWithTeleport['type'], StateName> = ROUTES;

// The same check the definition module makes with `satisfies`, on a copy of ROUTES without `wait`.
const { wait: _wait, ...withoutWait } = ROUTES;
// @ts-expect-error 'wait' is not routed
export const missingWait = withoutWait satisfies Record<ActionType, StateName>;
