/**
 * The job queues offer the grants of their producers and consumers (aws-cdk
 * `queue.grantSendMessages` / `grantConsumeMessages`), with the module key the
 * queues are encrypted with: no consumer writes statements on them itself.
 */
import { Testing } from 'cdktf';
import { JobQueues } from '../../../modules/runners/job-queues';
import { RunnerTypes } from '../../../modules/runners/runner-types';
import { policyDocument } from '../../../modules/shared/iam';
import { dataSources, logicalId, synth, SynthStatement, testKey } from '../helpers';

Testing.setupJest();

describe('JobQueues', () => {
  // GIVEN two runner types' queues, and a grantee's policy document per grant
  const { stack } = synth((scope) => {
    const key = testKey(scope);
    const runnerTypes = RunnerTypes.fromList([
      { name: 'small', labels: ['linux', 'small'] },
      { name: 'large', labels: ['linux', 'large'] },
    ]).bind(scope);
    const queues = new JobQueues(scope, 'queues', { prefix: 'gh-ci', runnerTypes, key });
    policyDocument(scope, 'producer', queues.grantSendMessages('SendJobs', 'EncryptJobs'));
    policyDocument(scope, 'consumer', queues.grantConsumeOwnTypeMessages('ConsumeOwnQueue', 'DecryptOwnQueue'), { forEach: runnerTypes.iterator() });
  });
  // Top-level documents keep their construct id as logical id.
  const statementsOf = (id: string) => dataSources(stack, 'aws_iam_policy_document')[id].statement as SynthStatement[];
  const keyArn = `\${aws_kms_key.${logicalId(stack, 'aws_kms_key', 'key')}.arn}`;
  const queue = `aws_sqs_queue.${logicalId(stack, 'aws_sqs_queue', 'queues_jobs_queue')}`;

  describe('grantSendMessages', () => {
    const bySid = Object.fromEntries(statementsOf('producer').map((s) => [s.sid, s]));

    it('should let the producer send to every runner type\'s queue, and nothing else on them', () => {
      expect(bySid.SendJobs).toMatchObject({ effect: 'Allow', actions: ['sqs:SendMessage'], resources: `\${values(${queue})[*].arn}` });
    });

    it('should give the producer the module key as the SQS guide asks of an SSE-KMS producer (GenerateDataKey and Decrypt)', () => {
      expect(bySid.EncryptJobs).toMatchObject({ actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [keyArn] });
      expect(Object.keys(bySid)).toEqual(['SendJobs', 'EncryptJobs']);
    });
  });

  describe('grantConsumeOwnTypeMessages', () => {
    const bySid = Object.fromEntries(statementsOf('consumer').map((s) => [s.sid, s]));

    it('should let each type\'s consumer receive, delete and defer only its own type\'s jobs', () => {
      expect(bySid.ConsumeOwnQueue).toMatchObject({
        actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ChangeMessageVisibility'],
        resources: [`\${${queue}[each.key].arn}`],
      });
      expect(bySid.ConsumeOwnQueue.actions).not.toContain('sqs:SendMessage');
    });

    it('should let the consumer decrypt the messages with the module key, and only decrypt', () => {
      expect(bySid.DecryptOwnQueue).toMatchObject({ actions: ['kms:Decrypt'], resources: [keyArn] });
    });
  });
});
