package observe_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/routeguide/routeguide/server/observe"
)

// lockedBuffer is a bytes.Buffer that counts the writes it gets.
type lockedBuffer struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.writes++
	return b.buf.Write(p)
}

// TestLogWriterKeepsEveryRecord checks that records logged from many
// goroutines at once all arrive, whole and each goroutine's in order, by the
// time Close returns, including records larger than the buffer, and that
// records logged after Close are written too.
func TestLogWriterKeepsEveryRecord(t *testing.T) {
	t.Parallel()
	var out lockedBuffer
	w := observe.NewLogWriter(&out)
	logger := slog.New(slog.NewTextHandler(w, nil))
	const goroutines, each = 8, 2000
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				logger.Info("rpc", "g", g, "i", i)
			}
		})
	}
	big := strings.Repeat("x", 300<<10)
	logger.Info("big", "text", big)
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	logger.Info("after close")

	next := make([]int, goroutines)
	sawBig, sawAfter := false, false
	lines := strings.Split(strings.TrimSuffix(out.buf.String(), "\n"), "\n")
	for _, line := range lines {
		switch {
		case strings.Contains(line, "msg=big"):
			sawBig = strings.Contains(line, big)
			continue
		case strings.Contains(line, `msg="after close"`):
			sawAfter = true
			continue
		}
		var g, i int
		if _, err := fmt.Sscanf(line[strings.Index(line, " g=")+1:], "g=%d i=%d", &g, &i); err != nil {
			t.Fatalf("torn record %q: %v", line, err)
		}
		if i != next[g] {
			t.Fatalf("goroutine %d: record %d after %d", g, i, next[g]-1)
		}
		next[g]++
	}
	for g, n := range next {
		if n != each {
			t.Errorf("goroutine %d: %d records, want %d", g, n, each)
		}
	}
	if !sawBig || !sawAfter {
		t.Errorf("big record whole: %v; record after Close: %v; want both", sawBig, sawAfter)
	}
	t.Logf("%d records in %d writes", len(lines), out.writes)
}
