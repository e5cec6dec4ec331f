import { describe, expect, it } from 'vitest';
import { LogLineReader, type LogRecord } from '../../../src/adapters/local/haproxy-log.js';

/** What the reader made of each line pushed, copied out of its reused record. */
function read(chunks: string[]): Omit<LogRecord, never>[] {
  const out: LogRecord[] = [];
  const reader = new LogLineReader('production', (r) => out.push({ ...r }), 'test');
  for (const chunk of chunks) reader.push(Buffer.from(chunk));
  return out;
}

const termination = (r: LogRecord) => String.fromCharCode(r.termination0, r.termination1);

describe('HAProxy log lines as the data plane reads them', () => {
  it('reads the port, status, timers, retries, termination state and backend of a line', () => {
    const [r] = read(['41234,200,12,3,9,0,--,production\n']);
    expect(r).toMatchObject({ port: 41234, status: 200, active: 12, response: 3, transfer: 9, retried: false, production: true });
    expect(termination(r!)).toBe('--');
  });

  it('reads a request HAProxy sent to another server (+1 retries) and a timer it has not (-1)', () => {
    const [r] = read(['41234,502,-1,-1,-1,+1,SH,test\n']);
    expect(r).toMatchObject({ port: 41234, status: 502, active: -1, response: -1, transfer: -1, retried: true, production: false, test: true });
    expect(termination(r!)).toBe('SH');
  });

  it('reads a request HAProxy found no server for (<NOSRV>: the port is "-")', () => {
    expect(read(['-,503,0,-1,-1,0,SC,production\n'])[0]).toMatchObject({ port: -1, status: 503, production: true });
  });

  it('joins a line split across chunks, and reads many lines of one chunk in order', () => {
    const lines = read(['1,200,5,1,4,0,--,produc', 'tion\n2,200,6,1,5,0,CD,production\n3,2', '00,7,1,6,0,--,production\n']);
    expect(lines.map((r) => [r.port, r.active])).toEqual([
      [1, 5],
      [2, 6],
      [3, 7],
    ]);
    expect(termination(lines[1]!)).toBe('CD');
  });

  it('skips what is not one of its lines (another format, a message, a cut line) and reads on', () => {
    const lines = read(['production|slot1|200|12|--|0|3|9|41234\n', 'hello\n', ',,,\n', '9,200,x,1,1,0,--,production\n', '5,204,1,0,1,0,--,production\n']);
    expect(lines.map((r) => r.port)).toEqual([5]);
  });

  it('does not take a backend named like production for production', () => {
    expect(read(['1,200,5,1,4,0,--,production2\n', '1,200,5,1,4,0,--,product\n']).map((r) => r.production)).toEqual([false, false]);
  });

  it('tells the production and test backends’ lines from another backend’s', () => {
    expect(read(['1,200,5,1,4,0,--,production\n', '1,200,5,1,4,0,--,test\n', '1,200,5,1,4,0,--,shop-other\n']).map((r) => [r.production, r.test])).toEqual([
      [true, false],
      [false, true],
      [false, false],
    ]);
  });

  it('drops a line too long to be one of its lines whole, its tail in the next chunks included, and reads on', () => {
    // A read ends inside a line of over 4 KiB: its tail, at the start of the next read, looks like a line.
    const lines = read(['1,200,5,1,4,0,--,production\n', 'z'.repeat(5000), '9,500,5,1,4,0,--,production\n', '2,200,6,1,5,0,--,production\n']);
    expect(lines.map((r) => r.port)).toEqual([1, 2]);
  });
});
