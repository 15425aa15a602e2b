// Storage-queue triggers for the local host: poll each queue, hand the decoded message to the function,
// delete it on success, retry with visibility timeout on failure and move it to `<queue>-poison` after
// five dequeues, as the Functions host does. Messages are base64 (the host's default encoding). An empty queue
// is polled with the host's back-off: from 100 ms, doubling, up to host.json's
// `extensions.queues.maxPollingInterval` (the host's default: 1 minute); a message found resets it.
import { QueueServiceClient, type QueueClient } from "@azure/storage-queue";
import type { RegisteredFunction } from "./functions-core.js";
import { invocationContext } from "./invocation.js";

export interface QueueWorkers {
  stop(): Promise<void>;
}

const MAX_DEQUEUE = 5;
/** The Functions host's shortest queue polling interval. */
const MIN_POLLING_MS = 100;
/** The Functions host's default maxPollingInterval. */
export const DEFAULT_MAX_POLLING_MS = 60_000;

/** `extensions.queues.maxPollingInterval` of a host.json: a TimeSpan ("00:00:02") or milliseconds. */
export function maxPollingIntervalMs(hostJson: unknown): number {
  const value = (hostJson as { extensions?: { queues?: { maxPollingInterval?: unknown } } } | undefined)?.extensions?.queues?.maxPollingInterval;
  if (typeof value === "number" && value > 0) return Math.max(MIN_POLLING_MS, value);
  const match = typeof value === "string" ? /^(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(value) : null;
  if (!match) return DEFAULT_MAX_POLLING_MS;
  const ms = (Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3])) * 1000;
  return Math.max(MIN_POLLING_MS, Math.round(ms));
}

export async function startQueueWorkers(
  lib: typeof import("@azure/functions"),
  functions: Array<{ fn: RegisteredFunction; queueName: string }>,
  connectionString: string,
  log: (line: string) => void,
  maxPollingMs = DEFAULT_MAX_POLLING_MS,
): Promise<QueueWorkers> {
  const service = QueueServiceClient.fromConnectionString(connectionString);
  let stopped = false;
  const queues = await Promise.all(functions.map(async ({ fn, queueName }) => {
    const queue = service.getQueueClient(queueName);
    await queue.createIfNotExists();
    return { fn, queue, poison: service.getQueueClient(`${queueName}-poison`) };
  }));
  // The loops run until stop(); they are not awaited here.
  const loops = queues.map(({ fn, queue, poison }) => pollLoop(lib, { fn, queue, poison, maxPollingMs }, log, () => stopped));
  return {
    stop: async () => {
      stopped = true;
      await Promise.allSettled(loops);
    },
  };
}

async function pollLoop(
  lib: typeof import("@azure/functions"),
  { fn, queue, poison, maxPollingMs }: { fn: RegisteredFunction; queue: QueueClient; poison: QueueClient; maxPollingMs: number },
  log: (line: string) => void,
  isStopped: () => boolean,
): Promise<void> {
  let idleMs = MIN_POLLING_MS;
  while (!isStopped()) {
    let received;
    try {
      received = await queue.receiveMessages({ numberOfMessages: 16, visibilityTimeout: 60 });
    } catch (error) {
      log(`[local-host] queue ${queue.name}: ${(error as Error).message}`);
      await sleep(2_000);
      continue;
    }
    if (received.receivedMessageItems.length === 0) {
      await sleepUnlessStopped(idleMs, isStopped);
      idleMs = Math.min(idleMs * 2, maxPollingMs);
      continue;
    }
    idleMs = MIN_POLLING_MS;
    await Promise.all(received.receivedMessageItems.map(async (message) => {
      const text = Buffer.from(message.messageText, "base64").toString("utf8");
      let payload: unknown = text;
      try { payload = JSON.parse(text); } catch { /* a plain string message */ }
      const context = invocationContext(lib, fn, log);
      Object.assign(context, { triggerMetadata: { id: message.messageId, dequeueCount: message.dequeueCount, insertionTime: message.insertedOn } });
      try {
        await fn.handler(payload, context);
        await queue.deleteMessage(message.messageId, message.popReceipt);
      } catch (error) {
        log(`[local-host] ${fn.name} failed on message ${message.messageId} (dequeue ${message.dequeueCount}): ${(error as Error).message}`);
        if (message.dequeueCount >= MAX_DEQUEUE) {
          await poison.createIfNotExists();
          await poison.sendMessage(message.messageText);
          await queue.deleteMessage(message.messageId, message.popReceipt);
        } else {
          await queue.updateMessage(message.messageId, message.popReceipt, undefined, Math.min(2 ** message.dequeueCount, 30)).catch(() => undefined);
        }
      }
    }));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A long idle wait (up to maxPollingInterval) must not hold up stop(). */
async function sleepUnlessStopped(ms: number, isStopped: () => boolean): Promise<void> {
  for (let left = ms; left > 0 && !isStopped(); left -= 100) await sleep(Math.min(100, left));
}
