/** A relationship filter as text names it: `type[:id][#relation][@subjecttype[:id][#relation]]`. */
export interface FilterParts {
  readonly resourceType: string;
  readonly resourceId: string;
  readonly relation: string;
  readonly subject: { readonly type: string; readonly id: string; readonly relation: string } | null;
}

const FILTER = /^([a-z][a-z0-9_/]*)(?::([^#@]+))?(?:#([a-z][a-z0-9_]*))?(?:@([a-z][a-z0-9_/]*)(?::([^#]+))?(?:#([a-z][a-z0-9_.]*))?)?$/;

/** The filter syntax in words, for error messages. */
export const FILTER_SYNTAX = 'type[:id][#relation][@subjecttype[:id][#relation]]';

/** Parses filter text (the CLI's `tuple read` and the console share it); null when it is not one. Pure: the console runs it in the browser. */
export function parseFilterText(text: string): FilterParts | null {
  const m = FILTER.exec(text.trim());
  if (!m) return null;
  return {
    resourceType: m[1]!,
    resourceId: m[2] ?? '',
    relation: m[3] ?? '',
    subject: m[4] ? { type: m[4], id: m[5] ?? '', relation: m[6] ?? '' } : null,
  };
}

/** The API's RelationshipFilter message for parsed filter text. */
export function filterMessage(f: FilterParts): {
  resource_type: string;
  optional_resource_id: string;
  optional_relation: string;
  optional_subject_filter: { subject_type: string; optional_subject_id: string; optional_relation: string } | null;
} {
  return {
    resource_type: f.resourceType,
    optional_resource_id: f.resourceId,
    optional_relation: f.relation,
    optional_subject_filter: f.subject ? { subject_type: f.subject.type, optional_subject_id: f.subject.id, optional_relation: f.subject.relation } : null,
  };
}
