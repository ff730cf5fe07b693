import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from './connection.js';
import { emit } from './cli-support.js';

/**
 * The example model `warden init` writes: a validation file (schema, relationships, assertions)
 * of the shape most users start from (users in nested groups, organisations, accounts, resources;
 * a caveat, a wildcard and an exclusion), commented. test/cli/init.test.ts holds it valid.
 */
export const EXAMPLE_MODEL = `# An example Warden model: users in nested groups, organisations, accounts and resources.
# Check it offline with \`warden validate model.yaml\`; load it with \`warden import model.yaml\`.
schema: |-
  // Anyone who signs in.
  definition user {}

  // A team. Its members are users, or the members of other groups (groups nest).
  definition group {
    relation member: user | group#member
  }

  // An organisation: admins manage it, members (and admins) see it.
  definition org {
    relation admin: user | group#member
    relation member: user | group#member

    permission manage = admin
    permission view = member + manage
  }

  // Access to a viewer that holds only during office hours (the hour is given with the check).
  caveat office_hours(hour int) {
    hour >= 9 && hour < 17
  }

  // An account belongs to an organisation. Banned users lose access whatever else grants it
  // (an exclusion).
  definition account {
    relation org: org
    relation owner: user
    relation banned: user

    permission manage = owner + org->manage
    permission view = (manage + org->view) - banned
  }

  // A resource in an account: its viewers may be everyone (\`user:*\`, a wildcard), groups, or users
  // under a caveat; the account's managers edit it and its viewers see it.
  definition resource {
    relation account: account
    relation viewer: user | user:* | group#member | user with office_hours
    relation editor: user | group#member

    permission edit = editor + account->manage
    permission view = viewer + edit + account->view
  }
relationships: |-
  // bob is in platform, platform's members are in engineering, engineering's are acme's members
  group:platform#member@user:bob
  group:engineering#member@user:alice
  group:engineering#member@group:platform#member
  org:acme#member@group:engineering#member
  org:acme#admin@user:carol
  org:acme#member@user:mallory
  // the account acme-prod belongs to acme; dave owns it; mallory is banned from it
  account:acme-prod#org@org:acme
  account:acme-prod#owner@user:dave
  account:acme-prod#banned@user:mallory
  // two resources in it: a dashboard (erin may view it in office hours) and a public report
  resource:dashboard#account@account:acme-prod
  resource:dashboard#viewer@user:erin[office_hours]
  resource:report#account@account:acme-prod
  resource:report#viewer@user:*
assertions:
  assertTrue:
    # through the whole hierarchy: platform -> engineering -> acme -> acme-prod -> dashboard
    - resource:dashboard#view@user:bob
    - resource:dashboard#edit@user:carol
    - resource:dashboard#edit@user:dave
    - resource:report#view@user:anyone
    - 'resource:dashboard#view@user:erin with {"hour": 10}'
  assertFalse:
    - resource:dashboard#view@user:mallory
    - resource:dashboard#edit@user:bob
    - 'resource:dashboard#view@user:erin with {"hour": 20}'
    - resource:dashboard#view@user:anyone
  assertCaveated:
    - resource:dashboard#view@user:erin
validation:
  resource:dashboard#edit:
    - "[user:carol] is <org:acme#admin>"
    - "[user:dave] is <account:acme-prod#owner>"
`;

/** Registers `warden init [DIR]`. */
export function registerInit(program: Command): void {
  program
    .command('init')
    .description('write an example model to start from: a validation file with a schema, relationships and assertions')
    .argument('[dir]', 'where to write model.yaml', 'warden-model')
    .option('--force', 'replace a model.yaml that is there')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  $ warden init && warden import warden-model/model.yaml && warden check resource:dashboard view user:bob')
    .action((dir: string, o: { force?: boolean; json?: boolean }) => {
      const file = join(dir, 'model.yaml');
      if (existsSync(file) && !o.force) throw new UsageError(`${file} exists: pass --force to replace it`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(file, EXAMPLE_MODEL);
      emit(
        o,
        { file },
        [
          `wrote ${file}: an example model (schema, relationships, assertions). Next:`,
          `  warden validate ${file}                     # check the assertions offline`,
          `  warden import ${file}                       # load the schema and relationships into the server`,
          '  warden check resource:dashboard view user:bob     # HAS_PERMISSION: platform -> engineering -> acme -> acme-prod',
          '  warden check resource:dashboard view user:mallory # NO_PERMISSION: banned from acme-prod',
        ].join('\n'),
      );
    });
}
