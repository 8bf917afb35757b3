// ダッシュボード (#/): the policy documents the user has to acknowledge, record counts per register, the controls' status by section (for those who
// may view the evidence), the assets by zone and confidentiality, the inventory's progress,
// policy catalog totals, and a bar chart of controls per measure with the same figures as a table.

import { getJson } from '../api';
import { h, replaceChildren, type Child } from '../dom';
import { formatNumber, label, t } from '../i18n';
import { assetsRegisterKey, confirmationsRegisterKey, evidenceRegisterKey } from '../modules';
import { can } from '../session';
import { findRegister, loadSettings, validOptions, type View } from '../state';
import type { ComplianceAnswer, CountsAnswer, DashboardAnswer, InventoryProgress, Settings } from '../types';
import { pageHeading } from './common';
import { loadPendingDocuments, loadReviewsDue, pendingDocumentsPart, reviewsDuePart } from './documents';
import { complianceChartData, complianceColors, complianceSummary } from './compliance';
import { inventoryChartData, inventoryColors } from './inventory';

/** The asset counts by confidentiality (stacks) and zone (bars), when the user may see assets. */
async function loadAssetCounts(): Promise<{ counts: CountsAnswer; settings: Settings } | null> {
  const reg = findRegister(assetsRegisterKey);
  if (!reg || !can(reg.key, 'view')) return null;
  const [counts, settings] = await Promise.all([
    getJson<CountsAnswer>(`${reg.path}/counts`, new URLSearchParams({ by: 'zone,confidentiality' })),
    loadSettings(),
  ]);
  return { counts, settings };
}

/** This fiscal year's inventory progress, when the user may see it and a campaign exists. */
async function loadInventoryProgress(): Promise<InventoryProgress | null> {
  if (!can(confirmationsRegisterKey, 'view')) return null;
  const p = await getJson<InventoryProgress>('inventory/progress');
  return p.campaign ? p : null;
}

/** Every control's status, when the user may see the evidence. */
async function loadComplianceStatus(): Promise<ComplianceAnswer | null> {
  return can(evidenceRegisterKey, 'view') ? getJson<ComplianceAnswer>('compliance') : null;
}

export async function loadDashboard(): Promise<View> {
  const [data, chart, assets, inventory, compliance, pendingDocs, reviewsDue] = await Promise.all([
    getJson<DashboardAnswer>('dashboard'),
    import('../chart').catch(() => null),
    loadAssetCounts().catch(() => null),
    loadInventoryProgress().catch(() => null),
    loadComplianceStatus().catch(() => null),
    loadPendingDocuments().catch(() => null),
    loadReviewsDue().catch(() => null),
  ]);
  // 確認が必要な規程: for every signed-in user, above the figures.
  const pendingPart = pendingDocumentsPart(pendingDocs);
  let dispose: (() => void) | null = null;
  let disposeAssets: (() => void) | null = null;
  let disposeInventory: (() => void) | null = null;
  let disposeCompliance: (() => void) | null = null;

  /** 管理策の実施状況: the totals and the status by section (chart); the page has the table. */
  function complianceSection(): { section: Child; draw: () => void } {
    if (!compliance) return { section: null, draw: () => {} };
    const box = h('div', { class: 'chart', id: 'compliance-chart', role: 'img', 'aria-label': t('complianceDashboardChartAlt') });
    const section = h(
      'section',
      { 'aria-labelledby': 'compliance-heading', id: 'compliance-dashboard' },
      h('h2', { id: 'compliance-heading' }, t('complianceTitle')),
      h('p', { id: 'compliance-summary' }, complianceSummary(compliance)),
      chart && compliance.sections.length ? box : null,
      h('p', null, h('a', { href: '#/compliance', id: 'compliance-open' }, t('complianceOpen'))),
    );
    const draw = () => {
      if (!chart || !compliance.sections.length) return;
      const d = complianceChartData(compliance);
      disposeCompliance = chart.drawStackedBarChart(box, d.categories, d.stacks, complianceColors);
    };
    return { section, draw };
  }

  /** 情報資産の棚卸: progress by bureau (chart and table) and the number overdue. */
  function inventorySection(): { section: Child; draw: () => void } {
    if (!inventory?.campaign) return { section: null, draw: () => {} };
    const box = h('div', { class: 'chart', id: 'inventory-chart', role: 'img', 'aria-label': t('inventoryChartAlt') });
    const tot = inventory.totals;
    const section = h(
      'section',
      { 'aria-labelledby': 'inventory-heading', id: 'inventory-dashboard' },
      h('h2', { id: 'inventory-heading' }, t('inventoryDashboard', { title: inventory.campaign.title })),
      h('p', { id: 'inventory-summary' }, t('inventorySummary', {
        sections: formatNumber(tot.sections),
        confirmed: formatNumber(tot.confirmed),
        pending: formatNumber(tot.pending),
        overdue: formatNumber(tot.overdue),
        assets: formatNumber(tot.assets),
      })),
      chart && inventory.bureaus.length ? box : null,
      h('p', null, h('a', { href: '#/inventory', id: 'inventory-open' }, t('inventoryOpen'))),
    );
    const draw = () => {
      if (!chart || !inventory.bureaus.length) return;
      const d = inventoryChartData(inventory);
      disposeInventory = chart.drawStackedBarChart(box, d.categories, d.stacks, inventoryColors);
    };
    return { section, draw };
  }

  /** 情報資産の分類 × 系統: a stacked bar chart and the same figures as a table. */
  function assetSection(): { section: Child; draw: () => void } {
    const reg = findRegister(assetsRegisterKey);
    const zoneField = reg?.fields.find((f) => f.name === 'zone');
    const levelField = reg?.fields.find((f) => f.name === 'confidentiality');
    if (!assets || !zoneField || !levelField) return { section: null, draw: () => {} };
    const zones = [...(zoneField.options ?? []).map((o) => ({ value: o.value as string | null, label: label(o.label) })), { value: null, label: t('unset') }];
    const levels = validOptions(levelField, assets.settings);
    const count = (zone: string | null, level: string) =>
      assets.counts.cells.find((c) => c.values[0] === zone && c.values[1] === level)?.count ?? 0;
    const shownZones = zones.filter((z) => levels.some((l) => count(z.value, l.value) > 0));
    const box = h('div', { class: 'chart', id: 'assets-chart', role: 'img', 'aria-label': t('assetsChartAlt') });
    const table = h(
      'table',
      { class: 'data-table', id: 'assets-table' },
      h('caption', null, t('assetsTableCaption', { total: formatNumber(assets.counts.total) })),
      h(
        'thead',
        null,
        h('tr', null, h('th', { scope: 'col' }, label(zoneField.label)), levels.map((l) => h('th', { scope: 'col', class: 'numeric' }, label(l.label)))),
      ),
      h(
        'tbody',
        null,
        shownZones.map((z) =>
          h(
            'tr',
            { 'data-zone': z.value ?? '' },
            h('th', { scope: 'row' }, z.label),
            levels.map((l) => {
              const n = count(z.value, l.value);
              const q = new URLSearchParams({ confidentiality: l.value, ...(z.value ? { zone: z.value } : {}) });
              return h('td', { class: 'numeric' }, n ? h('a', { href: `#/r/${assetsRegisterKey}?${q}` }, formatNumber(n)) : '0');
            }),
          ),
        ),
      ),
    );
    const section = h(
      'section',
      { 'aria-labelledby': 'assets-heading' },
      h('h2', { id: 'assets-heading' }, t('assetsHeading')),
      chart && shownZones.length ? box : null,
      table,
    );
    const draw = () => {
      if (!chart || !shownZones.length) return;
      disposeAssets = chart.drawStackedBarChart(
        box,
        shownZones.map((z) => z.label),
        levels.map((l) => ({ name: label(l.label), values: shownZones.map((z) => count(z.value, l.value)) })),
      );
    };
    return { section, draw };
  }

  return {
    title: () => t('dashboard'),
    render(root) {
      dispose?.();
      dispose = null;
      disposeAssets?.();
      disposeAssets = null;
      disposeInventory?.();
      disposeInventory = null;
      disposeCompliance?.();
      disposeCompliance = null;
      const compliancePart = complianceSection();
      const assetPart = assetSection();
      const inventoryPart = inventorySection();
      const registers = data.registers.length
        ? h(
            'ul',
            { class: 'cards', id: 'register-counts' },
            data.registers.map((r) =>
              h(
                'li',
                { class: 'card', 'data-register': r.key },
                h('a', { href: `#/r/${encodeURIComponent(r.key)}`, class: 'card-title' }, label(r.label)),
                h('p', { class: 'card-count' }, t('countUnit', { n: formatNumber(r.count) })),
              ),
            ),
          )
        : h('p', null, t('noRegisters'));

      const p = data.policy;
      const totals = h(
        'dl',
        { class: 'totals', id: 'policy-totals' },
        h('div', null, h('dt', null, t('sectionsCount')), h('dd', null, formatNumber(p.sections))),
        h('div', null, h('dt', null, t('measuresCount')), h('dd', null, formatNumber(p.measures))),
        h('div', null, h('dt', null, t('controlsCount')), h('dd', null, formatNumber(p.controls))),
      );

      const rows = p.controls_by_section;
      const chartBox = h('div', { class: 'chart', id: 'controls-chart', role: 'img', 'aria-label': t('controlsChartAlt') });
      const table = h(
        'table',
        { class: 'data-table', id: 'controls-table' },
        h('caption', null, t('controlsTableCaption')),
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            h('th', { scope: 'col' }, t('measureColumn')),
            h('th', { scope: 'col' }, t('measureTitleColumn')),
            h('th', { scope: 'col', class: 'numeric' }, t('controlsColumn')),
          ),
        ),
        h(
          'tbody',
          null,
          rows.map((r) =>
            h(
              'tr',
              null,
              h('th', { scope: 'row' }, r.section),
              h('td', null, label(r.title)),
              h('td', { class: 'numeric' }, formatNumber(r.count)),
            ),
          ),
        ),
      );

      replaceChildren(
        root,
        pageHeading(t('dashboard')),
        pendingPart.banner(),
        pendingPart.render(),
        reviewsDuePart(reviewsDue),
        h('section', { 'aria-labelledby': 'registers-heading' }, h('h2', { id: 'registers-heading' }, t('registersHeading')), registers),
        compliancePart.section,
        assetPart.section,
        inventoryPart.section,
        h(
          'section',
          { 'aria-labelledby': 'policy-heading' },
          h('h2', { id: 'policy-heading' }, t('policyHeading')),
          totals,
          h('p', null, h('a', { href: '#/policy' }, t('openPolicy'))),
          h('h3', { id: 'controls-chart-heading' }, t('controlsChartHeading')),
          chart && rows.length ? chartBox : null,
          table,
        ),
      );
      compliancePart.draw();
      assetPart.draw();
      inventoryPart.draw();
      if (chart && rows.length) {
        dispose = chart.drawBarChart(
          chartBox,
          rows.map((r) => ({ label: `${r.section} ${label(r.title)}`, value: r.count })),
        );
      }
    },
    destroy() {
      dispose?.();
      dispose = null;
      disposeAssets?.();
      disposeAssets = null;
      disposeInventory?.();
      disposeInventory = null;
      disposeCompliance?.();
      disposeCompliance = null;
    },
  };
}
