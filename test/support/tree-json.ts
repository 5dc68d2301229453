/** The shape of `bin/sigstore tree --json`, as the tests read it. */
export interface TreeItem {
  digest: string;
  source: string;
  state: string;
  predicateType?: string | null;
  signer: { kind: string; identity?: string; issuer?: string; source?: string } | null;
  reason: string;
  check?: string;
  remedy?: string;
}

export interface TreeDoc {
  reference: string;
  digest: string;
  manifests: Array<{
    digest: string;
    platform: { os: string; architecture: string; variant?: string } | null;
    signatures: TreeItem[];
    attestations: TreeItem[];
    sboms: TreeItem[];
    notRead?: { count: number; more: boolean };
  }>;
  platformsNotRead?: number;
}
