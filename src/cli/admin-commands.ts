import type { Command } from 'commander';
import { UsageError } from './connection.js';
import { clientOptions, consistencyOf, consistencyOptions, emit, emitEach, importRelationships, readFile, withApi } from './cli-support.js';
import { describeConnection } from './connection.js';
import { loadProfiles, profilesPath, saveProfiles } from './profiles.js';

/** The schema compiler and formatter, loaded by the schema commands that use them (CEL comes with them). */
const schemaFiles = () => import('./schema-files.js');

/** Registers context, schema, tenant and import. */
export function registerAdmin(program: Command): void {
  const context = program.command('context').description('saved connections (endpoint, key, TLS), stored with mode 0600');
  context
    .command('set')
    .description('save a connection')
    .argument('<name>')
    .requiredOption('--endpoint <host:port>', 'server address')
    .option('--token <key>', 'API key')
    .option('--tls', 'use TLS')
    .option('--insecure', 'plaintext (the default)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  $ warden context set prod --endpoint warden.internal:50051 --token wdn_... --tls')
    .action((name: string, o: { endpoint: string; token?: string; tls?: boolean; insecure?: boolean; json?: boolean }) => {
      if (o.tls && o.insecure) throw new UsageError('--tls and --insecure contradict each other');
      const p = loadProfiles();
      p.profiles[name] = { endpoint: o.endpoint, tls: !!o.tls, ...(o.token ? { token: o.token } : {}) };
      p.current ??= name;
      saveProfiles(p);
      emit(o, { name, current: p.current === name, path: profilesPath() }, `saved context ${name}${p.current === name ? ' (in use)' : ''} in ${profilesPath()}`);
    });
  context
    .command('use')
    .description('make a saved connection the current one')
    .addHelpText('after', '\nExample:\n  $ warden context use prod')
    .argument('<name>')
    .option('--json', 'print JSON')
    .action((name: string, o: { json?: boolean }) => {
      const p = loadProfiles();
      if (!p.profiles[name]) throw new UsageError(`no context named \`${name}\`: see \`warden context list\``);
      p.current = name;
      saveProfiles(p);
      emit(o, { name, current: true }, `using context ${name}`);
    });
  context
    .command('list')
    .description('list saved connections (keys hidden)')
    .addHelpText('after', '\nExample:\n  $ warden context list')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) => {
      const p = loadProfiles();
      const rows = Object.entries(p.profiles).map(([name, v]) => ({ name, endpoint: v.endpoint, tls: v.tls, token: v.token ? 'set' : 'none', current: p.current === name }));
      emitEach(o, rows, (r) => `${r.current ? '*' : ' '} ${r.name}\t${r.endpoint}\t${r.tls ? 'tls' : 'plaintext'}\ttoken ${r.token}`);
    });
  context
    .command('show')
    .description('the connection a command would use now, and where each setting comes from (never the key)')
    .addHelpText('after', '\nExample:\n  $ warden context show --profile prod')
    .option('--endpoint <host:port>', 'as a command given it would')
    .option('--token <key>', 'as a command given it would')
    .option('--tls', 'as a command given it would')
    .option('--insecure', 'as a command given it would')
    .option('--profile <name>', 'show this saved context instead of the current one')
    .option('--json', 'print JSON')
    .action((o: { endpoint?: string; token?: string; tls?: boolean; insecure?: boolean; profile?: string; json?: boolean }) => {
      const shown = describeConnection(o);
      emit(o, shown, [`context\t${shown.context ?? '(none)'}`, `endpoint\t${shown.endpoint.value}\t(${shown.endpoint.from})`, `token\t${shown.token.value}\t(${shown.token.from})`, `tls\t${shown.tls.value ? 'on' : 'off'}\t(${shown.tls.from})`].join('\n'));
    });
  context
    .command('rename')
    .description('rename a saved connection')
    .addHelpText('after', '\nExample:\n  $ warden context rename staging stage-eu')
    .argument('<old>')
    .argument('<new>')
    .option('--json', 'print JSON')
    .action((from: string, to: string, o: { json?: boolean }) => {
      const p = loadProfiles();
      const profile = p.profiles[from];
      if (!profile) throw new UsageError(`no context named \`${from}\`: see \`warden context list\``);
      if (p.profiles[to]) throw new UsageError(`a context named \`${to}\` exists: delete it first`);
      delete p.profiles[from];
      p.profiles[to] = profile;
      if (p.current === from) p.current = to;
      saveProfiles(p);
      emit(o, { from, to, current: p.current === to }, `renamed context ${from} to ${to}${p.current === to ? ' (in use)' : ''}`);
    });
  context
    .command('delete')
    .description('delete a saved connection (and its key) from the contexts file')
    .addHelpText('after', '\nExample:\n  $ warden context delete old-staging')
    .argument('<name>')
    .option('--json', 'print JSON')
    .action((name: string, o: { json?: boolean }) => {
      const p = loadProfiles();
      if (!p.profiles[name]) throw new UsageError(`no context named \`${name}\`: see \`warden context list\``);
      delete p.profiles[name];
      const wasCurrent = p.current === name;
      if (wasCurrent) p.current = null;
      saveProfiles(p);
      emit(o, { deleted: name, current: p.current }, `deleted context ${name}${wasCurrent ? ' (it was in use: none is now; `warden context use NAME` picks one)' : ''}`);
    });

  const schema = program.command('schema').description('read, write, validate, format and compare schemas');
  clientOptions(schema.command('write').description('write a schema to the server').addHelpText('after', '\nExample:\n  $ warden schema write schema.zed').argument('<file>')).action(async (file: string, _o: unknown, cmd: Command) => {
    const text = readFile(file);
    (await schemaFiles()).compileFile(file, text);
    await withApi(cmd, async (api, g) => {
      const r = await api.call('SchemaService', 'WriteSchema', { schema: text });
      emit(g, r, `schema written at ${r.written_at.token}`);
    });
  });
  clientOptions(consistencyOptions(schema.command('read').description("print the server's schema").addHelpText('after', '\nExample:\n  $ warden schema read > schema.zed'))).action(async (_o: unknown, cmd: Command) => {
    await withApi(cmd, async (api, g) => {
      const r = await api.call('SchemaService', 'ReadSchema', { consistency: consistencyOf(cmd.opts()) });
      emit(g, r, r.schema);
    });
  });
  schema
    .command('validate')
    .description('compile a schema file offline; errors as file:line:column')
    .addHelpText('after', '\nExample:\n  $ warden schema validate schema.zed')
    .argument('<file>')
    .option('--json', 'print JSON')
    .action(async (file: string, o: { json?: boolean }) => {
      const ir = (await schemaFiles()).compileFile(file);
      emit(o, { valid: true, definitions: ir.definitions.length, caveats: ir.caveats.length }, `${file}: valid (${ir.definitions.length} definitions, ${ir.caveats.length} caveats)`);
    });
  schema
    .command('format')
    .description('print a schema file in canonical form')
    .addHelpText('after', '\nExample:\n  $ warden schema format schema.zed > formatted.zed')
    .argument('<file>')
    .option('--json', 'print JSON')
    .action(async (file: string, o: { json?: boolean }) => {
      const { compileFile, formatSchema } = await schemaFiles();
      const text = formatSchema(compileFile(file));
      emit(o, { schema: text }, text);
    });
  schema
    .command('diff')
    .description('definitions, relations and permissions added, removed and changed between two schema files')
    .addHelpText('after', '\nExample:\n  $ warden schema diff old.zed new.zed')
    .argument('<old>')
    .argument('<new>')
    .option('--json', 'print JSON')
    .action(async (oldFile: string, newFile: string, o: { json?: boolean }) => {
      const { compileFile, diffSchemas } = await schemaFiles();
      const changes = diffSchemas(compileFile(oldFile), compileFile(newFile));
      if (!changes.length && !o.json) process.stdout.write('no changes\n');
      emitEach(o, changes, (c) => `${c.change === 'added' ? '+' : c.change === 'removed' ? '-' : '~'} ${c.kind} ${c.name}${c.detail ? `: ${c.detail}` : ''}`);
    });

  const tenant = program.command('tenant').description('manage tenants (needs an admin key)');
  clientOptions(tenant.command('create').description('create a tenant').addHelpText('after', '\nExample:\n  $ warden tenant create acme --token $ADMIN_KEY').argument('<name>')).action(async (name: string, _o: unknown, cmd: Command) => {
    await withApi(cmd, async (api, g) => emit(g, await api.call('TenantService', 'CreateTenant', { name }), `created tenant ${name}`));
  });
  clientOptions(tenant.command('list').description('list tenants').addHelpText('after', '\nExample:\n  $ warden tenant list --token $ADMIN_KEY --json')).action(async (_o: unknown, cmd: Command) => {
    await withApi(cmd, async (api, g) => {
      const r = await api.call('TenantService', 'ListTenants', {});
      emitEach(g, r.tenants, (t: any) => `${t.name}\t${t.created_at}`);
    });
  });
  clientOptions(tenant.command('delete').description('delete a tenant with all its data and keys').addHelpText('after', '\nExample:\n  $ warden tenant delete acme --token $ADMIN_KEY').argument('<name>')).action(async (name: string, _o: unknown, cmd: Command) => {
    await withApi(cmd, async (api, g) => emit(g, await api.call('TenantService', 'DeleteTenant', { name }), `deleted tenant ${name}`));
  });

  clientOptions(
    tenant
      .command('settings')
      .description("show a tenant's own limits, or change them (0 or an empty name: the server's default)")
      .argument('<name>')
      .option('--max-rate <n>', 'calls a second')
      .option('--max-in-flight <n>', 'calls running at once')
      .option('--max-relationships <n>', 'relationships it may hold (writes past it are refused)')
      .option('--impersonate-permission <name>', 'the permission that lets someone act for a subject')
      .addHelpText('after', '\nExamples:\n  $ warden tenant settings acme --token $ADMIN_KEY\n  $ warden tenant settings acme --max-rate 500 --max-relationships 1000000 --token $ADMIN_KEY'),
  ).action(async (name: string, o: { maxRate?: string; maxInFlight?: string; maxRelationships?: string; impersonatePermission?: string }, cmd: Command) => {
    const whole = (v: string, flag: string): number => {
      if (!/^\d+$/.test(v)) throw new UsageError(`${flag} must be a whole number, got \`${v}\``);
      return Number(v);
    };
    await withApi(cmd, async (api, g) => {
      let r = await api.call('TenantService', 'GetTenantSettings', { name });
      if (o.maxRate !== undefined || o.maxInFlight !== undefined || o.maxRelationships !== undefined || o.impersonatePermission !== undefined) {
        const settings = {
          ...r,
          ...(o.maxRate !== undefined ? { max_rate_per_second: whole(o.maxRate, '--max-rate') } : {}),
          ...(o.maxInFlight !== undefined ? { max_in_flight: whole(o.maxInFlight, '--max-in-flight') } : {}),
          ...(o.maxRelationships !== undefined ? { max_relationships: String(whole(o.maxRelationships, '--max-relationships')) } : {}),
          ...(o.impersonatePermission !== undefined ? { impersonate_permission: o.impersonatePermission } : {}),
        };
        r = await api.call('TenantService', 'UpdateTenantSettings', { name, settings });
      }
      const shown = (v: unknown, unit = ''): string => (v && v !== '0' ? `${v}${unit}` : 'server default');
      emit(
        g,
        r,
        [`max rate: ${shown(r.max_rate_per_second, ' calls/s')}`, `max in flight: ${shown(r.max_in_flight)}`, `max relationships: ${shown(r.max_relationships)}`, `impersonate permission: ${r.impersonate_permission || 'impersonate'}`].join('\n'),
      );
    });
  });

  clientOptions(
    program
      .command('import')
      .description("load a validation file's schema and relationships into the server")
      .argument('<file>', 'a validation file (YAML)')
      .addHelpText('after', '\nExample:\n  $ warden import examples/docs.yaml'),
  ).action(async (file: string, _o: unknown, cmd: Command) => {
    const { parseValidationFile } = await import('../conformance/validation-file.js');
    let docs;
    try {
      docs = parseValidationFile(readFile(file), file);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const doc = docs[0];
    if (!doc) throw new UsageError(`${file} holds no document`);
    if (docs.length > 1) throw new UsageError(`${file} holds ${docs.length} documents; import one at a time`);
    await withApi(cmd, async (api, g) => {
      const s = await api.call('SchemaService', 'WriteSchema', { schema: doc.schema });
      let r = { imported_at: s.written_at, count: '0' };
      if (doc.relationships.length) r = await importRelationships(api, doc.relationships);
      emit(g, r, `imported the schema and ${r.count} relationships; zookie ${r.imported_at.token}`);
    });
  });
}
