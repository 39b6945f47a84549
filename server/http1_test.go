package server_test

import (
	"bytes"
	"encoding/binary"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/routeguide/routeguide/internal/routeguidetest"
)

// TestBidiOverHTTP1 checks what a client that is not connect-go, such as
// curl, sees when it calls RouteChat over HTTP/1.1.
func TestBidiOverHTTP1(t *testing.T) {
	t.Parallel()
	ts := routeguidetest.NewRouteGuide(t, testFeatures)
	note := []byte(`{"location":{"latitude":1,"longitude":1},"message":"hi"}`)
	var body bytes.Buffer
	body.WriteByte(0) // an uncompressed Connect streaming envelope
	_ = binary.Write(&body, binary.BigEndian, uint32(len(note)))
	body.Write(note)

	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost,
		ts.URL+"/routeguide.RouteGuide/RouteChat", &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/connect+json")
	res, err := routeguidetest.HTTP1Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	got, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"code":"unimplemented"`, "needs HTTP/2"} {
		if !strings.Contains(string(got), want) {
			t.Errorf("response %q does not contain %q", got, want)
		}
	}
}
