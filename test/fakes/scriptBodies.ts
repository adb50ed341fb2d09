/**
 * Finding bash script bodies in TypeScript sources (test/fakes.spec.ts fails on any under
 * test/: the fake tools are `.sh` files under test/fakes/).
 */
import * as ts from "typescript";

/** True when `text` starts with a shebang and has at least two non-empty lines after it. */
function isScriptBody(text: string): boolean {
    if (!text.startsWith("#!")) {
        return false;
    }
    return (
        text
            .split("\n")
            .slice(1)
            .filter((l) => l.trim() !== "").length >= 2
    );
}

/**
 * The bash script bodies in a TypeScript source, as `line: first line` strings: template
 * literals (the text between substitutions, each substitution standing as `${}`) and array
 * literals of strings whose joined lines are a script body.
 */
export function scriptBodiesIn(fileName: string, source: string): string[] {
    const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
    const found: string[] = [];
    const report = (node: ts.Node, text: string): void => {
        const line = file.getLineAndCharacterOfPosition(node.getStart(file)).line + 1;
        found.push(`${line}: ${text.split("\n")[0]}`);
    };
    const visit = (node: ts.Node): void => {
        if (ts.isNoSubstitutionTemplateLiteral(node) && isScriptBody(node.text)) {
            report(node, node.text);
        } else if (ts.isTemplateExpression(node)) {
            const text = node.head.text + node.templateSpans.map((s) => "${}" + s.literal.text).join("");
            if (isScriptBody(text)) {
                report(node, text);
            }
        } else if (ts.isArrayLiteralExpression(node) && node.elements.length > 0 && node.elements.every((e) => ts.isStringLiteral(e))) {
            const text = node.elements.map((e) => (e as ts.StringLiteral).text).join("\n");
            if (isScriptBody(text)) {
                report(node, text);
            }
        }
        ts.forEachChild(node, visit);
    };
    visit(file);
    return found;
}
