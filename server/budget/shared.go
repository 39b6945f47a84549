package budget

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/routeguide/routeguide/server/internal/defaults"
)

// SharedConfig configures a [Shared] limiter.
type SharedConfig struct {
	// Policy is every client's budget.
	Policy Policy
	// Bucket is the JetStream key-value bucket holding the budgets.
	// Default "routeguide_budgets".
	Bucket string
	// Replicas is how many JetStream servers keep the bucket. Default 1.
	Replicas int
	// MaxBytes bounds the bucket; when it is full, budgets of clients it
	// does not hold are kept by each replica alone, as when NATS is
	// unreachable. Each client takes about 110 bytes (TestSharedBucketFull),
	// so the default holds about 150,000. Default 16 MiB.
	MaxBytes int64
	// Timeout bounds one check; past it, the replica decides alone.
	// Default 1 second.
	Timeout time.Duration
	// Unshared, if set, is called with the error of every check the
	// replica had to decide alone, for logs and metrics. It must be safe
	// for concurrent use and quick.
	Unshared func(error)
	// Now is the limiter's clock. Default time.Now. The replicas' clocks
	// need to agree only to a small fraction of [Policy.Refill].
	Now func() time.Time
}

// Shared keeps every client's budget in a JetStream key-value bucket, so
// that every replica charges the same budget. Each budget is one entry
// updated with compare-and-swap on its revision; an entry not written for
// [Policy.Refill], whose budget is full again, expires.
//
// When the bucket cannot be reached (NATS down or disconnected, JetStream
// without a leader, the bucket full) a replica decides alone, with its
// [Local] limiter: a client then gets at most its budget from each
// replica, never an unlimited one, and writes are not refused for a fault
// that is not the client's. It is safe for concurrent use.
type Shared struct {
	policy   Policy
	nc       *nats.Conn
	js       jetstream.JetStream
	config   jetstream.KeyValueConfig
	timeout  time.Duration
	local    *Local
	unshared func(error)
	now      func() time.Time

	mu         sync.Mutex
	kv         jetstream.KeyValue // protected by mu
	lastCreate time.Time          // protected by mu; when the bucket was last created

	// turns lets one check at a time per stripe of keys run on this
	// replica: one client's concurrent writes here then queue instead of
	// racing each other's compare-and-swap and losing 16 times in
	// a row (158 of 1,882 writes within budget were refused so, 16 at once
	// across three replicas), which leaves only other replicas to race.
	turns [keyStripes]chan struct{}
	seed  maphash.Seed // of the keys' stripes
}

// keyStripes is how many stripes the keys share for [Shared]'s turns: a
// fixed cost (one channel each), and two clients that share one merely
// take turns.
const keyStripes = 64

// OpenShared creates or opens the bucket of cfg on nc's JetStream and
// returns a limiter that keeps the budgets there. If NATS does not answer
// for openPatience, the limiter decides alone, reporting it through
// cfg.Unshared, until a later check can make the bucket. The bucket's settings
// follow cfg: a replica started with another Policy updates them, since
// they depend on Policy.Refill. The caller keeps nc and closes it.
func OpenShared(ctx context.Context, nc *nats.Conn, cfg SharedConfig) (*Shared, error) {
	cfg.Policy = cfg.Policy.withDefaults()
	cfg.Bucket = cmp.Or(cfg.Bucket, "routeguide_budgets")
	defaults.Set(&cfg.Replicas, 1)
	defaults.Set(&cfg.MaxBytes, 16<<20)
	defaults.Set(&cfg.Timeout, time.Second)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("budget: %w", err)
	}
	s := &Shared{
		policy: cfg.Policy, nc: nc, js: js, timeout: cfg.Timeout,
		unshared: cfg.Unshared, now: cfg.Now, seed: maphash.MakeSeed(),
		// Holds the budgets while the bucket cannot be reached.
		local: NewLocal(LocalConfig{Policy: cfg.Policy, Now: cfg.Now}),
	}
	for i := range s.turns {
		s.turns[i] = make(chan struct{}, 1)
	}
	s.config = jetstream.KeyValueConfig{
		Bucket:      cfg.Bucket,
		Description: "RouteGuide: each client's write budget",
		History:     1,
		// A budget not written for Refill is full, the same as none.
		TTL:      cfg.Policy.Refill(),
		MaxBytes: cfg.MaxBytes,
		// Budgets lost in a restart are full ones: not worth a disk.
		Storage:  jetstream.MemoryStorage,
		Replicas: cfg.Replicas,
	}
	if err := s.createAtStart(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// openPatience is how long OpenShared tries to make the bucket while NATS
// does not answer, as while a node is stopped or a busy machine is slow,
// before the limiter starts deciding alone.
const openPatience = 30 * time.Second

// createAtStart makes the bucket, trying again while NATS does not answer,
// for up to openPatience or until ctx is done. Past that it lets the
// limiter start, deciding alone as during any outage (and saying so), to
// make the bucket at a later check, rather than refuse to start: a replica
// restarted during a NATS fault must come back. An error NATS answers with
// is returned.
func (s *Shared) createAtStart(ctx context.Context) error {
	giveUp := time.Now().Add(openPatience)
	for {
		_, err := s.createBucket(ctx, nil)
		if err == nil {
			return nil
		}
		if !noAnswer(err) {
			return err
		}
		if ctx.Err() != nil || time.Now().After(giveUp) {
			if s.unshared != nil {
				s.unshared(err)
			}
			return nil
		}
		_ = sleep(ctx, recreateInterval) // createBucket's own pace; the loop looks at ctx
	}
}

// noAnswer reports whether err says that NATS did not answer in time, not
// that it refused: the bucket may be made later.
func noAnswer(err error) bool {
	var apiErr *jetstream.APIError
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		(errors.As(err, &apiErr) && apiErr.Code == 503)
}

// recreateInterval is the least time between two attempts to create the
// bucket again, so that an outage does not turn every write into a request
// to create it.
const recreateInterval = time.Second

// createBucket creates or updates the bucket, unless another check has done
// so since it found the bucket missing in stale, or did so too recently;
// it returns the bucket to use.
func (s *Shared) createBucket(ctx context.Context, stale jetstream.KeyValue) (jetstream.KeyValue, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.kv != stale {
		return s.kv, nil
	}
	now := time.Now()
	if now.Sub(s.lastCreate) < recreateInterval {
		return nil, fmt.Errorf("%w: bucket %s missing, created again less than %v ago", ErrUnshared, s.config.Bucket, recreateInterval)
	}
	s.lastCreate = now
	if _, err := s.js.CreateOrUpdateKeyValue(ctx, s.config); err != nil {
		return nil, fmt.Errorf("%w: create bucket %s: %w", ErrUnshared, s.config.Bucket, err)
	}
	kv, err := s.leaderReads(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: bucket %s: %w", ErrUnshared, s.config.Bucket, err)
	}
	s.kv = kv
	return kv, nil
}

// leaderReads turns off the bucket's direct gets and opens it: a direct get
// may be answered by a follower that has not applied the latest charge, and
// a check that reads a stale revision loses its compare-and-swap again and
// again until the follower catches up. A handle opened while direct gets
// are off reads from the stream's leader, even if a replica that starts
// later turns them on again by creating the bucket.
func (s *Shared) leaderReads(ctx context.Context) (jetstream.KeyValue, error) {
	stream, err := s.js.Stream(ctx, "KV_"+s.config.Bucket)
	if err != nil {
		return nil, err
	}
	if cfg := stream.CachedInfo().Config; cfg.AllowDirect {
		cfg.AllowDirect = false
		if _, err := s.js.UpdateStream(ctx, cfg); err != nil {
			return nil, err
		}
	}
	return s.js.KeyValue(ctx, s.config.Bucket)
}

func (s *Shared) bucket() jetstream.KeyValue {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.kv
}

// bucketMissing reports whether err says the bucket does not exist, as
// after the restart of a NATS server that held it in memory alone.
func bucketMissing(err error) bool {
	return errors.Is(err, jetstream.ErrBucketNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse)
}

// ErrUnshared is wrapped by the errors a [Shared] limiter reports through
// [SharedConfig.Unshared] when it decided alone.
var ErrUnshared = errors.New("budget: decided without the shared budgets")

// errDisconnected is what a check decided alone reports while the
// connection to NATS is down.
var errDisconnected = fmt.Errorf("%w: not connected to NATS", ErrUnshared)

// Allow charges one write to key's budget, shared by every replica. It
// waits for at most the configured timeout for its turn behind the same
// client's other writes on this replica, and as long again for the bucket.
func (s *Shared) Allow(parent context.Context, key Key) Decision {
	if !s.nc.IsConnected() {
		return s.alone(parent, key, errDisconnected)
	}
	d, err := s.allowInTurn(parent, key)
	if err != nil {
		if parent.Err() != nil {
			// The caller is gone: not the bucket's fault, nothing to report.
			return s.local.Allow(parent, key)
		}
		if errors.Is(err, errCrowded) {
			// The client's own writes are outrunning the count: deciding
			// alone would let a flood through every replica at once.
			return Decision{RetryAfter: time.Duration(s.policy.interval()), Crowded: true}
		}
		return s.alone(parent, key, err)
	}
	return d
}

// errCrowded is the error of a check that ran out of time behind the same
// client's other writes: waiting for its turn on this replica, or losing
// compare-and-swaps to them on others. It is refused, not decided alone.
var errCrowded = errors.New("budget: the client's writes crowd each other out")

// allowInTurn waits for key's turn on this replica, within ctx, and then
// charges it.
func (s *Shared) allowInTurn(parent context.Context, key Key) (Decision, error) {
	name := key.String()
	turn := s.turns[s.stripe(name)]
	wait := time.NewTimer(s.timeout)
	defer wait.Stop()
	select {
	case turn <- struct{}{}:
	case <-wait.C:
		return Decision{}, fmt.Errorf("%w: waited %v for the turn of %s", errCrowded, s.timeout, name)
	case <-parent.Done():
		return Decision{}, parent.Err()
	}
	defer func() { <-turn }()
	// The bucket gets a time of its own: one that runs out is the
	// bucket's fault, not the queue's.
	ctx, cancel := context.WithTimeout(parent, s.timeout)
	defer cancel()
	return s.allow(ctx, key, name)
}

// stripe returns the stripe of key's turns.
func (s *Shared) stripe(key string) int {
	return int(maphash.String(s.seed, key) % keyStripes)
}

// allow charges k, named key in the bucket.
func (s *Shared) allow(ctx context.Context, k Key, key string) (Decision, error) {
	kv := s.bucket()
	if kv == nil {
		// Not made when the limiter opened: make it now.
		var err error
		if kv, err = s.createBucket(ctx, nil); err != nil {
			return Decision{}, err
		}
	}
	// A check tries until it wins or its time is up: a replica on a node
	// away from the bucket's leader can lose to one beside it for as long
	// as that one has writes of the same client queued. A check that ran
	// out of time after losing a race is crowded out by its own client,
	// and refused (see Allow).
	lost := false
	for {
		var tat int64
		var revision uint64
		entry, err := kv.Get(ctx, key)
		switch {
		case err == nil && len(entry.Value()) == 8:
			tat = int64(binary.BigEndian.Uint64(entry.Value()))
			revision = entry.Revision()
		case err == nil:
			// Not a budget this package wrote: start afresh over it.
			revision = entry.Revision()
		case errors.Is(err, jetstream.ErrKeyNotFound), errors.Is(err, jetstream.ErrKeyDeleted):
		case bucketMissing(err):
			made, err := s.createBucket(ctx, kv)
			if err != nil {
				if sleep(ctx, bucketPause) == nil {
					continue
				}
				return Decision{}, err
			}
			kv = made
			continue
		case lost && ctx.Err() != nil:
			return Decision{}, fmt.Errorf("%w: get %s: %w", errCrowded, key, err)
		case answersSoon(err) && sleep(ctx, bucketPause) == nil:
			continue
		default:
			return Decision{}, fmt.Errorf("%w: get %s: %w", ErrUnshared, key, err)
		}
		d, next := s.policy.decide(tat, s.now().UnixNano())
		if !d.Allowed {
			s.local.learn(k, next)
			return d, nil
		}
		value := binary.BigEndian.AppendUint64(nil, uint64(next))
		if revision == 0 {
			_, err = kv.Create(ctx, key, value)
		} else {
			_, err = kv.Update(ctx, key, value, revision)
		}
		switch {
		case err == nil:
			s.local.learn(k, next)
			return d, nil
		case errors.Is(err, jetstream.ErrKeyExists), errors.Is(err, jetstream.ErrKeyRevisionMismatch):
			// Another replica charged this client first: read again, after
			// a pause drawn at random.
			lost = true
			if err := backOff(ctx); err != nil {
				return Decision{}, fmt.Errorf("%w: update %s: lost every race to other replicas: %w", errCrowded, key, err)
			}
		case lost && ctx.Err() != nil:
			return Decision{}, fmt.Errorf("%w: update %s: %w", errCrowded, key, err)
		case answersSoon(err) && sleep(ctx, bucketPause) == nil:
			// Read again: an update that timed out may have been
			// stored, and is then charged twice, not let through.
			continue
		default:
			return Decision{}, fmt.Errorf("%w: update %s: %w", ErrUnshared, key, err)
		}
	}
}

// answersSoon reports whether err says the bucket did not answer, as
// while its stream has no leader, rather than that it refused, as when it
// is full: a full bucket stays full for longer than a check waits.
func answersSoon(err error) bool {
	var apiErr *jetstream.APIError
	return noAnswer(err) && !(errors.As(err, &apiErr) && apiErr.ErrorCode == errCodeStoreFailed)
}

// errCodeStoreFailed is JetStream's error code for a message the stream
// could not store, as when the bucket's MaxBytes is reached; the nats
// package names no constant for it.
const errCodeStoreFailed jetstream.ErrorCode = 10077

// bucketPause is how long a check waits before it asks a bucket that did
// not answer again, within the check's time. A bucket that does not answer
// for a moment, as while its stream elects a leader on a busy machine, is
// asked again rather than left at once: a check decided alone charges
// nothing to the shared budget, and a CI run saw one replica decide 22
// writes alone in a minute's flood and let the client have 111 notes of a
// budget of 90.
const bucketPause = 25 * time.Millisecond

// backOff waits a random time up to a millisecond, or until ctx is done:
// replicas racing in step fall out of it, and each try stays as likely to
// win as the others' (a pause that grew with the attempts would leave the
// check that lost most to lose again).
func backOff(ctx context.Context) error {
	return sleep(ctx, rand.N(time.Millisecond))
}

// sleep waits for d, or returns ctx's error if it is done first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// alone decides with the local limiter, and says why. The local limiter
// has learned each client's budget from the checks this replica shared
// (see [Local.learn]), so a client it saw spend its budget does not find a
// full one here when the bucket stops answering for a moment.
func (s *Shared) alone(ctx context.Context, key Key, err error) Decision {
	if s.unshared != nil {
		s.unshared(err)
	}
	d := s.local.Allow(ctx, key)
	d.Unshared = true
	return d
}
