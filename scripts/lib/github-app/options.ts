/**
 * Command line of `npm run create-github-app`: parsing, defaults and
 * validation. Everything here is pure; reading files and talking to GitHub or
 * SSM happens in run.ts.
 *
 * Validation follows the house pattern: a list of `{ condition, message }`
 * rules, every failure reported at once, each message naming the value it got.
 */
import { parseArgs } from 'node:util';
import { githubApiBaseUrl, githubWebUrl } from '../../../lambdas/shared/github/base-url';

/** A command line that cannot run. The message lists every problem. */
export class UsageError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.length === 1 ? problems[0] : `invalid arguments:\n  - ${problems.join('\n  - ')}`);
    this.name = 'UsageError';
  }
}

/** The three SSM parameter names the module reads (`github_app_ssm_parameters`). */
export interface AppParameterNames {
  /** `github_app_ssm_parameters.app_id` */
  readonly appId: string;
  /** `github_app_ssm_parameters.private_key` */
  readonly privateKey: string;
  /** `github_app_ssm_parameters.webhook_secret` */
  readonly webhookSecret: string;
}

/** Where the runners register: the organisation, or each repository. */
export type RunnerLevel = 'org' | 'repo';

/** How default parameter names are laid out. */
export type PathLayout = 'prefix' | 'ops';

interface CommonOptions {
  /** Print what would happen; start no server, call no API, write nothing. */
  readonly dryRun: boolean;
  /** The module's `prefix`; names the App and the default parameters. */
  readonly prefix: string;
  /** The SSM parameter names to write. */
  readonly parameters: AppParameterNames;
  /** KMS key for the SecureStrings (the module output `kms_key_arn`). @default SSM's aws/ssm key */
  readonly kmsKeyId?: string;
  /** AWS region for SSM. @default the SDK's (AWS_REGION, profile) */
  readonly region?: string;
  /** Web URL of GitHub: github.com, a GHES host, or `<x>.ghe.com`. */
  readonly githubWebUrl: string;
  /** REST API base URL matching `githubWebUrl`. */
  readonly githubApiUrl: string;
  /** Organisation that owns the App. @default the signed-in user */
  readonly org?: string;
}

export interface ManifestOptions extends CommonOptions {
  readonly mode: 'manifest';
  /** App name, unique across the GitHub instance, at most 34 characters. @default `<prefix>-runners` */
  readonly name: string;
  /** Where GitHub delivers webhooks: the module output `webhook_endpoint`. */
  readonly webhookUrl: string;
  /** The App's homepage. @default the GitHub URL of the org, or of GitHub itself */
  readonly homepageUrl: string;
  /** Runner level; decides the permissions requested. @default `org` with --org, else `repo` */
  readonly level: RunnerLevel;
  /** Local port for the manifest page and callback; 0 picks a free one. @default 0 */
  readonly port: number;
  /** How long to wait for GitHub's redirect, 1–60 minutes (the code lives an hour). @default 15 */
  readonly timeoutMinutes: number;
  /** Replace parameters that already hold values (of another App). @default false */
  readonly overwrite: boolean;
  /** Ask `actions: write` for the module's `enable_spot_interruption_rerun` (re-running a job needs it). @default false */
  readonly spotInterruptionRerun?: boolean;
}

export interface ImportOptions extends CommonOptions {
  readonly mode: 'import';
  /** The existing App's numeric id. */
  readonly appId: string;
  /** PEM file downloaded from the App's settings. */
  readonly privateKeyFile: string;
  /** File holding the webhook secret. @default keep the stored one, or generate one */
  readonly webhookSecretFile?: string;
  /** Set the webhook secret on the App with `PATCH /app/hook/config`. @default false */
  readonly setWebhookSecret: boolean;
}

export type CreateAppOptions = ManifestOptions | ImportOptions;

export type ParsedCommand = { readonly kind: 'help' } | { readonly kind: 'run'; readonly options: CreateAppOptions };

export const USAGE = `Usage: npm run create-github-app -- [manifest|import] [options]

Creates (manifest) or imports (import) the GitHub App the runners use and
stores its id, private key and webhook secret as SSM SecureString parameters.

manifest (default): opens GitHub's "create App from manifest" page through a
local page on 127.0.0.1, catches GitHub's redirect, exchanges the code for
the App's credentials and writes them to SSM.
  --webhook-url <url>        required: terraform output -raw webhook_endpoint
  --name <name>              App name, unique on the GitHub instance (default <prefix>-runners)
  --level org|repo           runner level: org asks organization_self_hosted_runners:write,
                             repo asks administration:write (default org with --org, else repo)
  --homepage-url <url>       App homepage (default the GitHub URL of --org)
  --port <n>                 local port, 0 = any free port (default 0)
  --timeout-minutes <n>      wait for GitHub this long, 1-60 (default 15)
  --overwrite                replace parameters that already hold another App's values
  --spot-interruption-rerun  also ask actions:write, which enable_spot_interruption_rerun
                             needs to re-run a job (default: actions:read)

import: stores an existing App's credentials.
  --app-id <id>              required
  --private-key-file <pem>   required: a private key from the App's settings page
  --webhook-secret-file <f>  webhook secret to store (default: keep the stored one,
                             or generate a new one)
  --set-webhook-secret       also set the secret on the App (PATCH /app/hook/config,
                             authenticated as the App) and look up its install URL

common:
  --prefix <p>               module prefix (default gh-ci)
  --path-layout prefix|ops   prefix: /<prefix>/github/app-id (default)
                             ops:    /ops/github/runner/<environment>/app-id
  --environment <env>        with --path-layout ops
  --app-id-parameter <name>, --private-key-parameter <name>, --webhook-secret-parameter <name>
                             explicit parameter names
  --kms-key-id <arn>         terraform output -raw kms_key_arn (the module's Lambdas
                             decrypt with that key)
  --region <region>          AWS region of the parameters
  --github-url <url>         GHES or ghe.com URL (default https://github.com)
  --org <org>                organisation that owns the App
  --dry-run                  print the manifest and parameter names; do nothing
  -h, --help
`;

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  'dry-run': { type: 'boolean' },
  prefix: { type: 'string' },
  'path-layout': { type: 'string' },
  environment: { type: 'string' },
  'app-id-parameter': { type: 'string' },
  'private-key-parameter': { type: 'string' },
  'webhook-secret-parameter': { type: 'string' },
  'kms-key-id': { type: 'string' },
  region: { type: 'string' },
  'github-url': { type: 'string' },
  org: { type: 'string' },
  // manifest
  name: { type: 'string' },
  'webhook-url': { type: 'string' },
  'homepage-url': { type: 'string' },
  level: { type: 'string' },
  port: { type: 'string' },
  'timeout-minutes': { type: 'string' },
  overwrite: { type: 'boolean' },
  'spot-interruption-rerun': { type: 'boolean' },
  // import
  'app-id': { type: 'string' },
  'private-key-file': { type: 'string' },
  'webhook-secret-file': { type: 'string' },
  'set-webhook-secret': { type: 'boolean' },
} as const;

const MANIFEST_ONLY = ['name', 'webhook-url', 'homepage-url', 'level', 'port', 'timeout-minutes', 'overwrite', 'spot-interruption-rerun'] as const;
const IMPORT_ONLY = ['app-id', 'private-key-file', 'webhook-secret-file', 'set-webhook-secret'] as const;

/** GitHub caps App names at 34 characters. */
const MAX_APP_NAME = 34;

interface Rule {
  readonly condition: boolean;
  readonly message: string;
}

/** Parse `argv` (without node and script). Throws `UsageError` listing every problem. */
export function parseCommandLine(argv: readonly string[]): ParsedCommand {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError([err instanceof Error ? err.message : String(err)]);
  }
  const { values: v, positionals } = parsed;
  if (v.help) return { kind: 'help' };

  const mode = positionals[0] ?? 'manifest';
  const problems: string[] = [];
  const check = (rules: readonly Rule[]) => problems.push(...rules.filter((r) => !r.condition).map((r) => r.message));

  check([
    { condition: mode === 'manifest' || mode === 'import', message: `mode must be manifest or import, got "${mode}"` },
    { condition: positionals.length <= 1, message: `expected at most one mode, got "${positionals.join(' ')}"` },
  ]);
  if (problems.length > 0) throw new UsageError(problems);

  const wrongMode = (mode === 'manifest' ? IMPORT_ONLY : MANIFEST_ONLY).filter((k) => v[k] !== undefined);
  check(wrongMode.map((k) => ({ condition: false, message: `--${k} does not apply to ${mode} mode` })));

  const prefix = v.prefix ?? 'gh-ci';
  const layout = v['path-layout'] ?? 'prefix';
  const environment = v.environment;
  const before = problems.length;
  check([
    { condition: /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(prefix), message: `--prefix must be letters, digits, "_", "." or "-", got "${prefix}"` },
    { condition: layout === 'prefix' || layout === 'ops', message: `--path-layout must be prefix or ops, got "${layout}"` },
    { condition: layout !== 'ops' || environment !== undefined, message: '--path-layout ops needs --environment' },
    { condition: layout !== 'prefix' || environment === undefined, message: `--environment "${environment}" is only used with --path-layout ops` },
    {
      condition: environment === undefined || /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(environment),
      message: `--environment must be letters, digits, "_", "." or "-", got "${environment}"`,
    },
  ]);
  const defaults = defaultParameterNames(prefix, layout === 'ops' ? { layout: 'ops', environment: environment ?? '' } : { layout: 'prefix' });
  const parameters: AppParameterNames = {
    appId: v['app-id-parameter'] ?? defaults.appId,
    privateKey: v['private-key-parameter'] ?? defaults.privateKey,
    webhookSecret: v['webhook-secret-parameter'] ?? defaults.webhookSecret,
  };
  // Names built from a bad prefix or layout would only repeat those problems.
  if (problems.length === before) check(parameterNameRules(parameters));

  let webUrl = 'https://github.com';
  let apiUrl = githubApiBaseUrl(undefined);
  const githubUrl = v['github-url'];
  if (githubUrl !== undefined) {
    if (isHttpUrl(githubUrl)) {
      webUrl = githubWebUrl(githubUrl);
      apiUrl = githubApiBaseUrl(githubUrl);
    } else {
      problems.push(`--github-url must be an http(s) URL, got "${githubUrl}"`);
    }
  }
  const org = v.org;
  check([
    { condition: org === undefined || /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/.test(org), message: `--org must be a GitHub organisation login, got "${org}"` },
    { condition: v['kms-key-id'] === undefined || /^\S+$/.test(v['kms-key-id']), message: `--kms-key-id must be a key id, ARN or alias, got "${v['kms-key-id']}"` },
  ]);

  const common: CommonOptions = {
    dryRun: v['dry-run'] ?? false,
    prefix,
    parameters,
    kmsKeyId: v['kms-key-id'],
    region: v.region,
    githubWebUrl: webUrl,
    githubApiUrl: apiUrl,
    org,
  };

  let options: CreateAppOptions;
  if (mode === 'manifest') {
    const name = v.name ?? `${prefix}-runners`;
    const webhookUrl = v['webhook-url'];
    const level = v.level ?? (org !== undefined ? 'org' : 'repo');
    const port = Number(v.port ?? '0');
    const timeoutMinutes = Number(v['timeout-minutes'] ?? '15');
    const homepageUrl = v['homepage-url'] ?? (org !== undefined ? `${webUrl}/${org}` : webUrl);
    check([
      { condition: name.trim().length > 0 && name.length <= MAX_APP_NAME, message: `--name must be 1 to ${MAX_APP_NAME} characters, got "${name}" (${name.length})` },
      { condition: webhookUrl !== undefined, message: '--webhook-url is required: use the module output (terraform output -raw webhook_endpoint)' },
      { condition: webhookUrl === undefined || isHttpsUrl(webhookUrl), message: `--webhook-url must be an https:// URL, got "${webhookUrl}"` },
      { condition: level === 'org' || level === 'repo', message: `--level must be org or repo, got "${level}"` },
      { condition: Number.isInteger(port) && port >= 0 && port <= 65535, message: `--port must be 0 to 65535, got "${v.port}"` },
      { condition: Number.isInteger(timeoutMinutes) && timeoutMinutes >= 1 && timeoutMinutes <= 60, message: `--timeout-minutes must be 1 to 60, got "${v['timeout-minutes']}"` },
      { condition: isHttpUrl(homepageUrl), message: `--homepage-url must be an http(s) URL, got "${homepageUrl}"` },
    ]);
    options = {
      ...common,
      mode,
      name,
      webhookUrl: webhookUrl ?? '',
      homepageUrl,
      level: level as RunnerLevel,
      port,
      timeoutMinutes,
      overwrite: v.overwrite ?? false,
      ...(v['spot-interruption-rerun'] && { spotInterruptionRerun: true }),
    };
  } else {
    const appId = v['app-id'];
    check([
      { condition: appId !== undefined, message: '--app-id is required in import mode' },
      { condition: appId === undefined || /^[1-9][0-9]*$/.test(appId), message: `--app-id must be the App's numeric id, got "${appId}"` },
      { condition: v['private-key-file'] !== undefined, message: '--private-key-file is required in import mode' },
    ]);
    options = {
      ...common,
      mode: 'import',
      appId: appId ?? '',
      privateKeyFile: v['private-key-file'] ?? '',
      webhookSecretFile: v['webhook-secret-file'],
      setWebhookSecret: v['set-webhook-secret'] ?? false,
    };
  }

  if (problems.length > 0) throw new UsageError(problems);
  return { kind: 'run', options };
}

/**
 * Default names: `/<prefix>/github/<item>`, or with the ops layout
 * `/ops/github/runner/<environment>/<item>`.
 */
export function defaultParameterNames(
  prefix: string,
  layout: { readonly layout: 'prefix' } | { readonly layout: 'ops'; readonly environment: string } = { layout: 'prefix' },
): AppParameterNames {
  const base = layout.layout === 'ops' ? `/ops/github/runner/${layout.environment}` : `/${prefix}/github`;
  return { appId: `${base}/app-id`, privateKey: `${base}/private-key`, webhookSecret: `${base}/webhook-secret` };
}

function parameterNameRules(names: AppParameterNames): Rule[] {
  const entries = Object.entries(names);
  const rules: Rule[] = entries.map(([key, name]) => ({
    // The module takes names, not ARNs; SSM allows a-zA-Z0-9_.-/ and reserves aws/ssm prefixes.
    condition: /^\/[A-Za-z0-9_.\-/]{1,1010}$/.test(name) && !/^\/(aws|ssm)/i.test(name) && !name.includes('//'),
    message: `${flagFor(key)} must be an SSM parameter name starting with "/" (not an ARN), got "${name}"`,
  }));
  rules.push({
    condition: new Set(entries.map(([, n]) => n)).size === entries.length,
    message: `the three parameter names must differ, got ${entries.map(([, n]) => `"${n}"`).join(', ')}`,
  });
  return rules;
}

function flagFor(key: string): string {
  return { appId: '--app-id-parameter', privateKey: '--private-key-parameter', webhookSecret: '--webhook-secret-parameter' }[key] ?? key;
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

function isHttpsUrl(value: string): boolean {
  try {
    return new URL(value).protocol === 'https:';
  } catch {
    return false;
  }
}
