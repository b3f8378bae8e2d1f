//go:build !unix

package sqlite

import "context"

// lockFile does nothing where flock is missing: processes starting at once on one database
// there must not migrate it at the same time.
func lockFile(context.Context, string) (func(), error) { return func() {}, nil }
