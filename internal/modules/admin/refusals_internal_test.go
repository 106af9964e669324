package admin

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/platform/clock"
	"github.com/simplemodule-go/simplemodule/internal/platform/web"
)

// refusingUsers is a Users module that refuses every change with err.
// Refusals such as the last administrator cannot be reached through the
// real module from the web (an admin acting on another admin leaves two),
// yet each needs its message.
type refusingUsers struct {
	contracts.Admin // nil: a call this test does not expect panics
	err             error
}

func (f refusingUsers) Get(_ context.Context, id string) (contracts.User, error) {
	return contracts.User{ID: id, Email: id + "@example.com", Roles: []string{contracts.RoleAdmin}}, nil
}

func (f refusingUsers) SetAdmin(context.Context, string, string, bool, string) error { return f.err }

func (f refusingUsers) Delete(context.Context, string, string, string) error { return f.err }

func TestRefusalMessages(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		action  string
		wantMsg string
	}{
		{name: "revoke own role", err: contracts.ErrSelf, action: "revoke-admin", wantMsg: "You cannot change your own roles"},
		{name: "revoke last admin", err: contracts.ErrLastAdmin, action: "revoke-admin", wantMsg: "last administrator, so the Admin role stays"},
		{name: "delete oneself", err: contracts.ErrSelf, action: "delete", wantMsg: "You cannot delete your own account"},
		{name: "delete last admin", err: contracts.ErrLastAdmin, action: "delete", wantMsg: "last administrator and cannot be deleted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			kit := web.NewKit(nil, log, clock.NewFake(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)), []byte("test secret of thirty-two bytes!"), false, nil)
			m := New(Deps{Kit: kit, Users: refusingUsers{err: tt.err}})
			reg := m.Registry()
			var err error
			if kit.Renderer, err = web.NewRenderer(web.Platform(), reg); err != nil {
				t.Fatal(err)
			}
			mux := http.NewServeMux()
			web.Mount(mux, func(h http.Handler) http.Handler { return h }, reg)
			req := httptest.NewRequest(http.MethodPost, "/admin/users/someone/"+tt.action, nil)
			req = req.WithContext(contracts.WithUser(req.Context(), contracts.User{ID: "me", Roles: []string{contracts.RoleAdmin}}))
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			if rec.Code != http.StatusUnprocessableEntity {
				t.Fatalf("got %d, want 422", rec.Code)
			}
			body := rec.Body.String()
			if !strings.Contains(body, `data-testid="form-error"`) || !strings.Contains(body, tt.wantMsg) {
				t.Errorf("page does not say %q in its form error", tt.wantMsg)
			}
		})
	}
}
