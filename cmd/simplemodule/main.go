// Command simplemodule runs the SimpleModule server and its maintenance
// commands: serve (default), migrate, user create, user set-admin,
// validate-pages, version and help.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/app"
	"github.com/simplemodule-go/simplemodule/internal/modules/users"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/platform/config"
	"github.com/simplemodule-go/simplemodule/internal/platform/database"
	"github.com/simplemodule-go/simplemodule/internal/platform/web"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	warnUnknownEnv(os.Stderr, os.Environ())
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "simplemodule:", err)
		os.Exit(1)
	}
}

// toolEnv are SIMPLEMODULE_* variables that tests and tools read, not the
// server: no warning for them.
var toolEnv = []string{"SIMPLEMODULE_TEST_POSTGRES_URL", "SIMPLEMODULE_UPDATE_SCREENSHOTS", "SIMPLEMODULE_LOADTEST_BIN"}

// warnUnknownEnv writes one line for each SIMPLEMODULE_* variable in
// environ that no setting reads: a misspelt setting is otherwise silently
// ignored and its default used.
func warnUnknownEnv(w io.Writer, environ []string) {
	for _, line := range config.UnknownEnv(environ, toolEnv...) {
		fmt.Fprintln(w, "simplemodule:", line)
	}
}

// command is one thing the binary does.
type command struct {
	name    string // as typed: "migrate", "user create"
	args    string // its arguments in the command list
	summary string // one line
	run     func(ctx context.Context, std cli, args []string) error
}

// cli is what a command reads and writes besides its arguments.
type cli struct {
	getenv         func(string) string
	stdin          io.Reader
	stdout, stderr io.Writer
}

func commands() []command {
	return []command{
		{name: "serve", args: "[flags]", summary: "run the server (the default command; migrates first)", run: runServe},
		{name: "migrate", args: "[--database-url URL]", summary: "apply migrations and exit", run: runMigrate},
		{name: "user create", args: "--email E (--password-stdin | --password P) [--admin]", summary: "create a user with a confirmed email, optionally an administrator", run: runUserCreate},
		{name: "user set-admin", args: "--email E [--revoke]", summary: "grant (or with --revoke, revoke) the Admin role of an existing account", run: runUserSetAdmin},
		{name: "validate-pages", summary: "check the page registry; exit 1 with a list of problems", run: runValidatePages},
		{name: "version", summary: "print the version and build details and exit", run: runVersion},
		{name: "help", args: "[command]", summary: "list the commands, or show one command's flags", run: runHelp},
	}
}

// commandList is the help for the binary as a whole.
func commandList() string {
	var b strings.Builder
	b.WriteString("usage: simplemodule [command] [flags]\n\ncommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-16s %s\n", c.name, c.summary)
	}
	b.WriteString("\nWithout a command, simplemodule serves. Every setting is also a SIMPLEMODULE_* variable.\n" +
		"Run \"simplemodule COMMAND --help\" for a command's flags.\n")
	return b.String()
}

// run is main without the process: testable, with injected environment
// and standard streams. Help asked for is no error (exit 0).
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	std := cli{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		return runServe(ctx, std, nil)
	}
	if isHelp(args[0]) {
		fmt.Fprint(stdout, commandList())
		return nil
	}
	if strings.HasPrefix(args[0], "-") {
		return runServe(ctx, std, args)
	}
	c, rest, err := lookup(args)
	if err != nil {
		fmt.Fprint(stderr, commandList())
		return err
	}
	return c.run(ctx, std, rest)
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool { return arg == "-h" || arg == "-help" || arg == "--help" }

// lookup finds the command args start with and returns the rest.
func lookup(args []string) (command, []string, error) {
	if args[0] == "user" {
		if len(args) < 2 || strings.HasPrefix(args[1], "-") {
			if len(args) == 2 && isHelp(args[1]) {
				return command{name: "user", run: runHelp}, nil, nil
			}
			return command{}, nil, errors.New("user needs a command: create or set-admin")
		}
		args = append([]string{"user " + args[1]}, args[2:]...)
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c, args[1:], nil
		}
	}
	return command{}, nil, fmt.Errorf("unknown command %q", args[0])
}

// newFlags returns the flag set of command name: its usage lists only its
// own flags.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("simplemodule "+name, flag.ContinueOnError)
	fs.Usage = func() {
		var c command
		for _, c = range commands() {
			if c.name == name {
				break
			}
		}
		out := fs.Output()
		fmt.Fprintf(out, "usage: simplemodule %s %s\n\n%s\n", name, c.args, c.summary)
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintln(out, "\nflags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

// errHelpShown says a command printed its help as asked; run returns nil.
var errHelpShown = errors.New("help shown")

// parse parses args into fs. --help prints the command's usage to stdout
// (errHelpShown); a mistake is one line pointing to it. Arguments left
// over are refused: every command takes only flags.
func parse(fs *flag.FlagSet, args []string, std cli) error {
	var out bytes.Buffer
	fs.SetOutput(&out)
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		std.stdout.Write(out.Bytes())
		return errHelpShown
	case err != nil:
		return fmt.Errorf("%w (see %s --help)", err, fs.Name())
	case fs.NArg() > 0:
		extra := fs.Arg(0)
		if i := len(args) - fs.NArg(); i > 0 && isBoolFlag(fs, args[i-1]) {
			return fmt.Errorf("unexpected argument %q: %s is a yes/no flag and takes no value (or write %s=%s)", extra, args[i-1], args[i-1], extra)
		}
		return fmt.Errorf("unexpected argument %q (see %s --help)", extra, fs.Name())
	}
	return nil
}

// isBoolFlag reports whether arg ("--admin") names a yes/no flag of fs.
func isBoolFlag(fs *flag.FlagSet, arg string) bool {
	f := fs.Lookup(strings.TrimLeft(arg, "-"))
	if f == nil || !strings.HasPrefix(arg, "-") {
		return false
	}
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// settings parses args for command name, whose flags are its own (added by
// own) and the settings envs (every setting when envs is nil, none when it
// is empty), and returns
// the checked configuration.
func settings(name string, args []string, std cli, envs []string, own func(fs *flag.FlagSet)) (config.Config, error) {
	fs := newFlags(name)
	s := config.NewSettings(std.getenv)
	if own != nil {
		own(fs)
	}
	switch {
	case envs == nil:
		s.Flags(fs)
	case len(envs) > 0:
		s.Flags(fs, envs...)
	}
	if err := parse(fs, args, std); err != nil {
		return config.Config{}, err
	}
	return s.Config()
}

// helped turns the help a command showed into success.
func helped(err error) error {
	if errors.Is(err, errHelpShown) {
		return nil
	}
	return err
}

func runServe(ctx context.Context, std cli, args []string) error {
	cfg, err := settings("serve", args, std, nil, nil)
	if err != nil {
		return helped(err)
	}
	return serve(ctx, cfg, newLogger(cfg, std.stderr))
}

func runMigrate(ctx context.Context, std cli, args []string) error {
	cfg, err := settings("migrate", args, std, []string{"SIMPLEMODULE_DATABASE_URL", "SIMPLEMODULE_LOG_LEVEL"}, nil)
	if err != nil {
		return helped(err)
	}
	db, err := database.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx, app.Migrations()...); err != nil {
		return err
	}
	fmt.Fprintln(std.stdout, "migrations applied")
	return nil
}

func runValidatePages(ctx context.Context, std cli, args []string) error {
	cfg, err := settings("validate-pages", args, std, []string{}, nil)
	if err != nil {
		return helped(err)
	}
	dir, err := os.MkdirTemp("", "simplemodule-validate")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg.DatabaseURL = "sqlite:" + dir + "/validate.db"
	a, err := app.New(ctx, cfg, slog.New(slog.DiscardHandler), app.Options{})
	if err != nil {
		return err
	}
	defer a.Close()
	return validatePages(std.stdout, a.Registries()...)
}

func runHelp(ctx context.Context, std cli, args []string) error {
	if len(args) == 0 || isHelp(args[0]) || (len(args) == 1 && args[0] == "user") {
		fmt.Fprint(std.stdout, commandList())
		return nil
	}
	c, rest, err := lookup(args)
	if err != nil {
		fmt.Fprint(std.stderr, commandList())
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("unexpected argument %q", rest[0])
	}
	return c.run(ctx, std, []string{"--help"})
}

func runVersion(_ context.Context, std cli, args []string) error {
	if err := parse(newFlags("version"), args, std); err != nil {
		return helped(err)
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return errors.New("no build information in this binary")
	}
	fmt.Fprint(std.stdout, versionText(bi))
	return nil
}

// versionText says which build this is: the module version (a tag, or
// "(devel)" for a build from a checkout), the commit it was built from,
// that commit's time, whether the checkout had uncommitted changes, and
// the Go version.
func versionText(bi *debug.BuildInfo) string {
	version := bi.Main.Version
	if version == "" {
		version = "(unknown)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "simplemodule %s\n", version)
	vcs := map[string]string{}
	for _, s := range bi.Settings {
		vcs[s.Key] = s.Value
	}
	if rev := vcs["vcs.revision"]; rev != "" {
		fmt.Fprintf(&b, "revision: %s\n", rev)
		if t := vcs["vcs.time"]; t != "" {
			fmt.Fprintf(&b, "time:     %s\n", t)
		}
		if m := vcs["vcs.modified"]; m != "" {
			fmt.Fprintf(&b, "modified: %s\n", m)
		}
	} else {
		b.WriteString("revision: unknown (built without version control information)\n")
	}
	fmt.Fprintf(&b, "go:       %s\n", bi.GoVersion)
	return b.String()
}

// validatePages prints every registry problem; an error means exit 1.
func validatePages(stdout io.Writer, regs ...web.Registry) error {
	problems := web.Validate(regs...)
	if len(problems) == 0 {
		n := 0
		for _, r := range regs {
			n += len(r.Pages)
		}
		fmt.Fprintf(stdout, "page registry OK: %d pages in %d modules\n", n, len(regs))
		return nil
	}
	for _, p := range problems {
		fmt.Fprintln(stdout, p)
	}
	return fmt.Errorf("page registry has %d problem(s)", len(problems))
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Production() {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func serve(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	a, err := app.New(ctx, cfg, log, app.Options{})
	if err != nil {
		return err
	}
	defer a.Close()
	srv := &http.Server{
		Addr:              cfg.Addr,
		Handler:           a.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s (SIMPLEMODULE_ADDR): %w", cfg.Addr, err)
	}
	var metricsLn net.Listener
	metricsSrv := metricsServer(a.Metrics.Handler(), log)
	if cfg.MetricsAddr != "" {
		metricsLn, err = net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen on %s (SIMPLEMODULE_METRICS_ADDR): %w", cfg.MetricsAddr, err)
		}
		defer metricsSrv.Close() // on an early return; Shutdown below otherwise
	}
	workerCtx, stopWorker := context.WithCancel(context.WithoutCancel(ctx))
	workerDone := make(chan struct{})
	go func() {
		defer close(workerDone)
		a.Outbox.Run(workerCtx)
	}()
	defer func() {
		stopWorker()
		<-workerDone
	}()
	if cfg.Production() && cfg.Secret == "" {
		log.Warn("SIMPLEMODULE_SECRET is not set: the generated secret is stored in the database, so a copy of the database also holds the keys that protect phone codes and queued messages; set it from a secret store")
	}
	log.Info("simplemodule listening", "url", "http://"+ln.Addr().String(), "base_url", cfg.BaseURL, "database", string(a.DB.Dialect), "env", cfg.Env)
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	if metricsLn != nil {
		log.Info("metrics listening", "url", "http://"+metricsLn.Addr().String()+"/metrics")
		go func() { errc <- fmt.Errorf("metrics listener: %w", metricsSrv.Serve(metricsLn)) }()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	// Metrics stop last, so a scrape can watch the requests drain.
	if err := metricsSrv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown metrics listener: %w", err)
	}
	return nil
}

// metricsServer serves GET /metrics, apart from the public listener so
// that only the network Prometheus scrapes from can read it, and the Go
// profiler under /debug/pprof/ (CPU, heap, goroutines) for the operators
// of that network.
func metricsServer(metrics http.Handler, log *slog.Logger) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	return &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		WriteTimeout:      2 * time.Minute, // a CPU profile takes ?seconds=N to answer
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// userFlags are the settings the user commands take as flags.
var userFlags = []string{"SIMPLEMODULE_DATABASE_URL"}

func runUserCreate(ctx context.Context, std cli, args []string) error {
	var addr, pw string
	var admin, pwStdin bool
	cfg, err := settings("user create", args, std, userFlags, func(fs *flag.FlagSet) {
		fs.StringVar(&addr, "email", "", "email address (required)")
		fs.BoolVar(&pwStdin, "password-stdin", false, "read the password from the first line of standard input")
		fs.StringVar(&pw, "password", "", "password, at least 8 characters (visible in ps and shell history: prefer --password-stdin)")
		fs.BoolVar(&admin, "admin", false, "put the user in the Admin role")
	})
	if err != nil {
		return helped(err)
	}
	switch {
	case addr == "":
		return errors.New("user create needs --email")
	case pwStdin && pw != "":
		return errors.New("user create takes --password or --password-stdin, not both")
	case pwStdin:
		if pw, err = readPassword(std.stdin); err != nil {
			return err
		}
	case pw == "":
		return errors.New("user create needs --password-stdin (or --password)")
	}
	a, err := app.New(ctx, cfg, newLogger(cfg, std.stderr), app.Options{})
	if err != nil {
		return err
	}
	defer a.Close()
	u, err := a.Users.CreateUser(ctx, addr, pw, admin)
	if errors.Is(err, users.ErrDuplicateEmail) && admin {
		return fmt.Errorf("create user: %w (to make it an administrator: simplemodule user set-admin --email %s)", err, addr)
	}
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	role := ""
	if admin {
		role = " (Admin)"
	}
	fmt.Fprintf(std.stdout, "created user %s %s%s\n", u.ID, u.Email, role)
	return nil
}

// readPassword reads the first line of r, without its line ending.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password from standard input: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", errors.New("--password-stdin: standard input held no password")
	}
	return line, nil
}

func runUserSetAdmin(ctx context.Context, std cli, args []string) error {
	var addr string
	var revoke bool
	cfg, err := settings("user set-admin", args, std, userFlags, func(fs *flag.FlagSet) {
		fs.StringVar(&addr, "email", "", "email address of the account (required)")
		fs.BoolVar(&revoke, "revoke", false, "revoke the Admin role instead of granting it")
	})
	if err != nil {
		return helped(err)
	}
	if addr == "" {
		return errors.New("user set-admin needs --email")
	}
	a, err := app.New(ctx, cfg, newLogger(cfg, std.stderr), app.Options{})
	if err != nil {
		return err
	}
	defer a.Close()
	err = a.Users.SetAdmin(ctx, addr, !revoke)
	switch {
	case errors.Is(err, users.ErrNotFound):
		return fmt.Errorf("no account has the email %s", addr)
	case errors.Is(err, contracts.ErrLastAdmin):
		return fmt.Errorf("%s is the last administrator: grant the role to another account first", addr)
	case errors.Is(err, users.ErrRoleUnchanged) && revoke:
		fmt.Fprintf(std.stdout, "%s is not an administrator: nothing changed\n", addr)
	case errors.Is(err, users.ErrRoleUnchanged):
		fmt.Fprintf(std.stdout, "%s is already an administrator: nothing changed\n", addr)
	case err != nil:
		return fmt.Errorf("set admin role: %w", err)
	case revoke:
		fmt.Fprintf(std.stdout, "%s is no longer an administrator\n", addr)
	default:
		fmt.Fprintf(std.stdout, "%s is now an administrator\n", addr)
	}
	return nil
}
