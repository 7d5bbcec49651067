/**
 * Server-sent events to the open dashboards: one writer per connection, a comment line as
 * heartbeat so proxies keep idle streams open, and a slow reader is dropped rather than buffered
 * without bound (it reconnects and gets a fresh snapshot).
 */
import type { ServerResponse } from 'node:http';

/** A client whose socket holds more than this unsent is too slow; it is dropped. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

export class SseHub {
  private readonly clients = new Set<ServerResponse>();

  get size(): number {
    return this.clients.size;
  }

  /** Take over a response: headers, retry hint, then `first` (the current state) if given. */
  add(res: ServerResponse, first?: { event: string; data: string }): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // nginx would otherwise buffer the stream.
      'x-accel-buffering': 'no',
    });
    res.write('retry: 3000\n\n');
    this.clients.add(res);
    res.on('close', () => this.clients.delete(res));
    if (first) this.write(res, frame(first.event, first.data));
  }

  broadcast(event: string, data: string): void {
    if (this.clients.size === 0) return;
    const text = frame(event, data);
    for (const res of this.clients) this.write(res, text);
  }

  heartbeat(): void {
    for (const res of this.clients) this.write(res, ': keep-alive\n\n');
  }

  /** End every stream (agent stopping), so the HTTP server can close. */
  closeAll(): void {
    for (const res of this.clients) res.end();
    this.clients.clear();
  }

  private write(res: ServerResponse, text: string): void {
    if (res.writableLength > MAX_BUFFERED_BYTES) {
      this.clients.delete(res);
      res.destroy();
      return;
    }
    res.write(text);
  }
}

function frame(event: string, data: string): string {
  // data is JSON (no newlines), so one data line suffices.
  return `event: ${event}\ndata: ${data}\n\n`;
}
