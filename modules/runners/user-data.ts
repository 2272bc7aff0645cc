/**
 * The runner instance's user data: where the template lives, which variables it
 * takes, and a renderer that behaves like Terraform's `templatefile()` for the
 * subset of template syntax the script uses.
 *
 * The template is rendered by Terraform at plan time (`templatefile()`), not by
 * this module. `renderUserDataForTest` exists so tests can shellcheck and run
 * exactly what an instance would receive. It accepts only:
 *   - `${name}`  interpolation of a variable passed in `vars`
 *   - `$${`      an escaped, literal `${` (bash parameter expansion)
 *   - `%%{`      an escaped, literal `%{`
 * and rejects everything else Terraform would treat as template syntax
 * (`%{ … }` directives, `${ expression }` that is not a bare name, strip
 * markers). Keeping the template inside that subset is what keeps this
 * renderer honest; a test compares it with `terraform console` output.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

/** Path of the template relative to the `modules/runners` directory (for `${path.module}/…`). */
export const USER_DATA_TEMPLATE_RELATIVE_PATH = 'templates/user-data.sh';

/** Absolute path of the template in this checkout. */
export const USER_DATA_TEMPLATE_PATH = path.join(__dirname, USER_DATA_TEMPLATE_RELATIVE_PATH);

/**
 * Every variable the template references, and nothing else.
 *
 * - `prefix`: resource name prefix; tags the log lines and is the default runner name prefix.
 * - `ssm_config_path`: SSM path (leading `/`) under which scale-up writes `<path>/<instance-id>`.
 * - `runner_architecture`: `x64` or `arm64`; selects the release tarball.
 * - `runner_version`: actions/runner version without `v`, e.g. `2.329.0`.
 * - `runner_binaries_s3_location`: `s3://bucket/key` of the runner tarball, or `''` to
 *   download it from the GitHub release.
 * - `enable_prebaked_ami`: `true` when the AMI already has the runner in /opt/actions-runner.
 * - `enable_cloudwatch_agent`: `true` to ship the user-data log and runner _diag logs.
 * - `cloudwatch_log_group`: log group the agent writes to (must already exist).
 * - `config_poll_attempts`: how many times to look for the SSM parameter (≥ 1).
 * - `config_poll_interval_seconds`: pause between those attempts (≥ 0).
 * - `enable_runner_packages`: `true` to install the workflow packages (git, docker, jq, unzip,
 *   tar), start Docker and put the runner user in the docker group; the runner's own libraries
 *   are installed either way (unless prebaked).
 * - `runner_extra_packages`: space-separated dnf package names installed with them (`''` for none).
 * - `userdata_pre_install_base64`, `userdata_post_install_base64`: base64 of the type's
 *   `userdata_pre_install` / `userdata_post_install` shell snippets (`''` for none).
 * - `ghes_ssl_verify`: `false` starts config.sh and run.sh with `GITHUB_ACTIONS_RUNNER_TLS_NO_VERIFY=1`
 *   (the runner then skips the GitHub server's certificate check); `true` leaves it unset.
 * - `runner_type`, `metrics_namespace`, `boot_metric_name`: the RunnerType dimension, the
 *   namespace and the metric name of the boot metrics.
 *
 * Boot metrics (issue #17 item 4). The script writes each boot step's duration
 * to /var/log/runner-boot-metrics.log as one CloudWatch embedded-metric-format
 * line: metric `boot_metric_name` in `metrics_namespace`, dimensions RunnerType
 * and Step, in seconds. With `enable_cloudwatch_agent` the agent ships that file
 * to the type's log group (stream `<instance-id>/boot-metrics`), and CloudWatch
 * Logs turns each JSON line into a metric (CloudWatch user guide, "Using the
 * PutLogEvents API to send manually-created embedded metric format logs": the
 * `x-amzn-logs-format: json/emf` header is optional), so the runner role needs
 * no metric permission, and a job cannot write other metrics through it. The
 * steps are BOOT_STEPS of modules/contract/metrics.ts: `os_boot` (kernel start
 * to the script, /proc/uptime), `imds`, `pre_install`/`post_install` (when set),
 * `packages`/`docker`/`download` (the parallel installs, when run), `install`
 * (their wall time), `config_wait` (polling SSM for scale-up's config),
 * `config_delete`, `user_data` (the script's start to the runner's start) and
 * `runner_start` (kernel start to the runner's start).
 *
 * Values are inserted between single quotes in the script, so they must not contain `'`
 * (the snippets are base64-encoded for that reason).
 * The script validates every value at boot and fails closed (instance terminates).
 */
export const USER_DATA_TEMPLATE_VARIABLES = [
  'prefix',
  'ssm_config_path',
  'runner_architecture',
  'runner_version',
  'runner_binaries_s3_location',
  'enable_prebaked_ami',
  'enable_cloudwatch_agent',
  'cloudwatch_log_group',
  'config_poll_attempts',
  'config_poll_interval_seconds',
  'enable_runner_packages',
  'runner_extra_packages',
  'userdata_pre_install_base64',
  'userdata_post_install_base64',
  'ghes_ssl_verify',
  'runner_type',
  'metrics_namespace',
  'boot_metric_name',
] as const;

/**
 * What the script installs with dnf when the AMI is not prebaked (kept in sync
 * with the template's arrays by a test). RUNNER_LIBRARIES are what the runner's
 * `./bin/installdependencies.sh` would install on a dnf system (that script fails
 * on Amazon Linux 2023); WORKFLOW_PACKAGES are what `enable_runner_packages` adds.
 */
export const RUNNER_LIBRARIES = ['lttng-ust', 'openssl-libs', 'krb5-libs', 'zlib', 'libicu'] as const;
export const WORKFLOW_PACKAGES = ['git', 'docker', 'jq', 'unzip', 'tar'] as const;

export type UserDataTemplateVariable = (typeof USER_DATA_TEMPLATE_VARIABLES)[number];

/** The Windows template (`runner_os = "windows"`), relative to `modules/runners`. */
export const WINDOWS_USER_DATA_TEMPLATE_RELATIVE_PATH = 'templates/user-data.ps1';

/** Absolute path of the Windows template in this checkout. */
export const WINDOWS_USER_DATA_TEMPLATE_PATH = path.join(__dirname, WINDOWS_USER_DATA_TEMPLATE_RELATIVE_PATH);

/**
 * Every variable the Windows template references: the Linux ones that mean
 * something on Windows, with the same meaning. `runner_binaries_s3_location`
 * is the `s3://…/actions-runner-win-x64.zip` the syncer keeps. The package and
 * snippet settings are Linux-only (runner-types.ts refuses them for Windows).
 *
 * The script is PowerShell for EC2Launch v2 (a `<powershell>` block), sent
 * uncompressed: EC2Launch v2 does not unpack gzip, and EC2 takes at most 16 KB
 * of user data (a test measures the rendered size). It writes boot metrics for
 * the steps `imds`, `install`, `config_wait`, `config_delete` and `user_data`
 * to C:\ProgramData\github-runner\boot-metrics.log, shipped with the
 * user-data log and the runner's _diag logs when `enable_cloudwatch_agent`.
 */
export const WINDOWS_USER_DATA_TEMPLATE_VARIABLES = [
  'prefix',
  'ssm_config_path',
  'runner_version',
  'runner_binaries_s3_location',
  'enable_prebaked_ami',
  'enable_cloudwatch_agent',
  'cloudwatch_log_group',
  'config_poll_attempts',
  'config_poll_interval_seconds',
  'ghes_ssl_verify',
  'runner_type',
  'metrics_namespace',
  'boot_metric_name',
] as const satisfies readonly UserDataTemplateVariable[];

/** Largest user data EC2 accepts, in bytes before base64 (EC2 user guide, "Run commands when you launch an EC2 instance with user data input": 16 KB). */
export const USER_DATA_MAX_BYTES = 16 * 1024;

/** The `vars` map handed to `templatefile()`. Terraform renders numbers and bools as strings. */
export type UserDataTemplateVars = Readonly<Record<UserDataTemplateVariable, string | number | boolean>>;

/** The template uses syntax this renderer does not model, or references a missing variable. */
export class UserDataTemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserDataTemplateError';
  }
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/**
 * Render the template the way `templatefile(path, vars)` would.
 *
 * @param vars values for the template variables
 * @param template template text; defaults to the file at `USER_DATA_TEMPLATE_PATH`
 * @throws UserDataTemplateError on unsupported syntax or a missing variable (Terraform
 *   would fail too: an unescaped bash `${VAR:-x}` is a template parse error there)
 */
export function renderUserDataForTest(
  vars: Readonly<Record<string, string | number | boolean>>,
  template: string = readFileSync(USER_DATA_TEMPLATE_PATH, 'utf8'),
): string {
  let out = '';
  let i = 0;
  const lineAt = (index: number): number => template.slice(0, index).split('\n').length;

  while (i < template.length) {
    if (template.startsWith('$${', i)) {
      out += '${';
      i += 3;
    } else if (template.startsWith('%%{', i)) {
      out += '%{';
      i += 3;
    } else if (template.startsWith('%{', i)) {
      throw new UserDataTemplateError(`line ${lineAt(i)}: template directives (%{ … }) are not supported; escape a literal one as %%{`);
    } else if (template.startsWith('${', i)) {
      const end = template.indexOf('}', i + 2);
      if (end < 0) {
        throw new UserDataTemplateError(`line ${lineAt(i)}: unterminated \${`);
      }
      const name = template.slice(i + 2, end).trim();
      if (!IDENTIFIER.test(name)) {
        throw new UserDataTemplateError(
          `line ${lineAt(i)}: \${${name}} is not a bare variable name; escape bash expansions as $\${…}`,
        );
      }
      if (!Object.prototype.hasOwnProperty.call(vars, name)) {
        throw new UserDataTemplateError(`line ${lineAt(i)}: vars map does not contain key "${name}"`);
      }
      out += String(vars[name]);
      i = end + 1;
    } else {
      out += template[i];
      i += 1;
    }
  }
  return out;
}
