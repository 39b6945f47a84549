package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/routeguide/routeguide/internal/routeguidetest"
	"github.com/routeguide/routeguide/server/dataset"
	"github.com/routeguide/routeguide/server/transport"
)

// JSON with a field the message does not have is refused, naming the field,
// where it stands and the fields there are, rather than read as a message
// with that field unset; degrees where E7 integers belong are refused with
// the conversion. A caller may ask for unknown fields to be ignored.
func TestConnectJSONIsStrictAboutFields(t *testing.T) {
	t.Parallel()
	ts := routeguidetest.NewRouteGuide(t, dataset.Default())
	tests := []struct {
		name, path, body string
		lenient          bool
		wantStatus       int
		wantMessage      []string // each must appear; none for a 200
	}{
		{"misspelt field", "/routeguide.RouteGuide/GetFeature", `{"latitud": 488583700, "longitude": 22944810}`, false,
			http.StatusBadRequest, []string{`unknown field "latitud" in routeguide.Point`, "latitude, longitude", transport.LenientJSONHeader}},
		{"short names and degrees", "/routeguide.RouteGuide/GetFeature", `{"lat":48.85837,"lon":2.294481}`, false,
			http.StatusBadRequest, []string{`unknown field "lat"`}},
		{"nested misspelling", "/routeguide.notes.v1.NotesService/PostNote", `{"note":{"mesage":"hi","location":{"latitude":1,"longitude":1}}}`, false,
			http.StatusBadRequest, []string{`unknown field "mesage" in note (routeguide.RouteNote)`, "location, message"}},
		{"degrees", "/routeguide.RouteGuide/GetFeature", `{"latitude":48.85837,"longitude":2.294481}`, false,
			http.StatusBadRequest, []string{"latitude", "E7", "488583700"}},
		{"proto field names are known too", "/routeguide.RouteGuide/GetFeature", `{"latitude":409146138,"longitude":-746188906}`, false,
			http.StatusOK, nil},
		{"leniency asked for", "/routeguide.RouteGuide/GetFeature", `{"latitud": 488583700, "longitude": 22944810}`, true,
			http.StatusOK, nil},
	}
	for _, tt := range tests {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, ts.URL+tt.path, strings.NewReader(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if tt.lenient {
			req.Header.Set(transport.LenientJSONHeader, "ignore")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tt.wantStatus {
			t.Errorf("%s: %s %s", tt.name, res.Status, body)
			continue
		}
		if tt.wantStatus == http.StatusOK {
			continue
		}
		var got struct{ Code, Message string }
		if err := json.Unmarshal(body, &got); err != nil {
			t.Errorf("%s: body %q is not a Connect error: %v", tt.name, body, err)
			continue
		}
		if got.Code != "invalid_argument" {
			t.Errorf("%s: code %q, want invalid_argument", tt.name, got.Code)
		}
		for _, want := range tt.wantMessage {
			if !strings.Contains(got.Message, want) {
				t.Errorf("%s: message %q does not contain %q", tt.name, got.Message, want)
			}
		}
	}
}
