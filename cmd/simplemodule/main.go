// Command simplemodule runs the SimpleModule server and its maintenance
// commands: serve (default), migrate, user create, validate-pages.
package main

import (
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
	"syscall"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/app"
	"github.com/simplemodule-go/simplemodule/internal/platform/config"
	"github.com/simplemodule-go/simplemodule/internal/platform/database"
	"github.com/simplemodule-go/simplemodule/internal/platform/web"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "simplemodule:", err)
		}
		os.Exit(1)
	}
}

const usage = `usage: simplemodule [command] [flags]

commands:
  serve                      run the server (default; migrates first)
  migrate                    apply migrations and exit
  user create --email E --password P [--admin]
                             create a user (email pre-confirmed)
  validate-pages             check the page registry

Run "simplemodule serve -h" for the settings.
`

// run is main without the process: testable, with injected environment.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve", "migrate", "validate-pages":
	case "user":
		if len(args) == 0 || args[0] != "create" {
			return errors.New("usage: simplemodule user create --email E --password P [--admin]")
		}
		return userCreate(ctx, args[1:], getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
	cfg, _, err := config.Load("simplemodule "+cmd, args, getenv, stderr)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	switch cmd {
	case "migrate":
		db, err := database.Open(ctx, cfg.DatabaseURL)
		if err != nil {
			return err
		}
		defer db.Close()
		if err := db.Migrate(ctx, app.Migrations()...); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "migrations applied")
		return nil
	case "validate-pages":
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
		return validatePages(stdout, a.Registries()...)
	}
	return serve(ctx, cfg, log)
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
		WriteTimeout:      2 * time.Minute, // a CPU profile takes ?seconds=N to answer
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
	log.Info("simplemodule listening", "url", "http://"+ln.Addr().String(), "database", string(a.DB.Dialect), "env", cfg.Env)
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

func userCreate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("simplemodule user create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("email", "", "email address (required)")
	pw := fs.String("password", "", "password, at least 8 characters (required)")
	admin := fs.Bool("admin", false, "put the user in the Admin role")
	dbURL := fs.String("database-url", "", "database (default: SIMPLEMODULE_DATABASE_URL or sqlite:./data/simplemodule.db)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *addr == "" || *pw == "" {
		return errors.New("user create needs --email and --password")
	}
	var cfgArgs []string
	if *dbURL != "" {
		cfgArgs = []string{"--database-url", *dbURL}
	}
	cfg, _, err := config.Load("simplemodule user create", cfgArgs, getenv, stderr)
	if err != nil {
		return err
	}
	a, err := app.New(ctx, cfg, newLogger(cfg, stderr), app.Options{})
	if err != nil {
		return err
	}
	defer a.Close()
	u, err := a.Users.CreateUser(ctx, *addr, *pw, *admin)
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	role := ""
	if *admin {
		role = " (Admin)"
	}
	fmt.Fprintf(stdout, "created user %s %s%s\n", u.ID, u.Email, role)
	return nil
}
