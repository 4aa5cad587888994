provider "aws" {
  region     = "eu-west-1"
  access_key = "AKIAEH22VB6LCDLDITTK"
  secret_key = "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"
}

variable "db_password" {
  type      = string
  sensitive = true
}

resource "aws_db_instance" "orders" {
  password = var.db_password
}

terraform {
  cloud {
    organization = "acme"
    token        = "xCHCXged8DHHhQ.atlasv1.HdW4x07iJdaad937LX6DnURpJAunYGgrpXlrsd11F9v_bKDMLP_zmW1rjZnWK8_JbIL"
  }
}
