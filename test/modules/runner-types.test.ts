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
      expect(fromList([{ name: 'blank', labels: ['linux', '  '] }]).problems).toEqual(['runner type "blank" has an empty label']);
    });

    it.each(['Upper', 'under_score', '-leading', '', 'a'.repeat(33), 'spa ce'])('should reject the name %j', (name) => {
      expect(fromList([{ name, labels: ['linux'] }]).problems).toEqual([
        `runner type name must match /^[a-z0-9][a-z0-9-]{0,31}$/, got "${name}"`,
      ]);
    });

    it('should accept a 32-character name', () => {
      expect(() => RunnerTypes.fromList([{ name: 'a'.repeat(32), labels: ['linux'] }])).not.toThrow();
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
      expect(error.message).toMatch(/^RunnerTypes: runner type names must be unique, got duplicates: ok; runner type name must match .*"Bad"; runner type "Bad" needs at least one label/);
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
