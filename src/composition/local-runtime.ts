import type { EngineDeps } from '../engine/deps.js';
import { createWorkflowHandlers, type WorkflowHandlers } from '../engine/handlers.js';
import { LocalEngine, type LocalEngineOptions } from '../adapters/local-stepfunctions/local-engine.js';
import { createReleaseService, type ReleaseService } from '../engine/releases.js';

export interface LocalRuntime {
  readonly engine: LocalEngine;
  readonly releases: ReleaseService;
  readonly handlers: WorkflowHandlers;
  readonly deps: EngineDeps;
}

/** Wires the local engine, the release use cases and the workflow handlers around one store. */
export function createLocalRuntime(deps: Omit<EngineDeps, 'workflow'>, options: LocalEngineOptions = {}): LocalRuntime {
  const engine = new LocalEngine({ ...options, ...(deps.log ? { log: deps.log } : {}) });
  const full: EngineDeps = { ...deps, workflow: engine };
  const releases = createReleaseService(full);
  const handlers = createWorkflowHandlers(full, releases);
  engine.bind((input) => handlers.run(input));
  return { engine, releases, handlers, deps: full };
}
