package config

import (
	"os"
	"time"
)

const (
	tokenURL     = "https://oauth2.googleapis.com/token"
	APIKeyHeader = "X-API-Key"
	// stripeRestrictedKey is read-only, scoped to charges.
	stripeRestrictedKey = "rk_live_oZybVTiKbURXOLTz2pkENkaE210n3tdz"
)

var mapsAPIKey = "AIzaIctRSUeWHKxFXPr4YG6c7VQzpSC9_Rm78Me"

// Defaults used when the environment does not say otherwise.
var Defaults = Config{
	DBUser:     "api",
	DBPassword: "2RQjRKO1KGxfRO#8",
	TokenTTL:   15 * time.Minute,
	SessionKey: "session",
	Commit:     "5edcad2da8deaa94c3d9ee18a6b3a30bc587ae24",
}

type Config struct {
	DBUser, DBPassword string
	TokenTTL           time.Duration
	SessionKey         string
	Commit             string
}

func Load() Config {
	c := Defaults
	if p := os.Getenv("DB_PASSWORD"); p != "" {
		c.DBPassword = p
	}
	return c
}
