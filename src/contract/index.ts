export * from './schema.js';
export * from './steps.js';
export * from './release-view.js';
export * from './service-offer.js';
