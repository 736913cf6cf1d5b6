#!/usr/bin/env node
// The `opg` command. Installed from the package it runs the compiled CLI in dist/ (plain JavaScript: no build
// step, no TypeScript loader). In a checkout of the repository (src/ present and tsx installed) it runs the
// TypeScript source through tsx instead, so `npx opg` always runs the code you are editing.
import { existsSync } from "node:fs";

const source = new URL("../src/cli/main.ts", import.meta.url);
let main;
if (existsSync(source)) {
  const tsx = await import("tsx/esm/api").catch(() => undefined);
  if (tsx !== undefined) {
    tsx.register();
    ({ main } = await import(source.href));
  }
}
main ??= (await import("../dist/cli/main.js")).main;
process.exitCode = await main(process.argv.slice(2));
