/** Types for the layer table exported by eslint.config.js (the architecture tests read it). */
export declare const LAYERS: Readonly<Record<string, { readonly may: readonly string[]; readonly why: string }>>;
declare const config: unknown;
export default config;
