/**
 * The admin HTTP API of the dead-letter nodes, on Node-RED's admin server and behind its admin permissions
 * (DESIGN 8): `finance-dead-letter.read` to look, `finance-dead-letter.write` to replay or purge.
 *
 *   GET  /finance-dead-letter/:nodeId/letters?status=&code=&source=&docType=&since=&limit=&cursor=
 *   GET  /finance-dead-letter/:nodeId/letters/:id
 *   POST /finance-dead-letter/:nodeId/replay   {ids: [...]} | {filter: {...}} | {all: true}
 *   POST /finance-dead-letter/:nodeId/purge    {ids: [...]} | {filter: {...}} | {all: true}
 *   GET  /finance-dead-letter/:nodeId/stats
 *
 * A list leaves each letter's message out (`originalBytes` gives its size as JSON): a few letters of tens of
 * megabytes would otherwise fill a small host's memory. `GET .../letters/:id` answers one letter with it.
 *
 * Node-RED cannot remove admin routes, so they are registered once per runtime and find the node by id on
 * each request: a node that is not deployed answers 404. Errors are problem+json (RFC 9457).
 */
import type { Request, Response } from 'express';
import type { NodeAPI } from 'node-red';
import { FinanceError } from '../../lib/errors';
import {
  listLetters,
  purgeLetters,
  replayLetters,
  stats,
  type DeadLetterQueue,
} from '../../lib/reliability/dead-letter-commands';

/** Finds the queue of a deployed dead-letter node; undefined when there is none with that id. */
export type QueueLookup = (nodeId: string) => DeadLetterQueue | undefined;

type Params = { nodeId: string; id?: string };

class NotFound extends Error {}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function registerAdminApi(RED: NodeAPI, type: string, lookup: QueueLookup): void {
  const read = RED.auth.needsPermission(`${type}.read`);
  const write = RED.auth.needsPermission(`${type}.write`);
  const base = `/${type}/:nodeId`;

  function route(work: (queue: DeadLetterQueue, req: Request<Params>) => Promise<unknown>) {
    return (req: Request<Params>, res: Response): void => {
      Promise.resolve()
        .then(() => {
          const queue = lookup(req.params.nodeId);
          if (!queue) throw new NotFound(`There is no deployed ${type} node with id ${req.params.nodeId}.`);
          return work(queue, req);
        })
        .then(
          (body) => {
            res.json(body);
          },
          (err: unknown) => sendProblem(res, err),
        );
    };
  }

  RED.httpAdmin.get(
    `${base}/letters`,
    read,
    route((queue, req) => listLetters(queue, req.query)),
  );
  RED.httpAdmin.get(
    `${base}/letters/:id`,
    read,
    route(async (queue, req) => {
      const letter = await queue.letters.get(req.params.id ?? '');
      if (!letter) throw new NotFound(`There is no dead letter ${req.params.id} in this queue.`);
      return letter;
    }),
  );
  RED.httpAdmin.post(
    `${base}/replay`,
    write,
    route((queue, req) => replayLetters(queue, req.body)),
  );
  RED.httpAdmin.post(
    `${base}/purge`,
    write,
    route((queue, req) => purgeLetters(queue, req.body)),
  );
  RED.httpAdmin.get(
    `${base}/stats`,
    read,
    route((queue) => stats(queue)),
  );
}

function sendProblem(res: Response, err: unknown): void {
  const status =
    err instanceof NotFound
      ? 404
      : err instanceof FinanceError && err.code === 'SCHEMA_INVALID'
        ? 400
        : err instanceof FinanceError && err.code.startsWith('STORE_')
          ? 503
          : 500;
  const body = {
    type: 'about:blank',
    title: TITLES[status],
    status,
    detail: err instanceof Error ? err.message : String(err),
    ...(err instanceof FinanceError ? { code: err.code } : {}),
  };
  res.status(status).type('application/problem+json').send(JSON.stringify(body));
}
