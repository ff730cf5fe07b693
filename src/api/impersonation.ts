import type { Decision } from '../engine/condition.js';
import type { Engine, Snapshot } from '../engine/engine.js';
import { failedPrecondition } from '../errors/error-code.js';
import { subjectKey, type ObjectRef, type SubjectRef } from '../model/relationship.js';
import type { CallContext } from '../server/call.js';
import type { Revision } from '../store/store.js';
import { recordAudit } from './audit-trail.js';
import { toSubject, type PbSubject } from './convert.js';

/** The permission, on a subject's type, that lets someone act for a subject of that type (unless the tenant names another). */
export const IMPERSONATE_PERMISSION = 'impersonate';

/** A request made for someone: who acts, and whether they may act for a given subject. */
export interface Impersonation {
  readonly actor: SubjectRef;
  /** Whether the actor may act for `subject` (the subject's `impersonate` permission, checked at the request's snapshot). */
  grant(subject: SubjectRef): Promise<Decision>;
}

/**
 * The impersonation a request asks for with `acting_as`, or null. A subject may be acted for only
 * where its type defines `impersonate` (FAILED_PRECONDITION otherwise), and only by an actor who
 * has it on that subject (an expiring grant ends on time: the store never returns an expired one).
 */
export async function impersonation(
  engine: Engine,
  tenant: CallContext['tenant'],
  snap: Snapshot,
  actingAs: PbSubject | null | undefined,
  context: Readonly<Record<string, unknown>>,
  signal?: AbortSignal,
): Promise<Impersonation | null> {
  if (!actingAs) return null;
  const actor = toSubject(actingAs, 'acting_as');
  // The tenant may name its own permission for it (TenantService settings).
  const permission = (await tenant.settings()).impersonatePermission ?? IMPERSONATE_PERMISSION;
  const grants = new Map<string, Promise<Decision>>();
  return {
    actor,
    grant(subject) {
      const key = subjectKey(subject);
      let g = grants.get(key);
      if (!g) {
        if (!snap.schema.member(subject.type, permission)) {
          throw failedPrecondition(`\`${subject.type}\` defines no \`${permission}\` permission, so no one may act for \`${key}\`: add one to the schema to allow it`, 'acting_as');
        }
        const resource = { type: subject.type, id: subject.id };
        g = engine.check(snap, { resource, permission, subject: actor, context, ...(signal ? { signal } : {}) }).then((r) => r.decision);
        grants.set(key, g);
      }
      return g;
    },
  };
}

/** A decision made for someone: granted only as far as both the subject's answer and the actor's grant go. */
export function underImpersonation(decision: Decision, grant: Decision): Decision {
  if (decision.kind === 'no' || grant.kind === 'no') return { kind: 'no' };
  if (decision.kind === 'has' && grant.kind === 'has') return decision;
  const missing = [...(decision.kind === 'conditional' ? decision.missing : []), ...(grant.kind === 'conditional' ? grant.missing : [])];
  return { kind: 'conditional', missing: [...new Set(missing)].sort() };
}

/** One question answered for someone, as the audit history lists it (a resource id `*`: a listing of the type). */
export interface AskedFor {
  readonly resource: ObjectRef;
  readonly permission: string;
  readonly subject: SubjectRef;
  readonly decision: Decision;
}

/** Records an impersonated read in the audit history: the key, the actor, and each question with its answer. */
export function auditImpersonated(ctx: CallContext, method: string, revision: Revision, actor: SubjectRef, asked: readonly AskedFor[]): Promise<void> {
  return recordAudit(ctx.tenant.audit, ctx, {
    method,
    tenant: ctx.tenant.name,
    revision,
    actingAs: subjectKey(actor),
    changes: asked.map((a) => ({ operation: 'check', target: `${a.resource.type}:${a.resource.id}#${a.permission}@${subjectKey(a.subject)} -> ${a.decision.kind}` })),
  });
}

/** A write's `acting_as` as the audit history names the person (null when absent). */
export function actingAsText(actingAs: PbSubject | null | undefined): string | null {
  return actingAs ? subjectKey(toSubject(actingAs, 'acting_as')) : null;
}
