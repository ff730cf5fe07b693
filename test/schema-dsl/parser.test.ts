import t from 'tap';
import { compileSchema, parseSchema, SchemaError, type RewriteIR } from '../../schema-dsl/index.js';

/** A compact rendering of a rewrite tree, to compare shapes in tables. */
function shape(e: RewriteIR): string {
  switch (e.kind) {
    case 'computed':
      return e.relation;
    case 'nil':
      return 'nil';
    case 'arrow':
      return `${e.fn}(${e.tupleset},${e.computed})`;
    case 'union':
      return `U(${e.children.map(shape).join(',')})`;
    case 'intersection':
      return `I(${e.children.map(shape).join(',')})`;
    case 'exclusion':
      return `X(${shape(e.base)},${shape(e.subtract)})`;
  }
}

const header = `definition user {}
definition doc {
  relation aaa: user
  relation bbb: user
  relation ccc: user
  relation ddd: user
  relation parent: doc
`;

const cases: [string, string][] = [
  ['aaa - bbb + ccc', 'X(aaa,U(bbb,ccc))'],
  ['aaa + bbb & ccc', 'I(U(aaa,bbb),ccc)'],
  ['aaa & bbb - ccc', 'X(I(aaa,bbb),ccc)'],
  ['aaa - bbb - ccc', 'X(X(aaa,bbb),ccc)'],
  ['aaa - (bbb - ccc)', 'X(aaa,X(bbb,ccc))'],
  ['aaa + bbb + ccc + ddd', 'U(aaa,bbb,ccc,ddd)'],
  ['(aaa + bbb) & (ccc + ddd)', 'I(U(aaa,bbb),U(ccc,ddd))'],
  ['parent->perm + aaa', 'U(arrow(parent,perm),aaa)'],
  ['parent.any(perm) & parent.all(perm)', 'I(any(parent,perm),all(parent,perm))'],
  ['aaa - nil', 'X(aaa,nil)'],
  ['aaa & nil', 'I(aaa,nil)'],
  ['aaa + bbb & ccc - ddd + aaa', 'X(I(U(aaa,bbb),ccc),U(ddd,aaa))'],
];

t.test('operator precedence and associativity', async (t) => {
  for (const [expr, want] of cases) {
    const ir = compileSchema(`${header}  permission perm = aaa\n  permission test = ${expr}\n}`);
    const p = ir.definitions[1]!.members.find((m) => m.name === 'test');
    t.equal(p?.kind === 'permission' ? shape(p.rewrite) : '', want, expr);
  }
});

t.test('comments, doc comments, caveats and use expiration are kept', async (t) => {
  const ir = compileSchema(`use expiration

/** checks the day */
caveat on_day(day string, allowed list<string>) {
  day in allowed
}

// the people
definition user {}

/**
 * A document.
 */
definition document {
  // who reads
  relation reader: user with on_day | user:* | user with expiration | user with on_day and expiration
  permission view = reader
}
`);
  t.equal(ir.useExpiration, true);
  t.same(ir.caveats[0]?.comments, ['/** checks the day */']);
  t.equal(ir.caveats[0]?.expression, 'day in allowed');
  t.same(ir.caveats[0]?.params.map((p) => [p.name, p.type.name, p.type.args.map((a) => a.name)]), [
    ['day', 'string', []],
    ['allowed', 'list', ['string']],
  ]);
  t.same(ir.definitions[0]?.comments, ['// the people']);
  t.same(ir.definitions[1]?.comments, ['/**\n * A document.\n */']);
  const reader = ir.definitions[1]?.members[0];
  t.same(reader?.comments, ['// who reads']);
  t.same(
    reader?.kind === 'relation' ? reader.allowed.map((a) => [a.type, a.relation, a.wildcard, a.caveat, a.expiration]) : [],
    [
      ['user', '...', false, 'on_day', false],
      ['user', '...', true, null, false],
      ['user', '...', false, null, true],
      ['user', '...', false, 'on_day', true],
    ],
  );
});

t.test('syntax errors carry line and column', async (t) => {
  const bad: [string, number, number, RegExp][] = [
    ['definition user {\n  relation viewer user\n}', 2, 19, /expected `relation`, `permission` or `}`/],
    ['definition {}', 1, 12, /expected a definition name/],
    ['definition doc {\n  permission view = \n}', 3, 1, /expected a relation, permission, `nil` or `\(`/],
    ['definition doc {\n  permission view = a->b->c\n}', 2, 25, /nested arrows/],
    ['caveat c(x int) {\n  x == 1\n', 1, 17, /unterminated caveat body/],
    ['definition doc { relation r: user$ }', 1, 34, /unexpected character/],
    ['/* never closed', 1, 1, /unterminated comment/],
    ['permission x = y', 1, 1, /expected `definition`, `caveat` or `use`/],
  ];
  for (const [src, line, column, message] of bad) {
    try {
      parseSchema(src);
      t.fail(`parsed ${JSON.stringify(src)}`);
    } catch (e) {
      t.ok(e instanceof SchemaError, 'a SchemaError');
      const d = (e as SchemaError).diagnostics[0]!;
      t.match(d, { line, column, message }, JSON.stringify(src));
    }
  }
});

t.test('hostile nesting is refused, not a stack overflow', async (t) => {
  const deep = '('.repeat(5000) + 'aaa' + ')'.repeat(5000);
  t.throws(() => parseSchema(`definition doc { permission p = ${deep} }`), /nested deeper than/);
});
