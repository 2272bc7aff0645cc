import { TerraformVariable } from 'cdktf';
import { DEFAULT_RUNNER_LABELS, RunnerTypeProps, RunnerTypes } from '../../modules/runners/runner-types';
import { PropsValidationError } from '../../modules/shared/validation';
import { synth, validationError } from './helpers';

/** The `runner_types` local the types bind to, as synthesized. */
function boundLocal(types: RunnerTypes): unknown {
  const { stack } = synth((scope) => {
    types.bind(scope);
  });
  const locals = Object.entries(stack.locals ?? {});
  expect(locals.map(([name]) => name)).toEqual(['runner_types']);
  return locals[0][1];
}

const fromList = (types: RunnerTypeProps[]) => validationError(() => RunnerTypes.fromList(types));

describe('RunnerTypes', () => {
  describe('fromList', () => {
    it('should hold the types in a local keyed by name, priority defaulting to the position in the list', () => {
      // GIVEN three types, the middle one with an explicit priority
      const types = RunnerTypes.fromList([
        { name: 'small', labels: ['linux', 'x64'] },
        { name: 'gpu', labels: ['linux', 'gpu'], exactMatch: true, priority: 7 },
        { name: 'arm', labels: ['linux', 'arm64'] },
      ]);
      // THEN
      // (entries also carry the instance settings; only the routing fields matter here)
      const local = boundLocal(types) as Record<string, unknown>;
      expect(Object.keys(local).sort()).toEqual(['arm', 'gpu', 'small']);
      expect(local).toMatchObject({
        small: { labels: ['linux', 'x64'], exact_match: false, priority: 0 },
        gpu: { labels: ['linux', 'gpu'], exact_match: true, priority: 7 },
        arm: { labels: ['linux', 'arm64'], exact_match: false, priority: 2 },
      });
    });

    it('should reject duplicate names, listing each duplicate once', () => {
      const error = fromList([
        { name: 'a', labels: ['x'] },
        { name: 'b', labels: ['x'] },
        { name: 'a', labels: ['y'] },
        { name: 'b', labels: ['y'] },
        { name: 'a', labels: ['z'] },
        { name: 'c', labels: ['z'] },
      ]);
      expect(error.construct).toBe('RunnerTypes');
      expect(error.problems).toEqual(['runner type names must be unique, got duplicates: a, b']);
    });

    it('should reject a type with no labels', () => {
      expect(fromList([{ name: 'bare', labels: [] }]).problems).toEqual(['runner type "bare" needs at least one label, got none']);
    });

    it('should reject a blank label', () => {
      expect(fromList([{ name: 'blank', labels: ['linux', '  '] }]).problems).toEqual(['runner type "blank" has an empty or whitespace-only label']);
    });

    it('should reject a label of the run-label form, which the webhook adds per job (#15 item 3)', () => {
      expect(fromList([{ name: 'bound', labels: ['linux', 'Ghr-Run-123'] }]).problems).toEqual([
        'runner type "bound" has a label of the run-label form ghr-run-<digits> (Ghr-Run-123): run labels are added per job, not offered by a type',
      ]);
      expect(() => RunnerTypes.fromList([{ name: 'fine', labels: ['linux', 'ghr-run-x', 'ghr-run-1-2'] }])).not.toThrow();
    });

    it('should reject a name ending in "-dlq", whose queues would collide with another type\'s dead-letter queue', () => {
      expect(fromList([{ name: 'x-dlq', labels: ['linux'] }]).problems).toEqual(['runner type name must not end in "-dlq" (its queues would collide with those of type "x"), got "x-dlq"']);
    });

    it('should reject failover error codes EC2 fleets do not report, naming the type', () => {
      expect(fromList([{ name: 'f', labels: ['linux'], enableOnDemandFailoverForErrors: ['InsufficientInstanceCapacity', 'NoSuchError'] }]).problems).toEqual([
        expect.stringMatching(/^runner type "f": enableOnDemandFailoverForErrors may only list InsufficientInstanceCapacity, .*, got \["InsufficientInstanceCapacity","NoSuchError"\]$/),
      ]);
    });

    it('should reject a pool larger than runnersMaximumCount, and accept any size without a limit', () => {
      const window = { scheduleExpression: 'cron(0/5 8-18 ? * MON-FRI *)' };
      expect(fromList([{ name: 'p', labels: ['linux'], runnersMaximumCount: 2, poolConfig: [{ ...window, size: 3 }] }]).problems).toEqual([
        'runner type "p": poolConfig[0].size must not exceed runnersMaximumCount (2), got 3',
      ]);
      expect(fromList([{ name: 'p', labels: ['linux'], poolConfig: [{ ...window, size: 4 }] }]).problems).toEqual(['runner type "p": poolConfig[0].size must not exceed runnersMaximumCount (3), got 4']);
      expect(() => RunnerTypes.fromList([{ name: 'p', labels: ['linux'], runnersMaximumCount: -1, poolConfig: [{ ...window, size: 50 }] }])).not.toThrow();
    });

    it.each(['rate(1 minutes)', 'rate(5 minute)', 'rate(0 minutes)', 'cron(0/5 8-18 * MON-FRI *)', 'cron(0 8 * * MON-FRI *)', 'cron(0 8 ? * ? *)', 'cron(0 8 ? * MON *', 'at(2026-01-01T00:00:00)'])(
      'should reject the pool schedule %j, naming the type',
      (scheduleExpression) => {
        expect(fromList([{ name: 's', labels: ['linux'], poolConfig: [{ size: 1, scheduleExpression }] }]).problems).toEqual([
          expect.stringMatching(/^runner type "s": poolConfig\[0\]\.scheduleExpression must be rate\(1 minute\)/),
        ]);
      },
    );

    it.each(['rate(1 minute)', 'rate(10 minutes)', 'rate(2 hours)', 'cron(*/5 * * * ? *)', 'cron(0 8 1 * ? *)'])('should accept the pool schedule %j', (scheduleExpression) => {
      expect(() => RunnerTypes.fromList([{ name: 's', labels: ['linux'], poolConfig: [{ size: 1, scheduleExpression }] }])).not.toThrow();
    });

    it.each([['', false], ['CET!', false], ['utc', false], ['Europe/', false], ['UTC', true], ['Europe/Amsterdam', true], ['America/Argentina/Salta', true], ['Etc/GMT+1', true]] as const)(
      'should judge the pool time zone %j (valid: %s)',
      (scheduleExpressionTimezone, valid) => {
        const build = () => RunnerTypes.fromList([{ name: 'z', labels: ['linux'], poolConfig: [{ size: 1, scheduleExpression: 'rate(5 minutes)', scheduleExpressionTimezone }] }]);
        if (valid) expect(build).not.toThrow();
        else expect(fromList([{ name: 'z', labels: ['linux'], poolConfig: [{ size: 1, scheduleExpression: 'rate(5 minutes)', scheduleExpressionTimezone }] }]).problems).toEqual([expect.stringContaining('runner type "z": poolConfig[0].scheduleExpressionTimezone must be an IANA time zone name')]);
      },
    );

    it.each(['Upper', 'under_score', '-leading', '', 'a'.repeat(33), 'spa ce'])('should reject the name %j', (name) => {
      expect(fromList([{ name, labels: ['linux'] }]).problems).toEqual([
        `runner type name must be 1 to 32 lower-case letters, digits or hyphens, starting with a letter or digit (no "_": it separates the type in resource names), got "${name}"`,
      ]);
    });

    it('should accept a 32-character name', () => {
      expect(() => RunnerTypes.fromList([{ name: 'a'.repeat(32), labels: ['linux'] }])).not.toThrow();
    });

    describe('boot settings', () => {
      it('should default to the workflow packages, no extras and no snippets', () => {
        const local = boundLocal(RunnerTypes.fromList([{ name: 'plain', labels: ['linux'] }])) as Record<string, unknown>;
        expect(local.plain).toMatchObject({ enable_runner_packages: true, runner_extra_packages: [], userdata_pre_install: '', userdata_post_install: '' });
      });

      it('should carry the opt-out, the extras and the snippets into the entry', () => {
        const local = boundLocal(
          RunnerTypes.fromList([
            { name: 'lean', labels: ['linux'], enableRunnerPackages: false, runnerExtraPackages: ['make', 'gcc-c++'], userdataPreInstall: 'echo pre', userdataPostInstall: 'echo post' },
          ]),
        ) as Record<string, unknown>;
        expect(local.lean).toMatchObject({ enable_runner_packages: false, runner_extra_packages: ['make', 'gcc-c++'], userdata_pre_install: 'echo pre', userdata_post_install: 'echo post' });
      });

      it.each(['-y', 'make; reboot', 'two words', '', '.hidden', "it's"])('should reject the extra package %j, naming the type', (pkg) => {
        expect(fromList([{ name: 'pkgs', labels: ['linux'], runnerExtraPackages: ['make', pkg] }]).problems).toEqual([
          expect.stringMatching(/^runner type "pkgs": runnerExtraPackages may only list dnf package names/),
        ]);
      });

      it.each(['python3.11-devel', 'gcc-c++', '@development-tools', 'docker-buildx:0.12'])('should accept the extra package %j', (pkg) => {
        expect(() => RunnerTypes.fromList([{ name: 'pkgs', labels: ['linux'], runnerExtraPackages: [pkg] }])).not.toThrow();
      });

      it('should accept snippets of 3072 bytes and reject longer ones, counting bytes, not characters', () => {
        expect(() => RunnerTypes.fromList([{ name: 'max', labels: ['linux'], userdataPreInstall: 'x'.repeat(3072), userdataPostInstall: 'é'.repeat(1536) }])).not.toThrow();
        expect(fromList([{ name: 'big', labels: ['linux'], userdataPreInstall: 'x'.repeat(3073), userdataPostInstall: 'é'.repeat(1537) }]).problems).toEqual([
          'runner type "big": userdataPreInstall must be at most 3072 bytes (EC2 takes 16 KB of user data), got 3073',
          'runner type "big": userdataPostInstall must be at most 3072 bytes (EC2 takes 16 KB of user data), got 3074',
        ]);
      });
    });

    describe('runnerOs (issue #16)', () => {
      it('should default to linux and carry windows into the entry', () => {
        const local = boundLocal(RunnerTypes.fromList([{ name: 'lin', labels: ['linux'] }, { name: 'win', labels: ['windows'], runnerOs: 'windows' }])) as Record<string, { runner_os: string }>;
        expect(local.lin.runner_os).toBe('linux');
        expect(local.win.runner_os).toBe('windows');
      });

      it('should refuse osx as not supported yet, and an unknown OS, naming the type', () => {
        expect(fromList([{ name: 'mac', labels: ['macos'], runnerOs: 'osx' }]).problems).toEqual([
          'runner type "mac": runnerOs: macOS runners (runner_os = "osx") are not supported yet: they need EC2 Mac dedicated hosts, which this module does not manage; use "linux" or "windows"',
        ]);
        expect(fromList([{ name: 'beos', labels: ['beos'], runnerOs: 'beos' }]).problems).toEqual(['runner type "beos": runnerOs must be one of linux, windows, got "beos"']);
      });

      it('should take Windows on x64 only, with at least 30 GiB and none of the Linux boot settings', () => {
        expect(() => RunnerTypes.fromList([{ name: 'win', labels: ['windows'], runnerOs: 'windows', runnerArchitecture: 'x64', volumeSize: 30 }])).not.toThrow();
        expect(fromList([{ name: 'win', labels: ['windows'], runnerOs: 'windows', runnerArchitecture: 'arm64', volumeSize: 29, runnerExtraPackages: ['make'] }]).problems).toEqual([
          'runner type "win": runnerOs "windows" runs on x64 only, got runnerArchitecture "arm64"',
          'runner type "win": runnerOs "windows" needs volumeSize of at least 30 GiB (the Windows Server AMI\'s snapshot size), got 29',
          'runner type "win": runnerOs "windows" does not take runnerExtraPackages, userdataPreInstall or userdataPostInstall yet (they are dnf packages and bash snippets); leave them empty',
        ]);
        // The same settings are fine on Linux.
        expect(() => RunnerTypes.fromList([{ name: 'lin', labels: ['linux'], runnerArchitecture: 'arm64', volumeSize: 8, runnerExtraPackages: ['make'] }])).not.toThrow();
      });
    });

    it('should reject an empty list', () => {
      expect(fromList([]).problems).toEqual(['at least one runner type is required, got none']);
    });

    it('should list every problem in one error', () => {
      const error = fromList([
        { name: 'Bad', labels: [] },
        { name: 'ok', labels: ['linux'] },
        { name: 'ok', labels: ['linux'] },
      ]);
      expect(error.problems).toHaveLength(3);
      expect(error.message).toMatch(/^RunnerTypes: runner type names must be unique, got duplicates: ok; runner type name must be 1 to 32 .*"Bad"; runner type "Bad" needs at least one label/);
    });
  });

  describe('default', () => {
    it('should be one type named "default" with the labels self-hosted, linux, x64', () => {
      expect(DEFAULT_RUNNER_LABELS).toEqual(['self-hosted', 'linux', 'x64']);
      const local = boundLocal(RunnerTypes.default()) as Record<string, unknown>;
      expect(Object.keys(local)).toEqual(['default']);
      expect(local).toMatchObject({ default: { labels: DEFAULT_RUNNER_LABELS, exact_match: false, priority: 0 } });
    });
  });

  describe('fromMap', () => {
    it('should reject a literal map, pointing to fromList', () => {
      let thrown: unknown;
      try {
        RunnerTypes.fromMap({ default: { labels: ['linux'] } });
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(PropsValidationError);
      expect((thrown as PropsValidationError).message).toBe('RunnerTypes.fromMap: expects a Terraform expression; use RunnerTypes.fromList for literal types');
    });

    it('should hold a Terraform expression in the local as it is', () => {
      const { stack } = synth((scope) => {
        const variable = new TerraformVariable(scope, 'types', { type: 'map(any)' });
        RunnerTypes.fromMap(variable.value).bind(scope);
      });
      expect(stack.locals).toEqual({ runner_types: '${var.types}' });
    });
  });
});
