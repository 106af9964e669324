package database_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/simplemodule-go/simplemodule/internal/platform/database"
)

// Only the default database directory (./data) is created on first start; a
// missing directory anywhere else is refused with an error naming the
// setting, and nothing is created.
func TestOpenCreatesOnlyTheDefaultDirectory(t *testing.T) {
	work := t.TempDir()
	t.Chdir(work) // the default path is relative to the working directory
	if err := os.WriteFile(filepath.Join(work, "plain-file"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string // after "sqlite:"
		wantErr bool
		absent  string // a directory that must not exist afterwards
	}{
		{name: "the default", path: "./data/simplemodule.db"},
		{name: "the default without ./", path: "data/other.db"},
		{name: "an existing directory", path: filepath.Join(work, "x.db")},
		{name: "a file in the working directory", path: "here.db"},
		{name: "missing absolute directories", path: filepath.Join(work, "nonexistent", "dir", "x.db"), wantErr: true, absent: filepath.Join(work, "nonexistent")},
		{name: "missing relative directory", path: "./elsewhere/x.db", wantErr: true, absent: filepath.Join(work, "elsewhere")},
		{name: "missing directory inside the default", path: "./data/nested/x.db", wantErr: true, absent: filepath.Join(work, "data", "nested")},
		{name: "a file where the directory should be", path: filepath.Join(work, "plain-file", "x.db"), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := database.Open(context.Background(), "sqlite:"+tt.path)
			if err == nil {
				db.Close()
			}
			switch {
			case tt.wantErr && err == nil:
				t.Errorf("sqlite:%s: got no error, want one naming SIMPLEMODULE_DATABASE_URL", tt.path)
			case tt.wantErr && (!strings.Contains(err.Error(), "SIMPLEMODULE_DATABASE_URL") || strings.Contains(err.Error(), "\n")):
				t.Errorf("sqlite:%s: got %q, want one line naming SIMPLEMODULE_DATABASE_URL", tt.path, err)
			case !tt.wantErr && err != nil:
				t.Errorf("sqlite:%s: got %v, want nil", tt.path, err)
			}
			if tt.absent != "" {
				if _, err := os.Stat(tt.absent); !os.IsNotExist(err) {
					t.Errorf("%s exists after the refused open (stat: %v)", tt.absent, err)
				}
			}
		})
	}
	st, err := os.Stat(filepath.Join(work, "data"))
	if err != nil || !st.IsDir() || st.Mode().Perm() != 0o700 {
		t.Errorf("./data: got %v (err %v), want a directory with mode 0700", st, err)
	}
}
