import type { z } from 'zod';
import { ApiError } from '../api-error.ts';

/** Parses `input` with `schema`, or throws a 400 naming every problem by its path (`messages.0.role`). */
export function validate<S extends z.ZodType>(schema: S, input: unknown, where: 'body' | 'query' = 'body'): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({
    param: issue.path.length > 0 ? issue.path.map(String).join('.') : null,
    message: issue.message.replace(/^Invalid input: /, '').replace(/^expected (\w+), received undefined$/, 'required ($1)'),
  }));
  const summary = issues.map((issue) => (issue.param ? `${issue.param}: ${issue.message}` : issue.message)).join('; ');
  throw new ApiError(`Invalid request ${where}: ${summary}`, {
    status: 400,
    type: 'invalid_request_error',
    code: 'invalid_request',
    param: issues[0]?.param ?? null,
    issues,
  });
}
