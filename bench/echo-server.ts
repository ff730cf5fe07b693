import { Server, ServerCredentials, type ServiceDefinition } from '@grpc/grpc-js';
import { loadApi } from '../src/server/proto.js';

/**
 * The echo baseline: a grpc-js server on the same API whose Check answers at once with a
 * constant response of a real one's size (a zookie-sized token, HAS_PERMISSION). Measured by the
 * same driver in the same run, it is what this machine, this driver and grpc-js can do at all;
 * a scenario's `ratio_to_echo` is its throughput over this one's.
 */
export async function startEcho(address = '127.0.0.1:0'): Promise<{ port: number; server: Server }> {
  const { v1 } = loadApi();
  const server = new Server();
  const token = Buffer.from(JSON.stringify({ v: 2, d: '00000000-0000-0000-0000-000000000000', t: 'bench', r: '1000000' })).toString('base64url');
  const answer = { checked_at: { token }, permissionship: 'PERMISSIONSHIP_HAS_PERMISSION', missing_context_params: [] };
  server.addService((v1['PermissionService'] as unknown as { service: ServiceDefinition }).service, {
    Check: (_call: unknown, callback: (e: null, r: unknown) => void) => callback(null, answer),
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync(address, ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return { port, server };
}

