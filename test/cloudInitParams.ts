/**
 * The keys, certificates and proxy the cloud-init specs (test/cloudInit*.spec.ts) render user-data
 * with, the parts of the document they read, and how they find a file or a command in it.
 */
import * as assert from "assert";
import { parse } from "yaml";
import { renderUserData, UserDataParams } from "../src/host/cloudInit";
import { TEST_HOST_PRIVATE_KEY, TEST_HOST_PUBLIC_KEY } from "./fixtures";

// Throwaway test-only material (generated once with ssh-keygen / openssl; never used anywhere).
export const HOST_PRIVATE_KEY = TEST_HOST_PRIVATE_KEY;
export const HOST_PUBLIC_KEY = TEST_HOST_PUBLIC_KEY + "\n";
/** A login public key (any valid ED25519 key line; its private half is never in user-data). */
export const LOGIN_PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDOVaHfp78RBjmOuA8BdRu9cfl7klpkNcN6F/J14Q8QK login";
export const OTHER_PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDOVaHfp78RBjmOuA8BdRu9cfl7klpkNcN6F/J14Q8QK";
export const ENCRYPTED_PRIVATE_KEY = `-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAACmFlczI1Ni1jdHIAAAAGYmNyeXB0AAAAGAAAABAevcIM+a
kVnG2Ot+rqAc5sAAAAEAAAAAEAAAAzAAAAC3NzaC1lZDI1NTE5AAAAINnJSj0D7ePDbwE7
8VbIGOj4onXdHvSHFZWRlpvbX7GcAAAAkPgnQ2CWYCFZsxL1a1NNt20/6aslEAM9hkLobZ
V6RJ8UWjPPIduhqznZdCi5scyj+4BBULoGC+Ov6wV+4SraaJQiHO607JoZkBTSsaBSKtFi
EDjN4OtKkkqjiKjNpKNiG3WU2YIgH5hjhZ8/t1f0zbOiEUW/+kyMkLYT5avxpn0rgnZoIT
dULOw8xRhqpW75XQ==
-----END OPENSSH PRIVATE KEY-----
`;
export const ENCRYPTED_PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINnJSj0D7ePDbwE78VbIGOj4onXdHvSHFZWRlpvbX7Gc";

export const CA_CERT_A = `-----BEGIN CERTIFICATE-----
MIIBkjCCATegAwIBAgIUFZj/9dwRviqvOUJtz65ad6gtqpkwCgYIKoZIzj0EAwIw
HjEcMBoGA1UEAwwTY2FwaS1tZ210IHRlc3QgQ0EgYTAeFw0yNjExMjIxMzQyMTBa
Fw0zNjExMTkxMzQyMTBaMB4xHDAaBgNVBAMME2NhcGktbWdtdCB0ZXN0IENBIGEw
WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQUGFbQFU/cx1zxglAaVHjXzETRJj40
5T+83UR56M6nkPsTtM7ZZ2C8fcHVXFlUBSXenmRedr4nF11j9lmt1wHao1MwUTAd
BgNVHQ4EFgQUziMZ/SvhD79wbQ+z1cSOGet19UMwHwYDVR0jBBgwFoAUziMZ/Svh
D79wbQ+z1cSOGet19UMwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBG
AiEA/mPubU8RRxJDC4zT6a65dzCo9onCEwaDpaqd0KkCrRQCIQC6ZQ5MWDWl08VE
3MhC5ETMSvRxAmRShuKe5cPqMUIIzw==
-----END CERTIFICATE-----
`;
export const CA_CERT_B = `-----BEGIN CERTIFICATE-----
MIIBkTCCATegAwIBAgIUBcX8L2X5hd1qzSCwFWdy6bNu6PEwCgYIKoZIzj0EAwIw
HjEcMBoGA1UEAwwTY2FwaS1tZ210IHRlc3QgQ0EgYjAeFw0yNjExMjIxMzQyMTBa
Fw0zNjExMTkxMzQyMTBaMB4xHDAaBgNVBAMME2NhcGktbWdtdCB0ZXN0IENBIGIw
WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAASmPN8BlDXaFXwG1pK2KQZBsFwfBKC9
nfbpLo56RdhyrRReYsuFfbkoNIokNOa/0rfmJUXSk1J2SyLkh5mn4oaDo1MwUTAd
BgNVHQ4EFgQUesvl4jun7qdFreCq9B2wTEtg0iAwHwYDVR0jBBgwFoAUesvl4jun
7qdFreCq9B2wTEtg0iAwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBF
AiATJUx7BGd+6+/z8qpYw5Ry52+UVBaiYrAJJU5CDiVf/AIhAMcDkRjIK/YbLY39
QHQECc3CtfbjE9FIVjfH+wveNFaM
-----END CERTIFICATE-----
`;

export interface WriteFile {
    path: string;
    content: string;
    permissions?: string;
}

export interface UserData {
    package_update?: boolean;
    package_upgrade?: boolean;
    packages?: string[];
    write_files: WriteFile[];
    ca_certs?: { trusted: string[] };
    ssh_keys: Record<string, string>;
    ssh_authorized_keys?: string[];
    ssh_deletekeys?: boolean;
    ssh_genkeytypes?: string[];
    ssh_pwauth?: boolean;
    disable_root?: boolean;
    runcmd: Array<string | string[]>;
}

/** A proxy as the program computes it (src/host/proxy.ts). */
export const PROXY = {
    http: "http://proxy.example:3128",
    https: "http://proxy.example:3129",
    noProxy: "localhost,127.0.0.1,::1,0.0.0.0,169.254.169.254,.svc,.cluster.local,10.96.0.0/16,10.244.0.0/16,10.0.0.0/24,.corp.example",
};

export function params(overrides: Partial<UserDataParams> = {}): UserDataParams {
    return {
        dockerMtu: 1450,
        hostKey: { privateKeyOpenssh: HOST_PRIVATE_KEY, publicKeyOpenssh: HOST_PUBLIC_KEY },
        loginPublicKey: LOGIN_PUBLIC_KEY,
        ...overrides,
    };
}

export function render(overrides: Partial<UserDataParams> = {}): { text: string; doc: UserData } {
    const text = renderUserData(params(overrides));
    return { text, doc: parse(text) as UserData };
}

export function fileContent(doc: UserData, path: string): string {
    const file = doc.write_files.find((f) => f.path === path);
    assert.ok(file, `write_files has no ${path}`);
    return file.content;
}

export function fileUnder(doc: UserData, dir: string): WriteFile {
    const files = doc.write_files.filter((f) => f.path.startsWith(dir));
    assert.strictEqual(files.length, 1, `expected one file under ${dir}`);
    return files[0];
}

/** Index of the runcmd entry that is exactly `cmd`, or -1. */
export function runcmdIndex(doc: UserData, cmd: string | string[]): number {
    return doc.runcmd.findIndex((c) => JSON.stringify(c) === JSON.stringify(cmd));
}
