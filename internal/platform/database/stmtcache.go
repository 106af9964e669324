package database

import (
	"context"
	"database/sql/driver"
)

// maxCachedStmts bounds the statements one SQLite connection keeps
// prepared. The module's queries are a few dozen fixed strings; queries
// built at run time (an admin search's IN list) past the bound are
// prepared and finalised each time, as without a cache.
const maxCachedStmts = 256

// stmtCacheConnector opens SQLite connections that keep their prepared
// statements. SQLite compiles every statement before running it, and the
// driver does it anew for each call: under load, parsing and planning the
// same few dozen statements took a quarter of the server's CPU. pgx keeps
// its own statement cache on PostgreSQL.
type stmtCacheConnector struct {
	dsn string
	drv driver.Driver
}

func (c *stmtCacheConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return &stmtCacheConn{Conn: conn, stmts: make(map[string]*cachedStmt)}, nil
}

func (c *stmtCacheConnector) Driver() driver.Driver { return c.drv }

// stmtCacheConn runs ExecContext and QueryContext through statements
// prepared once per query string. database/sql never uses one connection
// from two goroutines at once, so the map needs no lock.
type stmtCacheConn struct {
	driver.Conn
	stmts map[string]*cachedStmt
}

type cachedStmt struct {
	stmt driver.Stmt
	busy bool // its rows are still being read: a nested use prepares its own
}

// stmt returns a prepared statement for query and the function to call
// when done with it (after Exec, or when the rows are closed).
func (c *stmtCacheConn) stmt(ctx context.Context, query string) (driver.Stmt, func() error, error) {
	if cs, ok := c.stmts[query]; ok && !cs.busy {
		cs.busy = true
		return cs.stmt, func() error { cs.busy = false; return nil }, nil
	}
	st, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, nil, err
	}
	if _, taken := c.stmts[query]; taken || len(c.stmts) >= maxCachedStmts {
		return st, st.Close, nil
	}
	cs := &cachedStmt{stmt: st, busy: true}
	c.stmts[query] = cs
	return st, func() error { cs.busy = false; return nil }, nil
}

// ExecContext implements driver.ExecerContext.
func (c *stmtCacheConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	st, done, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	res, err := st.(driver.StmtExecContext).ExecContext(ctx, args)
	if derr := done(); err == nil {
		err = derr
	}
	return res, err
}

// QueryContext implements driver.QueryerContext.
func (c *stmtCacheConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	st, done, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	rows, err := st.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		done()
		return nil, err
	}
	return &releasingRows{Rows: rows, done: done}, nil
}

// PrepareContext implements driver.ConnPrepareContext (uncached: the
// caller owns and closes the statement).
func (c *stmtCacheConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
}

// BeginTx implements driver.ConnBeginTx.
func (c *stmtCacheConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

// Ping implements driver.Pinger.
func (c *stmtCacheConn) Ping(ctx context.Context) error { return c.Conn.(driver.Pinger).Ping(ctx) }

// ResetSession implements driver.SessionResetter.
func (c *stmtCacheConn) ResetSession(ctx context.Context) error {
	return c.Conn.(driver.SessionResetter).ResetSession(ctx)
}

// IsValid implements driver.Validator.
func (c *stmtCacheConn) IsValid() bool { return c.Conn.(driver.Validator).IsValid() }

// Close finalises the cached statements, then closes the connection.
func (c *stmtCacheConn) Close() error {
	for q, cs := range c.stmts {
		cs.stmt.Close()
		delete(c.stmts, q)
	}
	return c.Conn.Close()
}

// releasingRows gives its statement back when closed.
type releasingRows struct {
	driver.Rows
	done   func() error
	closed bool
}

func (r *releasingRows) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	err := r.Rows.Close()
	if derr := r.done(); err == nil {
		err = derr
	}
	return err
}
