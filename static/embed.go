// Package static embeds Kiln's CSS, JavaScript and images into the binary and names each file
// with a content hash, so browsers may cache it forever and still see every change.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"sync"
)

//go:embed css js img
var files embed.FS

// FS is the embedded asset tree (css/, js/, img/).
var FS fs.FS = files

// Prefix is the URL path the assets are served under.
const Prefix = "/static/"

var (
	hashesOnce sync.Once
	hashes     map[string]string
)

// URL returns the cache-busting URL of the asset at path (e.g. "css/app.css"):
// /static/css/app.css?v=<first 10 hex digits of its SHA-256>. An unknown path gets no version.
func URL(path string) string {
	if v := Version(path); v != "" {
		return Prefix + path + "?v=" + v
	}
	return Prefix + path
}

// Version returns the content hash used in path's URL, or "" when there is no such asset.
func Version(path string) string {
	hashesOnce.Do(func() {
		hashes = map[string]string{}
		_ = fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := files.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			hashes[p] = hex.EncodeToString(sum[:])[:10]
			return nil
		})
	})
	return hashes[path]
}
