import type { RunnerTypeRoute, RunnerTypeRoutes } from '../../../modules/contract/runner-types';
import { routeJob } from '../../../lambdas/webhook/routing';
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
