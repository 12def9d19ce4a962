package database_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rustok/rustok/platform/database"
)

// TestOpenPreparesSQLiteFile: Open creates a missing directory (0700) and a
// missing database file (0600, which SQLite's -wal file inherits), keeps the
// modes of what exists, and names the directory and database.url when the
// directory cannot be created.
func TestOpenPreparesSQLiteFile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		setup    func(t *testing.T, root string) // creates what exists before Open
		rel      string                          // database file, relative to root
		wantDirs map[string]fs.FileMode          // relative to root
		wantFile fs.FileMode
		wantErr  []string // parts of the error; "ROOT" is replaced by root
	}{
		{
			name:     "missing directories are created 0700, the file 0600",
			rel:      "data/nested/rustok.db",
			wantDirs: map[string]fs.FileMode{"data": 0o700, "data/nested": 0o700},
			wantFile: 0o600,
		},
		{
			name: "an existing directory keeps its mode",
			setup: func(t *testing.T, root string) {
				mustMkdir(t, filepath.Join(root, "data"), 0o755)
			},
			rel:      "data/rustok.db",
			wantDirs: map[string]fs.FileMode{"data": 0o755},
			wantFile: 0o600,
		},
		{
			name: "an existing file keeps its mode",
			setup: func(t *testing.T, root string) {
				mustMkdir(t, filepath.Join(root, "data"), 0o700)
				mustWrite(t, filepath.Join(root, "data", "rustok.db"), 0o644)
			},
			rel:      "data/rustok.db",
			wantDirs: map[string]fs.FileMode{"data": 0o700},
			wantFile: 0o644,
		},
		{
			name: "a directory under a regular file cannot be created",
			setup: func(t *testing.T, root string) {
				mustWrite(t, filepath.Join(root, "file"), 0o600)
			},
			rel: "file/sub/rustok.db",
			wantErr: []string{
				"cannot create the database directory ROOT/file/sub for database.url sqlite://ROOT/file/sub/rustok.db: ",
				"not a directory",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			if tc.setup != nil {
				tc.setup(t, root)
			}
			path := filepath.Join(root, tc.rel)
			db, err := database.Open(context.Background(), "sqlite://"+path, database.Options{})
			if len(tc.wantErr) > 0 {
				if err == nil {
					_ = db.Close()
					t.Fatal("Open succeeded, want an error")
				}
				for _, part := range tc.wantErr {
					if part = strings.ReplaceAll(part, "ROOT", root); !strings.Contains(err.Error(), part) {
						t.Errorf("Open error %q does not contain %q", err, part)
					}
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("Open error is not one sentence: %q", err)
				}
				if _, statErr := os.Stat(filepath.Dir(path)); statErr == nil {
					t.Errorf("directory %s exists after the error", filepath.Dir(path))
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			t.Cleanup(func() { _ = db.Close() })
			// A write makes SQLite create the -wal file next to the database.
			if _, err := db.ExecContext(context.Background(), `CREATE TABLE t (x INTEGER)`); err != nil {
				t.Fatal(err)
			}
			for dir, want := range tc.wantDirs {
				if got := mode(t, filepath.Join(root, dir)); got != want {
					t.Errorf("directory %s mode %v, want %v", dir, got, want)
				}
			}
			if got := mode(t, path); got != tc.wantFile {
				t.Errorf("database file mode %v, want %v", got, tc.wantFile)
			}
			if got := mode(t, path+"-wal"); got != tc.wantFile {
				t.Errorf("-wal file mode %v, want the database file's %v", got, tc.wantFile)
			}
		})
	}
}

func mode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

func mustMkdir(t *testing.T, path string, perm fs.FileMode) {
	t.Helper()
	if err := os.Mkdir(path, perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil { // the umask may have removed bits
		t.Fatal(err)
	}
}

func mustWrite(t *testing.T, path string, perm fs.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, nil, perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil {
		t.Fatal(err)
	}
}
