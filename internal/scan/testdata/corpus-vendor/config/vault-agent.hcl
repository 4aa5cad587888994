vault {
  address = "https://vault.internal:8200"
}

auto_auth {
  method "approle" {
    config = {
      role_id_file_path   = "/etc/vault/role-id"
      secret_id_file_path = "/etc/vault/secret-id"
    }
  }
}

template {
  source      = "/etc/vault/templates/db.ctmpl"
  destination = "/run/secrets/db.env"
}

listener "tcp" {
  address     = "127.0.0.1:8100"
  tls_disable = true
}

telemetry {
  circonus_api_token = "SRmelowowALzTTra58x1FsHzXbJeIQBeal6i"
}
