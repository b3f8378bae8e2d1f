//go:build !unix

package sqlite

// lockFile does nothing where flock is missing: processes starting at once on one database
// there must not migrate it at the same time.
func lockFile(string) (func(), error) { return func() {}, nil }
