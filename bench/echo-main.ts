import { startEcho } from './echo-server.js';

// The echo baseline as a process of its own: prints its port, serves until killed.
const { port } = await startEcho();
process.stdout.write(`${JSON.stringify({ port })}\n`);
