// 通信監視 (#/m/monitor; 基本方針 §6(3)イ 不正通信の監視): what `mamori monitor --report-to`
// recorded as evidence (kind automated_monitor, docs/monitor.md "Reporting to the server").
//
// The page asks the server for the monitor's reports of the last `recentDays` days (GET
// monitor/reports: the server reads their raw results, newest first within its bounds, and
// answers their health and their alerts, each alert once). It shows:
// - the health of the latest report (when, where, inputs, events, malformed share, events per
//   second, the span of event time), and prominently when that report is older than a day (the
//   monitor may have stopped) or the monitor was not healthy;
// - the alerts of those reports, critical first, with filters (kind, severity, zone, text), each
//   with its detail sentence, zones with their labels, ports, count, matched rules, evidence
//   locations and any further fields a newer monitor adds (unknown kinds are shown by their key);
// - alerts per day and kind (ECharts, with the same figures as a table);
// - the recent reports, the controls the reports are evidence for, and how to record reports.
//
// An alert reported twice (the same logs read again) is shown once. The server decides who may
// see evidence (`evidence: view`); when it refuses, its message is shown. Turning an alert into
// an incident waits for the incident register (see incidentPlace below).

import { ApiError, getJson } from '../api';
import { h, replaceChildren, type Child } from '../dom';
import { formatDateTime, formatNumber, label, lang, t, type MessageKey } from '../i18n';
import { evidenceRegisterKey, moduleOfPage } from '../modules';
import { announce, type View } from '../state';
import type { ComplianceAnswer, ComplianceControl, RegisterRecord } from '../types';
import { stateBadge, statusBadge } from './compliance';
import { engineHowTo, errorBox, pageHeading } from './common';

/** The evidence register's kind of a monitor report, and the catalog's name of it. */
const monitorKind = 'automated_monitor';
const monitorCatalogKind = 'automated:monitor';

/** The reports whose alerts the page shows: those of the last days (the server bounds how many it reads). */
const recentDays = 7;
/** A latest report older than this says the monitor may have stopped. */
const staleMs = 24 * 60 * 60 * 1000;

// ---- Reading the raw result (every value as data only) ---------------------------------------

const list = (x: unknown): unknown[] => (Array.isArray(x) ? x : []);
const text = (x: unknown): string => (typeof x === 'string' ? x : typeof x === 'number' ? String(x) : '');
const num = (x: unknown): number => (typeof x === 'number' && Number.isFinite(x) ? x : 0);
const object = (x: unknown): Record<string, unknown> => (x && typeof x === 'object' && !Array.isArray(x) ? (x as Record<string, unknown>) : {});
const counts = (x: unknown): Record<string, number> => Object.fromEntries(Object.entries(object(x)).map(([k, v]) => [k, num(v)]));

interface Bilingual {
  ja: string;
  en: string;
}

interface MonitorAlert {
  kind: string;
  severity: string;
  ts: string;
  src: string;
  dst: string;
  proto: string;
  dport: number | null;
  from_zone: string;
  to_zone: string;
  count: number;
  detail: string;
  rules: { id: string; title: string }[];
  evidence: string[];
  /** Fields this page does not know (a newer monitor's), in the order given. */
  extra: [string, unknown][];
  /** The report it came from. */
  report: MonitorReport;
}

interface MonitorReport {
  record: RegisterRecord;
  host: string;
  since: string;
  ranAt: string;
  healthy: boolean;
  problems: Bilingual[];
  inputs: { name: string; format: string; lines: number; events: number }[];
  inputsTotal: number;
  lines: number;
  events: number;
  ignored: number;
  malformed: number;
  malformedShare: number;
  maxMalformedShare: number;
  samples: { file: string; line: number; reason: Bilingual; excerpt: string }[];
  eventsPerSecond: number;
  firstEvent: string;
  lastEvent: string;
  zones: Map<string, string>;
  alertsTotal: number;
  alertsByKind: Record<string, number>;
  alertsLeftOut: number;
}

const knownAlertFields = new Set(['kind', 'severity', 'ts', 'src', 'dst', 'proto', 'dport', 'from_zone', 'to_zone', 'count', 'detail', 'rules', 'evidence']);

const bilingual = (x: unknown): Bilingual => ({ ja: text(object(x).ja), en: text(object(x).en) });

/** A monitor report from its raw result (or the server's summary of it) and its record. */
function reportFromDoc(doc: Record<string, unknown>, record: RegisterRecord): MonitorReport {
  const health = object(doc.health);
  const report: MonitorReport = {
    record,
    host: text(doc.host),
    since: text(doc.since),
    ranAt: text(doc.ran_at),
    healthy: health.healthy === true,
    problems: list(health.problems).map(bilingual),
    inputs: list(health.inputs).map((x) => {
      const i = object(x);
      return { name: text(i.name), format: text(i.format), lines: num(i.lines), events: num(i.events) };
    }),
    inputsTotal: num(health.inputs_total),
    lines: num(health.lines),
    events: num(health.events),
    ignored: num(health.ignored),
    malformed: num(health.malformed),
    malformedShare: num(health.malformed_share),
    maxMalformedShare: num(health.max_malformed_share),
    samples: list(health.malformed_samples).map((x) => {
      const s = object(x);
      return { file: text(s.file), line: num(s.line), reason: bilingual(s.reason), excerpt: text(s.excerpt) };
    }),
    eventsPerSecond: num(health.events_per_second),
    firstEvent: text(health.first_event),
    lastEvent: text(health.last_event),
    zones: new Map(list(doc.zones).map((z) => [text(object(z).name), text(object(z).description)])),
    alertsTotal: num(doc.alerts_total),
    alertsByKind: counts(doc.alerts_by_kind),
    alertsLeftOut: num(doc.alerts_left_out),
  };
  return report;
}

/** One alert as the monitor printed it (every value read as data only). */
function alertFrom(a: Record<string, unknown>, report: MonitorReport): MonitorAlert {
  return {
    kind: text(a.kind),
    severity: text(a.severity),
    ts: text(a.ts),
    src: text(a.src),
    dst: text(a.dst),
    proto: text(a.proto),
    dport: typeof a.dport === 'number' ? a.dport : null,
    from_zone: text(a.from_zone),
    to_zone: text(a.to_zone),
    count: num(a.count) || 1,
    detail: text(a.detail),
    rules: list(a.rules).map((r) => ({ id: text(object(r).id), title: text(object(r).title) })),
    evidence: list(a.evidence).map(text).filter(Boolean),
    // The server adds the report's record id ("report"): not a field of the alert.
    extra: Object.entries(a).filter(([k]) => !knownAlertFields.has(k) && k !== 'report'),
    report,
  };
}

// ---- Words for kinds and severities ------------------------------------------------------------

const severityOrder = ['critical', 'high', 'medium', 'low'];
const severityKeys: Record<string, MessageKey> = {
  critical: 'monitorSeverityCritical',
  high: 'monitorSeverityHigh',
  medium: 'monitorSeverityMedium',
  low: 'monitorSeverityLow',
};
const kindKeys: Record<string, MessageKey> = {
  separation: 'monitorKindSeparation',
  blocklist: 'monitorKindBlocklist',
  sigma: 'monitorKindSigma',
  scan: 'monitorKindScan',
  beacon: 'monitorKindBeacon',
  exfiltration: 'monitorKindExfiltration',
  dns_tunnel: 'monitorKindDnsTunnel',
};

const severityRank = (s: string): number => {
  const i = severityOrder.indexOf(s);
  return i < 0 ? severityOrder.length : i;
};
const severityText = (s: string): string => (severityKeys[s] ? t(severityKeys[s]!) : s || '—');
/** A kind's name; a kind this page does not know yet shows its key. */
const kindText = (k: string): string => (kindKeys[k] ? t(kindKeys[k]!) : k);

function severityBadge(s: string): HTMLElement {
  return h('span', { class: `badge monitor-severity monitor-severity-${severityKeys[s] ? s : 'other'}`, 'data-severity': s }, severityText(s));
}

/** A value of a field this page does not know, as short text. */
function extraText(v: unknown): string {
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (Array.isArray(v) && v.every((x) => typeof x !== 'object' || x === null)) return v.map((x) => (typeof x === 'number' ? formatNumber(x) : String(x))).join(', ');
  const s = JSON.stringify(v) ?? '';
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}

function percent(share: number): string {
  return new Intl.NumberFormat(lang() === 'en' ? 'en-GB' : 'ja-JP', { style: 'percent', maximumFractionDigits: 1, minimumFractionDigits: 1 }).format(share);
}

/** The local calendar day of an ISO time (YYYY-MM-DD), '' when unreadable. */
function localDay(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

// ---- Loading -----------------------------------------------------------------------------------

interface MonitorData {
  /** The reports of the window, newest first (the first is the latest); only those read. */
  reports: MonitorReport[];
  /** Every alert of those reports, once, most severe first (the server's order). */
  alerts: MonitorAlert[];
  /** Alerts the reports left out (counted by the monitor). */
  alertsLeftOut: number;
  /** Alerts of the reports read that are beyond the server's bound (in the reports, not shown). */
  alertsBeyond: number;
  /** Reports of the window whose alerts were not read (beyond the server's bounds). */
  unread: number;
  /** Raw results that were not a monitor report (evidence posted by other means). */
  unreadable: number;
  /** Reports in the window, and how many of them were read. */
  total: number;
  read: number;
  zones: Map<string, string>;
  compliance: ComplianceAnswer | null;
}

/** The answer of GET monitor/reports (docs/api.md). */
interface ReportsAnswer {
  reports: Record<string, unknown>[];
  reports_total: number;
  reports_read: number;
  unreadable: number;
  latest: Record<string, unknown> | null;
  zones: Record<string, unknown>;
  alerts: Record<string, unknown>[];
  alerts_left_out: number;
  alerts_beyond: number;
  reports_unread: number;
}

async function loadData(): Promise<MonitorData> {
  // The server reads the reports of the window (their raw results) and answers their health and
  // their alerts, each alert once, critical first.
  const [answer, compliance] = await Promise.all([
    getJson<ReportsAnswer>('monitor/reports', new URLSearchParams({ days: String(recentDays) })),
    getJson<ComplianceAnswer>('compliance').catch(() => null),
  ]);
  const reports: MonitorReport[] = [];
  const byId = new Map<number, MonitorReport>();
  for (const entry of list(answer.reports).map(object)) {
    if (entry.read !== true) continue;
    const record = { id: num(entry.id), created_at: text(entry.created_at), source: text(entry.source), result: text(entry.result), summary: text(entry.summary) } as unknown as RegisterRecord;
    const latest = object(answer.latest);
    const doc =
      reports.length === 0 && num(latest.record) === record.id
        ? latest
        : {
            report: 'mamori-monitor',
            host: entry.host,
            ran_at: entry.ran_at,
            since: entry.since,
            health: { healthy: entry.healthy, events: entry.events },
            alerts_total: entry.alerts_total,
            alerts_left_out: entry.alerts_left_out,
          };
    const rep = reportFromDoc(doc, record);
    reports.push(rep);
    byId.set(record.id, rep);
  }
  const alerts: MonitorAlert[] = [];
  for (const a of list(answer.alerts).map(object)) {
    const rep = byId.get(num(a.report));
    if (rep && text(a.kind) !== '') alerts.push(alertFrom(a, rep));
  }
  return {
    reports,
    alerts,
    alertsLeftOut: num(answer.alerts_left_out),
    alertsBeyond: num(answer.alerts_beyond),
    unread: num(answer.reports_unread),
    unreadable: num(answer.unreadable),
    total: num(answer.reports_total),
    read: num(answer.reports_read),
    zones: new Map(Object.entries(object(answer.zones)).map(([k, v]) => [k, text(v)])),
    compliance,
  };
}

// ---- Filters -----------------------------------------------------------------------------------

interface Filters {
  kind: string;
  severity: string;
  zone: string;
  q: string;
}
const filterNames = ['kind', 'severity', 'zone', 'q'] as const;

function matches(a: MonitorAlert, f: Filters): boolean {
  if (f.kind && a.kind !== f.kind) return false;
  if (f.severity && a.severity !== f.severity) return false;
  if (f.zone && a.from_zone !== f.zone && a.to_zone !== f.zone) return false;
  if (f.q) {
    const needle = f.q.toLowerCase();
    const hay = [a.src, a.dst, a.detail, a.kind, kindText(a.kind), a.from_zone, a.to_zone, ...a.rules.map((r) => `${r.id} ${r.title}`), ...a.evidence, a.dport === null ? '' : String(a.dport), ...a.extra.map(([k, v]) => `${k} ${extraText(v)}`)];
    if (!hay.some((s) => s.toLowerCase().includes(needle))) return false;
  }
  return true;
}

// ---- The page ----------------------------------------------------------------------------------

export async function loadMonitor(query: URLSearchParams): Promise<View> {
  const title = () => label(moduleOfPage('monitor')?.label) || t('monitorTitle');
  let data: MonitorData;
  const chartModule = import('../chart').catch(() => null);
  try {
    data = await loadData();
  } catch (err) {
    // A 401 goes to the login page (main.ts); any other refusal is shown as the server said it.
    if (err instanceof ApiError && err.status === 401) throw err;
    return {
      title,
      render(root) {
        replaceChildren(root, pageHeading(title()), h('div', { id: 'monitor-error' }, errorBox(err)));
      },
    };
  }
  const chart = await chartModule;
  const latest = data.reports[0] ?? null;
  const controls: ComplianceControl[] = (data.compliance?.controls ?? []).filter((c) => c.evidence.some((e) => e.kind === monitorCatalogKind));

  // Every alert of the reports read, once (the server keeps the newest report's copy of an alert
  // reported again), critical first, then the latest first.
  const alerts = data.alerts;
  const leftOut = data.alertsLeftOut;
  // Zone labels: the newest report's description of each zone.
  const zoneLabels = data.zones;
  // A zone the alert does not name (only separation alerts name both) is a dash, not a guess.
  const zoneText = (z: string): string => (z ? (zoneLabels.get(z) ? `${z}(${zoneLabels.get(z)})` : z) : '—');

  const filters: Filters = { kind: '', severity: '', zone: '', q: '' };
  for (const n of filterNames) filters[n] = (query.get(n) ?? '').slice(0, 200);

  let disposeChart: (() => void) | null = null;
  let listBox: HTMLElement | null = null;

  // ---- Health of the latest report ----

  function staleNotice(rep: MonitorReport): Child {
    const at = text(rep.record.created_at) || rep.ranAt;
    const age = Date.now() - new Date(at).getTime();
    if (!(age > staleMs)) return null;
    const days = Math.floor(age / (24 * 60 * 60 * 1000));
    return h(
      'div',
      { class: 'notice notice-error monitor-stale', id: 'monitor-stale', role: 'alert' },
      h('p', null, h('strong', null, t('monitorStale', { days: formatNumber(days) }))),
      h('p', null, t('monitorStaleText', { at: formatDateTime(at) })),
    );
  }

  function verdict(rep: MonitorReport): HTMLElement {
    return h(
      'div',
      { class: `notice ${rep.healthy ? 'notice-success' : 'notice-error'} monitor-verdict`, id: 'monitor-verdict', 'data-healthy': rep.healthy ? 'true' : 'false' },
      h('p', null, h('strong', null, rep.healthy ? t('monitorHealthy') : t('monitorUnhealthy'))),
      rep.healthy
        ? h('p', null, t('monitorHealthyText', { share: percent(rep.maxMalformedShare) }))
        : h('ul', { id: 'monitor-problems' }, rep.problems.map((p) => h('li', null, lang() === 'en' ? p.en || p.ja : p.ja || p.en))),
    );
  }

  function fact(id: string, key: MessageKey, value: Child, help?: Child): HTMLElement {
    return h('div', null, h('dt', null, t(key)), h('dd', { id }, value, help ? [' ', h('span', { class: 'help' }, help)] : null));
  }

  function healthFacts(rep: MonitorReport): HTMLElement {
    const r = rep.record;
    const kinds = Object.entries(rep.alertsByKind).filter(([, n]) => n > 0);
    return h(
      'dl',
      { class: 'facts', id: 'monitor-health' },
      fact('monitor-reported-at', 'monitorReportedAt', formatDateTime(text(r.created_at)) || formatDateTime(rep.ranAt)),
      fact('monitor-host', 'monitorHost', rep.host ? h('code', null, rep.host) : '—'),
      fact('monitor-source', 'monitorSource', h('code', null, text(r.source))),
      fact('monitor-span', 'monitorSpan', rep.firstEvent ? t('monitorSpanValue', { from: formatDateTime(rep.firstEvent), to: formatDateTime(rep.lastEvent) }) : '—'),
      fact('monitor-events', 'monitorEvents', formatNumber(rep.events), t('monitorLinesHelp', { lines: formatNumber(rep.lines), ignored: formatNumber(rep.ignored) })),
      fact(
        'monitor-malformed',
        'monitorMalformed',
        h('span', { class: rep.malformedShare > rep.maxMalformedShare ? 'monitor-bad' : null }, t('monitorMalformedValue', { n: formatNumber(rep.malformed), share: percent(rep.malformedShare) })),
        t('monitorMalformedHelp', { share: percent(rep.maxMalformedShare) }),
      ),
      fact('monitor-rate', 'monitorRate', t('monitorRateValue', { n: formatNumber(rep.eventsPerSecond) })),
      fact(
        'monitor-alert-count',
        'monitorAlertCount',
        t('monitorAlertCountValue', { n: formatNumber(rep.alertsTotal) }),
        kinds.length ? kinds.map(([k, n]) => `${kindText(k)} ${formatNumber(n)}`).join('、') : null,
      ),
      fact(
        'monitor-record',
        'monitorRecord',
        [
          h('a', { href: `#/r/${evidenceRegisterKey}/${r.id}`, id: 'monitor-record-link' }, t('monitorRecordOpen', { id: r.id })),
          ' ',
          h('a', { href: `#/r/${evidenceRegisterKey}?${new URLSearchParams({ kind: monitorKind })}`, id: 'monitor-history-link' }, t('monitorHistory')),
        ],
      ),
    );
  }

  function inputsTable(rep: MonitorReport): HTMLElement {
    return h(
      'div',
      { class: 'table-scroll' },
      h(
        'table',
        { class: 'data-table', id: 'monitor-inputs' },
        h('caption', null, t('monitorInputsCaption', { n: formatNumber(rep.inputsTotal || rep.inputs.length) })),
        h(
          'thead',
          null,
          h('tr', null, h('th', { scope: 'col' }, t('monitorInput')), h('th', { scope: 'col' }, t('monitorFormat')), h('th', { scope: 'col', class: 'numeric' }, t('monitorLines')), h('th', { scope: 'col', class: 'numeric' }, t('monitorEvents'))),
        ),
        h(
          'tbody',
          null,
          rep.inputs.map((i) =>
            h(
              'tr',
              { 'data-format': i.format || 'unknown' },
              h('th', { scope: 'row' }, h('code', null, i.name)),
              h('td', null, i.format || h('span', { class: 'monitor-bad' }, t('monitorFormatUnknown'))),
              h('td', { class: 'numeric' }, formatNumber(i.lines)),
              h('td', { class: 'numeric' }, formatNumber(i.events)),
            ),
          ),
        ),
      ),
    );
  }

  function samplesPart(rep: MonitorReport): Child {
    if (!rep.samples.length) return null;
    return h(
      'details',
      { class: 'monitor-samples', id: 'monitor-samples' },
      h('summary', null, t('monitorSamples', { n: formatNumber(rep.samples.length) })),
      h(
        'ul',
        null,
        rep.samples.map((s) =>
          h('li', null, h('code', null, `${s.file}:${s.line}`), ' ', lang() === 'en' ? s.reason.en || s.reason.ja : s.reason.ja || s.reason.en, h('pre', { class: 'monitor-excerpt' }, h('code', null, s.excerpt))),
        ),
      ),
    );
  }

  function healthSection(rep: MonitorReport): HTMLElement {
    return h(
      'section',
      { 'aria-labelledby': 'monitor-latest-title', id: 'monitor-latest' },
      h('h2', { id: 'monitor-latest-title' }, t('monitorLatestTitle')),
      staleNotice(rep),
      verdict(rep),
      healthFacts(rep),
      inputsTable(rep),
      samplesPart(rep),
    );
  }

  // ---- Alerts ----

  function alertRow(a: MonitorAlert, i: number): HTMLElement {
    const port = a.dport !== null ? t('monitorPort', { proto: a.proto || '?', port: a.dport }) : a.proto;
    return h(
      'article',
      { class: `monitor-alert monitor-alert-${severityKeys[a.severity] ? a.severity : 'other'}`, id: `monitor-alert-${i + 1}`, 'data-kind': a.kind, 'data-severity': a.severity, 'aria-labelledby': `monitor-alert-${i + 1}-title` },
      h(
        'h3',
        { id: `monitor-alert-${i + 1}-title` },
        severityBadge(a.severity),
        ' ',
        h('span', { class: 'monitor-kind' }, kindText(a.kind)),
        ' ',
        h('span', { class: 'monitor-flow' }, t('monitorFlow', { src: a.src || '—', dst: a.dst || '—' })),
      ),
      h('p', { class: 'monitor-detail' }, a.detail || t('monitorNoDetail')),
      h(
        'dl',
        { class: 'facts monitor-alert-facts' },
        h('div', null, h('dt', null, t('monitorWhen')), h('dd', { 'data-field': 'ts' }, formatDateTime(a.ts))),
        a.from_zone || a.to_zone
          ? h('div', null, h('dt', null, t('monitorZones')), h('dd', { 'data-field': 'zones' }, t('monitorFlow', { src: zoneText(a.from_zone), dst: zoneText(a.to_zone) })))
          : null,
        port ? h('div', null, h('dt', null, t('monitorPortLabel')), h('dd', { 'data-field': 'port' }, port)) : null,
        h('div', null, h('dt', null, t('monitorCount')), h('dd', { 'data-field': 'count' }, t('monitorCountValue', { n: formatNumber(a.count) }))),
        a.rules.length
          ? h('div', null, h('dt', null, t('monitorRules')), h('dd', { 'data-field': 'rules' }, h('ul', { class: 'monitor-list' }, a.rules.map((r) => h('li', null, r.title, r.id ? [' ', h('code', { class: 'monitor-rule-id' }, r.id)] : null)))))
          : null,
        a.extra.map(([k, v]) => h('div', null, h('dt', null, h('code', null, k)), h('dd', { 'data-field': k }, extraText(v)))),
        h(
          'div',
          null,
          h('dt', null, t('monitorEvidence')),
          h('dd', { 'data-field': 'evidence' }, a.evidence.length ? h('ul', { class: 'monitor-list' }, a.evidence.map((e) => h('li', null, h('code', null, e)))) : '—'),
        ),
        h('div', null, h('dt', null, t('monitorFromReport')), h('dd', null, h('a', { href: `#/r/${evidenceRegisterKey}/${a.report.record.id}` }, formatDateTime(text(a.report.record.created_at)) || a.report.ranAt), a.report.host ? ` (${a.report.host})` : '')),
      ),
      incidentPlace(a),
    );
  }

  /**
   * Where an alert becomes an incident (インシデントとして記録). The incident register does not exist
   * yet (module `incidents`, planned): nothing is offered until it does. When it exists, this
   * returns the action that opens its form pre-filled from the alert (kind, time, addresses, zones,
   * detail, evidence locations, and a link back to the evidence record).
   */
  function incidentPlace(_a: MonitorAlert): Child {
    return null;
  }

  function filterForm(): HTMLElement {
    const kinds = [...new Set(alerts.map((a) => a.kind))].sort((x, y) => Object.keys(kindKeys).indexOf(x) - Object.keys(kindKeys).indexOf(y) || x.localeCompare(y));
    const severities = [...new Set(alerts.map((a) => a.severity))].sort((x, y) => severityRank(x) - severityRank(y));
    const zones = [...new Set(alerts.flatMap((a) => [a.from_zone, a.to_zone]).filter(Boolean))].sort();
    const select = (name: 'kind' | 'severity' | 'zone', key: MessageKey, options: [string, string][]) => {
      const id = `monitor-filter-${name}`;
      const el = h(
        'select',
        { id, name, onchange: (e: Event) => ((filters[name] = (e.target as HTMLSelectElement).value), refreshList(true)) },
        h('option', { value: '' }, t('all')),
        options.map(([v, l]) => h('option', { value: v }, l)),
      );
      if (filters[name] && !options.some(([v]) => v === filters[name])) el.append(h('option', { value: filters[name] }, filters[name]));
      el.value = filters[name];
      return h('div', { class: 'field-inline' }, h('label', { for: id }, t(key)), el);
    };
    const form = h(
      'form',
      { class: 'search-form monitor-filters', id: 'monitor-filters', role: 'search', 'aria-label': t('monitorFilterRegion'), novalidate: true },
      select('severity', 'monitorSeverity', severities.map((s) => [s, severityText(s)])),
      select('kind', 'monitorKind', kinds.map((k) => [k, kindText(k)])),
      select('zone', 'monitorZone', zones.map((z) => [z, zoneText(z)])),
      h(
        'div',
        { class: 'field-inline' },
        h('label', { for: 'monitor-filter-q' }, t('monitorText')),
        h('input', {
          type: 'search',
          id: 'monitor-filter-q',
          name: 'q',
          value: filters.q,
          autocomplete: 'off',
          spellcheck: 'false',
          'aria-describedby': 'monitor-filter-q-help',
          oninput: (e: Event) => ((filters.q = (e.target as HTMLInputElement).value.slice(0, 200)), refreshList(false)),
        }),
        h('p', { class: 'help', id: 'monitor-filter-q-help' }, t('monitorTextHelp')),
      ),
      h(
        'div',
        { class: 'button-row' },
        h(
          'button',
          {
            type: 'button',
            class: 'button button-quiet',
            id: 'monitor-filter-clear',
            onclick: () => {
              for (const n of filterNames) filters[n] = '';
              for (const el of form.querySelectorAll<HTMLInputElement | HTMLSelectElement>('select, input')) el.value = '';
              refreshList(true);
            },
          },
          t('clearSearch'),
        ),
      ),
    );
    form.addEventListener('submit', (e) => e.preventDefault());
    return form;
  }

  function alertList(): HTMLElement {
    const shown = alerts.filter((a) => matches(a, filters));
    const filtered = filterNames.some((n) => filters[n] !== '');
    return h(
      'div',
      { id: 'monitor-alert-list' },
      h(
        'p',
        { class: 'list-summary', id: 'monitor-alert-summary' },
        filtered ? t('monitorAlertsFiltered', { shown: formatNumber(shown.length), total: formatNumber(alerts.length) }) : t('monitorAlertsAll', { total: formatNumber(alerts.length) }),
      ),
      shown.length ? shown.map(alertRow) : h('p', { id: 'monitor-alerts-none' }, filtered ? t('monitorAlertsNoMatch') : t('monitorAlertsNone')),
    );
  }

  function refreshList(speak: boolean): void {
    if (!listBox) return;
    const fresh = alertList();
    listBox.replaceWith(fresh);
    listBox = fresh;
    if (speak) announce(text(fresh.querySelector('#monitor-alert-summary')?.textContent));
  }

  function severityTotals(): HTMLElement {
    return h(
      'ul',
      { class: 'monitor-totals', id: 'monitor-totals' },
      severityOrder.map((s) => {
        const n = alerts.filter((a) => a.severity === s).length;
        return h('li', { 'data-severity': s }, severityBadge(s), ' ', h('span', { class: 'monitor-total' }, formatNumber(n)));
      }),
    );
  }

  /** Alerts per local day of their event time, and per kind. */
  function perDay(): { days: string[]; kinds: string[]; values: Map<string, number[]> } {
    const days = [...new Set(alerts.map((a) => localDay(a.ts)).filter(Boolean))].sort();
    const kinds = [...new Set(alerts.map((a) => a.kind))];
    const values = new Map(kinds.map((k) => [k, days.map((d) => alerts.filter((a) => a.kind === k && localDay(a.ts) === d).length)]));
    return { days, kinds, values };
  }

  function chartPart(): { part: Child; draw: () => void } {
    const d = perDay();
    if (!d.days.length) return { part: null, draw: () => {} };
    const box = h('div', { class: 'chart', id: 'monitor-chart', role: 'img', 'aria-label': t('monitorChartAlt') });
    const table = h(
      'div',
      { class: 'table-scroll' },
      h(
        'table',
        { class: 'data-table', id: 'monitor-per-day' },
        h('caption', null, t('monitorPerDayCaption')),
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('monitorDay')), d.kinds.map((k) => h('th', { scope: 'col', class: 'numeric', 'data-kind': k }, kindText(k))))),
        h('tbody', null, d.days.map((day, i) => h('tr', { 'data-day': day }, h('th', { scope: 'row' }, day), d.kinds.map((k) => h('td', { class: 'numeric' }, formatNumber(d.values.get(k)![i]!)))))),
      ),
    );
    const part = [
      h('h3', { id: 'monitor-chart-title' }, t('monitorChartTitle')),
      chart ? box : null,
      table,
    ];
    const draw = () => {
      if (!chart) return;
      disposeChart = chart.drawStackedBarChart(
        box,
        d.days,
        d.kinds.map((k) => ({ name: kindText(k), values: d.values.get(k)! })),
      );
    };
    return { part, draw };
  }

  function alertsSection(chartPiece: Child): HTMLElement {
    return h(
      'section',
      { 'aria-labelledby': 'monitor-alerts-title', id: 'monitor-alerts' },
      h('h2', { id: 'monitor-alerts-title' }, t('monitorAlertsTitle')),
      h('p', { class: 'summary' }, t('monitorAlertsIntro', { days: recentDays, reports: formatNumber(data.reports.length) })),
      leftOut > 0 ? h('div', { class: 'notice notice-warning', id: 'monitor-left-out' }, h('p', null, t('monitorLeftOut', { n: formatNumber(leftOut) }))) : null,
      data.alertsBeyond > 0 || data.unread > 0
        ? h(
            'div',
            { class: 'notice notice-warning', id: 'monitor-beyond' },
            data.alertsBeyond > 0 ? h('p', null, t('monitorAlertsBeyond', { n: formatNumber(data.alertsBeyond), shown: formatNumber(alerts.length) })) : null,
            data.unread > 0 ? h('p', null, t('monitorReportsUnread', { n: formatNumber(data.unread) })) : null,
          )
        : null,
      h('div', { class: 'notice notice-info', id: 'monitor-incident-note' }, h('p', null, t('monitorIncidentNote'))),
      severityTotals(),
      chartPiece,
      h('h3', { id: 'monitor-list-title' }, t('monitorListTitle')),
      filterForm(),
      (listBox = alertList()),
    );
  }

  // ---- Recent reports ----

  function reportsSection(): HTMLElement {
    return h(
      'section',
      { 'aria-labelledby': 'monitor-reports-title', id: 'monitor-reports' },
      h('h2', { id: 'monitor-reports-title' }, t('monitorReportsTitle')),
      h(
        'div',
        { class: 'table-scroll' },
        h(
          'table',
          { class: 'data-table', id: 'monitor-reports-table' },
          h(
            'thead',
            null,
            h(
              'tr',
              null,
              [t('monitorReportedAt'), t('monitorHost'), t('monitorState'), t('monitorEvents'), t('monitorAlertCount')].map((c, i) => h('th', { scope: 'col', class: i >= 3 ? 'numeric' : null }, c)),
            ),
          ),
          h(
            'tbody',
            null,
            data.reports.map((r) =>
              h(
                'tr',
                { 'data-id': r.record.id },
                h('th', { scope: 'row' }, h('a', { href: `#/r/${evidenceRegisterKey}/${r.record.id}` }, formatDateTime(text(r.record.created_at)) || r.ranAt)),
                h('td', null, r.host),
                h('td', null, h('span', { class: `badge badge-${r.healthy ? 'fresh' : 'failed'}` }, r.healthy ? t('monitorStateHealthy') : t('monitorStateUnhealthy'))),
                h('td', { class: 'numeric' }, formatNumber(r.events)),
                h('td', { class: 'numeric' }, formatNumber(r.alertsTotal)),
              ),
            ),
          ),
        ),
      ),
      h('p', { class: 'help' }, t('monitorReportsHelp', { days: recentDays, total: formatNumber(data.total), read: formatNumber(data.read) })),
      data.unreadable ? h('p', { class: 'notice notice-warning', id: 'monitor-unreadable' }, t('monitorUnreadable', { n: formatNumber(data.unreadable) })) : null,
    );
  }

  // ---- The controls the reports are evidence for ----

  function controlsSection(): Child {
    if (!controls.length) return null;
    return h(
      'section',
      { 'aria-labelledby': 'monitor-controls-title', id: 'monitor-controls' },
      h('h2', { id: 'monitor-controls-title' }, t('monitorControlsTitle')),
      h('p', null, t('monitorControlsIntro')),
      h(
        'div',
        { class: 'table-scroll' },
        h(
          'table',
          { class: 'data-table', id: 'monitor-controls-table', 'aria-labelledby': 'monitor-controls-title' },
          h('thead', null, h('tr', null, [t('complianceControl'), t('netsepPolicyItem'), t('complianceStatus'), t('monitorControlEvidence')].map((c) => h('th', { scope: 'col' }, c)))),
          h(
            'tbody',
            null,
            controls.map((c) => {
              const e = c.evidence.find((x) => x.kind === monitorCatalogKind);
              return h(
                'tr',
                { 'data-control': c.id },
                h('th', { scope: 'row' }, h('a', { href: `#/compliance/${encodeURIComponent(c.id)}` }, h('span', { class: 'control-id' }, c.id), ' ', label(c.title))),
                h('td', { class: 'nowrap' }, `§${c.section}`),
                h('td', null, statusBadge(c.status)),
                h('td', null, e ? stateBadge(e.state) : null),
              );
            }),
          ),
        ),
      ),
    );
  }

  // ---- How to record reports ----

  function howTo(open: boolean): HTMLElement {
    return engineHowTo(
      'monitor',
      { title: 'monitorHowToTitle', again: 'monitorHowToAgain', intro: 'monitorHowToIntro', token: 'monitorHowToToken', run: 'monitorHowToRun', schedule: 'monitorHowToSchedule', docs: 'monitorHowToDocs' },
      'mamori admin create-token --db var/mamori.db --name monitor-sensor1 \\\n  --purpose "通信監視の報告" | tail -1 > /etc/mamori/monitor.token\nchmod 600 /etc/mamori/monitor.token',
      `mamori monitor --topology network/topology.toml --rules catalog/sigma \\\n  --report-to ${location.origin} --token-file /etc/mamori/monitor.token \\\n  /var/log/zeek/current/conn.log`,
      open,
    );
  }

  function emptyState(): Child {
    return [
      h('div', { class: 'notice notice-info', id: 'monitor-empty' }, h('p', null, h('strong', null, t('monitorEmpty'))), h('p', null, t('monitorEmptyText'))),
      data.unreadable ? h('p', { class: 'notice notice-warning', id: 'monitor-unreadable' }, t('monitorUnreadable', { n: formatNumber(data.unreadable) })) : null,
      howTo(true),
    ];
  }

  return {
    title,
    render(root) {
      disposeChart?.();
      disposeChart = null;
      const chartPiece = latest ? chartPart() : { part: null, draw: () => {} };
      replaceChildren(
        root,
        h(
          'div',
          { class: 'netsep-page monitor-page' },
          pageHeading(title()),
          h('p', { id: 'monitor-intro', class: 'summary' }, t('monitorIntro')),
          latest ? [healthSection(latest), alertsSection(chartPiece.part), reportsSection(), controlsSection(), howTo(false)] : [emptyState(), controlsSection()],
        ),
      );
      chartPiece.draw();
    },
    destroy() {
      disposeChart?.();
      disposeChart = null;
    },
  };
}
