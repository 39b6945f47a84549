package server

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDefaultLimits(t *testing.T) {
	t.Parallel()
	l := DefaultLimits()
	if l.MaxMessageBytes != 4<<20 || l.MaxRoutePoints != 1_000_000 || l.MaxNotesPerLocation != 100 ||
		l.MaxStoredNoteBytes != 64<<20 || l.StreamIdleTimeout != 5*time.Minute || l.MaxTimeout != time.Hour ||
		l.RequestReadTimeout != 10*time.Second {
		t.Errorf("DefaultLimits() = %+v, not the documented defaults", l)
	}
	custom := Limits{MaxRoutePoints: 7}.withDefaults()
	if custom.MaxRoutePoints != 7 || custom.MaxNoteBytes != l.MaxNoteBytes {
		t.Errorf("a set field should be kept and the others defaulted: %+v", custom)
	}
}

func TestLimitsValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		limits Limits
		want   string // "" for valid
	}{
		{"zero", Limits{}, ""},
		{"a short maximum shortens the default", Limits{MaxTimeout: time.Second}, ""},
		{"default past the maximum", Limits{DefaultTimeout: 2 * time.Hour, MaxTimeout: time.Hour},
			"DefaultTimeout (2h0m0s) must not be longer than MaxTimeout (1h0m0s)"},
		{"store smaller than one note", Limits{MaxNoteBytes: 1000, MaxStoredNoteBytes: 1000},
			"MaxStoredNoteBytes (1000) must hold at least one note (plus 256 bytes counted per note) of MaxNoteBytes (1000)"},
	}
	for _, tt := range tests {
		err := tt.limits.Validate()
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s: Validate() = %v, want nil", tt.name, err)
			}
			continue
		}
		var conflict *LimitConflict
		if !errors.As(err, &conflict) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Validate() = %v, want a LimitConflict saying %q", tt.name, err, tt.want)
		}
	}
	if got := (Limits{MaxTimeout: time.Second}).withDefaults().DefaultTimeout; got != time.Second {
		t.Errorf("DefaultTimeout under a 1s MaxTimeout = %v, want 1s", got)
	}
	if _, err := New(nil, WithLimits(Limits{DefaultTimeout: 2 * time.Hour, MaxTimeout: time.Hour})); err == nil {
		t.Error("New accepted a default timeout longer than the largest")
	}
}
