import { parseJobMessage } from '../../../modules/contract/job-message';
import { InvalidPayloadError } from '../../../lambdas/webhook/errors';
import { parseEnvelope, parseJobProgress, parseQueuedJob, toJobMessage } from '../../../lambdas/webhook/workflow-job';
import { workflowJob } from './helpers';

function problemsOf(fn: () => unknown): readonly string[] {
  try {
    fn();
    return [];
  } catch (e) {
    if (e instanceof InvalidPayloadError) return e.problems;
    throw e;
  }
}

describe('parseEnvelope', () => {
  it('should read action and job id of every real example', () => {
    expect(parseEnvelope(workflowJob('queued', 'k8s'))).toEqual({ action: 'queued', jobId: 12877621891 });
    expect(parseEnvelope(workflowJob('waiting'))).toEqual({ action: 'waiting', jobId: 12877621891 });
  });

  it.each([[null], [[]], ['x'], [{}], [{ action: 'queued' }], [{ action: 'queued', workflow_job: { id: '1' } }], [{ action: 7, workflow_job: { id: 1 } }]])(
    'should reject %j',
    (payload) => {
      expect(() => parseEnvelope(payload)).toThrow(InvalidPayloadError);
    },
  );
});

describe('parseQueuedJob', () => {
  it('should read the fields of the real queued example', () => {
    expect(parseQueuedJob(workflowJob('queued', 'k8s'))).toEqual({
      jobId: 12877621891,
      runId: 4747967848,
      labels: ['self-hosted', 'k8s'],
      createdAt: '2023-04-19T21:12:12Z',
      repositoryOwner: 'lineville',
      repositoryName: 'elastic-machines-testing',
      ownerType: 'User',
      installationId: 23154469,
    });
  });

  it('should list every missing or invalid field by name', () => {
    // GIVEN a queued payload with three broken fields
    const p = workflowJob('queued', 'k8s');
    delete p.installation;
    p.workflow_job.labels = 'k8s';
    p.workflow_job.created_at = 'yesterday';
    // THEN all three are reported, none of their values
    expect(problemsOf(() => parseQueuedJob(p))).toEqual([
      'workflow_job.labels must be a list of non-empty strings',
      'workflow_job.created_at must be an ISO 8601 timestamp',
      'installation.id must be a positive integer',
    ]);
  });
});

describe('parseJobProgress', () => {
  it('should read the timings of a real completed example', () => {
    expect(parseJobProgress(workflowJob('completed'))).toEqual({
      jobId: 289782451,
      labels: ['ubuntu-latest'],
      createdAt: '2021-08-05T10:33:58Z',
      startedAt: '2021-08-05T10:34:58Z',
      completedAt: '2021-08-05T10:38:16Z',
      conclusion: 'failure',
      runnerName: 'GitHub Actions 5',
    });
  });

  it('should accept a real in_progress example without created_at', () => {
    const progress = parseJobProgress(workflowJob('in_progress', 'gpu'));
    expect(progress.createdAt).toBeUndefined();
    expect(progress.startedAt).toBe('2021-06-15T19:22:27Z');
  });
});

describe('toJobMessage', () => {
  it('should build a message that scale-up parses back', () => {
    const job = parseQueuedJob(workflowJob('queued', 'k8s'));
    const message = toJobMessage(job, 'k8s', 'delivery-1');
    expect(parseJobMessage(JSON.stringify(message))).toEqual({ ...job, version: 1, runnerType: 'k8s', deliveryId: 'delivery-1' });
  });
});
