// ネットワーク分離 (#/m/netsep; 基本方針 §2(10) 通信経路の分割, §6(3)ア): the latest proof that
// `mamori netcheck --report-to` recorded as evidence (kind automated_netcheck, docs/netcheck.md).
//
// The page reads the evidence register's list (newest first) for the latest netcheck record (one
// record standing for every control that asks for the proof; earlier versions posted one per
// control: same raw result, same source, read together here), then that record's raw JSON (GET controls/evidence/{id}), and the controls' status
// (GET compliance). It shows when and by which service account the proof was recorded, its
// result and validity, the zone-to-zone matrix (every state in words and with an icon, the
// colour only repeats them), each violation with its example packet, the rules on its path and
// netcheck's summary, what netcheck could not interpret (the proof does not cover it), the
// rules that never match and those broader than the allow entries, and the controls the proof
// is evidence for. Without any netcheck evidence: how to record it.
//
// The server decides who may see evidence (`evidence: view`); when it refuses, its message is
// shown. Zone keys are shown as the topology names them.

import { ApiError, getJson } from '../api';
import { h, replaceChildren, type Child } from '../dom';
import { displayValue } from '../fields';
import { formatDate, formatDateTime, formatNumber, label, t, type MessageKey } from '../i18n';
import { everyControl, evidenceRegisterKey, moduleOfPage } from '../modules';
import { findRegister, type View } from '../state';
import type {
  ComplianceAnswer,
  ComplianceControl,
  ListAnswer,
  NetcheckReport,
  NetcheckStep,
  NetcheckViolation,
  NetcheckWitness,
  RegisterRecord,
} from '../types';
import { stateBadge, statusBadge } from './compliance';
import { engineHowTo, errorBox, pageHeading } from './common';

/** The evidence register's kind of a netcheck proof, and the catalog's name of it. */
const netcheckKind = 'automated_netcheck';
const netcheckCatalogKind = 'automated:netcheck';

/** How many of the newest netcheck records are read to find the latest run's (earlier versions: one per control). */
const recordsPerRun = 100;

// ---- Reading the raw result ------------------------------------------------------------------

const list = (x: unknown): unknown[] => (Array.isArray(x) ? x : []);
const text = (x: unknown): string => (typeof x === 'string' ? x : typeof x === 'number' ? String(x) : '');
const object = (x: unknown): Record<string, unknown> => (x && typeof x === 'object' && !Array.isArray(x) ? (x as Record<string, unknown>) : {});

function readWitness(x: unknown): NetcheckWitness | null {
  if (!x || typeof x !== 'object') return null;
  const w = object(x);
  const tr = w.translated ? object(w.translated) : null;
  return {
    src: text(w.src),
    dst: text(w.dst),
    proto: text(w.proto),
    sport: Number(w.sport) || 0,
    dport: Number(w.dport) || 0,
    icmp_type: typeof w.icmp_type === 'number' ? w.icmp_type : undefined,
    translated: tr ? { dst: text(tr.dst), dport: Number(tr.dport) || 0 } : undefined,
  };
}

/**
 * The netcheck report in an evidence record's raw text, or null when it is not one (evidence
 * posted by hand through the API may hold any JSON). Every value is read as data only.
 */
export function parseNetcheckReport(raw: unknown): NetcheckReport | null {
  if (typeof raw !== 'string') return null;
  let doc: Record<string, unknown>;
  try {
    doc = object(JSON.parse(raw));
  } catch {
    return null;
  }
  if ((doc.result !== 'ok' && doc.result !== 'violations') || !Array.isArray(doc.zones) || !Array.isArray(doc.matrix)) return null;
  return {
    result: doc.result,
    zones: list(doc.zones).map(text),
    matrix: list(doc.matrix).map((x) => {
      const m = object(x);
      return { from: text(m.from), to: text(m.to), reachable: m.reachable === true, allowed: m.allowed === true, violation: m.violation === true };
    }),
    violations: list(doc.violations).map((x): NetcheckViolation => {
      const v = object(x);
      return {
        from: text(v.from),
        to: text(v.to),
        witness: readWitness(v.witness),
        path: list(v.path).map((s): NetcheckStep => ({ device: text(object(s).device), rule: text(object(s).rule), action: text(object(s).action) })),
        packets: text(v.packets),
      };
    }),
    unknown: list(doc.unknown).map((x) => ({ device: text(object(x).device), location: text(object(x).location), construct: text(object(x).construct) })),
    shadowed: list(doc.shadowed).map((x) => ({ device: text(object(x).device), rule: text(object(x).rule), by: text(object(x).by) })),
    broad: list(doc.broad).map((x) => {
      const b = object(x);
      return { device: text(b.device), rule: text(b.rule), from: text(b.from), to: text(b.to), packets: text(b.packets) };
    }),
  };
}

/** The state of one ordered pair of zones in the matrix. */
type PairState = 'violation' | 'allowed' | 'blocked';

function pairState(m: { reachable: boolean; violation: boolean }): PairState {
  if (m.violation) return 'violation';
  return m.reachable ? 'allowed' : 'blocked';
}

const pairKeys: Record<PairState, { text: MessageKey; help: MessageKey; icon: string }> = {
  violation: { text: 'netsepPairViolation', help: 'netsepPairViolationHelp', icon: '✕' },
  allowed: { text: 'netsepPairAllowed', help: 'netsepPairAllowedHelp', icon: '✓' },
  blocked: { text: 'netsepPairBlocked', help: 'netsepPairBlockedHelp', icon: '―' },
};

/** A pair's state as an icon (hidden from screen readers) and its words. */
function pairLabel(s: PairState): HTMLElement {
  const k = pairKeys[s];
  return h('span', { class: `netsep-pair netsep-state-${s}`, 'data-state': s }, h('span', { class: 'netsep-icon', 'aria-hidden': 'true' }, k.icon), t(k.text));
}

/** The ICMP types that can open a connection (docs/netcheck.md, connection tracking). */
const icmpTypeKeys: Record<number, MessageKey> = {
  8: 'netsepIcmpEcho',
  13: 'netsepIcmpTimestamp',
  15: 'netsepIcmpInformation',
  17: 'netsepIcmpAddressMask',
};

const actionKeys: Record<string, MessageKey> = {
  DNAT: 'netsepActionDnat',
  ACCEPT: 'netsepActionAccept',
  'policy ACCEPT': 'netsepActionPolicy',
  'no filter rule': 'netsepActionNoRule',
};

const hasPorts = (proto: string) => proto === 'tcp' || proto === 'udp';

/** "10.10.0.50(ポート 443)", or the address alone for protocols without ports. */
function endpoint(address: string, port: number, proto: string): string {
  return hasPorts(proto) && port ? t('netsepEndpoint', { address, port }) : address;
}

/** Today in the browser's time zone (YYYY-MM-DD), when the server's date is not known. */
function localToday(): string {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

// ---- Loading -----------------------------------------------------------------------------------

interface NetsepData {
  /** The newest netcheck evidence record, with its raw text; null when there is none. */
  latest: RegisterRecord | null;
  /** The record of that run (earlier versions posted one per control: all of them), newest first. */
  run: RegisterRecord[];
  /** How many netcheck records exist in all. */
  total: number;
  compliance: ComplianceAnswer | null;
}

async function loadData(): Promise<NetsepData> {
  const reg = findRegister(evidenceRegisterKey);
  const path = reg?.path ?? 'controls/evidence';
  const [page, compliance] = await Promise.all([
    getJson<ListAnswer>(path, new URLSearchParams({ kind: netcheckKind, sort: '-recorded_on', limit: String(recordsPerRun) })),
    getJson<ComplianceAnswer>('compliance').catch(() => null),
  ]);
  const newest = page.items[0];
  if (!newest) return { latest: null, run: [], total: page.total, compliance };
  // One run of netcheck posts one record for every control (everyControl). Earlier versions
  // posted the same raw result from the same account once per control, one record after the
  // other: such a run is the newest records that share both.
  const run: RegisterRecord[] = [];
  for (const r of page.items) {
    if (r.raw_sha256 !== newest.raw_sha256 || r.source !== newest.source) break;
    if (r.control === everyControl) {
      if (!run.length) run.push(r);
      break;
    }
    if (!run.some((x) => x.control === r.control)) run.push(r);
  }
  const latest = await getJson<RegisterRecord>(`${path}/${newest.id}`);
  return { latest, run, total: page.total, compliance };
}

export async function loadNetsep(): Promise<View> {
  const title = () => label(moduleOfPage('netsep')?.label) || t('netsepTitle');
  let data: NetsepData;
  try {
    data = await loadData();
  } catch (err) {
    // A 401 goes to the login page (main.ts); any other refusal is shown as the server said it.
    if (err instanceof ApiError && err.status === 401) throw err;
    return {
      title,
      render(root) {
        replaceChildren(root, pageHeading(title()), h('div', { id: 'netsep-error' }, errorBox(err)));
      },
    };
  }
  const reg = findRegister(evidenceRegisterKey);
  const resultField = reg?.fields.find((f) => f.name === 'result');
  const latest = data.latest;
  const report = latest ? parseNetcheckReport(latest.raw) : null;
  const today = data.compliance?.today ?? localToday();
  const controls: ComplianceControl[] = (data.compliance?.controls ?? []).filter((c) => c.evidence.some((e) => e.kind === netcheckCatalogKind));

  // ---- The record: when, by whom, result, validity ----

  /** Each control's deadline for this run's proof (a control counts it within its own review interval). */
  const controlUntil = (c: ComplianceControl): string => {
    const rec = c.evidence.find((x) => x.kind === netcheckCatalogKind)?.record;
    return rec && data.run.some((r) => r.id === rec.id) ? rec.valid_until : '';
  };

  function recordFacts(r: RegisterRecord): HTMLElement {
    const untils = [...new Set([...controls.map(controlUntil), ...data.run.map((x) => text(x.valid_until))].filter(Boolean))].sort();
    const until = untils[0] ?? text(r.valid_until);
    const result = text(r.result);
    return h(
      'dl',
      { class: 'facts', id: 'netsep-record' },
      h('div', null, h('dt', null, t('netsepRecordedAt')), h('dd', { id: 'netsep-recorded-at' }, formatDateTime(text(r.created_at)) || formatDate(text(r.recorded_on)))),
      h('div', null, h('dt', null, t('netsepSource')), h('dd', { id: 'netsep-source' }, h('code', null, text(r.source)))),
      h(
        'div',
        null,
        h('dt', null, t('netsepResult')),
        h(
          'dd',
          null,
          h('span', { class: `badge badge-${result === 'pass' ? 'fresh' : 'failed'}`, id: 'netsep-result', 'data-result': result }, displayValue(resultField, result) || result),
          ' ',
          h('span', { class: 'help' }, t('netsepResultHelp')),
        ),
      ),
      h(
        'div',
        null,
        h('dt', null, t('netsepValidUntil')),
        h(
          'dd',
          { id: 'netsep-valid-until' },
          formatDate(until),
          until && until < today ? [' ', h('span', { class: 'badge badge-expired' }, t('netsepExpired'))] : null,
          untils.length > 1 ? h('span', { class: 'help evidence-meta' }, t('netsepValidUntilHelp')) : null,
        ),
      ),
      h('div', null, h('dt', null, t('netsepSummary')), h('dd', { id: 'netsep-summary' }, text(r.summary))),
      h(
        'div',
        null,
        h('dt', null, t('netsepRecord')),
        h(
          'dd',
          null,
          h('a', { href: `#/r/${evidenceRegisterKey}/${r.id}`, id: 'netsep-record-link' }, t('netsepRecordOpen', { id: r.id })),
          ' ',
          h('span', { class: 'help' }, t('netsepRecordCount', { n: formatNumber(data.total) })),
          ' ',
          h('a', { href: `#/r/${evidenceRegisterKey}?${new URLSearchParams({ kind: netcheckKind })}`, id: 'netsep-history' }, t('netsepHistory')),
        ),
      ),
    );
  }

  /**
   * The headline: the separation holds, no violation but the proof is incomplete, or how many
   * violations; then, prominently, what the proof does not cover.
   */
  function verdict(rep: NetcheckReport): Child {
    const n = rep.violations.length;
    const outcome = rep.result !== 'ok' || n > 0 ? 'violations' : rep.unknown.length ? 'incomplete' : 'ok';
    const notice = { ok: 'notice-success', incomplete: 'notice-warning', violations: 'notice-error' }[outcome];
    const headline = {
      ok: t('netsepHolds'),
      incomplete: t('netsepNoViolations'),
      violations: t('netsepViolationsFound', { n: formatNumber(n) }),
    }[outcome];
    const detail = { ok: t('netsepHoldsText'), incomplete: t('netsepNoViolationsText'), violations: t('netsepViolationsText') }[outcome];
    return [
      h(
        'div',
        { class: `notice ${notice} netsep-verdict`, id: 'netsep-verdict', 'data-result': outcome },
        h('p', null, h('strong', null, headline)),
        h('p', null, detail),
      ),
      rep.unknown.length
        ? h(
            'div',
            { class: 'notice notice-warning', id: 'netsep-not-covered', role: 'note' },
            h('p', null, h('strong', null, t('netsepNotCovered', { n: formatNumber(rep.unknown.length) }))),
            h('p', null, t('netsepNotCoveredText')),
            h('p', null, h('a', { href: '#netsep-unknown-title' }, t('netsepNotCoveredLink'))),
          )
        : null,
    ];
  }

  // ---- The matrix ----

  function matrixTable(rep: NetcheckReport): HTMLElement {
    const pair = (from: string, to: string) => rep.matrix.find((m) => m.from === from && m.to === to);
    const firstViolation = (from: string, to: string) => rep.violations.findIndex((v) => v.from === from && v.to === to);
    return h(
      'table',
      { class: 'data-table netsep-matrix', id: 'netsep-matrix' },
      h('caption', null, t('netsepMatrixCaption')),
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          h('th', { scope: 'col' }, t('netsepMatrixCorner')),
          rep.zones.map((z) => h('th', { scope: 'col', 'data-zone': z }, z)),
        ),
      ),
      h(
        'tbody',
        null,
        rep.zones.map((from) =>
          h(
            'tr',
            { 'data-from': from },
            h('th', { scope: 'row' }, from),
            rep.zones.map((to) => {
              if (from === to) return h('td', { class: 'netsep-cell netsep-self', 'data-from': from, 'data-to': to }, t('netsepSameZone'));
              const m = pair(from, to);
              if (!m) return h('td', { class: 'netsep-cell', 'data-from': from, 'data-to': to }, '');
              const s = pairState(m);
              const v = s === 'violation' ? firstViolation(from, to) : -1;
              return h(
                'td',
                { class: `netsep-cell netsep-cell-${s}`, 'data-from': from, 'data-to': to, 'data-state': s },
                v >= 0 ? h('a', { href: `#netsep-violation-${v + 1}` }, pairLabel(s)) : pairLabel(s),
                !m.reachable && m.allowed ? h('span', { class: 'help netsep-cell-note' }, t('netsepAllowedUnused')) : null,
              );
            }),
          ),
        ),
      ),
    );
  }

  function matrixLegend(): HTMLElement {
    return h(
      'dl',
      { class: 'facts netsep-legend', id: 'netsep-legend' },
      (['blocked', 'allowed', 'violation'] as const).map((s) => h('div', { 'data-state': s }, h('dt', null, pairLabel(s)), h('dd', null, t(pairKeys[s].help)))),
    );
  }

  // ---- The violations ----

  function witnessFacts(w: NetcheckWitness): HTMLElement {
    const icmp = w.proto === 'icmp' && w.icmp_type !== undefined;
    const icmpName = icmp ? icmpTypeKeys[w.icmp_type!] : undefined;
    return h(
      'dl',
      { class: 'facts netsep-witness' },
      h('div', null, h('dt', null, t('netsepProto')), h('dd', { 'data-field': 'proto' }, w.proto)),
      h('div', null, h('dt', null, t('netsepSrc')), h('dd', { 'data-field': 'src' }, endpoint(w.src, w.sport, w.proto))),
      h('div', null, h('dt', null, t('netsepDst')), h('dd', { 'data-field': 'dst' }, endpoint(w.dst, w.dport, w.proto))),
      w.translated
        ? h(
            'div',
            null,
            h('dt', null, t('netsepTranslated')),
            h('dd', { 'data-field': 'translated' }, endpoint(w.translated.dst, w.translated.dport, w.proto)),
          )
        : null,
      icmp
        ? h('div', null, h('dt', null, t('netsepIcmpType')), h('dd', { 'data-field': 'icmp_type' }, icmpName ? t('netsepIcmpTypeNamed', { n: w.icmp_type!, name: t(icmpName) }) : String(w.icmp_type)))
        : null,
    );
  }

  function pathList(steps: NetcheckStep[]): HTMLElement {
    return h(
      'ol',
      { class: 'netsep-path' },
      steps.map((s) =>
        h(
          'li',
          { 'data-device': s.device },
          h('span', { class: 'netsep-device' }, s.device),
          ' ',
          h('code', { class: 'netsep-rule' }, s.rule),
          ' ',
          h('span', { class: 'netsep-action' }, actionKeys[s.action] ? t(actionKeys[s.action]!) : s.action),
        ),
      ),
    );
  }

  function violationBlock(v: NetcheckViolation, i: number): HTMLElement {
    const id = `netsep-violation-${i + 1}`;
    return h(
      'article',
      { class: 'netsep-violation', id, tabindex: -1, 'aria-labelledby': `${id}-title`, 'data-from': v.from, 'data-to': v.to },
      h('h3', { id: `${id}-title` }, h('span', { class: 'netsep-icon', 'aria-hidden': 'true' }, '✕'), ' ', t('netsepViolationTitle', { from: v.from, to: v.to })),
      h('h4', null, t('netsepWitness')),
      h('p', { class: 'help' }, t('netsepWitnessHelp')),
      v.witness ? witnessFacts(v.witness) : h('p', null, '—'),
      h('h4', null, t('netsepPath')),
      h('p', { class: 'help' }, t('netsepPathHelp')),
      pathList(v.path),
      h('h4', null, t('netsepPackets')),
      h('p', null, h('code', { class: 'netsep-packets' }, v.packets)),
    );
  }

  function violationsSection(rep: NetcheckReport): HTMLElement {
    return h(
      'section',
      { 'aria-labelledby': 'netsep-violations-title', id: 'netsep-violations' },
      h('h2', { id: 'netsep-violations-title' }, t('netsepViolationsTitle', { n: formatNumber(rep.violations.length) })),
      rep.violations.length ? rep.violations.map(violationBlock) : h('p', { id: 'netsep-violations-none' }, t('netsepViolationsNone')),
    );
  }

  // ---- What the proof does not cover, and the rules to tidy ----

  function simpleTable(id: string, headings: string[], rows: Child[][]): HTMLElement {
    return h(
      'div',
      { class: 'table-scroll' },
      h(
        'table',
        { class: 'data-table', id, 'aria-labelledby': `${id}-title` },
        h('thead', null, h('tr', null, headings.map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', null, rows.map(([first, ...rest]) => h('tr', null, h('th', { scope: 'row' }, first), rest.map((c) => h('td', null, c))))),
      ),
    );
  }

  function unknownSection(rep: NetcheckReport): HTMLElement {
    return h(
      'section',
      { 'aria-labelledby': 'netsep-unknown-title', id: 'netsep-unknown' },
      h('h2', { id: 'netsep-unknown-title', tabindex: -1 }, t('netsepUnknownTitle', { n: formatNumber(rep.unknown.length) })),
      rep.unknown.length
        ? [
            h('p', null, t('netsepUnknownIntro')),
            simpleTable(
              'netsep-unknown-table',
              [t('netsepDevice'), t('netsepLocation'), t('netsepConstruct')],
              rep.unknown.map((u) => [u.device, h('code', null, u.location), h('code', null, u.construct)]),
            ),
          ]
        : h('p', { id: 'netsep-unknown-none' }, t('netsepUnknownNone')),
    );
  }

  function shadowedSection(rep: NetcheckReport): HTMLElement {
    return h(
      'section',
      { 'aria-labelledby': 'netsep-shadowed-title', id: 'netsep-shadowed' },
      h('h2', { id: 'netsep-shadowed-title' }, t('netsepShadowedTitle', { n: formatNumber(rep.shadowed.length) })),
      h('p', { class: 'help' }, t('netsepShadowedIntro')),
      rep.shadowed.length
        ? simpleTable(
            'netsep-shadowed-table',
            [t('netsepDevice'), t('netsepRule'), t('netsepShadowedBy')],
            rep.shadowed.map((s) => [s.device, h('code', null, s.rule), s.by ? h('code', null, s.by) : t('netsepShadowedEmpty')]),
          )
        : h('p', null, t('netsepNone')),
    );
  }

  function broadSection(rep: NetcheckReport): HTMLElement {
    return h(
      'section',
      { 'aria-labelledby': 'netsep-broad-title', id: 'netsep-broad' },
      h('h2', { id: 'netsep-broad-title' }, t('netsepBroadTitle', { n: formatNumber(rep.broad.length) })),
      h('p', { class: 'help' }, t('netsepBroadIntro')),
      rep.broad.length
        ? simpleTable(
            'netsep-broad-table',
            [t('netsepDevice'), t('netsepRule'), t('netsepBroadPair'), t('netsepBroadPackets')],
            rep.broad.map((b) => [b.device, h('code', null, b.rule), t('netsepArrow', { from: b.from, to: b.to }), h('code', null, b.packets)]),
          )
        : h('p', null, t('netsepNone')),
    );
  }

  // ---- The controls the proof is evidence for ----

  function controlsSection(): Child {
    if (!controls.length && !data.run.length) return null;
    const controlField = reg?.fields.find((f) => f.name === 'control');
    const recordOf = (value: string) => data.run.find((r) => r.control === value || r.control === everyControl);
    const rows = controls.length
      ? controls.map((c) => {
          const e = c.evidence.find((x) => x.kind === netcheckCatalogKind);
          const r = recordOf(c.value);
          const cUntil = controlUntil(c) || (r ? text(r.valid_until) : '');
          return h(
            'tr',
            { 'data-control': c.id, 'data-section': c.section },
            h('th', { scope: 'row' }, h('a', { href: `#/compliance/${encodeURIComponent(c.id)}` }, h('span', { class: 'control-id' }, c.id), ' ', label(c.title))),
            h('td', { class: 'nowrap' }, `§${c.section}`),
            h('td', null, statusBadge(c.status)),
            h('td', null, e ? stateBadge(e.state) : null, cUntil ? h('span', { class: 'help evidence-meta' }, t('netsepValidUntilShort', { date: formatDate(cUntil) })) : null),
          );
        })
      : // Without the controls' status: the records of the run, each naming its control.
        data.run.map((r) =>
          h(
            'tr',
            { 'data-control-value': text(r.control) },
            h('th', { scope: 'row' }, h('a', { href: `#/r/${evidenceRegisterKey}/${r.id}` }, displayValue(controlField, r.control) || text(r.control))),
            h('td', null, ''),
            h('td', null, ''),
            h('td', null, t('netsepValidUntilShort', { date: formatDate(text(r.valid_until)) })),
          ),
        );
    return h(
      'section',
      { 'aria-labelledby': 'netsep-controls-title', id: 'netsep-controls' },
      h('h2', { id: 'netsep-controls-title' }, t('netsepControlsTitle')),
      h('p', null, t('netsepControlsIntro')),
      h(
        'div',
        { class: 'table-scroll' },
        h(
          'table',
          { class: 'data-table', id: 'netsep-controls-table', 'aria-labelledby': 'netsep-controls-title' },
          h(
            'thead',
            null,
            h(
              'tr',
              null,
              [t('complianceControl'), t('netsepPolicyItem'), t('complianceStatus'), t('netsepControlEvidence')].map((c) => h('th', { scope: 'col' }, c)),
            ),
          ),
          h('tbody', null, rows),
        ),
      ),
      h('p', null, h('a', { href: '#/compliance', id: 'netsep-compliance-link' }, t('complianceOpen'))),
    );
  }

  // ---- How to record the proof ----

  function howTo(open: boolean): HTMLElement {
    return engineHowTo(
      'netsep',
      { title: 'netsepHowToTitle', again: 'netsepHowToAgain', intro: 'netsepHowToIntro', token: 'netsepHowToToken', run: 'netsepHowToRun', schedule: 'netsepHowToSchedule', docs: 'netsepHowToDocs' },
      'mamori admin create-token --db var/mamori.db --name netcheck-core \\\n  --purpose "基幹FWの分離検査" | tail -1 > /etc/mamori/netcheck.token\nchmod 600 /etc/mamori/netcheck.token',
      `mamori netcheck network/topology.toml --report-to ${location.origin} \\\n  --token-file /etc/mamori/netcheck.token`,
      open,
    );
  }

  function emptyState(): Child {
    return [
      h(
        'div',
        { class: 'notice notice-info', id: 'netsep-empty' },
        h('p', null, h('strong', null, t('netsepEmpty'))),
        h('p', null, t('netsepEmptyText')),
      ),
      howTo(true),
    ];
  }

  function resultParts(r: RegisterRecord): Child {
    return [
      h(
        'section',
        { 'aria-labelledby': 'netsep-latest-title', id: 'netsep-latest' },
        h('h2', { id: 'netsep-latest-title' }, t('netsepLatestTitle')),
        report ? verdict(report) : h('div', { class: 'notice notice-error', id: 'netsep-unreadable' }, h('p', null, t('netsepUnreadable'))),
        recordFacts(r),
      ),
      report
        ? [
            h(
              'section',
              { 'aria-labelledby': 'netsep-matrix-title', id: 'netsep-matrix-section' },
              h('h2', { id: 'netsep-matrix-title' }, t('netsepMatrixTitle')),
              h('p', { class: 'summary' }, t('netsepMatrixIntro')),
              h('div', { class: 'table-scroll' }, matrixTable(report)),
              matrixLegend(),
            ),
            violationsSection(report),
            unknownSection(report),
            shadowedSection(report),
            broadSection(report),
          ]
        : null,
      controlsSection(),
      howTo(false),
    ];
  }

  return {
    title,
    render(root) {
      replaceChildren(
        root,
        h(
          'div',
          { class: 'netsep-page' },
          pageHeading(title()),
          h('p', { id: 'netsep-intro', class: 'summary' }, t('netsepIntro')),
          latest ? resultParts(latest) : [emptyState(), controlsSection()],
        ),
      );
    },
  };
}
