package rules

import (
	"strings"
	"testing"
)

func TestValidators(t *testing.T) {
	body := "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5"
	good := "ghp_" + body + Base62CRC32(body)
	tests := []struct {
		name string
		fn   func(string) bool
		in   string
		want bool
	}{
		{"github checksum ok", ValidBase62Checksum, good, true},
		{"github checksum bad", ValidBase62Checksum, good[:len(good)-1] + "x", false},
		{"github docs example", ValidBase62Checksum, "ghp_16C7e42F292c6912E7710c838347Ae178B4a", false},
		{"npm checksum ok", ValidBase62Checksum, "npm_" + body + Base62CRC32(body), true},
		{"npm wrong length", ValidBase62Checksum, "npm_abc", false},
		{"bech32 age key", ValidBech32, "AGE-SECRET-KEY-1GFPYYSJZGQ5QQDP7Z7FWY4AXP6C0Q5RN6WKGRKPXE2UL34SRPFVQAJ5EQL", false},
		{"jwt ok", ValidJWT, "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.dnJwdAM3ecUwxy3s9JBFsgc2CbBJaBNIRrAPFg_Pz78", true},
		{"jwt signature too short for HS256", ValidJWT, "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl", false},
		{"jwt unsigned", ValidJWT, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", false},
		// {"sub":"1234567890","name":"John Doe"} with a well-formed signature
		{"jwt sample claims", ValidJWT, "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0.dnJwdAM3ecUwxy3s9JBFsgc2CbBJaBNIRrAPFg_Pz78", false},
		// {"email":"ci@example.com"}
		{"jwt example domain", ValidJWT, "eyJhbGciOiJIUzI1NiJ9.eyJlbWFpbCI6ImNpQGV4YW1wbGUuY29tIn0.dnJwdAM3ecUwxy3s9JBFsgc2CbBJaBNIRrAPFg_Pz78", false},
		{"jwt header without alg", ValidJWT, "eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiJ4In0.c2lnbmF0dXJl", false},
		{"jwt not json", ValidJWT, "eyJhbGciOiJIUzI1.eyJzdWIiOiJ4In0.c2lnbmF0dXJl", false},
		{"truncated key", ValidPrivateKey, "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA...\n-----END RSA PRIVATE KEY-----", false},
		{"basic auth", ValidBasicAuth, "Y2ktYm90OlM3cm9uZ1Bhc3M=", true},      // ci-bot:S7rongPass
		{"basic auth trivial", ValidBasicAuth, "dXNlcjpwYXNzd29yZA==", false}, // user:password
		{"basic auth no colon", ValidBasicAuth, "bm9jb2xvbmhlcmU=", false},    // nocolonhere
		{"aws id charset", ValidAWSKeyID, "AKIAZ5XQ7RBK2JMWNOP4", true},
		{"aws id not base32", ValidAWSKeyID, "AKIA0189ABCDEFGHIJKL", false},
	}
	for _, tt := range tests {
		if got := tt.fn(tt.in); got != tt.want {
			t.Errorf("%s: %q = %v, want %v", tt.name, tt.in, got, tt.want)
		}
	}
}

func TestFilters(t *testing.T) {
	tests := []struct {
		in                             string
		placeholder, uuid, hash, templ bool
	}{
		{in: "AKIAIOSFODNN7EXAMPLE", placeholder: true},
		{in: "xxxxxxxxxxxxxxxx", placeholder: true},
		{in: "<your-token>", placeholder: true, templ: true},
		{in: "${DB_PASSWORD}", placeholder: true, templ: true},
		{in: "{{ .Values.password }}", placeholder: true, templ: true},
		{in: "ENC[AES256_GCM,data:abc,type:str]", placeholder: true, templ: true},
		{in: "0123456789abcdef0123", placeholder: true}, // an ascending run
		{in: "Kq8vTz3LmN0pRs5W", placeholder: false},
		{in: "123e4567-e89b-12d3-a456-426614174000", uuid: true},
		{in: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", hash: true},
		{in: "sha512-abcdef", hash: true},
		{in: "$2b$12$KIXQJrzW3u3qZpZ4F1m5xO", hash: true, placeholder: true, templ: true},
	}
	for _, tt := range tests {
		if got := IsPlaceholder(tt.in); got != tt.placeholder {
			t.Errorf("IsPlaceholder(%q) = %v", tt.in, got)
		}
		if got := IsUUID(tt.in); got != tt.uuid {
			t.Errorf("IsUUID(%q) = %v", tt.in, got)
		}
		if got := IsHashLike(tt.in); got != tt.hash {
			t.Errorf("IsHashLike(%q) = %v", tt.in, got)
		}
		if got := IsTemplated(tt.in); got != tt.templ {
			t.Errorf("IsTemplated(%q) = %v", tt.in, got)
		}
	}
}

func TestSplitWordsAndNames(t *testing.T) {
	tests := []struct {
		name string
		want nameKind
	}{
		{"AWS_SECRET_ACCESS_KEY", nameSecret},
		{"clientSecret", nameSecret},
		{"db.password", namePassword},
		{"APIKey", nameSecret},
		{"api_key_id", nameNone},
		{"secretName", nameNone},
		{"tokenUrl", nameNone},
		{"passwordFile", nameNone},
		{"password_hash", nameNone},
		{"sortKey", nameNone},
		{"publicKey", nameNone},
		{"key", nameNone},
		{"keyboard", nameNone},
		{"_auth", nameSecret},
		{"--password", namePassword},
	}
	for _, tt := range tests {
		if got := scoreName(strings.TrimLeft(tt.name, "-")); got != tt.want {
			t.Errorf("scoreName(%q) = %v, want %v (words %v)", tt.name, got, tt.want, splitWords(tt.name))
		}
	}
}

func TestGeneric(t *testing.T) {
	pw := Generic("generic-password", "", true)
	sec := Generic("generic-secret", "", false)
	tests := []struct {
		path, line string
		rule       *Rule
		want       string // "" for no finding
	}{
		{"a.env", "DB_PASSWORD=Xk9#mQ2vLp7", pw, "Xk9#mQ2vLp7"},
		{"a.yaml", `  password: "Xk9#mQ2vLp7"`, pw, "Xk9#mQ2vLp7"},
		{"a.go", `password := "Xk9#mQ2vLp7"`, pw, "Xk9#mQ2vLp7"},
		{"a.go", `password := os.Getenv("PASSWORD")`, pw, ""},
		{"a.go", `if password == "Xk9#mQ2vLp7" {`, pw, ""},
		{"a.go", "Password string `json:\"password\"`", pw, ""},
		{"a.py", `password = get_password()`, pw, ""},
		{"a.yaml", `password: ${DB_PASSWORD}`, pw, ""},
		{"a.yaml", `password: changeme`, pw, ""},
		{"a.yaml", `password: !vault |`, pw, ""},
		{"a.xml", `<password>Xk9#mQ2vLp7</password>`, pw, "Xk9#mQ2vLp7"},
		{"a.config", `<add key="DbPassword" value="Xk9#mQ2vLp7"/>`, pw, "Xk9#mQ2vLp7"},
		{"a.sh", `mysql --password=Xk9#mQ2vLp7 db`, pw, "Xk9#mQ2vLp7"},
		{"a.json", `{"client_secret": "q8Vd2LmZ0xR7tNw4Kp9s"}`, sec, "q8Vd2LmZ0xR7tNw4Kp9s"},
		{"a.json", `{"client_secret": "accessTokenValue"}`, sec, ""},
		{"a.json", `{"api_key": "3fa85f64-5717-4562-b3fc-2c963f66afa6"}`, sec, ""},
		{"a.toml", `api_key = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"`, sec, ""},
		{"a.yaml", `secretName: db-credentials`, sec, ""},
		{"a.yaml", `token: config.auth.token`, sec, ""},
		{"a.go", `const sessionKey = "node1-node2-only"`, sec, ""},
		{"a.tf", `secret_key = "q8Vd2LmZ0xR7tNw4Kp9s/Vd2LmZ0xR7tNw4Kp9s"`, sec, "q8Vd2LmZ0xR7tNw4Kp9s/Vd2LmZ0xR7tNw4Kp9s"},
		// Hex under a secret name is a credential; under a digest's name it is not.
		{"a.rb", `Braintree::Configuration.private_key = "dd7ce9dd8062f4ea721afcf64933813f"`, sec, "dd7ce9dd8062f4ea721afcf64933813f"},
		{"a.rb", `config.token_sha256 = "dd7ce9dd8062f4ea721afcf64933813f"`, sec, ""},
		// Less common syntaxes.
		{"a.sh", `export PGPASSWORD='Xk9#mQ2vLp7'`, pw, "Xk9#mQ2vLp7"},
		{"a.php", `define( 'DB_PASSWORD', 'Xk9#mQ2vLp7' );`, pw, "Xk9#mQ2vLp7"},
		{"a.php", `define( 'DB_PASSWORD', 'password_here' );`, pw, ""},
		{"a.java", `props.put("ssl.truststore.password", "Xk9#mQ2vLp7");`, pw, "Xk9#mQ2vLp7"},
		{"a.java", `props.put("ssl.truststore.password", passwordFromVault);`, pw, ""},
		{"a.go", `{"type": "oauth2", "flow": "password", "tokenUrl": "https://a.io"}`, pw, ""},
		{"a.java", `String jaas = "LoginModule required username=\"app\" password=\"Xk9#mQ2vLp7\";";`, pw, "Xk9#mQ2vLp7"},
		{"a.xml", `<property name="hibernate.connection.password">Xk9#mQ2vLp7</property>`, pw, "Xk9#mQ2vLp7"},
		{"a.xml", `<Connector keystorePass="Xk9#mQ2vLp7" />`, pw, "Xk9#mQ2vLp7"},
		{"a.rb", `:password => "Xk9#mQ2vLp7",`, pw, "Xk9#mQ2vLp7"},
		{"a.rs", `static UPSTREAM_TOKEN: &str = "q8Vd2LmZ0xR7tNw4Kp9s";`, sec, "q8Vd2LmZ0xR7tNw4Kp9s"},
		{"a.ts", `const apiKey: string = "q8Vd2LmZ0xR7tNw4Kp9s";`, sec, "q8Vd2LmZ0xR7tNw4Kp9s"},
		{"a.go", `var apiToken string = "q8Vd2LmZ0xR7tNw4Kp9s"`, sec, "q8Vd2LmZ0xR7tNw4Kp9s"},
		{"a.go", `var apiToken string = os.Getenv("TOKEN")`, sec, ""},
		{"a.go", `func token(ctx context.Context) string {`, sec, ""},
		{"a.yaml", `client-secret: '{cipher}AQBGhy7P2eRr9tx0oZbc8l4m5nYk3u1vWqJ2sFpLdE6aXcH'`, sec, ""},
	}
	for _, tt := range tests {
		text := []byte(tt.line)
		var got string
		for _, kw := range tt.rule.Keywords {
			i := strings.Index(strings.ToLower(tt.line), kw)
			if i < 0 {
				continue
			}
			for _, c := range tt.rule.Find(Window{Text: text, Hit: i + len(kw), Path: tt.path}) {
				if !c.Rejected {
					got = c.Secret
				}
			}
		}
		if got != tt.want {
			t.Errorf("%s %q: got %q, want %q", tt.path, tt.line, got, tt.want)
		}
	}
}

func TestHCLVariableDefault(t *testing.T) {
	pw := Generic("generic-password", "", true)
	for _, tt := range []struct {
		next string
		want string
	}{
		{"  type    = string\n  default = \"Xk9#mQ2vLp7\"\n}\n", "Xk9#mQ2vLp7"},
		{"  type = string\n}\nlocals {\n  default = \"Xk9#mQ2vLp7\"\n}\n", ""}, // another block's
		{"  sensitive = true\n}\n", ""},
	} {
		line := `variable "db_password" {`
		text := []byte(line + "\n" + tt.next)
		w := Window{Text: text[:len(line)], Hit: strings.Index(line, "pass") + 4, Path: "main.tf", Next: text[len(line)+1:]}
		var got string
		for _, c := range pw.Find(w) {
			if !c.Rejected {
				got = c.Secret
				if string(text[c.Start:c.End]) != got {
					t.Errorf("offsets %d-%d hold %q, not the secret", c.Start, c.End, text[c.Start:c.End])
				}
			}
		}
		if got != tt.want {
			t.Errorf("%q: got %q, want %q", tt.next, got, tt.want)
		}
	}
}

// TestNamed checks the rules for credentials without structure: the value
// needs a name that says what it is and the vendor nearby.
func TestNamed(t *testing.T) {
	byID := map[string]*Rule{}
	for _, r := range Builtin() {
		byID[r.ID] = r
	}
	hex32 := "f9553d02db42b2f3fea8c62886c84703"
	for _, tt := range []struct {
		rule, path, line, context string
		want                      bool
	}{
		{"datadog-api-key", "a.env", "DD_API_KEY=" + hex32, "", true},
		{"datadog-api-key", "a.env", "DATADOG_API_KEY=" + hex32, "", true},
		{"datadog-api-key", "datadog.yaml", "api_key: " + hex32, "", true},
		{"datadog-api-key", "main.tf", `  api_key = "` + hex32 + `"`, `provider "datadog" {`, true},
		{"datadog-api-key", "a.env", "API_KEY=" + hex32, "", false},             // no vendor
		{"datadog-api-key", "a.env", "DD_API_KEY=" + hex32[:30], "", false},     // too short
		{"datadog-api-key", "a.env", "DD_API_KEY=<DATADOG_API_KEY>", "", false}, // placeholder
		{"twilio-auth-token", "a.py", `auth_token = "` + hex32 + `"`, "from twilio.rest import Client", true},
		{"twilio-auth-token", "a.py", `oauth_token = "` + hex32 + `"`, "from twilio.rest import Client", false},
		{"twilio-auth-token", "a.py", `auth_token = "` + hex32 + `"`, "import requests", false},
		{"heroku-api-key", "a.sh", "export HEROKU_API_KEY=1b9e9de4-1bf7-ea90-c9ab-7e4cd0708d16", "", true},
		{"heroku-api-key", "a.sh", "export HEROKU_APP_ID=1b9e9de4-1bf7-ea90-c9ab-7e4cd0708d16", "", false},
		{"aws-secret-access-key", "main.tf", `  secret_key = "p8r38gO0FlEFvN3E7QZcWByf7TGPie40ghnvBFE7"`, `provider "aws" {`, true},
		{"aws-secret-access-key", "main.tf", `  secret_key = "p8r38gO0FlEFvN3E7QZcWByf7TGPie40ghnvBFE7"`, `provider "minio" {`, false},
	} {
		r := byID[tt.rule]
		text := []byte(tt.line)
		got := false
		for _, kw := range r.Keywords {
			i := strings.Index(strings.ToLower(tt.line), kw)
			if i < 0 {
				continue
			}
			ctx := append([]byte(tt.context+"\n"), text...)
			for _, c := range r.Find(Window{Text: text, Hit: i + len(kw), Path: tt.path, Context: ctx}) {
				got = got || !c.Rejected
			}
		}
		if got != tt.want {
			t.Errorf("%s on %s %q (context %q): got %v, want %v", tt.rule, tt.path, tt.line, tt.context, got, tt.want)
		}
	}
}

func TestBuiltinCompiles(t *testing.T) {
	if _, err := NewSet(Builtin()); err != nil {
		t.Fatal(err)
	}
}
