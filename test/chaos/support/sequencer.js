// Runs the scenario files in the order of their leading number (1-app-kill, 2-broker-kill, ...).
const Sequencer = require('@jest/test-sequencer').default;

class ScenarioOrder extends Sequencer {
  sort(tests) {
    const n = (t) => Number(require('node:path').basename(t.path).split('-')[0]) || 99;
    return [...tests].sort((a, b) => n(a) - n(b));
  }
}

module.exports = ScenarioOrder;
