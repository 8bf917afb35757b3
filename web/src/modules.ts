// Which registers and pages a product module (/api/v1/meta `modules`) opens, filtered by what
// the user may view. This is the one place that names particular registers or modules:
//
// - A module opens `modules[].register`, plus `modules[].registers` when the server lists them.
//   Until it does, `groupedRegisters` below adds 利用者 and 役割の割当 to 組織.
// - 監査ログ (`auditlog`) opens the audit trail page (#/audit), which needs `audit_log: view`.
// - 設定 (`settings`) opens the settings page (#/m/settings), which needs `settings: view` (the
//   classification scheme and the risk matrix) or `service_accounts: view` (the engines'
//   service accounts).
// - 脅威・リスク (`risks`) opens its own page (#/m/risks, `risks: view`) linking to the heat map
//   (#/risks/heatmap), the proposals (#/risks/proposals) and the rounds' reports
//   (#/risks/rounds/{id}/report, `risk_rounds: view`); its registers are listed under it. A
//   risk's record page shows its place on the matrix, its acceptance and its further assets
//   (`risk_assets`); a round's record page links to its report.
// - ネットワーク分離 (`netsep`) opens its own page (#/m/netsep): the latest proof `mamori netcheck`
//   recorded as evidence (`evidence: view`, which the server checks), with the controls it proves.
// - 通信監視 (`monitor`) opens its own page (#/m/monitor): the reports `mamori monitor` recorded as
//   evidence (`evidence: view`, which the server checks): the monitor's health and its alerts.
// - The 利用者 register (`users`) gets the credentials reset on its record page.
// - The 情報資産 register (`assets`) shows its handling rules (取扱制限) on its record page.
// - The asset and inventory registers link to the inventory's progress page (#/inventory),
//   which needs `inventory_confirmations: view`.
// - The evidence and exception registers (規程・対策) link to the compliance page (#/compliance),
//   which needs `evidence: view`; its "add evidence" buttons open the evidence form pre-filled.
// - A policy document's version (`document_versions`) shows its text, its approval decisions
//   (`document_decisions`, whose 承認 and 差戻し buttons open the decision form pre-filled), and
//   links to the diff page (#/documents/diff) and the acknowledgement progress page
//   (#/documents/progress, which needs `acknowledgements: view`; its 督促 button needs
//   `acknowledgement_reminders: create`). The dashboard lists the versions the user has to
//   acknowledge (`acknowledgements`), with a banner for those they were reminded of.

import { findRegister, hasMeta, getMeta } from './state';
import { can } from './session';
import type { MessageKey } from './i18n';
import type { ModuleDef, RegisterDef } from './types';

/** Registers a module groups besides `register`, while the server's meta does not list them. */
const groupedRegisters: Record<string, string[]> = {
  organization: ['users', 'role_assignments'],
};

/**
 * A page a module opens instead of a register; `view` on any of `resources` opens it. The
 * module's registers, if any, are listed under it in the navigation.
 */
export interface ModulePage {
  hash: string;
  route: string;
  resources: string[];
}

/** Threats and risks (脅威・リスク): scenarios, the threat catalog, the yearly rounds. */
export const risksRegisterKey = 'risks';
export const threatsRegisterKey = 'threats';
export const riskAssetsRegisterKey = 'risk_assets';
export const riskDismissalsRegisterKey = 'risk_dismissals';
export const riskRoundsRegisterKey = 'risk_rounds';

/** The registers of the controls' evidence (証跡) and exceptions (例外措置). */
export const evidenceRegisterKey = 'evidence';
/** The evidence record's control of an engine's result that stands for every control asking for its kind. */
export const everyControl = 'all';
export const exceptionsRegisterKey = 'control_exceptions';

/** Modules that open a page of their own. */
const modulePages: Record<string, ModulePage> = {
  auditlog: { hash: '#/audit', route: 'audit', resources: ['audit_log'] },
  settings: { hash: '#/m/settings', route: 'settings', resources: ['settings', 'service_accounts'] },
  risks: { hash: '#/m/risks', route: 'risks', resources: [risksRegisterKey] },
  netsep: { hash: '#/m/netsep', route: 'netsep', resources: [evidenceRegisterKey] },
  monitor: { hash: '#/m/monitor', route: 'monitor', resources: [evidenceRegisterKey] },
};

/** The annual inventory's registers: campaigns per fiscal year, and confirmations per section. */
export const campaignsRegisterKey = 'inventory_campaigns';
export const confirmationsRegisterKey = 'inventory_confirmations';

/** Pages that sum up a register's records, linked from its list (with the resource they need). */
const summaryPages: Record<string, { hash: string; resource: string; text: MessageKey }> = {
  assets: { hash: '#/inventory', resource: confirmationsRegisterKey, text: 'inventoryOpen' },
  [campaignsRegisterKey]: { hash: '#/inventory', resource: confirmationsRegisterKey, text: 'inventoryOpen' },
  [confirmationsRegisterKey]: { hash: '#/inventory', resource: confirmationsRegisterKey, text: 'inventoryOpen' },
  [evidenceRegisterKey]: { hash: '#/compliance', resource: evidenceRegisterKey, text: 'complianceOpen' },
  [exceptionsRegisterKey]: { hash: '#/compliance', resource: evidenceRegisterKey, text: 'complianceOpen' },
  [risksRegisterKey]: { hash: '#/risks/heatmap', resource: risksRegisterKey, text: 'heatmapOpen' },
  [riskDismissalsRegisterKey]: { hash: '#/risks/proposals', resource: risksRegisterKey, text: 'proposalsOpen' },
};

/** The page that sums up register `key`'s records, if any. */
export function summaryPage(key: string): { hash: string; resource: string; text: MessageKey } | undefined {
  return summaryPages[key];
}

/** The register whose record page offers the password and MFA reset. */
export const usersRegisterKey = 'users';

/** Policy documents (規程): their versions, the approval decisions and the acknowledgements. */
export const documentVersionsRegisterKey = 'document_versions';
export const documentDecisionsRegisterKey = 'document_decisions';
export const acknowledgementsRegisterKey = 'acknowledgements';
/** Reminders (督促) to acknowledge a version, sent from the progress page. */
export const acknowledgementRemindersRegisterKey = 'acknowledgement_reminders';
/** The policy documents themselves (規程), which document evidence names. */
export const documentsRegisterKey = 'documents';

/** The register whose record page shows the handling rules of its classification. */
export const assetsRegisterKey = 'assets';

/** Every register of module `m` that the metadata defines, its own `register` first. */
export function moduleRegisters(m: ModuleDef): RegisterDef[] {
  const keys = [m.register, ...(Array.isArray(m.registers) ? m.registers : (groupedRegisters[m.key] ?? []))];
  const out: RegisterDef[] = [];
  for (const key of keys) {
    if (!key) continue;
    const reg = findRegister(key);
    if (reg && !out.includes(reg)) out.push(reg);
  }
  return out;
}

/** The registers of module `m` the user may view. */
export function viewableRegisters(m: ModuleDef): RegisterDef[] {
  return moduleRegisters(m).filter((r) => can(r.key, 'view'));
}

/** The page a module opens instead of a register (e.g. the audit log), if any. */
export function modulePage(m: ModuleDef): ModulePage | undefined {
  return modulePages[m.key];
}

/** Whether the user may open a module's page (view on any of its resources). */
export function mayOpenPage(page: ModulePage): boolean {
  return page.resources.some((r) => can(r, 'view'));
}

/** The module that groups register `key`, if any. */
export function moduleOfRegister(key: string): ModuleDef | undefined {
  if (!hasMeta()) return undefined;
  return getMeta().modules.find((m) => moduleRegisters(m).some((r) => r.key === key));
}

/** The module that opens page `route` (e.g. 'audit'), if any. */
export function moduleOfPage(route: string): ModuleDef | undefined {
  if (!hasMeta()) return undefined;
  return getMeta().modules.find((m) => modulePage(m)?.route === route);
}
