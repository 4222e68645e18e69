// The shapes the CLI reads from the API (docs/api.md). Kept apart from the
// aggregator's code on purpose: the CLI talks to the API, not to the server's modules.
export interface ApiCell {
  readonly status: 'ok' | 'degraded' | 'failing' | 'unknown';
  readonly lossRatio: number | null;
  readonly rttP50Ms: number | null;
  readonly rttP99Ms: number | null;
  readonly lastOutcome: string | null;
  readonly since: string | null;
  readonly samples: number;
}

export interface ApiMatrix {
  readonly kind: string;
  readonly family: string;
  readonly windowSeconds: number;
  readonly generatedAt: string;
  readonly nodes: readonly string[];
  readonly cells: readonly (readonly (ApiCell | null)[])[];
  readonly summary: Readonly<Record<ApiCell['status'], number>>;
}

export interface ApiNode {
  readonly name: string;
  readonly zone: string;
  readonly podIPs: readonly string[];
  readonly nodeIPs: readonly string[];
  readonly agent: {
    readonly connected: boolean;
    readonly connectedSince: string | null;
    readonly lastReportAt: string | null;
    readonly version: string;
    readonly capabilities: readonly string[];
    readonly reports: number;
    readonly results: number;
  };
}
