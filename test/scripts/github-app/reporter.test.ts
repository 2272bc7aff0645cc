import { hclBlock, Reporter } from '../../../scripts/lib/github-app/reporter';
import { testAppKey } from './fakes';

describe('Reporter', () => {
  it('should redact a protected PEM, any of its lines, and other secrets from every line it prints', () => {
    const lines: string[] = [];
    const reporter = new Reporter((l) => lines.push(l));
    const { pem } = testAppKey();
    reporter.protect(pem);
    reporter.protect('0123456789abcdef0123');
    const bodyLine = pem.split('\n')[3];
    reporter.note(`oops ${pem}`);
    reporter.error(`oops ${bodyLine} and 0123456789abcdef0123`);
    reporter.step(1, 2, 'fine');
    expect(lines.join('\n')).not.toContain(bodyLine);
    expect(lines.join('\n')).not.toContain('0123456789abcdef0123');
    expect(lines).toContain('1/2 fine');
    expect(lines).toContain('error: oops [redacted] and [redacted]');
  });

  it('should print the module input naming the three parameters', () => {
    expect(hclBlock({ appId: '/a', privateKey: '/b', webhookSecret: '/c' })).toBe(
      'github_app_ssm_parameters = {\n  app_id         = "/a"\n  private_key    = "/b"\n  webhook_secret = "/c"\n}',
    );
  });
});
