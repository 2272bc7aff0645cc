/**
 * A property of whole `scaleDown` runs over the real adapters (fake EC2 and
 * SSM, fake GitHub over HTTP): for random fleets whose runner deletes GitHub
 * answers with 204, 422 or 500, over two runs, an instance is terminated only
 * after its runner's DELETE returned 204, or as an orphan that never
 * registered, is past the boot time, and was seen so by the previous run.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { scaleDown } from '../../../lambdas/scale-down/scale-down';
import { AppKeyPair, FakeGitHub, generateAppKey, startFakeGitHub } from '../shared/fake-github';
import { APP_ID, deleteCalls, makeBed, register, seedInstance, stateOf } from './harness';

const mocks = { ec2: mockClient(EC2Client), ssm: mockClient(SSMClient) };
let key: AppKeyPair;
let gh: FakeGitHub;

beforeAll(async () => {
  key = generateAppKey();
  gh = await startFakeGitHub({ appId: APP_ID, publicKey: key.publicKey });
});
afterAll(async () => {
  await gh.close();
});

const BOOT_MINUTES = 5;
const MINIMUM_MINUTES = 5;

const instanceSpec = fc.record({
  owner: fc.constantFrom('octo', 'mona/hello'),
  ageMinutes: fc.integer({ min: 0, max: 3 * BOOT_MINUTES }),
  state: fc.constantFrom('pending', 'running', 'running', 'running', 'terminated'),
  bypass: fc.boolean(),
  registration: fc.option(fc.record({ status: fc.constantFrom('online' as const, 'offline' as const), busy: fc.boolean() }), { freq: 3 }),
  /** What GitHub answers to this runner's DELETE (a busy runner answers 422 anyway). */
  answer: fc.constantFrom(204, 204, 422, 500),
});

describe('scaleDown (property)', () => {
  it('should terminate an instance only after a 204 for its runner, or as a never-registered orphan past boot time seen by two runs', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(instanceSpec, { maxLength: 8 }), async (specs) => {
        // GIVEN the fleet, its registrations, and GitHub's scripted answers
        const bed = makeBed(mocks, gh, key, ['octo', 'mona'], {
          env: { RUNNER_BOOT_TIME_IN_MINUTES: String(BOOT_MINUTES), MINIMUM_RUNNING_TIME_IN_MINUTES: String(MINIMUM_MINUTES) },
        });
        const fleet = specs.map((spec) => {
          const instanceId = seedInstance(bed, { owner: spec.owner, ageMinutes: spec.ageMinutes, state: spec.state, bypass: spec.bypass });
          const runnerId = spec.registration ? register(bed, spec.owner, instanceId, spec.registration) : undefined;
          if (runnerId !== undefined && spec.answer !== 204) {
            bed.gh.failNext({ method: 'DELETE', route: new RegExp(`/actions/runners/${runnerId}$`), status: spec.answer, times: 10 });
          }
          return { ...spec, instanceId, runnerId };
        });

        // WHEN scale-down runs once
        const first = await scaleDown(bed.config, bed.deps);
        const firstTerminations = bed.ec2.callsOf('TerminateInstances').length;
        const idsOf = (calls: ReturnType<typeof bed.ec2.callsOf>) => new Set(calls.flatMap((c) => (c.input as { InstanceIds: string[] }).InstanceIds));

        // THEN no never-registered instance is terminated on its first sighting
        for (const id of idsOf(bed.ec2.callsOf('TerminateInstances'))) expect(fleet.find((x) => x.instanceId === id)!.runnerId).toBeDefined();
        // AND the summary counts what EC2 was told
        expect(first.runnersTerminated + first.orphansTerminated).toBe(idsOf(bed.ec2.callsOf('TerminateInstances')).size);

        // WHEN it runs again, in the same container
        const second = await scaleDown(bed.config, bed.deps);

        // THEN every terminated instance had a 204 for its runner before the TerminateInstances call, or was an orphan
        for (const call of bed.ec2.callsOf('TerminateInstances')) {
          for (const id of (call.input as { InstanceIds: string[] }).InstanceIds) {
            const f = fleet.find((x) => x.instanceId === id)!;
            expect(f.bypass).toBe(false);
            if (f.runnerId !== undefined) {
              const ok = deleteCalls(bed.gh, f.runnerId).filter((c) => c.status === 204);
              expect(ok).toHaveLength(1);
              expect(ok[0].respondedSeq!).toBeLessThan(call.seq);
            } else {
              expect(['pending', 'running']).toContain(f.state);
              expect(f.ageMinutes).toBeGreaterThanOrEqual(BOOT_MINUTES);
            }
          }
        }
        // AND a registered instance whose DELETE did not answer 204 still runs
        for (const f of fleet.filter((x) => x.runnerId !== undefined && x.state !== 'terminated')) {
          if (!deleteCalls(bed.gh, f.runnerId!).some((c) => c.status === 204)) expect(stateOf(bed, f.instanceId)).not.toBe('terminated');
        }
        // AND every never-registered, unbypassed, live orphan past boot time is gone after the second run
        for (const f of fleet.filter((x) => x.runnerId === undefined && !x.bypass && x.state !== 'terminated' && x.ageMinutes >= BOOT_MINUTES)) {
          expect(stateOf(bed, f.instanceId)).toBe('terminated');
        }
        // AND busy runners were never asked to go
        for (const f of fleet.filter((x) => x.registration?.busy)) expect(deleteCalls(bed.gh, f.runnerId!)).toEqual([]);
        // AND the summary counts what EC2 was told
        expect(second.runnersTerminated + second.orphansTerminated).toBe(idsOf(bed.ec2.callsOf('TerminateInstances').slice(firstTerminations)).size);
      }),
      { numRuns: 30 },
    );
  });
});
