/**
 * What the editor loads lazily, as its own bundle (dist/core.js): everything that pulls
 * in the Sigstore and OpenPGP libraries. Activation loads none of it.
 */
export { fileFingerprint } from './artifacts/artifact';
export { applyPolicy, decide, type PolicyState } from './policy/evaluate';
export { DEFAULT_POLICY_PATH, loadPolicyFile, compilePolicy, type PolicyLoad, type PolicyDiagnostic } from './policy/policy';
export { parseTrustedRoot, publicGoodTrustedRoot } from './trust/trustedRoot';
export { verifyArtifact } from './verify/artifactVerifier';
export { companionTargets } from './verify/companionVerifier';
