// A module without a page of its own yet (#/m/{key}): says so plainly, with its issue number.

import { h, replaceChildren } from '../dom';
import { label, t } from '../i18n';
import type { View } from '../state';
import type { ModuleDef } from '../types';
import { pageHeading } from './common';

export function moduleView(m: ModuleDef): View {
  return {
    title: () => label(m.label),
    render(root) {
      replaceChildren(
        root,
        pageHeading(label(m.label)),
        h(
          'div',
          { class: 'notice notice-info', id: 'not-implemented' },
          h('p', null, t('notImplemented')),
          m.issue ? h('p', null, t('trackedInIssue', { n: m.issue })) : null,
        ),
        h('p', null, h('a', { href: '#/' }, t('backToDashboard'))),
      );
    },
  };
}
