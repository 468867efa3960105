/**
 * Blanks what differs between two renderings of the same events on different hosts or days
 * (as Vitest's own JUnit snapshot tests do): times, timestamps, hostnames, run ids.
 */
export function stabilize(text: string): string {
  return text
    .replace(/\b(time|timestamp|hostname)="[^"]*"/g, '$1="…"')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<ISO-TIME>')
    .replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/g, '<UTC-TIME>');
}
