package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"go.uber.org/goleak"
)

// testTimeout bounds each test's work in the browser, so that a page that
// never reaches the state a test waits for fails rather than hangs.
const testTimeout = 60 * time.Second

func TestMain(m *testing.M) {
	code := m.Run()
	closeBrowser()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutines leaked:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// browser is the one Chromium the tests share, started on first use. Each
// test gets a browser context of its own, with its own cache and cookies.
var browser struct {
	once    sync.Once
	ctx     context.Context
	cancel  func()
	dataDir string
	err     error
}

// chromiumNames are the names Chromium goes by on the PATH: Debian's
// package, other distributions', Google's build.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

func findChromium() (string, error) {
	for _, name := range chromiumNames {
		if path, err := exec.LookPath(name); err == nil {
			return path, nil
		}
	}
	return "", fmt.Errorf("no Chromium on the PATH (looked for %s)", strings.Join(chromiumNames, ", "))
}

func startBrowser() {
	path, err := findChromium()
	if err != nil {
		browser.err = err
		return
	}
	browser.dataDir, err = os.MkdirTemp("", "routeguide-chromium-")
	if err != nil {
		browser.err = err
		return
	}
	options := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(browser.dataDir),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// Pages in background tabs are not rendered, and the tests run
		// several at once.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), options...)
	ctx, cancelBrowser := chromedp.NewContext(allocCtx)
	browser.ctx = ctx
	browser.cancel = func() {
		cancelBrowser()
		cancelAlloc()
	}
	// Do with no actions starts the browser, so a failure shows here.
	if err := chromedp.Do(ctx); err != nil {
		browser.err = fmt.Errorf("start %s: %w", path, err)
	}
}

func closeBrowser() {
	if browser.cancel != nil {
		browser.cancel()
	}
	if browser.dataDir != "" {
		os.RemoveAll(browser.dataDir)
	}
}

// newTab returns a context for a fresh tab, with a viewport of the given
// size, in a browser context of its own. Without Chromium the test is
// skipped, unless CI=true, where the browser tests must run.
func newTab(t *testing.T, width, height int64) context.Context {
	t.Helper()
	browser.once.Do(startBrowser)
	if browser.err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("browser tests must run in CI, but: %v; install it with "+
				"`apt-get update && apt-get install -y chromium`", browser.err)
		}
		t.Skipf("skipping browser test: %v; install Chromium (Debian: apt-get install -y chromium) to run it",
			browser.err)
	}
	ctx, cancel := chromedp.NewContext(browser.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, testTimeout)
	t.Cleanup(cancelTimeout)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, height)); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	return ctx
}

// run runs browser actions, failing the test on error.
func run(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

// get runs a browser action that returns a value, failing the test on error.
func get[T any](t *testing.T, ctx context.Context, action chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, action)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// eval evaluates a JavaScript expression in the page and decodes its value.
func eval[T any](t *testing.T, ctx context.Context, expression string) T {
	t.Helper()
	return get(t, ctx, chromedp.Evaluate[T](expression))
}

// waitState waits until the element with the id says, in data-state, that
// its call has ended as want.
func waitState(id, want string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#%s[data-state=%q]`, id, want)))
}

// markStale sets an element's data-state to "stale", so that a wait for the
// state a new call ends in cannot be met by the last call's.
func markStale(id string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.getElementById(%q).dataset.state = "stale"`, id))
}

// text reads the text of the first element matching a CSS selector.
func text(t *testing.T, ctx context.Context, selector string) string {
	t.Helper()
	return strings.TrimSpace(get(t, ctx, chromedp.Text(chromedp.CSS(selector))))
}

// mapPoint is a position on the page, in CSS pixels, of a point of the map.
type mapPoint struct{ X, Y float64 }

// toScreen returns where a latitude and longitude in E7 degrees fall on
// the page, by the map's own transform.
func toScreen(t *testing.T, ctx context.Context, latitude, longitude int32) mapPoint {
	t.Helper()
	return eval[mapPoint](t, ctx, fmt.Sprintf(`(() => {
		const m = document.getElementById("plot").getScreenCTM();
		const p = new DOMPoint((%d / 1e7 + 180) * 10, (90 - %d / 1e7) * 10).matrixTransform(m);
		return {X: p.x, Y: p.y};
	})()`, longitude, latitude))
}

// drag presses the left mouse button at from, moves to to in steps, as a
// hand would, and releases it there.
func drag(from, to mapPoint) chromedp.Action[chromedp.Void] {
	return chromedp.DragAndDropXY(from.X, from.Y, to.X, to.Y, 8)
}

// screenshotDir is where screenshots go: $ROUTEGUIDE_SCREENSHOT_DIR if set,
// so that CI can keep them, or else the test's temporary directory.
func screenshotDir(t *testing.T) string {
	if dir := os.Getenv("ROUTEGUIDE_SCREENSHOT_DIR"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	return t.TempDir()
}

func saveScreenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png := get(t, ctx, chromedp.FullScreenshot(100))
	path := filepath.Join(screenshotDir(t), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// apiCall is one request to the RouteGuide API as the server saw it.
type apiCall struct {
	Method      string // HTTP method
	Procedure   string // such as GetFeature
	ContentType string // of the request; empty for Connect GET
	Encoding    string // the encoding query parameter of a Connect GET
}

// apiLog records the calls a server receives from browsers, so that tests
// can check that the page speaks the protocol it claims to. Calls from the Go
// client, which the tests compare the page with, are left out.
type apiLog struct {
	mu    sync.Mutex
	calls []apiCall // of RouteGuide; guarded by mu
	notes []apiCall // of NotesService; guarded by mu
}

func (l *apiLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.UserAgent(), "Mozilla/") {
			h.ServeHTTP(w, r)
			return
		}
		call := func(procedure string) apiCall {
			return apiCall{
				Method:      r.Method,
				Procedure:   procedure,
				ContentType: r.Header.Get("Content-Type"),
				Encoding:    r.URL.Query().Get("encoding"),
			}
		}
		l.mu.Lock()
		if procedure, ok := strings.CutPrefix(r.URL.Path, "/routeguide.RouteGuide/"); ok {
			l.calls = append(l.calls, call(procedure))
		} else if procedure, ok := strings.CutPrefix(r.URL.Path, "/routeguide.notes.v1.NotesService/"); ok {
			l.notes = append(l.notes, call(procedure))
		}
		l.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// takeNotes returns the calls of NotesService recorded so far and forgets
// them.
func (l *apiLog) takeNotes() []apiCall {
	l.mu.Lock()
	defer l.mu.Unlock()
	calls := l.notes
	l.notes = nil
	return calls
}

// take returns the calls of RouteGuide recorded so far and forgets them.
func (l *apiLog) take() []apiCall {
	l.mu.Lock()
	defer l.mu.Unlock()
	calls := l.calls
	l.calls = nil
	return calls
}
