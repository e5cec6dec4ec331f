/** A client, or a function that makes it on first use (so a cold start does not load its SDK). */
export type Lazy<T> = T | (() => Promise<T>);

export async function resolveLazy<T>(value: Lazy<T>): Promise<T> {
  return typeof value === 'function' ? (value as () => Promise<T>)() : value;
}
