// Command contentmesh pulls content from many APIs into one content graph, written as plain files.
//
// Usage:
//
//	contentmesh build    [-config mesh.yaml] [-out DIR] [-full] [-quiet] [-json] [-v]
//	contentmesh validate [-config mesh.yaml]
//	contentmesh schema   [-config mesh.yaml | -out DIR] [-go FILE [-package NAME]] [-json]
//	contentmesh query    [-config mesh.yaml | -out DIR] [-pretty | -compact] [-raw] '<gjson path>'
//	contentmesh diff     [-config mesh.yaml | -out DIR] [-json]
//	contentmesh pull     [-config mesh.yaml] [-out DIR] [-quiet]
//	contentmesh demo     [-dir DIR]
//
// Exit codes: 0 built, 1 a source failed or bad input, 2 bad usage or config.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/term"

	"github.com/contentmesh/contentmesh/internal/config"
	"github.com/contentmesh/contentmesh/internal/demo"
	"github.com/contentmesh/contentmesh/mesh"
	"github.com/contentmesh/contentmesh/sources"
)

// Exit codes (DESIGN section 7).
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv)
	stop()
	os.Exit(code)
}

const usage = `contentmesh pulls content from many APIs into one content graph.

Usage:
  contentmesh build    [-config mesh.yaml] [-out DIR] [-full] [-quiet] [-json] [-v]
  contentmesh validate [-config mesh.yaml]
  contentmesh schema   [-config mesh.yaml | -out DIR] [-go FILE [-package NAME]] [-json]
  contentmesh query    [-config mesh.yaml | -out DIR] [-pretty | -compact] [-raw] '<gjson path>'
  contentmesh diff     [-config mesh.yaml | -out DIR] [-json]
  contentmesh pull     [-config mesh.yaml] [-out DIR] [-quiet]
  contentmesh demo     [-dir DIR]

Run "contentmesh <command> -h" for a command's flags.
`

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) int {
	c := &cli{stdout: stdout, stderr: stderr, lookup: lookup, isTerminal: isTerminal}
	return c.run(ctx, args)
}

// cli is one invocation's surroundings: where output goes, the environment, and how to tell a
// terminal (tests replace it to drive the live progress display).
type cli struct {
	stdout, stderr io.Writer
	lookup         func(string) (string, bool)
	isTerminal     func(w io.Writer) bool
	bars           barsOptions
}

func (c *cli) run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(c.stderr, usage)
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "build":
		return c.cmdBuild(ctx, rest)
	case "validate":
		return c.cmdValidate(rest)
	case "schema":
		return c.cmdSchema(rest)
	case "query":
		return c.cmdQuery(rest)
	case "diff":
		return c.cmdDiff(rest)
	case "demo":
		return c.cmdDemo(ctx, rest)
	case "pull":
		return c.cmdPull(ctx, rest)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(c.stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(c.stderr, "contentmesh: unknown command %q\n\n%s", cmd, usage)
		return exitUsage
	}
}

// isTerminal reports whether w is a terminal device.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// interactive reports whether live progress may be drawn on w: a terminal, not in CI (CI set to
// anything but "false" or "0"), and not TERM=dumb.
func (c *cli) interactive(w io.Writer) bool {
	if v, ok := c.lookup("CI"); ok && v != "" && v != "false" && v != "0" {
		return false
	}
	if v, _ := c.lookup("TERM"); v == "dumb" {
		return false
	}
	return c.isTerminal(w)
}

// termWidth is the width of the terminal w (barsOptions.width when set); 0 when unknown, as on
// pseudo-terminals that report no size, where bars cannot be drawn.
func (c *cli) termWidth(w io.Writer) int {
	if c.bars.width > 0 {
		return c.bars.width
	}
	f, ok := w.(*os.File)
	if !ok {
		return 0
	}
	width, _, err := term.GetSize(int(f.Fd()))
	if err != nil {
		return 0
	}
	return width
}

// fail prints an error the way every command does and returns code.
func (c *cli) fail(code int, err error) int {
	fmt.Fprintf(c.stderr, "contentmesh: %v\n", err)
	return code
}

// flags makes a command's flag set, writing its help to stderr.
func (c *cli) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	return fs
}

// parseFailed is the exit code after a flag error: 0 for -h (the help was asked for), 2 otherwise.
func parseFailed(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	return exitUsage
}

// parseInterspersed parses flags that may come before or after the positional arguments (a query
// path first, then -out), and returns the positional ones. "--" ends the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// loaded is a config with its sources opened.
type loaded struct {
	file    *config.File
	path    string
	sources []namedSource
}

type namedSource struct {
	name string
	src  mesh.Source
}

// load reads the config and makes every source (validation only, no I/O).
func load(path string, lookup func(string) (string, bool)) (*loaded, error) {
	f, err := config.Load(path, lookup)
	if err != nil {
		return nil, err
	}
	l := &loaded{file: f, path: path}
	env := sources.Env{File: path, Dir: f.Dir}
	for _, s := range f.Sources {
		src, err := sources.Open(env, s)
		if err != nil {
			return nil, err
		}
		l.sources = append(l.sources, namedSource{s.Name, src})
	}
	// Link rules are checked by mesh.New; check them here too so validate reports them.
	if _, err := mesh.New(mesh.Options{Links: f.Links}); err != nil {
		return nil, err
	}
	return l, nil
}

// resolve makes a config path absolute against the config file's directory.
func (l *loaded) resolve(p, def string) string {
	return resolveIn(l.file.Dir, p, def)
}

func resolveIn(dir, p, def string) string {
	if p == "" {
		p = def
	}
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// outputFlags are the -config and -out flags of the commands that read the last build's output
// folder (schema, query, diff).
type outputFlags struct {
	fs     *flag.FlagSet
	config *string
	out    *string
}

func addOutputFlags(fs *flag.FlagSet) *outputFlags {
	return &outputFlags{
		fs:     fs,
		config: fs.String("config", "mesh.yaml", "config file whose out folder to read"),
		out:    fs.String("out", "", "output folder of the last build (overrides the config)"),
	}
}

// dir finds the output folder: -out; else the config's out (secrets in the config need not be set:
// nothing is fetched); else, when there is no mesh.yaml and -config was not given, ./.mesh.
func (o *outputFlags) dir(lookup func(string) (string, bool)) (string, error) {
	if *o.out != "" {
		return *o.out, nil
	}
	explicit := false
	o.fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "config" })
	lenient := func(k string) (string, bool) {
		v, _ := lookup(k)
		return v, true
	}
	f, err := config.Load(*o.config, lenient)
	if err != nil {
		if !explicit && errors.Is(err, fs.ErrNotExist) {
			return ".mesh", nil
		}
		return "", err
	}
	return resolveIn(f.Dir, f.Out, ".mesh"), nil
}

func (c *cli) cmdValidate(args []string) int {
	fs := c.flags("validate")
	cfgPath := fs.String("config", "mesh.yaml", "config file")
	if err := fs.Parse(args); err != nil {
		return parseFailed(err)
	}
	l, err := load(*cfgPath, c.lookup)
	if err != nil {
		return c.fail(exitUsage, err)
	}
	fmt.Fprintf(c.stdout, "%s: ok, %d sources, %d link rules\n", *cfgPath, len(l.sources), len(l.file.Links))
	return exitOK
}

func (c *cli) cmdDemo(ctx context.Context, args []string) int {
	fs := c.flags("demo")
	dir := fs.String("dir", ".", "folder to build the demo in (it writes DIR/.mesh and DIR/.mesh-cache)")
	if err := fs.Parse(args); err != nil {
		return parseFailed(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(c.stderr, "contentmesh demo: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if err := demo.Run(ctx, c.stdout, *dir); err != nil {
		return c.fail(exitFailed, err)
	}
	return exitOK
}

// newLogger logs to w at the level the flags ask for.
func newLogger(w io.Writer, verbose, quiet bool) *slog.Logger {
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelDebug
	}
	if quiet {
		level = slog.LevelError
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
