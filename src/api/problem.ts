/** RFC 9457 problem details: every API error is one of these, served as application/problem+json. */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  /** Which request parameter was wrong, and why (our extension member). */
  errors?: { parameter: string; reason: string }[];
  [extension: string]: unknown;
}

export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail?: string,
    readonly extra: Record<string, unknown> = {},
    /** Response headers that go with it (Retry-After on 503). */
    readonly headers: Record<string, string> = {},
  ) {
    super(detail ?? title);
  }

  toBody(): ProblemBody {
    return {
      type: 'about:blank',
      title: this.title,
      status: this.status,
      ...(this.detail ? { detail: this.detail } : {}),
      ...this.extra,
    };
  }
}

export const badRequest = (parameter: string, reason: string) =>
  new HttpProblem(400, 'Bad Request', `${parameter}: ${reason}`, { errors: [{ parameter, reason }] });
export const notFound = (what: string) => new HttpProblem(404, 'Not Found', `${what} not found`);
export const conflict = (detail: string, extra: Record<string, unknown> = {}) => new HttpProblem(409, 'Conflict', detail, extra);
/** How long a client should wait before trying again while the database is down. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;
export const databaseUnavailable = () =>
  new HttpProblem(503, 'Service Unavailable', 'the database is not reachable right now; try again shortly', {}, {
    'Retry-After': String(DATABASE_RETRY_AFTER_SECONDS),
  });
