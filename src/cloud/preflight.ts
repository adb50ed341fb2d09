import * as openstack from "@pulumi/openstack";
import * as pulumi from "@pulumi/pulumi";
import { StackConfig } from "../config";
import { credentialOwnerFindings } from "../lifecycle/credentialOwner";
import {
    createsServer,
    DEPLOYED_OUTPUT,
    lifecycleProblems,
    needsImage,
    PreviousDeployment,
    previousDeployment,
    ResolvedNetworks,
} from "../lifecycle/lifecycle";
import { isUuid } from "../shared/names";
import { FlavorFacts, PreflightFacts, preflightProblems, workloadProjectWarnings } from "./preflightChecks";
import { serverName } from "./server";
import { RebuildCheckPlan, rebuildCheckPlan, rebuildProblems } from "../lifecycle/rebuild";

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
    /** What the `serverGeneration` bump guard does in this run (src/lifecycle/rebuildCheck.ts). */
    rebuildCheck: RebuildCheckPlan;
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
    /** The StackReference to this stack: the last `up`'s outputs, for other components to read back. */
    readonly previousOutputs: pulumi.StackReference;

    constructor(name: string, args: PreflightArgs, opts?: pulumi.ComponentResourceOptions) {
        super("capi-mgmt:index:Preflight", name, {}, opts);
        const cfg = args.config;
        const invokeOpts = { parent: this };

        const self = new pulumi.StackReference(
            SELF_REFERENCE_NAME,
            { name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}` },
            { parent: this },
        );
        const previousFloatingIp = self.getOutput("floatingIp");
        this.previousOutputs = self;
        const previous = pulumi
            .all([self.getOutput(DEPLOYED_OUTPUT), previousFloatingIp, self.getOutput("deployPublicKey")])
            .apply(([deployed, floatingIp, deployPublicKey]) => previousDeployment({ [DEPLOYED_OUTPUT]: deployed, floatingIp, deployPublicKey }));

        const inputs = pulumi.all([previous, args.scope, args.workloadScope ?? args.scope, previousFloatingIp, args.resolved]);
        this.result = inputs.apply(async ([prev, scope, credentialScope, floatingIp, resolved]) => {
            const facts: PreflightFacts = { rolesHeld: credentialScope.roles.map((r) => r.roleName) };
            if (cfg.workloadProject) {
                for (const w of workloadProjectWarnings(scope.projectId, credentialScope.projectId, cfg.workloadProject.cloud)) {
                    void pulumi.log.warn(`preflight: ${w}`, this);
                }
            }
            // The credentials belong to the user of the scope they are created in.
            const owner = credentialOwnerFindings({
                expected: cfg.appCredential.owner,
                current: { id: credentialScope.userId, name: credentialScope.userName },
                previous: prev,
                production: cfg.environment === "production",
                workloadProjectCloud: cfg.workloadProject?.cloud,
            });
            void pulumi.log.info(`preflight: ${owner.info}`, this);
            for (const w of owner.warnings) {
                void pulumi.log.warn(`preflight: ${w}`, this);
            }
            const newServer = createsServer(prev, cfg);
            const flavorChanged = prev.kind === "deployed" && prev.state.flavor !== cfg.flavor;

            const lookUpFlavor = (flavor: string): Promise<FlavorFacts | null> =>
                openstack.compute.getFlavor(isUuid(flavor) ? { flavorId: flavor } : { name: flavor }, invokeOpts).then(
                    (f) => ({ vcpus: f.vcpus ?? 0, ram: f.ram ?? 0, disk: f.disk }),
                    () => null,
                );
            if (newServer || flavorChanged) {
                facts.flavor = await lookUpFlavor(cfg.flavor);
            }
            let imageId = cfg.image;
            if (needsImage(prev, cfg) && !isUuid(cfg.image)) {
                // Active images only: the data source lists with `status=active` (terraform-provider-openstack
                // v1.54.1, data_source_openstack_images_image_ids_v2.go), so an upload still queued or saving,
                // or a deactivated image, is never picked, however new. An image ID is taken as given.
                const ids = await openstack.images.getImageIds({ name: cfg.image, sort: "created_at:desc" }, invokeOpts).then(
                    (r) => r.ids,
                    () => [] as string[],
                );
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
            if (flavorChanged && !newServer) {
                // A resize: Nova counts what the new flavor has more than the running one.
                facts.resizedFrom = await lookUpFlavor(prev.state.flavor);
            }
            if (newServer || facts.resizedFrom) {
                facts.compute = await openstack.compute.getLimitsV2({ projectId: scope.projectId }, invokeOpts).catch(unreadable("Nova's limits"));
            }
            if (newServer) {
                // A server of this generation left by an `up` that failed before recording the deployment
                // (its port is named for the generation and bound to an instance) is already in Nova's usage.
                // No such port (the data source fails), or several: counted as a new server.
                facts.ownServerExists = await openstack.networking.getPort({ name: serverName(cfg.prefix, cfg.serverGeneration) }, invokeOpts).then(
                    (p) => (p.deviceOwner ?? "").startsWith("compute:") && (p.deviceId ?? "") !== "",
                    () => false,
                );
            }
            if (prev.kind === "none") {
                const quota = await openstack.networking.getQuotaV2({ projectId: scope.projectId }, invokeOpts).catch(unreadable("Neutron's quotas"));
                if (quota) {
                    facts.network = { network: quota.network, router: quota.router, floatingip: quota.floatingip, securityGroup: quota.securityGroup };
                }
            }
            const problems = [
                ...lifecycleProblems(prev, cfg, resolved),
                ...owner.problems,
                ...rebuildProblems(prev, cfg),
                ...preflightProblems(
                    {
                        flavor: cfg.flavor,
                        image: cfg.image,
                        rootVolumeSize: cfg.rootVolumeSize,
                        roles: cfg.appCredential.roles,
                        workloadProjectCloud: cfg.workloadProject?.cloud,
                    },
                    { server: newServer, firstUp: prev.kind === "none", network: prev.kind === "none" && cfg.existingNetwork === undefined },
                    facts,
                ),
            ];
            const rebuildCheck = rebuildCheckPlan(prev, cfg, typeof floatingIp === "string" ? floatingIp : "");
            return { previous: prev, problems, imageId, rebuildCheck };
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
