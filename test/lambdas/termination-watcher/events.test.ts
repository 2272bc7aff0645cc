import fc from 'fast-check';
import { UnsupportedEventError, classifyEvent, parseRetryMessage } from '../../../lambdas/termination-watcher/events';
import { spotWarning, sqsEvent, stateChange } from './harness';

describe('classifyEvent', () => {
  it('should read the instance of a spot interruption warning', () => {
    expect(classifyEvent(spotWarning('i-1234567890abcdef0'))).toEqual({ kind: 'instance', notice: { instanceId: 'i-1234567890abcdef0', reason: 'spot-interruption' } });
  });

  it.each(['shutting-down', 'terminated'] as const)('should read a state change to %s', (state) => {
    expect(classifyEvent(stateChange('i-1234abcd', state))).toEqual({ kind: 'instance', notice: { instanceId: 'i-1234abcd', reason: state } });
  });

  it('should pass through other states as not watched', () => {
    expect(classifyEvent(stateChange('i-1234abcd', 'running'))).toEqual({ kind: 'other-state', instanceId: 'i-1234abcd', state: 'running' });
  });

  it('should reduce an SQS batch to message ids and bodies', () => {
    expect(classifyEvent(sqsEvent(['a', { b: 1 }]))).toEqual({
      kind: 'retries',
      records: [
        { messageId: 'm-0', body: 'a' },
        { messageId: 'm-1', body: '{"b":1}' },
      ],
    });
  });

  it.each([
    ['null', null],
    ['an array', []],
    ['records that are not SQS', { Records: [{ eventSource: 'aws:s3' }] }],
    ['another source', { source: 'aws.autoscaling', 'detail-type': 'EC2 Instance State-change Notification', detail: { 'instance-id': 'i-1234abcd', state: 'terminated' } }],
    ['another detail-type', { source: 'aws.ec2', 'detail-type': 'EBS Snapshot Notification', detail: {} }],
    ['a bad instance id', { ...stateChange('i-1234abcd', 'terminated'), detail: { 'instance-id': 'I-NOPE', state: 'terminated' } }],
    ['a state change without a state', { ...stateChange('i-1234abcd', 'terminated'), detail: { 'instance-id': 'i-1234abcd' } }],
  ])('should reject %s', (_label, event) => {
    expect(() => classifyEvent(event)).toThrow(UnsupportedEventError);
  });

  it('should never quote the event in its error', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 6 }), (junk) => {
        const marker = `MARK${junk}`;
        for (const event of [{ source: marker }, { source: 'aws.ec2', 'detail-type': marker }, { source: 'aws.ec2', 'detail-type': 'EC2 Spot Instance Interruption Warning', detail: { 'instance-id': marker } }]) {
          try {
            classifyEvent(event);
          } catch (error) {
            expect((error as Error).message).not.toContain(marker);
          }
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe('parseRetryMessage', () => {
  const valid = { instanceId: 'i-0123456789abcdef0', owner: 'octo/hello', runnerId: 42, attempt: 2, reason: 'terminated', runnerType: 'linux-x64' };

  it('should accept what the watcher sends', () => {
    expect(parseRetryMessage(JSON.stringify(valid))).toEqual({ ok: true, message: valid });
    const { runnerType: _omitted, ...withoutType } = valid;
    expect(parseRetryMessage(JSON.stringify(withoutType))).toEqual({ ok: true, message: withoutType });
  });

  it('should name every bad field', () => {
    expect(parseRetryMessage(JSON.stringify({ runnerType: 7 }))).toEqual({
      ok: false,
      problems: [
        'instanceId must be an EC2 instance id',
        'owner must be an organization or owner/repo',
        'runnerId must be a positive integer',
        'attempt must be a positive integer',
        'reason must be one of spot-interruption, shutting-down, terminated',
        'runnerType must be a non-empty string when present',
      ],
    });
  });

  it('should never throw, and never quote the body in its problems', () => {
    const marker = fc.string().map((s) => `MARK${s}`);
    const hostile = fc.oneof(
      marker,
      marker.map((m) => JSON.stringify({ ...valid, owner: m + '/x/y', instanceId: m, reason: m, runnerType: 7, attempt: m })),
      fc.jsonValue().map((v) => JSON.stringify(v)),
    );
    fc.assert(
      fc.property(hostile, (body) => {
        const parsed = parseRetryMessage(body);
        if (!parsed.ok) for (const p of parsed.problems) expect(p.includes('MARK')).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});
