// ダッシュボード (#/): record counts per register, policy catalog totals, and a bar chart of
// controls per measure with the same figures as a table.

import { getJson } from '../api';
import { h, replaceChildren } from '../dom';
import { formatNumber, label, t } from '../i18n';
import type { View } from '../state';
import type { DashboardAnswer } from '../types';
import { pageHeading } from './common';

export async function loadDashboard(): Promise<View> {
  const [data, chart] = await Promise.all([
    getJson<DashboardAnswer>('dashboard'),
    import('../chart').catch(() => null),
  ]);
  let dispose: (() => void) | null = null;

  return {
    title: () => t('dashboard'),
    render(root) {
      dispose?.();
      dispose = null;
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
        h('section', { 'aria-labelledby': 'registers-heading' }, h('h2', { id: 'registers-heading' }, t('registersHeading')), registers),
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
    },
  };
}
