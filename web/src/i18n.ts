// The UI's language (Japanese first, English on request) and its fixed strings. Labels that come
// from the API ({ja, en}) go through `label()`. The choice is kept in localStorage.

import type { Label } from './types';

export type Lang = 'ja' | 'en';

const storageKey = 'mamori.lang';

const ja = {
  product: 'Mamori 守り',
  bodyName: '栃木県後期高齢者医療広域連合',
  skipToMain: '本文へ移動',
  mainMenu: 'メインメニュー',
  switchLanguage: 'English',
  switchLanguageName: 'Switch to English',
  dashboard: 'ダッシュボード',
  policy: '基本方針',
  planned: '準備中',
  loading: '読み込み中…',
  cannotConnect: 'サーバーに接続できません',
  cannotConnectDetail:
    'サーバーに接続できません。ネットワークの状態を確認し、しばらくしてから再読み込みしてください。',
  badResponse: 'サーバーの応答を読み取れません。しばらくしてから再読み込みしてください。',
  reload: '再読み込み',
  errorDetail: '詳細: {detail}',
  errorTitle: 'エラー',
  httpError: 'エラーが発生しました(HTTP {status})。',
  status400: '入力内容に誤りがあります。',
  status403: 'この操作を行う権限がありません。',
  status404: '見つかりません。',
  status409: '他の操作と競合しました。',
  status413: 'データが大きすぎます。',
  status429: '操作が集中しています。しばらく待ってからもう一度お試しください。',
  status500: 'サーバーで問題が発生しました。',
  status503: 'サーバーが一時的に利用できません。しばらくしてから再度お試しください。',
  notFoundTitle: 'ページが見つかりません',
  notFoundText: 'お探しのページは見つかりませんでした。',
  backToDashboard: 'ダッシュボードへ戻る',
  notImplemented: 'この機能はまだ実装されていません。',
  trackedInIssue: '対応予定: Issue #{n}',
  registerMissing: 'この台帳の定義が見つかりません。',
  // Dashboard
  registersHeading: '台帳',
  countUnit: '{n} 件',
  policyHeading: '基本方針と管理策',
  sectionsCount: '節',
  measuresCount: '対策',
  controlsCount: '管理策',
  openPolicy: '基本方針を見る',
  controlsChartHeading: '対策ごとの管理策の数',
  controlsChartAlt: '対策ごとの管理策の数を示す横棒グラフ。数値は次の表のとおりです。',
  controlsTableCaption: '対策ごとの管理策の数(表)',
  measureColumn: '対策',
  measureTitleColumn: '名称',
  controlsColumn: '管理策の数',
  noRegisters: '台帳はまだありません。',
  // Policy
  effective: '施行日',
  contents: '目次',
  measureBadge: '対策',
  nonPublicBadge: '非公開文書',
  nonPublicNote: 'この節が定める文書は公開しません(アクセスを制限して管理します)。',
  controlsOf: '管理策({n} 件)',
  evidence: '証跡',
  ownerRole: '担当',
  reviewCycle: '見直し周期',
  reviewMonths: '{n} か月ごと',
  expandAll: 'すべて開く',
  collapseAll: 'すべて閉じる',
  // Register list
  newRecord: '新規作成',
  importOpen: 'ファイルから取り込み',
  exportCsv: 'CSVで出力',
  exportXlsx: 'Excel(XLSX)で出力',
  searchRegion: '{label}の検索',
  keyword: 'キーワード',
  search: '検索',
  clearSearch: '条件をクリア',
  all: 'すべて',
  includeArchived: 'アーカイブ済みを含む',
  yes: 'はい',
  no: 'いいえ',
  listSummary: '全 {total} 件中 {from}〜{to} 件を表示',
  listEmpty: '該当するレコードはありません。',
  listAnnounce: '{total} 件見つかりました。',
  archivedBadge: 'アーカイブ済み',
  pagination: 'ページ送り',
  previousPage: '前のページ',
  nextPage: '次のページ',
  pageOf: '{page} / {pages} ページ',
  sortAscending: '昇順',
  sortDescending: '降順',
  // Import
  importTitle: 'ファイルから取り込み',
  importFile: 'ファイル(CSV または XLSX)',
  importFileHelp: '1 行目は見出し(項目名)です。形式はファイルの拡張子(.csv / .xlsx)で判断します。',
  importMode: '取り込み方法',
  importModeInsert: '新規追加のみ',
  importModeUpsert: '追加または更新({key} で照合)',
  importDryRun: '検証のみ(登録しない)',
  importSubmit: '取り込む',
  close: '閉じる',
  importChooseFile: 'ファイルを選んでください。',
  importBadExtension: 'CSV(.csv)または XLSX(.xlsx)のファイルを選んでください。',
  importRunning: '取り込み中…',
  importErrors: '取り込めませんでした。次の {n} 件の誤りを直してから、もう一度取り込んでください。何も登録していません。',
  importErrorsCaption: '取り込みの誤り',
  importRow: '行',
  importColumn: '列',
  importField: '項目',
  importMessage: '内容',
  importDone: '取り込みました。新規 {created} 件、更新 {updated} 件、変更なし {unchanged} 件。',
  importChecked: '検証しました(登録していません)。取り込むと新規 {created} 件、更新 {updated} 件、変更なし {unchanged} 件になります。',
  // Record
  breadcrumb: 'パンくずリスト',
  newTitle: '{label}の新規作成',
  requiredMark: '必須',
  requiredNote: '「必須」の項目は必ず入力してください。',
  selectPlaceholder: '選択してください',
  unset: '(未設定)',
  save: '保存',
  saving: '保存中…',
  backToList: '一覧へ戻る',
  saved: '保存しました。',
  created: '登録しました。',
  noChanges: '変更はありません。',
  errorSummaryTitle: '入力内容に誤りがあります',
  errorPrefix: 'エラー: ',
  errorSummaryText: '次の項目を確認してください。',
  conflictTitle: 'このレコードは他の人が更新しました',
  conflictText:
    'あなたが開いた後に、別の人がこのレコードを変更しました。最新の内容を読み込んでから、もう一度変更してください(入力中の内容は失われます)。',
  conflictReload: '最新の内容を読み込む',
  archivedNotice: 'このレコードはアーカイブされています。変更するには、先に「復元」してください。',
  archive: 'アーカイブ',
  restore: '復元',
  archiveConfirm:
    'このレコードをアーカイブしますか。アーカイブしたレコードは一覧に表示されなくなりますが、「復元」で元に戻せます。',
  archiveConfirmOk: 'アーカイブする',
  restoreConfirm: 'このレコードを復元しますか。',
  restoreConfirmOk: '復元する',
  cancel: 'キャンセル',
  archivedDone: 'アーカイブしました。',
  restoredDone: '復元しました。',
  recordInfo: '記録情報',
  recordId: 'ID',
  recordVersion: '版',
  recordCreated: '登録',
  recordUpdated: '最終更新',
  recordBy: '{at}({by})',
  history: '変更履歴',
  historyEmpty: '履歴はありません。',
  historyError: '変更履歴を読み込めませんでした。',
  historyAt: '日時',
  historyActor: '操作者',
  historyAction: '操作',
  historyField: '項目',
  historyFrom: '変更前',
  historyTo: '変更後',
  actionCreate: '作成',
  actionUpdate: '更新',
  actionArchive: 'アーカイブ',
  actionRestore: '復元',
  actionImport: '取り込み',
  refLoadError: '選択肢を読み込めませんでした。',
};

export type MessageKey = keyof typeof ja;

const en: Record<MessageKey, string> = {
  product: 'Mamori 守り',
  bodyName: 'Tochigi Wide-Area Union for Late-Stage Elderly Medical Care',
  skipToMain: 'Skip to main content',
  mainMenu: 'Main menu',
  switchLanguage: '日本語',
  switchLanguageName: '日本語に切り替える',
  dashboard: 'Dashboard',
  policy: 'Basic policy',
  planned: 'planned',
  loading: 'Loading…',
  cannotConnect: 'Cannot connect to the server',
  cannotConnectDetail:
    'Cannot connect to the server. Check the network and reload the page in a moment.',
  badResponse: 'The server sent an answer that cannot be read. Reload the page in a moment.',
  reload: 'Reload',
  errorDetail: 'Details: {detail}',
  errorTitle: 'Error',
  httpError: 'An error occurred (HTTP {status}).',
  status400: 'Some input is invalid.',
  status403: 'You do not have permission to do this.',
  status404: 'Not found.',
  status409: 'This conflicts with another change.',
  status413: 'The data is too large.',
  status429: 'Too many requests. Wait a moment and try again.',
  status500: 'The server had a problem.',
  status503: 'The server is temporarily unavailable. Try again in a moment.',
  notFoundTitle: 'Page not found',
  notFoundText: 'The page you are looking for was not found.',
  backToDashboard: 'Back to the dashboard',
  notImplemented: 'This feature is not implemented yet.',
  trackedInIssue: 'Planned in issue #{n}',
  registerMissing: 'The definition of this register was not found.',
  registersHeading: 'Registers',
  countUnit: '{n} records',
  policyHeading: 'Basic policy and controls',
  sectionsCount: 'Sections',
  measuresCount: 'Measures',
  controlsCount: 'Controls',
  openPolicy: 'Open the basic policy',
  controlsChartHeading: 'Controls per measure',
  controlsChartAlt: 'Horizontal bar chart of the number of controls per measure. The figures are in the next table.',
  controlsTableCaption: 'Controls per measure (table)',
  measureColumn: 'Measure',
  measureTitleColumn: 'Title',
  controlsColumn: 'Controls',
  noRegisters: 'There are no registers yet.',
  effective: 'Effective',
  contents: 'Contents',
  measureBadge: 'Measure',
  nonPublicBadge: 'Non-public document',
  nonPublicNote: 'The document this section calls for is not published (it is kept with access control).',
  controlsOf: 'Controls ({n})',
  evidence: 'Evidence',
  ownerRole: 'Owner',
  reviewCycle: 'Review cycle',
  reviewMonths: 'every {n} months',
  expandAll: 'Expand all',
  collapseAll: 'Collapse all',
  newRecord: 'New',
  importOpen: 'Import from file',
  exportCsv: 'Export CSV',
  exportXlsx: 'Export Excel (XLSX)',
  searchRegion: 'Search {label}',
  keyword: 'Keyword',
  search: 'Search',
  clearSearch: 'Clear',
  all: 'All',
  includeArchived: 'Include archived',
  yes: 'Yes',
  no: 'No',
  listSummary: 'Showing {from}–{to} of {total}',
  listEmpty: 'No matching records.',
  listAnnounce: '{total} records found.',
  archivedBadge: 'Archived',
  pagination: 'Pages',
  previousPage: 'Previous page',
  nextPage: 'Next page',
  pageOf: 'Page {page} of {pages}',
  sortAscending: 'ascending',
  sortDescending: 'descending',
  importTitle: 'Import from file',
  importFile: 'File (CSV or XLSX)',
  importFileHelp: 'The first row holds the headers. The format follows the file extension (.csv / .xlsx).',
  importMode: 'Mode',
  importModeInsert: 'Add new records only',
  importModeUpsert: 'Add or update (matched by {key})',
  importDryRun: 'Check only (write nothing)',
  importSubmit: 'Import',
  close: 'Close',
  importChooseFile: 'Choose a file.',
  importBadExtension: 'Choose a CSV (.csv) or XLSX (.xlsx) file.',
  importRunning: 'Importing…',
  importErrors: 'Nothing was imported. Fix these {n} errors and import again.',
  importErrorsCaption: 'Import errors',
  importRow: 'Row',
  importColumn: 'Column',
  importField: 'Field',
  importMessage: 'Message',
  importDone: 'Imported: {created} created, {updated} updated, {unchanged} unchanged.',
  importChecked: 'Checked (nothing written). An import would create {created}, update {updated}, leave {unchanged} unchanged.',
  breadcrumb: 'Breadcrumb',
  newTitle: 'New: {label}',
  requiredMark: 'Required',
  requiredNote: 'Fields marked “Required” must be filled in.',
  selectPlaceholder: 'Select',
  unset: '(none)',
  save: 'Save',
  saving: 'Saving…',
  backToList: 'Back to the list',
  saved: 'Saved.',
  created: 'Created.',
  noChanges: 'There are no changes.',
  errorSummaryTitle: 'There is a problem with your input',
  errorPrefix: 'Error: ',
  errorSummaryText: 'Check the following fields.',
  conflictTitle: 'Someone else has changed this record',
  conflictText:
    'Another person changed this record after you opened it. Load the latest version, then make your change again (what you typed will be lost).',
  conflictReload: 'Load the latest version',
  archivedNotice: 'This record is archived. Restore it to make changes.',
  archive: 'Archive',
  restore: 'Restore',
  archiveConfirm:
    'Archive this record? Archived records are hidden from the list; “Restore” brings them back.',
  archiveConfirmOk: 'Archive',
  restoreConfirm: 'Restore this record?',
  restoreConfirmOk: 'Restore',
  cancel: 'Cancel',
  archivedDone: 'Archived.',
  restoredDone: 'Restored.',
  recordInfo: 'Record information',
  recordId: 'ID',
  recordVersion: 'Version',
  recordCreated: 'Created',
  recordUpdated: 'Last updated',
  recordBy: '{at} ({by})',
  history: 'Change history',
  historyEmpty: 'No history.',
  historyError: 'The change history could not be loaded.',
  historyAt: 'Date and time',
  historyActor: 'By',
  historyAction: 'Action',
  historyField: 'Field',
  historyFrom: 'Before',
  historyTo: 'After',
  actionCreate: 'Created',
  actionUpdate: 'Updated',
  actionArchive: 'Archived',
  actionRestore: 'Restored',
  actionImport: 'Imported',
  refLoadError: 'The choices could not be loaded.',
};

const messages: Record<Lang, Record<MessageKey, string>> = { ja, en };

function initialLang(): Lang {
  try {
    return localStorage.getItem(storageKey) === 'en' ? 'en' : 'ja';
  } catch {
    return 'ja';
  }
}

let current: Lang = initialLang();

export function lang(): Lang {
  return current;
}

/** Sets the language, remembers it, and updates <html lang>. */
export function setLang(next: Lang): void {
  current = next;
  try {
    localStorage.setItem(storageKey, next);
  } catch {
    // Storage may be disabled; the choice then lasts for this page only.
  }
  document.documentElement.lang = next;
}

/** A fixed UI string, with `{name}` placeholders filled from `params`. */
export function t(key: MessageKey, params: Record<string, string | number> = {}): string {
  return messages[current][key].replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? String(params[name]) : whole,
  );
}

/** The current language's text of an API label (falls back to the other language). */
export function label(l: Label | undefined | null): string {
  if (!l) return '';
  return (current === 'en' ? l.en || l.ja : l.ja || l.en) ?? '';
}

/** A date-time from the API (ISO 8601) in local time, e.g. 2026/04/01 09:00. */
export function formatDateTime(iso: string | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(current === 'en' ? 'en-GB' : 'ja-JP', {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  }).format(d);
}

/** A calendar date (YYYY-MM-DD), e.g. 2026年4月1日 / 1 April 2026. */
export function formatDate(ymd: string | undefined): string {
  if (!ymd) return '';
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(ymd);
  if (!m) return ymd;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return new Intl.DateTimeFormat(current === 'en' ? 'en-GB' : 'ja-JP', {
    year: 'numeric',
    month: 'long',
    day: 'numeric',
    timeZone: 'UTC',
  }).format(d);
}

/** Formats a count with the language's digit grouping. */
export function formatNumber(n: number): string {
  return new Intl.NumberFormat(current === 'en' ? 'en-GB' : 'ja-JP').format(n);
}
