// 「この資産の取扱制限」 on an asset's record page (register `assets`): the handling rules
// (取扱制限) that follow from the asset's confidentiality, integrity and availability levels
// under the classification scheme the body uses, grouped by category, each with the level it
// comes from. The rules are data (catalog/classification.toml, GET /api/v1/classification).

import { h, type Child } from '../dom';
import { label, t } from '../i18n';
import type { ClassificationCatalog, LevelDef, RegisterRecord } from '../types';

const axes = ['confidentiality', 'integrity', 'availability'] as const;

export function handlingRules(catalog: ClassificationCatalog, record: RegisterRecord | null): Child {
  if (!record) return null;
  const scheme = catalog.schemes.find((s) => s.key === catalog.active);
  if (!scheme) return null;
  const levels: LevelDef[] = [];
  const unknown: string[] = [];
  for (const axis of axes) {
    const value = record[axis];
    if (typeof value !== 'string') continue;
    const level = scheme[axis].find((l) => l.value === value);
    if (level) levels.push(level);
    else unknown.push(value);
  }
  const rows: HTMLElement[] = [];
  for (const category of catalog.categories) {
    for (const level of levels) {
      for (const rule of level.handling.filter((r) => r.category === category.key)) {
        rows.push(
          h(
            'tr',
            { 'data-category': category.key },
            h('th', { scope: 'row' }, label(category.label)),
            h('td', null, label(rule.text)),
            h('td', null, label(level.label)),
          ),
        );
      }
    }
  }
  return h(
    'section',
    { class: 'record-section', id: 'handling-rules', 'aria-labelledby': 'handling-title' },
    h('h2', { id: 'handling-title' }, t('handlingTitle')),
    h(
      'p',
      { class: 'help' },
      t('handlingIntro', { scheme: label(scheme.label), levels: levels.map((l) => label(l.label)).join('・') }),
    ),
    unknown.map((v) => h('p', { class: 'notice notice-warning' }, t('handlingUnknownLevel', { level: v }))),
    rows.length === 0
      ? h('p', null, t('handlingNone'))
      : h(
          'table',
          { class: 'data-table' },
          h(
            'thead',
            null,
            h(
              'tr',
              null,
              h('th', { scope: 'col' }, t('handlingCategory')),
              h('th', { scope: 'col' }, t('handlingRule')),
              h('th', { scope: 'col' }, t('handlingSource')),
            ),
          ),
          h('tbody', null, rows),
        ),
  );
}
