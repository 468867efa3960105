/**
 * Readable names for mangled symbols on kernel stack traces: C++ (Itanium ABI, out-of-tree code)
 * and Rust (the v0 scheme the kernel builds Rust with, rust/Makefile "-Csymbol-mangling-version=v0",
 * and the legacy scheme). Only what a title needs: paths, impls, simple types; generic
 * parameters of functions are dropped like C++ parameters are. A name that does not parse is
 * returned unchanged.
 */

/** "_Z8fakeNameiii" -> "fakeName", "_ZN2ns4funcEv" -> "ns::func", legacy Rust "_ZN4core3fmt5write17h0123456789abcdefE" -> "core::fmt::write". */
function demangleItanium(name: string): string {
  let pos = 2;
  const nested = name[pos] === 'N';
  if (nested) {
    pos++;
    while (name[pos] === 'r' || name[pos] === 'V' || name[pos] === 'K') pos++;
  }
  const parts: string[] = [];
  for (;;) {
    const digits = /^\d+/.exec(name.slice(pos));
    if (!digits) break;
    const length = Number(digits[0]);
    pos += digits[0].length;
    if (length === 0 || pos + length > name.length) return name;
    parts.push(name.slice(pos, pos + length));
    pos += length;
    if (!nested) break;
  }
  if (parts.length === 0 || (nested && name[pos] !== 'E')) return name;
  // legacy Rust symbols end in a hash component "h<16 hex digits>"
  if (parts.length > 1 && /^h[0-9a-f]{16}$/.test(parts.at(-1)!)) parts.pop();
  return parts.join('::');
}

const BASIC_TYPES: Record<string, string> = {
  a: 'i8', b: 'bool', c: 'char', d: 'f64', e: 'str', f: 'f32', h: 'u8', i: 'isize', j: 'usize', l: 'i32', m: 'u32',
  n: 'i128', o: 'u128', p: '_', s: 'i16', t: 'u16', u: '()', v: '...', x: 'i64', y: 'u64', z: '!',
};

class ParseError extends Error {}

/** A parser of the Rust v0 grammar (https://doc.rust-lang.org/rustc/symbol-mangling/v0.html). */
class V0 {
  private pos: number;
  private depth = 0;

  /** `start` is the index just after "_R": backreferences count from there. */
  constructor(
    private readonly text: string,
    private readonly start: number,
  ) {
    this.pos = start;
  }

  private peek(): string {
    return this.text[this.pos] ?? '';
  }

  private next(): string {
    const ch = this.text[this.pos];
    if (ch === undefined) throw new ParseError('end of symbol');
    this.pos++;
    return ch;
  }

  private eat(ch: string): boolean {
    if (this.peek() !== ch) return false;
    this.pos++;
    return true;
  }

  /** "_" is 0, "<digits>_" is the base-62 value plus one. */
  private base62(): number {
    if (this.eat('_')) return 0;
    let value = 0;
    for (;;) {
      const ch = this.next();
      if (ch === '_') return value + 1;
      const digit = /[0-9]/.test(ch) ? ch.charCodeAt(0) - 48 : /[a-z]/.test(ch) ? ch.charCodeAt(0) - 87 : /[A-Z]/.test(ch) ? ch.charCodeAt(0) - 29 : -1;
      if (digit < 0) throw new ParseError('bad base-62 digit');
      value = value * 62 + digit;
    }
  }

  private disambiguator(): number {
    return this.eat('s') ? this.base62() + 1 : 0;
  }

  private identifier(): string {
    this.disambiguator();
    this.eat('u'); // punycode: the raw bytes will do for a title
    const digits = /^\d+/.exec(this.text.slice(this.pos));
    if (!digits) throw new ParseError('identifier without length');
    this.pos += digits[0].length;
    const length = Number(digits[0]);
    this.eat('_');
    const ident = this.text.slice(this.pos, this.pos + length);
    if (ident.length !== length) throw new ParseError('identifier past the end');
    this.pos += length;
    return ident;
  }

  private backref<T>(parse: () => T): T {
    const target = this.start + this.base62();
    if (target >= this.pos) throw new ParseError('forward backreference');
    const saved = this.pos;
    this.pos = target;
    try {
      return parse();
    } finally {
      this.pos = saved;
    }
  }

  private guard<T>(parse: () => T): T {
    if (++this.depth > 64) throw new ParseError('too deep');
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }

  path(): string {
    return this.guard(() => {
      const tag = this.next();
      switch (tag) {
        case 'C':
          return this.identifier();
        case 'M': {
          this.disambiguator();
          this.path(); // the impl's own path (module of the impl block): not printed
          return `<${this.type()}>`;
        }
        case 'X': {
          this.disambiguator();
          this.path();
          const self = this.type();
          return `<${self} as ${this.path()}>`;
        }
        case 'Y': {
          const self = this.type();
          return `<${self} as ${this.path()}>`;
        }
        case 'N': {
          const namespace = this.next();
          const parent = this.path();
          const disambiguator = this.peek() === 's' ? 0 : -1;
          const saved = this.pos;
          const number = disambiguator === 0 ? this.disambiguator() - 1 : 0;
          this.pos = saved;
          const ident = this.identifier();
          if (namespace === 'C') return `${parent}::{closure#${number}}`;
          if (namespace >= 'A' && namespace <= 'Z') return `${parent}::{${namespace === 'S' ? 'shim' : namespace}${ident ? `:${ident}` : ''}#${number}}`;
          return ident ? `${parent}::${ident}` : parent;
        }
        case 'I': {
          const base = this.path();
          const args: string[] = [];
          while (!this.eat('E')) args.push(this.genericArg());
          return `${base}::<${args.join(', ')}>`;
        }
        case 'B':
          return this.backref(() => this.path());
        default:
          throw new ParseError(`unknown path tag ${tag}`);
      }
    });
  }

  private genericArg(): string {
    if (this.eat('L')) {
      this.base62();
      return "'_";
    }
    if (this.eat('K')) return this.constant();
    return this.type();
  }

  private constant(): string {
    if (this.eat('p')) return '_';
    if (this.eat('B')) return this.backref(() => this.constant());
    const type = this.next();
    const negative = this.eat('n');
    let hex = '';
    while (this.peek() !== '_') hex += this.next();
    this.next();
    if (type === 'b') return hex === '1' ? 'true' : 'false';
    return `${negative ? '-' : ''}${hex === '' ? '0' : BigInt(`0x${hex}`).toString()}`;
  }

  private type(): string {
    return this.guard(() => {
      const tag = this.peek();
      const basic = BASIC_TYPES[tag];
      if (basic !== undefined) {
        this.pos++;
        return basic;
      }
      this.pos++;
      switch (tag) {
        case 'R':
        case 'Q':
          if (this.eat('L')) this.base62();
          return `&${tag === 'Q' ? 'mut ' : ''}${this.type()}`;
        case 'P':
          return `*const ${this.type()}`;
        case 'O':
          return `*mut ${this.type()}`;
        case 'A': {
          const element = this.type();
          return `[${element}; ${this.constant()}]`;
        }
        case 'S':
          return `[${this.type()}]`;
        case 'T': {
          const items: string[] = [];
          while (!this.eat('E')) items.push(this.type());
          return `(${items.join(', ')}${items.length === 1 ? ',' : ''})`;
        }
        case 'B':
          return this.backref(() => this.type());
        default:
          // a named type: a path
          this.pos--;
          return this.path();
      }
    });
  }
}

/** Rust v0: "_RNvMs3_NtCs..._11rust_binder7processNtB5_7Process10update_ref" -> "<rust_binder::process::Process>::update_ref". */
function demangleRustV0(name: string): string {
  try {
    // "_R" then an optional decimal encoding version
    let start = 2;
    while (/[0-9]/.test(name[start] ?? '')) start++;
    return new V0(name, start).path();
  } catch (err) {
    if (err instanceof ParseError || err instanceof RangeError || err instanceof SyntaxError) return name;
    throw err;
  }
}

/** The readable name of a mangled symbol (C++ or Rust), or the name itself. */
export function demangle(name: string): string {
  if (name.startsWith('_R')) return demangleRustV0(name);
  if (name.startsWith('_Z')) return demangleItanium(name);
  return name;
}
