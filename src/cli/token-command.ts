import type { Command } from 'commander';
import { clientOptions, consistencyOf, consistencyOptions, emit, readFile, withApi } from './cli-support.js';
import { ctx, ref, sub } from './query-commands.js';
import { UsageError } from './connection.js';
import { durationSeconds } from './keys-command.js';

const collect = (v: string, all: string[]): string[] => [...all, v];

/** Registers `warden token issue|jwks|verify|rotate`. */
export function registerToken(program: Command): void {
  const token = program.command('token').description('signed edge tokens: short-lived JWTs stating permissions, verified offline by gateways');
  clientOptions(
    consistencyOptions(
      token
        .command('issue')
        .description("issue a token stating the subject's permissions on resources (HAS only, at one revision)")
        .argument('<subject>', 'type:id')
        .option('--resource <type:id>', 'a resource to state (repeat for more, up to 100)', collect, [])
        .option('--type <type>', 'instead: the resources of this type the subject has a permission on')
        .option('--limit <n>', 'with --type: at most this many resources (default 100, at most 1,000)')
        .option('--permission <name>', 'a permission to state (repeat for more, up to 10)', collect, [])
        .option('--ttl <duration>', 'how long it lives (default 5m, at most 1h)', '5m')
        .option('--context <json>', 'caveat context')
        .addHelpText('after', '\nPrints the token (with --json, the response).\n\nExample:\n  $ warden token issue user:alice --resource document:q3 --resource document:q4 --permission view --ttl 10m'),
    ),
  ).action(async (subject: string, o: { resource: string[]; type?: string; limit?: string; permission: string[]; ttl: string; context?: string }, cmd: Command) => {
    if (!o.permission.length) throw new UsageError('give at least one --permission');
    const req = {
      consistency: consistencyOf(cmd.opts()),
      subject: sub(subject, 'subject'),
      permissions: o.permission,
      resources: o.resource.map((r) => ref(r, '--resource')),
      resource_type: o.type ?? '',
      limit: o.limit ? Number(o.limit) : 0,
      ttl_seconds: durationSeconds(o.ttl, '--ttl'),
      context: ctx(o.context),
    };
    await withApi(cmd, async (api, g) => {
      const r = await api.call('TokenService', 'IssueToken', req);
      emit(g, r, r.token);
    });
  });
  clientOptions(token.command('jwks').description("print the server's JWKS: the public keys tokens verify with").addHelpText('after', '\nExample:\n  $ warden token jwks > jwks.json')).action(
    async (_o: unknown, cmd: Command) => {
      await withApi(cmd, async (api, g) => {
        const r = await api.call('TokenService', 'GetJwks', {});
        emit(g, JSON.parse(r.jwks), JSON.stringify(JSON.parse(r.jwks), null, 2));
      });
    },
  );
  clientOptions(
    token
      .command('verify')
      .description('verify a token offline against a JWKS (from --jwks FILE, else fetched from the server) and print its claims')
      .argument('<token>')
      .option('--jwks <file>', 'the JWKS to verify with (no server needed)')
      .addHelpText('after', '\nExit codes: 0 valid; 1 invalid (bad signature, expired, unknown key); 3 a usage error.\n\nExample:\n  $ warden token verify eyJhbGciOi... --jwks jwks.json'),
  ).action(async (text: string, o: { jwks?: string }, cmd: Command) => {
    const { verifyEdgeToken } = await import('../tokens/edge-tokens.js');
    const jwks = o.jwks ? JSON.parse(readFile(o.jwks)) : await withApi(cmd, async (api) => JSON.parse((await api.call('TokenService', 'GetJwks', {})).jwks));
    try {
      const claims = await verifyEdgeToken(text, jwks);
      process.stdout.write(`${JSON.stringify(claims, null, cmd.optsWithGlobals<{ json?: boolean }>().json ? undefined : 2)}\n`);
    } catch (e) {
      process.stderr.write(`warden: the token is not valid: ${(e as Error).message}\n`);
      process.exitCode = 1;
    }
  });
  clientOptions(
    token
      .command('rotate')
      .description('make a new signing key; the old ones stop signing and keep verifying for the overlap (admin key)')
      .option('--overlap <duration>', 'how long old keys keep verifying (default 1h: a token\'s longest life)', '1h')
      .addHelpText('after', '\nExample:\n  $ warden token rotate --overlap 2h --token $ADMIN_KEY'),
  ).action(async (o: { overlap: string }, cmd: Command) => {
    await withApi(cmd, async (api, g) => {
      const r = await api.call('TokenService', 'RotateSigningKey', { overlap_seconds: durationSeconds(o.overlap, '--overlap') });
      emit(g, r, `signing with key ${r.key_id}`);
    });
  });
}
