// 脅威・リスク (基本方針 §3, §8; register `risks: view` unless noted):
//
// - The module's page (#/m/risks): links to the heat map and the proposals (with their count),
//   every assessment round with its report, and the module's registers.
// - The heat map (#/risks/heatmap?section=ID): two grids, before treatment (likelihood ×
//   impact) and residual, drawn with ECharts (heatmap.ts, loaded on demand) and repeated as
//   tables whose counts link to the risk list filtered by that cell. The grid and the level
//   colours come from GET /risks/matrix, the counts from the generic counts endpoint.
// - The proposals (#/risks/proposals?asset=ID): the threats Mamori proposes per asset.
//   「リスクとして登録」 opens the generic risk form pre-filled through its query
//   (register-record.ts); 「見送る」 records a dismissal with its reason, inline.
// - A round's report (#/risks/rounds/{id}/report, `risk_rounds: view`): what changed since the
//   previous closed round, with the XLSX download.
// - The panel of a risk's record page: its place on the matrix, its acceptance and who must
//   decide it, and its further assets (`risk_assets`); a round's record page links to its report.
//
// A level's colour is always shown with its name (legend, badges, table cells).

import { ApiError, apiUrl, errorMessage, getJson, problemErrorMessage, sendJson } from '../api';
import { h, replaceChildren, srOnly, type Child } from '../dom';
import { displayValue } from '../fields';
import { formatDate, formatNumber, label, t } from '../i18n';
import {
  assetsRegisterKey,
  moduleOfPage,
  riskAssetsRegisterKey,
  riskDismissalsRegisterKey,
  riskRoundsRegisterKey,
  risksRegisterKey,
  viewableRegisters,
} from '../modules';
import { can } from '../session';
import { announce, findRegister, redraw, refOptions, type RefOption, type View } from '../state';
import type {
  CountsAnswer,
  ListAnswer,
  ProblemError,
  RegisterDef,
  RegisterRecord,
  RiskLevelDef,
  RiskMatrixCatalog,
  RiskMatrixDef,
  RiskProposal,
  RiskProposalsAnswer,
  RiskScaleStep,
  RoundReport,
  RoundRisk,
} from '../types';
import { alertBox, pageHeading } from './common';

// ---- Shared: the matrix, levels and their badges ----------------------------------------------

const matrixPath = 'risks/matrix';

function loadMatrix(): Promise<RiskMatrixCatalog> {
  return getJson<RiskMatrixCatalog>(matrixPath);
}

/** The matrix in use (the setting `risk_matrix`), else the catalog's default. */
function activeMatrix(c: RiskMatrixCatalog): RiskMatrixDef | undefined {
  return c.matrices.find((m) => m.key === c.active) ?? c.matrices.find((m) => m.key === c.default);
}

/** The levels matrix `m` uses, lowest first. */
function matrixLevels(c: RiskMatrixCatalog, m: RiskMatrixDef | undefined): RiskLevelDef[] {
  return c.levels.filter((l) => m?.thresholds.some((x) => x.level === l.key) ?? true);
}

/** "3 時々起きる": a scale step's score and name, or the stored value when it is not on the scale. */
function stepText(steps: RiskScaleStep[] | undefined, value: unknown): string {
  if (typeof value !== 'string' || value === '') return '';
  const s = steps?.find((x) => x.value === value);
  return s ? `${s.score} ${label(s.label)}` : value;
}

/** A small square of the level's colour, hidden from screen readers (the name follows it). */
function swatch(color: string | undefined): HTMLElement {
  const el = h('span', { class: 'risk-swatch', 'aria-hidden': 'true' });
  // A CSSOM property, not a style attribute: the CSP allows it (the colour comes from the catalog).
  if (color) el.style.backgroundColor = color;
  return el;
}

/** A level's colour and name (or 未評価 when there is none). */
export function levelBadge(levels: RiskLevelDef[], key: unknown, id?: string): HTMLElement {
  const def = levels.find((l) => l.key === key);
  return h(
    'span',
    { class: 'risk-level', id: id ?? null, 'data-level': typeof key === 'string' ? key : '' },
    swatch(def?.color),
    def ? label(def.label) : typeof key === 'string' && key ? key : t('riskNotAssessed'),
  );
}

/** The levels with their colour, name and what the body does at that level. */
function levelLegend(levels: RiskLevelDef[]): HTMLElement {
  return h(
    'section',
    { 'aria-labelledby': 'risk-levels-title', id: 'risk-levels' },
    h('h2', { id: 'risk-levels-title' }, t('heatmapLegend')),
    h(
      'dl',
      { class: 'facts risk-legend' },
      [...levels].reverse().map((l) => h('div', { 'data-level': l.key }, h('dt', null, levelBadge(levels, l.key)), h('dd', null, label(l.meaning)))),
    ),
  );
}

const recordHref = (key: string, id: number) => `#/r/${encodeURIComponent(key)}/${id}`;
const field = (reg: RegisterDef | undefined, name: string) => reg?.fields.find((f) => f.name === name);
const fieldLabel = (reg: RegisterDef | undefined, name: string) => label(field(reg, name)?.label) || name;

/** The server's field errors of a failed change, and its message (Japanese, naming the field). */
function failure(err: unknown): { message: string; errors: ProblemError[] } {
  return { message: errorMessage(err), errors: err instanceof ApiError ? err.errors : [] };
}

// ---- #/m/risks --------------------------------------------------------------------------------

export async function loadRisksModule(): Promise<View> {
  const roundsReg = findRegister(riskRoundsRegisterKey);
  const [proposals, rounds] = await Promise.all([
    getJson<RiskProposalsAnswer>('risks/proposals').catch(() => null),
    roundsReg && can(roundsReg.key, 'view')
      ? getJson<ListAnswer>(roundsReg.path, new URLSearchParams({ sort: '-fiscal_year', limit: '50' }))
          .then((a) => a.items)
          .catch(() => null)
      : Promise.resolve(null),
  ]);
  const title = () => label(moduleOfPage('risks')?.label) || t('risksTitle');

  function roundList(): Child {
    if (!roundsReg || rounds === null) return null;
    const status = field(roundsReg, 'status');
    return h(
      'section',
      { 'aria-labelledby': 'risk-rounds-title', id: 'risk-rounds' },
      h('h2', { id: 'risk-rounds-title' }, t('roundsHeading')),
      rounds.length
        ? h(
            'ul',
            { class: 'link-list' },
            rounds.map((r) =>
              h(
                'li',
                { 'data-round': String(r.id) },
                h('a', { href: recordHref(roundsReg.key, r.id) }, typeof r.title === 'string' ? r.title : `#${r.id}`),
                ' ',
                h('span', { class: `badge badge-round-${String(r.status)}` }, displayValue(status, r.status)),
                ' ',
                h('a', { href: `#/risks/rounds/${r.id}/report`, id: `round-report-${r.id}` }, t('roundReportOpen')),
              ),
            ),
          )
        : h('p', null, t('roundsNone')),
      can(roundsReg.key, 'create') ? h('p', null, h('a', { href: `#/r/${roundsReg.key}/new`, class: 'button' }, t('roundsCreate'))) : null,
    );
  }

  return {
    title,
    render(root) {
      const m = moduleOfPage('risks');
      replaceChildren(
        root,
        pageHeading(title()),
        h('p', null, t('risksIntro')),
        h(
          'section',
          { 'aria-labelledby': 'risk-pages-title' },
          h('h2', { id: 'risk-pages-title' }, t('risksPages')),
          h(
            'ul',
            { class: 'cards', id: 'risk-pages' },
            h(
              'li',
              { class: 'card' },
              h('a', { href: '#/risks/heatmap', class: 'card-title', id: 'risks-heatmap-link' }, t('heatmapTitle')),
              h('p', { class: 'help' }, t('risksHeatmapText')),
            ),
            h(
              'li',
              { class: 'card' },
              h('a', { href: '#/risks/proposals', class: 'card-title', id: 'risks-proposals-link' }, t('proposalsTitle')),
              proposals ? h('p', { class: 'card-count', id: 'risks-proposals-count' }, t('risksProposalsCount', { n: formatNumber(proposals.total) })) : null,
              h('p', { class: 'help' }, t('risksProposalsText')),
            ),
          ),
        ),
        roundList(),
        m
          ? h(
              'section',
              { 'aria-labelledby': 'risk-registers-title' },
              h('h2', { id: 'risk-registers-title' }, t('risksRegisters')),
              h(
                'ul',
                { class: 'link-list', id: 'risk-registers' },
                viewableRegisters(m).map((r) => h('li', null, h('a', { href: `#/r/${encodeURIComponent(r.key)}` }, label(r.label)))),
              ),
            )
          : null,
      );
    },
  };
}

// ---- #/risks/heatmap?section=ID -----------------------------------------------------------------

type Assessment = 'inherent' | 'residual';

/** The risk register's fields that place a scenario on the grid, before treatment and residual. */
const axisFields: Record<Assessment, { likelihood: string; impact: string }> = {
  inherent: { likelihood: 'likelihood', impact: 'impact' },
  residual: { likelihood: 'residual_likelihood', impact: 'residual_impact' },
};

export async function loadRiskHeatmap(query: URLSearchParams): Promise<View> {
  const reg = findRegister(risksRegisterKey)!;
  const wanted = query.get('section') ?? '';
  const section = /^\d+$/.test(wanted) ? wanted : '';
  const countsOf = (a: Assessment) =>
    getJson<CountsAnswer>(
      `${reg.path}/counts`,
      new URLSearchParams({ by: `${axisFields[a].likelihood},${axisFields[a].impact}`, ...(section ? { section } : {}) }),
    );
  const [catalog, inherent, residual, sections, chart] = await Promise.all([
    loadMatrix(),
    countsOf('inherent'),
    countsOf('residual'),
    refOptions(field(reg, 'section')?.ref ?? 'org_units').catch((): RefOption[] => []),
    import('../heatmap').catch(() => null),
  ]);
  const matrix = activeMatrix(catalog);
  const levels = matrixLevels(catalog, matrix);
  const counts: Record<Assessment, CountsAnswer> = { inherent, residual };
  const unassessed = residual.cells.filter((c) => c.values[0] === null || c.values[1] === null).reduce((n, c) => n + c.count, 0);
  const disposers: (() => void)[] = [];

  const names: Record<Assessment, () => string> = { inherent: () => t('heatmapInherent'), residual: () => t('heatmapResidual') };
  const count = (a: Assessment, likelihood: string, impact: string) =>
    counts[a].cells.find((c) => c.values[0] === likelihood && c.values[1] === impact)?.count ?? 0;
  const levelOf = (likelihood: string, impact: string) =>
    matrix?.grid.find((g) => g.likelihood === likelihood && g.impact === impact)?.level ?? '';
  const cellHref = (a: Assessment, likelihood: string, impact: string) =>
    `#/r/${risksRegisterKey}?${new URLSearchParams({
      [axisFields[a].likelihood]: likelihood,
      [axisFields[a].impact]: impact,
      ...(section ? { section } : {}),
    })}`;

  function table(a: Assessment): HTMLElement {
    const m = matrix!;
    const rows = [...m.likelihood].reverse(); // highest first, as on the chart
    return h(
      'table',
      { class: 'data-table heat-table', id: `heat-${a}-table` },
      h('caption', null, t('heatmapTableCaption', { name: names[a]() })),
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          h('th', { scope: 'col' }, `${t('heatmapLikelihood')} \\ ${t('heatmapImpact')}`),
          m.impact.map((i) => h('th', { scope: 'col', class: 'numeric', 'data-impact': i.value }, stepText(m.impact, i.value))),
        ),
      ),
      h(
        'tbody',
        null,
        rows.map((l) =>
          h(
            'tr',
            { 'data-likelihood': l.value },
            h('th', { scope: 'row' }, stepText(m.likelihood, l.value)),
            m.impact.map((i) => {
              const n = count(a, l.value, i.value);
              const level = levelOf(l.value, i.value);
              const def = levels.find((x) => x.key === level);
              return h(
                'td',
                { class: 'numeric heat-cell', 'data-likelihood': l.value, 'data-impact': i.value, 'data-level': level, 'data-count': String(n) },
                n ? h('a', { href: cellHref(a, l.value, i.value), class: 'heat-count' }, formatNumber(n)) : h('span', { class: 'heat-count' }, '0'),
                h('span', { class: 'heat-level' }, swatch(def?.color), def ? label(def.label) : level),
              );
            }),
          ),
        ),
      ),
    );
  }

  function chartData(a: Assessment) {
    const m = matrix!;
    return {
      columns: m.impact.map((i) => stepText(m.impact, i.value)),
      rows: m.likelihood.map((l) => stepText(m.likelihood, l.value)),
      columnName: t('heatmapImpact'),
      rowName: t('heatmapLikelihood'),
      levels: levels.map((l) => ({ name: label(l.label), color: l.color })),
      cells: m.grid.map((g) => {
        const n = count(a, g.likelihood, g.impact);
        const level = levels.findIndex((l) => l.key === g.level);
        return {
          column: m.impact.findIndex((i) => i.value === g.impact),
          row: m.likelihood.findIndex((l) => l.value === g.likelihood),
          level,
          count: n,
          text: t('heatmapCellText', {
            likelihood: stepText(m.likelihood, g.likelihood),
            impact: stepText(m.impact, g.impact),
            level: label(levels[level]?.label) || g.level,
            n: formatNumber(n),
          }),
        };
      }),
    };
  }

  function sectionFilter(): HTMLElement {
    const select = h(
      'select',
      {
        id: 'heatmap-section',
        onchange: (e: Event) => {
          const v = (e.target as HTMLSelectElement).value;
          location.hash = v ? `#/risks/heatmap?${new URLSearchParams({ section: v })}` : '#/risks/heatmap';
        },
      },
      h('option', { value: '' }, t('heatmapAllSections')),
      sections.map((s) => h('option', { value: String(s.id) }, s.label)),
    );
    select.value = section;
    return h(
      'form',
      { class: 'search-form', role: 'search', 'aria-label': t('heatmapFilter'), onsubmit: (e: Event) => e.preventDefault() },
      h('div', { class: 'field-inline' }, h('label', { for: 'heatmap-section' }, t('heatmapSection')), select),
    );
  }

  function panel(a: Assessment, box: HTMLElement | null): HTMLElement {
    return h(
      'section',
      { class: 'heat-panel', id: `heat-${a}`, 'aria-labelledby': `heat-${a}-title` },
      h('h2', { id: `heat-${a}-title` }, names[a]()),
      box,
      h('div', { class: 'table-scroll' }, table(a)),
      a === 'residual'
        ? h(
            'p',
            { id: 'heatmap-unassessed' },
            h('strong', null, t('heatmapUnassessed', { n: formatNumber(unassessed) })),
            ' ',
            h('span', { class: 'help' }, t('heatmapUnassessedHelp')),
          )
        : null,
    );
  }

  return {
    title: () => t('heatmapTitle'),
    render(root) {
      while (disposers.length) disposers.pop()!();
      if (!matrix) {
        replaceChildren(root, pageHeading(t('heatmapTitle')), h('p', { class: 'notice notice-error' }, t('riskMatrixError')));
        return;
      }
      const boxes: Record<Assessment, HTMLElement | null> = { inherent: null, residual: null };
      if (chart) {
        for (const a of ['inherent', 'residual'] as const) {
          boxes[a] = h('div', { class: 'chart heat-chart', id: `heat-${a}-chart`, role: 'img', 'aria-label': t('heatmapChartAlt', { name: names[a]() }) });
        }
      }
      replaceChildren(
        root,
        pageHeading(t('heatmapTitle')),
        h('p', null, t('heatmapIntro')),
        h('p', { id: 'heatmap-matrix' }, t('heatmapMatrix', { matrix: label(matrix.label) })),
        h(
          'div',
          { class: 'toolbar' },
          h('a', { href: `#/r/${risksRegisterKey}${section ? `?${new URLSearchParams({ section })}` : ''}`, class: 'button', id: 'heatmap-list' }, t('heatmapList')),
          h('a', { href: '#/risks/proposals', class: 'button button-quiet', id: 'heatmap-proposals' }, t('proposalsTitle')),
        ),
        sectionFilter(),
        h(
          'p',
          { id: 'heatmap-total', class: 'list-summary' },
          inherent.total ? t('heatmapTotal', { n: formatNumber(inherent.total) }) : t('heatmapNone'),
          inherent.total || !can(risksRegisterKey, 'create') ? null : [' ', h('a', { href: '#/risks/proposals' }, t('proposalsOpen'))],
        ),
        h('div', { class: 'heat-panels' }, panel('inherent', boxes.inherent), panel('residual', boxes.residual)),
        levelLegend(levels),
      );
      if (chart) {
        for (const a of ['inherent', 'residual'] as const) disposers.push(chart.drawHeatMap(boxes[a]!, chartData(a)));
      }
    },
    destroy() {
      while (disposers.length) disposers.pop()!();
    },
  };
}

// ---- #/risks/proposals?asset=ID -------------------------------------------------------------------

const proposalKey = (p: RiskProposal) => `${p.asset.id}-${p.proposal}`;

/** The generic risk form, pre-filled with the proposal (register-record.ts reads the query). */
function registerHref(p: RiskProposal): string {
  const q = new URLSearchParams({ scope: 'asset', asset: String(p.asset.id), threat: String(p.threat.id) });
  if (p.asset.section) q.set('section', String(p.asset.section.id));
  q.set('title', t('proposalRiskTitle', { threat: p.threat.name, asset: p.asset.no }));
  if (p.impact) q.set('impact', p.impact);
  return `#/r/${risksRegisterKey}/new?${q}`;
}

export async function loadRiskProposals(query: URLSearchParams): Promise<View> {
  const asset = query.get('asset') ?? '';
  const [answer, catalog] = await Promise.all([
    getJson<RiskProposalsAnswer>('risks/proposals', /^\d+$/.test(asset) ? new URLSearchParams({ asset }) : undefined),
    loadMatrix().catch(() => null),
  ]);
  const impactSteps = catalog ? activeMatrix(catalog)?.impact : undefined;
  const dismissals = findRegister(riskDismissalsRegisterKey);
  const mayDismiss = dismissals !== undefined && can(dismissals.key, 'create');
  const mayRegister = can(risksRegisterKey, 'create');
  let items = answer.items;
  let dismissing: RiskProposal | null = null;
  let reason = '';
  let message = '';
  let errors: ProblemError[] = [];
  let busy = false;

  function open(p: RiskProposal): void {
    dismissing = p;
    reason = '';
    message = '';
    errors = [];
    redraw();
    document.getElementById('dismiss-title')?.focus();
  }

  function close(): void {
    const p = dismissing;
    dismissing = null;
    message = '';
    errors = [];
    redraw();
    if (p) document.getElementById(`dismiss-${proposalKey(p)}`)?.focus();
  }

  async function dismiss(): Promise<void> {
    const p = dismissing;
    if (busy || !p || !dismissals) return;
    busy = true;
    message = '';
    errors = [];
    redraw();
    try {
      await sendJson('POST', dismissals.path, { asset: p.asset.id, proposal: p.proposal, reason: reason.trim() });
      items = items.filter((x) => proposalKey(x) !== proposalKey(p));
      dismissing = null;
      busy = false;
      redraw();
      announce(t('dismissed', { threat: p.threat.name, asset: p.asset.no }), 'success');
      document.getElementById('proposals-count')?.focus();
    } catch (err) {
      busy = false;
      ({ message, errors } = failure(err));
      redraw();
      document.getElementById('dismiss-error')?.focus();
    }
  }

  function dismissForm(p: RiskProposal): HTMLElement {
    const reasonErrors = errors.filter((e) => e.field === 'reason');
    const area = h('textarea', {
      id: 'dismiss-reason',
      name: 'reason',
      rows: 3,
      'aria-required': 'true',
      'aria-invalid': reasonErrors.length ? 'true' : null,
      'aria-describedby': ['dismiss-reason-help', reasonErrors.length ? 'dismiss-reason-error' : null].filter(Boolean).join(' '),
      oninput: (e: Event) => (reason = (e.target as HTMLTextAreaElement).value),
    });
    area.value = reason;
    const form = h(
      'form',
      { class: 'dismiss-form', id: 'dismiss-form', novalidate: true, 'aria-labelledby': 'dismiss-title' },
      h('h3', { id: 'dismiss-title', tabindex: -1 }, t('dismissTitle', { threat: `${p.threat.code} ${p.threat.name}`, asset: `${p.asset.no} ${p.asset.name}` })),
      alertBox('dismiss-error', message),
      h(
        'div',
        { class: `field${reasonErrors.length ? ' has-error' : ''}`, 'data-field': 'reason' },
        h('label', { for: 'dismiss-reason' }, label(field(dismissals, 'reason')?.label) || t('dismissReason'), h('span', { class: 'required' }, t('requiredMark'))),
        h('p', { class: 'help', id: 'dismiss-reason-help' }, t('dismissReasonHelp')),
        reasonErrors.length
          ? h('p', { class: 'field-error', id: 'dismiss-reason-error' }, srOnly(t('errorPrefix')), reasonErrors.map(problemErrorMessage).join(' '))
          : null,
        area,
      ),
      h(
        'div',
        { class: 'button-row' },
        h('button', { type: 'submit', class: 'button button-primary', id: 'dismiss-submit', 'aria-disabled': busy ? 'true' : null }, busy ? t('saving') : t('dismissSubmit')),
        h('button', { type: 'button', class: 'button', id: 'dismiss-cancel', onclick: close }, t('cancel')),
      ),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void dismiss();
    });
    return form;
  }

  function rows(p: RiskProposal): HTMLElement[] {
    const key = proposalKey(p);
    const row = h(
      'tr',
      { 'data-proposal': key, 'data-asset': String(p.asset.id) },
      h(
        'th',
        { scope: 'row' },
        can(assetsRegisterKey, 'view') ? h('a', { href: recordHref(assetsRegisterKey, p.asset.id) }, p.asset.no) : p.asset.no,
        ' ',
        p.asset.name,
      ),
      h('td', { class: 'nowrap' }, p.asset.section?.label ?? ''),
      h(
        'td',
        null,
        h('span', { class: 'control-id' }, p.threat.code),
        ' ',
        p.threat.name,
        h('span', { class: 'help proposal-reason' }, `${t('proposalReason')}(${p.proposal_id}): ${label(p.reason)}`),
      ),
      h('td', { class: 'nowrap' }, p.impact ? stepText(impactSteps, p.impact) : ''),
      h(
        'td',
        null,
        h(
          'div',
          { class: 'proposal-actions' },
          mayRegister
            ? h('a', { href: registerHref(p), class: 'button button-primary', id: `register-${key}` }, t('proposalRegister'), srOnly(`(${p.asset.no} ${p.threat.code})`))
            : null,
          mayDismiss
            ? h(
                'button',
                { type: 'button', class: 'button', id: `dismiss-${key}`, 'aria-expanded': dismissing === p ? 'true' : 'false', onclick: () => open(p) },
                t('proposalDismiss'),
                srOnly(`(${p.asset.no} ${p.threat.code})`),
              )
            : null,
        ),
      ),
    );
    if (dismissing !== p) return [row];
    return [row, h('tr', { class: 'dismiss-row' }, h('td', { colspan: 5 }, dismissForm(p)))];
  }

  return {
    title: () => t('proposalsTitle'),
    render(root) {
      replaceChildren(
        root,
        pageHeading(t('proposalsTitle')),
        h('p', null, t('proposalsIntro')),
        h(
          'div',
          { class: 'toolbar' },
          h('a', { href: '#/risks/heatmap', class: 'button button-quiet' }, t('heatmapTitle')),
          dismissals && can(dismissals.key, 'view')
            ? h('a', { href: `#/r/${dismissals.key}`, class: 'button button-quiet', id: 'proposals-dismissed' }, t('proposalsDismissedList'))
            : null,
        ),
        h(
          'p',
          { id: 'proposals-count', class: 'list-summary', tabindex: -1 },
          items.length ? t('proposalsCount', { n: formatNumber(items.length) }) : t('proposalsNone'),
        ),
        items.length
          ? h(
              'div',
              { class: 'table-scroll' },
              h(
                'table',
                { class: 'data-table', id: 'proposals-table', 'aria-describedby': 'proposals-count' },
                h('caption', { class: 'visually-hidden' }, t('proposalsTitle')),
                h(
                  'thead',
                  null,
                  h(
                    'tr',
                    null,
                    [t('proposalAsset'), t('proposalSection'), t('proposalThreat'), t('proposalImpact')].map((c) => h('th', { scope: 'col' }, c)),
                    h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, t('proposalActions'))),
                  ),
                ),
                h('tbody', null, items.map(rows)),
              ),
            )
          : null,
      );
    },
  };
}

// ---- #/risks/rounds/{id}/report -------------------------------------------------------------------

export async function loadRoundReport(id: number): Promise<View> {
  const roundsReg = findRegister(riskRoundsRegisterKey);
  const path = roundsReg?.path ?? 'risks/rounds';
  const [report, catalog] = await Promise.all([getJson<RoundReport>(`${path}/${id}/report`), loadMatrix().catch(() => null)]);
  const risks = findRegister(risksRegisterKey);
  const levels: RiskLevelDef[] = report.counts.map((c) => ({
    key: c.level,
    label: c.label,
    color: catalog?.levels.find((l) => l.key === c.level)?.color ?? '',
    meaning: { ja: '', en: '' },
  }));
  const r = report.round;
  const title = () => t('roundReportTitle', { title: r.title });
  const change = (pair: [number, number]) => t('roundReportChange', { from: formatNumber(pair[0]), to: formatNumber(pair[1]) });

  function countsTable(): HTMLElement {
    return h(
      'table',
      { class: 'data-table', id: 'round-report-counts' },
      h('caption', null, t('roundReportCounts')),
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          h('th', { scope: 'col' }, t('roundReportLevel')),
          h('th', { scope: 'col', class: 'numeric' }, t('riskInherent')),
          h('th', { scope: 'col', class: 'numeric' }, t('riskResidual')),
        ),
      ),
      h(
        'tbody',
        null,
        [...report.counts].reverse().map((c) =>
          h(
            'tr',
            { 'data-level': c.level },
            h('th', { scope: 'row' }, levelBadge(levels, c.level)),
            h('td', { class: 'numeric', 'data-kind': 'inherent' }, change(c.inherent)),
            h('td', { class: 'numeric', 'data-kind': 'residual' }, change(c.residual)),
          ),
        ),
        h('tr', { 'data-level': 'total' }, h('th', { scope: 'row' }, t('roundReportTotal')), h('td', { class: 'numeric' }, change(report.total)), h('td', null, '')),
      ),
    );
  }

  const riskLink = (x: RoundRisk) => h('a', { href: recordHref(risksRegisterKey, x.id) }, x.risk_no);

  function riskTable(sectionId: string, heading: string, list: RoundRisk[]): HTMLElement {
    const cols = ['risk_no', 'title', 'threat', 'section', 'inherent_level', 'residual_level'];
    return h(
      'section',
      { 'aria-labelledby': `${sectionId}-title`, id: sectionId },
      h('h2', { id: `${sectionId}-title` }, heading),
      list.length
        ? h(
            'div',
            { class: 'table-scroll' },
            h(
              'table',
              { class: 'data-table', 'aria-labelledby': `${sectionId}-title` },
              h('thead', null, h('tr', null, cols.map((c) => h('th', { scope: 'col' }, fieldLabel(risks, c))))),
              h(
                'tbody',
                null,
                list.map((x) =>
                  h(
                    'tr',
                    { 'data-risk': x.risk_no },
                    h('th', { scope: 'row' }, riskLink(x)),
                    h('td', null, x.title),
                    h('td', null, x.threat),
                    h('td', null, x.section),
                    h('td', null, levelBadge(levels, x.inherent_level)),
                    h('td', null, levelBadge(levels, x.residual_level)),
                  ),
                ),
              ),
            ),
          )
        : h('p', null, t('roundReportNone')),
    );
  }

  function changedTable(): HTMLElement {
    const list = report.changed;
    return h(
      'section',
      { 'aria-labelledby': 'round-report-changed-title', id: 'round-report-changed' },
      h('h2', { id: 'round-report-changed-title' }, t('roundReportChanged', { n: formatNumber(list.length) })),
      list.length
        ? h(
            'div',
            { class: 'table-scroll' },
            h(
              'table',
              { class: 'data-table', 'aria-labelledby': 'round-report-changed-title' },
              h(
                'thead',
                null,
                h(
                  'tr',
                  null,
                  h('th', { scope: 'col' }, fieldLabel(risks, 'risk_no')),
                  h('th', { scope: 'col' }, fieldLabel(risks, 'title')),
                  h('th', { scope: 'col' }, t('roundReportFields')),
                ),
              ),
              h(
                'tbody',
                null,
                list.map((x) =>
                  h(
                    'tr',
                    { 'data-risk': x.risk_no },
                    h('th', { scope: 'row' }, riskLink(x)),
                    h('td', null, x.title),
                    h(
                      'td',
                      null,
                      h(
                        'ul',
                        { class: 'change-list' },
                        x.fields.map((f) =>
                          h(
                            'li',
                            { 'data-field': f.field },
                            h('span', { class: 'change-field' }, label(field(risks, f.field)?.label) || f.label),
                            ': ',
                            t('roundReportChange', { from: f.from || '—', to: f.to || '—' }),
                          ),
                        ),
                      ),
                    ),
                  ),
                ),
              ),
            ),
          )
        : h('p', null, t('roundReportNone')),
    );
  }

  return {
    title,
    render(root) {
      const p = report.previous;
      replaceChildren(
        root,
        h(
          'nav',
          { class: 'breadcrumb', 'aria-label': t('breadcrumb') },
          h(
            'ol',
            null,
            h('li', null, h('a', { href: '#/' }, t('dashboard'))),
            h('li', null, h('a', { href: '#/m/risks' }, label(moduleOfPage('risks')?.label) || t('risksTitle'))),
            roundsReg ? h('li', null, h('a', { href: `#/r/${roundsReg.key}` }, label(roundsReg.label))) : null,
            roundsReg ? h('li', null, h('a', { href: recordHref(roundsReg.key, r.id) }, r.title)) : null,
            h('li', null, h('span', { 'aria-current': 'page' }, t('roundReportCrumb'))),
          ),
        ),
        pageHeading(title()),
        h(
          'p',
          { id: 'round-report-previous' },
          p ? t('roundReportPrevious', { title: p.title, date: formatDate(p.closed_on ?? '') }) : t('roundReportNoPrevious'),
        ),
        h('p', { class: 'help' }, r.status === 'closed' && r.closed_on ? t('roundReportClosedNote', { date: formatDate(r.closed_on) }) : t('roundReportOpenNote')),
        h(
          'div',
          { class: 'toolbar' },
          h('a', { href: apiUrl(`${path}/${id}/report.xlsx`), class: 'button', id: 'round-report-xlsx', download: '' }, t('roundReportXlsx')),
          roundsReg ? h('a', { href: recordHref(roundsReg.key, r.id), class: 'button button-quiet', id: 'round-report-record' }, t('roundReportRound')) : null,
        ),
        countsTable(),
        riskTable('round-report-added', t('roundReportAdded', { n: formatNumber(report.added.length) }), report.added),
        riskTable('round-report-removed', t('roundReportRemoved', { n: formatNumber(report.removed.length) }), report.removed),
        changedTable(),
        h('p', { id: 'round-report-unchanged' }, t('roundReportUnchanged', { n: formatNumber(report.unchanged) })),
      );
    },
  };
}

// ---- A round's record page ------------------------------------------------------------------------

/** The link from a round's record page to its report. */
export function roundPanel(record: RegisterRecord | null): Child {
  if (!record) return null;
  return h(
    'p',
    { class: 'button-row', id: 'round-panel' },
    h('a', { href: `#/risks/rounds/${record.id}/report`, class: 'button', id: 'round-report-link' }, t('roundReportOpen')),
  );
}

// ---- A risk's record page ---------------------------------------------------------------------------

export interface RiskPanelData {
  catalog: RiskMatrixCatalog | null;
  /** The risk's further assets, or null when they could not be loaded. */
  assets: RegisterRecord[] | null;
}

/** The matrix and risk `record`'s further assets. */
export async function loadRiskPanel(record: RegisterRecord): Promise<RiskPanelData> {
  const reg = findRegister(riskAssetsRegisterKey);
  const [catalog, assets] = await Promise.all([
    loadMatrix().catch(() => null),
    reg && can(reg.key, 'view')
      ? getJson<ListAnswer>(reg.path, new URLSearchParams({ risk: String(record.id), limit: '500' }))
          .then((a) => a.items)
          .catch(() => null)
      : Promise.resolve(null),
  ]);
  return { catalog, assets };
}

/** Under a risk's form: its place on the matrix, its acceptance, its assets. */
export function riskPanel(current: RegisterRecord | null, panelData: RiskPanelData | null): Child {
  if (!current || !panelData) return null;
  const record = current;
  const data = panelData;
  const reg = findRegister(risksRegisterKey);
  const assetsReg = findRegister(riskAssetsRegisterKey);
  const catalog = data.catalog;
  const matrix = catalog ? activeMatrix(catalog) : undefined;
  const levels = catalog ? catalog.levels : [];

  const position = (likelihood: string, impact: string, score: string): Child => {
    const l = record[likelihood];
    const i = record[impact];
    if (typeof l !== 'string' || typeof i !== 'string') return null;
    return h(
      'span',
      { class: 'risk-position' },
      t('riskPosition', { likelihood: stepText(matrix?.likelihood, l), impact: stepText(matrix?.impact, i), score: String(record[score] ?? '') }),
    );
  };

  function matrixFacts(): HTMLElement {
    return h(
      'dl',
      { class: 'facts', id: 'risk-matrix-facts' },
      h(
        'div',
        { 'data-kind': 'inherent' },
        h('dt', null, t('riskInherent')),
        h('dd', null, levelBadge(levels, record.inherent_level, 'risk-inherent-level'), ' ', position('likelihood', 'impact', 'inherent_score')),
      ),
      h(
        'div',
        { 'data-kind': 'residual' },
        h('dt', null, t('riskResidual')),
        h('dd', null, levelBadge(levels, record.residual_level, 'risk-residual-level'), ' ', position('residual_likelihood', 'residual_impact', 'residual_score')),
      ),
      typeof record.proposed_impact === 'string'
        ? h(
            'div',
            { 'data-kind': 'proposed' },
            h('dt', null, fieldLabel(reg, 'proposed_impact')),
            h('dd', null, h('span', { id: 'risk-proposed-impact' }, stepText(matrix?.impact, record.proposed_impact)), h('span', { class: 'help evidence-meta' }, t('riskProposedImpactNote'))),
          )
        : null,
    );
  }

  function acceptance(): HTMLElement {
    const state = record.acceptance;
    const level = typeof record.residual_level === 'string' ? record.residual_level : record.inherent_level;
    const levelDef = levels.find((l) => l.key === level);
    const approver = typeof level === 'string' ? matrix?.approval[level] : undefined;
    const decided = state === 'approved' || state === 'rejected';
    const by = record._refs?.accepted_by?.label;
    return h(
      'section',
      { 'aria-labelledby': 'risk-acceptance-title', id: 'risk-acceptance' },
      h('h2', { id: 'risk-acceptance-title' }, t('riskAcceptanceTitle')),
      state
        ? h(
            'p',
            { id: 'risk-acceptance-state' },
            h('span', { class: `badge badge-acceptance-${String(state)}`, 'data-state': String(state) }, displayValue(field(reg, 'acceptance'), state)),
            decided && by ? [' ', t('riskAcceptanceDecided', { by, date: formatDate(typeof record.accepted_on === 'string' ? record.accepted_on : '') })] : null,
          )
        : h('p', { id: 'risk-acceptance-state' }, t('riskAcceptanceNone')),
      decided && typeof record.acceptance_comment === 'string' && record.acceptance_comment
        ? h('p', { class: 'help' }, `${fieldLabel(reg, 'acceptance_comment')}: ${record.acceptance_comment}`)
        : null,
      approver && levelDef
        ? h(
            'p',
            { id: 'risk-approver', 'data-approver': approver },
            t('riskApproverRule', { level: label(levelDef.label), who: approver === 'ciso' ? t('riskApproverCiso') : t('riskApproverSuperior') }),
          )
        : null,
    );
  }

  function assets(): HTMLElement {
    const main = record._refs?.asset;
    const list = data.assets;
    return h(
      'section',
      { 'aria-labelledby': 'risk-assets-title', id: 'risk-assets' },
      h('h2', { id: 'risk-assets-title' }, t('riskAssetsTitle')),
      main
        ? h('p', { id: 'risk-main-asset' }, `${t('riskAssetsMain')}: `, h('a', { href: recordHref(assetsRegisterKey, main.id) }, main.label))
        : h('p', null, `${fieldLabel(reg, 'scope')}: ${displayValue(field(reg, 'scope'), record.scope)}`),
      list === null
        ? assetsReg && can(assetsReg.key, 'view')
          ? h('p', { class: 'notice notice-error' }, t('riskAssetsError'))
          : null
        : list.length
          ? h(
              'table',
              { class: 'data-table', id: 'risk-assets-table' },
              h('caption', { class: 'visually-hidden' }, t('riskAssetsTitle')),
              h('thead', null, h('tr', null, ['asset', 'section', 'note'].map((c) => h('th', { scope: 'col' }, fieldLabel(assetsReg, c))))),
              h(
                'tbody',
                null,
                list.map((a) =>
                  h(
                    'tr',
                    { 'data-id': String(a.id) },
                    h('th', { scope: 'row' }, h('a', { href: recordHref(riskAssetsRegisterKey, a.id) }, a._refs?.asset?.label ?? `#${String(a.asset)}`)),
                    h('td', null, a._refs?.section?.label ?? ''),
                    h('td', null, typeof a.note === 'string' ? a.note : ''),
                  ),
                ),
              ),
            )
          : h('p', { id: 'risk-assets-none' }, t('riskAssetsNone')),
      assetsReg && can(assetsReg.key, 'create') && !record.archived
        ? h(
            'p',
            null,
            h('a', { href: `#/r/${assetsReg.key}/new?${new URLSearchParams({ risk: String(record.id) })}`, class: 'button', id: 'risk-asset-add' }, t('riskAssetsAdd')),
          )
        : null,
    );
  }

  return h(
    'section',
    { class: 'record-section', id: 'risk-panel', 'aria-labelledby': 'risk-panel-title' },
    h('h2', { id: 'risk-panel-title' }, t('riskPanelTitle')),
    catalog ? matrixFacts() : h('p', { class: 'notice notice-error' }, t('riskMatrixError')),
    acceptance(),
    assets(),
  );
}
