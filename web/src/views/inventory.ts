// 情報資産の棚卸 (#/inventory?fiscal_year=YYYY, register `inventory_confirmations: view`): the
// year's campaign, progress by bureau (chart and table), every section with its manager, asset
// count and state, the overdue list, and, for a section's own 情報セキュリティ管理者, the form
// that records the confirmation (the server decides who may confirm: `can_confirm`).

import { ApiError, errorMessage, getJson, sendJson } from '../api';
import { h, replaceChildren, type Child } from '../dom';
import { formatDate, formatNumber, label, t } from '../i18n';
import { campaignsRegisterKey, confirmationsRegisterKey } from '../modules';
import { can } from '../session';
import { announce, findRegister, redraw, type View } from '../state';
import type { InventoryProgress, InventorySection, InventoryState } from '../types';
import { alertBox, pageHeading } from './common';


const stateLabel = (s: InventoryState) =>
  s === 'confirmed' ? t('inventoryConfirmed') : s === 'overdue' ? t('inventoryOverdue') : t('inventoryPending');

/** Confirmed, pending, overdue: the colours of the progress chart (named in its legend). */
export const inventoryColors = ['#197a4b', '#b4b4b4', '#ec0000'];

export function inventoryChartData(p: InventoryProgress): { categories: string[]; stacks: { name: string; values: number[] }[] } {
  return {
    categories: p.bureaus.map((b) => b.name || t('unset')),
    stacks: [
      { name: t('inventoryConfirmed'), values: p.bureaus.map((b) => b.confirmed) },
      { name: t('inventoryPending'), values: p.bureaus.map((b) => b.pending) },
      { name: t('inventoryOverdue'), values: p.bureaus.map((b) => b.overdue) },
    ],
  };
}

const percent = (done: number, all: number) => (all ? `${Math.floor((done * 100) / all)}%` : '—');

export async function loadInventory(query: URLSearchParams): Promise<View> {
  const year = query.get('fiscal_year');
  const params = year ? new URLSearchParams({ fiscal_year: year }) : undefined;
  const [progress, chart] = await Promise.all([
    getJson<InventoryProgress>('inventory/progress', params),
    import('../chart').catch(() => null),
  ]);
  let data = progress;
  let confirming: InventorySection | null = null;
  let result = 'no_change';
  let comment = '';
  let error = '';
  let busy = false;
  let dispose: (() => void) | null = null;

  const assetsHref = (s: InventorySection) => `#/r/assets?${new URLSearchParams({ section: String(s.id) })}`;

  async function submit(): Promise<void> {
    const s = confirming;
    if (busy || !s || !data.campaign) return;
    busy = true;
    error = '';
    redraw();
    try {
      await sendJson('POST', findRegister(confirmationsRegisterKey)!.path, {
        campaign: data.campaign.id,
        section: s.id,
        result,
        ...(comment.trim() ? { comment: comment.trim() } : {}),
      });
      data = await getJson<InventoryProgress>('inventory/progress', new URLSearchParams({ fiscal_year: String(data.campaign.fiscal_year) }));
      confirming = null;
      comment = '';
      busy = false;
      redraw();
      announce(t('inventoryDone', { section: s.name }), 'success');
    } catch (err) {
      busy = false;
      error = err instanceof ApiError && err.errors.length ? err.errors.map((e) => e.message).join(' ') : errorMessage(err);
      redraw();
      document.getElementById('inventory-error')?.focus();
    }
  }

  function confirmForm(s: InventorySection): Child {
    const reg = findRegister(confirmationsRegisterKey);
    const options = reg?.fields.find((f) => f.name === 'result')?.options ?? [];
    return h(
      'section',
      { class: 'notice', id: 'inventory-form', 'aria-labelledby': 'inventory-form-title' },
      h('h3', { id: 'inventory-form-title', tabindex: -1 }, t('inventoryFormTitle', { section: s.name })),
      h('p', null, t('inventoryFormIntro', { n: formatNumber(s.assets) }), ' ', h('a', { href: assetsHref(s) }, t('inventoryOpenAssets'))),
      alertBox('inventory-error', error),
      h(
        'fieldset',
        { class: 'field' },
        h('legend', null, t('inventoryResult')),
        options.map((o) =>
          h(
            'label',
            { class: 'radio' },
            h('input', {
              type: 'radio',
              name: 'inventory-result',
              value: o.value,
              id: `inventory-result-${o.value}`,
              checked: result === o.value,
              onchange: () => (result = o.value),
            }),
            ' ',
            label(o.label),
          ),
        ),
      ),
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'inventory-comment' }, t('inventoryComment')),
        (() => {
          const area = h('textarea', { id: 'inventory-comment', rows: 3, maxlength: 2000, oninput: (e: Event) => (comment = (e.target as HTMLTextAreaElement).value) });
          area.value = comment;
          return area;
        })(),
      ),
      h(
        'div',
        { class: 'button-row' },
        h('button', { type: 'button', class: 'button button-primary', id: 'inventory-submit', disabled: busy, onclick: () => void submit() }, t('inventorySubmit')),
        h('button', { type: 'button', class: 'button', id: 'inventory-cancel', onclick: () => ((confirming = null), (error = ''), redraw()) }, t('cancel')),
      ),
    );
  }

  function bureauTable(): Child {
    return h(
      'table',
      { class: 'data-table', id: 'inventory-bureaus' },
      h('caption', null, t('inventoryByBureau')),
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          h('th', { scope: 'col' }, t('inventoryBureau')),
          [t('inventorySections'), t('inventoryConfirmed'), t('inventoryPending'), t('inventoryOverdue'), t('inventoryAssets'), t('inventoryRate')].map((c) =>
            h('th', { scope: 'col', class: 'numeric' }, c),
          ),
        ),
      ),
      h(
        'tbody',
        null,
        data.bureaus.map((b) =>
          h(
            'tr',
            { 'data-bureau': String(b.id ?? '') },
            h('th', { scope: 'row' }, b.name || t('unset')),
            [b.sections, b.confirmed, b.pending, b.overdue, b.assets].map((n) => h('td', { class: 'numeric' }, formatNumber(n))),
            h('td', { class: 'numeric' }, percent(b.confirmed, b.sections)),
          ),
        ),
      ),
    );
  }

  function sectionTable(): Child {
    return h(
      'table',
      { class: 'data-table', id: 'inventory-sections', 'aria-labelledby': 'inventory-sections-title' },
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          h('th', { scope: 'col' }, t('inventoryBureau')),
          h('th', { scope: 'col' }, t('inventorySection')),
          h('th', { scope: 'col' }, t('inventoryManagers')),
          h('th', { scope: 'col', class: 'numeric' }, t('inventoryAssets')),
          h('th', { scope: 'col', class: 'numeric' }, t('inventoryChanged')),
          h('th', { scope: 'col' }, t('inventoryState')),
          h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, t('inventoryConfirm'))),
        ),
      ),
      h(
        'tbody',
        null,
        data.sections.map((s) =>
          h(
            'tr',
            { 'data-section': s.code, 'data-state': s.state },
            h('td', null, s.bureau_name),
            h('th', { scope: 'row' }, s.name),
            h('td', null, s.managers.length ? s.managers.join('、') : t('inventoryNoManager')),
            h('td', { class: 'numeric' }, h('a', { href: assetsHref(s) }, formatNumber(s.assets))),
            h('td', { class: 'numeric' }, formatNumber(s.changed)),
            h(
              'td',
              null,
              h('span', { class: `badge badge-${s.state}` }, stateLabel(s.state)),
              s.confirmation
                ? h(
                    'span',
                    { class: 'help' },
                    ' ',
                    t('inventoryConfirmedOn', { date: formatDate(s.confirmation.confirmed_on), name: s.confirmation.confirmed_by_name }),
                  )
                : null,
            ),
            h(
              'td',
              null,
              s.can_confirm
                ? h(
                    'button',
                    {
                      type: 'button',
                      class: 'button button-primary',
                      id: `inventory-confirm-${s.code}`,
                      onclick: () => {
                        confirming = s;
                        error = '';
                        redraw();
                        document.getElementById('inventory-form-title')?.focus();
                      },
                    },
                    t('inventoryConfirm'),
                  )
                : null,
            ),
          ),
        ),
      ),
    );
  }

  function overdueList(): Child {
    const late = data.sections.filter((s) => s.state === 'overdue');
    return h(
      'section',
      { 'aria-labelledby': 'inventory-overdue-title', id: 'inventory-overdue' },
      h('h2', { id: 'inventory-overdue-title' }, t('inventoryOverdueTitle')),
      late.length
        ? h(
            'ul',
            null,
            late.map((s) =>
              h('li', { 'data-section': s.code }, `${s.bureau_name} ${s.name}(${s.managers.join('、') || t('inventoryNoManager')}、${t('inventoryAssets')} ${formatNumber(s.assets)})`),
            ),
          )
        : h('p', null, t('inventoryOverdueNone')),
    );
  }

  function yearPicker(): Child {
    if (data.campaigns.length < 2) return null;
    const select = h(
      'select',
      {
        id: 'inventory-year',
        onchange: (e: Event) => {
          location.hash = `#/inventory?${new URLSearchParams({ fiscal_year: (e.target as HTMLSelectElement).value })}`;
        },
      },
      data.campaigns.map((c) => h('option', { value: String(c.fiscal_year) }, c.title)),
    );
    select.value = String(data.campaign?.fiscal_year ?? '');
    return h('div', { class: 'field' }, h('label', { for: 'inventory-year' }, t('inventoryYear')), select);
  }

  return {
    title: () => t('inventoryTitle'),
    render(root) {
      dispose?.();
      dispose = null;
      const c = data.campaign;
      const canCreate = can(campaignsRegisterKey, 'create');
      if (!c) {
        replaceChildren(
          root,
          pageHeading(t('inventoryTitle')),
          h('p', null, t('inventoryIntro')),
          h('p', { class: 'notice', id: 'inventory-none' }, t('inventoryNone')),
          canCreate ? h('p', null, h('a', { href: `#/r/${campaignsRegisterKey}/new`, class: 'button button-primary' }, t('inventoryCreate'))) : null,
        );
        return;
      }
      const chartBox = h('div', { class: 'chart', id: 'inventory-chart', role: 'img', 'aria-label': t('inventoryChartAlt') });
      replaceChildren(
        root,
        pageHeading(t('inventoryTitle')),
        h('p', null, t('inventoryIntro')),
        yearPicker(),
        h(
          'section',
          { 'aria-labelledby': 'inventory-campaign' },
          h('h2', { id: 'inventory-campaign' }, h('a', { href: `#/r/${campaignsRegisterKey}/${c.id}` }, c.title)),
          h('p', null, t('inventoryPeriod', { start: formatDate(c.start_date), due: formatDate(c.due_date) })),
          c.note ? h('p', { class: 'help' }, c.note) : null,
          h('p', { id: 'inventory-summary' }, t('inventorySummary', {
            sections: formatNumber(data.totals.sections),
            confirmed: formatNumber(data.totals.confirmed),
            pending: formatNumber(data.totals.pending),
            overdue: formatNumber(data.totals.overdue),
            assets: formatNumber(data.totals.assets),
          })),
          chart && data.bureaus.length ? chartBox : null,
          bureauTable(),
        ),
        confirming ? confirmForm(confirming) : null,
        h('section', { 'aria-labelledby': 'inventory-sections-title' }, h('h2', { id: 'inventory-sections-title' }, t('inventoryBySection')), sectionTable()),
        overdueList(),
      );
      if (chart && data.bureaus.length) {
        const d = inventoryChartData(data);
        dispose = chart.drawStackedBarChart(chartBox, d.categories, d.stacks, inventoryColors);
      }
    },
    destroy() {
      dispose?.();
      dispose = null;
    },
  };
}
