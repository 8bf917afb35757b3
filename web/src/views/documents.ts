// Policy documents (規程): the versions the user has to acknowledge (a section of the dashboard,
// with 「内容を確認しました」), the panel of a version's record page (its text as plain text, its
// approval decisions, 承認/差戻し opening the decision form pre-filled, links to the diff and the
// acknowledgement progress), the diff page (#/documents/diff?from=&to=) and the progress page
// (#/documents/progress?version=ID). Every text goes in as text: the Markdown is never rendered.

import { ApiError, apiUrl, errorMessage, getJson, sendJson } from '../api';
import { h, replaceChildren, type Child } from '../dom';
import { displayValue } from '../fields';
import { formatDate, formatNumber, label, t } from '../i18n';
import { acknowledgementRemindersRegisterKey, acknowledgementsRegisterKey, documentDecisionsRegisterKey, documentVersionsRegisterKey } from '../modules';
import { can } from '../session';
import { announce, findRegister, redraw, type View } from '../state';
import type { AckProgress, DocumentDiff, ListAnswer, PendingDocument, RegisterRecord, ReviewDue } from '../types';
import { alertBox, pageHeading } from './common';

const versionHref = (id: number) => `#/r/${documentVersionsRegisterKey}/${id}`;

// ---- Dashboard: 確認が必要な規程 -------------------------------------------------------------

/** The versions the user has to acknowledge, or null when they cannot be loaded. */
export async function loadPendingDocuments(): Promise<PendingDocument[] | null> {
  if (!findRegister(acknowledgementsRegisterKey)) return null;
  const a = await getJson<{ items: PendingDocument[] }>('documents/pending');
  return a.items ?? [];
}

/**
 * The dashboard's list of versions to acknowledge; acknowledging one removes it. `banner()` is
 * the notice at the top of the home page for the versions the user was reminded of (督促): the
 * document, how long it has been in force, the reminder's date and the acknowledge button.
 */
export function pendingDocumentsPart(initial: PendingDocument[] | null): { render(): Child; banner(): Child } {
  let items = initial;
  let busy = 0;
  let error = '';

  async function acknowledge(p: PendingDocument): Promise<void> {
    const reg = findRegister(acknowledgementsRegisterKey);
    if (busy || !reg) return;
    busy = p.version;
    error = '';
    redraw();
    try {
      await sendJson('POST', reg.path, { doc_version: p.version });
      items = (items ?? []).filter((x) => x.version !== p.version);
      busy = 0;
      redraw();
      announce(t('docAcknowledged', { title: p.title }), 'success');
      document.getElementById('doc-pending-heading')?.focus();
    } catch (err) {
      busy = 0;
      error = err instanceof ApiError && err.errors.length ? err.errors.map((e) => e.message).join(' ') : errorMessage(err);
      redraw();
      document.getElementById('doc-pending-error')?.focus();
    }
  }

  const ackButton = (p: PendingDocument, id: string) =>
    h(
      'button',
      {
        type: 'button',
        class: 'button button-primary',
        id,
        'aria-disabled': busy ? 'true' : null,
        onclick: () => void acknowledge(p),
      },
      t('docAcknowledge'),
    );

  return {
    banner() {
      const reminded = (items ?? []).filter((p) => p.reminder !== null);
      if (reminded.length === 0) return null;
      return h(
        'section',
        { 'aria-labelledby': 'doc-reminders-heading', id: 'doc-reminders', class: 'notice notice-warning doc-reminders', role: 'region' },
        h('h2', { id: 'doc-reminders-heading' }, t('docReminderBannerTitle')),
        h(
          'ul',
          { class: 'doc-pending-list' },
          reminded.map((p) =>
            h(
              'li',
              { 'data-version': String(p.version), class: 'doc-pending-item doc-reminder' },
              h(
                'a',
                { href: versionHref(p.version) },
                t('docReminderBannerItem', {
                  code: p.code,
                  title: p.title,
                  no: p.version_no,
                  days: formatNumber(p.outstanding_days),
                  date: formatDate(p.reminder?.sent_on),
                }),
              ),
              ackButton(p, `doc-remind-ack-${p.version}`),
            ),
          ),
        ),
      );
    },
    render() {
      if (!items || (items.length === 0 && !error)) return null;
      return h(
        'section',
        { 'aria-labelledby': 'doc-pending-heading', id: 'doc-pending', class: 'doc-pending' },
        h('h2', { id: 'doc-pending-heading', tabindex: -1 }, t('docPendingTitle')),
        h('p', { class: 'help' }, t('docPendingIntro')),
        alertBox('doc-pending-error', error),
        h(
          'ul',
          { class: 'doc-pending-list' },
          items.map((p) =>
            h(
              'li',
              { 'data-version': String(p.version), class: 'doc-pending-item' },
              h(
                'a',
                { href: versionHref(p.version) },
                t('docPendingItem', { code: p.code, title: p.title, no: p.version_no, date: formatDate(p.effective_date) }),
              ),
              ackButton(p, `doc-ack-${p.version}`),
            ),
          ),
        ),
      );
    },
  };
}

// ---- Dashboard: 見直し時期の規程 -------------------------------------------------------------

/** The documents due for review, for those who may draft versions; null otherwise. */
export async function loadReviewsDue(): Promise<ReviewDue[] | null> {
  if (!can(documentVersionsRegisterKey, 'create')) return null;
  const a = await getJson<{ items: ReviewDue[] }>('documents/reviews');
  return a.items ?? [];
}

/** The dashboard's list of documents whose review falls due within 30 days or is overdue. */
export function reviewsDuePart(items: ReviewDue[] | null): Child {
  if (!items || items.length === 0) return null;
  return h(
    'section',
    { 'aria-labelledby': 'doc-reviews-heading', id: 'doc-reviews', class: 'doc-pending' },
    h('h2', { id: 'doc-reviews-heading' }, t('docReviewsTitle')),
    h('p', { class: 'help' }, t('docReviewsIntro')),
    h(
      'ul',
      { class: 'doc-pending-list' },
      items.map((r) =>
        h(
          'li',
          { 'data-document': String(r.document), class: 'doc-pending-item' },
          h('a', { href: versionHref(r.version) }, t('docReviewsItem', { code: r.code, title: r.title, no: r.version_no })),
          h(
            'span',
            { class: r.overdue ? 'badge badge-overdue' : 'badge badge-pending' },
            t(r.overdue ? 'docReviewOverdue' : 'docReviewDue', { date: formatDate(r.due_on), months: r.review_months }),
          ),
          r.revision !== null ? h('a', { href: versionHref(r.revision) }, t('docReviewRevision')) : null,
        ),
      ),
    ),
  );
}

// ---- A version's record page -----------------------------------------------------------------

export interface VersionPanelData {
  decisions: RegisterRecord[] | null;
  previous: number | null;
}

/** The decisions of version `record` and the id of the document's previous version. */
export async function loadVersionPanel(record: RegisterRecord): Promise<VersionPanelData> {
  const decisionsReg = findRegister(documentDecisionsRegisterKey);
  const versionsReg = findRegister(documentVersionsRegisterKey);
  const no = typeof record.version_no === 'number' ? record.version_no : 0;
  const [decisions, previous] = await Promise.all([
    decisionsReg && can(decisionsReg.key, 'view')
      ? getJson<ListAnswer>(decisionsReg.path, new URLSearchParams({ doc_version: String(record.id), limit: '500' }))
          .then((a) => a.items)
          .catch(() => null)
      : Promise.resolve(null),
    versionsReg && no > 1 && record.document != null
      ? getJson<ListAnswer>(versionsReg.path, new URLSearchParams({ document: String(record.document), limit: '500' }))
          .then((a) => {
            const earlier = a.items.filter((v) => typeof v.version_no === 'number' && v.version_no < no);
            earlier.sort((x, y) => (y.version_no as number) - (x.version_no as number));
            return earlier[0]?.id ?? null;
          })
          .catch(() => null)
      : Promise.resolve(null),
  ]);
  return { decisions, previous };
}

/**
 * A public version's (基本方針 or other public rules, 決裁 or 施行) standalone page for the body's
 * website and its PDF, both made by the server; nothing for other versions.
 */
function publicLinks(record: RegisterRecord): Child[] {
  const published = (record.kind === 'basic_policy' || record.kind === 'other') && (record.status === 'approved' || record.status === 'in_force');
  if (!published) return [];
  const query = new URLSearchParams({ version: String(record.id) });
  return [
    h('a', { href: apiUrl('documents/public', query), class: 'button button-quiet', id: 'doc-public-html', target: '_blank', rel: 'noopener' }, t('docPublicPage')),
    h('a', { href: apiUrl('documents/public.pdf', query), class: 'button button-quiet', id: 'doc-public-pdf', download: '' }, t('docPublicPdf')),
  ];
}

/** The panel under a version's form: text, decisions, decision buttons, diff and progress links. */
export function versionPanel(record: RegisterRecord | null, data: VersionPanelData | null): Child {
  if (!record || !data) return null;
  const decisionsReg = findRegister(documentDecisionsRegisterKey);
  const field = (name: string) => decisionsReg?.fields.find((f) => f.name === name);
  const body = typeof record.body === 'string' ? record.body : '';
  const id = record.id;
  const decide = (decision: string) => `#/r/${documentDecisionsRegisterKey}/new?${new URLSearchParams({ doc_version: String(id), decision })}`;
  const mayDecide = record.status === 'review' && decisionsReg && can(decisionsReg.key, 'create');
  const links: Child[] = [
    mayDecide ? h('a', { href: decide('approve'), class: 'button button-primary', id: 'doc-approve' }, t('docApprove')) : null,
    mayDecide ? h('a', { href: decide('return'), class: 'button', id: 'doc-return' }, t('docReturn')) : null,
    data.previous !== null
      ? h('a', { href: `#/documents/diff?${new URLSearchParams({ from: String(data.previous), to: String(id) })}`, class: 'button button-quiet', id: 'doc-diff' }, t('docDiffOpen'))
      : null,
    ...publicLinks(record),
    record.status === 'in_force' && can(acknowledgementsRegisterKey, 'view')
      ? h('a', { href: `#/documents/progress?${new URLSearchParams({ version: String(id) })}`, class: 'button button-quiet', id: 'doc-progress' }, t('docProgressOpen'))
      : null,
  ].filter(Boolean);

  const decisionList = (): Child => {
    if (data.decisions === null) return decisionsReg && can(decisionsReg.key, 'view') ? h('p', { class: 'notice notice-error' }, t('docDecisionsError')) : null;
    if (data.decisions.length === 0) return h('p', { id: 'doc-decisions-none' }, t('docDecisionsNone'));
    const cols = ['round', 'step', 'role', 'decision', 'decided_by', 'decided_on', 'comment'];
    return h(
      'table',
      { class: 'data-table', id: 'doc-decisions' },
      h('thead', null, h('tr', null, cols.map((c) => h('th', { scope: 'col' }, label(field(c)?.label) || c)))),
      h(
        'tbody',
        null,
        data.decisions.map((d) => {
          const by = displayValue(field('decided_by'), d.decided_by, d._refs?.decided_by?.label);
          const absent = d._refs?.absent_holder?.label ?? (d.absent_holder != null ? `#${String(d.absent_holder)}` : '');
          return h(
            'tr',
            { 'data-step': String(d.step ?? ''), 'data-decision': String(d.decision ?? '') },
            h('td', { class: 'numeric' }, String(d.round ?? '')),
            h('td', { class: 'numeric' }, String(d.step ?? '')),
            h('td', null, displayValue(field('role'), d.role)),
            h('td', null, h('span', { class: `badge badge-decision-${String(d.decision)}` }, displayValue(field('decision'), d.decision))),
            h(
              'td',
              null,
              by,
              d.deputy === true
                ? h('span', { class: 'badge badge-deputy' }, absent ? t('docDeputyFor', { name: absent }) : t('docDeputyMark'))
                : null,
            ),
            h('td', null, typeof d.decided_on === 'string' ? formatDate(d.decided_on) : ''),
            h('td', null, typeof d.comment === 'string' ? d.comment : ''),
          );
        }),
      ),
    );
  };

  return h(
    'section',
    { class: 'record-section', id: 'doc-version-panel', 'aria-labelledby': 'doc-body-title' },
    links.length ? h('div', { class: 'button-row', id: 'doc-actions' }, links) : null,
    h('h2', { id: 'doc-body-title' }, t('docBodyTitle')),
    body ? h('pre', { class: 'doc-body', id: 'doc-body' }, body) : h('p', null, t('docBodyEmpty')),
    h('h2', { id: 'doc-decisions-title' }, t('docDecisionsTitle')),
    decisionList(),
  );
}

// ---- #/documents/diff?from=&to= --------------------------------------------------------------

const lineClass = { '+': 'diff-add', '-': 'diff-del', '=': 'diff-same' } as const;
const lineMark = { '+': '+', '-': '-', '=': ' ' } as const;

export async function loadDocumentDiff(query: URLSearchParams): Promise<View> {
  const from = query.get('from') ?? '';
  const to = query.get('to') ?? '';
  const ok = /^\d+$/.test(from) && /^\d+$/.test(to);
  const diff = ok ? await getJson<DocumentDiff>('documents/diff', new URLSearchParams({ from, to })) : null;
  const name = (r: RegisterRecord) => (typeof r.name === 'string' ? r.name : `#${r.id}`);
  return {
    title: () => t('docDiffTitle'),
    render(root) {
      if (!diff) {
        replaceChildren(root, pageHeading(t('docDiffTitle')), h('p', { class: 'notice notice-error' }, t('docDiffMissing')));
        return;
      }
      const changed = diff.lines.some((l) => l.op !== '=');
      replaceChildren(
        root,
        pageHeading(t('docDiffTitle')),
        h(
          'p',
          { id: 'doc-diff-summary' },
          h('a', { href: versionHref(diff.from.id) }, name(diff.from)),
          ' → ',
          h('a', { href: versionHref(diff.to.id) }, name(diff.to)),
          ' ',
          t('docDiffSummary', { added: formatNumber(diff.added), removed: formatNumber(diff.removed) }),
        ),
        changed ? null : h('p', { class: 'notice' }, t('docDiffNone')),
        h(
          'div',
          { class: 'doc-diff', id: 'doc-diff', role: 'group', 'aria-label': t('docDiffCaption') },
          diff.lines.map((l) =>
            h(
              'div',
              { class: `diff-line ${lineClass[l.op]}`, 'data-op': l.op },
              h('span', { class: 'diff-mark', 'aria-hidden': 'true' }, lineMark[l.op]),
              l.op === '+' ? h('span', { class: 'visually-hidden' }, `${t('docDiffAdded')}: `) : null,
              l.op === '-' ? h('span', { class: 'visually-hidden' }, `${t('docDiffRemoved')}: `) : null,
              h('span', { class: 'diff-text' }, l.text),
            ),
          ),
        ),
      );
    },
  };
}

// ---- #/documents/progress?version=ID ---------------------------------------------------------

export async function loadDocumentProgress(query: URLSearchParams): Promise<View> {
  const version = query.get('version') ?? '';
  const load = () => getJson<AckProgress>('documents/progress', new URLSearchParams({ version }));
  let data = /^\d+$/.test(version) ? await load() : null;
  let sending = false;
  let remindError = '';

  // 督促: the server counts and records who is reminded; the page then shows the new record.
  async function remind(): Promise<void> {
    const reg = findRegister(acknowledgementRemindersRegisterKey);
    if (!reg || !data || sending) return;
    sending = true;
    remindError = '';
    redraw();
    try {
      const sent = await sendJson<{ recipients: number }>('POST', reg.path, { doc_version: data.version.id });
      data = await load();
      sending = false;
      redraw();
      announce(t('docRemindSent', { n: formatNumber(sent.recipients) }), 'success');
    } catch (err) {
      sending = false;
      remindError = err instanceof ApiError && err.errors.length ? err.errors.map((e) => e.message).join(' ') : errorMessage(err);
      redraw();
      document.getElementById('doc-remind-error')?.focus();
    }
  }

  function remindersSection(d: AckProgress): Child {
    const last = d.reminders.last;
    const mayRemind = can(acknowledgementRemindersRegisterKey, 'create') && d.pending.length > 0;
    return h(
      'section',
      { 'aria-labelledby': 'doc-reminders-title', id: 'doc-progress-reminders' },
      h('h2', { id: 'doc-reminders-title' }, t('docRemindersTitle')),
      h(
        'p',
        { id: 'doc-reminders-last', 'data-count': String(d.reminders.count) },
        last
          ? t('docRemindersLast', {
              date: formatDate(last.sent_on),
              name: last.sent_by_name || t('unset'),
              n: formatNumber(last.recipients),
              count: formatNumber(d.reminders.count),
            })
          : t('docRemindersNone'),
      ),
      alertBox('doc-remind-error', remindError),
      mayRemind
        ? [
            h(
              'button',
              { type: 'button', class: 'button button-primary', id: 'doc-remind', 'aria-disabled': sending ? 'true' : null, onclick: () => void remind() },
              t('docRemindSend', { n: formatNumber(d.pending.length) }),
            ),
            h('p', { class: 'help' }, t('docRemindHelp')),
          ]
        : null,
    );
  }
  const pct = (n: number) => `${n}%`;
  const bureauName = (id: number | null) => data?.bureaus.find((b) => b.id === id)?.name || t('unset');
  return {
    title: () => t('docProgressTitle'),
    render(root) {
      if (!data) {
        replaceChildren(root, pageHeading(t('docProgressTitle')), h('p', { class: 'notice notice-error' }, t('docProgressMissing')));
        return;
      }
      const v = data.version;
      const numbers = (c: { users: number; acknowledged: number; percent: number }) => [
        h('td', { class: 'numeric' }, formatNumber(c.users)),
        h('td', { class: 'numeric' }, formatNumber(c.acknowledged)),
        h('td', { class: 'numeric' }, pct(c.percent)),
      ];
      const numberHeads = () => [t('docProgressUsers'), t('docProgressAcknowledged'), t('docProgressRate')].map((c) => h('th', { scope: 'col', class: 'numeric' }, c));
      replaceChildren(
        root,
        pageHeading(t('docProgressTitle')),
        h('p', null, h('a', { href: versionHref(v.id), id: 'doc-progress-version' }, typeof v.name === 'string' ? v.name : `#${v.id}`)),
        h(
          'p',
          { id: 'doc-progress-summary', class: 'lead' },
          t('docProgressSummary', { users: formatNumber(data.totals.users), acknowledged: formatNumber(data.totals.acknowledged), percent: data.totals.percent }),
        ),
        h(
          'table',
          { class: 'data-table', id: 'doc-progress-bureaus' },
          h('caption', null, t('docProgressByBureau')),
          h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('docProgressBureau')), numberHeads())),
          h('tbody', null, data.bureaus.map((b) => h('tr', { 'data-bureau': String(b.id ?? '') }, h('th', { scope: 'row' }, b.name || t('unset')), numbers(b)))),
        ),
        h(
          'table',
          { class: 'data-table', id: 'doc-progress-sections' },
          h('caption', null, t('docProgressBySection')),
          h(
            'thead',
            null,
            h('tr', null, h('th', { scope: 'col' }, t('docProgressBureau')), h('th', { scope: 'col' }, t('docProgressSection')), numberHeads()),
          ),
          h(
            'tbody',
            null,
            data.sections.map((s) =>
              h('tr', { 'data-section': String(s.id ?? '') }, h('td', null, bureauName(s.bureau)), h('th', { scope: 'row' }, s.name || t('unset')), numbers(s)),
            ),
          ),
        ),
        h(
          'section',
          { 'aria-labelledby': 'doc-progress-pending-title', id: 'doc-progress-pending' },
          h('h2', { id: 'doc-progress-pending-title' }, t('docProgressPendingTitle')),
          data.pending.length
            ? h('ul', { class: 'doc-pending-people' }, data.pending.map((p) => h('li', { 'data-login': p.login }, p.section_name ? `${p.name}(${p.section_name})` : p.name)))
            : h('p', null, t('docProgressPendingNone')),
        ),
        remindersSection(data),
      );
    },
  };
}
