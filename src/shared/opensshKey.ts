/**
 * OpenSSH keys, read with sshpk (a maintained parser of the SSH key formats): the public
 * half of an unencrypted private key (to check the host key pair and to derive a given
 * deploy key's public key), and the public keys of known_hosts lines.
 */
import * as sshpk from "sshpk";

/** The first line of sshpk's message, without the name it gives inputs it was not told. */
function reason(e: unknown): string {
    return String(e instanceof Error ? e.message : e)
        .split("\n")[0]
        .replace(/^Failed to parse \(unnamed\) as a valid \w+ format key: /, "");
}

function parsePrivate(privateKeyOpenssh: string): sshpk.PrivateKey {
    const text = privateKeyOpenssh.replace(/\r\n/g, "\n").trim();
    if (!/^-----BEGIN OPENSSH PRIVATE KEY-----\n[\s\S]+\n-----END OPENSSH PRIVATE KEY-----$/.test(text)) {
        throw new Error("not an OpenSSH private key (-----BEGIN OPENSSH PRIVATE KEY----- …)");
    }
    try {
        return sshpk.parsePrivateKey(text + "\n", "ssh");
    } catch (e) {
        if (e instanceof Error && e.name === "KeyEncryptedError") {
            throw new Error("must not be passphrase-protected");
        }
        throw new Error(reason(e));
    }
}

/** The public key blob (SSH wire format) of an OpenSSH private key. @throws with the reason. */
export function publicBlobOfPrivateKey(privateKeyOpenssh: string): Buffer {
    return parsePrivate(privateKeyOpenssh).toPublic().toBuffer("rfc4253");
}

/** `<type> <base64>` public key line of an OpenSSH private key. @throws with the reason. */
export function publicKeyOfPrivateKey(privateKeyOpenssh: string): string {
    const key = parsePrivate(privateKeyOpenssh).toPublic();
    return `${sshKeyType(key)} ${key.toBuffer("rfc4253").toString("base64")}`;
}

/** The key type as OpenSSH writes it (`ssh-ed25519`, `ecdsa-sha2-nistp256`, …). */
function sshKeyType(key: sshpk.Key): string {
    return key.toString("ssh").split(" ")[0];
}

/**
 * Why the key of a known_hosts line (`<type> <base64>`) is unusable, or undefined: the blob
 * must parse whole (a truncated key is refused) and be of the type the line says.
 */
export function knownHostKeyProblem(type: string, base64: string): string | undefined {
    let key: sshpk.Key;
    try {
        key = sshpk.parseKey(`${type} ${base64}`, "ssh");
    } catch (e) {
        return reason(e);
    }
    return sshKeyType(key) === type ? undefined : `the key is ${sshKeyType(key)}, not ${type}`;
}
