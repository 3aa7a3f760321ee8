package mesh

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// GraphVersion is the "version" written in graph.json.
const GraphVersion = 1

// WriteGraphJSON writes graph.json: {"version": 1, "nodes": [...]} with nodes sorted by ID, one per
// line.
func (g *Graph) WriteGraphJSON(w io.Writer) error {
	buf := make([]byte, 0, 64<<10)
	buf = fmt.Appendf(buf, "{\"version\":%d,\"nodes\":[", GraphVersion)
	for i, n := range g.nodes {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, '\n')
		buf = appendNodeJSON(buf, n)
		if len(buf) > 48<<10 {
			if _, err := w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	buf = append(buf, "\n]}\n"...)
	_, err := w.Write(buf)
	return err
}

// WriteNDJSON writes nodes.ndjson: one node per line, sorted by ID.
func (g *Graph) WriteNDJSON(w io.Writer) error {
	return writeNodeLines(w, g.nodes, "", "\n", "")
}

// WriteType writes types/<Type>.json: the nodes of one type as a JSON array.
func (g *Graph) WriteType(w io.Writer, typ string) error {
	return writeNodeLines(w, g.byType[typ], "[", ",\n", "]\n")
}

func writeNodeLines(w io.Writer, nodes []*Node, open, sep, closing string) error {
	buf := make([]byte, 0, 64<<10)
	buf = append(buf, open...)
	if open != "" && len(nodes) > 0 {
		buf = append(buf, '\n')
	}
	for i, n := range nodes {
		buf = appendNodeJSON(buf, n)
		if sep == "\n" || i < len(nodes)-1 {
			buf = append(buf, sep...)
		} else if open != "" {
			buf = append(buf, '\n')
		}
		if len(buf) > 48<<10 {
			if _, err := w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	buf = append(buf, closing...)
	_, err := w.Write(buf)
	return err
}

// TypeFileName is the file name of a type's node list under types/: the type with every character
// other than letters, digits, '-' and '_' replaced by '_', plus ".json".
func TypeFileName(typ string) string {
	clean := strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			return r
		}
		return '_'
	}, typ)
	if clean == "" || clean != typ {
		// Keep distinct types distinct after cleaning.
		sum := hex.EncodeToString([]byte(typ))
		if len(sum) > 16 {
			sum = sum[:16]
		}
		clean += "-" + sum
	}
	return clean + ".json"
}

// OutputWriter writes one extra file into the output folder during WriteDir (schema.json, mesh.d.ts,
// report.html, ...). name is a path relative to the folder.
type OutputWriter struct {
	Name  string
	Write func(w io.Writer) error
}

// WriteDir writes the output folder (DESIGN section 7) into dir: graph.json, nodes.ndjson,
// types/<Type>.json, changes.json and report.json, plus any extra outputs. Everything is written into
// a new folder beside dir, synced, and then swapped in, so dir holds the old outputs or the new ones.
func (b *Build) WriteDir(dir string, extra ...OutputWriter) error {
	if b.Graph == nil {
		return fmt.Errorf("no graph to write")
	}
	dir = filepath.Clean(dir)
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	g := b.Graph
	files := []OutputWriter{
		{"graph.json", g.WriteGraphJSON},
		{"nodes.ndjson", g.WriteNDJSON},
		{"changes.json", func(w io.Writer) error { return writeJSON(w, b.Changes) }},
		{"report.json", func(w io.Writer) error { return writeJSON(w, b.Report) }},
	}
	for _, t := range g.types {
		files = append(files, OutputWriter{"types/" + TypeFileName(t), func(w io.Writer) error { return g.WriteType(w, t) }})
	}
	files = append(files, extra...)
	for _, f := range files {
		if err := writeNewFile(filepath.Join(tmp, filepath.FromSlash(f.Name)), f.Write); err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
	}
	syncDir(filepath.Join(tmp, "types"))
	syncDir(tmp)
	if err := swapDir(tmp, dir); err != nil {
		return err
	}
	done = true
	return nil
}

// swapDir replaces dst with src: dst is renamed aside, src renamed into place, the old one removed.
func swapDir(src, dst string) error {
	var aside string
	if _, err := os.Lstat(dst); err == nil {
		var rnd [6]byte
		rand.Read(rnd[:])
		aside = filepath.Join(filepath.Dir(dst), "."+filepath.Base(dst)+".old-"+hex.EncodeToString(rnd[:]))
		if err := os.Rename(dst, aside); err != nil {
			return err
		}
	}
	if err := os.Rename(src, dst); err != nil {
		if aside != "" {
			os.Rename(aside, dst)
		}
		return err
	}
	syncDir(filepath.Dir(dst))
	if aside != "" {
		os.RemoveAll(aside)
	}
	return nil
}

func writeNewFile(path string, write func(io.Writer) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 256<<10)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
