/** The demo service as a local target, one replica, ready as soon as it listens: for tests and benchmarks on real processes. */
export function demoTarget(overrides: Record<string, unknown> = {}) {
  return {
    driver: 'local',
    command: ['node', 'examples/demo-service/server.mjs'],
    replicas: 1,
    port: 8080,
    readiness: { interval: 0 },
    drainTimeout: '1s',
    ...overrides,
  } as const;
}
