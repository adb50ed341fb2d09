// The resources the fake kubectl (kubectl.cjs) knows: the names it accepts for them, which are
// built in (the others need their CRD object), which are cluster-scoped, where a pod spec sits.
"use strict";
/* global module, process */

// The CRDs' names, as test/fakes/kubectlServer.ts declares them (it starts server.cjs with them).
const { CLUSTER_CRD, KUSTOMIZATION_CRD, HELMRELEASE_CRD, SNAPSHOT_CRD } = JSON.parse(process.env.FAKE_KUBECTL_CRDS);

const ALIASES = {
    svc: "services",
    service: "services",
    pvc: "persistentvolumeclaims",
    persistentvolumeclaim: "persistentvolumeclaims",
    pv: "persistentvolumes",
    persistentvolume: "persistentvolumes",
    crd: "customresourcedefinitions",
    customresourcedefinition: "customresourcedefinitions",
    secret: "secrets",
    namespace: "namespaces",
    ns: "namespaces",
    deployment: "deployments",
    statefulset: "statefulsets",
    daemonset: "daemonsets",
    replicaset: "replicasets",
    job: "jobs",
    cronjob: "cronjobs",
    pod: "pods",
    "cluster.cluster.x-k8s.io": CLUSTER_CRD,
    "kustomization.kustomize.toolkit.fluxcd.io": KUSTOMIZATION_CRD,
    "helmrelease.helm.toolkit.fluxcd.io": HELMRELEASE_CRD,
    "volumesnapshot.snapshot.storage.k8s.io": SNAPSHOT_CRD,
};
const BUILTIN = new Set([
    "services",
    "persistentvolumeclaims",
    "persistentvolumes",
    "customresourcedefinitions",
    "secrets",
    "namespaces",
    "deployments",
    "statefulsets",
    "daemonsets",
    "replicasets",
    "jobs",
    "cronjobs",
    "pods",
]);
const CLUSTER_SCOPED = new Set(["persistentvolumes", "customresourcedefinitions", "namespaces"]);
const POD_SPECS = { cronjobs: ["spec", "jobTemplate", "spec", "template", "spec"], pods: ["spec"] };

module.exports = { CLUSTER_CRD, KUSTOMIZATION_CRD, HELMRELEASE_CRD, SNAPSHOT_CRD, ALIASES, BUILTIN, CLUSTER_SCOPED, POD_SPECS };
