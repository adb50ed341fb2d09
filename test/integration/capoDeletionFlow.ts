/** placeholder */
export async function runDeletion(_a: Record<string, unknown>): Promise<void> {
    throw new Error("not written yet");
}
