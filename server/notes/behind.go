package notes

import "errors"

// ErrFeedBehind is wrapped, beside [ErrTooSlow], by the error that ends
// every watcher of a replica whose feed fell so far behind the store that
// it dropped what it had not delivered: the replica was slow, not the
// watchers' readers.
var ErrFeedBehind = errors.New("this replica's feed fell behind the store")
