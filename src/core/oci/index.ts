/** The registry client's public surface (src/core/oci never imports vscode). */
export type { Challenge, RegistryCredential } from './auth';
export { digestTag, isDigest } from './digest';
export { dockerCredentials, staticCredentials, type CredentialSource, type DockerCredentialsOptions, type HelperResult, type HelperRunner } from './dockerCredentials';
export { OciError, isOciError, type OciErrorCode } from './errors';
export type { Descriptor, FetchedManifest, ImageIndex, ImageManifest, Platform } from './manifest';
export * as mediaTypes from './mediaTypes';
export { formatReference, parseImageReference, type ImageReference } from './reference';
export { MAX_MANIFEST_BYTES, RegistryClient, type ReferrersSource, type RegistryClientOptions } from './registryClient';
