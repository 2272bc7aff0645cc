# An ops repo consuming the module as plain Terraform, with exactly the inputs
# from the README. `npm run plan` plans it offline against dist/terraform-module.

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
  source                      = "../../dist/terraform-module"
  prefix                      = "gh-ci"
  vpc_id                      = "vpc-123"
  subnet_ids                  = ["subnet-123", "subnet-456"]
  enable_organization_runners = true
  github_app_ssm_parameters = {
    app_id         = "/ops/github/runner/dev/app-id"
    private_key    = "/ops/github/runner/dev/private-key"
    webhook_secret = "/ops/github/runner/dev/webhook-secret"
  }
}

output "webhook_endpoint" {
  value = module.runners.webhook_endpoint
}
