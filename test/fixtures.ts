/**
 * Throwaway test material (never used by the program): a self-signed test CA, and a minimal
 * stack config.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { ConfigError, parseStackConfig, ParseContext, StackConfig } from "../src/config";
import { installFake, makeTempDir } from "./fakes/shell";

/** The "now" test configs are parsed at (their expiry checks are relative to it). */
export const TEST_NOW = new Date("2026-11-22T12:00:00Z");

/** A minimal valid development config, as Pulumi hands it over (lists as JSON). */
export const MINIMAL_RAW_CONFIG: Readonly<Record<string, string>> = Object.freeze({
    environment: "development",
    externalNetwork: "public",
    flavor: "SCS-4V-16",
    sshAllowedCidrs: JSON.stringify(["203.0.113.0/24"]),
    apiAllowedCidrs: JSON.stringify(["203.0.113.0/24"]),
});

/** {@link MINIMAL_RAW_CONFIG} with `overrides`, parsed for stack `dev` at {@link TEST_NOW}. */
export function parseTestConfig(overrides: Record<string, string> = {}, ctx: Partial<ParseContext> = {}): StackConfig {
    return parseStackConfig({ ...MINIMAL_RAW_CONFIG, ...overrides }, { stack: "dev", now: TEST_NOW, ...ctx });
}

/** The problems the config parse `parse` reports ([] when it parses); fails the test on an error that is not a ConfigError. */
export function problemsOf(parse: () => unknown): readonly string[] {
    try {
        parse();
        return [];
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
        return e.problems;
    }
}

/** The problems {@link parseTestConfig} reports for `overrides` ([] when it parses). */
export function testConfigProblems(overrides: Record<string, string>): readonly string[] {
    return problemsOf(() => parseTestConfig(overrides));
}

/** A throwaway, test-only SSH host key pair (ED25519, generated once with ssh-keygen; never used anywhere). */
export const TEST_HOST_PRIVATE_KEY = `-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACBaZeqrcdBYuZu15VfJsNIF8e6q6m0idGySETwdrjvyFAAAAIhBUfesQVH3
rAAAAAtzc2gtZWQyNTUxOQAAACBaZeqrcdBYuZu15VfJsNIF8e6q6m0idGySETwdrjvyFA
AAAECFV3NfIUzzXj3TtRUA/WF7I9ebx0rmEN3m0FU/U5TYlFpl6qtx0Fi5m7XlV8mw0gXx
7qrqbSJ0bJIRPB2uO/IUAAAAAAECAwQF
-----END OPENSSH PRIVATE KEY-----
`;
/** The public half of {@link TEST_HOST_PRIVATE_KEY}, without a newline. */
export const TEST_HOST_PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFpl6qtx0Fi5m7XlV8mw0gXx7qrqbSJ0bJIRPB2uO/IU";

/** A `secure:` leaf as `pulumi config set --secret` leaves it in the stack file (the fake CLI opens it). */
export const SECURE_LEAF = Object.freeze({ secure: "v1:c2FsdA==:opened-by-the-fake-pulumi-cli" });

/**
 * The Pulumi CLI render asks for a stack's secrets, faked by test/fakes/pulumi.sh: it prints
 * `opened` as `pulumi config --show-secrets --json` does (every key secret, an object as its
 * JSON text). Returns the environment to render with (`env`, PATH with the fake first) and
 * the fake's log of its calls.
 */
export function fakePulumiCli(opened: Record<string, string | object>, env: Record<string, string> = {}): { env: NodeJS.ProcessEnv; log: string } {
    const dir = makeTempDir("fake-pulumi");
    installFake(path.join(dir, "bin"), "pulumi", "pulumi.sh");
    const printed = Object.fromEntries(Object.entries(opened).map(([k, v]) => [k, { value: typeof v === "string" ? v : JSON.stringify(v), secret: true }]));
    fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(printed, null, 2));
    const log = path.join(dir, "calls.log");
    return { env: { PATH: `${path.join(dir, "bin")}:/usr/bin:/bin`, FAKE_PULUMI_CONFIG: path.join(dir, "config.json"), FAKE_PULUMI_LOG: log, ...env }, log };
}

/** A syntactically real, self-signed CA certificate (P-256, CN "capi-mgmt test CA"). */
export const TEST_CA_PEM = `-----BEGIN CERTIFICATE-----
MIIBjjCCATWgAwIBAgIUP7ufk+kWSuOvHKuxAK1/TqeAnQMwCgYIKoZIzj0EAwIw
HDEaMBgGA1UEAwwRY2FwaS1tZ210IHRlc3QgQ0EwIBcNMjYxMTIyMTM0MjE1WhgP
MjEyNjEwMjkxMzQyMTVaMBwxGjAYBgNVBAMMEWNhcGktbWdtdCB0ZXN0IENBMFkw
EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEgidGivbaoP2pZ/wZalsuAgx1gpYjmGtP
yA7ScVQfSd8qhpJhVKISElXJWcoIR8MdfBrlXZrzxRqXj8G+UYxkTaNTMFEwHQYD
VR0OBBYEFITSl+WWCb/u73dQlAZFvhmqf3SjMB8GA1UdIwQYMBaAFITSl+WWCb/u
73dQlAZFvhmqf3SjMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDRwAwRAIg
ZknderX5RSMjR/98m3QfsIYkwgJDu0eyNyg6HUTmPjMCIFqcA5UmKEl/LXmk+Jnb
d2WTgtFQ2U1RND9gfFDMo4p+
-----END CERTIFICATE-----`;

/**
 * kustomize-controller's arguments as Flux v2.9.4's install.yaml has them (kustomize-controller
 * v1.9.4's config/manager, with flux2's manifests/bases patch putting --events-addr first).
 */
export const FLUX_CONTROLLER_ARGS: readonly string[] = Object.freeze([
    "--events-addr=http://notification-controller.flux-system.svc.cluster.local./",
    "--watch-all-namespaces",
    "--log-level=info",
    "--log-encoding=json",
    "--enable-leader-election",
]);

/** A controller Deployment shaped like those of Flux's install.yaml (container `manager`). */
export function fluxControllerDeployment(name: string, args: unknown = [...FLUX_CONTROLLER_ARGS], containerName = "manager"): Record<string, unknown> {
    return {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name, namespace: "flux-system", labels: { "app.kubernetes.io/component": name } },
        spec: {
            replicas: 1,
            selector: { matchLabels: { app: name } },
            template: {
                metadata: { labels: { app: name } },
                spec: {
                    serviceAccountName: name,
                    containers: [
                        {
                            name: containerName,
                            image: `ghcr.io/fluxcd/${name}:v1.9.4`,
                            args,
                            env: [{ name: "RUNTIME_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } }],
                        },
                    ],
                },
            },
        },
    };
}
