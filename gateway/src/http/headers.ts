/** Schemas of the request headers the gateway reads. */
import { z } from 'zod';

export const IdempotencyKeyHeader = z
  .string()
  .regex(/^[\x21-\x7e]{1,255}$/, 'must be 1-255 printable ASCII characters without spaces')
  .optional()
  .meta({
    description:
      'Repeating a request with the same key (per caller and worker, within RESULT_TTL_SECONDS) returns the first task id without starting it again.',
  });
