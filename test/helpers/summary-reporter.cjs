// Mocha's spec reporter plus one plain summary line, `N passed, N failed`, that CI parses whatever the test
// runner, and the slowest test files (wall time from a file's first suite starting to its last ending) so the CI
// time budget can be watched. CommonJS because mocha loads custom reporters with require().
const Mocha = require("mocha");
const { relative } = require("node:path");

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const files = new Map();
    runner.on(Mocha.Runner.constants.EVENT_SUITE_BEGIN, (suite) => {
      if (suite.file === undefined || files.has(suite.file)) return;
      files.set(suite.file, { start: Date.now(), end: Date.now() });
    });
    runner.on(Mocha.Runner.constants.EVENT_SUITE_END, (suite) => {
      const entry = suite.file === undefined ? undefined : files.get(suite.file);
      if (entry !== undefined) entry.end = Date.now();
    });
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const slowest = [...files.entries()]
        .map(([file, { start, end }]) => ({
          file: relative(process.cwd(), file),
          seconds: (end - start) / 1000,
        }))
        .sort((a, b) => b.seconds - a.seconds)
        .slice(0, 12);
      // In parallel mode the workers' suites reach this process without their files: nothing to list then.
      if (slowest.length > 0) console.log("slowest test files (s):");
      for (const { file, seconds } of slowest) console.log(`  ${seconds.toFixed(1).padStart(6)}  ${file}`);
      console.log(`${runner.stats.passes} passed, ${runner.stats.failures} failed`);
    });
  }
}

module.exports = SummaryReporter;
