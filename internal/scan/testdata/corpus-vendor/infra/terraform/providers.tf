terraform {
  required_providers {
    datadog = {
      source  = "DataDog/datadog"
      version = "~> 3.40"
    }
    github = {
      source  = "integrations/github"
      version = "~> 6.0"
    }
  }
}

provider "datadog" {
  api_key = "8a5707bfd0f28fd725701b204ee2f6ad"
  app_key = "cf7e427e5c6ec6b6958b7bfae765c55c4308896a"
  api_url = "https://api.datadoghq.eu/"
}

provider "github" {
  owner = "acme-corp"
  token = "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"
}

variable "db_password" {
  description = "Master password for the billing database"
  type        = string
  sensitive   = true
  default     = "EwI8KETE17PLhVzmJP!8"
}

resource "random_password" "replica" {
  length  = 32
  special = true
}

resource "aws_db_instance" "billing" {
  identifier     = "billing"
  engine         = "postgres"
  password       = var.db_password
  kms_key_id     = "arn:aws:kms:eu-central-1:123456789012:key/71ca6d7b-aed4-4d43-aba6-777b0d83395d"
}

data "vault_generic_secret" "ci" {
  path = "secret/ci"
}

locals {
  ci_token = data.vault_generic_secret.ci.data["token"]
}
