package config_test

import (
	"flag"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/simplemodule-go/simplemodule/internal/platform/config"
)

// Yes/no settings are real boolean flags: the name alone turns them on.
func TestBooleanFlags(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want bool
	}{
		{name: "default", want: false},
		{name: "flag alone", args: []string{"--require-confirmed-email"}, want: true},
		{name: "single dash", args: []string{"-require-confirmed-email"}, want: true},
		{name: "explicit false beats the variable", env: map[string]string{"SIMPLEMODULE_REQUIRE_CONFIRMED_EMAIL": "true"}, args: []string{"--require-confirmed-email=false"}, want: false},
		{name: "variable", env: map[string]string{"SIMPLEMODULE_REQUIRE_CONFIRMED_EMAIL": "true"}, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, rest, err := config.Load("simplemodule", tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if len(rest) != 0 {
				t.Errorf("got arguments left over %q, want none", rest)
			}
			if c.RequireConfirmedEmail != tt.want {
				t.Errorf("got RequireConfirmedEmail %v, want %v", c.RequireConfirmedEmail, tt.want)
			}
		})
	}
	// Every yes/no setting takes the short form.
	c, _, err := config.Load("simplemodule", []string{"--allow-console-in-production", "--hsts-preload", "--require-confirmed-email"}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !c.AllowConsoleInProduction || !c.HSTSPreload || !c.RequireConfirmedEmail {
		t.Errorf("got %+v, want every yes/no setting on", c)
	}
	if _, _, err := config.Load("simplemodule", []string{"--hsts-preload=maybe"}, func(string) string { return "" }, io.Discard); err == nil {
		t.Error("--hsts-preload=maybe: got no error, want one")
	}
}

// A command registers only the settings it uses as flags; the rest still
// come from the environment.
func TestSettingsFlagsSubset(t *testing.T) {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	s := config.NewSettings(func(k string) string {
		return map[string]string{"SIMPLEMODULE_PHONE_CODE_TTL": "3m"}[k]
	})
	s.Flags(fs, "SIMPLEMODULE_DATABASE_URL", "SIMPLEMODULE_LOG_LEVEL")
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	if want := []string{"database-url", "log-level"}; !slices.Equal(names, want) {
		t.Errorf("got flags %q, want %q", names, want)
	}
	if err := fs.Parse([]string{"--database-url", "sqlite:/tmp/x.db"}); err != nil {
		t.Fatal(err)
	}
	if err := fs.Parse([]string{"--smtp-host", "mail"}); err == nil {
		t.Error("--smtp-host on a command without it: got no error, want one")
	}
	c, err := s.Config()
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != "sqlite:/tmp/x.db" || c.PhoneCodeTTL.String() != "3m0s" {
		t.Errorf("got database %q and code TTL %s, want the flag's and the variable's", c.DatabaseURL, c.PhoneCodeTTL)
	}
}

func TestUnknownEnv(t *testing.T) {
	tests := []struct {
		name    string
		environ []string
		want    []string
	}{
		{name: "known and foreign variables", environ: []string{"SIMPLEMODULE_ADDR=:1", "HOME=/root", "SIMPLEMODULE_TEST_POSTGRES_URL=x"}},
		{name: "typo", environ: []string{"SIMPLEMODULE_PHONE_CODE_TLL=5m"},
			want: []string{"SIMPLEMODULE_PHONE_CODE_TLL", "did you mean SIMPLEMODULE_PHONE_CODE_TTL?"}},
		{name: "missing letter", environ: []string{"SIMPLEMODULE_DATABASE_UR=sqlite:x"},
			want: []string{"SIMPLEMODULE_DATABASE_UR", "did you mean SIMPLEMODULE_DATABASE_URL?"}},
		{name: "nothing close", environ: []string{"SIMPLEMODULE_COLOUR=blue"},
			want: []string{"SIMPLEMODULE_COLOUR is ignored"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := config.UnknownEnv(tt.environ, "SIMPLEMODULE_TEST_POSTGRES_URL")
			if len(tt.want) == 0 {
				if len(got) != 0 {
					t.Errorf("got warnings %q, want none", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("got %d warnings %q, want 1", len(got), got)
			}
			for _, w := range tt.want {
				if !strings.Contains(got[0], w) {
					t.Errorf("got %q, want it to contain %q", got[0], w)
				}
			}
			if strings.Contains(got[0], "did you mean") && !strings.Contains(strings.Join(tt.want, " "), "did you mean") {
				t.Errorf("got %q, want no guess", got[0])
			}
		})
	}
}
