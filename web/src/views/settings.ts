// 設定 (#/m/settings, resource `settings` or `service_accounts`): the body-wide settings.
//
// - The classification scheme of the asset register (基本方針 §6(2), `settings`). Switching
//   shows, for every level in use, how many assets hold it and the level it will become (the
//   catalog's proposal, changeable), and changes nothing until the officer confirms; then every
//   asset is reclassified in one transaction (each with a history entry) and the change is on
//   the audit trail.
// - The service accounts the engines use to record evidence (`service_accounts`,
//   views/service-accounts.ts).

import { ApiError, errorMessage, getJson, sendJson } from '../api';
import { h, replaceChildren, type Child } from '../dom';
import { formatNumber, label, t } from '../i18n';
import { announce, forgetAllRefOptions, redraw, type View } from '../state';
import type { ClassificationCatalog, LevelDef, SchemeDef } from '../types';
import { can } from '../session';
import { alertBox, confirmDialog, pageHeading, type PagePart } from './common';
import { loadServiceAccounts } from './service-accounts';

const axes = ['confidentiality', 'integrity', 'availability'] as const;
type Axis = (typeof axes)[number];
const settingKey = 'classification_scheme';

interface Usage {
  records: number;
  fields: Record<string, Record<string, number>>;
}

/** The settings page: the sections the user may view. */
export async function loadSettings(): Promise<View> {
  const [scheme, accounts] = await Promise.all([
    can('settings', 'view') ? loadSchemeSection() : Promise.resolve(null),
    can('service_accounts', 'view') ? loadServiceAccounts() : Promise.resolve(null),
  ]);
  return {
    title: () => t('settingsTitle'),
    render(root) {
      replaceChildren(root, pageHeading(t('settingsTitle')), scheme?.render() ?? null, accounts?.render() ?? null);
    },
  };
}

/** The classification scheme (分類体系) and the switch to another one. */
async function loadSchemeSection(): Promise<PagePart> {
  let catalog = await getJson<ClassificationCatalog>('classification');
  let usage = await getJson<Usage>(`settings/${settingKey}/usage`);
  let target = '';
  let remap: Record<Axis, Record<string, string>> = { confidentiality: {}, integrity: {}, availability: {} };
  let error = '';
  let busy = false;

  const scheme = (key: string): SchemeDef | undefined => catalog.schemes.find((s) => s.key === key);
  const levelLabel = (s: SchemeDef | undefined, axis: Axis, value: string) =>
    label(s?.[axis].find((l: LevelDef) => l.value === value)?.label) || value;

  /** The catalog's proposal from the active scheme to `to`, for the levels in use. */
  function propose(to: string): void {
    target = to;
    const mapping = catalog.mappings.find((m) => m.from === catalog.active && m.to === to);
    for (const axis of axes) {
      const proposal = mapping?.[axis] ?? {};
      remap[axis] = {};
      for (const value of Object.keys(usage.fields[axis] ?? {})) {
        const fallback = scheme(to)?.[axis].some((l) => l.value === value) ? value : (scheme(to)?.[axis][0]?.value ?? value);
        remap[axis][value] = proposal[value] ?? fallback;
      }
    }
  }

  async function apply(): Promise<void> {
    if (busy || !target) return;
    const ok = await confirmDialog(
      t('schemeConfirm', { from: label(scheme(catalog.active)?.label), to: label(scheme(target)?.label), n: formatNumber(usage.records) }),
      t('schemeConfirmOk'),
    );
    if (!ok) return;
    busy = true;
    error = '';
    redraw();
    try {
      const done = await sendJson<{ changed: number }>('PUT', `settings/${settingKey}`, { value: target, remap });
      forgetAllRefOptions();
      catalog = await getJson<ClassificationCatalog>('classification');
      usage = await getJson<Usage>(`settings/${settingKey}/usage`);
      target = '';
      busy = false;
      redraw();
      announce(t('schemeDone', { n: formatNumber(done.changed) }), 'success');
    } catch (err) {
      busy = false;
      error = err instanceof ApiError && err.errors.length ? err.errors.map((e) => e.message).join(' ') : errorMessage(err);
      redraw();
      document.getElementById('settings-error')?.focus();
    }
  }

  function mappingTable(): Child {
    const to = scheme(target);
    if (!to) return null;
    const rows: HTMLElement[] = [];
    for (const axis of axes) {
      // The active scheme's order (highest first); then any value outside it.
      const inUse = usage.fields[axis] ?? {};
      const order = (scheme(catalog.active)?.[axis] ?? []).map((l) => l.value);
      const values = [...order.filter((v) => v in inUse), ...Object.keys(inUse).filter((v) => !order.includes(v))];
      for (const value of values) {
        const count = inUse[value] ?? 0;
        const id = `remap-${axis}-${value}`;
        const select = h(
          'select',
          { id, onchange: (e: Event) => (remap[axis][value] = (e.target as HTMLSelectElement).value) },
          to[axis].map((l) => h('option', { value: l.value }, label(l.label))),
        );
        select.value = remap[axis][value] ?? '';
        rows.push(
          h(
            'tr',
            { 'data-axis': axis, 'data-value': value },
            h('th', { scope: 'row' }, levelLabel(scheme(catalog.active), axis, value)),
            h('td', { class: 'numeric' }, formatNumber(count)),
            h('td', null, h('label', { for: id, class: 'visually-hidden' }, t('schemeTarget')), select),
          ),
        );
      }
    }
    return h(
      'div',
      null,
      h('p', null, t('schemeMappingIntro')),
      h(
        'table',
        { class: 'data-table', id: 'scheme-mapping' },
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            h('th', { scope: 'col' }, t('schemeCurrentLevel')),
            h('th', { scope: 'col', class: 'numeric' }, t('schemeCount')),
            h('th', { scope: 'col' }, t('schemeTarget')),
          ),
        ),
        h('tbody', null, rows),
      ),
      h(
        'div',
        { class: 'button-row' },
        h('button', { type: 'button', class: 'button button-primary', id: 'scheme-apply', disabled: busy, onclick: () => void apply() }, t('schemeApply')),
        h('button', { type: 'button', class: 'button', id: 'scheme-cancel', onclick: () => ((target = ''), redraw()) }, t('cancel')),
      ),
    );
  }

  return {
    render() {
      const active = scheme(catalog.active);
      const others = catalog.schemes.filter((s) => s.key !== catalog.active);
      return h(
        'section',
        { 'aria-labelledby': 'scheme-title' },
        h('h2', { id: 'scheme-title' }, t('schemeTitle')),
        h('p', { id: 'scheme-active' }, t('schemeActive', { scheme: label(active?.label) })),
        h('p', { class: 'help' }, label(active?.description)),
        alertBox('settings-error', error),
        target
          ? mappingTable()
          : h(
              'div',
              { class: 'button-row' },
              others.map((s) =>
                h(
                  'button',
                  { type: 'button', class: 'button', id: `scheme-to-${s.key}`, onclick: () => (propose(s.key), redraw()) },
                  t('schemeSwitchTo', { scheme: label(s.label) }),
                ),
              ),
            ),
      );
    },
  };
}
