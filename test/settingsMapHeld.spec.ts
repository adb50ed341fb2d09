/**
 * The replacement map of a stack that holds settings besides its file (render/settingsMap.ts
 * `held`): `pulumi config set --secret --path 'capi-mgmt:gitops.sopsAgeKey'`, as Pulumi.prod.yaml
 * says to do, adds the sops-age Secret, which every render of the map must then have too.
 */
import "mocha";
import * as assert from "assert";
import { settingsMap, withHeld } from "../render/settingsMap";
import { AGE_KEY } from "./gitopsParams";

describe("replacement map: settings held besides the stack file", function () {
    const file = { "capi-mgmt:gitops": JSON.stringify({ url: "ssh://git@example/r", interval: "5m" }), "capi-mgmt:prefix": "p" };

    it("puts a held field into the object as the file, or the variant, has it", () => {
        assert.deepStrictEqual(withHeld(file, {}, { "gitops.sopsAgeKey": "k" }), {
            gitops: JSON.stringify({ url: "ssh://git@example/r", interval: "5m", sopsAgeKey: "k" }),
        });
        assert.deepStrictEqual(withHeld(file, { gitops: JSON.stringify({ url: "u" }), prefix: "q" }, { "gitops.sopsAgeKey": "k" }), {
            gitops: JSON.stringify({ url: "u", sopsAgeKey: "k" }),
            prefix: "q",
        });
    });

    it("drops a held field where the variant removes its object", () => {
        assert.deepStrictEqual(withHeld(file, { gitops: undefined }, { "gitops.sopsAgeKey": "k" }), { gitops: undefined });
        assert.deepStrictEqual(withHeld({}, {}, { "gitops.sopsAgeKey": "k" }), {});
    });

    it("predicts what the held age key's Secret does: prod's versions.nodeImage replaces it with the Kubernetes provider", async function () {
        this.timeout(600_000);
        const sopsAge = (held?: Record<string, string>) =>
            settingsMap("prod", { keys: ["versions.nodeImage"], held }).then((effects) =>
                effects.flatMap((e) => e.changes.filter((c) => c.name === "sops-age").map((c) => `${c.type} ${c.action}`)),
            );
        assert.deepStrictEqual(await sopsAge(), [], "the committed file holds no age key");
        assert.deepStrictEqual(await sopsAge({ "gitops.sopsAgeKey": AGE_KEY }), ["kubernetes:core/v1:Secret replace"]);
    });
});
