package limits_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/routeguide/routeguide/server/limits"
)

func TestDefault(t *testing.T) {
	t.Parallel()
	l := limits.Default()
	if l.MaxMessageBytes != 4<<20 || l.MaxRoutePoints != 1_000_000 || l.MaxNotesPerLocation != 100 ||
		l.MaxStoredNoteBytes != 64<<20 || l.StreamIdleTimeout != 5*time.Minute || l.MaxTimeout != time.Hour ||
		l.RequestReadTimeout != 10*time.Second || l.WatchBuffer != 256 || l.MaxReplay != 1000 ||
		l.MaxWatchesPerClient != 64 || l.MaxWatches != 65536 || l.WatchStall != 10*time.Second ||
		l.MaxConnections != 10_000 || l.ConnReceiveWindow != 128<<10 || l.StreamReceiveWindow != 64<<10 {
		t.Errorf("Default() = %+v, not the documented defaults", l)
	}
	custom := limits.Limits{MaxRoutePoints: 7}.WithDefaults()
	if custom.MaxRoutePoints != 7 || custom.MaxNoteBytes != l.MaxNoteBytes {
		t.Errorf("a set field should be kept and the others defaulted: %+v", custom)
	}
}

// TestDependentDefaults checks the defaults that follow another field.
func TestDependentDefaults(t *testing.T) {
	t.Parallel()
	l := limits.Limits{MaxTimeout: time.Second, WriteTimeout: 4 * time.Second, ConnReceiveWindow: 32 << 10}.WithDefaults()
	if got, want := l.DefaultTimeout, time.Second; got != want {
		t.Errorf("DefaultTimeout under a 1s MaxTimeout = %v, want %v", got, want)
	}
	if got, want := l.WatchStall, 2*time.Second; got != want {
		t.Errorf("WatchStall under a 4s WriteTimeout = %v, want %v", got, want)
	}
	if got, want := l.StreamReceiveWindow, 32<<10; got != want {
		t.Errorf("StreamReceiveWindow under a 32 KiB ConnReceiveWindow = %d, want %d", got, want)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		limits limits.Limits
		want   string // "" for valid
	}{
		{"zero", limits.Limits{}, ""},
		{"a short maximum shortens the default", limits.Limits{MaxTimeout: time.Second}, ""},
		{"default past the maximum", limits.Limits{DefaultTimeout: 2 * time.Hour, MaxTimeout: time.Hour},
			"limits: DefaultTimeout (2h0m0s) must not be longer than MaxTimeout (1h0m0s)"},
		{"stall as long as the write timeout", limits.Limits{WatchStall: time.Second, WriteTimeout: time.Second},
			"limits: WatchStall (1s) and a quarter more must be shorter than WriteTimeout (1s)"},
		{"stall whose cut may land after the write timeout", limits.Limits{WatchStall: 8 * time.Second, WriteTimeout: 10 * time.Second},
			"limits: WatchStall (8s) and a quarter more must be shorter than WriteTimeout (10s)"},
		{"stall whose cut lands before the write timeout", limits.Limits{WatchStall: 7 * time.Second, WriteTimeout: 10 * time.Second}, ""},
		{"write timeout too short to halve", limits.Limits{WriteTimeout: time.Nanosecond},
			"limits: WatchStall (1ns) and a quarter more must be shorter than WriteTimeout (1ns)"},
		{"store smaller than one note", limits.Limits{MaxNoteBytes: 1000, MaxStoredNoteBytes: 1000},
			"limits: MaxStoredNoteBytes (1000) must hold at least one note (plus 256 bytes counted per note) of MaxNoteBytes (1000)"},
	}
	for _, tt := range tests {
		err := tt.limits.Validate()
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s: Validate() = %v, want nil", tt.name, err)
			}
			continue
		}
		var conflict *limits.Conflict
		if !errors.As(err, &conflict) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Validate() = %v, want a Conflict saying %q", tt.name, err, tt.want)
		}
	}
}

// FuzzValidate checks that limits Validate accepts keep, with their
// defaults, every field positive and every pair it checks in agreement.
func FuzzValidate(f *testing.F) {
	f.Add(int64(0), int64(0), int64(0), int64(0), int64(0), int64(0))
	f.Add(int64(2*time.Hour), int64(time.Hour), int64(time.Second), int64(time.Second), int64(1000), int64(1000))
	f.Add(int64(-1), int64(time.Second), int64(0), int64(4*time.Second), int64(1<<20), int64(-5))
	f.Fuzz(func(t *testing.T, defaultTimeout, maxTimeout, watchStall, writeTimeout, maxNoteBytes, maxStoredNoteBytes int64) {
		l := limits.Limits{DefaultTimeout: time.Duration(defaultTimeout), MaxTimeout: time.Duration(maxTimeout),
			WatchStall: time.Duration(watchStall), WriteTimeout: time.Duration(writeTimeout),
			MaxNoteBytes: int(int32(maxNoteBytes)), MaxStoredNoteBytes: maxStoredNoteBytes}
		if l.Validate() != nil {
			return
		}
		d := l.WithDefaults()
		if d.DefaultTimeout <= 0 || d.MaxTimeout <= 0 || d.WatchStall <= 0 || d.WriteTimeout <= 0 ||
			d.MaxNoteBytes <= 0 || d.MaxStoredNoteBytes <= 0 {
			t.Fatalf("valid %+v has a field that is not positive", d)
		}
		if d.DefaultTimeout > d.MaxTimeout || d.WatchStall >= d.WriteTimeout ||
			int64(d.MaxNoteBytes)+limits.NoteOverheadBytes > d.MaxStoredNoteBytes {
			t.Fatalf("valid %+v has fields that contradict each other", d)
		}
	})
}
