import { Logger } from '@aws-lambda-powertools/logger';
import type { Log } from '../src/ports/log.js';

/** One Powertools logger per function: JSON logs, release id / service / step as keys, never secrets. */
export function createLogger(serviceName: string): { logger: Logger; log: Log } {
  const logger = new Logger({ serviceName, logLevel: (process.env['LOG_LEVEL'] as 'INFO' | undefined) ?? 'INFO' });
  // Powertools reserves `service` for the function's own name; the released service goes in `targetService`.
  const keys = (extra: Record<string, unknown> | undefined) => {
    if (!extra || !('service' in extra)) return extra ?? {};
    const { service, ...rest } = extra;
    return { ...rest, targetService: service };
  };
  const log: Log = {
    info: (message, extra) => logger.info(message, keys(extra)),
    warn: (message, extra) => logger.warn(message, keys(extra)),
    error: (message, extra) => logger.error(message, keys(extra)),
  };
  return { logger, log };
}
