/**
 * (a) One job, start to finish, through the shipped bundles: a signed
 * `workflow_job queued` delivery → webhook → queue → scale-up → instance,
 * JIT config in SSM and runner at GitHub → the runner boots, reads and deletes
 * its config, takes the job → `in_progress` and `completed` deliveries → the
 * ephemeral runner is gone and the instance terminated itself → scale-down.
 *
 * Runs once per GitHub layout: github.com (no GHES_URL; api.github.com is
 * routed to the fake) and GHES (GHES_URL; the fake's /api/v3).
 */
import { prepareBundles } from './lib/bundles';
import { SimJob } from './lib/github-world';
import { KMS_KEY_ARN, PREFIX, SSM_CONFIG_PATH, World } from './lib/world';

const TYPE = 'linux-x64';

describe.each(['github.com', 'ghes'] as const)('one job start to finish (%s)', (layout) => {
  let world: World;
  let job: SimJob;
  let instanceId: string;

  beforeAll(async () => {
    world = await World.create({ bundlesDir: await prepareBundles(), layout });
  });

  afterAll(async () => {
    await world?.close();
  });

  it('should answer 202 to the signed queued delivery and put one job message on the queue', async () => {
    // GIVEN GitHub queues a job for self-hosted, linux, x64
    job = world.github.queueJob({ labels: ['self-hosted', 'linux', 'x64'] });

    // WHEN GitHub delivers workflow_job queued
    const answer = await world.post(world.delivery(job, 'queued', 'd6a1c1d0-0000-4000-8000-00000000000a'));

    // THEN the job is queued for its runner type
    expect(answer).toMatchObject({ statusCode: 202, body: 'queued' });
    const messages = world.sqs.messages(world.queueUrl(TYPE));
    expect(messages).toHaveLength(1);
    expect(JSON.parse(messages[0].body)).toMatchObject({
      version: 1,
      jobId: job.id,
      runId: job.runId,
      repositoryOwner: job.owner,
      repositoryName: job.repo,
      installationId: job.installationId,
      runnerType: TYPE,
      deliveryId: 'd6a1c1d0-0000-4000-8000-00000000000a',
    });
  });

  it('should launch one instance, store its JIT config in SSM and register one runner', async () => {
    // WHEN the queue's batch reaches scale-up
    const [invocation, ...more] = await world.drain();

    // THEN one runner was launched and the message acknowledged
    expect(more).toHaveLength(0);
    expect(invocation).toMatchObject({ records: 1, returned: 0, threw: false, launched: 1 });
    expect(world.sqs.messages(world.queueUrl(TYPE))).toHaveLength(0);

    // AND EC2 runs one tagged instance that knows its job
    const live = world.liveInstances();
    expect(live).toHaveLength(1);
    instanceId = live[0].InstanceId!;
    expect(world.ec2.tagsOf(instanceId)).toMatchObject({
      'ghr:prefix': PREFIX,
      'ghr:runner-type': TYPE,
      'ghr:owner': job.owner,
      [`ghr:job-id:${instanceId}`]: String(job.id),
    });

    // AND SSM holds its JIT config, encrypted and tagged for the instance's IAM condition
    const parameter = world.ssm.parameters.get(`${SSM_CONFIG_PATH}/${instanceId}`);
    expect(parameter).toMatchObject({ type: 'SecureString', keyId: KMS_KEY_ARN });
    expect(parameter?.tags).toContainEqual({ Key: 'ghr:instance-arn', Value: `arn:aws:ec2:eu-west-1:123456789012:instance/${instanceId}` });
    expect(JSON.parse(parameter!.value)).toEqual({ mode: 'jit', jit_config: world.github.api.issuedJitConfigs[0] });

    // AND GitHub has one offline ephemeral runner named after the instance, reached on this layout's paths
    expect(world.github.registeredRunners()).toEqual([
      {
        target: job.owner,
        runner: expect.objectContaining({ name: `${PREFIX}-${instanceId}`, status: 'offline', busy: false, ephemeral: true }),
      },
    ]);
    const paths = world.github.api.calls.map((c) => c.path);
    expect(paths.every((p) => (layout === 'ghes' ? p.startsWith('/api/v3/') : !p.startsWith('/api/v3/')))).toBe(true);
    expect(world.github.api.calls.map((c) => `${c.method} ${c.route}`)).toEqual([
      `POST /app/installations/${job.installationId}/access_tokens`,
      `GET /orgs/${job.owner}/actions/runner-groups`,
      `POST /orgs/${job.owner}/actions/runners/generate-jitconfig`,
    ]);
  });

  it('should let the runner boot, take the job and leave nothing behind when it ends', async () => {
    // WHEN the instance boots
    expect(await world.boot()).toEqual({ connected: 1, gaveUp: 0 });

    // THEN it deleted its config before starting the runner, which is online
    expect(world.ssm.namesUnder(SSM_CONFIG_PATH)).toEqual([]);
    expect(world.github.idle().map((r) => r.runner.name)).toEqual([`${PREFIX}-${instanceId}`]);

    // WHEN GitHub hands it the job (in_progress is delivered) and the job completes (completed is delivered)
    expect((await world.dispatch()).map((j) => j.id)).toEqual([job.id]);
    expect(world.github.registeredRunners()[0].runner).toMatchObject({ status: 'online', busy: true });
    expect((await world.finish()).map((j) => j.id)).toEqual([job.id]);

    // THEN the job ran once, on that runner
    expect(job).toMatchObject({ status: 'completed', conclusion: 'success', takenBy: [`${PREFIX}-${instanceId}`] });
    // AND the webhook recorded the completion as a metric
    const metrics = world.logLines(`${PREFIX}-webhook`).filter((l) => l.includes('"JobsCompleted"'));
    expect(metrics.map((l) => JSON.parse(l))).toEqual([expect.objectContaining({ RunnerType: TYPE, Conclusion: 'success', JobsCompleted: 1 })]);
    // AND no instance, no SSM parameter, no GitHub registration, no message is left
    expect(world.leftovers()).toEqual({ instances: [], parameters: [], registrations: [], messages: 0, deadLetters: 0 });
    expect(world.ec2.instances.get(instanceId)?.State?.Name).toBe('terminated');
    // AND no log line of any function holds a secret
    expect(world.leakedSecrets()).toEqual([]);
  });

  const scaleDownStep = 'should find nothing to clean up in the scale-down run that follows';
  {
    it(scaleDownStep, async () => {
      // WHEN scale-down runs on its schedule
      const summary = await world.scaleDown();

      // THEN it found no live instance, ran without errors, and nothing is left anywhere
      expect(summary).toMatchObject({ liveInstances: 0, errors: 0 });
      expect(world.leftovers()).toEqual({ instances: [], parameters: [], registrations: [], messages: 0, deadLetters: 0 });
      expect(world.leakedSecrets()).toEqual([]);
    });
  }
});

