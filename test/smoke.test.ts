import { Octokit } from '@octokit/rest';
import { createAppAuth } from '@octokit/auth-app';
import { throttling } from '@octokit/plugin-throttling';
import { retry } from '@octokit/plugin-retry';
describe('esm', () => { it('should load octokit', () => { const O = Octokit.plugin(throttling, retry); expect(typeof O).toBe('function'); expect(typeof createAppAuth).toBe('function'); }); });
