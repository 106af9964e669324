package account_test

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/messaging/outbox"
	"github.com/simplemodule-go/simplemodule/internal/modules/users"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/internal/account"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/internal/store"
	"github.com/simplemodule-go/simplemodule/internal/platform/clock"
	"github.com/simplemodule-go/simplemodule/internal/platform/database"
	"github.com/simplemodule-go/simplemodule/internal/platform/database/dbtest"
	"github.com/simplemodule-go/simplemodule/internal/platform/events"
)

// roleFixture is the account service on a fresh database, with the
// RoleChanged events its transactional subscribers saw.
type roleFixture struct {
	svc    *account.Service
	mu     sync.Mutex
	events []contracts.RoleChanged
}

func newRoleFixture(t *testing.T, engine string) *roleFixture {
	t.Helper()
	ctx := context.Background()
	db, err := database.Open(ctx, dbtest.URL(t, engine))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx, database.PlatformMigrations(), outbox.Migrations(), users.Migrations()); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	f := &roleFixture{}
	bus := events.NewBus(slog.New(slog.DiscardHandler))
	bus.SubscribeTx(func(_ context.Context, _ *sql.Tx, ev any) error {
		if rc, ok := ev.(contracts.RoleChanged); ok {
			f.mu.Lock()
			f.events = append(f.events, rc)
			f.mu.Unlock()
		}
		return nil
	})
	f.svc = account.New(account.Deps{Store: &store.Store{DB: db, Clock: clk}, Clock: clk, Bus: bus, Log: slog.New(slog.DiscardHandler)})
	return f
}

// user stores an account with the given roles and returns its id.
func (f *roleFixture) user(t *testing.T, email string, roles ...string) string {
	t.Helper()
	a := f.svc.Store.NewAccount(email, "not-a-hash", true, roles)
	if err := f.svc.Store.InsertAccount(context.Background(), f.svc.Store.DB, a); err != nil {
		t.Fatal(err)
	}
	return a.ID
}

func (f *roleFixture) isAdmin(t *testing.T, id string) bool {
	t.Helper()
	a, err := f.svc.Store.AccountByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return a.HasRole(contracts.RoleAdmin)
}

func (f *roleFixture) actions(t *testing.T, id string) []string {
	t.Helper()
	trail, err := f.svc.Store.AuditTrail(context.Background(), id, 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range trail {
		out = append(out, e.Action+" by "+e.ActorID)
	}
	return out
}

func TestSetAdminRules(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, engine string) {
		ctx := context.Background()
		f := newRoleFixture(t, engine)
		root := f.user(t, "root@example.com", contracts.RoleAdmin)
		bob := f.user(t, "bob@example.com")

		tests := []struct {
			name          string
			actor, target string
			grant         bool
			wantErr       error
			wantAdmin     bool // the target's role afterwards
		}{
			{name: "self demotion refused", actor: root, target: root, grant: false, wantErr: contracts.ErrSelf, wantAdmin: true},
			{name: "self grant refused", actor: bob, target: bob, grant: true, wantErr: contracts.ErrSelf, wantAdmin: false},
			{name: "last admin kept from the command line", actor: "", target: root, grant: false, wantErr: contracts.ErrLastAdmin, wantAdmin: true},
			{name: "revoking a non-admin changes nothing", actor: root, target: bob, grant: false, wantErr: account.ErrRoleUnchanged, wantAdmin: false},
			{name: "grant", actor: root, target: bob, grant: true, wantAdmin: true},
			{name: "grant again changes nothing", actor: root, target: bob, grant: true, wantErr: account.ErrRoleUnchanged, wantAdmin: true},
			{name: "revoke with another admin left", actor: "", target: root, grant: false, wantAdmin: false},
			{name: "the remaining admin is the last", actor: "", target: bob, grant: false, wantErr: contracts.ErrLastAdmin, wantAdmin: true},
			{name: "unknown user", actor: bob, target: "no-such-id", grant: true, wantErr: account.ErrNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := f.svc.SetAdmin(ctx, tt.actor, tt.target, tt.grant, account.Client{IP: "192.0.2.1"})
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("got error %v, want %v", err, tt.wantErr)
				}
				if tt.target == "no-such-id" {
					return
				}
				if got := f.isAdmin(t, tt.target); got != tt.wantAdmin {
					t.Errorf("admin afterwards: got %v, want %v", got, tt.wantAdmin)
				}
			})
		}

		// Only the two changes were audited and emitted, with their actors.
		if got, want := f.actions(t, bob), []string{account.ActionRoleGranted + " by " + root}; !slices.Equal(got, want) {
			t.Errorf("bob's audit trail: got %q, want %q", got, want)
		}
		if got, want := f.actions(t, root), []string{account.ActionRoleRevoked + " by "}; !slices.Equal(got, want) {
			t.Errorf("root's audit trail: got %q, want %q", got, want)
		}
		want := []contracts.RoleChanged{
			{UserID: bob, ActorID: root, Role: contracts.RoleAdmin, Granted: true},
			{UserID: root, ActorID: "", Role: contracts.RoleAdmin, Granted: false},
		}
		if !slices.Equal(f.events, want) {
			t.Errorf("events: got %+v, want %+v", f.events, want)
		}
	})
}

// TestSetAdminConcurrentDemotions has two administrators demote each other
// at the same moment, again and again: exactly one may win each round, or
// the application would be left with no administrator.
func TestSetAdminConcurrentDemotions(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, engine string) {
		ctx := context.Background()
		f := newRoleFixture(t, engine)
		for round := range 5 {
			a := f.user(t, "a"+string(rune('0'+round))+"@example.com", contracts.RoleAdmin)
			b := f.user(t, "b"+string(rune('0'+round))+"@example.com", contracts.RoleAdmin)
			var wg sync.WaitGroup
			errs := make([]error, 2)
			start := make(chan struct{})
			for i, pair := range [][2]string{{a, b}, {b, a}} {
				wg.Go(func() {
					<-start
					errs[i] = f.svc.SetAdmin(ctx, pair[0], pair[1], false, account.Client{})
				})
			}
			close(start)
			wg.Wait()
			var won, refused int
			for _, err := range errs {
				switch {
				case err == nil:
					won++
				case errors.Is(err, contracts.ErrLastAdmin):
					refused++
				default:
					t.Fatalf("round %d: unexpected error %v", round, err)
				}
			}
			if won != 1 || refused != 1 {
				t.Fatalf("round %d: got %d demotions and %d refusals, want 1 and 1", round, won, refused)
			}
			if f.isAdmin(t, a) == f.isAdmin(t, b) {
				t.Fatalf("round %d: want exactly one of the two still admin", round)
			}
			// The survivor steps down outside the rules, so the next pair
			// are the only administrators.
			for _, id := range []string{a, b} {
				if _, err := f.svc.Store.RemoveRole(ctx, f.svc.Store.DB, id, contracts.RoleAdmin); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}
