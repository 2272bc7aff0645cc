/**
 * The packaged module applied to an AWS emulator (issue #12 item 1): the HCL
 * consumer example as a user writes it, and a root with several runner types
 * and a warm pool, are applied to moto_server, re-planned, and destroyed.
 *
 * - The re-plan after apply must be empty. Where moto departs from AWS's
 *   documented answers, test/cloud/emulator-proxy.ts shims that one answer
 *   (named, with the moto behaviour and the AWS doc), so that what remains
 *   is drift in our configuration, never the emulator's.
 * - After destroy, the state is empty and the emulator holds none of the
 *   module's queues, tables, functions, roles, launch templates or buckets.
 */
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { DescribeLaunchTemplatesCommand, DescribeSecurityGroupsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DescribeParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { EmulatorProxy, motoShims, startEmulatorProxy } from './emulator-proxy';
import { Moto, startMoto } from './moto';
import { EmulatorRoot, PlannedChange } from './terraform-emulator';

const REPO = join(__dirname, '..', '..');
const MODULE = join(REPO, 'dist', 'terraform-module');
const REGION = 'eu-west-1';
const credentials = { accessKeyId: 'AKIDEMULATOR', secretAccessKey: 'emulator' };

jest.setTimeout(360_000);

/** moto rejects a security group in a VPC it does not hold, so each root gets a network of its own. */
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

/** Several runner types, one with a warm pool and an architecture of its own. */
const MULTI_TYPE_ROOT = `
terraform {
  required_version = ">= 1.9.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100.0, < 7.0.0"
    }
  }
}
provider "aws" {
  region = "eu-west-1"
}
module "runners" {
  source            = "${MODULE}"
  prefix            = "multi"
  vpc_id            = "replaced by the override"
  subnet_ids        = ["replaced by the override"]
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
  }
  tags = { team = "platform" }
}
`;

let moto: Moto | undefined;
let proxy: EmulatorProxy | undefined;
const roots: Record<string, EmulatorRoot> = {};
const applied = new Set<string>();

beforeAll(async () => {
  if (!existsSync(join(MODULE, 'cdk.tf.json'))) throw new Error(`${MODULE} is missing: run \`npm run synth\` first (npm test does)`);
  moto = await startMoto();
  proxy = await startEmulatorProxy(moto.url, motoShims());
  roots['hcl-consumer'] = new EmulatorRoot(join(REPO, 'examples', 'hcl-consumer'), proxy.url, { '"../../dist/terraform-module"': JSON.stringify(MODULE) }, {
    'emulator_network.tf': NETWORK,
    'emulator_network_override.tf': NETWORK_OVERRIDE,
  });
  roots['multi-type'] = new EmulatorRoot(join(REPO, 'examples', 'hcl-consumer'), proxy.url, {}, {
    'emulator_network.tf': NETWORK,
    'emulator_network_override.tf': NETWORK_OVERRIDE,
  });
  // The multi-type root replaces the example's main.tf with its own.
  const { writeFileSync } = await import('node:fs');
  writeFileSync(join(roots['multi-type'].dir, 'main.tf'), MULTI_TYPE_ROOT);
  await Promise.all(Object.values(roots).map((r) => r.init()));
});

afterAll(async () => {
  // Leave nothing behind in any case: destroy what was applied (best effort), stop the server.
  await Promise.all([...applied].map((name) => roots[name].destroy().catch(() => undefined)));
  for (const root of Object.values(roots)) root.remove();
  await proxy?.close();
  await moto?.stop();
});

describe('the module applied to moto_server', () => {
  it('should apply the HCL consumer example and a multi-type root', async () => {
    await Promise.all(
      Object.entries(roots).map(async ([name, root]) => {
        await root.apply();
        applied.add(name);
      }),
    );
    expect([...applied].sort()).toEqual(['hcl-consumer', 'multi-type']);
  });

  it('should re-plan with no changes: every difference was an emulator gap, shimmed by name', async () => {
    const changes: Record<string, PlannedChange[]> = Object.fromEntries(await Promise.all(Object.entries(roots).map(async ([name, root]) => [name, await root.replan()] as const)));
    expect(changes).toEqual({ 'hcl-consumer': [], 'multi-type': [] });
    // Each shim did work (a shim that never fires documents a gap that is not there).
    expect(Object.fromEntries(proxy!.shimmed)).toEqual({
      'lambda-kms-key-and-logging-config': expect.any(Number),
      'sqs-redrive-policy-json': expect.any(Number),
      'ec2-launch-template-data-tag-specifications': expect.any(Number),
    });
  });

  it('should destroy everything it created', async () => {
    const states = await Promise.all(
      Object.entries(roots).map(async ([name, root]) => {
        await root.destroy();
        applied.delete(name);
        return { name, state: await root.stateList() };
      }),
    );
    expect(states).toEqual([
      { name: 'hcl-consumer', state: [] },
      { name: 'multi-type', state: [] },
    ]);
    const client = <T>(C: new (c: object) => T) => new C({ region: REGION, endpoint: moto!.url, credentials, forcePathStyle: true });
    const queues = await client(SQSClient).send(new ListQueuesCommand({}));
    const tables = await client(DynamoDBClient).send(new ListTablesCommand({}));
    const templates = await client(EC2Client).send(new DescribeLaunchTemplatesCommand({}));
    const groups = await client(EC2Client).send(new DescribeSecurityGroupsCommand({}));
    const buckets = await client(S3Client).send(new ListBucketsCommand({}));
    const parameters = await client(SSMClient).send(new DescribeParametersCommand({}));
    const functions = await rawJson(moto!.url, 'lambda', 'GET', '/2015-03-31/functions/');
    const roles = await rawQuery(moto!.url, 'iam', 'Action=ListRoles&Version=2010-05-08');
    expect({
      queues: queues.QueueUrls ?? [],
      tables: tables.TableNames ?? [],
      launchTemplates: templates.LaunchTemplates ?? [],
      securityGroups: (groups.SecurityGroups ?? []).filter((g) => g.GroupName !== 'default'),
      buckets: buckets.Buckets ?? [],
      parameters: parameters.Parameters ?? [],
      functions: (functions as { Functions?: unknown[] }).Functions ?? [],
      roles: [...roles.matchAll(/<RoleName>([^<]+)<\/RoleName>/g)].map((m) => m[1]).filter((r) => /^(gh-ci|multi)-/.test(r)),
    }).toEqual({ queues: [], tables: [], launchTemplates: [], securityGroups: [], buckets: [], parameters: [], functions: [], roles: [] });
  });
});

/** A SigV4-shaped header: moto routes on the credential scope and checks no signature. */
function authorization(service: string): string {
  return `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/20260101/${REGION}/${service}/aws4_request, SignedHeaders=host, Signature=0`;
}

async function rawJson(url: string, service: string, method: string, path: string): Promise<unknown> {
  const res = await fetch(`${url}${path}`, { method, headers: { authorization: authorization(service) } });
  return res.json();
}

async function rawQuery(url: string, service: string, body: string): Promise<string> {
  const res = await fetch(url, { method: 'POST', headers: { authorization: authorization(service), 'content-type': 'application/x-www-form-urlencoded' }, body });
  return res.text();
}
