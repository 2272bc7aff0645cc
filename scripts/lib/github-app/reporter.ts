/**
 * What the operator reads: numbered steps, notes, warnings, and the block to
 * paste into Terraform.
 *
 * Every line passes through a redactor that knows the run's secrets (the
 * manifest code, the PEM and each of its lines, the webhook secret), so even a
 * message that should never have carried one prints `[redacted]` instead. The
 * call sites still must not pass secrets; this is the second line of defence,
 * and the tests scan captured output for the first.
 */
import type { AppParameterNames } from './options';

export type Sink = (line: string) => void;

export class Reporter {
  private readonly secrets = new Set<string>();

  constructor(
    private readonly out: Sink,
    private readonly err: Sink = out,
  ) {}

  /** Never print `value`, nor (for multi-line values such as a PEM) any of its longer lines. */
  protect(value: string): void {
    if (value.length >= 8) this.secrets.add(value);
    for (const line of value.split(/\r?\n/)) if (line.trim().length >= 16) this.secrets.add(line.trim());
  }

  /** `2/5 Exchanging the code …` */
  step(index: number, total: number, text: string): void {
    this.out(this.redact(`${index}/${total} ${text}`));
  }

  /** An indented detail of the current step. */
  note(text: string): void {
    for (const line of text.split('\n')) this.out(this.redact(`    ${line}`));
  }

  /** A plain, unindented line (blank lines, blocks to paste). */
  line(text = ''): void {
    for (const line of text.split('\n')) this.out(this.redact(line));
  }

  warn(text: string): void {
    this.err(this.redact(`    ! ${text}`));
  }

  error(text: string): void {
    this.err(this.redact(`error: ${text}`));
  }

  redact(text: string): string {
    let result = text;
    // Longest first, so a whole PEM is replaced before its lines are.
    for (const secret of [...this.secrets].sort((a, b) => b.length - a.length)) result = result.split(secret).join('[redacted]');
    return result;
  }
}

/** The module input to paste, naming (never holding) the parameters. */
export function hclBlock(names: AppParameterNames): string {
  return [
    'github_app_ssm_parameters = {',
    `  app_id         = "${names.appId}"`,
    `  private_key    = "${names.privateKey}"`,
    `  webhook_secret = "${names.webhookSecret}"`,
    '}',
  ].join('\n');
}

/** The AWS CLI command that prints a parameter's value, for the operator to run themselves. */
export function readParameterCommand(name: string, region?: string): string {
  return `aws ssm get-parameter --name '${name}' --with-decryption --query Parameter.Value --output text${region ? ` --region ${region}` : ''}`;
}
