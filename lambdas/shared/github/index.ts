/** The GitHub adapter: see runners.ts for the API in our vocabulary. */
export * from './base-url';
export * from './octokit';
export * from './private-key';
export * from './runners';
export * from './token-cache';
export * from './write-pacer';
export * from './app-settings';
