/**
 * Reads the public half of an unencrypted OpenSSH (`openssh-key-v1`) private key, which
 * the format stores in the clear. Used to check the host key pair and to derive a given
 * deploy key's public key.
 */

const MAGIC = "openssh-key-v1\0";
const ARMOR = /^-----BEGIN OPENSSH PRIVATE KEY-----\n([A-Za-z0-9+/=\n]+)\n-----END OPENSSH PRIVATE KEY-----$/;

/** The public key blob stored in an OpenSSH private key. @throws with the reason. */
export function publicBlobOfPrivateKey(privateKeyOpenssh: string): Buffer {
    const armored = ARMOR.exec(privateKeyOpenssh.replace(/\r\n/g, "\n").trim());
    if (!armored) {
        throw new Error("not an OpenSSH private key (-----BEGIN OPENSSH PRIVATE KEY----- …)");
    }
    const data = Buffer.from(armored[1], "base64");
    if (data.subarray(0, MAGIC.length).toString("latin1") !== MAGIC) {
        throw new Error("not an openssh-key-v1 key");
    }
    let offset = MAGIC.length;
    const next = (): Buffer => {
        if (offset + 4 > data.length) {
            throw new Error("truncated key");
        }
        const end = offset + 4 + data.readUInt32BE(offset);
        if (end > data.length) {
            throw new Error("truncated key");
        }
        const field = data.subarray(offset + 4, end);
        offset = end;
        return field;
    };
    if (next().toString("latin1") !== "none") {
        throw new Error("must not be passphrase-protected");
    }
    next(); // KDF name
    next(); // KDF options
    if (offset + 4 > data.length || data.readUInt32BE(offset) !== 1) {
        throw new Error("must hold exactly one key");
    }
    offset += 4;
    return next();
}

/** `<type> <base64>` public key line of an OpenSSH private key. @throws with the reason. */
export function publicKeyOfPrivateKey(privateKeyOpenssh: string): string {
    const blob = publicBlobOfPrivateKey(privateKeyOpenssh);
    const typeLength = blob.length >= 4 ? blob.readUInt32BE(0) : 0;
    const type = blob.subarray(4, 4 + typeLength).toString("latin1");
    if (!/^[a-z0-9@.-]+$/.test(type)) {
        throw new Error("unreadable key type");
    }
    return `${type} ${blob.toString("base64")}`;
}
