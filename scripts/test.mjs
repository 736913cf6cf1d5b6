// `npm test`: the Solidity tests (fuzz, invariants) and the Mocha tests at once, as two processes on the machine's
// cores: the Solidity suite is CPU-bound for about a minute while Mocha mostly waits on devnets, so running them side
// by side saves that minute of a CI run. Mocha's output streams as it runs; the Solidity suite's is printed when it
// ends (so the two never interleave), then one line for CI: `N passed, N failed` over both.
import { spawn } from "node:child_process";

const hardhat = process.platform === "win32" ? "npx.cmd" : "npx";

/** Run `hardhat test <suite>`; resolves to its exit code and output (streamed too when `live`). */
function run(suite, live) {
  return new Promise((resolve) => {
    const child = spawn(hardhat, ["hardhat", "test", suite], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const take = (stream, sink) =>
      stream.on("data", (chunk) => {
        output += chunk;
        if (live) sink.write(chunk);
      });
    take(child.stdout, process.stdout);
    take(child.stderr, process.stderr);
    child.on("close", (code) => resolve({ code: code ?? 1, output }));
  });
}

const [solidity, mocha] = await Promise.all([run("solidity", false), run("mocha", true)]);
process.stdout.write(`\n--- Solidity tests (ran beside Mocha) ---\n${solidity.output}`);
const count = (text, pattern) => Number(pattern.exec(text)?.[1] ?? 0);
const passed = count(mocha.output, /(\d+) passed, \d+ failed/) + count(solidity.output, /(\d+) passing/);
const failed = count(mocha.output, /\d+ passed, (\d+) failed/) + count(solidity.output, /(\d+) failing/);
const broken =
  (solidity.code !== 0 && count(solidity.output, /(\d+) failing/) === 0) ||
  (mocha.code !== 0 && failed === 0);
console.log(`${passed} passed, ${failed + (broken ? 1 : 0)} failed`);
process.exit(solidity.code !== 0 || mocha.code !== 0 ? 1 : 0);
