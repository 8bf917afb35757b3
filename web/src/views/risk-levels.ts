// 設定 → リスクの水準の名称としきい値 (resource `settings`; PUT /api/v1/risks/levels): the body
// names the risk levels as its 対策基準 does and sets, per matrix, the lowest score of each
// level. Saving derives every risk's level again in one transaction (each change in the risk's
// history, the setting change on the audit trail); 出荷時の値に戻す returns to
// catalog/risk-matrix.toml's. Each threshold shows the scores (likelihood × impact) it catches,
// so that an officer sees a level left empty before the server says so.

import { ApiError, errorMessage, getJson, problemErrorMessage, sendJson } from '../api';
import { h, type Child } from '../dom';
import { formatNumber, label, t } from '../i18n';
import { announce, forgetAllRefOptions, redraw, setMeta } from '../state';
import type { Meta, RiskMatrixCatalog, RiskMatrixDef } from '../types';
import { can } from '../session';
import { alertBox, confirmDialog, type PagePart } from './common';
import { levelBadge } from './risks';

interface Draft {
  names: Record<string, { ja: string; en: string }>;
  thresholds: Record<string, Record<string, string>>;
}

/** The draft the catalog's present values give. */
function draftOf(c: RiskMatrixCatalog): Draft {
  const names: Draft['names'] = {};
  for (const l of c.levels) names[l.key] = { ja: l.label.ja, en: l.label.en };
  const thresholds: Draft['thresholds'] = {};
  for (const m of c.matrices) {
    thresholds[m.key] = {};
    for (const th of m.thresholds.slice(1)) thresholds[m.key]![th.level] = String(th.min_score);
  }
  return { names, thresholds };
}

/** The distinct scores of a matrix (likelihood × impact), lowest first. */
function scores(m: RiskMatrixDef): number[] {
  return [...new Set(m.likelihood.flatMap((l) => m.impact.map((i) => l.score * i.score)))].sort((a, b) => a - b);
}

/** The element id of a member the server names ("names.high.ja" -> "levels-names-high-ja"). */
const idOf = (member: string) => `levels-${member.replace(/[^a-z0-9_]+/gi, '-')}`;

export async function loadRiskLevels(): Promise<PagePart> {
  let catalog = await getJson<RiskMatrixCatalog>('risks/matrix');
  let draft = draftOf(catalog);
  let error = '';
  let fieldErrors: Record<string, string> = {};
  let busy = false;
  const editable = can('settings', 'update');

  async function send(body: unknown, question: string): Promise<void> {
    if (busy || !(await confirmDialog(question, t('levelsConfirmOk')))) return;
    busy = true;
    error = '';
    fieldErrors = {};
    redraw();
    try {
      const done = await sendJson<{ changed: number }>('PUT', 'risks/levels', body);
      // The lists and forms show the new names from the metadata.
      const [fresh, meta] = await Promise.all([getJson<RiskMatrixCatalog>('risks/matrix'), getJson<Meta>('meta')]);
      setMeta(meta);
      forgetAllRefOptions();
      catalog = fresh;
      draft = draftOf(catalog);
      busy = false;
      redraw();
      announce(t('levelsDone', { n: formatNumber(done.changed) }), 'success');
    } catch (err) {
      busy = false;
      if (err instanceof ApiError && err.errors.length) {
        error = t('levelsInvalid');
        for (const e of err.errors) fieldErrors[e.field ?? ''] = problemErrorMessage(e);
      } else {
        error = errorMessage(err);
      }
      redraw();
      document.getElementById('levels-error')?.focus();
    }
  }

  function save(): Promise<void> {
    const thresholds: Record<string, Record<string, number | string>> = {};
    for (const [m, levels] of Object.entries(draft.thresholds)) {
      thresholds[m] = {};
      for (const [level, v] of Object.entries(levels)) thresholds[m]![level] = /^\d+$/.test(v.trim()) ? Number(v.trim()) : v;
    }
    return send({ names: draft.names, thresholds }, t('levelsConfirm'));
  }

  /** A text or number input bound to the draft, with the server's error for `member`. */
  function input(member: string, value: string, set: (v: string) => void, extra: Record<string, unknown>, labelText: string): Child {
    const id = idOf(member);
    const err = fieldErrors[member];
    const el = h('input', {
      id,
      type: 'text',
      'aria-invalid': err ? 'true' : null,
      'aria-describedby': err ? `${id}-error` : null,
      disabled: !editable || busy,
      oninput: (e: Event) => set((e.target as HTMLInputElement).value),
      ...extra,
    });
    el.value = value;
    return h(
      'div',
      { class: `field${err ? ' has-error' : ''}` },
      h('label', { for: id, class: 'visually-hidden' }, labelText),
      err ? h('p', { class: 'field-error', id: `${id}-error` }, err) : null,
      el,
    );
  }

  /** The members that have an input on this page. */
  function inputs(): Set<string> {
    const out = new Set<string>();
    for (const l of catalog.levels) out.add(`names.${l.key}.ja`).add(`names.${l.key}.en`);
    for (const m of catalog.matrices) for (const th of m.thresholds.slice(1)) out.add(`thresholds.${m.key}.${th.level}`);
    return out;
  }

  function namesTable(): HTMLElement {
    return h(
      'table',
      { class: 'data-table', id: 'levels-names' },
      h('caption', null, t('levelsNamesCaption')),
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('levelsNow')), h('th', { scope: 'col' }, t('levelsNameJa')), h('th', { scope: 'col' }, t('levelsNameEn')))),
      h(
        'tbody',
        null,
        [...catalog.levels].reverse().map((l) =>
          h(
            'tr',
            { 'data-level': l.key },
            h('th', { scope: 'row' }, levelBadge(catalog.levels, l.key)),
            h('td', null, input(`names.${l.key}.ja`, draft.names[l.key]?.ja ?? '', (v) => (draft.names[l.key]!.ja = v), { maxlength: 20, required: true }, `${label(l.label)}: ${t('levelsNameJa')}`)),
            h('td', null, input(`names.${l.key}.en`, draft.names[l.key]?.en ?? '', (v) => (draft.names[l.key]!.en = v), { maxlength: 40, lang: 'en' }, `${label(l.label)}: ${t('levelsNameEn')}`)),
          ),
        ),
      ),
    );
  }

  /** The scores each level of `m` catches under the draft's thresholds. */
  function caughtScores(m: RiskMatrixDef): Map<string, number[]> {
    const all = scores(m);
    const levels = m.thresholds.map((th) => th.level);
    const mins = levels.map((level, i) => (i === 0 ? 1 : Number(draft.thresholds[m.key]?.[level] ?? NaN)));
    return new Map(levels.map((level, i) => [level, all.filter((s) => s >= mins[i]! && (i + 1 >= mins.length || s < mins[i + 1]!))]));
  }

  /** The scores cell of a level: the scores it catches, or that it catches none. */
  function scoresCell(hits: number[]): HTMLElement {
    return h('td', { class: hits.length ? 'levels-scores' : 'levels-scores field-error', 'data-scores': hits.join(',') }, hits.length ? hits.join('・') : t('levelsNoScore'));
  }

  /** Updates the scores column in place while a threshold is typed (a redraw would take the focus). */
  function refreshScores(m: RiskMatrixDef): void {
    for (const [level, hits] of caughtScores(m)) {
      const row = document.querySelector(`#levels-thresholds-${m.key} tr[data-level="${level}"]`);
      row?.querySelector('td.levels-scores')?.replaceWith(scoresCell(hits));
    }
  }

  function thresholdTable(m: RiskMatrixDef): HTMLElement {
    const all = scores(m);
    const levels = m.thresholds.map((th) => th.level);
    const caught = caughtScores(m);
    return h(
      'table',
      { class: 'data-table', id: `levels-thresholds-${m.key}`, 'data-matrix': m.key },
      h('caption', null, t('levelsThresholdCaption', { matrix: label(m.label), max: String(all[all.length - 1] ?? 0) }), m.key === catalog.active ? ` ${t('levelsInUse')}` : ''),
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('levelsLevel')), h('th', { scope: 'col' }, t('levelsMinScore')), h('th', { scope: 'col' }, t('levelsScores')))),
      h(
        'tbody',
        null,
        levels
          .map((level, i) => {
            const name = draft.names[level]?.ja || level;
            return h(
              'tr',
              { 'data-level': level },
              h('th', { scope: 'row' }, levelBadge(catalog.levels, level)),
              h(
                'td',
                null,
                i === 0
                  ? t('levelsLowestFixed')
                  : input(
                      `thresholds.${m.key}.${level}`,
                      draft.thresholds[m.key]?.[level] ?? '',
                      (v) => {
                        draft.thresholds[m.key]![level] = v;
                        refreshScores(m);
                      },
                      { type: 'number', inputmode: 'numeric', min: 2, max: all[all.length - 1] ?? 2, step: 1 },
                      `${m.key} ${name}: ${t('levelsMinScore')}`,
                    ),
              ),
              scoresCell(caught.get(level) ?? []),
            );
          })
          .reverse(),
      ),
    );
  }

  return {
    render() {
      return h(
        'section',
        { 'aria-labelledby': 'levels-title', id: 'levels-section' },
        h('h2', { id: 'levels-title' }, t('levelsTitle')),
        h('p', { class: 'help' }, t('levelsIntro')),
        h('p', { id: 'levels-source' }, catalog.customized ? t('levelsCustomized') : t('levelsShipped')),
        // Errors of members without an input of their own are listed in the notice.
        alertBox('levels-error', error, ...Object.entries(fieldErrors).filter(([f]) => !inputs().has(f)).map(([, m]) => h('p', null, m))),
        namesTable(),
        // The matrix in use first.
        [...catalog.matrices].sort((a, b) => Number(b.key === catalog.active) - Number(a.key === catalog.active)).map(thresholdTable),
        editable
          ? h(
              'div',
              { class: 'button-row' },
              h('button', { type: 'button', class: 'button button-primary', id: 'levels-save', disabled: busy, onclick: () => void save() }, t('levelsSave')),
              catalog.customized
                ? h('button', { type: 'button', class: 'button', id: 'levels-reset', disabled: busy, onclick: () => void send({ reset: true }, t('levelsResetConfirm')) }, t('levelsReset'))
                : null,
            )
          : null,
      );
    },
  };
}
