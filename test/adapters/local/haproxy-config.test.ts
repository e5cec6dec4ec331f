import { describe, expect, it } from 'vitest';
import { haproxyConfig } from '../../../src/adapters/local/haproxy-config.js';
import { HaproxyRouter } from '../../../src/adapters/local/haproxy-router.js';
import { parseServerStats } from '../../../src/adapters/local/haproxy-admin.js';
import { resolveConfig } from '../../../src/config/config.js';
import { DeployError } from '../../../src/core/errors.js';

const base = { service: 'shop', adminSocket: '/run/x/haproxy.sock', productionPort: 8080, testPort: 8081, upstreamTimeoutMs: 60_000 };

describe('HAProxy as a data plane: what can go wrong before HAProxy runs', () => {
  it('a socket path that would break out of its line in haproxy.cfg is refused, not written', () => {
    expect(() => haproxyConfig({ ...base, adminSocket: "/run/it's/haproxy.sock" })).toThrow(/admin socket/);
    const text = haproxyConfig(base);
    expect(text).toContain("stats socket '/run/x/haproxy.sock' mode 600 level admin");
    // No live health check takes a replica out of service: Switchyard supervises readiness itself.
    expect(text).not.toMatch(/httpchk| check/);
    expect(text).toContain('noreuseport');
    expect(text).toContain('bind 127.0.0.1:8081');
  });

  it('HAProxy not installed: the start fails with what to install, as a deploy error of that service', async () => {
    const router = new HaproxyRouter({ name: 'shop', port: 0, upstreamTimeoutMs: 1000, readinessPath: '/ready', binary: '/nonexistent/haproxy' });
    const failure = await router.start().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(DeployError);
    expect(String(failure)).toMatch(/"\/nonexistent\/haproxy" is not installed \(Debian\/Ubuntu: apt-get install haproxy\)/);
    await router.close();
  });

  it('the config names a data plane by type; anything else is an error that says the choices', () => {
    const service = (dataPlane: unknown) => ({ name: 's', target: { driver: 'local', command: 'x', port: 8080, dataPlane }, strategy: { type: 'blue-green' } });
    expect(() => resolveConfig({ services: [service({ type: 'nginx' })] } as never)).toThrow(/must be \{ type: "builtin" \} or \{ type: "haproxy" \}/);
    const [parsed] = resolveConfig({ services: [service({ type: 'haproxy' })] } as never).services;
    expect(parsed?.target).toMatchObject({ dataPlane: { type: 'haproxy', binary: 'haproxy' } });
  });

  it('show stat is read by its header: a column HAProxy adds or moves changes nothing', () => {
    const csv =
      '# svname,pxname,addr,stot,scur,qcur,status,weight,hrsp_5xx,eresp,new_column\nslot1,production,127.0.0.1:5000,7,1,0,UP,256,2,1,x\nBACKEND,production,,7,1,0,UP,256,2,1,x\n';
    expect(parseServerStats(csv)).toEqual([
      expect.objectContaining({
        backend: 'production',
        server: 'slot1',
        address: '127.0.0.1:5000',
        total: 7,
        current: 1,
        status: 'UP',
        weight: 256,
        http5xx: 2,
        responseErrors: 1,
      }),
    ]);
  });
});
