# Two instances of the module in one account, with the root's tags. `npm run plan`
# plans it offline; test/policy/plan-policy.test.ts checks that the tags reach
# every resource that has a `tags` attribute and that no two resources of the two
# instances share a name (issue #10 item 9).

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

locals {
  tags = { team = "platform", cost-center = "ci-4711" }
  app = {
    app_id         = "/ops/github/runner/app-id"
    private_key    = "/ops/github/runner/private-key"
    webhook_secret = "/ops/github/runner/webhook-secret"
  }
}

module "runners" {
  source                    = "../../dist/terraform-module"
  prefix                    = "gh-ci"
  vpc_id                    = "vpc-123"
  subnet_ids                = ["subnet-123"]
  github_app_ssm_parameters = local.app
  tags                      = local.tags
}

# A second instance whose prefix extends the first one's: any name built as
# "<prefix>-<something>" that could collide shows up as a duplicate name.
module "runners_dev" {
  source                    = "../../dist/terraform-module"
  prefix                    = "gh-ci-dev"
  vpc_id                    = "vpc-123"
  subnet_ids                = ["subnet-123"]
  github_app_ssm_parameters = local.app
  tags                      = local.tags
  runner_types = {
    dev = { labels = ["self-hosted", "linux", "x64"] }
  }
}
