// flux-envsubst runs Flux's postBuild substitution offline: kustomize-controller's own code
// (github.com/fluxcd/pkg/kustomize SubstituteVariables, at the version this tools module pins for
// the controller), on Kubernetes objects as kustomize built them.
//
// stdin: JSON {"substitute": {"NAME": "value", ...}, "yaml": "<multi-document YAML>", "strict": bool}
// stdout: the objects after substitution, as multi-document YAML. strict is the controller's
// StrictPostBuildSubstitutions feature gate: a variable with no value and no default is an error.
// An error exits 1 with kustomize-controller's message on stderr.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/fluxcd/pkg/kustomize"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/provider"
)

type input struct {
	Substitute map[string]string `json:"substitute"`
	YAML       string            `json:"yaml"`
	Strict     bool              `json:"strict"`
}

func fail(code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "flux-envsubst: "+format+"\n", args...)
	os.Exit(code)
}

func main() {
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fail(2, "reading the input: %v", err)
	}
	resources, err := provider.NewDefaultDepProvider().GetResourceFactory().SliceFromBytes([]byte(in.YAML))
	if err != nil {
		fail(2, "reading the objects: %v", err)
	}
	substitute := map[string]any{}
	for k, v := range in.Substitute {
		substitute[k] = v
	}
	// A Flux Kustomization holding the variables in-line: dry run reads no ConfigMap or Secret.
	ks := unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"postBuild": map[string]any{"substitute": substitute}}}}
	docs := make([]string, 0, len(resources))
	for _, res := range resources {
		out, err := kustomize.SubstituteVariables(context.Background(), nil, ks, res,
			kustomize.SubstituteWithDryRun(true), kustomize.SubstituteWithStrict(in.Strict))
		if err != nil {
			fail(1, "%s %s: %v", res.GetKind(), res.GetName(), err)
		}
		if out == nil { // substitution disabled on this object by its label or annotation
			out = res
		}
		y, err := out.AsYAML()
		if err != nil {
			fail(2, "%s %s: %v", res.GetKind(), res.GetName(), err)
		}
		docs = append(docs, string(y))
	}
	fmt.Print(strings.Join(docs, "---\n"))
}
