/** Giving the event loop a turn from inside a long computation, in Node.js and in a browser (page or Web Worker). */

let channel: MessageChannel | null = null;
const waiting: (() => void)[] = [];

/**
 * Resolves on the event loop's next turn, after pending I/O and messages: `setImmediate` in Node.js; in a browser a
 * MessageChannel message (a `setTimeout(0)` chain is clamped to 4 ms a call there).
 */
export function yieldToEventLoop(): Promise<void> {
  if (typeof setImmediate === "function") return new Promise<void>((resolve) => setImmediate(resolve));
  if (!channel) {
    channel = new MessageChannel();
    channel.port1.onmessage = () => waiting.shift()?.();
  }
  const port = channel.port2;
  return new Promise<void>((resolve) => {
    waiting.push(resolve);
    port.postMessage(null);
  });
}
