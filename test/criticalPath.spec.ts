import "mocha";
import * as assert from "assert";
import { criticalPath, criticalPathReport, GraphNode, typicalStep } from "../render/criticalPath";
import { Run, runStack } from "./harness";

const node = (name: string, dependsOn: string[] = [], type = "x"): GraphNode => ({ urn: name, type, name, dependsOn });

describe("critical path", function () {
    this.timeout(60000);

    it("is the longest chain by duration, passing through steps that weigh nothing", () => {
        const weights: Record<string, number> = { a: 10, b: 50, c: 20, d: 5 };
        const weigh = (n: GraphNode) => (weights[n.name] ? { label: n.name, seconds: weights[n.name] } : undefined);
        // a → b → (free) → d and a → c → d: b's branch is longer although c's has as many steps.
        const nodes = [node("a"), node("b", ["a"]), node("free", ["b"]), node("c", ["a"]), node("d", ["free", "c"])];
        const p = criticalPath(nodes, weigh);
        assert.deepStrictEqual(
            p.steps.map((s) => s.name),
            ["a", "b", "d"],
        );
        assert.strictEqual(p.totalSeconds, 65);
        assert.throws(() => criticalPath([node("x", ["y"]), node("y", ["x"])], weigh), /cycle/);
        assert.deepStrictEqual(criticalPath([], weigh), { steps: [], totalSeconds: 0 });
    });

    describe("of the program", () => {
        let dev: Run;
        before(async () => {
            dev = await runStack("dev");
        });

        it("runs through Cluster API, not through Flux: Flux installs alongside ORC and Cluster API", () => {
            const p = criticalPath(dev.resources);
            assert.deepStrictEqual(
                p.steps.map((s) => s.name),
                ["server", "wait-ready", "install-tools", "kind-cluster", "orc", "capi-providers", "kustomization"],
            );
            assert.strictEqual(
                p.totalSeconds,
                p.steps.reduce((t, s) => t + s.seconds, 0),
            );
            // The chain that ends in the Flux install is shorter than the critical path by at least ORC and Cluster API.
            const install = dev.one("kubernetes:yaml/v2:ConfigFile");
            const toFlux = criticalPath(dev.resources.filter((r) => r.urn === install.urn || dev.dependsOn(install, r)));
            assert.ok(!toFlux.steps.some((s) => s.name === "capi-providers" || s.name === "orc"), toFlux.steps.map((s) => s.name).join(" → "));
            assert.ok(p.totalSeconds - toFlux.totalSeconds >= typicalStep(dev.one("command:remote:Command", "capi-providers"))!.seconds);
            assert.match(criticalPathReport("dev", p), /^critical path of a first up of dev \(typical durations, total \d+m\d\ds\):\n/);
        });
    });
});
