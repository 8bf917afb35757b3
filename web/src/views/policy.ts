// 基本方針 (#/policy): the policy's sections (§1–§10) with their items, and for every measure
// its controls as collapsible <details>, after an in-page table of contents.

import { getJson } from '../api';
import { h, idFragment, replaceChildren, type Child } from '../dom';
import { formatDate, label, t } from '../i18n';
import type { View } from '../state';
import type { Control, PolicyAnswer, PolicyItem, PolicySection } from '../types';
import { pageHeading } from './common';

type HeadingTag = 'h2' | 'h3' | 'h4' | 'h5' | 'h6';
const headingTags: HeadingTag[] = ['h2', 'h3', 'h4', 'h5', 'h6'];

function heading(depth: number, props: Record<string, string>, ...children: Child[]): HTMLElement {
  return h(headingTags[Math.min(depth, headingTags.length - 1)]!, props, ...children);
}

/**
 * The element id of a section or item, unique for every id: "6(3)" -> "p-6-3",
 * "6(3)ア" -> "p-6-3-u30a2" (characters outside ASCII become their code point).
 */
function anchorId(id: string): string {
  const ascii = Array.from(id)
    .map((ch) => (/[0-9A-Za-z]/.test(ch) ? ch : /[()\s]/.test(ch) ? '-' : `-u${ch.codePointAt(0)!.toString(16)}`))
    .join('');
  return `p-${ascii.replace(/-+/g, '-').replace(/^-|-$/g, '')}`;
}

function controlDetails(c: Control): HTMLElement {
  const facts: HTMLElement[] = [];
  if (c.evidence?.length) {
    facts.push(h('div', null, h('dt', null, t('evidence')), h('dd', null, h('ul', null, c.evidence.map((e) => h('li', null, e))))));
  }
  if (c.owner_role) facts.push(h('div', null, h('dt', null, t('ownerRole')), h('dd', null, c.owner_role)));
  if (c.review_months) {
    facts.push(h('div', null, h('dt', null, t('reviewCycle')), h('dd', null, t('reviewMonths', { n: c.review_months }))));
  }
  return h(
    'details',
    { class: 'control', id: `c-${idFragment(c.id)}` },
    h('summary', null, h('span', { class: 'control-id' }, c.id), ' ', label(c.title)),
    h(
      'div',
      { class: 'control-body' },
      c.description ? h('p', null, label(c.description)) : null,
      facts.length ? h('dl', { class: 'facts' }, facts) : null,
    ),
  );
}

function controlsBlock(controls: Control[] | undefined, depth: number): Child {
  if (!controls?.length) return null;
  return h(
    'div',
    { class: 'controls' },
    heading(depth, { class: 'controls-heading' }, t('controlsOf', { n: controls.length })),
    controls.map(controlDetails),
  );
}

function badges(node: PolicySection): Child {
  const list: HTMLElement[] = [];
  if (node.is_measure) list.push(h('span', { class: 'badge badge-measure' }, t('measureBadge')));
  if (node.is_public === false) list.push(h('span', { class: 'badge badge-private' }, t('nonPublicBadge')));
  return list.length ? h('p', { class: 'badges' }, list) : null;
}

function itemBlock(item: PolicyItem, depth: number): HTMLElement {
  const id = anchorId(item.id);
  return h(
    'section',
    { class: 'policy-item', 'aria-labelledby': id },
    heading(depth, { id, tabindex: '-1' }, item.number ? `${item.number} ` : '', label(item.title)),
    item.is_measure ? badges(item) : null,
    item.summary ? h('p', { class: 'summary' }, label(item.summary)) : null,
    controlsBlock(item.controls, depth + 1),
    (item.items ?? []).map((child) => itemBlock(child, depth + 1)),
  );
}

function sectionBlock(s: PolicySection): HTMLElement {
  const id = anchorId(s.id);
  return h(
    'section',
    { class: 'policy-section', 'aria-labelledby': id },
    heading(0, { id, tabindex: '-1' }, `${s.id} `, label(s.title)),
    badges(s),
    s.summary ? h('p', { class: 'summary' }, label(s.summary)) : null,
    s.is_public === false ? h('p', { class: 'note' }, t('nonPublicNote')) : null,
    controlsBlock(s.controls, 1),
    (s.items ?? []).map((item) => itemBlock(item, 1)),
  );
}

function tableOfContents(sections: PolicySection[]): HTMLElement {
  return h(
    'nav',
    { class: 'toc', 'aria-labelledby': 'toc-heading' },
    h('h2', { id: 'toc-heading' }, t('contents')),
    h(
      'ol',
      null,
      sections.map((s) =>
        h(
          'li',
          null,
          h('a', { href: `#${anchorId(s.id)}` }, `${s.id} ${label(s.title)}`),
          s.items?.length
            ? h(
                'ol',
                null,
                s.items.map((i) => h('li', null, h('a', { href: `#${anchorId(i.id)}` }, `${i.number ?? i.id} ${label(i.title)}`))),
              )
            : null,
        ),
      ),
    ),
  );
}

export async function loadPolicy(): Promise<View> {
  const policy = await getJson<PolicyAnswer>('policy');
  return {
    title: () => label(policy.title) || t('policy'),
    render(root) {
      const setAll = (open: boolean) => {
        for (const d of root.querySelectorAll('details.control')) (d as HTMLDetailsElement).open = open;
      };
      replaceChildren(
        root,
        pageHeading(label(policy.title) || t('policy')),
        h(
          'p',
          { class: 'lead' },
          policy.body ? h('span', null, policy.body) : null,
          policy.effective ? h('span', null, `${t('effective')}: `, h('time', { datetime: policy.effective }, formatDate(policy.effective))) : null,
        ),
        tableOfContents(policy.sections),
        h(
          'div',
          { class: 'button-row' },
          h('button', { type: 'button', class: 'button', id: 'expand-all', onclick: () => setAll(true) }, t('expandAll')),
          h('button', { type: 'button', class: 'button', id: 'collapse-all', onclick: () => setAll(false) }, t('collapseAll')),
        ),
        policy.sections.map(sectionBlock),
      );
    },
  };
}
