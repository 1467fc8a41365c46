/**
 * The load generators. `sendEvents`: autocannon sends every pre-generated event exactly once, over `connections` keep-alive
 * connections, as fast as the server answers (or at `overallRate`), each signed as it is sent. autocannon loops over a fixed request
 * list per connection, which would send duplicates; one request whose setupRequest takes the next event from
 * a shared cursor gives each event to exactly one connection instead. The send time of each event goes out as
 * X-Correlation-Id (`b<epoch ms>`) so a write-back that carries it tells the end-to-end latency.
 */
'use strict';
const http = require('node:http');
const autocannon = require('autocannon');
const { summary } = require('./measure');

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
  // autocannon resolves on its next one-second tick after the last answer; the rate is taken from the first
  // send to the last answer instead, or a 10 s batch would be off by up to 10 %.
  let firstSentAt;
  let lastAnsweredAt = startedAt;
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
          firstSentAt ??= now;
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
          lastAnsweredAt = Date.now();
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
    durationS: (lastAnsweredAt - (firstSentAt ?? startedAt)) / 1000,
    startedAt,
  };
}

/**
 * Open-loop paced load for latency: event i is due at `startedAt + i / rate` s and is sent then, whether or
 * not earlier events have been answered. autocannon's own rate limit cannot be used for this: each connection
 * sends its quota for the second as fast as it can at the start of the second and then pauses, so "90 events/s"
 * arrives as one burst of 90 each second, and a closed-loop server holds the rest of the burst in the client,
 * where autocannon does not count the wait (coordinated omission). Here the clock of every event (the latency
 * and the `b<ms>` in X-Correlation-Id) starts at its due time, so time spent waiting for a connection counts.
 */
async function sendPaced({ url, path, events, rate, okStatuses = [200, 202], maxSockets = 256, timeoutS = 30 }) {
  const target = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  const accepted = [];
  const statuses = {};
  const latencies = [];
  let errors = 0;
  let timeouts = 0;
  let pending = events.length;
  const startedAt = Date.now() + 20;
  const dueAt = (index) => Math.round(startedAt + (index * 1000) / rate);

  await new Promise((resolve) => {
    const send = (index) => {
      const event = events[index];
      const due = dueAt(index);
      let settled = false;
      const settle = (failed) => {
        if (settled) return;
        settled = true;
        if (failed) errors += 1;
        pending -= 1;
        if (pending === 0) resolve();
      };
      const request = http.request({
        agent,
        host: target.hostname,
        port: target.port,
        method: 'POST',
        path,
        timeout: timeoutS * 1000,
        headers: {
          ...event.headersAt(due),
          'x-correlation-id': `b${due}-${index}`,
          'content-length': event.rawBody.length,
        },
      });
      request.on('response', (response) => {
        response.resume();
        response.on('error', () => settle(true));
        response.on('end', () => {
          statuses[response.statusCode] = (statuses[response.statusCode] ?? 0) + 1;
          if (okStatuses.includes(response.statusCode)) accepted.push(index);
          latencies.push(Date.now() - due);
          settle(false);
        });
      });
      request.on('timeout', () => {
        timeouts += 1;
        request.destroy(new Error('timed out'));
      });
      request.on('error', () => settle(true));
      request.end(event.rawBody);
    };
    let next = 0;
    const tick = () => {
      const now = Date.now();
      while (next < events.length && dueAt(next) <= now) send(next++);
      if (next < events.length) setTimeout(tick, Math.max(0, dueAt(next) - Date.now()));
    };
    if (events.length === 0) resolve();
    else setTimeout(tick, startedAt - Date.now());
  });
  agent.destroy();
  const latency = summary(latencies);
  return {
    sent: events.length,
    accepted,
    statuses,
    errors,
    timeouts,
    latency: { ...latency, average: latencies.reduce((sum, value) => sum + value, 0) / (latencies.length || 1) },
    requestsPerSec: rate,
    durationS: (Date.now() - startedAt) / 1000,
    startedAt,
  };
}

module.exports = { sendEvents, sendPaced };
