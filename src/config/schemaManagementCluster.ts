/**
 * The declaration of `capi-mgmt:managementCluster` (see ./schema.ts for the annotations): where
 * the management cluster runs. `kind` (the default) keeps it on the server; `selfHosted` has
 * that kind cluster build a highly available cluster on OpenStack from the GitOps tree's
 * ClusterClass and pivot every Cluster API object into it (docs/self-hosted.md). The checks
 * JSON Schema cannot say (selfHosted needs gitops) are in ./rules/managementCluster.ts; what a
 * change of mode does on a running stack is the lifecycle gate's (src/lifecycle/selfHostedGate.ts).
 */
import { Type } from "@sinclair/typebox";
import { VERSION_PATTERN } from "./schemaMeta";

/** The management cluster's modes. */
export const MANAGEMENT_CLUSTER_MODES = ["kind", "selfHosted"] as const;
/** The Kubernetes version of the self-hosted cluster by default: the GitOps tree's node image's. */
export const DEFAULT_SELF_HOSTED_KUBERNETES_VERSION = "v1.35.8";
/** The Glance image of that version in the SCS naming scheme (as gitops/infrastructure/node-images/base imports it). */
export const DEFAULT_SELF_HOSTED_IMAGE = "ubuntu-capi-image-v1.35.8";

export const MANAGEMENT_CLUSTER_SCHEMA = Type.Object(
    {
        mode: Type.Optional(
            Type.Union([Type.Literal("kind"), Type.Literal("selfHosted")], {
                default: "kind",
                markdownDescription:
                    '`kind`: the management cluster is the single-node kind cluster on the server; `selfHosted`: that kind cluster builds a 3-control-plane-node cluster on OpenStack from the ClusterClass and pivots every Cluster API object into it, which then manages itself (needs `gitops`; docs/self-hosted.md). `kind` → `selfHosted` on a running stack migrates; `selfHosted` → `kind` moves everything back to the kind cluster, which deletes the self-hosted cluster (docs/self-hosted.md, "selfHosted → kind")',
                "x-errors": { "*": '{value} must be "kind" or "selfHosted"' },
            }),
        ),
        flavor: Type.Optional(
            Type.String({
                pattern: "\\S",
                markdownDescription: "flavor of the self-hosted cluster's nodes: 3 control plane nodes and 2 workers, which run the controllers",
                "x-doc-default": "`flavor`",
                "x-errors": { "*": "{value} must be a flavor name" },
            }),
        ),
        kubernetesVersion: Type.Optional(
            Type.String({
                pattern: VERSION_PATTERN,
                default: DEFAULT_SELF_HOSTED_KUBERNETES_VERSION,
                markdownDescription:
                    "Kubernetes version of the self-hosted cluster; must be the version inside `managementCluster.image`. A change rolls its nodes",
                "x-errors": { "*": "{value} must be a Kubernetes release like v1.35.8" },
            }),
        ),
        image: Type.Optional(
            Type.String({
                pattern: "\\S",
                default: DEFAULT_SELF_HOSTED_IMAGE,
                markdownDescription:
                    "Glance image (by name) of the self-hosted cluster's nodes, a Cluster API node image of `managementCluster.kubernetesVersion`",
                "x-errors": { "*": "{value} must be a Glance image name" },
            }),
        ),
    },
    {
        additionalProperties: false,
        "x-pulumi": false,
        "x-doc-nested": true,
        "x-errors": { type: "must be an object with `mode` (kind or selfHosted) and optional `flavor`, `kubernetesVersion`, `image`" },
    },
);
