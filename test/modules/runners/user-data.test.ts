import { gzipSync } from 'node:zlib';
/**
 * Tests for the runner instance's user data (modules/runners/templates/user-data.sh).
 *
 * The rendered script is linted with shellcheck and then executed under bash in
 * a sandbox: PATH holds only the stubs in fixtures/stubs and symlinks to a short
 * list of harmless real tools, so nothing can reach a real `shutdown`,
 * `useradd` or AWS, even when the tests run as root. See fixtures/README.md.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { USERDATA_SNIPPET_MAX_BYTES } from '../../../modules/runners/runner-types';
import { BOOT_METRIC_NAME, BOOT_STEPS } from '../../../modules/contract/metrics';
import {
  RUNNER_LIBRARIES,
  WORKFLOW_PACKAGES,
  USER_DATA_TEMPLATE_PATH,
  USER_DATA_TEMPLATE_VARIABLES,
  UserDataTemplateError,
  UserDataTemplateVariable,
  UserDataTemplateVars,
  renderUserDataForTest,
} from '../../../modules/runners/user-data';

const FIXTURES = path.join(__dirname, 'fixtures');

/** Real tools the script and the stubs may use. Anything else is "command not found". */
const SANDBOX_TOOLS = ['bash', 'env', 'cat', 'cp', 'rm', 'touch', 'date', 'mkdir', 'mktemp', 'chmod', 'tar', 'gzip', 'tee', 'base64'];

type JsonParser = 'jq' | 'python3';

const INSTANCE_ID = 'i-0123456789abcdef0';
const REGION = 'eu-west-1';
const IMDS_TOKEN = 'imds-session-token-AQAEAFAKE';
const JIT_CONFIG = 'eyJKSVQtU0VDUkVUIjoiZG8tbm90LWxvZy1tZSJ9ZmFrZWJhc2U2NGppdGNvbmZpZw==';
const REGISTRATION_TOKEN = 'AABBCCREGISTRATIONTOKENSECRET0123';
const CONFIG_PARAMETER = `/gh-ci/runners/config/${INSTANCE_ID}`;

const SAMPLE_VARS: UserDataTemplateVars = {
  prefix: 'gh-ci',
  ssm_config_path: '/gh-ci/runners/config',
  runner_architecture: 'x64',
  runner_version: '2.329.0',
  runner_binaries_s3_location: '',
  enable_prebaked_ami: true,
  enable_cloudwatch_agent: false,
  cloudwatch_log_group: '/gh-ci/runners',
  config_poll_attempts: 4,
  config_poll_interval_seconds: 2,
  enable_runner_packages: true,
  runner_extra_packages: '',
  userdata_pre_install_base64: '',
  userdata_post_install_base64: '',
  ghes_ssl_verify: true,
  runner_type: 'linux-x64',
  metrics_namespace: 'GitHubRunners/gh-ci',
  boot_metric_name: BOOT_METRIC_NAME,
};

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

const jitValue = JSON.stringify({ mode: 'jit', jit_config: JIT_CONFIG });
const tokenValue = JSON.stringify({
  mode: 'token',
  token: REGISTRATION_TOKEN,
  url: 'https://github.com/acme/widgets',
  labels: 'self-hosted,linux,x64',
  name: 'gh-ci-runner-1',
});

// ---------------------------------------------------------------------------
// Sandbox
// ---------------------------------------------------------------------------

const scratchDirs: string[] = [];
afterAll(() => {
  for (const dir of scratchDirs) fs.rmSync(dir, { recursive: true, force: true });
});

function scratchDir(name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `user-data-${name}-`));
  scratchDirs.push(dir);
  return dir;
}

/** Absolute paths of real tools on this machine; a missing one fails the test loudly. */
function resolveTool(name: string): string | undefined {
  if (name === 'python3') {
    // pyenv and friends put a shell shim on PATH; link the interpreter itself.
    const py = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' });
    return py.status === 0 ? py.stdout.trim() : undefined;
  }
  const found = spawnSync('bash', ['-c', 'command -v "$1"', '_', name], { encoding: 'utf8' });
  const resolved = found.stdout.trim();
  return found.status === 0 && resolved.startsWith('/') ? resolved : undefined;
}

const toolCache = new Map<string, string | undefined>();
function tool(name: string): string {
  if (!toolCache.has(name)) toolCache.set(name, resolveTool(name));
  const resolved = toolCache.get(name);
  if (!resolved) throw new Error(`'${name}' is required by the user-data tests but is not installed`);
  return resolved;
}

let runnerTarball: string;
beforeAll(() => {
  // The fake runner, packed the way GitHub ships it (files at the archive root).
  const dir = scratchDir('tarball');
  const staged = path.join(dir, 'runner');
  copyExecutableTree(path.join(FIXTURES, 'runner'), staged);
  runnerTarball = path.join(dir, 'actions-runner.tar.gz');
  const tar = spawnSync(tool('tar'), ['-czf', runnerTarball, '-C', staged, '.'], { encoding: 'utf8' });
  if (tar.status !== 0) throw new Error(`could not pack the fake runner: ${tar.stderr}`);
});

/** Copies a fixture tree and makes every file executable (git may not keep the bit). */
function copyExecutableTree(from: string, to: string): void {
  fs.cpSync(from, to, { recursive: true });
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else fs.chmodSync(full, 0o755);
    }
  };
  walk(to);
}

interface Scenario {
  /** Template variables on top of SAMPLE_VARS. */
  readonly vars?: Partial<Record<UserDataTemplateVariable, string | number | boolean>>;
  /** The SSM parameter's value; undefined = the parameter never appears. */
  readonly ssmValue?: string;
  readonly ssmGetFailures?: number;
  readonly ssmDeleteFailures?: number;
  readonly runExit?: number;
  readonly configExit?: number;
  /** JSON parsers on PATH. @default both */
  readonly parsers?: readonly JsonParser[];
  /** Whether the runner user already exists. @default false */
  readonly runnerUserExists?: boolean;
  readonly imdsToken?: string;
  /** The S3 copy fails, as before the syncer's first run. @default false */
  readonly s3Fails?: boolean;
  /** Exit status of `dnf install` (the package step). @default 0 */
  readonly dnfExit?: number;
  /** Exit status of `systemctl`. @default 0 */
  readonly systemctlExit?: number;
  /** The GitHub release download fails. @default false */
  readonly downloadFails?: boolean;
  /** dnf and the download each wait for the other to have started (see stubs/_rendezvous.sh). @default false */
  readonly rendezvous?: boolean;
  /** A `dockerd` is on PATH, as on an AMI with Docker baked in. @default false */
  readonly dockerd?: boolean;
}

interface Outcome {
  readonly status: number | null;
  /** Lines of the shared call log, in order. */
  readonly calls: string[];
  /** Contents of USER_DATA_LOG. */
  readonly log: string;
  /** Contents of BOOT_METRICS_LOG (EMF lines). */
  readonly bootMetrics: string;
  /** Everything the script wrote to stdout/stderr (cloud-init-output.log on an instance). */
  readonly output: string;
  readonly logPath: string;
  readonly runnerDir: string;
  readonly state: string;
}

function runUserData(scenario: Scenario = {}): Outcome {
  const root = scratchDir('run');
  const stubs = path.join(root, 'stubs');
  const tools = path.join(root, 'tools');
  const state = path.join(root, 'state');
  const runnerDir = path.join(root, 'opt', 'actions-runner');
  const logPath = path.join(root, 'var', 'log', 'runner-user-data.log');
  const bootMetricsPath = path.join(root, 'var', 'log', 'runner-boot-metrics.log');
  const callsPath = path.join(root, 'calls.log');
  for (const dir of [tools, state, path.join(root, 'tmp')]) fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(callsPath, '');

  copyExecutableTree(path.join(FIXTURES, 'stubs'), stubs);
  if (scenario.dockerd) fs.writeFileSync(path.join(stubs, 'dockerd'), '#!/usr/bin/env bash\necho "dockerd $*" >>"$STUB_CALLS"\n', { mode: 0o755 });
  for (const name of [...SANDBOX_TOOLS, ...(scenario.parsers ?? ['jq', 'python3'])]) {
    fs.symlinkSync(tool(name), path.join(tools, name));
  }

  const vars = { ...SAMPLE_VARS, ...scenario.vars };
  if (vars.enable_prebaked_ami === true || vars.enable_prebaked_ami === 'true') {
    copyExecutableTree(path.join(FIXTURES, 'runner'), runnerDir);
  }
  if (scenario.ssmValue !== undefined) fs.writeFileSync(path.join(state, 'ssm-value'), scenario.ssmValue);
  if (scenario.runnerUserExists) fs.writeFileSync(path.join(state, 'user-runner'), '');

  const script = path.join(root, 'user-data.sh');
  fs.writeFileSync(script, renderUserDataForTest(vars), { mode: 0o755 });

  const result = spawnSync(tool('bash'), [script], {
    cwd: root,
    encoding: 'utf8',
    timeout: 10_000,
    // A clean environment: nothing from the developer's shell leaks in.
    env: {
      PATH: `${stubs}:${tools}`,
      HOME: root,
      TMPDIR: path.join(root, 'tmp'),
      LANG: 'C',
      RUNNER_DIR: runnerDir,
      USER_DATA_LOG: logPath,
      BOOT_METRICS_LOG: bootMetricsPath,
      STUB_CALLS: callsPath,
      STUB_STATE: state,
      STUB_IMDS_TOKEN: scenario.imdsToken ?? IMDS_TOKEN,
      STUB_INSTANCE_ID: INSTANCE_ID,
      STUB_REGION: REGION,
      STUB_RUNNER_TARBALL: runnerTarball,
      STUB_SSM_GET_FAILURES: String(scenario.ssmGetFailures ?? 0),
      STUB_SSM_DELETE_FAILURES: String(scenario.ssmDeleteFailures ?? 0),
      STUB_S3_FAIL: scenario.s3Fails ? '1' : '0',
      STUB_RUN_EXIT: String(scenario.runExit ?? 0),
      STUB_CONFIG_EXIT: String(scenario.configExit ?? 0),
      STUB_DNF_EXIT: String(scenario.dnfExit ?? 0),
      STUB_SYSTEMCTL_EXIT: String(scenario.systemctlExit ?? 0),
      STUB_DOWNLOAD_FAIL: scenario.downloadFails ? '1' : '0',
      STUB_RENDEZVOUS: scenario.rendezvous ? '1' : '0',
    },
  });
  if (result.error) throw result.error;

  return {
    status: result.status,
    calls: fs.readFileSync(callsPath, 'utf8').split('\n').filter((line) => line !== ''),
    log: fs.existsSync(logPath) ? fs.readFileSync(logPath, 'utf8') : '',
    bootMetrics: fs.existsSync(bootMetricsPath) ? fs.readFileSync(bootMetricsPath, 'utf8') : '',
    output: `${result.stdout}${result.stderr}`,
    logPath,
    runnerDir,
    state,
  };
}

/** Asserts that each pattern matches a call after the previous match. */
function expectCallOrder(calls: readonly string[], patterns: readonly RegExp[]): void {
  let from = 0;
  for (const pattern of patterns) {
    const offset = calls.slice(from).findIndex((call) => pattern.test(call));
    if (offset < 0) {
      throw new Error(`no call matching ${pattern} after call #${from}; calls were:\n${calls.join('\n')}`);
    }
    from += offset + 1;
  }
}

const matching = (calls: readonly string[], pattern: RegExp): string[] => calls.filter((call) => pattern.test(call));

function expectShutdownLast(outcome: Outcome): void {
  expect(matching(outcome.calls, /^shutdown /)).toEqual(['shutdown -h now']);
  expect(outcome.calls[outcome.calls.length - 1]).toBe('shutdown -h now');
}

function expectSecretNotLogged(outcome: Outcome, secret: string): void {
  const fragment = secret.slice(8, 24);
  for (const text of [outcome.log, outcome.output]) {
    expect(text).not.toContain(secret);
    expect(text).not.toContain(fragment);
  }
}

const RUNNER_STARTED = /^(runuser|run\.sh|config\.sh) /;

// ---------------------------------------------------------------------------
// The template
// ---------------------------------------------------------------------------

describe('user-data template', () => {
  const template = fs.readFileSync(USER_DATA_TEMPLATE_PATH, 'utf8');

  it('should reference exactly the exported template variables', () => {
    const referenced = new Set([...template.matchAll(/(?<!\$)\$\{([^}]*)\}/g)].map((m) => m[1].trim()));
    expect([...referenced].sort()).toEqual([...USER_DATA_TEMPLATE_VARIABLES].sort());
  });

  it('should install the packages user-data.ts documents', () => {
    expect(template).toContain(`readonly RUNNER_LIBRARIES=(${RUNNER_LIBRARIES.join(' ')})`);
    expect(template).toContain(`readonly WORKFLOW_PACKAGES=(${WORKFLOW_PACKAGES.join(' ')})`);
  });

  it('should use no template directives, so the test renderer stays faithful', () => {
    expect(template).not.toMatch(/(?<!%)%\{/);
  });

  it('should fit in EC2\'s 16 KB of user data once gzipped, as the launch template sends it', () => {
    const longest = renderUserDataForTest({
      ...SAMPLE_VARS,
      runner_binaries_s3_location: `s3://${'b'.repeat(63)}/actions-runner/actions-runner-linux-arm64.tar.gz`,
      cloudwatch_log_group: `/github-runners/${'p'.repeat(20)}/runners`,
      runner_extra_packages: Array.from({ length: 20 }, (_, i) => `package-name-${i}`).join(' '),
      // Random bytes compress worst: base64 of the longest snippets the validation allows.
      userdata_pre_install_base64: randomBytes(USERDATA_SNIPPET_MAX_BYTES).toString('base64'),
      userdata_post_install_base64: randomBytes(USERDATA_SNIPPET_MAX_BYTES).toString('base64'),
    });
    expect(gzipSync(longest).length).toBeLessThan(16 * 1024);
  });

  it('should render a bash script with strict mode and no xtrace', () => {
    const rendered = renderUserDataForTest(SAMPLE_VARS);
    expect(rendered.startsWith('#!/bin/bash\n')).toBe(true);
    expect(rendered).toMatch(/^set -euo pipefail$/m);
    const code = rendered.split('\n').filter((line) => !line.trimStart().startsWith('#'));
    expect(code.filter((line) => /\bset -[a-z]*x|xtrace/.test(line))).toEqual([]);
  });

  it('should render exactly as terraform templatefile() does', () => {
    const vars: UserDataTemplateVars = { ...SAMPLE_VARS, runner_binaries_s3_location: 's3://bucket/runner.tar.gz' };
    const hclVars = Object.entries(vars)
      .map(([key, value]) => `${key} = ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`)
      .join(', ');
    const result = spawnSync('terraform', ['console'], {
      cwd: scratchDir('terraform'),
      encoding: 'utf8',
      input: `base64encode(templatefile(${JSON.stringify(USER_DATA_TEMPLATE_PATH)}, { ${hclVars} }))\n`,
      env: { ...process.env, CHECKPOINT_DISABLE: '1' },
    });
    if (result.error) {
      throw new Error(`terraform is required to check the renderer against templatefile(): ${result.error.message}`);
    }
    expect(result.status).toBe(0);
    const encoded = /"([A-Za-z0-9+/=]+)"/.exec(result.stdout)?.[1];
    expect(encoded).toBeDefined();
    expect(Buffer.from(encoded!, 'base64').toString('utf8')).toBe(renderUserDataForTest(vars));
  });

  it.each([
    ['prebaked x64', SAMPLE_VARS],
    [
      'arm64 from S3 with CloudWatch',
      {
        ...SAMPLE_VARS,
        runner_architecture: 'arm64',
        enable_prebaked_ami: false,
        runner_binaries_s3_location: 's3://gh-ci-dist/actions-runner-linux-arm64-2.329.0.tar.gz',
        enable_cloudwatch_agent: true,
      },
    ],
  ])('should pass shellcheck when rendered (%s)', (_name, vars) => {
    const version = spawnSync('shellcheck', ['--version'], { encoding: 'utf8' });
    if (version.error || version.status !== 0) {
      throw new Error(
        'shellcheck is not installed, and this test must not be skipped. ' +
          'Install it (Debian/Ubuntu: apt-get update && apt-get install -y shellcheck).',
      );
    }
    const file = path.join(scratchDir('shellcheck'), 'user-data.sh');
    fs.writeFileSync(file, renderUserDataForTest(vars));
    const result = spawnSync('shellcheck', ['-s', 'bash', '-f', 'gcc', file], { encoding: 'utf8' });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});

describe('renderUserDataForTest', () => {
  it('should substitute variables and unescape $${ and %%{ like templatefile()', () => {
    const rendered = renderUserDataForTest({ name: 'gh-ci', n: 3, on: true }, 'a=${name} b=$${HOME:-x} c=%%{x} d=$$ e=%d ${n}/${on}');
    expect(rendered).toBe('a=gh-ci b=${HOME:-x} c=%{x} d=$$ e=%d 3/true');
  });

  it('should reject an unescaped bash expansion', () => {
    expect(() => renderUserDataForTest({}, 'echo ${HOME:-/root}')).toThrow(UserDataTemplateError);
  });

  it('should reject template directives', () => {
    expect(() => renderUserDataForTest({ a: 'x' }, '%{ if a == "x" }y%{ endif }')).toThrow(/directives/);
  });

  it('should reject a variable missing from vars', () => {
    expect(() => renderUserDataForTest({}, 'x=${prefix}')).toThrow(/does not contain key "prefix"/);
  });
});

// ---------------------------------------------------------------------------
// The script, run against stubs
// ---------------------------------------------------------------------------

describe('user-data script', () => {
  describe('GIVEN a prebaked AMI and a JIT config', () => {
    let outcome: Outcome;
    beforeAll(() => {
      outcome = runUserData({ ssmValue: jitValue });
    });

    it('should exit 0', () => {
      expect(outcome.status).toBe(0);
    });

    it('should get an IMDS token, fetch the config, delete it, run the runner as runner, then shut down', () => {
      expectCallOrder(outcome.calls, [
        /^curl .*-X PUT .*-H X-aws-ec2-metadata-token-ttl-seconds: \d+ http:\/\/169\.254\.169\.254\/latest\/api\/token$/,
        /^curl .*meta-data\/instance-id$/,
        /^curl .*meta-data\/placement\/region$/,
        new RegExp(
          `^aws ssm get-parameter --name ${CONFIG_PARAMETER} --with-decryption --query Parameter.Value --output text --region ${REGION}$`,
        ),
        new RegExp(`^aws ssm delete-parameter --name ${CONFIG_PARAMETER} --region ${REGION}$`),
        /^runuser -u runner -- \.\/run\.sh$/,
        /^run\.sh /,
        /^shutdown -h now$/,
      ]);
      expectShutdownLast(outcome);
    });

    it('should call IMDS with timeouts and bounded retries', () => {
      for (const call of matching(outcome.calls, /^curl /)) {
        expect(call).toMatch(/--connect-timeout \d+ --max-time \d+ --retry \d+/);
      }
    });

    it('should hand the JIT config to run.sh through the environment, not argv', () => {
      const [run] = matching(outcome.calls, /^run\.sh /);
      expect(run).toContain(`jit=[${JIT_CONFIG}]`);
      expect(run).toContain('args=[]');
      expect(run).toContain('as=runner');
      expect(run).toContain(`cwd=${outcome.runnerDir}`);
      for (const call of matching(outcome.calls, /^(runuser|curl|aws) /)) expect(call).not.toContain(JIT_CONFIG);
    });

    it('should never write the JIT config to the log or the console', () => {
      expectSecretNotLogged(outcome, JIT_CONFIG);
      expect(outcome.log).toContain('starting the runner (JIT) as runner');
    });

    it('should skip the download and create an unprivileged runner user', () => {
      expect(matching(outcome.calls, /^curl .*github\.com/)).toEqual([]);
      expect(matching(outcome.calls, /^aws s3 /)).toEqual([]);
      expect(matching(outcome.calls, /^(dnf|systemctl|usermod) /)).toEqual([]);
      expect(matching(outcome.calls, /^useradd /)).toEqual(['useradd --create-home --user-group --shell /bin/bash runner']);
      expect(matching(outcome.calls, /^chown /)).toEqual([`chown -R runner:runner ${outcome.runnerDir}`]);
    });

    it('should keep its log private to root', () => {
      expect(fs.statSync(outcome.logPath).mode & 0o777).toBe(0o600);
    });
  });

  it('should download the runner from the GitHub release for the architecture when not prebaked', () => {
    const outcome = runUserData({
      vars: { enable_prebaked_ami: false, runner_architecture: 'arm64' },
      ssmValue: jitValue,
      runnerUserExists: true,
    });

    expect(outcome.status).toBe(0);
    expectCallOrder(outcome.calls, [
      /^curl .*meta-data\/placement\/region$/,
      /^curl .* -o \S+ https:\/\/github\.com\/actions\/runner\/releases\/download\/v2\.329\.0\/actions-runner-linux-arm64-2\.329\.0\.tar\.gz$/,
      /^usermod -a -G docker runner$/,
      new RegExp(`^chown -R runner:runner ${outcome.runnerDir}$`),
      /^aws ssm get-parameter /,
      /^run\.sh .*as=runner/,
      /^shutdown -h now$/,
    ]);
    expect(fs.existsSync(path.join(outcome.runnerDir, 'run.sh'))).toBe(true);
    expect(matching(outcome.calls, /^useradd /)).toEqual([]);
  });

  it('should download the runner from S3 when a location is given', () => {
    const outcome = runUserData({
      vars: { enable_prebaked_ami: false, runner_binaries_s3_location: 's3://gh-ci-dist/runner.tar.gz' },
      ssmValue: jitValue,
    });

    expect(outcome.status).toBe(0);
    expectCallOrder(outcome.calls, [
      new RegExp(`^aws s3 cp --only-show-errors --region ${REGION} s3://gh-ci-dist/runner\\.tar\\.gz \\S+$`),
      /^usermod -a -G docker runner$/,
      /^run\.sh /,
    ]);
    expect(matching(outcome.calls, /^curl .*github\.com/)).toEqual([]);
  });

  it('should fall back to the GitHub release when the runner is not in S3 yet', () => {
    const outcome = runUserData({
      vars: { enable_prebaked_ami: false, runner_binaries_s3_location: 's3://gh-ci-dist/runner.tar.gz' },
      ssmValue: jitValue,
      s3Fails: true,
    });

    expect(outcome.status).toBe(0);
    expectCallOrder(outcome.calls, [/^aws s3 cp /, /^curl .*github\.com\/actions\/runner\/releases\/download\//, /^run\.sh /]);
    expect(outcome.log).toContain('falling back to the GitHub release');
  });

  it('should keep polling until the config appears', () => {
    const outcome = runUserData({ ssmValue: jitValue, ssmGetFailures: 2 });

    expect(outcome.status).toBe(0);
    expect(matching(outcome.calls, /^aws ssm get-parameter /)).toHaveLength(3);
    expect(matching(outcome.calls, /^sleep /)).toEqual(['sleep 2', 'sleep 2']);
    expectCallOrder(outcome.calls, [/^aws ssm get-parameter /, /^aws ssm delete-parameter /, /^run\.sh /]);
  });

  it('should give up after config_poll_attempts, never start the runner, and shut down', () => {
    const outcome = runUserData({ vars: { config_poll_attempts: 4 } });

    expect(outcome.status).not.toBe(0);
    expect(matching(outcome.calls, /^aws ssm get-parameter /)).toHaveLength(4);
    expect(matching(outcome.calls, /^sleep /)).toHaveLength(3);
    expect(matching(outcome.calls, /^aws ssm delete-parameter /)).toEqual([]);
    expect(matching(outcome.calls, RUNNER_STARTED)).toEqual([]);
    expect(outcome.log).toContain('giving up');
    expectShutdownLast(outcome);
  });

  it('should not start the runner when the config cannot be deleted', () => {
    const outcome = runUserData({ ssmValue: jitValue, ssmDeleteFailures: 99 });

    expect(outcome.status).not.toBe(0);
    expect(matching(outcome.calls, /^aws ssm delete-parameter /)).toHaveLength(3);
    expect(matching(outcome.calls, RUNNER_STARTED)).toEqual([]);
    expectSecretNotLogged(outcome, JIT_CONFIG);
    expectShutdownLast(outcome);
  });

  it('should shut down with the runner status when run.sh fails', () => {
    const outcome = runUserData({ ssmValue: jitValue, runExit: 3 });

    expect(outcome.status).toBe(3);
    expectCallOrder(outcome.calls, [/^run\.sh /, /^shutdown -h now$/]);
    expect(outcome.log).toContain('runner exited with status 3');
    expectShutdownLast(outcome);
  });

  describe('GIVEN a registration-token config', () => {
    let outcome: Outcome;
    beforeAll(() => {
      outcome = runUserData({ ssmValue: tokenValue });
    });

    it('should register with config.sh, then run run.sh, as runner', () => {
      expect(outcome.status).toBe(0);
      expectCallOrder(outcome.calls, [
        /^aws ssm delete-parameter /,
        /^runuser -u runner -- \.\/config\.sh --unattended --ephemeral --disableupdate --url https:\/\/github\.com\/acme\/widgets --name gh-ci-runner-1 --labels self-hosted,linux,x64$/,
        /^config\.sh .*as=runner/,
        /^runuser -u runner -- \.\/run\.sh$/,
        /^run\.sh .*as=runner/,
        /^shutdown -h now$/,
      ]);
    });

    it('should give the token to config.sh only, and only through the environment', () => {
      const [config] = matching(outcome.calls, /^config\.sh /);
      const [run] = matching(outcome.calls, /^run\.sh /);
      expect(config).toContain(`token=[${REGISTRATION_TOKEN}]`);
      expect(run).toContain('token=[]');
      for (const call of matching(outcome.calls, /^runuser /)) expect(call).not.toContain(REGISTRATION_TOKEN);
      expectSecretNotLogged(outcome, REGISTRATION_TOKEN);
    });
  });

  /** Issue #10 item 5: ghes_ssl_verify = false reaches the runner as its documented switch, and nothing else. */
  describe('ghes_ssl_verify', () => {
    const tlsOf = (call: string | undefined): string | undefined => /tls_no_verify=\[([^\]]*)\]/.exec(call ?? '')?.[1];

    it.each([
      ['JIT', jitValue],
      ['token', tokenValue],
    ])('should start config.sh and run.sh with GITHUB_ACTIONS_RUNNER_TLS_NO_VERIFY=1 when false (%s mode)', (_mode, ssmValue) => {
      const outcome = runUserData({ ssmValue, vars: { ghes_ssl_verify: false } });

      expect(outcome.status).toBe(0);
      const runnerCalls = matching(outcome.calls, /^(config|run)\.sh /);
      expect(runnerCalls.length).toBeGreaterThan(0);
      for (const call of runnerCalls) expect(tlsOf(call)).toBe('1');
      expect(outcome.log).toContain("WARNING: ghes_ssl_verify is false: the runner does not verify the GitHub server's TLS certificate");
    });

    it.each([
      ['JIT', jitValue],
      ['token', tokenValue],
    ])('should leave GITHUB_ACTIONS_RUNNER_TLS_NO_VERIFY unset when true (%s mode)', (_mode, ssmValue) => {
      const outcome = runUserData({ ssmValue });

      expect(outcome.status).toBe(0);
      const runnerCalls = matching(outcome.calls, /^(config|run)\.sh /);
      expect(runnerCalls.length).toBeGreaterThan(0);
      for (const call of runnerCalls) expect(tlsOf(call)).toBe('unset');
      expect(outcome.log).not.toContain('ghes_ssl_verify');
    });

    it('should refuse a value that is not true or false before doing anything', () => {
      const outcome = runUserData({ ssmValue: jitValue, vars: { ghes_ssl_verify: 'no' } });

      expect(outcome.status).toBe(2);
      expect(outcome.log).toContain("ghes_ssl_verify must be true or false, got 'no'");
      expect(outcome.calls).toEqual(['shutdown -h now']);
    });
  });

  it('should not start run.sh when config.sh fails', () => {
    const outcome = runUserData({ ssmValue: tokenValue, configExit: 1 });

    expect(outcome.status).not.toBe(0);
    expect(matching(outcome.calls, /^config\.sh /)).toHaveLength(1);
    expect(matching(outcome.calls, /^run\.sh /)).toEqual([]);
    expectShutdownLast(outcome);
  });

  it('should name a token-mode runner after the prefix and instance when no name is given', () => {
    const outcome = runUserData({
      ssmValue: JSON.stringify({ mode: 'token', token: REGISTRATION_TOKEN, url: 'https://github.com/acme' }),
    });

    expect(outcome.status).toBe(0);
    const [config] = matching(outcome.calls, /^runuser .*config\.sh/);
    expect(config).toContain(`--name gh-ci-${INSTANCE_ID}`);
    expect(config).not.toContain('--labels');
    expect(config).not.toContain('--runnergroup');
  });

  it('should join an organisation runner to its runner group in token mode', () => {
    const outcome = runUserData({
      ssmValue: JSON.stringify({ mode: 'token', token: REGISTRATION_TOKEN, url: 'https://github.com/acme', runner_group: 'Linux Builders' }),
    });

    expect(outcome.status).toBe(0);
    const [config] = matching(outcome.calls, /^runuser .*config\.sh/);
    expect(config).toMatch(/--runnergroup Linux Builders$/);
  });

  describe('JSON parsing', () => {
    it.each<[JsonParser]>([['jq'], ['python3']])('should run the JIT runner with only %s available', (parser) => {
      const outcome = runUserData({ ssmValue: jitValue, parsers: [parser] });

      expect(outcome.status).toBe(0);
      expect(outcome.log).toContain(`JSON parser: ${parser}`);
      expect(matching(outcome.calls, /^run\.sh /)[0]).toContain(`jit=[${JIT_CONFIG}]`);
    });

    it('should prefer jq when both are available', () => {
      const outcome = runUserData({ ssmValue: jitValue, parsers: ['jq', 'python3'] });
      expect(outcome.log).toContain('JSON parser: jq');
    });

    it.each<[JsonParser]>([['jq'], ['python3']])(
      'should delete but not use a config that is not a JSON object, without logging it (%s)',
      (parser) => {
        const garbage = `not-json-${JIT_CONFIG}`;
        const outcome = runUserData({ ssmValue: garbage, parsers: [parser] });

        expect(outcome.status).not.toBe(0);
        expect(matching(outcome.calls, /^aws ssm delete-parameter /)).toHaveLength(1);
        expect(matching(outcome.calls, RUNNER_STARTED)).toEqual([]);
        expect(outcome.log).toContain('runner config is not a JSON object');
        expectSecretNotLogged(outcome, JIT_CONFIG);
        expectShutdownLast(outcome);
      },
    );

    it('should stop before touching SSM when neither jq nor python3 is available', () => {
      const outcome = runUserData({ ssmValue: jitValue, parsers: [] });

      expect(outcome.status).toBe(2);
      expect(outcome.log).toContain('neither jq nor python3');
      expect(matching(outcome.calls, /^aws /)).toEqual([]);
      expectShutdownLast(outcome);
    });
  });

  it('should list every invalid input at once and shut down before doing anything', () => {
    const outcome = runUserData({ vars: { runner_architecture: 'sparc', config_poll_attempts: 0 } });

    expect(outcome.status).toBe(2);
    expect(outcome.log).toContain("runner_architecture must be x64 or arm64, got 'sparc'");
    expect(outcome.log).toContain("config_poll_attempts must be >= 1, got '0'");
    expect(outcome.calls).toEqual(['shutdown -h now']);
  });

  it('should shut down without touching SSM when IMDS gives no token', () => {
    const outcome = runUserData({ ssmValue: jitValue, imdsToken: '' });

    expect(outcome.status).not.toBe(0);
    expect(matching(outcome.calls, /^aws /)).toEqual([]);
    expectShutdownLast(outcome);
  });

  describe('GIVEN an AMI that is not prebaked', () => {
    const notPrebaked = { enable_prebaked_ami: false } as const;
    const dnfInstall = (packages: readonly string[]): string => `dnf install -y -q ${packages.join(' ')}`;

    it('should install the runner libraries and the workflow packages in one dnf run, start Docker, and put runner in the docker group', () => {
      const outcome = runUserData({ vars: notPrebaked, ssmValue: jitValue });

      expect(outcome.status).toBe(0);
      expect(matching(outcome.calls, /^dnf /)).toEqual([dnfInstall([...RUNNER_LIBRARIES, ...WORKFLOW_PACKAGES])]);
      expect(WORKFLOW_PACKAGES).toEqual(expect.arrayContaining(['git', 'docker', 'jq', 'unzip', 'tar']));
      expectCallOrder(outcome.calls, [/^dnf install /, /^systemctl enable --now docker$/, /^useradd /, /^usermod -a -G docker runner$/, /^chown /, /^run\.sh /]);
      expect(outcome.log).toMatch(/packages installed in \d+ s/);
      expect(outcome.log).toMatch(/runner downloaded and extracted into \S+ in \d+ s/);
    });

    it('should run the package install and the runner download at the same time', () => {
      // Each stub waits (bounded) for the other to have started; in series the first would time out.
      const outcome = runUserData({ vars: notPrebaked, ssmValue: jitValue, rendezvous: true });

      expect(outcome.status).toBe(0);
      expect(matching(outcome.calls, /^rendezvous /).sort()).toEqual(['rendezvous download met packages', 'rendezvous packages met download']);
    });

    it.each([
      ['dnf install fails', { dnfExit: 1 }, /installing packages failed with status 1/],
      ['Docker does not start', { systemctlExit: 5 }, /installing packages failed with status 5/],
      ['the runner download fails', { downloadFails: true }, /downloading the runner failed with status 22/],
    ])('should fail the boot and never start the runner when %s in the background', (_name, failure, message) => {
      const outcome = runUserData({ vars: notPrebaked, ssmValue: jitValue, ...failure });

      expect(outcome.status).not.toBe(0);
      expect(outcome.log).toMatch(message);
      expect(matching(outcome.calls, /^aws ssm /)).toEqual([]);
      expect(matching(outcome.calls, RUNNER_STARTED)).toEqual([]);
      expectShutdownLast(outcome);
    });

    it('should report both failures when both background steps fail', () => {
      const outcome = runUserData({ vars: notPrebaked, ssmValue: jitValue, dnfExit: 1, downloadFails: true });

      expect(outcome.status).not.toBe(0);
      expect(outcome.log).toMatch(/installing packages failed with status 1; downloading the runner failed with status 22; not starting the runner/);
      expectShutdownLast(outcome);
    });

    it('should install only the runner libraries and the extra packages, without Docker, when enable_runner_packages is false', () => {
      const outcome = runUserData({
        vars: { ...notPrebaked, enable_runner_packages: false, runner_extra_packages: 'make gcc-c++' },
        ssmValue: jitValue,
      });

      expect(outcome.status).toBe(0);
      expect(matching(outcome.calls, /^dnf /)).toEqual([dnfInstall([...RUNNER_LIBRARIES, 'make', 'gcc-c++'])]);
      expect(matching(outcome.calls, /^(systemctl|usermod) /)).toEqual([]);
    });

    it('should add the extra packages to the default ones', () => {
      const outcome = runUserData({ vars: { ...notPrebaked, runner_extra_packages: 'make' }, ssmValue: jitValue });

      expect(matching(outcome.calls, /^dnf /)).toEqual([dnfInstall([...RUNNER_LIBRARIES, ...WORKFLOW_PACKAGES, 'make'])]);
    });
  });

  describe('GIVEN a prebaked AMI', () => {
    it('should install nothing but start the baked-in Docker and put runner in the docker group', () => {
      const outcome = runUserData({ vars: { runner_extra_packages: 'make' }, ssmValue: jitValue, dockerd: true });

      expect(outcome.status).toBe(0);
      expect(matching(outcome.calls, /^dnf /)).toEqual([]);
      expect(matching(outcome.calls, /^curl .*github\.com/)).toEqual([]);
      expectCallOrder(outcome.calls, [/^systemctl enable --now docker$/, /^usermod -a -G docker runner$/, /^run\.sh /]);
    });

    it('should leave the baked-in Docker alone when enable_runner_packages is false', () => {
      const outcome = runUserData({ vars: { enable_runner_packages: false }, ssmValue: jitValue, dockerd: true });

      expect(outcome.status).toBe(0);
      expect(matching(outcome.calls, /^(dnf|systemctl|usermod) /)).toEqual([]);
    });
  });

  describe('GIVEN userdata_pre_install and userdata_post_install', () => {
    // Each snippet records itself, the environment it was given, and whether the runner is installed yet.
    const snippet = (name: string): string =>
      `echo "${name} dir=$RUNNER_DIR user=$RUNNER_USER instance=$INSTANCE_ID region=$REGION installed=$([ -x "$RUNNER_DIR/run.sh" ] && echo yes || echo no) it's" >>"$STUB_CALLS"\n`;

    it('should run pre-install before the installs and post-install after them, before the config is fetched', () => {
      const outcome = runUserData({
        vars: { enable_prebaked_ami: false, userdata_pre_install_base64: b64(snippet('pre')), userdata_post_install_base64: b64(snippet('post')) },
        ssmValue: jitValue,
      });

      expect(outcome.status).toBe(0);
      expectCallOrder(outcome.calls, [
        /^curl .*placement\/region$/,
        new RegExp(`^pre dir=${outcome.runnerDir} user=runner instance=${INSTANCE_ID} region=${REGION} installed=no it's$`),
        /^dnf install /,
        /^chown /,
        new RegExp(`^post dir=${outcome.runnerDir} user=runner instance=${INSTANCE_ID} region=${REGION} installed=yes it's$`),
        /^aws ssm get-parameter /,
        /^run\.sh /,
      ]);
      expect(outcome.log).toMatch(/userdata_pre_install done in \d+ s/);
    });

    it.each([
      ['pre_install', 'userdata_pre_install_base64'],
      ['post_install', 'userdata_post_install_base64'],
    ] as const)('should fail the boot when userdata_%s fails, even in a middle command (bash -e)', (name, variable) => {
      const outcome = runUserData({ vars: { [variable]: b64('false\necho "after the failure" >>"$STUB_CALLS"\n') }, ssmValue: jitValue });

      expect(outcome.status).not.toBe(0);
      expect(outcome.log).toContain(`userdata_${name} failed with status 1`);
      expect(matching(outcome.calls, /^after the failure$/)).toEqual([]);
      expect(matching(outcome.calls, /^aws ssm /)).toEqual([]);
      expect(matching(outcome.calls, RUNNER_STARTED)).toEqual([]);
      expectShutdownLast(outcome);
    });

    it('should run a snippet exactly as Terraform base64encode()s it: quotes, ${…} and UTF-8 intact', () => {
      // The launch template passes base64encode(each.value.userdata_post_install); ask Terraform for that value.
      const snippetText = 'printf \'%s\\n\' "quote\'s ${RUNNER_USER:-none} é" >>"$STUB_CALLS"\n';
      const result = spawnSync('terraform', ['console'], {
        cwd: scratchDir('terraform-b64'),
        encoding: 'utf8',
        input: `base64encode(${JSON.stringify(snippetText).replace(/\$\{/g, '$$${')})\n`,
        env: { ...process.env, CHECKPOINT_DISABLE: '1' },
      });
      if (result.error) throw new Error(`terraform is required for this test: ${result.error.message}`);
      expect(result.status).toBe(0);
      const encoded = /"([A-Za-z0-9+/=]+)"/.exec(result.stdout)?.[1];
      expect(encoded).toBe(b64(snippetText));

      const outcome = runUserData({ vars: { userdata_post_install_base64: encoded! }, ssmValue: jitValue });
      expect(outcome.status).toBe(0);
      expect(outcome.calls).toContain("quote's runner é");
    });

    it('should not run anything for empty snippets', () => {
      const outcome = runUserData({ ssmValue: jitValue });
      expect(outcome.log).not.toContain('running userdata_');
    });
  });

  it('should reject malformed package lists and snippets before doing anything', () => {
    const outcome = runUserData({
      vars: { enable_runner_packages: 'yes', runner_extra_packages: '-y; reboot', userdata_pre_install_base64: 'not base64!' },
    });

    expect(outcome.status).toBe(2);
    expect(outcome.log).toContain("enable_runner_packages must be true or false, got 'yes'");
    expect(outcome.log).toContain('runner_extra_packages must be space-separated dnf package names');
    expect(outcome.log).toContain('userdata_pre_install_base64 must be base64');
    expect(outcome.calls).toEqual(['shutdown -h now']);
  });

  describe('GIVEN the CloudWatch agent is enabled', () => {
    let outcome: Outcome;
    beforeAll(() => {
      outcome = runUserData({
        vars: { enable_cloudwatch_agent: true, cloudwatch_log_group: '/gh-ci/runners' },
        ssmValue: jitValue,
      });
    });

    it('should start the agent before fetching the config and let it flush before shutting down', () => {
      expect(outcome.status).toBe(0);
      expectCallOrder(outcome.calls, [
        /^curl .*placement\/region$/,
        /^amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c file:\S+\.json$/,
        /^aws ssm get-parameter /,
        /^run\.sh /,
        /^sleep \d+$/,
        /^shutdown -h now$/,
      ]);
      expect(matching(outcome.calls, /^dnf /)).toEqual([]);
    });

    it('should ship the user-data log, the boot metrics and the runner _diag logs to the log group', () => {
      const config = JSON.parse(fs.readFileSync(path.join(outcome.state, 'cloudwatch-agent.json'), 'utf8'));
      const files = config.logs.logs_collected.files.collect_list as Array<Record<string, string>>;
      expect(files.map((f) => f.file_path)).toEqual([
        outcome.logPath,
        path.join(path.dirname(outcome.logPath), 'runner-boot-metrics.log'),
        `${outcome.runnerDir}/_diag/Runner_*.log`,
        `${outcome.runnerDir}/_diag/Worker_*.log`,
      ]);
      expect(new Set(files.map((f) => f.log_group_name))).toEqual(new Set(['/gh-ci/runners']));
      expect(files[0].log_stream_name).toBe(`${INSTANCE_ID}/user-data`);
      expect(files[1].log_stream_name).toBe(`${INSTANCE_ID}/boot-metrics`);
    });
  });
});

// ---------------------------------------------------------------------------
// Boot metrics (issue #17 item 4)
// ---------------------------------------------------------------------------

/** One EMF line as CloudWatch reads it (Specification: Embedded metric format). */
interface EmfLine {
  readonly _aws: { readonly Timestamp: number; readonly CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
  readonly RunnerType: string;
  readonly Step: string;
  readonly [metric: string]: unknown;
}

const emfLines = (outcome: Outcome): EmfLine[] =>
  outcome.bootMetrics
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as EmfLine);

describe('user-data boot metrics', () => {
  it('should write one EMF line per boot step, in order, each a valid metric of the contract', () => {
    const outcome = runUserData({
      vars: { enable_prebaked_ami: false, userdata_pre_install_base64: b64('true'), userdata_post_install_base64: b64('true') },
      ssmValue: jitValue,
      ssmGetFailures: 1,
    });
    expect(outcome.status).toBe(0);
    const lines = emfLines(outcome);
    const steps = lines.map((l) => l.Step);
    // packages, docker and download run side by side: their order is not fixed.
    expect(steps.filter((s) => !['packages', 'docker', 'download'].includes(s))).toEqual(['os_boot', 'imds', 'pre_install', 'install', 'post_install', 'config_wait', 'config_delete', 'user_data', 'runner_start']);
    expect([...steps].sort()).toEqual([...BOOT_STEPS].sort());
    for (const line of lines) {
      expect(line._aws.CloudWatchMetrics).toEqual([
        { Namespace: 'GitHubRunners/gh-ci', Dimensions: [['RunnerType', 'Step']], Metrics: [{ Name: BOOT_METRIC_NAME, Unit: 'Seconds' }] },
      ]);
      expect(line.RunnerType).toBe('linux-x64');
      expect(Math.abs(line._aws.Timestamp - Date.now())).toBeLessThan(10 * 60_000);
      expect(typeof line[BOOT_METRIC_NAME]).toBe('number');
      expect(line[BOOT_METRIC_NAME]).toBeGreaterThanOrEqual(0);
    }
    const seconds = (step: string) => lines.find((l) => l.Step === step)![BOOT_METRIC_NAME] as number;
    // One failed SSM read: the config wait includes the poll interval (the sleep stub returns at once, so it is short).
    expect(seconds('user_data')).toBeGreaterThanOrEqual(seconds('install'));
    expect(seconds('runner_start')).toBeGreaterThanOrEqual(seconds('user_data'));
    expectSecretNotLogged({ ...outcome, log: outcome.bootMetrics, output: '' }, JIT_CONFIG);
  });

  it('should write no runner start when the runner never starts', () => {
    const outcome = runUserData({ vars: { config_poll_attempts: 2 }, ssmGetFailures: 5 });
    expect(outcome.status).not.toBe(0);
    expect(emfLines(outcome).map((l) => l.Step)).toEqual(['os_boot', 'imds', 'install']);
  });

  it('should refuse values that would break the metrics\' JSON before doing anything', () => {
    const outcome = runUserData({ vars: { runner_type: 'a"b', metrics_namespace: 'ns"}', boot_metric_name: 'x y' }, ssmValue: jitValue });
    expect(outcome.status).not.toBe(0);
    expect(outcome.log).toContain("runner_type must be a runner type name, got 'a\"b'");
    expect(outcome.log).toContain('metrics_namespace must be a CloudWatch namespace');
    expect(outcome.log).toContain("boot_metric_name must be letters and digits, got 'x y'");
    expect(matching(outcome.calls, /^aws ssm /)).toEqual([]);
  });
});
