// 設定 (#/m/settings, resource `settings` or `service_accounts`): the body-wide settings.
//
// - The settings that decide which options some fields offer (`settings`): the classification
//   scheme of the asset register (基本方針 §6(2)) and the risk matrix of the risk register
//   (§8). Both switch the same way: for every value in use, how many records hold it and the
//   value it will become (the catalog's proposal, changeable); nothing changes until the
//   officer confirms; then every record is rewritten in one transaction (each with a history
//   entry; a risk is scored again) and the change is on the audit trail.
// - The names of the risk levels and the matrices' thresholds (views/risk-levels.ts).
// - The service accounts the engines use to record evidence (`service_accounts`,
//   views/service-accounts.ts).

import { ApiError, errorMessage, getJson, sendJson } from '../api';
import { h, replaceChildren, type Child } from '../dom';
import { formatNumber, label, t, type MessageKey } from '../i18n';
import { risksRegisterKey } from '../modules';
import { announce, findRegister, forgetAllRefOptions, getMeta, redraw, validOptions, type View } from '../state';
import type { ClassificationCatalog, FieldDef, Label, RiskMatrixCatalog } from '../types';
import { can } from '../session';
import { alertBox, confirmDialog, pageHeading, type PagePart } from './common';
import { loadRiskLevels } from './risk-levels';
import { loadServiceAccounts } from './service-accounts';

/** GET /api/v1/settings/{key}/usage: the values in use, per field, and the records holding them. */
interface Usage {
  records: number;
  fields: Record<string, Record<string, number>>;
}

/** A setting's choices as its catalog lists them, and the catalog's proposals for switching. */
interface SwitchCatalog {
  active: string;
  choices: { key: string; label: Label; description: Label }[];
  /**
   * Per pair of choices: old value -> new value, per field or per scale (a table `impact`
   * serves the fields `impact`, `proposed_impact` and `residual_impact`).
   */
  mappings: { from: string; to: string; tables: Record<string, Record<string, string> | undefined> }[];
}

/** A setting that decides which options some fields offer, and its section's wording. */
interface SettingSwitch {
  /** The setting's key: the fields that follow it name it as `options_setting`. */
  setting: string;
  /** The prefix of the section's element ids. */
  prefix: string;
  load(): Promise<SwitchCatalog>;
  text: Record<'title' | 'active' | 'switchTo' | 'intro' | 'current' | 'count' | 'confirm' | 'done', MessageKey>;
}

const classificationSwitch: SettingSwitch = {
  setting: 'classification_scheme',
  prefix: 'scheme',
  async load() {
    const c = await getJson<ClassificationCatalog>('classification');
    return {
      active: c.active,
      choices: c.schemes,
      mappings: c.mappings.map((m) => ({ from: m.from, to: m.to, tables: { confidentiality: m.confidentiality, integrity: m.integrity, availability: m.availability } })),
    };
  },
  text: {
    title: 'schemeTitle',
    active: 'schemeActive',
    switchTo: 'schemeSwitchTo',
    intro: 'schemeMappingIntro',
    current: 'schemeCurrentLevel',
    count: 'schemeCount',
    confirm: 'schemeConfirm',
    done: 'schemeDone',
  },
};

const riskMatrixSwitch: SettingSwitch = {
  setting: 'risk_matrix',
  prefix: 'matrix',
  async load() {
    const c = await getJson<RiskMatrixCatalog>('risks/matrix');
    return {
      active: c.active,
      choices: c.matrices,
      mappings: c.mappings.map((m) => ({ from: m.from, to: m.to, tables: { likelihood: m.likelihood, impact: m.impact } })),
    };
  },
  text: {
    title: 'matrixTitle',
    active: 'matrixActive',
    switchTo: 'matrixSwitchTo',
    intro: 'matrixMappingIntro',
    current: 'matrixCurrentLevel',
    count: 'matrixCount',
    confirm: 'matrixConfirm',
    done: 'matrixDone',
  },
};

/** The settings page: the sections the user may view. */
export async function loadSettings(): Promise<View> {
  const risks = can('settings', 'view') && findRegister(risksRegisterKey) !== undefined;
  const [scheme, matrix, levels, accounts] = await Promise.all([
    can('settings', 'view') ? loadSwitchSection(classificationSwitch) : Promise.resolve(null),
    risks ? loadSwitchSection(riskMatrixSwitch) : Promise.resolve(null),
    risks ? loadRiskLevels() : Promise.resolve(null),
    can('service_accounts', 'view') ? loadServiceAccounts() : Promise.resolve(null),
  ]);
  return {
    title: () => t('settingsTitle'),
    render(root) {
      replaceChildren(
        root,
        pageHeading(t('settingsTitle')),
        scheme?.render() ?? null,
        matrix?.render() ?? null,
        levels?.render() ?? null,
        accounts?.render() ?? null,
      );
    },
  };
}

/** The fields whose options follow setting `key` (once each, in the registers' order). */
function followingFields(key: string): FieldDef[] {
  const out: FieldDef[] = [];
  for (const reg of getMeta().registers) {
    for (const f of reg.fields) if (f.options_setting === key && !out.some((o) => o.name === f.name)) out.push(f);
  }
  return out;
}

/** The table of a mapping that serves `field`: its own, else the scale it ends with. */
function tableFor(tables: SwitchCatalog['mappings'][number]['tables'] | undefined, field: string): Record<string, string> {
  if (!tables) return {};
  const scale = Object.keys(tables).find((k) => field === k || field.endsWith(`_${k}`));
  return (scale && tables[scale]) || {};
}

/** One setting's section: the active choice and the switch to another one. */
async function loadSwitchSection(spec: SettingSwitch): Promise<PagePart> {
  const usagePath = `settings/${spec.setting}/usage`;
  let [catalog, usage] = await Promise.all([spec.load(), getJson<Usage>(usagePath)]);
  const fields = followingFields(spec.setting);
  const errorId = `${spec.prefix}-error`;
  let target = '';
  let remap: Record<string, Record<string, string>> = {};
  let error = '';
  let busy = false;

  const choice = (key: string) => catalog.choices.find((c) => c.key === key);
  const optionsUnder = (f: FieldDef, value: string) => validOptions(f, { [spec.setting]: value });
  const valueLabel = (f: FieldDef, value: string) => label(f.options?.find((o) => o.value === value)?.label) || value;
  /** The values of `f` in use: in the field's order, then any value outside it. */
  const inUse = (f: FieldDef) => {
    const counts = usage.fields[f.name] ?? {};
    const order = (f.options ?? []).map((o) => o.value);
    return [...order.filter((v) => v in counts), ...Object.keys(counts).filter((v) => !order.includes(v))];
  };

  /** The catalog's proposal from the active choice to `to`, for the values in use. */
  function propose(to: string): void {
    target = to;
    const mapping = catalog.mappings.find((m) => m.from === catalog.active && m.to === to);
    remap = {};
    for (const f of fields) {
      const proposal = tableFor(mapping?.tables, f.name);
      const targets = optionsUnder(f, to);
      remap[f.name] = {};
      for (const value of inUse(f)) {
        const fallback = targets.some((o) => o.value === value) ? value : (targets[0]?.value ?? value);
        remap[f.name]![value] = proposal[value] ?? fallback;
      }
    }
  }

  async function apply(): Promise<void> {
    if (busy || !target) return;
    const ok = await confirmDialog(
      t(spec.text.confirm, { from: label(choice(catalog.active)?.label), to: label(choice(target)?.label), n: formatNumber(usage.records) }),
      t('schemeConfirmOk'),
    );
    if (!ok) return;
    busy = true;
    error = '';
    redraw();
    try {
      const done = await sendJson<{ changed: number }>('PUT', `settings/${spec.setting}`, { value: target, remap });
      forgetAllRefOptions();
      [catalog, usage] = await Promise.all([spec.load(), getJson<Usage>(usagePath)]);
      target = '';
      busy = false;
      redraw();
      announce(t(spec.text.done, { n: formatNumber(done.changed) }), 'success');
    } catch (err) {
      busy = false;
      error = err instanceof ApiError && err.errors.length ? err.errors.map((e) => e.message).join(' ') : errorMessage(err);
      redraw();
      document.getElementById(errorId)?.focus();
    }
  }

  function mappingTable(): Child {
    if (!choice(target)) return null;
    const rows: HTMLElement[] = [];
    for (const f of fields) {
      for (const value of inUse(f)) {
        const id = `remap-${f.name}-${value}`;
        const select = h(
          'select',
          { id, onchange: (e: Event) => (remap[f.name]![value] = (e.target as HTMLSelectElement).value) },
          optionsUnder(f, target).map((o) => h('option', { value: o.value }, label(o.label))),
        );
        select.value = remap[f.name]?.[value] ?? '';
        rows.push(
          h(
            'tr',
            { 'data-field': f.name, 'data-value': value },
            h('td', null, label(f.label)),
            h('th', { scope: 'row' }, valueLabel(f, value)),
            h('td', { class: 'numeric' }, formatNumber(usage.fields[f.name]?.[value] ?? 0)),
            h('td', null, h('label', { for: id, class: 'visually-hidden' }, `${label(f.label)} ${valueLabel(f, value)}: ${t('schemeTarget')}`), select),
          ),
        );
      }
    }
    return h(
      'div',
      null,
      h('p', null, t(spec.text.intro)),
      h(
        'table',
        { class: 'data-table', id: `${spec.prefix}-mapping` },
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            h('th', { scope: 'col' }, t('settingField')),
            h('th', { scope: 'col' }, t(spec.text.current)),
            h('th', { scope: 'col', class: 'numeric' }, t(spec.text.count)),
            h('th', { scope: 'col' }, t('schemeTarget')),
          ),
        ),
        h('tbody', null, rows),
      ),
      h(
        'div',
        { class: 'button-row' },
        h('button', { type: 'button', class: 'button button-primary', id: `${spec.prefix}-apply`, disabled: busy, onclick: () => void apply() }, t('schemeApply')),
        h('button', { type: 'button', class: 'button', id: `${spec.prefix}-cancel`, onclick: () => ((target = ''), redraw()) }, t('cancel')),
      ),
    );
  }

  return {
    render() {
      const active = choice(catalog.active);
      const others = catalog.choices.filter((c) => c.key !== catalog.active);
      return h(
        'section',
        { 'aria-labelledby': `${spec.prefix}-title`, id: `${spec.prefix}-section` },
        h('h2', { id: `${spec.prefix}-title` }, t(spec.text.title)),
        h('p', { id: `${spec.prefix}-active` }, t(spec.text.active, { scheme: label(active?.label) })),
        h('p', { class: 'help' }, label(active?.description)),
        alertBox(errorId, error),
        target
          ? mappingTable()
          : h(
              'div',
              { class: 'button-row' },
              others.map((c) =>
                h(
                  'button',
                  { type: 'button', class: 'button', id: `${spec.prefix}-to-${c.key}`, onclick: () => (propose(c.key), redraw()) },
                  t(spec.text.switchTo, { scheme: label(c.label) }),
                ),
              ),
            ),
      );
    },
  };
}
