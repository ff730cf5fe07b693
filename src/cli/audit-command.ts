import type { Command } from 'commander';
import { clientOptions, emitEach, withApi } from './cli-support.js';
import { UsageError } from './connection.js';
import { durationSeconds } from './keys-command.js';

/** A time given on the command line: an ISO time, or a duration ago (`24h`: a day ago). */
function timeArg(text: string, flag: string): { seconds: string; nanos: number } {
  const ms = /^\d+[smhd]$/.test(text) ? Date.now() - durationSeconds(text, flag) * 1000 : Date.parse(text);
  if (!Number.isFinite(ms)) throw new UsageError(`${flag} must be an ISO time (2026-11-27T09:00:00Z) or a duration ago (24h, 7d), got \`${text}\``);
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 };
}

/** An event as a line: when, what method, which key, which revision, and its changes (the first few). */
function eventText(e: any): string {
  const at = new Date(Number(e.at.seconds) * 1000 + Math.floor(e.at.nanos / 1e6)).toISOString();
  const who = e.actor_key ? `key ${e.actor_key}${e.actor_tenant !== e.tenant ? ` (${e.actor_tenant})` : ''}` : 'no key';
  const shown = e.changes.slice(0, 3).map((c: any) => `${c.operation} ${c.target}`);
  const more = Number(e.changes_total) - shown.length;
  return `${at}  ${e.tenant}  ${e.method}  ${who}${e.acting_as ? ` as ${e.acting_as}` : ''}  ${shown.join(', ')}${more > 0 ? ` (+${more} more)` : ''}`;
}

/** Registers `warden audit`. */
export function registerAudit(program: Command): void {
  clientOptions(
    program
      .command('audit')
      .description('the audit history: who changed which relationship, schema, key or tenant, and when (needs an admin key)')
      .option('--tenant <name>', "another tenant's history (default: the key's own)")
      .option('--resource <type[:id]>', 'changes to this resource type or object')
      .option('--subject <type:id>', 'changes to relationships with this subject')
      .option('--actor <key id>', 'changes made with this key')
      .option('--since <time>', 'at or after: an ISO time or a duration ago (24h, 7d)')
      .option('--until <time>', 'at or before')
      .option('--from <zookie>', 'committed at or after this revision')
      .option('--to <zookie>', 'committed at or before this revision')
      .option('--limit <n>', 'at most this many events (default: all of them, a page of 1,000 at a time)')
      .addHelpText('after', '\nPrints an event a line, oldest first (with --json, an object a line).\n\nExamples:\n  $ warden audit --resource document:q3 --since 7d --token $ADMIN_KEY\n  $ warden audit --subject user:alice --json'),
  ).action(async (o: { tenant?: string; resource?: string; subject?: string; actor?: string; since?: string; until?: string; from?: string; to?: string; limit?: string }, cmd: Command) => {
    const limit = o.limit === undefined ? Infinity : Number(o.limit);
    if (!(limit > 0) || (limit !== Infinity && !Number.isInteger(limit))) throw new UsageError(`--limit must be a whole number above 0, got \`${o.limit}\``);
    const req = {
      tenant: o.tenant ?? '',
      resource: o.resource ?? '',
      subject: o.subject ?? '',
      actor_key: o.actor ?? '',
      since: o.since ? timeArg(o.since, '--since') : null,
      until: o.until ? timeArg(o.until, '--until') : null,
      from_revision: o.from ? { token: o.from } : null,
      to_revision: o.to ? { token: o.to } : null,
    };
    await withApi(cmd, async (api, g) => {
      let cursor = '';
      let left = limit;
      do {
        const r = await api.call('AuditService', 'ListAuditEvents', { ...req, limit: Math.min(left, 1000), cursor });
        emitEach(g, r.events, eventText);
        left -= r.events.length;
        cursor = r.cursor;
      } while (cursor && left > 0);
    });
  });
}
