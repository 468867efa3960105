#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (npm run build).
import('../dist/cli/main.js').then((m) => m.main(process.argv.slice(2))).catch((err) => {
  console.error(err);
  process.exit(3);
});
