# shellcheck shell=bash disable=SC2154
# What testbed/build.sh and testbed/pulumi/build.sh share; each sources this file. They set the
# globals it reads: `here` (the directory of the calling script, holding its tools modules) and
# `only` (the space-separated names to build, empty: all).

# module_field DIR MODULE FIELD: Version or Dir of MODULE as pinned by the tools module in DIR.
module_field() {
    (cd "$here/$1" && go mod download -json "$2" | node -e '
        const m = JSON.parse(require("fs").readFileSync(0, "utf8"));
        if (m.Error) { console.error(m.Error); process.exit(1); }
        process.stdout.write(m["'"$3"'"] || "");')
}

# wanted NAME: true when NAME is to be built (no `only` list, or NAME is on it).
wanted() { [ -z "$only" ] || [[ " $only " == *" $1 "* ]]; }
