package messaging_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/simplemodule-go/simplemodule/internal/messaging"
)

func TestKindOf(t *testing.T) {
	cause := errors.New("provider said no")
	tests := []struct {
		name          string
		err           error
		wantPermanent bool
		wantKind      messaging.FailureKind
		wantCode      string
	}{
		{name: "nil", err: nil},
		{name: "transient", err: cause},
		{name: "transient timeout", err: fmt.Errorf("send: %w", context.DeadlineExceeded)},
		{name: "permanent without kind", err: messaging.Permanent("P-104", cause), wantPermanent: true, wantKind: messaging.FailureOther, wantCode: "P-104"},
		{name: "empty kind reads as other", err: &messaging.PermanentError{Err: cause}, wantPermanent: true, wantKind: messaging.FailureOther},
		{name: "invalid recipient", err: messaging.PermanentFailure(messaging.FailureInvalidRecipient, "P-101", cause), wantPermanent: true, wantKind: messaging.FailureInvalidRecipient, wantCode: "P-101"},
		{name: "wrapped keeps its kind", err: fmt.Errorf("deliver: %w", messaging.PermanentFailure(messaging.FailureBlocked, "", cause)), wantPermanent: true, wantKind: messaging.FailureBlocked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := messaging.IsPermanent(tt.err); got != tt.wantPermanent {
				t.Errorf("IsPermanent: got %v, want %v", got, tt.wantPermanent)
			}
			if got := messaging.KindOf(tt.err); got != tt.wantKind {
				t.Errorf("KindOf: got %q, want %q", got, tt.wantKind)
			}
			if got := messaging.PermanentCode(tt.err); got != tt.wantCode {
				t.Errorf("PermanentCode: got %q, want %q", got, tt.wantCode)
			}
		})
	}
}

func TestPermanentErrorText(t *testing.T) {
	err := messaging.PermanentFailure(messaging.FailureUnreachable, "P-102", errors.New("not a mobile number"))
	if got, want := err.Error(), "not a mobile number (permanent, unreachable, code P-102)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if !errors.Is(err, errors.Unwrap(err)) {
		t.Errorf("the cause is not reachable through Unwrap")
	}
}
