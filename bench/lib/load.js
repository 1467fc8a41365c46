/**
 * The load generator: autocannon sends every pre-generated event exactly once, over `connections` keep-alive
 * connections, as fast as the server answers (or at `overallRate`), each signed as it is sent. autocannon loops over a fixed request
 * list per connection, which would send duplicates; one request whose setupRequest takes the next event from
 * a shared cursor gives each event to exactly one connection instead. The send time of each event goes out as
 * X-Correlation-Id (`b<epoch ms>`) so a write-back that carries it tells the end-to-end latency.
 */
'use strict';
const autocannon = require('autocannon');

/** Latency fields in ms from an autocannon histogram. */
function latencyOf(histogram) {
  return { p50: histogram.p50, p99: histogram.p99, average: histogram.average, max: histogram.max };
}

/**
 * Posts `events` ({ rawBody, headersAt }) to `url` + `path`. Resolves with the answers per status, the
 * indexes of the events that got one of `okStatuses`, autocannon's latency and the wall time.
 */
async function sendEvents({
  url,
  path,
  events,
  connections = 16,
  overallRate,
  okStatuses = [200, 202],
  timeoutS = 30,
}) {
  let cursor = 0;
  const accepted = [];
  const statuses = {};
  const startedAt = Date.now();
  const result = await autocannon({
    url,
    connections: Math.min(connections, events.length),
    amount: events.length,
    timeout: timeoutS,
    ...(overallRate ? { overallRate } : {}),
    requests: [
      {
        method: 'POST',
        path,
        setupRequest(request, context) {
          const index = cursor % events.length;
          cursor += 1;
          const event = events[index];
          const now = Date.now();
          context.index = index;
          return {
            ...request,
            headers: { ...event.headersAt(now), 'x-correlation-id': `b${now}-${index}` },
            body: event.rawBody,
          };
        },
        onResponse(status, _body, context) {
          statuses[status] = (statuses[status] ?? 0) + 1;
          if (okStatuses.includes(status)) accepted.push(context.index);
        },
      },
    ],
  });
  return {
    sent: cursor,
    accepted,
    statuses,
    errors: result.errors,
    timeouts: result.timeouts,
    latency: latencyOf(result.latency),
    requestsPerSec: result.requests.average,
    durationS: (Date.now() - startedAt) / 1000,
    startedAt,
  };
}

module.exports = { sendEvents };
