import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue';
import { TerraformIterator, TerraformOutput, TerraformVariable, Testing } from 'cdktf';
import { EncryptedQueue, EncryptedQueueProps } from '../../../modules/shared/encrypted-queue';
import { logicalId, synth, testKey, validationError } from '../helpers';

Testing.setupJest();

describe('EncryptedQueue', () => {
  describe('a single queue pair', () => {
    const { json, stack } = synth((scope) => {
      new EncryptedQueue(scope, 'jobs', { name: 'gh-ci-jobs', key: testKey(scope), tags: { team: 'ci' } });
    });
    const keyArn = `\${aws_kms_key.${logicalId(stack, 'aws_kms_key', 'key')}.arn}`;
    const dlqId = logicalId(stack, 'aws_sqs_queue', 'jobs_dlq');

    it('should encrypt both the queue and its DLQ with the module key', () => {
      const queues = Object.values(stack.resource!.aws_sqs_queue);
      expect(queues).toHaveLength(2);
      for (const q of queues) expect(q).toMatchObject({ kms_master_key_id: keyArn, kms_data_key_reuse_period_seconds: 300, tags: { team: 'ci' } });
    });

    it('should name the DLQ <name>-dlq and keep its messages for 14 days', () => {
      expect(json).toHaveResourceWithProperties(SqsQueue, { name: 'gh-ci-jobs-dlq', message_retention_seconds: 1209600 });
    });

    it('should apply the documented defaults to the queue', () => {
      expect(json).toHaveResourceWithProperties(SqsQueue, {
        name: 'gh-ci-jobs',
        visibility_timeout_seconds: 30,
        delay_seconds: 0,
        message_retention_seconds: 345600,
      });
    });

    it('should redrive to the DLQ after maxReceiveCount receives (5 by default)', () => {
      expect(json).toHaveResourceWithProperties(SqsQueue, {
        name: 'gh-ci-jobs',
        redrive_policy: `\${jsonencode({"deadLetterTargetArn" = aws_sqs_queue.${dlqId}.arn, "maxReceiveCount" = 5})}`,
      });
    });

    it('should pass the given settings through', () => {
      const { json: custom } = synth((scope) => {
        new EncryptedQueue(scope, 'q', {
          name: 'q',
          key: testKey(scope),
          visibilityTimeoutSeconds: 90,
          delaySeconds: 15,
          maxReceiveCount: 10,
          messageRetentionSeconds: 3600,
        });
      });
      expect(custom).toHaveResourceWithProperties(SqsQueue, {
        name: 'q',
        visibility_timeout_seconds: 90,
        delay_seconds: 15,
        message_retention_seconds: 3600,
        redrive_policy: expect.stringContaining('"maxReceiveCount" = 10'),
      });
    });

    describe('grantSendAndConsumeMessages', () => {
      const granted = (deadLetterSid?: string) => {
        const { stack: s } = synth((scope) => {
          const q = new EncryptedQueue(scope, 'retry', { name: 'gh-ci-retry', key: testKey(scope) });
          new TerraformOutput(scope, 'grants', { value: q.grantSendAndConsumeMessages('Retry', 'Key', { deadLetterSid }) });
        });
        return { statements: (s as any).output.grants.value as Array<{ sid: string; actions: string[]; resources: string[] }>, s };
      };

      it('should grant the queue, its DLQ when asked, and the module key as an SSE-KMS producer and consumer', () => {
        const { statements, s } = granted('Failed');
        const queueArn = `\${aws_sqs_queue.${logicalId(s, 'aws_sqs_queue', 'retry_queue')}.arn}`;
        const dlqArn = `\${aws_sqs_queue.${logicalId(s, 'aws_sqs_queue', 'retry_dlq')}.arn}`;
        const keyArn = `\${aws_kms_key.${logicalId(s, 'aws_kms_key', 'key')}.arn}`;
        expect(statements).toEqual([
          { sid: 'Retry', actions: ['sqs:SendMessage', 'sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'], resources: [queueArn] },
          { sid: 'Failed', actions: ['sqs:SendMessage'], resources: [dlqArn] },
          { sid: 'Key', actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resources: [keyArn] },
        ]);
      });

      it('should leave the DLQ out unless asked', () => {
        expect(granted().statements.map((st) => st.sid)).toEqual(['Retry', 'Key']);
      });

      it('should refuse a queue pair per element, whose grants need the element', () => {
        expect(() =>
          synth((scope) => {
            const types = new TerraformVariable(scope, 'types', { type: 'map(any)' });
            const q = new EncryptedQueue(scope, 'jobs', { name: 'x', key: testKey(scope), forEach: TerraformIterator.fromMap(types.value) });
            q.grantSendAndConsumeMessages('A', 'B');
          }),
        ).toThrow(/single queue pair/);
      });
    });
  });

  describe('validation', () => {
    const attempt = (props: Partial<EncryptedQueueProps>) =>
      validationError(() => synth((scope) => new EncryptedQueue(scope, 'q', { name: 'q', key: testKey(scope), ...props })));

    it.each<[Partial<EncryptedQueueProps>, string]>([
      [{ visibilityTimeoutSeconds: -1 }, 'visibilityTimeoutSeconds must be 0 to 43200, got -1'],
      [{ visibilityTimeoutSeconds: 43201 }, 'visibilityTimeoutSeconds must be 0 to 43200, got 43201'],
      [{ delaySeconds: 901 }, 'delaySeconds must be 0 to 900, got 901'],
      [{ delaySeconds: -5 }, 'delaySeconds must be 0 to 900, got -5'],
      [{ maxReceiveCount: 0 }, 'maxReceiveCount must be 1 to 1000, got 0'],
      [{ maxReceiveCount: 1001 }, 'maxReceiveCount must be 1 to 1000, got 1001'],
      [{ messageRetentionSeconds: 59 }, 'messageRetentionSeconds must be 60 to 1209600, got 59'],
      [{ messageRetentionSeconds: 1209601 }, 'messageRetentionSeconds must be 60 to 1209600, got 1209601'],
    ])('should reject %j', (props, message) => {
      const error = attempt(props);
      expect(error.construct).toBe('EncryptedQueue');
      expect(error.problems).toEqual([message]);
    });

    it('should list every problem in one error', () => {
      const error = attempt({ visibilityTimeoutSeconds: -1, delaySeconds: 901, maxReceiveCount: 0, messageRetentionSeconds: 1 });
      expect(error.problems).toHaveLength(4);
      expect(error.message).toMatch(/^EncryptedQueue: visibilityTimeoutSeconds .*; delaySeconds .*; maxReceiveCount .*; messageRetentionSeconds .*got 1$/);
    });

    it('should accept the bounds', () => {
      expect(() =>
        synth((scope) => {
          const key = testKey(scope);
          new EncryptedQueue(scope, 'low', { name: 'low', key, visibilityTimeoutSeconds: 0, delaySeconds: 0, maxReceiveCount: 1, messageRetentionSeconds: 60 });
          new EncryptedQueue(scope, 'high', { name: 'high', key, visibilityTimeoutSeconds: 43200, delaySeconds: 900, maxReceiveCount: 1000, messageRetentionSeconds: 1209600 });
        }),
      ).not.toThrow();
    });

    it('should leave Terraform values to Terraform', () => {
      const { json } = synth((scope) => {
        const delay = new TerraformVariable(scope, 'delay', { type: 'number' });
        new EncryptedQueue(scope, 'q', { name: 'q', key: testKey(scope), delaySeconds: delay.numberValue });
      });
      expect(json).toHaveResourceWithProperties(SqsQueue, { name: 'q', delay_seconds: '${var.delay}' });
    });
  });

  describe('with forEach', () => {
    const { json, stack } = synth((scope) => {
      const types = new TerraformVariable(scope, 'types', { type: 'map(any)' });
      const it = TerraformIterator.fromMap(types.value);
      new EncryptedQueue(scope, 'jobs', { name: `gh-ci-jobs-${it.key}`, key: testKey(scope), forEach: it });
    });
    const dlqId = logicalId(stack, 'aws_sqs_queue', 'jobs_dlq');

    it('should create one queue pair per element', () => {
      expect(json).toHaveResourceWithProperties(SqsQueue, { for_each: '${var.types}', name: 'gh-ci-jobs-${each.key}' });
      expect(json).toHaveResourceWithProperties(SqsQueue, { for_each: '${var.types}', name: 'gh-ci-jobs-${each.key}-dlq' });
    });

    it("should redrive each queue to the DLQ with the same key (`[each.key]`)", () => {
      expect(json).toHaveResourceWithProperties(SqsQueue, {
        name: 'gh-ci-jobs-${each.key}',
        redrive_policy: `\${jsonencode({"deadLetterTargetArn" = aws_sqs_queue.${dlqId}[each.key].arn, "maxReceiveCount" = 5})}`,
      });
    });
  });
});
