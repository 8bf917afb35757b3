// The shapes of the API's answers (docs/api.md). Only what the UI reads is typed.

/** A label in both languages. */
export interface Label {
  ja: string;
  en: string;
}

export interface ModuleDef {
  key: string;
  label: Label;
  /** "ready" or "planned". */
  status: string;
  /** The register a ready module opens. */
  register?: string;
  /** Further registers the module groups, when the server lists them (see modules.ts). */
  registers?: string[];
  /** The issue that tracks a planned module. */
  issue?: number;
}

export type FieldType = 'text' | 'textarea' | 'integer' | 'boolean' | 'date' | 'enum' | 'ref' | 'email';

export interface EnumOption {
  value: string;
  label: Label;
  /** Groups the option belongs to (e.g. classification schemes); see FieldDef.options_setting. */
  tags?: string[];
  /** false: set only by the system (not offered in forms, still shown). */
  in_forms?: boolean;
}

export interface FieldDef {
  name: string;
  /** One of FieldType; anything else is shown as a one-line text input. */
  type: string;
  label: Label;
  help?: Label;
  required?: boolean;
  unique?: boolean;
  max_length?: number;
  min?: number;
  max?: number;
  list?: boolean;
  searchable?: boolean;
  sortable?: boolean;
  filterable?: boolean;
  options?: EnumOption[];
  /** For `ref`: the key of the referenced register. */
  ref?: string;
  /** The value a new record starts with. */
  default?: string;
  /** Filled in by the server when left empty (e.g. 管理番号). */
  generated?: boolean;
  /** Set by the server (who, when, a hash): left out of new records, read-only afterwards. */
  system?: boolean;
  /** Kept out of lists and exports (a large body); with `system`, out of the form too. */
  detail_only?: boolean;
  /** Only the options tagged with this setting's current value are valid. */
  options_setting?: string;
  options_setting_default?: string;
}

export interface RegisterDef {
  key: string;
  path: string;
  label: Label;
  key_field: string;
  title_field: string;
  /** `field` or `-field`. */
  default_sort?: string;
  /** Records never change once made (evidence, decisions): no edit form for existing ones. */
  immutable?: boolean;
  fields: FieldDef[];
  /** The register's records take files (添付ファイル); absent when they do not. */
  attachments?: AttachmentOptions;
}

export interface AttachmentOptions {
  /** The largest file accepted, bytes (the smaller of the register's and the server's limits). */
  max_bytes: number;
  max_files: number;
  /** What the files are for and when they count. */
  note: Label;
}

/** One attached file as listed (GET {path}/{id}/attachments). */
export interface Attachment {
  id: number;
  name: string;
  /** Decided by the server from the file's signature. */
  content_type: string;
  size: number;
  /** Lower-case hex, computed by the server from the bytes. */
  sha256: string;
  uploaded_at: string;
  uploaded_by: string;
}

export interface AttachmentList {
  items: Attachment[];
  max_bytes: number;
  max_files: number;
  /** Whether this user may add or remove files now (the server's own checks). */
  can_add: boolean;
  can_remove: boolean;
  /** Why files cannot be added now (the record's state), when that is the reason. */
  refusal?: Label;
}

export interface Meta {
  version: string;
  modules: ModuleDef[];
  registers: RegisterDef[];
}

export interface RefLabel {
  id: number;
  label: string;
}

/** A register record: the register's fields plus the reserved members. */
export interface RegisterRecord {
  id: number;
  version: number;
  archived: boolean;
  created_at?: string;
  updated_at?: string;
  created_by?: string;
  updated_by?: string;
  _refs?: Record<string, RefLabel | null | undefined>;
  /** Warnings the server accepted with the change (create and update answers only). */
  warnings?: ProblemError[];
  [field: string]: unknown;
}

/** GET /api/v1/{path}/counts?by=a,b */
export interface CountsAnswer {
  by: string[];
  cells: { values: (string | boolean | null)[]; count: number }[];
  total: number;
}

/** GET /api/v1/settings: the settings that decide which options are valid. */
export type Settings = Record<string, string>;

export interface HandlingRuleDef {
  category: string;
  text: Label;
}

export interface LevelDef {
  value: string;
  label: Label;
  meaning: Label;
  need_to_know: boolean;
  handling: HandlingRuleDef[];
}

export interface SchemeDef {
  key: string;
  label: Label;
  description: Label;
  confidentiality: LevelDef[];
  integrity: LevelDef[];
  availability: LevelDef[];
}

/** GET /api/v1/classification. */
export interface ClassificationCatalog {
  active: string;
  default_scheme: string;
  categories: { key: string; label: Label }[];
  zones: { key: string; label: Label }[];
  schemes: SchemeDef[];
  /** The catalog's proposals for switching: per axis, old level -> new level. */
  mappings: { from: string; to: string; confidentiality: Record<string, string>; integrity: Record<string, string>; availability: Record<string, string> }[];
}

export interface ListAnswer {
  items: RegisterRecord[];
  total: number;
  limit: number;
  offset: number;
}

export interface HistoryChange {
  field: string;
  label?: string;
  from: unknown;
  to: unknown;
}

export interface HistoryEntry {
  version: number;
  action: string;
  actor: string;
  at: string;
  changes?: HistoryChange[];
  warnings?: ProblemError[];
}

export interface HistoryAnswer {
  items: HistoryEntry[];
}

export interface ImportAnswer {
  dry_run: boolean;
  created: number;
  updated: number;
  unchanged: number;
  /** Accepted with the import, by row and column. */
  warnings?: ProblemError[];
}

/** One entry of a problem's `errors`; `row` and `column` only for imports. */
export interface ProblemError {
  field?: string;
  label?: string;
  message?: string;
  message_en?: string;
  row?: number;
  column?: string;
}

/** RFC 9457 problem details as Mamori sends them. */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  code?: string;
  detail?: string;
  detail_en?: string;
  errors?: ProblemError[];
}

export interface DashboardAnswer {
  registers: { key: string; label: Label; count: number }[];
  policy: {
    sections: number;
    measures: number;
    controls: number;
    controls_by_section: { section: string; title: Label; count: number }[];
  };
}

export interface Control {
  id: string;
  title: Label;
  description?: Label;
  evidence?: string[];
  owner_role?: string;
  review_months?: number;
}

export interface PolicyItem {
  id: string;
  number?: string;
  title: Label;
  summary?: Label;
  is_measure?: boolean;
  items?: PolicyItem[];
  controls?: Control[];
}

export interface PolicySection extends PolicyItem {
  is_public?: boolean;
}

export interface PolicyAnswer {
  title: Label;
  body?: string;
  effective?: string;
  sections: PolicySection[];
}

// ---- Authentication and sessions (docs/api.md) ----------------------------------------------

/** POST /auth/login: which steps the login still needs. */
export interface LoginAnswer {
  mfa_required?: boolean;
  password_change_required?: boolean;
  mfa_enrollment_required?: boolean;
}

/** POST /auth/mfa/enroll. */
export interface EnrollAnswer {
  secret: string;
  otpauth_uri?: string;
  qr_svg?: string;
}

/** POST /auth/mfa: the session is open; `recovery_codes` only right after enrollment. */
export interface MfaAnswer {
  csrf_token?: string;
  user_id?: number;
  recovery_codes?: string[];
}

export interface RoleGrant {
  role: string;
  label?: Label;
  scope_kind?: string;
  units?: number[];
  system?: string;
}

/** GET /auth/me. `permissions`: register or resource key -> the actions allowed. */
export interface Me {
  user: { id: number; login: string; name: string };
  roles: RoleGrant[];
  permissions: Record<string, string[]>;
  csrf_token?: string;
}

/** POST /users/{id}/reset-credentials. */
export interface ResetAnswer {
  one_time_password: string;
}

// ---- Audit trail ----------------------------------------------------------------------------

export interface AuditEntry {
  seq: number;
  at: string;
  actor: string;
  address?: string;
  action: string;
  target?: string;
  detail?: unknown;
}

export interface AuditAnswer {
  items: AuditEntry[];
  total: number;
  limit: number;
  offset: number;
}

/** GET /api/v1/inventory/progress: the annual asset inventory (棚卸) of one fiscal year. */
export interface InventoryProgress {
  today: string;
  campaign: {
    id: number;
    fiscal_year: number;
    label: string;
    title: string;
    start_date: string;
    due_date: string;
    note: string;
    overdue: boolean;
  } | null;
  campaigns: { id: number; fiscal_year: number; title: string }[];
  totals: InventoryCounts;
  bureaus: (InventoryCounts & { id: number | null; name: string })[];
  sections: InventorySection[];
}

export interface InventoryCounts {
  sections: number;
  confirmed: number;
  pending: number;
  overdue: number;
  assets: number;
}

export type InventoryState = 'confirmed' | 'pending' | 'overdue';

export interface InventorySection {
  id: number;
  code: string;
  name: string;
  bureau: number | null;
  bureau_name: string;
  managers: string[];
  assets: number;
  changed: number;
  state: InventoryState;
  can_confirm: boolean;
  confirmation: {
    id: number;
    result: string;
    confirmed_on: string;
    confirmed_by_name: string;
    asset_count: number;
    comment: string;
  } | null;
}

// ---- Controls and their evidence (管理策の実施状況) -------------------------------------------

/** A control's status, derived by the server from its evidence (never typed in). */
export type ComplianceStatus = 'implemented' | 'partial' | 'not_implemented' | 'unknown';

/** The state of one kind of evidence a control needs. */
export type EvidenceState = 'fresh' | 'expired' | 'failed' | 'missing' | 'unavailable';

export interface ComplianceCounts {
  controls: number;
  implemented: number;
  partial: number;
  not_implemented: number;
  unknown: number;
}

export interface ComplianceEvidence {
  /** "document", "attestation", "self_inspection", "automated:netcheck", "automated:monitor" or "register:{key}". */
  kind: string;
  state: EvidenceState;
  /** The latest evidence record of this kind (none for register evidence). */
  record: {
    id: number;
    result: string;
    summary: string;
    recorded_on: string;
    valid_until: string;
    source: string;
    /** Files attached to it (an attestation counts only with one). */
    attachments?: number;
  } | null;
  /** Evidence records of this kind (for register evidence: the register's active records). */
  records: number;
  /** Attestations without an attached file: recorded, but not counted. */
  unattached?: number;
  /** Register evidence: the day the register last changed. */
  last_change?: string;
  /** Documents whose document does not hold today (not in force, overdue, abolished, none named). */
  uncounted?: number;
  /** Document evidence: the document the latest counted record rests on, else the latest one's. */
  document?: DocumentBasis;
}

/** Why a document evidence record counts or not: the policy document (規程) it names. */
export interface DocumentBasis {
  id: number | null;
  code?: string;
  title?: string;
  kind?: string;
  /** The document is not visible to the user (need to know). */
  hidden?: boolean;
  version?: { id: number; name: string; version_no: number; effective_date: string; status: string } | null;
  review_due?: string | null;
  state: 'in_force' | 'review_overdue' | 'abolished' | 'archived' | 'not_in_force' | 'unlinked' | 'missing';
  counts: boolean;
  reason: Label;
}

export interface ComplianceControl {
  id: string;
  /** The evidence register's enum value of the control ("C-6-3-02" -> "c_6_3_02"). */
  value: string;
  section: string;
  measure: string;
  title: Label;
  owner_role: string;
  review_months: number;
  status: ComplianceStatus;
  exception: { id: number; title: string; expires_on: string } | null;
  evidence: ComplianceEvidence[];
}

/** GET /api/v1/compliance. */
export interface ComplianceAnswer {
  today: string;
  totals: ComplianceCounts;
  sections: (ComplianceCounts & { id: string; title: Label })[];
  controls: ComplianceControl[];
}

// ---- Service accounts (the engines' tokens) ------------------------------------------------

export interface ServiceAccount {
  id: number;
  name: string;
  purpose: string;
  created_at: string;
  created_by: string;
  expires_on: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
  state: 'active' | 'expired' | 'revoked';
}

/** POST /api/v1/service-accounts: the token is in this answer only. */
export interface ServiceAccountCreated {
  account: ServiceAccount;
  token: string;
}

// ---- Policy documents (規程) ---------------------------------------------------------------

/** GET /api/v1/documents/pending: the versions in force the user has yet to acknowledge. */
export interface PendingDocument {
  version: number;
  document: number;
  code: string;
  title: string;
  kind: string;
  version_no: number;
  effective_date: string;
  /** Days since the version took effect. */
  outstanding_days: number;
  /** The latest reminder (督促) of this version, if any: shown as a banner on the home page. */
  reminder: { sent_on: string; count: number } | null;
}

export interface ReviewDue {
  document: number;
  code: string;
  title: string;
  kind: string;
  version: number;
  version_no: number;
  effective_date: string;
  review_months: number;
  due_on: string;
  overdue: boolean;
  revision: number | null;
}

export interface DocumentDiff {
  from: RegisterRecord;
  to: RegisterRecord;
  lines: { op: '=' | '-' | '+'; text: string }[];
  added: number;
  removed: number;
}

export interface AckCounts {
  users: number;
  acknowledged: number;
  percent: number;
}

/** GET /api/v1/documents/progress?version=ID */
export interface AckProgress {
  version: RegisterRecord;
  totals: AckCounts;
  bureaus: (AckCounts & { id: number | null; name: string })[];
  sections: (AckCounts & { id: number | null; name: string; bureau: number | null })[];
  pending: { id: number; login: string; name: string; section_name: string }[];
  /** The reminders (督促) sent for this version: how many, and the latest. */
  reminders: {
    count: number;
    last: { id: number; sent_on: string; sent_by: number | null; sent_by_name: string; recipients: number } | null;
  };
}

// ---- Threats and risks (脅威・リスク) ----------------------------------------------------------

/** A risk level (低, 中, 高, 非常に高い): its colour on the heat map is always shown with its label. */
export interface RiskLevelDef {
  key: string;
  label: Label;
  color: string;
  meaning: Label;
}

/** One step of a matrix's likelihood or impact scale ("5_3": 5×5, score 3). */
export interface RiskScaleStep {
  value: string;
  score: number;
  label: Label;
  meaning: Label;
}

export interface RiskMatrixDef {
  key: string;
  label: Label;
  description: Label;
  /** Lowest first. */
  likelihood: RiskScaleStep[];
  impact: RiskScaleStep[];
  thresholds: { level: string; min_score: number }[];
  /** Who decides the acceptance of a risk at each level. */
  approval: Record<string, 'superior' | 'ciso'>;
  grid: { likelihood: string; impact: string; score: number; level: string }[];
}

/** GET /api/v1/risks/matrix. */
export interface RiskMatrixCatalog {
  active: string;
  default: string;
  /** True when the body set its own level names or thresholds (設定). */
  customized: boolean;
  levels: RiskLevelDef[];
  matrices: RiskMatrixDef[];
  /** The catalog's proposals for switching: per scale, old value -> new value. */
  mappings: { from: string; to: string; likelihood: Record<string, string>; impact: Record<string, string> }[];
}

/** One item of GET /api/v1/risks/proposals: a threat Mamori proposes to analyse for an asset. */
export interface RiskProposal {
  /** The dismissals register's enum value ("p_01"). */
  proposal: string;
  proposal_id: string;
  reason: Label;
  asset: { id: number; no: string; name: string; section: { id: number; label: string } | null };
  threat: { id: number; code: string; name: string };
  /** The impact the asset's classification proposes, or null. */
  impact: string | null;
}

export interface RiskProposalsAnswer {
  items: RiskProposal[];
  total: number;
}

/** A scenario as the round report lists it (labels, not ids, for threat and section). */
export interface RoundRisk {
  id: number;
  risk_no: string;
  title: string;
  threat: string;
  section: string;
  inherent_level: string | null;
  residual_level: string | null;
}

export interface RoundSummary {
  id: number;
  fiscal_year: number;
  title: string;
  status: string;
  closed_on: string | null;
}

/** GET /api/v1/risks/rounds/{id}/report: what changed since the previous closed round. */
export interface RoundReport {
  round: RoundSummary;
  previous: RoundSummary | null;
  /** [previous, now] */
  total: [number, number];
  counts: { level: string; label: Label; inherent: [number, number]; residual: [number, number] }[];
  added: RoundRisk[];
  removed: RoundRisk[];
  changed: (RoundRisk & { fields: { field: string; label: string; from: string; to: string }[] })[];
  unchanged: number;
}

// ---- Network separation (the raw result of `mamori netcheck --format json`, docs/netcheck.md) ----

/** A concrete packet of a leak: as sent, and as delivered when a DNAT rule rewrote it. */
export interface NetcheckWitness {
  src: string;
  dst: string;
  proto: string;
  sport: number;
  dport: number;
  icmp_type?: number;
  translated?: { dst: string; dport: number };
}

/** One device's rule on a violation's path; `action` "DNAT", "ACCEPT", "policy ACCEPT" or "no filter rule". */
export interface NetcheckStep {
  device: string;
  rule: string;
  action: string;
}

export interface NetcheckViolation {
  from: string;
  to: string;
  witness: NetcheckWitness | null;
  path: NetcheckStep[];
  /** netcheck's summary of the leaking packets ("tcp dport 443 from zone internet to …"). */
  packets: string;
}

export interface NetcheckReport {
  result: 'ok' | 'violations';
  /** The topology's zone keys, in file order. */
  zones: string[];
  matrix: { from: string; to: string; reachable: boolean; allowed: boolean; violation: boolean }[];
  violations: NetcheckViolation[];
  unknown: { device: string; location: string; construct: string }[];
  shadowed: { device: string; rule: string; by: string }[];
  broad: { device: string; rule: string; from: string; to: string; packets: string }[];
}
