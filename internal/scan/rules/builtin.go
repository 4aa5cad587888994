package rules

import (
	"encoding/base64"
	"path"
	"regexp"
	"strings"
	"unicode/utf8"
)

// end of a token made of [0-9A-Za-z_-]: Go's regexp has no lookahead, so the
// boundary is a consumed non-token byte or the end of the window.
const tokEnd = `(?:[^0-9A-Za-z_\-]|$)`

// Builtin returns a fresh copy of the built-in rules. Each call compiles new
// rules, so callers may modify what they get.
func Builtin() []*Rule {
	re := regexp.MustCompile
	return []*Rule{
		// Cloud providers.
		{ID: "aws-access-key-id", Description: "AWS access key ID",
			Keywords: []string{"akia", "asia", "abia", "acca", "a3t"},
			Regex:    re(`\b((?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16})\b`), SecretGroup: 1,
			Entropy: 3.0, Validate: ValidAWSKeyID, Public: 4},
		{ID: "aws-secret-access-key", Description: "AWS secret access key",
			Keywords: []string{"secret_access_key", "secretaccesskey", "secret-access-key", "aws_secret_key", "aws_secret", "secret_key", "secretkey", "secret-key"},
			Regex:    re(`(?i)(?:secret_?access_?key|secret-access-key|aws_secret(?:_key)?)["'\x60]?\s*(?::=|=>|[:=])\s*["'\x60]?([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)`), SecretGroup: 1,
			// secret_key = "..." in a provider "aws" block or next to an AKIA id.
			Detect:  Named{Names: []string{"secretkey"}, Vendor: []string{"aws", "akia"}, Value: re(`^[A-Za-z0-9/+]{40}$`)}.Detect,
			Entropy: 4.0},
		{ID: "gcp-api-key", Description: "Google Cloud API key",
			Keywords: []string{"aiza"},
			Regex:    re(`\b(AIza[0-9A-Za-z_\-]{35})` + tokEnd), SecretGroup: 1, Entropy: 3.5, Public: 4},
		{ID: "gcp-oauth-client-secret", Description: "Google OAuth client secret",
			Keywords: []string{"gocspx-"},
			Regex:    re(`\b(GOCSPX-[0-9A-Za-z_\-]{28})` + tokEnd), SecretGroup: 1, Entropy: 3.5, Public: 7},
		{ID: "azure-storage-key", Description: "Azure storage account key",
			Keywords: []string{"accountkey"},
			Regex:    re(`(?i)AccountKey\s*=\s*([A-Za-z0-9+/]{86}==)`), SecretGroup: 1,
			Entropy: 4.0, Validate: ValidBase64Len(64)},
		{ID: "azure-ad-client-secret", Description: "Azure AD (Entra ID) client secret",
			Keywords: []string{"q~"},
			Regex:    re(`(?:^|[^0-9A-Za-z_~.\-])([0-9A-Za-z_~.\-]{3}[0-9]Q~[0-9A-Za-z_~.\-]{31,34})(?:[^0-9A-Za-z_~.\-]|$)`), SecretGroup: 1, Entropy: 3.5},
		{ID: "alibaba-access-key-id", Description: "Alibaba Cloud AccessKey ID",
			Keywords: []string{"ltai"},
			Regex:    re(`\b(LTAI[0-9A-Za-z]{20})\b`), SecretGroup: 1, Entropy: 3.5, Public: 4},
		{ID: "digitalocean-token", Description: "DigitalOcean token",
			Keywords: []string{"dop_v1_", "doo_v1_", "dor_v1_"},
			Regex:    re(`\b(do[opr]_v1_[a-f0-9]{64})\b`), SecretGroup: 1, Entropy: 3.0, Public: 7},

		// Version control, CI and package registries.
		{ID: "github-token", Description: "GitHub token (classic PAT, OAuth, app, refresh)",
			Keywords: []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_"},
			Regex:    re(`\b(gh[pousr]_[0-9A-Za-z]{36})\b`), SecretGroup: 1,
			Validate: ValidBase62Checksum, Public: 4, NoPlaceholderCheck: true},
		{ID: "github-fine-grained-pat", Description: "GitHub fine-grained personal access token",
			Keywords: []string{"github_pat_"},
			Regex:    re(`\b(github_pat_[0-9A-Za-z]{22}_[0-9A-Za-z]{59})\b`), SecretGroup: 1, Entropy: 4.0, Public: 11},
		{ID: "gitlab-token", Description: "GitLab token",
			Keywords: []string{"glpat-", "gldt-", "glptt-", "glrt-", "glcbt-", "glimt-", "glagent-", "glsoat-", "glffct-"},
			Regex:    re(`\b(gl(?:pat|dt|ptt|rt|cbt|imt|agent|soat|ffct)-[0-9A-Za-z_\-.]{20,80})` + tokEnd), SecretGroup: 1, Entropy: 3.5, Public: 6},
		{ID: "npm-token", Description: "npm access token",
			Keywords: []string{"npm_"},
			Regex:    re(`\b(npm_[0-9A-Za-z]{36})\b`), SecretGroup: 1,
			Validate: ValidBase62Checksum, Public: 4, NoPlaceholderCheck: true},
		{ID: "npmrc-auth", Description: "npm registry credential in .npmrc",
			Keywords: []string{"_authtoken", "_auth=", "_password="},
			Regex:    re(`(?:_authToken|_auth|_password)\s*=\s*["']?([^\s"']{12,})`), SecretGroup: 1, Entropy: 3.0, Yield: true},
		{ID: "pypi-token", Description: "PyPI upload token",
			Keywords: []string{"pypi-ageichlwas5vcmc"},
			Regex:    re(`\b(pypi-AgEIcHlwaS5vcmc[0-9A-Za-z_\-]{50,})`), SecretGroup: 1, Public: 5},
		{ID: "dockerhub-token", Description: "Docker Hub personal access token",
			Keywords: []string{"dckr_pat_", "dckr_oat_"},
			Regex:    re(`\b(dckr_(?:pat|oat)_[0-9A-Za-z_\-]{27,32})` + tokEnd), SecretGroup: 1, Entropy: 3.5, Public: 9},
		{ID: "docker-config-auth", Description: "Registry credential in a Docker config (auths.*.auth)",
			Keywords: []string{`"auth"`},
			Regex:    re(`"auth"\s*:\s*"([A-Za-z0-9+/]{8,}={0,2})"`), SecretGroup: 1, Validate: ValidBasicAuth},
		{ID: "hashicorp-vault-token", Description: "HashiCorp Vault token",
			Keywords: []string{"hvs.", "hvb.", "hvr."},
			Regex:    re(`\b(hv[sbr]\.[0-9A-Za-z_\-]{24,})` + tokEnd), SecretGroup: 1, Entropy: 3.5, Public: 4},
		{ID: "terraform-cloud-token", Description: "Terraform Cloud / Enterprise API token",
			Keywords: []string{".atlasv1."},
			Regex:    re(`\b([0-9A-Za-z]{14}\.atlasv1\.[0-9A-Za-z_=\-]{60,70})` + tokEnd), SecretGroup: 1, Entropy: 3.5},
		{ID: "atlassian-api-token", Description: "Atlassian API token",
			Keywords: []string{"atatt3"},
			Regex:    re(`\b(ATATT3[0-9A-Za-z_\-=]{150,250})` + tokEnd), SecretGroup: 1, Entropy: 4.0, Public: 6},
		{ID: "postman-api-key", Description: "Postman API key",
			Keywords: []string{"pmak-"},
			Regex:    re(`\b(PMAK-[a-f0-9]{24}-[a-f0-9]{34})\b`), SecretGroup: 1, Entropy: 3.0, Public: 5},
		{ID: "databricks-token", Description: "Databricks personal access token",
			Keywords: []string{"dapi"},
			Regex:    re(`\b(dapi[a-f0-9]{32}(?:-[0-9])?)\b`), SecretGroup: 1, Entropy: 3.0, Public: 4},
		{ID: "grafana-token", Description: "Grafana service account or cloud token",
			Keywords: []string{"glsa_", "glc_"},
			Regex:    re(`\b(glsa_[0-9A-Za-z]{32}_[0-9a-fA-F]{8}|glc_[0-9A-Za-z+/]{32,400}={0,2})`), SecretGroup: 1, Entropy: 3.5, Public: 4},
		{ID: "linear-api-key", Description: "Linear API key",
			Keywords: []string{"lin_api_"},
			Regex:    re(`\b(lin_api_[0-9A-Za-z]{40})\b`), SecretGroup: 1, Entropy: 3.5, Public: 8},
		{ID: "newrelic-user-key", Description: "New Relic user API key",
			Keywords: []string{"nrak-"},
			Regex:    re(`\b(NRAK-[0-9A-Z]{27})\b`), SecretGroup: 1, Entropy: 3.5, Public: 5},
		{ID: "doppler-token", Description: "Doppler token",
			Keywords: []string{"dp.pt.", "dp.st.", "dp.sa."},
			Regex:    re(`\b(dp\.(?:pt|st|sa)\.[0-9A-Za-z]{40,44})\b`), SecretGroup: 1, Entropy: 3.5, Public: 6},
		{ID: "planetscale-token", Description: "PlanetScale password or token",
			Keywords: []string{"pscale_"},
			Regex:    re(`\b(pscale_(?:pw|tkn|oauth)_[0-9A-Za-z_\-.]{32,64})` + tokEnd), SecretGroup: 1, Entropy: 3.5, Public: 10},
		{ID: "supabase-token", Description: "Supabase access token",
			Keywords: []string{"sbp_"},
			Regex:    re(`\b(sbp_[a-f0-9]{40})\b`), SecretGroup: 1, Entropy: 3.0, Public: 4},

		// AI, chat, mail and payments.
		{ID: "openai-api-key", Description: "OpenAI API key",
			Keywords: []string{"t3blbkfj"},
			Regex:    re(`\b(sk-(?:(?:proj|svcacct|admin)-)?[0-9A-Za-z_\-]{20,74}T3BlbkFJ[0-9A-Za-z_\-]{20,74})` + tokEnd), SecretGroup: 1, Entropy: 3.5, Public: 3},
		{ID: "anthropic-api-key", Description: "Anthropic API key",
			Keywords: []string{"sk-ant-"},
			Regex:    re(`\b(sk-ant-(?:api|admin)[0-9]{2}-[0-9A-Za-z_\-]{80,100}AA)` + tokEnd), SecretGroup: 1, Entropy: 3.5, Public: 7},
		{ID: "huggingface-token", Description: "Hugging Face access token",
			Keywords: []string{"hf_"},
			Regex:    re(`\b(hf_[A-Za-z]{34})\b`), SecretGroup: 1, Entropy: 3.8, Public: 3},
		{ID: "slack-token", Description: "Slack token",
			Keywords: []string{"xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-", "xoxe-", "xoxe."},
			Regex:    re(`\b(xox(?:[abprs]|e(?:\.xox[bp])?)-(?:[0-9]{6,}-){1,3}[0-9A-Za-z]{10,64})\b`), SecretGroup: 1, Entropy: 3.0, Public: 5},
		{ID: "slack-webhook", Description: "Slack incoming webhook URL",
			Keywords: []string{"hooks.slack.com"},
			Regex:    re(`hooks\.slack\.com/(?:services|workflows|triggers)/(T[0-9A-Z]{8,}/[0-9A-Z]{8,}/[0-9A-Za-z]{20,})`), SecretGroup: 1, Entropy: 3.0},
		{ID: "discord-webhook", Description: "Discord webhook URL",
			Keywords: []string{"discord.com/api/webhooks", "discordapp.com/api/webhooks"},
			Regex:    re(`discord(?:app)?\.com/api/webhooks/([0-9]{17,20}/[0-9A-Za-z_\-]{60,68})`), SecretGroup: 1, Entropy: 3.5},
		{ID: "telegram-bot-token", Description: "Telegram bot token",
			Keywords: []string{":aa"},
			Regex:    re(`\b([0-9]{8,10}:AA[0-9A-Za-z_\-]{33})` + tokEnd), SecretGroup: 1, Entropy: 3.5},
		{ID: "sendgrid-api-key", Description: "SendGrid API key",
			Keywords: []string{"sg."},
			Regex:    re(`\b(SG\.[0-9A-Za-z_\-]{22}\.[0-9A-Za-z_\-]{43})` + tokEnd), SecretGroup: 1, Entropy: 4.0, Public: 3},
		{ID: "mailgun-api-key", Description: "Mailgun API key",
			Keywords: []string{"key-"},
			Regex:    re(`\b(key-[0-9a-f]{32})\b`), SecretGroup: 1, Entropy: 3.3, Public: 4},
		{ID: "mailchimp-api-key", Description: "Mailchimp API key",
			Keywords: []string{"-us"},
			Regex:    re(`\b([0-9a-f]{32}-us[0-9]{1,2})\b`), SecretGroup: 1, Entropy: 3.3},
		{ID: "stripe-key", Description: "Stripe secret or restricted key",
			Keywords: []string{"sk_live_", "sk_test_", "rk_live_", "rk_test_"},
			Regex:    re(`\b([sr]k_(?:live|test)_[0-9A-Za-z]{24,99})\b`), SecretGroup: 1, Entropy: 3.5, Public: 8},
		{ID: "stripe-webhook-secret", Description: "Stripe webhook signing secret",
			Keywords: []string{"whsec_"},
			Regex:    re(`\b(whsec_[0-9A-Za-z+/]{32,})`), SecretGroup: 1, Entropy: 3.5, Public: 6},
		{ID: "square-token", Description: "Square access token or application secret",
			Keywords: []string{"sq0atp-", "sq0csp-"},
			Regex:    re(`\b(sq0(?:atp|csp)-[0-9A-Za-z_\-]{22,43})` + tokEnd), SecretGroup: 1, Entropy: 3.5, Public: 7},
		{ID: "braintree-access-token", Description: "PayPal Braintree access token",
			Keywords: []string{"access_token$production$"},
			Regex:    re(`(access_token\$production\$[0-9a-z]{16}\$[0-9a-f]{32})`), SecretGroup: 1, Entropy: 3.0},
		{ID: "shopify-token", Description: "Shopify access token or shared secret",
			Keywords: []string{"shpat_", "shpca_", "shppa_", "shpss_"},
			Regex:    re(`\b(shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32})\b`), SecretGroup: 1, Entropy: 3.0, Public: 6},

		// Keys, tokens and connection strings with a structure of their own.
		{ID: "private-key", Description: "Private key (PEM)",
			Keywords:  []string{"-----begin"},
			Regex:     re(`-----BEGIN[ A-Z0-9]{0,20}PRIVATE KEY(?: BLOCK)?-----[\s\S]{20,}?-----END[ A-Z0-9]{0,20}PRIVATE KEY(?: BLOCK)?-----`),
			Multiline: true, MaxSpan: 16 << 10, Validate: ValidPrivateKey, NoPlaceholderCheck: true, Public: 0},
		{ID: "kubeadm-bootstrap-token", Description: "kubeadm bootstrap token",
			Keywords: []string{"token:", "token\":", "token':", "token=", "token =", "--token", "--discovery-token"},
			Regex:    re(`(?i)(?:token["']?\s*[:=]\s*["']?|--token[= ]|--discovery-token[= ])([a-z0-9]{6}\.[a-z0-9]{16})\b`), SecretGroup: 1,
			Entropy: 3.0, Validate: func(s string) bool { return s != "abcdef.0123456789abcdef" }},
		{ID: "age-secret-key", Description: "age encryption secret key",
			Keywords: []string{"age-secret-key-1"},
			Regex:    re(`\b(AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58})\b`), SecretGroup: 1,
			Validate: ValidBech32, NoPlaceholderCheck: true, Public: 15},
		{ID: "jwt", Description: "JSON Web Token",
			Keywords: []string{"eyj"},
			Regex:    re(`\b(eyJ[0-9A-Za-z_\-]{8,}\.eyJ[0-9A-Za-z_\-]{8,}\.[0-9A-Za-z_\-]{16,})` + tokEnd), SecretGroup: 1,
			Validate: ValidJWT, NoPlaceholderCheck: true, Public: 3},
		{ID: "database-uri", Description: "Database URI with a password",
			Keywords: []string{"postgres", "mysql", "mariadb", "mongodb", "redis", "amqp", "mssql", "sqlserver", "clickhouse", "cockroachdb", "jdbc:"},
			Regex:    re(`\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|amqps?|mssql|sqlserver|clickhouse|cockroachdb)://([^\s:@/"'<>\x60]{0,64}):([^\s@/"'<>\x60]{3,128})@[^\s"'<>\x60]+`), SecretGroup: 2,
			Validate: notTrivialPassword},
		{ID: "url-credentials", Description: "URL with an embedded password",
			Keywords: []string{"://"},
			Regex:    re(`\b(?:https?|ftps?|sftp|smtps?|ldaps?|git|ssh|svn)://([^\s:@/"'<>\x60]{1,64}):([^\s@/"'<>\x60]{3,128})@[0-9A-Za-z.\-]+`), SecretGroup: 2,
			Validate: notTrivialPassword, Yield: true},
		{ID: "connection-string-password", Description: "Password in a connection string",
			Keywords: []string{"password=", "pwd="},
			Regex:    re(`(?i)(?:server|data source|host|uid|user id|username|user)\s*=[^;"'\n]*;[^"'\n]*?\b(?:password|pwd)\s*=\s*([^;"'\s]{3,128})`), SecretGroup: 1,
			Validate: notTrivialPassword},
		{ID: "authorization-header", Description: "Credential in an HTTP Authorization header",
			Keywords: []string{"authorization", "bearer "},
			Regex:    re(`(?i)(?:authorization["']?\s*[:=]\s*["']?(?:bearer|basic|token)|\bbearer)\s+([0-9A-Za-z._~+/\-]{20,}={0,2})`), SecretGroup: 1,
			Entropy: 3.5, Validate: headerCredential, Yield: true},
		{ID: "netrc-password", Description: "Password in a .netrc entry",
			Keywords: []string{"machine"},
			Regex:    netrcEntry, SecretGroup: 1, Validate: notTrivialPassword,
			// In a .netrc file an entry may span lines (the keyword is in
			// every Go import of apimachinery: no multi-line window elsewhere).
			Detect: netrcBlock},

		// Credentials with no structure of their own: the name they are
		// assigned to and the vendor named nearby tell them apart.
		{ID: "datadog-api-key", Description: "Datadog API key",
			Keywords: []string{"api_key", "apikey", "api-key"},
			Detect:   Named{Names: []string{"apikey"}, Vendor: []string{"datadog"}, NameOnly: []string{"dd"}, Value: re(`^[0-9a-f]{32}$`)}.Detect,
			Entropy:  3.0},
		{ID: "datadog-app-key", Description: "Datadog application key",
			Keywords: []string{"app_key", "appkey", "app-key", "application_key", "applicationkey", "application-key"},
			Detect:   Named{Names: []string{"appkey", "applicationkey"}, Vendor: []string{"datadog"}, NameOnly: []string{"dd"}, Value: re(`^[0-9a-f]{40}$`)}.Detect,
			Entropy:  3.0},
		{ID: "twilio-auth-token", Description: "Twilio auth token",
			Keywords: []string{"auth_token", "authtoken", "auth-token"},
			Detect:   Named{Names: []string{"authtoken"}, Vendor: []string{"twilio"}, Value: re(`^[0-9a-f]{32}$`)}.Detect,
			Entropy:  3.0},
		{ID: "heroku-api-key", Description: "Heroku API key",
			Keywords: []string{"heroku"},
			Detect: Named{Names: []string{"apikey", "apitoken", "authtoken", "token"}, Vendor: []string{"heroku"},
				Value: re(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)}.Detect},
		{ID: "mapbox-secret-token", Description: "Mapbox secret access token",
			Keywords: []string{"sk.eyj"},
			Regex:    re(`\b(sk\.eyJ[0-9A-Za-z_\-]{20,}\.[0-9A-Za-z_\-]{20,})` + tokEnd), SecretGroup: 1, Entropy: 3.5, Public: 3},
		{ID: "wordpress-salt", Description: "WordPress authentication key or salt (wp-config.php)",
			Keywords: []string{"auth_key", "logged_in_key", "nonce_key", "auth_salt", "logged_in_salt", "nonce_salt"},
			Regex:    re(`(?i)define\(\s*['"](?:SECURE_)?(?:AUTH|LOGGED_IN|NONCE)_(?:KEY|SALT)['"]\s*,\s*['"]([^'"]{32,128})['"]\s*\)`), SecretGroup: 1,
			// The sample file's "put your unique phrase here" is plain words.
			Entropy: 4.5, NoPlaceholderCheck: true},

		Generic("generic-password", "Hardcoded password", true),
		Generic("generic-secret", "Hardcoded secret, token or API key", false),
	}
}

var netrcEntry = regexp.MustCompile(`\bmachine[ \t]+\S+\s+login\s+\S+\s+password[ \t]+(\S{4,})`)

// netrcBlock reads an entry of a .netrc file over the lines that follow.
func netrcBlock(w Window) []Candidate {
	if b := path.Base(w.Path); b != ".netrc" && b != "_netrc" || len(w.Next) == 0 {
		return nil
	}
	text := make([]byte, 0, len(w.Text)+1+len(w.Next))
	text = append(append(append(text, w.Text...), '\n'), w.Next...)
	m := netrcEntry.FindSubmatchIndex(text)
	if m == nil || m[2] < len(w.Text) && m[3] <= len(w.Text) {
		return nil // none, or on the window's own line (the regex sees it)
	}
	return []Candidate{{Start: m[2], End: m[3], Secret: string(text[m[2]:m[3]])}}
}

// trivialPasswords are the passwords of tutorials and local development
// setups ("postgres://postgres:postgres@localhost").
var trivialPasswords = map[string]bool{
	"password": true, "pass": true, "passwd": true, "pwd": true, "secret": true, "changeme": true,
	"postgres": true, "mysql": true, "root": true, "admin": true, "test": true, "testing": true,
	"guest": true, "user": true, "username": true, "foo": true, "bar": true, "baz": true,
	"mypassword": true, "mysecret": true, "pa55word": true, "p@ssw0rd": true, "example": true,
	"redis": true, "rabbitmq": true, "mongo": true, "mongodb": true, "sa": true, "123456": true, "1234": true,
}

func notTrivialPassword(s string) bool {
	return !IsTrivialPassword(s) && !IsTemplated(s)
}

// IsTrivialPassword reports the passwords of tutorials and local setups.
func IsTrivialPassword(s string) bool { return trivialPasswords[lowerASCII(s)] }

// headerCredential rejects code identifiers read as tokens ("Bearer
// accessToken") and Basic credentials of documentation (user:password).
func headerCredential(s string) bool {
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && strings.Contains(string(b), ":") && utf8.Valid(b) {
		return ValidBasicAuth(s)
	}
	return notIdentifier(s)
}

// notIdentifier rejects code identifiers read as tokens ("Bearer accessToken").
func notIdentifier(s string) bool {
	digits := 0
	for i := 0; i < len(s); i++ {
		if '0' <= s[i] && s[i] <= '9' {
			digits++
		}
	}
	return digits > 0
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
