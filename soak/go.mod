module github.com/routeguide/routeguide/soak

go 1.26.0

require (
	connectrpc.com/connect/v2 v2.0.2
	github.com/google/go-cmp v0.7.0
	github.com/routeguide/routeguide v0.0.0
	go.uber.org/goleak v1.3.0
	google.golang.org/protobuf v1.36.12
)

require (
	github.com/planetscale/vtprotobuf v0.6.1-0.20240319094008-0393e58bdf10 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
)

// The soak tool always drives the server and client of this checkout.
replace github.com/routeguide/routeguide => ../
