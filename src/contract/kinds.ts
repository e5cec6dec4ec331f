// The contract's value sets, without the schemas: what the Lambdas that render views (Slack) load, zod left out.

/** The step states a plan shows: done, the one being worked on, still to come. */
export const StepStatus = { done: 'done', current: 'current', next: 'next' } as const;
export type StepStatus = (typeof StepStatus)[keyof typeof StepStatus];

/**
 * What a countdown waits for: a bake or analysis to end, a person to answer, the target (ECS, CodeDeploy)
 * to finish a step, or a paused release's hold to reach the target's limit (ECS's PAUSE hook).
 */
export const CountdownKind = { bake: 'bake', analysis: 'analysis', approval: 'approval', target: 'target', hold: 'hold' } as const;
export type CountdownKind = (typeof CountdownKind)[keyof typeof CountdownKind];

/** What a caller may start on a service: a release through its whole plan, or an expedited one. */
export const START_ACTIONS = ['start', 'expedite'] as const;
export type StartAction = (typeof START_ACTIONS)[number];
