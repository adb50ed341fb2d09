import "mocha";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { ARCHITECTURE_FILE, architectureDocument, componentGraph } from "../render/diagram";
import { RecordedResource } from "../render/engine";
import { PROJECT_DIR } from "./harness";

describe("docs/architecture.md (npm run diagram)", function () {
    it("is what the program's graph and the GitOps tree give today", async () => {
        const checkedIn = fs.readFileSync(path.join(PROJECT_DIR, ARCHITECTURE_FILE), "utf8");
        assert.ok(checkedIn === (await architectureDocument(PROJECT_DIR)), `${ARCHITECTURE_FILE} is stale: run npm run diagram and commit it`);
    });

    it("draws an edge between components whenever a resource of one depends on a resource of the other", () => {
        const r = (urn: string, parent: string | undefined, dependsOn: string[] = [], type = "x:index:T"): RecordedResource =>
            ({ urn, name: urn, type, custom: true, parent, dependsOn, inputs: {}, options: {} }) as unknown as RecordedResource;
        const resources = [
            r("root", undefined, [], "capi-mgmt:index:CapiManagement"),
            r("a", "root"),
            r("b", "root"),
            r("a1", "a"),
            r("b1", "b", ["a1"]),
            r("b2", "b", ["b1"]),
        ];
        assert.deepStrictEqual(componentGraph(resources), { nodes: ["T::a", "T::b"], edges: [["T::a", "T::b"]] });
    });
});
