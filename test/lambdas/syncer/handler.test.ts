import { CompleteMultipartUploadCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { ScheduledEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { ConfigError } from '../../../lambdas/shared/config';
import { onceAsync as memoiseAsync } from '../../../lambdas/shared/config';
import { createDefaultContext, createHandler } from '../../../lambdas/syncer/index';
import { FakeGitHub } from './fake-github';
import { MiB, freshS3, s3 } from './harness';

const ssm = mockClient(SSMClient);

const event = {
  version: '0',
  id: 'e-1',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time: '2026-01-01T00:00:00Z',
  region: 'eu-west-1',
  resources: [],
  detail: {},
} as ScheduledEvent;
const lambdaContext = { getRemainingTimeInMillis: () => 120_000 };

describe('syncer handler', () => {
  let github: FakeGitHub;
  let stdout: string[];

  beforeEach(async () => {
    github = new FakeGitHub();
    await github.start();
    freshS3();
    ssm.reset();
    stdout = [];
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout.push(String(chunk));
      return true;
    });
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await github.stop();
  });

  it('should sync from the environment, then find the bucket up to date on the next run', async () => {
    // GIVEN
    github.latestTag = 'v2.330.0';
    github.addRelease('v2.330.0', [{ id: 101, name: 'actions-runner-linux-x64-2.330.0.tar.gz', body: Buffer.alloc(6 * MiB, 7) }]);
    ssm.on(GetParametersCommand).resolves({ Parameters: [{ Name: '/gh-ci/syncer/token', Value: 'ghp_from_ssm\n' }], InvalidParameters: [] });
    const env = {
      BUCKET_NAME: 'gh-ci-runner-binaries',
      ARCHITECTURES: '["x64"]',
      GITHUB_API_URL: github.url,
      GITHUB_TOKEN_SSM_PARAMETER_NAME: '/gh-ci/syncer/token',
    };
    const handler = createHandler(memoiseAsync(() => createDefaultContext(env)));

    // WHEN
    const first = await handler(event, lambdaContext);
    s3.on(HeadObjectCommand).resolves({ Metadata: { 'runner-version': '2.330.0', 'asset-id': '101' }, ContentLength: 6 * MiB });
    const second = await handler(event, lambdaContext);

    // THEN
    expect(first).toEqual({ version: '2.330.0', uploaded: 1, upToDate: 0 });
    expect(second).toEqual({ version: '2.330.0', uploaded: 0, upToDate: 1 });
    expect(s3.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(1);
    expect(ssm.commandCalls(GetParametersCommand)).toHaveLength(1);
    expect(github.requests.find((r) => r.path.endsWith('/latest'))?.authorization).toBe('Bearer ghp_from_ssm');
    const lines = stdout.join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.find((l) => l.message === 'runner binary synced')).toMatchObject({ service: 'syncer', bucket: 'gh-ci-runner-binaries', version: '2.330.0', arch: 'x64' });
    expect(stdout.join('')).not.toContain('ghp_from_ssm');
  });

  it('should fail the invocation on bad configuration, and try the configuration again next time', async () => {
    const env: NodeJS.ProcessEnv = { ARCHITECTURES: '["sparc"]' };
    const handler = createHandler(memoiseAsync(() => createDefaultContext(env)));

    await expect(handler(event, lambdaContext)).rejects.toThrow(ConfigError);
    env.BUCKET_NAME = 'fixed';
    env.ARCHITECTURES = '["x64"]';
    env.GITHUB_API_URL = github.url;
    github.releaseStatus = 404;
    // Configuration now loads; the run fails on GitHub instead.
    await expect(handler(event, lambdaContext)).rejects.toMatchObject({ name: 'ReleaseLookupError', status: 404 });
    expect(stdout.join('')).toContain('syncer could not start');
    expect(stdout.join('')).toContain('runner binary sync failed');
  });
});
