/**
 * The re-run of spot-interrupted jobs (issue #11 item 4): the pure rules, and
 * the step over the real re-run ledger on the in-memory table (which
 * evaluates the condition and update expressions the ledger sends) and a
 * GitHub that enforces its rule: a job is re-run only once its workflow run
 * has completed, 403 before (cli/cli#9221), and a re-run starts a new
 * attempt, in progress again.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { RERUN_MAX_AGE_MS, RERUN_MAX_TRIES, afterAnswer, decideRerun, rerunInterruptedJobs } from '../../../lambdas/scale-down/rerun';
import { createJobLocks } from '../../../lambdas/shared/aws/idempotency';
import { createRerunLedger } from '../../../lambdas/shared/aws/rerun-ledger';
import type { JobRerun } from '../../../lambdas/shared/github/runners';
import { Logger } from '../../../lambdas/shared/logger';
import { FakeTable, installFakeTable, plain } from '../shared/fake-dynamodb';

const ddbMock = mockClient(DynamoDBClient);
let table: FakeTable;
let now = 1_800_000_000_000;
const clock = () => now;
const lines: string[] = [];
const logger = new Logger('scale-down', {}, (line) => lines.push(line), 'debug');
const dynamodb = new DynamoDBClient({ region: 'eu-west-1' });
const ledger = () => createRerunLedger(dynamodb, { tableName: 'jobs', now: clock });

/** GitHub's rule, per job: refused until the run completes; a re-run puts the run in progress again. */
function github() {
  const runCompleted = new Set<number>();
  const reruns: number[] = [];
  const calls: number[] = [];
  const rerunJob = async (_owner: string, _repo: string, jobId: number): Promise<JobRerun> => {
    calls.push(jobId);
    if (!runCompleted.has(jobId)) return 'refused';
    reruns.push(jobId);
    runCompleted.delete(jobId);
    return 'requested';
  };
  return { runCompleted, reruns, calls, rerunJob };
}

const message = (jobId: number) =>
  JSON.stringify({ version: 1, jobId, runId: 5, repositoryOwner: 'octo', repositoryName: 'hello', ownerType: 'Organization', installationId: 7, labels: ['self-hosted'], runnerType: 'linux', deliveryId: 'd', createdAt: '2027-01-01T00:00:00Z' });

/** A job scale-up launched on `instanceId` (the ledger entry the watcher finds). */
async function launched(jobId: number, instanceId: string): Promise<void> {
  const locks = createJobLocks(dynamodb, { tableName: 'jobs', now: clock });
  const result = await locks.acquire({ jobId, runnerType: 'linux', deliveryId: 'd' });
  if (result.status !== 'acquired') throw new Error('lock not acquired');
  await locks.markLaunched(result.lock, instanceId, { runnerType: 'linux', message: message(jobId) });
}

beforeEach(() => {
  ddbMock.reset();
  table = installFakeTable(ddbMock);
  now = 1_800_000_000_000;
  lines.length = 0;
});

describe('decideRerun', () => {
  it('re-runs a fresh interruption and gives up after the tries or the age are spent', () => {
    const at = now / 1000;
    expect(decideRerun({ interruptedAt: at, rerunTries: 0 }, now)).toBe('rerun');
    expect(decideRerun({ interruptedAt: at, rerunTries: RERUN_MAX_TRIES - 1 }, now)).toBe('rerun');
    expect(decideRerun({ interruptedAt: at, rerunTries: RERUN_MAX_TRIES }, now)).toBe('give-up');
    expect(decideRerun({ interruptedAt: at, rerunTries: 0 }, now + RERUN_MAX_AGE_MS)).toBe('rerun');
    expect(decideRerun({ interruptedAt: at, rerunTries: 0 }, now + RERUN_MAX_AGE_MS + 1000)).toBe('give-up');
  });

  it('is bounded: beyond either limit it never re-runs', () => {
    fc.assert(
      fc.property(fc.nat(500), fc.nat(48 * 3600), (tries, ageSeconds) => {
        const decision = decideRerun({ interruptedAt: now / 1000 - ageSeconds, rerunTries: tries }, now);
        expect(decision === 'rerun').toBe(tries < RERUN_MAX_TRIES && ageSeconds * 1000 <= RERUN_MAX_AGE_MS);
      }),
    );
  });

  it('maps GitHub answers: 201 done, 403 later, 404/422 give up', () => {
    expect(afterAnswer('requested')).toBe('done');
    expect(afterAnswer('refused')).toBe('later');
    expect(afterAnswer('gone')).toBe('give-up');
  });
});

describe('recordInterruption', () => {
  it('records the job of the interrupted runner once, and only for the runner that ran it', async () => {
    await launched(1, 'i-0000000a');
    const l = ledger();
    expect(await l.recordInterruption(1, 'i-0000000b', 'gh-ci-i-0000000b')).toBe(false); // another instance, no in_progress seen
    expect(await l.recordInterruption(1, 'i-0000000a', 'gh-ci-i-0000000a')).toBe(true);
    expect(await l.recordInterruption(1, 'i-0000000a', 'gh-ci-i-0000000a')).toBe(false); // the state change after the warning
    expect(plain(table.items.get('job#1'))).toMatchObject({ rerun_state: 'interrupted', rerun_tries: 0, rerun_pending: 'interrupted', interrupted_at: now / 1000 });
    expect(await l.recordInterruption(2, 'i-0000000a', 'gh-ci-i-0000000a')).toBe(false); // not in the ledger
    expect(table.items.has('job#2')).toBe(false);
  });

  it('follows the runner GitHub said took the job, not the instance launched for it', async () => {
    await launched(3, 'i-0000000c');
    table.items.set('job#3', { ...table.items.get('job#3')!, runner_name: { S: 'gh-ci-i-0000000d' }, job_state: { S: 'in_progress' } });
    const l = ledger();
    expect(await l.recordInterruption(3, 'i-0000000c', 'gh-ci-i-0000000c')).toBe(false);
    expect(await l.recordInterruption(3, 'i-0000000d', 'gh-ci-i-0000000d')).toBe(true);
  });
});

describe('rerunInterruptedJobs', () => {
  it('waits while the run is in progress, then re-runs the job once, and never twice', async () => {
    await launched(1, 'i-0000000a');
    await ledger().recordInterruption(1, 'i-0000000a', 'gh-ci-i-0000000a');
    const gh = github();
    const deps = { ledger: ledger(), rerunJob: gh.rerunJob, logger, now: clock };

    now += 300_000;
    expect(await rerunInterruptedJobs(deps)).toMatchObject({ interrupted: 1, rerun: 0, refused: 1, givenUp: 0 });
    expect(plain(table.items.get('job#1'))).toMatchObject({ rerun_state: 'interrupted', rerun_tries: 1, rerun_pending: 'interrupted' });

    gh.runCompleted.add(1);
    now += 300_000;
    expect(await rerunInterruptedJobs(deps)).toMatchObject({ interrupted: 1, rerun: 1, refused: 0 });
    expect(gh.reruns).toEqual([1]);
    expect(plain(table.items.get('job#1'))).toMatchObject({ rerun_state: 'rerun-requested' });
    expect(table.items.get('job#1')?.rerun_pending).toBeUndefined();

    // Later runs, a redriven interruption event, and the re-run's own completion change nothing.
    gh.runCompleted.add(1);
    expect(await ledger().recordInterruption(1, 'i-0000000a', 'gh-ci-i-0000000a')).toBe(false);
    for (let i = 0; i < 3; i++) {
      now += 300_000;
      expect(await rerunInterruptedJobs(deps)).toMatchObject({ interrupted: 0, rerun: 0 });
    }
    expect(gh.reruns).toEqual([1]);
    expect(gh.calls).toEqual([1, 1]);
  });

  it('re-runs once when two runs race on the same job', async () => {
    await launched(1, 'i-0000000a');
    await ledger().recordInterruption(1, 'i-0000000a', 'gh-ci-i-0000000a');
    const gh = github();
    gh.runCompleted.add(1);
    gh.runCompleted.add(1);
    const deps = { ledger: ledger(), rerunJob: gh.rerunJob, logger, now: clock };
    const [a, b] = await Promise.all([rerunInterruptedJobs(deps), rerunInterruptedJobs(deps)]);
    expect(a.rerun + b.rerun).toBe(1);
    expect(gh.calls).toEqual([1]);
  });

  it('gives up, logged and counted, once the run never completes within the bound', async () => {
    await launched(1, 'i-0000000a');
    await ledger().recordInterruption(1, 'i-0000000a', 'gh-ci-i-0000000a');
    const gh = github();
    const deps = { ledger: ledger(), rerunJob: gh.rerunJob, logger, now: clock };
    let givenUp = 0;
    let passes = 0;
    while (passes < RERUN_MAX_TRIES + 5) {
      passes++;
      now += 300_000;
      const summary = await rerunInterruptedJobs(deps);
      givenUp += summary.givenUp;
      if (summary.interrupted === 0) break;
    }
    expect(givenUp).toBe(1);
    expect(gh.reruns).toEqual([]);
    expect(gh.calls.length).toBeLessThanOrEqual(RERUN_MAX_TRIES);
    expect(plain(table.items.get('job#1'))).toMatchObject({ rerun_state: 'rerun-given-up' });
    expect(lines.some((l) => l.includes('JobRerunsGivenUp') && l.includes('"level":"error"'))).toBe(true);
  });

  it('puts a job back when GitHub cannot be reached, and leaves jobs for the next run near the deadline', async () => {
    await launched(1, 'i-0000000a');
    await launched(2, 'i-0000000b');
    await ledger().recordInterruption(1, 'i-0000000a', 'gh-ci-i-0000000a');
    await ledger().recordInterruption(2, 'i-0000000b', 'gh-ci-i-0000000b');
    const failing = { ledger: ledger(), rerunJob: async (): Promise<JobRerun> => Promise.reject(new Error('ECONNRESET')), logger, now: clock };
    now += 1000;
    expect(await rerunInterruptedJobs(failing)).toMatchObject({ interrupted: 2, errors: 2, rerun: 0 });
    expect(plain(table.items.get('job#1'))).toMatchObject({ rerun_state: 'interrupted', rerun_pending: 'interrupted' });
    const gh = github();
    gh.runCompleted.add(1);
    gh.runCompleted.add(2);
    expect(await rerunInterruptedJobs({ ledger: ledger(), rerunJob: gh.rerunJob, logger, now: clock, deadline: now + 5_000 })).toMatchObject({ deferred: 2, rerun: 0 });
    expect(gh.calls).toEqual([]);
    expect(await rerunInterruptedJobs({ ledger: ledger(), rerunJob: gh.rerunJob, logger, now: clock, deadline: now + 60_000 })).toMatchObject({ rerun: 2 });
  });
});
