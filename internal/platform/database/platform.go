package database

import (
	"context"
	"embed"
	"encoding/base64"
	"fmt"
	"io/fs"

	"github.com/simplemodule-go/simplemodule/internal/platform/secrets"
)

//go:embed migrations/*.sql
var platformMigrations embed.FS

// PlatformMigrations creates the tables the platform itself needs
// (settings, sessions).
func PlatformMigrations() Migrations {
	sub, _ := fs.Sub(platformMigrations, "migrations")
	return Migrations{Module: "platform", FS: sub}
}

// AppSecret returns configured when set; otherwise the secret stored in the
// database, generating and storing one on first use. Concurrent first starts
// agree on one value because the insert only happens when the row is absent.
func (db *DB) AppSecret(ctx context.Context, configured string) ([]byte, error) {
	if configured != "" {
		return []byte(configured), nil
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO app_settings (key, value) VALUES ('app_secret', $1) ON CONFLICT (key) DO NOTHING`,
		secrets.Token(32)); err != nil {
		return nil, fmt.Errorf("store app secret: %w", err)
	}
	var v string
	if err := db.QueryRowContext(ctx, `SELECT value FROM app_settings WHERE key = 'app_secret'`).Scan(&v); err != nil {
		return nil, fmt.Errorf("read app secret: %w", err)
	}
	return base64.RawURLEncoding.DecodeString(v)
}
