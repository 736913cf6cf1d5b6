// Mocha's spec reporter plus one plain summary line, `N passed, N failed`, that CI parses whatever the test
// runner. CommonJS because mocha loads custom reporters with require().
const Mocha = require("mocha");

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      console.log(`${runner.stats.passes} passed, ${runner.stats.failures} failed`);
    });
  }
}

module.exports = SummaryReporter;
