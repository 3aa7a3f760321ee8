// Package sample is the quickstart's sample data, embedded so the demo runs anywhere: api/products.json
// and api/people.json (what the two sample APIs serve) and content/posts/*.md (the blog's Markdown).
// Other examples read the same files from this folder.
package sample

import "embed"

// FS holds api/ and content/.
//
//go:embed api content
var FS embed.FS
