/**
 * Small measuring helpers shared by the scenarios: percentiles, a poller that records a counter over time,
 * the steady-state rate read from such a record, and end-to-end latencies from write-back arrivals.
 */
'use strict';
const { sleep } = require('./processes');

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

/** p50 / p99 / max of a list of numbers (ms). */
function summary(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? null,
    count: sorted.length,
  };
}

/**
 * Polls `read()` (a number that only grows) every `intervalMs` until `stop()` is called; the record is a
 * list of [ms since epoch, value].
 */
function recorder(read, intervalMs = 100) {
  const points = [];
  let running = true;
  const sample = async () => {
    try {
      points.push([Date.now(), await read()]);
    } catch {
      // The process being read has gone (a scenario failed); the record simply ends.
      running = false;
    }
  };
  const done = (async () => {
    while (running) {
      await sample();
      await sleep(intervalMs);
    }
    await sample();
  })();
  return {
    points,
    async stop() {
      running = false;
      await done;
      return points;
    },
  };
}

/** When the record first reached `value` (interpolated between polls), or null. */
function timeToReach(points, value) {
  for (let i = 0; i < points.length; i += 1) {
    const [t, v] = points[i];
    if (v >= value) {
      if (i === 0) return t;
      const [t0, v0] = points[i - 1];
      return t0 + ((value - v0) / (v - v0)) * (t - t0);
    }
  }
  return null;
}

/**
 * The rate at steady state: items completed between the 10 % and the 90 % marks of `total`, divided by the
 * time between them, so the start-up and the tail of a batch do not count.
 */
function steadyRate(points, base, total) {
  const from = timeToReach(points, base + 0.1 * total);
  const to = timeToReach(points, base + 0.9 * total);
  if (from === null || to === null || to <= from) return null;
  return (0.8 * total) / ((to - from) / 1000);
}

/** Latencies (ms) from write-back arrivals whose correlation id carries the send time (`b<ms>-<index>`). */
function endToEndLatencies(arrivals) {
  const latencies = [];
  for (const [correlationId, arrivedAt] of arrivals) {
    const match = /^b(\d+)-/.exec(correlationId);
    if (match) latencies.push(arrivedAt - Number(match[1]));
  }
  return latencies;
}

/** Waits until `read()` reaches `value`; resolves with the time it did, or null at the deadline. */
async function waitUntil(read, value, deadline, intervalMs = 100) {
  while (Date.now() < deadline) {
    if ((await read()) >= value) return Date.now();
    await sleep(intervalMs);
  }
  return null;
}

const median = (values) => {
  const sorted = values.filter((value) => value !== null && value !== undefined).sort((a, b) => a - b);
  return sorted.length === 0 ? null : sorted[Math.floor((sorted.length - 1) / 2)];
};

/**
 * The median over rounds of a ratio taken within each round: `numerators[i] / denominators[i]`, both measured in
 * round i, back to back. The machines these run on change speed for tens of seconds at a time, so a ratio of
 * medians can compare a variant measured fast with one measured slow; a ratio within a round cannot.
 */
const medianRatio = (numerators, denominators) =>
  median(
    numerators.map((numerator, index) => {
      const denominator = denominators[index];
      // A round where either variant has no figure (a batch that did not finish) gives no ratio.
      const missing = (value) => value === null || value === undefined;
      return missing(numerator) || missing(denominator) || denominator === 0 ? null : numerator / denominator;
    }),
  );

const round = (value, digits = 0) => (value === null || value === undefined ? null : Number(value.toFixed(digits)));

module.exports = {
  summary,
  recorder,
  steadyRate,
  timeToReach,
  endToEndLatencies,
  waitUntil,
  median,
  medianRatio,
  round,
};
