/**
 * The kernel's .config format (scripts/kconfig/confdata.c, conf_write/conf_read): one
 * `CONFIG_NAME=value` line per set symbol, `# CONFIG_NAME is not set` for a bool/tristate that
 * is off, comments and blank lines otherwise. Pure.
 */

/** Symbol names without the CONFIG_ prefix → their value as written (y, m, "string", 0x10, 42). */
export type KernelConfig = ReadonlyMap<string, string>;

const SET = /^CONFIG_([A-Za-z0-9_]+)=(.*)$/;
const UNSET = /^# CONFIG_([A-Za-z0-9_]+) is not set$/;

/** Parses .config text. A symbol that is "not set" is recorded as "n". */
export function parseKernelConfig(text: string): KernelConfig {
  const config = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    const set = SET.exec(line);
    if (set) {
      config.set(set[1]!, set[2]!);
      continue;
    }
    const unset = UNSET.exec(line);
    if (unset) config.set(unset[1]!, 'n');
  }
  return config;
}

/** y, m or n for a bool/tristate; symbols that are absent count as n (Kconfig's default). */
export function tristateOf(config: KernelConfig, symbol: string): 'y' | 'm' | 'n' {
  const value = config.get(symbol);
  return value === 'y' || value === 'm' ? value : 'n';
}

/** True when the text looks like a kernel .config (a Kconfig header or at least one CONFIG_ line). */
export function looksLikeKernelConfig(text: string): boolean {
  return /^(# Automatically generated file; DO NOT EDIT\.|CONFIG_[A-Za-z0-9_]+=|# CONFIG_[A-Za-z0-9_]+ is not set)/m.test(text);
}

/** The release a .config was written for ("# Linux/x86 6.1.192 Kernel Configuration"). */
export function configHeaderVersion(text: string): string | undefined {
  return /^# Linux\/\S+ (\S+) Kernel Configuration$/m.exec(text)?.[1];
}

/** One symbol whose value differs between two configs (n when absent). */
export interface ConfigChange {
  symbol: string;
  from: string;
  to: string;
}

/** Every symbol whose value changed, sorted by name. Pure. */
export function diffKernelConfigs(before: KernelConfig, after: KernelConfig): ConfigChange[] {
  const names = new Set([...before.keys(), ...after.keys()]);
  const changes: ConfigChange[] = [];
  for (const symbol of [...names].sort()) {
    const from = before.get(symbol) ?? 'n';
    const to = after.get(symbol) ?? 'n';
    if (from !== to) changes.push({ symbol, from, to });
  }
  return changes;
}
