import pg from 'pg';
import type { AccessChange, AccessFeed } from '../access-feed.js';

/** The channel access changes are announced on (NOTIFY inside the committing transaction). */
export const ACCESS_CHANNEL = 'warden_access';

/** How long to wait before connecting again after the listening connection is lost. */
const RECONNECT_MS = 1000;

/**
 * Keeps a dedicated connection LISTENing for other processes' access changes and feeds them in.
 * While it is down the feed is not live (caches keep nothing), and it reconnects by itself.
 * Returns the stop.
 */
export function listenForAccessChanges(url: string, feed: AccessFeed): () => void {
  let stopped = false;
  let client: pg.Client | null = null;
  let timer: NodeJS.Timeout | null = null;
  const down = (): void => {
    feed.setLive(false);
    const c = client;
    client = null;
    c?.end().catch(() => {});
    if (!stopped && !timer) {
      timer = setTimeout(() => {
        timer = null;
        connect();
      }, RECONNECT_MS);
      timer.unref();
    }
  };
  const connect = (): void => {
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
    client = c;
    c.on('error', () => {
      if (client === c) down();
    });
    c.on('end', () => {
      if (client === c) down();
    });
    c.on('notification', (n) => {
      if (n.channel !== ACCESS_CHANNEL || !n.payload) return;
      try {
        feed.emit(JSON.parse(n.payload) as AccessChange);
      } catch {
        feed.emit({ kind: 'reset' });
      }
    });
    c.connect()
      .then(() => c.query(`listen ${ACCESS_CHANNEL}`))
      .then(() => {
        if (stopped) return c.end();
        // Stop the connection from keeping the process alive, like the pool's idle ones.
        (c as unknown as { connection?: { stream?: { unref?: () => void } } }).connection?.stream?.unref?.();
        feed.setLive(true);
        return undefined;
      })
      .catch(() => {
        if (client === c) down();
      });
  };
  connect();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    const c = client;
    client = null;
    c?.end().catch(() => {});
  };
}
