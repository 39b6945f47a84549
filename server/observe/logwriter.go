package observe

import (
	"io"
	"runtime"
	"sync"
)

// maxLogBuffered bounds the bytes of records a LogWriter holds; a record
// that would go past it waits for the writer to catch up.
const maxLogBuffered = 256 << 10

// LogWriter takes the writing of log records off the path of the request
// that logs them: a Write copies the record and returns, and a goroutine,
// running only while there is something to write, writes all the records
// gathered in one system call. No record is dropped: when maxLogBuffered
// bytes wait, Write waits for room. Records written through one Write stay
// whole and in order. The caller must call Close when finished, before the
// program exits.
type LogWriter struct {
	w io.Writer

	mu       sync.Mutex // protects the fields below
	cond     sync.Cond  // signalled when the buffer drains or the goroutine ends
	buf      []byte     // records waiting to be written
	spare    []byte     // the buffer last written, for reuse
	flushing bool       // whether the goroutine runs
	closed   bool
	err      error // the first error from w
}

// NewLogWriter returns a LogWriter that writes to w, which is written from
// one goroutine at a time.
func NewLogWriter(w io.Writer) *LogWriter {
	l := &LogWriter{w: w}
	l.cond.L = &l.mu
	return l
}

// Write copies p to be written soon, waiting first if too much is waiting
// already. After Close, it writes p at once. It reports no error from the
// writer; Close does.
func (l *LogWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for !l.closed && len(l.buf) > 0 && len(l.buf)+len(p) > maxLogBuffered {
		l.cond.Wait()
	}
	if l.closed {
		return l.w.Write(p)
	}
	l.buf = append(l.buf, p...)
	if !l.flushing {
		l.flushing = true
		go l.flush()
	}
	return len(p), nil
}

func (l *LogWriter) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.buf) > 0 {
		// Let the goroutines about to log run first, and their records
		// share the write.
		l.mu.Unlock()
		runtime.Gosched()
		l.mu.Lock()
		batch := l.buf
		l.buf, l.spare = l.spare[:0], nil
		l.cond.Broadcast()
		l.mu.Unlock()
		_, err := l.w.Write(batch)
		l.mu.Lock()
		if err != nil && l.err == nil {
			l.err = err
		}
		if cap(batch) <= maxLogBuffered {
			l.spare = batch
		}
	}
	l.flushing = false
	l.cond.Broadcast()
}

// Close writes what is waiting, and returns the first error the writer
// gave, if any. Later Writes write at once.
func (l *LogWriter) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	for l.flushing {
		l.cond.Wait()
	}
	l.spare = nil
	return l.err
}
