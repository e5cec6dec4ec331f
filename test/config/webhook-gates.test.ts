import { describe, expect, it } from 'vitest';
import { ConfigError, resolveConfig } from '../../src/config/config.js';

const local = (webhooks: unknown[], strategy: Record<string, unknown> = { type: 'blue-green', bake: '1m' }) => ({
  services: [{ name: 'api', target: { driver: 'local', command: 'true', port: 9100 }, strategy, gates: { webhooks } }],
});
const issues = (raw: unknown): string[] => {
  try {
    resolveConfig(raw);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.issues.map((i) => `${i.path}: ${i.message}`);
  }
};

describe('config: webhook gates', () => {
  it('a before-traffic webhook becomes the plan’s first step, an analysis at 0% watching it alone; a bake webhook changes no step', () => {
    const config = resolveConfig(
      local([
        { name: 'smoke', url: 'https://ci.example.com/smoke', secretEnv: 'SMOKE_SECRET', when: 'before-traffic' },
        { name: 'probe', url: 'http://127.0.0.1:9/probe', secretEnv: 'PROBE_SECRET' },
      ]),
    );
    const [svc] = config.services;
    expect(svc?.plan.steps).toEqual([
      { type: 'analysis', seconds: 1, gates: ['smoke'] },
      { type: 'setWeight', percent: 100 },
      { type: 'bake', seconds: 60 },
      { type: 'finalize' },
    ]);
    expect(svc?.settings.gates.filter((g) => g.kind === 'webhook')).toEqual([
      { kind: 'webhook', name: 'smoke', url: 'https://ci.example.com/smoke', secret: { env: 'SMOKE_SECRET' }, timeoutSeconds: 10, when: 'before-traffic' },
      { kind: 'webhook', name: 'probe', url: 'http://127.0.0.1:9/probe', secret: { env: 'PROBE_SECRET' }, timeoutSeconds: 10, when: 'bake' },
    ]);
  });

  it.each([
    ['ftp://ci.example.com/smoke', 'services[0].gates.webhooks[0].url: must be an http or https URL, got the ftp scheme in "ftp://ci.example.com/smoke"'],
    [
      'ci.example.com/smoke',
      'services[0].gates.webhooks[0].url: must be an http or https URL such as "https://ci.example.com/hooks/smoke", got "ci.example.com/smoke"',
    ],
    ['https://user:pw@ci.example.com/smoke', 'services[0].gates.webhooks[0].url: must not carry credentials'],
  ])('a bad URL (%s) is refused, saying what to write', (url, message) => {
    const found = issues(local([{ name: 'smoke', url, secretEnv: 'SMOKE_SECRET' }]));
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(message);
  });

  it('the secret is read from the environment locally and from Secrets Manager on AWS, never written in the config', () => {
    expect(issues(local([{ name: 'smoke', url: 'https://ci.example.com/smoke' }]))).toEqual([
      expect.stringMatching(/^services\[0\]\.gates\.webhooks\[0\]\.secretEnv: is required: local mode reads .*SMOKE_WEBHOOK_SECRET/),
    ]);
    expect(issues(local([{ name: 'smoke', url: 'https://ci.example.com/smoke', secret: 'hunter2' }]))).toEqual([
      expect.stringContaining('unknown key "secret"'),
    ]);
    const ecs = {
      services: [
        {
          name: 'api',
          target: { driver: 'ecs', cluster: 'prod', service: 'api', containerName: 'app' },
          strategy: { type: 'rolling' },
          gates: { webhooks: [{ name: 'probe', url: 'https://ci.example.com/probe', secretEnv: 'PROBE' }] },
        },
      ],
    };
    expect(issues(ecs)).toEqual([expect.stringMatching(/secretArn: is required: on AWS the workflow function reads .* \(secretEnv is for local mode\)$/)]);
    expect(
      issues(local([{ name: 'smoke', url: 'https://x.example', secretEnv: 'A', secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:s-AbCdEf' }])),
    ).toEqual([expect.stringContaining('has both secretEnv and secretArn')]);
    expect(issues(local([{ name: 'smoke', url: 'https://x.example', secretEnv: 'A', timeout: '2m' }]))).toEqual([
      expect.stringContaining('timeout: must be between 1s and 60s'),
    ]);
  });
});
