/**
 * Shapes of the registry, governance, deployment, monitoring and sync records as the
 * sidebar receives them (see the Python records; only the fields the views read).
 */

export interface IModel {
  id: string;
  name: string;
  kind: string;
  description: string;
  owner: string;
  tags: Record<string, string>;
  created_at: number;
  updated_at: number;
  latest_version: number | null;
  aliases: Record<string, number>;
}

export interface IModelVersion {
  id: string;
  name: string;
  version: number;
  flavor: string;
  run_id: string | null;
  description: string;
  state: string;
  trusted?: boolean;
  created_by: string;
  created_at: number;
  updated_at: number;
  aliases: string[];
  lineage?: { run_name?: string; source?: string };
}

export interface IModelCard {
  model_name: string;
  version: number;
  revision: number;
  updated_by: string;
  updated_at: number;
  markdown: string;
}

export interface IEvidenceItem {
  id: string;
  label: string;
  ok: boolean;
  detail: string;
  fix: string;
  required: boolean;
}

export interface IEvidence {
  id: string;
  kind: string;
  status: string;
  summary: string;
  created_by: string;
  created_at: number;
}

export interface IReview {
  id: string;
  reviewer: string;
  role: string;
  decision: string;
  comment: string;
  self_review: boolean;
  created_at: number;
}

export interface IValidation {
  status?: string;
  summary?: string;
  checks?: Array<{ name: string; status: string; detail: string }>;
}

export interface IDeploymentRequest {
  id: string;
  model_name: string;
  version: number;
  target: string;
  status: string;
  requested_by: string;
  state: string;
  alias: string | null;
  justification: string;
  policy: { name?: string; solo?: boolean };
  validation: IValidation;
  checklist: IEvidenceItem[];
  evidence: IEvidence[];
  reviews: IReview[];
  decided_by: string | null;
  decided_at: number | null;
  decision_comment: string;
  created_at: number;
  updated_at: number;
}

export interface IDeploymentStats {
  requests?: number;
  errors?: number;
  rows?: number;
  dropped?: number;
  at?: number;
}

export interface IDeployment {
  id: string;
  model_name: string;
  version: number;
  target: string;
  status: string;
  alias: string | null;
  endpoint: string;
  stats: IDeploymentStats;
  restarts: number;
  last_error: string | null;
  started_by: string;
  created_at: number;
  state: string;
  alive: boolean | null;
}

export interface IMonitorRule {
  name: string;
  metric: string;
  op: string;
  value: number;
  state?: string;
}

export interface IMonitor {
  deployment_id: string;
  config: { rules: IMonitorRule[] };
  state: { firing?: string[]; last_report?: string };
  last_check_at: number | null;
}

export interface IMonitorReport {
  id: string;
  rows: number;
  dataset_drift: boolean;
  drift_share: number | null;
  created_at: number;
}

export interface IMonitorEvent {
  id: string;
  model_name: string;
  kind: string;
  deployment_id: string | null;
  rule: string;
  severity: string;
  message: string;
  created_at: number;
}

export interface IAliasEvent {
  alias: string;
  old_version: number | null;
  new_version: number | null;
  changed_at: number;
}

export interface IRollout {
  model_name: string;
  alias: string;
  from_version: number | null;
  to_version: number;
  state: string;
  deployments: unknown[];
}

export interface IInventoryEntry {
  name: string;
  kind: string;
  owner: string;
  purpose: string;
  risk_tier: string;
  version: number | null;
  flavor: string;
  state: string;
  /** Pickle-based (or otherwise untrusted) package: loading it runs its code. */
  requires_trust?: boolean;
  versions: Record<string, number[]>;
  approved_by: string | null;
  approved_at: number | null;
  validation: string;
  endpoints: Array<{ deployment: string; endpoint: string; status: string }>;
  monitors: Array<{ deployment: string; firing: string[] }>;
  updated_at: number;
}

export interface ISyncStatus {
  linked: boolean;
  registry_url: string | null;
  pending: number;
  pending_bytes?: number;
  rejected: number;
  last_attempt: number | null;
  last_success: number | null;
  last_error: string | null;
  last_error_at: number | null;
  failures: number;
  last_report: Record<string, unknown> | null;
  worker: Record<string, unknown> | null;
}
