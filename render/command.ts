/**
 * How the render tools' commands (`npm run render`, `npm run plan`, `npm run diagram`) end on
 * a failure: one line `<command> failed: <message>` on stderr and exit status 1, however the
 * failure surfaces (thrown, a rejected promise nobody awaited, an uncaught exception), and no
 * stack trace: the message names the setting or file, and a trace would bury it.
 */

/** Runs a command's body; on any failure reports it as described above and exits 1. */
export async function runCommand(name: string, body: () => Promise<void>): Promise<void> {
    const fail = (e: unknown) => {
        console.error(`${name} failed: ${e instanceof Error ? e.message : String(e)}`);
        process.exit(1);
    };
    process.on("unhandledRejection", fail);
    process.on("uncaughtException", fail);
    try {
        await body();
    } catch (e) {
        fail(e);
    }
}
