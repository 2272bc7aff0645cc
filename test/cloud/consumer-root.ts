/**
 * The root the local cloud applies: the HCL consumer example as a user writes
 * it, with a second instance of the module beside it (several runner types, a
 * warm pool, tags). test/cloud/apply.test.ts applies it to moto_server, and
 * test/iam reads the IAM policies it applied.
 */
import { join } from 'node:path';
import { EmulatorRoot } from './terraform-emulator';

const REPO = join(__dirname, '..', '..');
export const MODULE = join(REPO, 'dist', 'terraform-module');

/** moto rejects a security group in a VPC it does not hold, so the root gets a network of its own. */
const NETWORK = `
resource "aws_vpc" "emulator" {
  cidr_block = "10.0.0.0/16"
}
resource "aws_subnet" "emulator" {
  vpc_id     = aws_vpc.emulator.id
  cidr_block = "10.0.1.0/24"
}
`;

/** The example's module block, pointed at that network (an override file, so the example itself is applied as written). */
const NETWORK_OVERRIDE = `
module "runners" {
  vpc_id     = aws_vpc.emulator.id
  subnet_ids = [aws_subnet.emulator.id]
}
`;

/** A second instance of the module in the same root: several runner types, one with a warm pool and an architecture of its own, one on Windows. */
const SECOND_INSTANCE = `
module "multi" {
  source            = "${MODULE}"
  prefix            = "multi"
  vpc_id            = aws_vpc.emulator.id
  subnet_ids        = [aws_subnet.emulator.id]
  pool_runner_owner = "octo-org"
  github_app_ssm_parameters = {
    app_id         = "/multi/github/app-id"
    private_key    = "/multi/github/private-key"
    webhook_secret = "/multi/github/webhook-secret"
  }
  runner_types = {
    linux-x64 = { labels = ["self-hosted", "linux", "x64"], runners_maximum_count = 20 }
    linux-arm64 = {
      labels                = ["self-hosted", "linux", "arm64"]
      runner_architecture   = "arm64"
      instance_types        = ["m7g.large", "c7g.large"]
      runners_maximum_count = 5
      pool_config           = [{ size = 2, schedule_expression = "cron(0/5 8-18 ? * MON-FRI *)", schedule_expression_timezone = "Europe/Amsterdam" }]
    }
    windows = { labels = ["self-hosted", "windows", "x64"], runner_os = "windows", runners_maximum_count = 2 }
  }
  tags = { team = "platform" }
}
`;

/** The root, copied to a scratch directory, with its provider pointed at `endpoint`; `extraFiles` are added by name. */
export function consumerRoot(endpoint: string, extraFiles: Record<string, string> = {}): EmulatorRoot {
  return new EmulatorRoot(join(REPO, 'examples', 'hcl-consumer'), endpoint, { '"../../dist/terraform-module"': JSON.stringify(MODULE) }, {
    'emulator_network.tf': NETWORK,
    'emulator_network_override.tf': NETWORK_OVERRIDE,
    'second_instance.tf': SECOND_INSTANCE,
    ...extraFiles,
  });
}

/**
 * A provider override that asks STS for the account id. The emulator provider
 * skips that request, and the AWS provider then builds some ARNs itself with
 * an empty account (a launch template's is `arn:aws:ec2:<region>::launch-template/<id>`),
 * which no real account has; policies that name them would not be the ones AWS evaluates.
 */
export const ACCOUNT_ID_OVERRIDE = { 'zz_zz_account_id_override.tf.json': JSON.stringify({ provider: { aws: { skip_requesting_account_id: false } } }) };
