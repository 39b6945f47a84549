package notes

// Stats describes a store at one moment.
type Stats struct {
	Notes, Locations int
	Bytes            int64
	Evicted          uint64
}
