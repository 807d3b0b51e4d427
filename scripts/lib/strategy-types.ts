// The parts of Shipwright's (Cluster)BuildStrategy v1beta1 that the cache
// patch reads or writes. Everything else is carried through untouched, so the
// index signatures keep unknown fields.

export interface EnvVar {
  name: string;
  value?: string;
  [k: string]: unknown;
}

export interface VolumeMount {
  name: string;
  mountPath: string;
  subPath?: string;
  readOnly?: boolean;
  [k: string]: unknown;
}

export interface Step {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  volumeMounts?: VolumeMount[];
  [k: string]: unknown;
}

export interface StrategyVolume {
  name: string;
  overridable?: boolean;
  description?: string;
  [k: string]: unknown;
}

export interface StrategyParameter {
  name: string;
  type?: 'string' | 'array';
  default?: string;
  [k: string]: unknown;
}

export interface StrategySpec {
  steps: Step[];
  volumes?: StrategyVolume[];
  parameters?: StrategyParameter[];
  [k: string]: unknown;
}

export type StrategyKind = 'BuildStrategy' | 'ClusterBuildStrategy';

export interface StrategyObject {
  apiVersion: string;
  kind: StrategyKind;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
    generation?: number;
    uid?: string;
    [k: string]: unknown;
  };
  spec: StrategySpec;
}

export const STRATEGY_KINDS: readonly StrategyKind[] = ['BuildStrategy', 'ClusterBuildStrategy'];
