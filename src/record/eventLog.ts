/**
 * `<run-dir>/events.jsonl`: the append-only record of a run (format: events.ts).
 *
 * Each append is one `write(2)` on an O_APPEND descriptor before `append()` returns, so a SIGKILL
 * right after loses nothing; by default it is also fdatasync'ed so a host crash loses nothing
 * either. Measured on this repo's CI disk: writeSync ≈ 4 µs, writeSync + fdatasync ≈ 0.8 ms per
 * event (appendFileSync ≈ 15 µs: it reopens the file each time). A test emits two events and runs
 * for seconds, so the sync costs well under 0.1% of a run.
 */
import * as fs from 'node:fs';
import { readFile, stat as fsStat } from 'node:fs/promises';
import * as path from 'node:path';
import { errnoCode, resultsWriteError } from './resultsWriteError.js';
import { HostError, UsageError, printable } from '../errors.js';
import { EVENT_TYPES, EVENTS_VERSION, runEventSchema, type RunEvent } from './events.js';

/** File name of the event log inside a run directory. */
export const EVENT_LOG_NAME = 'events.jsonl';

/** The few synchronous fs calls the writer makes; injectable so tests can simulate a full disk. */
export interface EventLogIo {
  /** fs.openSync */
  openSync(file: string, flags: string): number;
  /** fs.writeSync (buffer form) */
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number): number;
  /** fs.fdatasyncSync */
  fdatasyncSync(fd: number): void;
  /** fs.ftruncateSync */
  ftruncateSync(fd: number, len: number): void;
  /** fs.fstatSync, for the size to roll back to */
  fstatSync(fd: number): { size: number };
  /** fs.closeSync */
  closeSync(fd: number): void;
}

/** Options of `EventLogWriter.open`. */
export interface EventLogWriterOptions {
  /** fdatasync after each event so a host crash keeps it (default true). */
  durable?: boolean;
  /** fs implementation (tests). */
  io?: EventLogIo;
}

const nodeIo: EventLogIo = {
  openSync: (file, flags) => fs.openSync(file, flags),
  writeSync: (fd, buffer, offset, length) => fs.writeSync(fd, buffer, offset, length),
  fdatasyncSync: (fd) => fs.fdatasyncSync(fd),
  ftruncateSync: (fd, len) => fs.ftruncateSync(fd, len),
  fstatSync: (fd) => fs.fstatSync(fd),
  closeSync: (fd) => fs.closeSync(fd),
};

/** Appends events to `<run-dir>/events.jsonl`, one JSON object per line. */
export class EventLogWriter {
  /** Absolute or run-dir-relative path of the log. */
  readonly path: string;
  readonly #io: EventLogIo;
  readonly #durable: boolean;
  #fd: number | undefined;
  /** Bytes known to be whole lines; a failed append truncates back to it. */
  #size: number;

  private constructor(file: string, fd: number, size: number, io: EventLogIo, durable: boolean) {
    this.path = file;
    this.#fd = fd;
    this.#size = size;
    this.#io = io;
    this.#durable = durable;
  }

  /** Opens (creating or appending to) the event log of `runDir`. Throws HostError E_RESULTS_WRITE. */
  static open(runDir: string, options: EventLogWriterOptions = {}): EventLogWriter {
    const io = options.io ?? nodeIo;
    const file = path.join(runDir, EVENT_LOG_NAME);
    let fd: number;
    try {
      fd = io.openSync(file, 'a');
    } catch (err) {
      throw resultsWriteError(file, err, 'open');
    }
    try {
      return new EventLogWriter(file, fd, io.fstatSync(fd).size, io, options.durable ?? true);
    } catch (err) {
      io.closeSync(fd);
      throw resultsWriteError(file, err, 'open');
    }
  }

  /** Writes one event as one line; when it returns, the line is in the file. */
  append(event: RunEvent): void {
    const fd = this.#fd;
    if (fd === undefined) throw new Error(`EventLogWriter.append after close (${this.path})`);
    const line = Buffer.from(`${JSON.stringify(event)}\n`, 'utf8');
    try {
      let written = 0;
      // writeSync may write less than asked (signals, near-full disks): loop until the line is whole.
      while (written < line.length) written += this.#io.writeSync(fd, line, written, line.length - written);
      if (this.#durable) this.#io.fdatasyncSync(fd);
      this.#size += line.length;
    } catch (err) {
      // Drop a half-written line so the log stays a sequence of whole lines.
      try {
        this.#io.ftruncateSync(fd, this.#size);
      } catch {
        // The reader tolerates a truncated last line; nothing more to do here.
      }
      throw resultsWriteError(this.path, err, 'append to');
    }
  }

  /** Closes the log; further appends throw. Idempotent. */
  close(): void {
    const fd = this.#fd;
    if (fd === undefined) return;
    this.#fd = undefined;
    try {
      this.#io.closeSync(fd);
    } catch (err) {
      throw resultsWriteError(this.path, err, 'close');
    }
  }
}

/** A line of an event log that cannot be used. */
export interface EventLogProblem {
  /** `file:line`. */
  where: string;
  /** What is wrong with it. */
  what: string;
}

/** The events of one log and what was wrong with it. */
export interface EventLogContents {
  /** Known, valid events in file order. */
  events: RunEvent[];
  /**
   * Lines skipped for a reason that does not make the log doubtful: a last line cut short by a
   * killed writer, an event type of a newer kt. For the CLI to print.
   */
  warnings: string[];
  /**
   * Lines no kt ever writes (not JSON, malformed events, binary garbage): the file is damaged or
   * is not an event log. `kt report` refuses such a log rather than write reports from it.
   */
  problems: EventLogProblem[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A last line a killed writer can leave: the start of one JSON object, printable text only.
 * EventLogWriter writes each event as `{"type":...` in one write; a cut leaves such a prefix.
 */
function looksTruncated(line: string): boolean {
  // U+FFFD is allowed: a cut inside a multibyte character, or a capped tail of test output, decodes to it.
  return line.startsWith('{"') && !/[\u0000-\u0008\u000e-\u001f]/.test(line);
}

/** The first zod issue as "path: message". */
function describeIssue(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  const key = issue.path.map(String).join('.');
  return key ? `${key}: ${issue.message}` : issue.message;
}

/**
 * Reads an event log written by EventLogWriter. A last line cut short (a killed writer) and
 * lines of unknown future event types are skipped with a warning; damaged lines are returned as
 * problems; a log of another major version is a UsageError (its fields may mean something else).
 */
export async function readEventLog(file: string): Promise<EventLogContents> {
  let text: string;
  try {
    text = await readRegularFile(file);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') {
      throw new UsageError(
        'E_EVENTS_MISSING',
        `no event log at ${file}`,
        `pass the run directory of a \`kt run\` (it holds ${EVENT_LOG_NAME}), or the path of an ${EVENT_LOG_NAME}`,
        { cause: err },
      );
    }
    throw new HostError('E_RESULTS_READ', `cannot read ${file}: ${code}`, `check the permissions of ${file}`, { cause: err });
  }
  return parseEventLog(text, file);
}

/**
 * The text of `file` when it is a regular file or a FIFO (a shell's `<(zcat log.gz)`, read to its
 * writer's end as `cat` would). Looked at before it is opened: a device named events.jsonl would
 * otherwise be read for ever.
 */
async function readRegularFile(file: string): Promise<string> {
  const stat = await fsStat(file);
  if (stat.isDirectory()) throw Object.assign(new Error(`EISDIR: ${file}`), { code: 'EISDIR' });
  if (!stat.isFile() && !stat.isFIFO()) {
    throw new UsageError(
      'E_EVENTS_NOT_A_FILE',
      `${printable(file)} is not a regular file (${stat.isSocket() ? 'a socket' : 'a device'}), so not a kt event log`,
      `pass the run directory of a \`kt run\` (it holds ${EVENT_LOG_NAME}), or the path of an ${EVENT_LOG_NAME}`,
    );
  }
  return readFile(file, 'utf8');
}

/** Parses the text of an event log; `file` only names it in messages. */
export function parseEventLog(text: string, file: string): EventLogContents {
  const events: RunEvent[] = [];
  const warnings: string[] = [];
  const problems: EventLogProblem[] = [];
  const lines = text.split('\n');
  // A complete log ends with '\n', so the final split element is '' — anything else was cut short.
  const lastIndex = lines.length - 1;
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    const where = `${file}:${index + 1}`;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      if (index === lastIndex && looksTruncated(line)) {
        warnings.push(`${where}: skipped a truncated last line (the writer was killed mid-write)`);
      } else {
        problems.push({ where, what: 'not a JSON event line' });
      }
      return;
    }
    if (!isRecord(parsed) || typeof parsed['type'] !== 'string') {
      problems.push({ where, what: 'a JSON line without an event type' });
      return;
    }
    const type = parsed['type'];
    if (type === 'run-start') checkVersion(parsed['v'], where);
    if (!EVENT_TYPES.has(type)) {
      warnings.push(`${where}: skipped event of unknown type "${type}" (written by a newer kt?)`);
      return;
    }
    const result = runEventSchema.safeParse(parsed);
    if (!result.success) {
      problems.push({ where, what: `malformed ${type} event (${describeIssue(result.error)})` });
      return;
    }
    // The line as written, not zod's copy: key order is kept, so a replayed log renders reports
    // byte-identical to the live run's.
    events.push(parsed as RunEvent);
  });
  return { events, warnings, problems };
}

function checkVersion(v: unknown, where: string): void {
  const major = typeof v === 'number' ? Math.trunc(v) : Number.NaN;
  if (major === EVENTS_VERSION) return;
  throw new UsageError(
    'E_EVENTS_VERSION',
    `${where}: event log version ${JSON.stringify(v ?? null)} is not supported (this kt reads version ${EVENTS_VERSION})`,
    `read this log with the kt release that wrote it, or re-run the tests with this one`,
  );
}
