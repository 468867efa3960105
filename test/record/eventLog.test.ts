import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HostError, UsageError } from '../../src/errors.js';
import { EventLogWriter, readEventLog, type EventLogIo } from '../../src/record/eventLog.js';
import type { RunEvent } from '../../src/record/events.js';
import { interruptedRun } from '../reporters/scenarios.js';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(tmpdir(), 'kt-eventlog-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: simulated`), { code });
}

/** Real fs, except the calls a test overrides. */
function ioWith(overrides: Partial<EventLogIo>): EventLogIo {
  return {
    openSync: (f, flags) => fs.openSync(f, flags),
    writeSync: (fd, b, o, l) => fs.writeSync(fd, b, o, l),
    fdatasyncSync: (fd) => fs.fdatasyncSync(fd),
    ftruncateSync: (fd, len) => fs.ftruncateSync(fd, len),
    fstatSync: (fd) => fs.fstatSync(fd),
    closeSync: (fd) => fs.closeSync(fd),
    ...overrides,
  };
}

describe('EventLogWriter + readEventLog', () => {
  it('round-trips a run, one JSON object per line', async () => {
    const events = interruptedRun();
    const writer = EventLogWriter.open(dir);
    for (const e of events) writer.append(e);
    writer.close();
    const text = fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    expect(text.trimEnd().split('\n')).toHaveLength(events.length);
    expect(await readEventLog(writer.path)).toEqual({ events, warnings: [], problems: [] });
  });

  it('appends to an existing log instead of replacing it', async () => {
    const [first, second] = interruptedRun();
    const a = EventLogWriter.open(dir, { durable: false });
    a.append(first as RunEvent);
    a.close();
    const b = EventLogWriter.open(dir, { durable: false });
    b.append(second as RunEvent);
    b.close();
    expect((await readEventLog(b.path)).events).toEqual([first, second]);
  });

  it('loses nothing already appended when the process is SIGKILLed right after append()', () => {
    // Run the real writer in a child, from the build `npm test` makes first (dist/).
    const compiled = path.join(SRC, '../dist/record/eventLog.js');
    expect(fs.existsSync(compiled), 'run npm run build first').toBe(true);
    const events = interruptedRun();
    const child = `
      import { EventLogWriter } from ${JSON.stringify(compiled)};
      const events = ${JSON.stringify(events)};
      const writer = EventLogWriter.open(${JSON.stringify(dir)}, { durable: false });
      for (const e of events) writer.append(e);
      process.kill(process.pid, 'SIGKILL');
    `;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', child], { encoding: 'utf8' });
    expect(result.signal).toBe('SIGKILL');
    const lines = fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8').trimEnd().split('\n');
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual(events);
  });

  it('reports a full disk as E_RESULTS_WRITE naming the file, with a hint', () => {
    fs.symlinkSync('/dev/full', path.join(dir, 'events.jsonl'));
    const writer = EventLogWriter.open(dir, { durable: false });
    let err: unknown;
    try {
      writer.append(interruptedRun()[0] as RunEvent);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HostError);
    expect(err).toMatchObject({
      code: 'E_RESULTS_WRITE',
      message: `cannot append to ${path.join(dir, 'events.jsonl')}: ENOSPC`,
      hint: expect.stringContaining('free space on the file system holding'),
      exitCode: 3,
    });
  });

  it('reports a permission error on open as E_RESULTS_WRITE', () => {
    const io = ioWith({ openSync: () => { throw errno('EACCES'); } });
    expect(() => EventLogWriter.open(dir, { io })).toThrow(
      expect.objectContaining({ code: 'E_RESULTS_WRITE', message: `cannot open ${path.join(dir, 'events.jsonl')}: EACCES`, hint: expect.stringContaining(`make ${dir} writable`) }),
    );
  });

  it('keeps earlier lines intact and drops the half-written one when the disk fills mid-line', async () => {
    const events = interruptedRun();
    let writes = 0;
    const io = ioWith({
      writeSync: (fd, buffer, offset, length) => {
        writes += 1;
        if (writes === 3) return fs.writeSync(fd, buffer, offset, Math.floor(length / 2));
        if (writes === 4) throw errno('ENOSPC');
        return fs.writeSync(fd, buffer, offset, length);
      },
    });
    const writer = EventLogWriter.open(dir, { io, durable: false });
    writer.append(events[0] as RunEvent);
    writer.append(events[1] as RunEvent);
    expect(() => writer.append(events[2] as RunEvent)).toThrow(expect.objectContaining({ code: 'E_RESULTS_WRITE' }));
    writer.close();
    expect(await readEventLog(writer.path)).toEqual({ events: events.slice(0, 2), warnings: [], problems: [] });
  });

  it('skips a truncated last line (killed writer) with a warning', async () => {
    const events = interruptedRun().slice(0, 5);
    const text = events.map((e) => JSON.stringify(e)).join('\n') + '\n' + JSON.stringify(interruptedRun()[5]).slice(0, 40);
    const file = path.join(dir, 'events.jsonl');
    fs.writeFileSync(file, text);
    expect(await readEventLog(file)).toEqual({
      events,
      warnings: [`${file}:6: skipped a truncated last line (the writer was killed mid-write)`],
      problems: [],
    });
  });

  it('reports binary garbage at the end as a problem, not as a truncated line', async () => {
    const events = interruptedRun().slice(0, 2);
    const file = path.join(dir, 'events.jsonl');
    fs.writeFileSync(file, Buffer.concat([Buffer.from(events.map((e) => JSON.stringify(e)).join('\n') + '\n'), Buffer.from([0x00, 0xff, 0xfe, 0x7b, 0x01])]));
    expect(await readEventLog(file)).toEqual({ events, warnings: [], problems: [{ where: `${file}:3`, what: 'not a JSON event line' }] });
  });

  it('skips unknown future event types with a warning and reports malformed lines as problems', async () => {
    const [start, boot] = interruptedRun();
    const file = path.join(dir, 'events.jsonl');
    const lines = [
      JSON.stringify(start),
      JSON.stringify({ type: 'machine-snapshot', ts: '2026-11-21T23:22:28.000Z', machine: 'vm1' }),
      JSON.stringify({ type: 'test-end', ts: '2026-11-21T23:22:28.000Z', test: 'generic/001', machine: 'vm1' }),
      '[1,2]',
      JSON.stringify(boot),
    ];
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
    expect(await readEventLog(file)).toEqual({
      events: [start, boot],
      warnings: [`${file}:2: skipped event of unknown type "machine-snapshot" (written by a newer kt?)`],
      problems: [
        { where: `${file}:3`, what: 'malformed test-end event (attempt: Invalid input: expected number, received undefined)' },
        { where: `${file}:4`, what: 'a JSON line without an event type' },
      ],
    });
  });

  it('rejects a log of another major version with a UsageError', async () => {
    const file = path.join(dir, 'events.jsonl');
    fs.writeFileSync(file, `${JSON.stringify({ ...interruptedRun()[0], v: 2 })}\n`);
    const err = await readEventLog(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect(err).toMatchObject({
      code: 'E_EVENTS_VERSION',
      message: `${file}:1: event log version 2 is not supported (this kt reads version 1)`,
    });
  });

  it('says which path has no event log', async () => {
    const file = path.join(dir, 'nope', 'events.jsonl');
    await expect(readEventLog(file)).rejects.toMatchObject({ code: 'E_EVENTS_MISSING', message: `no event log at ${file}` });
    // A directory in its place is no log either (as before: not read, no hang).
    fs.mkdirSync(path.join(dir, 'events.jsonl'));
    await expect(readEventLog(path.join(dir, 'events.jsonl'))).rejects.toMatchObject({ code: 'E_EVENTS_MISSING' });
  });

  it("reads a FIFO to its writer's end (a shell's <(zcat events.jsonl.gz)), and refuses a device at once (exit 2)", async () => {
    const events = interruptedRun();
    const writer = EventLogWriter.open(dir);
    for (const e of events) writer.append(e);
    writer.close();
    const fifo = path.join(dir, 'pipe.jsonl');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    // The writer opens the FIFO once and writes in two parts, a moment apart.
    const feeder = spawn('sh', ['-c', '{ head -n 3 "$1"; sleep 0.2; tail -n +4 "$1"; } > "$2"', 'sh', writer.path, fifo], { stdio: 'ignore' });
    const read = await readEventLog(fifo);
    feeder.kill();
    expect(read).toEqual({ events, warnings: [], problems: [] });
    const err = await readEventLog('/dev/zero').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect(err).toMatchObject({ code: 'E_EVENTS_NOT_A_FILE', exitCode: 2, message: '/dev/zero is not a regular file (a device), so not a kt event log' });
  }, 10_000);
});
