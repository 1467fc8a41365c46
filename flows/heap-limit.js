/**
 * The V8 heap limit of the Node-RED process that `npm start` and `npm run bench` run.
 *
 * Without a limit V8 sizes its heap for the machine (about 4 GB on a 24 GB host) and collects lazily: during a
 * burst of 30,000 webhooks the heap grew to 210 MB while 50-65 MB of it was alive. With a 256 MB limit V8
 * collects sooner and the heap stayed near 100 MB, at no measured cost in throughput; the limit still leaves
 * about four times the example pipelines' live heap as head-room. Node-RED's documentation shows the same
 * option for devices with little memory.
 *
 * It is passed in NODE_OPTIONS (Node-RED replaces its command line with its process title, the environment
 * stays readable). FINANCE_SYNC_HEAP_MB sets another limit, 0 leaves it to V8, and a limit already in
 * NODE_OPTIONS is kept.
 */
'use strict';

const DEFAULT_HEAP_MB = 256;

/** The NODE_OPTIONS to start Node-RED with, given the environment `env`. */
function withHeapLimit(env = process.env) {
  const options = (env.NODE_OPTIONS ?? '').trim();
  const configured = env.FINANCE_SYNC_HEAP_MB;
  const mb = configured === undefined || configured === '' ? DEFAULT_HEAP_MB : Number(configured);
  if (!Number.isSafeInteger(mb) || mb < 0) {
    throw new Error(`FINANCE_SYNC_HEAP_MB must be a whole number of megabytes (0 for no limit), not "${configured}".`);
  }
  if (mb === 0 || /--max[-_]old[-_]space[-_]size/.test(options)) return options;
  return `${options} --max-old-space-size=${mb}`.trim();
}

module.exports = { withHeapLimit, DEFAULT_HEAP_MB };
