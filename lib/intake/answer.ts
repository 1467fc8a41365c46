/**
 * What a sender is told about its event, the same for every transport that can answer (the webhook, an
 * upstream `http in`): 202 accepted, 200 duplicate with the first outcome, a problem otherwise.
 */
import type { IntakeResult } from './intake';
import { PROBLEM_CONTENT_TYPE, type Problem } from './problem';

export interface AcceptedBody {
  status: 'accepted';
  id: string;
  correlationId: string;
}

export interface DuplicateBody {
  status: 'duplicate';
  id: string;
  correlationId: string;
  /** How the first delivery ended so far: "accepted" while it is in progress, else its final status. */
  outcome: { status: string; at: string };
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  body: AcceptedBody | DuplicateBody | Problem;
}

export function httpAnswer(result: IntakeResult): HttpAnswer {
  switch (result.outcome) {
    case 'accepted':
      return {
        status: 202,
        headers: { 'Content-Type': 'application/json' },
        body: { status: 'accepted', id: result.envelope.id, correlationId: result.envelope.correlationId },
      };
    case 'duplicate':
      return {
        status: 200,
        headers: { 'Content-Type': 'application/json' },
        body: {
          status: 'duplicate',
          id: result.envelope.id,
          correlationId: result.envelope.correlationId,
          outcome: { status: result.firstOutcome.status, at: new Date(result.firstOutcome.at).toISOString() },
        },
      };
    case 'rejected':
      return { status: result.httpStatus, headers: { 'Content-Type': PROBLEM_CONTENT_TYPE }, body: result.problem };
    case 'failed':
      return {
        status: result.httpStatus,
        headers: {
          'Content-Type': PROBLEM_CONTENT_TYPE,
          ...(result.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(result.retryAfterSeconds) }),
        },
        body: result.problem,
      };
  }
}
