import type { RunnerTypeRoute, RunnerTypeRoutes } from '../../../modules/contract/runner-types';
import { routeJob, unroutableBySize } from '../../../lambdas/webhook/routing';
import { type RunBinding, isRunLabel, runBindingOf, runLabel } from '../../../modules/contract/run-label';
import { withExtraLabels } from '../../../modules/runners/runner-types';

function type(labels: string[], priority: number, exact_match = false): RunnerTypeRoute {
  return { labels, exact_match, priority, queue_url: `https://sqs.eu-west-1.amazonaws.com/123456789012/q-${priority}` };
}

const TYPES: RunnerTypeRoutes = {
  'linux-x64': type(['linux', 'x64'], 0),
  'linux-x64-gpu': type(['linux', 'x64', 'gpu'], 1),
  'linux-arm64': type(['Linux', 'ARM64'], 2),
  'exact-docker': type(['docker'], 3, true),
};

describe('routeJob', () => {
  it.each<[string, string[], string | undefined]>([
    ['a subset of a type labels', ['linux'], 'linux-x64'],
    ['all of a type labels', ['linux', 'x64'], 'linux-x64'],
    ['a label only a later type offers', ['linux', 'gpu'], 'linux-x64-gpu'],
    ['labels in another case', ['LINUX', 'Arm64'], 'linux-arm64'],
    ['self-hosted explicitly', ['self-hosted', 'linux', 'arm64'], 'linux-arm64'],
    ['Self-Hosted in another case', ['Self-Hosted', 'gpu'], 'linux-x64-gpu'],
    ['only self-hosted', ['self-hosted'], 'linux-x64'],
    ['a label no type offers', ['linux', 'windows'], undefined],
    ['a GitHub-hosted label', ['ubuntu-latest'], undefined],
    ['no labels at all', [], undefined],
    ['exactly an exact-match type labels', ['docker'], 'exact-docker'],
    ['an exact-match type labels plus self-hosted', ['self-hosted', 'DOCKER'], 'exact-docker'],
  ])('should route a job asking for %s', (_case, labels, expected) => {
    expect(routeJob(labels, TYPES)?.runnerType).toBe(expected);
  });

  it('should not route a subset to an exact-match type', () => {
    // GIVEN an exact-match type with two labels WHEN a job asks for one of them THEN it does not match
    const types = { exact: type(['docker', 'big'], 0, true) };
    expect(routeJob(['docker'], types)).toBeUndefined();
    expect(routeJob(['self-hosted'], types)).toBeUndefined();
    expect(routeJob(['docker', 'big'], types)?.runnerType).toBe('exact');
  });

  it('should let the lowest priority win whatever the declaration order', () => {
    const types = { late: type(['linux'], 5), early: type(['linux'], 1), middle: type(['linux'], 3) };
    expect(routeJob(['linux'], types)?.runnerType).toBe('early');
  });

  it('should break priority ties by name in sort order', () => {
    const types = { zeta: type(['linux'], 0), alpha: type(['linux'], 0), Beta: type(['linux'], 0) };
    expect(routeJob(['linux'], types)?.runnerType).toBe('Beta');
  });

  it('should return the matched route with its queue URL', () => {
    expect(routeJob(['gpu'], TYPES)?.route.queue_url).toBe(TYPES['linux-x64-gpu'].queue_url);
  });
});

/** Issue #10 item 5: runner_extra_labels join every type's labels, so a job asking for one is routed. */
describe('routeJob with runner_extra_labels', () => {
  it('should route a job asking for an extra label, including an exact-match type given its full list', () => {
    // GIVEN the routing table as the module writes it: each type's labels followed by the extra labels
    const extra = ['team-a', 'ci'];
    const types: RunnerTypeRoutes = {
      small: type(withExtraLabels(['linux', 'x64'], extra), 0),
      exact: type(withExtraLabels(['docker'], extra), 1, true),
    };
    // WHEN a job asks for its type's labels plus an extra label THEN it is routed to that type
    expect(routeJob(['self-hosted', 'linux', 'TEAM-A'], types)?.runnerType).toBe('small');
    expect(routeJob(['self-hosted', 'ci'], types)?.runnerType).toBe('small');
    expect(routeJob(['docker', 'team-a', 'ci'], types)?.runnerType).toBe('exact');
    // AND without the extra labels the same job would not be routed
    expect(routeJob(['self-hosted', 'linux', 'team-a'], { small: type(['linux', 'x64'], 0) })).toBeUndefined();
    // AND a label neither the type nor the extras offer is still refused
    expect(routeJob(['linux', 'team-b'], types)).toBeUndefined();
  });
});

/** Issue #15 item 3: a run label (ghr-run-<run id>) binds a runner to a run; no type offers it. */
describe('routeJob with a run label', () => {
  it.each<[string, string[], string | undefined]>([
    ['a type label and a run label', ['self-hosted', 'linux', 'x64', 'ghr-run-123'], 'linux-x64'],
    ['a run label in another case', ['linux', 'GHR-Run-123'], 'linux-x64'],
    ['an exact-match type labels and a run label', ['self-hosted', 'docker', 'ghr-run-123'], 'exact-docker'],
    ['only a run label', ['ghr-run-123'], undefined],
    ['a ghr-run label that is not the run-label form', ['linux', 'ghr-run-123-1-0'], undefined],
    ['a ghr-run label without digits', ['linux', 'ghr-run-x'], undefined],
  ])('should route a job asking for %s', (_case, labels, expected) => {
    expect(routeJob(labels, TYPES)?.runnerType).toBe(expected);
  });

  it('should leave the run label out of unroutableBySize', () => {
    // GIVEN a type offering two labels WHEN a job asks for both and a run label THEN the count does not rule it out
    const types = { small: type(['linux', 'x64'], 0) };
    expect(unroutableBySize(['linux', 'x64', 'ghr-run-123456789012'], types)).toBeUndefined();
    expect(routeJob(['linux', 'x64', 'ghr-run-123456789012'], types)?.runnerType).toBe('small');
  });
});

describe('runBindingOf', () => {
  it.each<[string, string[], number, RunBinding]>([
    ['no run label', ['self-hosted', 'linux'], 123, { kind: 'unbound' }],
    ['its own run label', ['linux', 'ghr-run-123'], 123, { kind: 'bound', label: 'ghr-run-123' }],
    ['its own run label in another case, registered in lower case', ['linux', 'GHR-RUN-123'], 123, { kind: 'bound', label: 'ghr-run-123' }],
    ['its own run label twice', ['ghr-run-123', 'Ghr-Run-123'], 123, { kind: 'bound', label: 'ghr-run-123' }],
    ['a label that is not the run-label form', ['ghr-run-123-1-0'], 456, { kind: 'unbound' }],
  ])('should judge a job with %s', (_case, labels, runId, expected) => {
    expect(runBindingOf(labels, runId)).toEqual(expected);
  });

  it.each<[string, string[], number]>([
    ['another run', ['linux', 'ghr-run-124'], 123],
    ['another run in another case', ['linux', 'GHR-RUN-999'], 123],
    ['its own run and another run', ['ghr-run-123', 'ghr-run-124'], 123],
    ['its run id with a leading zero', ['ghr-run-0123'], 123],
  ])('should refuse a job whose run label names %s', (_case, labels, runId) => {
    const binding = runBindingOf(labels, runId);
    expect(binding.kind).toBe('refused');
    expect(binding.kind === 'refused' && binding.reason).toContain(`run ${runId}`);
  });

  it('should shorten a long foreign run label in the reason', () => {
    const long = `ghr-run-${'9'.repeat(500)}`;
    const binding = runBindingOf([long], 1);
    expect(binding.kind === 'refused' && binding.reason.length).toBeLessThan(100);
  });

  it('should recognise the run-label form only', () => {
    expect(['ghr-run-1', 'GHR-RUN-42', 'ghr-run-007'].every(isRunLabel)).toBe(true);
    expect(['ghr-run-', 'ghr-run-1a', 'xghr-run-1', 'ghr-run-1 ', 'ghr-runs-1', 'ghr-run--1'].some(isRunLabel)).toBe(false);
    expect(runLabel(8675309)).toBe('ghr-run-8675309');
  });
});
