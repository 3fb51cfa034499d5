package agent

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

type listedPackage struct {
	ImportPath string
	Doc        string
	Deps       []string
	Name       string
}

func listPackages(t *testing.T) []listedPackage {
	t.Helper()
	if testing.Short() {
		t.Skip("runs go list")
	}
	cmd := exec.Command("go", "list", "-json", "github.com/tmas/storeagent/...")
	cmd.Dir = ".."
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(out)
	for {
		var p listedPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	return pkgs
}

// TestDependenciesPointOneWay: importers and the FTP endpoint import only
// the leaf contract package (and their own sub-packages), never the agent's
// internals or bbolt; the contract imports nothing of the project.
func TestDependenciesPointOneWay(t *testing.T) {
	const mod = "github.com/tmas/storeagent/"
	pkgs := listPackages(t)
	checked := 0
	defer func() {
		if checked < 6 {
			t.Errorf("checked %d importer/ftpd packages, want all of them (6+)", checked)
		}
	}()
	for _, p := range pkgs {
		rel := strings.TrimPrefix(p.ImportPath, mod)
		leafOnly := strings.HasPrefix(rel, "importers/") || rel == "ftpd" || strings.HasPrefix(rel, "ftpd/")
		if !leafOnly {
			continue
		}
		checked++
		for _, d := range p.Deps {
			if d == "go.etcd.io/bbolt" || strings.HasPrefix(d, "go.etcd.io/bbolt/") {
				t.Errorf("%s depends on bbolt: only the agent's spool may", rel)
			}
			if !strings.HasPrefix(d, mod) {
				continue
			}
			drel := strings.TrimPrefix(d, mod)
			switch {
			case rel == "importers/record" || rel == "importers/retry":
				t.Errorf("the leaf %s depends on %s", rel, drel)
			case drel == "importers/record", drel == "importers/retry", strings.HasPrefix(drel, rel+"/"):
			default:
				t.Errorf("%s depends on %s: importers and ftpd may import only the leaves importers/record and importers/retry", rel, drel)
			}
		}
	}
}

// TestEveryPackageSaysWhatItIsFor: each package has a doc comment.
func TestEveryPackageSaysWhatItIsFor(t *testing.T) {
	for _, p := range listPackages(t) {
		if strings.TrimSpace(p.Doc) == "" {
			t.Errorf("package %s has no doc comment", p.ImportPath)
		}
	}
}
