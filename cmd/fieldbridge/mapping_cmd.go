package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/fieldbridge/fieldbridge/mapping"
)

// runMapping runs `fieldbridge mapping SUBCOMMAND ...`:
//
//	mapping check [-dir DIR] [-mapping NAME|FILE.toml] [-lang L] [-rows N] FILE
//	mapping init  [-dir DIR] [-target T] [-sheet S] [-name N] [-lang L] [-o OUT.toml] FILE
//	mapping targets
//
// It returns the process exit code: 0 good, 1 rows with problems or a
// file that cannot be read, 2 usage or a mapping that does not load.
func runMapping(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, mappingUsage)
		return 2
	}
	switch args[0] {
	case "check":
		return runMappingCheck(args[1:], stdout, stderr)
	case "init":
		return runMappingInit(args[1:], stdout, stderr)
	case "targets":
		for _, name := range mapping.TargetNames() {
			t := mapping.Targets()[name]
			fmt.Fprintf(stdout, "%s — %s\n", t.Name, t.Doc)
			for _, f := range t.Fields {
				req := ""
				if f.Required {
					req = " (required)"
				}
				fmt.Fprintf(stdout, "  %-40s %s%s\n", f.Name, f.Type, req)
			}
		}
		return 0
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stderr, mappingUsage)
		return 0
	}
	fmt.Fprintf(stderr, "fieldbridge mapping: unknown subcommand %q\n%s", args[0], mappingUsage)
	return 2
}

const mappingUsage = `Usage: fieldbridge mapping check | init | targets

  fieldbridge mapping check [-dir DIR] [-mapping NAME|FILE.toml] [-lang pt-BR|es|en] [-rows N] FILE
      show how the first rows of FILE map and every problem; nothing is sent
  fieldbridge mapping init [-dir DIR] [-target officetrack-task|officetrack-poi] [-sheet S] [-name N] [-lang pt-BR|es|en] [-o OUT.toml] FILE
      write a draft mapping from FILE's headers and values (XLSX, ODS, XLS or CSV); the target
      is suggested from the columns unless -target is given; DIR/synonyms/*.toml extend the
      header synonyms
  fieldbridge mapping targets
      list the targets and their fields
`

func runMappingCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mapping check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "mappings", "folder of saved mappings (*.toml)")
	name := fs.String("mapping", "", "mapping name in -dir, or a .toml file (default: chosen by file name or headers)")
	lang := fs.String("lang", "pt-BR", "language of messages: pt-BR, es, en")
	rows := fs.Int("rows", 3, "mapped rows to show")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprint(stderr, mappingUsage)
		return 2
	}
	file := fs.Arg(0)
	opts := mapping.CheckOptions{Options: mapping.Options{Lang: *lang}, ShowRows: *rows}
	var m *mapping.Mapping
	if strings.HasSuffix(strings.ToLower(*name), ".toml") {
		var err error
		if m, err = mapping.LoadFile(*name); err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
	} else {
		set, err := mapping.LoadDir(*dir)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
		if m, err = set.Choose(file, *name, opts.Options); err != nil {
			fmt.Fprintln(stderr, mapping.Explain(err, *lang))
			return 1
		}
	}
	res, err := mapping.Check(stdout, file, m, opts)
	if err != nil || res.Problems > 0 {
		return 1
	}
	return 0
}

func runMappingInit(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mapping init", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "mappings", "folder of saved mappings; its synonyms/ subfolder extends the header synonyms")
	target := fs.String("target", "", "target: "+strings.Join(mapping.TargetNames(), ", ")+" (default: suggested from the columns)")
	lang := fs.String("lang", "pt-BR", "language of messages: pt-BR, es, en")
	sheetRef := fs.String("sheet", "", "sheet name or #position (default the first)")
	name := fs.String("name", "", "mapping name (default from the file name)")
	out := fs.String("o", "", "write the draft to this file instead of the standard output (refuses to overwrite)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprint(stderr, mappingUsage)
		return 2
	}
	syn, err := mapping.LoadSynonyms(filepath.Join(*dir, mapping.SynonymsDir))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	w := stdout
	var f *os.File
	if *out != "" {
		var err error
		f, err = os.OpenFile(*out+".partial", os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		w = f
	}
	err = mapping.Draft(w, fs.Arg(0), mapping.DraftOptions{Target: *target, Sheet: *sheetRef, Name: *name, Synonyms: syn})
	if f != nil {
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			if _, statErr := os.Stat(*out); statErr == nil {
				err = fmt.Errorf("%s exists; not overwritten", *out)
			} else if errors.Is(statErr, os.ErrNotExist) {
				err = os.Rename(*out+".partial", *out)
			} else {
				err = statErr
			}
		}
		if err != nil {
			os.Remove(*out + ".partial")
		} else {
			fmt.Fprintf(stderr, "wrote %s\n", filepath.Clean(*out))
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, mapping.Explain(err, *lang))
		return 1
	}
	return 0
}
