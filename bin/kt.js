#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (npm run build). main() sets process.exitCode;
// kt then exits when its work is done, because every timer, socket and child it started is
// released on every path (src/runner/disposer.ts, src/vm/processRegistry.ts).
import('../dist/cli/main.js')
  .then((m) => m.main(process.argv.slice(2)))
  .catch((err) => {
    console.error(`kt: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exitCode = 3;
  });
