// A register's list (#/r/{key}?…), built only from the register's definition: columns are the
// fields marked `list`, the search box searches the `searchable` fields on the server, filters
// are the filterable enum/ref/boolean fields, and headers of `sortable` fields sort. The list
// state lives in the route's query, which uses the API's own parameter names (q, sort,
// archived, offset, {field}), so a list can be bookmarked and the export links reuse it.

import { apiUrl, getJson } from '../api';
import { h, replaceChildren } from '../dom';
import { displayValue, filterFields, listFields } from '../fields';
import { formatNumber, label, t } from '../i18n';
import { summaryPage } from '../modules';
import { can } from '../session';
import { displayTitle, forgetRefOptions, loadSettings, navigate, refOptions, reload, validOptions, type RefOption, type View } from '../state';
import type { FieldDef, ListAnswer, RegisterDef, Settings } from '../types';
import { pageHeading, pagination } from './common';
import { importDialog } from './import-dialog';

/** Records per page. */
export const pageSize = 50;

/** The route of a register list with the given query. */
export function listHash(reg: RegisterDef, query?: URLSearchParams): string {
  const s = query?.toString() ?? '';
  return `#/r/${encodeURIComponent(reg.key)}${s ? `?${s}` : ''}`;
}

/** Keeps only the query parameters the list understands. */
function listQuery(reg: RegisterDef, route: URLSearchParams): URLSearchParams {
  const out = new URLSearchParams();
  const keep = ['q', 'sort', 'archived', ...filterFields(reg.fields).map((f) => f.name)];
  for (const name of keep) {
    const v = route.get(name);
    if (v !== null && v !== '') out.set(name, v);
  }
  const offset = Number(route.get('offset') ?? '0');
  if (Number.isInteger(offset) && offset > 0) out.set('offset', String(offset));
  return out;
}

export interface ListView extends View {
  /** What to announce after a search, sort or page change. */
  announcement(): string;
}

export async function loadRegisterList(reg: RegisterDef, route: URLSearchParams): Promise<ListView> {
  const query = listQuery(reg, route);
  const apiParams = new URLSearchParams(query);
  apiParams.set('limit', String(pageSize));
  const filters = filterFields(reg.fields);
  const refFilters = filters.filter((f) => f.type === 'ref' && f.ref);
  const [list, settings, ...refChoices] = await Promise.all([
    getJson<ListAnswer>(reg.path, apiParams),
    reg.fields.some((f) => f.options_setting) ? loadSettings().catch(() => null) : Promise.resolve(null),
    ...refFilters.map((f) => refOptions(f.ref!).catch((): RefOption[] => [])),
  ]);
  const choices = new Map<string, RefOption[]>(refFilters.map((f, i) => [f.name, (refChoices[i] as RefOption[] | undefined) ?? []]));
  const columns = listFields(reg.fields, reg.key_field, reg.title_field);
  const linkField = columns.find((f) => f.name === reg.title_field) ?? columns[0];
  const currentSort = query.get('sort') ?? reg.default_sort ?? '';
  const offset = list.offset ?? Number(query.get('offset') ?? 0);

  const withQuery = (change: (q: URLSearchParams) => void): string => {
    const next = new URLSearchParams(query);
    change(next);
    return listHash(reg, next);
  };

  function exportHref(format: string): string {
    const p = new URLSearchParams({ format });
    for (const [k, v] of query) if (k !== 'offset') p.set(k, v);
    return apiUrl(`${reg.path}/export`, p);
  }

  function searchForm(): HTMLFormElement {
    const qInput = h('input', { type: 'search', id: 'search-q', name: 'q', value: query.get('q') ?? '', autocomplete: 'off' });
    const filterControls = filters.map((f) => {
      const id = `filter-${f.name}`;
      const select = h('select', { id, name: f.name }, h('option', { value: '' }, t('all')));
      if (f.type === 'enum') {
        // Only the options valid under the current settings (e.g. the chosen scheme's levels).
        for (const o of validOptions(f, settings as Settings | null)) select.append(h('option', { value: o.value }, label(o.label)));
      } else if (f.type === 'boolean') {
        select.append(h('option', { value: 'true' }, t('yes')), h('option', { value: 'false' }, t('no')));
      } else {
        for (const c of choices.get(f.name) ?? []) select.append(h('option', { value: String(c.id) }, c.label));
      }
      select.value = query.get(f.name) ?? '';
      select.addEventListener('change', () => form.requestSubmit());
      return h('div', { class: 'field-inline' }, h('label', { for: id }, label(f.label)), select);
    });
    const archived = h('input', { type: 'checkbox', id: 'filter-archived', name: 'archived', checked: query.get('archived') === 'include' });
    archived.addEventListener('change', () => form.requestSubmit());

    const form = h(
      'form',
      { class: 'search-form', id: 'search-form', role: 'search', 'aria-label': t('searchRegion', { label: label(reg.label) }) },
      h('div', { class: 'field-inline' }, h('label', { for: 'search-q' }, t('keyword')), qInput),
      filterControls,
      h('div', { class: 'field-inline choice' }, archived, h('label', { for: 'filter-archived' }, t('includeArchived'))),
      h(
        'div',
        { class: 'button-row' },
        h('button', { type: 'submit', class: 'button', id: 'search-submit' }, t('search')),
        h('a', { href: listHash(reg), class: 'button button-quiet', id: 'search-clear' }, t('clearSearch')),
      ),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const next = new URLSearchParams();
      const q = qInput.value.trim();
      if (q) next.set('q', q);
      for (const f of filters) {
        const v = (form.elements.namedItem(f.name) as HTMLSelectElement | null)?.value;
        if (v) next.set(f.name, v);
      }
      if (archived.checked) next.set('archived', 'include');
      else if (query.get('archived') === 'only') next.set('archived', 'only');
      const sort = query.get('sort');
      if (sort) next.set('sort', sort);
      navigate(listHash(reg, next));
    });
    return form;
  }

  function headerCell(f: FieldDef): HTMLTableCellElement {
    const th = h('th', { scope: 'col', 'data-field': f.name });
    if (!f.sortable) {
      th.textContent = label(f.label);
      return th;
    }
    const ascending = currentSort === f.name;
    const descending = currentSort === `-${f.name}`;
    if (ascending) th.setAttribute('aria-sort', 'ascending');
    if (descending) th.setAttribute('aria-sort', 'descending');
    const button = h(
      'button',
      { type: 'button', class: 'sort-button', id: `sort-${f.name}` },
      label(f.label),
      h('span', { class: 'sort-icon', 'aria-hidden': 'true' }, ascending ? '▲' : descending ? '▼' : '⇅'),
    );
    button.addEventListener('click', () => {
      navigate(withQuery((q) => {
        q.set('sort', ascending ? `-${f.name}` : f.name);
        q.delete('offset');
      }));
    });
    th.append(button);
    return th;
  }

  function table(): HTMLElement {
    return h(
      'table',
      { class: 'data-table register-table', id: 'register-table', 'aria-describedby': 'list-summary' },
      h('caption', { class: 'visually-hidden' }, label(reg.label)),
      h('thead', null, h('tr', null, columns.map(headerCell))),
      h(
        'tbody',
        null,
        list.items.map((r) =>
          h(
            'tr',
            { 'data-id': r.id, class: r.archived ? 'is-archived' : null },
            columns.map((f) => {
              const text = displayValue(f, r[f.name], r._refs?.[f.name]?.label);
              if (f !== linkField) return h('td', null, text);
              return h(
                'td',
                null,
                h('a', { href: `#/r/${encodeURIComponent(reg.key)}/${r.id}` }, text || displayTitle(reg, r)),
                r.archived ? h('span', { class: 'badge badge-archived' }, t('archivedBadge')) : null,
              );
            }),
          ),
        ),
      ),
    );
  }


  function summaryText(): string {
    if (list.total === 0 || list.items.length === 0) return t('listEmpty');
    return t('listSummary', {
      total: formatNumber(list.total),
      from: formatNumber(offset + 1),
      to: formatNumber(offset + list.items.length),
    });
  }

  return {
    title: () => label(reg.label),
    announcement: () => (list.total === 0 ? t('listEmpty') : t('listAnnounce', { total: formatNumber(list.total) })),
    render(root) {
      const summary = summaryPage(reg.key);
      // Only what the user may do is offered (the server refuses the rest with 403).
      const importer = can(reg.key, 'import')
        ? importDialog(reg, (changed) => {
            if (changed) {
              forgetRefOptions(reg.key);
              reload();
            }
          })
        : null;
      const tools: (HTMLElement | null)[] = [
        can(reg.key, 'create')
          ? h('a', { href: `#/r/${encodeURIComponent(reg.key)}/new`, class: 'button button-primary', id: 'new-record' }, t('newRecord'))
          : null,
        importer
          ? h('button', { type: 'button', class: 'button', id: 'import-open', 'aria-haspopup': 'dialog', onclick: importer.open }, t('importOpen'))
          : null,
        can(reg.key, 'export') ? h('a', { href: exportHref('csv'), class: 'button', id: 'export-csv', download: '' }, t('exportCsv')) : null,
        can(reg.key, 'export') ? h('a', { href: exportHref('xlsx'), class: 'button', id: 'export-xlsx', download: '' }, t('exportXlsx')) : null,
        summary && can(summary.resource, 'view') ? h('a', { href: summary.hash, class: 'button', id: 'summary-page' }, t(summary.text)) : null,
      ].filter((el) => el !== null);
      replaceChildren(
        root,
        pageHeading(label(reg.label)),
        tools.length ? h('div', { class: 'toolbar' }, tools) : null,
        searchForm(),
        h('p', { id: 'list-summary', class: 'list-summary' }, summaryText()),
        list.items.length ? h('div', { class: 'table-scroll' }, table()) : null,
        pagination(list.total, offset, pageSize, withQuery),
        importer?.dialog ?? null,
      );
    },
  };
}
