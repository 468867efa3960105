#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (npm run build). kt exits as soon as its
// command is done: a timer or socket some library left behind must not keep it alive.
import('../dist/cli/main.js')
  .then(async (m) => {
    await m.main(process.argv.slice(2));
    process.exit(process.exitCode ?? 0);
  })
  .catch((err) => {
    console.error(err);
    process.exit(3);
  });
