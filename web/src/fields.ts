// How a register field's value reads on screen (lists and history), from the field definition
// alone: enumerations show their option label, booleans はい/いいえ, references the referenced
// record's label.

import { label, t } from './i18n';
import type { FieldDef } from './types';

/**
 * The text of `value` for `field`. `refLabel` is the label of a referenced record when known
 * (from the record's `_refs` or the loaded choices).
 */
export function displayValue(field: FieldDef | undefined, value: unknown, refLabel?: string): string {
  if (value === null || value === undefined || value === '') return '';
  if (typeof value === 'boolean' && field?.type !== 'enum') return value ? t('yes') : t('no');
  if (!field) return typeof value === 'object' ? JSON.stringify(value) : String(value);
  switch (field.type) {
    case 'boolean':
      return value === 'true' ? t('yes') : value === 'false' ? t('no') : String(value);
    case 'enum': {
      const option = field.options?.find((o) => o.value === value);
      return option ? label(option.label) : String(value);
    }
    case 'ref':
      return refLabel ?? `#${String(value)}`;
    default:
      return typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
}

/** The fields shown as list columns: those marked `list`, else the key and title fields. */
export function listFields(fields: FieldDef[], keyField: string, titleField: string): FieldDef[] {
  const marked = fields.filter((f) => f.list);
  if (marked.length > 0) return marked;
  return fields.filter((f) => f.name === keyField || f.name === titleField);
}

/** Filters offered above a list: filterable enum, ref and boolean fields. */
export function filterFields(fields: FieldDef[]): FieldDef[] {
  return fields.filter((f) => f.filterable && (f.type === 'enum' || f.type === 'ref' || f.type === 'boolean'));
}
