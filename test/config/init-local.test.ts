import { describe, expect, it } from 'vitest';
import { localScaffold, parseLocalSpec } from '../../src/config/init-local.js';
import { ConfigError } from '../../src/config/config.js';
import { ValidationError } from '../../src/core/errors.js';

describe('switchyard init --local: the service specs', () => {
  it.each([
    ['api=node server.js:8080:/healthz', { name: 'api', command: 'node server.js', port: 8080, ready: '/healthz' }],
    ['web=python3 -m http.server:9000', { name: 'web', command: 'python3 -m http.server', port: 9000 }],
    // The command may hold colons and "=": the port and path are read from the end, the name up to the first "=".
    ['app=env A=1 node -e "x:1":3000:/ready', { name: 'app', command: 'env A=1 node -e "x:1"', port: 3000, ready: '/ready' }],
  ])('%s', (text, spec) => {
    expect(parseLocalSpec(text)).toEqual(spec);
  });

  it.each([
    ['api:8080', 'it has no "=" between the name and the command'],
    ['api=node server.js', 'it does not end with :<port> or :<port>:/<readiness path>'],
    ['api=node server.js:8080:healthz', 'it does not end with :<port> or :<port>:/<readiness path>'],
  ])('%s is refused with the syntax', (text, why) => {
    expect(() => parseLocalSpec(text)).toThrow(ValidationError);
    expect(() => parseLocalSpec(text)).toThrow(
      `--local "${text}": ${why}; write name=command:port[:/readiness-path], for example api=node server.js:8080:/healthz`,
    );
  });
});

describe('switchyard init --local: the written config', () => {
  it('gives each service a test route on a port no other service uses, and marks a readiness path that was not given', () => {
    const scaffold = localScaffold([
      { name: 'api', command: 'node api.js', port: 8080, ready: '/healthz' },
      { name: 'web', command: 'node web.js', port: 8081 },
    ]);
    expect(scaffold.text).toMatch(/port: 8080,\n\s+\/\/[^\n]*\n\s+testPort: 8082,/);
    expect(scaffold.text).toMatch(/port: 8081,\n\s+\/\/[^\n]*\n\s+testPort: 8083,/);
    expect(scaffold.todos).toEqual([{ path: 'services[1].target.readiness', text: expect.stringContaining("Switchyard's default /ready") as string }]);
  });

  it('a spec that cannot make a valid service is refused by the real resolver, naming the service and field; nothing to write', () => {
    expect(() =>
      localScaffold([
        { name: 'api', command: 'node api.js', port: 8080 },
        { name: 'api', command: 'node web.js', port: 8080 },
      ]),
    ).toThrow(ConfigError);
    expect(() => localScaffold([{ name: 'bad name!', command: 'x', port: 70000 }])).toThrow(
      /services\[0\]\.name: must be a service name[^]*services\[0\]\.target\.port: must be a port from 1 to 65535/,
    );
  });
});
