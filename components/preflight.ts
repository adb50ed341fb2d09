import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import { StackConfig } from "../lib/config";
import { createsServer, DEPLOYED_OUTPUT, lifecycleProblems, needsImage, PreviousDeployment, previousDeployment, ResolvedNetworks } from "../lib/lifecycle";
import { isUuid } from "../lib/names";
import { FlavorFacts, PreflightFacts, preflightProblems, workloadProjectWarnings } from "../lib/preflight";

/** Logical name of the StackReference to the stack itself (reads the last `up`'s outputs). */
export const SELF_REFERENCE_NAME = "previous-deployment";

/** Arguments of {@link Preflight}. */
export interface PreflightArgs {
    /** The parsed configuration. */
    config: StackConfig;
    /** The auth scope of the current token (project ID, roles held). */
    scope: pulumi.Output<openstack.identity.GetAuthScopeResult>;
    /**
     * The auth scope in the workload project (`workloadProject`), where the application
     * credentials are created: their roles are checked there. Undefined: `scope` is used.
     */
    workloadScope?: pulumi.Output<openstack.identity.GetAuthScopeResult>;
    /** What the external network and `existingNetwork` resolved to (looked up, nothing created). */
    resolved: pulumi.Output<ResolvedNetworks>;
}

/** What {@link Preflight} found: the previous deployment and every problem. */
export interface PreflightResult {
    /** What the last successful `up` deployed. */
    previous: PreviousDeployment;
    /** Every problem, each naming its setting or quota; empty when the run may go ahead. */
    problems: string[];
    /** The image the server boots from when one is created (else the setting, unused). */
    imageId: string;
}

/** The error that stops a run whose preflight found problems: listed, no stack trace. */
export function preflightError(problems: string[]): pulumi.RunError {
    return new pulumi.RunError(
        `preflight refused this run (${problems.length} problem${problems.length === 1 ? "" : "s"}); nothing was created or changed:\n` +
            problems.map((p) => `  - ${p}`).join("\n"),
    );
}

/**
 * Checks, before anything is created or changed: what the last `up` deployed (read back
 * through a StackReference to this stack) against config changes that the real engine
 * would turn into a lost management cluster or pruned workload clusters; the roles (in the
 * project the application credentials are created in); and,
 * when a server is created, that the flavor is big enough, the image exists and the
 * quotas leave room. Every resource of the stack waits for {@link gate}, which fails the
 * run with every problem listed.
 *
 * The flavor, image and quota look-ups run only when a server is created (or the flavor
 * changes), so a renamed or deleted image never breaks a later `up`.
 */
export class Preflight extends pulumi.ComponentResource {
    /** The outcome (never fails; see {@link gate}). */
    readonly result: pulumi.Output<PreflightResult>;
    /** Resolves to no resources when the run may go ahead; fails with the problems otherwise. */
    readonly gate: pulumi.Output<pulumi.Resource[]>;

    constructor(name: string, args: PreflightArgs, opts?: pulumi.ComponentResourceOptions) {
        super("capi-mgmt:index:Preflight", name, {}, opts);
        const cfg = args.config;
        const invokeOpts = { parent: this };

        const self = new pulumi.StackReference(
            SELF_REFERENCE_NAME,
            { name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}` },
            { parent: this },
        );
        const previous = pulumi
            .all([self.getOutput(DEPLOYED_OUTPUT), self.getOutput("floatingIp"), self.getOutput("deployPublicKey")])
            .apply(([deployed, floatingIp, deployPublicKey]) => previousDeployment({ [DEPLOYED_OUTPUT]: deployed, floatingIp, deployPublicKey }));

        this.result = pulumi.all([previous, args.scope, args.workloadScope ?? args.scope, args.resolved]).apply(async ([prev, scope, credentialScope, resolved]) => {
            const facts: PreflightFacts = { rolesHeld: credentialScope.roles.map((r) => r.roleName) };
            if (cfg.workloadProject) {
                for (const w of workloadProjectWarnings(scope.projectId, credentialScope.projectId, cfg.workloadProject.cloud)) {
                    void pulumi.log.warn(`preflight: ${w}`, this);
                }
            }
            const newServer = createsServer(prev, cfg);
            const flavorChanged = prev.kind === "deployed" && prev.state.flavor !== cfg.flavor;

            if (newServer || flavorChanged) {
                facts.flavor = await openstack.compute
                    .getFlavor(isUuid(cfg.flavor) ? { flavorId: cfg.flavor } : { name: cfg.flavor }, invokeOpts)
                    .then((f): FlavorFacts | null => ({ vcpus: f.vcpus ?? 0, ram: f.ram ?? 0 }), () => null);
            }
            let imageId = cfg.image;
            if (needsImage(prev, cfg) && !isUuid(cfg.image)) {
                const ids = await openstack.images
                    .getImageIds({ name: cfg.image, sort: "created_at:desc" }, invokeOpts)
                    .then((r) => r.ids, () => [] as string[]);
                imageId = ids[0] ?? cfg.image;
                if (newServer) {
                    facts.imageFound = ids.length > 0;
                }
            }
            // A cloud whose policy hides quotas from project members skips that check, with a warning.
            const unreadable = (what: string) => (e: unknown) => {
                void pulumi.log.warn(`preflight: cannot read ${what} (${String(e instanceof Error ? e.message : e).split("\n")[0]}); not checked`, this);
                return undefined;
            };
            if (newServer) {
                facts.compute = await openstack.compute.getLimitsV2({ projectId: scope.projectId }, invokeOpts).catch(unreadable("Nova's limits"));
            }
            if (prev.kind === "none") {
                const quota = await openstack.networking.getQuotaV2({ projectId: scope.projectId }, invokeOpts).catch(unreadable("Neutron's quotas"));
                if (quota) {
                    facts.network = { network: quota.network, router: quota.router, floatingip: quota.floatingip, securityGroup: quota.securityGroup };
                }
            }
            const problems = [
                ...lifecycleProblems(prev, cfg, resolved),
                ...preflightProblems(
                    { flavor: cfg.flavor, image: cfg.image, roles: cfg.appCredential.roles, workloadProjectCloud: cfg.workloadProject?.cloud },
                    { server: newServer, firstUp: prev.kind === "none", network: prev.kind === "none" && cfg.existingNetwork === undefined },
                    facts,
                ),
            ];
            return { previous: prev, problems, imageId };
        });

        this.gate = this.result.apply((r) => {
            if (r.problems.length > 0) {
                throw preflightError(r.problems);
            }
            return [] as pulumi.Resource[];
        });

        this.registerOutputs({});
    }
}
