/**
 * `bench-mapping-loop`: the driver and counter of the mapping benchmark (bench/scenarios/mapping.js), as a
 * node of its own rather than two function nodes. A function node runs its code through node:vm on every
 * message, which cost more than finance-map itself and squeezed every mapping node's ratio towards 1; this
 * node costs Node-RED's routing and a counter, the same for every variant. Only the benchmark loads it (from
 * the user directory's nodes/ folder); it is not part of the pack.
 *
 * A message from `http in` (it has msg.res) starts a run: { samples, seconds, window } in msg.payload.
 * The node keeps `window` messages in flight through output 1 (wired to the mapping node, whose outputs come
 * back here); each one that comes back is counted and replaced by the next sample until the time is up.
 * When the last one is back, output 2 answers the request with
 * { count, invalid, seconds, first } (first: the first mapped document, to compare the variants).
 */
'use strict';
module.exports = function register(RED) {
  function BenchMappingLoop(config) {
    RED.nodes.createNode(this, config);
    let run;

    const sample = () => ({ payload: run.samples[run.next++ % run.samples.length] });

    this.on('input', (msg, send, done) => {
      if (msg.res !== undefined) {
        const { samples, seconds, window } = msg.payload;
        const startedAt = Date.now();
        const endsAt = startedAt + seconds * 1000;
        run = { trigger: msg, samples, startedAt, endsAt, next: 0, count: 0, invalid: 0, inFlight: window };
        for (let i = 0; i < window; i += 1) send([sample(), null]);
        done();
        return;
      }
      run.count += 1;
      if (msg.errors) run.invalid += 1;
      if (run.first === undefined) run.first = msg.payload;
      if (Date.now() < run.endsAt) {
        send([sample(), null]);
      } else {
        run.inFlight -= 1;
        if (run.inFlight === 0) {
          const answer = run.trigger;
          answer.payload = {
            count: run.count,
            invalid: run.invalid,
            seconds: (Date.now() - run.startedAt) / 1000,
            first: run.first,
          };
          send([null, answer]);
        }
      }
      done();
    });
  }
  RED.nodes.registerType('bench-mapping-loop', BenchMappingLoop);
};
