/**
 * A rendered host script again, with some of its parameters changed (the server's paths for
 * a test's temp ones): its `readonly NAME='value'` lines read back and the script rendered
 * anew from `src/host/scripts/`, so the includes and checks are the program's.
 */
import { renderHostScript } from "../../src/host/hostScripts";

/** `rendered` with each parameter for which `replace(name, value)` gives a string set to that string. */
export function rerender(rendered: string, replace: (name: string, value: string) => string | undefined): string {
    const file = /^# Parameters rendered by capi-mgmt \(lib\/hostScripts\.ts\) from host\/([a-z-]+\.sh)\.$/m.exec(rendered)?.[1];
    if (!file) {
        throw new Error("not a rendered host script");
    }
    const params: Record<string, string> = {};
    for (const m of rendered.matchAll(/^readonly ([A-Z_]+)='((?:[^']|'\\'')*)'$/gm)) {
        const value = m[2].replace(/'\\''/g, "'");
        params[m[1]] = replace(m[1], value) ?? value;
    }
    const multiLine = Object.keys(params).filter((k) => params[k].includes("\n"));
    return renderHostScript(file, params, { multiLine });
}
