import "mocha";
import * as assert from "assert";
import * as crypto from "crypto";
import { renderApiCertExpiryScript, renderKindClusterScript } from "../src/cluster/clusterScripts";
import { ClusterFakes, fakeServersRemovedAfterAll } from "./fakes/clusterFakes";
import { assertFailure, assertSuccess, installFake } from "./fakes/shell";
import { KIND_PARAMS } from "./clusterScriptParams";
import { requireOpenssl, selfSignedCertificate } from "./fakes/realCertificates";

/** Fake servers made by this file, removed after its tests. */
const newFakes = fakeServersRemovedAfterAll();

describe("src/host/scripts/api-cert-expiry.sh", () => {
    let fakes: ClusterFakes;

    beforeEach(() => {
        fakes = newFakes("cert-expiry");
    });

    it("prints the notAfter of the API server certificate as RFC 3339 UTC", function () {
        requireOpenssl(this, "the real certificate test");
        const pem = selfSignedCertificate({ days: 365, subject: "/CN=kube-apiserver", key: "rsa" });
        fakes.setApiServerCertificate(pem);
        assertSuccess(fakes.run(renderKindClusterScript(KIND_PARAMS)));
        const r = fakes.run(renderApiCertExpiryScript({ clusterName: "mgmt" }));
        assertSuccess(r);
        const expected = new Date(new crypto.X509Certificate(pem).validTo).toISOString().replace(/\.\d{3}Z$/, "Z");
        assert.strictEqual(r.stdout, `${expected}\n`);
        assert.ok(fakes.calls().includes("docker exec mgmt-control-plane cat /etc/kubernetes/pki/apiserver.crt"));
    });

    it("converts openssl's date format exactly", () => {
        installFake(fakes.bin, "openssl", "cluster/openssl-fixed-date.sh");
        fakes.setApiServerCertificate("-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n");
        assertSuccess(fakes.run(renderKindClusterScript(KIND_PARAMS)));
        const r = fakes.run(renderApiCertExpiryScript({ clusterName: "mgmt" }), { TZ: "Pacific/Auckland" });
        assertSuccess(r);
        assert.strictEqual(r.stdout, "2027-11-22T13:00:00Z\n");
        assert.ok(fakes.calls().includes("openssl x509 -noout -enddate"));
    });

    it("fails clearly, printing nothing, when the cluster's node is not there", () => {
        const r = fakes.run(renderApiCertExpiryScript({ clusterName: "mgmt" }));
        assertFailure(r);
        assert.strictEqual(r.stdout, "");
        assert.match(r.stderr, /No such container: mgmt-control-plane/);
        assert.match(r.stderr, /api-cert-expiry: ERROR: cannot read \/etc\/kubernetes\/pki\/apiserver\.crt from container mgmt-control-plane/);
    });
});
