import { readFileSync } from 'node:fs';

/**
 * A random port for a test's own server that the kernel never hands out as the local end of an
 * outgoing connection: below the ephemeral range. A port inside that range can be taken while its
 * server is down by a client reconnecting to it (a TCP connection to 127.0.0.1 may be given the
 * very port it dials and connect to itself), and the server then cannot start again on it.
 */
export function portBelowEphemeralRange(): number {
  let low = 32768;
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(first) && first > 2048) low = first;
  } catch {
    // not Linux: the usual default
  }
  const from = Math.min(10000, Math.floor(low / 2));
  return from + Math.floor(Math.random() * (low - from));
}
