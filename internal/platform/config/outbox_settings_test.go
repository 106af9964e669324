package config_test

import (
	"testing"
	"time"
)

func TestOutboxDeliverySettings(t *testing.T) {
	tests := []struct {
		name      string
		env       map[string]string
		args      []string
		wantSMS   int
		wantEmail int
		wantTime  time.Duration
		wantErr   string // the setting the one-line error must name; "" for none
	}{
		{name: "defaults", wantSMS: 32, wantEmail: 8, wantTime: 10 * time.Second},
		{name: "from the environment", env: map[string]string{
			"SIMPLEMODULE_OUTBOX_SMS_CONCURRENCY":   "64",
			"SIMPLEMODULE_OUTBOX_EMAIL_CONCURRENCY": "2",
			"SIMPLEMODULE_OUTBOX_SEND_TIMEOUT":      "30s",
		}, wantSMS: 64, wantEmail: 2, wantTime: 30 * time.Second},
		{name: "flags win", env: map[string]string{"SIMPLEMODULE_OUTBOX_SMS_CONCURRENCY": "64"},
			args: []string{"--outbox-sms-concurrency", "4", "--outbox-send-timeout", "1s"}, wantSMS: 4, wantEmail: 8, wantTime: time.Second},
		{name: "zero sms slots", env: map[string]string{"SIMPLEMODULE_OUTBOX_SMS_CONCURRENCY": "0"}, wantErr: "SIMPLEMODULE_OUTBOX_SMS_CONCURRENCY"},
		{name: "email slots not a number", env: map[string]string{"SIMPLEMODULE_OUTBOX_EMAIL_CONCURRENCY": "many"}, wantErr: "SIMPLEMODULE_OUTBOX_EMAIL_CONCURRENCY"},
		{name: "timeout without unit", env: map[string]string{"SIMPLEMODULE_OUTBOX_SEND_TIMEOUT": "10"}, wantErr: "SIMPLEMODULE_OUTBOX_SEND_TIMEOUT"},
		{name: "timeout too short", env: map[string]string{"SIMPLEMODULE_OUTBOX_SEND_TIMEOUT": "100ms"}, wantErr: "SIMPLEMODULE_OUTBOX_SEND_TIMEOUT"},
		{name: "timeout too long", env: map[string]string{"SIMPLEMODULE_OUTBOX_SEND_TIMEOUT": "1h"}, wantErr: "SIMPLEMODULE_OUTBOX_SEND_TIMEOUT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ok := loadCase(t, tt.args, tt.env, tt.wantErr)
			if !ok {
				return
			}
			if c.OutboxSMSConcurrency != tt.wantSMS || c.OutboxEmailConcurrency != tt.wantEmail || c.OutboxSendTimeout != tt.wantTime {
				t.Errorf("got sms %d, email %d, timeout %s; want %d, %d, %s",
					c.OutboxSMSConcurrency, c.OutboxEmailConcurrency, c.OutboxSendTimeout, tt.wantSMS, tt.wantEmail, tt.wantTime)
			}
		})
	}
}
