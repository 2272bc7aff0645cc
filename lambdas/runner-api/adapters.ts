/**
 * The runner API's adapters: EC2 lookups by the `ghr:api-runner` tag, the
 * GitHub App's installations and runners, and the type's job queue.
 */
import { DescribeInstancesCommandInput, EC2Client, paginateDescribeInstances } from '@aws-sdk/client-ec2';
import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import { RUNNER_TAGS } from '../../modules/contract/tags';
import type { GitHubAppApi } from '../shared/github/runners';
import type { ApiGitHub, ApiInstances, ApiRunnerInstance, RequestQueue } from './runner-api';

export function ec2ApiInstances(ec2: EC2Client): ApiInstances {
  const describe = async (input: DescribeInstancesCommandInput, each: (tags: Map<string, string>, i: ApiRunnerInstance) => void) => {
    for await (const page of paginateDescribeInstances({ client: ec2, pageSize: 1000 }, input)) {
      for (const r of page.Reservations ?? []) {
        for (const i of r.Instances ?? []) {
          if (!i.InstanceId) continue;
          const tags = new Map((i.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
          each(tags, { instanceId: i.InstanceId, state: i.State?.Name ?? 'unknown', owner: tags.get(RUNNER_TAGS.owner) });
        }
      }
    }
  };
  return {
    async findByNames(prefix, names) {
      const found = new Map<string, ApiRunnerInstance>();
      if (names.length === 0) return found;
      const live = (s: string) => s === 'pending' || s === 'running';
      await describe(
        { Filters: [{ Name: `tag:${RUNNER_TAGS.prefix}`, Values: [prefix] }, { Name: `tag:${RUNNER_TAGS.apiRunner}`, Values: [...names] }] },
        (tags, instance) => {
          const name = tags.get(RUNNER_TAGS.apiRunner);
          if (!name) return;
          const seen = found.get(name);
          if (!seen || (!live(seen.state) && live(instance.state))) found.set(name, instance);
        },
      );
      return found;
    },
    async countActive(prefix, runnerType) {
      let n = 0;
      await describe(
        {
          Filters: [
            { Name: `tag:${RUNNER_TAGS.prefix}`, Values: [prefix] },
            { Name: `tag:${RUNNER_TAGS.runnerType}`, Values: [runnerType] },
            { Name: 'instance-state-name', Values: ['pending', 'running'] },
          ],
        },
        () => void (n += 1),
      );
      return n;
    },
  };
}

export function appApiGitHub(app: GitHubAppApi): ApiGitHub {
  return {
    installationIdFor: (account) => app.installationIdFor(account),
    async runnerByName(installationId, target, name) {
      const [runner] = await app.forInstallation(installationId).listRunners(target, { name });
      return runner ? { status: runner.status, busy: runner.busy } : undefined;
    },
  };
}

export function sqsRequestQueue(sqs: SQSClient): RequestQueue {
  return {
    async send(queueUrl, body) {
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
    },
  };
}
