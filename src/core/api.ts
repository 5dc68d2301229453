/**
 * What the editor loads lazily, as its own bundle (dist/core.js): everything that pulls
 * in the Sigstore and OpenPGP libraries. Activation loads none of it.
 */
export { fileFingerprint } from './artifacts/artifact';
export { keyImageSigner, keylessImageSigner } from './imageSigning/imageSigner';
export { parseAnnotations, parsePredicate, predicateTypeOf, PREDICATE_TYPE_NAMES } from './imageSigning/payloads';
export { attestImage, signImage, signingTargets, type SignatureStorage, type SignedManifest } from './imageSigning/signImage';
export { attachmentLimit, attachmentsOf, platformLabel, resolveImage } from './images/attachments';
export { findImageUses, IMAGE_FILE_GLOBS, isImageFile } from './images/imageUses';
export { attachmentState, verifyAttachments } from './images/imageVerifier';
export { predicateLabel } from './images/predicateTypes';
export { dockerCredentials } from './oci/dockerCredentials';
export { OciError } from './oci/errors';
export { formatReference, parseImageReference } from './oci/reference';
export { RegistryClient } from './oci/registryClient';
export { obtainIdentityToken, type IdentityToken } from './oidc/identityToken';
export { applyPolicy, decide, ruleExpectingSignature, unsignedResult, type PolicyState } from './policy/evaluate';
export { DEFAULT_POLICY_PATH, loadPolicyFile, compilePolicy, type PolicyLoad, type PolicyDiagnostic } from './policy/policy';
export { generateCosignKeyPair, readCosignPrivateKey } from './sign/cosignKey';
export { writeCompanions } from './sign/companionWriter';
export { companionsToWrite, signFileAndWrite, type FileSigner, type SignedFile } from './sign/fileSigning';
export { createKeylessSession } from './sign/keylessSigner';
export { publicKeyPemOf } from './sign/keySigner';
export { logKeySignature } from './sign/rekorUpload';
export { parseTrustedRoot, publicGoodTrustedRoot } from './trust/trustedRoot';
export { verifyArtifact } from './verify/artifactVerifier';
export { signerLabel } from './verify/result';
export { companionTargets } from './verify/companionVerifier';
