/**
 * The Windows runner's user data (modules/runners/templates/user-data.ps1),
 * checked the way the Linux one is, as far as this machine allows: there is no
 * PowerShell here (no pwsh in Debian's archive), so the script is not run.
 * Instead it is rendered exactly as templatefile() would, parsed with the
 * tree-sitter PowerShell grammar (any syntax error fails), measured against
 * EC2's 16 KB user-data limit, and read for the rules the Linux script's
 * sandbox tests enforce: every variable used, no secret embedded or logged,
 * the runner config read once and deleted before the runner starts, the
 * instance shut down whatever happens.
 */
import { readFileSync } from 'node:fs';
import { BOOT_METRIC_NAME, BOOT_STEPS } from '../../../modules/contract/metrics';
import {
  USER_DATA_MAX_BYTES,
  USER_DATA_TEMPLATE_VARIABLES,
  WINDOWS_USER_DATA_TEMPLATE_PATH,
  WINDOWS_USER_DATA_TEMPLATE_VARIABLES,
  renderUserDataForTest,
} from '../../../modules/runners/user-data';
import { RUNNER_BINARIES_KEY_PREFIX } from '../../../modules/syncer/syncer';
import { runnerAssetName, runnerObjectKey } from '../../../lambdas/syncer/plan';
import { parsePowerShell } from './powershell-parser';

const TEMPLATE = readFileSync(WINDOWS_USER_DATA_TEMPLATE_PATH, 'utf8');

/** The longest values the module can produce: a 20-character prefix, a 32-character type, a bucket name of 63. */
const VARS = {
  prefix: 'gh-ci-production-abc',
  ssm_config_path: '/gh-ci-production-abc/runners/config',
  runner_version: '2.329.0',
  runner_binaries_s3_location: `s3://${'b'.repeat(63)}/${RUNNER_BINARIES_KEY_PREFIX}actions-runner-win-x64.zip`,
  enable_prebaked_ami: false,
  enable_cloudwatch_agent: true,
  cloudwatch_log_group: '/github-runners/gh-ci-production-abc/runners',
  config_poll_attempts: 30,
  config_poll_interval_seconds: 2,
  ghes_ssl_verify: true,
  runner_type: 'w'.repeat(32),
  metrics_namespace: 'GitHubRunners/gh-ci-production-abc',
  boot_metric_name: BOOT_METRIC_NAME,
} satisfies Record<(typeof WINDOWS_USER_DATA_TEMPLATE_VARIABLES)[number], string | number | boolean>;

const rendered = renderUserDataForTest(VARS, TEMPLATE);
/** The script between the EC2Launch v2 tags. */
const script = /^<powershell>\n([\s\S]*)<\/powershell>\n?$/.exec(rendered)?.[1] ?? '';
/** The runner-side start script, a single-quoted here-string inside the user data. */
const startScript = /\$StartScript = @'\n([\s\S]*?)\n'@/.exec(script)?.[1] ?? '';

/** Code lines only: comments dropped, so a rule is checked against what runs. */
const code = (text: string) =>
  text
    .split('\n')
    .filter((l) => !l.trim().startsWith('#'))
    .join('\n');

describe('Windows user data template', () => {
  it('should reference exactly WINDOWS_USER_DATA_TEMPLATE_VARIABLES, a subset of the Linux ones', () => {
    const used = [...new Set([...TEMPLATE.matchAll(/(?<!\$)\$\{([a-z0-9_]+)\}/g)].map((m) => m[1]))].sort();
    expect(used).toEqual([...WINDOWS_USER_DATA_TEMPLATE_VARIABLES].sort());
    expect(WINDOWS_USER_DATA_TEMPLATE_VARIABLES.filter((v) => !(USER_DATA_TEMPLATE_VARIABLES as readonly string[]).includes(v))).toEqual([]);
  });

  it('should render with templatefile() syntax only: every value in place, nothing left over', () => {
    for (const value of Object.values(VARS)) expect(rendered).toContain(`'${String(value)}'`);
    expect(rendered).not.toMatch(/\$\{|%\{/);
  });

  it('should be one EC2Launch v2 <powershell> block within EC2\'s 16 KB, uncompressed', () => {
    expect(script).not.toBe('');
    const bytes = Buffer.byteLength(rendered, 'utf8');
    // EC2Launch v2 does not gunzip user data, so the limit applies to the plain script.
    expect(bytes).toBeLessThanOrEqual(USER_DATA_MAX_BYTES);
    // Headroom for edits: a script this close to the limit needs the compressed-stub design instead.
    expect(bytes).toBeLessThan(USER_DATA_MAX_BYTES - 1024);
  });

  it('should parse as PowerShell, the user data and its embedded start script', async () => {
    expect(startScript).toContain('run.cmd');
    for (const source of [script, startScript]) {
      expect(await parsePowerShell(source)).toEqual([]);
    }
  });

  it('should make the parser fail on a broken script (the parse check can fail)', async () => {
    const broken = script.replace('} finally {', '} finally (');
    expect(broken).not.toBe(script);
    expect((await parsePowerShell(broken)).length).toBeGreaterThan(0);
  });

  it('should read the runner config once, delete it before the runner starts, and fail closed if it cannot', () => {
    const body = code(script);
    expect(body.match(/Get-SSMParameter /g)).toHaveLength(1);
    expect(body.match(/Remove-SSMParameter /g)).toHaveLength(1);
    const read = body.indexOf('Get-SSMParameter ');
    const remove = body.indexOf('Remove-SSMParameter ');
    const start = body.lastIndexOf('Invoke-Runner $config');
    expect(read).toBeLessThan(remove);
    expect(remove).toBeLessThan(start);
    expect(body).toContain("if (-not $deleted) { throw \"could not delete $parameter; not starting the runner\" }");
    // The runner side reads its hand-over file once and deletes it straight away.
    const lines = code(startScript).split('\n');
    const readAt = lines.findIndex((l) => l.includes('Get-Content -Raw -Path $ConfigFile'));
    expect(readAt).toBeGreaterThanOrEqual(0);
    expect(lines[readAt + 1]).toContain('Remove-Item -Force -Path $ConfigFile');
    expect(code(startScript).match(/Get-Content/g)).toHaveLength(1);
  });

  it('should hand the JIT config and token to the runner through the environment, never argv, and never log them', () => {
    const start = code(startScript);
    expect(start).toContain('$env:ACTIONS_RUNNER_INPUT_JITCONFIG = $config.jit_config');
    expect(start).toContain('$env:ACTIONS_RUNNER_INPUT_TOKEN = $config.token');
    expect(start).not.toMatch(/--jitconfig|--token/);
    expect(start).not.toMatch(/Write-(Host|Output)|Log /);
    const body = code(script);
    // Nothing that echoes the whole session, and no log line that names a secret-bearing variable.
    expect(body).not.toMatch(/Start-Transcript|Set-PSDebug/);
    const logLines = body.split('\n').filter((l) => /\bLog\b ['"(]/.test(l));
    expect(logLines.length).toBeGreaterThan(5);
    for (const line of logLines) expect(line).not.toMatch(/\$config|\$password|\$token|jit_config/);
    expect(body.match(/Write-Host/g)).toHaveLength(1); // inside Log only
    // The hand-over file is readable by SYSTEM and the runner user only.
    expect(body).toContain("icacls.exe $file /inheritance:r /grant:r 'SYSTEM:F' \"$($RunnerUser):M\"");
  });

  it('should run the runner as a local user that is not an administrator', () => {
    const body = code(script);
    expect(body).toContain('New-LocalUser -Name $RunnerUser');
    expect(body).toContain('-User $RunnerUser -Password $password -RunLevel Limited');
    expect(body).not.toMatch(/Add-LocalGroupMember -Group 'Administrators'|-RunLevel Highest/);
  });

  it('should download the syncer\'s win-x64 zip, with the release asset the syncer copies as the fallback', () => {
    const body = code(script);
    expect(VARS.runner_binaries_s3_location.endsWith(runnerObjectKey(RUNNER_BINARIES_KEY_PREFIX, 'win-x64'))).toBe(true);
    expect(body).toContain('Read-S3Object -BucketName $bucket -Key $key');
    const url = /"(https:\/\/github\.com\/actions\/runner\/releases\/download\/[^"]+)"/.exec(body)?.[1];
    expect(url?.replace(/\$RunnerVersion/g, '2.329.0')).toBe(`https://github.com/actions/runner/releases/download/v2.329.0/${runnerAssetName('win-x64', '2.329.0')}`);
  });

  it('should shut down in a finally block, after every path, so the launch template terminates the instance', () => {
    const body = code(script);
    const finallyBlock = body.slice(body.lastIndexOf('} finally {'));
    expect(finallyBlock).toContain('& shutdown.exe /s /t 0 /f');
    expect(body.match(/shutdown\.exe/g)).toHaveLength(1);
    // The wait for the runner is bounded (a job lasts at most 5 days).
    expect(body).toMatch(/while \(\$state -eq 'Running' -and \(Get-Date\) -lt \$deadline\)/);
  });

  it('should ship its logs with the CloudWatch agent only when enable_cloudwatch_agent is true', () => {
    const body = code(script);
    expect(body).toContain("if ($CloudWatchAgent -eq 'true') {\n    try { Start-CloudWatchAgent $instanceId }");
    for (const stream of ['user-data', 'boot-metrics', 'runner', 'worker']) expect(body).toContain(`'${stream}')`);
  });

  it('should time only boot steps the contract knows', () => {
    const steps = [...code(script).matchAll(/BootStep '([a-z_]+)'/g)].map((m) => m[1]);
    expect(steps.length).toBeGreaterThanOrEqual(4);
    for (const step of steps) expect(BOOT_STEPS as readonly string[]).toContain(step);
  });
});
