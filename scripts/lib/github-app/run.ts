/**
 * `npm run create-github-app`: the two modes, step by step.
 *
 * manifest (a new App):
 *   1. check the SSM parameters (credentials, region, and that we would not
 *      silently replace another App's values);
 *   2. serve the manifest page on 127.0.0.1 and wait for GitHub's callback;
 *   3. exchange the code for the App's id, private key and webhook secret;
 *   4. write the parameters (first thing after the exchange: GitHub shows the
 *      private key only once);
 *   5. if GitHub returned no webhook secret, set the one we generated on the
 *      App with `PATCH /app/hook/config`, authenticated as the App.
 *
 * import (an existing App): read the key (and secret) files, optionally verify
 * them against GitHub, write the parameters, optionally set the secret.
 *
 * Secrets (code, PEM, webhook secret) are registered with the reporter as soon
 * as they exist and never formatted into output; lengths and the key's
 * fingerprint are printed instead.
 */
import { readFileSync } from 'node:fs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { GitHubApiError, GitHubAppApi } from './github-api';
import { appSettingsUrl, buildManifest, installUrl, newAppPageUrl } from './manifest';
import { startManifestFlow } from './manifest-server';
import { AppParameterNames, CreateAppOptions, ImportOptions, ManifestOptions, parseCommandLine, USAGE, UsageError } from './options';
import { hclBlock, readParameterCommand, Reporter, Sink } from './reporter';
import { canonicalPrivateKey, generateWebhookSecret, privateKeyFingerprint } from './secrets';
import { SecureParameter, SecureParameterStore, WriteResult } from './ssm-writer';

export interface RunDependencies {
  /** Standard output. */
  readonly out: Sink;
  /** Standard error. @default out */
  readonly err?: Sink;
  /** SSM client; otherwise one is built for `--region`. Never built for a dry run. */
  readonly ssm?: SSMClient;
  /** fetch for GitHub. @default global fetch */
  readonly fetch?: typeof fetch;
  /** Reads a local file as UTF-8. @default fs.readFileSync */
  readonly readFile?: (path: string) => string;
  /** Called with the local page URL once it is served (tests play the browser here). */
  readonly onManifestPage?: (url: string) => void;
  /** Clock in ms, for the App JWT. */
  readonly now?: () => number;
}

/** Exit codes: 0 done, 1 failed or needs a manual step, 2 bad command line. */
export async function runCreateGitHubApp(argv: readonly string[], deps: RunDependencies): Promise<number> {
  const reporter = new Reporter(deps.out, deps.err ?? deps.out);
  try {
    const command = parseCommandLine(argv);
    if (command.kind === 'help') {
      reporter.line(USAGE);
      return 0;
    }
    const context = new RunContext(command.options, deps, reporter);
    return command.options.mode === 'manifest' ? await runManifest(command.options, context) : await runImport(command.options, context);
  } catch (err) {
    if (err instanceof UsageError) {
      reporter.error(err.message);
      reporter.error('run with --help for usage');
      return 2;
    }
    reporter.error(err instanceof Error ? err.message : String(err));
    return 1;
  }
}

class RunContext {
  private ssmClient?: SSMClient;
  readonly api: GitHubAppApi;

  constructor(
    readonly options: CreateAppOptions,
    private readonly deps: RunDependencies,
    readonly reporter: Reporter,
  ) {
    this.api = new GitHubAppApi(options.githubApiUrl, deps.fetch ?? fetch, deps.now ?? Date.now);
  }

  get store(): SecureParameterStore {
    this.ssmClient ??= this.deps.ssm ?? new SSMClient({ region: this.options.region });
    return new SecureParameterStore(this.ssmClient);
  }

  readFile(path: string): string {
    return (this.deps.readFile ?? ((p: string) => readFileSync(p, 'utf8')))(path);
  }

  onManifestPage(url: string): void {
    this.deps.onManifestPage?.(url);
  }
}

// ---------------------------------------------------------------- manifest

async function runManifest(o: ManifestOptions, ctx: RunContext): Promise<number> {
  const r = ctx.reporter;
  if (o.dryRun) return dryRunManifest(o, r);
  const total = 5;

  r.step(1, total, 'Checking the SSM parameters …');
  warnWithoutKmsKey(o, r);
  const store = ctx.store;
  const existing: string[] = [];
  for (const [label, name] of labelledNames(o.parameters)) {
    const found = (await store.read(name)) !== undefined;
    if (found) existing.push(name);
    r.note(`${label}: ${name} (${found ? 'exists' : 'absent'})`);
  }
  if (existing.length > 0 && !o.overwrite) {
    r.error(
      `${existing.join(', ')} already hold values, probably another App's. Creating a new App would replace them. ` +
        'Pass --overwrite to replace them, or pick other names (--prefix, --environment, --*-parameter). ' +
        'To store an existing App again, use the import mode.',
    );
    return 1;
  }
  if (existing.length > 0) r.warn('--overwrite: the existing values will be replaced (SSM keeps them as earlier versions).');

  r.step(2, total, `Creating the App on ${o.githubWebUrl} …`);
  const flow = await startManifestFlow({
    port: o.port,
    timeoutMs: o.timeoutMinutes * 60_000,
    manifestFor: (callbackUrl) => manifestOf(o, callbackUrl),
    newAppUrlFor: (state) => newAppPageUrl(o.githubWebUrl, o.org, state),
    notify: (line) => r.warn(line),
  });
  let code: string;
  try {
    r.note(`Open ${flow.pageUrl} in a browser signed in to GitHub${o.org ? ` as an owner of ${o.org}` : ''}.`);
    r.note('It sends the manifest to GitHub; there, check the name and choose "Create GitHub App".');
    r.note(`(Browser on another machine? Forward the port first: ssh -L ${portOf(flow.pageUrl)}:127.0.0.1:${portOf(flow.pageUrl)} <this host>; --port fixes it.)`);
    r.note(`Waiting up to ${o.timeoutMinutes} minute(s) for GitHub to send the browser back …`);
    ctx.onManifestPage(flow.pageUrl);
    code = await flow.code;
  } finally {
    await flow.close();
  }
  r.protect(code);
  r.note('GitHub sent the browser back with a matching state.');

  r.step(3, total, 'Exchanging the code for the App and its credentials …');
  const app = await ctx.api.createAppFromManifest(code);
  r.protect(app.pem);
  if (app.webhook_secret) r.protect(app.webhook_secret);
  const appId = String(app.id);
  const slug = app.slug ?? app.name;
  const settingsUrl = appSettingsUrl(o.githubWebUrl, slug, o.org);
  const privateKey = canonicalPrivateKey(app.pem, 'the private key GitHub returned');
  r.protect(privateKey);
  r.note(`App "${app.name}" created: id ${appId}, ${app.html_url}`);
  r.note(`private key ${privateKeyFingerprint(privateKey)} (the fingerprint GitHub shows in the App settings)`);
  const githubSetSecret = typeof app.webhook_secret === 'string' && app.webhook_secret.length > 0;
  const webhookSecret = githubSetSecret ? (app.webhook_secret as string) : generateWebhookSecret();
  r.protect(webhookSecret);
  r.note(
    githubSetSecret
      ? `webhook secret: returned by GitHub (${webhookSecret.length} characters)`
      : `webhook secret: GitHub returned none; generated one (${webhookSecret.length} characters) to set on the App in step 5`,
  );

  r.step(4, total, 'Writing the SSM parameters …');
  try {
    await writeParameters(ctx, o, appId, privateKey, webhookSecret);
  } catch (err) {
    r.error(err instanceof Error ? err.message : String(err));
    r.line(
      [
        '',
        `The App ${slug} (id ${appId}) exists, but its credentials were not all stored, and GitHub shows a private key only once.`,
        `Fix the SSM access, generate a new private key at ${settingsUrl} ("Private keys"), then run:`,
        `  npm run create-github-app -- import --app-id ${appId} --private-key-file <downloaded.pem> --set-webhook-secret${commonFlags(o)}`,
      ].join('\n'),
    );
    return 1;
  }

  r.step(5, total, 'Setting the webhook secret on the App …');
  let exitCode = 0;
  if (githubSetSecret) {
    r.note('GitHub already holds the secret it returned; nothing to do.');
  } else {
    exitCode = await setSecretOnApp(ctx, { appId, privateKey }, webhookSecret, settingsUrl);
  }

  summary(o, r, installUrl(app.html_url), o.level);
  return exitCode;
}

function manifestOf(o: ManifestOptions, redirectUrl: string) {
  return buildManifest({ name: o.name, homepageUrl: o.homepageUrl, webhookUrl: o.webhookUrl, redirectUrl, level: o.level, prefix: o.prefix, spotInterruptionRerun: o.spotInterruptionRerun });
}

function dryRunManifest(o: ManifestOptions, r: Reporter): number {
  r.line('Dry run: no server started, nothing sent to GitHub, nothing written to SSM.');
  r.line();
  r.line(`Manifest (POSTed to ${newAppPageUrl(o.githubWebUrl, o.org)}?state=<random>):`);
  r.line(JSON.stringify(manifestOf(o, `http://127.0.0.1:${o.port === 0 ? '<port>' : o.port}/callback`), null, 2));
  r.line();
  r.line(`GitHub API: ${o.githubApiUrl}`);
  r.line('SSM parameters (SecureString' + (o.kmsKeyId ? `, KMS key ${o.kmsKeyId}` : ', SSM default key') + '):');
  for (const [label, name] of labelledNames(o.parameters)) r.line(`  ${label}: ${name}`);
  r.line();
  r.line(hclBlock(o.parameters));
  r.line(`enable_organization_runners = ${o.level === 'org'}`);
  return 0;
}

// ------------------------------------------------------------------ import

async function runImport(o: ImportOptions, ctx: RunContext): Promise<number> {
  const r = ctx.reporter;
  const total = 4;

  r.step(1, total, 'Reading the App credentials …');
  const privateKey = canonicalPrivateKey(readSecretFile(ctx, o.privateKeyFile, '--private-key-file'), `--private-key-file ${o.privateKeyFile}`);
  r.protect(privateKey);
  r.note(`app id ${o.appId}; private key ${privateKeyFingerprint(privateKey)} (compare with the App settings)`);
  let fileSecret: string | undefined;
  if (o.webhookSecretFile !== undefined) {
    fileSecret = readSecretFile(ctx, o.webhookSecretFile, '--webhook-secret-file').trim();
    if (fileSecret.length === 0) throw new UsageError([`--webhook-secret-file ${o.webhookSecretFile} is empty`]);
    r.protect(fileSecret);
    r.note(`webhook secret from ${o.webhookSecretFile} (${fileSecret.length} characters)`);
    if (fileSecret.length < 32) r.warn('that webhook secret is short; 32 random bytes (64 hex characters) is the usual strength.');
  }

  if (o.dryRun) {
    r.line();
    r.line('Dry run: nothing sent to GitHub, nothing written to SSM. Would write (SecureString' + (o.kmsKeyId ? `, KMS key ${o.kmsKeyId}` : '') + '):');
    for (const [label, name] of labelledNames(o.parameters)) r.line(`  ${label}: ${name}`);
    r.line();
    r.line(hclBlock(o.parameters));
    return 0;
  }

  const credentials = { appId: o.appId, privateKey };
  let appInstallUrl: string | undefined;
  let settingsUrl: string | undefined;
  if (o.setWebhookSecret) {
    r.step(2, total, 'Checking the id and key with GitHub (GET /app) …');
    const app = await ctx.api.getApp(credentials);
    appInstallUrl = installUrl(app.html_url);
    settingsUrl = appSettingsUrl(o.githubWebUrl, app.slug ?? app.name, o.org);
    r.note(`the key belongs to App "${app.name}" (id ${app.id}), ${app.html_url}`);
  } else {
    r.step(2, total, 'Checking the id and key with GitHub: skipped (import calls GitHub only with --set-webhook-secret)');
  }

  r.step(3, total, 'Writing the SSM parameters …');
  warnWithoutKmsKey(o, r);
  let webhookSecret = fileSecret;
  let generated = false;
  if (webhookSecret === undefined) {
    const stored = await ctx.store.read(o.parameters.webhookSecret);
    if (stored !== undefined) {
      webhookSecret = stored.value;
      r.protect(webhookSecret);
      r.note(`webhook secret: keeping the one stored in ${o.parameters.webhookSecret}`);
    } else {
      webhookSecret = generateWebhookSecret();
      generated = true;
      r.protect(webhookSecret);
      r.note(`webhook secret: none given or stored; generated one (${webhookSecret.length} characters)`);
    }
  }
  await writeParameters(ctx, o, o.appId, privateKey, webhookSecret);

  let exitCode = 0;
  if (o.setWebhookSecret) {
    r.step(4, total, 'Setting the webhook secret on the App …');
    exitCode = await setSecretOnApp(ctx, credentials, webhookSecret, settingsUrl ?? `${o.githubWebUrl}/settings/apps`);
  } else {
    r.step(4, total, 'Setting the webhook secret on the App: skipped (no --set-webhook-secret)');
    if (generated) {
      r.warn('GitHub does not know the generated webhook secret, so deliveries fail verification until it does. Either run again with --set-webhook-secret,');
      r.warn(`or paste it under "Webhook secret" in the App settings, printing it with: ${readParameterCommand(o.parameters.webhookSecret, o.region)}`);
      exitCode = 1;
    } else if (fileSecret !== undefined) {
      r.note(`The App must use the secret from ${o.webhookSecretFile}; if it does not, run again with --set-webhook-secret.`);
    }
  }

  summary(o, r, appInstallUrl, undefined);
  return exitCode;
}

// ------------------------------------------------------------------ shared

function labelledNames(names: AppParameterNames): Array<[string, string]> {
  return [
    ['app id', names.appId],
    ['private key', names.privateKey],
    ['webhook secret', names.webhookSecret],
  ];
}

async function writeParameters(ctx: RunContext, o: CreateAppOptions, appId: string, privateKey: string, webhookSecret: string): Promise<WriteResult[]> {
  const owner = `GitHub App for the ${o.prefix} runners`;
  const parameters: SecureParameter[] = [
    { label: 'app id', name: o.parameters.appId, value: appId, description: `${owner}: App id` },
    { label: 'private key', name: o.parameters.privateKey, value: privateKey, description: `${owner}: private key (PEM)` },
    { label: 'webhook secret', name: o.parameters.webhookSecret, value: webhookSecret, description: `${owner}: webhook secret` },
  ];
  const words = { created: 'created', updated: 'updated (new version)', unchanged: 'unchanged, already holds this value; skipped' };
  return ctx.store.writeAll(parameters, o.kmsKeyId, (res) => ctx.reporter.note(`${res.label}: ${res.name}: ${words[res.outcome]}`));
}

async function setSecretOnApp(ctx: RunContext, credentials: { appId: string; privateKey: string }, secret: string, settingsUrl: string): Promise<number> {
  const r = ctx.reporter;
  try {
    await ctx.api.setWebhookSecret(credentials, secret);
    r.note('set with PATCH /app/hook/config (as the App); deliveries are now signed with the stored secret.');
    return 0;
  } catch (err) {
    r.error(err instanceof GitHubApiError ? err.message : String(err));
    r.warn(`The secret is stored in SSM but not on the App. Paste it under "Webhook secret" at ${settingsUrl},`);
    r.warn(`printing it with: ${readParameterCommand(ctx.options.parameters.webhookSecret, ctx.options.region)}`);
    return 1;
  }
}

function warnWithoutKmsKey(o: CreateAppOptions, r: Reporter): void {
  if (o.kmsKeyId !== undefined) return;
  r.warn('no --kms-key-id: SSM encrypts with its default key, but the module grants its Lambdas kms:Decrypt on its own key only.');
  r.warn('Pass --kms-key-id "$(terraform output -raw kms_key_arn)" unless you manage that grant yourself.');
}

function summary(o: CreateAppOptions, r: Reporter, appInstallUrl: string | undefined, level: 'org' | 'repo' | undefined): void {
  r.line();
  r.line('Done. In the module block, set:');
  r.line();
  r.line(hclBlock(o.parameters));
  if (level !== undefined) r.line(`enable_organization_runners = ${level === 'org'}`);
  r.line();
  if (appInstallUrl !== undefined) {
    const where = level === 'org' ? 'the organisation' : level === 'repo' ? 'the repositories' : 'the organisation or repositories';
    r.line(`Install the App on ${where} whose jobs the runners take:`);
    r.line(`  ${appInstallUrl}`);
  } else {
    r.line(`Install the App from its settings page (${o.githubWebUrl}${o.org ? `/organizations/${o.org}` : ''}/settings/apps → the App → Install App).`);
  }
}

function readSecretFile(ctx: RunContext, path: string, flag: string): string {
  try {
    return ctx.readFile(path);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.name : 'error');
    throw new UsageError([`${flag} ${path} cannot be read (${reason})`]);
  }
}

function commonFlags(o: CreateAppOptions): string {
  const flags: string[] = [];
  if (o.kmsKeyId) flags.push(`--kms-key-id ${o.kmsKeyId}`);
  if (o.region) flags.push(`--region ${o.region}`);
  if (o.githubWebUrl !== 'https://github.com') flags.push(`--github-url ${o.githubWebUrl}`);
  if (o.org) flags.push(`--org ${o.org}`);
  flags.push(`--app-id-parameter ${o.parameters.appId}`, `--private-key-parameter ${o.parameters.privateKey}`, `--webhook-secret-parameter ${o.parameters.webhookSecret}`);
  return ` ${flags.join(' ')}`;
}

function portOf(url: string): string {
  return new URL(url).port;
}
