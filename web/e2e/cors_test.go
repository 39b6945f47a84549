package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/routeguide/routeguide/gen/routeguide"
	"github.com/routeguide/routeguide/server"
	"github.com/routeguide/routeguide/server/dataset"
)

// crossOriginPage calls the API named by its ?api= parameter from its own
// origin with plain fetch: once with the Connect protocol and JSON, for a
// feature and for a latitude of 95°, and once with gRPC-Web, whose status
// travels in headers that the browser hides unless the server exposes them.
// It loads nothing from anywhere.
const crossOriginPage = `<!doctype html>
<meta charset="utf-8">
<title>Another origin</title>
<pre id="out"></pre>
<script type="module">
const api = new URLSearchParams(location.search).get("api");
const procedure = api + "/routeguide.RouteGuide/GetFeature";

function varint(n) {
  const out = [];
  for (; n > 127; n = Math.floor(n / 128)) out.push((n % 128) | 128);
  out.push(n);
  return out;
}

// A Point with non-negative coordinates in the protobuf binary format, in
// the frame gRPC-Web puts around each message.
function pointFrame(latitude, longitude) {
  const msg = [0x08, ...varint(latitude), 0x10, ...varint(longitude)];
  return new Uint8Array([0, 0, 0, 0, msg.length, ...msg]);
}

async function attempt(call) {
  try {
    return await call();
  } catch (err) {
    return { error: String(err) };
  }
}

async function connectJSON(point) {
  const res = await fetch(procedure, {
    method: "POST",
    headers: { "Content-Type": "application/json", "Connect-Protocol-Version": "1" },
    body: JSON.stringify(point),
  });
  return { status: res.status, body: await res.json() };
}

async function grpcWeb(latitude, longitude) {
  const res = await fetch(procedure, {
    method: "POST",
    headers: { "Content-Type": "application/grpc-web+proto", "X-Grpc-Web": "1" },
    body: pointFrame(latitude, longitude),
  });
  await res.arrayBuffer();
  return {
    status: res.status,
    grpcStatus: res.headers.get("Grpc-Status"),
    grpcMessage: decodeURIComponent(res.headers.get("Grpc-Message") ?? ""),
  };
}

const results = {
  connectFeature: await attempt(() => connectJSON({ latitude: 488583700, longitude: 22944810 })),
  connectBad: await attempt(() => connectJSON({ latitude: 950000000, longitude: 0 })),
  grpcWebBad: await attempt(() => grpcWeb(950000000, 0)),
};
document.getElementById("out").textContent = JSON.stringify(results);
document.body.dataset.state = "done";
</script>
`

// crossOriginResult is what crossOriginPage found.
type crossOriginResult struct {
	ConnectFeature struct {
		Status int
		Body   struct{ Name string }
		Error  string
	}
	ConnectBad struct {
		Status int
		Body   struct{ Code, Message string }
		Error  string
	}
	GRPCWebBad struct {
		Status      int
		GRPCStatus  string `json:"grpcStatus"`
		GRPCMessage string `json:"grpcMessage"`
		Error       string
	} `json:"grpcWebBad"`
}

// newOriginPage serves crossOriginPage from an origin of its own on
// loopback.
func newOriginPage(t *testing.T) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(crossOriginPage))
	}))
	t.Cleanup(ts.Close)
	return ts
}

func callFromOrigin(t *testing.T, pageURL, apiURL string) crossOriginResult {
	t.Helper()
	ctx := newTab(t, 800, 600)
	run(t, ctx,
		chromedp.Navigate(pageURL+"/?api="+url.QueryEscape(apiURL)),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="done"]`)),
	)
	out := text(t, ctx, "#out")
	var res crossOriginResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("page at %s wrote %q: %v", pageURL, out, err)
	}
	return res
}

func TestCrossOrigin(t *testing.T) {
	t.Parallel()
	allowed, denied := newOriginPage(t), newOriginPage(t)
	ts, _ := startServer(t, dataset.Default(), server.WithCORSOrigins(allowed.URL))
	c := newClient(t, ts)
	_, err := c.GetFeature(t.Context(), &routeguide.Point{Latitude: 950000000})
	wantCode, wantMessage := codeAndMessage(t, err)

	t.Run("allowed", func(t *testing.T) {
		t.Parallel()
		res := callFromOrigin(t, allowed.URL, ts.URL)
		if f := res.ConnectFeature; f.Error != "" || f.Status != http.StatusOK || f.Body.Name == "" {
			t.Errorf("Connect call for a feature from an allowed origin: %+v, want status 200 and a name", f)
		}
		if bad := res.ConnectBad; bad.Error != "" || bad.Status != http.StatusBadRequest ||
			bad.Body.Code != wantCode || bad.Body.Message != wantMessage {
			t.Errorf("Connect call with a bad latitude from an allowed origin: %+v, want status 400, code %s, message %q",
				bad, wantCode, wantMessage)
		}
		// gRPC-Web puts the status of an error with no message before it in
		// headers: only exposed headers tell the code.
		if bad := res.GRPCWebBad; bad.Error != "" || bad.GRPCStatus != "3" || bad.GRPCMessage != wantMessage {
			t.Errorf("gRPC-Web call with a bad latitude from an allowed origin: %+v, want grpc-status 3 (invalid_argument), message %q",
				bad, wantMessage)
		}
	})

	t.Run("denied", func(t *testing.T) {
		t.Parallel()
		res := callFromOrigin(t, denied.URL, ts.URL)
		for name, callErr := range map[string]string{
			"Connect feature": res.ConnectFeature.Error,
			"Connect error":   res.ConnectBad.Error,
			"gRPC-Web error":  res.GRPCWebBad.Error,
		} {
			if !strings.Contains(callErr, "TypeError") {
				t.Errorf("%s call from an origin not allowed: error %q, want the browser's TypeError", name, callErr)
			}
		}
	})

	t.Run("own page", func(t *testing.T) {
		t.Parallel()
		// Allowing other origins takes nothing from the server's own page.
		ctx := newTab(t, 1280, 900)
		openPage(t, ctx, ts.URL)
		if got, want := len(plotted(t, ctx)), len(dataset.Default()); got != want {
			t.Errorf("own page plots %d points, want %d", got, want)
		}
	})
}
