// The fake kubectl's jsonpath: the subset of kubectl's -o jsonpath that src/host/scripts/teardown.sh
// uses ({.a.b}, {.items[*]}, {range ...}{end}, string literals). test/fakeKubectl.spec.ts checks it
// against the real kubectl on every template of the script.
"use strict";
/* global module */

function jsonpath(template, data) {
    const tokens = [];
    let i = 0;
    while (i < template.length) {
        if (template[i] === "{") {
            let j = i + 1,
                inString = false;
            while (j < template.length && (inString || template[j] !== "}")) {
                if (template[j] === '"' && template[j - 1] !== "\\") inString = !inString;
                j++;
            }
            if (j >= template.length) throw new Error("unclosed { in " + template);
            tokens.push({ expr: template.slice(i + 1, j).trim() });
            i = j + 1;
        } else {
            let j = template.indexOf("{", i);
            if (j < 0) j = template.length;
            tokens.push({ text: template.slice(i, j) });
            i = j;
        }
    }
    let at = 0;
    function block(inRange) {
        const nodes = [];
        while (at < tokens.length) {
            const t = tokens[at++];
            if (t.text !== undefined) nodes.push(t);
            else if (t.expr === "end") {
                if (!inRange) throw new Error("{end} without {range}");
                return nodes;
            } else if (t.expr.startsWith("range ")) nodes.push({ range: t.expr.slice(6).trim(), body: block(true) });
            else nodes.push(t);
        }
        if (inRange) throw new Error("{range} without {end}");
        return nodes;
    }
    function values(expr, cur) {
        if (expr.startsWith('"')) return [JSON.parse(expr)];
        if (!expr.startsWith(".")) throw new Error("unsupported jsonpath expression " + expr);
        let vals = [cur];
        for (const segment of expr.slice(1).split(".")) {
            const m = /^([A-Za-z0-9_]+)(\[\*\])?$/.exec(segment);
            if (!m) throw new Error("unsupported jsonpath segment " + segment + " in " + expr);
            vals = vals.flatMap((v) => (v && typeof v === "object" && !Array.isArray(v) && m[1] in v ? [v[m[1]]] : []));
            if (m[2]) vals = vals.flatMap((v) => (Array.isArray(v) ? v : []));
        }
        return vals;
    }
    const text = (v) => (typeof v === "string" ? v : typeof v === "object" ? JSON.stringify(v) : String(v));
    function render(nodes, cur) {
        let out = "";
        for (const n of nodes) {
            if (n.text !== undefined) out += n.text;
            else if (n.range !== undefined) for (const v of values(n.range, cur)) out += render(n.body, v);
            else out += values(n.expr, cur).map(text).join(" ");
        }
        return out;
    }
    return render(block(false), data);
}

module.exports = { jsonpath };
