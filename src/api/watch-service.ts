import { DEFINITION_NAME } from '../../schema-dsl/index.js';
import { invalidArgument } from '../errors/error-code.js';
import type { CallContext } from '../server/call.js';
import { compareRevisions, type Revision } from '../store/store.js';
import { fromRelationship, jsonToStruct } from './convert.js';

/** How often Watch looks for new transactions. */
const POLL_MS = 100;

/** WatchService: streams committed changes after a zookie (or from now), with heartbeats. */
export function watchService() {
  return {
    async Watch(
      req: { optional_resource_types: string[]; optional_start: { token: string } | null; heartbeat_ms: number },
      { tenant, signal }: CallContext,
      send: (res: unknown) => Promise<void>,
    ) {
      req.optional_resource_types.forEach((t, i) => {
        if (!DEFINITION_NAME.test(t)) throw invalidArgument(`optional_resource_types[${i}]`, `\`${t}\` is not a type name`);
      });
      const types = new Set(req.optional_resource_types);
      const heartbeatMs = req.heartbeat_ms ? Math.max(100, req.heartbeat_ms) : 5000;
      let after: Revision = req.optional_start?.token
        ? tenant.zookieRevision(req.optional_start.token, 'optional_start')
        : await tenant.store.headRevision();
      await tenant.store.checkRevision(after);
      let lastSent = Date.now();
      while (!signal.aborted) {
        const head = await tenant.store.headRevision();
        const sets = await tenant.store.changes(after, { limit: 100 });
        for (const cs of sets) {
          const changes = cs.changes
            .filter((c) => !types.size || types.has(c.relationship.resource.type))
            .map((c) => ({ operation: c.operation === 'touch' ? 'OPERATION_TOUCH' : 'OPERATION_DELETE', relationship: fromRelationship(c.relationship) }));
          after = cs.revision;
          if (!changes.length && !cs.schemaChanged) continue;
          await send({
            changes,
            changes_through: tenant.zookie(cs.revision),
            metadata: cs.metadata ? jsonToStruct(cs.metadata) : null,
            schema_changed: cs.schemaChanged,
            is_heartbeat: false,
          });
          lastSent = Date.now();
        }
        // Nothing of this tenant's is left up to the head read before asking: it is safe to move there.
        if (sets.length < 100 && compareRevisions(head, after) > 0) after = head;
        if (Date.now() - lastSent >= heartbeatMs) {
          await send({ changes: [], changes_through: tenant.zookie(after), metadata: null, schema_changed: false, is_heartbeat: true });
          lastSent = Date.now();
        }
        if (sets.length < 100) await sleep(POLL_MS, signal);
      }
    },
  };
}

/** Waits `ms`, or less if the signal aborts; leaves no listener behind either way. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
