package mail

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
)

// fileDriver writes each message as <ID>.eml into dir, at most once per ID.
type fileDriver struct {
	composer
	dir    string
	logger *slog.Logger
}

func newFileDriver(c composer, dir string, logger *slog.Logger) (*fileDriver, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("mail: create %s%s %s: %w", keyPrefix, "file_dir", dir, err)
	}
	return &fileDriver{composer: c, dir: dir, logger: logger}, nil
}

// Send writes m to <dir>/<ID>.eml with mode 0600, or does nothing and returns
// nil if that file exists. The message is written to a temporary file in the
// same folder, synced, then hard-linked to its name, which fails if the name
// exists: a crash leaves either no <ID>.eml or a complete one (and perhaps a
// stray .tmp-*.part file), and two concurrent Sends of one ID write one file.
func (d *fileDriver) Send(ctx context.Context, m Message) error {
	msg, err := d.compose(m)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mail: write %s: %w", m.ID, err)
	}
	name := filepath.Join(d.dir, m.ID+".eml")
	if _, err := os.Lstat(name); err == nil {
		d.logger.DebugContext(ctx, "mail already written", "id", m.ID, "path", name)
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("mail: write %s: %w", m.ID, err)
	}
	// The folder may have been removed since New.
	if err := os.MkdirAll(d.dir, 0o700); err != nil {
		return fmt.Errorf("mail: write %s: %w", m.ID, err)
	}

	tmp, err := os.CreateTemp(d.dir, ".tmp-*.part") // mode 0600
	if err != nil {
		return fmt.Errorf("mail: write %s: %w", m.ID, err)
	}
	// The temporary name goes in every case; after the link the file lives on
	// under its own name.
	defer func() { _ = os.Remove(tmp.Name()) }()
	w := bufio.NewWriter(tmp)
	_, err = msg.WriteTo(w)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("mail: write %s: %w", m.ID, err)
	}

	if err := os.Link(tmp.Name(), name); errors.Is(err, fs.ErrExist) {
		d.logger.DebugContext(ctx, "mail already written", "id", m.ID, "path", name)
		return nil
	} else if err != nil {
		return fmt.Errorf("mail: write %s: %w", m.ID, err)
	}
	if err := syncDir(d.dir); err != nil {
		return fmt.Errorf("mail: write %s: %w", m.ID, err)
	}
	d.logger.DebugContext(ctx, "mail written", "id", m.ID, "path", name)
	return nil
}

// syncDir makes the entries of dir durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
