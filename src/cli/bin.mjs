#!/usr/bin/env node
// Launcher for `opg`: registers tsx so the TypeScript CLI runs without a build step, then runs it.
import { register } from "tsx/esm/api";

register();
const { main } = await import("./main.ts");
process.exitCode = await main(process.argv.slice(2));
