package files

import (
	"fmt"
	"path"
	"strings"
)

// glob is an include pattern split at '/'. A "**" segment matches any number of folders (zero
// included); every other segment is a path.Match pattern for one name.
type glob []string

// compileGlob checks an include pattern. Patterns are slash-separated and relative to dir.
func compileGlob(p string) (glob, error) {
	p = strings.TrimPrefix(p, "./")
	switch {
	case p == "":
		return nil, fmt.Errorf("empty pattern")
	case strings.HasPrefix(p, "/"):
		return nil, fmt.Errorf("%q: patterns are relative to dir, not absolute", p)
	case strings.Contains(p, `\`):
		return nil, fmt.Errorf("%q: use '/' between folders (and no '\\' escapes)", p)
	}
	segs := strings.Split(p, "/")
	var g glob
	for _, s := range segs {
		switch {
		case s == "" || s == ".":
			return nil, fmt.Errorf("%q: empty folder name in pattern", p)
		case s == "..":
			return nil, fmt.Errorf("%q: patterns cannot leave dir", p)
		case s == "**":
			if len(g) > 0 && g[len(g)-1] == "**" {
				continue // "**/**" is "**"
			}
		default:
			if _, err := path.Match(s, ""); err != nil {
				return nil, fmt.Errorf("%q: bad pattern segment %q: %w", p, s, err)
			}
		}
		g = append(g, s)
	}
	if g[len(g)-1] == "**" {
		return nil, fmt.Errorf("%q: the last segment must name files (e.g. \"**/*.md\")", p)
	}
	return g, nil
}

// match reports whether the slash path (split into segs) matches the pattern.
func (g glob) match(segs []string) bool { return g.matchFrom(0, segs) }

func (g glob) matchFrom(pi int, segs []string) bool {
	for pi < len(g) {
		if g[pi] == "**" {
			for k := 0; k <= len(segs); k++ {
				if g.matchFrom(pi+1, segs[k:]) {
					return true
				}
			}
			return false
		}
		if len(segs) == 0 {
			return false
		}
		if ok, _ := path.Match(g[pi], segs[0]); !ok {
			return false
		}
		pi, segs = pi+1, segs[1:]
	}
	return len(segs) == 0
}

// mayMatchUnder reports whether a file under the folder dirSegs could match the pattern, so that
// folders no pattern can reach are not walked.
func (g glob) mayMatchUnder(dirSegs []string) bool {
	pi := 0
	for _, s := range dirSegs {
		if pi >= len(g)-1 { // the last segment names files, not folders
			return false
		}
		if g[pi] == "**" {
			return true
		}
		if ok, _ := path.Match(g[pi], s); !ok {
			return false
		}
		pi++
	}
	return true
}
