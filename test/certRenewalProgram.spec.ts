import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { RecordedResource, reveal } from "../render/engine";
import {
    CERT_RENEWAL_OUTPUT,
    CERT_RENEW_TIMER,
    certRefreshKey,
    certRenewalOutput,
    kubeconfigCertExpiry,
    REFRESH_BEFORE_DAYS,
    RENEW_BEFORE_DAYS,
    renderCertRenewScript,
} from "../src/cluster/certRenewal";
import { DAY_MS, kubeconfigWithCertificate, rfc3339 } from "./fakes/realCertificates";
import { PROJECT_DIR, Run, runStack } from "./harness";

const DAY = DAY_MS;
const COMMAND = "command:remote:Command";
const CERT_STEPS = ["cert-renewal", "kubeconfig", "api-cert-expiry"];
const iso = rfc3339;

describe("certificate renewal: what the program decides (src/cluster/certRenewal.ts)", () => {
    const now = new Date(Date.UTC(2027, 5, 1));
    const renewal = (expiryMs: number, refreshKey: string) => ({
        renewal: { timer: CERT_RENEW_TIMER, renewBeforeDays: RENEW_BEFORE_DAYS, kubeconfigCertExpiry: iso(expiryMs), refreshKey },
    });

    it("keeps the previous key (none on a first up) until the renewal is due", () => {
        assert.strictEqual(certRefreshKey({}, now), "");
        assert.strictEqual(certRefreshKey(renewal(now.getTime() + 200 * DAY, ""), now), "");
        assert.strictEqual(certRefreshKey(renewal(now.getTime() + 200 * DAY, "renewed-after:2026-06-02T00:00:00Z"), now), "renewed-after:2026-06-02T00:00:00Z");
    });

    it("changes the key from REFRESH_BEFORE_DAYS days before expiry, a day after the timer's window opens", () => {
        assert.strictEqual(REFRESH_BEFORE_DAYS, RENEW_BEFORE_DAYS - 1);
        const expiry = now.getTime() + REFRESH_BEFORE_DAYS * DAY;
        assert.strictEqual(certRefreshKey(renewal(expiry, "k"), now), `renewed-after:${iso(expiry)}`);
        assert.strictEqual(certRefreshKey(renewal(expiry + 1000, "k"), now), "k", "one second before: not yet");
        assert.strictEqual(certRefreshKey(renewal(now.getTime() - DAY, "k"), now), `renewed-after:${iso(now.getTime() - DAY)}`, "expired: due");
    });

    it("re-reads once per renewal: the run after the re-read keeps its key, for a year", () => {
        const oldExpiry = now.getTime() + 10 * DAY;
        const key = certRefreshKey(renewal(oldExpiry, ""), now);
        assert.notStrictEqual(key, "");
        // The re-read got the renewed certificate (a year from the renewal); its output goes back in.
        const renewedExpiry = now.getTime() + 365 * DAY;
        for (const later of [0, 1, 100, 335]) {
            const t = new Date(now.getTime() + later * DAY);
            assert.strictEqual(certRefreshKey(renewal(renewedExpiry, key), t), key, `${later} days later`);
        }
        // A year on, the next renewal is due: another key.
        const next = certRefreshKey(renewal(renewedExpiry, key), new Date(renewedExpiry - 20 * DAY));
        assert.strictEqual(next, `renewed-after:${iso(renewedExpiry)}`);
        assert.notStrictEqual(next, key);
    });

    it("reads the expiry from the previous kubeconfig output when no renewal was recorded (a stack from before)", function () {
        const soon = kubeconfigWithCertificate(this, 10);
        assert.strictEqual(certRefreshKey({ kubeconfig: soon.kubeconfig }, new Date()), `renewed-after:${soon.expiry}`);
        const later = kubeconfigWithCertificate(this, 200);
        assert.strictEqual(certRefreshKey({ kubeconfig: later.kubeconfig }, new Date()), "");
        assert.strictEqual(certRefreshKey({ kubeconfig: "not yaml: [" }, new Date()), "");
    });

    it("reports the client certificate's expiry and when renewal and re-read come", function () {
        const { kubeconfig, expiry } = kubeconfigWithCertificate(this, 365);
        assert.strictEqual(kubeconfigCertExpiry(kubeconfig), expiry);
        assert.deepStrictEqual(certRenewalOutput(kubeconfig, "k"), {
            timer: CERT_RENEW_TIMER,
            renewBeforeDays: RENEW_BEFORE_DAYS,
            kubeconfigCertExpiry: expiry,
            renewalDueFrom: iso(Date.parse(expiry) - RENEW_BEFORE_DAYS * DAY),
            refreshFrom: iso(Date.parse(expiry) - REFRESH_BEFORE_DAYS * DAY),
            refreshKey: "k",
        });
        assert.deepStrictEqual(certRenewalOutput("", ""), {
            timer: CERT_RENEW_TIMER,
            renewBeforeDays: RENEW_BEFORE_DAYS,
            kubeconfigCertExpiry: "",
            renewalDueFrom: "",
            refreshFrom: "",
            refreshKey: "",
        });
    });
});

describe("certificate renewal in the program (mock engine)", function () {
    this.timeout(60000);
    let first: Run;
    const step = (run: Run, name: string) => run.one(COMMAND, name);
    const input = (r: RecordedResource, key: string) => reveal(r.inputs[key]);
    const triggersOf = (run: Run) => Object.fromEntries(CERT_STEPS.map((n) => [n, input(step(run, n), "triggers")]));
    /** The previous run's outputs as the StackReference reads them back. */
    const previousOf = async (run: Run) => ({ [CERT_RENEWAL_OUTPUT]: reveal(await valueOfOutput(run)) });
    const valueOfOutput = (run: Run) => new Promise((resolve) => run.outputs.apiServerCertRenewal.apply(resolve));

    before(async () => {
        first = await runStack("dev");
    });

    it("installs the timer after the kind cluster, before the kubeconfig and the expiry are read", () => {
        const renewal = step(first, "cert-renewal");
        assert.ok(renewal.dependsOn.includes(step(first, "kind-cluster").urn));
        for (const name of ["kubeconfig", "api-cert-expiry"]) {
            assert.ok(step(first, name).dependsOn.includes(renewal.urn), name);
        }
        assert.strictEqual(input(renewal, "create"), "sudo bash -s");
        assert.strictEqual(input(renewal, "update"), "sudo bash -s");
        assert.strictEqual(input(renewal, "delete"), undefined, "nothing to delete: the units go with the server");
        const stdin = String(input(renewal, "stdin"));
        const encoded = /^readonly RENEW_SCRIPT_BASE64='([A-Za-z0-9+/=]+)'$/m.exec(stdin);
        assert.ok(encoded, "the renewal script travels base64-encoded");
        assert.strictEqual(Buffer.from(encoded[1], "base64").toString("utf8"), renderCertRenewScript({ clusterName: "dev" }));
        assert.match(stdin, new RegExp(`^readonly TIMER_NAME='${CERT_RENEW_TIMER}'$`, "m"));
    });

    it("a first up (and a stack from before, with nothing due) keys the three steps on the kind cluster alone", () => {
        for (const [name, triggers] of Object.entries(triggersOf(first))) {
            assert.deepStrictEqual(triggers, input(step(first, "kubeconfig"), "triggers"), name);
            assert.deepStrictEqual(triggers, [""], name);
        }
    });

    it("exports apiServerCertRenewal under the name the next run reads back", async () => {
        assert.ok(CERT_RENEWAL_OUTPUT in first.outputs);
        assert.match(
            fs.readFileSync(path.join(PROJECT_DIR, "index.ts"), "utf8"),
            new RegExp(`^export const ${CERT_RENEWAL_OUTPUT} = outputs\\.${CERT_RENEWAL_OUTPUT};$`, "m"),
        );
        assert.deepStrictEqual((await previousOf(first))[CERT_RENEWAL_OUTPUT], certRenewalOutput("", ""));
    });

    it("re-reads kubeconfig and expiry, and renews, once the renewal is due; nothing else changes", async () => {
        const expiry = iso(Date.now() + 10 * DAY);
        const due = await runStack("dev", {}, { previousOutputs: { [CERT_RENEWAL_OUTPUT]: { kubeconfigCertExpiry: expiry, refreshKey: "" } } });
        for (const [name, triggers] of Object.entries(triggersOf(due))) {
            assert.deepStrictEqual(triggers, ["", `renewed-after:${expiry}`], name);
        }
        for (const name of ["kind-cluster", "orc", "capi-providers", "install-tools", "workload-teardown"]) {
            assert.deepStrictEqual(step(due, name).inputs, step(first, name).inputs, name);
        }
        assert.deepStrictEqual(input(step(due, "cert-renewal"), "stdin"), input(step(first, "cert-renewal"), "stdin"));
        // The run after that reads the key back and keeps it: its preview is empty.
        const next = await runStack("dev", {}, { previousOutputs: await previousOf(due) });
        assert.deepStrictEqual(triggersOf(next), triggersOf(due));
    });

    it("keeps a recorded key while the renewed certificate is not due", async () => {
        const previous = { [CERT_RENEWAL_OUTPUT]: { kubeconfigCertExpiry: iso(Date.now() + 300 * DAY), refreshKey: "renewed-after:2026-01-01T00:00:00Z" } };
        const run = await runStack("dev", {}, { previousOutputs: previous });
        for (const triggers of Object.values(triggersOf(run))) {
            assert.deepStrictEqual(triggers, ["", "renewed-after:2026-01-01T00:00:00Z"]);
        }
    });

    it("re-reads on the upgrade of a stack from before whose kubeconfig certificate is about to expire", async function () {
        const { kubeconfig, expiry } = kubeconfigWithCertificate(this, 5);
        const run = await runStack("dev", {}, { previousOutputs: { kubeconfig } });
        assert.deepStrictEqual(input(step(run, "kubeconfig"), "triggers"), ["", `renewed-after:${expiry}`]);
    });
});
