package main

import (
	"bytes"
	"context"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestBaseURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr string
		want string
	}{
		{"0.0.0.0:5150", "http://127.0.0.1:5150"},
		{"[::]:8080", "http://[::1]:8080"},
		{"127.0.0.1:41234", "http://127.0.0.1:41234"},
		{"192.0.2.7:80", "http://192.0.2.7:80"},
		{"[::1]:5150", "http://[::1]:5150"},
		{"[2001:db8::1]:443", "http://[2001:db8::1]:443"},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			addr, err := net.ResolveTCPAddr("tcp", tc.addr)
			if err != nil {
				t.Fatal(err)
			}
			if got := baseURL(addr); got != tc.want {
				t.Errorf("baseURL(%s) = %q, want %q", tc.addr, got, tc.want)
			}
		})
	}
}

func TestWriteBanner(t *testing.T) {
	t.Parallel()
	addr := &net.TCPAddr{IP: net.IPv4zero, Port: 5150}
	metricsAddr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9150}
	tests := []struct {
		name    string
		banner  banner
		want    []string
		wantNot []string
	}{
		{
			name:   "with the playground",
			banner: banner{api: addr, metrics: addr, playground: true},
			want: []string{
				"  GraphQL API  http://127.0.0.1:5150/api/graphql\n",
				"  GraphiQL     http://127.0.0.1:5150/api/graphql  (open in a browser)\n",
				"  Metrics      http://127.0.0.1:5150/metrics\n",
			},
		},
		{
			name:    "without the playground",
			banner:  banner{api: addr, metrics: addr},
			want:    []string{"  GraphQL API  http://127.0.0.1:5150/api/graphql\n", "  Metrics      http://127.0.0.1:5150/metrics\n"},
			wantNot: []string{"GraphiQL"},
		},
		{
			name:    "metrics on their own listener",
			banner:  banner{api: addr, metrics: metricsAddr},
			want:    []string{"  GraphQL API  http://127.0.0.1:5150/api/graphql\n", "  Metrics      http://127.0.0.1:9150/metrics\n"},
			wantNot: []string{"5150/metrics"},
		},
		{
			name:   "metrics behind a token",
			banner: banner{api: addr, metrics: metricsAddr, metricsToken: true},
			want:   []string{"  Metrics      http://127.0.0.1:9150/metrics  (bearer token required)\n"},
		},
		{
			name:    "no metrics",
			banner:  banner{api: addr},
			wantNot: []string{"Metrics"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := writeBanner(&b, tc.banner); err != nil {
				t.Fatal(err)
			}
			for _, want := range tc.want {
				if !strings.Contains(b.String(), want) {
					t.Errorf("banner %q does not contain %q", b.String(), want)
				}
			}
			for _, not := range tc.wantNot {
				if strings.Contains(b.String(), not) {
					t.Errorf("banner %q contains %q", b.String(), not)
				}
			}
		})
	}
}

// TestBannerOnlyFromServe runs serve and worker through the CLI: serve prints
// the addresses on stdout once it listens, worker prints nothing there.
func TestBannerOnlyFromServe(t *testing.T) {
	t.Parallel()
	tests := []struct {
		command    string
		running    string // the log line that says it runs
		wantStdout []string
	}{
		{command: "serve", running: "rustok serving", wantStdout: []string{"GraphQL API  http://127.0.0.1:", "/metrics\n"}},
		{command: "worker", running: "rustok worker running"},
	}
	for _, tc := range tests {
		t.Run(tc.command, func(t *testing.T) {
			t.Parallel()
			environ := []string{
				"RUSTOK_DATABASE__URL=sqlite://" + filepath.Join(t.TempDir(), "data", "rustok.db"),
				"RUSTOK_SERVER__PORT=0", "RUSTOK_LOGGER__LEVEL=info",
			}
			var stdout, stderr lockedBuffer
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan int, 1)
			go func() {
				done <- run(ctx, []string{tc.command}, strings.NewReader(""), &stdout, &stderr, environ)
			}()
			deadline := time.Now().Add(60 * time.Second)
			for !strings.Contains(stderr.String(), tc.running) || (tc.wantStdout != nil && !strings.Contains(stdout.String(), "Stop with Ctrl+C.")) {
				select {
				case code := <-done:
					t.Fatalf("%s stopped with exit %d: %s", tc.command, code, stderr.String())
				case <-time.After(20 * time.Millisecond):
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s not running after 60 s: %s", tc.command, stderr.String())
				}
			}
			cancel()
			if code := <-done; code != 0 {
				t.Fatalf("%s exit %d after stop: %s", tc.command, code, stderr.String())
			}
			out := stdout.String()
			if tc.wantStdout == nil && out != "" {
				t.Errorf("%s printed %q on stdout, want nothing", tc.command, out)
			}
			for _, want := range tc.wantStdout {
				if !strings.Contains(out, want) {
					t.Errorf("%s stdout %q does not contain %q", tc.command, out, want)
				}
			}
		})
	}
}

// lockedBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
