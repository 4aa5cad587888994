package auth

// testKey is a throwaway key for the signer tests.
const testKey = `-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIEQ6BGQXMdhPA0f0zQGg7XV3wyZUHjHQIda3oOshpJJwoAoGCCqGSM49
AwEHoUQDQgAEXEkV4KhXx0wF7Z04ywT/rjnMGFt8zviUysdQh1YEM5NqK/X4RBhV
WmOmbEPbSv+C1zXoVWAJYwKNzPRJRIHPZg==
-----END EC PRIVATE KEY-----`

func TestSign(t *testing.T) {}
