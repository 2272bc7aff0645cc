import { instanceIdOfRunner, ownedTargetFromOwnerTag, ownerTagOf, runnerNameOf, runnerTargetFromOwnerTag } from '../../../lambdas/shared/runners/identity';

describe('runner identity', () => {
  describe('runnerTargetFromOwnerTag', () => {
    it.each([
      ['octo', { level: 'org', owner: 'octo' }],
      ['octo/hello', { level: 'repo', owner: 'octo', repo: 'hello' }],
      ['', undefined],
      ['a/b/c', undefined],
      ['octo/', undefined],
      ['/hello', undefined],
      ['oc to', undefined],
    ])('should read %p as %p', (tag, expected) => {
      expect(runnerTargetFromOwnerTag(tag)).toEqual(expected);
    });
  });

  describe('ownerTagOf', () => {
    it.each([
      [{ level: 'org', owner: 'octo' } as const, 'octo'],
      [{ level: 'repo', owner: 'octo', repo: 'hello' } as const, 'octo/hello'],
    ])('should write %p as %p, which reads back as the same target', (target, tag) => {
      expect(ownerTagOf(target)).toBe(tag);
      expect(runnerTargetFromOwnerTag(ownerTagOf(target))).toEqual(target);
      expect(ownedTargetFromOwnerTag(tag)).toEqual({ ...target, ownerTag: tag });
    });

    it('should refuse an owner tag that is neither an organization nor owner/repo', () => {
      expect(ownedTargetFromOwnerTag('a/b/c')).toBeUndefined();
    });
  });

  describe('runner names', () => {
    it('should name a runner after its instance, and read the instance back only from our own prefix', () => {
      expect(runnerNameOf('gh-ci', 'i-0123456789abcdef0')).toBe('gh-ci-i-0123456789abcdef0');
      expect(instanceIdOfRunner('gh-ci', 'gh-ci-i-0123456789abcdef0')).toBe('i-0123456789abcdef0');
      expect(instanceIdOfRunner('gh', 'gh-ci-i-0123456789abcdef0')).toBeUndefined();
    });
  });
});
