import { loadStackConfig } from "./src/config/loadConfig";
import { downloadCache } from "./src/versions/releaseCache";
import { program } from "./program";

const { outputs } = program(loadStackConfig(), downloadCache());

export const floatingIp = outputs.floatingIp;
export const sshCommand = outputs.sshCommand;
export const sshKnownHosts = outputs.sshKnownHosts;
export const sshPrivateKey = outputs.sshPrivateKey;
export const capiAppCredentialId = outputs.capiAppCredentialId;
export const cloudProviderAppCredentialId = outputs.cloudProviderAppCredentialId;
export const kubeconfig = outputs.kubeconfig;
export const apiServerCertExpiry = outputs.apiServerCertExpiry;
export const apiServerCertRenewal = outputs.apiServerCertRenewal;
export const selfHostedKubeconfigRefresh = outputs.selfHostedKubeconfigRefresh;
export const deployPublicKey = outputs.deployPublicKey;
export const deployed = outputs.deployed;
export const lastBackup = outputs.lastBackup;
