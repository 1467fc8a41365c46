/**
 * RFC 9457 problem details, the one error shape of the sandbox. Handlers throw a SandboxProblem; the server
 * turns it into an `application/problem+json` answer, so no handler writes an error response by hand.
 */

/** One wrong field: a JSON pointer into the request body and what is wrong with it. */
export interface FieldError {
  path: string;
  message: string;
  code: string;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  428: 'Precondition Required',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export interface ProblemOptions {
  errors?: FieldError[];
  headers?: Record<string, string>;
  /** Extra members of the problem object, e.g. `existingId` of a duplicate. */
  members?: Record<string, unknown>;
}

export class SandboxProblem extends Error {
  readonly status: number;
  readonly code: string;
  readonly errors?: FieldError[];
  readonly headers?: Record<string, string>;
  readonly members?: Record<string, unknown>;

  constructor(status: number, code: string, detail: string, options: ProblemOptions = {}) {
    super(detail);
    this.name = 'SandboxProblem';
    this.status = status;
    this.code = code;
    this.errors = options.errors;
    this.headers = options.headers;
    this.members = options.members;
  }

  toBody(): Record<string, unknown> {
    return {
      type: 'about:blank',
      title: TITLES[this.status] ?? `HTTP ${this.status}`,
      status: this.status,
      detail: this.message,
      code: this.code,
      ...(this.errors ? { errors: this.errors } : {}),
      ...this.members,
    };
  }
}

/**
 * One problem for a list of field errors. The problem's code is the errors' code when they agree (so a client
 * can react to `INVALID_AMOUNT` without reading the list), otherwise `VALIDATION_FAILED`.
 */
export function fieldProblem(status: number, errors: FieldError[]): SandboxProblem {
  const codes = new Set(errors.map((error) => error.code));
  const code = codes.size === 1 ? errors[0].code : 'VALIDATION_FAILED';
  const first = `${errors[0].path}: ${errors[0].message}`;
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more, see errors)` : '';
  return new SandboxProblem(status, code, `${first}${more}. Correct the request and send it again.`, { errors });
}

export function notFound(what: string): SandboxProblem {
  return new SandboxProblem(404, 'NOT_FOUND', `${what} does not exist.`);
}
