import { Logger } from '@aws-lambda-powertools/logger';
import type { Log } from '../src/engine/deps.js';

/** One Powertools logger per function: JSON logs, release id / service / step as keys, never secrets. */
export function createLogger(serviceName: string): { logger: Logger; log: Log } {
  const logger = new Logger({ serviceName, logLevel: (process.env['LOG_LEVEL'] as 'INFO' | undefined) ?? 'INFO' });
  const log: Log = {
    info: (message, extra) => logger.info(message, extra ?? {}),
    warn: (message, extra) => logger.warn(message, extra ?? {}),
    error: (message, extra) => logger.error(message, extra ?? {}),
  };
  return { logger, log };
}
