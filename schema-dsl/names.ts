/** Definition and caveat names: lowercase segments of 3 to 64 characters, optionally prefixed `a/b/`. */
export const DEFINITION_NAME = /^([a-z][a-z0-9_]{1,61}[a-z0-9]\/)*[a-z][a-z0-9_]{1,62}[a-z0-9]$/;

/** Relation and permission names: lowercase, 3 to 64 characters, not ending in `_`. */
export const RELATION_NAME = /^[a-z][a-z0-9_]{1,62}[a-z0-9]$/;

/** Caveat parameter names: a CEL identifier. */
export const PARAMETER_NAME = /^[a-zA-Z_][a-zA-Z0-9_]{0,63}$/;

/** Object ids: letters, digits and `/_|-=+`, 1 to 1024 characters (or `*` for a wildcard subject). */
export const OBJECT_ID = /^[a-zA-Z0-9/_|\-=+]{1,1024}$/;

/** The caveat parameter types and how many type arguments each takes. */
export const CAVEAT_TYPES: ReadonlyMap<string, number> = new Map([
  ['any', 0],
  ['bool', 0],
  ['string', 0],
  ['int', 0],
  ['uint', 0],
  ['double', 0],
  ['bytes', 0],
  ['duration', 0],
  ['timestamp', 0],
  ['ipaddress', 0],
  ['list', 1],
  ['map', 1],
]);
