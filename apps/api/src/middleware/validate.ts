import type { z } from 'zod';
import { ApiError } from '../api-error.ts';

/** The problems of one issue: fields the schema does not know are named (the param of a top-level one is its name). */
function problemsOf(issue: z.core.$ZodIssue): { param: string | null; message: string }[] {
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ param: path.length > 0 ? path.join('.') : key, message: `unknown field "${[...path, key].join('.')}": not supported` }));
  }
  return [{
    param: path.length > 0 ? path.join('.') : null,
    message: issue.message.replace(/^Invalid input: /, '').replace(/^expected (\w+), received undefined$/, 'required ($1)'),
  }];
}

/** Parses `input` with `schema`, or throws a 400 naming every problem by its path (`messages.0.role`); a field it does not know, by its name. */
export function validate<S extends z.ZodType>(schema: S, input: unknown, where: 'body' | 'query' = 'body'): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.flatMap(problemsOf);
  const summary = issues.map((issue) => (issue.param ? `${issue.param}: ${issue.message}` : issue.message)).join('; ');
  throw new ApiError(`Invalid request ${where}: ${summary}`, {
    status: 400,
    type: 'invalid_request_error',
    code: 'invalid_request',
    param: issues[0]?.param ?? null,
    issues,
  });
}
