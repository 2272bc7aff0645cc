# An enterprise account's boundaries and access: every role under a path with a
# permissions boundary, policies for what jobs need, Session Manager for
# debugging, narrow egress, and the organisation's own KMS key. `npm run plan` plans it offline;
# test/policy/plan-policy.test.ts checks each input reaches the plan (issue #10 item 5).

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
  source     = "../../dist/terraform-module"
  prefix     = "gh-ent"
  vpc_id     = "vpc-123"
  subnet_ids = ["subnet-123"]
  github_app_ssm_parameters = {
    app_id         = "/ops/github/runner/app-id"
    private_key    = "/ops/github/runner/private-key"
    webhook_secret = "/ops/github/runner/webhook-secret"
  }

  role_path                 = "/ci/github-runners/"
  role_permissions_boundary = "arn:aws:iam::123456789012:policy/ci-boundary"
  instance_profile_path     = "/ci/profiles/"
  runner_iam_role_managed_policy_arns = [
    "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
    "arn:aws:iam::123456789012:policy/ci-deploy",
  ]
  enable_ssm_on_runners = true
  # Bring your own key: the module creates none (README, "Bring your own KMS key").
  kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  runner_egress_rules = [
    { description = "HTTPS", protocol = "tcp", from_port = 443, to_port = 443, cidr_blocks = ["0.0.0.0/0"], ipv6_cidr_blocks = ["::/0"] },
    { description = "S3 gateway endpoint", protocol = "tcp", from_port = 443, to_port = 443, prefix_list_ids = ["pl-6da54004"] },
  ]
}

output "runner_role_arn" {
  value = module.runners.runner_role_arn
}

output "job_queues" {
  value = module.runners.job_queues
}
