// semver-check reads a JSON list of version ranges on stdin and prints, for each, whether
// Masterminds/semver v3 (what Flux's source-controller parses GitRepository ref.semver with)
// accepts it: the integration suite compares that with lib/semverRange.ts.
package main

import (
	"encoding/json"
	"os"

	"github.com/Masterminds/semver/v3"
)

type verdict struct {
	Range string `json:"range"`
	Valid bool   `json:"valid"`
	Error string `json:"error,omitempty"`
}

func main() {
	var ranges []string
	if err := json.NewDecoder(os.Stdin).Decode(&ranges); err != nil {
		os.Stderr.WriteString("semver-check: " + err.Error() + "\n")
		os.Exit(2)
	}
	out := make([]verdict, 0, len(ranges))
	for _, r := range ranges {
		v := verdict{Range: r, Valid: true}
		if _, err := semver.NewConstraint(r); err != nil {
			v.Valid = false
			v.Error = err.Error()
		}
		out = append(out, v)
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		os.Exit(2)
	}
}
