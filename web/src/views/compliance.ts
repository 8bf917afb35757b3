// 管理策の実施状況 (#/compliance?status=…, register `evidence: view`): every control of the
// catalog with its status, which the server derives from the evidence and its freshness (実施済,
// 一部実施, 未実施, 不明; never typed in). Totals, a chart by section of the policy with the same
// figures as a table, the controls grouped by section (filterable by status), and the links to
// the 実施状況一覧 for the committee (XLSX and printable HTML).
//
// One control (#/compliance/{id}): each kind of evidence it needs with its state and latest
// record, the active exception, and buttons that open the generic evidence (or exception) form
// pre-filled with the control and the kind (register-record.ts reads the query).

import { apiUrl, getJson } from '../api';
import { h, idFragment, replaceChildren, type Child } from '../dom';
import { displayValue } from '../fields';
import { formatDate, formatNumber, label, t, type MessageKey } from '../i18n';
import { documentsRegisterKey, documentVersionsRegisterKey, everyControl, evidenceRegisterKey, exceptionsRegisterKey } from '../modules';
import { can } from '../session';
import { findRegister, type View } from '../state';
import type {
  ComplianceAnswer,
  ComplianceControl,
  ComplianceCounts,
  ComplianceEvidence,
  ComplianceStatus,
  EvidenceState,
  Label,
  PolicyAnswer,
  PolicyItem,
} from '../types';
import { notFoundView, pageHeading } from './common';

export const complianceStatuses: ComplianceStatus[] = ['implemented', 'partial', 'not_implemented', 'unknown'];

const statusKeys: Record<ComplianceStatus, MessageKey> = {
  implemented: 'statusImplemented',
  partial: 'statusPartial',
  not_implemented: 'statusNotImplemented',
  unknown: 'statusUnknown',
};

const statusHelpKeys: Record<ComplianceStatus, MessageKey> = {
  implemented: 'statusImplementedHelp',
  partial: 'statusPartialHelp',
  not_implemented: 'statusNotImplementedHelp',
  unknown: 'statusUnknownHelp',
};

const stateKeys: Record<EvidenceState, MessageKey> = {
  fresh: 'evidenceFresh',
  expired: 'evidenceExpired',
  failed: 'evidenceFailed',
  missing: 'evidenceMissing',
  unavailable: 'evidenceUnavailable',
};

const stateHelpKeys: Record<EvidenceState, MessageKey> = {
  fresh: 'evidenceFreshHelp',
  expired: 'evidenceExpiredHelp',
  failed: 'evidenceFailedHelp',
  missing: 'evidenceMissingHelp',
  unavailable: 'evidenceUnavailableHelp',
};

/** Implemented, partial, not implemented, unknown: the chart's colours (named in its legend). */
export const complianceColors = ['#197a4b', '#ebb700', '#ec0000', '#b4b4b4'];

export const statusLabel = (s: ComplianceStatus) => t(statusKeys[s] ?? 'statusUnknown');

export function statusBadge(s: ComplianceStatus, id?: string): HTMLElement {
  return h('span', { class: `badge badge-${s}`, id: id ?? null, 'data-status': s }, statusLabel(s));
}

export function stateBadge(s: EvidenceState): HTMLElement {
  return h('span', { class: `badge badge-${s}`, 'data-state': s }, t(stateKeys[s] ?? 'evidenceMissing'));
}

/**
 * The names of the registers later issues build (the catalog already names them as evidence);
 * once a register exists, its own label from /api/v1/meta is used instead.
 */
const plannedRegisters: Record<string, Label> = {
  risks: { ja: 'リスク', en: 'Risks' },
  incidents: { ja: 'インシデント', en: 'Incidents' },
  contractors: { ja: '委託先', en: 'Contractors' },
  cloud_services: { ja: '外部サービス', en: 'External services' },
  social_accounts: { ja: 'SNSアカウント', en: 'Social media accounts' },
  trainings: { ja: '研修', en: 'Training' },
  documents: { ja: '規程文書', en: 'Policy documents' },
  inspections: { ja: '自己点検', en: 'Self-inspections' },
  audits: { ja: '監査', en: 'Audits' },
};

/** The register a "register:{key}" evidence names, or null for the other kinds. */
function evidenceRegister(kind: string): string | null {
  return kind.startsWith('register:') ? kind.slice('register:'.length) : null;
}

/** The evidence register's value of a catalog kind ("automated:netcheck" -> "automated_netcheck"). */
const kindValue = (kind: string) => kind.replace(':', '_');

/** Kinds a person records through the form (automated results come from the engines). */
const isManual = (kind: string) => kind === 'document' || kind === 'attestation' || kind === 'self_inspection';

/** The name of a kind of evidence: the evidence register's option label, or the register's name. */
export function kindLabel(kind: string): string {
  const key = evidenceRegister(kind);
  if (key !== null) {
    const reg = findRegister(key);
    return t('evidenceRegisterKind', { name: label(reg?.label ?? plannedRegisters[key]) || key });
  }
  const field = findRegister(evidenceRegisterKey)?.fields.find((f) => f.name === 'kind');
  return displayValue(field, kindValue(kind)) || kind;
}

/** The label of a role key (the role assignments' options), else the key. */
function roleLabel(role: string): string {
  const field = findRegister('role_assignments')?.fields.find((f) => f.name === 'role');
  return displayValue(field, role) || role;
}

const percent = (done: number, all: number) => (all ? `${Math.floor((done * 100) / all)}%` : '—');

/** The element id of a section's block on the page: "6(3)" -> "cs-6_283_29". */
const sectionAnchor = (id: string) => `cs-${idFragment(id)}`;

/** Controls per section of the policy, stacked by status. */
export function complianceChartData(c: ComplianceAnswer): { categories: string[]; stacks: { name: string; values: number[] }[] } {
  return {
    categories: c.sections.map((s) => `${s.id} ${label(s.title)}`),
    stacks: complianceStatuses.map((st) => ({ name: statusLabel(st), values: c.sections.map((s) => s[st]) })),
  };
}

/** The one-line summary of the totals. */
export function complianceSummary(c: ComplianceAnswer): string {
  const n = c.totals;
  return t('complianceSummary', {
    controls: formatNumber(n.controls),
    implemented: formatNumber(n.implemented),
    partial: formatNumber(n.partial),
    not_implemented: formatNumber(n.not_implemented),
    unknown: formatNumber(n.unknown),
    today: formatDate(c.today),
  });
}

/** The totals as figures (controls, then one per status). */
function totalsList(n: ComplianceCounts): HTMLElement {
  return h(
    'dl',
    { class: 'totals', id: 'compliance-totals' },
    h('div', null, h('dt', null, t('controlsCount')), h('dd', { 'data-status': 'controls' }, formatNumber(n.controls))),
    complianceStatuses.map((s) =>
      h('div', { class: `total-${s}` }, h('dt', null, statusLabel(s)), h('dd', { 'data-status': s }, formatNumber(n[s]))),
    ),
  );
}

/** The links to the 実施状況一覧 (XLSX download, printable HTML in a new tab). */
function reportLinks(): HTMLElement {
  return h(
    'div',
    { class: 'toolbar', id: 'compliance-reports' },
    h('a', { href: apiUrl('compliance/report.xlsx'), class: 'button', id: 'compliance-xlsx', download: '' }, t('complianceReportXlsx')),
    h(
      'a',
      { href: apiUrl('compliance/report.html'), class: 'button', id: 'compliance-html', target: '_blank', rel: 'noopener' },
      t('complianceReportHtml'),
      h('span', { class: 'visually-hidden' }, t('opensInNewTab')),
    ),
    h('a', { href: `#/r/${evidenceRegisterKey}`, class: 'button button-quiet', id: 'compliance-evidence' }, t('complianceEvidenceList')),
    can(exceptionsRegisterKey, 'view')
      ? h('a', { href: `#/r/${exceptionsRegisterKey}`, class: 'button button-quiet', id: 'compliance-exceptions' }, t('complianceExceptionList'))
      : null,
  );
}

export async function loadCompliance(query: URLSearchParams): Promise<View> {
  const [data, chart] = await Promise.all([getJson<ComplianceAnswer>('compliance'), import('../chart').catch(() => null)]);
  const wanted = query.get('status');
  const filter = complianceStatuses.find((s) => s === wanted) ?? null;
  let dispose: (() => void) | null = null;

  function sectionTable(): HTMLElement {
    return h(
      'table',
      { class: 'data-table', id: 'compliance-sections' },
      h('caption', null, t('complianceBySectionTable')),
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          h('th', { scope: 'col' }, t('complianceSection')),
          h('th', { scope: 'col' }, t('measureTitleColumn')),
          [t('controlsCount'), ...complianceStatuses.map(statusLabel), t('complianceRate')].map((c) => h('th', { scope: 'col', class: 'numeric' }, c)),
        ),
      ),
      h(
        'tbody',
        null,
        data.sections.map((s) =>
          h(
            'tr',
            { 'data-section': s.id },
            h('th', { scope: 'row' }, h('a', { href: `#${sectionAnchor(s.id)}` }, s.id)),
            h('td', null, label(s.title)),
            [s.controls, ...complianceStatuses.map((st) => s[st])].map((n) => h('td', { class: 'numeric' }, formatNumber(n))),
            h('td', { class: 'numeric' }, percent(s.implemented, s.controls)),
          ),
        ),
      ),
    );
  }

  function evidenceCell(c: ComplianceControl): HTMLElement {
    return h(
      'ul',
      { class: 'evidence-list' },
      c.evidence.map((e) => h('li', { 'data-kind': e.kind }, h('span', { class: 'evidence-kind' }, kindLabel(e.kind)), stateBadge(e.state))),
    );
  }

  function controlsOf(sectionId: string, title: Label): Child {
    // Controls of an item of the measure (6(3)ア) count for the measure (6(3)).
    const rows = data.controls.filter((c) => c.measure === sectionId && (!filter || c.status === filter));
    if (!rows.length) return null;
    const headingId = `${sectionAnchor(sectionId)}-title`;
    return h(
      'section',
      { id: sectionAnchor(sectionId), 'aria-labelledby': headingId, tabindex: -1, class: 'compliance-section' },
      h('h3', { id: headingId }, `${sectionId} ${label(title)}`),
      h(
        'div',
        { class: 'table-scroll' },
        h(
          'table',
          { class: 'data-table compliance-table', 'aria-labelledby': headingId },
          h(
            'thead',
            null,
            h(
              'tr',
              null,
              h('th', { scope: 'col', class: 'col-control' }, t('complianceControl')),
              h('th', { scope: 'col', class: 'col-status' }, t('complianceStatus')),
              h('th', { scope: 'col' }, t('complianceEvidence')),
              h('th', { scope: 'col', class: 'col-exception' }, t('complianceException')),
            ),
          ),
          h(
            'tbody',
            null,
            rows.map((c) =>
              h(
                'tr',
                { 'data-control': c.id, 'data-status': c.status },
                h(
                  'th',
                  { scope: 'row' },
                  h('a', { href: `#/compliance/${encodeURIComponent(c.id)}` }, h('span', { class: 'control-id' }, c.id), ' ', label(c.title)),
                ),
                h('td', null, statusBadge(c.status)),
                h('td', null, evidenceCell(c)),
                h(
                  'td',
                  null,
                  c.exception
                    ? h('a', { href: `#/r/${exceptionsRegisterKey}/${c.exception.id}` }, t('complianceExceptionUntil', { date: formatDate(c.exception.expires_on) }))
                    : '',
                ),
              ),
            ),
          ),
        ),
      ),
    );
  }

  function statusFilter(): HTMLElement {
    const select = h(
      'select',
      {
        id: 'compliance-filter',
        onchange: (e: Event) => {
          const v = (e.target as HTMLSelectElement).value;
          location.hash = v ? `#/compliance?${new URLSearchParams({ status: v })}` : '#/compliance';
        },
      },
      h('option', { value: '' }, t('all')),
      complianceStatuses.map((s) => h('option', { value: s }, `${statusLabel(s)}(${formatNumber(data.totals[s])})`)),
    );
    select.value = filter ?? '';
    return h('div', { class: 'field-inline' }, h('label', { for: 'compliance-filter' }, t('complianceFilter')), select);
  }

  return {
    title: () => t('complianceTitle'),
    render(root) {
      dispose?.();
      dispose = null;
      const chartBox = h('div', { class: 'chart', id: 'compliance-chart', role: 'img', 'aria-label': t('complianceChartAlt') });
      const shown = data.controls.filter((c) => !filter || c.status === filter).length;
      replaceChildren(
        root,
        pageHeading(t('complianceTitle')),
        h('p', null, t('complianceIntro')),
        reportLinks(),
        h('p', { id: 'compliance-summary' }, complianceSummary(data)),
        totalsList(data.totals),
        h(
          'section',
          { 'aria-labelledby': 'compliance-by-section' },
          h('h2', { id: 'compliance-by-section' }, t('complianceBySection')),
          chart && data.sections.length ? chartBox : null,
          h('div', { class: 'table-scroll' }, sectionTable()),
        ),
        h(
          'section',
          { 'aria-labelledby': 'compliance-controls-title' },
          h('h2', { id: 'compliance-controls-title' }, t('complianceControls')),
          h('form', { class: 'search-form', role: 'search', 'aria-label': t('complianceFilter'), onsubmit: (e: Event) => e.preventDefault() }, statusFilter()),
          h('p', { id: 'compliance-shown', class: 'list-summary' }, shown ? t('complianceShown', { n: formatNumber(shown) }) : t('complianceNone')),
          data.sections.map((s) => controlsOf(s.id, s.title)),
        ),
      );
      if (chart && data.sections.length) {
        const d = complianceChartData(data);
        dispose = chart.drawStackedBarChart(chartBox, d.categories, d.stacks, complianceColors);
      }
    },
    destroy() {
      dispose?.();
      dispose = null;
    },
  };
}

/** The policy item with `id` (a section, a measure or an item of one), searched depth first. */
function findItem(items: PolicyItem[] | undefined, id: string): PolicyItem | undefined {
  for (const it of items ?? []) {
    if (it.id === id) return it;
    const found = findItem(it.items, id);
    if (found) return found;
  }
  return undefined;
}

/** "6(3) title", or "6(3) title › 6(3)ア title" for a control of an item of the measure. */
function measureText(policy: PolicyAnswer | null, c: ComplianceControl): string {
  const part = (id: string) => `${id} ${label(findItem(policy?.sections, id)?.title)}`.trim();
  return c.section === c.measure ? part(c.measure) : `${part(c.measure)} › ${part(c.section)}`;
}

export async function loadComplianceControl(id: string): Promise<View> {
  const [data, policy] = await Promise.all([getJson<ComplianceAnswer>('compliance'), getJson<PolicyAnswer>('policy').catch(() => null)]);
  const control = data.controls.find((c) => c.id === id);
  if (!control) return notFoundView();
  const c = control;
  const description = findItem(policy?.sections, c.section)?.controls?.find((x) => x.id === c.id)?.description;
  const evidenceReg = findRegister(evidenceRegisterKey);
  const resultField = evidenceReg?.fields.find((f) => f.name === 'result');
  const mayRecord = can(evidenceRegisterKey, 'create');

  const formHash = (kind: string) =>
    `#/r/${evidenceRegisterKey}/new?${new URLSearchParams({ control: c.value, kind: kindValue(kind) })}`;

  function latest(e: ComplianceEvidence): Child {
    const key = evidenceRegister(e.kind);
    if (key !== null) {
      if (e.state === 'unavailable') return h('span', { class: 'help' }, t('evidenceRegisterPlanned'));
      return t('evidenceRegisterRecords', { n: formatNumber(e.records), date: e.last_change ? formatDate(e.last_change) : '—' });
    }
    // An attestation counts only with an attached file; say so where one is missing.
    const unattached =
      e.kind === 'attestation' && (e.unattached ?? 0) > 0
        ? h(
            'p',
            { class: 'notice notice-warning evidence-unattached' },
            t('attachmentUnattachedAttestation'),
            ' ',
            t('attachmentUnattachedCount', { n: formatNumber(e.unattached ?? 0) }),
          )
        : e.kind === 'attestation' && !e.record
          ? h('span', { class: 'help evidence-unattached' }, ` ${t('attachmentUnattachedAttestation')}`)
          : null;
    const basis = e.kind === 'document' ? documentBasis(e) : null;
    if (!e.record) return [h('span', { class: 'help' }, t('evidenceNoRecord')), unattached, basis];
    const r = e.record;
    return [
      unattached,
      basis,
      h('a', { href: `#/r/${evidenceRegisterKey}/${r.id}`, class: 'evidence-summary' }, r.summary || `#${r.id}`),
      h(
        'span',
        { class: 'help evidence-meta' },
        t('evidenceRecordMeta', {
          result: displayValue(resultField, r.result) || r.result,
          on: formatDate(r.recorded_on),
          source: r.source,
        }),
      ),
    ];
  }

  // Which document and version a document record rests on, with links, and why it counts or not.
  function documentBasis(e: ComplianceEvidence): Child {
    const d = e.document;
    const uncounted = (e.uncounted ?? 0) > 0 ? h('span', { class: 'help' }, ` ${t('evidenceDocumentUncounted', { n: formatNumber(e.uncounted ?? 0) })}`) : null;
    if (!d) return uncounted ? h('p', { class: 'evidence-document' }, uncounted) : null;
    const docLink =
      d.id !== null && !d.hidden
        ? h('a', { href: `#/r/${documentsRegisterKey}/${d.id}`, class: 'evidence-document-link' }, `${d.code ?? ''} ${d.title ?? ''}`.trim())
        : d.hidden
          ? t('evidenceDocumentHidden')
          : null;
    const versionLink = d.version
      ? h('a', { href: `#/r/${documentVersionsRegisterKey}/${d.version.id}`, class: 'evidence-document-version' }, d.version.name)
      : null;
    return h(
      'p',
      { class: d.counts ? 'evidence-document' : 'evidence-document notice notice-warning', 'data-document-state': d.state },
      h('span', { class: 'evidence-document-label' }, `${t('evidenceDocumentBasis')}: `),
      docLink,
      versionLink ? [' ', versionLink] : null,
      h('br'),
      h('span', { class: 'evidence-document-reason' }, label(d.reason)),
      uncounted,
    );
  }

  function action(e: ComplianceEvidence): Child {
    const key = evidenceRegister(e.kind);
    if (key !== null) {
      const reg = findRegister(key);
      return reg && can(reg.key, 'view') ? h('a', { href: `#/r/${encodeURIComponent(reg.key)}`, class: 'button button-quiet' }, t('evidenceOpenRegister')) : null;
    }
    if (!isManual(e.kind)) return h('span', { class: 'help' }, t('evidenceByEngine'));
    if (!mayRecord) return null;
    return h(
      'a',
      { href: formHash(e.kind), class: 'button button-primary', id: `add-evidence-${idFragment(kindValue(e.kind))}` },
      t('evidenceAdd'),
      h('span', { class: 'visually-hidden' }, `(${kindLabel(e.kind)})`),
    );
  }

  function evidenceTable(): HTMLElement {
    return h(
      'div',
      { class: 'table-scroll' },
      h(
        'table',
        { class: 'data-table', id: 'control-evidence', 'aria-labelledby': 'control-evidence-title' },
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            h('th', { scope: 'col' }, t('evidenceKind')),
            h('th', { scope: 'col' }, t('evidenceState')),
            h('th', { scope: 'col' }, t('evidenceLatest')),
            h('th', { scope: 'col' }, t('evidenceValidUntil')),
            h('th', { scope: 'col', class: 'numeric' }, t('evidenceRecords')),
            h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, t('evidenceActions'))),
          ),
        ),
        h(
          'tbody',
          null,
          c.evidence.map((e) =>
            h(
              'tr',
              { 'data-kind': e.kind, 'data-state': e.state },
              h('th', { scope: 'row' }, kindLabel(e.kind)),
              h('td', null, stateBadge(e.state)),
              h('td', null, latest(e)),
              h('td', { class: 'nowrap' }, e.record ? formatDate(e.record.valid_until) : ''),
              h('td', { class: 'numeric' }, formatNumber(e.records)),
              h('td', null, action(e)),
            ),
          ),
        ),
      ),
    );
  }

  function exceptionBlock(): Child {
    if (c.exception) {
      return h(
        'div',
        { class: 'notice notice-warning', id: 'control-exception' },
        h('p', null, t('controlExceptionActive', { title: c.exception.title, date: formatDate(c.exception.expires_on) })),
        can(exceptionsRegisterKey, 'view') ? h('p', null, h('a', { href: `#/r/${exceptionsRegisterKey}/${c.exception.id}` }, t('controlExceptionOpen'))) : null,
      );
    }
    return can(exceptionsRegisterKey, 'create')
      ? h(
          'p',
          { id: 'control-exception-none' },
          t('controlExceptionNone'),
          ' ',
          h(
            'a',
            { href: `#/r/${exceptionsRegisterKey}/new?${new URLSearchParams({ control: c.value })}`, id: 'request-exception' },
            t('controlExceptionRequest'),
          ),
        )
      : h('p', { id: 'control-exception-none' }, t('controlExceptionNone'));
  }

  /** What each state of evidence means (the badges' words explained once). */
  function stateLegend(): HTMLElement {
    const used = (Object.keys(stateKeys) as EvidenceState[]).filter((s) => c.evidence.some((e) => e.state === s));
    return h(
      'dl',
      { class: 'facts state-legend' },
      used.map((s) => h('div', null, h('dt', null, stateBadge(s)), h('dd', null, t(stateHelpKeys[s])))),
    );
  }

  const title = () => `${c.id} ${label(c.title)}`;

  return {
    title,
    render(root) {
      replaceChildren(
        root,
        h(
          'nav',
          { class: 'breadcrumb', 'aria-label': t('breadcrumb') },
          h(
            'ol',
            null,
            h('li', null, h('a', { href: '#/' }, t('dashboard'))),
            h('li', null, h('a', { href: '#/compliance' }, t('complianceTitle'))),
            h('li', null, h('span', { 'aria-current': 'page' }, c.id)),
          ),
        ),
        pageHeading(title()),
        h(
          'div',
          { class: 'notice control-status', id: 'control-status-box' },
          h('p', null, h('strong', null, t('complianceStatus')), ' ', statusBadge(c.status, 'control-status')),
          h('p', null, t(statusHelpKeys[c.status] ?? 'statusUnknownHelp')),
        ),
        description ? h('p', { class: 'summary', id: 'control-description' }, label(description)) : null,
        h(
          'dl',
          { class: 'facts', id: 'control-facts' },
          h('div', null, h('dt', null, t('measureColumn')), h('dd', null, measureText(policy, c))),
          h('div', null, h('dt', null, t('ownerRole')), h('dd', null, roleLabel(c.owner_role))),
          h('div', null, h('dt', null, t('reviewCycle')), h('dd', null, t('reviewMonths', { n: c.review_months }))),
          h('div', null, h('dt', null, t('complianceToday')), h('dd', null, formatDate(data.today))),
        ),
        h(
          'section',
          { 'aria-labelledby': 'control-evidence-title' },
          h('h2', { id: 'control-evidence-title' }, t('controlEvidenceTitle')),
          h('p', null, t('controlEvidenceIntro')),
          evidenceTable(),
          stateLegend(),
          h(
            'p',
            { class: 'button-row' },
            h('a', { href: `#/r/${evidenceRegisterKey}?${new URLSearchParams({ control: c.value })}`, id: 'control-evidence-all' }, t('controlEvidenceAll')),
            // An engine records one result for every control that asks for its kind: those
            // records name no single control.
            c.evidence
              .filter((e) => e.kind.startsWith('automated:'))
              .map((e) =>
                h(
                  'a',
                  { href: `#/r/${evidenceRegisterKey}?${new URLSearchParams({ control: everyControl, kind: kindValue(e.kind) })}`, class: 'control-evidence-shared', 'data-kind': e.kind },
                  t('controlEvidenceShared', { kind: kindLabel(e.kind) }),
                ),
              ),
          ),
        ),
        h(
          'section',
          { 'aria-labelledby': 'control-exception-title' },
          h('h2', { id: 'control-exception-title' }, t('complianceException')),
          exceptionBlock(),
        ),
        h('p', null, h('a', { href: '#/compliance', class: 'button button-quiet', id: 'back-to-compliance' }, t('complianceBack'))),
      );
    },
  };
}
