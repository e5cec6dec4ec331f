/**
 * The data plane's process: `node data-plane-main.js --socket <path> [--ephemeral]`. Started by the
 * control plane with an empty environment (no token, no Slack secret, no AWS credential reaches it
 * or its replicas), in its own session, so a Ctrl-C in Switchyard's terminal or Switchyard's death
 * does not reach it: it keeps serving until it is told to stop (SIGTERM, or `shutdown` on its socket).
 */
import { setPriority } from 'node:os';
import { parseArgs } from 'node:util';
import { DataPlaneServer } from './data-plane-server.js';

const { values } = parseArgs({ options: { socket: { type: 'string' }, ephemeral: { type: 'boolean', default: false } } });
if (!values.socket) {
  process.stderr.write('usage: data-plane-main --socket <path> [--ephemeral]\n');
  process.exit(2);
}
// As root, a data plane runs ahead of every replica (nice -5), so a version busy with its own work
// (logging as fast as it can) delays another service's proxy less.
if (process.getuid?.() === 0) {
  try {
    setPriority(-5);
  } catch {
    // not allowed here (a container without CAP_SYS_NICE): the usual priority
  }
}
const server = new DataPlaneServer({ socketPath: values.socket, ephemeral: values.ephemeral, onExit: (code) => process.exit(code) });
const stop = () => void server.shutdown().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// Its terminal (if any) going away is not a reason to stop serving.
process.on('SIGHUP', () => undefined);
// A control plane that finds the socket gone asks for a new one: traffic goes on meanwhile.
process.on('SIGUSR2', () => void server.relisten().catch((error: unknown) => process.stderr.write(`could not listen again: ${String(error)}\n`)));
await server.listen();
process.stderr.write(`${new Date().toISOString()} data plane ${process.pid} listening on ${values.socket}\n`);
