/**
 * `npm run create-github-app -- [manifest|import] [options]`: create the
 * runners' GitHub App from a manifest (or import an existing one) and store
 * its id, private key and webhook secret as SSM SecureString parameters.
 * See scripts/lib/github-app/options.ts for the options (or pass --help).
 */
import { runCreateGitHubApp } from './lib/github-app/run';

runCreateGitHubApp(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
})
  .then((code) => {
    process.exitCode = code;
  })
  .catch((err: unknown) => {
    // runCreateGitHubApp reports its own errors; this is a bug guard, name only.
    process.stderr.write(`error: unexpected ${err instanceof Error ? err.name : 'failure'}\n`);
    process.exitCode = 1;
  });
