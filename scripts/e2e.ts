/**
 * `npm run e2e`: build the Lambda bundles, then run the end-to-end tests
 * (test/e2e) against the SDK-external test build of the same sources
 * (test/e2e/lib/bundles.ts prepareBundles) with the full-size burst
 * (500 jobs, cap 50) and the 50-job theft scenario. Arguments are passed on to jest, e.g.
 * `npm run e2e -- -t burst`. `--no-build` skips the build.
 *
 * The default `jest` run picks up the same tests with a 100-job burst.
 */
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..');

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): number {
  const result = spawnSync(command, args, { cwd: ROOT, stdio: 'inherit', env });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

function main(): number {
  const args = process.argv.slice(2);
  const build = !args.includes('--no-build');
  const jestArgs = args.filter((a) => a !== '--no-build');
  if (build) {
    const status = run('npm', ['run', 'build']);
    if (status !== 0) return status;
  }
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    E2E_BURST_JOBS: process.env.E2E_BURST_JOBS ?? '500',
    E2E_BURST_CAP: process.env.E2E_BURST_CAP ?? '50',
    E2E_THEFT_JOBS: process.env.E2E_THEFT_JOBS ?? '50',
  };
  return run(process.execPath, [require.resolve('jest/bin/jest'), '--runInBand', join('test', 'e2e'), ...jestArgs], env);
}

process.exit(main());
