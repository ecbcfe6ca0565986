package workload

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	kyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// MaxFileSize bounds what Load reads: real manifests and Compose files are
// kilobytes, and every parser holds the whole file in memory.
const MaxFileSize = 8 << 20

// Load reads a Docker Compose file, a Kubernetes manifest (one or more YAML
// documents, or a List) or an OCI runtime config.json and returns its
// workloads. Documents of kinds that carry no pod (Service, ConfigMap, ...)
// are skipped; use LoadWarn to hear about them.
func Load(path string) ([]Workload, error) {
	return LoadWarn(path, nil)
}

// LoadWarn is Load that tells warn (which may be nil) about what it skipped.
func LoadWarn(path string, warn func(error)) ([]Workload, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load workload: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("load workload %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("load workload %s: larger than %d bytes", path, MaxFileSize)
	}
	if warn == nil {
		warn = func(error) {}
	}
	return parse(path, data, warn)
}

// parse detects the format of data and decodes it; name, the path as the
// user gave it, starts every Source and error.
func parse(name string, data []byte, warn func(error)) ([]Workload, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%s: empty file", name)
	}
	// Peek at the first document's top-level keys: an OCI config has
	// ociVersion, a manifest has apiVersion and kind, a Compose file has
	// services. Later documents of a manifest are checked one by one.
	docs, err := documents(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(docs[0].json, &top); err != nil {
		return nil, fmt.Errorf("%s: document %d: not a mapping: %w", name, docs[0].index, err)
	}
	_, oci := top["ociVersion"]
	_, kind := top["kind"]
	_, services := top["services"]
	switch {
	case oci:
		if len(docs) > 1 {
			return nil, fmt.Errorf("%s: an OCI config is one document, found %d", name, len(docs))
		}
		w, err := parseOCI(name, docs[0].json)
		if err != nil {
			return nil, err
		}
		return []Workload{w}, nil
	case kind:
		return parseKube(name, docs, warn)
	case services:
		if len(docs) > 1 {
			return nil, fmt.Errorf("%s: a Compose file is one document, found %d", name, len(docs))
		}
		return parseCompose(name, docs[0].json)
	}
	return nil, fmt.Errorf("%s: not a Compose file (no services), Kubernetes manifest (no kind) or OCI config (no ociVersion)", name)
}

// document is one YAML document of a file, converted to JSON.
type document struct {
	index int // position in the file, counting empty documents
	json  []byte
}

// documents splits data at "---" lines (with apimachinery's reader, which
// knows the YAML rules for document markers) and converts each document to
// JSON, dropping empty ones (only comments, or nothing).
func documents(data []byte) ([]document, error) {
	r := kyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs []document
	for i := 0; ; i++ {
		raw, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		j, err := yaml.YAMLToJSON(raw)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if t := bytes.TrimSpace(j); len(t) == 0 || string(t) == "null" {
			continue
		}
		docs = append(docs, document{index: i, json: j})
	}
	if len(docs) == 0 {
		return nil, errors.New("no YAML document")
	}
	return docs, nil
}
