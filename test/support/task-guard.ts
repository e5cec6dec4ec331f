/** A fake that counts what one driver call reads, to fail a call that polls (no task waits on AWS). */
export interface TaskGuard {
  beginTask(name: string): void;
  endTask(): void;
}

/**
 * The driver with the fake's polling guard around every call: each method call is one task for the
 * fake, which fails it when it reads the same thing more often than a task that does not wait would.
 */
export function guardedByTask<D extends object>(driver: D, fake: TaskGuard): D {
  return new Proxy(driver, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        fake.beginTask(String(key));
        try {
          return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } finally {
          fake.endTask();
        }
      };
    },
  });
}
