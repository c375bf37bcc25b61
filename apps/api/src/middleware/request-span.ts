import type { Response } from 'express';
import type { Span } from '@sluice/shared';

/** The span of this request (tracing on), which a job it submits continues; null when tracing is off. */
export const requestSpan = (res: Response): Span | null => (res.locals.span as Span | undefined) ?? null;
