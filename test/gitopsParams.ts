/**
 * The GitOps settings the gitops specs (test/gitops*.spec.ts) share, and how they read a
 * config's problems and a resource's inputs.
 */
import { parseStackConfig } from "../src/config";
import { mockOpensshKeyPair, RecordedResource, reveal } from "../render/engine";
import { problemsOf } from "./fixtures";

export const GITHUB_KNOWN_HOSTS = "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
export const DEPLOY_KEY = mockOpensshKeyPair("test deploy key").privateKeyOpenssh;
/** An age identity of the right form (bech32 alphabet, 58 data characters); not a real key. */
export const AGE_KEY = "AGE-SECRET-KEY-1" + "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L".repeat(2).slice(0, 58);

export const GITOPS = { url: "ssh://git@github.com/example-org/capi-gitops", branch: "main", knownHosts: GITHUB_KNOWN_HOSTS };

export function gitopsProblems(gitops: Record<string, unknown>, environment = "development", secretKeys?: string[]): readonly string[] {
    return problemsOf(() =>
        parseStackConfig(
            {
                environment,
                externalNetwork: "public",
                flavor: "f",
                sshAllowedCidrs: '["203.0.113.0/24"]',
                apiAllowedCidrs: '["203.0.113.0/24"]',
                gitops: JSON.stringify(gitops),
            },
            { stack: "dev", now: new Date("2026-11-22T00:00:00Z"), secretKeys },
        ),
    );
}

export function input(r: RecordedResource, key: string): unknown {
    return reveal(r.inputs[key]);
}
