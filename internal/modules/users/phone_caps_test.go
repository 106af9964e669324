package users_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
	"github.com/simplemodule-go/simplemodule/internal/platform/config"
)

// twoInstances starts two applications on one database, as two servers
// behind a load balancer would run; change adjusts both configurations.
func twoInstances(t *testing.T, db string, change func(*config.Config)) (*apptest.Env, *apptest.Env) {
	t.Helper()
	first := apptest.Start(t, db, change)
	second := apptest.Start(t, db, func(c *config.Config) {
		if change != nil {
			change(c)
		}
		c.DatabaseURL = first.DBURL
	})
	return first, second
}

// burst signs up n users, alternately on each instance, then has them all
// send a code at once, user i to number(i), and counts the statuses.
func burst(t *testing.T, envs [2]*apptest.Env, n int, number func(i int) string) map[int]int {
	t.Helper()
	clients := make([]*apptest.Client, n)
	for i := range clients {
		clients[i] = phoneSignUp(envs[i%2], fmt.Sprintf("user%d@example.com", i))
	}
	statuses := make([]int, n)
	var start, wg sync.WaitGroup
	start.Add(1)
	for i, c := range clients {
		wg.Go(func() {
			start.Wait()
			statuses[i] = phoneSend(c, number(i)).Status
		})
	}
	start.Done()
	wg.Wait()
	counts := map[int]int{}
	for _, s := range statuses {
		counts[s]++
	}
	return counts
}

// The hourly caps stay exact under a burst spread over two instances on
// one database: exactly the cap is sent, every other request is refused.
func TestPhoneCapsExactAcrossInstances(t *testing.T) {
	tests := []struct {
		name   string
		change func(*config.Config)
		number func(i int) string
		cap    int
	}{
		{
			name:   "per number",
			change: func(c *config.Config) { c.PhoneSendsPerNumber, c.PhoneSendsPerIP = 5, 0 },
			number: func(int) string { return phoneNumberA },
			cap:    5,
		},
		{
			name:   "per network",
			change: func(c *config.Config) { c.PhoneSendsPerNumber, c.PhoneSendsPerIP = 0, 7 },
			number: func(i int) string { return fmt.Sprintf("+1415555%04d", 100+i) },
			cap:    7,
		},
	}
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a, b := twoInstances(t, db, tt.change)
				const n = 16
				got := burst(t, [2]*apptest.Env{a, b}, n, tt.number)
				if got[http.StatusSeeOther] != tt.cap || got[http.StatusTooManyRequests] != n-tt.cap {
					t.Errorf("statuses of %d sends at once over two instances: got %v, want %d × 303 and %d × 429", n, got, tt.cap, n-tt.cap)
				}
				sent := phoneSMSCount(a) + phoneSMSCount(b)
				if sent != tt.cap {
					t.Errorf("SMS sent: got %d, want %d", sent, tt.cap)
				}
			})
		}
	})
}
