package admin

import (
	"testing"

	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
)

func TestAuditRowsWordsAndActors(t *testing.T) {
	const subject, adminID = "u-1", "a-1"
	tests := []struct {
		name       string
		entry      contracts.AuditEntry
		wantWords  string
		wantActor  string
		wantDetail string
	}{
		{name: "own action", entry: contracts.AuditEntry{ActorID: subject, ActorEmail: "dana@example.com", Action: "phone.removed", Detail: "+12015550123"},
			wantWords: "Phone number removed", wantActor: "self", wantDetail: "+1 201-555-0123"},
		{name: "registration has no actor id", entry: contracts.AuditEntry{Action: "user.registered"}, wantWords: "Signed up", wantActor: "self"},
		{name: "admin action", entry: contracts.AuditEntry{ActorID: adminID, ActorEmail: "admin@example.com", Action: "user.locked"},
			wantWords: "Account locked", wantActor: "admin@example.com"},
		{name: "deleted admin", entry: contracts.AuditEntry{ActorID: adminID, Action: "user.unlocked"}, wantWords: "Account unlocked", wantActor: adminID},
		{name: "system", entry: contracts.AuditEntry{Action: "signin.locked_out", Detail: "5 failed sign-ins"},
			wantWords: "Sign-in blocked after failed attempts", wantActor: "system", wantDetail: "5 failed sign-ins"},
		{name: "unknown action as it is", entry: contracts.AuditEntry{ActorID: subject, Action: "webhook.added"}, wantWords: "webhook.added", wantActor: "self"},
		{name: "change of number", entry: contracts.AuditEntry{ActorID: subject, Action: "phone.confirmed", Detail: "+12015550123 → +447400123456"},
			wantWords: "Phone number verified", wantActor: "self", wantDetail: "+1 201-555-0123 → +44 7400 123456"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := auditRows(subject, []contracts.AuditEntry{tt.entry})[0]
			if r.Words != tt.wantWords || r.Actor != tt.wantActor || r.Detail != tt.wantDetail {
				t.Errorf("got (%q, %q, %q), want (%q, %q, %q)", r.Words, r.Actor, r.Detail, tt.wantWords, tt.wantActor, tt.wantDetail)
			}
		})
	}
}
