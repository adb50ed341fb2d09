/**
 * Flux health expressions (healthCheckExprs) of the tree, evaluated against the conditions
 * ORC v2.6.0 writes: shared by the node image and server group specs.
 */
import * as assert from "assert";

export type Condition = { type: string; status: string; reason: string; message: string };
export type Expression = (object: { status?: { conditions?: Condition[] } }) => boolean;

/**
 * A Flux health expression of the one form the tree uses,
 * `status.?conditions.orValue([]).exists(c, <test>)`, with `<test>` made of `c.<field> ==
 * '<text>'`, `c.<field> in ['<a>', ...]`, `c.<field>.contains('<text>')`, `&&`, `||` and
 * parentheses, as a JavaScript function. Anything else is refused, so a new form fails here
 * instead of being misread.
 */
export function celExpression(expr: string): Expression {
    const m = /^status\.\?conditions\.orValue\(\[\]\)\.exists\(c, (.*)\)$/.exec(expr);
    assert.ok(m, `not the form the tree uses: ${expr}`);
    const tokens = m[1].match(/c\.\w+\.contains\('[^'\\]*'\)|c\.\w+ in \[(?:'[^'\\]*'(?:, )?)+\]|c\.\w+ == '[^'\\]*'|&&|\|\||\(|\)|\s+/g) ?? [];
    assert.strictEqual(tokens.join(""), m[1], `unsupported CEL in ${expr}`);
    const js = tokens
        .map((t) => {
            let x: RegExpExecArray | null;
            if ((x = /^c\.(\w+)\.contains\('(.*)'\)$/.exec(t))) return `String(c.${x[1]} ?? "").includes(${JSON.stringify(x[2])})`;
            if ((x = /^c\.(\w+) in \[(.*)\]$/.exec(t))) return `${JSON.stringify([...x[2].matchAll(/'([^']*)'/g)].map((y) => y[1]))}.includes(c.${x[1]})`;
            if ((x = /^c\.(\w+) == '(.*)'$/.exec(t))) return `c.${x[1]} === ${JSON.stringify(x[2])}`;
            return t;
        })
        .join("");
    const test = new Function("c", `return ${js};`) as (c: Condition) => boolean;
    return (o) => (o.status?.conditions ?? []).some(test);
}

/** The conditions ORC v2.6.0 writes (internal/controllers/generic/status/conditions.go). */
export function orcStatus(progressing: { status: string; reason: string; message: string } | "available"): { status: { conditions: Condition[] } } {
    if (progressing === "available") {
        return {
            status: {
                conditions: [
                    { type: "Available", status: "True", reason: "Success", message: "OpenStack resource is available" },
                    { type: "Progressing", status: "False", reason: "Success", message: "OpenStack resource is up to date" },
                ],
            },
        };
    }
    // Available copies Progressing's reason and message when it is not True.
    return {
        status: {
            conditions: [
                { type: "Available", status: "False", reason: progressing.reason, message: progressing.message },
                { type: "Progressing", ...progressing },
            ],
        },
    };
}
