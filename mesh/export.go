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

	"golang.org/x/sync/errgroup"
)

// GraphVersion is the "version" written in graph.json.
const GraphVersion = 1

// WriteGraphJSON writes graph.json: {"version": 1, "nodes": [...]} with nodes sorted by ID, one per
// line.
func (g *Graph) WriteGraphJSON(w io.Writer) error {
	end := "\n]}\n"
	return writeNodeList(w, g.forEach, listFormat{open: fmt.Sprintf("{\"version\":%d,\"nodes\":[", GraphVersion),
		sep: ",", lead: "\n", close: end, closeEmpty: end})
}

// WriteNDJSON writes nodes.ndjson: one node per line, sorted by ID.
func (g *Graph) WriteNDJSON(w io.Writer) error {
	return writeNodeList(w, g.forEach, listFormat{trail: "\n"})
}

// WriteType writes types/<Type>.json: the nodes of one type as a JSON array.
func (g *Graph) WriteType(w io.Writer, typ string) error {
	walk := func(fn func(*Node) (bool, error)) error { return g.forEachOfType(typ, fn) }
	return writeNodeList(w, walk, listFormat{open: "[", sep: ",", lead: "\n", close: "\n]\n", closeEmpty: "]\n"})
}

// listFormat is how writeNodeList frames the nodes: open, then each node as lead + JSON + trail
// with sep between nodes, then close (closeEmpty when there was none).
type listFormat struct{ open, sep, lead, trail, close, closeEmpty string }

// writeNodeList writes the nodes walk yields in format f, through a buffer flushed every 48 KiB.
func writeNodeList(w io.Writer, walk func(func(*Node) (bool, error)) error, f listFormat) error {
	buf := make([]byte, 0, 64<<10)
	buf = append(buf, f.open...)
	count := 0
	err := walk(func(n *Node) (bool, error) {
		if count > 0 {
			buf = append(buf, f.sep...)
		}
		count++
		buf = append(buf, f.lead...)
		buf = appendNodeJSON(buf, n)
		buf = append(buf, f.trail...)
		if len(buf) > 48<<10 {
			if _, err := w.Write(buf); err != nil {
				return false, err
			}
			buf = buf[:0]
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	if count > 0 {
		buf = append(buf, f.close...)
	} else {
		buf = append(buf, f.closeEmpty...)
	}
	_, err = w.Write(buf)
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
	return b.writeDirWith(dir, nil, func() ([]OutputWriter, error) { return extra, nil })
}

// writeDirWith writes the folder; with reuse, the node files are not generated: every file the stamp
// lists that this build does not write is carried over from the previous folder. extras is called
// once the node files are written, for the extra outputs.
func (b *Build) writeDirWith(dir string, reuse *OutputStamp, extras func() ([]OutputWriter, error)) error {
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
	var files outFiles
	defer files.closeAll()
	if reuse == nil {
		if err := b.Graph.writeNodeFiles(tmp, &files); err != nil {
			return err
		}
	}
	extra, err := extras()
	if err != nil {
		return err
	}
	small := []OutputWriter{
		{"changes.json", func(w io.Writer) error { return writeJSON(w, b.Changes) }},
		{"report.json", func(w io.Writer) error { return writeJSON(w, b.Report) }},
	}
	for _, f := range append(small, extra...) {
		o, err := files.create(filepath.Join(tmp, filepath.FromSlash(f.Name)))
		if err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
		if err := f.Write(o.w); err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
	}
	if err := files.syncAll(); err != nil {
		return err
	}
	if reuse != nil {
		if err := carryOver(reuse, dir, tmp); err != nil {
			return err
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

// maxOpenTypeFiles bounds how many types/<Type>.json files are written in one pass over the nodes.
const maxOpenTypeFiles = 128

// writeNodeFiles writes graph.json, nodes.ndjson and types/*.json, encoding each node once for all
// three (graph and types are in ID order, so one pass feeds them all).
func (g *Graph) writeNodeFiles(dir string, files *outFiles) error {
	types := g.Types()
	graph, err := files.create(filepath.Join(dir, "graph.json"))
	if err != nil {
		return err
	}
	ndjson, err := files.create(filepath.Join(dir, "nodes.ndjson"))
	if err != nil {
		return err
	}
	fmt.Fprintf(graph.w, "{\"version\":%d,\"nodes\":[", GraphVersion)
	buf := make([]byte, 0, 16<<10)
	for pass := 0; pass == 0 || pass*maxOpenTypeFiles < len(types); pass++ {
		open := map[string]*outFile{}
		end := min(len(types), (pass+1)*maxOpenTypeFiles)
		for _, t := range types[pass*maxOpenTypeFiles : end] {
			f, err := files.create(filepath.Join(dir, "types", TypeFileName(t)))
			if err != nil {
				return err
			}
			f.w.WriteByte('[')
			open[t] = f
		}
		write := func(n *Node) (bool, error) {
			buf = appendNodeJSON(buf[:0], n)
			if pass == 0 {
				if graph.n > 0 {
					graph.w.WriteByte(',')
				}
				graph.w.WriteByte('\n')
				graph.w.Write(buf)
				graph.n++
				ndjson.w.Write(buf)
				ndjson.w.WriteByte('\n')
			}
			if tf := open[n.Type]; tf != nil {
				if tf.n > 0 {
					tf.w.WriteByte(',')
				}
				tf.w.WriteByte('\n')
				tf.w.Write(buf)
				tf.n++
			}
			return true, nil
		}
		if pass == 0 {
			if err := g.forEach(write); err != nil {
				return err
			}
		} else {
			for _, t := range types[pass*maxOpenTypeFiles : end] {
				if err := g.forEachOfType(t, write); err != nil {
					return err
				}
			}
		}
		for _, tf := range open {
			if tf.n > 0 {
				tf.w.WriteByte('\n')
			}
			tf.w.WriteString("]\n")
			if err := tf.finish(); err != nil {
				return err
			}
		}
	}
	graph.w.WriteString("\n]}\n")
	if err := graph.finish(); err != nil {
		return err
	}
	return ndjson.finish()
}

// outFile is one output file being written.
type outFile struct {
	f    *os.File
	w    *bufio.Writer
	n    int // items written, for separators
	done bool
}

// finish flushes the buffer; the file stays open until syncAll.
func (o *outFile) finish() error {
	if o.done {
		return nil
	}
	o.done = true
	if err := o.w.Flush(); err != nil {
		return fmt.Errorf("%s: %w", o.f.Name(), err)
	}
	return nil
}

// outFiles tracks the files of one output folder so they can be synced together.
type outFiles struct {
	list []*outFile
}

func (fs *outFiles) create(path string) (*outFile, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	o := &outFile{f: f, w: bufio.NewWriterSize(&writebackWriter{f: f}, 256<<10)}
	fs.list = append(fs.list, o)
	return o, nil
}

// syncAll flushes every file and syncs them concurrently (the disk flushes them in parallel), then
// closes them.
func (fs *outFiles) syncAll() error {
	for _, o := range fs.list {
		if err := o.finish(); err != nil {
			return err
		}
	}
	var g errgroup.Group
	g.SetLimit(8)
	for _, o := range fs.list {
		g.Go(func() error {
			if err := o.f.Sync(); err != nil {
				return fmt.Errorf("%s: %w", o.f.Name(), err)
			}
			return nil
		})
	}
	err := g.Wait()
	if cerr := fs.closeAll(); err == nil {
		err = cerr
	}
	return err
}

func (fs *outFiles) closeAll() error {
	var first error
	for _, o := range fs.list {
		if o.f != nil {
			if err := o.f.Close(); err != nil && first == nil {
				first = err
			}
			o.f = nil
		}
	}
	return first
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

func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// volatileOutputs are rewritten by every build; every other file of the folder depends only on the
// graph (or on what writes it) and may be carried over when the graph did not change.
var volatileOutputs = map[string]bool{"changes.json": true, "report.json": true}

// stampDir records the files of an output folder, for a later build to check they are untouched.
func stampDir(dir string) *OutputStamp {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil
	}
	st := &OutputStamp{Dir: abs}
	err = filepath.WalkDir(abs, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(abs, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if volatileOutputs[rel] {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		st.Files = append(st.Files, FileStamp{Name: rel, Size: info.Size(), ModTime: info.ModTime().UnixNano()})
		return nil
	})
	if err != nil {
		return nil
	}
	return st
}

// valid reports whether dir is the folder the stamp describes, with every file as written.
func (o *OutputStamp) valid(dir string) bool {
	abs, err := filepath.Abs(dir)
	if err != nil || abs != o.Dir || len(o.Files) == 0 {
		return false
	}
	for _, f := range o.Files {
		info, err := os.Lstat(filepath.Join(abs, filepath.FromSlash(f.Name)))
		if err != nil || !info.Mode().IsRegular() || info.Size() != f.Size || info.ModTime().UnixNano() != f.ModTime {
			return false
		}
	}
	return true
}

// carryOver links (or copies) into tmp every stamped file of the previous folder that tmp lacks.
func carryOver(st *OutputStamp, prevDir, tmp string) error {
	for _, f := range st.Files {
		dst := filepath.Join(tmp, filepath.FromSlash(f.Name))
		if _, err := os.Lstat(dst); err == nil {
			continue // written by this build
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		src := filepath.Join(prevDir, filepath.FromSlash(f.Name))
		if err := os.Link(src, dst); err != nil {
			if err := copyFile(src, dst); err != nil {
				return fmt.Errorf("carry over %s: %w", f.Name, err)
			}
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}
