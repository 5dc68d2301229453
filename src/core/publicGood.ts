/** The Sigstore public-good instance: what signing and lookups use unless set otherwise. */
export const PUBLIC_GOOD = {
  fulcioURL: 'https://fulcio.sigstore.dev',
  rekorURL: 'https://rekor.sigstore.dev',
  oidcIssuer: 'https://oauth2.sigstore.dev/auth',
  oidcClientId: 'sigstore',
} as const;
