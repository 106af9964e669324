package config_test

import (
	"testing"
	"time"
)

func TestHSTSSettings(t *testing.T) {
	const year = 365 * 24 * time.Hour
	tests := []struct {
		name        string
		env         map[string]string
		args        []string
		wantMaxAge  time.Duration
		wantPreload bool
		wantErr     string // the setting the one-line error must name; "" for none
	}{
		{name: "defaults: one year, no preload", wantMaxAge: year},
		{name: "whole seconds", env: map[string]string{"SIMPLEMODULE_HSTS_MAX_AGE": "3600"}, wantMaxAge: time.Hour},
		{name: "a duration", env: map[string]string{"SIMPLEMODULE_HSTS_MAX_AGE": "17520h"}, wantMaxAge: 2 * year},
		{name: "zero turns the header off", env: map[string]string{"SIMPLEMODULE_HSTS_MAX_AGE": "0"}, wantMaxAge: 0},
		{name: "flag wins", env: map[string]string{"SIMPLEMODULE_HSTS_MAX_AGE": "0"}, args: []string{"--hsts-max-age", "600"}, wantMaxAge: 10 * time.Minute},
		{name: "preload with the default max-age", env: map[string]string{"SIMPLEMODULE_HSTS_PRELOAD": "true"}, wantMaxAge: year, wantPreload: true},
		{name: "preload with two years", env: map[string]string{"SIMPLEMODULE_HSTS_PRELOAD": "true", "SIMPLEMODULE_HSTS_MAX_AGE": "63072000"}, wantMaxAge: 2 * year, wantPreload: true},
		{name: "preload flag", args: []string{"--hsts-preload"}, wantMaxAge: year, wantPreload: true},
		{name: "preload with a short max-age", env: map[string]string{"SIMPLEMODULE_HSTS_PRELOAD": "true", "SIMPLEMODULE_HSTS_MAX_AGE": "86400"}, wantErr: "SIMPLEMODULE_HSTS_PRELOAD"},
		{name: "preload without a header", env: map[string]string{"SIMPLEMODULE_HSTS_PRELOAD": "true", "SIMPLEMODULE_HSTS_MAX_AGE": "0"}, wantErr: "SIMPLEMODULE_HSTS_PRELOAD"},
		{name: "preload not a boolean", env: map[string]string{"SIMPLEMODULE_HSTS_PRELOAD": "yes please"}, wantErr: "SIMPLEMODULE_HSTS_PRELOAD"},
		{name: "negative max-age", env: map[string]string{"SIMPLEMODULE_HSTS_MAX_AGE": "-1"}, wantErr: "SIMPLEMODULE_HSTS_MAX_AGE"},
		{name: "max-age in fractions of a second", env: map[string]string{"SIMPLEMODULE_HSTS_MAX_AGE": "1500ms"}, wantErr: "SIMPLEMODULE_HSTS_MAX_AGE"},
		{name: "max-age beyond two years", env: map[string]string{"SIMPLEMODULE_HSTS_MAX_AGE": "63072001"}, wantErr: "SIMPLEMODULE_HSTS_MAX_AGE"},
		{name: "max-age not a number", env: map[string]string{"SIMPLEMODULE_HSTS_MAX_AGE": "1y"}, wantErr: "SIMPLEMODULE_HSTS_MAX_AGE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ok := loadCase(t, tt.args, tt.env, tt.wantErr)
			if !ok {
				return
			}
			if c.HSTSMaxAge != tt.wantMaxAge || c.HSTSPreload != tt.wantPreload {
				t.Errorf("got max-age %s, preload %t; want %s, %t", c.HSTSMaxAge, c.HSTSPreload, tt.wantMaxAge, tt.wantPreload)
			}
		})
	}
}
